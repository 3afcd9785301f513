"""Behaviour of LSHTreeKMeans / LSHTreeKMedian: oracles, invariants, bad input."""

import itertools
import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy.optimize import minimize
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import adjusted_rand_score
from sklearn.utils.estimator_checks import check_estimator

from bigclust import LSHTreeKMeans, LSHTreeKMedian
from bigclust.datasets import make_planted_mixture, planted_cost


def _kmeans_cost(X, labels, w=None):
    w = np.ones(len(X)) if w is None else w
    return sum((w[labels == c] * ((X[labels == c] - np.average(X[labels == c], axis=0, weights=w[labels == c])) ** 2).sum(1)).sum()
               for c in np.unique(labels) if w[labels == c].sum() > 0)


# ----------------------------------------------------------------- planted data (Section 5.1)


@pytest.mark.parametrize("method", ["exact", "approx"])
@pytest.mark.parametrize("n,d,k,seed", [(3000, 10, 5, 0), (3000, 100, 10, 1), (6000, 10, 100, 2), (4000, 30, 25, 3)])
def test_planted_partition_is_recovered(method, n, d, k, seed):
    X, y, _ = make_planted_mixture(n, d, k, random_state=seed)
    km = LSHTreeKMeans(k, method=method, random_state=seed).fit(X)
    assert km.report_["method"] == method
    rho = km.inertia_ / planted_cost(X, y)
    assert rho <= 1.0 + 1e-9
    assert adjusted_rand_score(y, km.labels_) == pytest.approx(1.0)


def test_planted_kmedian_partition_is_recovered():
    X, y, _ = make_planted_mixture(2000, 10, 8, random_state=4)
    km = LSHTreeKMedian(8, random_state=0).fit(X)
    assert adjusted_rand_score(y, km.labels_) == pytest.approx(1.0)
    dist = np.linalg.norm(X - km.cluster_centers_[km.labels_], axis=1).sum()
    assert km.inertia_ == pytest.approx(dist)


# ----------------------------------------------------------------- oracles on tiny inputs


def test_exact_matches_exhaustive_kmeans_on_separated_tiny_instance():
    rng = np.random.default_rng(0)
    centers = np.array([[0.0, 0.0, 0.0], [20.0, 0.0, 0.0], [0.0, 25.0, 5.0]])
    y = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2])
    X = centers[y] + rng.standard_normal((9, 3))
    km = LSHTreeKMeans(3, method="exact", random_state=0).fit(X)
    best = min(_kmeans_cost(X, np.array(lab)) for lab in itertools.product(range(3), repeat=9) if len(set(lab)) == 3)
    assert km.inertia_ == pytest.approx(best)


def test_kmedian_node_costs_are_near_true_geometric_median_cost():
    X, y, _ = make_planted_mixture(300, 4, 3, random_state=5)
    km = LSHTreeKMedian(3, random_state=0).fit(X)
    for c in range(3):
        P = X[km.labels_ == c]
        res = minimize(lambda z: np.linalg.norm(P - z, axis=1).sum(), P.mean(0), method="Nelder-Mead",
                       options={"xatol": 1e-10, "fatol": 1e-10, "maxiter": 20000})
        got = np.linalg.norm(P - km.cluster_centers_[c], axis=1).sum()
        assert res.fun <= got * (1 + 1e-6) and got <= res.fun * 1.001


def test_cost_curve_is_optimal_pruning_curve_and_non_increasing():
    X, y, _ = make_planted_mixture(2000, 8, 6, random_state=6)
    km = LSHTreeKMeans(20, method="exact", refine=0, random_state=0).fit(X)
    curve = km.cost_curve_
    assert curve.shape == (20,)
    assert np.all(np.diff(curve) <= 1e-9 * curve[0])
    assert curve[-1] == pytest.approx(km.inertia_)
    # the elbow is at the planted k: the curve flattens after 6
    assert curve[4] > 5 * curve[5]
    km6 = LSHTreeKMeans(6, method="exact", refine=0, random_state=0).fit(X)
    assert km6.inertia_ == pytest.approx(curve[5])
    # with the default refinement the answer at k = 20 may be cheaper than the tree's pruning,
    # never dearer: cost_curve_ is the tree's curve, not the refined one
    assert LSHTreeKMeans(20, method="exact", random_state=0).fit(X).inertia_ <= curve[-1] * (1 + 1e-9)


def test_approx_within_epsilon_of_exact_on_real_shaped_data():
    rng = np.random.default_rng(7)
    X = rng.standard_normal((1500, 5)) @ rng.standard_normal((5, 5))
    for k in (3, 10, 40):
        exact = LSHTreeKMeans(k, method="exact", random_state=1).fit(X)
        approx = LSHTreeKMeans(k, method="approx", approx_epsilon=0.1, random_state=1).fit(X)
        assert np.array_equal(exact.tree_.parent, approx.tree_.parent)
        assert approx.inertia_ <= 1.1 * exact.inertia_ + 1e-9
        assert approx.inertia_ >= exact.inertia_ * (1 - 1e-9)
        assert len(np.unique(approx.labels_)) == k


