"""The local engine: the whole LSH-tree fit in this process, on NumPy arrays.

``fit(X, sample_weight, params, rng) -> FitResult``; the Spark engine
(:mod:`bigclust.lshtree._spark`) has the same contract. Stages (each timed in
``report_["time"]``):

``dedup``     exact duplicate rows merged, their weights summed (:mod:`bigclust._core.dedup`)
``project``   centring on the exactly summed mean and, for high dimension, a
              Johnson-Lindenstrauss projection of the hashed points (Appendix C.7)
``tree``      Algorithms 1-4 (:mod:`.hierarchy`, or :mod:`.two_hop`)
``weights``   node weights ``w(C)``: SSE for k-means, distance sum to a Weiszfeld
              median estimate for k-median (Appendix D, :mod:`.median`)
``dp``        Algorithm 5 (exact), or Algorithm 6 beside a Lagrangian relaxation,
              as :mod:`._params` decides (:mod:`.pruning`)
``labels``    the pruning set's partition and centres
``refine``    optional Lloyd / Weiszfeld iterations (:mod:`.refine`)
"""

from __future__ import annotations

import math
import warnings
from dataclasses import replace

import numba
import numpy as np
from sklearn.metrics import pairwise_distances_argmin_min

from .._core import validation as V
from .._core.dedup import unique_rows
from .._core.exact_sum import add_rows, new_bins, sum_bins, trimmed
from .._core.report import RunRecorder
from ._kernels.node_stats import kmeans_weights, vertex_means
from ._kernels.projection import hashed_points
from ._params import TreeParams, approx_method, approx_pruning, choose_method, choose_step
from .hierarchy import build_hierarchy, labels_from_pruning, leaf_order
from .median import kmedian_node_weights, sample_keys
from .pruning import _n_levels, approx_dp, exact_dp, exact_dp_work, lagrangian_dp, split_to_k
from .refine import AUTO_MAX_CENTRE_WORK, centre_work, refine_best, tree_coreset
from .result import ClusterTree, DegenerateClusteringWarning, FitResult
from .two_hop import build_hierarchy_two_hop


_CHUNK = 65536  # rows per chunk of the passes over X


# The range the kernels handle. The hashed points are projected in float32 and
# squared distances are summed, weighted, in float64, so data whose largest column
# range lies outside [2^-64, 2^64], or weights summing outside [2^-100, 2^100],
# are mapped into [0.5, 1) by a power of two, which is exact (see
# bigclust._core.validation), fitted, and the answer mapped back: the fit on
# ``X * 2**-e`` is the fit on that very array, so nothing but the scale changes.
# Inside both bands nothing is rescaled and ordinary data keeps its bits.
SPAN_BAND = (-64, 64)
WEIGHT_BAND = (-100, 100)
# Raw rows enter squared norms (scikit-learn's distances in refinement and labelling): |x| stays
# below 2^VALUE_LOG2_MAX, rescaled by the largest |x| when only constant columns are beyond it.
VALUE_LOG2_MAX = 480
# The answer's cost must be a float64: sum(w) * d^(p/2) * span^p < 2^COST_LOG2_MAX (p = 2 for
# k-means, 1 for k-median) bounds every cost the fit can report.
COST_LOG2_MAX = 1023


def spark_range_problem(span: float, biggest: float, weight_sum: float, xname: str, wname: str) -> str | None:
    """Why data outside the bands cannot go to the spark engine (which does not rescale), or None.

    ``span`` is the largest column range, ``biggest`` the largest ``|x|``, ``weight_sum`` the
    total weight; ``xname`` / ``wname`` name the data and weights in the message (never a value).
    """
    if (span > 0 and not 2.0 ** SPAN_BAND[0] <= span <= 2.0 ** SPAN_BAND[1]) or biggest >= 2.0 ** VALUE_LOG2_MAX:
        return (f"engine='spark' needs {xname}'s largest column range in [2^{SPAN_BAND[0]}, 2^{SPAN_BAND[1]}] and "
                f"|x| below 2^{VALUE_LOG2_MAX} (it does not rescale yet); multiply the features by a power of two, "
                "or use engine='local', which rescales exactly.")
    if not 2.0 ** WEIGHT_BAND[0] <= weight_sum <= 2.0 ** WEIGHT_BAND[1]:
        return (f"engine='spark' needs {wname} summing to [2^{WEIGHT_BAND[0]}, 2^{WEIGHT_BAND[1]}] "
                "(it does not rescale yet); multiply the weights by a power of two, or use engine='local'.")
    return None


