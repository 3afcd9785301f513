"""The pruning DPs on Spark (Algorithm 7): exact (Algorithm 5) and approximate (Algorithm 6) against
the local engine's DPs on the same tree, the greedy splits against ``pruning.split_to_k``, and
``method="auto"`` switching to Algorithm 6."""

import math

import numpy as np
import pytest

pyspark = pytest.importorskip("pyspark")

from bigclust import LSHTreeKMeans  # noqa: E402
from bigclust.datasets import make_planted_mixture  # noqa: E402
from bigclust.lshtree.hierarchy import Hierarchy, labels_from_pruning  # noqa: E402
from bigclust.lshtree.pruning import approx_dp, exact_dp, split_to_k  # noqa: E402
from bigclust.lshtree._spark._faults import injected_faults  # noqa: E402
from bigclust.lshtree._spark._pruning import split_to_k_spark  # noqa: E402
from bigclust.lshtree._spark._session import SparkMeter  # noqa: E402

pytestmark = pytest.mark.spark

KW = dict(scale_ratio=1.3, refine=0, random_state=7)  # the tree and its DPs are what is tested
# 8 leaves per shipped subtree: 402 points take three iterations of Algorithm 7
OPTS = {"num_partitions": 2, "subtree_leaves": 8}


@pytest.fixture(scope="module")
def planted():
    X, _, _ = make_planted_mixture(400, 4, 5, random_state=11)
    return np.vstack([X, X[:2]])


def _hierarchy(tree):
    """The local engine's tree (``est.tree_``) as a ``Hierarchy`` for the pruning functions."""
    left, right = tree.children[:, 0], tree.children[:, 1]
    n_leaves = int((left < 0).sum())
    size = np.ones(left.shape[0], np.int64)
    for v in range(n_leaves, left.shape[0]):
        size[v] = size[left[v]] + size[right[v]]
    return Hierarchy(n_leaves, left, right, tree.parent, size, tree.scale, tree.auxiliary, tree.depth)


def _canon(labels):
    """Labels renumbered by first appearance, so equal partitions give equal arrays."""
    _, first, inv = np.unique(labels, return_index=True, return_inverse=True)
    rank = np.empty(first.shape[0], np.int64)
    rank[np.argsort(first)] = np.arange(first.shape[0])
    return rank[inv]


def _same_partition(a, b):
    np.testing.assert_array_equal(_canon(a), _canon(b))


def _both_prunings(spark, shipped, k, faults=(), opts=OPTS, **kw):
    """The local engine's ``_prune`` and the Spark engine's ``_prune`` on the same tree (``shipped``:
    the local tree with its weights and its copy in Spark, same vertex ids), the first task of every
    step in ``faults`` failing once. Both engines' fits call exactly these functions between the tree
    and the labels (full fits: test_spark_engine.py), so their agreement here is the engines' agreement."""
    from bigclust.lshtree._local import _prune as local_prune
    from bigclust.lshtree._spark._engine import _options, _prune as spark_prune

    H, w, tree, ntp = shipped[:4]
    params = LSHTreeKMeans(k, **dict(KW, **kw))._tree_params()
    local = local_prune(H, w, k, params)
    meter = SparkMeter(spark)
    with injected_faults(spark, *faults):
        got = spark_prune(spark, tree, ntp, k, params, _options(opts), meter)
    return local, got, meter


def test_exact_traceback_reaches_inputs_from_any_earlier_iteration(spark, planted_tree):
    """k = 40 over three iterations: the traceback meets finished children whose groups are two
    iterations back (a small child of a big vertex); every one is traced (regression: one was lost)."""
    (sel, curve, method, info), (got, got_curve, got_method, got_info), _ = _both_prunings(
        spark, planted_tree, 40, faults=("dp",), method="exact")
    assert got_info["dp_iterations"] == 3
    assert method == got_method == "exact"
    np.testing.assert_array_equal(np.sort(sel), np.sort(got))  # same vertex ids: the same pruning
    np.testing.assert_array_equal(curve, got_curve)  # every root table entry, bit for bit


