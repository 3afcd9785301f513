"""bigclust.spark.LSHTreeKMeans as a pyspark.ml stage: Pipeline fit/transform/save/load, the local
engine's answer, the summary's Spark accounting, CrossValidator with ClusteringEvaluator, bad input.

Each fit costs a hundred-odd Spark jobs, so the fits are few and tiny (40 points) and use the
constant-round tree (candidates="two_hop"); the answer on larger data is in test_spark_engine.py.
"""

import numpy as np
import pytest

pytest.importorskip("pyspark")

from bigclust import LSHTreeKMeans as SKLSHTreeKMeans  # noqa: E402
from bigclust.datasets import make_planted_mixture  # noqa: E402

pytestmark = pytest.mark.spark

PARAMS = dict(k=3, candidates="two_hop", scaleRatio=2.0, refine="off", numPartitions=2, seed=5)
LOCAL = dict(candidates="two_hop", scale_ratio=2.0, refine=0, random_state=5)


@pytest.fixture(scope="module")
def data(spark):
    X, _, _ = make_planted_mixture(40, 3, 3, random_state=4)
    df = spark.createDataFrame([(i, *map(float, x)) for i, x in enumerate(X)], "id long, a double, b double, c double")
    return X, df


@pytest.fixture(scope="module")
def fitted(data):
    from pyspark.ml import Pipeline
    from pyspark.ml.feature import VectorAssembler

    from bigclust.spark import LSHTreeKMeans

    X, df = data
    pipe = Pipeline(stages=[VectorAssembler(inputCols=["a", "b", "c"], outputCol="features"), LSHTreeKMeans(**PARAMS)])
    return pipe.fit(df)


def _by_id(out, col="prediction"):
    pdf = out.select("id", col).toPandas().sort_values("id")
    return pdf[col].to_numpy()


def test_pipeline_fit_transform_equals_local_engine(data, fitted):
    from bigclust.spark import LSHTreeKMeansModel

    X, df = data
    local = SKLSHTreeKMeans(3, **LOCAL).fit(X)
    model = fitted.stages[-1]
    assert isinstance(model, LSHTreeKMeansModel) and model.hasSummary
    assert model.getK() == 3 and model.getPredictionCol() == "prediction" and model.getCandidates() == "two_hop"
    # two_hop: the same tree and partition as locally, node costs equal to rounding (docs/spark.md)
    centers = np.array(model.clusterCenters())
    np.testing.assert_allclose(centers, local.cluster_centers_, rtol=1e-12, atol=1e-12)
    s = model.summary
    np.testing.assert_array_equal(_by_id(s.predictions), local.labels_)
    assert s.trainingCost == pytest.approx(local.inertia_, rel=1e-12)
    assert s.clusterSizes == np.bincount(local.labels_, minlength=3).tolist() and s.k == 3 and s.numIter == 0
    out = fitted.transform(df)
    assert out.columns == ["id", "a", "b", "c", "features", "prediction"]
    np.testing.assert_array_equal(_by_id(out), local.predict(X))
    assert model.predict(X[0]) == local.predict(X[:1])[0]


def test_summary_counts_what_spark_ran(fitted):
    """report_["spark"] and the summary carry Spark's own counts of this fit beside the algorithmic rounds."""
    s = fitted.stages[-1].summary
    r = s.report["spark"]
    assert s.mpcRounds == s.report["mpc_rounds"] == r["mpc_rounds"] == sum(r["mpc_rounds_by_step"].values()) > 0
    assert r["spark_counts_complete"] is True  # every job id of the fit's span was found (nothing dropped)
    assert s.sparkJobs == r["spark_jobs"] > 0
    assert s.sparkStages >= s.sparkStagesRun >= s.sparkJobs  # every job runs at least its result stage
    # every exchange the algorithm counts is at least one stage that wrote or read shuffle data
    assert s.sparkStagesRun >= s.sparkShuffleStages >= s.mpcRounds
    assert s.shuffleBytesWritten > 0 and s.shuffleBytesRead > 0


