"""Privacy accounting: the one place that turns a budget into what each mechanism gets.

Inputs are the requested ``epsilon`` (and ``delta`` in the shuffle model), the public
number of reports ``n`` and the split of the local budget between the two channels of
a report. Outputs are the exact rational budgets the mechanisms run with and the
guarantee that ``report_`` states. NumPy-free and dependency-free at import (the
shuffle-model protocol's functions import NumPy when called): it runs on the
client side too (:class:`~bigclust.private.ProtocolParams` calls it).

Rounding. Every budget a mechanism receives is an exact multiple of ``2**-20``
(:func:`rational_epsilon`), rounded *down*, so the budget spent never exceeds the one
asked for; the samplers of :mod:`~bigclust.private._random` are exact for rationals.

Split (local model, one report). A report has two randomised fields, the frequency
oracle's and the vector sum's, each an exact randomised response with its own budget;
by basic composition the report is ``(eps_h + eps_v)``-LDP (:func:`split_epsilon`).
The histogram share defaults to 0.25 for the SimHash tree and 0.5, the paper's split,
for the net tree (:func:`default_histogram_share`; the measurements behind the
defaults are in docs/notes/private-measurements.md).

Shuffle model ("Hiding Among the Clones: A Simple and Nearly Optimal Analysis of
Privacy Amplification by Shuffling", Feldman, McMillan and Talwar, 2021,
Theorem 3.1): for n users, delta in (0, 1) and eps0 <= log(n / (16 log(2/delta))), the
shuffled reports of an eps0-LDP randomiser are (eps, delta)-DP (neighbouring data
sets differ in one user's point) with

    eps = log(1 + (e^eps0 - 1)/(e^eps0 + 1) * (8 sqrt(e^eps0 log(4/delta)) / sqrt(n) + 8 e^eps0 / n)).

The authors' reference implementation has a slightly larger prefactor and the stricter
condition with log(4/delta); :func:`amplified_epsilon` takes the more conservative of
the two (its docstring has both).

:func:`local_epsilon_for` finds the largest eps0 (a multiple of 2^-20) whose bound is
<= the target; when amplification does not help (small n) it returns the target
itself, because an eps-LDP protocol is also eps-DP (delta = 0) after shuffling.
``n`` is public (the replace-one neighbouring relation of the paper), so using it
costs nothing.

The shuffle-model protocol of the paper's Theorem 2 (:mod:`~bigclust.private._multimessage`,
fair-coin blanket histograms) has its accounting here too, derived step by step in the
comment block "The shuffle-model protocol" below: :func:`blanket_rdp` (one shift, exact
Renyi divergence), :func:`blanket_epsilon` (composition and conversion, Mironov 2017
Propositions 1 and 3), :func:`blanket_group_size` and :func:`blanket_budget` (the
:class:`BlanketBudget` that ``report_`` states for ``protocol="shuffle"``).

:func:`local_budget` and :func:`shuffle_budget` put these together into a
:class:`PrivacyBudget`, whose :meth:`PrivacyBudget.report` is what the estimators'
``report_`` states.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from fractions import Fraction

__all__ = [
    "EPSILON_BITS",
    "rational_epsilon",
    "default_histogram_share",
    "split_epsilon",
    "amplified_epsilon",
    "local_epsilon_for",
    "PrivacyBudget",
    "local_budget",
    "shuffle_budget",
    "blanket_rdp",
    "blanket_epsilon",
    "blanket_group_size",
    "BlanketBudget",
    "blanket_budget",
]

EPSILON_BITS = 20  # every budget is rounded down to a multiple of 2**-20

_DEFAULT_HISTOGRAM_SHARE = {"simhash": 0.25, "net": 0.5}


def rational_epsilon(epsilon: float, *, bits: int = EPSILON_BITS) -> Fraction:
    """Largest multiple of ``2**-bits`` that is <= ``epsilon``, as an exact Fraction.

    Rounding down keeps the guarantee: a mechanism run with the returned value is
    also ``epsilon``-DP. Raises ValueError when the result would be zero.
    """
    eps = Fraction(epsilon)  # exact value of the float
    num = math.floor(eps * (1 << bits))
    if num <= 0:
        # about the epsilon the user passed: the bound, never the value (issue 22)
        raise ValueError(f"epsilon is too small: it must be at least 2**-{bits} (about {_ceil3(2.0 ** -bits)}), as "
                         f"every budget is a multiple of 2**-{bits}.")
    return Fraction(num, 1 << bits)


def default_histogram_share(tree: str) -> float:
    """Fraction of a report's budget for the histogram channel when none is given."""
    return _DEFAULT_HISTOGRAM_SHARE[tree]


