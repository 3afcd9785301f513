"""Spark session handling and the measurements that go into ``report_``.

``SparkMeter`` records, for the part of a fit it brackets, the Spark jobs and
stages that ran and the bytes they shuffled (read from Spark's monitoring REST
API of the driver UI, which local mode serves too), and counts MPC rounds:
one round per data exchange the algorithm asks for (a shuffle, a sort, a
join that moves rows, or shipping a group of rows to one task).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
import urllib.request

__all__ = ["get_session", "SparkMeter", "checkpoint_partitioned", "python_worker_watchdog", "check_workers",
           "is_connect", "WorkerEnvironmentError"]

# read by the Arrow runners of mapInArrow / pandas UDFs (Spark >= 4.1) when a task starts
_IDLE_TIMEOUT_KEYS = ("spark.sql.execution.pyspark.udf.idleTimeoutSeconds",
                      "spark.sql.execution.pyspark.udf.killOnIdleTimeout")


class WorkerEnvironmentError(RuntimeError):
    """Spark's Python workers cannot run bigclust (found by :func:`check_workers` before any heavy job)."""


def is_connect(spark) -> bool:
    """Whether ``spark`` is a Spark Connect session (no ``sparkContext``, no RDDs, no JVM on this side)."""
    return type(spark).__module__.startswith("pyspark.sql.connect")


def get_session(master: str | None = None, app_name: str = "bigclust"):
    """The active SparkSession, or a new one on ``master`` (default ``local[*]``).

    A new session gets settings bigclust relies on: Arrow transfers, a task
    retry budget in local mode (``local[N,4]``: a failed task is retried up to 3
    times, as on a cluster), and, unless ``PYSPARK_PYTHON`` is set, this very
    interpreter (``sys.executable``) as the Python of the workers and the driver
    (``spark.pyspark.python``, ``spark.pyspark.driver.python``): otherwise Spark
    starts workers with whatever ``python3`` is first on ``PATH``, which need not
    have bigclust (a virtual environment run by its full path).
    """
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None and master is None:
        return active
    m = master or "local[*,4]"
    if m.startswith("local[") and "," not in m:
        m = m[:-1] + ",4]"
    builder = (
        SparkSession.builder.master(m)
        .appName(app_name)
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.ui.showConsoleProgress", "false")
        # the UI's job and stage records are what report_["spark"] counts (SparkMeter); 1,000 is too few for a fit
        .config("spark.ui.retainedJobs", "100000")
        .config("spark.ui.retainedStages", "100000")
    )
    own_python = not os.environ.get("PYSPARK_PYTHON")
    if own_python:
        builder = (builder.config("spark.pyspark.python", sys.executable)
                   .config("spark.pyspark.driver.python", sys.executable))
    spark = builder.getOrCreate()
    if own_python and not is_connect(spark):
        # PySpark's driver hands the JVM ``sc.pythonExec`` (read from PYSPARK_PYTHON, else "python3")
        # with every Python function it ships; the setting above covers spark-submit and executors
        sc = spark.sparkContext
        if sc.pythonExec == "python3":
            sc.pythonExec = sys.executable
    return spark


_CHECKED_SESSIONS: set = set()


def _session_key(spark):
    if is_connect(spark):
        return ("connect", spark.session_id)
    return ("classic", spark.sparkContext.applicationId)


def _probe_task(batches):
    """Runs on an executor. cloudpickle ships this function by reference (its module is importable on
    the driver), so unpickling it imports this module, and with it the bigclust package, there."""
    import pyarrow as pa

    for _ in batches:
        pass
    yield pa.RecordBatch.from_arrays([pa.array([sys.executable])], names=["python"])


