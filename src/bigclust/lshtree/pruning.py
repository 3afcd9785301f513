"""Optimal pruning of the candidate-cluster tree: Algorithms 5 and 6 of the LSH-tree paper.

A pruning set of a tree is a set of vertices with exactly one on every
leaf-to-root path (Definition 3.8); for the tree of :mod:`bigclust.lshtree.hierarchy` it
is a partition of the points. Both dynamic programs run bottom-up over vertex ids
(children always have smaller ids than their parents).

``exact_dp``
    Algorithm 5. ``dp_exact(C, i)`` is the least total weight of a pruning of the
    subtree of ``C`` with *exactly* ``i`` vertices, for ``i <= min(k, |C|)`` (the
    subtree-size bound keeps the work at ``O(sum_C min(k,|C'|) min(k,|C''|)) =
    O(n k)``). The paper's ``DPcost(C, i)`` (at most ``i`` vertices) is its prefix
    minimum, returned as the cost curve. When splitting a vertex never increases
    the weight (true for k-means' SSE), the two agree and the optimum uses exactly
    ``min(k, n)`` clusters.
``approx_dp``
    Algorithm 6. For each vertex the least number of clusters whose weight is at
    most ``lambda_i = (1 + eps')^i``, for every level ``i``; the memory per vertex
    is bounded by the number of levels, independent of ``k``. Each table is stored
    as its breakpoints (the levels where the count drops), each with the actual
    weight of a pruning achieving it; children are combined by trying every pair
    of breakpoints. Placing a combination at the level of its actual weight, and
    dropping counts above ``k``, are provably never worse than line 9 (see
    ``_approx_tables``).
``lagrangian_dp``
    A penalty per cluster, searched by bisection: ``O(n)`` per penalty, exact when
    a penalty yields exactly ``k`` clusters, and a certified lower bound always.
"""

from __future__ import annotations

import heapq

import numba
import numpy as np

from .hierarchy import Hierarchy

__all__ = ["exact_dp", "approx_dp", "approx_guarantee", "lagrangian_dp", "exact_dp_work", "approx_dp_work", "split_to_k", "pruning_cost"]


# --------------------------------------------------------------------------- Algorithm 5


@numba.njit(cache=True)
def _exact_work(left, right, size, n_leaves, k):
    work = 0.0
    mem = 0.0
    for v in range(left.shape[0]):
        mem += min(size[v], k)
        if v >= n_leaves:
            work += min(size[left[v]], k) * min(size[right[v]], k)
    return work, mem


def exact_dp_work(tree: Hierarchy, k: int) -> tuple[float, float]:
    """(operations, table entries) that :func:`exact_dp` needs for this tree and ``k``."""
    return _exact_work(tree.left, tree.right, tree.size, tree.n_leaves, k)


@numba.njit(cache=True, inline="always")
def _min_plus_into(dp, o, oa, na, ob, nb, cv):
    """Algorithm 5's recurrence for one vertex with children tables ``a``, ``b``:
    ``dp[o + i - 1] = min(dp[o + i - 1], min_{i1 + i2 = i} dp[oa + i1 - 1] + dp[ob + i2 - 1])``
    for ``i <= cv``, with ``na``/``nb`` entries in the children's tables. Shared by the
    local and Spark engines so that both do the same additions in the same order.
    """
    for i1 in range(1, na + 1):
        va = dp[oa + i1 - 1]
        lim = min(nb, cv - i1)
        for i2 in range(1, lim + 1):
            s = va + dp[ob + i2 - 1]
            if s < dp[o + i1 + i2 - 1]:
                dp[o + i1 + i2 - 1] = s


