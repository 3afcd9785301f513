"""Spark engine at scale: MPC rounds, time and cost ratio as n grows (issue 5, benchmarks 1 and 3).

For each n: the paper's planted mixture (Section 5.1) with d dimensions and K
clusters is written as Parquet (one array column), read back by Spark and
clustered by ``LSHTreeKMeans(engine="spark")``. Prints one JSON line per n with
rho = cost / cost(planted partition), the MPC rounds, Spark jobs/stages, bytes
shuffled, seconds per stage, and the peak memory of the Python driver process
and of the driver JVM (local mode: driver and executors share that JVM).

Usage:
  python benchmarks/spark_scale.py --n 100000 1000000 --d 16 --k 100
  python benchmarks/spark_scale.py --n 10000 100000 1000000 --d 16 --k 100 --candidates two_hop
  python benchmarks/spark_scale.py --n 10000000 --d 16 --k 10000 --driver-memory 1g
  python benchmarks/spark_scale.py --n 100000 --k 10000 --method exact approx   # Algorithm 5 vs 6 on one input
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _common import emit, spark_session  # noqa: E402


def write_planted(path, n, d, k, seed, chunk=1_000_000, row_ids=False):
    """Planted mixture as Parquet parts (array<double> column 'features', and with ``row_ids`` a long
    column 'row', the index in ``make_planted_mixture``); returns the planted cost."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from bigclust.datasets import make_planted_mixture, planted_cost

    X, y, _ = make_planted_mixture(n, d, k, random_state=seed)
    cost = planted_cost(X, y)
    os.makedirs(path, exist_ok=True)
    for s in range(0, n, chunk):
        part = X[s:s + chunk]
        col = pa.FixedSizeListArray.from_arrays(pa.array(part.ravel()), d).cast(pa.list_(pa.float64()))
        cols = {"features": col}
        if row_ids:
            cols["row"] = pa.array(np.arange(s, s + part.shape[0], dtype=np.int64))
        pq.write_table(pa.table(cols), os.path.join(path, f"part-{s // chunk:05d}.parquet"))
    del X, y
    return cost


