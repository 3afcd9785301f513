"""The LSH-tree family: Euclidean k-means and k-median from LSH trees and a tree dynamic program.

Paper: "Massively Parallel k-Means Clustering for Perturbation Resilient
Instances" (Cohen-Addad, Mirrokni and Zhong, ICML 2022). LSH
near-neighbour graphs at geometric scales give a tree of candidate clusters
(Algorithms 1-4, :mod:`.hierarchy`, :mod:`.two_hop`); a dynamic program picks the
``k`` candidates of least total cost that partition the data (Algorithms 5-7,
:mod:`.pruning`).

Layout
------
``_estimator``  :class:`LSHTreeKMeans`, :class:`LSHTreeKMedian`: validation (declared
                constraints), the parameter object, choice of engine, fitted attributes
``_params``     :class:`TreeParams`, the one validated parameter object, and the DP
                policy (exact, approximate, Lagrangian; budgets) both engines follow
``result``      :class:`FitResult` (what an engine returns) and :class:`ClusterTree`
``_local``      the local engine: ``fit(X, weights, params, rng) -> FitResult``
``_spark``      the Spark engine: the same contract over DataFrames or arrays
``lsh``, ``hierarchy``, ``two_hop``, ``pruning``
                the algorithms (NumPy arrays in, NumPy arrays out; compiled with Numba)
``median``      Weiszfeld median estimates, the k-median node weights (Appendix D)
``refine``      the default refinement after the tree: k-means++ starts and Lloyd passes with
                exact pruned assignment (kernels in ``_kernels.lloyd``); :func:`elbow_curve`
``_kernels``    the compiled kernels both engines call (subtree DP, node statistics,
                tree assembly, separation bound, distances), so their results agree bit for bit
``_cli``        ``bigclust kmeans`` and ``bigclust kmedian``
"""

from ._estimator import LSHTreeKMeans, LSHTreeKMedian
from .refine import elbow_curve
from .result import ClusterTree, DegenerateClusteringWarning

__all__ = ["ClusterTree", "DegenerateClusteringWarning", "LSHTreeKMeans", "LSHTreeKMedian", "elbow_curve"]
