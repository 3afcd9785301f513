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


def _sites(n: int, demand, candidates, fixed):
    """(client weights, candidate column ids, fixed column positions) for the oracles."""
    w = np.ones(n) if demand is None else np.asarray(demand, dtype=np.float64)
    if w.shape != (n,):
        raise ValueError(f"demand must have shape ({n},), got {w.shape}.")
    cand = np.arange(n) if candidates is None else np.asarray(candidates, dtype=np.int64)
    fx = np.empty(0, dtype=np.int64) if fixed is None else np.asarray(fixed, dtype=np.int64)
    cand = np.union1d(cand, fx)
    return w, cand, np.searchsorted(cand, fx)


def _assignment_model(C: np.ndarray, opening: np.ndarray | None, p: int | None, time_limit: float | None,
                      weights: np.ndarray | None = None, fixed_cols: np.ndarray | None = None):
    """Variables: x[j, i] (client j served by facility i; n_c * n_f), then y[i] (n_f).

    Client j's connection cost is ``weights[j] * C[j, i]``; ``fixed_cols`` facilities have y = 1.
    """
    n_c, n_f = C.shape
    nx = n_c * n_f
    Cw = C if weights is None else C * weights[:, None]
    c = np.concatenate([Cw.ravel(), opening if opening is not None else np.zeros(n_f)])
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
    lb = np.zeros(nx + n_f)
    if fixed_cols is not None and fixed_cols.size:
        lb[nx + fixed_cols] = 1.0
    opts = {"time_limit": time_limit} if time_limit else {}
    res = milp(c, constraints=rows, integrality=integrality, bounds=Bounds(lb, 1), options=opts)
    if res.x is None:
        raise RuntimeError(f"MIP failed: {res.message}")
    y = res.x[nx:]
    return float(res.fun), np.flatnonzero(y > 0.5), res


def pmedian(dist, p: int, *, demand=None, candidates=None, fixed=None,
            time_limit: float | None = None) -> tuple[float, np.ndarray]:
    """Exact p-median: minimise ``sum_v demand[v] min_{f in F} d(v, f)`` over ``|F| = p``.

    Parameters
    ----------
    dist : Graph or ndarray of shape (n, n)
    p : int
    demand : ndarray of shape (n,), optional
        Client weights (default 1; clients of weight 0 are dropped from the model).
    candidates : array-like of int, optional
        Allowed facility vertices (default all).
    fixed : array-like of int, optional
        Facilities forced open (they count toward p).

    Returns
    -------
    cost : float
    facilities : ndarray of int
    """
    D = _as_cost_matrix(dist)
    w, cand, fcols = _sites(D.shape[0], demand, candidates, fixed)
    rows = np.flatnonzero(w > 0)
    cost, fac, _ = _assignment_model(D[np.ix_(rows, cand)], None, int(p), time_limit, w[rows], fcols)
    return cost, cand[fac]


def facility_location(dist, opening_cost, *, demand=None, candidates=None, fixed=None,
                      time_limit: float | None = None) -> tuple[float, np.ndarray]:
    """Exact uncapacitated facility location.

    ``dist`` is a Graph, a square distance matrix, or a rectangular (n_clients, n_facilities)
    allocation-cost matrix (OR-Library UFL instances); ``opening_cost`` is a scalar or one value
    per facility column (``inf``: may not open). ``demand`` weighs the clients (rows),
    ``candidates`` restricts the facility columns, ``fixed`` columns are open at cost 0.
    """
    C = _as_cost_matrix(dist)
    f = np.broadcast_to(np.asarray(opening_cost, dtype=np.float64), (C.shape[1],)).copy()
    if demand is None and candidates is None and fixed is None and np.isfinite(f).all():
        cost, fac, _ = _assignment_model(C, f, None, time_limit)
        return cost, fac
    w = np.ones(C.shape[0]) if demand is None else np.asarray(demand, dtype=np.float64)
    cols = np.arange(C.shape[1]) if candidates is None else np.asarray(candidates, dtype=np.int64)
    fx = np.empty(0, dtype=np.int64) if fixed is None else np.asarray(fixed, dtype=np.int64)
    f[fx] = 0.0
    cols = np.union1d(cols[np.isfinite(f[cols])], fx)
    rows = np.flatnonzero(w > 0)
    cost, fac, _ = _assignment_model(C[np.ix_(rows, cols)], f[cols], None, time_limit, w[rows],
                                     np.searchsorted(cols, fx))
    return cost, cols[fac]


def pcenter(dist, p: int, *, demand=None, candidates=None, fixed=None,
            time_limit: float | None = None) -> tuple[float, np.ndarray]:
    """Exact vertex p-center: minimise ``max_{v client} min_{f in F} d(v, f)`` over ``|F| <= p``.

    Clients are the vertices of positive ``demand`` (default all; the weights' values do not
    enter the objective, as in :class:`~bigclust.graph.PCenter`); ``candidates`` restricts the
    centres, ``fixed`` ones are forced open and count toward p. Solved as a sequence of
    set-cover feasibility MIPs over the sorted distinct distances (binary search on the
    answer): radius r is feasible iff at most p sites cover every client within r.
    """
    D = _as_cost_matrix(dist)
    n = D.shape[0]
    p = int(p)
    w, cand, fcols = _sites(n, demand, candidates, fixed)
    Dc = D[np.ix_(np.flatnonzero(w > 0), cand)]
    radii = np.unique(Dc)
    opts = {"time_limit": time_limit} if time_limit else {}
    lb = np.zeros(cand.size)
    lb[fcols] = 1.0

    def feasible(r):
        A = sp.csr_matrix((Dc <= r).astype(np.float64))  # rows: clients, cols: sites
        if (A.getnnz(axis=1) == 0).any():
            return None
        res = milp(np.ones(cand.size), constraints=[LinearConstraint(A, 1, np.inf)],
                   integrality=np.ones(cand.size), bounds=Bounds(lb, 1), options=opts)
        if res.x is None:
            return None
        y = np.flatnonzero(res.x > 0.5)
        return y if y.size <= p else None

    lo, hi = 0, radii.size - 1
    best = feasible(radii[hi])
    while lo < hi:
        mid = (lo + hi) // 2
        y = feasible(radii[mid])
        if y is not None:
            hi, best = mid, y
        else:
            lo = mid + 1
    if lo == hi and best is None:
        best = feasible(radii[lo])
    return float(Dc[:, best].min(axis=1).max()), cand[best]