@pytest.mark.parametrize("k,dp_step,faults", [(12, None, ()), (40, 0.5, ("dp",))])
def test_approx_equals_local_algorithm6_with_faults(spark, planted_tree, k, dp_step, faults):
    """Algorithm 6 by Algorithm 7 gives the local Algorithm 6 + greedy splits on the same tree; at
    k = 40 the first task of every DP step fails once (each failure costs a fresh Python worker, about
    as much as the step, so the k = 12 case runs without). ``dp_step=0.5`` makes the levels coarse,
    so the DP returns fewer than k clusters and the distributed greedy splits run. Both engines
    then keep the cheaper of Algorithm 6 and the Lagrangian relaxation (one DP policy), so the
    answer is the local engine's ``method="approx"`` answer."""
    H, w = planted_tree[:2]
    step = dp_step if dp_step is not None else 0.1 / (2 * H.depth)
    sel6, a_info = approx_dp(H, w, k, step)
    oracle = split_to_k(H, w, sel6, k)
    exact_sel, _, _ = exact_dp(H, w, k)
    (sel, curve, method, info), (got, got_curve, got_method, dp), _ = _both_prunings(
        spark, planted_tree, k, faults=faults, method="approx", dp_step=dp_step)
    assert method == got_method == "approx" and curve is None and got_curve is None
    assert dp["tree_depth"] == H.depth and dp["step"] == step
    # the root's table is the local one: same level, same weight, same count
    assert dp["n_levels"] == a_info["n_levels"] and dp["level_bound"] == a_info["level_bound"]
    assert dp["cost"] == a_info["cost"] and dp["clusters_from_dp"] == sel6.shape[0]
    assert dp["breakpoints"] == a_info["breakpoints"]
    assert dp["widest_table"] <= min(dp["n_levels"] + 1, k + 1)
    if dp_step is not None:
        assert sel6.shape[0] < k and dp["split_rounds"] >= 1
    # Algorithm 6 wins ties; the Lagrangian relaxation only a strictly cheaper pruning
    alg6_cost = math.fsum(w[oracle])
    assert dp["source"] == ("algorithm6" if alg6_cost <= dp["lagrangian"]["cost"] else "lagrangian")
    for key in ("source", "guarantee", "certified_gap", "step", "exact_entries", "exact_work", "lagrangian"):
        assert dp[key] == info[key], key
    if dp["source"] == "algorithm6":
        assert dp["guarantee"] == (1.1 if dp_step is None else 1.5 ** H.depth)
        np.testing.assert_array_equal(np.sort(got), np.sort(oracle))
    np.testing.assert_array_equal(np.sort(got), np.sort(sel))
    assert got.shape == (k,)
    # within the guarantee of the optimal pruning (the exact DP on the same tree)
    best, cost = math.fsum(w[exact_sel]), math.fsum(w[got])
    assert best <= cost * (1 + 1e-12) <= best * dp["guarantee"] * (1 + 1e-12)


def _ntp(spark, H, w):
    rows = [(int(v), int(H.left[v]), int(H.right[v]), float(w[v])) for v in range(H.n_nodes)]
    return spark.createDataFrame(rows, "node long, left long, right long, cost double")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_split_to_k_spark_equals_split_to_k(spark, seed):
    """Random weights (gains of any sign order, many ties broken by id) on a random tree: the
    batched greedy with fetched children makes exactly the local greedy's splits."""
    rng = np.random.default_rng(seed)
    n = 60
    left, right = -np.ones(2 * n - 1, np.int64), -np.ones(2 * n - 1, np.int64)
    roots = list(range(n))
    for v in range(n, 2 * n - 1):
        a, b = rng.choice(len(roots), 2, replace=False)
        left[v], right[v] = roots[a], roots[b]
        roots = [r for i, r in enumerate(roots) if i not in (a, b)] + [v]
    parent = -np.ones(2 * n - 1, np.int64)
    parent[left[n:]] = np.arange(n, 2 * n - 1)
    parent[right[n:]] = np.arange(n, 2 * n - 1)
    size = np.ones(2 * n - 1, np.int64)
    for v in range(n, 2 * n - 1):
        size[v] = size[left[v]] + size[right[v]]
    H = Hierarchy(n, left, right, parent, size, np.zeros(2 * n - 1), np.zeros(2 * n - 1, bool), 0)
    w = rng.integers(0, 5, 2 * n - 1).astype(np.float64) * rng.random()  # ties on purpose
    w[:n] = 0.0
    ntp = _ntp(spark, H, w).localCheckpoint()
    for n_random_splits, k in [(0, 1), (0, 7), (0, n), (4, 30)]:
        start = {H.root}  # a pruning: the root split at random vertices
        for _ in range(n_random_splits):
            v = int(rng.choice(sorted(u for u in start if u >= n)))
            start = (start - {v}) | {int(left[v]), int(right[v])}
        start = np.array(sorted(start), np.int64)
        expect = split_to_k(H, w, start, k)
        got, rounds = split_to_k_spark(spark, ntp, start, k, SparkMeter(spark))
        np.testing.assert_array_equal(got, expect)
        assert len(got) == max(k, start.shape[0])
        assert rounds <= len(got)


