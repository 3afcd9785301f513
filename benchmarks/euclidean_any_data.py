"""LSHTreeKMeans with its defaults on data that is not perturbation-resilient, beside the k-means
tools users would pick instead (issue 18).

Real data sets of ``../shared/data`` (z-scored, the paper's protocol) at k = number of classes and
k in {100, 1000} where n >= 20 k; unstructured synthetic data (uniform in a cube, heavy-tailed
Student-t with 2 degrees of freedom, anisotropic Gaussian with axis scales 1..20 after a random
rotation) at the requested n, d and k. Tools, in the same run and on the same array:

* ``bigclust``: ``LSHTreeKMeans(k, random_state=seed)`` (defaults: ``refine="auto"``);
* ``sklearn``: ``KMeans(k, random_state=seed)`` (defaults: greedy k-means++, one init, Lloyd,
  tol 1e-4, at most 300 passes);
* ``sklearn-minibatch``: ``MiniBatchKMeans(k, random_state=seed)`` (defaults);
* ``faiss``: ``faiss.Kmeans(d, k, niter=25, nredo=3)`` started from scikit-learn's
  k-means++ on faiss's own training sample (256 points per centroid), the "k-means++-like start".

One JSON line per (data, k, tool) with the mean cost and seconds over ``--seeds`` seeds, and
``cost_ratio`` / ``time_ratio`` against ``sklearn`` (mean of the same seeds). Where scikit-learn's
``KMeans`` is predicted to exceed ``--sklearn-budget`` seconds (from a timed single Lloyd pass times
100 passes plus 2 + ln k passes of seeding), it is not run: its line has ``single_pass_seconds`` and
``predicted_seconds`` instead, and ratios are against that prediction (``time_ratio`` then says how
much faster than the prediction, and no cost ratio is given).

    python benchmarks/euclidean_any_data.py --real
    python benchmarks/euclidean_any_data.py --synthetic --n 100000 --d 8 --k 10 100 1000 10000
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from _common import emit, kmeans_cost, log


def _zscore(X):
    X = np.asarray(X, np.float64)
    sd = X.std(axis=0)
    return (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1.0)


def real_sets():
    from bigclust.datasets import load_dataset
    from bigclust.datasets.loaders import DATASETS

    for name in DATASETS:
        try:
            ds = load_dataset(name)
        except (FileNotFoundError, OSError) as exc:  # pragma: no cover - depends on the checkout
            log(f"skip {name}: {exc}")
            continue
        X = _zscore(ds.X)
        n_classes = int(np.unique(ds.y).shape[0])
        ks = [n_classes] + [k for k in (100, 1000) if X.shape[0] >= 20 * k and k != n_classes]
        yield name, X, ks


def synthetic(kind: str, n: int, d: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "uniform":
        return rng.uniform(size=(n, d))
    if kind == "heavy_tailed":
        return rng.standard_t(2, size=(n, d))
    if kind == "anisotropic":
        Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
        return (rng.standard_normal((n, d)) * np.linspace(1, 20, d)) @ Q
    raise ValueError(kind)


def _timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def run_bigclust(X, k, seed):
    from bigclust import LSHTreeKMeans

    est, t = _timed(lambda: LSHTreeKMeans(k, random_state=seed).fit(X))
    r = est.report_
    extra = {"answer": r["answer"], "tree_seconds": r["time"].get("tree"), "refine_seconds": r["time"].get("refine"),
             "passes": (r.get("refine") or {}).get("passes")}
    return float(est.inertia_), t, extra


def run_sklearn(X, k, seed):
    from sklearn.cluster import KMeans

    km, t = _timed(lambda: KMeans(k, random_state=seed).fit(X))
    return float(km.inertia_), t, {"n_iter": int(km.n_iter_)}


def run_minibatch(X, k, seed):
    from sklearn.cluster import MiniBatchKMeans

    km, t = _timed(lambda: MiniBatchKMeans(k, random_state=seed).fit(X))
    return kmeans_cost(X, km.cluster_centers_), t, {}


def run_faiss(X, k, seed):
    import faiss
    from sklearn.cluster import kmeans_plusplus

    def fit():
        Xf = np.ascontiguousarray(X, dtype=np.float32)
        km = faiss.Kmeans(Xf.shape[1], k, niter=25, nredo=3, seed=seed, verbose=False)
        rng = np.random.default_rng(seed)
        sample = Xf[rng.choice(Xf.shape[0], min(Xf.shape[0], 256 * k), replace=False)]
        init, _ = kmeans_plusplus(sample, k, random_state=seed)
        km.train(Xf, init_centroids=np.ascontiguousarray(init, dtype=np.float32))
        return km.centroids

    C, t = _timed(fit)
    return kmeans_cost(X, C.astype(np.float64)), t, {}


def sklearn_single_pass(X, k, seed):
    """Seconds of one scikit-learn Lloyd pass (random initial centres), and the predicted fit time."""
    from sklearn.cluster import KMeans

    rng = np.random.default_rng(seed)
    init = X[rng.choice(X.shape[0], k, replace=False)]
    _, t = _timed(lambda: KMeans(k, init=init, n_init=1, max_iter=1, tol=0.0).fit(X))
    return t, t * (100 + 2 + math.log(k))


TOOLS = {"bigclust": run_bigclust, "sklearn": run_sklearn, "sklearn-minibatch": run_minibatch, "faiss": run_faiss}


def compare(data: str, X: np.ndarray, k: int, seeds: list[int], budget: float, tools: list[str]) -> None:
    n, d = X.shape
    base = dict(data=data, n=n, d=d, k=k, seeds=len(seeds))
    single, predicted = sklearn_single_pass(X, k, seeds[0])
    ref_cost = ref_time = None
    results = {}
    for tool in tools:
        if tool == "sklearn" and predicted > budget:
            emit(**base, tool="sklearn", skipped="predicted over budget", single_pass_seconds=single,
                 predicted_seconds=predicted)
            ref_time = predicted
            continue
        runs = [TOOLS[tool](X, k, s) for s in seeds]
        cost = float(np.mean([r[0] for r in runs]))
        secs = float(np.mean([r[1] for r in runs]))
        results[tool] = (cost, secs, runs[0][2])
        if tool == "sklearn":
            ref_cost, ref_time = cost, secs
    for tool, (cost, secs, extra) in results.items():
        emit(**base, tool=tool, cost=cost, seconds=secs,
             cost_ratio=None if ref_cost is None else cost / ref_cost,
             time_ratio=None if ref_time is None else secs / ref_time, sklearn_single_pass_seconds=single, **extra)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--real", action="store_true", help="every real data set of ../shared/data")
    p.add_argument("--synthetic", action="store_true", help="uniform, heavy-tailed and anisotropic data")
    p.add_argument("--kinds", nargs="+", default=["uniform", "heavy_tailed", "anisotropic"])
    p.add_argument("--only", nargs="+", help="real data sets to run (default: all)")
    p.add_argument("--n", type=int, nargs="+", default=[100_000])
    p.add_argument("--d", type=int, default=8)
    p.add_argument("--k", type=int, nargs="+", default=[10, 100, 1000, 10000])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--sklearn-budget", type=float, default=1800.0, help="seconds (default 1800)")
    p.add_argument("--tools", nargs="+", default=list(TOOLS), choices=list(TOOLS))
    args = p.parse_args(argv)
    if not (args.real or args.synthetic):
        p.error("choose --real and/or --synthetic")
    seeds = list(range(args.seeds))
    from bigclust import LSHTreeKMeans

    LSHTreeKMeans(5, random_state=0).fit(np.random.default_rng(0).standard_normal((2000, 3)))  # compile once
    if args.real:
        for name, X, ks in real_sets():
            if args.only and name not in args.only:
                continue
            for k in ks:
                compare(name, X, k, seeds, args.sklearn_budget, args.tools)
    if args.synthetic:
        for kind in args.kinds:
            for n in args.n:
                X = synthetic(kind, n, args.d)
                for k in args.k:
                    if k * 10 <= n:
                        compare(kind, X, k, seeds, args.sklearn_budget, args.tools)


if __name__ == "__main__":
    main()
