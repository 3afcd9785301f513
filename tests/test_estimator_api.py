"""Every public estimator of every family is a scikit-learn estimator: get_params, set_params, clone, repr."""

import pytest
from sklearn.base import BaseEstimator, clone

from bigclust import LSHTreeKMeans, LSHTreeKMedian
from bigclust.graph import FacilityLocation, PCenter, PMedian
from bigclust.private import LocalDPKMeans, ShuffleDPKMeans

ESTIMATORS = [
    LSHTreeKMeans(7, method="approx", refine=2, random_state=3),
    LSHTreeKMedian(4, median_sample_size=64),
    PMedian(5, random_state=1),
    PCenter(3, machines=4),
    FacilityLocation(opening_cost=10.0),
    LocalDPKMeans(n_clusters=4, epsilon=2.0, radius=3.0),
    ShuffleDPKMeans(n_clusters=4, epsilon=1.0, delta=1e-6, radius=2.0),
]


@pytest.mark.parametrize("est", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_clone_keeps_every_parameter(est):
    assert isinstance(est, BaseEstimator)
    params = est.get_params()
    twin = clone(est)
    assert twin is not est and type(twin) is type(est)
    assert twin.get_params() == params
    assert repr(twin) == repr(est)


@pytest.mark.parametrize("est", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_set_params_round_trip(est):
    params = est.get_params()
    twin = clone(est).set_params(**params)
    assert twin.get_params() == params
    # every constructor argument is a parameter, listed by name
    import inspect

    names = [p for p in inspect.signature(type(est).__init__).parameters if p != "self"]
    assert sorted(names) == sorted(params)


# --------------------------------------------------------------- scikit-learn conventions (issue 23)

import warnings  # noqa: E402

import numpy as np  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import bigclust  # noqa: E402
from bigclust.datasets import make_planted_mixture  # noqa: E402

LSH = [LSHTreeKMeans, LSHTreeKMedian]


def _brute_cost(X, C, w, objective):
    d = np.sqrt(((X[:, None, :].astype(np.float64) - C[None, :, :]) ** 2).sum(-1))  # (n, k)
    m = d.min(axis=1)
    return float(np.sum(w * (m * m if objective == "kmeans" else m))), d


@pytest.fixture(scope="module")
def blobs():
    X, _, _ = make_planted_mixture(240, 3, 4, random_state=5)
    return X


@pytest.mark.parametrize("Est", LSH)
def test_score_is_minus_cost_and_transform_the_distance_matrix(Est, blobs):
    est = Est(4, random_state=0).fit(blobs)
    rng = np.random.default_rng(1)
    Xt = blobs[:50] + rng.normal(scale=0.3, size=(50, 3))
    w = rng.uniform(0, 3, size=50)
    cost, D = _brute_cost(Xt, est.cluster_centers_, w, est._objective)
    assert est.score(Xt, sample_weight=w) == pytest.approx(-cost, rel=1e-9)
    assert est.score(Xt) == pytest.approx(-_brute_cost(Xt, est.cluster_centers_, np.ones(50), est._objective)[0])
    # on the training points the score is the fitted objective (labels_ are nearest centres after refinement)
    assert est.score(blobs) == pytest.approx(-est.inertia_, rel=1e-9)
    T = est.transform(Xt)
    assert T.shape == (50, est.cluster_centers_.shape[0]) and T.dtype == np.float64
    np.testing.assert_allclose(T, D, rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(T.argmin(axis=1), est.predict(Xt))
    # float32 in, float32 out
    assert est.transform(Xt.astype(np.float32)).dtype == np.float32
    # fit_transform = fit then transform on the training data
    np.testing.assert_allclose(Est(4, random_state=0).fit_transform(blobs), est.transform(blobs))


@pytest.mark.parametrize("Est", LSH)
def test_score_and_transform_reject_bad_input_without_echoing_it(Est, blobs):
    est = Est(3, random_state=0)
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        est.transform(blobs)
    with pytest.raises(NotFittedError):
        est.score(blobs)
    est.fit(blobs)
    with pytest.raises(ValueError, match="expecting 3 features"):
        est.transform(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="expecting 3 features"):
        est.score(np.zeros((2, 5)))
    bad = blobs[:4].copy()
    bad[1, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        est.score(bad)
    with pytest.raises(ValueError) as info:
        est.score(blobs[:4], sample_weight=[1.0, -987654321.0, 1.0, 1.0])
    assert "987654321" not in str(info.value)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 30), scale=st.sampled_from([1e-3, 1.0, 1e3]))
def test_score_matches_brute_force_on_random_points(seed, n, scale):
    rng = np.random.default_rng(seed)
    est = LSHTreeKMeans(3, random_state=0)
    # a fitted model without a fit: the contract of score/transform only needs the centres
    est.cluster_centers_ = rng.normal(scale=scale, size=(3, 2))
    est.n_features_in_ = 2
    est._objective = "kmeans"
    X = rng.normal(scale=scale, size=(n, 2))
    w = rng.uniform(0, 2, size=n)
    cost, D = _brute_cost(X, est.cluster_centers_, w, "kmeans")
    assert est.score(X, sample_weight=w) == pytest.approx(-cost, rel=1e-7, abs=1e-12 * scale * scale)
    np.testing.assert_allclose(est.transform(X), D, rtol=1e-6, atol=1e-6 * scale)


@pytest.mark.parametrize("Est", LSH)
def test_feature_names_from_a_dataframe_follow_scikit_learn(Est):
    """scikit-learn's own consistency check (fit with names, then predict/transform/score
    with reordered, unseen or missing columns must raise its messages)."""
    pytest.importorskip("pandas")
    from sklearn.utils.estimator_checks import check_dataframe_column_names_consistency

    check_dataframe_column_names_consistency(Est.__name__, Est(3, random_state=0))


@pytest.mark.parametrize("Est", LSH)
def test_feature_names_in_and_n_features_in(Est, blobs):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(blobs, columns=["lat", "lon", "alt"])
    est = Est(3, random_state=0).fit(df)
    assert list(est.feature_names_in_) == ["lat", "lon", "alt"] and est.feature_names_in_.dtype == object
    assert est.n_features_in_ == 3
    assert list(est.get_feature_names_out()) == [f"{Est.__name__.lower()}{j}" for j in range(3)]
    # same partition as the bare array
    np.testing.assert_array_equal(est.labels_, Est(3, random_state=0).fit(blobs).labels_)
    # a refit on an array forgets the names (no stale attribute)
    est.fit(blobs)
    assert not hasattr(est, "feature_names_in_")
    with pytest.warns(UserWarning, match="fitted without feature names"):
        est.predict(df)
    # set_output gives a DataFrame with one column per centre
    out = Est(3, random_state=0).set_output(transform="pandas").fit(df).transform(df)
    assert isinstance(out, pd.DataFrame) and out.shape == (len(df), 3)


def test_mixed_column_name_types_are_refused_before_any_work(blobs, monkeypatch):
    pd = pytest.importorskip("pandas")
    import bigclust.lshtree._local as local

    def no_work(*a, **k):
        raise AssertionError("the fit started")

    monkeypatch.setattr(local, "fit", no_work)
    df = pd.DataFrame(blobs, columns=["a", 1, "c"])
    with pytest.raises(TypeError, match="string"):
        LSHTreeKMeans(3).fit(df)


def test_grid_search_selects_by_score(blobs):
    """GridSearchCV uses score (held-out negative cost): more clusters never cost more on
    planted blobs, so the largest n_clusters of the grid wins, and the refit model is fitted."""
    from sklearn.model_selection import GridSearchCV

    search = GridSearchCV(LSHTreeKMeans(random_state=0), {"n_clusters": [1, 2, 4]}, cv=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search.fit(blobs)
    scores = search.cv_results_["mean_test_score"]
    assert np.all(scores < 0) and np.all(np.diff(scores) > 0)
    assert search.best_params_ == {"n_clusters": 4}
    assert search.best_estimator_.cluster_centers_.shape == (4, 3)
    assert search.score(blobs) == pytest.approx(search.best_estimator_.score(blobs))


# ------------------------------------------------------------------------------------ threads


def test_limit_threads_bounds_numba_and_blas_and_restores():
    numba = pytest.importorskip("numba")
    from threadpoolctl import threadpool_info

    before_numba = numba.get_num_threads()
    before_blas = {(p["prefix"], p["filepath"]): p["num_threads"] for p in threadpool_info()}
    with bigclust.limit_threads(1) as lim:
        assert lim.n_threads == 1
        assert numba.get_num_threads() == 1
        assert all(p["num_threads"] == 1 for p in threadpool_info())
        X, _, _ = make_planted_mixture(200, 3, 3, random_state=0)
        LSHTreeKMeans(3, random_state=0).fit(X)  # runs with the limit in place
        assert numba.get_num_threads() == 1
    assert numba.get_num_threads() == before_numba
    assert {(p["prefix"], p["filepath"]): p["num_threads"] for p in threadpool_info()} == before_blas
    # a request above Numba's pool is capped there; -1 means the whole pool
    big = bigclust.limit_threads(10**6)
    try:
        assert big.n_threads == numba.config.NUMBA_NUM_THREADS == numba.get_num_threads()
    finally:
        big.restore()
    with bigclust.limit_threads(-1):
        assert numba.get_num_threads() == numba.config.NUMBA_NUM_THREADS


def test_limit_threads_caps_the_threads_a_parallel_kernel_runs_on():
    """The threads that actually run a prange loop: never more than the limit."""
    numba = pytest.importorskip("numba")

    @numba.njit(parallel=True)
    def thread_ids(n):
        out = np.empty(n, np.int64)
        for i in numba.prange(n):
            out[i] = numba.get_thread_id()
        return out

    with bigclust.limit_threads(1):
        assert set(thread_ids(10_000).tolist()) == {0}
    if numba.config.NUMBA_NUM_THREADS >= 2:
        with bigclust.limit_threads(2):
            assert set(thread_ids(10_000).tolist()) <= {0, 1}


@pytest.mark.parametrize("bad,err", [(0, ValueError), (-2, ValueError), (1.5, TypeError), (True, TypeError),
                                     ("4", TypeError)])
def test_limit_threads_rejects_bad_counts(bad, err):
    with pytest.raises(err, match="n_threads"):
        bigclust.limit_threads(bad)
