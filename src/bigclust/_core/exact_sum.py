"""Exact column sums whose float64 result does not depend on how the rows are ordered or split.

The LSH tree's scales start from a closest-pair lower bound (Appendix C.7), the
smallest gap between sorted projections of the centred points. At large n
that gap can be a few ulps of the projected values, so a mean summed in another
order (numpy's pairwise sum locally, per partition and batch on Spark) can move
it and shift every scale (docs/notes/spark-incidents.md). Both engines therefore
centre on this mean: each float64 is ``m * 2**e`` with an integer ``|m| < 2**53``; the
``m`` are added in int64 bins by exponent (carried upward before they can
overflow), the bins of any number of parts add up exactly as Python ints, and
the total is rounded to float64 once (correctly, so it equals ``math.fsum``).
"""

from __future__ import annotations

import math
from fractions import Fraction

import numba
import numpy as np

__all__ = ["new_bins", "add_rows", "trimmed", "column_bins", "sum_bins", "column_mean"]

_OFFSET = 1126  # bin b holds units of 2**(b - _OFFSET); frexp exponents - 53 are >= -1126
_BINS = 2200    # 2098 exponents, then room for carries
_CARRY_EVERY = 512  # rows between carries: 512 additions of < 2**53 to a bin stay below 2**63
_PARTS_PER_SUM = 1 << 28  # parts added in one int64 array by sum_bins: 2**28 bins below 2**33 stay below 2**61


@numba.njit(cache=True)
def _carry(bins, lo, hi):
    for j in range(bins.shape[0]):
        for b in range(lo, min(hi + 1, _BINS - 32)):
            c = bins[j, b] >> 32
            if c != 0:
                bins[j, b] -= c << 32
                bins[j, b + 32] += c
    return min(hi + 32, _BINS - 1)


@numba.njit(cache=True)
def _accumulate(X, bins):
    n, d = X.shape
    lo, hi = _BINS, -1
    for i in range(n):
        for j in range(d):
            x = X[i, j]
            if x != 0.0:
                m, e = math.frexp(x)
                b = e - 53 + _OFFSET
                bins[j, b] += np.int64(m * 9007199254740992.0)  # m * 2**53: an exact integer
                lo = min(lo, b)
                hi = max(hi, b)
        if (i + 1) % _CARRY_EVERY == 0 and hi >= 0:
            hi = _carry(bins, lo, hi)  # bins that received carries are carried next time too
    if hi >= 0:
        _carry(bins, lo, hi)


def new_bins(d: int) -> np.ndarray:
    """Empty bins (d, 2200) int64 for :func:`add_rows`."""
    return np.zeros((d, _BINS), np.int64)


def add_rows(bins: np.ndarray, X: np.ndarray) -> None:
    """Add the rows of ``X`` (n, d) float64, finite, to ``bins`` in place.

    A call leaves each bin it touched below 2**32 in magnitude and adds less
    than 2**31 to the 32 bins above them, so bins stay exact for up to 2**31
    calls."""
    _accumulate(np.ascontiguousarray(X, dtype=np.float64), bins)


def trimmed(bins: np.ndarray) -> tuple[int, np.ndarray]:
    """``(lo, bins[:, lo:hi + 1])``: the used columns of ``bins`` (an empty array when all are 0)."""
    used = np.flatnonzero(bins.any(axis=0))
    if used.size == 0:
        return 0, bins[:, :0].copy()
    return int(used[0]), bins[:, used[0]:used[-1] + 1].copy()


def column_bins(X: np.ndarray) -> tuple[int, np.ndarray]:
    """``(lo, bins)``: the exact column sums of ``X`` (n, d) float64 as int64 bins, ``bins[j, b]`` in
    units of ``2**(lo + b - 1126)``; ``bins`` has shape (d, width). Finite values only."""
    bins = new_bins(X.shape[1])
    add_rows(bins, X)
    return trimmed(bins)


def sum_bins(parts) -> np.ndarray:
    """The column sums (d,) float64 of all parts ``(lo, bins)`` of :func:`column_bins`, rounded once."""
    parts = list(parts)
    if not parts:
        raise ValueError("no parts to sum")
    d = parts[0][1].shape[0]
    totals = [0] * d
    for start in range(0, len(parts), _PARTS_PER_SUM):
        used = [(lo, bins) for lo, bins in parts[start:start + _PARTS_PER_SUM] if bins.shape[1]]
        if not used:
            continue
        # aligned int64 addition is exact here: every bin of a part is below 2**33 in magnitude
        base = min(lo for lo, _ in used)
        acc = np.zeros((d, max(lo + bins.shape[1] for lo, bins in used) - base), np.int64)
        for lo, bins in used:
            acc[:, lo - base:lo - base + bins.shape[1]] += bins
        for j in range(d):
            totals[j] += sum(int(v) << (base + b) for b, v in enumerate(acc[j].tolist()) if v)
    out = np.empty(d)
    for j, t in enumerate(totals):
        try:
            out[j] = float(Fraction(t, 1 << _OFFSET))
        except OverflowError:
            out[j] = np.inf if t > 0 else -np.inf
    return out


def column_mean(X: np.ndarray) -> np.ndarray:
    """Mean of the rows of ``X`` (n, d), the exactly summed columns rounded once and divided by n."""
    if X.shape[0] == 0:
        raise ValueError("column_mean of no rows")
    return sum_bins([column_bins(X)]) / X.shape[0]
