"""LSHTreeKMeans(engine="spark"): same answer as the local engine, faults, DataFrame I/O, bad input.

Spark runs in local mode; one session is started for the test session (conftest.py). Fits are
kept small (a few hundred points) because every scale is a handful of Spark
jobs; speed and rounds at scale are measured in benchmarks/spark_*.py.
"""

import numpy as np
import pytest

pyspark = pytest.importorskip("pyspark")

from bigclust import LSHTreeKMeans, LSHTreeKMedian  # noqa: E402
from bigclust.datasets import make_planted_mixture  # noqa: E402
from bigclust.lshtree._spark._faults import injected_faults  # noqa: E402

pytestmark = pytest.mark.spark

# few scales (ratio 1.3) and small subtrees so that Algorithm 7 runs several iterations
KW = dict(method="exact", scale_ratio=1.3, refine=0, random_state=7)  # refine: test_spark_refine.py
OPTS = {"num_partitions": 2, "subtree_leaves": 8}


@pytest.fixture(scope="module")
def planted():
    X, y, _ = make_planted_mixture(400, 4, 5, random_state=11)
    # two exact duplicates: dedup and the canonical order must agree across engines
    return np.vstack([X, X[:2]])


@pytest.fixture(scope="module")
def local_fit(planted):
    return LSHTreeKMeans(5, **KW).fit(planted)


def _assert_same_fit(a, b):
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_array_equal(a.cost_curve_, b.cost_curve_)  # every DP table entry of the root, bit for bit
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    assert a.inertia_ == b.inertia_


def test_spark_equals_local_with_injected_task_faults(spark, planted, local_fit):
    """Every step's first task fails once; Spark retries it and the answer is the local engine's."""
    est = LSHTreeKMeans(5, engine="spark", spark_options=OPTS, **KW)
    with injected_faults(spark, "hash", "bucket", "verify", "tree", "dp"):
        est.fit(planted)
    _assert_same_fit(local_fit, est)
    r = est.report_
    assert r["engine"] == "spark" and r["n_scales"] == local_fit.report_["n_scales"]
    assert r["tree_info"]["scales_skipped"] > 0 and local_fit.report_["tree_info"]["scales_skipped"] > 0
    assert r["tree_nodes"] == local_fit.report_["tree_nodes"]
    assert r["dp"]["dp_iterations"] >= 3  # 402 leaves, 8 per shipped subtree
    s = r["spark"]
    assert s["mpc_rounds"] == r["mpc_rounds"] > 0 and s["spark_jobs"] > 0 and s["spark_stages"] >= s["spark_jobs"]
    assert sum(s["mpc_rounds_by_step"].values()) == s["mpc_rounds"]
    assert r["tree_info"]["scales_buckets_joined"] == 0  # every scale's mixed buckets were shipped to the tasks
    assert s["shuffle_bytes_written"] is None or s["shuffle_bytes_written"] > 0
    # what Spark ran, beside the algorithm's count (docs/spark.md, "What Spark ran"); measured here:
    # 138 rounds, 602 jobs, 1,058 stages of which 606 ran and 388 moved shuffle data
    assert s["spark_counts_complete"] is True
    if s["spark_stages_run"] is not None:  # None when the driver UI is unavailable
        assert s["spark_stages"] >= s["spark_stages_run"] >= s["spark_stages_with_shuffle"] >= s["mpc_rounds"]
    assert set(r["time"]) >= {"dedup", "tree", "dp", "labels"}


def test_fit_runs_under_the_watchdog_of_its_options(spark, monkeypatch):
    """``spark_options["worker_idle_timeout"]`` reaches the watchdog around the whole fit (the watchdog
    itself: test_stalled_python_worker_is_killed_and_its_task_retried in test_spark_dp.py)."""
    from bigclust.lshtree._spark import _engine

    seen = []

    class Stop(Exception):
        pass

    def watchdog(spark_, seconds):
        seen.append(seconds)
        raise Stop

    monkeypatch.setattr(_engine, "python_worker_watchdog", watchdog)
    X = np.random.default_rng(0).normal(size=(20, 2))
    for opts, expect in (({"worker_idle_timeout": 37}, 37), ({}, _engine.DEFAULT_OPTIONS["worker_idle_timeout"])):
        with pytest.raises(Stop):
            LSHTreeKMeans(2, engine="spark", spark_options=opts).fit(X)
        assert seen[-1] == expect


