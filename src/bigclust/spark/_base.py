"""What the LSH-tree ``pyspark.ml`` stages share: the fit (Params -> the scikit-learn estimator with
``engine="spark"``), the Model (``transform``, ``clusterCenters()``, ``summary``), the summary, and the
model writer/reader.

A model is saved as MLlib's Python stages are (``metadata/``: the Params as JSON,
by :class:`pyspark.ml.util.DefaultParamsWriter`) plus ``data/``: the centres as
Parquet rows ``(clusterIdx int, clusterCenter array<double>)``, exact float64, no
pickle; so Pipelines holding it save and load. The concrete stages
(:mod:`._kmeans`, :mod:`._kmedian`) only declare their Params, their keyword
constructor and which estimator and model they are.
"""

from __future__ import annotations

import os

import numpy as np
from pyspark.ml import Estimator, Model
from pyspark.ml.util import (DefaultParamsReadable, DefaultParamsReader, DefaultParamsWritable, DefaultParamsWriter,
                             MLReadable, MLReader, MLWritable, MLWriter)

__all__ = ["LSHTreeClusteringSummary"]


class LSHTreeClusteringSummary:
    """What a fit measured (MLlib's ``KMeansSummary`` fields, plus this family's report).

    ``predictions`` is the training DataFrame with the fit's partition in
    ``predictionCol`` (the tree's pruning, or the refined nearest-centre labels);
    ``trainingCost`` is that partition's cost (scikit-learn's ``inertia_``): the
    weighted sum of squared distances to the centres for k-means, of distances
    for k-median; ``report`` is ``report_`` of the scikit-learn estimator
    (:class:`bigclust.LSHTreeKMeans` / :class:`bigclust.LSHTreeKMedian`), whose
    ``"spark"`` entry holds what Spark ran.
    """

    def __init__(self, predictions, prediction_col: str, features_col: str, k: int, cost: float, report: dict):
        self._predictions = predictions
        self._prediction_col = prediction_col
        self._features_col = features_col
        self._k = k
        self._cost = cost
        self._report = report
        self._sizes = None

    @property
    def predictions(self):
        """The training rows with the fit's cluster in ``predictionCol``."""
        return self._predictions

    @property
    def predictionCol(self) -> str:
        return self._prediction_col

    @property
    def featuresCol(self) -> str:
        return self._features_col

    @property
    def k(self) -> int:
        """Number of clusters returned (fewer than asked when the data has fewer distinct points)."""
        return self._k

    @property
    def trainingCost(self) -> float:
        """The objective of the training rows at their cluster's centre: weighted sum of squared
        distances (k-means) or of distances (k-median)."""
        return self._cost

    @property
    def clusterSizes(self) -> list[int]:
        """Training rows per cluster, ``k`` integers (one aggregation over ``predictions``, on first use)."""
        if self._sizes is None:
            counts = dict((int(r[0]), int(r[1])) for r in
                          self._predictions.groupBy(self._prediction_col).count().collect())
            self._sizes = [counts.get(c, 0) for c in range(self._k)]
        return list(self._sizes)

    @property
    def numIter(self) -> int:
        """Refinement passes (Lloyd's, or assign/Weiszfeld for k-median) of the returned answer's start
        (0 when the tree's own answer is returned)."""
        ref = self._report.get("refine") or {}
        start = ref.get("start")
        if not start or self._report.get("answer") == "tree":
            return 0
        return int(ref.get("passes", {}).get(start, 0))

    @property
    def report(self) -> dict:
        """The fit's report (``report_`` of the scikit-learn estimator)."""
        return self._report

    @property
    def mpcRounds(self) -> int:
        """Rounds of the MPC algorithm (data exchanges the algorithm asks for)."""
        return int(self._report["mpc_rounds"])

    @property
    def sparkJobs(self) -> int | None:
        """Spark jobs the fit ran (None where Spark's status tracker is unavailable, e.g. Spark Connect)."""
        return self._report["spark"]["spark_jobs"]

    @property
    def sparkStages(self) -> int | None:
        """Stages of the fit's Spark jobs, including skipped ones (None where unknown)."""
        return self._report["spark"]["spark_stages"]

    @property
    def sparkStagesRun(self) -> int | None:
        """Of ``sparkStages``, those that ran (the others reused shuffle output; None where unknown)."""
        return self._report["spark"]["spark_stages_run"]

    @property
    def sparkShuffleStages(self) -> int | None:
        """Stages that wrote or read shuffle data (None where the driver UI's REST API is unavailable)."""
        return self._report["spark"]["spark_stages_with_shuffle"]

    @property
    def shuffleBytesWritten(self) -> int | None:
        """Shuffle bytes written by the fit's stages (None where unknown)."""
        return self._report["spark"]["shuffle_bytes_written"]

    @property
    def shuffleBytesRead(self) -> int | None:
        """Shuffle bytes read by the fit's stages (None where unknown)."""
        return self._report["spark"]["shuffle_bytes_read"]


