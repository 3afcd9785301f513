"""Exact optima by mixed-integer programming (SciPy's HiGHS ``milp``) for small instances.

These are oracles for tests and benchmarks: they need the full distance matrix (``n^2`` memory
and an ``n^2``-variable model), which is exactly what the k-machine algorithms avoid.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse.csgraph import dijkstra

__all__ = ["all_pairs_distances", "pmedian", "pcenter", "facility_location"]


def all_pairs_distances(graph, max_vertices: int = 5000) -> np.ndarray:
    """Dense shortest-path distance matrix, shape (n, n) (Dijkstra from every vertex)."""
    if graph.n_vertices > max_vertices:
        raise ValueError(
            f"all_pairs_distances would need {graph.n_vertices**2 * 8 / 2**30:.1f} GiB; "
            f"refusing above max_vertices={max_vertices}."
        )
    return dijkstra(graph.to_scipy(), directed=True)


def _as_cost_matrix(dist) -> np.ndarray:
    if hasattr(dist, "n_vertices"):
        return all_pairs_distances(dist)
    D = np.asarray(dist, dtype=np.float64)
    if D.ndim != 2:
        raise ValueError(f"expected a 2-D cost matrix, got shape {D.shape}.")
    if not np.isfinite(D).all():
        raise ValueError("the distance matrix has infinite entries (disconnected graph?).")
    return D


def _assignment_model(C: np.ndarray, fixed: np.ndarray | None, p: int | None, time_limit: float | None):
    """Variables: x[j, i] (client j served by facility i; n_c * n_f), then y[i] (n_f)."""
    n_c, n_f = C.shape
    nx = n_c * n_f
    c = np.concatenate([C.ravel(), fixed if fixed is not None else np.zeros(n_f)])
    rows = []
    # each client served once: sum_i x[j, i] = 1
    A1 = sp.hstack([sp.kron(sp.eye(n_c), np.ones((1, n_f))), sp.csr_matrix((n_c, n_f))])
    rows.append(LinearConstraint(A1, 1, 1))
    # x[j, i] <= y[i]
    A2 = sp.hstack([sp.eye(nx), -sp.kron(np.ones((n_c, 1)), sp.eye(n_f))])
    rows.append(LinearConstraint(A2, -np.inf, 0))
    if p is not None:
        A3 = sp.hstack([sp.csr_matrix((1, nx)), sp.csr_matrix(np.ones((1, n_f)))])
        rows.append(LinearConstraint(A3, p, p))
    integrality = np.concatenate([np.zeros(nx), np.ones(n_f)])  # x integral at an optimum given y
    opts = {"time_limit": time_limit} if time_limit else {}
    res = milp(c, constraints=rows, integrality=integrality, bounds=Bounds(0, 1), options=opts)
    if res.x is None:
        raise RuntimeError(f"MIP failed: {res.message}")
    y = res.x[nx:]
    return float(res.fun), np.flatnonzero(y > 0.5), res


def pmedian(dist, p: int, *, time_limit: float | None = None) -> tuple[float, np.ndarray]:
    """Exact p-median: minimise ``sum_v min_{f in F} d(v, f)`` over ``|F| = p``.

    Parameters
    ----------
    dist : Graph or ndarray of shape (n, n)
    p : int

    Returns
    -------
    cost : float
    facilities : ndarray of int
    """
    D = _as_cost_matrix(dist)
    cost, fac, _ = _assignment_model(D, None, int(p), time_limit)
    return cost, fac


def facility_location(dist, opening_cost, *, time_limit: float | None = None) -> tuple[float, np.ndarray]:
    """Exact uncapacitated facility location.

    ``dist`` is a Graph, a square distance matrix, or a rectangular (n_clients, n_facilities)
    allocation-cost matrix (OR-Library UFL instances); ``opening_cost`` is a scalar or one value
    per facility.
    """
    C = _as_cost_matrix(dist)
    f = np.broadcast_to(np.asarray(opening_cost, dtype=np.float64), (C.shape[1],)).copy()
    cost, fac, _ = _assignment_model(C, f, None, time_limit)
    return cost, fac


def pcenter(dist, p: int, *, time_limit: float | None = None) -> tuple[float, np.ndarray]:
    """Exact vertex p-center: minimise ``max_v min_{f in F} d(v, f)`` over ``|F| <= p``.

    Solved as a sequence of set-cover feasibility MIPs over the sorted distinct distances
    (binary search on the answer): radius r is feasible iff p vertices cover every vertex
    within r.
    """
    D = _as_cost_matrix(dist)
    n = D.shape[0]
    p = int(p)
    cand = np.unique(D)
    opts = {"time_limit": time_limit} if time_limit else {}

    def feasible(r):
        A = sp.csr_matrix((D <= r).astype(np.float64))  # rows: clients, cols: centres
        res = milp(np.ones(n), constraints=[LinearConstraint(A, 1, np.inf)], integrality=np.ones(n),
                   bounds=Bounds(0, 1), options=opts)
        if res.x is None:
            return None
        y = np.flatnonzero(res.x > 0.5)
        return y if y.size <= p else None

    lo, hi = 0, cand.size - 1
    best = feasible(cand[hi])
    while lo < hi:
        mid = (lo + hi) // 2
        y = feasible(cand[mid])
        if y is not None:
            hi, best = mid, y
        else:
            lo = mid + 1
    if lo == hi and best is None:
        best = feasible(cand[lo])
    y = best
    return float(D[:, y].min(axis=1).max()), y