def split_epsilon(epsilon: float, histogram_share: float) -> tuple[Fraction, Fraction]:
    """(eps_h, eps_v): one report's budget split between the histogram and vector channels.

    Both are exact rationals; their sum is ``epsilon`` rounded down to a multiple of
    ``2**-20`` and ``eps_h`` is ``epsilon * histogram_share`` rounded down (leaving at
    least ``2**-20`` to the vector channel).
    """
    total = rational_epsilon(epsilon)
    unit = Fraction(1, 1 << EPSILON_BITS)
    eps_h = Fraction(math.floor(Fraction(epsilon * histogram_share) * (1 << EPSILON_BITS)), 1 << EPSILON_BITS)
    eps_h = min(eps_h, total - unit)
    if eps_h <= 0:
        # The histogram channel's share fell below the 2**-20 grid. Say so in terms of the
        # epsilon the user passed (not the share's product, which they never typed), with
        # the bound it implies for this histogram_share.
        need = max(2.0 * float(unit), float(unit) / histogram_share)
        raise ValueError(
            f"epsilon is too small: it must be at least {_ceil3(need)} here, as the histogram channel gets epsilon x histogram_share, "
            f"which must be at least 2**-{EPSILON_BITS} (raise epsilon, or histogram_share)."
        )
    return eps_h, total - eps_h


def _ceil3(x: float) -> str:
    """``x`` to three significant digits, rounded up (a lower bound the user can type and pass)."""
    text = f"{x:.2e}"
    if float(text) < x:
        mant, exp = text.split("e")
        text = f"{float(mant) + 0.01:.2f}e{exp}"
    return text


def amplified_epsilon(eps0: float, n: int, delta: float) -> float:
    """Central epsilon after shuffling n reports of an eps0-LDP randomiser (FMT21, Thm 3.1).

    Two transcriptions of Theorem 3.1 are in circulation: the statement
    ``eps <= log(1 + (e^eps0 - 1)/(e^eps0 + 1) S)`` with
    ``S = 8 sqrt(e^eps0 log(4/delta)) / sqrt(n) + 8 e^eps0 / n`` under
    ``eps0 <= log(n / (16 log(2/delta)))``, and the authors' reference implementation
    (apple/ml-shuffling-amplification, ``closedformanalysis``), which uses the prefactor
    ``(1 - e^-eps0) / (1 + e^(-eps0 - eps_bar))`` with ``eps_bar = log(1 + S)`` and the
    condition ``eps0 <= log(n / (16 log(4/delta)))``. This function takes the larger
    epsilon and the stricter condition of the two, so it is valid under either reading;
    it reproduces the value the authors' README prints (0.5378040242374512 at n = 1e5,
    eps0 = 4, delta = 1e-6; tests/private/test_estimator.py).

    Returns ``inf`` when the condition fails (the bound does not apply).
    """
    if n < 1 or not (0.0 < delta < 1.0):
        raise ValueError("amplified_epsilon needs n >= 1 and 0 < delta < 1.")
    cap = n / (16.0 * math.log(4.0 / delta))
    if cap <= 1.0 or eps0 > math.log(cap):
        return math.inf
    e0 = math.exp(eps0)
    S = 8.0 * math.sqrt(e0 * math.log(4.0 / delta)) / math.sqrt(n) + 8.0 * e0 / n
    stated = (e0 - 1.0) / (e0 + 1.0) * S
    eps_bar = math.log1p(S)  # an upper bound on the result, used in the prefactor
    reference = (1.0 - 1.0 / e0) / (1.0 + math.exp(-eps0 - eps_bar)) * S
    return math.log1p(max(stated, reference))


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