@numba.njit(cache=True)
def _exact_tables(left, right, size, w, n_leaves, k):
    n_nodes = left.shape[0]
    cap = np.empty(n_nodes, np.int64)
    offs = np.empty(n_nodes + 1, np.int64)
    offs[0] = 0
    for v in range(n_nodes):
        cap[v] = min(size[v], k)
        offs[v + 1] = offs[v] + cap[v]
    dp = np.full(offs[n_nodes], np.inf)
    for v in range(n_nodes):
        o = offs[v]
        dp[o] = w[v]
        if v < n_leaves:
            continue
        a = left[v]
        b = right[v]
        oa = offs[a]
        ob = offs[b]
        cv = cap[v]
        _min_plus_into(dp, o, oa, cap[a], ob, cap[b], cv)
    return dp, offs, cap


@numba.njit(cache=True)
def _exact_traceback(left, right, dp, offs, cap, root, n_clusters, n_leaves):
    out = np.empty(n_clusters, np.int64)
    n_out = 0
    stack_v = np.empty(2 * n_clusters + 2, np.int64)
    stack_i = np.empty(2 * n_clusters + 2, np.int64)
    stack_v[0] = root
    stack_i[0] = n_clusters
    top = 1
    while top > 0:
        top -= 1
        v = stack_v[top]
        i = stack_i[top]
        if i == 1:
            out[n_out] = v
            n_out += 1
            continue
        a = left[v]
        b = right[v]
        target = dp[offs[v] + i - 1]
        found = -1
        for i1 in range(max(1, i - cap[b]), min(cap[a], i - 1) + 1):  # smallest i' first (Alg. 5 line 10.4)
            if dp[offs[a] + i1 - 1] + dp[offs[b] + i - i1 - 1] == target:
                found = i1
                break
        stack_v[top] = a
        stack_i[top] = found
        stack_v[top + 1] = b
        stack_i[top + 1] = i - found
        top += 2
    return out[:n_out]


def exact_dp(tree: Hierarchy, weights: np.ndarray, n_clusters: int):
    """Algorithm 5: the least-weight pruning set with exactly ``n_clusters`` vertices.

    Parameters
    ----------
    tree : Hierarchy
    weights : ndarray of shape (n_nodes,)
        Non-negative vertex weights ``w(C)``.
    n_clusters : int
        ``k``, at most ``tree.n_leaves``.

    Returns
    -------
    selected : ndarray of shape (n_clusters,), int64
        The vertices of the pruning set.
    cost_curve : ndarray of shape (n_clusters,)
        ``cost_curve[j-1] = DPcost(root, j)``: the least weight of a pruning set
        with at most ``j`` vertices, for ``j = 1..n_clusters`` (non-increasing).
    exact_curve : ndarray of shape (n_clusters,)
        least weight with exactly ``j`` vertices.
    """
    k = int(n_clusters)
    w = np.ascontiguousarray(weights, dtype=np.float64)
    dp, offs, cap = _exact_tables(tree.left, tree.right, tree.size, w, tree.n_leaves, k)
    root = tree.root
    exact_curve = dp[offs[root]: offs[root] + cap[root]].copy()
    selected = _exact_traceback(tree.left, tree.right, dp, offs, cap, root, k, tree.n_leaves)
    return selected, np.minimum.accumulate(exact_curve), exact_curve


# --------------------------------------------------------------------------- Algorithm 6


def _level_tables(step: float, n_levels: int) -> np.ndarray:
    """lambda_i = (1+step)^i for i = 0..n_levels-1 (lambda_{-1} = 0 is implicit)."""
    return (1.0 + step) ** np.arange(n_levels, dtype=np.float64)


@numba.njit(cache=True, inline="always")
def _level_of(x, lam, inv_log_step):
    """Smallest i with lam[i] >= x for x > 0 (len(lam) if none), -1 for x == 0.

    One logarithm gives the level up to rounding; the table comparison makes it
    exact with respect to ``lam`` (with a relative tolerance of 1e-12).
    """
    if x <= 0.0:
        return -1
    n = lam.shape[0]
    i = np.int64(np.ceil(np.log(x) * inv_log_step))
    if i < 0:
        i = 0
    if i > n:
        i = n
    xt = x * (1 - 1e-12)
    while i > 0 and lam[i - 1] >= xt:
        i -= 1
    while i < n and lam[i] < xt:
        i += 1
    return i


