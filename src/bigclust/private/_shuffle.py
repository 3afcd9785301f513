"""Shuffle model: privacy amplification by shuffling and a simulated shuffler.

In the shuffle model every user runs an eps0-LDP local randomiser (here: the whole
Encoder report, eps0 = eps_h + eps_v) and a trusted shuffler forwards the reports in
a uniformly random order. The analyst sees the multiset of reports only. Our decoder
uses nothing but order-independent aggregates, so it runs unchanged.

Accounting (Feldman, McMillan, Talwar 2021, "Hiding Among the Clones", Theorem 3.1):
for n users, delta in (0, 1) and eps0 <= log(n / (16 log(2/delta))), the shuffled
output is (eps, delta)-DP (neighbouring data sets differ in one user's point) with

    eps = log(1 + (e^eps0 - 1)/(e^eps0 + 1) * (8 sqrt(e^eps0 log(4/delta)) / sqrt(n) + 8 e^eps0 / n)).

:func:`local_epsilon_for` finds the largest eps0 (a multiple of 2^-20) whose bound is
<= the target; when amplification does not help (small n) it returns the target
itself, because an eps-LDP protocol is also eps-DP (delta = 0) after shuffling.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from ._random import RandomSource, rational_epsilon

__all__ = ["amplified_epsilon", "local_epsilon_for", "shuffle_reports"]


def amplified_epsilon(eps0: float, n: int, delta: float) -> float:
    """Central epsilon after shuffling n reports of an eps0-LDP randomiser (FMT21, Thm 3.1).

    Returns ``inf`` when the theorem's condition ``eps0 <= log(n / (16 log(2/delta)))``
    fails (the bound does not apply).
    """
    if n < 1 or not (0.0 < delta < 1.0):
        raise ValueError("amplified_epsilon needs n >= 1 and 0 < delta < 1.")
    cap = n / (16.0 * math.log(2.0 / delta))
    if cap <= 1.0 or eps0 > math.log(cap):
        return math.inf
    e0 = math.exp(eps0)
    inner = (e0 - 1.0) / (e0 + 1.0) * (8.0 * math.sqrt(e0 * math.log(4.0 / delta)) / math.sqrt(n) + 8.0 * e0 / n)
    return math.log1p(inner)


def local_epsilon_for(epsilon: float, delta: float, n: int) -> tuple[Fraction, float, float]:
    """Largest local budget eps0 whose shuffled guarantee is within (epsilon, delta).

    Returns
    -------
    eps0 : Fraction
        Local budget (multiple of 2^-20) for the encoder.
    eps_central : float
        The central epsilon actually guaranteed (<= epsilon).
    delta_central : float
        The delta actually guaranteed (0 when no amplification was used).
    """
    base = rational_epsilon(epsilon)
    lo, hi = float(base), float(base)
    if amplified_epsilon(lo, n, delta) <= epsilon:
        # the bound is increasing in eps0: grow then bisect
        hi = lo
        while amplified_epsilon(hi * 2.0, n, delta) <= epsilon and hi < 64:
            hi *= 2.0
        lo, hi = hi, hi * 2.0
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            if amplified_epsilon(mid, n, delta) <= epsilon:
                lo = mid
            else:
                hi = mid
        eps0 = rational_epsilon(lo)
        central = amplified_epsilon(float(eps0), n, delta)
        if eps0 > base and central <= epsilon:
            return eps0, central, delta
    return base, float(base), 0.0


def shuffle_reports(reports: np.ndarray, random_source: RandomSource | None = None) -> np.ndarray:
    """A simulated trusted shuffler: the reports in a uniformly random order.

    Sorting by a pair of independent uniform 64-bit keys per report gives a uniform
    permutation except on a full 128-bit key tie (probability < n^2 / 2^129).
    """
    rs = random_source if random_source is not None else RandomSource()
    n = reports.shape[0]
    keys = np.stack([rs.words(n), rs.words(n)])
    order = np.lexsort(keys[::-1])
    return reports[order]
