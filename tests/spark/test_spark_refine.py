"""``refine`` on the spark engine: Lloyd against a NumPy oracle, k-means|| independent of
partitioning and of task retries, and the whole fit against the local engine."""

import numpy as np
import pytest

pyspark = pytest.importorskip("pyspark")

from bigclust import LSHTreeKMeans  # noqa: E402
from bigclust.datasets import make_planted_mixture  # noqa: E402
from bigclust.lshtree._spark._faults import injected_faults  # noqa: E402
from bigclust.lshtree._spark._refine import kmeans_parallel_spark, lloyd_spark, nearest_center  # noqa: E402
from bigclust.lshtree._spark._session import SparkMeter  # noqa: E402

pytestmark = pytest.mark.spark


def _points(spark, X, w, P):
    import pandas as pd

    pdf = pd.DataFrame({"id": np.arange(X.shape[0], dtype=np.int64), "x": list(X), "w": w})
    df = spark.createDataFrame(pdf, "id long, x array<double>, w double").repartition(P, "id")
    return df.sortWithinPartitions("id").localCheckpoint()


def _lloyd_oracle(X, w, C, n_iter):
    """Plain Lloyd with dense distances; an empty cluster keeps its centre; stops when no centre moves."""
    C = C.copy()
    for _ in range(n_iter):
        lab = ((X[:, None, :] - C[None, :, :]) ** 2).sum(axis=2).argmin(axis=1)
        new = C.copy()
        for c in range(C.shape[0]):
            m = lab == c
            if w[m].sum() > 0:
                new[c] = (w[m, None] * X[m]).sum(axis=0) / w[m].sum()
        if np.array_equal(new, C):
            break
        C = new
    d2 = ((X[:, None, :] - C[None, :, :]) ** 2).sum(axis=2).min(axis=1)
    return C, float(np.dot(w, d2))


def test_nearest_center_matches_dense_distances():
    rng = np.random.default_rng(0)
    X, C = rng.normal(size=(5000, 7)) + 100.0, rng.normal(size=(300, 7)) + 100.0  # offset: the expansion's cancellation
    lab, d2 = nearest_center(X, C)
    D = ((X[:, None, :] - C[None, :, :]) ** 2).sum(axis=2)
    np.testing.assert_allclose(d2, D.min(axis=1), rtol=1e-12)
    np.testing.assert_allclose(D[np.arange(X.shape[0]), lab], D.min(axis=1), rtol=1e-9)  # ties only at rounding


@pytest.mark.parametrize("fault", [None, "refine"])
def test_lloyd_spark_equals_dense_oracle(spark, fault):
    """Weighted Lloyd on Spark (a zero-weight point, an empty cluster, a failing first task) equals the oracle."""
    rng = np.random.default_rng(5)
    X = np.vstack([rng.normal(0, 1, (150, 3)), rng.normal(6, 1, (150, 3))])
    w = rng.uniform(0.5, 2.0, X.shape[0])
    w[3] = 0.0
    C0 = np.vstack([X[[0, 1, 200]], [[50.0, 50.0, 50.0]]])  # the last centre gets no points
    pts = _points(spark, X, w, 3)
    for n_iter in (1, 4, 50):  # 50: stops early at a fixed point
        with injected_faults(spark, *([fault] if fault else [])):
            C, cost, passes, start = lloyd_spark(pts, C0, n_iter, 3, 2, SparkMeter(spark))
        C_ref, cost_ref = _lloyd_oracle(X, w, C0, n_iter)
        np.testing.assert_allclose(C, C_ref, rtol=1e-10, atol=1e-12)
        assert cost == pytest.approx(cost_ref, rel=1e-10)
        np.testing.assert_array_equal(C[3], C0[3])
        assert start == pytest.approx(_lloyd_oracle(X, w, C0, 0)[1], rel=1e-10)
        assert passes <= n_iter + 1
    assert passes < 50


