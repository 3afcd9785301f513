"""``pyspark.ml`` stages of the LSH-tree k-median: :class:`LSHTreeKMedian` (Estimator) and
:class:`LSHTreeKMedianModel` (Model), shaped as the k-means stages (:mod:`._kmeans`).

The fit is the spark engine of :class:`bigclust.LSHTreeKMedian` (``engine="spark"``:
the same tree, then Appendix D's weights, :mod:`bigclust.lshtree._spark._median`);
the fit, the model, its summary and its writer/reader are shared (:mod:`._base`).
"""

from __future__ import annotations

from pyspark import keyword_only

from ._base import _LSHTreeEstimator, _LSHTreeModel
from ._params import _LSHTreeKMedianParams

__all__ = ["LSHTreeKMedian", "LSHTreeKMedianModel"]


class LSHTreeKMedianModel(_LSHTreeModel, _LSHTreeKMedianParams):
    """A fitted :class:`LSHTreeKMedian`: ``transform`` adds the nearest centre's index as ``predictionCol``.

    As :class:`LSHTreeKMeansModel`; the centres are the selected clusters'
    Weiszfeld medians and ``summary.trainingCost`` is the weighted sum of
    distances (the k-median cost) of the training rows to them.
    """


class LSHTreeKMedian(_LSHTreeKMedianParams, _LSHTreeEstimator):
    """LSH-tree k-median (Appendix D of Cohen-Addad, Mirrokni and Zhong, ICML 2022) as a ``pyspark.ml`` Estimator.

    ``fit(df)`` runs the Spark engine of :class:`bigclust.LSHTreeKMedian`
    (docs/spark.md): the LSH tree, then every candidate cluster weighted by
    ``sum_p w_p |p - m_C|`` with ``m_C`` a Weiszfeld median of a bottom-``s`` sample
    of ``C`` (``s = medianSampleSize``), then the same pruning DP; returns a
    :class:`LSHTreeKMedianModel`. Input checks as :class:`LSHTreeKMeans`.

    Parameters (Params, with getters/setters)
    ------------------------------------------
    As :class:`LSHTreeKMeans` (``k``, ``featuresCol``, ``predictionCol``, ``weightCol``,
    ``seed``, ``method``, ``candidates``, ``approxEpsilon``, ``scaleRatio``, ``numHashes``,
    ``numProjections``, ``bucketWidth``, ``edgeFactor``, ``numPartitions``), and:

    medianSampleSize : int, default 256
        Points sampled per candidate cluster for its Weiszfeld median (1 to 10^6).
    weiszfeldIter : int, default 50
        Maximum Weiszfeld iterations per candidate cluster (1 to 10^4).
    refine : {"auto", "fixed", "off"}, default "auto"
        Assign/Weiszfeld-step passes after the tree (each pass one shuffle: every
        point to its nearest centre, then one Weiszfeld step per cluster), from
        the tree's medians and from k-means||; ``maxIter`` bounds the passes per
        start (docs/spark.md).
    """

    _sklearn_name = "LSHTreeKMedian"
    _model_class = LSHTreeKMedianModel

    @keyword_only
    def __init__(self, *, featuresCol: str = "features", predictionCol: str = "prediction", k: int = 2,
                 maxIter: int = 20, seed: int | None = None, weightCol: str | None = None, method: str = "auto",
                 candidates: str = "components", approxEpsilon: float = 0.1, refine: str = "auto",
                 scaleRatio: float = 1.1, numHashes: int = 10, numProjections: int = 10, bucketWidth: float = 4.0,
                 edgeFactor: float = 2.0, numPartitions: int = 0, medianSampleSize: int = 256,
                 weiszfeldIter: int = 50):
        super().__init__()
        kwargs = self._input_kwargs
        self.setParams(**kwargs)

    @keyword_only
    def setParams(self, *, featuresCol: str = "features", predictionCol: str = "prediction", k: int = 2,
                  maxIter: int = 20, seed: int | None = None, weightCol: str | None = None, method: str = "auto",
                  candidates: str = "components", approxEpsilon: float = 0.1, refine: str = "auto",
                  scaleRatio: float = 1.1, numHashes: int = 10, numProjections: int = 10, bucketWidth: float = 4.0,
                  edgeFactor: float = 2.0, numPartitions: int = 0, medianSampleSize: int = 256,
                  weiszfeldIter: int = 50) -> "LSHTreeKMedian":
        """Set the given Params (keyword arguments only)."""
        kwargs = {key: v for key, v in self._input_kwargs.items() if v is not None}
        return self._set(**kwargs)

    def setMedianSampleSize(self, value: int) -> "LSHTreeKMedian":
        return self._set(medianSampleSize=value)

    def setWeiszfeldIter(self, value: int) -> "LSHTreeKMedian":
        return self._set(weiszfeldIter=value)
