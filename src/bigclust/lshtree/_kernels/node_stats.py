"""Node weights of k-means: total weight, mean and SSE of every vertex by Ward's merge.

``SSE(A u B) = SSE(A) + SSE(B) + W_A W_B / (W_A + W_B) * |mu_A - mu_B|^2`` is
used instead of sum-of-squares minus squared sum, which cancels badly. The
local engine merges bottom-up over the whole tree (:func:`kmeans_stats`), the
Spark engine inside each task (Algorithm 4's heaps, Lemma 4.5); both call
:func:`merge_stats`, so every vertex gets the same bits.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, inline="always")
def merge_stats(wa, wb, ca, cb, ma, mb, sa, sb, out_mean):
    """Ward's merge of two vertices ``a`` and ``b``.

    Parameters
    ----------
    wa, wb : float
        Total weights.
    ca, cb : float
        Point counts.
    ma, mb : ndarray of shape (d,)
        Means.
    sa, sb : float
        SSEs about the means.
    out_mean : ndarray of shape (d,)
        Receives the merged mean.

    Returns
    -------
    (W, cnt, sse) : the merged total weight, count and SSE.
    """
    W = wa + wb
    cnt = ca + cb
    if wa + wb > 0:
        fa = wa / (wa + wb)
        fb = wb / (wa + wb)
    else:  # zero-weight points: centre at the plain mean, cost 0
        fa = ca / cnt
        fb = cb / cnt
    dist2 = 0.0
    for j in range(ma.shape[0]):
        out_mean[j] = fa * ma[j] + fb * mb[j]
        t = ma[j] - mb[j]
        dist2 += t * t
    extra = wa * wb / (wa + wb) * dist2 if wa > 0 and wb > 0 else 0.0
    return W, cnt, sa + sb + extra


@numba.njit(cache=True)
def kmeans_stats(X, w, left, right, n_leaves):
    """Bottom-up total weight, mean and SSE of every vertex of a tree (children before parents).

    Parameters
    ----------
    X : ndarray of shape (n_leaves, d), float64
    w : ndarray of shape (n_leaves,), float64
    left, right : ndarray of shape (n_nodes,), int64
        Children, -1 for leaves (vertices ``0 .. n_leaves - 1``).
    n_leaves : int

    Returns
    -------
    W, sse : ndarray of shape (n_nodes,)
    means : ndarray of shape (n_nodes - n_leaves, d)
        ``means[v - n_leaves]`` for internal vertices ``v``.
    """
    n_nodes = left.shape[0]
    d = X.shape[1]
    W = np.zeros(n_nodes)
    cnt = np.ones(n_nodes)
    sse = np.zeros(n_nodes)
    means = np.empty((n_nodes - n_leaves, d))
    for v in range(n_leaves):
        W[v] = w[v]
    for v in range(n_leaves, n_nodes):
        a = left[v]
        b = right[v]
        ma = X[a] if a < n_leaves else means[a - n_leaves]
        mb = X[b] if b < n_leaves else means[b - n_leaves]
        W[v], cnt[v], sse[v] = merge_stats(W[a], W[b], cnt[a], cnt[b], ma, mb, sse[a], sse[b], means[v - n_leaves])
    return W, sse, means
