"""bigclust: clustering for data that is too big for one machine, spread over many
machines, or too private to collect.

Families
--------
bigclust.LSHTreeKMeans, bigclust.LSHTreeKMedian (bigclust.lshtree)
    Euclidean k-means / k-median from LSH trees and a tree dynamic program
    ("Massively Parallel k-Means Clustering for Perturbation Resilient Instances",
    Cohen-Addad, Mirrokni and Zhong, ICML 2022); locally or on Apache Spark.
bigclust.graph
    Facility location, p-median and p-center on shortest-path metrics of weighted
    graphs in the k-machine model ("Near-Optimal Clustering in the k-machine
    model", Bandyapadhyay, Inamdar, Pai and Pemmaraju).
bigclust.private
    One-round local-DP and shuffle-DP k-means ("Locally Private k-Means in One
    Round", Chang, Ghazi, Kumar and Manurangsi, ICML 2021).

Also: :func:`bigclust.limit_threads` bounds the threads of the compiled kernels
and of BLAS; progress goes to the ``"bigclust"`` logger (:mod:`logging`);
``bigclust.plot`` draws fitted models (``pip install 'bigclust[plot]'``).
"""

# The one place the version is written: pyproject.toml reads it
# ([tool.setuptools.dynamic]), CHANGELOG.md names it.
__version__ = "0.1.0"

__all__ = ["__version__", "LSHTreeKMeans", "LSHTreeKMedian", "limit_threads"]

# Imports numba and threadpoolctl only when called.
from ._core.threads import limit_threads  # noqa: E402


def __getattr__(name):
    # Loaded on first use, so that `import bigclust.private` (the client-side
    # encoder, meant for small devices) does not import numba or scikit-learn.
    if name in ("LSHTreeKMeans", "LSHTreeKMedian"):
        from . import lshtree

        return getattr(lshtree, name)
    raise AttributeError(f"module 'bigclust' has no attribute {name!r}")
