"""``bigclust kmeans`` and ``bigclust kmedian``: LSH-tree clustering of a point file."""

from __future__ import annotations

import argparse
import sys
import time


_OUTPUTS_HELP = """\
Outputs: -o/--output (also --centers) the centres, --labels one label per row,
--report the fit's report_, --plot (kmeans) the elbow. With --engine spark, a
--labels URI (scheme://...) is written by Spark itself, after the other outputs
(not atomically).

"""

#: the keys of the summary (``--json``), in order; ``None`` (JSON null) where one does not apply
SUMMARY_KEYS = ("command", "input", "n_samples", "n_features", "n_clusters", "cost", "method", "answer", "engine",
                "mpc_rounds", "cost_ratio_to_planted", "fit_seconds", "total_seconds", "peak_memory_mb", "outputs")

# the elbow of --plot: at most this many values of k (each one k-means run from a shared seeding)
_ELBOW_POINTS = 12


def _refine_arg(text: str):
    """``--refine``: "auto" or a non-negative number of passes."""
    if text == "auto":
        return text
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected 'auto' or a number of passes (an integer >= 0)") from None
    if value < 0:
        raise argparse.ArgumentTypeError("expected 'auto' or a number of passes (an integer >= 0)")
    return value

def _bounded_int(low: int, high: int):
    """An argparse type: an integer in [low, high] (the message states the bounds, not the value)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer in [{low}, {high}]") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"expected an integer in [{low}, {high}]")
        return value
    return parse


def register(subparsers) -> None:
    from .._core.command import COMMON_HELP, POINTS_INPUT_HELP, add_common, add_n_clusters

    for name, what in (("kmeans", "k-means (sum of squared distances)"), ("kmedian", "k-median (sum of distances)")):
        p = subparsers.add_parser(
            name,
            help=f"LSH-tree {what} of a point file",
            description=(
                f"Cluster the rows of INPUT into K clusters minimising {what}, with the LSH tree and "
                "optimal tree pruning of the perturbation-resilient MPC paper. Prints a short summary "
                "(--json: one JSON object); writes centres, labels and the report to the files you name."
            ),
            epilog=POINTS_INPUT_HELP + "\n" + _OUTPUTS_HELP + COMMON_HELP + "\nExamples:\n  bigclust " + name
            + " points.npy -k 100 -o centers.csv --labels labels.npy\n  bigclust " + name
            + " dataset:magic -k 2 --zscore --json" + ("\n  bigclust kmeans planted:10000,8,5 -k 5 --plot elbow.png"
                                                       if name == "kmeans" else ""),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        p.add_argument("input", metavar="INPUT", help="points to cluster (see below)")
        add_n_clusters(p, required=True, help="number of clusters")
        p.add_argument("--method", choices=("auto", "exact", "approx"), default="auto",
                       help="pruning DP: exact (Algorithm 5), approx (Algorithm 6, memory independent of k) "
                            "or auto (exact when its table is small; default)")
        p.add_argument("--approx-epsilon", type=float, default=0.1,
                       help="approximation parameter of the approx DP: within (1 + it) of the best pruning (default 0.1)")
        p.add_argument("--epsilon", dest="approx_epsilon", type=float, help=argparse.SUPPRESS)  # deprecated alias
        p.add_argument("--refine", type=_refine_arg, default="auto", metavar="auto|N",
                       help="after the tree, Lloyd (k-means) or Weiszfeld (k-median) passes from k-means++ starts and "
                            "from the tree's centres (k-means|| and a tree coreset with --engine spark); the cheapest "
                            "of these and the tree's own answer wins. auto (default): until converged; N: at most N "
                            "passes per start; 0: the tree's answer only")
        p.add_argument("--candidates", choices=("components", "two_hop"), default="components",
                       help="candidate clusters: every component of every scale (default), or the two-hop "
                            "certified ones of the paper's Appendix C.2, all scales at once (constant rounds on Spark)")
        p.add_argument("--columns", help="comma-separated feature columns (CSV with header, Parquet)")
        p.add_argument("--header", choices=("auto", "yes", "no"), default="auto",
                       help="whether line 1 of a CSV/TSV INPUT holds column names: yes, no, or auto (default: a "
                            "header only when none of its fields is a number, so no numeric row is ever dropped)")
        p.add_argument("--zscore", action="store_true", help="standardise every column (mean 0, variance 1) first")
        p.add_argument("--labels", metavar="FILE", help="write one label per row (.npy, .csv or .txt)")
        add_common(p, output_names=("--centers",),
                   output_help="write the centres, one per row (.npy, .csv, .tsv or .txt); also named --centers",
                   report_help="write the fit's report_ (times, memory, tree) as JSON",
                   plot_help=("draw the elbow: the k-means cost of the answer at up to 12 values of k <= K "
                              "(bigclust.lshtree.elbow_curve, extra k-means runs) and the answer returned"
                              if name == "kmeans" else None),
                   seed_help="random seed of the fit and of a planted: INPUT (default 0)")
        if name == "kmeans":
            g = p.add_argument_group("spark engine", "run the same algorithm as Spark stages (pip install 'bigclust[spark]', Java 17)")
            g.add_argument("--engine", choices=("local", "spark"), default="local",
                           help="local (this process; default) or spark; a Parquet INPUT is then read by Spark "
                                "and --labels is written as a Parquet directory of the input rows plus a 'cluster' column")
            g.add_argument("--master", help="Spark master URL (default local[*])")
            g.add_argument("--input-col", help="array or ml Vector column of a Parquet INPUT (default: the only such "
                                               "column, else the numeric --columns or all numeric columns)")
            g.add_argument("--partitions", type=_bounded_int(1, 10**6), metavar="N",
                           help="Spark partitions of the points, 1..1e6 (default 2 x cores)")
            g.add_argument("--worker-idle-timeout", type=_bounded_int(0, 7 * 86400), default=600, metavar="SECONDS",
                           help="retry a task whose Python worker moves no byte for this long (default 600; "
                                "0 leaves the Spark session's setting)")
        p.set_defaults(func=_run, objective=name)


def _spark_frame(args):
    """A Parquet INPUT as a Spark DataFrame with one array column; (df, column name)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import ArrayType, NumericType

    from ._spark import get_session

    spark = get_session(args.master)
    df = spark.read.parquet(args.input)
    if args.input_col:
        return df, args.input_col
    vec = [f.name for f in df.schema.fields
           if isinstance(f.dataType, ArrayType) or type(f.dataType).__name__ == "VectorUDT"]
    if len(vec) == 1 and not args.columns:
        return df, vec[0]
    cols = args.columns.split(",") if args.columns else [f.name for f in df.schema.fields if isinstance(f.dataType, NumericType)]
    missing = [c for c in cols if c not in df.columns]
    if missing or not cols:
        raise ValueError(f"columns {missing or cols} not found among numeric columns of {args.input}: {df.columns}")
    return df.withColumn("features", F.array(*[F.col(c).cast("double") for c in cols])), "features"


