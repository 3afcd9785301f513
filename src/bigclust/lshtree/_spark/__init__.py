"""The spark engine of :class:`bigclust.LSHTreeKMeans` and :class:`bigclust.LSHTreeKMedian` (``engine="spark"``).

The MPC algorithm of the LSH-tree paper (Section 4, Appendix C) as Spark
stages: hashing (map), bucketing (shuffle by key) with distance-verified
edges, connected components per scale, the binarised tree with node weights
by aggregation, the pruning DP by Algorithm 7 (subtrees shipped to tasks) and
labels by pointer jumping and a join. Needs ``pip install bigclust[spark]``
(PySpark >= 4) and Java 17.
"""

from ._engine import DEFAULT_OPTIONS, fit_spark, is_spark_dataframe, predict_spark
from ._session import get_session

__all__ = ["DEFAULT_OPTIONS", "fit_spark", "get_session", "is_spark_dataframe", "predict_spark"]
