"""``LSHTreeKMeans(engine="spark")`` and ``LSHTreeKMedian(engine="spark")``: the whole fit as Spark stages.

What the driver holds: the parameters, the LSH directions (``d' x t m``
floats), per-scale scalars, the selected vertices and centres (``O(k d)``),
and the root's DP table (``O(k)``); with ``method="approx"``, the level
thresholds (``O(levels)``), the root's breakpoints and the ``O(k)`` vertex
rows of the greedy splits; with ``refine``, the starts' centres, the
tree coreset (``K <= 40 k`` means) and the k-means|| candidates (``O(k d)``);
per scale of the default tree, up to 2 M mixed buckets (collected with
``toArrow()``, shipped in the hashing tasks' closure) and, in the driver JVM,
up to 2 M broadcast merges (docs/spark.md lists everything, and every step
whose per-task memory grows with n).
Points, edges, components, tree vertices, DP tables of subtrees and labels stay in Spark (executors' memory, local
checkpoints, and Parquet under ``workdir``). With NumPy input the labels are
collected at the end (the caller already holds ``n`` rows in memory).

Stages (``report_["time"]``): ``distribute`` (NumPy input only), ``dedup``
(duplicate rows merged, ids in the local engine's canonical order),
``tree`` (Algorithms 1-4, :mod:`bigclust.lshtree._spark._tree`), ``weights`` (k-median only:
Appendix D's medians and costs, :mod:`bigclust.lshtree._spark._median`), ``dp`` (Algorithm 5
or 6 by Algorithm 7, :mod:`bigclust.lshtree._spark._pruning`), ``labels`` (pointer jumping to the
selected ancestor, then a join with the input rows), ``refine`` (optional:
Lloyd passes from three starts, or assign/Weiszfeld passes from two for k-median,
:mod:`bigclust.lshtree._spark._refine`; the labels are
then one map against the final centres).
"""

from __future__ import annotations

import contextlib
import math
import shutil
import tempfile

import numpy as np

from ..._core import validation as V
from ..._core.dedup import _row_hashes
from ..._core.exact_sum import add_rows, new_bins, sum_bins, trimmed
from ..._core.report import RunRecorder
from ._arrow import matrix
from .._kernels.subtree_dp import level_count
from .._params import EXACT_MAX_ENTRIES, EXACT_MAX_WORK, TreeParams, approx_method, approx_pruning, choose_method, choose_step
from ..result import FitResult
from ..refine import AUTO_MAX_PASSES, AUTO_REL_TOL
from ._refine import assign_task, nearest_center, refine_spark
from ._pruning import (approx_dp_spark, exact_dp_spark, labels_by_pointer_jumping, labels_from_paths, split_to_k_spark,
                       tree_with_parents)
from ._session import SparkMeter, check_workers, get_session, is_connect, python_worker_watchdog
from ._median import kmedian_tree_spark
from ._tree import TreeJob, build_hierarchy_spark
from ._two_hop import build_hierarchy_two_hop_spark

DEFAULT_OPTIONS = {
    "master": None,             # None: the active session, else local[*]
    "input_col": "features",    # array<float|double> or ml Vector column of a DataFrame input
    "weight_col": None,         # optional non-negative sample weights column
    "prediction_col": "cluster",
    "num_partitions": None,     # None: 2 x default parallelism
    "subtree_leaves": 65536,    # tau of Algorithm 7 (leaves per shipped subtree)
    "local_cc_max_edges": 5_000_000,  # components of at most this many edges are found in one task
    "workdir": None,            # Parquet of tree vertices; None: a temporary directory (local mode)
    "worker_idle_timeout": 600,  # seconds a Python worker may stay silent before its task is retried; None: off
    "refine_max_passes": None,  # refine="auto": at most this many Lloyd passes per start (None: 300, scikit-learn's)
}