def test_stalled_python_worker_is_killed_and_its_task_retried(spark, planted_tree):
    """The first DP task's worker goes silent for an hour; the watchdog kills it after 20 s, Spark
    retries the task, the answer is the local engine's, and the session's settings are restored."""
    import time

    from bigclust.lshtree._spark._session import python_worker_watchdog

    key = "spark.sql.execution.pyspark.udf.idleTimeoutSeconds"
    assert spark.conf.get(key, None) is None
    t0 = time.perf_counter()
    with python_worker_watchdog(spark, 20):  # one shipped subtree: the DP is one stage, so the hang costs 20 s once
        (sel, curve, _, _), (got, got_curve, _, _), _ = _both_prunings(
            spark, planted_tree, 5, faults=("dp:hang",), opts=dict(OPTS, subtree_leaves=65536), method="exact")
    assert time.perf_counter() - t0 < 600  # without the watchdog the hang lasts 3,600 s
    np.testing.assert_array_equal(np.sort(sel), np.sort(got))
    np.testing.assert_array_equal(curve, got_curve)
    assert spark.conf.get(key, None) is None and spark.conf.get("spark.sql.execution.pyspark.udf.killOnIdleTimeout") == "false"


def test_auto_runs_algorithm6_when_exact_tables_are_too_big(spark, planted, planted_tree, monkeypatch):
    """``method="auto"`` on Spark: the exact DP up to a table budget, above it the Lagrangian
    relaxation and Algorithm 6 unless the relaxation's certificate answered (then ``report_``
    says "lagrangian" and names no Algorithm 6 step); ``method="exact"`` above it fails with a
    clear message."""
    import bigclust.lshtree._params as P

    H, w = planted_tree[:2]
    exact_sel, _, _ = exact_dp(H, w, 5)
    monkeypatch.setattr(P, "EXACT_MAX_ENTRIES", 100)
    (sel, _, method, info), (got, _, got_method, dp), _ = _both_prunings(spark, planted_tree, 5, method="auto")
    assert dp["exact_entries"] > 100 and got_method == method
    if got_method == "lagrangian":
        assert dp["ran"] == ["lagrangian"] and dp["lagrangian"]["exact"] and "step" not in dp
    else:
        assert got_method == "approx" and dp["ran"] == ["lagrangian", "algorithm6"] and "step" in dp
    assert dp["ran"] == info["ran"]
    np.testing.assert_array_equal(np.sort(got), np.sort(sel))
    np.testing.assert_array_equal(np.sort(got), np.sort(exact_sel))  # planted and resilient: the optimum
    with pytest.raises(MemoryError, match="method='approx'"):
        _both_prunings(spark, planted_tree, 5, method="exact")
    monkeypatch.setattr(P, "EXACT_MAX_ENTRIES", 10)  # 60 points: 256 entries, above 4 x 10
    with pytest.raises(MemoryError, match="method='approx'"):  # the whole fit refuses too, before the DP
        LSHTreeKMeans(5, method="exact", engine="spark", spark_options=OPTS,
                      **dict(KW, scale_ratio=4.0)).fit(planted[:60])


def test_approx_with_two_hop_tree_uses_the_stored_paths(spark, planted):
    """With ``candidates="two_hop"`` the depth comes from the stored leaf paths (no extra pass)."""
    kw = dict(KW, candidates="two_hop")
    local = LSHTreeKMeans(8, method="exact", **kw).fit(planted)
    H = _hierarchy(local.tree_)
    sel, _ = approx_dp(H, local.tree_.cost, 8, 0.1 / (2 * H.depth))
    oracle = split_to_k(H, local.tree_.cost, sel, 8)
    est = LSHTreeKMeans(8, method="approx", engine="spark", spark_options=OPTS, **kw).fit(planted)
    assert est.report_["dp"]["tree_depth"] == H.depth
    assert est.report_["spark"]["mpc_rounds_by_step"]["dp: depth"] == 1
    _same_partition(labels_from_pruning(H, oracle)[local.tree_.leaf_of_sample], est.labels_)


UNIFORM_KW = dict(scale_ratio=1.6, refine=0, random_state=5)  # few scales: the tree is not what is tested


