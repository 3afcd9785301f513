"""The Lagrangian relaxation's shared search (``pruning.lagrangian_search`` over the compiled
penalised pass of ``lshtree._kernels.penalised``) against a copy of the function it replaced:
the same penalties, the same pruning and the same info, bit for bit, whatever the speculation."""

import heapq
import math

import numba
import numpy as np
from hypothesis import given, settings, strategies as st

from bigclust.lshtree.hierarchy import Hierarchy, build_hierarchy, kmeans_node_stats
from bigclust.lshtree.pruning import _speculative_penalties, lagrangian_dp


# ----------------------------------------------------------------- the oracle: lagrangian_dp before the shared search


@numba.njit(cache=False)
def _old_penalised(left, right, w, n_leaves, lam, fewer, select):
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


def _old_split_to_k(tree, weights, selected, n_clusters):
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


def _old_lagrangian_dp(tree, weights, n_clusters, iterations=100):
    k = int(n_clusters)
    w = np.ascontiguousarray(weights, dtype=np.float64)
    select = np.zeros(tree.n_nodes, np.int8)
    lo, hi = 0.0, float(w[tree.root]) + 1.0
    lower = -np.inf
    best_sel, exact, k_below, k_above = None, False, 1, tree.n_leaves
    it = 0
    for it in range(1, iterations + 1):
        lam = 0.5 * (lo + hi) if it > 1 else hi
        val, c = _old_penalised(tree.left, tree.right, w, tree.n_leaves, lam, True, select)
        lower = max(lower, val - lam * k)
        if c == k:
            best_sel, exact = np.flatnonzero(select).astype(np.int64), True
            break
        if c < k:
            _, c_many = _old_penalised(tree.left, tree.right, w, tree.n_leaves, lam, False, select)
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
        _old_penalised(tree.left, tree.right, w, tree.n_leaves, hi, True, select)
        best_sel = _old_split_to_k(tree, w, np.flatnonzero(select).astype(np.int64), k)
    cost = math.fsum(w[best_sel])  # the weight found, summed exactly (as both engines now do)
    lower = max(lower, 0.0)
    return best_sel, {"exact": exact, "lower_bound": lower, "cost": cost,
                      "gap": (cost / lower) if lower > 0 else (1.0 if cost == 0 else np.inf),
                      "k_below": int(k_below), "k_above": int(k_above), "iterations": it}


# ----------------------------------------------------------------- helpers


def random_tree(n, rng):
    """A random full binary tree over ``n`` leaves, children before parents."""
    left, right = -np.ones(2 * n - 1, np.int64), -np.ones(2 * n - 1, np.int64)
    roots = list(range(n))
    for v in range(n, 2 * n - 1):
        a, b = rng.choice(len(roots), 2, replace=False)
        left[v], right[v] = roots[a], roots[b]
        roots = [r for i, r in enumerate(roots) if i not in (a, b)] + [v]
    parent = -np.ones(2 * n - 1, np.int64)
    parent[left[n:]] = np.arange(n, 2 * n - 1)
    parent[right[n:]] = np.arange(n, 2 * n - 1)
    size = np.ones(2 * n - 1, np.int64)
    for v in range(n, 2 * n - 1):
        size[v] = size[left[v]] + size[right[v]]
    return Hierarchy(n, left, right, parent, size, np.zeros(2 * n - 1), np.zeros(2 * n - 1, bool), 0)


def random_weights(tree, rng, kind):
    m = tree.n_nodes
    if kind == "uniform":
        return rng.uniform(0, 5, m)
    if kind == "ties":  # few distinct values: many ties between a vertex and its children
        w = rng.integers(0, 4, m).astype(np.float64) * rng.choice([1.0, 0.25, 0.1])
        if rng.random() < 0.5:
            w[:tree.n_leaves] = 0.0
        return w
    if kind == "sums":  # a vertex worth exactly its children (exact ties at every penalty)
        w = rng.integers(0, 3, m).astype(np.float64)
        w[:tree.n_leaves] = rng.integers(0, 3, tree.n_leaves)
        for v in range(tree.n_leaves, m):
            if rng.random() < 0.5:
                w[v] = w[tree.left[v]] + w[tree.right[v]]
        return w
    return np.zeros(m)