def _options(spark_options):
    opts = dict(DEFAULT_OPTIONS)
    if spark_options is not None:
        if not isinstance(spark_options, dict):
            raise TypeError(f"spark_options must be a dict, got {type(spark_options).__name__}.")
        unknown = set(spark_options) - set(DEFAULT_OPTIONS)
        if unknown:
            raise ValueError(f"unknown spark_options {sorted(unknown)}; known: {sorted(DEFAULT_OPTIONS)}.")
        opts.update(spark_options)
    opts["subtree_leaves"] = V.check_int(opts["subtree_leaves"], "spark_options['subtree_leaves']", low=2)
    opts["local_cc_max_edges"] = V.check_int(opts["local_cc_max_edges"], "spark_options['local_cc_max_edges']", low=0)
    if opts["refine_max_passes"] is not None:
        opts["refine_max_passes"] = V.check_int(opts["refine_max_passes"], "spark_options['refine_max_passes']", low=1)
    if opts["worker_idle_timeout"] is not None:
        opts["worker_idle_timeout"] = V.check_int(opts["worker_idle_timeout"], "spark_options['worker_idle_timeout']",
                                                  low=1)
    return opts


def is_spark_dataframe(X) -> bool:
    mod = type(X).__module__
    return mod.startswith("pyspark.sql") and type(X).__name__ == "DataFrame"


def _features_as_array(df, col):
    """``col`` as array<double>, from array<float|double|int> or an ml/mllib Vector column."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import ArrayType, NumericType

    if col not in df.columns:
        raise ValueError(f"features column {col!r} not in the DataFrame (columns: {df.columns}); "
                         "name it with spark_options={'input_col': ...} (pyspark.ml: featuresCol).")
    dt = df.schema[col].dataType
    if isinstance(dt, ArrayType) and isinstance(dt.elementType, NumericType):
        return F.col(col).cast("array<double>")
    if type(dt).__name__ == "VectorUDT":
        from pyspark.ml.functions import vector_to_array

        return vector_to_array(F.col(col), "float64")
    raise TypeError(f"features column {col!r} has type {dt.simpleString()}; expected an array of numbers or an ml "
                    "Vector.")


def _check_dataframe(df, xcol, wcol, xname=None, wname=None, check_range=True):
    """Validation before any work: one aggregation for n, dimension, finiteness and weights.

    ``xname`` / ``wname`` are the user's column names, used in the messages (no data value is echoed).
    ``check_range``: also refuse data outside the local engine's bands (a second job), as a fit must.
    """
    from pyspark.sql import functions as F

    xname = xname or xcol
    wname = wname or wcol
    aggs = [F.count(F.lit(1)).alias("n"), F.min(F.size(xcol)).alias("dmin"), F.max(F.size(xcol)).alias("dmax"),
            F.sum(F.when(F.col(xcol).isNull(), 1).otherwise(0)).alias("nulls"),
            F.sum(F.when(F.exists(xcol, lambda v: v.isNull() | F.isnan(v) | (F.abs(v) == float("inf"))), 1)
                  .otherwise(0)).alias("bad")]
    if wcol is not None:
        aggs += [F.min(wcol).alias("wmin"), F.sum(F.when(F.col(wcol).isNull() | F.isnan(wcol), 1).otherwise(0)).alias("wbad"),
                 F.max(wcol).alias("wmax"), F.sum(wcol).alias("wsum")]
    r = df.agg(*aggs).first()
    n = int(r["n"])
    if n == 0:
        raise ValueError("the DataFrame has no rows; at least 1 is required.")
    if r["nulls"]:
        raise ValueError(f"the features column {xname!r} is null in {r['nulls']} rows.")
    if r["dmin"] != r["dmax"]:
        raise ValueError(f"the vectors of the features column {xname!r} have different lengths "
                         f"({r['dmin']} to {r['dmax']}).")
    if r["dmin"] == 0:
        raise ValueError(f"the vectors of the features column {xname!r} are empty (0 features).")
    if r["bad"]:
        raise ValueError(f"the features column {xname!r} contains NaN or infinity (or null elements) in {r['bad']} "
                         "rows.")
    if wcol is not None:
        if r["wbad"]:
            raise ValueError(f"the weight column {wname!r} has {r['wbad']} null or NaN values.")
        if r["wmin"] < 0:
            raise ValueError(f"the weight column {wname!r} holds negative values; weights must be non-negative.")
        if not np.isfinite(r["wmax"]):
            raise ValueError(f"the weight column {wname!r} holds infinite values; weights must be finite.")
    d = int(r["dmin"])
    if not check_range:
        return n, d
    # the engine does not rescale: the local engine's bands, from each column's min and max (one job)
    from .._local import spark_range_problem

    cols = df.select(xcol).mapInArrow(_column_range_task(d), "lo array<double>, hi array<double>").collect()
    lo = np.min([row["lo"] for row in cols], axis=0)
    hi = np.max([row["hi"] for row in cols], axis=0)
    problem = spark_range_problem(float(np.max(hi - lo)), float(max(np.max(np.abs(lo)), np.max(np.abs(hi)))),
                                  float(r["wsum"]) if wcol is not None else float(n),
                                  f"the features column {xname!r}", f"the weight column {wname!r}")
    if problem:
        raise ValueError(problem)
    return n, d


def _column_range_task(d):
    """Each task's column minima and maxima (+inf / -inf for an empty partition)."""
    def run(batches):
        import pyarrow as pa

        lo, hi = np.full(d, np.inf), np.full(d, -np.inf)
        for b in batches:
            if b.num_rows:
                M = matrix(b.column(0), d)
                np.minimum(lo, M.min(axis=0), out=lo)
                np.maximum(hi, M.max(axis=0), out=hi)
        yield pa.RecordBatch.from_arrays([pa.array([lo.tolist()], pa.list_(pa.float64())),
                                          pa.array([hi.tolist()], pa.list_(pa.float64()))], names=["lo", "hi"])
    return run


