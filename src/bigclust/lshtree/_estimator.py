"""The LSH-tree estimators: :class:`LSHTreeKMeans`, :class:`LSHTreeKMedian` and the fitted :class:`ClusterTree`.

An estimator validates its parameters once (declared constraints, checked at the
start of ``fit``), builds the frozen :class:`~._params.TreeParams`, hands the data
to an engine (:mod:`._local` or :mod:`._spark`) and stores the
:class:`~._params.FitResult` it returns as its fitted attributes. The engines never
see the estimator.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, ClusterMixin, TransformerMixin
from sklearn.metrics import pairwise_distances_argmin_min
from sklearn.metrics.pairwise import euclidean_distances
from sklearn.utils.validation import check_is_fitted, validate_data

from .._core import validation as V
from .._core.validation import BOOLEAN, NONE, RANDOM_STATE, InstanceOf, Interval, Options
from ._params import TreeParams
from .result import ClusterTree, FitResult

__all__ = ["LSHTreeKMeans", "LSHTreeKMedian", "ClusterTree"]

_POSITIVE = Interval(float, 0, None, closed="neither")
_COUNT = Interval(int, 1, None)
# Bounds that keep time and memory finite (issue 22); each message says why.
_SCALE_RATIO = Interval(float, 1.001, 1000, why=(
    "the sweep visits at most about (37 + ln(2 max(edge_factor, 1))) / ln(scale_ratio) scales, "
    "some 40,000 at 1.001; 1000^32 must stay a float for the doubling search"))
_EDGE_FACTOR = Interval(float, 0.25, 1000, why=(
    "below 0.25 a hash bucket is over 16 times the longest accepted edge and the fit degrades silently "
    "(150 times the planted cost measured at 1e-3)"))
_APPROX_EPSILON = Interval(float, 1e-6, None, closed="left", why=(
    "Algorithm 6 keeps about ln(cost range) / ln(1 + epsilon / (2 depth)) cost levels; finer "
    "values need more levels than memory holds, and a tree needing over 1e7 levels is refused"))
_DP_STEP = Interval(float, 1e-9, None, closed="left", why=(
    "about ln(cost range) / ln(1 + dp_step) cost levels are kept; a tree needing over 1e7 is refused"))
_HASHES = Interval(int, 1, 1024, why="the bucket keys take 8 bytes per point and hash function per scale")
_PROJECTIONS = Interval(int, 1, 1024, why="projections per hash function, each computed for every point and scale")
_BUCKET_WIDTH = Interval(float, 1e-3, 1e3, why="the hash bucket is bucket_width times the scale")


def _check_spark_range(X, sample_weight) -> None:
    """The spark engine does not rescale (the local engine does, see ``_local.fit``): local data outside the
    bands is refused before any Spark work, with the bands stated (issue 22). A DataFrame gets the same
    check on the cluster (``_spark._engine._check_dataframe``)."""
    from ._local import spark_range_problem

    X = V.check_points(X)
    span, biggest = V.column_span(X)
    w = V.check_sample_weight(sample_weight, X.shape[0])
    problem = spark_range_problem(span, biggest, float(w.sum()), "X", "sample_weight")
    if problem:
        raise ValueError(problem)


class _LSHTreeBase(ClassNamePrefixFeaturesOutMixin, TransformerMixin, ClusterMixin, BaseEstimator):
    _objective = "kmeans"

    _parameter_constraints: dict = {
        "n_clusters": [_COUNT],
        "method": [Options(("auto", "exact", "approx"))],
        "approx_epsilon": [_APPROX_EPSILON],
        "dp_step": [_DP_STEP, NONE],
        "refine": [Interval(int, 0, None), Options(("auto",))],
        "n_hashes": [_HASHES],
        "n_projections": [_PROJECTIONS],
        "bucket_width": [_BUCKET_WIDTH],
        "scale_ratio": [_SCALE_RATIO],
        "edge_factor": [_EDGE_FACTOR],
        "projection_dim": [_COUNT, NONE, Options(("auto",))],
        "candidates": [Options(("components", "two_hop"))],
        "engine": [Options(("local", "spark"))],
        "spark_options": [InstanceOf((dict,), "a dict"), NONE],
        "random_state": [RANDOM_STATE],
        "verbose": [BOOLEAN, Interval(int, 0, None)],
        "epsilon": [Options(("deprecated",)), _POSITIVE],
    }

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        method: str = "auto",
        approx_epsilon: float = 0.1,
        dp_step: float | None = None,
        refine: int | str = "auto",
        n_hashes: int = 10,
        n_projections: int = 10,
        bucket_width: float = 4.0,
        scale_ratio: float = 1.1,
        edge_factor: float = 2.0,
        projection_dim="auto",
        candidates: str = "components",
        engine: str = "local",
        spark_options: dict | None = None,
        random_state=None,
        verbose: bool = False,
        epsilon="deprecated",
    ):
        self.n_clusters = n_clusters
        self.method = method
        self.approx_epsilon = approx_epsilon
        self.dp_step = dp_step
        self.refine = refine
        self.n_hashes = n_hashes
        self.n_projections = n_projections
        self.bucket_width = bucket_width
        self.scale_ratio = scale_ratio
        self.edge_factor = edge_factor
        self.projection_dim = projection_dim
        self.candidates = candidates
        self.engine = engine
        self.spark_options = spark_options
        self.random_state = random_state
        self.verbose = verbose
        self.epsilon = epsilon

    def _tree_params(self) -> TreeParams:
        """The validated parameters (declared constraints; nothing data-dependent yet)."""
        V.validate_params(self)
        approx_epsilon = self.approx_epsilon
        if not (isinstance(self.epsilon, str) and self.epsilon == "deprecated"):
            warnings.warn("'epsilon' was renamed 'approx_epsilon' (bigclust uses epsilon for privacy budgets); "
                          "'epsilon' will be removed in 0.3.", FutureWarning, stacklevel=3)
            approx_epsilon = self.epsilon
        return TreeParams(
            objective=self._objective,
            n_clusters=int(self.n_clusters),
            method=self.method,
            approx_epsilon=float(approx_epsilon),
            dp_step=None if self.dp_step is None else float(self.dp_step),
            refine=self.refine if isinstance(self.refine, str) else int(self.refine),
            n_hashes=int(self.n_hashes),
            n_projections=int(self.n_projections),
            bucket_width=float(self.bucket_width),
            scale_ratio=float(self.scale_ratio),
            edge_factor=float(self.edge_factor),
            projection_dim=self.projection_dim if self.projection_dim in (None, "auto") else int(self.projection_dim),
            candidates=self.candidates,
            median_sample_size=int(getattr(self, "median_sample_size", 256)),
            weiszfeld_iter=int(getattr(self, "weiszfeld_iter", 50)),
            verbose=bool(self.verbose),
        )

    def fit(self, X, y=None, sample_weight=None):
        """Build the LSH tree and choose the best pruning of ``n_clusters`` candidate clusters.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or a Spark DataFrame (``engine="spark"``)
            Training points (float32 or float64; other numeric types are converted).
        y : ignored
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative weight of each point in the objective (default 1). With a
            Spark DataFrame, name a weight column in ``spark_options`` instead.

        Returns
        -------
        self
        """
        params = self._tree_params()
        rng = V.check_random_state(self.random_state)
        X_in = X  # for feature_names_in_ (pandas column names)
        if hasattr(X, "columns") and not _is_spark_frame(X):
            # a DataFrame's column names first: scikit-learn's TypeError for mixed name types comes before any work
            validate_data(self, X, skip_check_array=True, reset=True)
        if self.engine == "spark":
            if not (type(X).__name__ == "DataFrame" and type(X).__module__.startswith("pyspark")):
                _check_spark_range(X, sample_weight)
            try:
                from ._spark import fit_spark
            except ImportError as exc:  # pragma: no cover - depends on the environment
                raise ImportError("engine='spark' needs PySpark: pip install 'bigclust[spark]'") from exc
            # fit_spark validates X (on the cluster for a DataFrame) and the options before any work
            result = fit_spark(X, sample_weight, params, rng, self.spark_options)
        else:
            if type(X).__name__ == "DataFrame" and type(X).__module__.startswith("pyspark"):
                raise TypeError("X is a Spark DataFrame; use engine='spark' to cluster it where it lives.")
            from ._local import fit as fit_local

            X = V.check_points(X)
            params = params.for_data(*X.shape)
            w = V.check_sample_weight(sample_weight, X.shape[0])
            result = fit_local(X, w, params, rng)
        self._store(result)
        if not _is_spark_frame(X_in):
            # sets feature_names_in_ from a DataFrame's string column names (removes a stale one otherwise)
            validate_data(self, X_in, skip_check_array=True, reset=True)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_  # a Spark DataFrame's features are one vector column, not named ones
        return self

    def _store(self, result: FitResult) -> None:
        self.labels_ = result.labels
        self.cluster_centers_ = result.centers
        self.inertia_ = result.inertia
        self.cost_curve_ = result.cost_curve
        self.tree_ = result.tree
        self.report_ = result.report
        self.n_features_in_ = result.n_features

    # ------------------------------------------------------------------ predict

    def predict(self, X):
        """Index of the nearest centre for each row of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or a Spark DataFrame
            A Spark DataFrame (whichever engine fitted the model) is labelled
            where it lives: the result is ``X`` with one more column, named by
            ``spark_options["prediction_col"]`` (default ``"cluster"``), read
            from ``spark_options["input_col"]`` (default ``"features"``); one
            map, no shuffle.

        Returns
        -------
        labels : ndarray of shape (n_samples,), int64; or a Spark DataFrame
        """
        check_is_fitted(self, "cluster_centers_")
        if type(X).__name__ == "DataFrame" and type(X).__module__.startswith("pyspark"):
            from ._spark import predict_spark

            return predict_spark(self.cluster_centers_, X, self.spark_options)
        X = self._check_new_points(X, "predict")
        C = self.cluster_centers_.astype(X.dtype, copy=False)
        # squared distances of data far outside [2^-64, 2^64] under- or overflow: compare them on both
        # sides scaled by one power of two (the nearest centre does not change), as fit does (issue 22)
        e = V.power_of_two_exponent(max(V.column_span(X)[0], V.column_span(C)[0]) or 1.0, -64, 64)
        if e:
            X, C = np.ldexp(X.astype(np.float64), -e), np.ldexp(C.astype(np.float64), -e)
        labels, _ = pairwise_distances_argmin_min(X, C)
        return labels.astype(np.int64)

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit and return ``labels_``: the partition found (before ``predict``'s nearest-centre rule)."""
        return self.fit(X, sample_weight=sample_weight).labels_

    # ------------------------------------------------- scikit-learn conventions

    def _check_new_points(self, X, method: str) -> np.ndarray:
        """``X`` for predict/transform/score: an in-memory array with the fitted features (names checked as in scikit-learn)."""
        check_is_fitted(self, "cluster_centers_")
        if _is_spark_frame(X):
            raise TypeError(f"{method} needs an in-memory array; label a Spark DataFrame with predict.")
        return V.check_new_points(self, X, V.check_points)

    def transform(self, X) -> np.ndarray:
        """Euclidean distance from each row of ``X`` to each centre.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        distances : ndarray of shape (n_samples, n_centers)
            ``distances[i, j] = |X[i] - cluster_centers_[j]|``, in the dtype of
            ``X`` (float32 stays float32); ``n_centers`` is
            ``cluster_centers_.shape[0]`` (``n_clusters`` unless the training
            data had fewer distinct points).
        """
        X = self._check_new_points(X, "transform")
        # scikit-learn's (as KMeans.transform): float32 input is summed in float64 blocks, returned as float32
        return euclidean_distances(X, self.cluster_centers_.astype(X.dtype, copy=False))

    def fit_transform(self, X, y=None, sample_weight=None) -> np.ndarray:
        """Fit, then return the distances of the training points to the centres (see :meth:`transform`).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        distances : ndarray of shape (n_samples, n_centers)
        """
        return self.fit(X, sample_weight=sample_weight).transform(X)

    def score(self, X, y=None, sample_weight=None) -> float:
        """Opposite of the cost of ``X`` with each point at its nearest centre (higher is better).

        As :meth:`sklearn.cluster.KMeans.score`, so that model selection
        (``GridSearchCV``, ``cross_val_score``) compares fits by held-out cost.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative weight of each point (default 1).

        Returns
        -------
        score : float
            ``-sum_i w_i min_j |X[i] - c_j|^2`` for LSHTreeKMeans, ``-sum_i w_i
            min_j |X[i] - c_j|`` (the k-median cost) for LSHTreeKMedian: the
            objective of ``inertia_``, evaluated on ``X``.
        """
        X = self._check_new_points(X, "score")
        w = V.check_sample_weight(sample_weight, X.shape[0])
        # float64 distances: a float32 cost summed over many points would lose digits
        _, dist = pairwise_distances_argmin_min(X, self.cluster_centers_.astype(X.dtype, copy=False))
        dist = dist.astype(np.float64)
        cost = dist * dist if self._objective == "kmeans" else dist
        return -float(np.dot(w, cost))

    @property
    def _n_features_out(self) -> int:
        # get_feature_names_out: one output column per centre ("lshtreekmeans0", ...)
        return self.cluster_centers_.shape[0]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