@numba.njit(cache=True)
def _approx_vertex(wv, lv, oa, na, ob, nb, o, bl, bc, bx, pa, pb, lam, k, inv_log_step,
                   best_c, best_x, best_a, best_b):
    """Algorithm 6, lines 6-10, for one vertex of weight ``wv`` (level ``lv >= 0``).

    Its children's breakpoints are ``oa .. oa+na-1`` and ``ob .. ob+nb-1`` of the
    arrays; the vertex's are written from ``o`` on (children pairs first, the
    vertex itself last) and their number is returned. ``best_*`` are scratch
    arrays of length ``len(lam) + 2``, ``best_c`` all ``BIG`` on entry and exit.
    Shared by :func:`_approx_tables` and the spark engine's per-subtree kernel,
    so both compute the same tables bit for bit.
    """
    BIG = np.int64(1) << 62
    lo = lv + 1
    hi = -1
    for x in range(oa, oa + na):
        ca = bc[x]
        xa = bx[x]
        for y in range(ob, ob + nb):
            cost = xa + bx[y]
            lsum = _level_of(cost, lam, inv_log_step)
            if lsum >= lv:  # from level lv on the vertex itself (count 1) wins
                break
            c = ca + bc[y]
            t = lsum + 1
            if c < best_c[t] or (c == best_c[t] and cost < best_x[t]):
                best_c[t] = c
                best_x[t] = cost
                best_a[t] = x
                best_b[t] = y
            if t < lo:
                lo = t
            if t > hi:
                hi = t
    m = 0
    run = k + 1  # only counts <= k are kept
    for t in range(lo, hi + 1):
        if best_c[t] < run:
            run = best_c[t]
            bl[o + m] = t - 1
            bc[o + m] = run
            bx[o + m] = best_x[t]
            pa[o + m] = best_a[t]
            pb[o + m] = best_b[t]
            m += 1
        best_c[t] = BIG
    bl[o + m] = lv
    bc[o + m] = 1
    bx[o + m] = wv
    pa[o + m] = -1
    pb[o + m] = -1
    return m + 1


@numba.njit(cache=True)
def _approx_tables(left, right, size, wn, n_leaves, lam, k, inv_log_step):
    """Breakpoint tables of Algorithm 6 for every vertex, counts above ``k`` dropped.

    Vertex ``v`` stores breakpoints ``x = offs[v] .. offs[v]+nbp[v]-1`` with levels
    ``bl`` increasing and counts ``bc`` strictly decreasing: DPsize(v, i) is the
    count of the last breakpoint whose level is <= i (and exceeds ``k`` below the
    first). Each breakpoint also keeps the actual weight ``bx`` of a pruning that
    achieves it and the two children breakpoints ``pa``/``pb`` it came from (-1 for
    the vertex itself).

    Two departures from line 9, both provably never worse:
    * a combination is placed at the level of the *actual* sum ``bx_a + bx_b``
      instead of ``lambda_a + lambda_b``; since ``bx <= lambda`` at every breakpoint,
      by induction every count sits at a level no higher than in Algorithm 6's
      table, so Lemma 3.12's bound holds and rounding no longer compounds up the tree;
    * counts above ``k`` are dropped: a sum with such a term exceeds ``k``, so the
      root's choice (line 12) and the traceback never read them. This bounds each
      table by ``min(|C|, levels, k)`` entries.
    """
    n_nodes = left.shape[0]
    n_levels = lam.shape[0]
    offs = np.empty(n_nodes + 1, np.int64)
    offs[0] = 0
    for v in range(n_nodes):
        offs[v + 1] = offs[v] + min(size[v], n_levels + 2, k + 1)
    total = offs[n_nodes]
    bl = np.empty(total, np.int64)
    bc = np.empty(total, np.int64)
    bx = np.empty(total)
    pa = np.empty(total, np.int64)
    pb = np.empty(total, np.int64)
    nbp = np.zeros(n_nodes, np.int64)
    BIG = np.int64(1) << 62
    best_c = np.full(n_levels + 2, BIG, np.int64)
    best_x = np.empty(n_levels + 2)
    best_a = np.empty(n_levels + 2, np.int64)
    best_b = np.empty(n_levels + 2, np.int64)
    for v in range(n_nodes):
        lv = _level_of(wn[v], lam, inv_log_step)
        o = offs[v]
        if v < n_leaves or lv == -1:
            bl[o] = lv
            bc[o] = 1
            bx[o] = wn[v]
            pa[o] = -1
            pb[o] = -1
            nbp[v] = 1
            continue
        nbp[v] = _approx_vertex(wn[v], lv, offs[left[v]], nbp[left[v]], offs[right[v]], nbp[right[v]], o,
                                bl, bc, bx, pa, pb, lam, k, inv_log_step, best_c, best_x, best_a, best_b)
    return bl, bc, bx, pa, pb, offs, nbp