@dataclass(frozen=True)
class PrivacyBudget:
    """What one run of the protocol spends, and how it is divided.

    Attributes
    ----------
    model : {"local", "shuffle"}
    epsilon_requested : float
    delta_requested : float or None
        None in the local model (pure epsilon-DP).
    encoder_epsilon : float
        The ``epsilon`` of the :class:`~bigclust.private.ProtocolParams` that the
        encoder runs with (which rounds it down to ``epsilon_local``).
    epsilon_local : Fraction
        Budget of one report (the encoder's), ``epsilon_histogram + epsilon_vector``.
    epsilon_histogram, epsilon_vector : Fraction
        The split between the report's two channels.
    epsilon, delta : float
        The guarantee of the release: the local one in the local model; the central one
        after shuffling in the shuffle model.
    amplification : str or None
        Shuffle model: the theorem used, or why none was.
    """

    model: str
    epsilon_requested: float
    delta_requested: float | None
    encoder_epsilon: float
    epsilon_local: Fraction
    epsilon_histogram: Fraction
    epsilon_vector: Fraction
    epsilon: float
    delta: float
    amplification: str | None = None

    def report(self) -> dict:
        """The privacy entries of an estimator's ``report_`` (plain floats)."""
        out = {
            "model": self.model,
            "epsilon_local": float(self.epsilon_histogram + self.epsilon_vector),
            "epsilon_histogram": float(self.epsilon_histogram),
            "epsilon_vector": float(self.epsilon_vector),
            "epsilon_requested": float(self.epsilon_requested),
            "epsilon": float(self.epsilon),
            "delta": float(self.delta),
        }
        if self.model == "shuffle":
            out["delta_requested"] = self.delta_requested
            out["amplification"] = self.amplification
        return out


def local_budget(epsilon: float, histogram_share: float) -> PrivacyBudget:
    """Local model: every report is ``epsilon``-LDP (rounded down), and so is the release."""
    eps_h, eps_v = split_epsilon(float(epsilon), histogram_share)
    spent = float(eps_h + eps_v)
    return PrivacyBudget("local", float(epsilon), None, float(epsilon), eps_h + eps_v, eps_h, eps_v, spent, 0.0)


def shuffle_budget(epsilon: float, delta: float, n: int, histogram_share: float) -> PrivacyBudget:
    """Shuffle model: the largest report budget whose shuffled release is (epsilon, delta)-DP."""
    eps0, central, delta_central = local_epsilon_for(float(epsilon), float(delta), n)
    eps_h, eps_v = split_epsilon(float(eps0), histogram_share)
    how = "Feldman-McMillan-Talwar 2021 Thm 3.1" if delta_central > 0 else "none (n too small)"
    return PrivacyBudget("shuffle", float(epsilon), float(delta), float(eps0), eps_h + eps_v, eps_h, eps_v,
                         central, delta_central, how)


# ---------------------------------------------------------------------------------------
# The shuffle-model protocol (:mod:`~bigclust.private._multimessage`): fair-coin blankets.
#
# Mechanism. The server sees, for every cell z of a public message domain, the count
# c_z = a_z + B_z: a_z real messages (a deterministic function of the users' points) and
# B_z ~ Bin(g_z, 1/2) blanket messages, one fair coin from each of the g_z users that the
# public schedule makes responsible for z. Blankets do not depend on the data. This is the
# blanket histogram of Balcer and Cheu ("Separating Local & Shuffled Differential Privacy
# via Histograms", ITC 2020, Section 3) with the coin probability fixed at 1/2 and the
# providers of each cell restricted to a public group: the noise of a cell is then an exact
# Bin(g, 1/2), a popcount of g fair bits, which the simulation can draw in O(g / 64) words.
#
# Neighbours (one user's point replaced, the paper's relation) change a by +1 in at most m
# cells and by -1 in at most m other cells (m = 1 per histogram level; m = d per vector
# level: one sign message per coordinate). The changed user's own blankets do not depend
# on its point, so each touched cell keeps at least Bin(N, 1/2) noise from the other
# users, N = (smallest group) - 1; more noise is post-processing.
#
# Accounting: Renyi DP ("Renyi Differential Privacy", Mironov, CSF 2017).
# * One shift. P = law of X + 1, Q = law of X, X ~ Bin(N, 1/2). P puts mass 2^-N on N + 1,
#   where Q has none, so we split P = (1 - 2^-N) P' + 2^-N P'' with P' = P given X < N
#   and bound D_alpha(P' || Q) = log(sum_u P'(u)^alpha Q(u)^(1 - alpha)) / (alpha - 1),
#   summed exactly over u = 1..N in log space (:func:`blanket_rdp`). The shift by -1 has
#   the same divergence (X and N - X have the same law).
# * Composition (Mironov, Proposition 1): the 2m shifts touch distinct cells with
#   independent noise: RDP 2 m D_alpha.
# * Conversion (Mironov, Proposition 3): (alpha, r)-RDP gives (r + log(1/delta') /
#   (alpha - 1), delta')-DP; the removed parts P'' add at most 2 m 2^-N to delta (the
#   hockey-stick divergence is jointly convex and at most 1), so delta = delta' + 2 m 2^-N.
# * Both channels (histogram, vector) use disjoint cells and independent blankets: their
#   RDP adds before one conversion (:func:`blanket_epsilon`); each channel's group size is
#   the smallest N meeting its share of (epsilon, delta) alone (:func:`blanket_group_size`).
# tests/private/test_multimessage.py checks the bound against the exact hockey-stick
# divergence, summed over every outcome, on small N.
# ---------------------------------------------------------------------------------------