def _is_spark_frame(X) -> bool:
    return type(X).__name__ == "DataFrame" and type(X).__module__.startswith("pyspark")




_PARAMS_DOC = """
    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters ``k``. If ``X`` has fewer distinct points, a
        ``ConvergenceWarning`` is issued and that many clusters are returned.
    method : {"auto", "exact", "approx"}, default="auto"
        ``"exact"``: Algorithm 5, the optimal pruning with ``k`` clusters, time
        ``O(n k)`` and memory ``O(sum_C min(k, |C|))``. ``"approx"``: Algorithm 6,
        within ``(1 + approx_epsilon)`` of it with memory independent of ``k``, run beside
        a Lagrangian relaxation of the cluster count (also ``O(n)`` memory), which
        is exact whenever a penalty per cluster yields exactly ``k`` clusters and
        always certifies a lower bound; the cheaper pruning is returned and
        ``report_["dp"]["certified_gap"]`` bounds its distance from the optimum.
        ``"auto"`` runs the exact DP when its table and work (known from the
        tree before it runs) are small (up to ~2e8 entries, 5e9 steps), else the
        approximate one. ``report_["method"]`` says which ran.
    approx_epsilon : float, default=0.1
        Approximation parameter ``epsilon`` of Algorithm 6: the returned pruning
        costs at most ``(1 + approx_epsilon)`` times the optimal pruning of the tree.
        At least 1e-6; a tree whose Algorithm 6 would keep over 1e7 cost levels
        (76 MiB) is refused with the finest value that fits.
    dp_step : float or None, default=None
        Ratio ``epsilon'`` between consecutive cost levels of Algorithm 6. None
        uses ``approx_epsilon / (2 H)`` (``H`` = tree depth), which Lemma 3.12 needs
        for the guarantee; with ``method="auto"``, if that table would be too large
        (very large ``k``), the finest step ``approx_epsilon/(2H) * 2^j <= approx_epsilon`` whose table
        fits, which only guarantees ``(1 + step)^H`` (the paper's experiments use
        0.1; finer steps compound less rounding over the depth).
        ``report_["dp"]["guarantee"]`` states the factor that holds.
    refine : "auto" or int, default="auto"
        Beyond the paper. The tree's pruning is the optimal clustering on
        perturbation-resilient data; on ordinary data it is often one large
        cluster plus outliers. ``"auto"`` runs Lloyd's algorithm (k-means) or
        assign/Weiszfeld passes (k-median) from greedy k-means++ starts (10
        below ``k = 16`` when ``n k d <= 10^7``, 3 below ``k = 64``, else one; for
        k-means drawn from the tree's coreset of at most ``max(20000, 20 k)``
        rows when there are more distinct points) and from
        the tree's own centres (skipped when they cost more than 1.5 times the
        best k-means++ result), until the labels stop changing, the centres
        move less than scikit-learn's tolerance (``1e-4`` times the mean
        per-feature variance, squared shift summed), or a pass lowers the cost
        by less than a fraction ``1e-4``; the cheapest of these answers and of
        the tree's own answer is returned (ties to the tree), so the default is
        never worse than the tree and stays the planted optimum on resilient
        data. k-means refinement compares most points with a few candidate
        centres, not all ``k`` (exact nearest centres, by the triangle
        inequality; :mod:`bigclust.lshtree._kernels.lloyd`), and seeds with
        k-means++ whose steps skip the groups of points a new seed cannot take.
        Its centre-side work grows like ``k^2 d`` (neighbour lists of the
        centres, seeding), so ``"auto"`` skips refinement when that exceeds
        ``5e10`` operations (``k`` around ``10^4`` to ``3 * 10^4``);
        ``report_["refine"]["skipped"]`` then says so. An integer ``N`` runs at
        most ``N`` passes per start instead; ``0`` returns the tree's answer.
        ``report_["answer"]`` names the answer returned (``"tree"``,
        ``"tree+lloyd"``, ``"kmeans+++lloyd"``) and ``report_["refine"]`` every
        start's cost before and after its passes. When the tree's answer is
        returned and one cluster holds at least 90% of the weight, a
        :class:`~bigclust.lshtree.DegenerateClusteringWarning` is issued. On the
        spark engine each Lloyd pass is one shuffle and the starts are the tree,
        k-means on a tree coreset and k-means|| (docs/spark.md), with the same
        cost-based stopping rule.
    n_hashes : int, default=10
        ``t`` of Algorithm 1: LSH functions per scale. The paper's analysis uses
        ``t = 5 log n / p1`` and its experiments 100; because every edge is
        checked against the true distance and edges accumulate over scales,
        far fewer suffice in practice (see benchmarks/); more hashes give a tree
        closer to the single-linkage tree at more time and memory
        (``n * n_hashes * n_projections`` float32 projections are kept).
        At most 1024.
    n_projections : int, default=10
        ``m``: projections concatenated per hash function (Datar et al.; Section 5);
        at most 1024.
    bucket_width : float, default=4.0
        ``r`` of the p-stable hash (Section 5), in [1e-3, 1e3].
    scale_ratio : float, default=1.1
        Ratio of consecutive scales ``D_i`` (Section 5; the analysis uses 1.01),
        in [1.001, 1000]: the number of scales grows like ``1 / ln(scale_ratio)``.
    edge_factor : float, default=2.0
        ``c`` of Algorithm 1: an LSH edge found at scale ``D`` is kept only when
        the two points are closer than ``c * D`` (checked exactly, so Lemma 3.5 (2)
        holds surely). Smaller values protect separated clusters from early
        merges; larger ones connect clusters at smaller scales. In [0.25, 1000]:
        below, buckets dwarf the accepted edges and the tree degrades.
    projection_dim : int, None or "auto", default="auto"
        Appendix C.7's Johnson-Lindenstrauss projection of the points that are
        hashed and distance-checked (node weights always use the original
        points). "auto" projects to 128 dimensions when ``n_features > 256``.
    candidates : {"components", "two_hop"}, default="components"
        Which connected components of the cumulative LSH graphs become candidate
        clusters (Algorithm 2 allows any family that holds every component of
        diameter at most 2). ``"components"`` keeps all of them, found by a
        sequential sweep over the scales (on Spark, a constant number of rounds
        per scale). ``"two_hop"`` keeps those Appendix C.2's two rounds of label
        propagation certify, computing every scale at once
        (:mod:`bigclust.lshtree.two_hop`): on Spark the whole tree takes a constant
        number of rounds, independent of ``n`` and of the number of scales, at
        the price of checking every scale's edges (no component filter) and of
        fewer candidates on data without well-separated clusters.
    engine : {"local", "spark"}, default="local"
        ``"spark"`` runs the fit as Spark stages
        (docs/spark.md) on a Spark DataFrame or a NumPy array, with the same
        result as the local engine for every ``method`` (bit for bit with
        ``candidates="components"``; with ``"two_hop"`` the same tree and
        partition, node costs equal to rounding): both engines follow one DP
        policy (the same budgets, Algorithm 6 beside the Lagrangian
        relaxation). ``labels_`` is then a DataFrame of the input rows plus a
        cluster column (NumPy input: an array) and ``tree_`` is None;
        ``refine`` starts from k-means|| where the local engine uses k-means++.
        LSHTreeKMedian on Spark: the same tree and samples, so the same
        medians bit for bit (costs equal to rounding); its ``refine`` runs
        assign/Weiszfeld-step passes (one shuffle each) from the tree's medians
        and k-means||.
    spark_options : dict or None, default=None
        Options of the spark engine: ``master``, ``input_col``, ``weight_col``,
        ``prediction_col``, ``num_partitions``, ``subtree_leaves``,
        ``local_cc_max_edges``, ``workdir``, ``worker_idle_timeout``,
        ``refine_max_passes`` (``refine="auto"``: Lloyd passes per start,
        default 300) (see docs/spark.md).
    random_state : int, Generator or None, default=None
        Seeds the LSH functions, projections and median samples; the same seed
        and data give the same result.
    verbose : bool, default=False
        Print progress lines to stderr for fits that last more than 2 seconds.
    epsilon : float, default="deprecated"
        Deprecated alias of ``approx_epsilon`` (``epsilon`` means a privacy
        budget elsewhere in bigclust); setting it warns and overrides
        ``approx_epsilon``; it will be removed in 0.3.

"""

