"""Estimators that run both sides of the protocol over a data set (one row = one user).

They are for experiments and for analysts who already hold the data and want a
release with a local-DP or shuffle-DP guarantee; a deployment runs
:class:`~bigclust.private.Encoder` on the devices and
:class:`~bigclust.private.Decoder` on the server instead.

This module imports scikit-learn; ``bigclust.private`` loads it on first use of an
estimator, so that importing the client-side encoder does not.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, ClusterMixin, TransformerMixin
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import validate_data

from .._core.report import RunRecorder
from .._core.validation import (
    BOOLEAN,
    NONE,
    RANDOM_STATE,
    InstanceOf,
    Interval,
    Options,
    check_new_points,
    check_points,
    check_random_state,
    check_sample_weight,
    validate_params,
)
from ._accounting import PrivacyBudget, default_histogram_share, local_budget, shuffle_budget
from ._mechanisms import HISTOGRAM_MECHANISMS, VECTOR_MECHANISMS
from ._protocol import (
    _MAX_NET_DIM,
    MAX_EPSILON,
    RADIUS_RANGE,
    ClippingWarning,
    Decoder,
    Encoder,
    PrivateUtilityWarning,
    ProtocolParams,
    _as_float_array,
    _to_unit_ball,
)
from ._random import RandomSource
from ._shuffle import shuffle_reports

__all__ = ["LocalDPKMeans", "ShuffleDPKMeans"]

_SEQUENCE = InstanceOf((list, tuple, np.ndarray), "a list, tuple or array")
_RADIUS = Interval(float, RADIUS_RANGE[0], RADIUS_RANGE[1], closed="both")


def _checked_points(X) -> np.ndarray:
    """check_points without the offending value in the message (private data)."""
    try:
        return check_points(X, name="X")
    except (TypeError, ValueError) as exc:
        kind, text = type(exc), str(exc)
    # Raised outside the except block, so the original exception is not even the
    # context. check_points appends NumPy's conversion message, which quotes the
    # offending value; its shape, dtype and count messages quote none and are kept.
    if "could not be converted" in text or "not numbers" in text:
        text = "X must be a numeric matrix (the offending value is not shown: it is private data)."
    raise kind(text)


def _sq_distances(X: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances (n, k) of the rows of X to the centres."""
    c = centers
    return (X * X).sum(1)[:, None] - 2.0 * X @ c.T + (c * c).sum(1)[None, :]


def _nearest_and_cost(X: np.ndarray, centers: np.ndarray, origin: np.ndarray | None):
    """(index of the nearest centre, squared distance to it) of every row of X, for any finite X.

    Distances are taken relative to ``origin`` (the public centre: the centres lie
    within ``radius`` of it), so data far from 0 but near the public centre does not
    overflow. A row whose squared distances still overflow is more than ~1e154 from
    every centre: its nearest centre is found on the row divided by its largest
    |entry| m (``argmin_j (|x|^2 - 2 x.c_j + |c_j|^2) / m`` without the constant
    ``|x|^2 / m``), and its cost is ``inf`` (it exceeds the float64 range).
    """
    with np.errstate(over="ignore", invalid="ignore"):
        Y = X if origin is None else X - origin
        C = centers if origin is None else centers - origin
        d2 = _sq_distances(Y, C)
    bad = ~np.isfinite(d2).all(axis=1)
    idx = np.argmin(np.where(bad[:, None], 0.0, d2), axis=1)
    cost = np.maximum(d2[np.arange(d2.shape[0]), idx], 0.0)
    if bad.any():
        with np.errstate(over="ignore"):
            Yb = X[bad] * 0.5 - (0.0 if origin is None else origin * 0.5)  # halved: finite for any finite X
        m = np.abs(Yb).max(axis=1)[:, None]
        S = Yb / m
        idx[bad] = np.argmin(-2.0 * S @ (0.5 * C).T + (0.5 * C * 0.5 * C).sum(1)[None, :] / m, axis=1)
        cost[bad] = np.inf
    return idx, cost