@numba.njit(cache=True)
def _approx_traceback(left, right, pa, pb, offs, root, start, max_out):
    """Follow the stored children breakpoints from the root's chosen breakpoint."""
    out = np.empty(max_out, np.int64)
    n_out = 0
    stack_v = np.empty(2 * max_out + 2, np.int64)
    stack_x = np.empty(2 * max_out + 2, np.int64)
    stack_v[0] = root
    stack_x[0] = start
    top = 1
    while top > 0:
        top -= 1
        v = stack_v[top]
        x = stack_x[top]
        if pa[x] < 0:  # the vertex itself (Alg. 6 line 14.2)
            out[n_out] = v
            n_out += 1
            continue
        stack_v[top] = left[v]
        stack_x[top] = pa[x]
        stack_v[top + 1] = right[v]
        stack_x[top + 1] = pb[x]
        top += 2
    return out[:n_out]


def _n_levels(weights: np.ndarray, n_leaves: int, step: float):
    """Number of cost levels of Algorithm 6 (line 2) after rescaling the least positive weight to 1."""
    positive = weights[weights > 0]
    if positive.size == 0:
        return 1, 1.0
    unit = float(positive.min())
    top = 2.0 * n_leaves * float(weights.max()) / unit
    return int(np.ceil(np.log(top) / np.log1p(step))) + 2, unit


def approx_guarantee(step: float, depth: int, epsilon: float) -> float:
    """Factor by which Algorithm 6 with ``step`` may exceed the optimal pruning of a depth-``depth`` tree.

    Lemma 3.12: ``1 + epsilon`` when ``step <= epsilon / (2 H)``; otherwise only the
    per-level rounding compounded over the depth, ``(1 + step)^H``.
    """
    H = max(int(depth), 1)
    return (1 + epsilon) if step <= epsilon / (2 * H) * (1 + 1e-12) else (1 + step) ** H


def approx_dp_work(tree: Hierarchy, weights: np.ndarray, n_clusters: int, step: float) -> tuple[float, float]:
    """(operations, table entries) bound of :func:`approx_dp`: tables hold at most
    ``min(|C|, levels + 2, k + 1)`` breakpoints and a merge tries every pair."""
    n_levels, _ = _n_levels(np.asarray(weights, np.float64), tree.n_leaves, step)
    cap = min(n_levels + 2, int(n_clusters) + 1)
    return _exact_work(tree.left, tree.right, tree.size, tree.n_leaves, cap)


