"""Benchmark 3 of the LSH-tree issue: Figure 1, time of the exact vs approximate DP as k grows.

n = 100,000 points in d = 100 (the paper's setting), k from 50 to 1000 planted
clusters. For each k the tree is built once, then the DPs are timed on it:
Algorithm 5 (exact), Algorithm 6 with the step Lemma 3.12 needs (epsilon/2H,
epsilon = 0.1) and Algorithm 6 with the paper's experimental step 0.1. One JSON
line per (k, DP) with seconds, cost relative to the exact DP, and table size.

    python benchmarks/euclidean_dp_scaling.py
    python benchmarks/euclidean_dp_scaling.py --n 20000 --k 50 200
"""

import argparse
import time

import numpy as np

from _common import emit, log
from bigclust.datasets import make_planted_mixture
from bigclust.lshtree.hierarchy import build_hierarchy, kmeans_node_stats
from bigclust.lshtree.pruning import approx_dp, exact_dp, split_to_k


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--d", type=int, default=100)
    ap.add_argument("--k", type=int, nargs="+", default=[50, 100, 200, 400, 600, 800, 1000])
    ap.add_argument("--epsilon", type=float, default=0.1)
    args = ap.parse_args()
    for k in args.k:
        X, y, _ = make_planted_mixture(args.n, args.d, k, random_state=k)
        t0 = time.perf_counter()
        tree = build_hierarchy(X - X.mean(0), random_state=np.random.default_rng(0))
        t_tree = time.perf_counter() - t0
        w = kmeans_node_stats(tree, X, np.ones(len(X)))[1]
        exact_dp(tree, w, 2), approx_dp(tree, w, 2, 0.1)  # compiled code loaded before timing
        t0 = time.perf_counter()
        sel, _, _ = exact_dp(tree, w, k)
        t_exact = time.perf_counter() - t0
        opt = w[sel].sum()
        emit(benchmark="dp_scaling", n=args.n, d=args.d, k=k, dp="exact (Alg 5)", seconds=t_exact,
             cost_ratio=1.0, tree_seconds=t_tree, tree_depth=tree.depth)
        for label, step in (("approx (Alg 6, eps/2H)", args.epsilon / (2 * tree.depth)), ("approx (Alg 6, step 0.1)", 0.1)):
            t0 = time.perf_counter()
            sel, info = approx_dp(tree, w, k, step)
            t_approx = time.perf_counter() - t0
            grown = split_to_k(tree, w, sel, k)
            emit(benchmark="dp_scaling", n=args.n, d=args.d, k=k, dp=label, seconds=t_approx, step=step,
                 cost_ratio=w[grown].sum() / opt, n_levels=info["n_levels"], breakpoints=info["breakpoints"])
        log(f"k={k} done")


if __name__ == "__main__":
    main()
