"""Deprecated alias of :mod:`bigclust.lshtree` (the LSH-tree family moved there); removed in 0.3."""

import warnings

from .lshtree import ClusterTree, LSHTreeKMeans, LSHTreeKMedian

warnings.warn("bigclust.euclidean is deprecated; import from bigclust (or bigclust.lshtree) instead.",
              DeprecationWarning, stacklevel=2)

__all__ = ["ClusterTree", "LSHTreeKMeans", "LSHTreeKMedian"]
