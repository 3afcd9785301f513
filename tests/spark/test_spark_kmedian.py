"""LSHTreeKMedian(engine="spark"): Appendix D's k-median weights on Spark (bigclust.lshtree._spark._median).

One fit (a few hundred points, few scales) checked three ways: against the local
engine (same tree, same bottom-s samples, so the same medians bit for bit, the
same partition and DP curve), against brute force on the driver from the
vertex table Spark wrote (every vertex's cost is the exact weighted distance
sum to its stored median, every median is Weiszfeld on the vertex's bottom-s
sample, and the partition is the optimal pruning of those weights), and with
a failed first attempt of the median tasks (Spark's retry gives the same).
The two_hop branch (stored leaf paths) is fitted in test_spark_ml.py. Refinement (assign/Weiszfeld
passes) is checked pass by pass against NumPy here, and on a whole fit in test_spark_ml.py.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pyspark = pytest.importorskip("pyspark")

from bigclust import LSHTreeKMedian  # noqa: E402
from bigclust.datasets import make_planted_mixture  # noqa: E402
from bigclust.lshtree._spark._faults import injected_faults  # noqa: E402
from bigclust.lshtree._spark._median import _bottom_rows  # noqa: E402
from bigclust.lshtree.median import _bottom, sample_keys, vertex_median  # noqa: E402

pytestmark = pytest.mark.spark

S = 8  # sample size: most internal vertices are larger
KW = dict(method="exact", scale_ratio=2.0, refine=0, random_state=7, median_sample_size=S, weiszfeld_iter=30)


def _members(nodes, n):
    """Leaf ids below every vertex of the vertex table (children before parents)."""
    left = dict(zip(nodes["node"], nodes["left"]))
    right = dict(zip(nodes["node"], nodes["right"]))
    out = {}
    for v in sorted(nodes["node"], key=lambda v: int(nodes["size"][nodes["node"] == v].iloc[0])):
        out[v] = np.array([v]) if v < n else np.r_[out[left[v]], out[right[v]]]
    return out


def _optimal_pruning_curve(nodes, k):
    """best[v][j]: least total weight of a pruning of v's subtree into exactly j clusters (brute-force DP)."""
    rows = nodes.set_index("node")
    best = {}
    for v in rows.sort_values("size").index:
        r = rows.loc[v]
        b = np.full(k + 1, np.inf)
        b[1] = r["cost"]
        if r["left"] >= 0:
            bl, br = best[r["left"]], best[r["right"]]
            for a in range(1, k):
                for c in range(1, k + 1 - a):
                    b[a + c] = min(b[a + c], bl[a] + br[c])
        best[v] = b
    return best


def test_spark_kmedian_matches_local_and_brute_force(spark, tmp_path):
    X, _, _ = make_planted_mixture(150, 4, 5, random_state=11)
    w = np.random.default_rng(3).uniform(0.5, 2.0, X.shape[0])
    X, w = np.vstack([X, X[:2]]), np.r_[w, 1.0, 1.0]  # duplicates: merged, weights summed, in both engines
    loc = LSHTreeKMedian(5, **KW).fit(X, sample_weight=w)
    est = LSHTreeKMedian(5, engine="spark", spark_options={"num_partitions": 2, "workdir": str(tmp_path)}, **KW)
    with injected_faults(spark, "median"):
        est.fit(X, sample_weight=w)

    # the local engine's answer: same medians (bit for bit), partition and DP curve (costs summed in another order)
    np.testing.assert_array_equal(est.labels_, loc.labels_)
    np.testing.assert_array_equal(est.cluster_centers_, loc.cluster_centers_)
    np.testing.assert_allclose(est.cost_curve_, loc.cost_curve_, rtol=1e-12)
    assert est.inertia_ == pytest.approx(loc.inertia_, rel=1e-12)
    r = est.report_
    info = r["kmedian"]
    assert info["ancestor_iterations"] >= 2 and info["sample_size"] == S
    steps = r["spark"]["mpc_rounds_by_step"]
    assert steps["kmedian: sample and medians"] == 2 and steps["kmedian: cost"] == 3
    assert steps["kmedian: ancestors"] == 2 * info["ancestor_iterations"]  # docs/spark.md
    assert "weights" in r["time"]

    # brute force on the driver, from the vertex table Spark wrote
    nodes = spark.read.parquet(str(tmp_path / "nodes_kmedian")).toPandas()
    n = r["n_distinct"]
    leaves = nodes[nodes["node"] < n].set_index("node").sort_index()
    assert (leaves["left"] < 0).all() and (nodes[nodes["node"] >= n]["left"] >= 0).all()
    P = np.array(leaves["mean"].tolist())
    W = leaves["W"].to_numpy()
    keys = sample_keys(np.arange(n), info["sample_seed"])
    members = _members(nodes, n)
    sampled_out = 0
    for _, row in nodes[nodes["node"] >= n].iterrows():
        ids = members[row["node"]]
        assert ids.shape[0] == row["size"]
        m = np.asarray(row["mean"])
        assert row["cost"] == pytest.approx(float(np.sum(W[ids] * np.linalg.norm(P[ids] - m, axis=1))), rel=1e-12)
        sample = ids[np.argsort(keys[ids])][:S]  # bottom-S by key, in key order
        sampled_out += ids.shape[0] > S
        np.testing.assert_array_equal(m, vertex_median(P[sample], W[sample], 30))
    assert sampled_out > 10  # many vertices exceed the sample size
    best = _optimal_pruning_curve(nodes, 5)[int(nodes["node"][nodes["size"] == n].max())]
    assert est.inertia_ == pytest.approx(best[5], rel=1e-12)  # the optimal pruning of Spark's own weights
    np.testing.assert_allclose(est.cost_curve_, np.minimum.accumulate(best[1:]), rtol=1e-12)
    # the labels and centres carry that cost
    cost = np.sum(w * np.linalg.norm(X - est.cluster_centers_[est.labels_], axis=1))
    assert cost == pytest.approx(est.inertia_, rel=1e-12)


