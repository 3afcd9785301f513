"""Arrow <-> NumPy helpers for ``mapInArrow`` tasks and packed blob rows."""

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


def part_batches(part, n_parts, pack, kind=None, chunk=1 << 20):
    """Record batches ``(part[, kind], blob)``: the rows of each part, ``pack(rows)`` bytes per
    chunk of at most ``chunk`` rows; ``part`` gives each row's part."""
    import pyarrow as pa

    order = np.argsort(part, kind="stable")
    bounds = np.searchsorted(part[order], np.arange(n_parts + 1))
    for r in range(n_parts):
        sel = order[bounds[r]:bounds[r + 1]]
        packed = [pack(sel[s:s + chunk]) for s in range(0, sel.shape[0], chunk)]
        if not packed:
            continue
        cols, names = [pa.array(np.full(len(packed), r, np.int32))], ["part"]
        if kind is not None:
            cols.append(pa.array(np.full(len(packed), kind, np.int32)))
            names.append("kind")
        yield pa.RecordBatch.from_arrays(cols + [pa.array(packed, pa.binary())], names=names + ["blob"])


def blobs(batches):
    """``(kind, blob)`` for every row of ``(part, [kind,] blob)`` batches (kind None if absent)."""
    for b in batches:
        kinds = b.column("kind").to_numpy() if "kind" in b.schema.names else None
        for r, blob in enumerate(b.column("blob")):
            yield (None if kinds is None else int(kinds[r])), memoryview(blob.as_buffer())