def fit(X: np.ndarray, sample_weight: np.ndarray, params: TreeParams, rng: np.random.Generator) -> FitResult:
    """Fit on validated points ``X`` (n, d) with weights (n,), rescaled exactly when out of range.

    Data range (issue 22): see ``SPAN_BAND``, ``WEIGHT_BAND`` and ``COST_LOG2_MAX``
    above. When a power of two is applied, ``report_["rescaled"]`` holds the
    exponents ``{"data": ex, "weight": ew}`` (the fit ran on ``X * 2**-ex`` with
    weights ``w * 2**-ew``); ``labels_``, ``cluster_centers_``, ``inertia_``,
    ``cost_curve_`` and ``tree_`` are in the caller's units, the costs inside
    ``report_["dp"]`` and ``report_["refine"]`` in the rescaled ones.

    Raises
    ------
    ValueError
        When the cost could exceed float64 (the bound above), or when some value
        cannot be rescaled exactly (magnitudes more than 2^1000 apart).
    """
    n, d = X.shape
    p = 2 if params.objective == "kmeans" else 1
    span, biggest = V.column_span(X)
    total = float(np.sum(sample_weight))
    what = "k-means" if p == 2 else "k-median"
    if span > 0 and (not np.isfinite(span) or math.log2(total) + p * math.log2(span) + p / 2 * math.log2(d)
                     >= COST_LOG2_MAX):
        raise ValueError(
            f"the {what} cost of this data could exceed the float64 range: it needs sum(sample_weight) x "
            f"n_features^{p / 2:g} x (largest column range)^{p} below 2^{COST_LOG2_MAX} (about 9e307); "
            "divide the data or the weights by a common factor.")
    ex = V.power_of_two_exponent(span, *SPAN_BAND) if span > 0 else 0
    if biggest >= 2.0 ** (VALUE_LOG2_MAX + ex):
        # only a constant column (or identical points) can be this far beyond the range: a varying
        # float64 column spans at least 2^-52 of its largest value. Scale |x| just below the bound,
        # which keeps the range in its band while the two are at most 2^(480 + 64) apart.
        ex = int(np.frexp(biggest)[1]) - VALUE_LOG2_MAX
        if span > 0 and span < 2.0 ** (SPAN_BAND[0] + ex):
            raise ValueError(
                f"X has a column whose values are more than 2^{VALUE_LOG2_MAX - SPAN_BAND[0]} times the largest "
                "column range, beyond what the kernels handle (squared norms of the raw rows); subtract a "
                "constant from that column (e.g. its first value) first.")
    ew = V.power_of_two_exponent(total, *WEIGHT_BAND)
    if ex == 0 and ew == 0:
        return _fit(X, sample_weight, params, rng)
    Xs = V.scale_exactly(X, ex) if ex else X
    ws = V.scale_exactly(sample_weight, ew, name="sample_weight") if ew else sample_weight
    r = _fit(Xs, ws, params, rng)
    del Xs, ws
    c = p * ex + ew  # costs scale by 2**(p ex) with the data and linearly with the weights
    t = r.tree
    tree = replace(t, cost=np.ldexp(t.cost, c), weight=np.ldexp(t.weight, ew), scale=np.ldexp(t.scale, ex))
    report = dict(r.report, rescaled={"data": ex, "weight": ew})
    return FitResult(labels=r.labels, centers=np.ldexp(r.centers, ex).astype(X.dtype, copy=False),
                     inertia=float(np.ldexp(r.inertia, c)),
                     cost_curve=None if r.cost_curve is None else np.ldexp(r.cost_curve, c),
                     tree=tree, report=report, n_features=d)