def _is_parquet(path: str) -> bool:
    import os

    return path.endswith(".parquet") or (os.path.isdir(path) and any(f.endswith(".parquet") for f in os.listdir(path)))


def _outputs(args, spark_labels: bool):
    """The command's outputs, checked now (before any work); see :mod:`bigclust._core.outputs`."""
    from .._core.command import PICTURE
    from .._core.outputs import ARRAY, DIRECTORY, JSON, Outputs

    outs = Outputs(inputs=[args.input])
    outs.add("--output", args.output, ARRAY)
    if not (spark_labels and args.labels and "://" in args.labels):  # a Spark URI is written by Spark itself
        outs.add("--labels", args.labels, DIRECTORY if spark_labels else ARRAY)
    outs.add("--report", args.report, JSON)
    outs.add("--plot", getattr(args, "plot", None), PICTURE)
    outs.check()
    return outs


def _run(args) -> int:
    from .._core.command import planted_spec, progress, require_plotting
    from ._estimator import LSHTreeKMeans, LSHTreeKMedian

    t0 = time.perf_counter()
    engine = getattr(args, "engine", "local")
    if args.input.startswith("planted:"):
        planted_spec(args.input)
    if getattr(args, "plot", None):
        if engine == "spark":
            raise ValueError("--plot is not available with --engine spark (the elbow refits the points locally).")
        require_plotting()
    spark_parquet = engine == "spark" and _is_parquet(args.input)
    args.outputs = _outputs(args, spark_labels=spark_parquet)
    if engine == "spark":
        if args.zscore:
            raise ValueError("--zscore is not available with --engine spark; standardise the columns first.")
        opts = {"master": args.master, "num_partitions": args.partitions,
                "worker_idle_timeout": args.worker_idle_timeout or None}
        if spark_parquet:
            X, col = _spark_frame(args)
            opts["input_col"] = col
            truth = None
        else:
            X, truth = _load(args.input, args.columns, args.seed, args.header)
        with progress(args) as verbose:
            est = LSHTreeKMeans(args.n_clusters, method=args.method, approx_epsilon=args.approx_epsilon,
                                engine="spark", refine=args.refine, candidates=args.candidates, spark_options=opts,
                                random_state=args.seed, verbose=verbose)
            est.fit(X)
        return _summarise(args, est, X, truth, t0)
    X, truth = _load(args.input, args.columns, args.seed, args.header)
    if args.zscore:
        from ..datasets import zscore

        X = zscore(X)
    Est = LSHTreeKMeans if args.objective == "kmeans" else LSHTreeKMedian
    with progress(args) as verbose:
        est = Est(args.n_clusters, method=args.method, approx_epsilon=args.approx_epsilon, refine=args.refine,
                  candidates=args.candidates, random_state=args.seed, verbose=verbose)
        est.fit(X)
    return _summarise(args, est, X, truth, t0)


