"""Local randomisers and their server-side aggregates: frequency oracle and vector sums.

Both channels of a report (Algorithm 3, lines 10-11) work on *buckets*: every tree
level ``l`` has a bucket domain ``{0, ..., D_l - 1}`` (``D_l`` a power of two; the
node of a user at level ``l`` is mapped to one bucket, exactly when the level has at
most ``D_l`` nodes, by a public hash otherwise). Each user picks one level per
channel with a data-independent coin, so the reports at level ``l`` form a random
subsample and estimates are scaled by ``n / n_l``. Sampling one level costs a factor
``T`` in variance, whereas splitting epsilon over ``T`` levels (basic composition)
would cost ``T**2``; the paper's generalised histogram bound (Theorem 12, via
Bassily et al. 2020) is ``sqrt(n T^3)`` and ours is ``sqrt(n T)`` per count.

Frequency oracle: Hadamard randomised response
    (HRR; Cormode, Kulkarni, Srivastava 2018; the "Hadamard count mean sketch" of
    Apple 2017). A user with bucket ``y`` draws a row ``r`` uniform on ``[D]``, and
    reports ``r`` and ``b = H[r, y] = (-1)^popcount(r & y)``, flipped with probability
    ``1 / (1 + e^eps)``. The output distributions of two inputs differ only in the
    bit, with probability ratio at most ``e^eps``: exactly eps-DP. The server adds
    ``b`` into ``A[r]``; ``C * FWHT(A)[y]`` (``C = (e^eps+1)/(e^eps-1)``) is an unbiased
    estimate of the count of ``y``, per-report variance at most ``C^2``, and all ``D``
    estimates come from one fast Walsh-Hadamard transform. Memory is ``D`` counters
    per level, whatever the number of reports.

    HRR vs optimal local hashing (Wang et al. 2017): OLH's per-report variance
    ``4 e^eps / (e^eps - 1)^2`` is ``4 e^eps/(e^eps+1)^2`` times HRR's (0.94 at
    eps = 0.5, 0.79 at eps = 1, 0.42 at eps = 2). Plain OLH's decoder must keep every
    report and scan all of them per queried node, which breaks the bounded-memory
    requirement; :class:`LinearHashOLH` uses GF(2)-linear hashes, whose counts come
    from the same counter array and FWHT as HRR (``histogram_mechanism="olh"``).
    Unary encodings (RAPPOR/OUE) have OLH's variance but D-bit reports.

Vector sums: Duchi et al. hemisphere mechanism, Hadamard-bucketed
    For bucket ``y`` and vector ``v`` (``||v|| <= 1``), the user draws a row ``r``
    and privatises ``u = H[r, y] v`` with the l2 mechanism of Duchi, Jordan and
    Wainwright (2013/2018): pick ``w = +-u/||u||`` with P(+) = (1 + ||u||)/2, a
    Gaussian direction ``g`` (below), and report ``t = sign<g, w>`` kept with
    probability ``e^eps/(1+e^eps)`` (exact sampler) and flipped otherwise. The report
    is ``(r, seed, t)``: ``g`` is a deterministic function of a fresh 64-bit ``seed``
    drawn by the user, so reports are 16 bytes instead of ``d`` floats. Privacy: the
    seed is independent of the data; given the seed, P(t | v) is a mixture of ``p``
    and ``1-p`` whatever ``w`` is, so the ratio is at most ``p/(1-p) = e^eps``
    exactly, whatever floating-point errors ``g`` or ``<g, w>`` have.
    The server rebuilds ``g`` and uses ``Z = t * g * C * sqrt(pi/2)``: since ``g`` is
    rotation invariant, ``E[sign<g, w> g] = sqrt(2/pi) w``, hence ``E[Z] = u``.
    ``E||Z||^2 = C^2 (pi/2) d``: the same as Duchi et al.'s sphere version, within a
    constant of the minimax rate d/eps^2 for l2-bounded mean estimation.
    Alternative ``"coordinate"``: one random coordinate privatised by 1-bit
    randomised response (Duchi et al.'s l_inf mechanism), variance ``C^2 d^2``: worse
    by a factor ~ 2d/pi, kept as a cheap reference.

``g`` from a seed: counter-mode SplitMix64 words -> Box-Muller. The estimator's
unbiasedness relies on ``g`` being (numerically) rotation invariant; privacy does not
rely on it at all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ._random import RandomSource

__all__ = [
    "fwht",
    "hadamard_sign",
    "gaussian_from_seeds",
    "HadamardResponse",
    "LinearHashOLH",
    "DuchiVector",
    "CoordinateVector",
    "HISTOGRAM_MECHANISMS",
    "VECTOR_MECHANISMS",
]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def fwht(a: np.ndarray) -> np.ndarray:
    """Unnormalised fast Walsh-Hadamard transform along axis 0.

    ``out[y] = sum_r (-1)^popcount(r & y) a[r]``; ``a.shape[0]`` must be a power of two.
    Returns a new float64 array (the input is not modified).
    """
    a = np.array(a, dtype=np.float64, copy=True)
    n = a.shape[0]
    if n & (n - 1):
        raise ValueError("fwht needs a power-of-two length.")
    tail = a.shape[1:]
    h = 1
    while h < n:
        v = a.reshape((n // (2 * h), 2, h) + tail)
        x = v[:, 0].copy()
        v[:, 0] += v[:, 1]
        v[:, 1] = x - v[:, 1]
        h *= 2
    return a


def hadamard_sign(rows: np.ndarray, items: np.ndarray) -> np.ndarray:
    """``(-1)^popcount(rows & items)`` as int8 (+1/-1), elementwise."""
    par = np.bitwise_count(np.asarray(rows, dtype=np.uint64) & np.asarray(items, dtype=np.uint64)) & 1
    return (1 - 2 * par.astype(np.int8)).astype(np.int8)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    z = x + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def gaussian_from_seeds(seeds: np.ndarray, dim: int) -> np.ndarray:
    """Deterministic standard normal vectors, one per seed: shape (len(seeds), dim), float32.

    Counter-mode SplitMix64 gives two 24-bit uniforms per word, float32 Box-Muller
    turns them into two normals (float32 keeps the transcendental functions
    vectorised; the tails are cut at about 5.8 sigma, which changes E[sign<g,w> g]
    by a relative 1e-8 or less). Client and server call this same function.
    """
    seeds = np.asarray(seeds, dtype=np.uint64)
    half = (dim + 1) // 2
    with np.errstate(over="ignore"):
        ctr = seeds[:, None] * np.uint64(0xD1B54A32D192ED03) + np.arange(1, half + 1, dtype=np.uint64)[None, :]
        w = _splitmix64(ctr)
    inv = np.float32(1.0 / 16777216.0)
    u1 = ((w >> np.uint64(40)).astype(np.float32) + np.float32(0.5)) * inv
    u2 = (((w >> np.uint64(8)) & np.uint64(0xFFFFFF)).astype(np.float32) + np.float32(0.5)) * inv
    rad = np.sqrt(np.float32(-2.0) * np.log(u1))
    ang = np.float32(2.0 * np.pi) * u2
    out = np.empty((seeds.shape[0], 2 * half), dtype=np.float32)
    out[:, 0::2] = rad * np.cos(ang)
    out[:, 1::2] = rad * np.sin(ang)
    return out[:, :dim]


def _c_eps(eps: Fraction) -> float:
    e = math.exp(float(eps))
    return (e + 1.0) / (e - 1.0)


@dataclass(frozen=True)
class HadamardResponse:
    """Hadamard randomised response over a power-of-two bucket domain (eps-LDP)."""

    epsilon: Fraction
    name: str = "hadamard"

    def randomize(self, buckets: np.ndarray, domain: np.ndarray, rng: RandomSource):
        """Privatise one bucket per user.

        Parameters
        ----------
        buckets : uint64 array (n,)
            The user's bucket, ``< domain``.
        domain : uint64 array (n,) or scalar
            Bucket-domain size (a power of two) of the level each user reports on.

        Returns
        -------
        rows : uint64 array (n,)   uniform on ``[domain)``
        bits : bool array (n,)     True for +1
        """
        n = buckets.shape[0]
        rows = rng.integers(np.broadcast_to(np.asarray(domain, dtype=np.uint64), (n,)))
        sign = hadamard_sign(rows, buckets) > 0
        keep = rng.bernoulli_logistic(self.epsilon, n)
        return rows, np.where(keep, sign, ~sign)

    def flag_bits(self, bits: np.ndarray) -> np.ndarray:
        """Report flags carrying the bit: bit 0."""
        return np.asarray(bits).astype(np.uint8)

    def valid(self, rows: np.ndarray, flags: np.ndarray, domain: np.ndarray) -> np.ndarray:
        return (rows < domain) & ((flags >> 2) == 0)

    def terms(self, rows: np.ndarray, flags: np.ndarray, domain: np.ndarray):
        """Counter updates of each report: (row indices (n, 1) int64, signs (n, 1) float)."""
        return rows.astype(np.int64)[:, None], np.where(flags & 1, 1.0, -1.0)[:, None]

    def unbias(self) -> float:
        """Factor C with E[C * b * H[r, y']] = 1[y' = y]."""
        return _c_eps(self.epsilon)

    def report_variance(self) -> float:
        """Upper bound on the variance one report adds to one count estimate."""
        return _c_eps(self.epsilon) ** 2

    def estimate(self, sums: np.ndarray) -> np.ndarray:
        """Count estimates for every bucket of one level from the per-row sums of +-1 bits."""
        return self.unbias() * fwht(sums)


@dataclass(frozen=True)
class LinearHashOLH:
    """Optimal local hashing with GF(2)-linear hashes into ``g = 2^j`` values (eps-LDP).

    Wang, Blocki, Li, Jha (2017) OLH: the user hashes its bucket ``y`` with a fresh
    random hash ``h`` into ``[g]`` and reports ``h`` and a generalised randomised
    response of ``h(y)``: the true value with probability ``p = e^eps / (e^eps + g - 1)``,
    each other value with ``(1 - p) / (g - 1)``. Here ``h(y) = A y`` over GF(2) for a
    ``j x m`` bit matrix ``A`` (``D = 2^m`` buckets) whose rows ``a_1..a_j`` are derived
    from a public function of a 32-bit seed the user draws (data-independent), so the
    report is ``(seed, w)``: 32 + j bits.

    Privacy: the seed does not depend on the data; given it, P(w | y) is ``p`` or
    ``(1 - p)/(g - 1)``, ratio exactly ``e^eps`` (exact sampler, any A).

    Bounded-memory decoding (why GF(2)-linear hashes): the number of reports with
    ``A_i y = w_i`` is ``sum_i prod_t (1 + (-1)^(<a_t, y> + w_t)) / 2``
    ``= (1/g) (n + sum_{S != {}} sum_i (-1)^(sum_{t in S} w_t) (-1)^<xor_{t in S} a_t, y>)``,
    so adding ``(-1)^(sum_{t in S} w_t)`` at row ``xor_{t in S} a_t`` of one ``D``-array,
    for the ``g - 1`` non-empty ``S``, and one FWHT give every count: the same counter
    array as HRR, which is the case ``g = 2``. The unbiased estimate is
    ``FWHT(A)[y] / (g p - 1)``.

    Variance per report: a report whose bucket is not ``y`` matches ``y`` with
    probability ``1/g`` (``P(A (y xor y') = 0) = 2^-j`` for uniform ``A``), so it adds
    ``(1/g)(1 - 1/g) / (p - 1/g)^2``; at the optimum ``g = e^eps + 1`` this is OLH's
    ``4 e^eps / (e^eps - 1)^2``. ``g`` is the power of two (at most 64) minimising it.
    """

    epsilon: Fraction
    name: str = "olh"

    @property
    def g(self) -> int:
        return 1 << self.hash_bits

    @property
    def hash_bits(self) -> int:
        return min(range(1, 7), key=lambda j: self._variance(1 << j))

    def _p(self, g: int) -> float:
        e = math.exp(float(self.epsilon))
        return e / (e + g - 1)

    def _variance(self, g: int) -> float:
        # a report whose bucket is not the queried one (the null the thresholds test;
        # HRR's C^2 is the same quantity for HRR)
        p = self._p(g)
        return (1 / g) * (1 - 1 / g) / (p - 1 / g) ** 2

    def _rows(self, seeds: np.ndarray, domain_bits: np.ndarray) -> np.ndarray:
        """The j rows of A for each report: uint64 (n, j), each < 2^domain_bits."""
        j = self.hash_bits
        seeds = np.asarray(seeds, dtype=np.uint64)
        with np.errstate(over="ignore"):
            ctr = seeds[:, None] * np.uint64(64) + np.arange(j, dtype=np.uint64)[None, :]
            h = _splitmix64(ctr ^ np.uint64(0x4F4C48))
        return h >> (np.uint64(64) - np.asarray(domain_bits, dtype=np.uint64))[:, None]

    def randomize(self, buckets: np.ndarray, domain: np.ndarray, rng: RandomSource):
        """Privatise one bucket per user. Returns (seeds uint64 < 2^32, values uint8 < g)."""
        n = buckets.shape[0]
        g, j = self.g, self.hash_bits
        bits = np.log2(np.broadcast_to(np.asarray(domain, dtype=np.float64), (n,))).astype(np.uint64)
        seeds = rng.words(n) >> np.uint64(32)
        rows = self._rows(seeds, bits)
        par = (np.bitwise_count(rows & np.asarray(buckets, dtype=np.uint64)[:, None]) & 1).astype(np.uint64)
        h = (par << np.arange(j, dtype=np.uint64)[None, :]).sum(axis=1, dtype=np.uint64)
        keep = rng.bernoulli_logistic(self.epsilon, n, others=g - 1)
        u = rng.integers(g - 1, n) if g > 2 else np.zeros(n, dtype=np.uint64)
        other = u + (u >= h).astype(np.uint64)  # uniform on [g] minus {h}
        return seeds, np.where(keep, h, other).astype(np.uint8)

    def flag_bits(self, values: np.ndarray) -> np.ndarray:
        """Report flags carrying the value: bits 2..7 (bit 1 is the vector bit)."""
        return (values.astype(np.uint8) << np.uint8(2)).astype(np.uint8)

    def valid(self, rows: np.ndarray, flags: np.ndarray, domain: np.ndarray) -> np.ndarray:
        return (rows < np.uint64(1 << 32)) & ((flags & 1) == 0) & ((flags >> 2) < self.g)

    def terms(self, rows: np.ndarray, flags: np.ndarray, domain: np.ndarray):
        """Counter updates of each report: (row indices (n, g-1) int64, signs (n, g-1) float)."""
        j = self.hash_bits
        w = (np.asarray(flags, dtype=np.uint64) >> np.uint64(2)) & np.uint64(self.g - 1)
        bits = np.log2(np.asarray(domain, dtype=np.float64)).astype(np.uint64)
        a = self._rows(np.asarray(rows, dtype=np.uint64), bits)
        keys, signs = [], []
        for S in range(1, self.g):
            r = np.zeros(a.shape[0], dtype=np.uint64)
            for t in range(j):
                if S >> t & 1:
                    r ^= a[:, t]
            keys.append(r.astype(np.int64))
            signs.append(1.0 - 2.0 * (np.bitwise_count(w & np.uint64(S)) & 1))
        return np.stack(keys, axis=1), np.stack(signs, axis=1)

    def unbias(self) -> float:
        return 1.0 / (self.g * self._p(self.g) - 1.0)

    def report_variance(self) -> float:
        """Variance one report adds to the count estimate of a bucket it is not in."""
        return self._variance(self.g)

    def estimate(self, sums: np.ndarray) -> np.ndarray:
        return self.unbias() * fwht(sums)


@dataclass(frozen=True)
class DuchiVector:
    """Duchi et al. l2 hemisphere mechanism with a seeded Gaussian direction (eps-LDP)."""

    epsilon: Fraction
    name: str = "duchi"

    def randomize(self, vectors: np.ndarray, rng: RandomSource):
        """Privatise vectors of norm <= 1 (shape (n, d)). Returns (payload uint64, bits bool)."""
        n, d = vectors.shape
        norms = np.sqrt(np.einsum("ij,ij->i", vectors, vectors))
        # w = +-v/||v|| with P(+) = (1 + ||v||)/2; this choice only affects unbiasedness,
        # not privacy (any w gives the same e^eps ratio), so a float comparison is fine.
        plus = rng.uniform53(n) < 0.5 * (1.0 + np.minimum(norms, 1.0))
        seeds = rng.words(n)
        g = gaussian_from_seeds(seeds, d)
        dots = np.einsum("ij,ij->i", g, vectors.astype(np.float32))
        # sign<g, w> with w = +-v/||v||: for v = 0, <g, v> = 0 and w is a random sign,
        # which the random `plus` coin already provides.
        s = np.where(dots > 0, True, False)
        s = np.where(plus, s, ~s)
        keep = rng.bernoulli_logistic(self.epsilon, n)
        return seeds, np.where(keep, s, ~s)

    def scale(self) -> float:
        return _c_eps(self.epsilon) * math.sqrt(math.pi / 2.0)

    def report_variance(self, dim: int) -> float:
        """E||Z||^2 of one decoded report (upper bound on its added squared error)."""
        return self.scale() ** 2 * dim

    def decode(self, payload: np.ndarray, bits: np.ndarray, dim: int) -> np.ndarray:
        """Unbiased d-dimensional estimates, shape (n, dim)."""
        g = gaussian_from_seeds(payload, dim)
        sign = np.where(bits, self.scale(), -self.scale()).astype(np.float32)
        g *= sign[:, None]
        return g

    # The server aggregates t * g on the fixed-point grid 2^-24 (|g| < 6, so one term is
    # below 2^27 and a bucket holds 2^36 reports before an int64 could overflow): integer
    # sums are exact, hence the same whatever the order of the reports or the sharding.
    # The grid is as fine as float32's own resolution near |g| = 1.
    _FIXED_BITS = 24

    def decode_fixed(self, payload: np.ndarray, bits: np.ndarray, dim: int) -> np.ndarray:
        """Integer contributions (n, dim), as float32 holding exact integers below 2^27.

        ``unit() * decode_fixed`` estimates like :meth:`decode`. Scaling a float32 by 2^24
        is exact and ``rint`` of the result is an integer the float32 represents exactly,
        so sums of up to 2^26 of them in float64 are exact too (the decoder sums chunks of
        2^15 reports in float64, then adds them to int64 aggregates).
        """
        g = gaussian_from_seeds(payload, dim)
        g *= np.float32(1 << self._FIXED_BITS)
        np.rint(g, out=g)
        g[~np.asarray(bits, dtype=bool)] *= np.float32(-1.0)
        return g

    def unit(self, dim: int) -> float:
        return self.scale() / float(1 << self._FIXED_BITS)


@dataclass(frozen=True)
class CoordinateVector:
    """One uniformly chosen coordinate, 1-bit randomised response (eps-LDP); variance C^2 d^2."""

    epsilon: Fraction
    name: str = "coordinate"

    def randomize(self, vectors: np.ndarray, rng: RandomSource):
        n, d = vectors.shape
        coords = rng.integers(d, n)
        x = np.clip(vectors[np.arange(n), coords.astype(np.int64)], -1.0, 1.0)
        # b = +1 with probability (1 + x)/2 (unbiased for x; privacy does not depend on it),
        # then kept with probability e^eps/(1+e^eps) exactly.
        s = rng.uniform53(n) < 0.5 * (1.0 + x)
        keep = rng.bernoulli_logistic(self.epsilon, n)
        return coords, np.where(keep, s, ~s)

    def report_variance(self, dim: int) -> float:
        return (_c_eps(self.epsilon) * dim) ** 2  # ||Z||^2 = C^2 d^2

    def decode(self, payload: np.ndarray, bits: np.ndarray, dim: int) -> np.ndarray:
        n = payload.shape[0]
        out = np.zeros((n, dim), dtype=np.float64)
        val = np.where(bits, 1.0, -1.0) * (_c_eps(self.epsilon) * dim)
        out[np.arange(n), payload.astype(np.int64)] = val
        return out

    def decode_fixed(self, payload: np.ndarray, bits: np.ndarray, dim: int) -> np.ndarray:
        """Integer contributions (n, dim) as float32: +-1 at the reported coordinate."""
        n = payload.shape[0]
        out = np.zeros((n, dim), dtype=np.float32)
        out[np.arange(n), payload.astype(np.int64)] = np.where(bits, 1.0, -1.0)
        return out

    def unit(self, dim: int) -> float:
        return _c_eps(self.epsilon) * dim


HISTOGRAM_MECHANISMS = {"hadamard": (1, HadamardResponse), "olh": (2, LinearHashOLH)}
VECTOR_MECHANISMS = {"duchi": (1, DuchiVector), "coordinate": (2, CoordinateVector)}
