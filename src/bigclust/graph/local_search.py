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

With simulated machines (``km`` with ``k > 1``) every phase is charged to the ledger: each
shortest-path computation is a distributed MSSP call, each evaluated move gathers the
per-facility partial sums of the machines at a coordinator (one word per facility and machine)
and broadcasts the decision. :func:`cover_radius_search` (the p-center improvement) charges its
per-site searches the same way and one gather of the per-site counts per greedy step.
"""

from __future__ import annotations

import numba
import numpy as np

from scipy.sparse.csgraph import dijkstra

from ._heap import heap_pop, heap_push, new_heap
from .paths import mssp, sssp

__all__ = ["swap_local_search", "pcenter_local_search", "cover_radius_search", "AUTO_TABLE_CELLS"]

# "auto" improvement budget: the improvement phases keep a float64 table of distances from the
# facilities to every vertex (p-median, p x n) or to the clients (p-center substitution). They
# run by default when that table has at most 2**25 cells (256 MiB), and the p-center cover
# search gives up above 2**25 (site, client) pairs in its balls -- memory bounds, not quality
# knobs. Time bounds: a p-median pass stops once its candidate searches have settled 2**25
# vertices (about 2**25 / n full SSSPs); the p-center substitution stops after 2**25 / n SSSPs.
AUTO_TABLE_CELLS = 2**25


def _distance_rows(graph, sources, cidx: np.ndarray, km=None) -> np.ndarray:
    """Distances from each source to the clients ``cidx``: shape (len(sources), len(cidx)).

    One SSSP per source; with ``k > 1`` simulated machines each is a charged MSSP call.
    """
    sources = np.asarray(sources, dtype=np.int64)
    if sources.size == 0:
        return np.empty((0, cidx.size))
    if km is not None and km.distributed:
        return np.vstack([sssp(graph, int(s), km)[cidx] for s in sources])
    if km is not None:
        km.ledger.count_call("mssp", int(sources.size))
    out = np.empty((sources.size, cidx.size))
    csr = graph.to_scipy()
    step = max(1, (1 << 22) // max(graph.n_vertices, 1))  # bound the temporary (step x n) block
    for a in range(0, sources.size, step):
        out[a:a + step] = dijkstra(csr, directed=True, indices=sources[a:a + step])[:, cidx]
    return out


def _charge_move(km, words: int) -> None:
    """A coordinator gathers ``words`` partial sums from every machine and announces the move."""
    if km is not None and km.distributed:
        km.ledger.gather(words)
        km.ledger.broadcast(2)


@numba.njit(cache=True)
def _pruned_swap_deltas(indptr, indices, weights, c, d1, a1, d2, w, base, dist, touched, hk, ht, hv, delta):
    """Cost change of every "c replaces facility i" swap from a Dijkstra search pruned at ``d2``.

    The search from c only goes on through vertices v with ``d_c(v) < d2(v)``. That is exact
    for the swap deltas: the second-nearest-facility distance d2 is 1-Lipschitz in the graph
    metric (d2(x) <= d2(v) + d(v, x)), so a vertex beyond a pruned v has ``d_c >= d2`` as well,
    and for such a vertex ``min(d_c, d1) = d1`` and ``min(d_c, d2) = d2``: it changes nothing
    but its own facility's removal loss ``w (d2 - d1)``, which ``base`` already holds. Every
    vertex with ``d_c < d2`` has a shortest path from c through such vertices only, so its
    distance is exact.

    ``dist`` must be all inf on entry and is all inf again on return; ``delta`` (length p)
    receives ``base[i] + common + correction[i]``. Returns the number of vertices settled.
    """
    n_t = 0
    size = 0
    if 0.0 < d2[c]:
        dist[c] = 0.0
        touched[0] = c
        n_t = 1
        size = heap_push(hk, ht, hv, size, 0.0, 0, c)
    settled = 0
    while size > 0:
        d, _, u, size = heap_pop(hk, ht, hv, size)
        if d > dist[u]:
            continue  # stale entry
        settled += 1
        for e in range(indptr[u], indptr[u + 1]):
            x = indices[e]
            nd = d + weights[e]
            if nd < dist[x] and nd < d2[x]:
                if dist[x] == np.inf:
                    touched[n_t] = x
                    n_t += 1
                dist[x] = nd
                size = heap_push(hk, ht, hv, size, nd, 0, x)
    common = 0.0
    for i in range(delta.shape[0]):
        delta[i] = base[i]
    for t in range(n_t):
        v = touched[t]
        dc = dist[v]
        dist[v] = np.inf
        if w[v] == 0.0:
            continue
        m1 = min(dc, d1[v])
        common += w[v] * (m1 - d1[v])
        delta[a1[v]] += w[v] * ((min(dc, d2[v]) - m1) - (d2[v] - d1[v]))
    for i in range(delta.shape[0]):
        delta[i] += common
    return settled


def _swap_search_pruned(graph, fac, rng, *, max_passes, max_candidates, max_visits, tol, wfull, candidates,
                        fixed_set):
    """p-median swap search with pruned candidate searches (one machine, p >= 2, connected).

    Keeps the ``p x n`` table of facility distances over every vertex (the pruning needs d2 at
    transit vertices too); a candidate costs a Dijkstra search over the vertices it could serve
    better than their second-nearest facility (about n / p vertices on a road network) instead
    of a full SSSP. Same moves and stopping rule as :func:`swap_local_search`.
    """
    n = graph.n_vertices
    indptr, indices, weights = graph.indptr, graph.indices, graph.weights
    D = _distance_rows(graph, fac, np.arange(n))
    calls = len(fac)
    d1, a1, d2 = _nearest_two(D)
    p = len(fac)
    dist = np.full(n, np.inf)
    touched = np.empty(n, dtype=np.int64)
    hk, ht, hv = new_heap(n, indices.shape[0])
    delta = np.empty(p)
    total = float((wfull * d1).sum())
    moves = 0
    passes = 0
    visits = 0
    for passes in range(1, max_passes + 1):
        improved = False
        is_fac = np.zeros(n, dtype=bool)
        is_fac[fac] = True
        allowed = ~is_fac
        if candidates is not None:
            allowed &= candidates
        pinned = np.array([x in fixed_set for x in fac], dtype=bool)
        cand = np.flatnonzero(allowed)
        cand = cand[rng.permutation(cand.size)]
        if max_candidates is not None:
            cand = cand[:max_candidates]
        base = np.bincount(a1, weights=wfull * (d2 - d1), minlength=p)
        pass_visits = 0
        for c in cand:
            c = int(c)
            if is_fac[c]:
                continue
            if max_visits is not None and pass_visits >= max_visits:
                break
            pass_visits += _pruned_swap_deltas(indptr, indices, weights, c, d1, a1, d2, wfull, base, dist, touched,
                                               hk, ht, hv, delta)
            calls += 1
            delta[pinned] = np.inf
            i = int(np.argmin(delta))
            if not delta[i] < -tol * max(total, 1.0):
                continue
            is_fac[fac[i]] = False
            is_fac[c] = True
            fac[i] = c
            D[i] = _distance_rows(graph, [c], np.arange(n))[0]
            calls += 1
            d1, a1, d2 = _nearest_two(D)
            base = np.bincount(a1, weights=wfull * (d2 - d1), minlength=p)
            total = float((wfull * d1).sum())
            moves += 1
            improved = True
        visits += pass_visits
        if not improved:
            break
    return np.sort(np.asarray(fac, dtype=np.int64)), {"passes": passes, "swaps": moves, "sssp_calls": calls,
                                                      "pruned": True, "vertices_settled": int(visits)}


def _nearest_two(D: np.ndarray):
    """Nearest and second-nearest row of each column: ``(d1, a1, d2)``; no copy of ``D``."""
    p, n = D.shape
    if p == 1:
        return D[0].copy(), np.zeros(n, dtype=np.int64), np.full(n, np.inf)
    cols = np.arange(n)
    a1 = np.argmin(D, axis=0)
    d1 = D[a1, cols]
    D[a1, cols] = np.inf  # hide the nearest (in place: the table can be the largest array)
    d2 = D.min(axis=0)
    D[a1, cols] = d1
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
    km=None,
    max_visits: int | None = None,
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
    km : KMachine, optional
        Simulated machines; with ``k > 1`` every SSSP and every move evaluation is charged.
    max_visits : int, optional
        Stop a pass once its candidate searches have settled this many vertices (default: no
        limit). With one machine and p >= 2 (no opening costs) a candidate's search is pruned
        to the vertices it could serve better than their second-nearest facility
        (:func:`_pruned_swap_deltas`, exact); otherwise it is a full SSSP (n vertices).

    Returns
    -------
    facilities : ndarray of int64 (sorted)
    info : dict
        ``passes``, ``swaps``, ``sssp_calls`` (full or pruned searches), and for the pruned
        search ``vertices_settled``.
    """
    n = graph.n_vertices
    mask = np.ones(n, dtype=bool) if clients is None else np.asarray(clients, dtype=bool).copy()
    if demand is not None:
        mask &= np.asarray(demand) > 0
    cidx = np.flatnonzero(mask)
    wv = np.ones(cidx.size) if demand is None else np.asarray(demand, dtype=np.float64)[cidx]
    fixed_set = set() if fixed is None else {int(x) for x in np.asarray(fixed).ravel()}
    fac = [int(x) for x in np.unique(np.asarray(facilities, dtype=np.int64))]
    if opening_cost is None and len(fac) >= 2 and (km is None or not km.distributed):
        wfull = np.zeros(n)
        wfull[cidx] = wv
        return _swap_search_pruned(graph, fac, rng, max_passes=max_passes, max_candidates=max_candidates,
                                   max_visits=max_visits, tol=tol, wfull=wfull, candidates=candidates,
                                   fixed_set=fixed_set)
    # distances from each facility to the clients only: a p x |clients| table
    D = _distance_rows(graph, fac, cidx, km)
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
            _charge_move(km, len(fac))
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
        pass_visits = 0
        for c in cand:
            c = int(c)
            if c in fac:
                continue
            if max_visits is not None and pass_visits >= max_visits:
                break
            pass_visits += n
            dc = sssp(graph, c, km)[cidx]
            calls += 1
            _charge_move(km, len(fac) + 1)  # per-facility sums and the common term
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
    km=None,
    max_visits: int | None = None,
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
    km : KMachine, optional
        Simulated machines; with ``k > 1`` every SSSP and every move evaluation (two maxima per
        centre gathered from every machine) is charged.
    max_visits : int, optional
        Stop the whole search once its SSSPs have visited this many vertices (n each; default
        no limit). The best move found so far in the current pass is still applied.

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
    D = _distance_rows(graph, fac, cidx, km)
    calls = len(fac)
    d1, a1, d2 = _nearest_two(D)
    moves = 0
    passes = 0

    def at_radius(values, R):
        return values >= R * (1 - 1e-12)

    visits = calls * n

    for passes in range(1, max_passes + 1):
        R = float(d1.max())
        if km is not None:
            km.ledger.aggregate(2)  # the radius and the number of clients at it
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
            if km is not None:
                km.ledger.aggregate(1)  # pick one critical client (global min of random keys)
            dv = sssp(graph, v, km)
            calls += 1
            cand = np.flatnonzero(allowed & ~is_fac & ~tried & (dv < R))
            cand = cand[rng.permutation(cand.size)]
            if max_candidates is not None:
                cand = cand[:max_candidates]
            tried[cand] = True
            for u in cand:
                if max_visits is not None and visits >= max_visits:
                    break
                du = sssp(graph, int(u), km)[cidx]
                calls += 1
                visits += n
                _charge_move(km, 2 * k)  # per-centre maxima g1, g2
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
        out_of_budget = max_visits is not None and visits >= max_visits
        fac[c] = u
        D[c] = du
        d1, a1, d2 = _nearest_two(D)
        moves += 1
        if out_of_budget:
            break
    return np.sort(np.asarray(fac, dtype=np.int64)), {"passes": passes, "swaps": moves, "sssp_calls": calls}