def save_fit(out, est, args):
    """The fit's labels as Parquet (row, cluster), written by the executors, and its figures as fit.json."""
    import json

    est.labels_.select("row", "cluster").write.mode("overwrite").parquet(os.path.join(out, "labels"))
    r = est.report_
    with open(os.path.join(out, "fit.json"), "w") as f:
        json.dump({"scale_ratio": args.scale_ratio, "candidates": args.candidates, "method": r["method"],
                   "inertia": est.inertia_, "exact_entries": r["dp"].get("exact_entries"),
                   "min_distance_lower_bound": r["tree_info"].get("min_distance_lower_bound"),
                   "n_scales": r["n_scales"], "tree_nodes": r["tree_nodes"],
                   "n_clusters": int(est.cluster_centers_.shape[0])}, f)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--d", type=int, default=16)
    ap.add_argument("--k", type=int, default=100, help="planted clusters = n_clusters")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--scale-ratio", type=float, default=1.1)
    ap.add_argument("--candidates", choices=["components", "two_hop"], default="components",
                    help="two_hop: the constant-round tree (all scales at once, Appendix C.2)")
    ap.add_argument("--partitions", type=int, default=None)
    ap.add_argument("--driver-memory", default="4g")
    ap.add_argument("--master", default="local[*,4]")
    ap.add_argument("--conf", action="append", default=[], metavar="KEY=VALUE", help="extra Spark setting (repeatable)")
    ap.add_argument("--method", nargs="+", choices=["exact", "approx", "auto"], default=["exact"],
                    help="pruning DP(s) to run on the same input, one fit each")
    ap.add_argument("--dp-step", type=float, default=None, help="dp_step of the approx DP (default epsilon / 2H)")
    ap.add_argument("--local-cc-max-edges", type=int, default=None,
                    help="spark_options local_cc_max_edges: scales with more accepted edges find components by "
                         "distributed contraction (default: the engine's)")
    ap.add_argument("--verbose", action="store_true", help="progress of each fit on stderr")
    ap.add_argument("--workdir", default=None, help="where the Parquet input is written (default: a temp dir)")
    ap.add_argument("--labels-out", default=None, metavar="DIR",
                    help="write each fit's (row, cluster) as Parquet, and its tree figures as JSON, under DIR "
                         "(for spark_local_agree.py); the input then carries a 'row' column")
    args = ap.parse_args()


    from bigclust import LSHTreeKMeans

    spark = spark_session("bigclust-bench", args.master, args.driver_memory, args.conf)
    spark.sparkContext.setLogLevel("ERROR")
    base = args.workdir or tempfile.mkdtemp(prefix="bigclust-bench-")
    try:
        for n in args.n:
            path = os.path.join(base, f"planted_{n}_{args.d}_{args.k}")
            t = time.perf_counter()
            planted = write_planted(path, n, args.d, args.k, args.seed, row_ids=args.labels_out is not None)
            gen_s = time.perf_counter() - t
            df = spark.read.parquet(path)
            for method in args.method:
                est = LSHTreeKMeans(args.k, method=method, dp_step=args.dp_step, scale_ratio=args.scale_ratio,
                                    random_state=args.seed, verbose=args.verbose,
                                    candidates=args.candidates, engine="spark",
                                    spark_options={"num_partitions": args.partitions,
                                                   **({} if args.local_cc_max_edges is None else
                                                      {"local_cc_max_edges": args.local_cc_max_edges})})
                t = time.perf_counter()
                est.fit(df)
                fit_s = time.perf_counter() - t
                r = est.report_
                s = r["spark"]
                dp = r["dp"]
                emit(tool="bigclust-spark", candidates=args.candidates, method=r["method"], n=n, d=args.d, k=args.k,
                     scale_ratio=args.scale_ratio,
                     rho=est.inertia_ / planted, seconds=fit_s, generate_seconds=gen_s,
                     mpc_rounds=r["mpc_rounds"], n_scales=r["n_scales"], tree_nodes=r["tree_nodes"],
                     dp_iterations=dp["dp_iterations"], dp_exact_entries=dp.get("exact_entries"),
                     dp_breakpoints=dp.get("breakpoints"), dp_widest_table=dp.get("widest_table"),
                     dp_levels=dp.get("n_levels"), dp_step=dp.get("step"), dp_guarantee=dp.get("guarantee"),
                     dp_clusters_from_dp=dp.get("clusters_from_dp"), dp_split_rounds=dp.get("split_rounds"),
                     spark_jobs=s["spark_jobs"], spark_stages=s["spark_stages"],
                     shuffle_bytes_written=s["shuffle_bytes_written"], driver_python_peak_mb=r["peak_memory_mb"],
                     driver_jvm_peak_heap_mb=s["driver_jvm_peak_heap_mb"], driver_memory=args.driver_memory,
                     stage_seconds=r["time"], rounds_by_step=s["mpc_rounds_by_step"], master=s["master"],
                     num_partitions=s["num_partitions"], scales_skipped=r["tree_info"].get("scales_skipped"),
                     edges_accepted=r["tree_info"].get("edges_accepted"),
                     n_candidates=r["tree_info"].get("n_candidates"), conf=args.conf,
                     local_cc_max_edges=args.local_cc_max_edges,
                     tree_info={key: r["tree_info"].get(key) for key in
                                ("bucket_passes", "scales_buckets_joined", "components_rounds", "first_scale")})
                if args.labels_out is not None:
                    save_fit(os.path.join(args.labels_out, f"n{n}_d{args.d}_k{args.k}_s{args.seed}_{method}"), est, args)
            shutil.rmtree(path, ignore_errors=True)
    finally:
        if args.workdir is None:
            shutil.rmtree(base, ignore_errors=True)
        spark.stop()


if __name__ == "__main__":
    main()
