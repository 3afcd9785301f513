"""p-center on a graph metric (Section 6): approximate MIS with a binary search on the radius."""

from __future__ import annotations

import numpy as np

from sklearn.base import BaseEstimator

from .._core.report import RunRecorder
from .._core.validation import BOOLEAN, NONE, Options, validate_params
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
from .facility import _charge_output
from .mis import approximate_mis, greedy_cover
from .neighbourhood import distance_levels
from .local_search import AUTO_TABLE_CELLS, cover_radius_search, pcenter_local_search
from .paths import mssp

__all__ = ["PCenter"]


class PCenter(ClusteringResultMixin, BaseEstimator):
    """Vertex p-center on a graph's shortest-path metric (Section 6).

    Choose at most ``p`` vertices minimising ``max_v d(v, nearest chosen vertex)``.

    By Lemma 6.1 an approximate MIS of the threshold graph at distance ``2 r*`` has at most p
    vertices and serves everyone within ``2 r*``. The radius d is bisected: an MIS (Algorithm 5)
    with more than p vertices proves ``r* > d / 2``, one with at most p vertices is a solution
    of radius at most d. The search stops when ``hi - lo <= distance_precision * lo`` (or at the
    resolution of the smallest edge weight), giving a factor ``2 (1 + distance_precision)``. If the final MIS has
    fewer than p vertices, the remaining centres are added farthest-first (Gonzalez), which
    can only lower the radius (beyond the paper; ``fill=False`` returns the MIS alone).

    Parameters
    ----------
    p : int
        Number of centres, 1 <= p <= n_vertices.
    distance_precision : float in [1e-4, 1], default=0.01
        Relative precision of the radius bisection (the paper's epsilon, Section 6).
    n_trials : int in [1, 100000], default=16
        Independent MIS draws per tested radius (the smallest one counts); more trials find
        feasible smaller radii more often.
    fill : bool, default=True
        Top up to exactly p centres farthest-first.
    local_search : bool or "auto", default="auto"
        Improvement phase after the paper's algorithm (beyond the paper; charged to the ledger
        with ``machines > 1``; it never raises the radius): (1) the smallest radius at which a
        greedy set cover of the clients by the sites' balls needs at most p centres, bisected
        between the MIS search's proven lower bound and the paper's radius
        (:func:`~bigclust.graph.local_search.cover_radius_search`, one search bounded at that
        radius per site), kept when it beats the paper's answer; (2) vertex-substitution local
        search on the radius (:func:`~bigclust.graph.local_search.pcenter_local_search`).
        ``"auto"`` runs the phase when the ``p x clients`` table of (2) has at most
        ``AUTO_TABLE_CELLS = 2**25`` cells (else skips it); (1) then gives up above 2**25
        (site, client) pairs within the radius, and (2) stops after ``2**25 / n_vertices``
        SSSPs. ``True`` runs both without these limits; ``False`` returns the paper's answer.
    max_local_search_passes : int, default=50
        Passes (moves tried) of the vertex substitution; each looks at critical clients.
    local_search_candidates : int, optional
        Sites examined per critical client (default all sites closer than the radius to it).
    machines : int in [1, 256], default=1
    random_state : None, int or Generator, default=None
    verbose : bool, default=False
    epsilon : float, optional
        Deprecated alias of ``distance_precision`` (since 0.2, removed in 0.3).

    Attributes
    ----------
    facilities_ : ndarray of int64
        The centres (sorted).
    assignment_, distances_ : ndarray of shape (n_vertices,)
    cost_ : float
        ``max over clients v of d(v, centre)`` (every vertex is a client by default).
    facility_ids_ : ndarray
        The centres in the graph's node ids (``labels``; the vertex numbers when it has none).
    demand_ : ndarray of shape (n_vertices,)
        The client weights used (1 everywhere by default).
    search_radius_ : float
        The radius d of the accepted MIS (``cost_ <= search_radius_``).
    report_ : dict
        Times, peak memory, ledger, ``search`` (radii tried and MIS sizes), ``raw_cost`` (the
        paper's radius, before the improvement phase), ``local_search`` (``cover``: radii
        tested, radius found, SSSP calls; ``substitution``: passes, swaps, SSSP calls; or why
        ``"auto"`` skipped it), ``outside_model``.

    Notes
    -----
    A disconnected graph raises ValueError. ``search_radius_`` and the factor
    ``2 (1 + distance_precision)`` belong to the paper's answer; the default answer is never
    worse than it.
    """

    _parameter_constraints = {
        "p": [AtLeast(int, 1)],
        "n_trials": [REPETITIONS],
        "fill": [BOOLEAN],
        "local_search": [BOOLEAN, Options(("auto",))],
        "max_local_search_passes": [AtLeast(int, 1)],
        "local_search_candidates": [AtLeast(int, 1), NONE],
        **COMMON_CONSTRAINTS,
    }

    def __init__(
        self,
        p: int,
        *,
        distance_precision: float = 0.01,
        n_trials: int = 16,
        fill: bool = True,
        local_search: bool | str = "auto",
        max_local_search_passes: int = 50,
        local_search_candidates: int | None = None,
        machines: int = 1,
        random_state=None,
        verbose: bool = False,
        epsilon: float | None = None,
    ):
        self.p = p
        self.distance_precision = distance_precision
        self.n_trials = n_trials
        self.fill = fill
        self.local_search = local_search
        self.max_local_search_passes = max_local_search_passes
        self.local_search_candidates = local_search_candidates
        self.machines = machines
        self.random_state = random_state
        self.verbose = verbose
        self.epsilon = epsilon

    def _objective(self, dist: np.ndarray, demand: np.ndarray) -> float:
        """The p-center cost: the largest distance of a client (demand > 0) to its nearest facility."""
        return float(dist[demand > 0].max())

    def fit(self, graph, demand=None, candidates=None, fixed=None) -> "PCenter":
        """Choose at most ``p`` centres on ``graph`` (a connected :class:`~bigclust.graph.Graph`).

        Parameters
        ----------
        graph : Graph
        demand : str, array-like of shape (n_vertices,) or mapping, optional
            Vertices of positive demand are the clients that must be covered; the objective is
            ``max over clients of d(v, F)``. The weights' values are otherwise ignored: the
            paper's p-center (and Lemma 6.1) has no weights, and a weighted maximum
            ``max_v demand[v] d(v, F)`` is a different problem. ``demand_`` and
            ``to_frame()`` report the weights given. They are checked as for the other
            estimators (finite, >= 0, positive values in [1e-30, 1e30]).
        candidates : array-like of node ids or bool mask, optional
            Where a centre may open (default everywhere). Each MIS member is then replaced by
            its nearest candidate (the k-supplier rule of Hochbaum and Shmoys): the factor
            becomes ``3 (1 + distance_precision)`` instead of ``2 (1 + distance_precision)``.
        fixed : array-like of node ids or bool mask, optional
            Already open centres; they count toward ``p``. Only clients farther than the tested
            radius from them enter the MIS, which may then hold ``p - len(fixed)`` vertices.
        """
        validate_params(self)
        eps = float(resolve_renamed(self, "distance_precision"))
        graph = check_graph(graph)
        n = graph.n_vertices
        p = check_p(self.p, n)
        sites = check_sites(graph, demand, candidates, fixed)
        check_fixed_p(sites, p)
        trials = int(self.n_trials)
        graph.check_connected("p-center")
        rng, km = machines_for(self, graph)
        run = RunRecorder(verbose=self.verbose)
        search = []
        clients = sites.clients
        fixed_v = sites.fixed
        budget = p - fixed_v.size
        restricted = sites.restricted
        with run.stage("radius_search"):
            # distances to the fixed centres and to the nearest candidate: one MSSP each
            d_fixed = mssp(graph, fixed_v, km)[0] if fixed_v.size else np.full(n, np.inf)
            near_site = mssp(graph, np.flatnonzero(sites.candidates), km)[1] if restricted else None

            def centres(m):
                opened = m if near_site is None else np.unique(near_site[m])
                return np.union1d(opened, fixed_v) if fixed_v.size else opened

            def mis_at(d):
                W = np.flatnonzero(clients & (d_fixed > d))
                best = None
                for _ in range(trials):
                    m = approximate_mis(graph, W, d, rng, km)
                    if best is None or m.size < best.size:
                        best = m
                km.ledger.gather(1)  # MIS size at the coordinator
                search.append((float(d), int(best.size)))
                return best

            hi = float(distance_levels(graph, 1.0, km)[-1])  # >= every distance
            lo = 0.0
            sol = mis_at(hi)
            # the coordinator learnt the smallest edge weight in distance_levels (charged there)
            resolution = max(graph.min_positive_weight(), 1e-12) * 1e-6
            if sol.size > budget:  # one client covers every other at hi
                raise RuntimeError("internal error: MIS at the diameter bound is larger than the budget.")
            m0 = mis_at(0.0)
            if m0.size <= budget:
                sol, hi = m0, 0.0
            while hi - lo > max(eps * lo, resolution):
                mid = 0.5 * (lo + hi)
                km.ledger.broadcast(1)
                m = mis_at(mid)
                run.progress.update(f"radius {mid:.6g}: {m.size} centres")
                if m.size <= budget:
                    hi, sol = mid, m
                else:
                    lo = mid
            sol = centres(sol)
        self.search_radius_ = hi
        with run.stage("assign"):
            if self.fill and sol.size < p:
                sol = _fill_farthest_first(graph, sol, p, clients, near_site, km)
            dist, nearest = mssp(graph, sol, km)
        raw_cost = float(dist[clients].max())
        info = {}
        mode = self.local_search
        auto = isinstance(mode, str)
        # the substitution's p x clients table of centre distances
        fits = sol.size * int(clients.sum()) <= AUTO_TABLE_CELLS
        if (auto and fits) or (not auto and bool(mode)):
            with run.stage("local_search"):
                if budget > 0 and raw_cost > 0:
                    # greedy set cover over the sites' balls, bisected on the radius between the
                    # MIS search's proven lower bound (r* > lo / 2) and raw_cost
                    new, info["cover"] = cover_radius_search(
                        graph, budget, lo / 2.0, raw_cost, clients=clients, sites=sites.candidates,
                        fixed=fixed_v, km=km, max_entries=AUTO_TABLE_CELLS if auto else None,
                    )
                    if new is not None:
                        cand = np.union1d(new, fixed_v) if fixed_v.size else new
                        if self.fill and cand.size < p:
                            cand = _fill_farthest_first(graph, cand, p, clients, near_site, km)
                        d_c, n_c = mssp(graph, cand, km)
                        km.ledger.aggregate(1)  # its radius
                        if float(d_c[clients].max()) < raw_cost:
                            sol, dist, nearest = cand, d_c, n_c
                sol, info["substitution"] = pcenter_local_search(
                    graph, sol, rng, clients=clients, candidates=sites.candidates if restricted else None,
                    fixed=fixed_v, max_passes=int(self.max_local_search_passes),
                    max_candidates=None if self.local_search_candidates is None else int(self.local_search_candidates),
                    km=km, max_visits=AUTO_TABLE_CELLS if auto else None,
                )
                dist, nearest = mssp(graph, sol, km)
        elif mode == "auto":
            info = {"skipped": "p x clients table above AUTO_TABLE_CELLS"}
        if km.distributed:
            _charge_output(km, nearest)
        self._set_solution(sol, dist, nearest, graph, sites)
        self.cost_ = float(self.distances_[clients].max())
        self.report_ = run.finish(**ledger_report(km), n_vertices=n, p=p, search=search, raw_cost=raw_cost,
                                  local_search=info, **outside_model(km))
        return self


def _fill_farthest_first(graph, sol, p, clients, near_site, km):
    """Top ``sol`` up to ``p`` centres farthest-first (Gonzalez) over the clients (beyond the paper).

    Opens the farthest client's site (its nearest candidate when sites are restricted) until p
    centres are open, no client is left at a positive distance, or that site is open already.
    This can only lower the radius.
    """
    n = graph.n_vertices
    dist, nearest = mssp(graph, sol, km)
    cover = dist.copy()
    extra = []
    for _ in range(p - sol.size):
        v = int(np.argmax(np.where(clients, cover, -1.0)))
        km.ledger.aggregate(1)  # farthest client via a global max
        if cover[v] <= 0:
            break
        site = v if near_site is None else int(near_site[v])
        if site in extra or np.isin(site, sol):
            break  # the farthest client's site is open already: nothing to gain
        extra.append(site)
        if km.distributed:
            d_new, _ = mssp(graph, [site], km)
            np.minimum(cover, d_new, out=cover)
        else:
            greedy_cover(graph, [site], np.full(n, -1.0), cover=cover, nearest=nearest)
    return np.union1d(sol, np.asarray(extra, dtype=np.int64))
