"""Tree builder (Algorithms 1-2) against brute force; net-tree geometry (Lemmas 14-15)."""

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bigclust.private._trees import LatticeNetTree, SimHashTree, build_net_tree, compute_threshold


def _threshold_bruteforce(f, k, a, gamma):
    # Algorithm 2, written literally (1-indexed sums of the smallest values)
    m = len(f)
    ka = k * a
    for j in range(1, min(gamma, m // ka) + 1):
        if sum(f[: m - (j - 1) * ka]) <= 2 * sum(f[: m - j * ka]):
            return (j - 1) * ka
    return min(m, gamma * ka)


freqs = st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), min_size=1, max_size=40)


@settings(max_examples=200, deadline=None)
@given(freqs, st.integers(1, 4), st.integers(1, 3), st.integers(1, 6))
def test_compute_threshold_matches_bruteforce_and_lemma19(f, k, a, gamma):
    f = sorted(f)
    tau = compute_threshold(np.array(f), k, a, gamma)
    assert tau == _threshold_bruteforce(f, k, a, gamma)
    assert 0 <= tau <= len(f)
    # Lemma 19 with an exact oracle (eta = 0) and n = total mass
    n, m, ka = sum(f), len(f), k * a
    lhs = sum(f[: m - tau])
    rhs = 2 * sum(f[: max(0, m - tau - ka)]) + n / 2**gamma
    assert lhs <= rhs * (1 + 1e-12) + 1e-9


def _simhash(T=5, d=3, bits=3, seed=0):
    rng = np.random.default_rng(seed)
    mult = rng.integers(0, 2**63, size=T + 1, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    return SimHashTree(rng.standard_normal((T, d)), mult, bits)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0, 50), min_size=32, max_size=32), st.integers(1, 3), st.integers(1, 2),
       st.sets(st.integers(1, 4)))
def test_build_net_tree_leaves_partition_every_path(weights, k, a, upper):
    T = 5
    tree = _simhash(T=T, bits=8)
    w = np.array(weights)

    def freq(level, nodes):  # exact frequencies of a weighted point set on the 2^T codes
        codes = np.arange(2**T)
        z = nodes[:, 0]
        return np.array([w[(codes & ((1 << level) - 1)) == zz].sum() for zz in z])

    levels = sorted(upper | {T})  # any histogram levels ending at T (Algorithm 1 on those levels)
    queried = set()

    def logged(level, nodes):
        queried.add(level)
        return freq(level, nodes)

    leaves, expanded = build_net_tree(tree, logged, w.sum(), k, a, gamma=3, levels=levels)
    assert queried <= set(levels)  # the oracle is only asked about histogram levels
    assert {lv for lv, _, _ in leaves} <= {0, *levels}
    hits = np.zeros(2**T, dtype=int)
    for level, nodes, _ in leaves:
        for z in nodes[:, 0]:
            hits[(np.arange(2**T) & ((1 << level) - 1)) == z] += 1
    assert (hits == 1).all()  # every complete-tree path meets exactly one leaf
    assert all(e <= 3 * k * a for e in expanded)  # at most Gamma*k*a expansions per level
    assert len(expanded) <= len(levels)


def test_build_net_tree_rejects_bad_levels():
    tree = _simhash(T=4, bits=8)
    f = lambda level, nodes: np.ones(nodes.shape[0])  # noqa: E731
    for bad in ([], [2, 3], [3, 2, 4], [0, 4]):
        with pytest.raises(ValueError, match="levels"):
            build_net_tree(tree, f, 10.0, 1, 1, 3, levels=bad)


def test_simhash_user_buckets_are_prefixes():
    tree = _simhash(T=6, d=4, bits=3)
    X = np.random.default_rng(1).standard_normal((50, 4))
    codes = tree.encode(X)
    bits = (X @ tree.hyperplanes.T) > 0
    for lv in range(1, 7):
        b = tree.user_buckets(codes, np.full(50, lv))
        node = (bits[:, :lv] * (1 << np.arange(lv))).sum(1)
        nb = tree.node_buckets(lv, node[:, None].astype(np.int64))
        np.testing.assert_array_equal(b, nb)
        if lv <= 3:
            np.testing.assert_array_equal(b, node)
        assert (b < tree.domain_sizes([lv])[0]).all()


def test_net_parent_is_closest_point_and_lemma14():
    dim, T = 2, 5
    tree = LatticeNetTree(T, dim, 10, key=3)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, dim))
    X /= np.maximum(1, np.linalg.norm(X, axis=1))[:, None]
    codes = tree.encode(X)
    for i in range(1, T + 1):
        anc = tree._ancestors(codes, np.full(300, i))
        # Lemma 14: ||x - Psi_i(...Psi_T(x))|| <= 2^(1-i)
        assert (np.linalg.norm(X - anc * tree.spacing(i), axis=1) <= 2.0 ** (1 - i) + 1e-12).all()
        if i < T:
            child = tree._ancestors(codes, np.full(300, i + 1))
            # the parent is a closest level-i lattice point to the child (brute force over a window)
            cand = np.array(list(itertools.product(range(-2, 3), repeat=dim)))
            for u, p in zip(child[:40], anc[:40]):
                base = np.round(u / 2).astype(int)
                pts = (base + cand) * tree.spacing(i)
                best = np.min(np.linalg.norm(pts - u * tree.spacing(i + 1), axis=1))
                assert np.linalg.norm(p * tree.spacing(i) - u * tree.spacing(i + 1)) <= best + 1e-12


def test_net_children_cover_parent_map():
    dim = 3
    tree = LatticeNetTree(4, dim, 10, key=1)
    nodes = np.array([[0, 1, -2], [3, -1, 0]])
    ch = tree.children(2, nodes)
    assert ch.shape == (2 * 2**dim, dim)  # Lemma 15: branching 2^d' for the cubic net
    np.testing.assert_array_equal(-((-ch) >> 1), np.repeat(nodes, 2**dim, axis=0))
    root_children = tree.children(0, tree.root())
    assert (np.linalg.norm(root_children * tree.spacing(1), axis=1) <= 2 + 1e-9).all()
    # every point of the unit ball has its level-1 ancestor among the root's children
    X = np.random.default_rng(2).standard_normal((500, dim))
    X /= np.maximum(1, np.linalg.norm(X, axis=1))[:, None]
    anc = tree._ancestors(tree.encode(X), np.full(500, 1))
    rc = {tuple(r) for r in root_children}
    assert all(tuple(a) in rc for a in anc)
