"""What a deployment needs: sharded aggregation, a serialised aggregate, replay refusal,
no private value in any message, no silent public bound, and the utility guard rails."""

import json
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bigclust.private import (
    ClippingWarning,
    Decoder,
    Encoder,
    LocalDPKMeans,
    PrivateUtilityWarning,
    ProtocolParams,
    RandomSource,
    ShuffleDPKMeans,
)

P = ProtocolParams(n_features=3, epsilon=2.0, n_levels=6, bucket_bits=4, radius="unit")
PN = ProtocolParams(n_features=3, epsilon=3.0, n_levels=4, tree="net", histogram_mechanism="olh",
                    vector_mechanism="coordinate", radius=2.0)


def _clusters(n, seed=0, d=3, k=3):
    rng = np.random.default_rng(seed)
    C = rng.standard_normal((k, d))
    C *= 0.7 / np.linalg.norm(C, axis=1, keepdims=True)
    return C[rng.integers(k, size=n)] + 0.02 * rng.standard_normal((n, d))


def _reports(p, n, seed=0):
    return Encoder(p, 5, random_source=RandomSource(seed)).encode_array(_clusters(n, seed))


def _same(a: Decoder, b: Decoder):
    assert a.n_reports_ == b.n_reports_
    for name in ("_hsum", "_hcount", "_vsum", "_vcount"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


@settings(max_examples=10, deadline=None)
@given(cuts=st.lists(st.integers(0, 3000), max_size=4), net=st.booleans())
def test_sharded_decode_equals_single_decode_exactly(cuts, net):
    p = PN if net else P
    rep = _reports(p, 3000, seed=len(cuts))
    single = Decoder(p, 5).add(rep)
    bounds = [0] + sorted(cuts) + [3000]
    shards = [Decoder(p, 5).add(rep[a:b]) for a, b in zip(bounds, bounds[1:])]
    merged = Decoder(p, 5)
    for s in reversed(shards):  # any order
        merged.merge(Decoder.from_bytes(s.to_bytes(), p, 5))
    _same(single, merged)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrivateUtilityWarning)
        a = single.fit(3, random_state=0).cluster_centers
        b = merged.fit(3, random_state=0).cluster_centers
    np.testing.assert_array_equal(a, b)


def test_serialised_aggregate_round_trip_and_refusals():
    rep = _reports(P, 2000)
    dec = Decoder(P, 5).add(rep, client_ids=[f"user-{i}" for i in range(2000)])
    blob = dec.to_bytes()
    assert blob[:8] == b"BCPRVDEC" and int.from_bytes(blob[8:10], "little") == 1
    back = Decoder.from_bytes(blob, P, 5)
    _same(dec, back)
    assert back.to_bytes() == blob
    with pytest.raises(ValueError, match="already seen"):  # the id set travels with the aggregate
        back.add(rep[:1], client_ids=["user-7"])
    with pytest.raises(ValueError, match="different public parameters"):
        Decoder.from_bytes(blob, P, 6)
    with pytest.raises(ValueError, match="different public parameters"):
        Decoder.from_bytes(blob, ProtocolParams(n_features=3, epsilon=2.5, n_levels=6, bucket_bits=4, radius="unit"), 5)
    for bad in (blob[:-1], blob[:40], b"X" + blob[1:], blob[:100] + bytes([blob[100] ^ 1]) + blob[101:]):
        with pytest.raises(ValueError, match="corrupted"):
            Decoder.from_bytes(bad, P, 5)
    assert b"user-7" not in blob  # ids are stored as digests


def test_merge_refuses_other_parameters_and_cross_shard_replays():
    rep = _reports(P, 400)
    with pytest.raises(ValueError, match="different public parameters or public seed"):
        Decoder(P, 5).merge(Decoder(P, 6).add(Encoder(P, 6, random_source=RandomSource(1)).encode_array(_clusters(10))))
    with pytest.raises(TypeError):
        Decoder(P, 5).merge(object())
    a = Decoder(P, 5).add(rep[:200], client_ids=range(200))
    b = Decoder(P, 5).add(rep[200:], client_ids=range(199, 399))
    with pytest.raises(ValueError, match="1 client id"):
        a.merge(b)
    assert a.n_reports_ == 200  # nothing merged
    c = Decoder(P, 5).add(rep[200:], client_ids=range(200, 400))
    assert a.merge(c).n_reports_ == 400
    with pytest.raises(ValueError, match="cannot check them"):
        Decoder(P, 5).add(rep[:5]).merge(c)