# ----------------------------------------------------------------- invariants (property tests)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 60), d=st.integers(1, 4), k=st.integers(1, 8), seed=st.integers(0, 1000),
       method=st.sampled_from(["exact", "approx"]), median=st.booleans())
def test_invariants(n, d, k, seed, method, median):
    k = min(k, n)
    rng = np.random.default_rng(seed)
    X = np.round(rng.standard_normal((n, d)) * 3, 1)  # rounding creates duplicates
    Est = LSHTreeKMedian if median else LSHTreeKMeans
    n_distinct = len(np.unique(X, axis=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = Est(k, method=method, random_state=seed).fit(X)
        b = Est(k, method=method, random_state=seed).fit(X)
    kk = min(k, n_distinct)
    assert a.labels_.shape == (n,)
    assert set(np.unique(a.labels_)) == set(range(kk))  # every point exactly one cluster, none empty
    assert a.cluster_centers_.shape == (kk, d)
    assert np.array_equal(a.labels_, b.labels_) and np.array_equal(a.cluster_centers_, b.cluster_centers_)
    if not median:
        assert a.inertia_ == pytest.approx(_kmeans_cost(X, a.labels_), rel=1e-9, abs=1e-9)
        assert np.allclose(a.cluster_centers_, [X[a.labels_ == c].mean(0) for c in range(kk)])
    if method == "exact":
        assert np.all(np.diff(a.cost_curve_) <= 1e-9 * max(a.cost_curve_[0], 1))


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 1000), k=st.integers(1, 6))
def test_result_does_not_depend_on_row_order_or_repetition(seed, k):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((40, 3)) + rng.integers(0, 3, (40, 1)) * 5
    w = rng.integers(1, 4, 40)
    a = LSHTreeKMeans(k, random_state=0).fit(X, sample_weight=w)
    perm = rng.permutation(40 + int(w.sum() - 40))
    Xr = np.repeat(X, w, axis=0)
    b = LSHTreeKMeans(k, random_state=0).fit(Xr[perm])
    assert np.allclose(a.cluster_centers_, b.cluster_centers_)
    assert a.inertia_ == pytest.approx(b.inertia_)


def test_costs_never_increase_with_k():
    X, y, _ = make_planted_mixture(1500, 6, 12, random_state=8)
    costs = [LSHTreeKMeans(k, method="exact", random_state=3).fit(X).inertia_ for k in range(1, 16)]
    assert np.all(np.diff(costs) <= 1e-9 * costs[0])


# ----------------------------------------------------------------- dtypes, degenerate data, weights


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_dtypes(dtype):
    X, y, _ = make_planted_mixture(800, 5, 4, random_state=9)
    km = LSHTreeKMeans(4, random_state=0).fit(X.astype(dtype) if dtype != np.int64 else np.round(X).astype(dtype))
    expected = np.float32 if dtype == np.float32 else np.float64
    assert km.cluster_centers_.dtype == expected
    assert km.predict(X.astype(expected)).dtype == np.int64


def test_constant_data_and_duplicates_warn_and_give_fewer_clusters():
    X = np.ones((10, 3))
    with pytest.warns(ConvergenceWarning, match="distinct"):
        km = LSHTreeKMeans(3).fit(X)
    assert km.cluster_centers_.shape == (1, 3) and km.inertia_ == 0 and (km.labels_ == 0).all()
    X2 = np.vstack([np.zeros((5, 2)), np.ones((5, 2))])
    with pytest.warns(ConvergenceWarning):
        km2 = LSHTreeKMeans(4).fit(X2)
    assert km2.cluster_centers_.shape == (2, 2)
    assert km2.report_["n_distinct"] == 2


def test_single_sample_and_single_cluster():
    km = LSHTreeKMeans(1).fit([[1.0, 2.0]])
    assert km.labels_.tolist() == [0] and km.inertia_ == 0
    X, _, _ = make_planted_mixture(200, 3, 2, random_state=0)
    km = LSHTreeKMeans(1).fit(X)
    assert km.inertia_ == pytest.approx(((X - X.mean(0)) ** 2).sum())


def test_zero_weight_points_do_not_influence_fit():
    X, y, _ = make_planted_mixture(600, 4, 3, random_state=2)
    w = np.ones(600)
    w[:50] = 0
    a = LSHTreeKMeans(3, random_state=0).fit(X, sample_weight=w)
    b = LSHTreeKMeans(3, random_state=0).fit(X[50:])
    assert np.allclose(a.cluster_centers_, b.cluster_centers_)
    assert np.array_equal(a.labels_[:50], a.predict(X[:50]))
    assert (a.tree_.leaf_of_sample[:50] == -1).all()