def check_workers(spark) -> None:
    """Fail in seconds, before any heavy job, if the executors' Python cannot import bigclust.

    One task on one row (cached per session: a session is checked once). The
    message names what to set: ``spark.pyspark.python`` / ``PYSPARK_PYTHON``
    (an interpreter with bigclust installed, on every executor) before the
    session starts.
    """
    key = _session_key(spark)
    if key in _CHECKED_SESSIONS:
        return
    try:
        spark.range(1, numPartitions=1).mapInArrow(_probe_task, "python string").collect()
    except Exception as exc:
        text = str(exc)
        if "bigclust" in text or "Cannot run program" in text or "No module named" in text:
            conf = None
            with contextlib.suppress(Exception):
                conf = spark.conf.get("spark.pyspark.python", None)
            used = conf or os.environ.get("PYSPARK_PYTHON") or "'python3' first on the executors' PATH"
            raise WorkerEnvironmentError(
                "Spark's Python workers cannot import bigclust (worker Python: "
                f"{used}). Set spark.pyspark.python (or the environment variable PYSPARK_PYTHON) before the "
                "SparkSession starts to a Python that has bigclust installed on every executor, e.g. this driver's "
                f"interpreter {sys.executable}; or install bigclust (pip install 'bigclust[spark]') into the "
                "executors' Python. A session bigclust starts itself (no active session) sets it to "
                "sys.executable.") from exc
        raise
    _CHECKED_SESSIONS.add(key)


def checkpoint_partitioned(df):
    """``df.localCheckpoint()`` that remembers how ``df`` is partitioned.

    A checkpoint cuts the lineage (iterations stay cheap to plan), but with
    adaptive query execution on, Spark 4 records the checkpoint's partitioning
    as unknown, so every later join on the partitioning key shuffles it again.
    Run without adaptive execution, the checkpoint keeps the partitioning of
    its plan (e.g. hash partitioning by ``id``); the setting is restored at once.
    It is a session setting: a query another thread starts on the same session
    during the checkpoint runs without adaptive execution (same result).
    """
    conf = df.sparkSession.conf
    key = "spark.sql.adaptive.enabled"
    before = conf.get(key)
    conf.set(key, "false")
    try:
        return df.localCheckpoint()
    finally:
        conf.set(key, before)


@contextlib.contextmanager
def python_worker_watchdog(spark, seconds: int | None):
    """Within the block, a Python worker silent for ``seconds`` is killed and its task retried.

    "Silent" is Spark's idle timeout: no bytes moved between the executor and
    the worker in either direction. Twice a fit stalled on a worker that
    waited on its socket while its executor thread waited on it (see
    docs/spark.md); killing that worker by hand made Spark retry the task, and
    the fit went on with the same answer. This does the same after
    ``seconds``, through the session settings
    ``spark.sql.execution.pyspark.udf.idleTimeoutSeconds`` and
    ``...killOnIdleTimeout``; their previous values (or their absence) are
    restored on exit. ``seconds=None`` leaves the session as it is. A task
    that legitimately computes for longer than ``seconds`` without sending a
    byte would be killed on every attempt, so ``seconds`` must exceed the
    longest such stretch (the fit's tasks stream their output in batches);
    when a task's last attempt is killed so, the error gets a note that names
    the option.
    It is a session setting: a query another thread runs on the same session
    meanwhile gets it too.
    """
    if seconds is None:
        yield
        return
    conf = spark.conf
    before = [conf.get(key, None) for key in _IDLE_TIMEOUT_KEYS]
    conf.set(_IDLE_TIMEOUT_KEYS[0], str(int(seconds)))
    conf.set(_IDLE_TIMEOUT_KEYS[1], "true")
    try:
        yield
    except Exception as e:
        if "idle timeout" in str(e):  # Spark's PythonWorkerException, on the last attempt of a task
            e.add_note(f"bigclust: a Python worker moved no byte for {int(seconds)} s and was killed, on the last "
                       "attempt of a task. If a task legitimately computes that long, raise "
                       "spark_options['worker_idle_timeout'] (CLI: --worker-idle-timeout).")
        raise
    finally:
        for key, value in zip(_IDLE_TIMEOUT_KEYS, before):
            if value is None:
                conf.unset(key)
            else:
                conf.set(key, value)


