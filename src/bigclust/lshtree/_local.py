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

import numba
import numpy as np
from sklearn.metrics import pairwise_distances_argmin_min

from .._core import validation as V
from .._core.dedup import unique_rows
from .._core.exact_sum import column_mean
from .._core.report import RunRecorder
from ._params import TreeParams, approx_pruning, choose_method, choose_step
from .hierarchy import build_hierarchy, kmeans_node_stats, labels_from_pruning, leaf_order
from .median import kmedian_node_weights
from .pruning import _n_levels, approx_dp, exact_dp, exact_dp_work, lagrangian_dp, split_to_k
from .refine import refine_best
from .result import ClusterTree, FitResult
from .two_hop import build_hierarchy_two_hop


def fit(X: np.ndarray, sample_weight: np.ndarray, params: TreeParams, rng: np.random.Generator) -> FitResult:
    """Fit on validated points ``X`` (n, d) with weights (n,); see the module docstring."""
    n, d = X.shape
    w = sample_weight
    run = RunRecorder(verbose=params.verbose)

    with run.stage("dedup"):
        first, inverse = unique_rows(X)
        wu = np.bincount(inverse, weights=w, minlength=first.shape[0])
        # zero-weight points do not influence the fit (as if removed); they are
        # labelled by their nearest centre at the end
        keep = np.flatnonzero(wu > 0)
        Xu = np.ascontiguousarray(X[first[keep]], dtype=np.float64)
        wu = wu[keep]
        n_distinct = int(keep.shape[0])
    k = params.n_clusters
    if k > n_distinct:
        V.warn_fewer_distinct(n_distinct, k)
        k = n_distinct

    with run.stage("project"):
        Y = Xu - column_mean(Xu)  # exact: the spark engine gets the same bits (_exact_sum)
        if params.projection_dim is not None:
            A = rng.standard_normal((d, params.projection_dim)) / np.sqrt(params.projection_dim)
            Y = Y @ A
    with run.stage("tree"):
        build = build_hierarchy if params.candidates == "components" else build_hierarchy_two_hop
        tree = build(
            Y,
            n_hashes=params.n_hashes,
            n_projections=params.n_projections,
            bucket_width=params.bucket_width,
            scale_ratio=params.scale_ratio,
            edge_factor=params.edge_factor,
            random_state=rng,
            progress=run.progress,
        )
        del Y
    with run.stage("weights"):
        subtree_w = _subtree_weights(tree, wu)
        if params.objective == "kmeans":
            total_w, cost, centers_int = kmeans_node_stats(tree, Xu, wu)
        else:
            order, start = leaf_order(tree)
            total_w = subtree_w
            cost, centers_int = kmedian_node_weights(
                Xu, wu, tree.left, tree.right, tree.size, order, start, tree.n_leaves,
                int(params.median_sample_size), int(params.weiszfeld_iter), int(rng.integers(2**31 - 1)))

    with run.stage("dp"):
        selected, cost_curve, method, dp_info = _prune(tree, cost, k, params)

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
    if params.refine > 0:
        with run.stage("refine"):
            labels_u, centers, inertia, refine_info = refine_best(
                params, tree, cost, centers_int, Xu, wu, subtree_w, centers, rng)

    labels_all = np.full(first.shape[0], -1, np.int64)
    labels_all[keep] = labels_u
    if keep.shape[0] < first.shape[0]:
        zero = np.flatnonzero(labels_all < 0)
        labels_all[zero] = pairwise_distances_argmin_min(np.asarray(X[first[zero]], np.float64), centers)[0]
    leaf_id = np.full(first.shape[0], -1, np.int64)
    leaf_id[keep] = np.arange(keep.shape[0])
    cluster_tree = ClusterTree(
        parent=tree.parent,
        children=np.stack([tree.left, tree.right], axis=1),
        size=_subtree_sizes(tree, np.bincount(inverse, minlength=first.shape[0])[keep]),
        weight=total_w,
        cost=cost,
        scale=tree.scale,
        auxiliary=tree.auxiliary,
        leaf_of_sample=leaf_id[inverse],
        selected=selected,
        depth=tree.depth,
    )
    report = run.finish(
        method=method,
        engine="local",
        n_samples=n,
        n_distinct=n_distinct,
        n_clusters=int(selected.shape[0]),
        n_scales=tree.info["n_scales"],
        tree_nodes=tree.n_nodes,
        tree_depth=tree.depth,
        projection_dim=params.projection_dim,
        tree_info=tree.info,
        dp=dp_info,
        refine=refine_info,
    )
    return FitResult(labels=labels_all[inverse], centers=centers.astype(X.dtype, copy=False), inertia=inertia,
                     cost_curve=cost_curve, tree=cluster_tree, report=report, n_features=d)


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
    return selected, None, method, info


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
