"""Benchmark 1 of the LSH-tree issue: the paper's synthetic grid (Section 5.1).

n = 100,000 points, d in {10, 100}, k in {5, 10, 25, 100, 1000} planted
Gaussian clusters (centres uniform in [0, 50]^d, unit variance). For each
setting prints one JSON line per method with rho = cost / cost(planted
partition) (mean and max over --runs seeds) and seconds (mean):
LSHTreeKMeans exact and approx, scikit-learn KMeans (k-means++, n_init=1) and
faiss Kmeans (defaults), all in the same run.

    python benchmarks/euclidean_synthetic_grid.py            # full grid
    python benchmarks/euclidean_synthetic_grid.py --n 20000 --k 5 25 --runs 1
"""

import argparse

import numpy as np

from _common import emit, log, measured, run_faiss, run_sklearn
from bigclust import LSHTreeKMeans
from bigclust.datasets import make_planted_mixture, planted_cost


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--d", type=int, nargs="+", default=[10, 100])
    ap.add_argument("--k", type=int, nargs="+", default=[5, 10, 25, 100, 1000])
    ap.add_argument("--runs", type=int, default=3, help="seeds per method (the paper used 30)")
    ap.add_argument("--methods", nargs="+", default=["exact", "approx", "sklearn", "faiss"])
    args = ap.parse_args()
    LSHTreeKMeans(2, random_state=0).fit(np.random.default_rng(0).standard_normal((500, 3)))  # compile once
    for d in args.d:
        for k in args.k:
            X, y, _ = make_planted_mixture(args.n, d, k, random_state=1000 * d + k)
            base = planted_cost(X, y)
            for method in args.methods:
                rhos, secs, mems, extra = [], [], [], {}
                for seed in range(args.runs):
                    if method in ("exact", "approx"):
                        est, t, mem = measured(LSHTreeKMeans(k, method=method, random_state=seed).fit, X)
                        cost = est.inertia_
                        extra = {"n_scales": est.report_["n_scales"], "tree_depth": est.report_["tree_depth"],
                                 "stage_seconds": {s: round(v, 3) for s, v in est.report_["time"].items()}}
                    elif method == "sklearn":
                        (cost, n_iter), t, mem = measured(run_sklearn, X, k, seed)
                        extra = {"n_iter": n_iter}
                    else:
                        cost, t, mem = measured(run_faiss, X, k, seed)
                    rhos.append(cost / base)
                    secs.append(t)
                    mems.append(mem)
                    log(f"d={d} k={k} {method} seed={seed}: rho={rhos[-1]:.5f} {t:.2f}s")
                emit(benchmark="synthetic_grid", n=args.n, d=d, k=k, method=method, runs=args.runs,
                     rho_mean=float(np.mean(rhos)), rho_max=float(np.max(rhos)), seconds_mean=float(np.mean(secs)),
                     peak_memory_mb=float(np.nanmax(mems)), **extra)


if __name__ == "__main__":
    main()
