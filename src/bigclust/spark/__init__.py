"""bigclust on Apache Spark: the public, Spark-facing API (no algorithm code here).

- :class:`LSHTreeKMeans` / :class:`LSHTreeKMeansModel`: ``pyspark.ml`` Estimator and
  Model (Params, ``transform``, ``clusterCenters()``, ``summary``, save/load, usable
  in Pipelines and CrossValidator), the shape of MLlib's ``KMeans``.
- :class:`LSHTreeKMedian` / :class:`LSHTreeKMedianModel`: the same for k-median
  (Appendix D's Weiszfeld-median weights; ``medianSampleSize``).
- :func:`decode_reports`: the private k-means server's aggregation of a DataFrame of
  reports (either protocol of :mod:`bigclust.private`), one decoder per partition,
  merged exactly.
- :func:`get_session`: the session bigclust uses when none is active (its workers
  run this interpreter); :func:`is_spark_dataframe`.

The algorithm is the Spark engine of the LSH-tree family,
:mod:`bigclust.lshtree._spark`, which also serves
``bigclust.LSHTreeKMeans(k, engine="spark")`` and ``bigclust.LSHTreeKMedian(k, engine="spark")``.
Needs ``pip install 'bigclust[spark]'`` (PySpark >= 4) and Java 17.
"""

from ..lshtree._spark._engine import is_spark_dataframe
from ..lshtree._spark._session import WorkerEnvironmentError, get_session
from ..private._spark import decode_reports
from ._kmeans import LSHTreeClusteringSummary, LSHTreeKMeans, LSHTreeKMeansModel
from ._kmedian import LSHTreeKMedian, LSHTreeKMedianModel

__all__ = ["LSHTreeKMeans", "LSHTreeKMeansModel", "LSHTreeKMedian", "LSHTreeKMedianModel", "LSHTreeClusteringSummary",
           "WorkerEnvironmentError", "decode_reports", "get_session", "is_spark_dataframe"]