def _hash_task(d):
    def run(batches):
        import pyarrow as pa

        for b in batches:
            if b.num_rows == 0:
                continue
            X = matrix(b.column("x"), d) + 0.0
            yield pa.RecordBatch.from_arrays(
                [b.column("x"), b.column("w"), pa.array(_row_hashes(X.view(np.uint64)).view(np.int64))],
                names=["x", "w", "h"])
    return run


def _number_rows(df, spark, meter):
    """Add ``id`` = position in the current order (partition by partition), with a prefix sum over partition counts."""
    from pyspark.sql import functions as F
    import pyarrow as pa

    df = df.withColumn("_pid", F.spark_partition_id()).localCheckpoint()
    counts = dict((int(r[0]), int(r[1])) for r in df.groupBy("_pid").count().collect())
    offsets, acc = {}, 0
    for pid in sorted(counts):
        offsets[pid] = acc
        acc += counts[pid]
    meter.round("dedup: number rows", 2)
    names = [c for c in df.columns if c != "_pid"]

    def run(batches):
        from pyspark import TaskContext

        pos = offsets.get(TaskContext.get().partitionId(), 0)
        for b in batches:
            if b.num_rows == 0:
                continue
            ids = np.arange(pos, pos + b.num_rows, dtype=np.int64)
            pos += b.num_rows
            yield pa.RecordBatch.from_arrays([pa.array(ids)] + [b.column(c) for c in names], names=["id"] + names)

    schema = "id long, " + ", ".join(f"{f.name} {f.dataType.simpleString()}" for f in df.schema.fields if f.name != "_pid")
    return df.drop("_pid").mapInArrow(run, schema)


def _mean_task(d):
    """Each task's exact column sums ``(lo, width, bins)`` (:mod:`bigclust._core.exact_sum`): the mean then
    has the same bits as the local engine's however the points are partitioned."""
    def run(batches):
        import pyarrow as pa

        bins = new_bins(d)
        for b in batches:
            if b.num_rows:
                add_rows(bins, matrix(b.column("x"), d))
        lo, used = trimmed(bins)
        yield pa.RecordBatch.from_arrays([pa.array([lo], pa.int64()), pa.array([used.shape[1]], pa.int64()),
                                          pa.array([used.tobytes()], pa.binary())], names=["lo", "width", "bins"])
    return run