def test_client_ids_refuse_replays():
    rep = _reports(P, 300)
    dec = Decoder(P, 5).add(rep[:100], client_ids=[b"a%d" % i for i in range(100)])
    before = dec.to_bytes()
    with pytest.raises(ValueError, match="2 report"):  # one repeat within the batch, one seen before
        dec.add(rep[100:103], client_ids=[b"new", b"new", b"a5"])
    assert dec.to_bytes() == before  # nothing was added
    with pytest.raises(ValueError, match="every batch needs client_ids"):
        dec.add(rep[100:110])
    with pytest.raises(ValueError, match="entries for"):
        dec.add(rep[100:110], client_ids=["x"])
    with pytest.raises(TypeError, match="client ids"):
        dec.add(rep[100:101], client_ids=[1.5])
    dec.add(rep[100:], client_ids=[b"b%d" % i for i in range(200)])
    assert dec.n_reports_ == 300
    # the replay attack of the issue: copies of one valid report are refused with ids
    replay = np.repeat(rep[:1], 50)
    with pytest.raises(ValueError, match="50 report"):
        dec.add(replay, client_ids=[b"a0"] * 50)


SECRET = "my-secret-4711"


def _no_secret(text: str):
    assert SECRET not in text and "4711" not in text


def test_no_private_value_in_any_message(tmp_path, capsys):
    from bigclust.cli import main

    messages = []

    def grab(fn):
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            try:
                fn()
            except Exception as exc:  # noqa: BLE001 - every error path is checked
                messages.append(f"{type(exc).__name__}: {exc} {exc.__cause__!r} {exc.__context__!r}")
            messages.extend(str(w.message) for w in rec)

    p = ProtocolParams(n_features=2, epsilon=1.0, n_levels=3, radius="unit")
    enc = Encoder(p, 1)
    grab(lambda: enc.encode([SECRET, 1.0]))
    grab(lambda: enc.encode(np.array([SECRET, "1"])))
    grab(lambda: enc.encode_batch([[SECRET, 1.0]]))
    grab(lambda: enc.encode_batch([[1.0, 2.0, 3.0]]))
    grab(lambda: enc.encode([float("nan"), 4711.0]))
    grab(lambda: ProtocolParams(n_features=2, epsilon=1.0, radius="unit", center=(SECRET, 1.0)))
    grab(lambda: ProtocolParams(n_features=2, epsilon=1.0, radius=SECRET))
    X = [[SECRET, 1.0], [0.0, 1.0]]
    grab(lambda: LocalDPKMeans(2, radius="unit").fit(X))
    grab(lambda: LocalDPKMeans(2, radius="unit").fit(np.array(X, dtype=object)))
    try:
        import pandas as pd

        df = pd.DataFrame({"a": [SECRET, "1.0"], "b": [1.0, 2.0]})
        grab(lambda: LocalDPKMeans(2, radius="unit").fit(df))
        grab(lambda: ShuffleDPKMeans(2, radius="unit").fit(df))
    except ImportError:  # pragma: no cover
        pass
    dec = Decoder(p, 1)
    grab(lambda: dec.add(enc.encode_array(np.zeros((2, 2))), client_ids=[SECRET, SECRET]))
    grab(lambda: Decoder(p, 1).add(enc.encode_array(np.zeros((1, 2))), client_ids=[SECRET.encode()]).add(
        enc.encode_array(np.zeros((1, 2))), client_ids=[SECRET.encode()]))
    # a fitted model's report and the CLI's output hold no data value
    Xs = np.full((300, 2), 0.4711)
    m = LocalDPKMeans(2, epsilon=1.0, n_levels=3, radius="unit", random_state=0)
    grab(lambda: m.fit(Xs))
    assert "0.4711" not in json.dumps(m.report_, default=str)
    csv = tmp_path / "x.csv"
    csv.write_text("a,b\n1.0,2.0\n" + SECRET + ",3.0\n")
    assert main(["private-kmeans", str(csv), "-k", "2", "--epsilon", "1", "--radius", "unit"]) == 2
    tsv = tmp_path / "y.csv"
    tsv.write_text("1.0,2.0\n3.0," + SECRET + "\n")
    assert main(["private-kmeans", str(tsv), "-k", "2", "--epsilon", "1", "--radius", "unit"]) == 2
    out = capsys.readouterr()
    messages.append(out.out + out.err)
    assert len(messages) >= 14
    for text in messages:
        _no_secret(text)


def test_cli_bounds_epsilon_and_requires_radius(tmp_path, capsys):
    from bigclust.cli import main

    f = tmp_path / "x.npy"
    np.save(f, _clusters(200))
    assert main(["private-kmeans", str(f), "-k", "2", "--epsilon", "1e6", "--radius", "unit"]) == 2
    err = capsys.readouterr().err
    assert "--epsilon must be in (0, 64]" in err and "Overflow" not in err
    assert main(["private-kmeans", str(f), "-k", "2", "--epsilon", "1e6", "--radius", "unit", "--shuffle"]) == 2
    assert "--epsilon must be in" in capsys.readouterr().err
    for bad in ("0", "-2", "inf", "nan", "wide"):
        assert main(["private-kmeans", str(f), "-k", "2", "--epsilon", "1", "--radius", bad]) == 2
        assert "--radius" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["private-kmeans", str(f), "-k", "2", "--epsilon", "1"])
    assert "--radius" in capsys.readouterr().err
    with pytest.raises(ValueError, match="at most 64"):
        ProtocolParams(n_features=2, epsilon=1e6, radius="unit")
    with pytest.raises(ValueError, match="epsilon"):
        LocalDPKMeans(2, epsilon=1e6, radius="unit").fit(_clusters(50, d=2))


