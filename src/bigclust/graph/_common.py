"""Pieces shared by the graph estimators: parameter constraints, deprecated aliases, input
checks, the output representation, the report."""

from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass

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

# Relative precision of distances, in (0, 1]: every estimator's ``distance_precision``.
DISTANCE_PRECISION = Interval(float, 0.0, 1.0, closed="right")

# The constraints every graph estimator shares (its own are added to these).
COMMON_CONSTRAINTS = {
    "distance_precision": [DISTANCE_PRECISION],
    "machines": [AtLeast(int, 1)],
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
            "Graph.from_edges / from_scipy / from_networkx / read_orlib / read_dimacs."
        )
    if graph.n_vertices < 1:
        raise ValueError("The graph is empty (0 vertices).")
    return graph


def check_p(p, n: int) -> int:
    """The data-dependent check of ``p`` (its type and ``p >= 1`` are constraints): p <= n."""
    if p > n:
        raise ValueError(f"p is larger than the number of vertices ({n}).")
    return int(p)


def machines_for(est, graph):
    """The run's random generator and simulated machines (the random vertex partition)."""
    rng = check_random_state(est.random_state)
    return rng, KMachine(graph, int(est.machines), rng)


class ClusteringResultMixin:
    """The paper's output representation (Section 1.2): every facility knows its clients,
    every client knows its facility."""

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

    def _set_solution(self, facilities, dist, nearest):
        self.facilities_ = np.sort(np.asarray(facilities, dtype=np.int64))
        self.assignment_ = np.asarray(nearest, dtype=np.int64)
        self.distances_ = np.asarray(dist, dtype=np.float64)
        self._clients_order = None

    def fit_predict(self, graph) -> np.ndarray:
        """Fit and return ``assignment_`` (the facility serving each vertex)."""
        return self.fit(graph).assignment_


def ledger_report(km: KMachine) -> dict:
    d = km.ledger.as_dict()
    hosts = km.host_counts()
    d["max_vertices_per_machine"] = int(hosts.max())
    return d
