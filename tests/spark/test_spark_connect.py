"""bigclust.spark over Spark Connect: a local Connect server (``SparkSession.builder.remote("local")``,
the server jar ships with PySpark) runs the fit, transform, save and load with no ``sparkContext``.

Needs the Connect client's dependencies (grpcio, grpcio-status, googleapis-common-protos,
zstandard), which bigclust's extras do not install; skipped without them. Runs in a child
interpreter: a Connect session switches PySpark into remote mode for the whole process.
"""

import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("pyspark")

pytestmark = [pytest.mark.spark, pytest.mark.slow]

SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "src"))

CHILD = textwrap.dedent("""
    import sys, tempfile
    import numpy as np
    from pyspark.sql import SparkSession
    from pyspark.ml.feature import VectorAssembler
    from bigclust import LSHTreeKMeans as SK
    from bigclust.datasets import make_planted_mixture
    from bigclust.spark import LSHTreeKMeans, LSHTreeKMeansModel
    from bigclust.lshtree._spark._session import is_connect

    s = SparkSession.builder.remote("local[2]").getOrCreate()
    assert is_connect(s)
    X, _, _ = make_planted_mixture(40, 3, 3, random_state=4)
    df = s.createDataFrame([(i, *map(float, x)) for i, x in enumerate(X)], "id long, a double, b double, c double")
    f = VectorAssembler(inputCols=["a", "b", "c"], outputCol="features").transform(df)
    m = LSHTreeKMeans(k=3, candidates="two_hop", scaleRatio=2.0, refine="off", seed=5).fit(f)
    loc = SK(3, candidates="two_hop", scale_ratio=2.0, refine=0, random_state=5).fit(X)
    assert abs(m.summary.trainingCost - loc.inertia_) <= 1e-12 * loc.inertia_
    r = m.summary.report["spark"]
    assert r["connect"] is True and r["spark_jobs"] is None and r["mpc_rounds"] > 0
    pred = m.transform(f).select("id", "prediction").toPandas().sort_values("id")["prediction"].to_numpy()
    assert (pred == loc.predict(X)).all()
    d = tempfile.mkdtemp()
    m.write().save(d + "/m")
    m2 = LSHTreeKMeansModel.load(d + "/m")
    assert np.array_equal(np.array(m2.clusterCenters()), np.array(m.clusterCenters()))
    print("CONNECT-OK", flush=True)
    s.stop()
""")


def test_fit_transform_save_load_over_spark_connect():
    try:
        from pyspark.sql.connect.utils import check_dependencies

        check_dependencies()
    except Exception as exc:  # PySparkImportError for a missing grpc/zstandard
        pytest.skip(f"Spark Connect client dependencies missing: {type(exc).__name__}")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([SRC] + [p for p in sys.path if p]), OMP_NUM_THREADS="1",
               NUMBA_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, timeout=1200)
    where = "\n".join(ln for ln in out.stderr.splitlines() if 'File "' in ln or "Error" in ln or "Exception" in ln)
    assert "CONNECT-OK" in out.stdout, out.stdout + where[-6000:]