def test_kmeans_parallel_independent_of_partitioning_and_retries(spark):
    rng = np.random.default_rng(8)
    X, _, _ = make_planted_mixture(600, 4, 12, random_state=2)
    w = rng.uniform(0.5, 1.5, X.shape[0])
    a, info_a = kmeans_parallel_spark(_points(spark, X, w, 1), X.shape[0], 12, 4, 99, 2, SparkMeter(spark))
    with injected_faults(spark, "refine"):
        b, info_b = kmeans_parallel_spark(_points(spark, X, w, 3), X.shape[0], 12, 4, 99, 2, SparkMeter(spark))
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
    assert info_a == info_b and info_a["kmeans_parallel_rounds"] == 5
    # every centre is a data point, and they are distinct
    assert a.shape == (12, 4) and np.unique(a, axis=0).shape[0] == 12
    assert (((a[:, None, :] - X[None, :, :]) ** 2).sum(axis=2).min(axis=1) < 1e-20).all()
    c, _ = kmeans_parallel_spark(_points(spark, X, w, 2), X.shape[0], 12, 4, 100, 2, SparkMeter(spark))
    assert not np.array_equal(a, c)  # the seed matters


def test_kmeans_parallel_when_candidates_are_few(spark):
    """k equal to the number of points: the sampling keeps every point; k distinct centres come back."""
    X = np.arange(8, dtype=np.float64).reshape(4, 2) ** 2
    C, _ = kmeans_parallel_spark(_points(spark, X, np.ones(4), 2), 4, 4, 2, 1, 2, SparkMeter(spark))
    assert sorted(map(tuple, C)) == sorted(map(tuple, X))


def _same_partition(a, b):
    pairs = set(zip(a.tolist(), b.tolist()))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


def test_refine_on_spark_whole_fit(spark):
    """Planted data: every start ends in the planted partition; labels are the nearest centres, the
    inertia is their exact cost, and the refine rounds are a fixed budget (not data-sized)."""
    X, y, _ = make_planted_mixture(300, 3, 4, random_state=4)
    kw = dict(method="exact", candidates="two_hop", refine=3, random_state=1)  # two-hop: a tree in 26 rounds
    est = LSHTreeKMeans(4, engine="spark", spark_options={"num_partitions": 2}, **kw)
    with injected_faults(spark, "refine"):
        est.fit(X)
    loc = LSHTreeKMeans(4, **kw).fit(X)
    assert _same_partition(est.labels_, loc.labels_) and _same_partition(est.labels_, y)
    D = ((X[:, None, :] - est.cluster_centers_[None, :, :]) ** 2).sum(axis=2)
    np.testing.assert_array_equal(est.labels_, D.argmin(axis=1))
    assert est.inertia_ == pytest.approx(D.min(axis=1).sum(), rel=1e-12)
    assert est.inertia_ == pytest.approx(loc.inertia_, rel=1e-9)
    r = est.report_["refine"]
    assert set(r["final_costs"]) == {"tree", "tree_coreset", "kmeans||"} and r["coreset_size"] == 160
    assert r["final_costs"][r["start"]] == est.inertia_ == min(r["final_costs"].values())
    for name, c in r["final_costs"].items():
        assert c <= r["start_costs"][name] * (1 + 1e-12)
    by_step = est.report_["spark"]["mpc_rounds_by_step"]
    assert by_step["refine: lloyd"] == sum(r["passes"].values()) <= 3 * (3 + 1)
    assert by_step["refine: k-means|| sample"] == r["kmeans_parallel_rounds"] == 5


def test_predict_labels_a_dataframe_where_it_lives(spark):
    """A model fitted locally labels a Spark DataFrame (ml Vector column, other columns kept) as predict(X) does."""
    from pyspark.ml.functions import array_to_vector
    from pyspark.sql import functions as F

    X, _, _ = make_planted_mixture(500, 3, 6, random_state=9)
    est = LSHTreeKMeans(6, random_state=0).fit(X[:200])
    rows = [(i, f"r{i}", [float(v) for v in x]) for i, x in enumerate(X)]
    df = spark.createDataFrame(rows, "i long, name string, a array<double>").repartition(3)
    df = df.withColumn("vec", array_to_vector("a")).drop("a")
    est.spark_options = {"input_col": "vec", "prediction_col": "label"}
    out = est.predict(df)
    assert out.columns == ["i", "name", "vec", "label"]
    got = out.select("i", "label").toPandas().sort_values("i")
    np.testing.assert_array_equal(got["label"].to_numpy(), est.predict(X))
    with pytest.raises(ValueError, match="already has a column"):
        est.predict(out)
    with pytest.raises(ValueError, match="features, but the model has 3"):
        est.predict(spark.createDataFrame([([1.0, 2.0],)], ["vec"]))
    with pytest.raises(ValueError, match="NaN or infinity"):
        est.predict(spark.createDataFrame([([1.0, 2.0, float("nan")],)], ["vec"]).select(F.col("vec")))
