"""Pieces shared by the graph estimators: input checks, the output representation, the report."""

from __future__ import annotations

import numpy as np

from .._core.validation import check_int, check_positive, check_random_state
from ._graph import Graph
from .kmachine import KMachine


def check_graph(graph) -> Graph:
    if not isinstance(graph, Graph):
        raise TypeError(
            f"fit expects a bigclust.graph.Graph, got {type(graph).__name__}; build one with "
            "Graph.from_edges / from_scipy / from_networkx / read_orlib / read_dimacs."
        )
    if graph.n_vertices < 1:
        raise ValueError("The graph is empty (0 vertices).")
    return graph


def check_common(est, graph):
    """Validate the parameters every estimator shares; return (rng, KMachine)."""
    machines = check_int(est.machines, "machines", low=1)
    eps = check_positive(est.epsilon, "epsilon")
    if eps > 1:
        raise ValueError(f"epsilon must be in (0, 1], got {eps}.")
    rng = check_random_state(est.random_state)
    km = KMachine(graph, machines, rng)
    return rng, km, eps


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
