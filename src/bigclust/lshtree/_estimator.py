"""LSH-tree k-means and k-median (papers/mpc-kmeans-perturbation-resilient.txt).

Pipeline of a fit (each stage is timed in ``report_["time"]``):

``dedup``     exact duplicate rows merged, their weights summed (:mod:`bigclust._core.dedup`)
``project``   centring and, for high dimension, a Johnson-Lindenstrauss projection
              of the points used for hashing (Appendix C.7)
``tree``      Algorithms 1-4: LSH near-neighbour graphs at geometric scales,
              candidate clusters, tree, binarisation (:mod:`bigclust.lshtree.hierarchy`)
``weights``   node weights ``w(C)``: SSE for k-means, distance sum to a
              Weiszfeld median estimate for k-median (Appendix D)
``dp``        Algorithm 5 (exact) or 6 (approximate) (:mod:`bigclust.lshtree.pruning`)
``labels``    the pruning set's partition and centres
``refine``    optional Lloyd iterations (beyond the paper)
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.metrics import pairwise_distances_argmin_min
from sklearn.utils.validation import check_is_fitted

from .._core import validation as V
from .._core.dedup import unique_rows
from .._core.exact_sum import column_mean
from .._core.report import RunRecorder
from .hierarchy import Hierarchy, build_hierarchy, kmeans_node_stats, labels_from_pruning, leaf_order
from .two_hop import build_hierarchy_two_hop
from .pruning import approx_dp, approx_dp_work, approx_guarantee, exact_dp, exact_dp_work, lagrangian_dp, split_to_k

__all__ = ["LSHTreeKMeans", "LSHTreeKMedian", "ClusterTree"]

# method="auto" runs the exact DP when it needs at most this many inner-loop
# operations and table entries (2e8 float64 entries = 1.6 GB), the approximate DP otherwise.
_AUTO_EXACT_MAX_WORK = 5e9
_AUTO_EXACT_MAX_ENTRIES = 2e8


@dataclass(frozen=True)
class ClusterTree:
    """The fitted hierarchy of candidate clusters (the binarised tree T').

    Vertices ``0 .. n_leaves-1`` are leaves, one per distinct input point; the
    others are candidate clusters (or binarisation vertices) in bottom-up order;
    the root is the last vertex.

    Attributes
    ----------
    parent : ndarray of shape (n_nodes,), int64
        Parent vertex, -1 for the root.
    children : ndarray of shape (n_nodes, 2), int64
        Left and right child, -1 for leaves.
    size : ndarray of shape (n_nodes,), int64
        Number of input samples (rows of X, duplicates counted) in each vertex.
    weight : ndarray of shape (n_nodes,), float64
        Total sample weight of each vertex.
    cost : ndarray of shape (n_nodes,), float64
        The vertex weight ``w(C)`` of the pruning DP: sum of squared distances to
        the weighted mean (k-means) or of distances to the median estimate
        (k-median), in squared units / units of X.
    scale : ndarray of shape (n_nodes,), float64
        LSH scale at which the candidate cluster formed (units of the hashed
        coordinates: centred X, JL-projected if ``projection_dim_`` is set).
    auxiliary : ndarray of shape (n_nodes,), bool
        True for vertices added by the binarisation (Algorithm 4).
    leaf_of_sample : ndarray of shape (n_samples,), int64
        Leaf vertex of every input row (-1 for rows of weight 0, which take no
        part in the fit and are labelled by their nearest centre).
    selected : ndarray of shape (n_clusters_found,), int64
        The pruning set the DP chose; ``labels_`` before ``refine`` number these in order.
    depth : int
        Height of the tree (``H`` of Algorithm 6).
    """

    parent: np.ndarray
    children: np.ndarray
    size: np.ndarray
    weight: np.ndarray
    cost: np.ndarray
    scale: np.ndarray
    auxiliary: np.ndarray
    leaf_of_sample: np.ndarray
    selected: np.ndarray
    depth: int

    @property
    def n_nodes(self) -> int:
        return int(self.parent.shape[0])


class _LSHTreeBase(ClusterMixin, BaseEstimator):
    _objective = "kmeans"

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        method: str = "auto",
        epsilon: float = 0.1,
        dp_step: float | None = None,
        refine: int = 0,
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
    ):
        self.n_clusters = n_clusters
        self.method = method
        self.epsilon = epsilon
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

    # ------------------------------------------------------------------ checks

    def _check_params(self, n_samples: int, n_features: int) -> dict:
        if self.method not in ("auto", "exact", "approx"):
            raise ValueError(f"method must be 'auto', 'exact' or 'approx', got {self.method!r}.")
        p = {
            "k": V.check_n_clusters(self.n_clusters, n_samples),
            "epsilon": V.check_positive(self.epsilon, "epsilon"),
            "refine": V.check_int(self.refine, "refine", low=0),
            "n_hashes": V.check_int(self.n_hashes, "n_hashes", low=1),
            "n_projections": V.check_int(self.n_projections, "n_projections", low=1),
            "bucket_width": V.check_positive(self.bucket_width, "bucket_width"),
            "scale_ratio": V.check_positive(self.scale_ratio, "scale_ratio"),
            "edge_factor": V.check_positive(self.edge_factor, "edge_factor"),
        }
        if p["scale_ratio"] <= 1:
            raise ValueError(f"scale_ratio must be > 1, got {self.scale_ratio}.")
        if self.candidates not in ("components", "two_hop"):
            raise ValueError(f"candidates must be 'components' or 'two_hop', got {self.candidates!r}.")
        p["candidates"] = self.candidates
        p["dp_step"] = None if self.dp_step is None else V.check_positive(self.dp_step, "dp_step")
        if self.projection_dim == "auto":
            p["projection_dim"] = 128 if n_features > 256 else None
        elif self.projection_dim is None:
            p["projection_dim"] = None
        else:
            p["projection_dim"] = V.check_int(self.projection_dim, "projection_dim", low=1)
            if p["projection_dim"] >= n_features:
                p["projection_dim"] = None
        return p

    # ------------------------------------------------------------------ fit

    def fit(self, X, y=None, sample_weight=None):
        """Build the LSH tree and choose the best pruning of ``n_clusters`` candidate clusters.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training points (float32 or float64; other numeric types are converted).
        y : ignored
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative weight of each point in the objective (default 1).

        Returns
        -------
        self
        """
        if self.engine not in ("local", "spark"):
            raise ValueError(f"engine must be 'local' or 'spark', got {self.engine!r}.")
        if self.engine == "spark":
            return self._fit_spark(X, sample_weight)
        if type(X).__name__ == "DataFrame" and type(X).__module__.startswith("pyspark"):
            raise TypeError("X is a Spark DataFrame; use engine='spark' to cluster it where it lives.")
        X = V.check_points(X)
        n, d = X.shape
        prm = self._check_params(n, d)
        w = V.check_sample_weight(sample_weight, n)
        rng = V.check_random_state(self.random_state)
        run = RunRecorder(verbose=self.verbose)

        with run.stage("dedup"):
            first, inverse = unique_rows(X)
            wu = np.bincount(inverse, weights=w, minlength=first.shape[0])
            # zero-weight points do not influence the fit (as if removed); they are
            # labelled by their nearest centre at the end
            keep = np.flatnonzero(wu > 0)
            Xu = np.ascontiguousarray(X[first[keep]], dtype=np.float64)
            wu = wu[keep]
            n_distinct = int(keep.shape[0])
        k = prm["k"]
        if k > n_distinct:
            V.warn_fewer_distinct(n_distinct, k)
            k = n_distinct

        with run.stage("project"):
            Y = Xu - column_mean(Xu)  # exact: the spark engine gets the same bits (_exact_sum)
            if prm["projection_dim"] is not None:
                A = rng.standard_normal((d, prm["projection_dim"])) / np.sqrt(prm["projection_dim"])
                Y = Y @ A
        with run.stage("tree"):
            build = build_hierarchy if prm["candidates"] == "components" else build_hierarchy_two_hop
            tree = build(
                Y,
                n_hashes=prm["n_hashes"],
                n_projections=prm["n_projections"],
                bucket_width=prm["bucket_width"],
                scale_ratio=prm["scale_ratio"],
                edge_factor=prm["edge_factor"],
                random_state=rng,
                progress=run.progress,
            )
            del Y
        with run.stage("weights"):
            total_w, cost, centers_int = self._node_weights(tree, Xu, wu, rng)

        with run.stage("dp"):
            method, step, dp_info = self._choose_dp(tree, cost, k, prm)
            if method == "exact":
                selected, curve, _ = exact_dp(tree, cost, k)
                self.cost_curve_ = curve
            else:
                selected, dp_info = self._approx_pruning(tree, cost, k, step, dp_info)
                self.cost_curve_ = None

        with run.stage("labels"):
            labels_u = labels_from_pruning(tree, selected)
            # number clusters by their first leaf, so labels do not depend on the DP's traversal order
            _, first_leaf = np.unique(labels_u, return_index=True)
            selected = selected[np.argsort(first_leaf, kind="stable")]
            labels_u = labels_from_pruning(tree, selected)
            centers = np.empty((selected.shape[0], d), dtype=np.float64)
            for c, v in enumerate(selected):
                centers[c] = Xu[v] if v < tree.n_leaves else centers_int[v - tree.n_leaves]
            inertia = float(cost[selected].sum())

        refine_info = None
        if prm["refine"] > 0:
            with run.stage("refine"):
                labels_u, centers, inertia, refine_info = self._refine_best(
                    tree, cost, centers_int, Xu, wu, centers, prm["refine"], rng)

        labels_all = np.full(first.shape[0], -1, np.int64)
        labels_all[keep] = labels_u
        if keep.shape[0] < first.shape[0]:
            zero = np.flatnonzero(labels_all < 0)
            labels_all[zero] = pairwise_distances_argmin_min(np.asarray(X[first[zero]], np.float64), centers)[0]
        self.labels_ = labels_all[inverse]
        self.cluster_centers_ = centers.astype(X.dtype, copy=False)
        self.inertia_ = inertia
        self.n_features_in_ = d
        leaf_id = np.full(first.shape[0], -1, np.int64)
        leaf_id[keep] = np.arange(keep.shape[0])
        leaf_of_row = leaf_id[inverse]
        self.tree_ = ClusterTree(
            parent=tree.parent,
            children=np.stack([tree.left, tree.right], axis=1),
            size=_subtree_sizes(tree, np.bincount(inverse, minlength=first.shape[0])[keep]),
            weight=total_w,
            cost=cost,
            scale=tree.scale,
            auxiliary=tree.auxiliary,
            leaf_of_sample=leaf_of_row,
            selected=selected,
            depth=tree.depth,
        )
        self.report_ = run.finish(
            method=method,
            n_samples=n,
            n_distinct=n_distinct,
            n_clusters=int(selected.shape[0]),
            n_scales=tree.info["n_scales"],
            tree_nodes=tree.n_nodes,
            tree_depth=tree.depth,
            projection_dim=prm["projection_dim"],
            tree_info=tree.info,
            dp=dp_info,
            refine=refine_info,
        )
        return self

    def _fit_spark(self, X, sample_weight):
        """``engine="spark"``: the fit as Spark stages (:mod:`bigclust.spark`); same partition as the local engine."""
        if self._objective != "kmeans":
            raise ValueError(f"engine='spark' is available for LSHTreeKMeans only, not {type(self).__name__}.")
        try:
            from ._spark import fit_spark, is_spark_dataframe
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("engine='spark' needs PySpark: pip install 'bigclust[spark]'") from exc
        # fit_spark validates X (on the cluster for a DataFrame) and the parameters before any work
        attrs = fit_spark(self, X, sample_weight, V.check_random_state(self.random_state))
        for name, value in attrs.items():
            setattr(self, name, value)
        return self

    def _refine_starts(self, tree, cost, centers_int, Xu, wu, centers, rng):
        """The starts of ``refine``: a list of (name, centres), and the random draws they used.

        (1) ``"tree"``: the tree's own ``k`` centres (optimal on perturbation-resilient
        data). (2) ``"tree_coreset"``: k-means++ (10 tries, each with Lloyd) on the
        weighted centres of the tree's optimal pruning into ``K = 40 k`` clusters, a
        coreset of the data from the same tree; skipped when ``K`` would not exceed
        ``k``. (3) ``"kmeans++"``: greedy k-means++ seeding (``2 + ln k``
        candidates per step, scikit-learn's ``kmeans_plusplus``) on all distinct
        points with their weights, which costs about ``2 + ln k`` Lloyd iterations.
        (1) and (2) come from the tree; (3) guards against trees whose prunings
        are one large cluster plus outliers at every size, where (2) is no
        coreset (measured on mnist: (2) ends 2-4% above k-means++, (3) within 0.2%).
        The random draws are made in a fixed order, so the result depends only on
        ``random_state``.
        """
        from sklearn.cluster import KMeans, kmeans_plusplus

        k = centers.shape[0]
        coreset_seed = int(rng.integers(2**31 - 1))
        kpp_seed = int(rng.integers(2**31 - 1))
        starts = [("tree", centers)]
        info = {}
        K = min(40 * k, tree.n_leaves)
        if K > k:
            selected = self._dp_for(tree, cost, K)
            reps = np.array([Xu[v] if v < tree.n_leaves else centers_int[v - tree.n_leaves] for v in selected])
            rep_w = _subtree_weights(tree, wu)[selected]
            n_init = 10 if K * k * Xu.shape[1] <= 1e9 else 1  # bounded seeding work at large k
            seeded = KMeans(k, n_init=n_init, random_state=coreset_seed).fit(reps, sample_weight=rep_w)
            starts.append(("tree_coreset", seeded.cluster_centers_.astype(np.float64)))
            info["coreset_size"] = int(K)
        seeds, _ = kmeans_plusplus(Xu, k, sample_weight=wu, random_state=kpp_seed)
        starts.append(("kmeans++", np.asarray(seeds, dtype=np.float64)))
        return starts, info

    def _refine_best(self, tree, cost, centers_int, Xu, wu, centers, n_iter, rng):
        """``refine``: ``n_iter`` iterations from each start of :meth:`_refine_starts`; the cheapest result wins.

        Choosing by the cost after refinement, not before, matters: on mnist the
        coreset start is the cheapest start but ends 2-4% above the k-means++ one.
        Ties go to the earlier start (tree first). Returns (labels, centres,
        inertia, info) with ``info["start"]`` the winner and the costs of every
        start before (``start_costs``) and after (``final_costs``) refinement.
        """
        starts, info = self._refine_starts(tree, cost, centers_int, Xu, wu, centers, rng)
        info.update(start=None, start_costs={}, final_costs={})
        best = None
        for name, start in starts:
            info["start_costs"][name] = self._cost_of_centers(Xu, wu, start)
            out = self._refine(Xu, wu, start.copy(), n_iter, rng)
            info["final_costs"][name] = out[2]
            if best is None or out[2] < best[2]:
                best, info["start"] = out, name
        return (*best, info)

    def _cost_of_centers(self, Xu, wu, centers) -> float:
        _, dist = pairwise_distances_argmin_min(Xu, centers)
        return float(np.dot(wu, dist**2 if self._objective == "kmeans" else dist))

    def _choose_dp(self, tree: Hierarchy, cost: np.ndarray, k: int, prm: dict):
        """Pick the DP and Algorithm 6's step; the work of each is known before it runs.

        ``method="auto"``: the exact DP if its table and work are small; else
        Algorithm 6 with the step Lemma 3.12 needs (``epsilon / 2H``) if that is
        small enough; else with the finest step ``epsilon/2H * 2^j <= epsilon`` that
        fits, whose guarantee is only ``(1 + step)^H``.
        ``report_["dp"]["guarantee"]`` states the factor that holds.
        """
        H = max(tree.depth, 1)
        work, entries = exact_dp_work(tree, k)
        info = {"exact_work": work, "exact_entries": entries}
        strict = prm["epsilon"] / (2 * H)
        if self.method == "exact":
            if entries > 4 * _AUTO_EXACT_MAX_ENTRIES:
                raise MemoryError(
                    f"method='exact' needs {entries:.3g} DP table entries ({entries * 8 / 2**30:.1f} GiB) "
                    f"for n_clusters={k}; use method='approx', whose memory does not grow with k."
                )
            return "exact", None, dict(info, guarantee=1.0)
        if self.method == "auto" and work <= _AUTO_EXACT_MAX_WORK and entries <= _AUTO_EXACT_MAX_ENTRIES:
            return "exact", None, dict(info, guarantee=1.0)
        if prm["dp_step"] is not None:
            step = prm["dp_step"]
        else:
            step = strict
            if self.method == "auto":
                # the finest step (strict * 2^j, up to epsilon) whose tables fit the budget:
                # coarser steps compound their rounding over the depth (measured: at
                # k = 10^4, step 0.01 is optimal where 0.1 costs 4x)
                while True:
                    a_work, a_entries = approx_dp_work(tree, cost, k, step)
                    if (a_work <= _AUTO_EXACT_MAX_WORK and a_entries <= _AUTO_EXACT_MAX_ENTRIES) or step >= prm["epsilon"]:
                        break
                    step = min(2 * step, prm["epsilon"])
                info.update(approx_work=a_work)
        return "approx", step, dict(info, step=step, guarantee=approx_guarantee(step, H, prm["epsilon"]))

    def _approx_pruning(self, tree, cost, k, step, info):
        """Algorithm 6 and a Lagrangian relaxation (both memory-independent of k); the cheaper wins.

        The Lagrangian pass (:func:`bigclust.lshtree.pruning.lagrangian_dp`) is exact when a
        penalty hits ``k`` clusters, and always certifies a lower bound; with
        ``method="auto"`` an exact certificate makes Algorithm 6 unnecessary.
        ``info["source"]`` names the winner and ``info["certified_gap"]`` is
        cost / lower bound on the optimal ``k``-pruning.
        """
        lag_sel, lag = lagrangian_dp(tree, cost, k)
        info["lagrangian"] = lag
        best, source = lag_sel, "lagrangian"
        if not (self.method == "auto" and lag["exact"]):
            sel, a_info = approx_dp(tree, cost, k, step)
            info.update(a_info, clusters_from_dp=int(sel.shape[0]))
            sel = split_to_k(tree, cost, sel, k)
            if cost[sel].sum() <= cost[lag_sel].sum():
                best, source = sel, "algorithm6"
        info["source"] = source
        found = float(cost[best].sum())
        info["certified_gap"] = found / lag["lower_bound"] if lag["lower_bound"] > 0 else (1.0 if found == 0 else np.inf)
        if lag["exact"] and source == "lagrangian":
            info["guarantee"] = 1.0
        return best, info

    def _dp_for(self, tree, cost, K):
        """Pruning with K vertices for the refine coreset: exact when cheap, else Algorithm 6 (step 0.1)."""
        work, entries = exact_dp_work(tree, K)
        if work <= _AUTO_EXACT_MAX_WORK and entries <= _AUTO_EXACT_MAX_ENTRIES:
            return exact_dp(tree, cost, K)[0]
        return split_to_k(tree, cost, approx_dp(tree, cost, K, 0.1)[0], K)

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
        X = V.check_points(X)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                             f"{self.n_features_in_} features as input.")
        labels, _ = pairwise_distances_argmin_min(X, self.cluster_centers_.astype(X.dtype, copy=False))
        return labels.astype(np.int64)

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit and return ``labels_``: the partition found (before ``predict``'s nearest-centre rule)."""
        return self.fit(X, sample_weight=sample_weight).labels_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags


@numba.njit(cache=True)
def _sizes_from_leaves(left, right, leaf_counts):
    n_leaves = leaf_counts.shape[0]
    out = np.empty(left.shape[0], np.int64)
    out[:n_leaves] = leaf_counts
    for v in range(n_leaves, left.shape[0]):
        out[v] = out[left[v]] + out[right[v]]
    return out


def _subtree_sizes(tree: Hierarchy, leaf_counts: np.ndarray) -> np.ndarray:
    return _sizes_from_leaves(tree.left, tree.right, leaf_counts.astype(np.int64))


@numba.njit(cache=True)
def _weights_from_leaves(left, right, leaf_w):
    n_leaves = leaf_w.shape[0]
    out = np.empty(left.shape[0])
    out[:n_leaves] = leaf_w
    for v in range(n_leaves, left.shape[0]):
        out[v] = out[left[v]] + out[right[v]]
    return out


def _subtree_weights(tree: Hierarchy, leaf_w: np.ndarray) -> np.ndarray:
    return _weights_from_leaves(tree.left, tree.right, leaf_w.astype(np.float64))


_PARAMS_DOC = """
    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters ``k``. If ``X`` has fewer distinct points, a
        ``ConvergenceWarning`` is issued and that many clusters are returned.
    method : {"auto", "exact", "approx"}, default="auto"
        ``"exact"``: Algorithm 5, the optimal pruning with ``k`` clusters, time
        ``O(n k)`` and memory ``O(sum_C min(k, |C|))``. ``"approx"``: Algorithm 6,
        within ``(1 + epsilon)`` of it with memory independent of ``k``, run beside
        a Lagrangian relaxation of the cluster count (also ``O(n)`` memory), which
        is exact whenever a penalty per cluster yields exactly ``k`` clusters and
        always certifies a lower bound; the cheaper pruning is returned and
        ``report_["dp"]["certified_gap"]`` bounds its distance from the optimum.
        ``"auto"`` runs the exact DP when its table and work (known from the
        tree before it runs) are small (up to ~2e8 entries, 5e9 steps), else the
        approximate one. ``report_["method"]`` says which ran.
    epsilon : float, default=0.1
        Approximation parameter of Algorithm 6: the returned pruning costs at
        most ``(1 + epsilon)`` times the optimal pruning of the tree.
    dp_step : float or None, default=None
        Ratio ``epsilon'`` between consecutive cost levels of Algorithm 6. None
        uses ``epsilon / (2 H)`` (``H`` = tree depth), which Lemma 3.12 needs for the
        guarantee; with ``method="auto"``, if that table would be too large (very
        large ``k``), the finest step ``epsilon/(2H) * 2^j <= epsilon`` whose table
        fits, which only guarantees ``(1 + step)^H`` (the paper's experiments use
        0.1; finer steps are measurably better at large ``k``).
        ``report_["dp"]["guarantee"]`` states the factor that holds.
    refine : int, default=0
        Beyond the paper: run this many Lloyd iterations (k-means) or
        assign/Weiszfeld iterations (k-median) from each of up to three starts
        and keep the cheapest result: the tree's own ``k`` centres, k-means++
        on the weighted centres of the tree's optimal
        ``min(40 k, n_distinct)``-cluster pruning (a coreset from the same
        tree), and greedy k-means++ seeding on all distinct points.
        ``report_["refine"]`` names the winning start and every start's cost
        before and after refinement. On perturbation-resilient data the tree's
        answer is already optimal and refinement keeps it; on real
        (non-resilient) data the tree's ``k``-pruning is often one large
        cluster plus outliers, and refinement brings the cost to that of
        k-means++ with Lloyd (see benchmarks/euclidean_real_table2.py). It
        costs up to ``3 n_iter`` iterations of ``O(n k d)`` each (Lloyd stops
        early once the labels no longer change) plus a k-means++ seeding of
        about ``2 + ln k`` iterations, giving up the ``k``-independence of the
        approximate method. On the spark engine each Lloyd pass is one
        shuffle and the third start is k-means|| (distributed k-means++)
        instead of sequential k-means++ (docs/spark.md).
    n_hashes : int, default=10
        ``t`` of Algorithm 1: LSH functions per scale. The paper's analysis uses
        ``t = 5 log n / p1`` and its experiments 100; because every edge is
        checked against the true distance and edges accumulate over scales,
        far fewer suffice in practice (see benchmarks/); more hashes give a tree
        closer to the single-linkage tree at more time and memory
        (``n * n_hashes * n_projections`` float32 projections are kept).
    n_projections : int, default=10
        ``m``: projections concatenated per hash function (Datar et al.; Section 5).
    bucket_width : float, default=4.0
        ``r`` of the p-stable hash (Section 5).
    scale_ratio : float, default=1.1
        Ratio of consecutive scales ``D_i`` (Section 5; the analysis uses 1.01).
    edge_factor : float, default=2.0
        ``c`` of Algorithm 1: an LSH edge found at scale ``D`` is kept only when
        the two points are closer than ``c * D`` (checked exactly, so Lemma 3.5 (2)
        holds surely). Smaller values protect separated clusters from early
        merges; larger ones connect clusters at smaller scales.
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
        ``"spark"`` (LSHTreeKMeans only) runs the fit as Spark stages
        (:mod:`bigclust.spark`, docs/spark.md) on a Spark DataFrame or a NumPy
        array, with the same result as the local engine (bit for bit with
        ``candidates="components"``; with ``"two_hop"`` the same tree and
        partition, node costs equal to rounding); ``labels_`` is then a
        DataFrame of the input rows plus a cluster column (NumPy input: an
        array) and ``tree_`` is None. There, ``method="approx"`` runs Algorithm 6
        by Algorithm 7 and the greedy splits to ``k`` (not the Lagrangian
        relaxation), and ``"auto"`` runs the exact DP unless its tables would
        exceed 4e9 entries; ``refine`` starts from k-means|| where the local
        engine uses k-means++.
    spark_options : dict or None, default=None
        Options of the spark engine: ``master``, ``input_col``, ``weight_col``,
        ``prediction_col``, ``num_partitions``, ``subtree_leaves``,
        ``local_cc_max_edges``, ``workdir``, ``worker_idle_timeout``
        (see docs/spark.md).
    random_state : int, Generator or None, default=None
        Seeds the LSH functions, projections and median samples; the same seed
        and data give the same result.
    verbose : bool, default=False
        Print progress lines to stderr for fits that last more than 2 seconds.

    Practical choices (all documented in the module docstrings):
    exact duplicates are merged before hashing; the Gaussian hash directions are
    shared by all scales (one matrix product), with fresh offsets per scale;
    scales below the first at which any checked edge exists are skipped by a
    doubling search; if no scale up to twice the diameter bound connects all
    points, the remaining components are joined under one root.
"""

_ATTRS_DOC = """
    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,), int64
        Cluster of each training point: the partition given by the pruning set
        (or by the last assignment step of ``refine``).
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
        Centres, in the dtype of ``X``.
    inertia_ : float
        Cost of ``labels_`` with ``cluster_centers_``: {cost}.
    cost_curve_ : ndarray of shape (n_clusters,) or None
        ``method="exact"`` only: ``cost_curve_[j-1]`` is the least cost of a pruning
        of the tree with at most ``j`` clusters, ``j = 1..n_clusters`` (an elbow
        curve for free; non-increasing). None after the approximate DP.
    tree_ : ClusterTree
        The hierarchy: parent array, children, sizes, weights, node costs.
    report_ : dict
        ``time`` (seconds per stage), ``total_seconds``, ``peak_memory_mb``,
        ``method``, ``n_scales``, ``tree_nodes``, ``tree_depth``, ``n_distinct``,
        ``tree_info`` (edges checked/accepted, scale range) and ``dp`` details.
    n_features_in_ : int
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

    def _node_weights(self, tree, Xu, wu, rng):
        total_w, sse, means = kmeans_node_stats(tree, Xu, wu)
        return total_w, sse, means

    def _refine(self, Xu, wu, centers, n_iter, rng):
        from sklearn.cluster import KMeans

        km = KMeans(n_clusters=centers.shape[0], init=centers, n_init=1, max_iter=n_iter, tol=0.0,
                    algorithm="lloyd", random_state=int(rng.integers(2**31 - 1)))
        km.fit(Xu, sample_weight=wu)
        labels = km.labels_.astype(np.int64)
        # finish with an update step: centres become the weighted means of labels_,
        # which can only lower the cost, and inertia_ is that partition's SSE
        k, d = centers.shape
        tot = np.bincount(labels, weights=wu, minlength=k)
        sums = np.stack([np.bincount(labels, weights=Xu[:, j] * wu, minlength=k) for j in range(d)], axis=1)
        new = km.cluster_centers_.astype(np.float64).copy()
        ok = tot > 0
        new[ok] = sums[ok] / tot[ok, None]
        inertia = float(np.dot(wu, ((Xu - new[labels]) ** 2).sum(axis=1)))
        return labels, new, inertia


class LSHTreeKMedian(_LSHTreeBase):
    __doc__ = (
        """k-median (sum of Euclidean distances) from an LSH tree and an optimal tree pruning.

    Same pipeline as :class:`LSHTreeKMeans`; the weight of a candidate cluster is
    ``sum_p w_p |p - m_C|`` where ``m_C`` is a geometric median estimate computed
    by Weiszfeld's algorithm on a uniform sample of ``median_sample_size`` points
    of the cluster (Appendix D; the cost itself is summed over all points of the
    cluster, so it is exact for that centre).

    Note: with estimated medians a split may raise the weight, so the least cost
    with *at most* ``k`` clusters (``cost_curve_``) can be below the cost of the
    returned pruning, which always has exactly ``k`` clusters.
"""
        + _PARAMS_DOC
        + """    median_sample_size : int, default=256
        Points sampled per candidate cluster for the Weiszfeld median estimate.
    weiszfeld_iter : int, default=50
        Maximum Weiszfeld iterations per estimate.
"""
        + _ATTRS_DOC.format(cost="sum over points of weight * distance to its centre (the k-median cost)")
    )

    _objective = "kmedian"

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        method: str = "auto",
        epsilon: float = 0.1,
        dp_step: float | None = None,
        refine: int = 0,
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
    ):
        super().__init__(
            n_clusters, method=method, epsilon=epsilon, dp_step=dp_step, refine=refine, n_hashes=n_hashes,
            n_projections=n_projections, bucket_width=bucket_width, scale_ratio=scale_ratio,
            edge_factor=edge_factor, projection_dim=projection_dim, candidates=candidates, engine=engine,
            spark_options=spark_options,
            random_state=random_state, verbose=verbose,
        )
        self.median_sample_size = median_sample_size
        self.weiszfeld_iter = weiszfeld_iter

    def _check_params(self, n_samples, n_features):
        p = super()._check_params(n_samples, n_features)
        V.check_int(self.median_sample_size, "median_sample_size", low=1)
        V.check_int(self.weiszfeld_iter, "weiszfeld_iter", low=1)
        return p

    def _node_weights(self, tree, Xu, wu, rng):
        order, start = leaf_order(tree)
        total_w = _subtree_weights(tree, wu)
        cost, medians = _kmedian_weights(
            Xu, wu, tree.left, tree.right, tree.size, order, start, tree.n_leaves,
            int(self.median_sample_size), int(self.weiszfeld_iter), int(rng.integers(2**31 - 1)),
        )
        return total_w, cost, medians

    def _refine(self, Xu, wu, centers, n_iter, rng):
        labels = None
        for _ in range(n_iter):
            labels, _ = pairwise_distances_argmin_min(Xu, centers)
            for c in range(centers.shape[0]):
                members = labels == c
                if members.any():
                    centers[c] = _weiszfeld(Xu[members], wu[members], centers[c].copy(), int(self.weiszfeld_iter))
        labels, dist = pairwise_distances_argmin_min(Xu, centers)
        return labels.astype(np.int64), centers, float(np.dot(wu, dist))


@numba.njit(cache=True)
def _weiszfeld(P, w, y, n_iter):
    """Weiszfeld's iteration for the weighted geometric median of the rows of ``P``, from ``y``."""
    d = P.shape[1]
    num = np.empty(d)
    for _ in range(n_iter):
        num[:] = 0.0
        den = 0.0
        shift = 0.0
        for i in range(P.shape[0]):
            if w[i] <= 0:
                continue
            s = 0.0
            for j in range(d):
                t = P[i, j] - y[j]
                s += t * t
            dist = np.sqrt(s)
            if dist < 1e-12:  # at a data point: it contributes as a very close point
                dist = 1e-12
            f = w[i] / dist
            den += f
            for j in range(d):
                num[j] += f * P[i, j]
        if den == 0.0:
            break
        for j in range(d):
            nv = num[j] / den
            shift += (nv - y[j]) ** 2
            y[j] = nv
        if shift <= 1e-18 * (1.0 + np.dot(y, y)):
            break
    return y


@numba.njit(cache=True)
def _kmedian_weights(X, w, left, right, size, order, start, n_leaves, sample_size, n_iter, seed):
    """Appendix D: per vertex, a Weiszfeld median of a sample and the exact cost to it."""
    np.random.seed(seed)
    n_nodes = left.shape[0]
    d = X.shape[1]
    cost = np.zeros(n_nodes)
    medians = np.empty((n_nodes - n_leaves, d))
    for v in range(n_leaves, n_nodes):
        s0 = start[v]
        m = size[v]
        ns = m if m <= sample_size else sample_size
        P = np.empty((ns, d))
        pw = np.empty(ns)
        for i in range(ns):
            # all points of a small cluster, else a uniform sample; each keeps its weight,
            # so the sample's weighted distance sum estimates the cluster's without bias
            pos = s0 + (i if m <= sample_size else np.random.randint(0, m))
            P[i] = X[order[pos]]
            pw[i] = w[order[pos]]
        # warm start: weighted mean of the sample
        y = np.zeros(d)
        tot = 0.0
        for i in range(ns):
            tot += pw[i]
            for j in range(d):
                y[j] += pw[i] * P[i, j]
        if tot > 0:
            for j in range(d):
                y[j] /= tot
        else:
            for j in range(d):
                y[j] = P[0, j]
        y = _weiszfeld(P, pw, y, n_iter)
        medians[v - n_leaves] = y
        c = 0.0
        for i in range(m):
            p = order[s0 + i]
            s = 0.0
            for j in range(d):
                t = X[p, j] - y[j]
                s += t * t
            c += w[p] * np.sqrt(s)
        cost[v] = c
    return cost, medians