_ATTRS_DOC = """
    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,), int64
        Cluster of each training point: the partition given by the pruning set,
        or, when a refined answer is returned, each point's nearest centre.
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
        Centres, in the dtype of ``X``.
    inertia_ : float
        Cost of ``labels_`` with ``cluster_centers_``: {cost}.
    cost_curve_ : ndarray of shape (n_clusters,) or None
        The tree's curve, not the refined answer's: with ``method="exact"``,
        ``cost_curve_[j-1]`` is the least cost of a pruning of the tree into at
        most ``j`` clusters, ``j = 1..n_clusters`` (non-increasing; None after
        the approximate DPs). On perturbation-resilient data it is the optimal
        k-means cost at every ``j`` (an elbow for free); on other data it can be
        nearly flat while k-means costs fall (the tree's prunings are one large
        cluster plus outliers), so for an elbow of the answers you get fit at
        each ``k``, or use :func:`bigclust.lshtree.elbow_curve`.
    tree_ : ClusterTree
        The hierarchy: parent array, children, sizes, weights, node costs.
    report_ : dict
        ``time`` (seconds per stage), ``total_seconds``, ``peak_memory_mb`` and
        ``peak_memory_kind`` (how it was measured, :mod:`bigclust._core.report`),
        ``rescaled`` (only when the data or weights were rescaled, see above),
        ``answer`` (which answer was returned, see ``refine``), ``method`` (the
        pruning DP that produced the tree's answer: ``"exact"``, ``"approx"``
        (Algorithm 6 beside the Lagrangian relaxation) or ``"lagrangian"`` (its
        certificate made Algorithm 6 unnecessary)), ``n_scales``,
        ``tree_nodes``, ``tree_depth``, ``n_distinct``, ``tree_info`` (edges
        checked/accepted, scale range), ``dp`` and ``refine`` details.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (``n_features_in_``,), object
        Column names of ``X`` in ``fit``, when it was a DataFrame whose column
        names are all strings (absent otherwise); ``predict``, ``transform``
        and ``score`` then check that their input has the same columns.
"""


