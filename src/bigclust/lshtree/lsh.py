"""Locality-sensitive hash families for Euclidean space.

The p-stable family of Datar, Immorlica, Indyk and Mirrokni (2004), as used in
Section 5 of the LSH-tree paper ("Massively Parallel k-Means Clustering for
Perturbation Resilient Instances"):
a hash function for scale ``D`` is defined by ``m`` Gaussian vectors ``v_j`` and
offsets ``b_j ~ U[0, r)``,

    h(x) = ( floor((x . v_1 / D + b_1) / r), ..., floor((x . v_m / D + b_m) / r) ).

Practical choice (documented in :class:`bigclust.LSHTreeKMeans`): the Gaussian
vectors are drawn once and shared by every scale, so the projections ``x . v_j``
are computed once (one matrix product) and each scale only rescales them and
draws fresh offsets. Each scale's hash functions are still p-stable LSH
functions with the paper's collision probabilities; only their independence
across scales is given up, which no lemma of the paper uses (each scale's
guarantee, Lemma 3.5, is about that scale alone).
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

__all__ = ["PStableLSH", "draw_pstable", "collision_probability"]

# Rows per BLAS product in PStableLSH.project (it bounds the float64 temporary).
PROJECT_CHUNK = 65536


@dataclass(frozen=True)
class PStableLSH:
    """A bank of ``n_hashes`` p-stable hash functions of ``n_projections`` coordinates each.

    Attributes
    ----------
    directions : ndarray of shape (n_features, n_hashes * n_projections)
        Standard Gaussian vectors, one column per projection; hash ``j`` uses
        columns ``j*m .. (j+1)*m - 1``.
    bucket_width : float
        ``r`` of Datar et al. (the paper uses 4).
    n_hashes : int
        ``t`` of Algorithm 1: hash functions per scale.
    n_projections : int
        ``m``: concatenated projections per hash function (the paper uses 10).
    """

    directions: np.ndarray
    bucket_width: float
    n_hashes: int
    n_projections: int

    def project(self, Y: np.ndarray, dtype=np.float32) -> np.ndarray:
        """All projections, projection-major: ``(Y @ directions).T``, shape (n_hashes * n_projections, n_samples).

        This layout lets :func:`bucket_keys` stream one projection at a time over
        all points (vectorised), which is several times faster than row-major.
        """
        out = np.empty((self.directions.shape[1], Y.shape[0]), dtype=dtype)
        chunk = PROJECT_CHUNK
        for s in range(0, Y.shape[0], chunk):
            out[:, s:s + chunk] = (Y[s:s + chunk] @ self.directions).T
        return out


def draw_pstable(n_features: int, n_hashes: int, n_projections: int, bucket_width: float, rng: np.random.Generator) -> PStableLSH:
    """Draw the Gaussian directions of a :class:`PStableLSH` bank."""
    V = rng.standard_normal((n_features, n_hashes * n_projections))
    return PStableLSH(V, float(bucket_width), int(n_hashes), int(n_projections))


def collision_probability(distance_over_scale: float, bucket_width: float = 4.0, n_projections: int = 10) -> float:
    """Probability that two points at distance ``c * D`` share a bucket at scale ``D``.

    ``p(c) = (1 - 2 Phi(-r/c) - 2 c / (sqrt(2 pi) r) (1 - exp(-r^2 / (2 c^2))))^m``
    (Datar et al. 2004, eq. for the 2-stable case), used to document and test the
    choice of ``n_hashes``.
    """
    from scipy.stats import norm

    c = float(distance_over_scale)
    if c <= 0:
        return 1.0
    r = float(bucket_width)
    p = 1.0 - 2.0 * norm.cdf(-r / c) - 2.0 * c / (np.sqrt(2 * np.pi) * r) * (1.0 - np.exp(-(r * r) / (2.0 * c * c)))
    return float(p**n_projections)


# Odd 64-bit multipliers: key = mix(sum_q c_q * M_q mod 2^64). Two different
# bucket vectors get the same key with probability about 2^-64, and a false
# match would only propose an edge, which the distance check then judges.
MULTIPLIERS = np.random.default_rng(0x5EED).integers(1, 2**63 - 1, size=64, dtype=np.int64).astype(np.uint64) | np.uint64(1)


@numba.njit(cache=True, inline="always")
def mix64(h):
    """splitmix64 finaliser: spreads the bits of a 64-bit key."""
    h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return h ^ (h >> np.uint64(31))


@numba.njit(cache=True)
def bucket_keys(ZT, base, n_projections, inv_scale_width, offsets, multipliers, out):
    """64-bit bucket key of every point for one hash function at one scale.

    ``ZT`` holds the projections projection-major (t*m, n); the hash uses rows
    ``base .. base+m-1``. ``inv_scale_width`` is ``1 / (D r)`` and ``offsets`` (m,)
    are ``b_j / r`` in [0, 1). Writes ``out`` (n,) uint64.
    """
    n = ZT.shape[1]
    out[:] = 0
    for q in range(n_projections):
        row = ZT[base + q]
        o = offsets[q]
        mult = multipliers[q % 64]
        for p in range(n):
            x = row[p] * inv_scale_width + o
            c = np.int64(x)
            if x < c:  # floor for negative values; faster than np.floor
                c -= 1
            out[p] += np.uint64(c) * mult
    for p in range(n):
        out[p] = mix64(out[p])
