"""Encoder/Decoder: report format, aggregation against dense oracles, bounded memory, errors."""

import math
import warnings

import numpy as np
import pytest
from scipy.linalg import hadamard

from bigclust.private import (
    FORMAT_VERSION,
    REPORT_DTYPE,
    REPORT_SIZE,
    Decoder,
    Encoder,
    ProtocolParams,
    RandomSource,
)
from bigclust.private._protocol import PrivateUtilityWarning, parse_reports


def _data(n=3000, d=3, k=3, seed=0, spread=0.01):
    rng = np.random.default_rng(seed)
    C = rng.standard_normal((k, d))
    C *= 0.8 / np.linalg.norm(C, axis=1, keepdims=True)
    lab = rng.integers(k, size=n)
    return C[lab] + spread * rng.standard_normal((n, d)), C


def test_report_format_fields():
    p = ProtocolParams(radius="unit", n_features=3, epsilon=1.0, n_levels=5, bucket_bits=3)
    enc = Encoder(p, 11, random_source=RandomSource(0))
    X, _ = _data(500)
    one = enc.encode(X[0])
    assert isinstance(one, bytes) and len(one) == REPORT_SIZE == 24
    raw = enc.encode_batch(X)
    assert len(raw) == 24 * 500
    r = parse_reports(raw)
    assert (r["version"] == FORMAT_VERSION).all() and FORMAT_VERSION == 2
    assert ((r["hlevel"] >= 1) & (r["hlevel"] <= 5)).all()
    assert (r["vlevel"] == 5).all()  # "deepest"
    dom = np.minimum(2 ** r["hlevel"].astype(int), 8)
    assert (r["hrow"] < dom).all() and (r["flags"] < 4).all()
    assert len(set(r["fingerprint"].tolist())) == 1
    # byte layout: little-endian, documented offsets
    b = np.frombuffer(raw[:24], dtype=np.uint8)
    assert b[0] == 2 and int.from_bytes(raw[8:12], "little") == r["hrow"][0]
    assert int.from_bytes(raw[16:24], "little") == r["payload"][0]


def test_seeded_encoder_reproducible_and_csprng_default():
    p = ProtocolParams(radius="unit", n_features=3, epsilon=1.0, n_levels=4)
    X, _ = _data(200)
    a = Encoder(p, 1, random_source=RandomSource(7)).encode_batch(X)
    b = Encoder(p, 1, random_source=RandomSource(7)).encode_batch(X)
    assert a == b
    assert Encoder(p, 1)._rng.secure


@pytest.mark.parametrize("mech", ["duchi", "coordinate"])
def test_decoder_estimates_match_dense_oracle(mech):
    d, T, bits = 3, 4, 2  # levels 3-4 are hashed into 4 buckets
    p = ProtocolParams(radius="unit", n_features=d, epsilon=2.0, n_levels=T, bucket_bits=bits, vector_levels="all",
                       histogram_levels="all", vector_mechanism=mech)
    X, _ = _data(4000, d)
    rep = Encoder(p, 5, random_source=RandomSource(1)).encode_array(X)
    dec = Decoder(p, 5)
    dec.add(rep[:1000]).add(rep[1000:].tobytes())
    n = 4000
    C_h = dec._pub.hist_mech.unbias()
    for lv in range(1, T + 1):
        D = min(2**lv, 2**bits)
        sel = rep[rep["hlevel"] == lv]
        H = hadamard(D)
        b = np.where(sel["flags"] & 1, 1.0, -1.0)
        dense = (n / len(sel)) * C_h * (b[:, None] * H[sel["hrow"].astype(int)]).sum(0)
        np.testing.assert_allclose(dec.frequency_estimates(lv), dense, rtol=1e-9, atol=1e-6)
        vsel = rep[rep["vlevel"] == lv]
        Z = dec._pub.vec_mech.decode(vsel["payload"], (vsel["flags"] & 2).astype(bool), d).astype(np.float64)
        dense_v = (n / len(vsel)) * H[:, vsel["vrow"].astype(int)] @ Z
        np.testing.assert_allclose(dec.vector_estimates(lv), dense_v, rtol=1e-5, atol=1e-3)