@pytest.fixture(scope="module")
def uniform_tree(spark, tmp_path_factory):
    """Uniform points (not perturbation-resilient, so the two approximate DPs differ), their local tree
    and its copy in Spark (same vertex ids)."""
    X = np.random.default_rng(3).uniform(size=(240, 3))
    local = LSHTreeKMeans(12, method="exact", **UNIFORM_KW).fit(X)
    H, w = _hierarchy(local.tree_), local.tree_.cost
    tree, ntp = _spark_tree(spark, tmp_path_factory.mktemp("uniform") / "nodes", H, w)
    return H, w, tree, ntp, X


@pytest.mark.parametrize("method,budget", [("exact", None), ("approx", None), ("auto", 100)])
def test_every_method_gives_the_local_pruning_bit_for_bit(spark, uniform_tree, method, budget, monkeypatch):
    """One DP policy for both engines: "exact", "approx" and "auto" above the table budget (Algorithm 6
    beside the Lagrangian relaxation) choose the same vertices with the same report, on data that is not
    perturbation-resilient (uniform points), where the two approximate DPs differ."""
    import bigclust.lshtree._params as P

    if budget is not None:
        monkeypatch.setattr(P, "EXACT_MAX_ENTRIES", budget)
    (sel, curve, m, info), (got, got_curve, got_m, got_info), _ = _both_prunings(
        spark, uniform_tree, 12, opts={"num_partitions": 2}, method=method, **UNIFORM_KW)
    np.testing.assert_array_equal(np.sort(sel), np.sort(got))
    assert m == got_m == ("exact" if method == "exact" else "approx")
    if curve is not None:
        np.testing.assert_array_equal(curve, got_curve)
    for key in ("source", "guarantee", "certified_gap", "step", "exact_entries", "exact_work", "lagrangian"):
        assert info.get(key) == got_info.get(key), key


def test_whole_fit_above_the_table_budget_is_the_local_fit(spark, uniform_tree, monkeypatch):
    """The whole fit (tree, policy, labels, centres) above the budget: the local fit bit for bit."""
    import bigclust.lshtree._params as P

    monkeypatch.setattr(P, "EXACT_MAX_ENTRIES", 100)
    X = uniform_tree[4]
    loc = LSHTreeKMeans(12, method="auto", **UNIFORM_KW).fit(X)
    # one shipped subtree (Algorithm 7 over several is tested above): the policy is what is tested here
    est = LSHTreeKMeans(12, method="auto", engine="spark", spark_options={"num_partitions": 2}, **UNIFORM_KW).fit(X)
    np.testing.assert_array_equal(loc.labels_, est.labels_)
    np.testing.assert_array_equal(loc.cluster_centers_, est.cluster_centers_)
    assert loc.inertia_ == est.inertia_
    assert loc.report_["method"] == est.report_["method"] == "approx"
    for key in ("source", "guarantee", "certified_gap", "step", "exact_entries", "exact_work", "lagrangian"):
        assert loc.report_["dp"].get(key) == est.report_["dp"].get(key), key


# --------------------------------------------------------------------------- Lagrangian relaxation by Algorithm 7


def _spark_tree(spark, path, H, w):
    """A local tree ``H`` with weights ``w`` as the Spark engine's vertex table (same vertex ids) and its ``ntp``."""
    from bigclust.lshtree._spark._pruning import tree_with_parents
    from bigclust.lshtree._spark._tree import SparkTree

    rows = [(int(v), int(H.left[v]), int(H.right[v]), int(H.size[v]), float(w[v])) for v in range(H.n_nodes)]
    spark.createDataFrame(rows, "node long, left long, right long, size long, cost double").write.parquet(str(path))
    tree = SparkTree(str(path), H.n_leaves, H.n_nodes, H.root)
    return tree, tree_with_parents(spark, tree)


def _same_info(a, b):
    """The same keys and, bit for bit, the same values."""
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], (bool, np.bool_)):
            assert type(a[key]) is type(b[key]) and a[key] == b[key], key
        elif isinstance(a[key], float):
            assert float(a[key]).hex() == float(b[key]).hex(), (key, a[key], b[key])
        else:
            assert a[key] == b[key], key