def _fit(X: np.ndarray, sample_weight: np.ndarray, params: TreeParams, rng: np.random.Generator) -> FitResult:
    """Fit on validated points ``X`` (n, d) with weights (n,) in range; see the module docstring.

    Memory: the distinct points are ``X[rows]`` (leaf order) and the hashed points
    ``X[rows] - mean``; neither is copied for the k-means tree, its weights and its
    centres (kernels read the rows of ``X``), only for a JL projection,
    ``candidates="two_hop"``, ``refine`` (after the tree and the DP) and k-median.
    """
    n, d = X.shape
    w = sample_weight
    run = RunRecorder(verbose=params.verbose)

    with run.stage("dedup"):
        first, inverse = unique_rows(X)
        n_first = first.shape[0]
        wu = np.bincount(inverse, weights=w, minlength=n_first)
        # zero-weight points do not influence the fit (as if removed); they are
        # labelled by their nearest centre at the end
        keep = np.flatnonzero(wu > 0)
        all_kept = keep.shape[0] == n_first
        rows = first if all_kept else first[keep]  # distinct points in leaf order: X[rows]
        if not all_kept:
            wu = wu[keep]
        else:
            first = keep = None
        n_distinct = int(rows.shape[0])
        if n < 2**31:  # the same values in half the memory
            rows = rows.astype(np.int32)
            inverse = inverse.astype(np.int32)
    k = params.n_clusters
    if k > n_distinct:
        V.warn_fewer_distinct(n_distinct, k)
        k = n_distinct

    with run.stage("project"):
        mean = _exact_mean(X, rows, n_distinct == n)  # exact: the spark engine gets the same bits (_exact_sum)
        if params.projection_dim is not None:
            A = rng.standard_normal((d, params.projection_dim)) / np.sqrt(params.projection_dim)
            points = dict(Y=_hashed(X, rows, mean) @ A)
        elif params.candidates != "components":
            points = dict(Y=_hashed(X, rows, mean))
        else:  # the tree reads X[rows] - mean where it needs it
            points = dict(Y=X, rows=rows, center=mean)
    with run.stage("tree"):
        build = build_hierarchy if params.candidates == "components" else build_hierarchy_two_hop
        tree = build(
            **points,
            n_hashes=params.n_hashes,
            n_projections=params.n_projections,
            bucket_width=params.bucket_width,
            scale_ratio=params.scale_ratio,
            edge_factor=params.edge_factor,
            random_state=rng,
            progress=run.progress,
        )
        del points
    Xu = None  # the distinct points as one array, made only where a step needs it
    centers_int = None
    with run.stage("weights"):
        if params.objective == "kmeans":  # without the means of every vertex (vertex_means gives those needed)
            total_w, cost = kmeans_weights(X, rows, wu, tree.left, tree.right, tree.size, tree.n_leaves, tree.depth)
        else:
            Xu = np.ascontiguousarray(X[rows], dtype=np.float64)
            order, start = leaf_order(tree)
            total_w = _subtree_weights(tree, wu)
            keys = sample_keys(np.arange(tree.n_leaves), int(rng.integers(2**31 - 1)))  # as the spark engine's
            cost, centers_int = kmedian_node_weights(
                Xu, wu, tree.left, tree.right, tree.size, order, start, tree.n_leaves,
                int(params.median_sample_size), int(params.weiszfeld_iter), keys)

    with run.stage("dp"):
        selected, cost_curve, method, dp_info = _prune(tree, cost, k, params)

    with run.stage("labels"):
        labels_u = labels_from_pruning(tree, selected)
        # number clusters by their first leaf, so labels do not depend on the DP's traversal order
        _, first_leaf = np.unique(labels_u, return_index=True)
        selected = selected[np.argsort(first_leaf, kind="stable")]
        del labels_u, first_leaf
        labels_u = labels_from_pruning(tree, selected)
        if centers_int is None:  # the selected vertices' means, as kmeans_node_stats gives them
            centers = vertex_means(X, rows, tree.left, tree.right, tree.size, tree.n_leaves, tree.depth,
                                   total_w, cost, np.asarray(selected, dtype=np.int64))
        else:
            centers = np.empty((selected.shape[0], d), dtype=np.float64)
            for c, v in enumerate(selected):
                centers[c] = Xu[v] if v < tree.n_leaves else centers_int[v - tree.n_leaves]
        inertia = float(cost[selected].sum())

    del centers_int
    refine_info, answer = None, "tree"
    if params.refine != 0:
        with run.stage("refine"):
            if Xu is None:
                Xu = np.ascontiguousarray(X[rows], dtype=np.float64)
            refined, refine_info = _refine(params, labels_u, centers, inertia, Xu, wu, rng, run.progress,
                                           lambda m: _seeding_coreset(tree, X, rows, total_w, cost, m))
        if refined is not None:
            labels_u, centers, inertia = refined
            answer = refine_info["answer"]
    del Xu
    if answer == "tree":
        _warn_if_degenerate(labels_u, wu, params, refine_info)

    if all_kept:
        labels_all = labels_u
        leaf_of_sample = inverse.astype(np.int64)
    else:
        labels_all = np.full(n_first, -1, np.int64)
        labels_all[keep] = labels_u
        zero = np.flatnonzero(labels_all < 0)
        labels_all[zero] = pairwise_distances_argmin_min(np.asarray(X[first[zero]], np.float64), centers)[0]
        leaf_id = np.full(n_first, -1, np.int64)
        leaf_id[keep] = np.arange(keep.shape[0])
        leaf_of_sample = leaf_id[inverse]
        del leaf_id
    del labels_u
    labels = labels_all[inverse]
    del labels_all
    # every distinct row once: the subtree sizes are the tree's own
    size = tree.size if n_first == n else _subtree_sizes(tree, np.bincount(inverse, minlength=n_first)[
        slice(None) if all_kept else keep])
    del inverse
    n_nodes, depth = tree.n_nodes, tree.depth
    children = np.empty((n_nodes, 2), np.int64)
    children[:, 0] = tree.left
    tree.left = None  # the children array holds them now
    children[:, 1] = tree.right
    tree.right = None
    cluster_tree = ClusterTree(
        parent=tree.parent,
        children=children,
        size=size,
        weight=total_w,
        cost=cost,
        scale=tree.scale,
        auxiliary=tree.auxiliary,
        leaf_of_sample=leaf_of_sample,
        selected=selected,
        depth=depth,
    )
    report = run.finish(
        method=method,
        engine="local",
        n_samples=n,
        n_distinct=n_distinct,
        n_clusters=int(selected.shape[0]),
        n_scales=tree.info["n_scales"],
        tree_nodes=n_nodes,
        tree_depth=depth,
        projection_dim=params.projection_dim,
        tree_info=tree.info,
        dp=dp_info,
        refine=refine_info,
        answer=answer,
    )
    return FitResult(labels=labels, centers=centers.astype(X.dtype, copy=False), inertia=inertia,
                     cost_curve=cost_curve, tree=cluster_tree, report=report, n_features=d)


