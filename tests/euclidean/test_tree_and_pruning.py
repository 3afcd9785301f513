"""Oracles for the candidate tree (Alg 1-4) and the pruning DPs (Alg 5-6)."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy.sparse.csgraph import connected_components

from bigclust.lshtree.hierarchy import build_hierarchy, first_sweep_scale, kmeans_node_stats, labels_from_pruning, leaf_order
from bigclust.lshtree.pruning import approx_dp, approx_guarantee, exact_dp, exact_dp_work, split_to_k


def _tree(n, d=3, seed=0, **kw):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * rng.uniform(0.5, 3, size=(n, 1)) + rng.integers(0, 4, (n, 1)) * 6.0
    return X, build_hierarchy(X, random_state=np.random.default_rng(seed), **kw)


def _members(tree):
    order, start = leaf_order(tree)
    return [np.sort(order[start[v]: start[v] + tree.size[v]]) for v in range(tree.n_nodes)]


def _all_prunings(tree):
    """Every pruning set of every subtree, by brute force: {v} plus unions of the children's."""
    out = {}
    for v in range(tree.n_nodes):
        if v < tree.n_leaves:
            out[v] = [(v,)]
        else:
            a, b = tree.left[v], tree.right[v]
            out[v] = [(v,)] + [pa + pb for pa in out[a] for pb in out[b]]
    return out[tree.root]


@pytest.mark.parametrize("n,seed", [(1, 0), (2, 1), (7, 2), (40, 3), (300, 4)])
def test_tree_is_full_binary_with_consistent_sizes(n, seed):
    X, tree = _tree(n, seed=seed)
    assert tree.n_nodes == 2 * n - 1
    internal = np.arange(tree.n_leaves, tree.n_nodes)
    assert (tree.left[internal] >= 0).all() and (tree.right[internal] >= 0).all()
    assert (tree.left[internal] < internal).all() and (tree.right[internal] < internal).all()
    assert (tree.size[internal] == tree.size[tree.left[internal]] + tree.size[tree.right[internal]]).all()
    assert tree.size[tree.root] == n and tree.parent[tree.root] == -1
    # every non-root vertex is the child of exactly one vertex
    kids = np.concatenate([tree.left[internal], tree.right[internal]])
    assert np.array_equal(np.sort(kids), np.arange(tree.n_nodes - 1))


def test_candidate_clusters_are_connected_below_the_checked_threshold():
    """Lemma 3.5 (2) holds surely: each candidate formed at scale D is connected by pairs closer than c*D."""
    c = 2.0
    X, tree = _tree(120, d=4, seed=5, edge_factor=c)
    D2 = ((X[:, None, :] - X[None, :, :]) ** 2).sum(-1)
    members = _members(tree)
    checked = 0
    for v in range(tree.n_leaves, tree.n_nodes):
        if tree.auxiliary[v] or not np.isfinite(tree.scale[v]):
            continue
        m = members[v]
        adj = D2[np.ix_(m, m)] < (c * tree.scale[v]) ** 2
        assert connected_components(adj, directed=False)[0] == 1
        checked += 1
    assert checked > 10


def test_separated_groups_are_candidates():
    """Well-separated groups appear as vertices (Theorem 3.6 on resilient input)."""
    rng = np.random.default_rng(0)
    centers = np.array([[0.0, 0], [100, 0], [0, 100], [100, 100]])
    y = np.repeat(np.arange(4), 25)
    X = centers[y] + rng.standard_normal((100, 2))
    tree = build_hierarchy(X, random_state=np.random.default_rng(1))
    sets = {tuple(m) for m in _members(tree)}
    for c in range(4):
        assert tuple(np.flatnonzero(y == c)) in sets


def test_kmeans_node_stats_match_brute_force():
    X, tree = _tree(60, seed=7)
    w = np.random.default_rng(0).uniform(0, 2, 60)
    w[:5] = 0.0
    W, sse, means = kmeans_node_stats(tree, X, w)
    for v, m in enumerate(_members(tree)):
        assert W[v] == pytest.approx(w[m].sum())
        if w[m].sum() > 0:
            mu = np.average(X[m], axis=0, weights=w[m])
            assert sse[v] == pytest.approx((w[m] * ((X[m] - mu) ** 2).sum(1)).sum(), rel=1e-9, abs=1e-9)
            if v >= tree.n_leaves:
                assert np.allclose(means[v - tree.n_leaves], mu)


