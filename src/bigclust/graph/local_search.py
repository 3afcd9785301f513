"""Swap local search on graph metrics (``local_search=True``; beyond the paper).

Only shortest-path computations are used: one SSSP per facility held (a ``p x n`` table of
distances, never an ``n x n`` matrix) and one SSSP per candidate vertex examined. For a candidate
``c`` with distances ``d_c``, the change of the objective when ``c`` replaces facility ``i`` is

    sum_v [min(d_c, d1) - d1]  +  sum_{v served by i} [min(d_c, d2) - min(d_c, d1)]

(``d1``/``d2``: distance to the nearest / second-nearest facility), computed for all ``i`` at
once with one ``bincount`` (the FasterPAM decomposition). Facility location adds "open c" and
"close i" moves with the opening costs. An improving move is applied at once (eager search);
the search stops after a full pass over the candidates without improvement or after
``max_passes`` passes.
"""

from __future__ import annotations

import numpy as np

from .paths import sssp

__all__ = ["swap_local_search"]


def _nearest_two(D: np.ndarray):
    p, n = D.shape
    if p == 1:
        return D[0].copy(), np.zeros(n, dtype=np.int64), np.full(n, np.inf)
    a1 = np.argmin(D, axis=0)
    d1 = D[a1, np.arange(n)]
    D2 = D.copy()
    D2[a1, np.arange(n)] = np.inf
    d2 = D2.min(axis=0)
    return d1, a1, d2


