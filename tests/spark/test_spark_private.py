"""bigclust.spark.decode_reports: a DataFrame of private reports decoded partition by partition and
merged equals one decoder fed every report, byte for byte; replays across partitions and invalid
reports are refused without quoting a report; bad columns fail before any Spark job."""

import numpy as np
import pytest

pyspark = pytest.importorskip("pyspark")

from bigclust.private import (  # noqa: E402
    Decoder, Encoder, ProtocolParams, RandomSource, ShuffleDecoder, ShuffleEncoder, ShuffleParams,
)
from bigclust.spark import decode_reports  # noqa: E402

pytestmark = pytest.mark.spark

P = ProtocolParams(n_features=3, epsilon=2.0, n_levels=6, bucket_bits=4, radius="unit")


def _points(n, d=3, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-0.5, 0.5, (3, d))
    return np.clip(centres[rng.integers(0, 3, n)] + rng.normal(0, 0.05, (n, d)), -0.55, 0.55)


def _frame(spark, blobs, ids=None, partitions=3):
    rows = [(bytes(b),) if ids is None else (bytes(b), ids[i]) for i, b in enumerate(blobs)]
    schema = "report binary" if ids is None else "report binary, cid string"
    return spark.createDataFrame(rows, schema).repartition(partitions)


def test_partitions_merge_to_one_decoder_byte_for_byte(spark):
    reports = Encoder(P, 5, random_source=RandomSource(1)).encode_array(_points(600))
    blobs = [r.tobytes() for r in reports]
    whole = Decoder(P, 5).add(reports)
    got = decode_reports(_frame(spark, blobs, partitions=4), P, 5)
    assert type(got) is Decoder and got.n_reports_ == 600
    assert got.to_bytes() == whole.to_bytes()  # the same aggregates, so the same centres from fit()
    # rows holding several concatenated reports, and empty partitions (6 rows in 10), change nothing
    packed = [b"".join(blobs[i:i + 7]) for i in range(0, 42, 7)]
    got = decode_reports(_frame(spark, packed, partitions=10), P, 5)
    assert got.to_bytes() == Decoder(P, 5).add(reports[:42]).to_bytes()


def test_client_ids_refuse_replays_across_partitions(spark):
    reports = Encoder(P, 5, random_source=RandomSource(2)).encode_array(_points(300, seed=2))
    blobs = [r.tobytes() for r in reports]
    ids = [f"user-{i}" for i in range(300)]
    ok = decode_reports(_frame(spark, blobs, ids), P, 5, client_id_col="cid")
    assert ok.to_bytes() == Decoder(P, 5).add(reports, client_ids=ids).to_bytes()
    replayed = blobs + blobs[:40]  # 40 replays, spread over the partitions
    with pytest.raises(ValueError, match=r"client id|replays"):
        decode_reports(_frame(spark, replayed, ids + ids[:40]), P, 5, client_id_col="cid")


def test_invalid_reports_are_refused_without_quoting_them(spark):
    reports = Encoder(P, 5, random_source=RandomSource(3)).encode_array(_points(100, seed=3))
    blobs = [r.tobytes() for r in reports]
    foreign = Encoder(P, 6, random_source=RandomSource(3)).encode_array(_points(5, seed=3))  # another public seed
    secret = b"my-secret-987654321"
    bad_length = blobs[:10] + [secret]
    for rows in (blobs + [r.tobytes() for r in foreign], bad_length):
        with pytest.raises(ValueError, match="refused") as err:
            decode_reports(_frame(spark, rows), P, 5)
        assert "987654321" not in str(err.value) and "secret" not in str(err.value)


def test_bad_columns_and_params_fail_before_any_job(spark):
    df = spark.createDataFrame([(b"x", 1.0)], "report binary, score double")
    jobs = spark.sparkContext.statusTracker().getJobIdsForGroup()
    with pytest.raises(ValueError, match="not in the DataFrame"):
        decode_reports(df, P, 5, reports_col="reports")
    with pytest.raises(TypeError, match="expected binary"):
        decode_reports(df, P, 5, reports_col="score")
    with pytest.raises(TypeError, match="ProtocolParams"):
        decode_reports(df, {"epsilon": 1}, 5)
    with pytest.raises(TypeError, match="Spark DataFrame"):
        decode_reports([b"x"], P, 5)
    assert spark.sparkContext.statusTracker().getJobIdsForGroup() == jobs


def test_shuffle_protocol_messages(spark):
    p = ShuffleParams(n_features=2, epsilon=8.0, delta=1e-3, n_users=400, n_levels=3, radius="unit")
    X = _points(400, d=2, seed=4)
    enc = ShuffleEncoder(p, 9, random_source=RandomSource(4))
    msgs = [enc.encode(X[i], i) for i in range(p.n_users)]
    got = decode_reports(_frame(spark, msgs), p, 9)
    assert type(got) is ShuffleDecoder
    assert got.to_bytes() == ShuffleDecoder(p, 9).add(msgs).to_bytes()
    with pytest.raises(ValueError, match="no client ids"):
        decode_reports(_frame(spark, msgs[:3], ["a", "b", "c"]), p, 9, client_id_col="cid")


@pytest.mark.parametrize("wide", [False, True])
def test_concatenated_binary_values_of_sliced_arrays(wide):
    """The no-ids fast path reads an Arrow array's data buffer: offsets of sliced and large-binary arrays."""
    import pyarrow as pa

    from bigclust.private._spark import _concatenated

    values = [bytes([i]) * (i % 5) for i in range(40)]
    arr = pa.array(values, pa.large_binary() if wide else pa.binary())
    for lo, hi in ((0, 40), (7, 31), (39, 40), (12, 12)):
        assert _concatenated(arr.slice(lo, hi - lo)) == b"".join(values[lo:hi])
