"""The scikit-learn contract of the private and graph estimators (issue 23).

Private (LocalDPKMeans, ShuffleDPKMeans): ``score`` is the negative k-means cost and ``transform`` the
distance matrix to the released centres, as KMeans, checked against brute force (``np.hypot``, which does
not overflow) on hypothesis-drawn points up to 1e300; ``feature_names_in_`` / ``n_features_in_`` follow
scikit-learn; ``check_estimator`` passes but for two checks that privacy rules out (documented below).

Graph (PMedian, PCenter, FacilityLocation): ``score(graph, demand)`` is the negative cost of the open
facilities and ``transform(graph)`` the vertex-to-facility distance matrix, checked against Floyd-Warshall
on hypothesis-drawn graphs, also on a graph with the same vertices and other edge lengths. What does not
apply (feature names, row splits) is asserted absent.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import floyd_warshall
from sklearn.exceptions import NotFittedError

from bigclust.graph import FacilityLocation, Graph, PCenter, PMedian
from bigclust.private import LocalDPKMeans, ShuffleDPKMeans

SECRET = 7351.123456


def _blobs(n=20000, seed=0):
    rng = np.random.default_rng(seed)
    centres = np.array([[0.5, 0.3], [-0.4, 0.4], [0.0, -0.5]])
    return centres[rng.integers(3, size=n)] + rng.normal(0, 0.05, (n, 2))


@pytest.fixture(scope="module", params=[LocalDPKMeans, ShuffleDPKMeans])
def private_fit(request):
    X = _blobs()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # a public centre off the origin: distances are taken relative to it
        est = request.param(3, epsilon=4.0, radius=1.5, center=[0.1, -0.1], n_levels=6, random_state=0).fit(X)
    return est, X


def _hypot_distances(X, C):
    return np.hypot(X[:, None, 0] - C[None, :, 0], X[:, None, 1] - C[None, :, 1])


_coord = st.one_of(st.floats(-2, 2), st.floats(-1e300, 1e300))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(_coord, _coord), min_size=1, max_size=25),
       weights=st.one_of(st.none(), st.just("random")))
def test_private_transform_score_predict_match_brute_force(private_fit, rows, weights):
    est, _ = private_fit
    X = np.array(rows, dtype=np.float64)
    C = est.cluster_centers_
    oracle = _hypot_distances(X, C)
    T = est.transform(X)
    assert T.shape == (X.shape[0], C.shape[0]) and T.dtype == np.float64
    scale = np.abs(X).max(axis=1, keepdims=True) + np.abs(C).max() + 1.0
    # the |x|^2 - 2 x.c + |c|^2 expansion (as scikit-learn's) is exact to ~sqrt(eps) of the scale
    assert np.all(np.abs(T - oracle) <= 1e-7 * scale), np.abs(T - oracle).max()
    w = None if weights is None else np.random.default_rng(len(rows)).uniform(0, 3, X.shape[0])
    with np.errstate(over="ignore"):
        brute = float(np.sum((np.ones(X.shape[0]) if w is None else w) * oracle.min(axis=1) ** 2))
    score = est.score(X, sample_weight=w)
    if np.isfinite(brute):
        assert score == pytest.approx(-brute, rel=1e-6, abs=1e-7 * float((scale ** 2).sum()))
    else:
        assert score == -np.inf
    labels = est.predict(X)
    chosen = oracle[np.arange(X.shape[0]), labels]
    assert np.all(chosen <= oracle.min(axis=1) + 1e-7 * scale[:, 0])


def test_private_score_is_minus_the_cost_and_fit_transform_is_fit_then_transform(private_fit):
    est, X = private_fit
    d = _hypot_distances(X, est.cluster_centers_)
    assert est.score(X) == pytest.approx(-np.sum(d.min(axis=1) ** 2), rel=1e-9)
    np.testing.assert_array_equal(est.predict(X), est.labels_)
    twin = type(est)(**est.get_params())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        T = twin.fit_transform(X)
    np.testing.assert_array_equal(twin.cluster_centers_, est.cluster_centers_)  # seeded: the same release
    np.testing.assert_allclose(T, d, atol=1e-9)
    assert list(est.get_feature_names_out()) == [f"{type(est).__name__.lower()}{j}"
                                                 for j in range(est.cluster_centers_.shape[0])]


def test_private_feature_names_follow_scikit_learn():
    pd = pytest.importorskip("pandas")
    X = _blobs(5000)
    frame = pd.DataFrame(X, columns=["lat", "lon"])
    est = LocalDPKMeans(3, epsilon=4.0, radius=1.0, n_levels=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(frame)
    assert list(est.feature_names_in_) == ["lat", "lon"] and est.n_features_in_ == 2
    np.testing.assert_array_equal(est.predict(frame), est.predict(X))
    with pytest.raises(ValueError, match="Feature names must be in the same order"):
        est.transform(frame[["lon", "lat"]])
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        est.score(X)
    with pytest.raises(ValueError, match="X has 3 features, but LocalDPKMeans is expecting 2"):
        est.transform(np.zeros((4, 3)))
    with pytest.raises(TypeError, match="Feature names are only supported if all input features have string"):
        LocalDPKMeans(3, epsilon=4.0, radius=1.0).fit(pd.DataFrame(X, columns=["a", 1]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X)  # refit on an array: no stale names
    assert not hasattr(est, "feature_names_in_")


@pytest.mark.parametrize("method", ["predict", "transform", "score"])
def test_private_methods_refuse_bad_input_without_echoing_it(private_fit, method):
    est, _ = private_fit
    with pytest.raises(NotFittedError, match="not fitted"):
        getattr(LocalDPKMeans(radius=1.0), method)(np.zeros((2, 2)))
    bad = np.array([["1.0", f"{SECRET}x"], ["2.0", "3.0"]], dtype=object)
    with pytest.raises((TypeError, ValueError)) as exc:
        getattr(est, method)(bad)
    assert str(SECRET) not in str(exc.value) and "private data" in str(exc.value)
    with pytest.raises(ValueError, match="NaN or infinite|NaN|infinite"):
        getattr(est, method)(np.array([[np.nan, 1.0]]))


def test_private_grid_search_selects_by_score():
    from sklearn.model_selection import GridSearchCV

    X = _blobs(30000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search = GridSearchCV(LocalDPKMeans(epsilon=8.0, radius=1.0, n_levels=6, random_state=0),
                              {"n_clusters": [1, 3]}, cv=2).fit(X)
    assert search.best_params_ == {"n_clusters": 3}  # three well-separated blobs: 3 centres cost far less
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


# check_estimator's checks that a local-DP estimator cannot pass, by design:
PRIVATE_EXPECTED_FAILURES = {
    # the message for non-numeric X never quotes the value (it is a user's private data), so it does not
    # contain NumPy's "argument must be a string or a number" text that the check looks for
    "check_dtype_object",
    # 50 points of 2-D blobs: under epsilon-LDP the noise floor of so few users exceeds the data's cost,
    # so the adjusted Rand index the check demands (> 0.4) is out of reach (docs/private.md, noise floor)
    "check_clustering",
}


@pytest.mark.parametrize("Est", [LocalDPKMeans, ShuffleDPKMeans])
def test_private_sklearn_estimator_checks(Est):
    from sklearn.utils.estimator_checks import check_estimator

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(Est(n_clusters=3, radius="unit", n_levels=4, random_state=0), on_fail=None)
    failed = {r["check_name"] for r in results if r["status"] == "failed"}
    assert failed == PRIVATE_EXPECTED_FAILURES, failed
    assert {r["check_name"] for r in results if r["status"] == "skipped"} <= {"check_array_api_input"}


# ------------------------------------------------------------------------------------------- graph


@st.composite
def _graphs(draw):
    """A connected weighted graph of 3..12 vertices: a random spanning tree plus random extra edges."""
    n = draw(st.integers(3, 12))
    edges = {}
    for v in range(1, n):
        u = draw(st.integers(0, v - 1))
        edges[(u, v)] = draw(st.integers(0, 20))  # zero-length edges included
    for _ in range(draw(st.integers(0, 2 * n))):
        u, v = sorted(draw(st.lists(st.integers(0, n - 1), min_size=2, max_size=2, unique=True)))
        edges[(u, v)] = draw(st.integers(0, 20))
    u, v = zip(*edges)
    return n, np.array(u), np.array(v), np.array([edges[e] for e in edges], dtype=float)


def _make(kind, n):
    p = max(1, n // 4)
    return {"pmedian": PMedian(p, random_state=0), "pcenter": PCenter(p, random_state=0),
            "facility": FacilityLocation(5.0, random_state=0)}[kind]


def _objective(kind, est, D, w):
    d = D[:, est.facilities_].min(axis=1)
    c = w > 0
    if kind == "pmedian":
        return float((w[c] * d[c]).sum())
    if kind == "pcenter":
        return float(d[c].max())
    return est.facility_cost_ + float((w[c] * d[c]).sum())


@pytest.mark.parametrize("kind", ["pmedian", "pcenter", "facility"])
@settings(max_examples=25, deadline=None)
@given(g=_graphs(), data=st.data())
def test_graph_score_and_transform_match_floyd_warshall(kind, g, data):
    n, u, v, w = g
    graph = Graph.from_edges(u, v, w, n_vertices=n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = _make(kind, n).fit(graph)
    D = floyd_warshall(graph.to_scipy(), directed=False)
    T = est.transform(graph)
    np.testing.assert_allclose(T, D[:, est.facilities_])
    np.testing.assert_allclose(T.min(axis=1), est.distances_)
    assert est.score(graph) == pytest.approx(-est.cost_) == pytest.approx(-_objective(kind, est, D, np.ones(n)))
    # the same vertices with other edge lengths (travel times), and another demand
    w2 = np.array(data.draw(st.lists(st.integers(0, 30), min_size=w.size, max_size=w.size)), dtype=float)
    other = Graph.from_edges(u, v, w2, n_vertices=n)
    D2 = floyd_warshall(other.to_scipy(), directed=False)
    np.testing.assert_allclose(est.transform(other), D2[:, est.facilities_])
    demand = np.array(data.draw(st.lists(st.integers(0, 5), min_size=n, max_size=n)), dtype=float)
    if demand.sum() == 0:
        demand[0] = 1.0
    assert est.score(other, demand=demand) == pytest.approx(-_objective(kind, est, D2, demand))


def test_graph_score_needs_the_fitted_vertices_and_a_fit():
    graph = Graph.from_edges([0, 1, 2], [1, 2, 3], [1.0, 2.0, 3.0])
    with pytest.raises(AttributeError, match="call fit first"):
        PMedian(2).score(graph)
    est = PMedian(2, random_state=0).fit(graph)
    with pytest.raises(ValueError, match="graph has 3 vertices, but PMedian was fitted on a graph with 4"):
        est.transform(Graph.from_edges([0, 1], [1, 2], [1.0, 1.0]))
    with pytest.raises(TypeError, match="expects a bigclust.graph.Graph"):
        est.score(np.zeros((4, 4)))
    with pytest.raises(ValueError, match="negative"):
        est.score(graph, demand=[1.0, -1.0, 1.0, 1.0])


def test_graph_node_ids_must_match():
    nx = pytest.importorskip("networkx")
    G = nx.path_graph(["a", "b", "c", "d"])
    H = nx.path_graph(["a", "b", "c", "x"])
    est = PMedian(2, random_state=0).fit(Graph.from_networkx(G))
    assert est.score(Graph.from_networkx(G)) == -est.cost_
    with pytest.raises(ValueError, match="node ids differ"):
        est.score(Graph.from_networkx(H))


def test_graph_contract_what_does_not_apply():
    """A graph has vertices and edges, no feature columns: no n_features_in_ / feature_names_in_
    (documented in ClusteringResultMixin and docs/graph.md)."""
    graph = Graph.from_edges([0, 1, 2], [1, 2, 3], [1.0, 2.0, 3.0])
    for est in (PMedian(2, random_state=0), PCenter(2, random_state=0), FacilityLocation(1.0, random_state=0)):
        est.fit(graph)
        assert not hasattr(est, "n_features_in_") and not hasattr(est, "feature_names_in_")
        np.testing.assert_array_equal(est.fit_predict(graph), est.assignment_)
