"""What an LSH-tree fit returns: the engine contract's :class:`FitResult` and the fitted :class:`ClusterTree`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["DegenerateClusteringWarning", "ClusterTree", "FitResult"]


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


@dataclass
class FitResult:
    """What an engine returns; the estimator stores it as its fitted attributes.

    Attributes
    ----------
    labels : ndarray of shape (n_samples,), int64, or a Spark DataFrame
        Cluster of every input row (DataFrame input: the rows plus a cluster column).
    centers : ndarray of shape (n_clusters_found, n_features), in the input's dtype
    inertia : float
        Cost of ``labels`` with ``centers`` (squared units for k-means, units for k-median).
    cost_curve : ndarray of shape (n_clusters_found,) or None
        Least pruning cost with at most ``j`` clusters (exact DP only).
    tree : ClusterTree or None
        The local engine's tree (None on Spark, where it stays distributed).
    report : dict
        ``report_`` (times, memory, DP details, rounds).
    n_features : int
    """

    labels: object
    centers: np.ndarray
    inertia: float
    cost_curve: np.ndarray | None
    tree: object
    report: dict
    n_features: int


class DegenerateClusteringWarning(UserWarning):
    """The tree's answer is returned with one cluster holding almost all the weight (see ``refine``)."""
