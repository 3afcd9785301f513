"""The hashed points and their bucket keys, computed from the input rows where they are needed.

The local tree builder does not keep the projections ``Z`` (``n x t m`` float32,
400 bytes a point with the defaults) nor a centred copy of the points: a hashed
point is ``X[rows[p]] - center`` (``rows`` the distinct rows in leaf order,
``center`` the exact mean), computed when a kernel reads it, and each scale
recomputes its projections and keys in one pass (:func:`projected_keys`).

The keys must be the bits :meth:`bigclust.lshtree.lsh.PStableLSH.project` and
:func:`bigclust.lshtree.lsh.bucket_keys` give (the Spark engine computes them so),
and those projections are BLAS products ``Y @ V`` rounded to float32. Here each
product is a chain of fused multiply-adds in coordinate order, ``z = fma(y_k,
v_k, z)`` from ``z = 0``, which is how the BLAS kernels of the x86-64 OpenBLAS
builds compute a product with few coordinates. That is a property of the BLAS
at hand, not a guarantee, so :func:`matches_blas` compares both on the rows the
tree builder probes, and the builder falls back to stored BLAS projections when
any bit differs.
"""

from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from ..lsh import mix64

__all__ = ["fma", "hashed_row", "hashed_points", "projected_keys", "project_rows", "matches_blas"]

_BLOCK = 128  # rows per block of projected_keys (a block's coordinates stay in L1)


@intrinsic
def fma(typingctx, a, b, c):
    """``a * b + c`` rounded once (LLVM's ``llvm.fma.f64``, a hardware FMA where there is one)."""
    sig = types.float64(types.float64, types.float64, types.float64)

    def codegen(context, builder, signature, args):
        dbl = ir.DoubleType()
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(dbl, [dbl, dbl, dbl]), "llvm.fma.f64")
        return builder.call(fn, args)

    return sig, codegen


@numba.njit(cache=True, inline="always")
def hashed_row(X, rows, center, p):
    """The row of ``X`` holding hashed point ``p``: ``rows[p]``, or ``p`` when ``rows`` is None."""
    if rows is None:
        return np.int64(p)
    return np.int64(rows[p])


@numba.njit(cache=True, inline="always")
def hashed_coord(X, center, r, k):
    """Coordinate ``k`` of row ``r`` of ``X`` minus ``center[k]`` (``X[r, k]`` when ``center`` is None),
    as float64: the bits of ``np.asarray(X, float64)[r] - center``."""
    if center is None:
        return np.float64(X[r, k])
    return np.float64(X[r, k]) - center[k]


@numba.njit(cache=True, parallel=True)
def hashed_points(X, rows, center, out):
    """``out[p] = X[rows[p]] - center`` for every hashed point ``p`` (out (n, d) float64)."""
    n, d = out.shape
    for p in numba.prange(n):
        r = hashed_row(X, rows, center, p)
        for k in range(d):
            out[p, k] = hashed_coord(X, center, r, k)


@numba.njit(cache=True)
def _gather_block(X, rows, center, p0, nr, Yb):
    """``Yb[k, i]`` = coordinate ``k`` of hashed point ``p0 + i`` (coordinate-major, for the column loops)."""
    d = X.shape[1]
    for i in range(nr):
        r = hashed_row(X, rows, center, p0 + i)
        for k in range(d):
            Yb[k, i] = hashed_coord(X, center, r, k)


@numba.njit(cache=True)
def _project_column(Yb, V, c, nr, z):
    """``z[i] = sum_k Yb[k, i] V[k, c]`` as a chain of FMAs in coordinate order, for ``i < nr``.

    Four coordinates per pass over ``z`` (the nesting keeps each chain's order).
    """
    d = Yb.shape[0]
    for i in range(nr):
        z[i] = 0.0
    k = 0
    while k + 4 <= d:
        v0 = V[k, c]
        v1 = V[k + 1, c]
        v2 = V[k + 2, c]
        v3 = V[k + 3, c]
        y0 = Yb[k]
        y1 = Yb[k + 1]
        y2 = Yb[k + 2]
        y3 = Yb[k + 3]
        for i in range(nr):
            z[i] = fma(y3[i], v3, fma(y2[i], v2, fma(y1[i], v1, fma(y0[i], v0, z[i]))))
        k += 4
    while k < d:
        v = V[k, c]
        y0 = Yb[k]
        for i in range(nr):
            z[i] = fma(y0[i], v, z[i])
        k += 1


@numba.njit(cache=True, inline="always")
def _bucket(z, inv_scale_width, o):
    """``floor(float32(z) / (D r) + b / r)``, as :func:`bigclust.lshtree.lsh.bucket_keys` computes it."""
    x = np.float32(z) * inv_scale_width + o
    c = np.int64(x)
    if x < c:  # floor for negative values
        c -= 1
    return np.uint64(c)


