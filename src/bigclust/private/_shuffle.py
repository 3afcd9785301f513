"""Shuffle model: a simulated shuffler.

In the shuffle model every user runs an eps0-LDP local randomiser (here: the whole
Encoder report, eps0 = eps_h + eps_v) and a trusted shuffler forwards the reports in
a uniformly random order. The analyst sees the multiset of reports only. Our decoder
uses nothing but order-independent aggregates, so it runs unchanged.

This is generic amplification by shuffling of the one-report local protocol (its error
grows like sqrt(n)): ``ShuffleDPKMeans(protocol="amplified-local")``. The multi-message
shuffle-model protocol of the paper's Theorem 2, whose error does not grow with n, is
:mod:`~bigclust.private._multimessage` (``protocol="shuffle"``).

The accounting (the central (epsilon, delta) of shuffled reports, and the largest
eps0 within a target) lives in :mod:`~bigclust.private._accounting`;
:func:`amplified_epsilon` and :func:`local_epsilon_for` are re-exported here.
"""

from __future__ import annotations

import numpy as np

from ._accounting import amplified_epsilon, local_epsilon_for
from ._random import RandomSource

__all__ = ["amplified_epsilon", "local_epsilon_for", "shuffle_reports"]


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