class _LSHTreeEstimator(Estimator, DefaultParamsWritable, DefaultParamsReadable):
    """The fit and setters of an LSH-tree Estimator; a subclass mixes in its Params class and names
    ``_sklearn_name`` (the scikit-learn estimator in :mod:`bigclust.lshtree`) and ``_model_class``."""

    _sklearn_name: str
    _model_class: type

    def setK(self, value: int) -> "_LSHTreeEstimator":
        return self._set(k=value)

    def setFeaturesCol(self, value: str) -> "_LSHTreeEstimator":
        return self._set(featuresCol=value)

    def setPredictionCol(self, value: str) -> "_LSHTreeEstimator":
        return self._set(predictionCol=value)

    def setWeightCol(self, value: str) -> "_LSHTreeEstimator":
        return self._set(weightCol=value)

    def setSeed(self, value: int) -> "_LSHTreeEstimator":
        return self._set(seed=value)

    def setMaxIter(self, value: int) -> "_LSHTreeEstimator":
        return self._set(maxIter=value)

    def setMethod(self, value: str) -> "_LSHTreeEstimator":
        return self._set(method=value)

    def setCandidates(self, value: str) -> "_LSHTreeEstimator":
        return self._set(candidates=value)

    def setApproxEpsilon(self, value: float) -> "_LSHTreeEstimator":
        return self._set(approxEpsilon=value)

    def setRefine(self, value: str) -> "_LSHTreeEstimator":
        return self._set(refine=value)

    def setScaleRatio(self, value: float) -> "_LSHTreeEstimator":
        return self._set(scaleRatio=value)

    def setNumHashes(self, value: int) -> "_LSHTreeEstimator":
        return self._set(numHashes=value)

    def setNumProjections(self, value: int) -> "_LSHTreeEstimator":
        return self._set(numProjections=value)

    def setBucketWidth(self, value: float) -> "_LSHTreeEstimator":
        return self._set(bucketWidth=value)

    def setEdgeFactor(self, value: float) -> "_LSHTreeEstimator":
        return self._set(edgeFactor=value)

    def setNumPartitions(self, value: int) -> "_LSHTreeEstimator":
        return self._set(numPartitions=value)

    def _fit(self, dataset) -> "_LSHTreeModel":
        from .. import lshtree

        args = self._checked()  # Params first, then the engine checks the DataFrame (one aggregation)
        est = getattr(lshtree, self._sklearn_name)(**args).fit(dataset)
        model = self._model_class(est.cluster_centers_)
        self._copyValues(model)
        model._summary = LSHTreeClusteringSummary(
            est.labels_, self.getPredictionCol(), self.getFeaturesCol(), int(est.cluster_centers_.shape[0]),
            float(est.inertia_), est.report_)
        return model