class _PrivateKMeansBase(ClassNamePrefixFeaturesOutMixin, TransformerMixin, ClusterMixin, BaseEstimator):
    """Both sides of the protocol over a data set; subclasses say how the budget is spent."""

    _parameter_constraints = {
        "n_clusters": [Interval(int, 1, None)],
        "epsilon": [Interval(float, 0.0, MAX_EPSILON, closed="right")],
        "radius": [NONE, _RADIUS, Options(("unit",))],
        "center": [NONE, _SEQUENCE],
        "n_levels": [Interval(int, 1, 63)],
        "tree": [Options(("simhash", "net"))],
        "bucket_bits": [Interval(int, 1, 24)],
        "vector_levels": [Options(("auto", "deepest", "all")), _SEQUENCE],
        "histogram_levels": [Options(("auto", "all")), _SEQUENCE],
        "histogram_share": [NONE, Interval(float, 0.0, 1.0, closed="neither")],
        "vector_mechanism": [Options(tuple(VECTOR_MECHANISMS))],
        "histogram_mechanism": [Options(tuple(HISTOGRAM_MECHANISMS))],
        "projection_dim": [NONE, Interval(int, 1, _MAX_NET_DIM)],
        "threshold_a": [Interval(int, 1, None)],
        "min_count_sigmas": [Interval(float, 0.0, None)],
        "min_vector_sigmas": [Interval(float, 0.0, None)],
        "center_estimator": [Options(("shrink", "clip"))],
        "n_init": [Interval(int, 1, None)],
        "public_seed": [NONE, Interval(int, 0, 2**64 - 1)],
        "random_state": [RANDOM_STATE],
        "batch_size": [Interval(int, 1, None)],
        "verbose": [BOOLEAN],
    }

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        epsilon: float = 1.0,
        radius: float | str | None = None,
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

    def _histogram_share(self) -> float:
        return default_histogram_share(self.tree) if self.histogram_share is None else self.histogram_share

    # subclasses: the budget of one report and the guarantee of the release
    def _budget(self, n: int) -> PrivacyBudget:
        return local_budget(self.epsilon, self._histogram_share())

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
            center=None if self.center is None else tuple(_as_float_array(self.center, "center").ravel().tolist()),
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
        validate_params(self)
        self._fitted_names(X)  # feature_names_in_ of a DataFrame (scikit-learn's errors before any work)
        if self.radius is None:
            raise ValueError(
                "radius is required: a public bound on ||x - center|| that does not come from X "
                "(or radius='unit' for data already in the unit ball)."
            )
        X = _checked_points(X)
        n, d = X.shape
        k = int(self.n_clusters)  # k > n is allowed: the centres are capped by the coreset, with a warning
        rng = check_random_state(self.random_state)
        run = RunRecorder(verbose=self.verbose)
        budget = self._budget(n)
        params = self._params(d, budget.encoder_epsilon)  # the data-dependent checks (e.g. center's length)
        public_seed = int(rng.integers(2**62)) if self.public_seed is None else int(self.public_seed)
        # Private randomness: the OS CSPRNG, unless random_state is given (reproducible
        # experiments; the report says so).
        if self.random_state is None:
            source = RandomSource()
        else:
            source = RandomSource(np.random.SeedSequence(int(rng.integers(2**63))))
        self._warn_clipping(X, params)
        encoder = Encoder(params, public_seed, random_source=source)
        decoder = Decoder(params, public_seed)
        with run.stage("encode"):
            reports = [encoder.encode_array(X[s:s + self.batch_size]) for s in range(0, n, self.batch_size)]
        if budget.model == "shuffle":
            with run.stage("shuffle"):
                reports = [shuffle_reports(np.concatenate(reports), source)]
        with run.stage("decode"):
            for r in reports:
                decoder.add(r)
            del reports
        with run.stage("tree_and_kmeans"):
            result = self._decode(decoder, k, rng)
        self.cluster_centers_ = result.cluster_centers
        self.n_features_in_ = d
        trivial = self._trivial_cost(X, params)
        floor = result.info["expected_noise_floor"]
        if floor > trivial and floor <= n * params.radius**2:  # the decoder already warned above n radius^2
            # the trivial cost is a statistic of X, not private: compared, never printed
            warnings.warn(
                f"the expected noise floor of the centres ({floor:.3g}, docs/private.md) exceeds the cost of the "
                "trivial answer on this data (every centre at the public centre): expect no better than it. "
                "Use fewer clusters, a larger epsilon or more users.",
                PrivateUtilityWarning,
                stacklevel=2,
            )
        self.public_seed_ = public_seed
        self.labels_ = self._nearest(X)
        privacy = budget.report()
        privacy["private_randomness"] = (
            "os.urandom (CSPRNG)" if source.secure else "seeded PCG64 (experiments only, not secure)"
        )
        privacy["public_inputs"] = ["n_samples (number of reports)", "radius", "center", "public_seed"]
        self.report_ = run.finish(
            **privacy,
            n_reports=n,
            report_bytes=24,
            n_centers=int(result.cluster_centers.shape[0]),
            n_distinct_centers=result.info["n_distinct_centers"],
            decoder_memory_bytes=decoder.aggregate_nbytes(),
            **{f"decoder_{key}": val for key, val in result.info.items()},
        )
        return self

    @staticmethod
    def _warn_clipping(X: np.ndarray, params: ProtocolParams) -> None:
        # The analyst holds X, so the share of rows outside the public ball can be told to
        # them (a deployment's Encoder never reveals it).
        c = np.zeros(X.shape[1]) if params.center is None else np.asarray(params.center)
        out = 0
        for s in range(0, X.shape[0], 65536):
            with np.errstate(over="ignore"):
                Y = X[s:s + 65536] - c
            with np.errstate(over="ignore", under="ignore"):  # inf > radius^2: outside, as it should be
                out += int(np.count_nonzero(np.einsum("ij,ij->i", Y, Y) > params.radius**2))
        if out:
            warnings.warn(
                f"{100.0 * out / X.shape[0]:.2f}% of the rows lie outside the public ball (radius, center) and are "
                "clipped to its surface; a larger radius or a better centre (public knowledge, not X) would keep them.",
                ClippingWarning,
                stacklevel=3,
            )

    def _decode(self, decoder, k: int, rng):
        """The server's tree and k-means (``Decoder.fit``) with this estimator's decoding parameters."""
        return decoder.fit(k, threshold_a=self.threshold_a, min_count_sigmas=self.min_count_sigmas,
                           min_vector_sigmas=self.min_vector_sigmas, center_estimator=self.center_estimator,
                           n_init=self.n_init, random_state=rng)

    @staticmethod
    def _trivial_cost(X: np.ndarray, params: ProtocolParams) -> float:
        """k-means cost of the trivial answer, every centre at the public centre (clipped rows)."""
        c = np.zeros(X.shape[1]) if params.center is None else np.asarray(params.center)
        total = 0.0
        for s in range(0, X.shape[0], 65536):
            Y = _to_unit_ball(X[s:s + 65536], c, params.radius)
            total += float(np.einsum("ij,ij->", Y, Y))
        return total * params.radius**2

    def _check_fitted(self):
        if not hasattr(self, "cluster_centers_"):  # NotFittedError is an AttributeError and a ValueError
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet; call fit(X) first.")

    def _nearest(self, X: np.ndarray) -> np.ndarray:
        """Index of the nearest centre of every row, ``batch_size`` rows at a time (bounded memory)."""
        step = int(self.batch_size)
        out = np.empty(X.shape[0], dtype=np.int64)
        for s in range(0, X.shape[0], step):
            out[s:s + step] = _nearest_and_cost(X[s:s + step], self.cluster_centers_, self._origin())[0]
        return out

    # ------------------------------------------------- scikit-learn conventions (issue 23)
    # Applying the released centres to points (predict, transform, score) is post-processing of
    # the release: it spends no privacy budget, and its results are for whoever holds those points.

    def _fitted_names(self, X) -> None:
        """Set ``feature_names_in_`` from a DataFrame's string column names (remove a stale one otherwise)."""
        if hasattr(X, "columns"):
            validate_data(self, X, skip_check_array=True, reset=True)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_

    def _check_new_points(self, X) -> np.ndarray:
        """``X`` for predict/transform/score: fitted, the fitted column names (as scikit-learn checks them)
        and feature count, values checked without quoting any (private data)."""
        self._check_fitted()
        return check_new_points(self, X, _checked_points)

    def predict(self, X) -> np.ndarray:
        """Index of the nearest centre for each row of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        labels : ndarray of shape (n_samples,), int64
        """
        return self._nearest(self._check_new_points(X))

    def fit_predict(self, X, y=None) -> np.ndarray:
        """Fit and return ``labels_``, the nearest centre of each row of ``X``."""
        return self.fit(X).labels_

    def _origin(self) -> np.ndarray | None:
        return None if self.center is None else _as_float_array(self.center, "center").ravel()

    def transform(self, X) -> np.ndarray:
        """Euclidean distance from each row of ``X`` to each released centre (as ``KMeans.transform``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        distances : ndarray of shape (n_samples, n_centers), float64
            ``distances[i, j] = |X[i] - cluster_centers_[j]|``; ``n_centers`` is
            ``cluster_centers_.shape[0]``, which can be below ``n_clusters`` (the
            release is capped by the private coreset). ``inf`` where a distance
            exceeds the float64 range.
        """
        X = self._check_new_points(X)
        C, origin = self.cluster_centers_, self._origin()
        if origin is not None:  # relative to the public centre, near which the centres lie (no overflow)
            C = C - origin
        step = int(self.batch_size)
        out = np.empty((X.shape[0], C.shape[0]), dtype=np.float64)
        for s in range(0, X.shape[0], step):
            Y = X[s:s + step] if origin is None else X[s:s + step] - origin
            with np.errstate(over="ignore", invalid="ignore"):
                d2 = _sq_distances(Y, C)
            good = np.isfinite(d2).all(axis=1)
            out[s:s + step][good] = np.sqrt(np.maximum(d2[good], 0.0))
            if not good.all():  # huge rows: the differences themselves, scaled by their largest entry
                with np.errstate(over="ignore"):
                    diff = Y[~good][:, None, :] * 0.5 - C[None, :, :] * 0.5  # halved: finite for any finite X
                m = np.abs(diff).max(axis=2, keepdims=True)
                m[m == 0] = 1.0
                with np.errstate(over="ignore"):
                    out[s:s + step][~good] = 2.0 * m[..., 0] * np.sqrt(((diff / m) ** 2).sum(axis=2))
        return out

    def score(self, X, y=None, sample_weight=None) -> float:
        """Opposite of the k-means cost of ``X`` with the released centres (higher is better).

        As :meth:`sklearn.cluster.KMeans.score`, so that model selection
        (``GridSearchCV``, ``cross_val_score``) compares fits by held-out cost.
        Scoring is post-processing of the release (no budget spent), but model
        selection fits once per candidate and fold: each fit is another release
        of the same users, and their budgets add up (sequential composition).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative weight of each row (default 1).

        Returns
        -------
        score : float
            ``-sum_i w_i min_j |X[i] - c_j|^2`` (``-inf`` when the cost exceeds the
            float64 range).
        """
        X = self._check_new_points(X)
        w = check_sample_weight(sample_weight, X.shape[0])
        step, total = int(self.batch_size), 0.0
        for s in range(0, X.shape[0], step):
            cost = _nearest_and_cost(X[s:s + step], self.cluster_centers_, self._origin())[1]
            with np.errstate(over="ignore", invalid="ignore"):
                total += float(np.dot(w[s:s + step], cost)) if np.isfinite(cost).all() else \
                    float(np.sum(np.where(w[s:s + step] > 0, w[s:s + step] * cost, 0.0)))
        return -total

    @property
    def _n_features_out(self) -> int:
        # get_feature_names_out: one output column per released centre ("localdpkmeans0", ...)
        return self.cluster_centers_.shape[0]


