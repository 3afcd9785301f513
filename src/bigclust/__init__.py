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

from .euclidean import LSHTreeKMeans, LSHTreeKMedian

__all__ = ["__version__", "LSHTreeKMeans", "LSHTreeKMedian"]