@numba.njit(cache=True)
def _ball(indptr, indices, weights, s, limit, dist, touched, hk, ht, hv):
    """Dijkstra from ``s`` up to distance ``limit``: the first return value vertices of
    ``touched`` are those within ``limit``, with their distances in ``out`` (second return).
    ``dist`` must be all inf on entry and is all inf again on return."""
    n_t = 1
    touched[0] = s
    dist[s] = 0.0
    size = heap_push(hk, ht, hv, 0, 0.0, 0, s)
    while size > 0:
        d, _, u, size = heap_pop(hk, ht, hv, size)
        if d > dist[u]:
            continue
        for e in range(indptr[u], indptr[u + 1]):
            x = indices[e]
            nd = d + weights[e]
            if nd <= limit and nd < dist[x]:
                if dist[x] == np.inf:
                    touched[n_t] = x
                    n_t += 1
                dist[x] = nd
                size = heap_push(hk, ht, hv, size, nd, 0, x)
    out = np.empty(n_t)
    for t in range(n_t):
        out[t] = dist[touched[t]]
        dist[touched[t]] = np.inf
    return n_t, out


def _site_balls(graph, sidx, cidx, upper, km=None, max_entries=None):
    """The clients within ``upper`` of each site, as a sparse (sites x clients) matrix of
    distances, or None once it would hold more than ``max_entries`` entries.

    One search per site: bounded Dijkstra with one machine; a charged full SSSP with k > 1.
    """
    import scipy.sparse as sp

    n = graph.n_vertices
    col = np.full(n, -1, dtype=np.int64)
    col[cidx] = np.arange(cidx.size)
    rows, cols, vals = [], [], []
    total = 0
    distributed = km is not None and km.distributed
    if not distributed:
        dist = np.full(n, np.inf)
        touched = np.empty(n, dtype=np.int64)
        hk, ht, hv = new_heap(n, graph.indices.shape[0])
        if km is not None:
            km.ledger.count_call("mssp", int(sidx.size))
    for r, s in enumerate(sidx):
        if distributed:
            d = sssp(graph, int(s), km)
            ids = np.flatnonzero(d <= upper)
            dv = d[ids]
        else:
            k, dv = _ball(graph.indptr, graph.indices, graph.weights, int(s), float(upper), dist, touched, hk, ht, hv)
            ids = touched[:k]
        c = col[ids]
        keep = c >= 0
        total += int(keep.sum())
        if max_entries is not None and total > max_entries:
            return None
        rows.append(np.full(int(keep.sum()), r, dtype=np.int64))
        cols.append(c[keep])
        vals.append(dv[keep])
    rows = np.concatenate(rows) if rows else np.empty(0, dtype=np.int64)
    return sp.csr_matrix((np.concatenate(vals) if vals else np.empty(0), (rows, np.concatenate(cols) if cols else rows)),
                         shape=(sidx.size, cidx.size))


