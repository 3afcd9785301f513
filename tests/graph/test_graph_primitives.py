import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _graph_helpers import dense, random_graph
from bigclust.graph import KMachine, approximate_mis, exclusive_mssp, mssp, sssp
from bigclust.graph.neighbourhood import (
    NeighbourhoodSizes,
    compute_radii,
    distance_levels,
    estimate_neighbourhood_sizes,
    exact_radii,
)


def _km(g, k, seed=0):
    return KMachine(g, k, np.random.default_rng(seed))


@pytest.mark.parametrize("k", [1, 2, 5])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sssp_and_mssp_equal_floyd_warshall(k, seed):
    g = random_graph(40, seed=seed, zero_frac=0.1)
    D = dense(g)
    km = _km(g, k, seed)
    assert np.allclose(sssp(g, 3, km), D[3])
    rng = np.random.default_rng(seed)
    T = rng.choice(40, 6, replace=False)
    dist, near = mssp(g, T, km)
    assert np.allclose(dist, D[:, T].min(axis=1))
    assert np.all(np.isin(near, T))
    assert np.allclose(D[np.arange(40), near], dist)  # the named source realises the distance
    if k > 1:
        assert km.ledger.rounds > 0 and km.ledger.messages > 0 and km.ledger.max_load > 0
    else:
        assert km.ledger.rounds == 0 and km.ledger.messages == 0


@settings(max_examples=25, deadline=None)
@given(n=st.integers(2, 25), seed=st.integers(0, 10**6), k=st.sampled_from([1, 3]), t=st.integers(1, 8))
def test_exclusive_mssp_is_nearest_other_source(n, seed, k, t):
    g = random_graph(n, seed=seed)
    D = dense(g)
    rng = np.random.default_rng(seed)
    T = rng.choice(n, min(t, n), replace=False)
    dist, near = exclusive_mssp(g, T, _km(g, k, seed))
    for v in range(n):
        others = [s for s in T if s != v]
        expect = D[v, others].min() if others else np.inf
        assert dist[v] == pytest.approx(expect)
        if others:
            assert near[v] != v and D[v, near[v]] == pytest.approx(expect)


def test_distributed_ledger_counts_cross_machine_messages():
    g = random_graph(60, seed=4)
    rounds = {}
    for k in (2, 8):
        km = _km(g, k)
        mssp(g, [0], km)
        rounds[k] = km.ledger.as_dict()
        assert km.ledger.messages <= 2 * g.n_edges * 60  # each improvement sends at most once per link
    assert rounds[8]["messages"] > rounds[2]["messages"]  # more machines: more edges are cut


@pytest.mark.parametrize("k", [1, 3])
def test_neighbourhood_estimates_close_to_exact(k):
    g = random_graph(30, seed=7)
    D = dense(g)
    km = _km(g, k)
    nb = estimate_neighbourhood_sizes(g, eps=0.2, n_repetitions=300 if k == 1 else 60,
                                      rng=np.random.default_rng(1), km=km)
    est = nb.sizes()
    exact = (D[:, :, None] <= nb.levels[None, None, :]).sum(axis=1)
    rel = np.abs(est - exact) / exact
    # Theorem 4.2 / Lemma 4.3: concentrated around the truth (rounded ranks add a (1+eps) factor)
    assert np.median(rel) < (0.15 if k == 1 else 0.35)
    assert np.all(est <= 3.0 * exact) and np.all(est >= exact / 3.0)


def test_algorithm3_equals_cohen_given_same_rounded_ranks():
    g = random_graph(35, seed=3)
    levels = distance_levels(g, 0.1)
    seq = estimate_neighbourhood_sizes(g, 0.1, 5, np.random.default_rng(9), None, levels=levels, round_to_classes=True)
    dist = estimate_neighbourhood_sizes(g, 0.1, 5, np.random.default_rng(9), _km(g, 4), levels=levels)
    assert np.allclose(seq.acc, dist.acc, rtol=1e-6)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_radii_with_exact_sizes_bracket_mettu_plaxton(seed):
    g = random_graph(30, seed=seed)
    D = dense(g)
    eps = 0.1
    levels = distance_levels(g, eps)
    exact_sizes = (D[:, :, None] <= levels[None, None, :]).sum(axis=1).astype(float)
    ell = 1.0
    nb = NeighbourhoodSizes(levels, (ell / (exact_sizes + 1.0)).astype(np.float32), 1, eps, np.full(30, 30))
    f = np.random.default_rng(seed).uniform(0.5, 200.0, 30)
    r_true = exact_radii(D, f)
    r_apx = compute_radii(nb, f)
    # Lemma 4.1: the discretised radius never undershoots and overshoots by a (1+eps)^2 factor at most
    assert np.all(r_apx >= r_true * (1 - 1e-6))
    assert np.all(r_apx <= r_true * (1 + eps) ** 2 * (1 + 1e-6))


@settings(max_examples=20, deadline=None)
@given(n=st.integers(2, 30), seed=st.integers(0, 10**6), k=st.sampled_from([1, 4]), d=st.floats(0, 40))
def test_approximate_mis_satisfies_definition_4_5(n, seed, k, d):
    g = random_graph(n, seed=seed)
    D = dense(g)
    rng = np.random.default_rng(seed)
    W = np.flatnonzero(rng.random(n) < 0.7)
    I = approximate_mis(g, W, d, rng, _km(g, k, seed))
    assert np.all(np.isin(I, W))
    if W.size:
        sub = D[np.ix_(I, I)]
        np.fill_diagonal(sub, np.inf)
        assert np.all(sub > d)  # independence (eps = 0 in Definition 4.5)
        assert np.all(D[np.ix_(W, I)].min(axis=1) <= d)  # maximality / domination