def test_python_worker_watchdog_restores_the_session(spark):
    from bigclust.lshtree._spark._session import python_worker_watchdog

    keys = ("spark.sql.execution.pyspark.udf.idleTimeoutSeconds", "spark.sql.execution.pyspark.udf.killOnIdleTimeout")
    spark.conf.set(keys[0], "7")
    try:
        with python_worker_watchdog(spark, 99):
            assert spark.conf.get(keys[0]) == "99" and spark.conf.get(keys[1]) == "true"
        assert spark.conf.get(keys[0]) == "7" and spark.conf.get(keys[1], None) is None
        with pytest.raises(KeyError):  # restored on error too
            with python_worker_watchdog(spark, 5):
                raise KeyError("x")
        assert spark.conf.get(keys[0]) == "7"
        with pytest.raises(RuntimeError) as err:  # Spark's message when every attempt timed out
            with python_worker_watchdog(spark, 30):
                raise RuntimeError("Python worker process terminated due to idle timeout (timeout: 30 seconds)")
        assert "spark_options['worker_idle_timeout']" in "".join(err.value.__notes__)
        with python_worker_watchdog(spark, None):  # None: the session as it is
            assert spark.conf.get(keys[0]) == "7" and spark.conf.get(keys[1], None) is None
    finally:
        spark.conf.unset(keys[0])


def test_distributed_components_give_the_same_tree(spark, monkeypatch):
    """Distributed contraction (forced by local_cc_max_edges=0) finds the same components, and joining
    every point's keys with the mixed buckets in Spark (forced: none shipped to the tasks) the same edges."""
    from bigclust.lshtree._spark import _tree

    X, _, _ = make_planted_mixture(150, 3, 4, random_state=5)
    kw = dict(KW, scale_ratio=2.0)  # 11 scales (1.3: 23): the paths are what is tested, each scale is Spark jobs
    monkeypatch.setattr(_tree, "_BROADCAST_BUCKETS", -1)
    est = LSHTreeKMeans(4, engine="spark", spark_options=dict(OPTS, local_cc_max_edges=0), **kw).fit(X)
    _assert_same_fit(LSHTreeKMeans(4, **kw).fit(X), est)
    assert est.report_["tree_info"]["components_rounds"] >= 1
    # every scale with a mixed bucket took the joined path: two bucket and two verify rounds each (else
    # one and one); a pass over the points that found no mixed bucket stops after its one bucket round
    rounds = est.report_["spark"]["mpc_rounds_by_step"]
    info = est.report_["tree_info"]
    assert rounds["verify"] == 2 * info["scales_buckets_joined"] > 0
    assert rounds["bucket"] == info["bucket_passes"] + info["scales_buckets_joined"]
    assert info["bucket_passes"] > info["scales_buckets_joined"]


def test_dataframe_in_dataframe_out(spark):
    """ML-vector column and weights in, every input row out with its cluster; agrees with NumPy + sample_weight."""
    from pyspark.ml.linalg import Vectors

    X, _, _ = make_planted_mixture(300, 3, 4, random_state=5)
    w = np.random.default_rng(0).integers(0, 4, size=300).astype(float)
    w[:3] = 0.0  # zero-weight rows take no part in the fit and get their nearest centre
    rows = [(i, Vectors.dense(X[i]), float(w[i])) for i in range(300)] + [(300, Vectors.dense(X[10]), 2.0)]
    df = spark.createDataFrame(rows, ["rid", "vec", "wt"]).repartition(3)
    kw = dict(KW, scale_ratio=2.0)  # 11 scales (1.3: 23): the I/O is what is tested, each scale is Spark jobs
    est = LSHTreeKMeans(4, engine="spark", spark_options=dict(OPTS, input_col="vec", weight_col="wt",
                                                               prediction_col="cid"), **kw).fit(df)
    out = est.labels_.select("rid", "cid").toPandas().sort_values("rid")
    assert out.shape[0] == 301 and out["rid"].tolist() == list(range(301))
    labels = out["cid"].to_numpy()
    assert labels[300] == labels[10]  # the duplicate row

    Xn = np.vstack([X, X[10:11]])
    wn = np.r_[w, 2.0]
    loc = LSHTreeKMeans(4, **kw).fit(Xn, sample_weight=wn)
    np.testing.assert_array_equal(loc.labels_, labels)
    np.testing.assert_allclose(loc.cluster_centers_, est.cluster_centers_, rtol=1e-12)
    assert loc.inertia_ == pytest.approx(est.inertia_, rel=1e-12)