def approx_dp(tree: Hierarchy, weights: np.ndarray, n_clusters: int, step: float):
    """Algorithm 6: a pruning set of at most ``n_clusters`` vertices within ``(1+step)^H`` of optimal.

    With ``step = epsilon / (2 H)``, ``H = tree.depth``, the weight is at most
    ``(1 + epsilon)`` times the optimum (Lemma 3.12).

    Parameters
    ----------
    tree : Hierarchy
    weights : ndarray of shape (n_nodes,), non-negative
    n_clusters : int
    step : float
        ``epsilon'`` of Algorithm 6: the ratio between consecutive cost levels.

    Returns
    -------
    selected : ndarray of int64, at most ``n_clusters`` vertices
    info : dict
        ``n_levels`` (the ``l + 2`` levels of the table), ``level_bound``
        (``lambda_{i*}``, an upper bound on the weight found, in weight units),
        ``cost`` (the weight found), ``breakpoints`` (total stored).
    """
    w = np.ascontiguousarray(weights, dtype=np.float64)
    if not (w > 0).any():  # all weights zero: the root alone is optimal
        return np.array([tree.root], np.int64), {"n_levels": 1, "level_bound": 0.0, "breakpoints": tree.n_nodes}
    # Alg. 6 assumes the least positive weight is >= 1: rescale by it
    n_levels, unit = _n_levels(w, tree.n_leaves, step)
    wn = w / unit
    lam = _level_tables(step, n_levels)
    bl, bc, bx, pa, pb, offs, nbp = _approx_tables(tree.left, tree.right, tree.size, wn, tree.n_leaves, lam,
                                                   int(n_clusters), 1.0 / np.log1p(step))
    root = tree.root
    start = int(offs[root])  # first breakpoint: the least level with DPsize(R, i*) <= k (line 12)
    count = int(bc[start])
    selected = _approx_traceback(tree.left, tree.right, pa, pb, offs, root, start, count)
    level = int(bl[start])
    bound = 0.0 if level < 0 else float(lam[level]) * unit
    return selected, {"n_levels": n_levels + 1, "level_bound": bound, "cost": float(bx[start]) * unit,
                      "breakpoints": int(nbp.sum())}


# --------------------------------------------------------------------------- Lagrangian relaxation


@numba.njit(cache=True)
def _penalised(left, right, w, n_leaves, lam, fewer, select):
    """Least ``sum_S w + lam |S|`` over prunings S, in one bottom-up pass.

    Ties go to the vertex itself (``fewer``) or to its children. Fills ``select``
    (1 for vertices of the optimal pruning) and returns (value, |S|).
    """
    n_nodes = left.shape[0]
    best = np.empty(n_nodes)
    cnt = np.empty(n_nodes, np.int64)
    take = np.empty(n_nodes, np.bool_)
    for v in range(n_nodes):
        own = w[v] + lam
        if v < n_leaves:
            best[v] = own
            cnt[v] = 1
            take[v] = True
            continue
        a = left[v]
        b = right[v]
        split = best[a] + best[b]
        if own < split or (own == split and fewer):
            best[v] = own
            cnt[v] = 1
            take[v] = True
        else:
            best[v] = split
            cnt[v] = cnt[a] + cnt[b]
            take[v] = False
    # top-down: a vertex is selected if it takes itself and no ancestor was selected
    covered = np.zeros(n_nodes, np.bool_)
    root = n_nodes - 1
    for v in range(root, -1, -1):
        select[v] = 0
        if covered[v]:
            if v >= n_leaves:
                covered[left[v]] = True
                covered[right[v]] = True
            continue
        if take[v]:
            select[v] = 1
            if v >= n_leaves:
                covered[left[v]] = True
                covered[right[v]] = True
    return best[root], cnt[root]


