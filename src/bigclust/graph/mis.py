"""Approximate maximal independent sets in threshold graphs (Definition 4.5, Algorithm 5).

For a vertex set W and a distance d, the threshold graph ``G_d[W]`` joins two vertices of W when
their shortest-path distance is at most d. It is never built: Algorithm 5 only asks shortest-path
questions. An ``(eps, d)``-approximate MIS ``I`` of W (Definition 4.5) satisfies

1. ``d(u, v) > d / (1+eps)`` for distinct ``u, v`` in I, and
2. every ``w`` in W has some ``u`` in I with ``d(u, w) <= (1+eps) d``.

Our shortest paths are exact, so both functions return exact (eps = 0) MISs, which satisfy the
definition for every eps >= 0.
"""

from __future__ import annotations

import numba
import numpy as np

from ._heap import heap_pop, heap_push, new_heap
from .kmachine import KMachine
from .paths import exclusive_mssp, mssp

__all__ = ["approximate_mis", "greedy_cover"]


@numba.njit(cache=True)
def _greedy_cover(indptr, indices, weights, order, thr, bound, cover, nearest):
    """Scan ``order``; open v when ``cover[v] > thr[v]``; grow a pruned Dijkstra from it.

    ``cover``/``nearest`` hold the distance to / id of the nearest opened vertex (updated in
    place, exactly, up to distance ``bound``). Returns the opened vertices in opening order.
    """
    n = indptr.shape[0] - 1
    m2 = indices.shape[0]
    hk, ht, hv = new_heap(n, m2)
    opened = np.empty(order.shape[0], dtype=np.int64)
    n_open = 0
    for t in range(order.shape[0]):
        v = order[t]
        if not cover[v] > thr[v]:
            continue
        opened[n_open] = v
        n_open += 1
        cover[v] = 0.0
        nearest[v] = v
        size = heap_push(hk, ht, hv, 0, 0.0, 0, v)
        while size > 0:
            d, _, u, size = heap_pop(hk, ht, hv, size)
            if d > cover[u] or (d == cover[u] and nearest[u] != v):
                continue
            for e in range(indptr[u], indptr[u + 1]):
                x = indices[e]
                nd = d + weights[e]
                if nd < cover[x] and nd <= bound:
                    cover[x] = nd
                    nearest[x] = v
                    size = heap_push(hk, ht, hv, size, nd, 0, x)
    return opened[:n_open]


def greedy_cover(graph, order, thresholds, bound=np.inf, cover=None, nearest=None):
    """Sequential greedy threshold MIS: the k = 1 equivalent of Algorithm 5 and of MP's greedy phase.

    Parameters
    ----------
    graph : Graph
    order : ndarray of int
        Candidate vertices in the order they are considered.
    thresholds : ndarray of shape (n_vertices,)
        Vertex v is opened when no opened vertex lies within ``thresholds[v]``.
    bound : float
        Distances beyond ``bound`` need not be tracked (speeds up threshold MISs).
    cover, nearest : ndarray, optional
        Existing distances to / ids of already opened vertices (modified in place).

    Returns
    -------
    opened : ndarray of int64
    cover, nearest : ndarray
    """
    n = graph.n_vertices
    if cover is None:
        cover = np.full(n, np.inf)
        nearest = np.full(n, -1, dtype=np.int64)
    opened = _greedy_cover(
        graph.indptr, graph.indices, graph.weights, np.asarray(order, dtype=np.int64),
        np.asarray(thresholds, dtype=np.float64), float(bound), cover, nearest,
    )
    return opened, cover, nearest


def approximate_mis(
    graph,
    candidates,
    d: float,
    rng: np.random.Generator,
    km: KMachine | None = None,
    *,
    iterations_factor: float = 1.0,
) -> np.ndarray:
    """An MIS of the threshold graph ``G_d[W]`` (Algorithm 5; Definition 4.5 with eps = 0).

    With a distributed ``km`` it runs Algorithm 5: stages of Luby-like iterations with a marking
    probability that doubles each stage (the beeping-model MIS of Afek et al.); in each iteration
    marked vertices that have another marked vertex within d back off (ExclusiveMSSP, Lemma 2.4),
    the others join the MIS, and every vertex within d of a new member withdraws (MSSP,
    Lemma 2.3). Stages continue (with probability 1/2) until no candidate is left, so the result
    is always a valid MIS (Las Vegas: after the stage with probability 1/2 the doubling sequence
    restarts from 1/|remaining|). Without machines, a sequential greedy MIS in a random order.

    Parameters
    ----------
    graph : Graph
    candidates : array-like of int
        The vertex set W.
    d : float
        Distance threshold (>= 0).
    rng : numpy.random.Generator
    km : KMachine, optional
    iterations_factor : float
        Iterations per stage are ``ceil(iterations_factor * log2(|W| + 1))`` (the paper's c log n).

    Returns
    -------
    mis : ndarray of int64
        Sorted vertex ids of the MIS.
    """
    W = np.unique(np.asarray(candidates, dtype=np.int64))
    n = graph.n_vertices
    if W.size == 0:
        return W
    if not (km is not None and km.distributed):
        order = W[rng.permutation(W.size)]
        thr = np.full(n, float(d))
        opened, _, _ = greedy_cover(graph, order, thr, bound=float(d))
        if km is not None:
            km.ledger.count_call("greedy_mis")
        return np.sort(opened)
    ledger = km.ledger
    remaining = np.zeros(n, dtype=bool)
    remaining[W] = True
    ledger.aggregate(1)  # |W|
    n_w = W.size
    iters = max(1, int(np.ceil(iterations_factor * np.log2(n_w + 1))))
    prob = 1.0 / n_w
    members = []
    while True:
        for _ in range(iters):
            rem_ids = np.flatnonzero(remaining)
            if rem_ids.size == 0:
                break
            marked = rem_ids[rng.random(rem_ids.size) < prob]
            ledger.aggregate(1)  # does anyone remain / is anyone marked
            if marked.size == 0:
                continue
            ex_d, _ = exclusive_mssp(graph, marked, km)
            joined = marked[~(ex_d[marked] <= d)]
            if joined.size == 0:
                continue
            members.append(joined)
            dist, _ = mssp(graph, joined, km)
            remaining &= ~(dist <= d)
        if not remaining.any():
            break
        # next stage: double the marking probability; after the last stage (1/2) start the
        # doubling sequence again from 1/|remaining| so that dense leftovers (cliques of the
        # threshold graph) still get single marked vertices: Las Vegas termination.
        prob *= 2.0
        if prob > 0.5:
            prob = 1.0 / max(1, int(remaining.sum()))
    ledger.count_call("approximate_mis")
    return np.sort(np.concatenate(members)) if members else np.empty(0, dtype=np.int64)
