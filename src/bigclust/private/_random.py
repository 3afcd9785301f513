"""Randomness for the private protocol: a byte source and exact discrete samplers.

Every random choice an encoder makes that the privacy proof depends on is drawn
here, from integers only: no floating-point probabilities, no floating-point
Laplace. The byte source is the operating system's CSPRNG (``os.urandom``)
unless a test or an experiment injects a seed, in which case a PCG64 stream is
used and the source says so (``secure`` is False).

Samplers (all vectorised over a batch, exact in distribution):

* :meth:`RandomSource.integers` -- uniform on ``{0, ..., high-1}`` by masked
  rejection sampling of 64-bit words.
* :meth:`RandomSource.bernoulli_rational` -- Bernoulli(num/den).
* :meth:`RandomSource.bernoulli_exp` -- Bernoulli(exp(-gamma)) for rational
  ``gamma >= 0`` (Canonne, Kamath, Steinke 2020, "The Discrete Gaussian for
  Differential Privacy", Algorithm 1).
* :meth:`RandomSource.bernoulli_logistic` -- Bernoulli(1 / (1 + exp(-eps))) =
  Bernoulli(e^eps / (1 + e^eps)), the keep probability of binary randomised
  response, by a Bernoulli factory on a fair coin and Bernoulli(exp(-eps)).
* :meth:`RandomSource.discrete_laplace` -- P(z) proportional to exp(-|z| / scale)
  on the integers, rational ``scale`` (Canonne, Kamath, Steinke 2020, Algorithm 2).

Privacy parameters are turned into exact rationals by
:func:`~bigclust.private._accounting.rational_epsilon` (re-exported here), which
rounds *down*, so the budget actually spent never exceeds the one asked for.
"""

from __future__ import annotations

import math
import os
from fractions import Fraction

import numpy as np

from ._accounting import rational_epsilon

__all__ = ["RandomSource", "rational_epsilon"]


def _mask_for(high: np.ndarray) -> np.ndarray:
    """Smallest all-ones bit mask >= high - 1 (elementwise, uint64)."""
    m = high - np.uint64(1)
    for s in (1, 2, 4, 8, 16, 32):
        m |= m >> np.uint64(s)
    return m


