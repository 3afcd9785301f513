"""Benchmark 2 of the LSH-tree issue: large k, the reason this algorithm exists.

n = 1,000,000 points in d = 32, k = 100,000 planted clusters of 10 points.
Prints one JSON line for LSHTreeKMeans (method="auto": at this k the approximate
DP) with rho = cost / cost(planted), seconds and peak memory, and one line each
for scikit-learn and faiss: neither can finish k-means at this k here, so the
time of ONE assignment step (the inner loop of every Lloyd iteration, O(n k d))
is measured on a slice of the points and scaled to n, beside the ~20+
iterations and the k-means++ seeding (another O(n k d) per centre batch) they
would need.

    python benchmarks/euclidean_large_k.py
    python benchmarks/euclidean_large_k.py --n 100000 --k 10000   # a quick look
"""

import argparse
import time

import numpy as np

from _common import emit, log, measured
from bigclust import LSHTreeKMeans
from bigclust.datasets import make_planted_mixture, planted_cost


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--d", type=int, default=32)
    ap.add_argument("--k", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--slice", type=int, default=5000, help="points used to time one assignment step of the others")
    args = ap.parse_args()
    LSHTreeKMeans(2, random_state=0).fit(np.random.default_rng(0).standard_normal((500, 3)))  # compile once
    X, y, centers = make_planted_mixture(args.n, args.d, args.k, random_state=args.seed)
    base = planted_cost(X, y)
    log(f"data ready: {X.shape}, planted cost {base:.6g}")
    est, t, mem = measured(LSHTreeKMeans(args.k, random_state=args.seed, verbose=True).fit, X)
    r = est.report_
    emit(benchmark="large_k", n=args.n, d=args.d, k=args.k, method="LSHTreeKMeans", dp=r["method"],
         dp_step=r["dp"].get("step"), dp_source=r["dp"].get("source"), guarantee=r["dp"].get("guarantee"),
         certified_gap=r["dp"].get("certified_gap"), rho=est.inertia_ / base,
         n_clusters_found=int(est.cluster_centers_.shape[0]), seconds=t, peak_memory_mb=mem,
         data_mb=X.nbytes / 2**20, n_scales=r["n_scales"], tree_depth=r["tree_depth"],
         stage_seconds={s: round(v, 2) for s, v in r["time"].items()})

    # the alternatives: one assignment step against k centres, timed on a slice
    S = X[: args.slice]
    C = X[np.random.default_rng(1).choice(args.n, args.k, replace=False)]  # random init, as cheap as seeding gets
    from sklearn.metrics import pairwise_distances_argmin_min

    t0 = time.perf_counter()
    pairwise_distances_argmin_min(S, C)
    t_sk = (time.perf_counter() - t0) * args.n / args.slice
    emit(benchmark="large_k", n=args.n, d=args.d, k=args.k, method="sklearn_lloyd_step",
         seconds_per_iteration_extrapolated=t_sk, note="scikit-learn KMeans: each Lloyd iteration is one such step; "
         "k-means++ seeding costs O(n k d) more; typical runs need 20-300 iterations")
    import faiss

    idx = faiss.IndexFlatL2(args.d)
    idx.add(np.ascontiguousarray(C, dtype=np.float32))
    t0 = time.perf_counter()
    idx.search(np.ascontiguousarray(S, dtype=np.float32), 1)
    t_fa = (time.perf_counter() - t0) * args.n / args.slice
    emit(benchmark="large_k", n=args.n, d=args.d, k=args.k, method="faiss_assignment_step",
         seconds_per_iteration_extrapolated=t_fa, note="faiss Kmeans: each iteration is one such step "
         "(on its subsample of 256 points per centroid, which at this k is all points); default 25 iterations")


if __name__ == "__main__":
    main()
