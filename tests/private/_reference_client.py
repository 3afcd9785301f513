"""A second, independent client written from docs/private.md ("Protocol specification") alone.

Pure Python (hashlib, fractions, math, struct); NumPy only for the float32 Box-Muller
arithmetic of the Duchi direction, which the specification defines in binary32. It shares
no code with bigclust.private: tests/private/test_spec.py checks that both produce the same
public values, fingerprints and report bytes, which is what a client in another language
has to do.
"""

from __future__ import annotations

import hashlib
import math
import struct
from fractions import Fraction
from functools import lru_cache

import numpy as np

M64 = (1 << 64) - 1
PREFIX = b"bigclust/private/v2/"


def stream(seed: int, label: str):
    """Generator of the bytes of the public stream (label, seed)."""
    c = 0
    while True:
        yield from hashlib.sha256(PREFIX + label.encode() + b"/" + seed.to_bytes(8, "little") + c.to_bytes(8, "little")).digest()
        c += 1


def words32(seed: int, label: str, count: int) -> list[int]:
    g = stream(seed, label)
    return [int.from_bytes(bytes(next(g) for _ in range(4)), "little") for _ in range(count)]


@lru_cache(maxsize=None)
def hyperplanes(seed, T, d):
    w = words32(seed, "simhash-hyperplanes", 12 * T * d)
    return tuple(tuple(sum(w[12 * (j * d + i) + m] for m in range(12)) - 6 * (2**32 - 1) for i in range(d)) for j in range(T))


@lru_cache(maxsize=None)
def multipliers(seed, count):
    w = words32(seed, "simhash-multipliers", 2 * count)
    return tuple((w[2 * l] | (w[2 * l + 1] << 32)) | 1 for l in range(count))


def net_key(seed):
    w = words32(seed, "net-key", 2)
    return w[0] | (w[1] << 32)


@lru_cache(maxsize=None)
def projection(seed, dp, d):
    w = words32(seed, "net-projection", 12 * dp * d)
    a = [[sum(w[12 * (j * d + i) + m] for m in range(12)) - 6 * (2**32 - 1) for i in range(d)] for j in range(dp)]
    qs = []
    for row in a:
        q = [Fraction(v) for v in row]
        for p in qs:
            c = sum(x * y for x, y in zip(q, p)) / sum(y * y for y in p)
            q = [x - c * y for x, y in zip(q, p)]
        qs.append(q)
    out = []
    for q in qs:
        s = math.sqrt(float(sum(x * x for x in q)))
        out.append([float(x) / s for x in q])
    return out


def fhex(x: float) -> str:
    return struct.pack(">d", float(x) + 0.0).hex()


def splitmix64(x: int) -> int:
    z = (x + 0x9E3779B97F4A7C15) & M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


class Params:
    """The public parameters, resolved as the specification's table says."""

    def __init__(self, d, epsilon, T, tree, b, hist_levels, vec_levels, share, hmech, vmech, radius, center, dp, lam):
        self.__dict__.update(locals())
        self.eps = Fraction(math.floor(Fraction(epsilon) * 2**20), 2**20)
        # epsilon * share is one binary64 multiplication, then rounded down to 2^-20,
        # leaving at least 2^-20 to the vector channel
        self.eps_h = min(Fraction(math.floor(Fraction(epsilon * share) * 2**20), 2**20), self.eps - Fraction(1, 2**20))
        self.eps_v = self.eps - self.eps_h

    def canonical(self, seed) -> bytes:
        lines = [
            "bigclust-private-params", "format=2", f"n_features={self.d}", f"epsilon={fhex(self.epsilon)}",
            f"histogram_share={fhex(self.share)}",
            f"epsilon_histogram={self.eps_h.numerator}/{self.eps_h.denominator}",
            f"epsilon_vector={self.eps_v.numerator}/{self.eps_v.denominator}",
            f"n_levels={self.T}", f"tree={self.tree}", f"bucket_bits={self.b}",
            "histogram_levels=" + ",".join(map(str, self.hist_levels)),
            "vector_levels=" + ",".join(map(str, self.vec_levels)),
            f"histogram_mechanism={self.hmech}", f"vector_mechanism={self.vmech}", f"radius={fhex(self.radius)}",
            "center=" + ("none" if self.center is None else ",".join(fhex(c) for c in self.center)),
            f"projection_dim={'none' if self.tree == 'simhash' else self.dp}",
            f"projection_scale={'none' if self.tree == 'simhash' else fhex(self.lam)}",
            f"public_seed={seed}",
        ]
        return ("\n".join(lines) + "\n").encode()

    def fingerprint(self, seed) -> int:
        return int.from_bytes(hashlib.sha256(self.canonical(seed)).digest()[:4], "little")


class Private:
    """The private byte source of the test vectors and the samplers of the specification."""

    def __init__(self, seed):
        self.g = stream(seed, "private-test")

    def word(self) -> int:
        return int.from_bytes(bytes(next(self.g) for _ in range(8)), "little")

    def integer(self, h: int) -> int:
        mask = (1 << (h - 1).bit_length()) - 1
        while True:
            w = self.word() & mask
            if w < h:
                return w

    def bern_exp_le1(self, num, den) -> bool:
        k = 1
        while True:
            if not self.integer(den * k) < num:
                return k % 2 == 1
            k += 1

    def bern_exp(self, gamma: Fraction) -> bool:
        for _ in range(math.floor(gamma)):
            if not self.bern_exp_le1(1, 1):
                return False
        f = gamma - math.floor(gamma)
        return self.bern_exp_le1(f.numerator, f.denominator) if f > 0 else True

    def keep(self, eps: Fraction, others: int = 1) -> bool:
        while True:
            heads = (self.word() & 1) == 1 if others == 1 else self.integer(others + 1) < 1
            if heads:
                return True
            if self.bern_exp(eps):
                return False

    def uniform53(self) -> float:
        return (self.word() >> 11) * 2.0**-53