def test_bad_input_fails_before_work(spark):
    X = np.random.default_rng(0).normal(size=(50, 3))
    with pytest.raises(ValueError, match="engine"):
        LSHTreeKMeans(3, engine="dask").fit(X)
    with pytest.raises(ValueError, match="median_sample_size"):
        LSHTreeKMedian(3, engine="spark", median_sample_size=0).fit(X)
    with pytest.raises(ValueError, match="refine"):
        LSHTreeKMeans(3, engine="spark", refine=-1).fit(X)
    with pytest.raises(ValueError, match="worker_idle_timeout"):
        LSHTreeKMeans(3, engine="spark", spark_options={"worker_idle_timeout": 0}).fit(X)
    with pytest.raises(ValueError, match="unknown spark_options"):
        LSHTreeKMeans(3, engine="spark", spark_options={"inputcol": "x"}).fit(X)
    with pytest.raises(ValueError, match="NaN or inf"):
        LSHTreeKMeans(3, engine="spark").fit(np.r_[X, [[np.nan, 0, 0]]])
    with pytest.raises(TypeError, match="engine='spark'"):
        LSHTreeKMeans(3).fit(spark.createDataFrame([([1.0, 2.0],)], ["features"]))
    bad = spark.createDataFrame([([1.0, float("nan")],), ([1.0, 2.0],)], ["features"])
    with pytest.raises(ValueError, match="NaN or infinity"):
        LSHTreeKMeans(1, engine="spark").fit(bad)
    ragged = spark.createDataFrame([([1.0, 2.0],), ([1.0],)], ["features"])
    with pytest.raises(ValueError, match="different lengths"):
        LSHTreeKMeans(1, engine="spark").fit(ragged)
    ok = spark.createDataFrame([([1.0, 2.0],), ([3.0, 2.0],)], ["features"])
    with pytest.raises(ValueError, match="n_clusters"):
        LSHTreeKMeans(3, engine="spark").fit(ok)
    with pytest.raises(ValueError, match="not in the DataFrame"):
        LSHTreeKMeans(1, engine="spark", spark_options={"input_col": "vec"}).fit(ok)
    with pytest.raises(ValueError, match="dp_step"):
        LSHTreeKMeans(1, engine="spark", method="approx", dp_step=-1.0).fit(ok)
    with pytest.raises(ValueError, match="method"):
        LSHTreeKMeans(1, engine="spark", method="lagrange").fit(ok)
    # outside the local engine's bands (it rescales, the spark engine refuses), by name, never a value
    for rows in ([([1e200, 2.0],), ([-1e200, 2.0],)], [([0.0, 2.0],), ([2.0**-70, 2.0],)]):
        with pytest.raises(ValueError, match="largest column range") as err:
            LSHTreeKMeans(1, engine="spark").fit(spark.createDataFrame(rows, ["features"]))
        assert "1e+200" not in str(err.value) and "'features'" in str(err.value)
    heavy = spark.createDataFrame([([1.0, 2.0], 1e40), ([3.0, 2.0], 1e40)], ["features", "wt"])
    with pytest.raises(ValueError, match="the weight column 'wt' summing"):
        LSHTreeKMeans(1, engine="spark", spark_options={"weight_col": "wt"}).fit(heavy)