def test_input_is_not_modified():
    X, _, _ = make_planted_mixture(300, 3, 3, random_state=1)
    w = np.ones(300)
    X0, w0 = X.copy(), w.copy()
    LSHTreeKMeans(3, refine=2, random_state=0).fit(X, sample_weight=w)
    assert np.array_equal(X, X0) and np.array_equal(w, w0)


def test_refine_never_raises_cost_and_report_has_stages():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2000, 4))  # not resilient: the tree is not optimal here
    raw = LSHTreeKMeans(5, refine=0, random_state=0).fit(X)
    ref = LSHTreeKMeans(5, refine=10, random_state=0).fit(X)
    auto = LSHTreeKMeans(5, random_state=0).fit(X)
    assert ref.inertia_ <= raw.inertia_ + 1e-9 and auto.inertia_ <= raw.inertia_ + 1e-9
    for est in (ref, auto):  # labels_ are the nearest centres, inertia_ their cost (as scikit-learn's)
        assert est.inertia_ == pytest.approx(((X - est.cluster_centers_[est.labels_]) ** 2).sum(), rel=1e-9)
        assert np.array_equal(est.labels_, est.predict(X))
        assert {"tree", "dp", "refine"} <= set(est.report_["time"])
    for key in ("time", "total_seconds", "peak_memory_mb", "n_scales", "tree_nodes", "method", "answer"):
        assert key in ref.report_
    assert raw.report_["answer"] == "tree" and "refine" not in raw.report_["time"]
    med = LSHTreeKMedian(5, refine=0, random_state=0).fit(X)
    med_ref = LSHTreeKMedian(5, refine=5, random_state=0).fit(X)
    assert med_ref.inertia_ <= med.inertia_ * (1 + 1e-6)


def test_refine_keeps_the_cheapest_answer_and_is_deterministic():
    """refine runs Lloyd from k-means++ starts and from the tree, and keeps the cheapest answer."""
    rng = np.random.default_rng(3)
    # a chain of blobs plus scattered outliers: the tree's k-pruning is poor here
    X = np.vstack([rng.standard_normal((400, 3)) + [4.0 * i, 0, 0] for i in range(5)] + [rng.uniform(-30, 30, (40, 3))])
    a = LSHTreeKMeans(6, refine=20, random_state=4).fit(X)
    info = a.report_["refine"]
    assert {"tree", "kmeans++"} <= set(info["start_costs"])
    assert a.inertia_ == pytest.approx(min([info["start_costs"]["tree"], *info["final_costs"].values()]), rel=1e-9)
    assert a.inertia_ == pytest.approx(((X - a.cluster_centers_[a.labels_]) ** 2).sum(), rel=1e-9)
    assert a.report_["answer"] == info["answer"] != "tree"
    # refinement never ends above its start, whichever start it is
    for name, final in info["final_costs"].items():
        assert final <= info["start_costs"][name] * (1 + 1e-9)
    b = LSHTreeKMeans(6, refine=20, random_state=4).fit(X)
    assert np.array_equal(a.labels_, b.labels_) and np.array_equal(a.cluster_centers_, b.cluster_centers_)


def test_tree_attribute_is_consistent():
    X, _, _ = make_planted_mixture(500, 3, 4, random_state=3)
    km = LSHTreeKMeans(4, random_state=0).fit(np.vstack([X, X[:10]]))
    t = km.tree_
    root = t.n_nodes - 1
    assert t.parent[root] == -1 and t.size[root] == 510
    assert t.weight[root] == pytest.approx(510)
    assert t.cost[root] == pytest.approx(_kmeans_cost(np.vstack([X, X[:10]]), np.zeros(510, int)))
    assert len(t.selected) == 4 and t.depth >= 1


