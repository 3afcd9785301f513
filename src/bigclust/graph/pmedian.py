"""p-median on a graph metric (Section 5): uniform facility location with a binary search on the
opening cost, then Jain-Vazirani bipoint rounding (Lemma 5.1, Section 5.1-5.2)."""

from __future__ import annotations

import numpy as np

from sklearn.base import BaseEstimator

from .._core.report import RunRecorder
from .._core.validation import BOOLEAN, NONE, Interval, Options, validate_params
from ._common import (
    REPETITIONS,
    COMMON_CONSTRAINTS,
    AtLeast,
    ClusteringResultMixin,
    check_fixed_p,
    check_graph,
    check_p,
    check_sites,
    outside_model,
    ledger_report,
    machines_for,
    resolve_renamed,
)
from .facility import _charge_output, _nbhd_weights, mettu_plaxton
from .kmachine import KMachine
from .local_search import AUTO_TABLE_CELLS, swap_local_search
from .neighbourhood import estimate_neighbourhood_sizes
from .paths import mssp

__all__ = ["PMedian", "bipoint_round"]


def bipoint_round(
    graph,
    A: np.ndarray,
    B: np.ndarray,
    p: int,
    rng: np.random.Generator,
    km: KMachine | None = None,
    *,
    pool: np.ndarray | None = None,
    fixed: np.ndarray | None = None,
) -> np.ndarray:
    """Jain-Vazirani rounding of a bipoint solution (Section 5.1) to exactly ``p`` facilities.

    ``|A| < p < |B|``. B' holds, for each vertex of A, its nearest vertex of B (one MSSP call from
    B, Lemma 2.3), padded with random vertices of B until ``|B'| = |A|``. With probability
    ``a = (|B| - p) / (|B| - |A|)`` take A, otherwise B'; then add ``p - |A|`` random vertices of
    ``B - B'``. (If A and B share vertices the result may have fewer than p distinct vertices; it
    is then topped up with random vertices of B, then of ``pool``, which can only lower the cost.)

    ``pool`` (default every vertex) are the allowed sites; ``fixed`` facilities must lie in A and
    in B and are kept: each is its own nearest vertex of B, so it is in B' and in the answer.
    The rounding does not look at client weights (Jain-Vazirani's argument holds for any
    non-negative client weights; only the cost of the result depends on them).
    """
    pool_all = None if pool is None else np.asarray(pool, dtype=np.int64)
    A = np.unique(A)
    B = np.unique(B)
    n_a, n_b = A.size, B.size
    _, near = mssp(graph, B, km)
    if fixed is not None and fixed.size:
        near[fixed] = fixed  # a fixed facility is its own nearest vertex of B (ties at distance 0)
    b_prime = np.unique(near[A])
    rest = np.setdiff1d(B, b_prime)
    if b_prime.size < n_a:
        b_prime = np.concatenate([b_prime, rng.choice(rest, n_a - b_prime.size, replace=False)])
        rest = np.setdiff1d(B, b_prime)
    a = (n_b - p) / (n_b - n_a)
    if km is not None:
        km.ledger.aggregate(2)  # counts |A|, |B'| to the coordinator and its coin flip back
    base = A if rng.random() < a else b_prime
    extra = rng.choice(rest, p - n_a, replace=False)
    C = np.union1d(base, extra)
    if C.size < p:
        pool = np.setdiff1d(B, C)
        if pool.size < p - C.size:
            everyone = np.arange(graph.n_vertices) if pool_all is None else pool_all
            pool = np.setdiff1d(everyone, C)
        C = np.union1d(C, rng.choice(pool, p - C.size, replace=False))
    return C