_RDP_ORDERS = tuple([1.0 + x / 8.0 for x in range(1, 16)] + [3.0 + x / 2.0 for x in range(0, 18)]
                    + [12.0, 14.0, 16.0, 20.0, 24.0, 32.0, 48.0, 64.0, 128.0, 256.0])


def _log_binom_half(N: int):
    """log P(X = u) for u = 0..N, X ~ Bin(N, 1/2) (float64 array)."""
    import numpy as np

    u = np.arange(1, N + 1, dtype=np.float64)
    logc = np.concatenate([[0.0], np.cumsum(np.log(N - u + 1.0) - np.log(u))])
    return logc - N * math.log(2.0)


def blanket_rdp(N: int, orders=_RDP_ORDERS) -> list:
    """Renyi divergence D_alpha(P' || Q) of one +1 shift of Bin(N, 1/2) noise, per order.

    ``P'`` is the law of ``X + 1`` given ``X < N``, ``Q`` that of ``X`` (module comment
    above). Exact up to float64 rounding of a sum of N terms.
    """
    import numpy as np

    if N < 1:
        raise ValueError("blanket_rdp needs N >= 1.")
    lb = _log_binom_half(N)
    logq = lb[1:]  # Q(u), u = 1..N
    logp = lb[:-1] - math.log1p(-math.exp(lb[-1]))  # P'(u) = b(u - 1) / (1 - b(N))
    out = []
    for a in orders:
        t = a * logp + (1.0 - a) * logq
        mx = float(t.max())
        out.append((mx + math.log(float(np.exp(t - mx).sum()))) / (a - 1.0))
    return out


def _epsilon_from_rdp(rdp: list, delta_prime: float, orders=_RDP_ORDERS) -> float:
    """Mironov 2017, Proposition 3: the smallest r(alpha) + log(1/delta') / (alpha - 1)."""
    if not 0.0 < delta_prime < 1.0:
        return math.inf
    return min(r + math.log(1.0 / delta_prime) / (a - 1.0) for r, a in zip(rdp, orders))


def blanket_epsilon(channels, delta: float) -> float:
    """Central epsilon, at ``delta``, of the blanket protocol's channels.

    Parameters
    ----------
    channels : iterable of (m, N)
        Per channel: at most ``m`` cells gain and ``m`` other cells lose one real message
        between neighbours; every cell has at least ``Bin(N, 1/2)`` blanket noise from
        users other than the one that changed.
    delta : float in (0, 1)

    Returns ``inf`` when ``delta`` does not cover the removed tails.
    """
    total = [0.0] * len(_RDP_ORDERS)
    tails = 0.0
    for m, N in channels:
        r = blanket_rdp(int(N))
        total = [t + 2 * m * x for t, x in zip(total, r)]
        tails += 2 * m * 2.0 ** (-int(N))
    return _epsilon_from_rdp(total, delta - tails)


def blanket_group_size(epsilon: float, delta: float, m: int, *, limit: int = 1 << 40) -> int:
    """Smallest N such that one channel with ``m`` shifts each way and Bin(N, 1/2) noise
    per cell is (epsilon, delta)-DP by :func:`blanket_epsilon`. Deterministic (public)."""
    if not (epsilon > 0 and 0 < delta < 1 and m >= 1):
        raise ValueError("blanket_group_size needs epsilon > 0, 0 < delta < 1 and m >= 1.")
    return _group_size_cached(float(epsilon), float(delta), int(m), int(limit))