def fit_spark(X, sample_weight, params: TreeParams, rng: np.random.Generator, spark_options: dict | None) -> FitResult:
    """The LSH-tree fit as Spark stages; the same contract as the local engine (:func:`bigclust.lshtree._local.fit`).

    ``X`` is a Spark DataFrame (features in ``spark_options["input_col"]``) or a
    NumPy array; ``params`` are checked against the data's shape
    (:meth:`TreeParams.for_data`) and the input (on the cluster, one
    aggregation) before any work.
    """
    from pyspark import StorageLevel
    from pyspark.sql import functions as F
    from pyspark.sql.types import NumericType

    opts = _options(spark_options)
    numpy_input = not is_spark_dataframe(X)
    if not numpy_input:  # the schema first: no Spark job for a missing or mistyped column
        _features_as_array(X, opts["input_col"])
        if sample_weight is not None:
            raise ValueError("with a Spark DataFrame, pass weights as a column: spark_options={'weight_col': ...}.")
        if opts["weight_col"] is not None:
            if opts["weight_col"] not in X.columns:
                raise ValueError(f"weight column {opts['weight_col']!r} not in the DataFrame (columns: {X.columns}).")
            wtype = X.schema[opts["weight_col"]].dataType
            if not isinstance(wtype, NumericType):
                raise TypeError(f"weight column {opts['weight_col']!r} has type {wtype.simpleString()}; expected "
                                "numbers.")
    spark = get_session(opts["master"]) if numpy_input else X.sparkSession
    check_workers(spark)  # one one-row job: workers that cannot import bigclust fail here, in seconds
    run = RunRecorder(verbose=params.verbose)
    meter = SparkMeter(spark)
    P = opts["num_partitions"] or max(2, 2 * _default_parallelism(spark))
    workdir = opts["workdir"] or tempfile.mkdtemp(prefix="bigclust-spark-")
    own_workdir = opts["workdir"] is None
    with contextlib.ExitStack() as cleanup:  # the workdir goes even if setting the watchdog fails
        if own_workdir:
            cleanup.callback(shutil.rmtree, workdir, ignore_errors=True)
        cleanup.enter_context(python_worker_watchdog(spark, opts["worker_idle_timeout"]))
        with run.stage("distribute"):
            if numpy_input:
                Xn = V.check_points(X)
                n_rows, d = Xn.shape
                w = V.check_sample_weight(sample_weight, n_rows)
                import pandas as pd

                pdf = pd.DataFrame({"row": np.arange(n_rows, dtype=np.int64), "x": list(Xn.astype(np.float64)), "w": w})
                df = spark.createDataFrame(pdf, "row long, x array<double>, w double").repartition(P)
                xdtype = Xn.dtype
            else:
                wexpr = F.col(opts["weight_col"]).cast("double") if opts["weight_col"] else F.lit(1.0)
                df = X.select(_features_as_array(X, opts["input_col"]).alias("x"), wexpr.alias("w"))
                n_rows, d = _check_dataframe(df, "x", "w" if opts["weight_col"] else None, opts["input_col"],
                                             opts["weight_col"])
                xdtype = np.float64
        params = params.for_data(n_rows, d)

        with run.stage("dedup"):
            uniq = df.groupBy("x").agg(F.sum("w").alias("w"))  # Spark groups -0.0 with 0.0
            meter.round("dedup")
            uniq = uniq.mapInArrow(_hash_task(d), "x array<double>, w double, h long").localCheckpoint()
            zero_rows = uniq.where(F.col("w") <= 0).select("x")
            pos = uniq.where(F.col("w") > 0)
            # the local engine's canonical order: unsigned 64-bit row hash ascending
            ordered = pos.withColumn("hs", F.col("h").bitwiseXOR(F.lit(-(2**63)))).orderBy("hs").drop("hs", "h")
            meter.round("dedup: canonical order")
            points = _number_rows(ordered, spark, meter).repartition(P, "id").persist(StorageLevel.MEMORY_AND_DISK)
            n = points.count()
        k = params.n_clusters
        if k > n:
            V.warn_fewer_distinct(n, k)
            k = n

        with run.stage("project"):
            parts = points.select("x").mapInArrow(_mean_task(d), "lo long, width long, bins binary").collect()
            mean = sum_bins([(r["lo"], np.frombuffer(r["bins"], np.int64).reshape(d, r["width"])) for r in parts]) / n
            A = None
            if params.projection_dim is not None:
                A = rng.standard_normal((d, params.projection_dim)) / np.sqrt(params.projection_dim)

        with run.stage("tree"):
            job = TreeJob(spark, points, n, d, mean, A, params, rng, meter, workdir, P, run.progress)
            if params.candidates == "two_hop":
                tree = build_hierarchy_two_hop_spark(job)
            else:
                tree = build_hierarchy_spark(job, opts["local_cc_max_edges"])
        median_info = None
        if params.objective == "kmedian":
            with run.stage("weights"):  # Appendix D: the same tree, k-median weights and medians
                tree, median_info = kmedian_tree_spark(
                    spark, tree, points, d, params.median_sample_size, params.weiszfeld_iter,
                    int(rng.integers(2**31 - 1)), P, workdir, meter)
        with run.stage("tree"):
            ntp = tree_with_parents(spark, tree)
            meter.round("tree: parents")

        with run.stage("dp"):
            selected, exact_curve, method, dp_info = _prune(spark, tree, ntp, k, params, opts, meter)

        with run.stage("labels"):
            if tree.paths is not None:  # two-hop: every leaf's path is stored (Lemma 4.5)
                leaf_sel, label_rounds = labels_from_paths(tree.paths, selected, meter, spark)
            else:
                leaf_sel, label_rounds = labels_by_pointer_jumping(ntp, selected, meter, spark)
            leaf_sel = leaf_sel.localCheckpoint()
            firsts = leaf_sel.groupBy("sel").agg(F.min("id").alias("first")).collect()
            order = sorted(firsts, key=lambda r: r["first"])
            selected = np.array([int(r["sel"]) for r in order], np.int64)
            cluster_of = spark.createDataFrame([(int(v), c) for c, v in enumerate(selected)], "sel long, cluster long")
            nodes = spark.read.parquet(tree.path)
            sel_rows = {int(r["node"]): r for r in nodes.join(F.broadcast(cluster_of.select(F.col("sel").alias("node"))), "node")
                        .select("node", "mean", "cost").collect()}
            centers = np.array([sel_rows[int(v)]["mean"] for v in selected], np.float64).reshape(len(selected), d)
            cost_sel = np.array([sel_rows[int(v)]["cost"] for v in selected], np.float64)
            inertia = float(cost_sel.sum())

        refine_info = None
        if params.refine != 0:
            with run.stage("refine"):
                coreset_seed, kpar_seed = (int(rng.integers(2**31 - 1)) for _ in range(2))
                kmedian = params.objective == "kmedian"
                if kmedian:  # the coreset start clusters the tree's means by k-means: not a k-median start
                    coreset, skipped = None, "k-median"
                else:
                    coreset, skipped = _coreset_of_tree(spark, tree, ntp, k, n, opts, meter)
                auto = params.refine == "auto"
                centers, inertia, refine_info = refine_spark(
                    points, n, k, d, centers, coreset,
                    (opts["refine_max_passes"] or AUTO_MAX_PASSES) if auto else params.refine,
                    (coreset_seed, kpar_seed), P, meter, AUTO_REL_TOL if auto else 0.0, kmedian)
                refine_info["mode"] = "auto" if auto else "passes"
                if skipped:
                    refine_info["coreset_skipped"] = skipped
                x_cluster = points.select("x").mapInArrow(assign_task(centers, d), "x array<double>, cluster long")

        with run.stage("labels"):
            if refine_info is None:
                id_cluster = leaf_sel.join(F.broadcast(cluster_of), "sel").select("id", "cluster")
                x_cluster = points.select("id", "x").join(id_cluster, "id").select("x", "cluster")
            if zero_rows.limit(1).count():
                x_cluster = x_cluster.unionByName(zero_rows.mapInArrow(assign_task(centers, d), "x array<double>, cluster long"))
            x_cluster = x_cluster.localCheckpoint()  # outlives workdir and the cached points
            meter.round("labels: join", 2 if refine_info is None else 1)
            if numpy_input:
                lab = df.join(x_cluster, "x").select("row", "cluster").toPandas()
                labels = np.empty(n_rows, np.int64)
                labels[lab["row"].to_numpy()] = lab["cluster"].to_numpy()
                labelled = None
            else:
                xin = _features_as_array(X, opts["input_col"])
                labelled = (X.withColumn("__bigclust_x", xin)
                            .join(x_cluster.withColumnRenamed("x", "__bigclust_x")
                                  .withColumnRenamed("cluster", opts["prediction_col"]), "__bigclust_x")
                            .drop("__bigclust_x"))
                labels = labelled
        spark_info = meter.finish()
        points.unpersist()
        report = run.finish(
            method=method, engine="spark", n_samples=n_rows, n_distinct=n, n_clusters=int(selected.shape[0]),
            n_scales=tree.info["n_scales"], tree_nodes=tree.n_nodes,
            **({} if median_info is None else {"kmedian": median_info}),  # docs/spark.md, "k-median"
            projection_dim=params.projection_dim, tree_info=tree.info,
            dp=dict(dp_info, label_rounds=label_rounds), refine=refine_info,
            answer="tree" if refine_info is None else refine_info["start"] + (
                "+weiszfeld" if params.objective == "kmedian" else "+lloyd"),
            spark=dict(spark_info, num_partitions=P, master=_master(spark), connect=is_connect(spark),
                       **_jvm_peak(spark)),
            mpc_rounds=spark_info["mpc_rounds"],
        )
        return FitResult(labels=labels, centers=centers.astype(xdtype, copy=False), inertia=inertia,
                         cost_curve=None if exact_curve is None else np.minimum.accumulate(exact_curve),
                         tree=None, report=report, n_features=d)


