"""bigclust: clustering for data that is too big for one machine, spread over many
machines, or too private to collect.

Families
--------
bigclust.LSHTreeKMeans, bigclust.LSHTreeKMedian
    Euclidean k-means / k-median from LSH trees and a tree dynamic program
    (papers/mpc-kmeans-perturbation-resilient).
bigclust.graph
    Facility location, p-median and p-center on shortest-path metrics of weighted
    graphs in the k-machine model (papers/kmachine-facility-location-pmedian-pcenter).
bigclust.private
    One-round local-DP and shuffle-DP k-means (papers/local-dp-kmeans-one-round).
"""

__version__ = "0.1.0"

__all__ = ["__version__", "LSHTreeKMeans", "LSHTreeKMedian"]


def __getattr__(name):
    # Loaded on first use, so that `import bigclust.private` (the client-side
    # encoder, meant for small devices) does not import numba or scikit-learn.
    if name in ("LSHTreeKMeans", "LSHTreeKMedian"):
        from . import euclidean

        return getattr(euclidean, name)
    raise AttributeError(f"module 'bigclust' has no attribute {name!r}")