def swap_local_search(
    graph,
    facilities,
    rng: np.random.Generator,
    *,
    opening_cost: np.ndarray | None = None,
    max_passes: int = 10,
    max_candidates: int | None = None,
    tol: float = 1e-12,
    on_sssp=None,
    clients: np.ndarray | None = None,
    demand: np.ndarray | None = None,
    candidates: np.ndarray | None = None,
    fixed: np.ndarray | None = None,
) -> tuple[np.ndarray, dict]:
    """Improve a facility set by swap (and, with opening costs, open/close) moves.

    Parameters
    ----------
    graph : Graph
    facilities : array-like of int
        Starting facilities.
    rng : numpy.random.Generator
        Order in which candidates are examined.
    opening_cost : ndarray of shape (n_vertices,), optional
        None: p-median (the number of facilities is fixed, only swaps). Otherwise facility
        location: cost = opening costs + connection costs, with open/close/swap moves.
    max_passes : int
        Passes over the candidate list.
    max_candidates : int, optional
        Examine at most this many random non-facility candidates per pass (default: all).
    tol : float
        Relative improvement below which a move is not taken.
    on_sssp : callable, optional
        Called once per SSSP (for counting).
    clients : ndarray of bool, optional
        Only these vertices pay connection costs (default all). Candidates are the vertices
        with a finite opening cost.
    demand : ndarray of shape (n_vertices,), optional
        Client weights: the connection cost is ``sum_v demand[v] d(v, F)`` (vertices of weight
        0 are not clients).
    candidates : ndarray of bool, shape (n_vertices,), optional
        p-median: where a facility may move to (default everywhere).
    fixed : array-like of int, optional
        Facilities that are never closed or swapped out.

    Returns
    -------
    facilities : ndarray of int64 (sorted)
    info : dict
        ``passes``, ``swaps``, ``sssp_calls``.
    """
    n = graph.n_vertices
    mask = np.ones(n, dtype=bool) if clients is None else np.asarray(clients, dtype=bool).copy()
    if demand is not None:
        mask &= np.asarray(demand) > 0
    cidx = np.flatnonzero(mask)
    wv = np.ones(cidx.size) if demand is None else np.asarray(demand, dtype=np.float64)[cidx]
    fixed_set = set() if fixed is None else {int(x) for x in np.asarray(fixed).ravel()}
    fac = [int(x) for x in np.unique(np.asarray(facilities, dtype=np.int64))]
    # distances from each facility to the clients only: a p x |clients| table
    D = np.vstack([sssp(graph, f)[cidx] for f in fac])
    calls = len(fac)
    f_cost = opening_cost
    fl = f_cost is not None
    d1, a1, d2 = _nearest_two(D)
    total = (wv * d1).sum() + (f_cost[fac].sum() if fl else 0.0)
    moves = 0
    passes = 0
    for passes in range(1, max_passes + 1):
        improved = False
        is_fac = np.zeros(n, dtype=bool)
        is_fac[fac] = True
        allowed = ~is_fac if f_cost is None else (~is_fac & np.isfinite(f_cost))
        if candidates is not None:
            allowed &= candidates
        pinned = np.array([x in fixed_set for x in fac], dtype=bool)  # never closed / swapped out
        cand = np.flatnonzero(allowed)
        cand = cand[rng.permutation(cand.size)]
        if max_candidates is not None:
            cand = cand[:max_candidates]
        if fl and len(fac) > 1:
            # close moves, checked once per pass
            loss = np.bincount(a1, weights=wv * (np.minimum(d2, 1e300) - d1), minlength=len(fac)) - f_cost[fac]
            loss[pinned] = np.inf
            i = int(np.argmin(loss))
            if loss[i] < -tol * max(total, 1.0) and np.isfinite(d2[a1 == i]).all():
                del fac[i]
                pinned = np.delete(pinned, i)
                D = np.delete(D, i, axis=0)
                d1, a1, d2 = _nearest_two(D)
                total = (wv * d1).sum() + f_cost[fac].sum()
                moves += 1
                improved = True
        for c in cand:
            c = int(c)
            if c in fac:
                continue
            dc = sssp(graph, c)[cidx]
            calls += 1
            m1 = np.minimum(dc, d1)
            common = float((wv * (m1 - d1)).sum())
            extra = np.bincount(a1, weights=wv * (np.minimum(dc, d2) - m1), minlength=len(fac))
            delta = common + extra
            if fl:
                delta = delta + f_cost[c] - f_cost[fac]
                add_delta = common + f_cost[c]
            delta[pinned] = np.inf
            i = int(np.argmin(delta))
            best = float(delta[i])
            do_add = fl and add_delta < best
            if do_add:
                best = add_delta
            if not best < -tol * max(total, 1.0):
                continue
            if do_add:
                fac.append(c)
                pinned = np.append(pinned, False)
                D = np.vstack([D, dc[None, :]])
            else:
                fac[i] = c
                D[i] = dc
            d1, a1, d2 = _nearest_two(D)
            total = (wv * d1).sum() + (f_cost[fac].sum() if fl else 0.0)
            moves += 1
            improved = True
        if not improved:
            break
    if on_sssp is not None:
        on_sssp(calls)
    return np.sort(np.asarray(fac, dtype=np.int64)), {"passes": passes, "swaps": moves, "sssp_calls": calls}


