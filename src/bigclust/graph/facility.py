"""Uncapacitated facility location on a graph metric (Section 4: Algorithm 6).

The beta-Mettu-Plaxton algorithm: every vertex v gets a radius r_v solving
``sum_{u in B(v, r)} (r - d(u, v)) = beta f_v``; vertices are then scanned by non-decreasing
radius and v opens when no open facility lies within ``2 r_v``. In the k-machine model
(Algorithm 6) the radii come from estimated neighbourhood sizes (Algorithms 2 and 3) and are
rounded to powers of (1+eps); the greedy phase handles one radius class at a time through an
approximate MIS (Algorithm 5) of the class's still-uncovered vertices in the threshold graph
``G_{2r}``. With one machine the same rounded radii are processed by the sequential greedy (an
exact MIS per class, which Definition 4.5 allows), in the spirit of Thorup's near-linear MP.
"""

from __future__ import annotations

import numbers

import numpy as np

from sklearn.base import BaseEstimator

from .._core.report import RunRecorder
from .._core.validation import BOOLEAN, NONE, Interval, check_positive, validate_params
from ._common import (
    MAX_OPENING_COST,
    REPETITIONS,
    ARRAY_LIKE,
    check_sites,
    outside_model,
    COMMON_CONSTRAINTS,
    AtLeast,
    ClusteringResultMixin,
    check_graph,
    ledger_report,
    machines_for,
    resolve_renamed,
)
from .kmachine import KMachine
from .local_search import swap_local_search
from .mis import approximate_mis, greedy_cover
from .neighbourhood import NeighbourhoodSizes, compute_radii, estimate_neighbourhood_sizes
from .paths import mssp

__all__ = ["FacilityLocation", "mettu_plaxton"]