@numba.njit(cache=True)
def _add_buckets2(Yb, V, c0, nr, inv_scale_width, o0, o1, m0, m1, z0, z1, h):
    """Projections ``c0`` and ``c0 + 1`` of ``nr`` points (as :func:`_project_column`, sharing the
    loads of the coordinates) and their terms of the points' keys, added to ``h``."""
    d = Yb.shape[0]
    for i in range(nr):
        z0[i] = 0.0
        z1[i] = 0.0
    k = 0
    while k + 4 <= d:
        a0 = V[k, c0]
        a1 = V[k + 1, c0]
        a2 = V[k + 2, c0]
        a3 = V[k + 3, c0]
        b0 = V[k, c0 + 1]
        b1 = V[k + 1, c0 + 1]
        b2 = V[k + 2, c0 + 1]
        b3 = V[k + 3, c0 + 1]
        y0 = Yb[k]
        y1 = Yb[k + 1]
        y2 = Yb[k + 2]
        y3 = Yb[k + 3]
        for i in range(nr):
            u0 = y0[i]
            u1 = y1[i]
            u2 = y2[i]
            u3 = y3[i]
            z0[i] = fma(u3, a3, fma(u2, a2, fma(u1, a1, fma(u0, a0, z0[i]))))
            z1[i] = fma(u3, b3, fma(u2, b2, fma(u1, b1, fma(u0, b0, z1[i]))))
        k += 4
    while k < d:
        a0 = V[k, c0]
        b0 = V[k, c0 + 1]
        y0 = Yb[k]
        for i in range(nr):
            z0[i] = fma(y0[i], a0, z0[i])
            z1[i] = fma(y0[i], b0, z1[i])
        k += 1
    for i in range(nr):
        h[i] += _bucket(z0[i], inv_scale_width, o0) * m0 + _bucket(z1[i], inv_scale_width, o1) * m1


@numba.njit(cache=True)
def _keys_block(X, rows, center, V, inv_scale_width, offsets, t, m, multipliers, keys, p0, nr, Yb, z, z1, h):
    _gather_block(X, rows, center, p0, nr, Yb)
    for j in range(t):
        for i in range(nr):
            h[i] = 0
        q = 0
        while q + 2 <= m:  # the key is a sum mod 2^64: its terms may be added in any order
            _add_buckets2(Yb, V, j * m + q, nr, inv_scale_width, offsets[j, q], offsets[j, q + 1],
                          multipliers[q % 64], multipliers[(q + 1) % 64], z, z1, h)
            q += 2
        if q < m:
            _project_column(Yb, V, j * m + q, nr, z)
            o = offsets[j, q]
            mult = multipliers[q % 64]
            for i in range(nr):
                h[i] += _bucket(z[i], inv_scale_width, o) * mult
        for i in range(nr):
            keys[j, p0 + i] = mix64(h[i])


@numba.njit(cache=True, parallel=True)
def projected_keys(X, rows, center, V, inv_scale_width, offsets, t, m, multipliers, keys):
    """Bucket keys of the first ``t`` hash functions of one scale for every hashed point.

    ``V`` (d, >= t m) are the LSH directions, ``offsets`` (>= t, m) the scale's
    offsets ``b / r``, ``inv_scale_width`` ``1 / (D r)``; writes ``keys[j, p]``
    (keys has shape (>= t, n), uint64). The same keys as projecting with BLAS,
    rounding to float32 and calling :func:`bigclust.lshtree.lsh.bucket_keys`,
    when :func:`matches_blas` holds.
    """
    n = keys.shape[1]
    d = X.shape[1]
    n_blocks = (n + _BLOCK - 1) // _BLOCK
    for b in numba.prange(n_blocks):
        p0 = b * _BLOCK
        nr = min(n, p0 + _BLOCK) - p0
        Yb = np.empty((d, _BLOCK))
        z = np.empty(_BLOCK)
        z1 = np.empty(_BLOCK)
        h = np.empty(_BLOCK, np.uint64)
        _keys_block(X, rows, center, V, inv_scale_width, offsets, t, m, multipliers, keys, p0, nr, Yb, z, z1, h)


@numba.njit(cache=True, parallel=True)
def project_rows(X, rows, center, V, lo, hi, out):
    """``out[p - lo, c]`` = projection ``c`` of hashed point ``p`` for ``lo <= p < hi``, in float64, as
    :func:`projected_keys` computes it before rounding (out (hi - lo, V.shape[1]))."""
    d = X.shape[1]
    n_cols = V.shape[1]
    n_blocks = (hi - lo + _BLOCK - 1) // _BLOCK
    for b in numba.prange(n_blocks):
        p0 = lo + b * _BLOCK
        nr = min(hi, p0 + _BLOCK) - p0
        Yb = np.empty((d, _BLOCK))
        z = np.empty(_BLOCK)
        _gather_block(X, rows, center, p0, nr, Yb)
        for c in range(n_cols):
            _project_column(Yb, V, c, nr, z)
            for i in range(nr):
                out[p0 - lo + i, c] = z[i]


def matches_blas(Y: np.ndarray, X: np.ndarray, rows, center, V: np.ndarray, chunk: int) -> bool:
    """Whether :func:`projected_keys`'s projections equal the BLAS products of
    :meth:`~bigclust.lshtree.lsh.PStableLSH.project` bit for bit on its first and last chunks.

    ``Y`` (n, d) float64 are the hashed points (``X[rows] - center``) and ``chunk``
    the rows per BLAS product of ``project``; the chunks are multiplied exactly as
    ``project`` multiplies them, so when ``n <= chunk`` every projection is
    compared, and otherwise the two shapes of product ``project`` makes.
    """
    n = Y.shape[0]
    starts = {0, ((n - 1) // chunk) * chunk}
    for lo in sorted(starts):
        hi = min(lo + chunk, n)
        ref = Y[lo:hi] @ V
        ours = np.empty_like(ref)
        project_rows(X, rows, center, V, lo, hi, ours)
        if not np.array_equal(ref, ours):  # by value: the keys do not see the sign of a zero
            return False
    return True
