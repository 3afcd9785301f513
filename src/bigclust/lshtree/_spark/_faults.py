"""Fault injection for tests: make a task's first attempt fail, so tests can check that Spark's retry gives the same answer.

Production code marks the places where a task may fail with ``maybe_fail("step")``
and takes no parameter for it. A test arms steps for the duration of a block::

    with injected_faults(spark, "hash", "dp:hang"):
        est.fit(X)

The armed steps travel to the executors as a Spark *local property* of the
driver thread (``SparkContext.setLocalProperty``), which Spark attaches to every
task of the jobs that thread submits; nothing is armed outside the block.
"""

from __future__ import annotations

import contextlib
import time

_PROPERTY = "bigclust.test.faults"


@contextlib.contextmanager
def injected_faults(spark, *steps: str):
    """Arm ``steps`` for the jobs this thread submits inside the block.

    A step ``"name"`` makes the first attempt of partition 0 of every task that
    calls ``maybe_fail("name")`` raise; ``"name:hang"`` makes it go silent for an
    hour instead (the stall :func:`~bigclust.lshtree._spark._session.python_worker_watchdog`
    ends). The previous value of the property is restored on exit.
    """
    from ._session import is_connect

    if is_connect(spark):
        raise NotImplementedError("injected_faults needs a classic SparkSession: it sets a local property of the "
                                  "SparkContext, which a Spark Connect client does not have.")
    sc = spark.sparkContext
    previous = sc.getLocalProperty(_PROPERTY)
    sc.setLocalProperty(_PROPERTY, ",".join(steps))
    try:
        yield
    finally:
        sc.setLocalProperty(_PROPERTY, previous)


def maybe_fail(step: str) -> None:
    """Fail (or hang) this task's first attempt if a test armed ``step``; a no-op otherwise and on the driver."""
    from pyspark import TaskContext

    ctx = TaskContext.get()
    if ctx is None:
        return
    armed = ctx.getLocalProperty(_PROPERTY)
    if not armed:
        return
    steps = set(armed.split(","))
    hang = step + ":hang" in steps
    if (step in steps or hang) and ctx.attemptNumber() == 0 and ctx.partitionId() == 0:
        if hang:
            time.sleep(3600)
        raise RuntimeError(f"bigclust injected fault in step {step!r} (first attempt)")