class LocalDPKMeans(_PrivateKMeansBase):
    """One-round local-DP k-means ("Locally Private k-Means in One Round", Chang, Ghazi,
    Kumar and Manurangsi, ICML 2021; Algorithms 3-4).

    Every row of ``X`` is one user who sends one 24-byte epsilon-LDP report; the
    server builds a private coreset from a frequency oracle and a vector-sum oracle
    and runs k-means on it.

    Parameters
    ----------
    n_clusters : int, default=8
        k. It may exceed what the data supports (even ``n_samples``): the release then
        has fewer centres, at most the private coreset's size + 1, and ``fit`` warns
        (:class:`~bigclust.private.PrivateUtilityWarning`).
    epsilon : float in (0, 64], default=1.0
        Local privacy budget per user (rounded down to a multiple of 2^-20; the value
        actually spent is ``report_["epsilon"]``; see
        :mod:`~bigclust.private._accounting`). Each of a report's two channels needs at
        least 2^-20 of it, so the smallest usable epsilon is ``2^-20 / histogram_share``
        (3.82e-06 with the SimHash default); the error states it.
    radius : float in [1e-100, 1e100] or "unit"
        Required public bound on ``||x - center||`` (there is no default: ``fit`` raises
        without it). Rows are mapped by ``(x - center)/radius`` and clipped to the unit
        ball; ``fit`` warns (:class:`~bigclust.private.ClippingWarning`) with the share of
        rows clipped. ``"unit"`` means radius 1 (data already in the unit ball). It must
        come from public knowledge, not from ``X``.
    center : array-like (d,) or None, default=None
        Public centre of that ball (None: the origin).
    n_levels : int, default=12
        Tree depth T (1 to 63).
    tree : {"simhash", "net"}, default="simhash"
        SimHash LSH tree (Section 5) or lattice net tree (Section 3) after a random
        projection to ``projection_dim`` dimensions.
    bucket_bits : int, default=14
        log2 of the per-level bucket domain of the LDP oracles (1 to 24).
    vector_levels : "auto", "deepest", "all" or sequence of int, default="auto"
        Tree levels that get vector sums (see :class:`ProtocolParams`).
    histogram_levels : "auto", "all" or sequence of int, default="auto"
        Tree levels that carry the frequency oracle (see :class:`ProtocolParams`).
    histogram_share : float in (0, 1) or None, default=None
        Fraction of epsilon spent on the frequency oracle (None: 0.25 for SimHash,
        0.5 -- the paper's split -- for the net tree). docs/notes/private-measurements.md
        has the measurements behind it.
    vector_mechanism : {"duchi", "coordinate"}, default="duchi"
    histogram_mechanism : {"hadamard", "olh"}, default="hadamard"
        Frequency oracle (see :class:`ProtocolParams`).
    projection_dim : int or None, default=None
        Net tree only (1 to 6, at most the number of features).
    threshold_a : int, default=1
        ``a`` of Algorithm 2.
    min_count_sigmas : float, default=3.0
        Estimated frequencies below this many noise standard deviations count as 0.
    min_vector_sigmas : float, default=3.0
        SimHash: leaves whose vector sum is not this many standard deviations above
        pure noise are left out of the coreset (0 disables; see :meth:`Decoder.fit`).
    center_estimator : {"shrink", "clip"}, default="shrink"
        James-Stein shrinkage of the noisy means before projecting to the ball
        (default) or the projection alone (Algorithm 4).
    n_init : int, default=3
        Restarts of the weighted k-means on the coreset.
    public_seed : int or None, default=None
        Shared public randomness; drawn from ``random_state`` when None.
    random_state : int, Generator or None, default=None
        None: private randomness from the OS CSPRNG. Otherwise everything, including
        the privacy noise, is reproducible (for experiments only).
    batch_size : int, default=65536
        Users encoded (and rows labelled) per batch.
    verbose : bool, default=False
        Progress on stderr for long runs (no data is ever printed).

    Attributes
    ----------
    cluster_centers_ : ndarray (n_clusters, n_features)
    labels_ : ndarray of int64, shape (n_samples,)
        Nearest centre of each row of the training data (computed by the analyst who
        holds ``X``, after the private release; not part of it).
    report_ : dict
        Stage times, peak memory, ``epsilon`` and ``delta`` spent, the split between
        channels (:meth:`PrivacyBudget.report <bigclust.private._accounting.PrivacyBudget.report>`),
        decoder memory and tree statistics.
    n_features_in_ : int
        Number of features of ``X`` at fit.
    feature_names_in_ : ndarray of shape (``n_features_in_``,), object
        The column names, when ``X`` was a pandas DataFrame with string column names
        (checked again by ``predict``, ``transform`` and ``score``).

    Notes
    -----
    As scikit-learn's ``KMeans``: ``predict`` (nearest centre), ``transform``
    (distances to the centres), ``score`` (negative k-means cost) and
    ``get_feature_names_out``. They post-process the release and spend no budget;
    model selection (``GridSearchCV``) refits, and every fit is another release of
    the same users.
    """