def _load(spec: str, columns: str | None, seed: int, header: str = "auto"):
    from .._core.command import load_points

    return load_points(spec, columns, header, seed)


def _elbow_grid(k: int) -> list[int]:
    """At most ``_ELBOW_POINTS`` values of k in [1, k], spaced geometrically, k included."""
    import numpy as np

    if k <= _ELBOW_POINTS:
        return list(range(1, k + 1))
    return sorted({int(round(v)) for v in np.geomspace(1, k, _ELBOW_POINTS)} | {k})


def _elbow_drawer(X, est, seed: int):
    """The --plot picture of kmeans: k-means costs of the answers on a grid of k (computed now,
    before the outputs are written) and the answer returned, drawn by :func:`bigclust.plot.elbow`."""
    from .refine import elbow_curve

    k = int(est.cluster_centers_.shape[0])
    grid = _elbow_grid(k)
    costs = elbow_curve(X, grid, random_state=seed)

    def draw(ax) -> None:
        from ..plot import elbow

        elbow(n_clusters=grid, costs=costs.tolist(), ax=ax, label="k-means answer at each k (elbow_curve)")
        ax.plot([k], [float(est.inertia_)], linestyle="none", marker="*", markersize=12,
                label=f"answer returned (k = {k})")
        ax.legend()

    return draw


def _summarise(args, est, X, truth, t0) -> int:
    from .._core.command import picture_writer, print_summary
    from .._core.io import write_array, write_json

    import numpy as np

    r = est.report_
    spark_labels = not isinstance(est.labels_, np.ndarray)
    outs = args.outputs
    writers = {}
    if spark_labels:
        writers["--labels"] = lambda tmp: est.labels_.write.parquet(str(tmp))
    else:
        writers["--labels"] = lambda tmp: write_array(tmp, est.labels_, suffix=outs.suffix("--labels"))
    writers["--output"] = lambda tmp: write_array(tmp, est.cluster_centers_, suffix=outs.suffix("--output"))
    writers["--report"] = lambda tmp: write_json(tmp, r)
    if "--plot" in outs:
        writers["--plot"] = picture_writer(_elbow_drawer(X, est, args.seed))
    outs.write({k: v for k, v in writers.items() if k in outs})  # all or nothing; the summary only after
    written = {"output": args.output, "labels": args.labels, "report": args.report, "plot": getattr(args, "plot", None)}
    if spark_labels and args.labels and "--labels" not in outs:  # scheme://...: Spark's own (Hadoop) file system
        est.labels_.write.mode("overwrite").parquet(args.labels)
    ratio = None
    if truth is not None and args.input.startswith("planted:") and args.objective == "kmeans":
        from ..datasets import planted_cost

        ratio = est.inertia_ / planted_cost(X, truth)
    summary = {
        "command": args.objective,
        "input": args.input,
        "n_samples": int(r["n_samples"]),
        "n_features": int(est.n_features_in_),
        "n_clusters": int(est.cluster_centers_.shape[0]),
        "cost": float(est.inertia_),
        "method": r["method"],
        "answer": r["answer"],
        "engine": r.get("engine", "local"),
        "mpc_rounds": r.get("mpc_rounds") if "spark" in r else None,
        "cost_ratio_to_planted": ratio,
        "fit_seconds": round(r["total_seconds"], 3),
        "total_seconds": round(time.perf_counter() - t0, 3),
        "peak_memory_mb": round(r["peak_memory_mb"], 1),
        "outputs": {k: v for k, v in written.items() if v is not None},
    }
    print_summary(args, summary, SUMMARY_KEYS)
    return 0
