"""Data for bigclust users and benchmarks.

Synthetic data (:mod:`bigclust.datasets.synthetic`): :func:`make_planted_mixture`
is the generator of Section 5.1 of "Massively Parallel k-Means Clustering for
Perturbation Resilient Instances"; :func:`planted_cost` is the k-means cost of a
partition with its optimal centres; :func:`zscore` is the paper's preprocessing.

Real data (:mod:`bigclust.datasets.loaders`): :func:`load_dataset` reads the public
data sets stored in ``shared/data`` (no download ever happens); ``BIGCLUST_DATA_DIR``
or ``data_dir=`` point elsewhere.
"""

from .loaders import DATA_DIR_ENV, DATASETS, TABLE2_DATASETS, Dataset, find_data_dir, load_dataset
from .synthetic import make_planted_mixture, planted_cost, zscore

__all__ = [
    "DATASETS",
    "TABLE2_DATASETS",
    "Dataset",
    "load_dataset",
    "make_planted_mixture",
    "planted_cost",
    "zscore",
]
