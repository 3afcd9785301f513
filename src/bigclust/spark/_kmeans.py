"""``pyspark.ml`` stages of the LSH-tree k-means: :class:`LSHTreeKMeans` (Estimator) and
:class:`LSHTreeKMeansModel` (Model), the shape of MLlib's ``KMeans`` / ``KMeansModel``.

The fit is the spark engine of :class:`bigclust.LSHTreeKMeans` (``engine="spark"``,
:mod:`bigclust.lshtree._spark`); the fit, the model, its summary and its
writer/reader are shared with the k-median stages (:mod:`._base`); this module
declares the Params and the keyword constructor.
"""

from __future__ import annotations

from pyspark import keyword_only

from ._base import LSHTreeClusteringSummary, _LSHTreeEstimator, _LSHTreeModel
from ._params import _LSHTreeParams

__all__ = ["LSHTreeKMeans", "LSHTreeKMeansModel", "LSHTreeClusteringSummary"]


class LSHTreeKMeansModel(_LSHTreeModel, _LSHTreeParams):
    """A fitted :class:`LSHTreeKMeans`: ``transform`` adds the nearest centre's index as ``predictionCol``.

    ``transform`` is one map over the rows (Arrow batches against all centres), no
    shuffle, every input column kept; ``featuresCol`` is checked first (one
    aggregation: nulls, NaN/infinity, lengths equal to the model's dimension).
    ``clusterCenters()``, ``summary`` (:class:`LSHTreeClusteringSummary`; ``trainingCost``
    is the weighted sum of squared distances), ``hasSummary``, ``write()`` / ``load()``.
    """


class LSHTreeKMeans(_LSHTreeParams, _LSHTreeEstimator):
    """LSH-tree k-means (Cohen-Addad, Mirrokni and Zhong, ICML 2022) as a ``pyspark.ml`` Estimator.

    ``fit(df)`` reads ``featuresCol`` (an ml ``Vector`` or an array of numbers,
    every row the same length, no null/NaN/infinity) and optionally ``weightCol``
    (non-negative), runs the Spark engine of :class:`bigclust.LSHTreeKMeans`
    (docs/spark.md) on ``df``'s session and returns a :class:`LSHTreeKMeansModel`.
    Bad input raises before any heavy job, naming the column; so does a session
    whose workers cannot import bigclust.

    Parameters (Params, with getters/setters)
    ------------------------------------------
    k : int, default 2
    featuresCol : str, default "features"
    predictionCol : str, default "prediction"
    weightCol : str, optional (unset or empty: every row weighs 1)
    seed : int, default a fixed value (the same data and seed give the same model)
    maxIter : int, default 20
        At most this many Lloyd passes per start of the refinement (``refine``).
    refine : {"auto", "fixed", "off"}, default "auto"
    method : {"auto", "exact", "approx"}, default "auto"
    candidates : {"components", "two_hop"}, default "components"
    approxEpsilon : float, default 0.1
    scaleRatio, numHashes, numProjections, bucketWidth, edgeFactor : as
        ``scale_ratio``, ``n_hashes``, ``n_projections``, ``bucket_width``,
        ``edge_factor`` of :class:`bigclust.LSHTreeKMeans`
    numPartitions : int, default 0 (twice the default parallelism)
    """

    _sklearn_name = "LSHTreeKMeans"
    _model_class = LSHTreeKMeansModel

    @keyword_only
    def __init__(self, *, featuresCol: str = "features", predictionCol: str = "prediction", k: int = 2,
                 maxIter: int = 20, seed: int | None = None, weightCol: str | None = None, method: str = "auto",
                 candidates: str = "components", approxEpsilon: float = 0.1, refine: str = "auto",
                 scaleRatio: float = 1.1, numHashes: int = 10, numProjections: int = 10, bucketWidth: float = 4.0,
                 edgeFactor: float = 2.0, numPartitions: int = 0):
        super().__init__()
        kwargs = self._input_kwargs
        self.setParams(**kwargs)

    @keyword_only
    def setParams(self, *, featuresCol: str = "features", predictionCol: str = "prediction", k: int = 2,
                  maxIter: int = 20, seed: int | None = None, weightCol: str | None = None, method: str = "auto",
                  candidates: str = "components", approxEpsilon: float = 0.1, refine: str = "auto",
                  scaleRatio: float = 1.1, numHashes: int = 10, numProjections: int = 10, bucketWidth: float = 4.0,
                  edgeFactor: float = 2.0, numPartitions: int = 0) -> "LSHTreeKMeans":
        """Set the given Params (keyword arguments only)."""
        kwargs = {key: v for key, v in self._input_kwargs.items() if v is not None}
        return self._set(**kwargs)
