"""One-round local-DP and shuffle-DP k-means (Chang, Ghazi, Kumar, Manurangsi, ICML 2021).

Client side: :class:`Encoder` turns one user's point into one 24-byte report
(Algorithm 3). Server side: :class:`Decoder` aggregates reports in bounded memory and
fits k centres (Algorithm 4 with the tree builder of Algorithms 1-2).
:class:`LocalDPKMeans` and :class:`ShuffleDPKMeans` run both sides over a data set.
See docs/private.md.
"""

from ._estimator import LocalDPKMeans, ShuffleDPKMeans
from ._protocol import FORMAT_VERSION, REPORT_DTYPE, REPORT_SIZE, DecodeResult, Decoder, Encoder, ProtocolParams
from ._random import RandomSource
from ._shuffle import amplified_epsilon, local_epsilon_for, shuffle_reports

__all__ = [
    "Encoder",
    "Decoder",
    "DecodeResult",
    "ProtocolParams",
    "LocalDPKMeans",
    "ShuffleDPKMeans",
    "RandomSource",
    "amplified_epsilon",
    "local_epsilon_for",
    "shuffle_reports",
    "REPORT_DTYPE",
    "REPORT_SIZE",
    "FORMAT_VERSION",
]
