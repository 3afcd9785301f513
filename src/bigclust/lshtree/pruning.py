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
    ``_kernels.subtree_dp.approx_tables``).
``lagrangian_dp``
    A penalty per cluster, searched by bisection: ``O(n)`` per penalty, exact when
    a penalty yields exactly ``k`` clusters, and a certified lower bound always.
"""

from __future__ import annotations

import heapq
import math

import numba
import numpy as np

from .hierarchy import Hierarchy
from ._kernels.subtree_dp import (NO_INPUT, NO_OFFS, NO_VALS, approx_tables, approx_traceback, exact_tables,
                                  exact_traceback, level_count, level_tables)
from ._kernels.penalised import penalised_batch as _penalised_batch
from ._kernels.penalised import penalised_take as _penalised_take
from ._kernels.penalised import penalised_trace as _penalised_trace

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
    # the whole tree as one subtree without inputs: Algorithm 7's kernel with a single task
    dp, offs, cap = exact_tables(tree.left, tree.right, tree.size, w, NO_INPUT, NO_OFFS, NO_VALS, k)
    root = tree.root
    exact_curve = dp[offs[root]: offs[root] + cap[root]].copy()
    selected, _, _ = exact_traceback(tree.left, tree.right, NO_INPUT, dp, offs, cap, root, k)
    return selected, np.minimum.accumulate(exact_curve), exact_curve


# --------------------------------------------------------------------------- Algorithm 6


def _n_levels(weights: np.ndarray, n_leaves: int, step: float):
    """Number of cost levels of Algorithm 6 (line 2) after rescaling the least positive weight to 1."""
    positive = weights[weights > 0]
    if positive.size == 0:
        return 1, 1.0
    unit = float(positive.min())
    return level_count(n_leaves, float(weights.max()), unit, step), unit


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
    lam = level_tables(step, n_levels)
    bl, bc, bx, pa, pb, offs, nbp = approx_tables(tree.left, tree.right, tree.size, wn, NO_INPUT, NO_OFFS, NO_VALS,
                                                  lam, int(n_clusters), 1.0 / np.log1p(step))
    root = tree.root
    start = int(offs[root])  # first breakpoint: the least level with DPsize(R, i*) <= k (line 12)
    count = int(bc[start])
    selected, _, _ = approx_traceback(tree.left, tree.right, NO_INPUT, offs, pa, pb, root, 0, count)
    level = int(bl[start])
    bound = 0.0 if level < 0 else float(lam[level]) * unit
    return selected, {"n_levels": n_levels + 1, "level_bound": bound, "cost": float(bx[start]) * unit,
                      "breakpoints": int(nbp.sum())}


# --------------------------------------------------------------------------- Lagrangian relaxation
#
# Shared by both engines: the compiled pass is :mod:`bigclust.lshtree._kernels.penalised`
# (the local engine runs it over the whole tree, the Spark engine over shipped
# subtrees, Algorithm 7) and the search below is pure Python on the driver. The
# search is a bisection on the penalty; ``evaluate`` may be asked for several
# penalties at once (every penalty the next ``speculation`` bisection steps could
# visit) and the bisection is then replayed from the evaluated results, so the
# penalties visited, and the results, do not depend on ``speculation``.


def _bisection_penalty(lo: float, hi: float, it: int) -> float:
    """The penalty of bisection step ``it`` (1-based) in the bracket ``[lo, hi]``."""
    return hi if it == 1 else 0.5 * (lo + hi)


def _bisection_step(lo: float, hi: float, lam: float, below: bool):
    """The bracket after a step at ``lam`` whose fewest-cluster count is below ``k`` (or not), and
    whether the search stops there (the bracket is down to rounding)."""
    if below:
        hi = lam
    else:
        lo = lam
    return lo, hi, hi - lo <= 1e-13 * hi


def _speculative_penalties(lo: float, hi: float, it: int, iterations: int, depth: int) -> np.ndarray:
    """Every penalty bisection steps ``it .. it + depth - 1`` may visit from the bracket ``[lo, hi]``
    (at most ``2^depth - 1``), sorted."""
    out, frontier = [], [(lo, hi)]
    for d in range(depth):
        if it + d > iterations or not frontier:
            break
        nxt = []
        for a, b in frontier:
            lam = _bisection_penalty(a, b, it + d)
            out.append(lam)
            for below in (True, False):
                na, nb, stop = _bisection_step(a, b, lam, below)
                if not stop:
                    nxt.append((na, nb))
        frontier = nxt
    return np.unique(np.array(out, np.float64))


def lagrangian_search(n_clusters: int, root_weight: float, n_leaves: int, evaluate, iterations: int = 100,
                      speculation: int = 1) -> dict:
    """The bisection of :func:`lagrangian_dp` on the penalty, given a way to evaluate penalties.

    ``evaluate(lams)`` returns, for a float64 array of penalties, the least
    penalised weight ``min_S sum_S w + lam |S|`` and the cluster counts of the
    optimum with ties to the vertex (``fewer``) and to the children (``many``):
    three arrays. The search asks for all penalties the next ``speculation`` steps
    may visit at once, then replays the bisection from the results.

    Returns a dict: ``lam`` and ``fewer`` (the penalty and tie rule whose pruning
    is the answer, grown to ``k`` by greedy splits unless ``exact``), ``exact``,
    ``lower`` (the best ``f(lam) - lam k``), ``k_below``, ``k_above``,
    ``iterations`` (bisection steps), ``evaluations`` (calls of ``evaluate``)
    and ``penalties`` (penalties evaluated).
    """
    k = int(n_clusters)
    lo, hi = 0.0, float(root_weight) + 1.0  # count(lo) >= k > count(hi) (or == at hi when k == 1)
    lower = -np.inf
    chosen, exact, k_below, k_above = None, False, 1, int(n_leaves)
    known: dict[float, tuple[float, int, int]] = {}
    calls = 0
    it = 0
    for it in range(1, iterations + 1):
        lam = _bisection_penalty(lo, hi, it)
        if lam not in known:
            lams = _speculative_penalties(lo, hi, it, iterations, max(1, int(speculation)))
            vals, few, many = evaluate(lams)
            calls += 1
            for x, v, cf, cm in zip(lams.tolist(), np.asarray(vals, np.float64).tolist(),
                                    np.asarray(few).tolist(), np.asarray(many).tolist()):
                known[x] = (v, int(cf), int(cm))
        val, c, c_many = known[lam]
        lower = max(lower, val - lam * k)
        # at a penalty where several prunings tie, the fewest- and the most-cluster
        # optima bracket the counts reachable there; either may hit k exactly
        if c == k:
            chosen, exact = (lam, True), True
            break
        if c < k and c_many == k:
            chosen, exact = (lam, False), True
            break
        if c < k:
            k_below = c
        else:
            k_above = c
        lo, hi, stop = _bisection_step(lo, hi, lam, c < k)
        if stop:
            break
    if chosen is None:
        chosen = (hi, True)
    return {"lam": chosen[0], "fewer": chosen[1], "exact": exact, "lower": lower, "k_below": k_below,
            "k_above": k_above, "iterations": it, "evaluations": calls, "penalties": len(known)}


def lagrangian_info(search: dict, cost: float) -> dict:
    """:func:`lagrangian_dp`'s info dict from :func:`lagrangian_search`'s result and the weight found."""
    lower = max(search["lower"], 0.0)
    return {"exact": search["exact"], "lower_bound": lower, "cost": cost,
            "gap": (cost / lower) if lower > 0 else (1.0 if cost == 0 else np.inf),
            "k_below": int(search["k_below"]), "k_above": int(search["k_above"]), "iterations": search["iterations"]}


def lagrangian_dp(tree: Hierarchy, weights: np.ndarray, n_clusters: int, iterations: int = 100,
                  speculation: int = 1):
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

    The search is :func:`lagrangian_search` over the whole tree as one subtree;
    the Spark engine runs the same search over shipped subtrees
    (``_spark._pruning.lagrangian_dp_spark``) with the same result.
    ``speculation`` evaluates the penalties of that many bisection steps per pass
    (``2^speculation - 1`` of them); the result does not depend on it.

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
    left, right, root = tree.left, tree.right, tree.root

    def evaluate(lams):
        return _penalised_batch(left, right, w, NO_INPUT, NO_OFFS, NO_VALS, lams, root)

    search = lagrangian_search(k, float(w[root]), tree.n_leaves, evaluate, iterations, speculation)
    take = _penalised_take(left, right, w, NO_INPUT, NO_OFFS, NO_VALS, search["lam"], search["fewer"])
    best_sel = np.sort(_penalised_trace(left, right, NO_INPUT, take, root)[0])
    if not search["exact"]:
        best_sel = split_to_k(tree, w, best_sel, k)
    # summed exactly: the Spark engine numbers vertices otherwise, and must get the same bits
    return best_sel, lagrangian_info(search, math.fsum(w[best_sel]))


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
