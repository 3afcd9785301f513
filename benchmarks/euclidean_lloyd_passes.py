"""The default refinement's Lloyd run with and without its switch to full passes (issue 18).

From the same k-means++ start, ``refine.lloyd`` runs once with pruned passes only
(``DENSE_SWITCH`` above 1) and once with the default switch (compiled full passes below
d = 32, BLAS passes from d = 32, where a pruned pass computed more than half the
``n k`` distances). Both give the same passes and cost (the assignments are exact); the
line gives the best of ``--reps`` times of each, and the pass counts by kind.

    NUMBA_NUM_THREADS=1 python benchmarks/euclidean_lloyd_passes.py --data uniform --d 8 --k 100 1000
    NUMBA_NUM_THREADS=1 python benchmarks/euclidean_lloyd_passes.py --data magic --k 100 1000
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from _common import emit
from euclidean_any_data import _zscore, synthetic


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="uniform", help="uniform, heavy_tailed, anisotropic or a data set name")
    ap.add_argument("--n", type=int, default=100_000, help="points of synthetic data")
    ap.add_argument("--d", type=int, default=8, help="dimension of synthetic data")
    ap.add_argument("--k", type=int, nargs="+", default=[100, 1000])
    ap.add_argument("--reps", type=int, default=2)
    args = ap.parse_args(argv)
    from bigclust.lshtree import refine as R

    if args.data in ("uniform", "heavy_tailed", "anisotropic"):
        X = synthetic(args.data, args.n, args.d, 0)
    else:
        from bigclust.datasets import load_dataset

        X = _zscore(load_dataset(args.data).X)
    n = X.shape[0]
    w = np.ones(n)
    tol = R._tolerance(X, w)
    default_switch = R.DENSE_SWITCH
    for k in args.k:
        C0, lab0, _ = R.kmeanspp(X, w, k, np.random.default_rng(0))
        R.lloyd(X[:2000], w[:2000], C0, lab0[:2000], 2, tol)  # compile
        out = {}
        for _ in range(args.reps):
            for name, switch in (("pruned_only", 2.0), ("default", default_switch)):
                R.DENSE_SWITCH = switch
                t = time.perf_counter()
                _, _, inertia, info = R.lloyd(X, w, C0, lab0, R.AUTO_MAX_PASSES, tol, R.AUTO_REL_TOL)
                sec = time.perf_counter() - t
                prev = out.get(name)
                if prev is None or sec < prev["seconds"]:
                    out[name] = {"seconds": sec, "passes": info["passes"], "full_passes": info["full_passes"],
                                 "dense_passes": info["dense_passes"], "cost": inertia}
        R.DENSE_SWITCH = default_switch
        for name, r in out.items():
            emit(data=args.data, n=n, d=X.shape[1], k=k, run=name, **r,
                 speedup=out["pruned_only"]["seconds"] / r["seconds"])


if __name__ == "__main__":
    main()
