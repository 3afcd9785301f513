import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _graph_helpers import dense, orlib_path, random_graph
from bigclust.graph import FacilityLocation, Graph, PCenter, PMedian, exact, mssp


def _check_valid(est, g, D):
    n = g.n_vertices
    fac = est.facilities_
    assert np.all(np.diff(fac) > 0)
    assert np.all(np.isin(est.assignment_, fac))
    # every vertex is served by its nearest open facility
    assert np.allclose(est.distances_, D[:, fac].min(axis=1))
    assert np.allclose(D[np.arange(n), est.assignment_], est.distances_)
    # output representation: clients_of partitions the vertices
    parts = np.concatenate([est.clients_of(f) for f in fac])
    assert np.array_equal(np.sort(parts), np.arange(n))
    for f in fac:
        assert f in est.clients_of(f)
    for key in ("rounds", "messages", "max_load", "time", "peak_memory_mb"):
        assert key in est.report_


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("k", [1, 4])
def test_facility_location_within_mp_factor_of_mip(seed, k):
    g = random_graph(25, seed=seed)
    D = dense(g)
    f = np.random.default_rng(seed).uniform(5, 60, 25)
    opt, _ = exact.facility_location(D, f)
    fl = FacilityLocation(f, random_state=seed, machines=k, n_repetitions=64).fit(g)
    _check_valid(fl, g, D)
    assert fl.cost_ == pytest.approx(f[fl.facilities_].sum() + fl.distances_.sum())
    # Theorem 4.14: 3 + O(eps) with w.h.p. neighbourhood estimates
    assert opt <= fl.cost_ + 1e-9 and fl.cost_ <= 3.0 * (1 + fl.distance_precision) ** 3 * opt
    ref = FacilityLocation(f, random_state=seed, machines=k, n_repetitions=64, local_search=True).fit(g)
    assert opt - 1e-9 <= ref.cost_ <= fl.cost_ + 1e-9
    assert (ref.report_["rounds"] > 0) == (k > 1)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("p", [1, 3, 6])
def test_pmedian_within_jv_factor_of_mip(seed, p):
    g = random_graph(24, seed=seed)
    D = dense(g)
    opt, _ = exact.pmedian(D, p)
    pm = PMedian(p, random_state=seed, local_search=False).fit(g)  # the paper's algorithm alone
    _check_valid(pm, g, D)
    assert pm.facilities_.size == p
    # Theorem 5.2: 2 * (3 + O(eps)) (JV rounding of a Lagrangian-preserving 3-approximation)
    assert opt - 1e-9 <= pm.cost_ <= 6.0 * (1 + pm.distance_precision) ** 3 * opt
    ref = PMedian(p, random_state=seed, local_search=True).fit(g)
    assert ref.facilities_.size == p
    assert opt - 1e-9 <= ref.cost_ <= pm.cost_ + 1e-9


def test_pmedian_distributed_is_valid_and_counted():
    g = random_graph(30, seed=5)
    D = dense(g)
    opt, _ = exact.pmedian(D, 4)
    pm = PMedian(4, random_state=0, machines=4, n_repetitions=16, distance_precision=0.1).fit(g)
    _check_valid(pm, g, D)
    assert pm.facilities_.size == 4 and pm.cost_ <= 6.0 * 1.1**3 * opt
    assert pm.report_["rounds"] > 0 and pm.report_["messages"] > 0
    assert pm.report_["primitive_calls"]["mssp"] > 0


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("k", [1, 3])
def test_pcenter_within_twice_optimum(seed, k):
    g = random_graph(25, seed=seed)
    D = dense(g)
    p = 3
    opt, _ = exact.pcenter(D, p)
    pc = PCenter(p, random_state=seed, machines=k, n_trials=2 if k > 1 else 16).fit(g)
    _check_valid(pc, g, D)
    assert pc.facilities_.size <= p
    assert pc.cost_ == pytest.approx(pc.distances_.max())
    # Lemma 6.1 with an exact MIS and a (1+eps) bisection: radius <= 2 (1+eps) r*
    assert opt - 1e-9 <= pc.cost_ <= pc.search_radius_ + 1e-9
    assert pc.search_radius_ <= 2.0 * (1 + pc.distance_precision) * opt + 1e-6


def test_pcenter_without_fill_returns_the_mis():
    g = random_graph(30, seed=1)
    pc = PCenter(5, random_state=0, fill=False, local_search=False).fit(g)
    D = dense(g)
    sub = D[np.ix_(pc.facilities_, pc.facilities_)]
    np.fill_diagonal(sub, np.inf)
    assert np.all(sub > pc.search_radius_)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10**6), p=st.integers(1, 5))
def test_same_seed_same_result(seed, p):
    g = random_graph(20, seed=seed % 97)
    for cls in (PMedian, PCenter):
        a = cls(p, random_state=seed).fit(g)
        b = cls(p, random_state=seed).fit(g)
        assert np.array_equal(a.facilities_, b.facilities_) and np.array_equal(a.assignment_, b.assignment_)
    a = FacilityLocation(10.0, random_state=seed, machines=3).fit(g)
    b = FacilityLocation(10.0, random_state=seed, machines=3).fit(g)
    assert np.array_equal(a.facilities_, b.facilities_) and a.report_["rounds"] == b.report_["rounds"]