_NOTES_DOC = """
    Notes
    -----
    Data range: points whose largest column range is outside ``[2^-64, 2^64]``
    (float32 hash projections) or weights summing outside ``[2^-100, 2^100]`` are
    multiplied by a power of two, which is exact, and the answer is mapped back
    (``report_["rescaled"]`` gives the exponents); data whose cost could exceed
    float64 (``sum(w) * d * range^2 >= 2^1023`` for k-means) is refused.

    Practical choices (all documented in the module docstrings):
    exact duplicates are merged before hashing; the Gaussian hash directions are
    shared by all scales (one matrix product), with fresh offsets per scale;
    scales below the first at which any checked edge exists are skipped by a
    doubling search; if no scale up to twice the diameter bound connects all
    points, the remaining components are joined under one root.
"""


class LSHTreeKMeans(_LSHTreeBase):
    __doc__ = (
        """k-means from an LSH tree of candidate clusters and an optimal tree pruning.

    Builds near-neighbour graphs with p-stable LSH at geometric scales, takes
    their connected components as candidate clusters arranged in a tree, and
    picks the ``k`` candidates of least total SSE that partition the data by a
    dynamic program over the tree (Algorithms 1-6 of "Massively Parallel k-Means
    Clustering for Perturbation Resilient Instances"). On perturbation-resilient
    data the optimal clustering is a pruning of the tree, so the exact DP returns
    it; the approximate DP's memory does not grow with ``k``, which makes very
    large ``k`` (deduplication, compression) practical.
"""
        + _PARAMS_DOC
        + _ATTRS_DOC.format(cost="sum over points of weight * squared distance to its centre")
        + _NOTES_DOC
        + """
    Examples
    --------
    >>> from bigclust import LSHTreeKMeans
    >>> from bigclust.datasets import make_planted_mixture
    >>> X, y, _ = make_planted_mixture(2000, 10, 5, random_state=0)
    >>> km = LSHTreeKMeans(n_clusters=5, random_state=0).fit(X)
    >>> km.cluster_centers_.shape
    (5, 10)
"""
    )


