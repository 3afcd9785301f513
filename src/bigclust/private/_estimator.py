"""Estimators that run both sides of the protocol over a data set (one row = one user).

They are for experiments and for analysts who already hold the data and want a
release with a local-DP or shuffle-DP guarantee; a deployment runs
:class:`~bigclust.private.Encoder` on the devices and
:class:`~bigclust.private.Decoder` on the server instead.
"""

from __future__ import annotations

import numbers

import numpy as np

from .._core.report import RunRecorder
from .._core.validation import check_int, check_points, check_positive, check_random_state
from ._protocol import Decoder, Encoder, ProtocolParams
from ._random import RandomSource
from ._shuffle import local_epsilon_for, shuffle_reports

__all__ = ["LocalDPKMeans", "ShuffleDPKMeans"]


class _PrivateKMeansBase:
    _model = "local"

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        epsilon: float = 1.0,
        radius: float = 1.0,
        center=None,
        n_levels: int = 12,
        tree: str = "simhash",
        bucket_bits: int = 14,
        vector_levels="auto",
        histogram_levels="auto",
        histogram_share: float | None = None,
        vector_mechanism: str = "duchi",
        histogram_mechanism: str = "hadamard",
        projection_dim: int | None = None,
        threshold_a: int = 1,
        min_count_sigmas: float = 3.0,
        min_vector_sigmas: float = 3.0,
        center_estimator: str = "shrink",
        n_init: int = 3,
        public_seed: int | None = None,
        random_state=None,
        batch_size: int = 65536,
        verbose: bool = False,
    ):
        self.n_clusters = n_clusters
        self.epsilon = epsilon
        self.radius = radius
        self.center = center
        self.n_levels = n_levels
        self.tree = tree
        self.bucket_bits = bucket_bits
        self.vector_levels = vector_levels
        self.histogram_levels = histogram_levels
        self.histogram_share = histogram_share
        self.vector_mechanism = vector_mechanism
        self.histogram_mechanism = histogram_mechanism
        self.projection_dim = projection_dim
        self.threshold_a = threshold_a
        self.min_count_sigmas = min_count_sigmas
        self.min_vector_sigmas = min_vector_sigmas
        self.center_estimator = center_estimator
        self.n_init = n_init
        self.public_seed = public_seed
        self.random_state = random_state
        self.batch_size = batch_size
        self.verbose = verbose

    # subclasses: the local budget of one report and the guarantee it gives
    def _local_budget(self, n: int):
        return float(check_positive(self.epsilon, "epsilon")), None

    def _params(self, n_features: int, eps_local: float) -> ProtocolParams:
        return ProtocolParams(
            n_features=n_features,
            epsilon=eps_local,
            n_levels=self.n_levels,
            tree=self.tree,
            bucket_bits=self.bucket_bits,
            vector_levels=self.vector_levels if isinstance(self.vector_levels, str) else tuple(self.vector_levels),
            histogram_levels=self.histogram_levels if isinstance(self.histogram_levels, str) else tuple(self.histogram_levels),
            histogram_share=self.histogram_share,
            vector_mechanism=self.vector_mechanism,
            histogram_mechanism=self.histogram_mechanism,
            radius=self.radius,
            center=None if self.center is None else tuple(float(c) for c in np.ravel(self.center)),
            projection_dim=self.projection_dim,
        )

    def fit(self, X, y=None):
        """Encode every row of ``X`` as one user's report, decode, and store the centres.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            One user per row. Rows are mapped by the public ``(x - center) / radius``
            and clipped to the unit ball by the encoder.
        y : ignored

        Returns
        -------
        self
        """
        X = check_points(X, name="X")
        n, d = X.shape
        k = check_int(self.n_clusters, "n_clusters", low=1)
        check_int(self.batch_size, "batch_size", low=1)
        rng = check_random_state(self.random_state)
        run = RunRecorder(verbose=self.verbose)
        eps_local, shuffle_info = self._local_budget(n)
        params = self._params(d, eps_local)  # validates every protocol parameter
        if self.public_seed is None:
            public_seed = int(rng.integers(2**62))
        elif isinstance(self.public_seed, numbers.Integral) and not isinstance(self.public_seed, bool):
            public_seed = int(self.public_seed)
        else:
            raise TypeError("public_seed must be None or a non-negative integer.")
        # Private randomness: the OS CSPRNG, unless random_state is given (reproducible
        # experiments; the report says so).
        if self.random_state is None:
            source = RandomSource()
        else:
            source = RandomSource(np.random.SeedSequence(int(rng.integers(2**63))))
        encoder = Encoder(params, public_seed, random_source=source)
        decoder = Decoder(params, public_seed)
        with run.stage("encode"):
            reports = [encoder.encode_array(X[s:s + self.batch_size]) for s in range(0, n, self.batch_size)]
        if shuffle_info is not None:
            with run.stage("shuffle"):
                reports = [shuffle_reports(np.concatenate(reports), source)]
        with run.stage("decode"):
            for r in reports:
                decoder.add(r)
            del reports
        with run.stage("tree_and_kmeans"):
            result = decoder.fit(
                k,
                threshold_a=self.threshold_a,
                min_count_sigmas=self.min_count_sigmas,
                min_vector_sigmas=self.min_vector_sigmas,
                center_estimator=self.center_estimator,
                n_init=self.n_init,
                random_state=rng,
            )
        self.cluster_centers_ = result.cluster_centers
        self.n_features_in_ = d
        self.public_seed_ = public_seed
        eps_h, eps_v = params.epsilons()
        privacy = {
            "model": self._model,
            "epsilon_local": float(eps_h + eps_v),
            "epsilon_histogram": float(eps_h),
            "epsilon_vector": float(eps_v),
            "epsilon_requested": float(self.epsilon),
            "private_randomness": "os.urandom (CSPRNG)" if source.secure else "seeded PCG64 (experiments only, not secure)",
            "public_inputs": ["n_samples (number of reports)", "radius", "center", "public_seed"],
        }
        if shuffle_info is None:
            privacy.update(epsilon=float(eps_h + eps_v), delta=0.0)
        else:
            privacy.update(shuffle_info)
        self.report_ = run.finish(
            **privacy,
            n_reports=n,
            report_bytes=24,
            decoder_memory_bytes=decoder.aggregate_nbytes(),
            **{f"decoder_{key}": val for key, val in result.info.items()},
        )
        return self

    def _check_fitted(self):
        if not hasattr(self, "cluster_centers_"):
            raise AttributeError(f"This {type(self).__name__} instance is not fitted yet; call fit(X) first.")

    def predict(self, X) -> np.ndarray:
        """Index of the nearest centre for each row of ``X`` (shape (n,), int64)."""
        self._check_fitted()
        X = check_points(X, name="X")
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but the model was fitted with {self.n_features_in_}.")
        c = self.cluster_centers_
        d2 = (X * X).sum(1)[:, None] - 2.0 * X @ c.T + (c * c).sum(1)[None, :]
        return np.argmin(d2, axis=1).astype(np.int64)

    def fit_predict(self, X, y=None) -> np.ndarray:
        return self.fit(X).predict(X)

    def score(self, X, y=None) -> float:
        """Negative k-means cost of ``X`` with the fitted centres (sklearn convention)."""
        self._check_fitted()
        X = check_points(X, name="X")
        c = self.cluster_centers_
        d2 = (X * X).sum(1)[:, None] - 2.0 * X @ c.T + (c * c).sum(1)[None, :]
        return -float(np.maximum(d2.min(axis=1), 0.0).sum())