def _tree_work(ntp):
    """``measure(cap)``: the (operations, table entries) of a DP whose tables hold at most ``cap``
    entries per vertex, as :func:`bigclust.lshtree.pruning.exact_dp_work` counts them locally:
    ``sum_C min(|C|, cap)`` entries and ``sum_C min(|C'|, cap) min(|C''|, cap)`` operations over the
    children ``C', C''`` of every internal vertex. One aggregation per call (plus one shuffle, once,
    pairing every internal vertex's children sizes); exact integers, as the local sums are below 2^53."""
    from pyspark.sql import functions as F

    pairs = (ntp.where(F.col("parent").isNotNull()).groupBy("parent")
             .agg(F.min("size").alias("a"), F.max("size").alias("b")).localCheckpoint())
    memo = {}

    def measure(cap: int):
        cap = int(cap)
        if cap not in memo:
            c = F.lit(cap)
            work = pairs.agg(F.sum(F.least("a", c) * F.least("b", c))).first()[0] or 0
            entries = ntp.agg(F.sum(F.least("size", c))).first()[0] or 0
            memo[cap] = (float(work), float(entries))
        return memo[cap]

    return measure


def _prune(spark, tree, ntp, k, params: TreeParams, opts, meter):
    """The pruning DP the policy of :mod:`bigclust.lshtree._params` chooses, as the local engine's ``_prune``:
    (selected, exact cost curve or None, method, info)."""
    from pyspark.sql import functions as F

    measure = _tree_work(ntp)
    work, entries = measure(k)
    meter.round("dp: table sizes", 3)
    info = {"exact_work": work, "exact_entries": entries}
    method = choose_method(params.method, k, work, entries)
    tau = opts["subtree_leaves"]
    if method == "exact":
        selected, exact_curve, dp_info = exact_dp_spark(spark, tree, ntp, k, tau, meter)
        return selected, exact_curve, method, dict(dp_info, **info, guarantee=1.0)

    st = ntp.agg(F.min(F.when(F.col("cost") > 0, F.col("cost"))).alias("lo"), F.max("cost").alias("hi")).first()

    def levels_for(step):  # as pruning._n_levels, from the tree's least positive and largest weight
        return 1 if st["lo"] is None else level_count(tree.n_leaves, float(st["hi"]), float(st["lo"]), step)

    def algorithm6():
        def step_for_depth(H):
            step, step_info = choose_step(params, k, H, levels_for, measure)
            info.update(step_info)
            return step

        sel, a_info = approx_dp_spark(spark, tree, ntp, k, step_for_depth, tau, meter)
        grown, rounds = split_to_k_spark(spark, ntp, sel, k, meter)
        return grown, dict(a_info, split_rounds=rounds, clusters_from_dp=int(sel.shape[0]))

    nodes = spark.read.parquet(tree.path).select("node", "cost")

    def cost_of(sel):  # summed exactly, as locally: vertex ids differ between the engines, costs do not
        sel_df = spark.createDataFrame([(int(v),) for v in sel], "node long")
        got = dict((int(r["node"]), float(r["cost"])) for r in nodes.join(F.broadcast(sel_df), "node").collect())
        meter.round("dp: pruning cost")
        return math.fsum(got[int(v)] for v in sel)

    from ._pruning import lagrangian_dp_spark

    lag_stats: dict = {}
    selected, info = approx_pruning(
        params, info, lambda: lagrangian_dp_spark(spark, tree, ntp, k, tau, meter, stats=lag_stats), algorithm6, cost_of)
    info["lagrangian_spark"] = lag_stats  # passes and penalties evaluated (the search itself is the local one)
    return selected, None, approx_method(info), info


