"""Pieces shared by the graph estimators: parameter constraints, deprecated aliases, input
checks, the output representation, the report."""

from __future__ import annotations

import json
import numbers
import os
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._core.validation import BOOLEAN, NONE, RANDOM_STATE, Interval, check_random_state
from ._graph import Graph
from .kmachine import KMachine


@dataclass(frozen=True)
class AtLeast(Interval):
    """A number of type ``kind`` that is >= ``low`` (an :class:`Interval` without upper bound).

    Only the description differs from ``Interval(kind, low, None)``: it reads ``>= low``.
    """

    def describe(self) -> str:
        return f">= {self.low:g} ({'an integer' if self.kind is int else 'a real number'})"


class _ArrayLike:
    """A list, a tuple or a non-scalar with ``__array__`` (a NumPy array, a pandas Series, ...)."""

    def is_type(self, value) -> bool:
        if isinstance(value, numbers.Number):
            return False  # NumPy scalars have __array__ too
        return isinstance(value, (list, tuple)) or hasattr(value, "__array__")

    holds = is_type

    def describe(self) -> str:
        return "an array-like"


ARRAY_LIKE = _ArrayLike()

# Relative precision of distances, in [1e-4, 1]: every estimator's ``distance_precision``.
# The lower bound keeps the number of distance levels, log(max/min distance) / log(1 + eps),
# finite; the levels x vertices table is bounded separately (neighbourhood.MAX_LEVEL_CELLS).
DISTANCE_PRECISION = Interval(float, 1e-4, 1.0, closed="both")

# Simulated machines: every simulated round of the k-machine MSSP clears and scans a k x k
# link-count table, so time grows with k^2 per round (measured: k = 256 on a 1600-vertex grid
# ~10 s, k = 1024 over 100 s, k = 4096 on 4 vertices 80 s; k = 10**6 would need 8 TB).
MACHINES = Interval(int, 1, 256, closed="both")

# Repetition counts (rank draws, MIS trials): time grows linearly with them. Theorem 4.2's
# O(log n / eps^2) draws stay below this bound for eps >= 0.015 at a billion vertices.
REPETITIONS = Interval(int, 1, 100_000, closed="both")

# Client weights: each positive demand in [1e-30, 1e30]. The neighbourhood-size estimator keeps
# sums of Exp(demand) ranks in float32 (max ~3.4e38, smallest normal ~1.2e-38); in this range
# they neither overflow nor underflow, and demand x path length (<= 1e100) sums stay finite.
DEMAND_RANGE = (1e-30, 1e30)

# Opening costs: finite values at most 1e100 (inf means "may not open" in an array), so that
# sums of opening and connection costs stay finite.
MAX_OPENING_COST = 1e100

# The constraints every graph estimator shares (its own are added to these).
COMMON_CONSTRAINTS = {
    "distance_precision": [DISTANCE_PRECISION],
    "machines": [MACHINES],
    "random_state": [RANDOM_STATE],
    "verbose": [BOOLEAN],
    # deprecated aliases: None (the default) means "not given"
    "epsilon": [DISTANCE_PRECISION, NONE],
}

# old parameter name -> new parameter name (deprecated in 0.2, removed in 0.3)
RENAMED = {
    "epsilon": "distance_precision",
    "refine": "local_search",
    "max_refine_passes": "max_local_search_passes",
    "refine_candidates": "local_search_candidates",
}


def resolve_renamed(est, new: str):
    """The value of parameter ``new``, or of its deprecated old name when that one was given.

    A given old name (anything but its default None) wins, with a FutureWarning naming the
    new parameter (the scikit-learn deprecation pattern).
    """
    old = next(o for o, n in RENAMED.items() if n == new)
    value = getattr(est, old, None)
    if value is None:
        return getattr(est, new)
    warnings.warn(
        f"{type(est).__name__}: the parameter '{old}' was renamed to '{new}' in bigclust 0.2 and "
        f"will be removed in 0.3; use '{new}' instead.",
        FutureWarning,
        stacklevel=3,
    )
    return value


def check_graph(graph) -> Graph:
    if not isinstance(graph, Graph):
        raise TypeError(
            f"fit expects a bigclust.graph.Graph, got {type(graph).__name__}; build one with "
            "Graph.from_edges / from_scipy / from_networkx / read_graphml / read_osm / read_edge_csv / "
            "read_orlib / read_dimacs."
        )
    if graph.n_vertices < 1:
        raise ValueError("The graph is empty (0 vertices).")
    return graph


