"""``bigclust kmeans`` and ``bigclust kmedian``: LSH-tree clustering of a point file."""

from __future__ import annotations

import argparse
import sys
import time


_INPUT_HELP = """\
INPUT is one of
  a file          .npy (2-D array), .csv/.tsv/.txt (optionally gzip, bzip2 or xz
                  compressed, recognised by content; see --header), or .parquet
                  (file or directory of parts; numeric and fixed-length vector
                  columns are used)
  dataset:NAME    a data set shipped beside the repo (shared/data), e.g. dataset:magic;
                  see bigclust.datasets.DATASETS
  planted:N,D,K   the paper's synthetic mixture: N points, D dimensions, K planted
                  Gaussian clusters (seeded by --seed); 1 <= K <= N, N x D <= 1e9

Outputs (--labels, --centers, --report) are checked before the fit (known suffix,
writable folder, not the input, not each other) and written all or nothing: each
to a temporary file beside it, renamed into place once all are written. The
summary is printed only then. Errors are one line on stderr: exit status 2 for a
problem with the input, options or paths, 1 for anything else (--debug shows the
traceback). With --engine spark, a --labels URI (scheme://...) is written by Spark
itself, after the other outputs (not atomically).
"""

# planted:N,D,K draws N x D float64 values: bounded so a typo cannot ask for terabytes.
PLANTED_MAX_VALUES = 10**9



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
    for name, what in (("kmeans", "k-means (sum of squared distances)"), ("kmedian", "k-median (sum of distances)")):
        p = subparsers.add_parser(
            name,
            help=f"LSH-tree {what} of a point file",
            description=(
                f"Cluster the rows of INPUT into K clusters minimising {what}, with the LSH tree and "
                "optimal tree pruning of the perturbation-resilient MPC paper. Prints a short summary; "
                "writes labels and centres to the files you name."
            ),
            epilog=_INPUT_HELP + "\nExample:\n  bigclust " + name + " points.npy -k 100 --labels labels.npy --centers centers.csv",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        p.add_argument("input", metavar="INPUT", help="points to cluster (see below)")
        p.add_argument("-k", "--n-clusters", type=int, required=True, help="number of clusters")
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
        p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
        p.add_argument("--columns", help="comma-separated feature columns (CSV with header, Parquet)")
        p.add_argument("--header", choices=("auto", "yes", "no"), default="auto",
                       help="whether line 1 of a CSV/TSV INPUT holds column names: yes, no, or auto (default: a "
                            "header only when none of its fields is a number, so no numeric row is ever dropped)")
        p.add_argument("--zscore", action="store_true", help="standardise every column (mean 0, variance 1) first")
        p.add_argument("--labels", metavar="FILE", help="write one label per row (.npy, .csv or .txt)")
        p.add_argument("--centers", metavar="FILE", help="write the centres, one per row (.npy, .csv or .txt)")
        p.add_argument("--report", metavar="FILE", help="write the fit's report_ (times, memory, tree) as JSON")
        p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
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


def _planted_spec(spec: str) -> tuple[int, int, int]:
    """N, D, K of ``planted:N,D,K``, checked (1 <= K <= N, N x D <= PLANTED_MAX_VALUES)."""
    try:
        n, d, k = (int(v) for v in spec.split(":", 1)[1].split(","))
    except ValueError:
        raise ValueError("planted input must look like planted:N,D,K with three integers.") from None
    if n < 1 or d < 1 or not 1 <= k <= n:
        raise ValueError("planted:N,D,K needs N >= 1 points, D >= 1 dimensions and 1 <= K <= N planted clusters.")
    if n * d > PLANTED_MAX_VALUES:
        raise ValueError(f"planted:N,D,K needs N x D <= {PLANTED_MAX_VALUES:.0e} values; write larger data to a file.")
    return n, d, k


def _load(spec: str, columns: str | None, seed: int, header: str = "auto"):
    if spec.startswith("planted:"):
        from ..datasets import make_planted_mixture

        n, d, k = _planted_spec(spec)
        X, y, _ = make_planted_mixture(n, d, k, random_state=seed)
        return X, y
    if spec.startswith("dataset:"):
        from ..datasets import load_dataset

        ds = load_dataset(spec.split(":", 1)[1])
        return ds.X, ds.y
    from .._core.io import read_matrix

    return read_matrix(spec, columns=columns.split(",") if columns else None, header=header), None


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
    from .._core.outputs import ARRAY, DIRECTORY, JSON, Outputs

    outs = Outputs(inputs=[args.input])
    if not (spark_labels and args.labels and "://" in args.labels):  # a Spark URI is written by Spark itself
        outs.add("--labels", args.labels, DIRECTORY if spark_labels else ARRAY)
    outs.add("--centers", args.centers, ARRAY)
    outs.add("--report", args.report, JSON)
    outs.check()
    return outs


def _run(args) -> int:
    from ._estimator import LSHTreeKMeans, LSHTreeKMedian

    t0 = time.perf_counter()
    engine = getattr(args, "engine", "local")
    if args.input.startswith("planted:"):
        _planted_spec(args.input)
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
        est = LSHTreeKMeans(args.n_clusters, method=args.method, approx_epsilon=args.approx_epsilon, engine="spark",
                            refine=args.refine, candidates=args.candidates, spark_options=opts, random_state=args.seed,
                            verbose=not args.quiet)
        est.fit(X)
        return _summarise(args, est, X, truth, t0)
    X, truth = _load(args.input, args.columns, args.seed, args.header)
    if args.zscore:
        from ..datasets import zscore

        X = zscore(X)
    Est = LSHTreeKMeans if args.objective == "kmeans" else LSHTreeKMedian
    est = Est(args.n_clusters, method=args.method, approx_epsilon=args.approx_epsilon, refine=args.refine,
              candidates=args.candidates, random_state=args.seed, verbose=not args.quiet)
    est.fit(X)
    return _summarise(args, est, X, truth, t0)


def _summarise(args, est, X, truth, t0) -> int:
    from .._core.io import write_array, write_json

    import numpy as np

    r = est.report_
    spark_labels = not isinstance(est.labels_, np.ndarray)
    summary = {
        "input": args.input,
        "engine": r.get("engine", "local"),
        "n_samples": int(r["n_samples"]),
        "n_features": int(est.n_features_in_),
        "n_clusters": int(est.cluster_centers_.shape[0]),
        "cost": est.inertia_,
        "method": r["method"],
        "answer": r["answer"],
        "fit_seconds": round(r["total_seconds"], 3),
        "total_seconds": round(time.perf_counter() - t0, 3),
        "peak_memory_mb": round(r["peak_memory_mb"], 1),
    }
    if truth is not None and args.input.startswith("planted:"):
        from ..datasets import planted_cost

        summary["cost_ratio_to_planted"] = est.inertia_ / planted_cost(X, truth) if args.objective == "kmeans" else None
    if "spark" in r:
        summary["mpc_rounds"] = r["mpc_rounds"]
    outs = args.outputs
    writers = {}
    if spark_labels:
        writers["--labels"] = lambda tmp: est.labels_.write.parquet(str(tmp))
    else:
        writers["--labels"] = lambda tmp: write_array(tmp, est.labels_, suffix=outs.suffix("--labels"))
    writers["--centers"] = lambda tmp: write_array(tmp, est.cluster_centers_, suffix=outs.suffix("--centers"))
    writers["--report"] = lambda tmp: write_json(tmp, r)
    outs.write({k: v for k, v in writers.items() if k in outs})  # all or nothing; the summary only after
    if spark_labels and args.labels and "--labels" not in outs:  # scheme://...: Spark's own (Hadoop) file system
        est.labels_.write.mode("overwrite").parquet(args.labels)
    width = max(len(k) for k in summary)
    for key, value in summary.items():
        if value is not None:
            print(f"{key:<{width}}  {value:.6g}" if isinstance(value, float) else f"{key:<{width}}  {value}", file=sys.stdout)
    return 0
