"""fit(graph, demand, candidates, fixed): weighted clients, candidate sites and open facilities,
checked against the exact MIP oracles (bigclust.graph.exact) with tight measured factors.

The factor assertions are on the MEAN ratio to the optimum over a fixed set of instances (and
every instance is also held to the paper's worst-case factor). Each test computes the same mean
for random facility sets obeying the same constraints and asserts that it FAILS the bound, so the
bound is known to reject a random answer (measured on these six instances: PMedian mean 1.001,
worst 1.012, vs random 1.53 -- the paper's rounding alone, report_["paper_cost"], 1.11, worst
1.42; PCenter 1.10 vs 1.43, worst 1.41; FacilityLocation 1.27 vs 1.60,
worst 1.46).
"""

import numpy as np
import pytest

from _graph_helpers import dense, random_graph
from bigclust.graph import FacilityLocation, Graph, PCenter, PMedian, exact
from bigclust.graph.neighbourhood import compute_radii, estimate_neighbourhood_sizes, exact_radii

SEEDS = range(6)
N = 24


def instance(seed):
    """A random connected graph, integer demands (some 0 = not a client, one heavy client), half
    the vertices as candidate sites and one of them already open."""
    g = random_graph(N, seed=seed)
    rng = np.random.default_rng(1000 + seed)
    demand = rng.integers(0, 6, N).astype(float)
    demand[rng.integers(N)] = 20.0
    cand = np.sort(rng.choice(N, N // 2, replace=False))
    fixed = cand[:1]
    return g, dense(g), demand, cand, fixed


def _random_sets(cand, fixed, p, rng, draws=200):
    free = np.setdiff1d(cand, fixed)
    return [np.union1d(fixed, rng.choice(free, p - fixed.size, replace=False)) for _ in range(draws)]


def test_pmedian_weighted_sites_against_mip():
    ratios, random_ratios = [], []
    for seed in SEEDS:
        g, D, w, cand, fixed = instance(seed)
        rng = np.random.default_rng(seed)
        for p in (3, 5):
            opt, _ = exact.pmedian(D, p, demand=w, candidates=cand, fixed=fixed)
            pm = PMedian(p, random_state=seed, local_search=False).fit(g, demand=w, candidates=cand, fixed=fixed)
            F = pm.facilities_
            assert F.size == p and np.isin(fixed, F).all() and np.isin(F, cand).all()
            assert pm.cost_ == pytest.approx((w * D[:, F].min(axis=1)).sum())
            assert np.allclose(pm.distances_, D[:, F].min(axis=1))
            r = pm.cost_ / opt
            # Theorem 5.2's worst case, per instance
            assert 1 - 1e-9 <= r <= 6.0 * (1 + pm.distance_precision) ** 3
            ratios.append(r)
            random_ratios += [(w * D[:, S].min(axis=1)).sum() / opt for S in _random_sets(cand, fixed, p, rng)]
            ls = PMedian(p, random_state=seed).fit(g, demand=w, candidates=cand, fixed=fixed)  # default: improved
            assert ls.report_["raw_cost"] == pytest.approx(pm.cost_)
            assert np.isin(fixed, ls.facilities_).all() and np.isin(ls.facilities_, cand).all()
            assert opt - 1e-9 <= ls.cost_ <= pm.cost_ + 1e-9
    bound = 1.05  # measured mean 1.001 (the paper's rounding alone: 1.11)
    assert np.mean(ratios) <= bound
    assert np.mean(random_ratios) > bound  # a random answer fails the same assertion


def test_pcenter_weighted_sites_against_mip():
    ratios, random_ratios, ls_ratios = [], [], []
    for seed in SEEDS:
        g, D, w, cand, fixed = instance(seed)
        rng = np.random.default_rng(seed)
        cl = w > 0
        for p in (3, 5):
            opt, _ = exact.pcenter(D, p, demand=w, candidates=cand, fixed=fixed)
            pc = PCenter(p, random_state=seed, local_search=False).fit(g, demand=w, candidates=cand, fixed=fixed)
            F = pc.facilities_
            assert F.size <= p and np.isin(fixed, F).all() and np.isin(F, cand).all()
            assert pc.cost_ == pytest.approx(D[np.ix_(cl, F)].min(axis=1).max())
            r = pc.cost_ / opt
            # k-supplier rule: 3 (1 + eps) with candidate sites
            assert 1 - 1e-9 <= r <= 3.0 * (1 + pc.distance_precision) + 1e-9
            ratios.append(r)
            random_ratios += [D[np.ix_(cl, S)].min(axis=1).max() / opt for S in _random_sets(cand, fixed, p, rng)]
            ls = PCenter(p, random_state=seed).fit(g, demand=w, candidates=cand, fixed=fixed)
            # the default (cover search + vertex substitution): same seed, same raw answer; the
            # improvement never raises the radius. On these twelve cases it reached the optimum
            # every time (raw mean 1.10, worst 1.41).
            assert ls.report_["raw_cost"] == pytest.approx(pc.cost_)
            assert opt - 1e-9 <= ls.cost_ <= pc.cost_ + 1e-9
            assert np.isin(fixed, ls.facilities_).all() and np.isin(ls.facilities_, cand).all()
            ls_ratios.append(ls.cost_ / opt)
            # without candidate restriction the paper's 2 (1 + eps) holds (clients = demand > 0)
            opt2, _ = exact.pcenter(D, p, demand=w)
            pc2 = PCenter(p, random_state=seed).fit(g, demand=w)
            assert opt2 - 1e-9 <= pc2.cost_ <= pc2.search_radius_ + 1e-9 <= 2 * (1 + pc2.distance_precision) * opt2 + 1e-6
    bound = 1.20  # measured mean 1.10
    assert np.mean(ratios) <= bound
    assert np.mean(random_ratios) > bound
    assert np.mean(ls_ratios) <= 1.02  # measured 1.00


def test_facility_location_weighted_sites_against_mip():
    ratios, random_ratios = [], []
    for seed in SEEDS:
        g, D, w, cand, fixed = instance(seed)
        rng = np.random.default_rng(seed)
        f = np.random.default_rng(seed).uniform(20, 150, cand.size)  # one cost per candidate
        full = np.full(N, np.inf)
        full[cand] = f
        opt, _ = exact.facility_location(D, full, demand=w, fixed=fixed)
        fl = FacilityLocation(f, random_state=seed, n_repetitions=64).fit(g, demand=w, candidates=cand, fixed=fixed)
        F = fl.facilities_
        assert np.isin(fixed, F).all() and np.isin(F, cand).all()
        paid = full.copy()
        paid[fixed] = 0.0  # an open facility costs nothing more
        assert fl.cost_ == pytest.approx(paid[F].sum() + (w * D[:, F].min(axis=1)).sum())
        r = fl.cost_ / opt
        assert 1 - 1e-9 <= r <= 3.0 * (1 + fl.distance_precision) ** 3
        ratios.append(r)
        for _ in range(200):
            S = np.union1d(fixed, rng.choice(cand, rng.integers(1, cand.size + 1), replace=False))
            random_ratios.append((paid[S].sum() + (w * D[:, S].min(axis=1)).sum()) / opt)
    bound = 1.38  # measured mean 1.27
    assert np.mean(ratios) <= bound
    assert np.mean(random_ratios) > bound


def test_weighted_radii_match_the_exact_weighted_mp_equation():
    g = random_graph(30, seed=3)
    D = dense(g)
    w = np.random.default_rng(0).uniform(0.0, 4.0, 30)
    w[:5] = 0.0
    f = np.full(30, 25.0)
    eps = 0.05
    exact_r = exact_radii(D, f, w)
    nb = estimate_neighbourhood_sizes(g, eps, 2000, np.random.default_rng(1), demand=w)
    approx = compute_radii(nb, f)
    # 2,000 exponential-rank repetitions: ball weights within a few percent; radii rounded up
    # to (1+eps) levels
    rel = approx / exact_r
    assert np.all(rel > 0.9) and np.all(rel < (1 + eps) ** 2 * 1.1)
    assert np.median(np.abs(rel - 1)) < 0.06
    # the unweighted radii (every vertex weighs 1) are a different answer: the test can fail
    assert np.median(np.abs(exact_radii(D, f) / exact_r - 1)) > 0.1


def test_demand_forms_and_errors():
    import networkx as nx

    G = nx.path_graph(["a", "b", "c", "d"])
    for node, pop in zip("abcd", [1, 0, 0, 9]):
        G.nodes[node]["population"] = pop
    g = Graph.from_networkx(G)
    by_attr = PMedian(1, random_state=0).fit(g, demand="population")
    by_map = PMedian(1, random_state=0).fit(g, demand={"a": 1, "d": 9})
    assert by_attr.facility_ids_.tolist() == by_map.facility_ids_.tolist() == ["d"]
    assert by_attr.cost_ == 3.0
    frame = by_attr.to_frame()
    assert list(frame.columns) == ["node", "facility", "distance", "demand"]
    assert frame["demand"].tolist() == [1.0, 0.0, 0.0, 9.0]
    with pytest.raises(ValueError, match="negative"):
        PMedian(1).fit(g, demand=[1, -1, 0, 0])
    with pytest.raises(ValueError, match="shape \\(4,\\)"):
        PMedian(1).fit(g, demand=[1, 1])
    with pytest.raises(ValueError, match="no node attribute"):
        PMedian(1).fit(g, demand="jobs")
    with pytest.raises(ValueError, match="nobody to serve"):
        PMedian(1).fit(g, demand=np.zeros(4))
    with pytest.raises(ValueError, match="more than p"):
        PMedian(1).fit(g, fixed=["a", "b"])
    with pytest.raises(ValueError, match="candidate sites"):
        PCenter(3).fit(g, candidates=["a", "b"])
    with pytest.raises(ValueError, match="one value per candidate"):
        FacilityLocation([1.0, 2.0, 3.0]).fit(g, candidates=["a", "b"])
    with pytest.raises(ValueError, match="either demand or clients"):
        FacilityLocation(1.0).fit(g, demand="population", clients=[0])


def test_fixed_equal_to_p_and_every_candidate():
    g, D, w, cand, fixed = instance(0)
    pm = PMedian(1, random_state=0).fit(g, demand=w, candidates=cand, fixed=fixed)
    assert pm.facilities_.tolist() == fixed.tolist()
    pm = PMedian(cand.size, random_state=0).fit(g, candidates=cand)
    assert pm.facilities_.tolist() == cand.tolist()
    pc = PCenter(1, random_state=0).fit(g, demand=w, fixed=fixed)
    assert pc.facilities_.tolist() == fixed.tolist()


@pytest.mark.parametrize("k", [1, 3])
def test_machines_same_guarantees_with_sites(k):
    g, D, w, cand, fixed = instance(2)
    pm = PMedian(3, random_state=0, machines=k, n_repetitions=16, distance_precision=0.1).fit(
        g, demand=w, candidates=cand, fixed=fixed)
    assert pm.facilities_.size == 3 and np.isin(fixed, pm.facilities_).all() and np.isin(pm.facilities_, cand).all()
    pc = PCenter(3, random_state=0, machines=k, n_trials=2).fit(g, demand=w, candidates=cand, fixed=fixed)
    assert np.isin(fixed, pc.facilities_).all() and np.isin(pc.facilities_, cand).all()
    assert pc.report_["outside_model"] == ([] if k == 1 else ["connected_components"])


def test_distributed_weighted_facility_location():
    g, D, w, cand, fixed = instance(1)
    f = np.full(cand.size, 60.0)
    full = np.full(N, np.inf)
    full[cand] = 60.0
    opt, _ = exact.facility_location(D, full, demand=w, fixed=fixed)
    fl = FacilityLocation(f, machines=3, n_repetitions=32, random_state=0).fit(g, demand=w, candidates=cand, fixed=fixed)
    assert np.isin(fixed, fl.facilities_).all() and np.isin(fl.facilities_, cand).all()
    assert opt - 1e-9 <= fl.cost_ <= 3.0 * (1 + fl.distance_precision) ** 3 * opt
    assert fl.report_["rounds"] > 0 and fl.report_["outside_model"] == ["connected_components"]


def test_to_frame_and_geojson_need_coordinates(tmp_path):
    g = random_graph(10, seed=0)
    pm = PMedian(2, random_state=0).fit(g)
    frame = pm.to_frame()
    assert frame["node"].tolist() == list(range(10)) and frame["demand"].tolist() == [1.0] * 10
    assert set(frame["facility"]) == set(pm.facilities_.tolist()) == set(pm.facility_ids_.tolist())
    with pytest.raises(ValueError, match="needs node coordinates"):
        pm.to_geojson(tmp_path / "x.geojson")
    assert not (tmp_path / "x.geojson").exists()
    with pytest.raises(AttributeError, match="fit"):
        PMedian(2).to_frame()


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10**6), p=st.integers(1, 6), n_fixed=st.integers(0, 2), zero_frac=st.floats(0.0, 0.8))
def test_sites_are_respected_property(seed, p, n_fixed, zero_frac):
    rng = np.random.default_rng(seed)
    n = 16
    g = random_graph(n, seed=seed % 101)
    D = dense(g)
    w = rng.uniform(0.5, 5.0, n) * (rng.random(n) >= zero_frac)
    if not (w > 0).any():
        w[0] = 1.0
    cand = np.sort(rng.choice(n, rng.integers(p, n + 1), replace=False))
    fixed = cand[: min(n_fixed, p)]
    pm = PMedian(p, random_state=seed).fit(g, demand=w, candidates=cand, fixed=fixed)
    pc = PCenter(p, random_state=seed).fit(g, demand=w, candidates=cand, fixed=fixed)
    for est in (pm, pc):
        F = est.facilities_
        assert np.isin(fixed, F).all() and np.isin(F, cand).all() and F.size <= p
        assert np.allclose(est.distances_, D[:, F].min(axis=1))
    assert pm.facilities_.size == p
    assert pm.cost_ == pytest.approx((w * pm.distances_).sum())
    assert pc.cost_ == pytest.approx(pc.distances_[w > 0].max())


