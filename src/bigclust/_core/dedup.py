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


@numba.njit(cache=True, inline="always")
def _bits(Xb, i, j, neg_zero):
    """The bits of ``Xb[i, j]`` with -0.0 (bits ``neg_zero``) read as +0.0 (the bits of ``X + 0.0``), as
    uint64; as they are when ``neg_zero`` is None."""
    b = Xb[i, j]
    if neg_zero is not None and b == neg_zero:
        return np.uint64(0)
    return np.uint64(b)


@numba.njit(cache=True)
def _row_hashes(Xb, neg_zero=None):
    """64-bit hash of every row's bits (``Xb`` the uint64/uint32 view of the rows; the Spark
    engine hashes rows it has normalised with ``+ 0.0``, and passes no ``neg_zero``)."""
    n, m = Xb.shape
    out = np.empty(n, np.uint64)
    for i in range(n):
        h = np.uint64(0xCBF29CE484222325)
        for j in range(m):
            h = (h ^ _bits(Xb, i, j, neg_zero)) * np.uint64(0x100000001B3)
        h ^= h >> np.uint64(33)
        out[i] = h
    return out


@numba.njit(cache=True)
def _group(Xb, order, hashes, neg_zero):
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
                    if _bits(Xb, ra, c, neg_zero) != _bits(Xb, rb, c, neg_zero):
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
    # The rows are hashed and compared by their bytes, -0.0 read as +0.0 so equal
    # values have equal bytes (as in ``X + 0.0``, without that copy of X).
    if X.dtype == np.float64:
        Xb, neg_zero = X.view(np.uint64), np.uint64(1 << 63)  # type: np.ndarray, np.unsignedinteger
    else:
        Xb, neg_zero = X.view(np.uint32), np.uint32(1 << 31)
    hashes = _row_hashes(Xb, neg_zero)
    order = np.argsort(hashes, kind="stable")
    inverse, first = _group(Xb, order, hashes, neg_zero)
    return first, inverse