@pytest.fixture(scope="module")
def planted_tree(spark, planted, tmp_path_factory):
    """The local tree of ``planted`` with its k-means weights, in Spark, and a ``k`` where no penalty
    gives exactly ``k`` clusters (the relaxation falls back to greedy splits)."""
    from bigclust.lshtree.pruning import lagrangian_dp

    local = LSHTreeKMeans(5, method="exact", **KW).fit(planted)
    H, w = _hierarchy(local.tree_), local.tree_.cost
    missed = [k for k in range(2, 120) if not lagrangian_dp(H, w, k)[1]["exact"]]
    assert missed, "the planted tree should have a k no penalty hits"
    tree, ntp = _spark_tree(spark, tmp_path_factory.mktemp("lag") / "nodes", H, w)
    return H, w, tree, ntp, missed[0]


@pytest.mark.parametrize("case,subtree_leaves,speculation,bands", [("penalty hits k", 8, 8, 3),
                                                                   ("no penalty hits k", 24, 10, 2)])
def test_lagrangian_spark_equals_local_bit_for_bit(spark, planted_tree, case, subtree_leaves, speculation, bands):
    """Algorithm 7's bottom-up passes with speculative bisection give the local ``lagrangian_dp``: the
    same penalties, vertices, bound and counts, in ceil(steps / speculation) passes (+1 for the selection)."""
    from bigclust.lshtree._spark._pruning import lagrangian_dp_spark
    from bigclust.lshtree.pruning import lagrangian_dp

    H, w, tree, ntp, k_missed = planted_tree
    k = 5 if case == "penalty hits k" else k_missed
    sel, info = lagrangian_dp(H, w, k)
    assert info["exact"] == (case == "penalty hits k")
    meter, stats = SparkMeter(spark), {}
    got, got_info = lagrangian_dp_spark(spark, tree, ntp, k, subtree_leaves, meter, speculation=speculation,
                                        stats=stats)
    np.testing.assert_array_equal(got, sel)
    _same_info(got_info, info)
    assert stats["dp_iterations"] == bands and stats["speculation"] == speculation
    assert stats["evaluation_passes"] == -(-info["iterations"] // speculation)
    assert meter.round_log["dp: ship subtrees"] == bands * (stats["evaluation_passes"] + 1)
    if not info["exact"]:
        assert info["iterations"] > speculation and stats["split_rounds"] >= 1


def test_lagrangian_spark_with_ties_and_faults(spark, tmp_path):
    """A random tree where many vertices weigh exactly their children, so the count at a penalty depends
    on the tie rule and k = 15 is hit only with ties to the children; 8 leaves per subtree (two
    iterations), 6 bisection steps per pass, and the first task of every DP step failing once."""
    from bigclust.lshtree._spark._pruning import lagrangian_dp_spark
    from bigclust.lshtree.pruning import lagrangian_dp, lagrangian_search

    rng = np.random.default_rng(1)
    n = 40
    left, right = -np.ones(2 * n - 1, np.int64), -np.ones(2 * n - 1, np.int64)
    roots = list(range(n))
    for v in range(n, 2 * n - 1):
        a, b = rng.choice(len(roots), 2, replace=False)
        left[v], right[v] = roots[a], roots[b]
        roots = [r for i, r in enumerate(roots) if i not in (a, b)] + [v]
    size = np.ones(2 * n - 1, np.int64)
    for v in range(n, 2 * n - 1):
        size[v] = size[left[v]] + size[right[v]]
    H = Hierarchy(n, left, right, -np.ones(2 * n - 1, np.int64), size, np.zeros(2 * n - 1), np.zeros(2 * n - 1, bool), 0)
    w = np.zeros(2 * n - 1)
    for v in range(n, 2 * n - 1):
        w[v] = w[left[v]] + w[right[v]] + rng.integers(0, 3)
    k = 15
    sel, info = lagrangian_dp(H, w, k)
    assert info["exact"]
    tree, ntp = _spark_tree(spark, tmp_path / "nodes", H, w)
    stats = {}
    with injected_faults(spark, "dp"):
        got, got_info = lagrangian_dp_spark(spark, tree, ntp, k, 8, SparkMeter(spark), speculation=6, stats=stats)
    np.testing.assert_array_equal(got, sel)
    _same_info(got_info, info)
    assert stats["dp_iterations"] == 2 and stats["evaluation_passes"] == -(-info["iterations"] // 6)

    def local_pass(lams):  # the tie rule of the answer: the search's own record
        from bigclust.lshtree._kernels.penalised import penalised_batch
        from bigclust.lshtree._kernels.subtree_dp import NO_INPUT, NO_OFFS, NO_VALS
        return penalised_batch(H.left, H.right, w, NO_INPUT, NO_OFFS, NO_VALS, lams, H.root)

    assert lagrangian_search(k, float(w[H.root]), n, local_pass)["fewer"] is False