def pcenter_local_search(
    graph,
    facilities,
    rng: np.random.Generator,
    *,
    clients: np.ndarray | None = None,
    candidates: np.ndarray | None = None,
    fixed: np.ndarray | None = None,
    max_passes: int = 50,
    max_candidates: int | None = None,
    max_critical: int = 8,
) -> tuple[np.ndarray, dict]:
    """Vertex-substitution local search for p-center (beyond the paper).

    Each pass looks at a critical client v (a client at the current radius R) and at the
    candidate sites u with ``d(u, v) < R`` (only those can bring v closer); when none of them
    gives a move, the next critical client (up to ``max_critical``, in random order). For each u, one SSSP
    gives, for every centre c at once, the objective after "u replaces c": with ``d1``/``d2``
    the distances to the nearest / second-nearest centre and ``a1`` the nearest,

        R(u, c) = max( max over clients not served by c of min(d_u, d1),
                       max over clients served by c of min(d_u, d2) ),

    computed with per-centre maxima (the p-center analogue of the FasterPAM decomposition used
    by :func:`swap_local_search`). The best move is applied when it lowers the radius, or keeps
    it and lowers the number of clients at the radius (so ties between several critical
    clients do not stop the search). Stops after a pass without such a move or ``max_passes``.

    Parameters
    ----------
    graph : Graph
    facilities : array-like of int
    rng : numpy.random.Generator
        Order of the candidates (and which ones when ``max_candidates`` cuts the list).
    clients : ndarray of bool, optional
        The vertices that must be covered (default all).
    candidates : ndarray of bool, optional
        Where a centre may move to (default everywhere).
    fixed : array-like of int, optional
        Centres that are never swapped out.
    max_passes : int
    max_candidates : int, optional
        Sites examined per critical client (default all sites closer than R to it).
    max_critical : int
        Critical clients tried per pass before the search stops.

    Returns
    -------
    facilities : ndarray of int64 (sorted)
    info : dict
        ``passes``, ``swaps``, ``sssp_calls``.
    """
    n = graph.n_vertices
    cmask = np.ones(n, dtype=bool) if clients is None else np.asarray(clients, dtype=bool)
    cidx = np.flatnonzero(cmask)
    allowed = np.ones(n, dtype=bool) if candidates is None else np.asarray(candidates, dtype=bool).copy()
    fixed_set = set() if fixed is None else {int(x) for x in np.asarray(fixed).ravel()}
    fac = [int(x) for x in np.unique(np.asarray(facilities, dtype=np.int64))]
    D = np.vstack([sssp(graph, f)[cidx] for f in fac])
    calls = len(fac)
    d1, a1, d2 = _nearest_two(D)
    moves = 0
    passes = 0

    def at_radius(values, R):
        return values >= R * (1 - 1e-12)

    for passes in range(1, max_passes + 1):
        R = float(d1.max())
        if R <= 0:
            break
        count = int(at_radius(d1, R).sum())
        k = len(fac)
        pinned = np.array([x in fixed_set for x in fac], dtype=bool)
        crit = np.flatnonzero(at_radius(d1, R))
        is_fac = np.zeros(n, dtype=bool)
        is_fac[fac] = True
        best = (R, count, None, None, None)
        tried = np.zeros(n, dtype=bool)
        # critical clients in random order until one yields a move (at most max_critical)
        for j in crit[rng.permutation(crit.size)][:max_critical]:
            v = int(cidx[j])
            dv = sssp(graph, v)
            calls += 1
            cand = np.flatnonzero(allowed & ~is_fac & ~tried & (dv < R))
            cand = cand[rng.permutation(cand.size)]
            if max_candidates is not None:
                cand = cand[:max_candidates]
            tried[cand] = True
            for u in cand:
                du = sssp(graph, int(u))[cidx]
                calls += 1
                m1 = np.minimum(du, d1)
                m2 = np.minimum(du, d2)
                g1 = np.full(k, -np.inf)
                np.maximum.at(g1, a1, m1)
                g2 = np.full(k, -np.inf)
                np.maximum.at(g2, a1, m2)
                if k > 1:
                    top = np.argsort(g1)[::-1][:2]
                    others = np.where(np.arange(k) == top[0], g1[top[1]], g1[top[0]])
                else:
                    others = np.full(1, -np.inf)
                r = np.maximum(others, g2)
                r[pinned] = np.inf
                c = int(np.argmin(r))
                rc = float(r[c])
                if rc < best[0] * (1 - 1e-12):
                    cnt = int(at_radius(np.where(a1 == c, m2, m1), rc).sum())
                    best = (rc, cnt, int(u), c, du)
                elif rc <= best[0] * (1 + 1e-12) and np.isfinite(rc):
                    cnt = int(at_radius(np.where(a1 == c, m2, m1), rc).sum())
                    if cnt < best[1]:
                        best = (rc, cnt, int(u), c, du)
            if best[2] is not None:
                break
        if best[2] is None:
            break
        _, _, u, c, du = best
        fac[c] = u
        D[c] = du
        d1, a1, d2 = _nearest_two(D)
        moves += 1
    return np.sort(np.asarray(fac, dtype=np.int64)), {"passes": passes, "swaps": moves, "sssp_calls": calls}
