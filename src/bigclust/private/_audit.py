"""Statistical privacy audit: a confidence lower bound on the privacy loss of a randomiser.

Run a randomiser many times on two neighbouring inputs, map every output to one of a
few outcomes (any fixed function of the output: post-processing cannot raise the
privacy loss), and bound

    eps_hat = max over outcomes o and both directions of log(P[o | x] / P[o | x'])

from below with exact Clopper-Pearson intervals (Bonferroni-corrected over the
outcomes and directions). If the lower bound exceeds the claimed epsilon, the
mechanism is broken with confidence ``1 - alpha``. A lower bound at or below the
claim is evidence, not proof; the tests also check that the audit *does* catch a
deliberately broken mechanism and that it comes close to the claim for tight ones.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["empirical_epsilon", "empirical_epsilon_delta"]


def _cp_interval(k: np.ndarray, n: int, alpha: float):
    from scipy.stats import beta

    lo = np.where(k > 0, beta.ppf(alpha / 2, k, n - k + 1), 0.0)
    hi = np.where(k < n, beta.ppf(1 - alpha / 2, k + 1, n - k), 1.0)
    return lo, hi


def empirical_epsilon(outcomes_a: np.ndarray, outcomes_b: np.ndarray, n_outcomes: int, *, alpha: float = 1e-3) -> dict:
    """Point estimate and (1 - alpha) lower confidence bound on the privacy loss.

    Parameters
    ----------
    outcomes_a, outcomes_b : int arrays
        Outcome indices in ``[0, n_outcomes)`` of independent runs on input a and b.
    n_outcomes : int
    alpha : float
        Total error probability of the lower bound (split over all comparisons).

    Returns
    -------
    dict with ``epsilon_hat`` (plug-in max log ratio over outcomes seen in both runs)
    and ``epsilon_lower`` (a lower confidence bound valid with probability
    >= 1 - alpha).
    """
    ca = np.bincount(outcomes_a, minlength=n_outcomes)[:n_outcomes]
    cb = np.bincount(outcomes_b, minlength=n_outcomes)[:n_outcomes]
    na, nb = int(ca.sum()), int(cb.sum())
    per = alpha / (2 * n_outcomes)  # Bonferroni over outcomes and both directions
    lo_a, hi_a = _cp_interval(ca, na, per)
    lo_b, hi_b = _cp_interval(cb, nb, per)
    with np.errstate(divide="ignore", invalid="ignore"):
        lower = np.maximum(np.log(lo_a / hi_b), np.log(lo_b / hi_a))
        both = (ca > 0) & (cb > 0)
        pa, pb = ca / max(na, 1), cb / max(nb, 1)
        hat = np.abs(np.log(pa[both] / pb[both]))
    lower = lower[np.isfinite(lower)]
    return {
        "epsilon_hat": float(hat.max()) if hat.size else math.inf,
        "epsilon_lower": float(lower.max()) if lower.size else 0.0,
        "n_samples": (na, nb),
    }


def empirical_epsilon_delta(stat_a: np.ndarray, stat_b: np.ndarray, delta: float, *, alpha: float = 1e-3,
                            n_thresholds: int = 64) -> dict:
    """(1 - alpha) lower confidence bound on epsilon at ``delta`` from threshold events.

    For each threshold ``t`` (quantiles of the pooled statistic) and both tails, the event
    ``S = {stat >= t}`` (or ``<= t``) must satisfy ``P_a(S) <= e^eps P_b(S) + delta`` and the
    same with a, b swapped, so ``eps >= log((P_a(S) - delta) / P_b(S))``. Clopper-Pearson
    bounds, Bonferroni-corrected over events and directions. Use a statistic close to the
    privacy-loss (log-likelihood-ratio) of the mechanism for power.
    """
    a, b = np.sort(np.asarray(stat_a, dtype=np.float64)), np.sort(np.asarray(stat_b, dtype=np.float64))
    na, nb = a.shape[0], b.shape[0]
    pooled = np.concatenate([a, b])
    ts = np.unique(np.quantile(pooled, np.linspace(0.0, 1.0, n_thresholds)))
    per = alpha / (4 * ts.shape[0])
    best = -math.inf
    for upper in (True, False):
        if upper:
            ka = na - np.searchsorted(a, ts, side="left")
            kb = nb - np.searchsorted(b, ts, side="left")
        else:
            ka = np.searchsorted(a, ts, side="right")
            kb = np.searchsorted(b, ts, side="right")
        lo_a, hi_a = _cp_interval(ka, na, per)
        lo_b, hi_b = _cp_interval(kb, nb, per)
        with np.errstate(divide="ignore", invalid="ignore"):
            cand = np.concatenate([np.log((lo_a - delta) / hi_b), np.log((lo_b - delta) / hi_a)])
        cand = cand[np.isfinite(cand)]
        if cand.size:
            best = max(best, float(cand.max()))
    return {"epsilon_lower": max(best, 0.0), "n_samples": (na, nb)}