@pytest.mark.parametrize("seed", range(6))
def test_exact_dp_equals_exhaustive_search(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 11))
    X, tree = _tree(n, seed=seed)
    weights = kmeans_node_stats(tree, X, np.ones(n))[1] if seed % 2 == 0 else rng.uniform(0, 10, tree.n_nodes)
    prunings = _all_prunings(tree)
    for k in range(1, n + 1):
        exact_k = min(sum(weights[list(p)]) for p in prunings if len(p) == k)
        atmost_k = min(sum(weights[list(p)]) for p in prunings if len(p) <= k)
        selected, curve, exact_curve = exact_dp(tree, weights, k)
        assert len(selected) == k
        assert weights[selected].sum() == pytest.approx(exact_k)
        assert exact_curve[-1] == pytest.approx(exact_k)
        assert curve[-1] == pytest.approx(atmost_k)
        assert np.all(np.diff(curve) <= 1e-12)
        labels = labels_from_pruning(tree, selected)  # raises if not a pruning set
        assert len(np.unique(labels)) == k


def test_exact_dp_work_counts_subtree_bounded_products():
    X, tree = _tree(50, seed=1)
    work, entries = exact_dp_work(tree, 5)
    assert entries == np.minimum(tree.size, 5).sum()
    internal = np.arange(tree.n_leaves, tree.n_nodes)
    assert work == (np.minimum(tree.size[tree.left[internal]], 5) * np.minimum(tree.size[tree.right[internal]], 5)).sum()


@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 40), k=st.integers(1, 40), eps=st.sampled_from([0.05, 0.1, 0.5]),
       seed=st.integers(0, 10_000), sse=st.booleans())
def test_approx_dp_within_one_plus_epsilon(n, k, eps, seed, sse):
    """Lemma 3.12: Algorithm 6 with eps' = eps/(2H) is within (1+eps) of Algorithm 5."""
    k = min(k, n)
    X, tree = _tree(n, seed=seed)
    rng = np.random.default_rng(seed)
    weights = kmeans_node_stats(tree, X, np.ones(n))[1] if sse else rng.uniform(0, 5, tree.n_nodes) * (rng.random(tree.n_nodes) < 0.8)
    weights[: tree.n_leaves] = 0.0 if sse else weights[: tree.n_leaves]
    _, curve, _ = exact_dp(tree, weights, k)
    opt = curve[-1]
    step = eps / (2 * max(tree.depth, 1))
    selected, info = approx_dp(tree, weights, k, step)
    assert 1 <= len(selected) <= k
    labels_from_pruning(tree, selected)
    got = weights[selected].sum()
    assert got <= (1 + eps) * opt + 1e-9
    assert got <= info["level_bound"] * (1 + 1e-9) + 1e-12
    assert approx_guarantee(step, tree.depth, eps) == 1 + eps
    # a coarser step only keeps the rounding compounded over the depth, (1 + step)^H
    coarse = 8 * step
    assert approx_guarantee(coarse, tree.depth, eps) == pytest.approx((1 + coarse) ** max(tree.depth, 1))
    got_coarse = weights[approx_dp(tree, weights, k, coarse)[0]].sum()
    assert got_coarse <= approx_guarantee(coarse, tree.depth, eps) * opt + 1e-9
    if sse:  # growing to k clusters never raises the SSE
        grown = split_to_k(tree, weights, selected, k)
        assert len(grown) == k and weights[grown].sum() <= got + 1e-9


def test_exhaustive_kmeans_optimum_on_resilient_instance():
    """On a well-separated instance the tree's optimal pruning is the optimal k-means partition."""
    rng = np.random.default_rng(3)
    centers = np.array([[0.0, 0.0], [30.0, 0.0], [0.0, 40.0]])
    y = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2])
    X = centers[y] + rng.standard_normal((9, 2))
    tree = build_hierarchy(X, random_state=np.random.default_rng(0))
    sse = kmeans_node_stats(tree, X, np.ones(9))[1]
    selected, _, _ = exact_dp(tree, sse, 3)

    def cost(lab):
        return sum(((X[lab == c] - X[lab == c].mean(0)) ** 2).sum() for c in np.unique(lab))

    best = min(cost(np.array(lab)) for lab in itertools.product(range(3), repeat=9) if len(set(lab)) == 3)
    assert sse[selected].sum() == pytest.approx(best)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 40), k=st.integers(1, 40), seed=st.integers(0, 10_000), sse=st.booleans())