def test_default_fit_mean_factors_reject_random_answers():
    """The plain fit(graph) of the paper's algorithms alone (``local_search=False``; every vertex
    a client of weight 1 and a site), on the graphs of test_graph_estimators.py: measured means
    1.0004 (PMedian, with the derandomised roundings; the paper's rounding alone 1.085), 1.067
    (PCenter), 1.166 (FacilityLocation); random sets 1.50, 1.63, 2.17.
    The default answers (with the improvement phase) are held to tighter bounds in
    test_graph_improve.py."""
    pm, pm_rand, pc, pc_rand, fl, fl_rand = [], [], [], [], [], []
    for seed in SEEDS:
        g = random_graph(N, seed=seed)
        D = dense(g)
        rng = np.random.default_rng(seed)
        for p in (3, 5):
            opt, _ = exact.pmedian(D, p)
            pm.append(PMedian(p, random_state=seed, local_search=False).fit(g).cost_ / opt)
            pm_rand += [D[:, rng.choice(N, p, replace=False)].min(axis=1).sum() / opt for _ in range(200)]
            opt, _ = exact.pcenter(D, p)
            pc.append(PCenter(p, random_state=seed, local_search=False).fit(g).cost_ / opt)
            pc_rand += [D[:, rng.choice(N, p, replace=False)].min(axis=1).max() / opt for _ in range(200)]
        f = np.random.default_rng(seed).uniform(5, 60, N)
        opt, _ = exact.facility_location(D, f)
        fl.append(FacilityLocation(f, random_state=seed, n_repetitions=64).fit(g).cost_ / opt)
        for _ in range(200):
            S = rng.choice(N, rng.integers(1, N + 1), replace=False)
            fl_rand.append((f[S].sum() + D[:, S].min(axis=1).sum()) / opt)
    for ours, rand, bound in ((pm, pm_rand, 1.03), (pc, pc_rand, 1.15), (fl, fl_rand, 1.25)):
        assert np.mean(ours) <= bound < np.mean(rand)
