"""k-means++ seeding of the default refinement beside scikit-learn's ``kmeans_plusplus`` (issue 18).

``pruned`` is the compiled greedy seeding with group pruning (``_kernels.lloyd.kmeanspp_pruned``),
``sklearn`` scikit-learn's BLAS seeding, which ``refine.kmeanspp`` uses from d = 32 up to
k = ``BLAS_SEEDING_MAX_K``. Best of ``--reps`` seconds each, one JSON line per (data, k).

    NUMBA_NUM_THREADS=1 OMP_NUM_THREADS=1 python benchmarks/euclidean_seeding.py --data mnist --k 10 100
    NUMBA_NUM_THREADS=1 OMP_NUM_THREADS=1 python benchmarks/euclidean_seeding.py --data magic --k 10 100 1000
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from _common import emit
from euclidean_any_data import _zscore


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="magic")
    ap.add_argument("--k", type=int, nargs="+", default=[10, 100, 1000])
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args(argv)
    from sklearn.cluster import kmeans_plusplus

    from bigclust.datasets import load_dataset
    from bigclust.lshtree._kernels import lloyd as K

    X = _zscore(load_dataset(args.data).X)
    w = np.ones(X.shape[0])
    K.kmeanspp_pruned(X[:500], w[:500], 5, 3, np.random.default_rng(0).random(13))  # compile
    for k in args.k:
        trials = 2 + int(math.log(k))
        best = {"pruned": np.inf, "sklearn": np.inf}
        for rep in range(args.reps):
            u = np.random.default_rng(rep).random(1 + (k - 1) * trials)
            t = time.perf_counter()
            K.kmeanspp_pruned(X, w, k, trials, u)
            best["pruned"] = min(best["pruned"], time.perf_counter() - t)
            t = time.perf_counter()
            kmeans_plusplus(X, k, sample_weight=w, random_state=rep)
            best["sklearn"] = min(best["sklearn"], time.perf_counter() - t)
        emit(data=args.data, n=X.shape[0], d=X.shape[1], k=k, pruned_seconds=best["pruned"],
             sklearn_seconds=best["sklearn"])


if __name__ == "__main__":
    main()
