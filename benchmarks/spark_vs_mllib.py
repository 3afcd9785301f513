"""LSH-tree k-means on Spark beside Spark MLlib KMeans on the same DataFrame (issue 5, benchmark 2).

One planted mixture (Section 5.1) is written as Parquet and read by Spark
once. For each k: bigclust (engine="spark", exact DP) and MLlib KMeans
(k-means||, maxIter 20), time and k-means cost on the same cached
DataFrame. MLlib runs under a time limit (its job group is cancelled when the
limit passes); if it does not finish, the line says so and reports the time
of one Lloyd iteration measured on MLlib's own model with initMode "random"
and maxIter 1 (a lower bound on its per-iteration cost at that k).
The limit cancels Spark jobs only: k-means||'s last step (k-means++ over the
candidates) runs in the driver and cannot be cancelled, so at very large k the
script can overrun the limit by far (n = 2e5, k = 1e5: killed by hand after
~1,900 s, recorded as such in results/spark_vs_mllib.jsonl).

``--refine 0 20`` adds a second fit of ours with 20 Lloyd passes per start
(MLlib's maxIter is 20) after the tree.

Usage:
  python benchmarks/spark_vs_mllib.py --n 1000000 --d 16 --planted 1000 --k 1000 100000 --mllib-limit 1800
  python benchmarks/spark_vs_mllib.py --n 100000 --planted 100 --k 1000 --refine 0 20
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _common import emit, spark_session  # noqa: E402
from spark_scale import write_planted  # noqa: E402


def run_limited(sc, fn, limit, group):
    """Run ``fn`` under a Spark job group; cancel it after ``limit`` seconds. Returns (result, seconds, finished)."""
    sc.setJobGroup(group, group, interruptOnCancel=True)
    timer = threading.Timer(limit, lambda: sc.cancelJobGroup(group))
    timer.start()
    t = time.perf_counter()
    try:
        out = fn()
        return out, time.perf_counter() - t, True
    except Exception:
        return None, time.perf_counter() - t, False
    finally:
        timer.cancel()
        sc.setLocalProperty("spark.jobGroup.id", None)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--d", type=int, default=16)
    ap.add_argument("--planted", type=int, default=1000, help="planted clusters of the data")
    ap.add_argument("--k", type=int, nargs="+", default=[1000, 100_000])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--mllib-limit", type=float, default=1800.0, help="seconds before MLlib's fit is cancelled")
    ap.add_argument("--skip-ours", action="store_true")
    ap.add_argument("--refine", type=int, nargs="+", default=[0],
                    help="our fits: one per value, with this many Lloyd passes (0: the tree's answer alone)")
    ap.add_argument("--candidates", default="components", choices=("components", "two_hop"))
    ap.add_argument("--driver-memory", default="6g")
    ap.add_argument("--conf", action="append", default=[], metavar="KEY=VALUE", help="extra Spark setting (repeatable)")
    args = ap.parse_args()

    from pyspark.ml.clustering import KMeans
    from pyspark.ml.functions import array_to_vector

    from bigclust import LSHTreeKMeans

    spark = spark_session("bigclust-vs-mllib", "local[*,4]", args.driver_memory, args.conf)
    spark.sparkContext.setLogLevel("ERROR")
    sc = spark.sparkContext
    base = tempfile.mkdtemp(prefix="bigclust-mllib-")
    try:
        path = os.path.join(base, "data")
        planted = write_planted(path, args.n, args.d, args.planted, args.seed)
        df = spark.read.parquet(path).cache()
        df.count()
        vec = df.select(array_to_vector("features").alias("features")).cache()
        vec.count()
        for k in args.k:
            for refine in ([] if args.skip_ours else args.refine):
                est = LSHTreeKMeans(k, method="exact", random_state=args.seed, engine="spark", refine=refine,
                                    candidates=args.candidates)
                t = time.perf_counter()
                est.fit(df)
                r = est.report_["refine"] or {}
                emit(tool="bigclust-spark" + (f"+refine{refine}" if refine else ""), n=args.n, d=args.d,
                     planted=args.planted, k=k, seconds=time.perf_counter() - t, cost=est.inertia_,
                     rho_planted=est.inertia_ / planted, mpc_rounds=est.report_["mpc_rounds"],
                     candidates=args.candidates, stage_seconds=est.report_["time"], conf=args.conf,
                     refine_start=r.get("start"), refine_final_costs=r.get("final_costs"))
            km = KMeans(k=k, maxIter=20, initMode="k-means||", seed=args.seed, featuresCol="features")
            model, secs, done = run_limited(sc, lambda: km.fit(vec), args.mllib_limit, f"mllib-{k}")
            if done:
                cost = float(model.summary.trainingCost)
                emit(tool="mllib-kmeans||", n=args.n, d=args.d, planted=args.planted, k=k, seconds=secs,
                     cost=cost, rho_planted=cost / planted, iterations=int(model.summary.numIter), finished=True)
            else:
                one = KMeans(k=k, maxIter=1, initMode="random", seed=args.seed, featuresCol="features")
                _, it_secs, it_done = run_limited(sc, lambda: one.fit(vec), args.mllib_limit, f"mllib-iter-{k}")
                emit(tool="mllib-kmeans||", n=args.n, d=args.d, planted=args.planted, k=k, seconds=None,
                     finished=False, cancelled_after_seconds=secs,
                     one_random_init_iteration_seconds=it_secs if it_done else None,
                     note="k-means|| init + 20 iterations did not finish within the limit")
    finally:
        shutil.rmtree(base, ignore_errors=True)
        spark.stop()


if __name__ == "__main__":
    main()
