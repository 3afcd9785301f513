"""The ``pyspark.ml`` Params of the LSH-tree estimators (shared by estimator and model, as MLlib's ``_KMeansParams``):
:class:`_LSHTreeParams` (k-means) and :class:`_LSHTreeKMedianParams` (those plus the median sample).

MLlib's KMeans names are kept where the meaning is the same (``k``, ``featuresCol``,
``predictionCol``, ``weightCol``, ``seed``, ``maxIter``); the others are this family's
(:class:`bigclust.LSHTreeKMeans`'s parameters in camelCase).
"""

from __future__ import annotations

import zlib

from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.ml.param.shared import HasFeaturesCol, HasMaxIter, HasPredictionCol, HasSeed, HasWeightCol

REFINE_MODES = ("auto", "fixed", "off")


class _LSHTreeParams(HasFeaturesCol, HasPredictionCol, HasWeightCol, HasSeed, HasMaxIter):
    """Params of :class:`LSHTreeKMeans` and :class:`LSHTreeKMeansModel`."""

    k: Param[int] = Param(Params._dummy(), "k", "The number of clusters to create (>= 1).",
                          typeConverter=TypeConverters.toInt)
    method: Param[str] = Param(
        Params._dummy(), "method",
        "The pruning DP: 'auto' (exact within the work budget, else 'approx'), 'exact' (Algorithm 5) or "
        "'approx' (Algorithm 6 beside a Lagrangian relaxation).", typeConverter=TypeConverters.toString)
    candidates: Param[str] = Param(
        Params._dummy(), "candidates",
        "Candidate clusters: 'components' (every component, scales in sequence) or 'two_hop' (the paper's "
        "constant-round construction).", typeConverter=TypeConverters.toString)
    approxEpsilon: Param[float] = Param(
        Params._dummy(), "approxEpsilon", "Approximation parameter of Algorithm 6 (> 0).",
        typeConverter=TypeConverters.toFloat)
    refine: Param[str] = Param(
        Params._dummy(), "refine",
        "Lloyd (k-means) or assign/Weiszfeld (k-median) refinement after the tree: 'auto' (at most maxIter "
        "passes per start, stopping when a pass lowers "
        "the cost by less than 1e-4 relative), 'fixed' (maxIter passes per start) or 'off' (the tree's answer).",
        typeConverter=TypeConverters.toString)
    scaleRatio: Param[float] = Param(Params._dummy(), "scaleRatio", "Ratio of consecutive scales (> 1).",
                                     typeConverter=TypeConverters.toFloat)
    numHashes: Param[int] = Param(Params._dummy(), "numHashes", "LSH functions per scale (t of Algorithm 1, >= 1).",
                                  typeConverter=TypeConverters.toInt)
    numProjections: Param[int] = Param(Params._dummy(), "numProjections",
                                       "Projections concatenated per hash function (m, >= 1).",
                                       typeConverter=TypeConverters.toInt)
    bucketWidth: Param[float] = Param(Params._dummy(), "bucketWidth", "Width r of the p-stable hash (> 0).",
                                      typeConverter=TypeConverters.toFloat)
    edgeFactor: Param[float] = Param(Params._dummy(), "edgeFactor",
                                     "c of Algorithm 1: an edge at scale D is kept when closer than c D (> 0).",
                                     typeConverter=TypeConverters.toFloat)
    numPartitions: Param[int] = Param(Params._dummy(), "numPartitions",
                                      "Partitions of the points; 0: twice the default parallelism.",
                                      typeConverter=TypeConverters.toInt)

    _seed_name = b"LSHTreeKMeans"  # the default seed is a checksum of this name

    def __init__(self, *args):
        super().__init__(*args)
        # a fixed default seed (MLlib's is hash(class name), which varies between Python processes)
        self._setDefault(k=2, method="auto", candidates="components", approxEpsilon=0.1, refine="auto",
                         maxIter=20, scaleRatio=1.1, numHashes=10, numProjections=10, bucketWidth=4.0, edgeFactor=2.0,
                         numPartitions=0, seed=zlib.crc32(self._seed_name))

    def getK(self) -> int:
        """The number of clusters."""
        return self.getOrDefault(self.k)

    def getMethod(self) -> str:
        return self.getOrDefault(self.method)

    def getCandidates(self) -> str:
        return self.getOrDefault(self.candidates)

    def getApproxEpsilon(self) -> float:
        return self.getOrDefault(self.approxEpsilon)

    def getRefine(self) -> str:
        return self.getOrDefault(self.refine)

    def getScaleRatio(self) -> float:
        return self.getOrDefault(self.scaleRatio)

    def getNumHashes(self) -> int:
        return self.getOrDefault(self.numHashes)

    def getNumProjections(self) -> int:
        return self.getOrDefault(self.numProjections)

    def getBucketWidth(self) -> float:
        return self.getOrDefault(self.bucketWidth)

    def getEdgeFactor(self) -> float:
        return self.getOrDefault(self.edgeFactor)

    def getNumPartitions(self) -> int:
        return self.getOrDefault(self.numPartitions)

    def _weight_col(self) -> str | None:
        """The weight column, or None when unset or empty (MLlib's rule: weights 1)."""
        if self.isDefined(self.weightCol) and self.getOrDefault(self.weightCol):
            return self.getOrDefault(self.weightCol)
        return None

    def _checked(self) -> dict:
        """The Params as :class:`bigclust.LSHTreeKMeans` arguments; a value out of range raises naming the Param."""
        g = self.getOrDefault
        k = g(self.k)
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}.")
        for p, options in ((self.method, ("auto", "exact", "approx")), (self.candidates, ("components", "two_hop")),
                           (self.refine, REFINE_MODES)):
            if g(p) not in options:
                raise ValueError(f"{p.name} must be one of {options}, got {g(p)!r}.")
        for p in (self.approxEpsilon, self.bucketWidth, self.edgeFactor):
            if not g(p) > 0:
                raise ValueError(f"{p.name} must be > 0, got {g(p)!r}.")
        if not g(self.scaleRatio) > 1:
            raise ValueError(f"scaleRatio must be > 1, got {g(self.scaleRatio)!r}.")
        for p, low in ((self.numHashes, 1), (self.numProjections, 1), (self.maxIter, 1), (self.numPartitions, 0)):
            if g(p) < low:
                raise ValueError(f"{p.name} must be >= {low}, got {g(p)}.")
        refine = {"auto": "auto", "fixed": g(self.maxIter), "off": 0}[g(self.refine)]
        options = {"input_col": g(self.featuresCol), "prediction_col": g(self.predictionCol),
                   "weight_col": self._weight_col(), "num_partitions": g(self.numPartitions) or None,
                   "refine_max_passes": g(self.maxIter)}
        return dict(n_clusters=k, method=g(self.method), candidates=g(self.candidates),
                    approx_epsilon=g(self.approxEpsilon), refine=refine, scale_ratio=g(self.scaleRatio),
                    n_hashes=g(self.numHashes), n_projections=g(self.numProjections), bucket_width=g(self.bucketWidth),
                    edge_factor=g(self.edgeFactor), random_state=int(g(self.seed)) & (2**63 - 1),
                    engine="spark", spark_options=options)


