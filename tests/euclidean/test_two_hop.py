"""Oracles for the two-hop candidates (Algorithm 2 as Appendix C.2 computes it)."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components, shortest_path

from bigclust import LSHTreeKMeans
from bigclust.lshtree.hierarchy import leaf_order
from bigclust.lshtree.lsh import MULTIPLIERS as _MULTIPLIERS, bucket_keys, draw_pstable
from bigclust.lshtree.two_hop import (build_hierarchy_two_hop, min_d2_to_samples, sq_dist_rows, two_hop_candidates,
                              two_hop_edges, two_hop_scales)


def _points(n, d=3, seed=0, groups=4):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * rng.uniform(0.5, 3, size=(n, 1)) + rng.integers(0, groups, (n, 1)) * 6.0
    return X - X.mean(axis=0)


def _setup(Y, seed=0, t=4, m=4, ratio=1.3, c=2.0):
    rng = np.random.default_rng(seed)
    lsh = draw_pstable(Y.shape[1], t, m, 4.0, rng)
    far2 = float(((Y - Y[0]) ** 2).sum(axis=1).max())
    D = np.sqrt(((Y[:, None] - Y[None]) ** 2).sum(-1))
    nn2 = float(np.min(D[D > 0])) ** 2
    scales = two_hop_scales(far2, nn2, ratio, c)

    def offsets_for(i):
        return np.random.default_rng([seed, i]).random((t, m))

    return lsh, scales, offsets_for, c


def _brute_edges(Y, lsh, scales, offsets_for, c):
    """Algorithm 1 at every scale by plain loops: {(p, q): first scale accepting it}."""
    n = Y.shape[0]
    Z = lsh.project(Y)
    first = {}
    for i, D in enumerate(scales):
        for j in range(lsh.n_hashes):
            keys = np.empty(n, np.uint64)
            bucket_keys(Z, j * lsh.n_projections, lsh.n_projections, 1.0 / (D * lsh.bucket_width),
                        offsets_for(i)[j], _MULTIPLIERS, keys)
            smallest = {}
            for p in range(n):
                smallest.setdefault(int(keys[p]), p)
            for p in range(n):
                q = smallest[int(keys[p])]
                if q != p and ((Y[p] - Y[q]) ** 2).sum() < (c * D) ** 2:
                    first.setdefault((p, q), i)
    return first


@pytest.mark.parametrize("n,seed", [(2, 0), (30, 1), (120, 2)])
def test_edges_equal_brute_force(n, seed):
    Y = _points(n, seed=seed)
    lsh, scales, offsets_for, c = _setup(Y, seed)
    p, q, f = two_hop_edges(Y, lsh.project(Y), lsh, scales, offsets_for, c)
    assert (np.diff(f) >= 0).all() and (q < p).all()
    got = {(int(a), int(b)): int(s) for a, b, s in zip(p, q, f)}
    assert len(got) == p.shape[0]  # no pair twice
    assert got == _brute_edges(Y, lsh, scales, offsets_for, c)


@pytest.mark.parametrize("n,seed,groups", [(40, 3, 4), (150, 4, 6), (200, 5, 1)])
def test_kept_sets_are_components_and_all_diameter_two_components_are_kept(n, seed, groups):
    Y = _points(n, seed=seed, groups=groups)
    lsh, scales, offsets_for, c = _setup(Y, seed)
    p, q, f = two_hop_edges(Y, lsh.project(Y), lsh, scales, offsets_for, c)
    n_kept_big = 0
    for i, l2, kept in two_hop_candidates(n, p, q, f, len(scales)):
        on = f <= i
        A = coo_matrix((np.ones(on.sum()), (p[on], q[on])), shape=(n, n)).tocsr()
        A = A + A.T
        n_comp, comp = connected_components(A, directed=False)
        hops = shortest_path(A, unweighted=True, directed=False)
        for cc in range(n_comp):
            members = np.flatnonzero(comp == cc)
            sub = hops[np.ix_(members, members)]
            if sub.max() <= 2:  # (2) every component of diameter <= 2 is kept
                assert kept[members.min()]
                assert set(np.flatnonzero(l2 == members.min())) == set(members)
        for cand in np.flatnonzero(kept):  # (1) every kept set is a whole component
            members = np.flatnonzero(l2 == cand)
            assert set(members) == set(np.flatnonzero(comp == comp[cand]))
            n_kept_big += members.shape[0] > 1
    assert n_kept_big > 0


def _candidate_sets(tree):
    order, start = leaf_order(tree)
    return {frozenset(order[start[v]: start[v] + tree.size[v]].tolist())
            for v in range(tree.n_leaves, tree.n_nodes) if not tree.auxiliary[v]}


@pytest.mark.parametrize("n,seed", [(1, 0), (2, 1), (60, 2), (300, 3)])
def test_tree_vertices_are_the_kept_candidates(n, seed):
    Y = _points(n, seed=seed)
    kw = dict(n_hashes=4, n_projections=4, scale_ratio=1.3)
    tree = build_hierarchy_two_hop(Y, random_state=np.random.default_rng(seed), **kw)
    assert tree.n_nodes == 2 * n - 1
    internal = np.arange(tree.n_leaves, tree.n_nodes)
    assert (tree.size[internal] == tree.size[tree.left[internal]] + tree.size[tree.right[internal]]).all()
    kids = np.concatenate([tree.left[internal], tree.right[internal]])
    assert np.array_equal(np.sort(kids), np.arange(tree.n_nodes - 1))
    if n == 1:
        return
    # replay the random draws of build_hierarchy_two_hop to get its edges
    rng = np.random.default_rng(seed)
    lsh = draw_pstable(Y.shape[1], 4, 4, 4.0, rng)
    sample = rng.choice(n, size=min(n, 256), replace=False)
    seed_base = int(rng.integers(2**63 - 1))
    far2 = float(sq_dist_rows(Y, np.repeat(Y[:1], n, axis=0)).max())
    nn2 = np.full(sample.shape[0], np.inf)
    min_d2_to_samples(Y[sample], sample.astype(np.int64), Y, np.arange(n, dtype=np.int64), nn2)
    scales = two_hop_scales(far2, float(nn2.min()), 1.3, 2.0)
    assert len(scales) == tree.info["n_scales"]

    def offsets_for(i):
        return np.random.default_rng([seed_base, i]).random((4, 4))

    p, q, f = two_hop_edges(Y, lsh.project(Y), lsh, scales, offsets_for, 2.0)
    expected = set()
    for i, l2, kept in two_hop_candidates(n, p, q, f, len(scales)):
        for cand in np.flatnonzero(kept):
            members = frozenset(np.flatnonzero(l2 == cand).tolist())
            if len(members) > 1:
                expected.add(members)
    expected.add(frozenset(range(n)))  # the root, kept or forced
    assert _candidate_sets(tree) == expected


def test_planted_mixture_gives_the_planted_partition_like_all_components():
    rng = np.random.default_rng(0)
    C = rng.uniform(-100, 100, (20, 6))
    y = rng.integers(20, size=3000)
    X = C[y] + rng.standard_normal((3000, 6))
    a = LSHTreeKMeans(20, candidates="two_hop", random_state=1).fit(X)
    b = LSHTreeKMeans(20, random_state=1).fit(X)
    assert a.inertia_ == pytest.approx(b.inertia_, rel=1e-9)
    # same partition up to cluster names
    pairs = set(zip(a.labels_.tolist(), y.tolist()))
    assert len(pairs) == 20


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 60), k=st.integers(1, 6), seed=st.integers(0, 2**16))
def test_every_point_one_cluster_and_same_seed_same_result(n, k, seed):
    X = _points(n, d=2, seed=seed)
    k = min(k, n)
    a = LSHTreeKMeans(k, candidates="two_hop", random_state=seed).fit(X)
    b = LSHTreeKMeans(k, candidates="two_hop", random_state=seed).fit(X)
    assert a.labels_.shape == (n,) and set(a.labels_.tolist()) == set(range(k))
    assert np.array_equal(a.labels_, b.labels_)
    assert np.isfinite(a.inertia_)


def test_bad_candidates_value_is_rejected():
    with pytest.raises(ValueError, match="candidates must be"):
        LSHTreeKMeans(2, candidates="all").fit(np.zeros((4, 2)) + np.arange(4)[:, None])