class ShuffleDPKMeans(_PrivateKMeansBase):
    """One-round shuffle-DP k-means, by one of two protocols behind a (simulated) trusted shuffler.

    ``protocol="amplified-local"`` (default, the simple option): the local protocol's
    report, one per user, as an eps0-LDP message; after a uniformly random shuffle the
    release is (epsilon, delta)-DP by amplification by shuffling ("Hiding Among the
    Clones: A Simple and Nearly Optimal Analysis of Privacy Amplification by
    Shuffling", Feldman, McMillan and Talwar 2021, Theorem 3.1). ``eps0`` is the
    largest local budget (multiple of 2^-20) for which the bound is within
    ``(epsilon, delta)``; for small n no amplification applies and eps0 = epsilon,
    delta = 0 (see :func:`~bigclust.private._accounting.shuffle_budget`). Its additive
    error still grows like ``sqrt(n)``.

    ``protocol="shuffle"``: the paper's shuffle-model protocol (Theorem 2: Theorem 22
    with shuffle-model histogram and vector-summation oracles), implemented as
    multi-message fair-coin blanket histograms (:mod:`~bigclust.private._multimessage`):
    the noise of every count and sum depends on (epsilon, delta, d) only, so the
    additive error of the cost does not grow with n. It needs at least
    ``max(N_h, N_v) + 1`` users (``fit`` raises with the number otherwise), treats row
    ``i`` as the user with public schedule index ``i``, and ignores
    ``vector_mechanism`` and ``histogram_mechanism``. docs/private.md ("The shuffle-model
    protocol") lists its deviations from the paper.

    Parameters
    ----------
    n_clusters : int, default=8
    epsilon : float, default=1.0
        Target central epsilon of the release.
    delta : float in (0, 1), default=1e-6
        Target delta (e.g. 1/n^1.1 or smaller).
    protocol : {"amplified-local", "shuffle"}, default="amplified-local"
        Which shuffle-model protocol (above).
    radius, center, n_levels, tree, bucket_bits, vector_levels, histogram_levels, ...
        Every other parameter (``radius`` to ``verbose``) is that of
        :class:`LocalDPKMeans`, with the same default.

    Attributes
    ----------
    cluster_centers_, labels_, report_, n_features_in_, feature_names_in_
        As in :class:`LocalDPKMeans`; ``report_`` also states ``delta_requested`` and
        the ``amplification`` theorem used ("amplified-local"), or ``protocol``,
        ``blanket_noise_histogram``/``blanket_noise_vector`` (the N of each channel),
        ``messages_per_user`` and ``n_messages`` ("shuffle"). ``predict``, ``transform``
        and ``score`` as in :class:`LocalDPKMeans`.

    Notes
    -----
    ``n_samples`` is treated as public (the replace-one neighbouring relation of the
    paper), so using it in the accounting costs nothing.
    """

    _parameter_constraints = {
        **_PrivateKMeansBase._parameter_constraints,
        "delta": [Interval(float, 0.0, 1.0, closed="neither")],
        "protocol": [Options(("amplified-local", "shuffle"))],
    }

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        epsilon: float = 1.0,
        delta: float = 1e-6,
        protocol: str = "amplified-local",
        radius: float | str | None = None,
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
        super().__init__(
            n_clusters,
            epsilon=epsilon,
            radius=radius,
            center=center,
            n_levels=n_levels,
            tree=tree,
            bucket_bits=bucket_bits,
            vector_levels=vector_levels,
            histogram_levels=histogram_levels,
            histogram_share=histogram_share,
            vector_mechanism=vector_mechanism,
            histogram_mechanism=histogram_mechanism,
            projection_dim=projection_dim,
            threshold_a=threshold_a,
            min_count_sigmas=min_count_sigmas,
            min_vector_sigmas=min_vector_sigmas,
            center_estimator=center_estimator,
            n_init=n_init,
            public_seed=public_seed,
            random_state=random_state,
            batch_size=batch_size,
            verbose=verbose,
        )
        self.delta = delta
        self.protocol = protocol

    def _budget(self, n: int) -> PrivacyBudget:
        return shuffle_budget(self.epsilon, self.delta, n, self._histogram_share())

    def fit(self, X, y=None):
        """Run the chosen protocol over ``X`` (one user per row) and store the centres.

        ``protocol="amplified-local"``: :meth:`LocalDPKMeans.fit` with the amplified local
        budget and a simulated shuffler. ``protocol="shuffle"``: the blanket protocol of
        :mod:`~bigclust.private._multimessage`; row ``i`` is the user with schedule index
        ``i``, its real messages come from :class:`~bigclust.private.ShuffleEncoder`'s
        code and all users' blankets are drawn together, exactly
        (:func:`~bigclust.private._multimessage.simulate_blankets`).
        """
        validate_params(self)
        if self.protocol == "amplified-local":
            return super().fit(X, y)
        return self._fit_blanket(X)

    def _fit_blanket(self, X):
        from ._multimessage import ShuffleDecoder, ShuffleEncoder, ShuffleParams, simulate_blankets

        if self.radius is None:
            raise ValueError(
                "radius is required: a public bound on ||x - center|| that does not come from X "
                "(or radius='unit' for data already in the unit ball)."
            )
        X = _checked_points(X)
        n, d = X.shape
        k = int(self.n_clusters)
        rng = check_random_state(self.random_state)
        run = RunRecorder(verbose=self.verbose)
        params = ShuffleParams(
            n_features=d,
            epsilon=float(self.epsilon),
            delta=float(self.delta),
            n_users=n,
            n_levels=self.n_levels,
            tree=self.tree,
            bucket_bits=self.bucket_bits,
            vector_levels=self.vector_levels if isinstance(self.vector_levels, str) else tuple(self.vector_levels),
            histogram_levels=self.histogram_levels if isinstance(self.histogram_levels, str) else tuple(self.histogram_levels),
            histogram_share=self.histogram_share,
            radius=self.radius,
            center=None if self.center is None else tuple(_as_float_array(self.center, "center").ravel().tolist()),
            projection_dim=self.projection_dim,
        )
        public_seed = int(rng.integers(2**62)) if self.public_seed is None else int(self.public_seed)
        if self.random_state is None:
            source = RandomSource()
        else:
            source = RandomSource(np.random.SeedSequence(int(rng.integers(2**63))))
        self._warn_clipping(X, params.tree_params)
        encoder = ShuffleEncoder(params, public_seed, random_source=source)
        decoder = ShuffleDecoder(params, public_seed)
        with run.stage("encode"):
            for s in range(0, n, self.batch_size):
                decoder._add_cells(encoder.real_cells(X[s:s + self.batch_size]).ravel())
        with run.stage("blankets"):
            decoder._add_counts(simulate_blankets(params, public_seed, source))
        with run.stage("tree_and_kmeans"):
            result = self._decode(decoder, k, rng)
        self.cluster_centers_ = result.cluster_centers
        self.n_features_in_ = d
        floor = result.info["expected_noise_floor"]
        if floor <= n * params.radius**2 and floor > self._trivial_cost(X, params.tree_params):
            # the trivial cost is a statistic of X, not private: compared, never printed
            warnings.warn(
                f"the expected noise floor of the centres ({floor:.3g}, docs/private.md) exceeds the cost of the "
                "trivial answer on this data (every centre at the public centre): expect no better than it. "
                "Use fewer clusters, a larger epsilon or more users.",
                PrivateUtilityWarning,
                stacklevel=2,
            )
        self.public_seed_ = public_seed
        self.labels_ = self._nearest(X)
        privacy = params.budget.report()
        privacy["private_randomness"] = (
            "os.urandom (CSPRNG)" if source.secure else "seeded PCG64 (experiments only, not secure)"
        )
        privacy["public_inputs"] = ["n_samples (number of users, their schedule indices)", "radius", "center",
                                    "public_seed"]
        self.report_ = run.finish(
            **privacy,
            n_reports=n,
            message_bytes=16,
            messages_per_user=encoder.expected_messages,
            n_messages=decoder.n_messages_,
            n_centers=int(result.cluster_centers.shape[0]),
            n_distinct_centers=result.info["n_distinct_centers"],
            decoder_memory_bytes=decoder.aggregate_nbytes(),
            **{f"decoder_{key}": val for key, val in result.info.items()},
        )
        return self