def test_cli_engine_spark_reads_parquet_and_writes_labelled_rows(spark, tmp_path, capsys):
    import pandas as pd

    from bigclust.cli import main

    # two 5 x 4 lattices of spacing 0.1, 5 apart: 12 scales run (random points: 34; each is Spark jobs)
    g = np.array([(i % 5, i // 5) for i in range(20)], float) * 0.1
    X = np.vstack([g, g + 5])
    pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "name": [f"p{i}" for i in range(40)]}).to_parquet(tmp_path / "in.parquet")
    out = tmp_path / "out"
    assert main(["kmeans", str(tmp_path / "in.parquet"), "-k", "2", "--engine", "spark", "--columns", "a,b",
                 "--labels", str(out), "--quiet", "--refine", "2"]) == 0
    assert "mpc_rounds" in capsys.readouterr().out
    res = spark.read.parquet(str(out)).toPandas().sort_values("name", key=lambda s: s.str[1:].astype(int))
    assert res.shape[0] == 40 and set(res.columns) >= {"a", "b", "name", "cluster"}
    lab = res["cluster"].to_numpy()
    assert len(set(lab[:20])) == 1 and len(set(lab[20:])) == 1 and lab[0] != lab[20]
    assert main(["kmeans", str(tmp_path / "in.parquet"), "-k", "2", "--engine", "spark", "--zscore"]) == 2


def test_forced_root_matches_local(spark):
    """Coarse scales and one hash function leave several components at the last scale (Lemma 3.7's
    forced root P); both engines order its children by their smallest point and agree."""
    X, _, _ = make_planted_mixture(300, 3, 4, random_state=5)
    kw = dict(method="exact", scale_ratio=8.0, n_hashes=1, n_projections=10, refine=0, random_state=7)
    loc = LSHTreeKMeans(4, **kw).fit(X)
    assert loc.report_["tree_info"]["forced_root"]
    sp = LSHTreeKMeans(4, engine="spark", spark_options=OPTS, **kw).fit(X)
    assert sp.report_["tree_info"]["forced_root"]
    _assert_same_fit(loc, sp)


@pytest.mark.parametrize("pairs_per_pass", [64, 1])
def test_separation_bound_below_brute_force_and_equal_to_local(spark, pairs_per_pass):
    """The Spark separation bound that lets the sweep skip empty scales: never above the closest
    cross-component pair (brute force), and the local engine's bound up to the rounding margin.
    With one pair per pass and two passes it stops early and must still be a lower bound."""
    from scipy.spatial.distance import cdist

    from bigclust.lshtree._kernels.separation import separation_lower_bound as _separation_lower_bound
    from bigclust.lshtree._spark._session import SparkMeter
    from bigclust.lshtree._spark._tree import TreeJob, _TreeBuilder

    X, y, _ = make_planted_mixture(240, 3, 6, random_state=2)
    n = X.shape[0]
    root = np.array([np.flatnonzero(y == c).min() for c in y])  # each point's component: its smallest member
    points = spark.createDataFrame([(i, X[i].tolist(), 1.0) for i in range(n)], "id long, x array<double>, w double")
    labels = spark.createDataFrame([(i, int(root[i])) for i in range(n)], "id long, lab long")
    tb = _TreeBuilder(TreeJob(spark, points, n, 3, np.zeros(3), None, None, None, SparkMeter(spark), None, 2), 0)
    bound = tb._separation_bound(labels, pairs_per_pass=pairs_per_pass, max_passes=2)
    D = cdist(X, X)
    closest = D[root[:, None] != root[None, :]].min()
    assert 0 < bound <= closest
    local = _separation_lower_bound(X, root, 512)
    if pairs_per_pass == 64:
        assert bound == pytest.approx(local, rel=1e-8)
    else:
        assert bound <= local * (1 + 1e-8)


def _leaf_sets(left, right, n_leaves, ids):
    """{vertex id: frozenset of leaves} of a binary tree given child arrays indexed by position in ``ids``."""
    pos = {int(v): i for i, v in enumerate(ids)}
    memo = {}

    def leaves(v):
        if v in memo:
            return memo[v]
        i = pos[v]
        if left[i] < 0:
            memo[v] = frozenset([v])
        else:
            memo[v] = leaves(int(left[i])) | leaves(int(right[i]))
        return memo[v]

    import sys
    sys.setrecursionlimit(10000)
    return {int(v): leaves(int(v)) for v in ids}


def test_two_hop_spark_equals_local_vertex_for_vertex_with_faults(spark, planted, tmp_path):
    """candidates="two_hop": every step's first task fails once; the tree has the local engine's vertices
    (same leaf sets, same auxiliary flags, same node weights to rounding) and the fit the same partition.
    The tree takes a fixed number of rounds: the round log has no per-scale steps."""
    import pandas as pd

    kw = dict(KW, candidates="two_hop")
    loc = LSHTreeKMeans(5, **kw).fit(planted)
    est = LSHTreeKMeans(5, engine="spark", spark_options=dict(OPTS, workdir=str(tmp_path)), **kw)
    with injected_faults(spark, "extent", "hash", "verify", "tree", "dp"):
        est.fit(planted)
    np.testing.assert_array_equal(loc.labels_, est.labels_)
    np.testing.assert_allclose(est.cost_curve_, loc.cost_curve_, rtol=1e-12)
    np.testing.assert_allclose(est.cluster_centers_, loc.cluster_centers_, rtol=1e-12, atol=1e-12)
    assert est.report_["tree_info"] == loc.report_["tree_info"]
    assert est.report_["tree_info"]["n_candidates"] > 5

    nodes = pd.read_parquet(tmp_path / "nodes")
    t = loc.tree_
    n = planted.shape[0] - 2  # distinct points
    assert len(nodes) == t.parent.shape[0] == 2 * n - 1
    sp_sets = _leaf_sets(nodes["left"].to_numpy(), nodes["right"].to_numpy(), n, nodes["node"].to_numpy())
    lo_sets = _leaf_sets(t.children[:, 0], t.children[:, 1], n, np.arange(t.parent.shape[0]))
    sp = {sp_sets[int(v)]: (bool(a), c) for v, a, c in zip(nodes["node"], nodes["auxiliary"], nodes["cost"])}
    lo = {lo_sets[v]: (bool(t.auxiliary[v]), t.cost[v]) for v in range(t.parent.shape[0])}
    assert sp.keys() == lo.keys()
    for s, (aux, cost) in lo.items():
        assert sp[s][0] == aux
        assert sp[s][1] == pytest.approx(cost, rel=1e-9, abs=1e-9)
    steps = est.report_["spark"]["mpc_rounds_by_step"]
    assert not any(k.startswith("tree") and k != "tree: parents" for k in steps)  # no per-scale steps


def _two_hop_tree_rounds(report):
    return sum(v for k, v in report["spark"]["mpc_rounds_by_step"].items() if k.startswith("two-hop"))


def test_two_hop_rounds_do_not_grow_with_n_or_scales(spark):
    """With two-hop candidates the whole fit (tree, DP grouping by leaf paths, labels) takes the same
    number of rounds for 10x the points and 30+ more scales."""
    reports = []
    for n, ratio in ((200, 1.3), (2000, 1.1)):
        X, _, _ = make_planted_mixture(n, 4, 6, random_state=3)
        reports.append(LSHTreeKMeans(6, engine="spark", spark_options={"num_partitions": 2}, method="exact",
                                     scale_ratio=ratio, candidates="two_hop", refine=0, random_state=1).fit(X).report_)
    a, b = reports
    assert b["n_scales"] > a["n_scales"] + 20
    assert _two_hop_tree_rounds(a) == _two_hop_tree_rounds(b) == 26  # 28 with a forced root
    assert a["mpc_rounds"] == b["mpc_rounds"]
    assert a["spark"]["mpc_rounds_by_step"]["labels"] == 1


def test_two_hop_forced_root_matches_local(spark):
    X, _, _ = make_planted_mixture(300, 3, 4, random_state=5)
    kw = dict(method="exact", scale_ratio=2.0, n_hashes=1, n_projections=40, refine=0, random_state=1, candidates="two_hop")
    loc = LSHTreeKMeans(4, **kw).fit(X)
    assert loc.report_["tree_info"]["forced_root"]
    sp = LSHTreeKMeans(4, engine="spark", spark_options=OPTS, **kw).fit(X)
    assert sp.report_["tree_info"] == loc.report_["tree_info"]
    np.testing.assert_array_equal(loc.labels_, sp.labels_)
    np.testing.assert_allclose(sp.cost_curve_, loc.cost_curve_, rtol=1e-12)