class PMedian(ClusteringResultMixin, BaseEstimator):
    """p-median on a graph's shortest-path metric (Section 5).

    Choose exactly ``p`` vertices minimising ``sum_v d(v, nearest chosen vertex)``.

    The search runs the facility location algorithm of Section 4 with a uniform opening cost z,
    bisecting z (log scale) until a solution with exactly p facilities appears or two solutions
    A, B with ``|A| < p < |B|`` bracket p at opening costs within a factor
    ``1 + distance_precision`` (the resolution of the discretised radii: finer steps only redraw
    the random tie orders); those are combined by Jain-Vazirani bipoint rounding,
    repeated ``n_roundings`` times (the paper's O(log n) repetitions) keeping the cheapest.
    The neighbourhood sizes are estimated once: they do not depend on z.

    Parameters
    ----------
    p : int
        Number of medians, 1 <= p <= n_vertices.
    distance_precision : float in [1e-4, 1], default=0.05
        Relative precision of distances: radii and distances are discretised into powers of
        ``1 + distance_precision`` (the paper's epsilon, Section 4).
    n_repetitions : int in [1, 100000], default=64
        Rank draws of the neighbourhood-size estimator (Algorithm 3).
    n_roundings : int, optional
        Independent bipoint roundings; default ``ceil(log2 n)``.
    n_probes : int, default=8
        Extra MP runs (fresh tie orders, opening costs within a factor
        ``1 + distance_precision`` of the one that gave exactly p facilities); the cheapest
        p-facility solution is kept.
    max_search_steps : int in [1, 2000], default=60
        Bisection steps on the opening cost.
    machines : int in [1, 256], default=1
        Simulated k-machine model size (see :class:`FacilityLocation`).
    local_search : bool or "auto", default="auto"
        Swap local search after the paper's algorithm (beyond the paper; only shortest-path
        computations, charged to the ledger with ``machines > 1``). ``"auto"`` runs it when the
        ``p x n_vertices`` distance table has at most ``AUTO_TABLE_CELLS = 2**25`` cells (256
        MiB), each pass examining random candidates until their (pruned) searches have settled
        ``2**25`` vertices, and skips it otherwise (``report_["local_search"]["skipped"]``).
        ``True`` always runs it, over every candidate in each pass; ``False`` returns the
        paper's answer.
    max_local_search_passes : int, default=10
        Passes of the local search over its candidates; it stops earlier after a pass without
        an improving swap.
    local_search_candidates : int, optional
        Candidates examined per local-search pass (default all, within the ``"auto"``
        budget).
    random_state : None, int or Generator, default=None
    verbose : bool, default=False
    epsilon : float, optional
        Deprecated alias of ``distance_precision`` (since 0.2, removed in 0.3).
    refine : bool, optional
        Deprecated alias of ``local_search`` (since 0.2, removed in 0.3).
    max_refine_passes : int, optional
        Deprecated alias of ``max_local_search_passes`` (since 0.2, removed in 0.3).
    refine_candidates : int, optional
        Deprecated alias of ``local_search_candidates`` (since 0.2, removed in 0.3).

    Attributes
    ----------
    facilities_, assignment_, distances_ : see :class:`FacilityLocation`
    facility_ids_ : ndarray
        The medians in the graph's node ids (``labels``; vertex numbers when none).
    demand_ : ndarray of shape (n_vertices,)
        The client weights used (1 everywhere by default).
    cost_ : float
        ``sum_v demand[v] d(v, facility)``.
    report_ : dict
        Times, peak memory, ledger (``rounds``, ``messages``, ``max_load``), ``raw_cost``
        (the paper's answer, before the local search), ``local_search`` (its passes, swaps
        and SSSP calls, or why ``"auto"`` skipped it), ``search`` (opening costs tried and
        facility counts), ``outside_model``.

    Notes
    -----
    A disconnected graph raises ValueError (distances between components are infinite).
    """

    _parameter_constraints = {
        "p": [AtLeast(int, 1)],
        "n_repetitions": [REPETITIONS],
        "n_roundings": [REPETITIONS, NONE],
        "n_probes": [Interval(int, 0, 100_000, closed="both")],
        "max_search_steps": [Interval(int, 1, 2000, closed="both")],
        "local_search": [BOOLEAN, Options(("auto",))],
        "max_local_search_passes": [AtLeast(int, 1)],
        "local_search_candidates": [AtLeast(int, 1), NONE],
        **COMMON_CONSTRAINTS,
        "refine": [BOOLEAN, NONE],
        "max_refine_passes": [AtLeast(int, 1), NONE],
        "refine_candidates": [AtLeast(int, 1), NONE],
    }

    def __init__(
        self,
        p: int,
        *,
        distance_precision: float = 0.05,
        n_repetitions: int = 64,
        n_roundings: int | None = None,
        n_probes: int = 8,
        max_search_steps: int = 60,
        machines: int = 1,
        local_search: bool | str = "auto",
        max_local_search_passes: int = 10,
        local_search_candidates: int | None = None,
        random_state=None,
        verbose: bool = False,
        epsilon: float | None = None,
        refine: bool | None = None,
        max_refine_passes: int | None = None,
        refine_candidates: int | None = None,
    ):
        self.p = p
        self.distance_precision = distance_precision
        self.n_repetitions = n_repetitions
        self.n_roundings = n_roundings
        self.n_probes = n_probes
        self.max_search_steps = max_search_steps
        self.machines = machines
        self.local_search = local_search
        self.max_local_search_passes = max_local_search_passes
        self.local_search_candidates = local_search_candidates
        self.random_state = random_state
        self.verbose = verbose
        self.epsilon = epsilon
        self.refine = refine
        self.max_refine_passes = max_refine_passes
        self.refine_candidates = refine_candidates

    def fit(self, graph, demand=None, candidates=None, fixed=None) -> "PMedian":
        """Choose ``p`` medians on ``graph`` (a connected :class:`~bigclust.graph.Graph`).

        Parameters
        ----------
        graph : Graph
        demand : str, array-like of shape (n_vertices,) or mapping, optional
            Client weight per vertex (0 = not a client; positive values in [1e-30, 1e30]); see
            :meth:`FacilityLocation.fit`. The objective becomes ``sum_v demand[v] d(v, F)``;
            the facility-location runs of the search use the weighted MP radii, the bipoint
            rounding is unchanged (Jain-Vazirani's analysis holds for weighted clients).
        candidates : array-like of node ids or bool mask, optional
            Where a median may open (default everywhere): other vertices get an infinite
            opening cost in every facility-location run.
        fixed : array-like of node ids or bool mask, optional
            Already open facilities; they count toward ``p`` (``len(fixed) <= p``) and stay
            open (opening cost 0 in every run; never swapped out by the local search).
        """
        validate_params(self)
        eps = float(resolve_renamed(self, "distance_precision"))
        local_search = resolve_renamed(self, "local_search")
        passes = int(resolve_renamed(self, "max_local_search_passes"))
        cand = resolve_renamed(self, "local_search_candidates")
        cand = None if cand is None else int(cand)
        graph = check_graph(graph)
        n = graph.n_vertices
        p = check_p(self.p, n)
        sites = check_sites(graph, demand, candidates, fixed)
        check_fixed_p(sites, p)
        ell = int(self.n_repetitions)
        steps = int(self.max_search_steps)
        n_round = max(1, int(np.ceil(np.log2(max(n, 2))))) if self.n_roundings is None else int(self.n_roundings)
        n_probe = int(self.n_probes)
        graph.check_connected("p-median")
        rng, km = machines_for(self, graph)
        run = RunRecorder(verbose=self.verbose)
        w = sites.demand
        fixed_v = sites.fixed
        site_ids = np.flatnonzero(sites.candidates)
        # the opening-cost pattern of every run: z at candidates, inf elsewhere, 0 when fixed
        base = np.where(sites.candidates, 1.0, np.inf)
        base[fixed_v] = 0.0

        def cost_of(d):
            return float((w * d).sum())

        def mp(z):
            fac = mettu_plaxton(graph, nbhd, z * base, rng, km)[0]
            return np.union1d(fac, fixed_v) if fixed_v.size else fac

        search = []
        with run.stage("neighbourhood_sizes"):
            nbhd = estimate_neighbourhood_sizes(graph, eps, ell, rng, km, **_nbhd_weights(sites))
        with run.stage("opening_cost_search"):
            if p == site_ids.size or p == fixed_v.size:
                sol = site_ids if p == site_ids.size else fixed_v
            else:
                # z -> 0 opens every candidate near a client; z = W * (distance bound) leaves one.
                w_min = float(w[w > 0].min())
                z_lo = max(graph.min_positive_weight(), 1e-12) * min(w_min, 1.0) * 1e-3
                z_hi = float(w.sum()) * max(nbhd.levels[-1], 1.0) * 4.0
                km.ledger.aggregate(2)  # coordinator learns the min / max edge weight
                best_small = best_big = None  # facility sets with count < p / > p
                sol = None
                for _ in range(steps):
                    z = float(np.sqrt(z_lo * z_hi))
                    km.ledger.broadcast(1)  # coordinator announces z
                    fac = mp(z)
                    km.ledger.gather(1)  # facility count
                    search.append((z, int(fac.size)))
                    run.progress.update(f"opening cost {z:.4g}: {fac.size} facilities")
                    if fac.size == p:
                        sol = fac
                        z_found = z
                        break
                    if fac.size > p:
                        z_lo, best_big = z, fac
                    else:
                        z_hi, best_small = z, fac
                    if z_hi / z_lo <= 1.0 + eps:
                        # below the radii's (1 + eps) resolution the facility count only
                        # jitters with the tie orders (measured: 30+ steps of +-2% around p on
                        # a 10^7-vertex grid); bracket and round (Section 5.1) instead
                        break
            if sol is not None and n_probe > 0 and p < site_ids.size and p > fixed_v.size and search:
                # Amplification (as the paper's O(log n) repetitions): more MP runs with fresh
                # tie orders at opening costs near the one that gave p facilities; keep the
                # cheapest solution with exactly p facilities.
                best_cost = cost_of(mssp(graph, sol, km)[0])
                for _ in range(n_probe):
                    z = z_found * (1.0 + eps) ** rng.uniform(-1.0, 1.0)
                    km.ledger.broadcast(1)
                    fac = mp(z)
                    km.ledger.aggregate(2)  # count and cost at the coordinator
                    search.append((z, int(fac.size)))
                    if fac.size == p:
                        c = cost_of(mssp(graph, fac, km)[0])
                        if c < best_cost:
                            best_cost, sol = c, fac
        rounded = False
        with run.stage("bipoint_rounding"):
            if sol is None:
                if best_big is None:  # never saw more than p: take the cheapest z solution
                    best_big = mp(z_lo)
                if best_small is None:
                    best_small = mp(z_hi)
                if best_big.size <= p:  # cannot bracket (ties): top up the largest solution
                    free = np.setdiff1d(site_ids, best_big)
                    best_big = np.union1d(best_big, rng.choice(free, p + 1 - best_big.size, replace=False))
                if best_small.size >= p:
                    movable = np.setdiff1d(best_small, fixed_v)
                    keep = rng.choice(movable, p - 1 - fixed_v.size, replace=False)
                    best_small = np.union1d(keep, fixed_v)
                rounded = True
                best_cost = np.inf
                for _ in range(n_round):
                    C = bipoint_round(graph, best_small, best_big, p, rng, km, pool=site_ids, fixed=fixed_v)
                    d, _ = mssp(graph, C, km)
                    km.ledger.aggregate(1)  # total cost at the coordinator
                    c = cost_of(d)
                    if c < best_cost:
                        best_cost, sol = c, C
        dist, nearest = mssp(graph, sol, km)
        raw_cost = cost_of(dist)
        info = {}
        auto = isinstance(local_search, str)  # "auto"
        fits = p * n <= AUTO_TABLE_CELLS  # the search's p x n table of facility distances
        if (auto and fits) or (not auto and bool(local_search)):
            with run.stage("local_search"):
                sol, info = swap_local_search(
                    graph, sol, rng, max_passes=passes, max_candidates=cand, clients=w > 0, demand=w,
                    candidates=sites.candidates if sites.restricted else None, fixed=fixed_v, km=km,
                    max_visits=AUTO_TABLE_CELLS if auto else None,  # "auto": a pass settles <= 2**25 vertices
                )
                dist, nearest = mssp(graph, sol, km)
        elif auto:
            info = {"skipped": "p x n_vertices table above AUTO_TABLE_CELLS"}
        if km.distributed:
            _charge_output(km, nearest)
        self._set_solution(sol, dist, nearest, graph, sites)
        self.cost_ = cost_of(self.distances_)
        self.report_ = run.finish(
            **ledger_report(km),
            n_vertices=n,
            p=p,
            raw_cost=raw_cost,
            bipoint_rounding=rounded,
            search=search,
            n_levels=int(nbhd.levels.size),
            local_search=info,
            **outside_model(km),
        )
        return self