class LocalDPKMeans(_PrivateKMeansBase):
    """One-round local-DP k-means (Chang, Ghazi, Kumar, Manurangsi 2021; Algorithms 3-4).

    Every row of ``X`` is one user who sends one 24-byte epsilon-LDP report; the
    server builds a private coreset from a frequency oracle and a vector-sum oracle
    and runs k-means on it.

    Parameters
    ----------
    n_clusters : int
        k.
    epsilon : float
        Local privacy budget per user (rounded down to a multiple of 2^-20; the value
        actually spent is ``report_["epsilon"]``).
    radius, center : float, array-like (d,) or None
        Public bound on the data: rows are mapped by ``(x - center)/radius`` and clipped
        to the unit ball. They must come from public knowledge, not from ``X``.
    n_levels : int
        Tree depth T.
    tree : {"simhash", "net"}
        SimHash LSH tree (Section 5) or lattice net tree (Section 3) after a random
        projection to ``projection_dim`` dimensions.
    bucket_bits : int
        log2 of the per-level bucket domain of the LDP oracles.
    vector_levels : "auto", "deepest", "all" or tuple
        Tree levels that get vector sums (see :class:`ProtocolParams`).
    histogram_levels : "auto", "all" or tuple
        Tree levels that carry the frequency oracle (see :class:`ProtocolParams`).
    histogram_share : float
        Fraction of epsilon spent on the frequency oracle (default None: 0.25 for
        SimHash, 0.5 -- the paper's split -- for the net tree). See :class:`ProtocolParams` for the measurements behind it.
    vector_mechanism : {"duchi", "coordinate"}
    histogram_mechanism : {"hadamard", "olh"}
        Frequency oracle (see :class:`ProtocolParams`).
    projection_dim : int or None
        Net tree only.
    threshold_a : int
        ``a`` of Algorithm 2.
    min_count_sigmas : float
        Estimated frequencies below this many noise standard deviations count as 0.
    min_vector_sigmas : float
        SimHash: leaves whose vector sum is not this many standard deviations above
        pure noise are left out of the coreset (0 disables; see :meth:`Decoder.fit`).
    center_estimator : {"shrink", "clip"}
        James-Stein shrinkage of the noisy means before projecting to the ball
        (default) or the projection alone (Algorithm 4).
    n_init : int
        Restarts of the weighted k-means on the coreset.
    public_seed : int or None
        Shared public randomness; drawn from ``random_state`` when None.
    random_state : int, Generator or None
        None: private randomness from the OS CSPRNG. Otherwise everything, including
        the privacy noise, is reproducible (for experiments only).
    batch_size : int
        Users encoded per batch.
    verbose : bool
        Progress on stderr for long runs (no data is ever printed).

    Attributes
    ----------
    cluster_centers_ : ndarray (n_clusters, n_features)
    report_ : dict
        Stage times, peak memory, ``epsilon`` and ``delta`` spent, the split between
        channels, decoder memory and tree statistics.
    """

    _model = "local"