def test_no_silent_public_bound():
    X = np.random.default_rng(0).uniform(0, 50, size=(400, 5))
    with pytest.raises(ValueError, match="radius is required"):
        LocalDPKMeans(2, epsilon=1.0).fit(X)
    with pytest.raises(ValueError, match="radius is required"):
        ProtocolParams(n_features=5, epsilon=1.0)
    with pytest.warns(ClippingWarning, match=r"100\.00% of the rows"):
        LocalDPKMeans(2, epsilon=1.0, n_levels=3, radius="unit", random_state=0).fit(X)
    inside = X[:, :1] - 25.0  # |x - 0| <= 25 for every row
    with pytest.warns(ClippingWarning, match=r"^(?!.*100\.00)\d+\.\d\d% of the rows"):
        LocalDPKMeans(2, epsilon=1.0, n_levels=3, radius=20.0, random_state=0).fit(inside)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ClippingWarning)
        warnings.simplefilter("ignore", PrivateUtilityWarning)
        LocalDPKMeans(2, epsilon=1.0, n_levels=3, radius=25.0, random_state=0).fit(inside)
        LocalDPKMeans(2, epsilon=1.0, n_levels=3, radius=56.0, center=[25.0] * 5, random_state=0).fit(X)


def test_k_capped_by_the_coreset_and_stated():
    X = _clusters(200)
    with pytest.warns(PrivateUtilityWarning, match="n_clusters=500"):
        m = LocalDPKMeans(500, epsilon=1.0, n_levels=6, radius="unit", random_state=0).fit(X)
    r = m.report_
    assert m.cluster_centers_.shape[0] == r["n_centers"] <= r["decoder_coreset_size"] + 1 < 500
    assert r["n_distinct_centers"] == len(np.unique(m.cluster_centers_, axis=0))
    dec = Decoder(P, 5).add(_reports(P, 5000))
    with pytest.warns(PrivateUtilityWarning, match="n_clusters=10000000"):
        res = dec.fit(10**7, random_state=0)
    assert res.cluster_centers.shape[0] == res.info["n_centers"] == res.info["coreset_size"] + 1
    assert res.info["n_clusters_requested"] == 10**7 and res.info["public_centre_added"]
    np.testing.assert_array_equal(res.cluster_centers[-1], np.zeros(3))  # the public centre


def test_a_small_coreset_is_never_worse_than_the_trivial_answer():
    # d = 100, n = 20,000, eps = 2, k = 8: the coreset finds two clusters; the spare
    # slot holds the public centre, so every point pays at most ||x - center||^2
    rng = np.random.default_rng(0)
    C = rng.standard_normal((8, 100))
    C *= 0.9 / np.linalg.norm(C, axis=1, keepdims=True)
    X = C[rng.integers(8, size=20000)] + 0.01 * rng.standard_normal((20000, 100))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrivateUtilityWarning)
        m = LocalDPKMeans(8, epsilon=2.0, radius="unit", random_state=0).fit(X)
    assert m.report_["decoder_public_centre_added"] and 1 <= m.report_["decoder_coreset_size"] < 8
    d2 = ((X[:, None, :] - m.cluster_centers_[None]) ** 2).sum(-1).min(1)
    assert (d2 <= (X**2).sum(1) + 1e-9).all()


def test_noise_floor_warning():
    dec = Decoder(P, 5)
    # k^2 |V| C^2 (pi/2) d radius^2, the formula of docs/private.md
    eps_v = float(P.epsilons()[1])
    C = (np.exp(eps_v) + 1) / (np.exp(eps_v) - 1)
    assert dec.expected_noise_floor(4) == pytest.approx(16 * 1 * C**2 * np.pi / 2 * 3)
    X = _clusters(300)
    with pytest.warns(PrivateUtilityWarning, match="noise floor"):
        LocalDPKMeans(8, epsilon=1.0, n_levels=4, radius="unit", random_state=0).fit(X)
    # many users, few clusters, a fair budget: no warning
    big = _clusters(20000)
    with warnings.catch_warnings():
        warnings.simplefilter("error", PrivateUtilityWarning)
        LocalDPKMeans(3, epsilon=4.0, n_levels=6, radius="unit", random_state=0).fit(big)


def test_merge_with_itself_is_refused():
    dec = Decoder(P, 5).add(_reports(P, 50))
    with pytest.raises(ValueError, match="itself"):
        dec.merge(dec)


def test_chunk_boundaries_do_not_change_the_aggregates(monkeypatch):
    # the decoder folds reports in chunks; integer aggregates make the chunking invisible
    rep = _reports(P, 5000, seed=3)
    whole = Decoder(P, 5).add(rep)
    monkeypatch.setattr(Decoder, "_CHUNK", 97)
    _same(whole, Decoder(P, 5).add(rep[::-1]))
    parts = Decoder(P, 5)
    for s in range(0, 5000, 1234):
        parts.merge(Decoder(P, 5).add(rep[s:s + 1234]))
    _same(whole, parts)
