"""Decoding a Spark DataFrame of private reports: one decoder per partition, merged on the driver.

The aggregates of both protocols are exact integer sums (docs/private.md), so decoding
shard by shard and merging is bit-identical to one decoder fed every report
(:meth:`Decoder.merge <bigclust.private.Decoder.merge>`). Each Spark task folds its
partition into a fresh decoder and emits the decoder's :meth:`to_bytes` (one row per
partition); the driver merges them one at a time through ``toLocalIterator``, so it
holds at most two aggregates whatever the number of partitions. Nothing here reads a
report's content on the driver.
"""

from __future__ import annotations

import numpy as np

from ._multimessage import ShuffleDecoder, ShuffleParams
from ._protocol import Decoder, ProtocolParams

_BATCH_ROWS = 65536  # reports folded per add(): bounds a task's Python memory, not its result


def _decoder_for(params, public_seed: int):
    if isinstance(params, ShuffleParams):
        return ShuffleDecoder(params, public_seed)
    if isinstance(params, ProtocolParams):
        return Decoder(params, public_seed)
    raise TypeError("params must be a ProtocolParams (local protocol) or a ShuffleParams (shuffle protocol).")


def _concatenated(col) -> bytes:
    """The values of an Arrow binary (or large binary) array without nulls, concatenated."""
    import pyarrow as pa

    if len(col) == 0:
        return b""
    wide = pa.types.is_large_binary(col.type)
    _, offsets, data = col.buffers()
    off = np.frombuffer(offsets, dtype=np.int64 if wide else np.int32, count=len(col) + 1, offset=col.offset * (8 if wide else 4))
    return data.slice(int(off[0]), int(off[-1] - off[0])).to_pybytes()


def _partition_task(params, public_seed: int, use_ids: bool):
    """mapInArrow body: fold the partition's reports into one decoder; one row (aggregate or error)."""

    def run(batches):
        import pyarrow as pa

        dec = _decoder_for(params, public_seed)
        error = None
        try:
            for batch in batches:
                reports = batch.column(0)
                if reports.null_count:
                    raise ValueError(f"{reports.null_count} report(s) are null.")
                if not use_ids:  # the batch's rows back to back: one slice of its data buffer, no per-row objects
                    dec.add(_concatenated(reports))
                    continue
                if batch.column(1).null_count:
                    raise ValueError(f"{batch.column(1).null_count} client id(s) are null.")
                ids, values = batch.column(1).to_pylist(), reports.to_pylist()
                for lo in range(0, len(values), _BATCH_ROWS):  # one id per row: rows stay separate
                    dec.add(values[lo:lo + _BATCH_ROWS], client_ids=ids[lo:lo + _BATCH_ROWS])
        except (ValueError, TypeError) as exc:  # the decoder's messages never quote a report's content
            error = f"{type(exc).__name__}: {exc}"
        blob = None if error is not None else dec.to_bytes()
        yield pa.RecordBatch.from_pydict({"aggregate": [blob], "error": [error]},
                                         schema=pa.schema([("aggregate", pa.binary()), ("error", pa.string())]))

    return run


def decode_reports(df, params, public_seed: int, reports_col: str = "report", client_id_col: str | None = None):
    """Aggregate a Spark DataFrame of private reports into one decoder, partition by partition.

    Parameters
    ----------
    df : pyspark.sql.DataFrame
        One row per report (local protocol: one :data:`REPORT_SIZE`-byte report, or
        several concatenated) or per batch of shuffled messages (shuffle protocol:
        a multiple of :data:`MESSAGE_SIZE` bytes), in a binary column.
    params : ProtocolParams or ShuffleParams
        The public parameters the clients used; the decoder type follows them
        (:class:`Decoder` or :class:`ShuffleDecoder`).
    public_seed : int
        The public seed the clients used.
    reports_col : str, default="report"
        The binary column holding the reports.
    client_id_col : str, optional
        A column of authenticated client ids (local protocol only): a repeated id,
        within or across partitions, is refused as a replay (:meth:`Decoder.add`).

    Returns
    -------
    Decoder or ShuffleDecoder
        Equal, aggregate for aggregate, to one decoder fed every row; call
        ``.fit(n_clusters)`` for the centres.

    Raises
    ------
    ValueError, TypeError
        Before any Spark job for a missing or mistyped column or wrong ``params``;
        after the aggregation job for invalid reports (the decoder's own message,
        naming counts, never a report's content), with nothing returned.
    """
    from pyspark.sql.types import BinaryType

    from ..lshtree._spark._engine import is_spark_dataframe

    if not is_spark_dataframe(df):
        raise TypeError("decode_reports takes a Spark DataFrame; for reports in memory use Decoder.add.")
    result = _decoder_for(params, public_seed)  # checks params and the seed before any job
    cols = [reports_col] + ([client_id_col] if client_id_col is not None else [])
    for c in cols:
        if not isinstance(c, str) or c not in df.columns:
            raise ValueError(f"column {c!r} not in the DataFrame (columns: {df.columns}).")
    if not isinstance(df.schema[reports_col].dataType, BinaryType):
        raise TypeError(f"column {reports_col!r} has type {df.schema[reports_col].dataType.simpleString()}; "
                        "expected binary (the report bytes).")
    use_ids = client_id_col is not None
    if use_ids and isinstance(params, ShuffleParams):
        raise ValueError("the shuffle protocol's decoder takes no client ids (the shuffler hides senders).")
    parts = df.select(*cols).mapInArrow(_partition_task(params, public_seed, use_ids),
                                        "aggregate binary, error string")
    for row in parts.toLocalIterator():  # one aggregate at a time on the driver
        if row["error"] is not None:
            raise ValueError("a partition's reports were refused: " + row["error"])
        result.merge(type(result).from_bytes(row["aggregate"], params, public_seed))
    return result