class SparkMeter:
    """Counts rounds and collects job, stage and shuffle figures of one fit.

    The algorithmic count (``mpc_rounds``: one per data exchange the algorithm
    asks for, tallied where the code asks for it) sits beside what Spark ran,
    read from Spark itself for the jobs of this fit's job group:
    ``spark_jobs`` (status tracker), ``spark_stages`` (stages of those jobs,
    including ones Spark skipped because their shuffle output already existed),
    and, from the driver UI's REST API, ``spark_stages_run`` (stages that
    completed), ``spark_stages_with_shuffle`` (of those, the ones that wrote or
    read shuffle data) and the shuffle bytes written and read. The UI keeps the
    last ``spark.ui.retainedJobs`` / ``retainedStages`` (1,000 by default;
    :func:`get_session` raises both to 100,000), so on a session with lower
    limits a long fit's counts are lower bounds (``spark_counts_complete``
    says whether every job id of the fit's span was found). Over Spark Connect
    the client has no status tracker: the Spark figures are ``None``.

    Parameters
    ----------
    spark : SparkSession
    """

    def __init__(self, spark):
        self.spark = spark
        self.sc = None if is_connect(spark) else spark.sparkContext
        self.rounds = 0
        self.round_log: dict[str, int] = {}
        self.group = None
        if self.sc is not None:
            self.sc.setJobGroup(f"bigclust-{id(self)}-{time.time_ns()}", "bigclust LSHTreeKMeans fit",
                                interruptOnCancel=False)
            self.group = self.sc.getLocalProperty("spark.jobGroup.id")
        self._t0 = time.time()

    def round(self, what: str, n: int = 1) -> None:
        """Record ``n`` MPC rounds spent on ``what``."""
        self.rounds += n
        self.round_log[what] = self.round_log.get(what, 0) + n

    def finish(self) -> dict:
        """Jobs, stages and shuffle bytes of this fit (the REST figures are best effort: None when unknown)."""
        out = {"mpc_rounds": self.rounds, "mpc_rounds_by_step": dict(self.round_log)}
        if self.sc is None:
            out.update(spark_jobs=None, spark_stages=None, spark_counts_complete=None,
                       **self._rest_stage_metrics(set()))
            return out
        tracker = self.sc.statusTracker()
        job_ids = sorted(tracker.getJobIdsForGroup(self.group))
        stage_ids = set()
        for j in job_ids:
            info = tracker.getJobInfo(j)
            if info is not None:
                stage_ids.update(info.stageIds)
        out.update(spark_jobs=len(job_ids), spark_stages=len(stage_ids),
                   spark_counts_complete=bool(job_ids) and len(job_ids) == job_ids[-1] - job_ids[0] + 1)
        out.update(self._rest_stage_metrics(stage_ids))
        self.sc.setLocalProperty("spark.jobGroup.id", None)
        return out

    def _rest_stage_metrics(self, stage_ids) -> dict:
        unknown = {"spark_stages_run": None, "shuffle_bytes_written": None, "shuffle_bytes_read": None,
                   "spark_stages_with_shuffle": None}
        url = None if self.sc is None else self.sc.uiWebUrl
        if not url or not stage_ids:
            return unknown
        try:
            app = self.sc.applicationId
            with urllib.request.urlopen(f"{url}/api/v1/applications/{app}/stages?status=complete", timeout=10) as fh:
                stages = json.load(fh)
        except Exception:  # the UI may be disabled; the figures are then unknown, not zero
            return unknown
        written = read = 0
        with_shuffle = 0
        seen = set()
        for s in stages:
            sid = s.get("stageId")
            if sid not in stage_ids or sid in seen:
                continue
            seen.add(sid)
            w = int(s.get("shuffleWriteBytes", 0))
            r = int(s.get("shuffleReadBytes", 0))
            written += w
            read += r
            with_shuffle += int(w > 0 or r > 0)
        return {"spark_stages_run": len(seen), "shuffle_bytes_written": written, "shuffle_bytes_read": read,
                "spark_stages_with_shuffle": with_shuffle}
