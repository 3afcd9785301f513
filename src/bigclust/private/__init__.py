"""One-round local-DP and shuffle-DP k-means ("Locally Private k-Means in One Round",
Chang, Ghazi, Kumar and Manurangsi, ICML 2021).

Client side: :class:`Encoder` turns one user's point into one 24-byte report
(Algorithm 3). Server side: :class:`Decoder` aggregates reports in bounded memory and
fits k centres (Algorithm 4 with the tree builder of Algorithms 1-2).
:class:`LocalDPKMeans` and :class:`ShuffleDPKMeans` run both sides over a data set.
The shuffle-model protocol of the paper's Theorem 2 (multi-message, error not growing
with n) is :class:`ShuffleParams` / :class:`ShuffleEncoder` / :class:`ShuffleDecoder`
(``ShuffleDPKMeans(protocol="shuffle")``); ``protocol="amplified-local"`` (the default)
is the local report behind a shuffler.
The privacy accounting (budget rounding, the split between a report's channels,
amplification by shuffling) is in :mod:`bigclust.private._accounting`.
See docs/private.md.

Importing this package loads NumPy only (the encoder runs on small devices); the
estimators, which need scikit-learn, are loaded on first use.
"""

from ._protocol import FORMAT_VERSION, REPORT_DTYPE, REPORT_SIZE, DecodeResult, Decoder, Encoder, ProtocolParams
from ._random import RandomSource
from ._protocol import MAX_EPSILON, ClippingWarning, PrivateUtilityWarning
from ._shuffle import amplified_epsilon, local_epsilon_for, shuffle_reports
from ._multimessage import MESSAGE_DTYPE, MESSAGE_SIZE, ShuffleDecoder, ShuffleEncoder, ShuffleParams

__all__ = [
    "Encoder",
    "Decoder",
    "DecodeResult",
    "ProtocolParams",
    "ShuffleParams",
    "ShuffleEncoder",
    "ShuffleDecoder",
    "MESSAGE_DTYPE",
    "MESSAGE_SIZE",
    "LocalDPKMeans",
    "ShuffleDPKMeans",
    "RandomSource",
    "amplified_epsilon",
    "local_epsilon_for",
    "shuffle_reports",
    "REPORT_DTYPE",
    "REPORT_SIZE",
    "FORMAT_VERSION",
    "MAX_EPSILON",
    "ClippingWarning",
    "PrivateUtilityWarning",
]

_ESTIMATORS = ("LocalDPKMeans", "ShuffleDPKMeans")


def __getattr__(name):
    # Loaded on first use: the estimators import scikit-learn, the client side must not.
    if name in _ESTIMATORS:
        from . import _estimator

        value = globals()[name] = getattr(_estimator, name)
        return value
    raise AttributeError(f"module 'bigclust.private' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_ESTIMATORS))