def test_saved_pipeline_and_estimator_load_and_predict_the_same(spark, data, fitted, tmp_path):
    from pyspark.ml import PipelineModel

    from bigclust.spark import LSHTreeKMeans, LSHTreeKMeansModel

    _, df = data
    fitted.write().save(str(tmp_path / "pipe"))
    loaded = PipelineModel.load(str(tmp_path / "pipe"))
    m, m0 = loaded.stages[-1], fitted.stages[-1]
    assert isinstance(m, LSHTreeKMeansModel) and m.uid == m0.uid and not m.hasSummary
    with pytest.raises(RuntimeError, match="summary"):
        m.summary
    np.testing.assert_array_equal(np.array(m.clusterCenters()), np.array(m0.clusterCenters()))  # exact float64
    assert m.extractParamMap() == {m.getParam(p.name): v for p, v in m0.extractParamMap().items()}
    np.testing.assert_array_equal(_by_id(loaded.transform(df)), _by_id(fitted.transform(df)))
    # centres are data files (Parquet), not pickles
    assert any(p.suffix == ".parquet" for p in (tmp_path / "pipe").rglob("*"))
    assert not any(p.suffix in (".pkl", ".pickle") for p in (tmp_path / "pipe").rglob("*"))
    est = LSHTreeKMeans(k=7, method="approx", approxEpsilon=0.2, weightCol="w", maxIter=5)
    est.save(str(tmp_path / "est"))
    est2 = LSHTreeKMeans.load(str(tmp_path / "est"))
    assert (est2.getK(), est2.getMethod(), est2.getApproxEpsilon(), est2.getWeightCol(), est2.getMaxIter()) == \
        (7, "approx", 0.2, "w", 5)
    # the model's own writer/reader, with a renamed prediction column
    m0.copy().setPredictionCol("cluster").write().save(str(tmp_path / "model"))
    m2 = LSHTreeKMeansModel.load(str(tmp_path / "model"))
    assert m2.getPredictionCol() == "cluster" and "cluster" in m2.transform(loaded.stages[0].transform(df)).columns


@pytest.mark.slow
def test_cross_validator_with_clustering_evaluator(data):
    from pyspark.ml.evaluation import ClusteringEvaluator
    from pyspark.ml.feature import VectorAssembler
    from pyspark.ml.tuning import CrossValidator, CrossValidatorModel, ParamGridBuilder

    from bigclust.spark import LSHTreeKMeans, LSHTreeKMeansModel

    _, df = data
    feats = VectorAssembler(inputCols=["a", "b", "c"], outputCol="features").transform(df)
    est = LSHTreeKMeans(**PARAMS)
    cv = CrossValidator(estimator=est, estimatorParamMaps=ParamGridBuilder().addGrid(est.k, [3]).build(),
                        evaluator=ClusteringEvaluator(), numFolds=2, seed=1)
    cvm = cv.fit(feats)
    assert isinstance(cvm, CrossValidatorModel) and isinstance(cvm.bestModel, LSHTreeKMeansModel)
    assert len(cvm.avgMetrics) == 1 and 0.5 < cvm.avgMetrics[0] <= 1.0  # silhouette of well-separated clusters


def test_bad_input_names_the_column_before_any_fit(spark):
    from bigclust.spark import LSHTreeKMeans

    ok = spark.createDataFrame([([1.0, 2.0], 1.0), ([3.0, 2.0], 1.0)], "v array<double>, w double")
    with pytest.raises(ValueError, match="'features' not in the DataFrame"):
        LSHTreeKMeans(k=1).fit(ok)
    with pytest.raises(ValueError, match="k must be >= 1"):
        LSHTreeKMeans(k=0, featuresCol="v").fit(ok)
    with pytest.raises(ValueError, match="refine must be one of"):
        LSHTreeKMeans(k=1, featuresCol="v", refine="always").fit(ok)
    nulls = spark.createDataFrame([([1.0, 2.0],), (None,)], "v array<double>")
    with pytest.raises(ValueError, match="features column 'v' is null in 1 rows"):
        LSHTreeKMeans(k=1, featuresCol="v").fit(nulls)
    neg = spark.createDataFrame([([1.0, 2.0], 1.0), ([3.0, 2.0], -1.0)], "v array<double>, wt double")
    with pytest.raises(ValueError, match="weight column 'wt' holds negative values"):
        LSHTreeKMeans(k=1, featuresCol="v", weightCol="wt").fit(neg)
    with pytest.raises(ValueError, match="weight column 'nope' not in the DataFrame"):
        LSHTreeKMeans(k=1, featuresCol="v", weightCol="nope").fit(ok)
    with pytest.raises(TypeError, match="weight column 'v' has type"):
        LSHTreeKMeans(k=1, featuresCol="v", weightCol="v").fit(ok)