def predict_spark(centers: np.ndarray, df, spark_options):
    """``df`` with one more column (``prediction_col``): the index of the nearest row of ``centers``.

    One map over the rows (a pandas UDF on Arrow batches, blocks of rows against all
    centres), no shuffle; every input column is kept. The input column is checked
    first (one aggregation: nulls, NaN/infinity, lengths) and its length must be
    ``centers.shape[1]``.
    """
    from typing import Iterator

    import pandas as pd
    from pyspark.sql.functions import pandas_udf

    opts = _options(spark_options)
    pred = opts["prediction_col"]
    if pred in df.columns:
        raise ValueError(f"the DataFrame already has a column {pred!r}; set spark_options={{'prediction_col': ...}} "
                         "(pyspark.ml: predictionCol).")
    xin = _features_as_array(df, opts["input_col"])
    _, d = _check_dataframe(df.select(xin.alias("x")), "x", None, opts["input_col"], check_range=False)
    if d != centers.shape[1]:
        raise ValueError(f"the input vectors have {d} features, but the model has {centers.shape[1]}.")
    C = np.ascontiguousarray(centers, dtype=np.float64)
    c2 = np.einsum("ij,ij->i", C, C)

    def nearest(batches):
        for s in batches:
            X = np.stack(s.to_numpy()).astype(np.float64, copy=False) if len(s) else np.empty((0, d))
            yield pd.Series(nearest_center(X, C, c2)[0])

    nearest.__annotations__ = {"batches": Iterator[pd.Series], "return": Iterator[pd.Series]}
    return df.withColumn(pred, pandas_udf(nearest, "long")(xin))