def check_p(p, n: int) -> int:
    """The data-dependent check of ``p`` (its type and ``p >= 1`` are constraints): p <= n."""
    if p > n:
        raise ValueError(f"p is larger than the number of vertices ({n}).")
    return int(p)


@dataclass
class Sites:
    """The resolved ``fit(graph, demand, candidates, fixed)`` arguments, in internal numbers.

    Attributes
    ----------
    demand : ndarray of shape (n_vertices,)
        Client weight of every vertex (>= 0; 1 everywhere when no demand was given).
    weighted : bool
        A demand was given (the weighted estimators run).
    clients : ndarray of bool, shape (n_vertices,)
        ``demand > 0``.
    candidates : ndarray of bool, shape (n_vertices,)
        Vertices where a facility may open (fixed ones included).
    fixed : ndarray of int64
        Already open facilities (sorted).
    candidate_order : ndarray of int64 or None
        The candidates in the order the user listed them (for per-candidate opening costs).
    """

    demand: np.ndarray
    weighted: bool
    clients: np.ndarray
    candidates: np.ndarray
    fixed: np.ndarray
    candidate_order: np.ndarray | None

    @property
    def restricted(self) -> bool:
        """Some vertex may not host a facility."""
        return not bool(self.candidates.all())


def _demand_array(graph: Graph, demand) -> np.ndarray:
    n = graph.n_vertices
    if isinstance(demand, str):
        d = graph.node_attribute(demand)
        if np.isnan(d).any():
            raise ValueError(f"node attribute {demand!r} is missing on {int(np.isnan(d).sum())} node(s).")
        return d
    if isinstance(demand, dict) or (hasattr(demand, "index") and hasattr(demand, "to_dict")):
        # a mapping (dict / pandas Series) from the user's node ids to weights; absent ids: 0
        items = demand.items()
        keys = [k for k, _ in items]
        vals = np.array([float(v) for _, v in demand.items()], dtype=np.float64) if keys else np.empty(0)
        d = np.zeros(n)
        d[graph.index_of(keys, "demand")] = vals
        return d
    arr = np.asarray(demand)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"demand must hold numbers, got dtype {arr.dtype}.")
    if arr.shape != (n,):
        raise ValueError(f"demand must have one value per vertex, shape ({n},), got {arr.shape}.")
    return arr.astype(np.float64)