def parity(x: int) -> int:
    return bin(x).count("1") & 1


def gaussian(seed: int, d: int) -> list:
    f32 = np.float32
    out = []
    for m in range(1, (d + 1) // 2 + 1):
        w = splitmix64((seed * 0xD1B54A32D192ED03 + m) & M64)
        u1 = (f32(w >> 40) + f32(0.5)) * f32(1.0 / 16777216.0)
        u2 = (f32((w >> 8) & 0xFFFFFF) + f32(0.5)) * f32(1.0 / 16777216.0)
        rad = np.sqrt(f32(-2.0) * np.log(u1))
        ang = f32(2.0 * np.pi) * u2
        out += [rad * np.cos(ang), rad * np.sin(ang)]
    return out[:d]


def olh_bits(eps_h: Fraction) -> int:
    e = math.exp(float(eps_h))

    def var(g):
        p = e / (e + g - 1)
        return (1 / g) * (1 - 1 / g) / (p - 1 / g) ** 2

    return min(range(1, 7), key=lambda j: var(1 << j))


def encode(P: Params, seed: int, x, rng: Private) -> bytes:
    d, T, b = P.d, P.T, P.b
    c = P.center or [0.0] * d
    y = [xi - ci for xi, ci in zip(x, c)]
    s = sum(v * v for v in y)
    if math.isfinite(s) and (s > 1e-280 or not any(y)):
        inv = 1.0 / max(math.sqrt(s), P.radius)
        y = [v * inv for v in y]
    else:  # extreme rows (spec step 1 amendment): scaled by the largest |coordinate| first
        h = 1.0
        if not all(math.isfinite(v) for v in y):
            y, h = [xi * 0.5 - ci * 0.5 for xi, ci in zip(x, c)], 2.0
        m = max(abs(v) for v in y)
        z = [v / m for v in y]
        limit = P.radius / m / h if m > 0 else P.radius
        inv_z = max(math.sqrt(sum(v * v for v in z)), limit)
        y = [v / inv_z for v in z]
    if P.tree == "simhash":
        V = hyperplanes(seed, T, d)
        M = multipliers(seed, T + 1)
        code = sum(1 << j for j in range(T) if sum(V[j][i] * 2.0**-32 * y[i] for i in range(d)) > 0)

        def bucket(level):
            node = code & ((1 << level) - 1)
            return node if level <= b else ((node * M[level]) & M64) >> (64 - b)

        def dom(level):
            return 1 << min(level, b)
    else:
        Q = projection(seed, P.dp, d) if P.dp < d else None
        xp = y if Q is None else [sum(q[i] * y[i] for i in range(d)) for q in Q]
        xs = [P.lam * v for v in xp] if math.sqrt(sum(v * v for v in xp)) <= 1.0 / P.lam else [0.0] * P.dp
        s = 2.0 ** (1 - T) / math.sqrt(P.dp)
        u = [round(v / s) for v in xs]  # Python's round: half to even, like rint
        key = net_key(seed)

        def bucket(level):
            h = splitmix64(level ^ key)
            for ui in u:
                anc = -((-ui) >> (T - level))
                h = splitmix64(h ^ (anc & M64))
            return h >> (64 - b)

        def dom(level):
            return 1 << b
    H, Vl = P.hist_levels, P.vec_levels
    lh = H[rng.integer(len(H))] if len(H) > 1 else T
    yh, Dh = bucket(lh), dom(lh)
    if P.hmech == "hadamard":
        row = rng.integer(Dh)
        bit = parity(row & yh) == 0
        if not rng.keep(P.eps_h):
            bit = not bit
        hfield, flags = row, int(bit)
    else:
        j = olh_bits(P.eps_h)
        g = 1 << j
        hseed = rng.word() >> 32
        mbits = Dh.bit_length() - 1
        rows = [splitmix64(((hseed * 64 + t) & M64) ^ 0x4F4C48) >> (64 - mbits) for t in range(j)]
        h = sum(parity(a & yh) << t for t, a in enumerate(rows))
        keep = rng.keep(P.eps_h, g - 1)
        uo = rng.integer(g - 1) if g > 2 else 0
        val = h if keep else uo + (uo >= h)
        hfield, flags = hseed, val << 2
    lv = Vl[rng.integer(len(Vl))] if len(Vl) > 1 else Vl[0]
    yv = bucket(lv)
    vrow = rng.integer(dom(lv))
    if parity(vrow & yv):
        y = [-v for v in y]
    if P.vmech == "duchi":
        norm = math.sqrt(sum(v * v for v in y))
        plus = rng.uniform53() < 0.5 * (1.0 + min(norm, 1.0))
        payload = rng.word()
        gv = gaussian(payload, d)
        dot = np.float32(0.0)
        for gi, yi in zip(gv, y):
            dot = dot + gi * np.float32(yi)
        t = bool(dot > 0)
        if not plus:
            t = not t
    else:
        payload = rng.integer(d)
        xc = min(max(y[payload], -1.0), 1.0)
        t = rng.uniform53() < 0.5 * (1.0 + xc)
    if not rng.keep(P.eps_v):
        t = not t
    flags |= int(t) << 1
    return (bytes([2, lh, lv, flags]) + P.fingerprint(seed).to_bytes(4, "little") + hfield.to_bytes(4, "little")
            + vrow.to_bytes(4, "little") + payload.to_bytes(8, "little"))
