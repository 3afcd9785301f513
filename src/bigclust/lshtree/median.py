"""k-median node weights (Appendix D of the LSH-tree paper): Weiszfeld geometric-median estimates.

The weight of a candidate cluster ``C`` is ``sum_{p in C} w_p |p - m_C|`` where
``m_C`` is a geometric median estimated by Weiszfeld's algorithm on a sample of
at most ``sample_size`` points of ``C`` (the cost itself is summed over all
points of ``C``, so it is exact for that centre).

The sample is a bottom-``s`` sample: every distinct point ``p`` gets a key
``sample_keys(p, seed)`` (a bijective 64-bit mix of its id, so no two points
tie) and ``C``'s sample is its ``s`` points of smallest key. Without
replacement and uniform over the points of ``C``; each point keeps its weight,
so the sample's weighted distance sum estimates ``C``'s without bias. It is
mergeable (the bottom-``s`` of ``C' u C''`` is the bottom-``s`` of their
bottom-``s`` samples) and needs no coordination, which is what lets the Spark
engine (:mod:`bigclust.lshtree._spark._median`) draw the same samples: both
engines then give the same medians bit for bit (:func:`vertex_median` on the
sample in key order).
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["weiszfeld", "vertex_median", "sample_keys", "kmedian_node_weights"]

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GAMMA = np.uint64(0x9E3779B97F4A7C15)


def _mix64(z: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser (Steele, Lea and Flood, 2014): a bijection of uint64 arrays (wrapping arithmetic)."""
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def sample_keys(ids: np.ndarray, seed: int) -> np.ndarray:
    """The bottom-s sampling key of each point id, int64 of shape ``ids.shape``.

    ``mix(id xor mix(seed + gamma))``: a bijection of the id for a fixed seed, so
    keys of distinct ids never tie; compared as signed int64 (both engines).
    """
    s = _mix64(np.array([seed], np.uint64) + _GAMMA)
    return _mix64(np.asarray(ids).astype(np.int64).view(np.uint64) ^ s).view(np.int64)


@numba.njit(cache=True)
def weiszfeld(P, w, y, n_iter):
    """Weiszfeld's iteration for the weighted geometric median of the rows of ``P``, from ``y``."""
    d = P.shape[1]
    num = np.empty(d)
    for _ in range(n_iter):
        num[:] = 0.0
        den = 0.0
        shift = 0.0
        for i in range(P.shape[0]):
            if w[i] <= 0:
                continue
            s = 0.0
            for j in range(d):
                t = P[i, j] - y[j]
                s += t * t
            dist = np.sqrt(s)
            if dist < 1e-12:  # at a data point: it contributes as a very close point
                dist = 1e-12
            f = w[i] / dist
            den += f
            for j in range(d):
                num[j] += f * P[i, j]
        if den == 0.0:
            break
        for j in range(d):
            nv = num[j] / den
            shift += (nv - y[j]) ** 2
            y[j] = nv
        if shift <= 1e-18 * (1.0 + np.dot(y, y)):
            break
    return y


@numba.njit(cache=True)
def vertex_median(P, pw, n_iter):
    """Weiszfeld median of a sample ``P`` (ns, d) with weights ``pw`` (ns,), from its weighted mean.

    Rows in key order: the sums run in that order, so both engines get the same bits.
    """
    ns, d = P.shape
    y = np.zeros(d)
    tot = 0.0
    for i in range(ns):
        tot += pw[i]
        for j in range(d):
            y[j] += pw[i] * P[i, j]
    if tot > 0:
        for j in range(d):
            y[j] /= tot
    else:
        for j in range(d):
            y[j] = P[0, j]
    return weiszfeld(P, pw, y, n_iter)


@numba.njit(cache=True)
def _bottom(ids, keys, s):
    """The (at most ``s``) entries of ``ids`` with the smallest ``keys[ids]``, in key order."""
    kk = keys[ids]
    if ids.shape[0] > s:  # O(m) selection of the s-th smallest key (keys are distinct)
        thr = np.partition(kk, s - 1)[s - 1]
        keep = kk <= thr
        ids = ids[keep]
        kk = kk[keep]
    return ids[np.argsort(kk)]


@numba.njit(cache=True)
def kmedian_node_weights(X, w, left, right, size, order, start, n_leaves, sample_size, n_iter, keys):
    """Appendix D: per vertex, a Weiszfeld median of its bottom-``sample_size`` sample (by ``keys``,
    one per row of ``X``) and the exact cost to it. Returns (cost (n_nodes,), medians (n_nodes - n_leaves, d))."""
    n_nodes = left.shape[0]
    d = X.shape[1]
    cost = np.zeros(n_nodes)
    medians = np.empty((n_nodes - n_leaves, d))
    for v in range(n_leaves, n_nodes):
        s0 = start[v]
        m = size[v]
        sample = _bottom(order[s0:s0 + m], keys, sample_size)
        ns = sample.shape[0]
        P = np.empty((ns, d))
        pw = np.empty(ns)
        for i in range(ns):
            P[i] = X[sample[i]]
            pw[i] = w[sample[i]]
        y = vertex_median(P, pw, n_iter)
        medians[v - n_leaves] = y
        c = 0.0
        for i in range(m):
            p = order[s0 + i]
            s = 0.0
            for j in range(d):
                t = X[p, j] - y[j]
                s += t * t
            c += w[p] * np.sqrt(s)
        cost[v] = c
    return cost, medians