class _LSHTreeKMedianParams(_LSHTreeParams):
    """Params of :class:`LSHTreeKMedian` and :class:`LSHTreeKMedianModel`: the k-means ones plus the median sample.

    ``refine`` / ``maxIter`` mean assign/Weiszfeld-step passes instead of Lloyd's.
    """

    _seed_name = b"LSHTreeKMedian"

    medianSampleSize: Param[int] = Param(
        Params._dummy(), "medianSampleSize",
        "Points sampled per candidate cluster (bottom-s by a hash of the point id) for its Weiszfeld median "
        "(1 to 10^6).", typeConverter=TypeConverters.toInt)
    weiszfeldIter: Param[int] = Param(Params._dummy(), "weiszfeldIter",
                                      "Maximum Weiszfeld iterations per candidate cluster (1 to 10^4).",
                                      typeConverter=TypeConverters.toInt)

    def __init__(self, *args):
        super().__init__(*args)
        self._setDefault(medianSampleSize=256, weiszfeldIter=50)

    def getMedianSampleSize(self) -> int:
        return self.getOrDefault(self.medianSampleSize)

    def getWeiszfeldIter(self) -> int:
        return self.getOrDefault(self.weiszfeldIter)

    def _checked(self) -> dict:
        g = self.getOrDefault
        for p, hi in ((self.medianSampleSize, 10**6), (self.weiszfeldIter, 10**4)):
            if not 1 <= g(p) <= hi:
                raise ValueError(f"{p.name} must be in [1, {hi}], got {g(p)}.")
        return dict(super()._checked(), median_sample_size=g(self.medianSampleSize), weiszfeld_iter=g(self.weiszfeldIter))
