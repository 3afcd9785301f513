"""The synthetic data of the LSH-tree paper (Section 5.1): a planted Gaussian mixture and its cost.

:func:`make_planted_mixture` draws ``k`` centres uniformly from ``[0, box]^d``
(the paper uses ``box = 50``), equal-size clusters, and points from
``N(centre, std^2 I)`` (the paper uses ``std = 1``). The planted partition
``C*`` is what the paper compares against: ``rho = cost(C) / cost(C*)``, with
the cost given by :func:`planted_cost`. :func:`zscore` is the paper's
preprocessing of real data.
"""

from __future__ import annotations

import numba
import numpy as np

from .._core.validation import (
    check_int,
    check_n_clusters,
    check_points,
    check_positive,
    check_random_state,
    check_sample_weight,
)

# Rows handled per block by the generator and the cost: bounds the temporaries to
# a few MB whatever n is (10^7 x 16 points would otherwise need ~1.3 GB extra).
_CHUNK_ROWS = 1 << 16


# --------------------------------------------------------------------------- #
# Synthetic data (paper, Section 5.1)
# --------------------------------------------------------------------------- #
def make_planted_mixture(
    n_samples: int,
    n_features: int,
    n_clusters: int,
    *,
    box: float = 50.0,
    std: float = 1.0,
    shuffle: bool = True,
    random_state=None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gaussian clusters around uniform centres: the synthetic data of Section 5.1.

    ``n_clusters`` centres are drawn uniformly from the cube ``[0, box]^d``; the
    points are split into equal-size clusters (when ``n_clusters`` does not divide
    ``n_samples`` the first ``n_samples % n_clusters`` clusters get one point more,
    so sizes differ by at most one); each point of cluster ``j`` is drawn from
    ``N(centers[j], std^2 I)``. The returned ``labels`` are the planted partition
    ``C*`` of the paper.

    Parameters
    ----------
    n_samples : int
        Number of points ``n >= 1``.
    n_features : int
        Dimension ``d >= 1``.
    n_clusters : int
        Number of clusters ``k``, ``1 <= k <= n``.
    box : float, default=50.0
        Side length of the cube the centres are drawn from (paper: 50).
    std : float, default=1.0
        Standard deviation of every coordinate around its centre (paper: 1,
        the standard Gaussian). ``0`` puts every point on its centre.
    shuffle : bool, default=True
        Put the points in random order. With ``False`` the points come grouped
        by cluster (all of cluster 0, then cluster 1, ...).
    random_state : None, int, SeedSequence or numpy Generator
        Seed; the same seed gives the same output.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), float64
        The points.
    labels : ndarray of shape (n_samples,), int64
        Planted cluster of each point, in ``0 .. n_clusters - 1``.
    centers : ndarray of shape (n_clusters, n_features), float64
        The centres the clusters were drawn around (not the sample means).

    Notes
    -----
    Memory: the output plus O(64k * d) scratch. The Gaussian noise is written
    straight into ``X`` and the centres are added block by block, so no second
    full-size array is ever made. Random draws happen in a fixed order (centres,
    then the label permutation, then the noise), so a seed fixes all three outputs.
    """
    n = check_int(n_samples, "n_samples", low=1)
    d = check_int(n_features, "n_features", low=1)
    k = check_n_clusters(n_clusters, n, name="n_clusters")
    box = check_positive(box, "box")
    std = check_positive(std, "std", allow_zero=True)
    if not isinstance(shuffle, (bool, np.bool_)):
        raise TypeError(f"shuffle must be True or False, got {shuffle!r}.")
    rng = check_random_state(random_state)

    centers = rng.uniform(0.0, box, size=(k, d))
    sizes = np.full(k, n // k, dtype=np.int64)
    sizes[: n % k] += 1
    labels = np.repeat(np.arange(k, dtype=np.int64), sizes)
    if shuffle:
        rng.shuffle(labels)

    X = np.empty((n, d), dtype=np.float64)
    if std > 0:
        rng.standard_normal(out=X)  # in place: no full-size temporary
        if std != 1.0:
            X *= std
    else:
        X.fill(0.0)
    for start in range(0, n, _CHUNK_ROWS):
        stop = min(start + _CHUNK_ROWS, n)
        X[start:stop] += centers[labels[start:stop]]
    return X, labels, centers


def planted_cost(X, labels, sample_weight=None) -> float:
    """k-means cost of a given partition: squared distances to each cluster's mean.

    ``cost = sum_i w_i * ||x_i - mu_{labels_i}||^2`` with ``mu_j`` the
    (weighted) mean of cluster ``j``; this is the cost of the partition with its
    optimal centres, as used for ``cost(C*)`` in Section 5.1 of the paper.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Finite points.
    labels : array-like of shape (n_samples,)
        Non-negative integer cluster id of each point. Ids need not be
        contiguous; ids without points (or with zero total weight) add nothing.
    sample_weight : array-like of shape (n_samples,), optional
        Non-negative weights; default all ones.

    Returns
    -------
    cost : float
        Sum of (weighted) squared Euclidean distances, in squared units of X.

    Notes
    -----
    O(n d) time and O(k d) extra memory: two compiled passes, one for the
    per-cluster weighted sums and one summing explicit residuals
    ``||x_i - mu_j||^2``. This is numerically stable; the shortcut
    ``sum x^2 - W mu^2`` loses all digits when clusters sit far from the origin
    relative to their spread.
    """
    X = check_points(X, dtype=np.float64)
    n, d = X.shape
    labels = _check_labels(labels, n)
    w = check_sample_weight(sample_weight, n)
    n_ids = int(labels.max()) + 1
    if n_ids > n:  # sparse ids (e.g. 10**9): renumber so the per-cluster arrays stay O(n)
        labels = np.unique(labels, return_inverse=True)[1].astype(np.int64).reshape(-1)
        n_ids = int(labels.max()) + 1
    weight_per_cluster = np.bincount(labels, weights=w, minlength=n_ids)
    sums = _weighted_sums(X, labels, w, n_ids)
    means = np.zeros((n_ids, d), dtype=np.float64)
    nonzero = weight_per_cluster > 0
    means[nonzero] = sums[nonzero] / weight_per_cluster[nonzero, None]
    sse, resid = _residual_cost(X, labels, w, means)
    # Corrected two-pass formula (Chan, Golub & LeVeque 1983): the residual sums r_j
    # are 0 in exact arithmetic; subtracting ||r_j||^2 / W_j removes the first-order
    # effect of rounding in the means.
    correction = np.einsum("ij,ij->i", resid[nonzero], resid[nonzero]) / weight_per_cluster[nonzero]
    return float(max(sse - correction.sum(), 0.0))


@numba.njit(cache=True, nogil=True)
def _weighted_sums(X, labels, w, n_ids):  # pragma: no cover - compiled
    n, d = X.shape
    sums = np.zeros((n_ids, d))
    for i in range(n):
        c = labels[i]
        wi = w[i]
        for j in range(d):
            sums[c, j] += wi * X[i, j]
    return sums


@numba.njit(cache=True, nogil=True)
def _residual_cost(X, labels, w, means):  # pragma: no cover - compiled
    # One pass: the weighted squared residuals, summed per block of rows so the
    # rounding error grows with the number of blocks rather than with n, and the
    # per-cluster residual sums for the two-pass correction.
    n, d = X.shape
    resid = np.zeros(means.shape)
    total = 0.0
    block = 0.0
    for i in range(n):
        c = labels[i]
        wi = w[i]
        row = 0.0
        for j in range(d):
            diff = X[i, j] - means[c, j]
            row += diff * diff
            resid[c, j] += wi * diff
        block += wi * row
        if (i & 4095) == 4095:
            total += block
            block = 0.0
    return total + block, resid


def _check_labels(labels, n: int) -> np.ndarray:
    lab = np.asarray(labels)
    if lab.ndim != 1 or lab.shape[0] != n:
        raise ValueError(f"labels must have shape ({n},), got {lab.shape}.")
    if lab.dtype.kind == "f":
        if not np.isfinite(lab).all() or (lab != np.round(lab)).any():
            raise ValueError("labels must be integers; got non-integral floats.")
    elif lab.dtype.kind not in "iub":
        raise TypeError(f"labels must be integers, got dtype {lab.dtype}.")
    lab = lab.astype(np.int64)  # copy: the caller's array is never touched
    if (lab < 0).any():
        raise ValueError(f"labels contains {int((lab < 0).sum())} negative value(s); cluster ids must be >= 0.")
    return lab


def zscore(X) -> np.ndarray:
    """Scale each column to mean 0 and variance 1 (the paper's preprocessing).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Finite values.

    Returns
    -------
    Z : ndarray of shape (n_samples, n_features), float64
        A new array ``(X - mean) / std`` per column (population std, ``ddof=0``).
        Constant columns become exactly 0 (not NaN).
    """
    X = check_points(X, dtype=np.float64)
    Z = X - X.mean(axis=0)  # new array; X is never modified
    # A constant column can leave ~1e-16 residue after subtracting its mean;
    # dividing that by its equally tiny std would give +-1 noise, so test for
    # exact constancy on the raw values instead.
    constant = (X == X[0]).all(axis=0)
    Z[:, constant] = 0.0
    scale = np.sqrt(np.mean(Z * Z, axis=0))
    scale[constant] = 1.0
    Z /= scale
    return Z