def _coreset_of_tree(spark, tree, ntp, k, n, opts, meter):
    """(means (K, d), weights (K,)) of the tree's optimal ``K = min(40 k, n)``-pruning, or None and why not.

    The start ``"tree_coreset"`` of ``refine`` (as on the local engine); the
    pruning comes from the same distributed exact DP, and only its ``K`` rows
    reach the driver. Skipped when ``K <= k`` or when the exact DP for ``K``
    would exceed the exact-DP budget (where the local engine runs Algorithm 6 instead).
    """
    from pyspark.sql import functions as F

    K = min(40 * k, n)
    if K <= k:
        return None, f"K = min(40 k, n) = {K} <= k"
    work, entries = _tree_work(ntp)(K)
    if work > EXACT_MAX_WORK or entries > EXACT_MAX_ENTRIES:
        return None, f"the exact DP for K = {K} needs {entries:.3g} entries and {work:.3g} operations"
    sel, _, _ = exact_dp_spark(spark, tree, ntp, K, opts["subtree_leaves"], meter)
    sel_df = spark.createDataFrame([(int(v),) for v in sel], "node long")
    rows = sorted(spark.read.parquet(tree.path).join(F.broadcast(sel_df), "node").select("node", "mean", "W").collect(),
                  key=lambda r: r["node"])
    meter.round("refine: coreset rows")
    reps = np.array([r["mean"] for r in rows], np.float64)
    return (reps, np.array([r["W"] for r in rows], np.float64)), None


def _default_parallelism(spark) -> int:
    """The context's default parallelism; over Spark Connect (no context on the client) the
    ``spark.default.parallelism`` setting, else ``spark.sql.shuffle.partitions``."""
    if not is_connect(spark):
        return spark.sparkContext.defaultParallelism
    value = spark.conf.get("spark.default.parallelism", None) or spark.conf.get("spark.sql.shuffle.partitions", "2")
    return int(value)


def _master(spark):
    if not is_connect(spark):
        return spark.sparkContext.master
    try:
        return spark.conf.get("spark.master", None)
    except Exception:  # not readable over every Connect server
        return None


def _jvm_peak(spark) -> dict:
    """Peak JVM heap of the driver (local mode: driver and executors share it), from the REST API
    (None over Spark Connect, whose client has no context to ask)."""
    import json
    import urllib.request

    if is_connect(spark):
        return {"driver_jvm_peak_heap_mb": None}
    sc = spark.sparkContext
    try:
        with urllib.request.urlopen(f"{sc.uiWebUrl}/api/v1/applications/{sc.applicationId}/executors", timeout=10) as fh:
            ex = json.load(fh)
        for e in ex:
            if e.get("id") == "driver":
                pm = e.get("peakMemoryMetrics") or {}
                if "JVMHeapMemory" in pm:
                    return {"driver_jvm_peak_heap_mb": pm["JVMHeapMemory"] / 2**20}
    except Exception:
        pass
    return {"driver_jvm_peak_heap_mb": None}