def test_kmedian_pipeline_refines_saves_and_loads(spark, data, tmp_path):
    """bigclust.spark.LSHTreeKMedian: the shared stage code with k-median Params, one refined fit.

    The two_hop tree's stored leaf paths feed the median sample (no pointer doubling); the tree's
    medians are the local engine's (its start cost is the local centres' cost); two assign/Weiszfeld
    passes per start never raise the cost; the answer's cost is its labels' own, by brute force.
    """
    from pyspark.ml import Pipeline, PipelineModel
    from pyspark.ml.feature import VectorAssembler

    from bigclust import LSHTreeKMedian as SKLSHTreeKMedian
    from bigclust.spark import LSHTreeKMedian, LSHTreeKMedianModel

    X, df = data
    assert LSHTreeKMedian().getRefine() == "auto" and LSHTreeKMedian().getMedianSampleSize() == 256
    est = LSHTreeKMedian(**dict(PARAMS, refine="fixed"), maxIter=2, medianSampleSize=8)
    assert est.getMedianSampleSize() == 8 and est.getWeiszfeldIter() == 50
    with pytest.raises(ValueError, match="medianSampleSize must be in"):
        est.copy({est.medianSampleSize: 0}).fit(df)
    fitted = Pipeline(stages=[VectorAssembler(inputCols=["a", "b", "c"], outputCol="features"), est]).fit(df)
    tree = SKLSHTreeKMedian(3, median_sample_size=8, **LOCAL).fit(X)  # the local tree's answer (refine=0)
    model = fitted.stages[-1]
    assert isinstance(model, LSHTreeKMedianModel) and model.getMedianSampleSize() == 8
    s = model.summary
    r = s.report
    assert r["kmedian"]["ancestor_iterations"] == 0
    steps = r["spark"]["mpc_rounds_by_step"]
    assert "kmedian: ancestors" not in steps and steps["kmedian: sample and medians"] == 2
    assert steps["kmedian: cost"] == 3 and steps["kmedian: nodes"] == 1 and steps["refine: weiszfeld"] == 6
    assert r["refine"]["start_costs"]["tree"] == pytest.approx(-tree.score(X), rel=1e-12)
    assert set(r["refine"]["final_costs"]) == {"tree", "kmeans||"} and r["refine"]["coreset_skipped"] == "k-median"
    for name, final in r["refine"]["final_costs"].items():
        assert final <= r["refine"]["start_costs"][name] * (1 + 1e-12)
    assert r["answer"].endswith("+weiszfeld") and s.numIter == 3
    assert s.sparkShuffleStages >= s.mpcRounds
    centers = np.array(model.clusterCenters())
    labels = _by_id(s.predictions)
    D = np.linalg.norm(X[:, None, :] - centers[None, :, :], axis=2)
    np.testing.assert_array_equal(labels, D.argmin(axis=1))
    # trainingCost is the k-median cost of the returned partition, by brute force
    assert s.trainingCost == pytest.approx(float(D.min(axis=1).sum()), rel=1e-12)
    assert s.trainingCost <= tree.inertia_ * (1 + 1e-12)
    np.testing.assert_array_equal(_by_id(fitted.transform(df)), labels)
    fitted.write().save(str(tmp_path / "pipe"))
    loaded = PipelineModel.load(str(tmp_path / "pipe"))
    m = loaded.stages[-1]
    assert isinstance(m, LSHTreeKMedianModel) and m.uid == model.uid and m.getMedianSampleSize() == 8
    np.testing.assert_array_equal(np.array(m.clusterCenters()), centers)
    np.testing.assert_array_equal(_by_id(loaded.transform(df)), labels)
    est.save(str(tmp_path / "est"))
    assert LSHTreeKMedian.load(str(tmp_path / "est")).getMedianSampleSize() == 8
