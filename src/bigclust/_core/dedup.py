"""Exact duplicate rows, merged before the tree is built.

Identical points are at distance 0, so every candidate cluster containing one
contains all; merging them (summing their weights) changes no pruning's cost,
makes every leaf distinct (the closest-pair bound of Appendix C.7 is then
positive) and shrinks data sets with many repeated rows.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["unique_rows"]


@numba.njit(cache=True)
def _row_hashes(Xb):
    n, m = Xb.shape
    out = np.empty(n, np.uint64)
    for i in range(n):
        h = np.uint64(0xCBF29CE484222325)
        for j in range(m):
            h = (h ^ np.uint64(Xb[i, j])) * np.uint64(0x100000001B3)
        h ^= h >> np.uint64(33)
        out[i] = h
    return out


@numba.njit(cache=True)
def _group(Xb, order, hashes):
    """Group ids along ``order`` (rows sorted by hash), comparing rows exactly.

    Within a run of equal hashes, each row is compared with the run's
    representatives (first occurrences); a new representative opens a group.
    """
    n, m = Xb.shape
    inverse = np.empty(n, np.int64)
    first = np.empty(n, np.int64)
    reps = np.empty(n, np.int64)
    n_groups = 0
    i = 0
    while i < n:
        j = i
        while j < n and hashes[order[j]] == hashes[order[i]]:
            j += 1
        n_reps = 0
        for a in range(i, j):
            ra = order[a]
            found = -1
            for r in range(n_reps):
                rb = reps[r]
                same = True
                for c in range(m):
                    if Xb[ra, c] != Xb[rb, c]:
                        same = False
                        break
                if same:
                    found = inverse[rb]
                    break
            if found == -1:
                inverse[ra] = n_groups
                first[n_groups] = ra
                reps[n_reps] = ra
                n_reps += 1
                n_groups += 1
            else:
                inverse[ra] = found
        i = j
    return inverse, first[:n_groups].copy()


def unique_rows(X: np.ndarray):
    """Distinct rows of ``X`` in a canonical order that does not depend on the row order.

    Distinct rows are ordered by a 64-bit hash of their bytes (ties, which need
    a hash collision between different rows, by first appearance). Everything
    downstream, including the paper's "smallest index" rule of Algorithm 1,
    then gives the same result for any permutation or repetition of the rows.

    Returns
    -------
    first : ndarray of shape (n_unique,), int64
        Row index of each distinct row's first occurrence (``X[first]`` are the rows).
    inverse : ndarray of shape (n_samples,), int64
        ``inverse[i]`` is the distinct row that row ``i`` equals.
    """
    X = np.ascontiguousarray(X)
    Xn = X + 0.0  # turns -0.0 into +0.0 so equal values have equal bytes
    Xb = Xn.view(np.uint64 if Xn.dtype == np.float64 else np.uint32)
    hashes = _row_hashes(Xb)
    order = np.argsort(hashes, kind="stable")
    inverse, first = _group(Xb, order, hashes)
    return first, inverse
