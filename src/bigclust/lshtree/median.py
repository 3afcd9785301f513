"""k-median node weights (Appendix D of the LSH-tree paper): Weiszfeld geometric-median estimates.

The weight of a candidate cluster ``C`` is ``sum_{p in C} w_p |p - m_C|`` where
``m_C`` is a geometric median estimated by Weiszfeld's algorithm on a uniform
sample of at most ``sample_size`` points of ``C`` (the cost itself is summed over
all points of ``C``, so it is exact for that centre).
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["weiszfeld", "kmedian_node_weights"]


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
def kmedian_node_weights(X, w, left, right, size, order, start, n_leaves, sample_size, n_iter, seed):
    """Appendix D: per vertex, a Weiszfeld median of a sample and the exact cost to it."""
    np.random.seed(seed)
    n_nodes = left.shape[0]
    d = X.shape[1]
    cost = np.zeros(n_nodes)
    medians = np.empty((n_nodes - n_leaves, d))
    for v in range(n_leaves, n_nodes):
        s0 = start[v]
        m = size[v]
        ns = m if m <= sample_size else sample_size
        P = np.empty((ns, d))
        pw = np.empty(ns)
        for i in range(ns):
            # all points of a small cluster, else a uniform sample; each keeps its weight,
            # so the sample's weighted distance sum estimates the cluster's without bias
            pos = s0 + (i if m <= sample_size else np.random.randint(0, m))
            P[i] = X[order[pos]]
            pw[i] = w[order[pos]]
        # warm start: weighted mean of the sample
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
        y = weiszfeld(P, pw, y, n_iter)
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