def _greedy_cover(C, covered: np.ndarray, budget: int, km=None):
    """Greedy set cover of the clients by the sites' balls ``C`` (sparse sites x clients, bool).

    Opens, while a client is uncovered, the site whose ball holds the most uncovered clients.
    Returns the opened site rows, or None when more than ``budget`` are needed (or a client lies
    in no ball).
    """
    unc = ~covered
    CT = C.T.tocsr()  # clients x sites
    counts = np.asarray(C[:, np.flatnonzero(unc)].sum(axis=1)).ravel().astype(np.int64)
    chosen = []
    n_unc = int(unc.sum())
    while n_unc:
        if km is not None and km.distributed:
            km.ledger.gather(C.shape[0])  # every machine's per-site counts of its uncovered clients
            km.ledger.broadcast(1)  # the chosen site
        s = int(np.argmax(counts))
        if len(chosen) == budget or counts[s] == 0:
            return None
        chosen.append(s)
        row = C.indices[C.indptr[s]:C.indptr[s + 1]]
        new = row[unc[row]]
        unc[new] = False
        n_unc -= new.size
        counts -= np.asarray(CT[new].sum(axis=0)).ravel().astype(np.int64)
    return np.asarray(chosen, dtype=np.int64)


def cover_radius_search(
    graph,
    budget: int,
    lower: float,
    upper: float,
    *,
    clients: np.ndarray,
    sites: np.ndarray,
    fixed: np.ndarray | None = None,
    km=None,
    max_entries: int | None = None,
) -> tuple[np.ndarray | None, dict]:
    """p-center improvement (beyond the paper): the smallest radius a greedy set cover reaches.

    For a radius r, every site's ball is the set of clients within r of it; clients within r of
    a fixed centre are covered already. Greedy set cover (open the site covering the most
    uncovered clients, repeat) either covers every client with at most ``budget`` new centres,
    which proves radius r is reachable, or not. The radius is bisected over the distinct
    site-to-client distances in ``(lower, upper]`` (``lower`` is a proven lower bound on the
    optimum, e.g. half the largest tested radius whose MIS was too big, Lemma 6.1). Greedy is
    not monotone in r, so the result is the smallest radius at which a tested cover succeeded.

    The balls of radius ``upper`` are computed once, one search per site (a Dijkstra bounded at
    ``upper`` with one machine; a charged SSSP with ``k > 1`` simulated machines, as are one
    gather of the per-site counts per greedy step and one broadcast per tested radius), and
    kept as a sparse sites x clients matrix.

    Parameters
    ----------
    graph : Graph
    budget : int
        Centres available beyond ``fixed`` (>= 1).
    lower, upper : float
        Radii bounds (same units as the edge weights).
    clients : ndarray of bool, shape (n_vertices,)
    sites : ndarray of bool, shape (n_vertices,)
        Where a centre may open.
    fixed : ndarray of int, optional
        Centres already open.
    km : KMachine, optional
    max_entries : int, optional
        Give up (``info["skipped"]``) when the balls hold more than this many (site, client)
        pairs (memory: 16 bytes each, plus a transposed copy).

    Returns
    -------
    centres : ndarray of int64 or None
        New centres (at most ``budget``; the fixed ones not included), or None when no tested
        radius was covered.
    info : dict
        ``tested`` (radii tried), ``radius`` (of the cover found, or None), ``sssp_calls``,
        ``entries`` (pairs in the balls); or ``skipped``.
    """
    import scipy.sparse as sp

    cidx = np.flatnonzero(clients)
    sidx = np.flatnonzero(sites)
    T = _site_balls(graph, sidx, cidx, upper, km, max_entries)
    calls = int(sidx.size)
    if T is None:
        return None, {"skipped": "site balls above max_entries", "sssp_calls": calls}
    d_fixed = np.full(cidx.size, np.inf)
    if fixed is not None and np.asarray(fixed).size:
        d_fixed = mssp(graph, np.asarray(fixed, dtype=np.int64), km)[0][cidx]
        calls += 1
    vals = np.unique(np.concatenate([T.data, d_fixed[np.isfinite(d_fixed)]]))
    vals = vals[(vals > lower) & (vals <= upper)]
    lo, hi = 0, vals.size - 1
    best = None
    radius = None
    tested = 0
    while lo <= hi:
        mid = (lo + hi) // 2
        r = float(vals[mid])
        tested += 1
        if km is not None:
            km.ledger.broadcast(1)  # the tested radius
        C = sp.csr_matrix((T.data <= r, T.indices.copy(), T.indptr.copy()), shape=T.shape)  # eliminate_zeros works in place
        C.eliminate_zeros()
        chosen = _greedy_cover(C, d_fixed <= r, budget, km)
        if chosen is None:
            lo = mid + 1
        else:
            best, radius = sidx[chosen], r
            hi = mid - 1
    return best, {"tested": tested, "radius": radius, "sssp_calls": calls, "entries": int(T.nnz)}