def test_batches_equal_single_add_and_memory_is_bounded():
    p = ProtocolParams(radius="unit", n_features=4, epsilon=1.0, n_levels=6, bucket_bits=4)
    X, _ = _data(20000, 4)
    rep = Encoder(p, 3, random_source=RandomSource(2)).encode_array(X)
    one, many = Decoder(p, 3), Decoder(p, 3)
    one.add(rep[:1000])
    size_small = one.aggregate_nbytes()
    one.add(rep[1000:])
    assert one.aggregate_nbytes() == size_small  # memory does not grow with reports
    for s in range(0, 20000, 3333):
        many.add(rep[s:s + 3333].tobytes())
    np.testing.assert_array_equal(one._hsum, many._hsum)
    np.testing.assert_allclose(one._vsum, many._vsum, rtol=1e-5, atol=1e-3)
    assert one.n_reports_ == many.n_reports_ == 20000


def test_list_of_single_reports_accepted():
    p = ProtocolParams(radius="unit", n_features=2, epsilon=1.0, n_levels=3)
    enc = Encoder(p, 0, random_source=RandomSource(3))
    X, _ = _data(50, 2)
    dec = Decoder(p, 0).add([enc.encode(x) for x in X])
    assert dec.n_reports_ == 50


def test_decoder_rejects_foreign_or_corrupt_reports():
    p = ProtocolParams(radius="unit", n_features=2, epsilon=1.0, n_levels=3)
    q = ProtocolParams(radius="unit", n_features=2, epsilon=2.0, n_levels=3)
    X, _ = _data(20, 2)
    rep = Encoder(p, 0, random_source=RandomSource(3)).encode_array(X)
    with pytest.raises(ValueError, match="different public parameters"):
        Decoder(q, 0).add(rep)
    with pytest.raises(ValueError, match="different public parameters"):
        Decoder(p, 1).add(rep)
    with pytest.raises(ValueError, match="multiple of the 24-byte"):
        Decoder(p, 0).add(rep.tobytes()[:-1])
    bad = rep.copy()
    bad["version"][3] = 9
    with pytest.raises(ValueError, match="format version"):
        Decoder(p, 0).add(bad)
    bad = rep.copy()
    bad["hlevel"][0] = 7
    dec = Decoder(p, 0)
    with pytest.raises(ValueError, match="invalid level"):
        dec.add(bad)
    assert dec.n_reports_ == 0  # nothing was added from the rejected batch
    with pytest.raises(ValueError, match="no reports"):
        Decoder(p, 0).fit(2)


def test_errors_do_not_echo_private_values():
    p = ProtocolParams(radius="unit", n_features=3, epsilon=1.0)
    enc = Encoder(p, 0)
    secret = 123.456789
    for bad in ([secret, np.nan, 1.0], [[secret, 1.0]], "abc"):
        with pytest.raises(ValueError) as e:
            enc.encode_batch(np.atleast_2d(np.array(bad, dtype=object)) if not isinstance(bad, str) else bad)
        assert "123.45" not in str(e.value)


def test_params_validation():
    with pytest.raises(ValueError):
        ProtocolParams(radius="unit", n_features=2, epsilon=-1.0)
    with pytest.raises(ValueError):
        ProtocolParams(radius="unit", n_features=2, epsilon=1.0, tree="kd")
    with pytest.raises(ValueError):
        ProtocolParams(radius="unit", n_features=2, epsilon=1.0, vector_levels=(0, 2))
    with pytest.raises(ValueError):
        ProtocolParams(radius="unit", n_features=2, epsilon=1.0, histogram_share=1.0)
    with pytest.raises(ValueError):
        ProtocolParams(radius="unit", n_features=20, epsilon=1.0, tree="net", projection_dim=9)
    with pytest.raises(TypeError):
        Encoder(ProtocolParams(radius="unit", n_features=2, epsilon=1.0), -3)
    for bad in ((3, 5), (0, 12), "some", (12, 13)):
        with pytest.raises(ValueError, match="histogram_levels"):
            ProtocolParams(radius="unit", n_features=2, epsilon=1.0, histogram_levels=bad)
    eh, ev = ProtocolParams(radius="unit", n_features=2, epsilon=1.0).epsilons()
    assert eh + ev == 1 and 4 * eh == 1  # SimHash default split 1/4 : 3/4
    eh, ev = ProtocolParams(radius="unit", n_features=2, epsilon=1.0, tree="net").epsilons()
    assert eh + ev == 1 and eh == ev  # the paper's split for the net tree
    eh, ev = ProtocolParams(radius="unit", n_features=2, epsilon=1.0, histogram_share=0.5).epsilons()
    assert eh == ev