def same_bits(a, b):
    assert a.keys() == b.keys()
    for key in a:
        x, y = a[key], b[key]
        if isinstance(x, (bool, np.bool_)) or isinstance(y, (bool, np.bool_)):
            assert bool(x) == bool(y) and type(x) is type(y), key
        elif isinstance(x, float) or isinstance(y, float):
            assert float(x).hex() == float(y).hex(), (key, x, y)
        else:
            assert x == y and int(x) == int(y), key


# A tree whose count curve is not convex at k = 2: f(1) = 10, f(2) = 10, f(3) = 0, so no
# penalty gives exactly 2 clusters (at lam = 5, 1 and 3 clusters tie).
NON_CONVEX = Hierarchy(3, np.array([-1, -1, -1, 1, 0]), np.array([-1, -1, -1, 2, 3]), np.array([4, 3, 3, 4, -1]),
                       np.array([1, 1, 1, 2, 3]), np.zeros(5), np.zeros(5, bool), 2)
NON_CONVEX_W = np.array([0.0, 0.0, 0.0, 10.0, 10.0])


def test_non_convex_curve_is_not_exact_and_matches_the_oracle():
    old_sel, old_info = _old_lagrangian_dp(NON_CONVEX, NON_CONVEX_W, 2)
    assert not old_info["exact"]
    for spec in (1, 3, 8):
        sel, info = lagrangian_dp(NON_CONVEX, NON_CONVEX_W, 2, speculation=spec)
        np.testing.assert_array_equal(sel, old_sel)
        same_bits(info, old_info)


def test_speculative_penalties_cover_the_next_steps():
    lams = _speculative_penalties(0.0, 8.0, 1, 100, 3)
    np.testing.assert_array_equal(lams, [2.0, 4.0, 6.0, 8.0])  # step 1 at hi; [8, 8] stops, [0, 8] is halved twice
    lams = _speculative_penalties(0.0, 8.0, 2, 100, 3)
    np.testing.assert_array_equal(lams, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0])
    assert _speculative_penalties(0.0, 8.0, 2, 3, 3).shape[0] == 3  # the iteration cap
    assert _speculative_penalties(0.0, 8.0, 1, 0, 3).shape[0] == 0


@settings(max_examples=150, deadline=None)
@given(n=st.integers(1, 40), k=st.integers(1, 45), seed=st.integers(0, 10**6),
       kind=st.sampled_from(["uniform", "ties", "sums", "zero"]), spec=st.sampled_from([1, 2, 3, 6]),
       iterations=st.sampled_from([100, 100, 5, 1]))
def test_lagrangian_dp_equals_the_old_function_bit_for_bit(n, k, seed, kind, spec, iterations):
    rng = np.random.default_rng(seed)
    tree = random_tree(n, rng)
    k = min(k, n)
    w = random_weights(tree, rng, kind)
    old_sel, old_info = _old_lagrangian_dp(tree, w, k, iterations)
    sel, info = lagrangian_dp(tree, w, k, iterations, speculation=spec)
    assert sel.dtype == np.int64
    np.testing.assert_array_equal(sel, old_sel)
    same_bits(info, old_info)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(2, 60), k=st.integers(1, 60), seed=st.integers(0, 10_000), spec=st.sampled_from([1, 4]))
def test_lagrangian_dp_equals_the_old_function_on_kmeans_trees(n, k, seed, spec):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3)) * rng.uniform(0.5, 3, size=(n, 1)) + rng.integers(0, 4, (n, 1)) * 6.0
    tree = build_hierarchy(X, random_state=np.random.default_rng(seed))
    w = kmeans_node_stats(tree, X, np.ones(n))[1]
    k = min(k, n)
    old_sel, old_info = _old_lagrangian_dp(tree, w, k)
    sel, info = lagrangian_dp(tree, w, k, speculation=spec)
    np.testing.assert_array_equal(sel, old_sel)
    same_bits(info, old_info)


def test_non_exact_cases_occur_in_random_trees():
    """The random family above does reach k values where no penalty gives exactly k."""
    misses = 0
    for seed in range(200):
        rng = np.random.default_rng(seed)
        tree = random_tree(30, rng)
        w = random_weights(tree, rng, "uniform")
        k = int(rng.integers(2, 30))
        old_sel, old_info = _old_lagrangian_dp(tree, w, k)
        sel, info = lagrangian_dp(tree, w, k, speculation=4)
        np.testing.assert_array_equal(sel, old_sel)
        same_bits(info, old_info)
        misses += not old_info["exact"]
    assert misses > 0