def test_weiszfeld_pass_equals_numpy(spark):
    """One k-median refinement pass on Spark: nearest centres, then per cluster one Weiszfeld step
    (sum w x/|x-m| / sum w/|x-m|, both merged across tasks), and the assignment's distance cost."""
    from bigclust.lshtree._spark._refine import _lloyd_pass
    from bigclust.lshtree._spark._session import SparkMeter

    rng = np.random.default_rng(5)
    X = rng.normal(size=(90, 3)) + np.repeat(np.eye(3) * 6, 30, axis=0)
    w = rng.uniform(0.5, 2.0, 90)
    C = X[[0, 31, 62, 1]] + 0.1  # four centres, one of them taking few points
    X[5] = C[0]  # a point at a centre: its distance counts as 1e-12, as the local Weiszfeld does
    pts = spark.createDataFrame([(i, X[i].tolist(), float(w[i])) for i in range(90)], "id long, x array<double>, w double")
    new, cost = _lloyd_pass(pts.repartition(3), C, 3, 2, SparkMeter(spark), kmedian=True)
    D = np.linalg.norm(X[:, None, :] - C[None, :, :], axis=2)
    lab = D.argmin(axis=1)
    dist = D[np.arange(90), lab]
    assert cost == pytest.approx(float(np.sum(w * dist)), rel=1e-12)
    for c in range(4):
        m = lab == c
        f = w[m] / np.maximum(dist[m], 1e-12)
        want = (f @ X[m]) / f.sum() if m.any() else C[c]
        np.testing.assert_allclose(new[c], want, rtol=1e-12)



@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 200)), min_size=1, max_size=120, unique=True),
       st.integers(0, 2**31 - 2), st.integers(1, 6), st.integers(1, 4))
def test_bottom_s_samples_merge(pairs, seed, s, n_tasks):
    """The Spark median sample: each task's bottom-s per vertex, merged and cut again, is each vertex's
    bottom-s by key (what the local engine's ``_bottom`` takes), however the pairs are split into tasks."""
    v = np.array([p[0] for p in pairs], np.int64)
    u = np.array([p[1] for p in pairs], np.int64)
    keys = sample_keys(np.arange(201), seed)
    assert np.unique(keys).shape[0] == 201  # a bijection of the id: no ties
    task = np.arange(v.shape[0]) % n_tasks
    kept = np.concatenate([np.flatnonzero(task == t)[_bottom_rows(v[task == t], u[task == t], keys[u[task == t]], s)]
                           for t in range(n_tasks)])
    final = kept[_bottom_rows(v[kept], u[kept], keys[u[kept]], s)]
    for vertex in np.unique(v):
        got = u[final][v[final] == vertex]
        got = got[np.argsort(keys[got])]
        members = u[v == vertex]
        np.testing.assert_array_equal(got, _bottom(members, keys, s))
        np.testing.assert_array_equal(got, members[np.argsort(keys[members])][:s])  # brute force