def test_machines_change_ledger_not_validity():
    g = random_graph(30, seed=11)
    D = dense(g)
    rounds = []
    for k in (1, 2, 8):
        pc = PCenter(4, random_state=0, machines=k, n_trials=1).fit(g)
        _check_valid(pc, g, D)
        rounds.append(pc.report_["rounds"])
    assert rounds[0] == 0 and rounds[1] > 0 and rounds[2] > 0


def test_p_equals_n_and_p_one():
    g = random_graph(8, seed=2)
    D = dense(g)
    pm = PMedian(8, random_state=0).fit(g)
    assert pm.cost_ == 0 and pm.facilities_.size == 8
    pm1 = PMedian(1, random_state=0, local_search=True).fit(g)
    assert pm1.cost_ == pytest.approx(D.sum(axis=0).min())
    pc = PCenter(8, random_state=0).fit(g)
    assert pc.cost_ == 0


def test_orlib_pmed1_close_to_published_optima():
    g, p = Graph.read_orlib(orlib_path("pmed1.txt"))
    pm = PMedian(p, random_state=0, local_search=True).fit(g)
    assert pm.cost_ <= 5819 * 1.01
    assert pm.report_["raw_cost"] <= 5819 * 1.2
    pc = PCenter(p, random_state=0).fit(g)
    assert pc.cost_ <= 127 * 1.5


@pytest.mark.parametrize(
    "kwargs,err,msg",
    [
        ({"p": 0}, ValueError, "p must be >= 1"),
        ({"p": 99}, ValueError, "larger than"),
        ({"p": 2.5}, TypeError, "integer"),
        ({"p": 2, "machines": 0}, ValueError, "machines"),
        ({"p": 2, "epsilon": 0}, ValueError, "epsilon"),
        ({"p": 2, "epsilon": 2.0}, ValueError, "epsilon"),
        ({"p": 2, "random_state": "x"}, TypeError, "random_state"),
    ],
)
def test_parameter_validation(kwargs, err, msg):
    g = random_graph(10, seed=0)
    for cls in (PMedian, PCenter):
        with pytest.raises(err, match=msg):
            cls(**kwargs).fit(g)


def test_opening_cost_validation():
    g = random_graph(10, seed=0)
    with pytest.raises(ValueError, match=r"negative|>= 0|in \[0, 1e\+100\]"):
        FacilityLocation(-1.0).fit(g)
    with pytest.raises(ValueError, match="shape"):
        FacilityLocation(np.ones(3)).fit(g)
    with pytest.raises(ValueError, match="NaN"):
        FacilityLocation(np.full(10, np.nan)).fit(g)
    with pytest.raises(ValueError, match="not an open facility"):
        FacilityLocation(1.0, random_state=0).fit(g).clients_of(-5)


def test_params_stored_unchanged():
    f = np.arange(5.0)
    est = FacilityLocation(f, epsilon=0.3)
    assert est.opening_cost is f and est.epsilon == 0.3


@pytest.mark.parametrize("k", [1, 3])
def test_facility_location_on_bipartite_cost_matrix_with_clients(k):
    rng = np.random.default_rng(k)
    fac_xy = rng.random((8, 2))
    cus_xy = rng.random((30, 2))
    # Euclidean costs are metric, so the bipartite graph's metric closure equals C
    C = np.round(100 * np.linalg.norm(fac_xy[:, None] - cus_xy[None], axis=2), 3)
    fixed = rng.uniform(20, 80, 8)
    g = Graph.from_cost_matrix(C)
    assert g.n_vertices == 38
    D = dense(g)
    assert np.allclose(D[:8, 8:], C)
    opt, _ = exact.facility_location(C.T, fixed)  # (clients, facilities)
    f = np.concatenate([fixed, np.full(30, np.inf)])
    clients = np.arange(8, 38)
    for local_search in (False, True):
        fl = FacilityLocation(f, random_state=0, machines=k, local_search=local_search).fit(g, clients=clients)
        assert np.all(fl.facilities_ < 8)  # customers cannot host facilities (infinite cost)
        true = fixed[fl.facilities_].sum() + C[fl.facilities_].min(axis=0).sum()
        assert fl.cost_ == pytest.approx(true)
        assert opt - 1e-6 <= fl.cost_ <= 3.0 * (1 + fl.distance_precision) ** 3 * opt


def test_clients_validation():
    g = random_graph(10, seed=0)
    with pytest.raises(ValueError, match="empty"):
        FacilityLocation(1.0).fit(g, clients=np.zeros(10, bool))
    with pytest.raises(ValueError, match="shape"):
        FacilityLocation(1.0).fit(g, clients=np.ones(3, bool))
    with pytest.raises(ValueError, match="infinite everywhere"):
        FacilityLocation(np.full(10, np.inf)).fit(g)
    two = Graph.from_edges([0, 2], [1, 3], [1.0, 1.0])
    with pytest.raises(ValueError, match="cannot be served"):
        FacilityLocation(np.array([1.0, 1.0, np.inf, np.inf])).fit(two)
