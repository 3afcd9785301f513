"""Shared helpers for the private benchmarks: the Section 5 data generator and baselines."""

from __future__ import annotations

import numpy as np


def gaussian_mixture_in_ball(n: int, d: int, k: int, r: float, rng: np.random.Generator):
    """Section 5 of the paper: k centres uniform on the sphere of radius 1 - 1/r, n/k points per
    centre plus a Gaussian vector of expected norm ~1/r, points outside the unit ball projected
    back onto it. Returns (X float64 (n, d), centres (k, d))."""
    C = rng.standard_normal((k, d))
    C *= (1.0 - 1.0 / r) / np.linalg.norm(C, axis=1, keepdims=True)
    counts = np.full(k, n // k)
    counts[: n - counts.sum()] += 1
    X = np.repeat(C, counts, axis=0)
    X += rng.standard_normal((n, d)) * (1.0 / (r * np.sqrt(d)))
    norms = np.linalg.norm(X, axis=1)
    X /= np.maximum(norms, 1.0)[:, None]
    return X, C


def kmeans_cost(X: np.ndarray, C: np.ndarray, chunk: int = 200_000) -> float:
    """Normalised k-means objective: mean squared distance to the nearest centre."""
    total = 0.0
    cc = (C * C).sum(1)
    for s in range(0, X.shape[0], chunk):
        x = X[s:s + chunk]
        d2 = (x * x).sum(1)[:, None] - 2.0 * x @ C.T + cc[None, :]
        total += float(np.maximum(d2.min(1), 0.0).sum())
    return total / X.shape[0]


def project_to_ball(C: np.ndarray) -> np.ndarray:
    return C / np.maximum(np.linalg.norm(C, axis=1), 1.0)[:, None]


def import_diffprivlib_kmeans():
    """diffprivlib 0.6 imports names removed from sklearn.tree._tree in sklearn >= 1.8;
    provide them (they are only used by its random forests) so its KMeans can load."""
    import sklearn.tree._tree as tt

    for name, val in (("DOUBLE", np.float64), ("DTYPE", np.float32)):
        if not hasattr(tt, name):
            setattr(tt, name, val)
    from diffprivlib.models import KMeans

    return KMeans
