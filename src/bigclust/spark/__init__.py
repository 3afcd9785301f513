"""bigclust on Apache Spark: the public, Spark-facing API (no algorithm code here).

Today the LSH-tree estimators run on Spark with ``engine="spark"``
(``bigclust.LSHTreeKMeans(k, engine="spark").fit(dataframe)``); the engine itself
lives in :mod:`bigclust.lshtree._spark`. This package holds what a Spark user
calls directly: :func:`get_session` (the session bigclust uses when none is
active) and :func:`is_spark_dataframe`. Needs ``pip install 'bigclust[spark]'``
(PySpark >= 4) and Java 17.
"""

from ..lshtree._spark._session import get_session
from ..lshtree._spark._engine import is_spark_dataframe

__all__ = ["get_session", "is_spark_dataframe"]
