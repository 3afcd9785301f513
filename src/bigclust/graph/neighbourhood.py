"""Neighbourhood-size estimation (Algorithm 3, Cohen's rank method) and radius computation
(Algorithm 2, version 2) of Section 4.1-4.3.

The radius of the (beta-)Mettu-Plaxton algorithm only needs ``n_i(v) = |B(v, R_i)|`` at the
discrete distances ``R_0 = 0, R_1 = lo, R_{i+1} = (1+eps) R_i`` (Section 4.1). Cohen's framework
estimates them: give every vertex a uniform random rank; the smallest rank inside ``B(v, R)``
has expectation ``1 / (|B(v, R)| + 1)``; averaging ``l`` independent repetitions gives the
estimate ``l / sum(min ranks) - 1`` (Theorem 4.2).

Two executions of the same estimator are provided:

* :func:`estimate_neighbourhood_sizes` with a distributed :class:`KMachine` runs Algorithm 3:
  ranks are rounded down to powers of ``1/(1+eps)``, and one MSSP call (Lemma 2.3) per non-empty
  rank class finds, for every vertex and level, the smallest rounded rank within reach.
* Without machines (``k = 1``) it runs Cohen's pruned-Dijkstra least-element lists, the
  sequential algorithm the paper starts from: vertices are searched in rank order and a search
  stops at any vertex already reached closer by a smaller rank. It returns the exact minimum rank
  per level (no rounding), in expected O(m log n) time per repetition.

Both fill ``acc[v, i] = sum over repetitions of min rank in B(v, R_i)``; given the same rounded
ranks they return identical arrays (tested).
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from ._heap import heap_pop, heap_push, new_heap
from .kmachine import KMachine
from .paths import mssp

__all__ = ["NeighbourhoodSizes", "estimate_neighbourhood_sizes", "compute_radii", "distance_levels"]


@dataclass
class NeighbourhoodSizes:
    """Estimated ``|B(v, R_i)|`` at the levels ``R`` (Algorithm 3's output data structure).

    Attributes
    ----------
    levels : ndarray of shape (L,)
        ``R_0 = 0 < R_1 < ... < R_{L-1}``; ``R_{L-1}`` is at least the largest finite distance.
    acc : ndarray of shape (n_vertices, L), float32
        Sum over the repetitions of the smallest rank within ``B(v, R_i)``.
    n_repetitions : int
    eps : float
    component_size : ndarray of shape (n_vertices,)
        Number (total demand when weighted) of clients in each vertex's connected component
        (an upper bound of every ball).
    min_weight : float, default=0.0
        Weighted estimate only: the smallest positive demand (a ball holding a client weighs
        at least this much). 0 marks the unweighted (uniform-rank) estimate.
    """

    levels: np.ndarray
    acc: np.ndarray
    n_repetitions: int
    eps: float
    component_size: np.ndarray
    min_weight: float = 0.0

    @property
    def weighted(self) -> bool:
        return self.min_weight > 0

    def _estimator(self) -> tuple[float, float, float]:
        """(numerator, offset, floor) of the estimate ``numerator / acc - offset`` (see module doc)."""
        ell = float(self.n_repetitions)
        if self.weighted:
            # minima of exponential ranks: (l - 1) / sum is unbiased for the ball's weight
            return (ell - 1.0 if ell > 1 else ell), 0.0, float(self.min_weight)
        return ell, 1.0, 1.0

    def sizes(self) -> np.ndarray:
        """Estimated ball sizes (weights), shape (n_vertices, L), clipped to [floor, component size].

        A ball without any client (possible when only some vertices are clients) has
        ``acc = 0`` in every repetition and estimated size 0.
        """
        num, off, floor = self._estimator()
        acc = self.acc.astype(np.float64)
        with np.errstate(divide="ignore"):
            est = np.clip(num / acc - off, floor, self.component_size[:, None].astype(np.float64))
        return np.where(acc > 0, est, 0.0)

    def query(self, v: int, d: float) -> float:
        """Estimate of ``|B(v, d)|`` (uses the largest level <= d)."""
        i = int(np.searchsorted(self.levels, d, side="right")) - 1
        return float(self.sizes_row(v)[max(i, 0)])

    def sizes_row(self, v: int) -> np.ndarray:
        num, off, floor = self._estimator()
        acc = self.acc[v].astype(np.float64)
        with np.errstate(divide="ignore"):
            est = np.clip(num / acc - off, floor, max(float(self.component_size[v]), floor))
        return np.where(acc > 0, est, 0.0)


def distance_levels(graph, eps: float, km: KMachine | None = None) -> np.ndarray:
    """The discrete distances ``0, lo, lo(1+eps), ...`` up to an upper bound on every distance.

    ``lo`` is the smallest positive edge weight (no two vertices are closer unless joined by
    zero-weight paths); the upper bound is twice the eccentricity of one vertex per component
    (one MSSP call).
    """
    n_comp, lab = graph.components()
    _, first = np.unique(lab, return_index=True)
    d, _ = mssp(graph, first, km)
    hi = 2.0 * float(d[np.isfinite(d)].max()) if np.isfinite(d).any() else 0.0
    lo = graph.min_positive_weight()
    if km is not None and km.distributed:
        km.ledger.aggregate(2)  # global min edge weight and max eccentricity at the coordinator
    if lo <= 0:
        lo = 1.0
    hi = max(hi, lo)
    # log(hi) - log(lo), not log(hi / lo): the ratio of a 1e100 path and a 1e-300 edge overflows
    n_geo = float(np.ceil((np.log(hi) - np.log(lo)) / np.log1p(eps))) + 1 if hi > lo else 1
    if not n_geo <= MAX_LEVELS:
        raise ValueError(
            f"distance_precision is too small for this graph's range of distances: more than {MAX_LEVELS} "
            "distance levels; raise distance_precision (or rescale very short edges)."
        )
    n_geo = int(n_geo)
    return np.concatenate([[0.0], lo * (1.0 + eps) ** np.arange(n_geo)])


# Memory bounds of the discretisation (issue 22): the number of distance levels
# log(max/min distance) / log(1 + eps), and the float32 (vertices x levels) table of
# Algorithm 3's accumulated ranks (2**28 cells = 1 GiB).
MAX_LEVELS = 2**24
MAX_LEVEL_CELLS = 2**28


@numba.njit(cache=True)
def _add_rank(acc_row, levels, d_new, d_old, val):
    # min rank at level i is ``val`` for every level with d_new <= R_i < d_old
    lo = np.searchsorted(levels, d_new)  # first level >= d_new
    hi = np.searchsorted(levels, d_old)  # first level >= d_old
    for i in range(lo, hi):
        acc_row[i] += val


@numba.njit(cache=True)
def _cohen_pass(indptr, indices, weights, order, rank, levels, acc):
    """One repetition of Cohen's pruned Dijkstra least-element lists, accumulated per level."""
    n = indptr.shape[0] - 1
    m2 = indices.shape[0]
    best = np.full(n, np.inf)
    hk, ht, hv = new_heap(n, m2)
    for t in range(order.shape[0]):
        s = order[t]
        r = rank[s]
        size = heap_push(hk, ht, hv, 0, 0.0, 0, s)
        while size > 0:
            d, _, u, size = heap_pop(hk, ht, hv, size)
            if d >= best[u]:
                continue  # pruned: a smaller rank already reaches u at distance <= d
            _add_rank(acc[u], levels, d, best[u], r)
            best[u] = d
            for e in range(indptr[u], indptr[u + 1]):
                x = indices[e]
                nd = d + weights[e]
                if nd < best[x]:
                    size = heap_push(hk, ht, hv, size, nd, 0, x)


@numba.njit(cache=True)
def _class_pass(dist, curmin, levels, acc, val):
    for v in range(dist.shape[0]):
        if dist[v] < curmin[v]:
            _add_rank(acc[v], levels, dist[v], curmin[v], val)
            curmin[v] = dist[v]


def round_ranks(rank: np.ndarray, eps: float) -> np.ndarray:
    """Round ranks in (0, 1] down to the nearest power of ``1/(1+eps)`` (Algorithm 3, step 3)."""
    j = np.ceil(-np.log(rank) / np.log1p(eps) - 1e-12)
    return (1.0 + eps) ** (-j)


def _pass_distributed(km: KMachine, rounded: np.ndarray, levels: np.ndarray, acc: np.ndarray) -> None:
    g = km.graph
    vals = np.unique(rounded[np.isfinite(rounded)])  # ascending: smallest rank classes first
    km.ledger.aggregate(1)  # machines agree on the non-empty rank classes
    curmin = np.full(g.n_vertices, np.inf)
    for val in vals:
        sources = np.flatnonzero(rounded == val)
        dist, _ = mssp(g, sources, km)
        _class_pass(dist, curmin, levels, acc, float(val))


def estimate_neighbourhood_sizes(
    graph,
    eps: float = 0.1,
    n_repetitions: int = 16,
    rng: np.random.Generator | None = None,
    km: KMachine | None = None,
    *,
    levels: np.ndarray | None = None,
    round_to_classes: bool | None = None,
    clients: np.ndarray | None = None,
    demand: np.ndarray | None = None,
) -> NeighbourhoodSizes:
    """Estimate ``|B(v, R_i)|`` for every vertex v and level ``R_i`` (Algorithm 3).

    Parameters
    ----------
    graph : Graph
    eps : float
        Level spacing ``(1+eps)`` and rank rounding of Algorithm 3.
    n_repetitions : int
        Independent rank draws ``l`` (Theorem 4.2 asks ``O(log n / eps^2)`` for a (1 +- eps)
        estimate w.h.p.; fewer repetitions give noisier sizes).
    rng : numpy.random.Generator
    km : KMachine, optional
        With ``k > 1``: Algorithm 3 in the k-machine model (one MSSP per rank class).
        Otherwise Cohen's sequential pruned Dijkstra.
    levels : ndarray, optional
        Distances ``R``; default :func:`distance_levels`.
    round_to_classes : bool, optional
        Round ranks to powers of ``1/(1+eps)`` (default: only when distributed).
    clients : ndarray of bool, shape (n_vertices,), optional
        Count only these vertices in the balls (default: every vertex). Non-clients get no rank.
    demand : ndarray of shape (n_vertices,), optional
        Client weights >= 0 (overrides ``clients``): estimate the ball WEIGHTS
        ``sum_{u in B(v, R_i)} demand[u]``. Cohen's weighted variant: vertex u gets an
        exponential rank of rate ``demand[u]`` (none when 0); the minimum over a ball is then
        exponential with rate the ball's weight, and ``(l - 1) / sum of minima`` estimates it
        without bias. Weights 0/1 estimate the same sizes as ``clients`` (another estimator).

    Returns
    -------
    NeighbourhoodSizes
    """
    rng = np.random.default_rng() if rng is None else rng
    if levels is None:
        levels = distance_levels(graph, eps, km)
    distributed = km is not None and km.distributed
    if round_to_classes is None:
        round_to_classes = distributed
    n = graph.n_vertices
    if n * levels.shape[0] > MAX_LEVEL_CELLS:
        raise ValueError(
            f"the vertices x distance levels table would exceed {MAX_LEVEL_CELLS} cells (1 GiB); raise "
            "distance_precision (fewer levels) or use a smaller graph."
        )
    acc = np.zeros((n, levels.shape[0]), dtype=np.float32)
    if demand is not None:
        demand = np.asarray(demand, dtype=np.float64)
        clients = demand > 0
    for _ in range(int(n_repetitions)):
        # ranks uniform in (0, 1]; each machine draws those of the vertices it hosts (local work)
        rank = 1.0 - rng.random(n)
        if demand is not None:
            with np.errstate(divide="ignore"):
                rank = -np.log(rank) / demand  # Exp(demand[u]); inf at demand 0
        if round_to_classes:
            with np.errstate(divide="ignore", invalid="ignore"):
                rank = np.where(np.isfinite(rank), round_ranks(np.where(np.isfinite(rank), rank, 1.0), eps), np.inf)
        if clients is not None:
            rank[~clients] = np.inf  # never a source: not counted in any ball
        if distributed:
            _pass_distributed(km, rank, levels, acc)
        else:
            if km is not None:
                km.ledger.count_call("cohen_pruned_dijkstra")
            order = np.argsort(rank, kind="stable")
            if clients is not None:
                order = order[: int(clients.sum())]
            _cohen_pass(graph.indptr, graph.indices, graph.weights, order, rank, levels, acc)
    _, lab = graph.components()
    if demand is not None:
        comp_size = np.bincount(lab, weights=demand)[lab]
        pos = demand[demand > 0]
        min_w = float(pos.min()) if pos.size else 1.0
        return NeighbourhoodSizes(levels, acc, int(n_repetitions), float(eps), comp_size, min_w)
    weights = None if clients is None else clients.astype(np.float64)
    comp_size = np.bincount(lab, weights=weights)[lab].astype(np.int64)
    return NeighbourhoodSizes(levels, acc, int(n_repetitions), float(eps), comp_size)


@numba.njit(cache=True, inline="always")
def _size(a, num, off, floor, cap):
    # Cohen's estimate num / sum(min ranks) - off, clipped to [floor, cap]; 0 when no client in
    # reach. Uniform ranks: (l, 1, 1); exponential (weighted) ranks: (l - 1, 0, min weight).
    if a <= 0.0:
        return 0.0
    nb = num / a - off
    if nb < floor:
        nb = floor
    if nb > cap:
        nb = cap
    return nb


@numba.njit(cache=True)
def _radii_kernel(acc, levels, num, off, floor, comp_size, f, eps, out):
    n, L = acc.shape
    for v in range(n):
        fv = f[v]
        if fv <= 0.0:
            out[v] = 0.0
            continue
        if fv == np.inf:
            out[v] = np.inf  # cannot host a facility: never opened by the greedy phase
            continue
        cap = comp_size[v]
        if cap <= 0.0:
            out[v] = np.inf  # no client in reach: nothing to serve
            continue
        # Below R_1 (the smallest positive edge weight) B(v, r) = B(v, 0), so Phi(r) = n_0 r is
        # exact there; the radius is then rounded UP to a power of (1+eps) below R_1 so that
        # radii stay discrete (the classes of the greedy phase, Section 4.4).
        nb0 = _size(acc[v, 0], num, off, floor, cap)
        if L > 1 and nb0 > 0.0 and fv <= nb0 * levels[1]:
            r_exact = fv / nb0
            j = np.floor(np.log(levels[1] / r_exact) / np.log(1.0 + eps) + 1e-12)
            out[v] = levels[1] * (1.0 + eps) ** (-j)
            continue
        s = 0.0
        found = False
        for t in range(L - 1):
            if s >= fv:
                out[v] = levels[t]
                found = True
                break
            nb = _size(acc[v, t], num, off, floor, cap)
            s += nb * (levels[t + 1] - levels[t])
        if found:
            continue
        if s >= fv:
            out[v] = levels[L - 1]
            continue
        # beyond the last level every ball is the whole component: Phi grows at rate cap
        r_exact = levels[L - 1] + (fv - s) / cap
        j = np.ceil(np.log(r_exact / levels[L - 1]) / np.log(1.0 + eps) - 1e-12)
        out[v] = levels[L - 1] * (1.0 + eps) ** j


def compute_radii(nbhd: NeighbourhoodSizes, opening_cost: np.ndarray) -> np.ndarray:
    """RadiusComputation (Algorithm 2, version 2): the approximate beta-MP radius of every vertex.

    ``r~_v = R_t`` for the smallest ``t`` with ``sum_{i<t} n_i(v) (R_{i+1} - R_i) >= f_v``, where
    ``n_i(v)`` are the estimated ball sizes. The left side is a lower bound on
    ``sum_{u in B(v, R_t)} (R_t - d(u, v))`` (Section 4.1), so with exact sizes ``r_v <= r~_v``
    and Lemma 4.1/4.4 bound the over-estimate. Pure local computation (no communication).

    Parameters
    ----------
    nbhd : NeighbourhoodSizes
    opening_cost : ndarray of shape (n_vertices,)
        The (beta-scaled) opening cost of every vertex.

    Returns
    -------
    radii : ndarray of shape (n_vertices,)
        Values among the levels (or further powers of (1+eps) beyond them).
    """
    out = np.empty(nbhd.acc.shape[0], dtype=np.float64)
    num, off, floor = nbhd._estimator()
    _radii_kernel(
        nbhd.acc,
        nbhd.levels,
        num,
        off,
        floor,
        nbhd.component_size.astype(np.float64),
        np.asarray(opening_cost, dtype=np.float64),
        nbhd.eps,
        out,
    )
    return out


def exact_radii(dist_matrix: np.ndarray, opening_cost: np.ndarray, demand: np.ndarray | None = None) -> np.ndarray:
    """Exact Mettu-Plaxton radii from a dense distance matrix (test oracle; O(n^2 log n)).

    Solves ``sum_u w_u max(0, r - d(v, u)) = f_v`` for every v (``w = demand``, default 1).
    A vertex with no client of positive weight in reach gets ``inf``.
    """
    n = dist_matrix.shape[0]
    w_all = np.ones(n) if demand is None else np.asarray(demand, dtype=np.float64)
    out = np.empty(n)
    for v in range(n):
        f = opening_cost[v]
        if f <= 0:
            out[v] = 0.0
            continue
        ok = np.isfinite(dist_matrix[v]) & (w_all > 0)
        order = np.argsort(dist_matrix[v][ok], kind="stable")
        d = dist_matrix[v][ok][order]
        w = w_all[ok][order]
        if d.size == 0:
            out[v] = np.inf
            continue
        cw = np.cumsum(w)
        cs = np.cumsum(w * d)
        for j in range(1, d.size + 1):
            # with the j closest clients inside: W_j r - sum w d = f
            r = (f + cs[j - 1]) / cw[j - 1]
            if j == d.size or r <= d[j]:
                out[v] = r
                break
    return out