def mettu_plaxton(
    graph,
    nbhd: NeighbourhoodSizes,
    opening_cost: np.ndarray,
    rng: np.random.Generator,
    km: KMachine | None = None,
    *,
    beta: float = 1.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The (beta-)MP facility location algorithm on estimated radii (Algorithm 6).

    Parameters
    ----------
    graph : Graph
    nbhd : NeighbourhoodSizes
        From :func:`estimate_neighbourhood_sizes` (independent of the opening costs, so one
        estimate serves every opening cost of a binary search).
    opening_cost : ndarray of shape (n_vertices,)
    rng : numpy.random.Generator
        Order within a radius class (sequential) / MIS coins (distributed).
    km : KMachine, optional
    beta : float
        beta-MP scaling of the radius equation (beta = 1: the original MP algorithm).

    Returns
    -------
    facilities : ndarray of int64, sorted
    dist : ndarray of shape (n_vertices,)
        Distance of every vertex to its facility.
    nearest : ndarray of int64, shape (n_vertices,)
        The facility serving every vertex (its nearest open facility).
    radii : ndarray of shape (n_vertices,)
    """
    n = graph.n_vertices
    radii = compute_radii(nbhd, beta * np.asarray(opening_cost, dtype=np.float64))
    if not (km is not None and km.distributed):
        # one random tie order inside a radius class, then the greedy scan
        order = np.lexsort((rng.permutation(n), radii))
        opened, cover, nearest = greedy_cover(graph, order, 2.0 * radii, bound=np.inf)
        if km is not None:
            km.ledger.count_call("mp_greedy")
        return np.sort(opened), cover, nearest, radii
    ledger = km.ledger
    classes = np.unique(radii)
    d_s = np.full(n, np.inf)
    chosen = []
    for rho in classes:
        ledger.aggregate(1)  # is the class non-empty after removals
        w = np.flatnonzero((radii == rho) & (d_s > 2.0 * rho))
        if w.size == 0:
            continue
        mis = approximate_mis(graph, w, 2.0 * rho, rng, km)
        if mis.size:
            chosen.append(mis)
            d_new, _ = mssp(graph, mis, km)  # removes vertices covered by the new facilities
            np.minimum(d_s, d_new, out=d_s)
    facilities = np.sort(np.concatenate(chosen))
    dist, nearest = mssp(graph, facilities, km)  # output: each client learns its facility
    # output representation: each client's (id, machine) pair reaches its facility's machine
    _charge_output(km, nearest)
    return facilities, dist, nearest, radii


def _charge_output(km: KMachine, nearest: np.ndarray) -> None:
    """Charge the delivery of every client's id to the machine hosting its facility (Section 1.2)."""
    if not km.distributed:
        return
    k = km.k
    src_m = km.owner
    dst_m = km.owner[nearest]
    cross = src_m != dst_m
    if not cross.any():
        return
    link = np.bincount(src_m[cross] * k + dst_m[cross], minlength=k * k)
    km.ledger.charge(int(link.max()), int(cross.sum()), np.bincount(dst_m[cross], minlength=k))


def _check_opening_cost(opening_cost, n: int, sites=None) -> np.ndarray:
    """Opening cost per vertex, shape (n,): inf where no facility may open, 0 at fixed ones.

    A scalar applies to every candidate; an array holds one value per vertex (no candidates
    given) or one per candidate in the order the candidates were listed.
    """
    per_candidate = sites is not None and sites.candidate_order is not None
    if isinstance(opening_cost, numbers.Real) and not isinstance(opening_cost, bool):
        f = check_positive(opening_cost, "opening_cost", allow_zero=True)
        arr = np.full(n, f)
    else:
        arr = np.asarray(opening_cost)
        if arr.dtype.kind not in "biuf" or arr.dtype.kind == "b":
            raise TypeError(f"opening_cost must be a number or an array of numbers, got dtype {arr.dtype}.")
        want = (sites.candidate_order.size,) if per_candidate else (n,)
        what = "one value per candidate" if per_candidate else "one value per vertex"
        if arr.shape != want:
            raise ValueError(f"opening_cost must be a scalar or hold {what}, shape {want}, got {arr.shape}.")
        arr = arr.astype(np.float64)
        if np.isnan(arr).any():
            raise ValueError("opening_cost contains NaN values.")
        if (arr < 0).any():
            raise ValueError(f"opening_cost contains {int((arr < 0).sum())} negative value(s).")
        big = np.isfinite(arr) & (arr > MAX_OPENING_COST)
        if big.any():
            raise ValueError(f"opening_cost contains {int(big.sum())} finite value(s) above {MAX_OPENING_COST:g} "
                             "(sums of costs would overflow); use inf for a vertex that may not host a facility.")
        if per_candidate:
            full = np.full(n, np.inf)
            full[sites.candidate_order] = arr
            arr = full
    if sites is not None:
        arr = np.where(sites.candidates, arr, np.inf)
        arr[sites.fixed] = 0.0  # already open: its cost is sunk
    if not np.isfinite(arr).any():
        raise ValueError("opening_cost is infinite everywhere: no vertex can host a facility.")
    return arr


def _nbhd_weights(sites) -> dict:
    """Keyword arguments of :func:`estimate_neighbourhood_sizes` for these clients."""
    if sites.weighted:
        return {"demand": sites.demand}
    if not sites.clients.all():
        return {"clients": sites.clients}
    return {}


def _open_fixed(graph, fac, sites, km):
    """Add the fixed facilities to ``fac`` (MP opens them first, radius 0, unless one lies at
    distance 0 of another facility) and recompute the assignment when that changed anything."""
    if sites.fixed.size == 0 or np.isin(sites.fixed, fac).all():
        return fac, None
    fac = np.union1d(fac, sites.fixed)
    return fac, mssp(graph, fac, km)


class FacilityLocation(ClusteringResultMixin, BaseEstimator):
    """Uncapacitated metric facility location on a graph's shortest-path metric (Section 4).

    Minimises ``sum_{f open} opening_cost[f] + sum_v d(v, nearest open facility)``.

    Parameters
    ----------
    opening_cost : float or array-like, default=1.0
        Cost of opening a facility (same units as the edge weights times demand), in
        [0, 1e100] (so that cost sums stay finite): a scalar for every candidate, an array of shape (n_vertices,), or, when ``fit`` gets
        ``candidates``, of shape (n_candidates,) in the listed order. ``inf`` marks vertices
        that cannot host a facility.
    distance_precision : float in [1e-4, 1], default=0.1
        Relative precision of distances: radii and distances are discretised into powers of
        ``1 + distance_precision`` (the paper's epsilon, Sections 4.1-4.3). Smaller is closer to
        exact Mettu-Plaxton, larger is faster (fewer levels and radius classes).
    n_repetitions : int in [1, 100000], default=32
        Independent rank draws of the neighbourhood-size estimator (Algorithm 3, ``l``).
    beta : float, default=1.0
        beta-MP radius scaling (Archer et al.); 1 is the original 3-approximation.
    machines : int in [1, 256], default=1
        Simulated machines k. With 1, fast sequential equivalents run and the ledger stays at
        zero rounds; with k > 1 every primitive executes in the k-machine model and is counted.
    local_search : bool, default=False
        Improve the answer with open/close/swap local search (beyond the paper).
    max_local_search_passes : int, default=10
        Passes of the local search over its candidates.
    random_state : None, int or Generator, default=None
    verbose : bool, default=False
    epsilon : float, optional
        Deprecated alias of ``distance_precision`` (since 0.2, removed in 0.3).
    refine : bool, optional
        Deprecated alias of ``local_search`` (since 0.2, removed in 0.3).
    max_refine_passes : int, optional
        Deprecated alias of ``max_local_search_passes`` (since 0.2, removed in 0.3).

    Attributes
    ----------
    facilities_ : ndarray of int64
        Open facilities (vertex ids, sorted).
    assignment_ : ndarray of int64, shape (n_vertices,)
        The facility serving each vertex (its nearest open facility).
    distances_ : ndarray of shape (n_vertices,)
        Distance of each vertex to its facility.
    facility_ids_ : ndarray
        The open facilities in the graph's node ids (``labels``; vertex numbers when none).
    demand_ : ndarray of shape (n_vertices,)
        The client weights used (1 everywhere by default).
    cost_, facility_cost_, connection_cost_ : float
        ``facility_cost_ + connection_cost_``; the opening costs of the open facilities (0 for
        ``fixed`` ones); ``sum_v demand[v] * distances_[v]``.
    radii_ : ndarray of shape (n_vertices,)
        The approximate MP radii used by the greedy phase.
    report_ : dict
        Stage times, peak memory, and the k-machine ledger: ``rounds``, ``messages``,
        ``max_load`` (messages received by the busiest machine), ``primitive_calls``;
        ``raw_cost`` (before the local search) and ``local_search`` (its passes and moves).

    Notes
    -----
    Disconnected graphs are handled per component: MP opens at least one facility in every
    component (a vertex with no facility in reach always opens), so every vertex is served.
    """

    _parameter_constraints = {
        "opening_cost": [Interval(float, 0.0, MAX_OPENING_COST, closed="both"), ARRAY_LIKE],
        "n_repetitions": [REPETITIONS],
        "beta": [Interval(float, 0.0, None, closed="neither")],
        "local_search": [BOOLEAN],
        "max_local_search_passes": [AtLeast(int, 1)],
        **COMMON_CONSTRAINTS,
        "refine": [BOOLEAN, NONE],
        "max_refine_passes": [AtLeast(int, 1), NONE],
    }

    def __init__(
        self,
        opening_cost=1.0,
        *,
        distance_precision: float = 0.1,
        n_repetitions: int = 32,
        beta: float = 1.0,
        machines: int = 1,
        local_search: bool = False,
        max_local_search_passes: int = 10,
        random_state=None,
        verbose: bool = False,
        epsilon: float | None = None,
        refine: bool | None = None,
        max_refine_passes: int | None = None,
    ):
        self.opening_cost = opening_cost
        self.distance_precision = distance_precision
        self.n_repetitions = n_repetitions
        self.beta = beta
        self.machines = machines
        self.local_search = local_search
        self.max_local_search_passes = max_local_search_passes
        self.random_state = random_state
        self.verbose = verbose
        self.epsilon = epsilon
        self.refine = refine
        self.max_refine_passes = max_refine_passes

    def _objective(self, dist: np.ndarray, demand: np.ndarray) -> float:
        """Opening costs of the open facilities plus the demand-weighted connection costs."""
        clients = demand > 0
        return self.facility_cost_ + float((demand[clients] * dist[clients]).sum())

    def fit(self, graph, demand=None, candidates=None, fixed=None, *, clients=None) -> "FacilityLocation":
        """Open facilities on ``graph`` (a :class:`~bigclust.graph.Graph`).

        Parameters
        ----------
        graph : Graph
        demand : str, array-like of shape (n_vertices,) or mapping, optional
            Client weight of every vertex (0 = not a client; positive values in [1e-30, 1e30]): a node attribute name
            (``"population"``), an array in vertex order, or a dict / pandas Series from node
            ids to weights (absent nodes 0). The connection cost becomes
            ``sum_v demand[v] d(v, F)`` and the radii solve the weighted MP equation
            ``sum_{u in B(v, r)} demand[u] (r - d(u, v)) = f_v``. Default: every vertex weighs 1.
        candidates : array-like of node ids or bool mask, optional
            Where a facility may open (default everywhere). Node ids are the graph's
            ``labels`` when it has them. An array ``opening_cost`` then holds one value per
            candidate, in this order.
        fixed : array-like of node ids or bool mask, optional
            Facilities that are already open: always in ``facilities_``, opening cost 0.
        clients : array-like of bool (n_vertices,) or of int, optional
            Older form of a 0/1 demand (vertex numbers); exclusive with ``demand``. It keeps the
            uniform-rank estimator of Algorithm 3.
        """
        validate_params(self)
        eps = float(resolve_renamed(self, "distance_precision"))
        local_search = resolve_renamed(self, "local_search")
        passes = int(resolve_renamed(self, "max_local_search_passes"))
        graph = check_graph(graph)
        sites = check_sites(graph, demand, candidates, fixed, clients=clients)
        f = _check_opening_cost(self.opening_cost, graph.n_vertices, sites)
        _, lab = graph.components()
        served = np.zeros(lab.max() + 1, dtype=bool)
        served[lab[np.isfinite(f)]] = True
        if not served[lab[sites.clients]].all():
            raise ValueError(
                "a connected component with clients has no vertex with a finite opening cost; "
                "its clients cannot be served."
            )
        rng, km = machines_for(self, graph)
        run = RunRecorder(verbose=self.verbose)
        with run.stage("neighbourhood_sizes"):
            nbhd = estimate_neighbourhood_sizes(graph, eps, int(self.n_repetitions), rng, km, **_nbhd_weights(sites))
        with run.stage("greedy_phase"):
            fac, dist, nearest, radii = mettu_plaxton(graph, nbhd, f, rng, km, beta=float(self.beta))
            fac, again = _open_fixed(graph, fac, sites, km)
            if again is not None:
                dist, nearest = again
        w = sites.demand
        cw = w > 0
        raw_cost = float(f[fac].sum() + (w[cw] * dist[cw]).sum())
        info = {}
        if local_search:
            with run.stage("local_search"):
                fac, info = swap_local_search(graph, fac, rng, opening_cost=f, max_passes=passes,
                                              clients=cw, demand=w, fixed=sites.fixed, km=km)
                dist, nearest = mssp(graph, fac, km)
        self._set_solution(fac, dist, nearest, graph, sites)
        self.radii_ = radii
        self.facility_cost_ = float(f[self.facilities_].sum())
        self.connection_cost_ = float((w[cw] * self.distances_[cw]).sum())
        self.cost_ = self.facility_cost_ + self.connection_cost_
        self.report_ = run.finish(
            **ledger_report(km),
            n_vertices=graph.n_vertices,
            n_facilities=int(self.facilities_.size),
            raw_cost=raw_cost,
            n_levels=int(nbhd.levels.size),
            local_search=info,
            **outside_model(km),
        )
        return self