def _exact_mean(X: np.ndarray, rows: np.ndarray, every_row: bool) -> np.ndarray:
    """The mean of the rows ``X[rows]``, summed exactly (:mod:`bigclust._core.exact_sum`) a chunk at a time.

    The exact sum does not depend on the order of the rows, so when ``rows`` holds
    every row of ``X`` the chunks are read in place.
    """
    bins = new_bins(X.shape[1])
    for s in range(0, rows.shape[0], _CHUNK):
        add_rows(bins, X[s:s + _CHUNK] if every_row else X[rows[s:s + _CHUNK]])
    return sum_bins([trimmed(bins)]) / rows.shape[0]


def _hashed(X: np.ndarray, rows: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """``X[rows] - mean`` in float64 (one array)."""
    out = np.empty((rows.shape[0], X.shape[1]))
    hashed_points(X, rows, mean, out)
    return out


def _prune(tree, cost, k, params: TreeParams):
    """The pruning DP the policy of :mod:`._params` chooses: (selected, cost curve or None, method, info)."""
    work, entries = exact_dp_work(tree, k)
    info = {"exact_work": work, "exact_entries": entries}
    method = choose_method(params.method, k, work, entries)
    if method == "exact":
        selected, curve, _ = exact_dp(tree, cost, k)
        return selected, curve, method, dict(info, guarantee=1.0)

    def measure(cap):
        return exact_dp_work(tree, cap)

    def algorithm6():  # the step is chosen only when Algorithm 6 runs, so report_ never names one that did not
        step, step_info = choose_step(params, k, tree.depth, lambda s: _n_levels(cost, tree.n_leaves, s)[0], measure)
        info.update(step_info)
        sel, a_info = approx_dp(tree, cost, k, step)
        return split_to_k(tree, cost, sel, k), dict(a_info, clusters_from_dp=int(sel.shape[0]))

    selected, info = approx_pruning(params, info, lambda: lagrangian_dp(tree, cost, k), algorithm6,
                                    lambda sel: math.fsum(cost[sel]))
    return selected, None, approx_method(info), info


def _seeding_coreset(tree, X, rows, total_w, cost, m):
    """The tree's coreset for refine's k-means++ starts (:func:`.refine.tree_coreset`): the cut's
    means, weights, each distinct point's row, and the cut's total SSE."""
    cut = tree_coreset(tree.parent, cost, m)
    means = vertex_means(X, rows, tree.left, tree.right, tree.size, tree.n_leaves, tree.depth, total_w, cost, cut)
    return means, total_w[cut].astype(np.float64), labels_from_pruning(tree, cut), math.fsum(cost[cut])


def _refine(params: TreeParams, labels, centers, cost, Xu, wu, rng, progress, coreset=None):
    """Run :func:`.refine.refine_best` unless ``refine="auto"`` and its centre-side work is over budget.

    Returns ((labels, centres, inertia) of the cheapest answer, or None if skipped; the refine report).
    """
    k, d = centers.shape
    work = centre_work(k, d)
    if params.refine == "auto" and work > AUTO_MAX_CENTRE_WORK:
        return None, {"mode": "auto", "skipped": "centre work over budget", "centre_work": work,
                      "budget": AUTO_MAX_CENTRE_WORK}
    labels, centers, inertia, info = refine_best(params, labels, centers, cost, Xu, wu, rng, progress,
                                                 coreset if params.objective == "kmeans" else None)
    return (labels, centers, inertia), info


# A tree answer is reported as degenerate when one cluster holds at least this share of
# the weight although k >= 2 and the data has at least 2k distinct points.
DEGENERATE_SHARE = 0.9


def _warn_if_degenerate(labels, w, params: TreeParams, refine_info) -> None:
    """Warn when the returned tree partition puts almost all the weight in one cluster.

    On data that is not perturbation-resilient the tree's pruning is often one
    large cluster plus outliers; refinement replaces it, so this only warns when
    refinement did not run (``refine=0``, or skipped over budget).
    """
    if refine_info is not None and "skipped" not in refine_info:
        return  # refinement ran and the tree's answer was still the cheapest
    k = int(labels.max()) + 1 if labels.size else 0
    if k < 2 or labels.shape[0] < 2 * k:
        return
    share = np.bincount(labels, weights=w, minlength=k).max() / w.sum()
    if share >= DEGENERATE_SHARE:
        why = ("refine=0" if params.refine == 0 else
               "refine='auto' was skipped because its centre-side work is over budget")
        warnings.warn(
            f"the tree's partition puts {share:.1%} of the weight in one of its {k} clusters ({why}); "
            "the data may not be perturbation-resilient, where the tree's pruning is one large cluster "
            "plus outliers. Pass refine='auto' (or a number of Lloyd passes) for a k-means answer.",
            DegenerateClusteringWarning, stacklevel=5)


@numba.njit(cache=True)
def _sums_from_leaves(left, right, leaf_values):
    """Per vertex, the sum of ``leaf_values`` over its leaves (children have smaller ids than parents)."""
    n_leaves = leaf_values.shape[0]
    out = np.empty(left.shape[0], leaf_values.dtype)
    out[:n_leaves] = leaf_values
    for v in range(n_leaves, left.shape[0]):
        out[v] = out[left[v]] + out[right[v]]
    return out


def _subtree_sizes(tree, leaf_counts: np.ndarray) -> np.ndarray:
    return _sums_from_leaves(tree.left, tree.right, leaf_counts.astype(np.int64))


def _subtree_weights(tree, leaf_w: np.ndarray) -> np.ndarray:
    return _sums_from_leaves(tree.left, tree.right, leaf_w.astype(np.float64))