class _LSHTreeModel(Model, MLWritable, MLReadable):
    """A fitted LSH-tree stage: ``transform`` adds the nearest centre's index as ``predictionCol``.

    ``transform`` is one map over the rows (Arrow batches against all centres), no
    shuffle, every input column kept; ``featuresCol`` is checked first (one
    aggregation: nulls, NaN/infinity, lengths equal to the model's dimension).
    The nearest centre is the same for both objectives (Euclidean distance).
    """

    def __init__(self, centers=None):
        super().__init__()
        self._centers = None if centers is None else np.array(centers, np.float64, copy=True).reshape(len(centers), -1)

    def setFeaturesCol(self, value: str) -> "_LSHTreeModel":
        return self._set(featuresCol=value)

    def setPredictionCol(self, value: str) -> "_LSHTreeModel":
        return self._set(predictionCol=value)

    def clusterCenters(self) -> list[np.ndarray]:
        """The centres, ``k`` arrays of shape (n_features,), float64 (MLlib's return type)."""
        return [c.copy() for c in self._centers]

    @property
    def numFeatures(self) -> int:
        return int(self._centers.shape[1])

    @property
    def hasSummary(self) -> bool:
        """Whether this model holds its training summary (a loaded model does not)."""
        return getattr(self, "_summary", None) is not None

    @property
    def summary(self) -> LSHTreeClusteringSummary:
        """The training summary; raises ``RuntimeError`` on a model without one (e.g. a loaded model)."""
        if not self.hasSummary:
            raise RuntimeError(f"No training summary available for this {type(self).__name__} (a loaded model has "
                               "none).")
        return self._summary

    def predict(self, value) -> int:
        """The nearest centre's index for one feature vector (a Vector or a sequence of numbers)."""
        x = np.asarray(value.toArray() if hasattr(value, "toArray") else value, np.float64).ravel()
        if x.shape[0] != self.numFeatures or not np.all(np.isfinite(x)):
            raise ValueError(f"the vector must have {self.numFeatures} finite values.")
        return int(np.argmin(((self._centers - x) ** 2).sum(axis=1)))

    def _transform(self, dataset):
        from ..lshtree._spark import predict_spark

        return predict_spark(self._centers, dataset, {"input_col": self.getFeaturesCol(),
                                                      "prediction_col": self.getPredictionCol()})

    def write(self) -> MLWriter:
        """A writer that stores the Params (``metadata/``) and the centres as Parquet (``data/``)."""
        return _ModelWriter(self)

    @classmethod
    def read(cls) -> MLReader:
        return _ModelReader(cls)


class _ModelWriter(MLWriter):
    def __init__(self, instance: _LSHTreeModel):
        super().__init__()
        self.instance = instance

    def saveImpl(self, path: str) -> None:
        m = self.instance
        spark = self.sparkSession
        DefaultParamsWriter.saveMetadata(m, path, spark, extraMetadata={"numClusters": int(m._centers.shape[0]),
                                                                        "numFeatures": m.numFeatures})
        rows = [(i, [float(v) for v in c]) for i, c in enumerate(m._centers)]
        (spark.createDataFrame(rows, "clusterIdx int, clusterCenter array<double>").coalesce(1)
         .write.parquet(os.path.join(path, "data")))


class _ModelReader(MLReader):
    def __init__(self, cls):
        super().__init__()
        self.cls = cls

    def load(self, path: str) -> _LSHTreeModel:
        spark = self.sparkSession
        meta = DefaultParamsReader.loadMetadata(path, spark, f"{self.cls.__module__}.{self.cls.__name__}")
        rows = sorted(spark.read.parquet(os.path.join(path, "data")).collect(), key=lambda r: r["clusterIdx"])
        centers = np.array([r["clusterCenter"] for r in rows], np.float64)
        if centers.shape != (meta["numClusters"], meta["numFeatures"]):
            raise ValueError(f"the centres under {os.path.join(path, 'data')} have shape {centers.shape}, the metadata "
                             f"says ({meta['numClusters']}, {meta['numFeatures']}).")
        model = self.cls(centers)
        model._resetUid(meta["uid"])
        DefaultParamsReader.getAndSetParams(model, meta)
        return model