class RandomSource:
    """Source of uniformly random bytes with exact discrete samplers on top.

    Parameters
    ----------
    seed : None, int or numpy.random.SeedSequence
        None (the default) reads the operating system's CSPRNG (``os.urandom``):
        use this for any real deployment. An int or SeedSequence gives a
        reproducible PCG64 stream for tests and experiments; it is NOT
        cryptographically secure and ``secure`` is then False.
    """

    def __init__(self, seed=None):
        self._stream = None
        if seed is None:
            self._gen = None
        else:
            if isinstance(seed, bool) or not isinstance(seed, (int, np.integer, np.random.SeedSequence)):
                raise TypeError(f"seed must be None, an int or a SeedSequence, got {type(seed).__name__}.")
            self._gen = np.random.Generator(np.random.PCG64(seed))

    @classmethod
    def test_stream(cls, seed: int) -> "RandomSource":
        """A reproducible source whose bytes are the SHA-256 counter stream ``"private-test"``.

        The bytes are those of :func:`bigclust.private._public.stream_bytes` with label
        ``"private-test"`` and this seed, consumed in order: a client written in another
        language can reproduce them, which is what the report test vectors of
        docs/private.md use. NOT for deployment (``secure`` is False): the seed is
        guessable.
        """
        from ._public import _check_seed

        src = cls(0)
        src._gen = None
        src._stream = [_check_seed(seed), 0, b""]  # seed, next block, buffered bytes
        return src

    @property
    def secure(self) -> bool:
        """True when the bytes come from the operating system's CSPRNG."""
        return self._gen is None and self._stream is None

    def random_bytes(self, n: int) -> bytes:
        if self._stream is not None:
            import hashlib

            from ._public import STREAM_PREFIX

            seed, block, buf = self._stream
            head = STREAM_PREFIX + b"private-test/" + seed.to_bytes(8, "little")
            parts = [buf]
            have = len(buf)
            while have < n:
                parts.append(hashlib.sha256(head + block.to_bytes(8, "little")).digest())
                block += 1
                have += 32
            data = b"".join(parts)
            self._stream = [seed, block, data[n:]]
            return data[:n]
        return os.urandom(n) if self._gen is None else self._gen.bytes(n)

    def words(self, size: int) -> np.ndarray:
        """``size`` independent uniform 64-bit words (uint64)."""
        if size == 0:
            return np.zeros(0, dtype=np.uint64)
        return np.frombuffer(self.random_bytes(8 * size), dtype="<u8").astype(np.uint64)

    def integers(self, high, size: int | None = None) -> np.ndarray:
        """Uniform integers in ``[0, high)`` (uint64), exactly, by rejection.

        ``high`` is a positive integer below 2**63 or an array of them (one bound
        per output, then ``size`` defaults to ``len(high)``).
        """
        if np.ndim(high) == 0:
            h = int(high)
            if size is None:
                size = 1
            if h < 1:
                raise ValueError("integers() needs high >= 1.")
            mask_s = np.uint64((1 << (h - 1).bit_length()) - 1)
            hs = np.uint64(h)
            w = self.words(size) & mask_s
            bad = np.flatnonzero(w >= hs)
            while bad.size:  # each round accepts with probability > 1/2
                w2 = self.words(bad.size) & mask_s
                w[bad] = w2
                bad = bad[w2 >= hs]
            return w
        high_arr = np.asarray(high, dtype=np.uint64)
        if size is None:
            size = int(high_arr.size)
        high_arr = np.broadcast_to(high_arr, (size,))
        if size and int(high_arr.min()) < 1:
            raise ValueError("integers() needs high >= 1.")
        mask = _mask_for(high_arr)
        out = np.empty(size, dtype=np.uint64)
        todo = np.arange(size)
        while todo.size:
            w = self.words(todo.size) & mask[todo]
            ok = w < high_arr[todo]
            out[todo[ok]] = w[ok]
            todo = todo[~ok]  # each round accepts with probability > 1/2
        return out

    def uniform53(self, size: int) -> np.ndarray:
        """Uniform floats in [0, 1) with 53 random bits (for choices that do not affect privacy)."""
        return (self.words(size) >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))

    def bernoulli_rational(self, num, den, size: int | None = None) -> np.ndarray:
        """Bernoulli(num/den) for integers 0 <= num <= den (scalars or arrays)."""
        den_arr = np.asarray(den, dtype=np.uint64)
        u = self.integers(den_arr, size if size is not None else None if den_arr.ndim else 1)
        return u < np.asarray(num, dtype=np.uint64)

    def _bernoulli_exp_le1(self, num, den: int, size: int) -> np.ndarray:
        # CKS 2020, Algorithm 1 for gamma = num/den in [0, 1] (num may be a per-sample
        # array): K <- 1; while Bernoulli(gamma/K): K <- K+1; return K odd.
        # P[return 1] = sum_k (-1)^(k-1) gamma^(k-1)/(k-1)! ... = exp(-gamma).
        num = np.broadcast_to(np.asarray(num, dtype=np.uint64), (size,))
        out = np.empty(size, dtype=bool)
        active = np.arange(size)
        k = 1
        while active.size:
            a = self.integers(den * k, active.size) < num[active]
            done = active[~a]
            out[done] = k % 2 == 1
            active = active[a]
            k += 1
        return out

    def bernoulli_exp(self, gamma: Fraction, size: int) -> np.ndarray:
        """Bernoulli(exp(-gamma)), exactly, for rational ``gamma >= 0``."""
        gamma = Fraction(gamma)
        if gamma < 0:
            raise ValueError("bernoulli_exp needs gamma >= 0.")
        out = np.ones(size, dtype=bool)
        whole = math.floor(gamma)
        idx = np.arange(size)
        # exp(-gamma) = exp(-1)^floor(gamma) * exp(-frac(gamma)); stop early on a 0.
        for _ in range(whole):
            if not idx.size:
                break
            b = self._bernoulli_exp_le1(1, 1, idx.size)
            out[idx[~b]] = False
            idx = idx[b]
        frac = gamma - whole
        if frac > 0 and idx.size:
            b = self._bernoulli_exp_le1(frac.numerator, frac.denominator, idx.size)
            out[idx[~b]] = False
        return out

    def bernoulli_logistic(self, epsilon: Fraction, size: int, others: int = 1) -> np.ndarray:
        """Bernoulli(e^eps / (e^eps + others)) = Bernoulli(1 / (1 + others exp(-eps))) exactly.

        For rational ``epsilon >= 0`` and an integer ``others >= 1`` (the keep
        probability of generalised randomised response over ``others + 1`` values).
        Bernoulli factory: draw a coin with P(heads) = 1/(others + 1); heads -> 1;
        tails -> draw B ~ Bernoulli(exp(-epsilon)); B = 1 -> 0; otherwise repeat. Each
        round ends in 1 with probability 1/(c+1) and in 0 with probability c q/(c+1)
        (c = others, q = exp(-eps)), so P[1] = 1 / (1 + c q).
        """
        others = int(others)
        if others < 1:
            raise ValueError("bernoulli_logistic needs others >= 1.")
        out = np.empty(size, dtype=bool)
        active = np.arange(size)
        while active.size:
            if others == 1:
                heads = (self.words(active.size) & np.uint64(1)).astype(bool)
            else:
                heads = self.bernoulli_rational(1, others + 1, active.size)
            out[active[heads]] = True
            tails = active[~heads]
            b = self.bernoulli_exp(epsilon, tails.size)
            out[tails[b]] = False
            active = tails[~b]
        return out

    def discrete_laplace(self, scale: Fraction, size: int) -> np.ndarray:
        """Samples with P(z) proportional to exp(-|z| / scale), z integer (int64).

        CKS 2020, Algorithm 2 with scale = t/s: U ~ Unif{0..t-1}, accept with
        Bernoulli(exp(-U/t)); V ~ Geometric(1 - exp(-1)); X = U + tV is geometric with
        ratio exp(-1/t); Y = floor(X/s); a random sign, rejecting (-, 0).
        """
        scale = Fraction(scale)
        if scale <= 0:
            raise ValueError("discrete_laplace needs scale > 0.")
        t, s = scale.numerator, scale.denominator
        out = np.empty(size, dtype=np.int64)
        todo = np.arange(size)
        while todo.size:
            m = todo.size
            if t >= 2**40:
                raise ValueError("discrete_laplace needs a scale numerator below 2**40.")
            u = self.integers(t, m)
            acc = self._bernoulli_exp_le1(u, t, m)  # Bernoulli(exp(-U/t)), U/t < 1
            u = u.astype(np.int64)
            v = np.zeros(m, dtype=np.int64)
            cont = np.arange(m)
            while cont.size:  # V: number of successes of Bernoulli(exp(-1)) before a failure
                b = self.bernoulli_exp(Fraction(1), cont.size)
                v[cont[b]] += 1
                cont = cont[b]
            x = u + t * v
            y = x // s
            neg = (self.words(m) & np.uint64(1)).astype(bool)
            good = acc & ~(neg & (y == 0))
            z = np.where(neg, -y, y)
            out[todo[good]] = z[good]
            todo = todo[~good]
        return out
