"""The session bigclust starts runs its workers on this interpreter; a session whose workers cannot
import bigclust fails in seconds with a message naming what to set.

One child interpreter (one JVM) whose PATH does not hold this interpreter's directory: the first
``python3`` on its PATH is a shim that cannot import bigclust, which is what Spark's workers run by
default (the situation of a virtual environment run by its full path).
"""

import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("pyspark")

pytestmark = pytest.mark.spark

SRC = os.path.join(os.path.dirname(__file__), "..", "..", "src")

CHILD = textwrap.dedent("""
    import sys, time
    from pyspark.sql import SparkSession
    from bigclust.spark import get_session
    from bigclust.lshtree._spark._session import check_workers, WorkerEnvironmentError
    from bigclust import LSHTreeKMeans
    import numpy as np

    s = get_session("local[1]")
    assert s.conf.get("spark.pyspark.python") == sys.executable, s.conf.get("spark.pyspark.python")
    check_workers(s)  # raises unless the workers import bigclust
    print("OWN-SESSION-OK", flush=True)
    s.stop()

    # a user's session with Spark's defaults: workers run 'python3' from PATH (the shim)
    user = SparkSession.builder.master("local[1]").config("spark.ui.showConsoleProgress", "false").getOrCreate()
    user.sparkContext.setLogLevel("OFF")
    df = user.createDataFrame([([float(i), 0.0],) for i in range(50)], "features array<double>")
    t0 = time.perf_counter()
    try:
        LSHTreeKMeans(2, engine="spark", refine=0).fit(df)
    except WorkerEnvironmentError as e:
        print("USER-SESSION-ERROR", round(time.perf_counter() - t0, 1), str(e).replace(chr(10), " "), flush=True)
    else:
        print("USER-SESSION-NO-ERROR", flush=True)
    user.stop()
""")


def test_own_session_uses_this_interpreter_and_foreign_workers_fail_fast(tmp_path):
    block = tmp_path / "block" / "bigclust"
    block.mkdir(parents=True)
    (block / "__init__.py").write_text("raise ModuleNotFoundError(\"No module named 'bigclust'\", name='bigclust')\n")
    shim_dir = tmp_path / "bin"
    shim_dir.mkdir()
    shim = shim_dir / "python3"
    # a Python that cannot import bigclust (it has PySpark, like a system Python with pyspark installed)
    shim.write_text(f'#!/bin/sh\nPYTHONPATH="{tmp_path / "block"}:$PYTHONPATH" exec "{sys.executable}" "$@"\n')
    shim.chmod(0o755)
    here = os.path.dirname(sys.executable)
    path = [str(shim_dir)] + [p for p in os.environ.get("PATH", "").split(os.pathsep)
                              if p and os.path.realpath(p) != os.path.realpath(here) and "pyenv" not in p]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYSPARK")}
    env.update(PATH=os.pathsep.join(path), PYTHONPATH=os.path.abspath(SRC), OMP_NUM_THREADS="1",
               NUMBA_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, timeout=600)
    assert "OWN-SESSION-OK" in out.stdout, out.stdout + out.stderr[-3000:]
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("USER-SESSION")]
    assert lines and lines[0].startswith("USER-SESSION-ERROR"), out.stdout + out.stderr[-3000:]
    seconds = float(lines[0].split()[1])
    assert seconds < 60  # one one-row probe job (with its task retries), not a fit
    assert "spark.pyspark.python" in lines[0] and "PYSPARK_PYTHON" in lines[0] and sys.executable in lines[0]
