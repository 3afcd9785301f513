"""Public randomness of the protocol: SHA-256 in counter mode, and what is derived from it.

Every value that the clients and the server must agree on and that is not a protocol
parameter (SimHash hyperplanes, bucket-hash multipliers, the net tree's hash key and
random projection) is derived from the integer ``public_seed`` by the construction
below, which uses only SHA-256 (FIPS 180-4), integer arithmetic, and -- for the net
tree's projection only -- correctly rounded IEEE 754 binary64 division and square root.
It is bit-for-bit reproducible on any platform and in any language; docs/private.md
("Protocol specification") states it byte for byte, with test vectors that
tests/private/test_spec.py checks.

Stream. For a purpose label ``L`` (ASCII) and the seed ``s`` (``0 <= s < 2^64``), block
``c`` (``c = 0, 1, ...``) is::

    SHA-256( b"bigclust/private/v2/" || L || b"/" || s as 8 bytes little-endian
             || c as 8 bytes little-endian )

and the stream is block 0 || block 1 || ..., read as consecutive unsigned 32-bit
little-endian words ``W[0], W[1], ...`` (8 words per block).

Derivations (purposes and their labels):

* ``"simhash-hyperplanes"``: the ``T x d`` integer matrix ``V`` with
  ``V[j, i] = sum_{m=0}^{11} W[12 (j d + i) + m] - 6 (2^32 - 1)``, the centred
  Irwin-Hall(12) sum of twelve uniform 32-bit words. The SimHash bit of level ``j + 1``
  is ``[<V[j], x> > 0]``. ``V / 2^32`` has mean 0 and variance 1 per entry; Irwin-Hall(12) is
  the classical integer approximation of a standard normal (no transcendental function
  is needed, so every platform gets the same integers). The paper's Section 5 uses
  Gaussian hyperplanes; the SimHash tree is its heuristic variant and needs only
  random hyperplanes through the origin whose normals are close to isotropic.
* ``"simhash-multipliers"``: ``T + 1`` odd 64-bit multipliers,
  ``M[l] = (W[2l] + 2^32 W[2l + 1]) | 1`` (multiply-shift bucket hashing of deep levels).
* ``"net-key"``: the net tree's 64-bit bucket-hash key ``W[0] + 2^32 W[1]``.
* ``"net-projection"``: a ``d' x d`` integer matrix drawn like the hyperplanes (centred
  Irwin-Hall(12) entries), its rows orthogonalised by Gram-Schmidt in exact rational
  arithmetic (row ``i`` minus its projections on the orthogonalised rows ``0..i-1``),
  then entry ``q[i, j]`` becomes ``fl(q[i, j]) / sqrt(fl(||q[i]||^2))`` where ``fl`` is the
  correctly rounded binary64 value of an exact rational and ``/`` and ``sqrt`` are the
  correctly rounded IEEE 754 operations. Only when ``d' < d``.
"""

from __future__ import annotations

import hashlib
import math
import struct
from fractions import Fraction
from functools import lru_cache

import numpy as np

__all__ = ["STREAM_PREFIX", "stream_bytes", "stream_words32", "hyperplanes", "multipliers", "net_key", "projection", "float_hex"]

STREAM_PREFIX = b"bigclust/private/v2/"
_IH_TERMS = 12
_IH_SHIFT = 6 * (2**32 - 1)  # mean of a sum of 12 uniform 32-bit words


def _check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= int(seed) < 2**64:
        raise TypeError("public_seed must be an integer in [0, 2**64).")
    return int(seed)


def stream_bytes(seed: int, label: str, nbytes: int) -> bytes:
    """The first ``nbytes`` bytes of the public stream of ``label`` under ``seed``."""
    seed = _check_seed(seed)
    head = STREAM_PREFIX + label.encode("ascii") + b"/" + seed.to_bytes(8, "little")
    nblocks = -(-int(nbytes) // 32)
    out = b"".join(hashlib.sha256(head + c.to_bytes(8, "little")).digest() for c in range(nblocks))
    return out[:nbytes]


def stream_words32(seed: int, label: str, count: int) -> np.ndarray:
    """The first ``count`` 32-bit words ``W[0..count-1]`` of the stream (uint64 array)."""
    return np.frombuffer(stream_bytes(seed, label, 4 * count), dtype="<u4").astype(np.uint64)


def _irwin_hall(seed: int, label: str, rows: int, cols: int) -> np.ndarray:
    w = stream_words32(seed, label, _IH_TERMS * rows * cols).reshape(rows, cols, _IH_TERMS)
    return w.sum(axis=2, dtype=np.uint64).astype(np.int64) - np.int64(_IH_SHIFT)


@lru_cache(maxsize=32)
def _hyperplanes_cached(seed: int, n_levels: int, n_features: int) -> np.ndarray:
    v = _irwin_hall(seed, "simhash-hyperplanes", n_levels, n_features)
    v.setflags(write=False)
    return v


def hyperplanes(seed: int, n_levels: int, n_features: int) -> np.ndarray:
    """SimHash hyperplanes: int64 array (n_levels, n_features), entries ~ 2^32 N(0, 1)."""
    return _hyperplanes_cached(_check_seed(seed), int(n_levels), int(n_features))


def multipliers(seed: int, count: int) -> np.ndarray:
    """``count`` odd 64-bit multipliers (uint64)."""
    w = stream_words32(seed, "simhash-multipliers", 2 * count).reshape(count, 2)
    return (w[:, 0] | (w[:, 1] << np.uint64(32))) | np.uint64(1)


def net_key(seed: int) -> int:
    w = stream_words32(seed, "net-key", 2)
    return int(w[0]) | (int(w[1]) << 32)


@lru_cache(maxsize=32)
def _projection_cached(seed: int, dim: int, n_features: int) -> np.ndarray:
    a = _irwin_hall(seed, "net-projection", dim, n_features)
    rows: list[list[Fraction]] = []
    norms: list[Fraction] = []
    for i in range(dim):
        q = [Fraction(int(v)) for v in a[i]]
        for qj, nj in zip(rows, norms):
            c = sum((x * y for x, y in zip(q, qj)), Fraction(0)) / nj
            if c:
                q = [x - c * y for x, y in zip(q, qj)]
        n2 = sum((x * x for x in q), Fraction(0))
        if n2 == 0:  # probability ~0 (integer vectors of 2^35-scale entries); refuse rather than guess
            raise ValueError("the public projection is degenerate for this public_seed; choose another seed.")
        rows.append(q)
        norms.append(n2)
    out = np.empty((dim, n_features), dtype=np.float64)
    for i, (q, n2) in enumerate(zip(rows, norms)):
        s = math.sqrt(float(n2))
        out[i] = [float(x) / s for x in q]
    out.setflags(write=False)
    return out


def projection(seed: int, dim: int, n_features: int) -> np.ndarray:
    """Orthonormal rows (dim, n_features) spanning a random dim-dimensional subspace (float64)."""
    return _projection_cached(_check_seed(seed), int(dim), int(n_features))


def float_hex(x: float) -> str:
    """The 16 hex digits of the IEEE 754 binary64 bit pattern of ``x`` (big-endian); -0.0 -> 0.0."""
    return struct.pack(">d", float(x) + 0.0).hex()
