"""Speed of LSHTreeKMeans against scikit-learn KMeans on the synthetic grid, interleaved in one process.

The grid benchmark (euclidean_synthetic_grid.py) runs each method's seeds in a
block, so load from other processes on a shared machine can favour either side.
Here every repetition fits ours and scikit-learn (k-means++, n_init=1) back to
back on the same data and seed, and the medians are reported with the machine
load, plus ours' stage times. One JSON line per (d, k).

    python benchmarks/euclidean_speed_vs_sklearn.py                  # d 10 100, k 100 1000
    python benchmarks/euclidean_speed_vs_sklearn.py --d 10 --k 100 --reps 5
"""

import argparse
import os
import time

import numpy as np

from _common import emit, log
from bigclust import LSHTreeKMeans
from bigclust.datasets import make_planted_mixture, planted_cost


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--d", type=int, nargs="+", default=[10, 100])
    ap.add_argument("--k", type=int, nargs="+", default=[100, 1000])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--reps", type=int, default=2, help="repetitions of every seed")
    args = ap.parse_args()
    from sklearn.cluster import KMeans

    LSHTreeKMeans(2, random_state=0).fit(np.random.default_rng(0).standard_normal((500, 3)))  # compile once
    for d in args.d:
        for k in args.k:
            X, y, _ = make_planted_mixture(args.n, d, k, random_state=1000 * d + k)
            base = planted_cost(X, y)
            ours, sk, rho, rho_sk, stages, loads = [], [], [], [], {}, []
            for rep in range(args.reps):
                for seed in range(args.seeds):
                    loads.append(os.getloadavg()[0])
                    t0 = time.perf_counter()
                    est = LSHTreeKMeans(k, random_state=seed).fit(X)
                    t1 = time.perf_counter()
                    km = KMeans(k, n_init=1, random_state=seed).fit(X)
                    t2 = time.perf_counter()
                    ours.append(t1 - t0)
                    sk.append(t2 - t1)
                    rho.append(est.inertia_ / base)
                    rho_sk.append(km.inertia_ / base)
                    for s, v in est.report_["time"].items():
                        stages.setdefault(s, []).append(v)
                    log(f"d={d} k={k} seed={seed}: ours {t1 - t0:.3f}s sklearn {t2 - t1:.3f}s")
            emit(benchmark="speed_vs_sklearn", n=args.n, d=d, k=k, runs=len(ours),
                 seconds_median=float(np.median(ours)), sklearn_seconds_median=float(np.median(sk)),
                 ratio_median=float(np.median(np.array(ours) / np.array(sk))),
                 rho_max=float(np.max(rho)), sklearn_rho_max=float(np.max(rho_sk)),
                 stage_seconds_median={s: round(float(np.median(v)), 3) for s, v in stages.items()},
                 n_scales=est.report_["n_scales"], scales_skipped=est.report_["tree_info"].get("scales_skipped"),
                 load1_median=float(np.median(loads)), numba_threads=int(os.environ.get("NUMBA_NUM_THREADS", os.cpu_count())))


if __name__ == "__main__":
    main()