class ShuffleDPKMeans(_PrivateKMeansBase):
    """One-round shuffle-DP k-means: the local protocol behind a (simulated) shuffler.

    Each user's report is an eps0-LDP message; after a uniformly random shuffle the
    release is (epsilon, delta)-DP by amplification by shuffling (Feldman, McMillan,
    Talwar 2021, Theorem 3.1). ``eps0`` is the largest local budget (multiple of
    2^-20) for which the bound is within ``(epsilon, delta)``; for small n no
    amplification applies and eps0 = epsilon, delta = 0.

    Parameters
    ----------
    delta : float in (0, 1)
        Target delta (e.g. 1/n^1.1 or smaller).
    Other parameters are those of :class:`LocalDPKMeans`.

    Notes
    -----
    ``n_samples`` is treated as public (the replace-one neighbouring relation of the
    paper), so using it in the accounting costs nothing.
    """

    _model = "shuffle"

    def __init__(self, n_clusters: int = 8, *, epsilon: float = 1.0, delta: float = 1e-6, **kwargs):
        super().__init__(n_clusters, epsilon=epsilon, **kwargs)
        self.delta = delta

    def _local_budget(self, n: int):
        eps = check_positive(self.epsilon, "epsilon")
        delta = check_positive(self.delta, "delta")
        if delta >= 1:
            raise ValueError(f"delta must be in (0, 1), got {delta}.")
        eps0, eps_central, delta_central = local_epsilon_for(eps, delta, n)
        return float(eps0), {"epsilon": eps_central, "delta": delta_central, "delta_requested": delta,
                             "amplification": "Feldman-McMillan-Talwar 2021 Thm 3.1" if delta_central > 0 else "none (n too small)"}