@functools.lru_cache(maxsize=256)
def _group_size_cached(epsilon: float, delta: float, m: int, limit: int) -> int:
    def ok(N):
        return blanket_epsilon([(m, N)], delta) <= epsilon

    hi = 16
    while not ok(hi):
        hi *= 2
        if hi > limit:
            raise ValueError("the requested (epsilon, delta) needs more blanket noise than this protocol supports.")
    lo = hi // 2
    while hi - lo > 1:  # epsilon decreases with N: invariant ok(hi), not ok(lo) (or lo = 8)
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid
    return hi


@dataclass(frozen=True)
class BlanketBudget:
    """What the shuffle-model (blanket) protocol spends: one object per protocol instance.

    Attributes
    ----------
    epsilon_requested, delta_requested : float
    epsilon_histogram, epsilon_vector : float
        The share of ``epsilon_requested`` each channel's group size was chosen for (each
        with ``delta_requested / 2``).
    m_histogram, m_vector : int
        Cells one user's change can move, each way, per channel.
    noise_histogram, noise_vector : int
        N: every cell of the channel has at least Bin(N, 1/2) blankets from other users.
    epsilon, delta : float
        The guarantee of the release: both channels composed (RDP), at ``delta_requested``.
    """

    epsilon_requested: float
    delta_requested: float
    epsilon_histogram: float
    epsilon_vector: float
    m_histogram: int
    m_vector: int
    noise_histogram: int
    noise_vector: int
    epsilon: float
    delta: float

    def report(self) -> dict:
        return {
            "model": "shuffle",
            "protocol": "shuffle",
            "epsilon_requested": float(self.epsilon_requested),
            "delta_requested": float(self.delta_requested),
            "epsilon_histogram": float(self.epsilon_histogram),
            "epsilon_vector": float(self.epsilon_vector),
            "epsilon": float(self.epsilon),
            "delta": float(self.delta),
            "blanket_noise_histogram": int(self.noise_histogram),
            "blanket_noise_vector": int(self.noise_vector),
            "accounting": "blanket shuffle protocol, Renyi DP (Mironov 2017 Prop. 1, 3)",
        }


def blanket_budget(epsilon: float, delta: float, histogram_share: float, m_histogram: int, m_vector: int) -> BlanketBudget:
    """Split (epsilon, delta) between the two channels and size their blanket noise.

    The histogram channel gets ``epsilon * histogram_share`` and the vector channel the
    rest, each with ``delta / 2``: that fixes the ratio of their group sizes. Both are then
    shrunk by the common factor that brings the two channels *composed* (RDP adds before
    the conversion, tighter than adding two (eps, delta) pairs) to at most
    (epsilon, delta); ``epsilon`` of the result is that composed guarantee.
    """
    if not (0.0 < epsilon and 0.0 < delta < 1.0 and 0.0 < histogram_share < 1.0):
        raise ValueError("blanket_budget needs epsilon > 0, 0 < delta < 1 and 0 < histogram_share < 1.")
    eh, ev = float(epsilon) * histogram_share, float(epsilon) * (1.0 - histogram_share)
    Nh, Nv = _joint_sizes(float(epsilon), float(delta), eh, ev, int(m_histogram), int(m_vector))
    # <= epsilon: by the search below, or (fallback) each channel alone meets its share
    # and basic composition adds the two
    eps = min(blanket_epsilon([(m_histogram, Nh), (m_vector, Nv)], delta), float(epsilon))
    return BlanketBudget(float(epsilon), float(delta), eh, ev, int(m_histogram), int(m_vector), Nh, Nv, eps, float(delta))


@functools.lru_cache(maxsize=256)
def _joint_sizes(epsilon: float, delta: float, eh: float, ev: float, mh: int, mv: int) -> tuple[int, int]:
    Nh0 = blanket_group_size(eh, delta / 2.0, mh)
    Nv0 = blanket_group_size(ev, delta / 2.0, mv)

    def sizes(c):
        return max(1, math.ceil(c * Nh0)), max(1, math.ceil(c * Nv0))

    def ok(c):
        return blanket_epsilon([(mh, sizes(c)[0]), (mv, sizes(c)[1])], delta) <= epsilon

    lo, hi = 0.0, 1.0  # ok(1): each channel alone meets its share, so together (eps_h + eps_v, delta)
    if not ok(hi):  # not expected; keep the separately sized groups, which are valid by composition
        return Nh0, Nv0
    for _ in range(24):
        mid = 0.5 * (lo + hi)
        if ok(mid):
            hi = mid
        else:
            lo = mid
    return sizes(hi)