# ----------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "X,kwargs,err,match",
    [
        ([[0.0, np.nan], [1, 1]], {}, ValueError, "NaN or infinite"),
        ([[0.0, np.inf], [1, 1]], {}, ValueError, "NaN or infinite"),
        ([1.0, 2.0, 3.0], {}, ValueError, "2-D"),
        (np.zeros((3, 2, 2)), {}, ValueError, "2-D"),
        ([[0.0, 1.0], [1.0, 2.0]], {"n_clusters": 0}, ValueError, "n_clusters"),
        ([[0.0, 1.0], [1.0, 2.0]], {"n_clusters": 3}, ValueError, "larger than the number of samples"),
        ([[0.0, 1.0], [1.0, 2.0]], {"n_clusters": 1.5}, TypeError, "integer"),
        ([[0.0, 1.0], [1.0, 2.0]], {"n_clusters": 1, "method": "fast"}, ValueError, "method"),
        ([[0.0, 1.0], [1.0, 2.0]], {"n_clusters": 1, "epsilon": -1}, ValueError, "epsilon"),
        ([[0.0, 1.0], [1.0, 2.0]], {"n_clusters": 1, "scale_ratio": 1.0}, ValueError, "scale_ratio"),
        ([[0.0, 1.0], [1.0, 2.0]], {"n_clusters": 1, "n_hashes": 0}, ValueError, "n_hashes"),
        (np.zeros((0, 2)), {}, ValueError, "0 sample"),
    ],
)
def test_bad_input_errors(X, kwargs, err, match):
    kwargs = {"n_clusters": 1, **kwargs}
    with pytest.raises(err, match=match):
        LSHTreeKMeans(**kwargs).fit(X)


def test_bad_weights_and_predict_dimension():
    X = np.random.default_rng(0).standard_normal((20, 3))
    with pytest.raises(ValueError, match="negative"):
        LSHTreeKMeans(2).fit(X, sample_weight=-np.ones(20))
    with pytest.raises(ValueError, match="shape"):
        LSHTreeKMeans(2).fit(X, sample_weight=np.ones(19))
    with pytest.raises(ValueError, match="sums to zero"):
        LSHTreeKMeans(2).fit(X, sample_weight=np.zeros(20))
    km = LSHTreeKMeans(2).fit(X)
    with pytest.raises(ValueError, match="expecting 3 features"):
        km.predict(np.zeros((2, 4)))
    with pytest.raises(TypeError, match="sparse"):
        import scipy.sparse as sp

        LSHTreeKMeans(2).fit(sp.csr_matrix(X))


def test_exact_refuses_impossible_memory_with_clear_message(monkeypatch):
    import bigclust.lshtree._params as P

    monkeypatch.setattr(P, "EXACT_MAX_ENTRIES", 10)
    X, _, _ = make_planted_mixture(400, 3, 4, random_state=1)
    with pytest.raises(MemoryError, match="method='approx'"):
        LSHTreeKMeans(50, method="exact").fit(X)
    for seed in range(4):  # whether the relaxation's certificate answers depends on the tree drawn
        r = LSHTreeKMeans(50, method="auto", random_state=seed).fit(X).report_
        dp = r["dp"]
        assert dp["exact_entries"] > 10 and dp["ran"][0] == "lagrangian"
        if r["method"] == "lagrangian":
            assert dp["ran"] == ["lagrangian"] and dp["lagrangian"]["exact"]
        else:
            assert r["method"] == "approx" and dp["ran"] == ["lagrangian", "algorithm6"] and "step" in dp


@pytest.mark.parametrize("Est", [LSHTreeKMeans, LSHTreeKMedian])
def test_sklearn_estimator_checks(Est):
    """Every check of scikit-learn's suite passes; the only skip is the array-API
    check, which scikit-learn itself skips unless SCIPY_ARRAY_API is set."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(Est(n_clusters=3, random_state=0), on_fail=None)
    bad = [(r["check_name"], str(r["exception"])[:200]) for r in results if r["status"] == "failed"]
    assert not bad, bad
    skipped = {r["check_name"] for r in results if r["status"] == "skipped"}
    assert skipped <= {"check_array_api_input"}


def test_deprecated_epsilon_warns_and_means_approx_epsilon():
    X, _, _ = make_planted_mixture(600, 3, 6, random_state=2)
    new = LSHTreeKMeans(6, method="approx", approx_epsilon=0.3, random_state=0).fit(X)
    with pytest.warns(FutureWarning, match="approx_epsilon"):
        old = LSHTreeKMeans(6, method="approx", epsilon=0.3, random_state=0).fit(X)
    np.testing.assert_array_equal(new.labels_, old.labels_)
    assert new.report_["dp"]["guarantee"] == old.report_["dp"]["guarantee"]


@pytest.mark.parametrize("name,value,err", [
    ("n_clusters", -987654321, ValueError), ("method", "secret-987654321", ValueError),
    ("approx_epsilon", -987654321.5, ValueError), ("scale_ratio", "987654321", TypeError),
    ("projection_dim", 0.987654321, TypeError), ("engine", "987654321", ValueError),
    ("random_state", -987654321, ValueError), ("median_sample_size", 0, ValueError),
])
def test_parameter_errors_name_the_parameter_not_the_value(name, value, err):
    """Declared constraints are checked before any work; the message says what is allowed, never the value."""
    X = np.zeros((5, 2))
    with pytest.raises(err) as info:
        LSHTreeKMedian(2).set_params(**{name: value}).fit(X)
    assert name in str(info.value) and "987654321" not in str(info.value)