def lagrangian_dp(tree: Hierarchy, weights: np.ndarray, n_clusters: int, iterations: int = 100):
    """Optimal pruning by Lagrangian relaxation of the cluster count, with a certificate.

    For a penalty ``lam`` per cluster, the pruning minimising ``sum w + lam |S|`` is
    found in one ``O(n)`` pass. If some ``lam`` gives exactly ``k`` clusters, that
    pruning is optimal among all prunings with ``k`` clusters (for any ``S'`` with
    ``|S'| = k``: ``w(S') + lam k >= w(S) + lam k``), so the result is exact, like
    Algorithm 5, in ``O(n log(1/tol))`` time and ``O(n)`` memory whatever ``k``.
    Otherwise ``k`` lies strictly inside a flat piece of the lower convex hull of the
    cost curve; the pruning with fewer clusters is grown to ``k`` by greedy splits
    (:func:`split_to_k`). Either way ``max_lam (f(lam) - lam k)`` is a lower bound on
    the optimal ``k``-pruning's weight, reported so the gap is known.

    Returns
    -------
    selected : ndarray of int64, ``n_clusters`` vertices (fewer only if the tree has fewer leaves)
    info : dict
        ``exact`` (True when a penalty gave exactly ``k``), ``lower_bound``,
        ``cost``, ``gap`` (cost / lower_bound), ``k_below`` / ``k_above`` (counts
        bracketing ``k`` at the last penalties), ``iterations``.
    """
    k = int(n_clusters)
    w = np.ascontiguousarray(weights, dtype=np.float64)
    select = np.zeros(tree.n_nodes, np.int8)
    lo, hi = 0.0, float(w[tree.root]) + 1.0  # count(lo) >= k > count(hi) (or == at hi when k == 1)
    lower = -np.inf
    best_sel, exact, k_below, k_above = None, False, 1, tree.n_leaves
    it = 0
    for it in range(1, iterations + 1):
        lam = 0.5 * (lo + hi) if it > 1 else hi
        # at a penalty where several prunings tie, the fewest- and the most-cluster
        # optima bracket the counts reachable there; either may hit k exactly
        val, c = _penalised(tree.left, tree.right, w, tree.n_leaves, lam, True, select)
        lower = max(lower, val - lam * k)
        if c == k:
            best_sel, exact = np.flatnonzero(select).astype(np.int64), True
            break
        if c < k:
            _, c_many = _penalised(tree.left, tree.right, w, tree.n_leaves, lam, False, select)
            if c_many == k:
                best_sel, exact = np.flatnonzero(select).astype(np.int64), True
                break
        if c < k:
            hi, k_below = lam, c
        else:
            lo, k_above = lam, c
        if hi - lo <= 1e-13 * hi:
            break
    if best_sel is None:
        _penalised(tree.left, tree.right, w, tree.n_leaves, hi, True, select)
        best_sel = split_to_k(tree, w, np.flatnonzero(select).astype(np.int64), k)
    cost = float(w[best_sel].sum())
    lower = max(lower, 0.0)
    return best_sel, {"exact": exact, "lower_bound": lower, "cost": cost,
                      "gap": (cost / lower) if lower > 0 else (1.0 if cost == 0 else np.inf),
                      "k_below": int(k_below), "k_above": int(k_above), "iterations": it}


# --------------------------------------------------------------------------- helpers


def split_to_k(tree: Hierarchy, weights: np.ndarray, selected: np.ndarray, n_clusters: int) -> np.ndarray:
    """Grow a pruning set to ``n_clusters`` vertices by greedy splits.

    Repeatedly replaces the selected vertex whose split lowers the weight most
    (``w(C) - w(C') - w(C'')``) by its two children. Used after Algorithm 6, which
    may return fewer than ``k`` clusters; for k-means each split never raises the
    cost, so the result stays within Lemma 3.12's bound.
    """
    selected = [int(v) for v in selected]
    n_leaves = tree.n_leaves
    heap = [(-(weights[v] - weights[tree.left[v]] - weights[tree.right[v]]), v) for v in selected if v >= n_leaves]
    heapq.heapify(heap)
    chosen = set(selected)
    while len(chosen) < n_clusters and heap:
        _, v = heapq.heappop(heap)
        chosen.discard(v)
        for c in (int(tree.left[v]), int(tree.right[v])):
            chosen.add(c)
            if c >= n_leaves:
                heapq.heappush(heap, (-(weights[c] - weights[tree.left[c]] - weights[tree.right[c]]), c))
    return np.array(sorted(chosen), dtype=np.int64)


def pruning_cost(weights: np.ndarray, selected: np.ndarray) -> float:
    """Total weight of a pruning set."""
    return float(np.sum(weights[np.asarray(selected, dtype=np.int64)]))
