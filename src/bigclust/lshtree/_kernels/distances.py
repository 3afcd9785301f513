"""Squared Euclidean distances summed in coordinate order, as every engine sums them.

An accepted edge or a skipped scale depends on the last bit of a distance, so
both engines compute each one with these loops (no BLAS, no pairwise sums).
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, inline="always")
def row_sq_dist(A, i, B, j):
    """``|A_i - B_j|^2`` for rows of ``A`` (·, d) and ``B`` (·, d), summed in coordinate order."""
    s = 0.0
    for c in range(A.shape[1]):
        t = A[i, c] - B[j, c]
        s += t * t
    return s


@numba.njit(cache=True)
def sq_dist_rows(Yp, Yq):
    """``|y_p - y_q|^2`` row by row: ``Yp``, ``Yq`` of shape (n, d) -> shape (n,)."""
    n = Yp.shape[0]
    out = np.empty(n)
    for i in range(n):
        out[i] = row_sq_dist(Yp, i, Yq, i)
    return out


@numba.njit(cache=True)
def min_d2_to_samples(S, sample_ids, Y, ids, out):
    """``out[s] = min(out[s], |S_s - Y_u|^2)`` over rows ``u`` with ``ids[u] != sample_ids[s]``.

    ``S`` (m, d) sampled points with ids ``sample_ids`` (m,); ``Y`` (n, d) with ids ``ids`` (n,); ``out`` (m,).
    """
    for s in range(S.shape[0]):
        best = out[s]
        for u in range(Y.shape[0]):
            if ids[u] == sample_ids[s]:
                continue
            acc = row_sq_dist(S, s, Y, u)
            if acc < best:
                best = acc
        out[s] = best
