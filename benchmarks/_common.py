"""Shared helpers for the benchmark scripts: JSON-line output, timing with peak
memory, and the tools users would otherwise pick (scikit-learn, faiss)."""

from __future__ import annotations

import json
import sys
import time

import numpy as np

from bigclust._core.report import peak_rss_mb, peak_rss_reset


def emit(**record) -> None:
    """Print one JSON object on one line (numpy scalars converted)."""
    def conv(v):
        if isinstance(v, (np.floating, np.integer)):
            return v.item()
        if isinstance(v, float):
            return round(v, 6)
        return v

    print(json.dumps({k: conv(v) for k, v in record.items()}), flush=True)


def measured(fn, *args, **kwargs):
    """Run ``fn``; return (result, wall seconds, peak RSS of the process during the call in MiB)."""
    exact = peak_rss_reset()
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0, (peak_rss_mb() if exact else float("nan"))


def kmeans_cost(X: np.ndarray, centers: np.ndarray) -> float:
    """k-means cost of assigning each row of X to its nearest centre."""
    from sklearn.metrics import pairwise_distances_argmin_min

    _, d = pairwise_distances_argmin_min(X, centers)
    return float(np.dot(d, d))


def run_sklearn(X, k, seed, n_init=1, **kw):
    from sklearn.cluster import KMeans

    km = KMeans(k, n_init=n_init, random_state=seed, **kw).fit(X)
    return float(km.inertia_), int(km.n_iter_)


def run_faiss(X, k, seed, niter=25):
    """faiss.Kmeans with its defaults (it subsamples to 256 points per centroid)."""
    import faiss

    Xf = np.ascontiguousarray(X, dtype=np.float32)
    km = faiss.Kmeans(Xf.shape[1], k, niter=niter, seed=seed, verbose=False)
    km.train(Xf)
    return kmeans_cost(X, km.centroids.astype(np.float64))


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def spark_session(app: str, master: str, driver_memory: str, conf=()):
    """A local-mode SparkSession for the Spark benchmarks; ``conf`` holds extra "KEY=VALUE" settings."""
    from pyspark.sql import SparkSession

    builder = (SparkSession.builder.master(master).appName(app)
               .config("spark.driver.memory", driver_memory)
               .config("spark.sql.shuffle.partitions", "8")
               .config("spark.ui.showConsoleProgress", "false"))
    for kv in conf:
        key, _, value = kv.partition("=")
        builder = builder.config(key, value)
    return builder.getOrCreate()
