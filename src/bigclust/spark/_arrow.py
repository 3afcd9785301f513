"""Arrow <-> NumPy helpers for ``mapInArrow`` tasks, and the fault-injection hook used by tests."""

from __future__ import annotations

import numpy as np


def matrix(col, width: int) -> np.ndarray:
    """A list<double> Arrow column of equal-length rows as an (n, width) float64 array."""
    n = len(col)
    if n == 0:
        return np.empty((0, width), np.float64)
    vals = col.flatten().to_numpy(zero_copy_only=False)
    return np.ascontiguousarray(vals, dtype=np.float64).reshape(n, width)


def vector(col, dtype=None) -> np.ndarray:
    a = col.to_numpy(zero_copy_only=False)
    return a if dtype is None else a.astype(dtype, copy=False)


def list_column(M: np.ndarray):
    """An (n, width) array as an Arrow list<double> column."""
    import pyarrow as pa

    n, width = M.shape
    offsets = pa.array(np.arange(0, (n + 1) * width, width, dtype=np.int32))
    return pa.ListArray.from_arrays(offsets, pa.array(np.ascontiguousarray(M, dtype=np.float64).ravel()))


def ragged_column(values: np.ndarray, offsets: np.ndarray):
    """Rows ``values[offsets[i]:offsets[i+1]]`` as an Arrow list<double> column."""
    import pyarrow as pa

    return pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), pa.array(values.astype(np.float64)))


def maybe_fail(fault, step: str) -> None:
    """Raise on a task's first attempt when ``step`` is (or is in) ``fault`` (tests: Spark must retry and agree).

    Only the first partition fails, and only on attempt 0, so a retried task
    succeeds; the answer must not change.
    """
    if fault is None or (step != fault and step not in (fault if isinstance(fault, (tuple, list, set)) else ())):
        return
    from pyspark import TaskContext

    ctx = TaskContext.get()
    if ctx is not None and ctx.attemptNumber() == 0 and ctx.partitionId() == 0:
        raise RuntimeError(f"bigclust injected fault in step {step!r} (first attempt)")