class LSHTreeKMedian(_LSHTreeBase):
    __doc__ = (
        """k-median (sum of Euclidean distances) from an LSH tree and an optimal tree pruning.

    Same pipeline as :class:`LSHTreeKMeans`; the weight of a candidate cluster is
    ``sum_p w_p |p - m_C|`` where ``m_C`` is a geometric median estimate computed
    by Weiszfeld's algorithm on a sample of ``median_sample_size`` points of the
    cluster (Appendix D; the cost itself is summed over all points of the
    cluster, so it is exact for that centre). The sample is the cluster's points
    of smallest key, a hash of ``(seed, point)`` (uniform without replacement,
    and the same on both engines: :mod:`bigclust.lshtree.median`).

    Note: with estimated medians a split may raise the weight, so the least cost
    with *at most* ``k`` clusters (``cost_curve_``) can be below the cost of the
    returned pruning, which always has exactly ``k`` clusters.
"""
        + _PARAMS_DOC
        + """    median_sample_size : int, default=256
        Points sampled per candidate cluster for the Weiszfeld median estimate
        (at most 10^6).
    weiszfeld_iter : int, default=50
        Maximum Weiszfeld iterations per estimate (at most 10^4).
"""
        + _ATTRS_DOC.format(cost="sum over points of weight * distance to its centre (the k-median cost)")
        + _NOTES_DOC
    )

    _objective = "kmedian"

    _parameter_constraints: dict = {
        **_LSHTreeBase._parameter_constraints,
        "median_sample_size": [Interval(int, 1, 10**6, why="points sampled per candidate cluster and its "
                                                                   "Weiszfeld passes")],
        "weiszfeld_iter": [Interval(int, 1, 10**4, why="Weiszfeld passes per candidate cluster")],
    }

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        method: str = "auto",
        approx_epsilon: float = 0.1,
        dp_step: float | None = None,
        refine: int | str = "auto",
        n_hashes: int = 10,
        n_projections: int = 10,
        bucket_width: float = 4.0,
        scale_ratio: float = 1.1,
        edge_factor: float = 2.0,
        projection_dim="auto",
        median_sample_size: int = 256,
        weiszfeld_iter: int = 50,
        candidates: str = "components",
        engine: str = "local",
        spark_options: dict | None = None,
        random_state=None,
        verbose: bool = False,
        epsilon="deprecated",
    ):
        super().__init__(
            n_clusters, method=method, approx_epsilon=approx_epsilon, dp_step=dp_step, refine=refine,
            n_hashes=n_hashes, n_projections=n_projections, bucket_width=bucket_width, scale_ratio=scale_ratio,
            edge_factor=edge_factor, projection_dim=projection_dim, candidates=candidates, engine=engine,
            spark_options=spark_options, random_state=random_state, verbose=verbose, epsilon=epsilon,
        )
        self.median_sample_size = median_sample_size
        self.weiszfeld_iter = weiszfeld_iter
