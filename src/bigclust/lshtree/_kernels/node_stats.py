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


@numba.njit(cache=True)
def _subtree_stats(X, rows, left, right, size, n_leaves, root, max_depth, W, sse, mean_out):
    """:func:`kmeans_stats` below ``root`` (an internal vertex) in depth-first post-order.

    Leaf ``v`` is the point ``X[rows[v]]`` (``X[v]`` when ``rows`` is None) and
    ``W``/``sse`` must hold the leaves' weights and zeros. Writes ``W`` and ``sse``
    of every internal vertex below ``root`` and ``root``'s mean to ``mean_out``.
    Only the means of completed subtrees still waiting for their sibling are kept,
    at most ``max_depth + 1`` of them; each vertex is merged from its children's
    values exactly as :func:`kmeans_stats` merges it (counts are the subtree sizes,
    which are what its running counts add up to), so every value has the same bits.
    """
    d = X.shape[1]
    stack = np.empty(max_depth + 2, np.int64)
    state = np.zeros(max_depth + 2, np.int8)
    vals = np.empty((max_depth + 2, d))
    merged = np.empty(d)
    stack[0] = root
    sp = 1
    vp = 0
    while sp > 0:
        v = stack[sp - 1]
        if v < n_leaves:
            r = np.int64(v) if rows is None else np.int64(rows[v])
            for j in range(d):
                vals[vp, j] = np.float64(X[r, j])
            vp += 1
            sp -= 1
        elif state[sp - 1] == 0:
            state[sp - 1] = 1
            stack[sp] = left[v]
            state[sp] = 0
            sp += 1
        elif state[sp - 1] == 1:
            state[sp - 1] = 2
            stack[sp] = right[v]
            state[sp] = 0
            sp += 1
        else:
            a = left[v]
            b = right[v]
            W[v], _, sse[v] = merge_stats(W[a], W[b], np.float64(size[a]), np.float64(size[b]),
                                          vals[vp - 2], vals[vp - 1], sse[a], sse[b], merged)
            vals[vp - 2, :] = merged
            vp -= 1
            sp -= 1
    mean_out[:] = vals[0]


_TASK_MIN_LEAVES = 4096  # kmeans_weights splits no subtree smaller than this between threads


def kmeans_weights(X, rows, w, left, right, size, n_leaves, max_depth):
    """Total weight and SSE of every vertex, the bits of :func:`kmeans_stats`'s, without its means.

    Leaf ``v`` is ``X[rows[v]]`` (``rows`` may be None). :func:`kmeans_stats` keeps
    the mean of every internal vertex (``(n_nodes - n_leaves) x d`` floats, as
    much as the points); this keeps those on one path (``max_depth`` is the tree's
    depth) per thread. The top of the tree is split into disjoint subtrees (the
    largest split first, a few per thread) merged in parallel, then their
    ancestors in order. :func:`vertex_means` gives the means of the vertices that need one.

    Returns
    -------
    W, sse : ndarray of shape (n_nodes,)
    """
    return _kmeans_weights(X, rows, w, left, right, size, n_leaves, max_depth, 4 * numba.get_num_threads())


@numba.njit(cache=True, parallel=True)
def _kmeans_weights(X, rows, w, left, right, size, n_leaves, max_depth, n_tasks_max):
    n_nodes = left.shape[0]
    d = X.shape[1]
    W = np.empty(n_nodes)
    sse = np.zeros(n_nodes)
    for v in range(n_leaves):
        W[v] = w[v]
    if n_nodes == n_leaves:
        return W, sse
    tasks = np.empty(n_tasks_max, np.int64)
    top = np.empty(n_tasks_max, np.int64)
    tasks[0] = n_nodes - 1
    n_tasks = 1
    n_top = 0
    while n_tasks < n_tasks_max:
        best = -1
        for i in range(n_tasks):
            v = tasks[i]
            if v >= n_leaves and size[v] >= 2 * _TASK_MIN_LEAVES and (best < 0 or size[v] > size[tasks[best]]):
                best = i
        if best < 0:
            break
        v = tasks[best]
        top[n_top] = v
        n_top += 1
        tasks[best] = left[v]
        tasks[n_tasks] = right[v]
        n_tasks += 1
    task_means = np.empty((n_tasks, d))
    for i in numba.prange(n_tasks):
        v = tasks[i]
        if v < n_leaves:
            r = np.int64(v) if rows is None else np.int64(rows[v])
            for j in range(d):
                task_means[i, j] = np.float64(X[r, j])
        else:
            _subtree_stats(X, rows, left, right, size, n_leaves, v, max_depth, W, sse, task_means[i])
    # the split vertices, children (smaller ids) first; their children are tasks or split vertices
    top = np.sort(top[:n_top])
    top_means = np.empty((n_top, d))
    for i in range(n_top):
        v = top[i]
        a = left[v]
        b = right[v]
        ma = _find_mean(a, tasks, n_tasks, task_means, top, i, top_means)
        mb = _find_mean(b, tasks, n_tasks, task_means, top, i, top_means)
        W[v], _, sse[v] = merge_stats(W[a], W[b], np.float64(size[a]), np.float64(size[b]),
                                      ma, mb, sse[a], sse[b], top_means[i])
    return W, sse


@numba.njit(cache=True)
def _find_mean(v, tasks, n_tasks, task_means, top, n_top_done, top_means):
    for i in range(n_tasks):
        if tasks[i] == v:
            return task_means[i]
    for i in range(n_top_done):
        if top[i] == v:
            return top_means[i]
    raise AssertionError("a child of a split vertex is neither a task nor a split vertex")


@numba.njit(cache=True, parallel=True)
def vertex_means(X, rows, left, right, size, n_leaves, max_depth, W, sse, vertices):
    """The mean of each of ``vertices`` (disjoint subtrees, e.g. a pruning), bit for bit
    :func:`kmeans_stats`'s, in parallel over the vertices.

    ``W``/``sse`` are :func:`kmeans_weights`'s (they are rewritten below internal
    ``vertices`` with the same values). A leaf's mean is its point. The work is
    that of one pass over the leaves below ``vertices``.
    """
    out = np.empty((vertices.shape[0], X.shape[1]))
    for c in numba.prange(vertices.shape[0]):
        v = vertices[c]
        if v < n_leaves:
            r = np.int64(v) if rows is None else np.int64(rows[v])
            for j in range(X.shape[1]):
                out[c, j] = np.float64(X[r, j])
        else:
            _subtree_stats(X, rows, left, right, size, n_leaves, v, max_depth, W, sse, out[c])
    return out