def test_lagrangian_is_exact_when_certified_and_bounds_the_optimum(n, k, seed, sse):
    from bigclust.lshtree.pruning import lagrangian_dp

    k = min(k, n)
    X, tree = _tree(n, seed=seed)
    rng = np.random.default_rng(seed)
    weights = kmeans_node_stats(tree, X, np.ones(n))[1] if sse else rng.uniform(0, 5, tree.n_nodes)
    _, curve, exact_curve = exact_dp(tree, weights, k)
    selected, info = lagrangian_dp(tree, weights, k)
    labels_from_pruning(tree, selected)
    got = weights[selected].sum()
    assert len(selected) == k
    assert info["lower_bound"] <= curve[-1] * (1 + 1e-9) + 1e-9  # a true lower bound on the optimum (<= k clusters)
    if info["exact"]:
        assert got == pytest.approx(exact_curve[-1], rel=1e-9, abs=1e-9)


def test_lagrangian_recovers_planted_optimum_at_large_k():
    from bigclust.datasets import make_planted_mixture
    from bigclust.lshtree.pruning import lagrangian_dp

    X, y, _ = make_planted_mixture(5000, 8, 500, random_state=0)
    tree = build_hierarchy(X, random_state=np.random.default_rng(0))
    w = kmeans_node_stats(tree, X, np.ones(len(X)))[1]
    sel, info = lagrangian_dp(tree, w, 500)
    assert info["exact"]
    assert w[sel].sum() == pytest.approx(exact_dp(tree, w, 500)[1][-1])


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 60), st.integers(1, 6), st.integers(1, 8), st.integers(0, 10**6))
def test_separation_bound_is_below_every_cross_component_distance(n, d, n_groups, seed):
    """The bound used to skip empty scales never exceeds the true closest cross-component pair (brute force)."""
    from bigclust.lshtree._kernels.separation import separation_lower_bound as _separation_lower_bound

    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * rng.uniform(0.1, 2) + rng.integers(0, 4, (n, 1)) * rng.uniform(0, 10)
    groups = rng.integers(0, n_groups, n)
    lab = np.array([np.flatnonzero(groups == g)[0] for g in groups], dtype=np.int64)  # root = first member
    bound = _separation_lower_bound(X, lab, 512)
    D = np.sqrt(((X[:, None, :] - X[None, :, :]) ** 2).sum(-1))
    cross = groups[:, None] != groups[None, :]
    if not cross.any():
        assert bound == np.inf
    else:
        assert bound <= D[cross].min()
    assert _separation_lower_bound(X, lab, 0 if cross.any() else 1) == (-1.0 if cross.any() else np.inf)


def test_skipping_empty_scales_changes_nothing(monkeypatch):
    """Skipped scales would have merged nothing: the tree equals the one built without skipping."""
    import bigclust.lshtree.hierarchy as H

    rng = np.random.default_rng(2)
    X = rng.uniform(0, 60, (6, 5)).repeat(150, axis=0) + rng.standard_normal((900, 5))
    a = H.build_hierarchy(X, random_state=np.random.default_rng(0))
    assert a.info["scales_skipped"] > 0
    monkeypatch.setattr(H, "_SKIP_MAX_COMPONENTS", 0)
    b = H.build_hierarchy(X, random_state=np.random.default_rng(0))
    assert b.info["scales_skipped"] == 0 and b.info["n_scales"] == a.info["n_scales"]
    for f in ("left", "right", "parent", "size", "scale", "auxiliary"):
        assert np.array_equal(getattr(a, f), getattr(b, f)), f


@settings(max_examples=80, deadline=None)
@given(st.lists(st.booleans(), min_size=1, max_size=120), st.integers(0, 130), st.integers(1, 140))
def test_first_sweep_scale_starts_just_below_a_found_scale(pattern, threshold, n_scales):
    """Scale i + 1 is the first one the probes found an edge in (i probed empty, or 0), no scale is probed
    twice, and with probes monotone in the scale (found from ``threshold`` on) i is threshold - 1."""
    probed = []

    def probe(i):
        probed.append(i)
        return i >= threshold or (i < len(pattern) and pattern[i])

    i = first_sweep_scale(probe, 1.0, 2.0, 2.0**n_scales)
    seen = list(probed)  # the checks below call probe too
    assert len(seen) == len(set(seen)) and all(0 < s < n_scales for s in seen)
    assert i == 0 or (i in seen and not probe(i))
    if i + 1 < n_scales:
        assert i + 1 in seen and probe(i + 1)
    else:
        assert i == max([0] + [s for s in seen if not probe(s)])
    if not any(pattern):
        assert i == (max(threshold - 1, 0) if threshold < n_scales else n_scales - 1)