def test_histogram_levels_resolution():
    def P(**kw):
        return ProtocolParams(radius="unit", **kw)

    assert P(n_features=2, epsilon=1.0, n_levels=12).resolved_histogram_levels() == (12,)
    assert P(n_features=2, epsilon=1.0, n_levels=12, bucket_bits=8).resolved_histogram_levels() == (6, 12)
    assert P(n_features=2, epsilon=1.0, n_levels=20, bucket_bits=8).resolved_histogram_levels() == (6, 13, 20)
    assert P(n_features=2, epsilon=1.0, n_levels=5, histogram_levels="all").resolved_histogram_levels() == (1, 2, 3, 4, 5)
    assert P(n_features=2, epsilon=1.0, n_levels=4, tree="net").resolved_histogram_levels() == (1, 2, 3, 4)
    # every step of "auto" expands a node into at most 2^bucket_bits descendants
    for T in range(1, 40):
        for b in (3, 8, 14):
            lv = (0,) + P(n_features=2, epsilon=1.0, n_levels=T, bucket_bits=b).resolved_histogram_levels()
            assert lv[-1] == T and all(0 < y - x <= b for x, y in zip(lv, lv[1:]))


def test_reports_use_only_histogram_levels_and_decoder_rejects_others():
    p = ProtocolParams(radius="unit", n_features=3, epsilon=1.0, n_levels=6, histogram_levels=(2, 6))
    X, _ = _data(2000)
    rep = Encoder(p, 3, random_source=RandomSource(2)).encode_array(X)
    assert set(np.unique(rep["hlevel"]).tolist()) == {2, 6}
    dec = Decoder(p, 3).add(rep)
    assert dec.frequency_estimates(2).shape == (4,) and dec.frequency_estimates(6).shape == (64,)
    with pytest.raises(ValueError, match="no histogram reports"):
        dec.frequency_estimates(4)
    bad = rep.copy()
    bad["hlevel"][5] = 4  # a level in range but not a histogram level
    with pytest.raises(ValueError, match="invalid level"):
        Decoder(p, 3).add(bad)


@pytest.mark.parametrize("tree,extra", [("simhash", {}), ("net", {"n_levels": 6, "vector_levels": "all"})])
def test_end_to_end_recovers_separated_centres(tree, extra):
    d, k = 2 if tree == "net" else 5, 3
    X, C = _data(60000, d, k, seed=4, spread=0.005)
    p = ProtocolParams(radius="unit", n_features=d, epsilon=16.0, tree=tree, **({"n_levels": 8} | extra))
    rep = Encoder(p, 9, random_source=RandomSource(5)).encode_array(X)
    res = Decoder(p, 9).add(rep).fit(k, random_state=0)
    got = res.cluster_centers
    err = max(np.min(np.linalg.norm(got - c, axis=1)) for c in C)
    assert err < 0.12, (err, res.info)
    assert res.info["coreset_size"] >= k


def test_net_tree_with_random_projection():
    # Algorithm 3 lines 2-6: project d=8 -> d'=3, scale by Lambda, then the lattice tree
    d, k = 8, 2
    X, C = _data(60000, d, k, seed=6, spread=0.003)
    p = ProtocolParams(radius="unit", n_features=d, epsilon=16.0, tree="net", n_levels=6, projection_dim=3, vector_levels="all")
    enc = Encoder(p, 2, random_source=RandomSource(8))
    assert enc._pub.projection.shape == (3, d)
    np.testing.assert_allclose(enc._pub.projection @ enc._pub.projection.T, np.eye(3), atol=1e-12)
    res = Decoder(p, 2).add(enc.encode_array(X)).fit(k, random_state=0)
    err = max(np.min(np.linalg.norm(res.cluster_centers - c, axis=1)) for c in C)
    assert err < 0.2, (err, res.info)


def test_decoder_is_order_invariant_and_shuffler_permutes():
    from bigclust.private import shuffle_reports

    p = ProtocolParams(radius="unit", n_features=3, epsilon=8.0, n_levels=6)
    X, _ = _data(20000, 3)
    rep = Encoder(p, 4, random_source=RandomSource(9)).encode_array(X)
    sh = shuffle_reports(rep, RandomSource(10))
    assert sorted(sh.tobytes()[i:i + 24] for i in range(0, len(sh) * 24, 24)) == sorted(
        rep.tobytes()[i:i + 24] for i in range(0, len(rep) * 24, 24))
    assert not np.array_equal(sh, rep)
    a = Decoder(p, 4).add(rep).fit(3, random_state=0).cluster_centers
    b = Decoder(p, 4).add(sh).fit(3, random_state=0).cluster_centers
    np.testing.assert_allclose(a, b, atol=1e-6)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=25, deadline=None)