def _vertex_set(graph: Graph, ids, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(boolean mask, internal numbers in the given order) of a list of node ids or a mask."""
    n = graph.n_vertices
    is_mask = getattr(ids, "dtype", None) == bool or (
        isinstance(ids, (list, tuple)) and len(ids) > 0 and all(isinstance(x, (bool, np.bool_)) for x in ids)
    )
    if is_mask:
        arr = np.asarray(ids, dtype=bool)
        if arr.shape != (n,):
            raise ValueError(f"a boolean {name} mask must have shape ({n},), got {arr.shape}.")
        order = np.flatnonzero(arr)
    else:
        if isinstance(ids, (str, bytes)) or not hasattr(ids, "__iter__"):
            ids = [ids]  # one node id
        order = graph.index_of(list(ids), name)
    mask = np.zeros(n, dtype=bool)
    mask[order] = True
    if np.unique(order).size != order.size:
        raise ValueError(f"{name} lists {order.size - np.unique(order).size} id(s) more than once.")
    return mask, order


def check_sites(graph: Graph, demand=None, candidates=None, fixed=None, *, clients=None) -> Sites:
    """Validate the ``fit`` arguments shared by the three estimators (before any work).

    ``demand``: None, a node attribute name, an array of shape (n_vertices,), or a mapping
    (dict / pandas Series) from node ids to weights (absent nodes: 0). ``candidates`` /
    ``fixed``: node ids (the graph's ``labels`` when it has them) or boolean masks.
    ``clients`` (FacilityLocation's older argument) is a 0/1 demand.
    """
    n = graph.n_vertices
    if demand is not None and clients is not None:
        raise ValueError("pass either demand or clients, not both.")
    weighted = demand is not None
    if weighted:
        d = _demand_array(graph, demand)
        if not np.isfinite(d).all():
            raise ValueError(f"demand has {int((~np.isfinite(d)).sum())} non-finite value(s).")
        if (d < 0).any():
            raise ValueError(f"demand has {int((d < 0).sum())} negative value(s).")
        pos = d[d > 0]
        lo, hi = DEMAND_RANGE
        if ((pos < lo) | (pos > hi)).any():
            raise ValueError(
                f"demand has {int(((pos < lo) | (pos > hi)).sum())} positive value(s) outside [{lo:g}, {hi:g}] "
                "(the range the neighbourhood-size estimator handles); rescale the demand."
            )
    elif clients is not None:
        c = np.asarray(clients)
        if c.dtype == bool:
            if c.shape != (n,):
                raise ValueError(f"a boolean clients mask must have shape ({n},), got {c.shape}.")
            d = c.astype(np.float64)
        else:
            if c.size and c.dtype.kind not in "iu":
                raise TypeError(f"clients must be a boolean mask or integer vertex ids, got dtype {c.dtype}.")
            if c.size and (c.min() < 0 or c.max() >= n):
                raise ValueError(f"client ids must be in [0, {n}).")
            d = np.zeros(n)
            d[c.astype(np.int64)] = 1.0
    else:
        d = np.ones(n)
    clients_mask = d > 0
    if not clients_mask.any():
        raise ValueError("the clients are empty (no vertex has positive demand): there is nobody to serve.")
    if candidates is None:
        cand, order = np.ones(n, dtype=bool), None
    else:
        cand, order = _vertex_set(graph, candidates, "candidates")
        if not cand.any():
            raise ValueError("candidates is empty: no vertex may host a facility.")
    if fixed is None:
        fx = np.empty(0, dtype=np.int64)
    else:
        fmask, _ = _vertex_set(graph, fixed, "fixed")
        fx = np.flatnonzero(fmask)
        cand = cand | fmask  # an open facility is a site
    return Sites(d, weighted, clients_mask, cand, fx, order)


def check_fixed_p(sites: Sites, p: int) -> None:
    """``len(fixed) <= p <= number of candidates`` (they count toward p)."""
    if sites.fixed.size > p:
        raise ValueError(f"fixed holds {sites.fixed.size} facilities, more than p = {p}.")
    n_cand = int(sites.candidates.sum())
    if p > n_cand:
        raise ValueError(f"p is larger than the number of candidate sites ({n_cand}).")


def machines_for(est, graph):
    """The run's random generator and simulated machines (the random vertex partition)."""
    rng = check_random_state(est.random_state)
    return rng, KMachine(graph, int(est.machines), rng)


class ClusteringResultMixin:
    """The paper's output representation (Section 1.2): every facility knows its clients,
    every client knows its facility."""

    fit: Callable[..., Any]  # the estimator's (declared for the type checker; no attribute at run time)

    def clients_of(self, facility: int) -> np.ndarray:
        """Vertex ids assigned to ``facility`` (including the facility itself), sorted."""
        if not hasattr(self, "assignment_"):
            raise AttributeError("call fit first.")
        f = int(facility)
        pos = np.searchsorted(self.facilities_, f)
        if pos >= self.facilities_.size or self.facilities_[pos] != f:
            raise ValueError(f"vertex {f} is not an open facility.")
        if getattr(self, "_clients_order", None) is None:
            self._clients_order = np.argsort(self.assignment_, kind="stable")
            self._clients_bounds = np.searchsorted(self.assignment_[self._clients_order], self.facilities_)
        lo = self._clients_bounds[pos]
        hi = self._clients_bounds[pos + 1] if pos + 1 < self.facilities_.size else self.assignment_.size
        return np.sort(self._clients_order[lo:hi])

    def _set_solution(self, facilities, dist, nearest, graph=None, sites=None):
        self.facilities_ = np.sort(np.asarray(facilities, dtype=np.int64))
        self.assignment_ = np.asarray(nearest, dtype=np.int64)
        self.distances_ = np.asarray(dist, dtype=np.float64)
        self._clients_order = None
        if graph is not None:
            self._node_ids = graph.labels
            self._coords = graph.coords
            self.facility_ids_ = graph.ids_of(self.facilities_)
        if sites is not None:
            self.demand_ = sites.demand

    def _check_fitted(self):
        if not hasattr(self, "assignment_"):
            raise AttributeError("call fit first.")

    def to_frame(self):
        """The assignment as a pandas DataFrame, one row per vertex, in the graph's node ids.

        Returns
        -------
        pandas.DataFrame
            Columns ``node`` (the node id), ``facility`` (the id of the facility serving it),
            ``distance`` (shortest-path distance to it, edge-length units) and ``demand``
            (its client weight; 1 when no demand was given, 0 for non-clients).
        """
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("to_frame needs pandas: pip install pandas.") from None
        return pd.DataFrame(self._assignment_columns())

    def _assignment_columns(self) -> dict:
        """node, facility, distance, demand arrays (the columns of :meth:`to_frame`)."""
        self._check_fitted()
        ids = getattr(self, "_node_ids", None)
        n = self.assignment_.size
        return {
            "node": np.arange(n) if ids is None else ids,
            "facility": self.assignment_ if ids is None else ids[self.assignment_],
            "distance": self.distances_,
            "demand": getattr(self, "demand_", np.ones(n)),
        }

    def plot_map(self, graph=None, ax=None):
        """Draw facilities and the areas they serve at the node coordinates (needs matplotlib).

        Every vertex is a dot coloured by its facility (20 colours, cycling); facilities are
        black stars; with ``graph`` (the fitted graph) the edges are drawn in grey underneath.

        Parameters
        ----------
        graph : Graph, optional
        ax : matplotlib Axes, optional

        Returns
        -------
        matplotlib Axes
        """
        return _plot_assignment(self, graph, ax)

    def to_geojson(self, path) -> None:
        """Write the assignment as a GeoJSON FeatureCollection (needs node coordinates).

        One Point feature per vertex at its ``(x, y)`` (longitude, latitude for OSM data) with
        properties ``node``, ``facility``, ``distance``, ``demand`` and ``is_facility``
        (facilities are the points with ``is_facility: true``). Node ids that JSON cannot hold
        (tuples, ...) are written as strings. The file is written to a temporary name and
        renamed, so a failed write never leaves a partial file.

        Parameters
        ----------
        path : path-like
        """
        self._check_fitted()
        coords = getattr(self, "_coords", None)
        if coords is None:
            raise ValueError(
                "to_geojson needs node coordinates: build the graph from networkx / GraphML / OSM "
                "with numeric 'x' and 'y' on every node."
            )
        cols = self._assignment_columns()
        is_fac = np.zeros(self.assignment_.size, dtype=bool)
        is_fac[self.facilities_] = True
        feats = []
        for i, (node, fac, dist, dem) in enumerate(zip(cols["node"], cols["facility"], cols["distance"], cols["demand"])):
            feats.append({
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [float(coords[i, 0]), float(coords[i, 1])]},
                "properties": {"node": _json_id(node), "facility": _json_id(fac), "distance": float(dist),
                               "demand": float(dem), "is_facility": bool(is_fac[i])},
            })
        _atomic_write_text(path, json.dumps({"type": "FeatureCollection", "features": feats}))

    def fit_predict(self, graph) -> np.ndarray:
        """Fit and return ``assignment_`` (the facility serving each vertex)."""
        return self.fit(graph).assignment_

    # ------------------------------------------------- scikit-learn conventions (issue 23)
    # What applies of the estimator contract: fit / fit_predict, get_params / set_params / clone,
    # and score / transform below, on the fitted graph or one with the same vertices (other edge
    # lengths, e.g. travel times instead of metres). What does not: n_features_in_ and
    # feature_names_in_ (a graph has vertices and edges, no feature columns), predict on new
    # samples (a new vertex is not in the metric until it is in the graph: refit), and
    # GridSearchCV / cross_val_score / check_estimator (they split X by rows, and a graph's
    # vertices cannot be split into folds without changing every shortest path).

    def _same_vertices(self, graph) -> Graph:
        """``graph`` checked to have the fitted graph's vertices (count, and node ids when both have them)."""
        self._check_fitted()
        graph = check_graph(graph)
        n = self.assignment_.size
        if graph.n_vertices != n:
            raise ValueError(f"graph has {graph.n_vertices} vertices, but {type(self).__name__} was fitted on a "
                             f"graph with {n}: facilities are vertices of that graph.")
        ids = getattr(self, "_node_ids", None)
        if ids is not None and graph.labels is not None and not np.array_equal(np.asarray(graph.labels, dtype=object),
                                                                                 np.asarray(ids, dtype=object)):
            raise ValueError(f"graph's node ids differ from those of the graph {type(self).__name__} was fitted on.")
        return graph

    def transform(self, graph) -> np.ndarray:
        """Shortest-path distance from every vertex to every open facility (as ``KMeans.transform``).

        Parameters
        ----------
        graph : Graph
            The fitted graph, or one with the same vertices (e.g. other edge lengths).

        Returns
        -------
        distances : ndarray of shape (n_vertices, n_facilities), float64
            ``distances[v, j]`` is the distance from vertex ``v`` to ``facilities_[j]`` in
            edge-length units (inf when unreachable). Dense: n_vertices x n_facilities values.
        """
        from scipy.sparse.csgraph import dijkstra

        graph = self._same_vertices(graph)
        return np.ascontiguousarray(dijkstra(graph.to_scipy(), directed=True, indices=self.facilities_).T)

    def _objective(self, dist: np.ndarray, demand: np.ndarray) -> float:
        """The problem's cost of the open facilities, given every vertex's distance to the nearest one:
        ``sum_v demand_v d(v)`` (p-median; PCenter and FacilityLocation override it)."""
        clients = demand > 0
        return float((demand[clients] * dist[clients]).sum())

    def score(self, graph, demand=None) -> float:
        """Opposite of the cost of the open facilities on ``graph`` (higher is better; as ``KMeans.score``).

        On the fitted graph with the fitted demand it is ``-cost_``.

        Parameters
        ----------
        graph : Graph
            The fitted graph, or one with the same vertices (e.g. travel times instead of lengths).
        demand : str, array-like of shape (n_vertices,) or mapping, optional
            Client weights as in ``fit`` (default: the demand the model was fitted with).

        Returns
        -------
        score : float
            ``-sum_v demand_v d(v, F)`` (PMedian), ``-max_{demand_v > 0} d(v, F)`` (PCenter),
            ``-(facility_cost_ + sum_v demand_v d(v, F))`` (FacilityLocation), for the open
            facilities F; ``-inf`` when a client cannot reach any of them.
        """
        from .paths import mssp

        graph = self._same_vertices(graph)
        w = getattr(self, "demand_", None) if demand is None else check_sites(graph, demand=demand).demand
        w = np.ones(graph.n_vertices) if w is None else np.asarray(w, dtype=np.float64)
        return -self._objective(mssp(graph, self.facilities_)[0], w)


def _plot_assignment(est, graph=None, ax=None):
    """See :meth:`ClusteringResultMixin.plot_map`."""
    try:
        import matplotlib.pyplot as plt
        from matplotlib.collections import LineCollection
    except ImportError:
        raise ImportError("plot_map needs matplotlib: pip install matplotlib (or bigclust[plot]).") from None
    est._check_fitted()
    coords = getattr(est, "_coords", None)
    if coords is None:
        raise ValueError("plot_map needs node coordinates (a graph from networkx / GraphML / OSM with x and y).")
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 7))
    if graph is not None:
        if graph.n_vertices != coords.shape[0]:
            raise ValueError("graph is not the graph this estimator was fitted on (vertex counts differ).")
        A = graph.to_scipy().tocoo()
        keep = A.row < A.col
        segs = np.stack([coords[A.row[keep]], coords[A.col[keep]]], axis=1)
        ax.add_collection(LineCollection(segs, colors="0.8", linewidths=0.6, zorder=1))
    # served areas: each vertex coloured by its facility (colours cycle over facilities)
    fac_index = np.searchsorted(est.facilities_, est.assignment_)
    ax.scatter(coords[:, 0], coords[:, 1], c=fac_index % 20, cmap="tab20", vmin=0, vmax=19, s=8, zorder=2)
    f = coords[est.facilities_]
    ax.scatter(f[:, 0], f[:, 1], c="black", marker="*", s=120, zorder=3, label="facilities")
    ax.set_aspect("equal", adjustable="datalim")
    ax.legend(loc="best")
    return ax


def _json_id(x):
    if isinstance(x, np.generic):
        x = x.item()
    return x if isinstance(x, (int, float, str, bool)) or x is None else str(x)


def _atomic_write_text(path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, then rename it into place."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".bigclust-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def outside_model(km: KMachine) -> dict:
    """``report_["outside_model"]``: what a distributed run computed without charging the ledger.

    With ``machines > 1`` every primitive of the paper, and every improvement phase beyond it
    (local searches, the p-center cover search: their SSSPs are distributed MSSP calls and their
    move evaluations gathers at a coordinator), runs in the simulated model and is charged. One
    step is not: the connected components of the input (used to reject or split disconnected
    inputs and to bound distances per component; the paper assumes a connected graph). With one
    machine nothing is charged at all and the list is empty.
    """
    if not km.distributed:
        return {"outside_model": []}
    return {"outside_model": ["connected_components"]}


def ledger_report(km: KMachine) -> dict:
    d = km.ledger.as_dict()
    hosts = km.host_counts()
    d["max_vertices_per_machine"] = int(hosts.max())
    return d