@given(
    d=st.integers(1, 6),
    T=st.integers(1, 10),
    bits=st.integers(1, 6),
    tree=st.sampled_from(["simhash", "net"]),
    mech=st.sampled_from(["duchi", "coordinate"]),
    eps=st.floats(0.01, 10.0),
    seed=st.integers(0, 2**32),
)
def test_any_parameters_give_valid_reports_and_a_fit(d, T, bits, tree, mech, eps, seed):
    kw = {"projection_dim": min(d, 2)} if tree == "net" else {}
    p = ProtocolParams(radius="unit", n_features=d, epsilon=eps, n_levels=T, bucket_bits=bits, tree=tree, vector_mechanism=mech, **kw)
    X = np.random.default_rng(seed).standard_normal((300, d)) * 3.0  # many rows outside the ball
    rep = Encoder(p, seed, random_source=RandomSource(seed)).encode_array(X)
    dec = Decoder(p, seed).add(rep)  # validation inside add() accepts every report
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrivateUtilityWarning)  # tiny n: the guard rails speak
        res = dec.fit(2, random_state=0)
    # at most k centres, never more than the coreset supports, always at least one
    m = res.cluster_centers.shape[0]
    assert 1 <= m <= 2 and m <= res.info["coreset_size"] + 1 and res.cluster_centers.shape[1] == d
    if res.info["public_centre_added"]:  # the spare slot holds the public centre (the origin here)
        assert 1 <= res.info["coreset_size"] < 2 and (res.cluster_centers[-1] == 0).all()
    assert m == res.info["n_centers"] and np.isfinite(res.cluster_centers).all()
    assert (np.linalg.norm(res.cluster_centers, axis=1) <= 1 + 1e-9).all()
    assert p.epsilon_spent <= eps


def test_olh_histogram_mechanism_in_the_protocol():
    # eps_h = 2 -> OLH with g = 8: value in flag bits 2..7, bit 0 unused, vector bit 1 intact
    d, T = 3, 5
    p = ProtocolParams(radius="unit", n_features=d, epsilon=8.0, n_levels=T, histogram_mechanism="olh")
    ph = ProtocolParams(radius="unit", n_features=d, epsilon=8.0, n_levels=T)
    assert p.fingerprint(1) != ph.fingerprint(1)
    X, C = _data(30000, d, 3, seed=2, spread=0.003)
    enc = Encoder(p, 1, random_source=RandomSource(4))
    rep = enc.encode_array(X)
    mech = enc._pub.hist_mech
    assert mech.g == 8 and (rep["flags"] & 1 == 0).all() and int((rep["flags"] >> 2).max()) < 8
    dec = Decoder(p, 1).add(rep)
    # decoder aggregate == brute-force OLH counting over the level-T buckets
    codes = enc._pub.tree_codes(X)
    buckets = enc._pub.tree.user_buckets(codes, np.full(len(X), T))
    a = mech._rows(rep["hrow"].astype(np.uint64), np.full(len(X), T, dtype=np.uint64))
    w = (rep["flags"] >> 2).astype(np.uint64)
    count = np.array([np.count_nonzero(((np.bitwise_count(a & np.uint64(y)) & 1).astype(np.uint64)
                                        << np.arange(mech.hash_bits, dtype=np.uint64)).sum(1) == w) for y in range(2**T)])
    pk = mech._p(8)
    np.testing.assert_allclose(dec.frequency_estimates(T), (count - len(X) / 8) / (pk - 1 / 8), atol=1e-6)
    true = np.bincount(buckets.astype(np.int64), minlength=2**T)
    assert np.abs(dec.frequency_estimates(T) - true).max() < 5 * math.sqrt(len(X) * mech.report_variance())
    res = dec.fit(3, random_state=0)
    assert max(np.min(np.linalg.norm(res.cluster_centers - c, axis=1)) for c in C) < 0.1
    bad = rep.copy()
    bad["flags"][0] |= 1  # the HRR bit is not part of an OLH report
    with pytest.raises(ValueError, match="out-of-range"):
        Decoder(p, 1).add(bad)
