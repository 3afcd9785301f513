"""Hostile input against the private family (issue 22): LocalDPKMeans, ShuffleDPKMeans,
Encoder/Decoder and ``bigclust private-kmeans``.

Every case names its outcome class:

* ``ERROR``: a clear exception of the stated type before any work, whose message
  states the bound or names the row/column and never repeats the value passed (nor
  a data value: the input is private);
* ``CORRECT``: the answer is checked against an oracle (the same fit on data and
  radius scaled by a power of two, bit for bit; or the exact direction of a clipped
  row);
* ``DOCUMENTED``: the behaviour the docstrings promise (k above the coreset size:
  fewer centres and a warning; rows outside the public ball: clipped, with a
  warning).

Through the CLI: one line on stderr and exit status 2 (1 for a failed write), nothing
on stdout, no output created or changed, no temporary file, the input untouched.
Fits are on 200 points with shallow trees: the file runs in a few seconds.
"""

from __future__ import annotations

import errno
import gzip
import hashlib
import json
import os
import re
import warnings
from dataclasses import dataclass

import numpy as np
import pytest

from bigclust.datasets import make_planted_mixture
from bigclust.private import (
    REPORT_SIZE,
    ClippingWarning,
    Decoder,
    Encoder,
    LocalDPKMeans,
    PrivateUtilityWarning,
    ProtocolParams,
    RandomSource,
    ShuffleDPKMeans,
)
from bigclust.private._protocol import _to_unit_ball
from _cli_helpers import ERROR, run_cli as _run, snapshot as _snapshot  # noqa: E402

ESTIMATORS = [LocalDPKMeans, ShuffleDPKMeans]
SECRET = 7351.123456  # planted in bad inputs: no message may repeat it
N, D = 200, 3


@pytest.fixture(scope="module")
def X():
    """200 x 3 planted points inside the unit ball."""
    X, _, _ = make_planted_mixture(N, D, 3, random_state=0)
    X = X - X.mean(axis=0)
    return X / (1.01 * np.sqrt((X * X).sum(axis=1)).max())


def _quiet_fit(model, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrivateUtilityWarning)
        return model.fit(X)


def _no_echo(message: str, *values) -> None:
    for v in values:
        for text in {str(v), repr(v), f"{v:g}" if isinstance(v, float) else str(v)}:
            assert text not in message, message


# --------------------------------------------------------------------------- estimator parameters

_RANGE = r"\[1e-100, 1e\+100\]"
PARAM_CASES = {
    # epsilon: the message talks about epsilon (what the user passed), states the bound, and
    # never shows the histogram channel's share (1e-6 * 0.25 = 2.5e-07: issue 22, item 10)
    "epsilon 1e-6": (dict(epsilon=1e-6), ValueError, r"epsilon is too small: it must be at least 3\.82e-06 here", (1e-6, 2.5e-07)),
    "epsilon 3e-6": (dict(epsilon=3e-6), ValueError, r"epsilon is too small: it must be at least 3\.82e-06", (3e-6, 7.5e-07)),
    "epsilon 1e-7": (dict(epsilon=1e-7), ValueError, r"epsilon is too small: it must be at least 2\*\*-20", (1e-7,)),
    "epsilon 1e6": (dict(epsilon=1e6), ValueError, r"epsilon must be a real number in \(0, 64\]", (1e6,)),
    "epsilon 0": (dict(epsilon=0.0), ValueError, r"\(0, 64\]", ()),
    "epsilon -1": (dict(epsilon=-1.0), ValueError, r"\(0, 64\]", ()),
    "epsilon nan": (dict(epsilon=float("nan")), ValueError, r"\(0, 64\]", ()),
    "epsilon inf": (dict(epsilon=float("inf")), ValueError, r"\(0, 64\]", ()),
    "epsilon str": (dict(epsilon="1"), TypeError, r"epsilon must be a real number", ()),
    "epsilon bool": (dict(epsilon=True), TypeError, r"epsilon must be a real number", ()),
    "histogram_share tiny": (dict(histogram_share=1e-9), ValueError, r"epsilon is too small: it must be at least .* histogram_share",
                             (1e-9,)),
    "histogram_share 1": (dict(histogram_share=1.0), ValueError, r"histogram_share .* \(0, 1\)", ()),
    "radius missing": (dict(radius=None), ValueError, r"radius is required", ()),
    "radius 0": (dict(radius=0.0), ValueError, _RANGE, ()),
    "radius -1": (dict(radius=-1.0), ValueError, _RANGE, ()),
    "radius nan": (dict(radius=float("nan")), ValueError, _RANGE, ()),
    "radius inf": (dict(radius=float("inf")), ValueError, _RANGE, ()),
    "radius 1e200": (dict(radius=1e200), ValueError, _RANGE, (1e200,)),  # was an OverflowError
    "radius 1e308": (dict(radius=1e308), ValueError, _RANGE, (1e308,)),
    "radius 1e-200": (dict(radius=1e-200), ValueError, _RANGE, (1e-200,)),
    "radius word": (dict(radius="wide"), ValueError, _RANGE, ()),
    "k 0": (dict(n_clusters=0), ValueError, r"n_clusters must be an integer in \[1, inf\)", ()),
    "k float": (dict(n_clusters=2.5), TypeError, r"n_clusters must be an integer", ()),
    "k str": (dict(n_clusters="3"), TypeError, r"n_clusters must be an integer", ()),
    "center short": (dict(center=[0.0, 0.0]), ValueError, r"center must be 3 finite numbers", ()),
    "center nan": (dict(center=[0.0, 0.0, np.nan]), ValueError, r"center must be 3 finite numbers", ()),
    "center secret": (dict(center=["a", f"{SECRET}", "c"]), ValueError, r"center must be numeric", ()),
    "center str": (dict(center="abc"), TypeError, r"center must be None or a list", ()),
    "n_levels 0": (dict(n_levels=0), ValueError, r"n_levels must be an integer in \[1, 63\]", ()),
    "n_levels 64": (dict(n_levels=64), ValueError, r"\[1, 63\]", ()),
    "bucket_bits 25": (dict(bucket_bits=25), ValueError, r"bucket_bits must be an integer in \[1, 24\]", ()),
    "vector_levels 0": (dict(vector_levels=[0]), ValueError, r"vector_levels must be non-empty and within 1\.\.12", ()),
    "vector_levels words": (dict(vector_levels=["a"]), ValueError, r"vector_levels must be", ()),
    "histogram_levels not T": (dict(histogram_levels=[3]), ValueError, r"include n_levels = 12", ()),
    "projection_dim 7": (dict(tree="net", projection_dim=7), ValueError, r"projection_dim .*\[1, 6\]", ()),
    "projection_dim > d": (dict(tree="net", projection_dim=5), ValueError, r"projection_dim must be <= 3", ()),
    "tree unknown": (dict(tree="kd"), ValueError, r"tree must be one of", ()),
    "public_seed -1": (dict(public_seed=-1), ValueError, r"public_seed must be None or an integer in \[0, ", ()),
    "public_seed 2**64": (dict(public_seed=2**64), ValueError, r"public_seed", ()),
    "batch_size 0": (dict(batch_size=0), ValueError, r"batch_size must be an integer in \[1, inf\)", ()),
}


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("case", list(PARAM_CASES))
def test_bad_parameters_are_refused(Est, case, X):
    kwargs, exc, match, values = PARAM_CASES[case]
    kwargs = {"n_clusters": 3, "radius": 1.0, "epsilon": 2.0, "random_state": 0, **kwargs}
    with pytest.raises(exc, match=match) as err:
        Est(**kwargs).fit(X)
    _no_echo(str(err.value), SECRET, *values)


@pytest.mark.parametrize("delta", [0.0, 1.0, -1e-6, float("nan"), 2.0])
def test_shuffle_bad_delta(delta, X):
    with pytest.raises(ValueError, match=r"delta must be a real number in \(0, 1\)"):
        ShuffleDPKMeans(3, radius=1.0, delta=delta).fit(X)


def test_no_sample_weight(X):
    """Documented: the estimators take no weights (one row is one user); a weight is refused, not ignored."""
    with pytest.raises(TypeError, match="sample_weight"):
        LocalDPKMeans(3, radius=1.0).fit(X, sample_weight=np.ones(N))


# --------------------------------------------------------------------------- data


DATA_CASES = {
    "nan": (lambda X: np.r_[X, [[np.nan, 0, 0]]], ValueError, r"NaN or infinite"),
    "inf": (lambda X: np.r_[X, [[0, -np.inf, 0]]], ValueError, r"NaN or infinite"),
    "1-D": (lambda X: X[:, 0], ValueError, r"must be 2-D"),
    "3-D": (lambda X: X[None], ValueError, r"must be 2-D"),
    "empty": (lambda X: np.zeros((0, 3)), ValueError, r"0 sample"),
    "no features": (lambda X: np.zeros((5, 0)), ValueError, r"0 feature"),
    "strings": (lambda X: [["1.0", f"{SECRET}x"]], TypeError, r"expected real numbers|numeric matrix"),
    "objects": (lambda X: np.array([[1.0, f"{SECRET}x"]], dtype=object), (TypeError, ValueError),
                r"numeric matrix|real numbers|offending value is not shown"),
    "complex": (lambda X: X.astype(complex), ValueError, r"Complex data not supported"),
}


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("case", list(DATA_CASES))
def test_bad_data_is_refused(Est, case, X):
    make, exc, match = DATA_CASES[case]
    with pytest.raises(exc, match=match) as err:
        Est(3, radius=1.0, random_state=0).fit(make(X))
    _no_echo(str(err.value), SECRET)


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("e", [-300, 300])
def test_scaled_data_and_radius_give_the_same_answer_exactly(Est, X, e):
    """CORRECT: data and the public radius and centre scaled by 2^e (|x| ~ 1e-90 or 1e90) give the
    centres scaled by 2^e, bit for bit, and the very same labels and privacy spent."""
    c = np.array([0.25, -0.5, 0.125])
    ref = _quiet_fit(Est(3, radius=1.0, center=c, n_levels=6, random_state=0), X + c)
    got = _quiet_fit(Est(3, radius=2.0**e, center=np.ldexp(c, e), n_levels=6, random_state=0), np.ldexp(X + c, e))
    assert np.array_equal(got.cluster_centers_, np.ldexp(ref.cluster_centers_, e))
    assert np.array_equal(got.labels_, ref.labels_)
    assert got.report_["epsilon"] == ref.report_["epsilon"]


@pytest.mark.parametrize("scale", [2.0**600, 2.0**1000, 2.0**-600])
def test_extreme_rows_keep_their_direction_in_the_unit_ball(X, scale):
    """CORRECT: a row whose squared norm overflows (was: sent to the origin) or underflows maps to
    the same point as the row scaled back into range (clipped: its exact direction)."""
    radius = 1.0 if scale > 1 else scale * 4.0
    got = _to_unit_ball(X * scale, np.zeros(D), radius)
    ref = _to_unit_ball(X * (8.0 if scale > 1 else 1.0), np.zeros(D), 1.0 if scale > 1 else 4.0)
    np.testing.assert_allclose(got, ref, rtol=1e-14, atol=0)
    assert np.all(np.sqrt((got * got).sum(1)) <= 1.0 + 1e-15)
    # beyond the float64 range: x - center overflows; still the exact direction
    far = _to_unit_ball(np.array([[1e308, 0.0], [0.0, 0.0]]), np.array([-1e308, 0.0]), 1.0)
    np.testing.assert_array_equal(far, [[1.0, 0.0], [1.0, 0.0]])


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_huge_data_is_clipped_with_a_warning(Est, X):
    """DOCUMENTED: rows far outside the public ball (here ~1e300 with radius 1) are clipped to its
    surface and the share is stated; the centres stay in the ball."""
    with pytest.warns(ClippingWarning, match=r"100\.00% of the rows"):
        m = _quiet_fit(Est(3, radius=1.0, n_levels=6, random_state=0), X * 1e300)
    assert np.isfinite(m.cluster_centers_).all()
    assert np.all(np.sqrt((m.cluster_centers_ ** 2).sum(1)) <= 1.0 + 1e-12)


@pytest.mark.parametrize("shift, scale", [(0.0, 1.0), (0.0, 1e300), (1e200, 1.0), (-1e300, 1e150), (0.0, 1e-300)])
def test_labels_and_cost_of_extreme_rows(X, shift, scale):
    """CORRECT: the nearest centre and the cost of rows far from the origin (near the public centre,
    or far from every centre) against brute force on the differences; was: |x|^2 overflowed to
    inf - inf = NaN and every such row got label 0."""
    from bigclust.private._estimator import _nearest_and_cost

    rng = np.random.default_rng(3)
    origin = np.full(D, shift)
    C = origin + rng.uniform(-1, 1, (5, D)) * (1.0 if scale >= 1 else 1e-300)
    Y = origin + X * scale
    diff = Y[:, None, :] - C[None, :, :]
    with np.errstate(over="ignore"):
        brute = (diff * diff).sum(axis=2)
    idx, cost = _nearest_and_cost(Y, C, origin if shift else None)
    if np.isfinite(brute).all():
        np.testing.assert_array_equal(idx, brute.argmin(axis=1))
        np.testing.assert_allclose(cost, brute.min(axis=1), rtol=1e-9, atol=0)
    else:  # beyond the float64 range: the nearest centre is the one most in the row's direction
        direction = (Y - origin) / np.abs(Y - origin).max(axis=1, keepdims=True)
        np.testing.assert_array_equal(idx, (direction @ (C - origin).T - 0.0).argmax(axis=1))
        assert np.isinf(cost).all()


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("k", [N, N + 1, 10**18])
def test_k_above_the_coreset_is_capped_and_stated(Est, X, k):
    """DOCUMENTED (k >= n included): fewer centres, at most coreset size + 1, with a warning."""
    with pytest.warns(PrivateUtilityWarning, match=f"n_clusters={k} but the private coreset"):
        m = Est(k, radius=1.0, n_levels=6, random_state=0).fit(X)
    assert 1 <= m.cluster_centers_.shape[0] == m.report_["n_centers"] <= m.report_["decoder_coreset_size"] + 1
    assert m.labels_.shape == (N,) and m.labels_.max() < m.cluster_centers_.shape[0]


def test_predict_checks_its_input(X):
    m = _quiet_fit(LocalDPKMeans(3, radius=1.0, n_levels=6, random_state=0), X)
    with pytest.raises(ValueError, match="features"):
        m.predict(X[:, :2])
    with pytest.raises(ValueError, match="NaN or infinite"):
        m.predict(np.r_[X, [[np.nan, 0, 0]]])
    with pytest.raises(ValueError, match="features"):
        m.score(X[:, :2])
    with pytest.raises(AttributeError, match="not fitted"):
        LocalDPKMeans(3, radius=1.0).predict(X)
    assert m.score(X * 1e300) == -np.inf  # beyond the float64 range, said so (was NaN)
    assert np.isfinite(m.score(X)) and m.score(X) <= 0


# --------------------------------------------------------------------------- Encoder / Decoder


P = ProtocolParams(n_features=D, epsilon=2.0, n_levels=6, radius=1.0)


@pytest.fixture(scope="module")
def reports(X):
    return Encoder(P, 5, random_source=RandomSource(1)).encode_batch(X)


def test_params_epsilon_too_small_states_the_bound():
    with pytest.raises(ValueError, match=r"epsilon is too small: it must be at least 3\.82e-06") as err:
        Encoder(ProtocolParams(n_features=2, epsilon=1e-6, radius=1.0), 1)
    _no_echo(str(err.value), 1e-6, 2.5e-07)
    with pytest.raises(ValueError, match=r"radius must be in \[1e-100, 1e\+100\]"):
        ProtocolParams(n_features=2, epsilon=1.0, radius=1e300)


ENCODE_CASES = {
    "nan": (lambda e: e.encode_batch(np.array([[np.nan, 0, 0]])), ValueError, r"finite"),
    "inf": (lambda e: e.encode([np.inf, 0, 0]), ValueError, r"finite"),
    "wrong d": (lambda e: e.encode_batch(np.zeros((2, 4))), ValueError, r"shape \(n, 3\)"),
    "1-D batch": (lambda e: e.encode_batch(np.zeros(3)), ValueError, r"shape \(n, 3\)"),
    "2-D to encode": (lambda e: e.encode(np.zeros((2, 3))), ValueError, r"one point of shape \(3,\)"),
    "strings": (lambda e: e.encode(["1", f"{SECRET}x", "2"]), ValueError, r"must be numeric"),
    "not params": (lambda e: Encoder({"epsilon": 1.0}, 1), TypeError, r"ProtocolParams"),
}


@pytest.mark.parametrize("case", list(ENCODE_CASES))
def test_encoder_refuses(case):
    call, exc, match = ENCODE_CASES[case]
    with pytest.raises(exc, match=match) as err:
        call(Encoder(P, 5, random_source=RandomSource(1)))
    _no_echo(str(err.value), SECRET)


def test_encoder_extreme_points_make_valid_reports():
    """CORRECT: any finite point gives one valid 24-byte report that the decoder accepts."""
    pts = np.array([[1e308, -1e308, 1e308], [5e-324, 0, 0], [0, 0, 0], [1e200, 1e-200, 3.0]])
    r = Encoder(P, 5, random_source=RandomSource(2)).encode_batch(pts)
    assert len(r) == 4 * REPORT_SIZE
    assert Decoder(P, 5).add(r).n_reports_ == 4


def _with_byte(data: bytes, i: int, value: int) -> bytes:
    b = bytearray(data)
    b[i] = value
    return bytes(b)


DECODE_CASES = {
    "truncated": (lambda r: r[:-1], ValueError, r"not a multiple of the 24-byte report size"),
    "one byte": (lambda r: r[:1], ValueError, r"not a multiple of the 24-byte"),
    "wrong version": (lambda r: _with_byte(r, 0, 99), ValueError, r"unsupported format version"),
    "other seed": (lambda r: Encoder(P, 6, random_source=RandomSource(1)).encode_batch(np.zeros((3, 3))),
                   ValueError, r"different public parameters or seed"),
    "other params": (lambda r: Encoder(ProtocolParams(n_features=D, epsilon=1.0, n_levels=6, radius=1.0), 5,
                                       random_source=RandomSource(1)).encode_batch(np.zeros((3, 3))),
                     ValueError, r"different public parameters or seed"),
    "bad level": (lambda r: _with_byte(r, 1, 60), ValueError, r"invalid level|different public parameters"),
    "a string": (lambda r: "reports", TypeError, r"reports must be bytes"),
    "float array": (lambda r: np.zeros((2, 3)), TypeError, r"reports must be bytes"),
    "zero bytes as uint8": (lambda r: np.zeros(2 * REPORT_SIZE, np.uint8), ValueError, r"unsupported format version"),
    "ints": (lambda r: [1, 2, 3], TypeError, r"reports must be bytes.*item 0 of the list is a int"),
    "misaligned items": (lambda r: [r[:23], r[23:48]], ValueError, r"item 0 of the reports has a length"),
}


@pytest.mark.parametrize("case", list(DECODE_CASES))
def test_decoder_refuses_bad_reports_and_adds_nothing(case, reports):
    make, exc, match = DECODE_CASES[case]
    dec = Decoder(P, 5).add(reports[:10 * REPORT_SIZE])
    before = dec.to_bytes()
    with pytest.raises(exc, match=match):
        dec.add(make(reports))
    assert dec.to_bytes() == before  # all or nothing


def _resealed(data: bytes) -> bytes:
    body = data[:-32]
    return body + hashlib.sha256(body).digest()


AGGREGATE_CASES = {
    "empty": (lambda a: b"", r"not a bigclust private decoder aggregate"),
    "truncated": (lambda a: a[:-1], r"not a bigclust private decoder aggregate"),
    "truncated and resealed": (lambda a: _resealed(a[:-40]), r"not a bigclust private decoder aggregate"),
    "flipped byte": (lambda a: _with_byte(a, 60, a[60] ^ 1), r"not a bigclust private decoder aggregate"),
    "wrong magic": (lambda a: b"XX" + a[2:], r"not a bigclust private decoder aggregate"),
    "future version": (lambda a: _resealed(_with_byte(a, 8, 2)), r"unsupported aggregate version"),
    "negative counts": (lambda a: _resealed(a[:52] + np.array([-1], "<i8").tobytes() + a[60:]),
                        r"not a bigclust private decoder aggregate"),
}


@pytest.mark.parametrize("case", list(AGGREGATE_CASES))
def test_decoder_from_bytes_refuses_bad_aggregates(case, reports):
    make, match = AGGREGATE_CASES[case]
    good = Decoder(P, 5).add(reports).to_bytes()
    with pytest.raises(ValueError, match=match):
        Decoder.from_bytes(make(good), P, 5)


def test_decoder_aggregate_of_other_params_and_round_trip(reports):
    dec = Decoder(P, 5).add(reports)
    data = dec.to_bytes()
    with pytest.raises(ValueError, match="different public parameters or public seed"):
        Decoder.from_bytes(data, P, 6)
    with pytest.raises(ValueError, match="different public parameters or public seed"):
        Decoder.from_bytes(data, ProtocolParams(n_features=D, epsilon=1.0, n_levels=6, radius=1.0), 5)
    assert Decoder.from_bytes(data, P, 5).to_bytes() == data  # CORRECT: the round trip is exact


def test_decoder_merge_and_fit_misuse(reports):
    dec = Decoder(P, 5).add(reports)
    with pytest.raises(ValueError, match="with itself"):
        dec.merge(dec)
    with pytest.raises(ValueError, match="different public parameters"):
        dec.merge(Decoder(P, 6))
    with pytest.raises(TypeError, match="takes a Decoder"):
        dec.merge(reports)
    with pytest.raises(ValueError, match="no reports"):
        Decoder(P, 5).fit(2)


# --------------------------------------------------------------------------- the command line


@dataclass
class OK:
    n_samples: int
    n_features: int = D


@pytest.fixture(scope="module")
def files(tmp_path_factory, X):
    d = tmp_path_factory.mktemp("in")
    np.save(d / "x.npy", X)
    (d / "empty.npy").write_bytes(b"")
    np.save(d / "no_rows.npy", np.zeros((0, D)))
    np.save(d / "vector.npy", np.zeros(D))
    (d / "header_only.csv").write_text("a,b,c\n")
    (d / "trunc.npy").write_bytes((d / "x.npy").read_bytes()[:100])
    rows = "\n".join(",".join(f"{v:.6f}" for v in r) for r in X)
    (d / "bom.csv").write_bytes(b"\xef\xbb\xbf" + (rows + "\n").encode())
    (d / "header.csv").write_text("a,b,c\n" + rows + "\n")
    first, rest = rows.split("\n", 1)
    (d / "typo.csv").write_text(first.replace(".", f"x{SECRET}", 1) + "\n" + rest + "\n")
    (d / "secret.csv").write_text(rows + f"\n1,{SECRET}x,3\n")
    (d / "nan.csv").write_text(rows + "\nnan,0,0\n")
    (d / "ragged.csv").write_text(rows + "\n0.1,0.2\n")
    (d / "gz_named_csv.csv").write_bytes(gzip.compress((rows + "\n").encode()))
    (d / "bad.csv.gz").write_bytes(gzip.compress((rows + "\n").encode())[:60])
    (d / "utf16.csv").write_bytes((rows + "\n").encode("utf-16"))
    return d


_BASE = ["-k", "3", "--epsilon", "2", "--radius", "1", "--levels", "6", "--seed", "0"]


def _cli_cases():
    x = ["{in}/x.npy"]
    return {
        # options, checked before the input is read (here: a missing input is not even looked at)
        "epsilon 1e-6": (["{in}/nope.npy", "-k", "3", "--epsilon", "1e-6", "--radius", "1"],
                         ERROR(2, r"--epsilon is too small: it must be at least 3\.82e-06 here, as .* --histogram-share")),
        "epsilon 1e-7": (["{in}/nope.npy", "-k", "3", "--epsilon", "1e-7", "--radius", "1"],
                         ERROR(2, r"--epsilon is too small: it must be at least 2\*\*-20")),
        "epsilon 1e6": (["{in}/nope.npy", "-k", "3", "--epsilon", "1e6", "--radius", "1"],
                        ERROR(2, r"--epsilon must be in \(0, 64\]")),  # was an OverflowError
        "epsilon nan": (x + ["-k", "3", "--epsilon", "nan", "--radius", "1"], ERROR(2, r"--epsilon must be in")),
        "epsilon word": (x + ["-k", "3", "--epsilon", "lots", "--radius", "1"], ERROR(2, r"invalid float value")),
        "radius 1e200": (["{in}/nope.npy", "-k", "3", "--epsilon", "1", "--radius", "1e200"],
                         ERROR(2, r"--radius must be a number in \[1e-100, 1e\+100\] or 'unit'")),
        "radius nan": (x + ["-k", "3", "--epsilon", "1", "--radius", "nan"], ERROR(2, r"--radius must be a number")),
        "radius missing": (x + ["-k", "3", "--epsilon", "1"], ERROR(2, r"required: --radius")),
        "k zero": (x + ["-k", "0", "--epsilon", "1", "--radius", "1"], ERROR(2, r"n_clusters must be an integer")),
        "k word": (x + ["-k", "two", "--epsilon", "1", "--radius", "1"], ERROR(2, r"invalid int value")),
        "delta without shuffle": (x + _BASE + ["--delta", "1e-6"], ERROR(2, r"--delta applies to --shuffle only")),
        "delta 2": (x + _BASE + ["--shuffle", "--delta", "2"], ERROR(2, r"delta must be a real number in \(0, 1\)")),
        "center short": (x + _BASE + ["--center", "1,2"], ERROR(2, r"center must be 3 finite numbers")),
        "center words": (x + _BASE + ["--center", f"a,{SECRET}x,c"], ERROR(2, r"--center must be comma-separated")),
        "histogram levels": (x + _BASE + ["--histogram-levels", "3,5"], ERROR(2, r"histogram_levels")),
        "vector levels": (x + _BASE + ["--vector-levels", "deep"], ERROR(2, r"--vector-levels must be one of")),
        "histogram share 1": (x + _BASE + ["--histogram-share", "1"], ERROR(2, r"histogram_share")),
        "levels 64": (x + _BASE + ["--levels", "64"], ERROR(2, r"n_levels must be an integer in \[1, 63\]")),
        "bucket bits 0": (x + _BASE + ["--bucket-bits", "0"], ERROR(2, r"bucket_bits must be an integer in \[1, 24\]")),
        "projection dim 9": (x + _BASE + ["--tree", "net", "--projection-dim", "9"], ERROR(2, r"projection_dim")),
        "public seed -1": (x + _BASE + ["--public-seed", "-1"], ERROR(2, r"public_seed must be None or an integer")),
        "seed -1": (x + ["-k", "3", "--epsilon", "2", "--radius", "1", "--seed", "-1"], ERROR(2, r"random_state")),
        # inputs
        "missing file": (["{in}/nope.csv"] + _BASE, ERROR(2, "does not exist")),
        "empty npy": (["{in}/empty.npy"] + _BASE, ERROR(2, r"is empty \(0 bytes\)")),
        "truncated npy": (["{in}/trunc.npy"] + _BASE, ERROR(2, "truncated|not a valid .npy")),
        "no rows npy": (["{in}/no_rows.npy"] + _BASE, ERROR(2, r"0 sample\(s\)")),
        "1-D npy": (["{in}/vector.npy"] + _BASE, ERROR(2, r"must be 2-D")),
        "header only csv": (["{in}/header_only.csv"] + _BASE, ERROR(2, r"no data rows after its header")),
        "corrupt csv.gz": (["{in}/bad.csv.gz"] + _BASE, ERROR(2, "corrupt or truncated compressed")),
        "utf-16 csv": (["{in}/utf16.csv"] + _BASE, ERROR(2, "UTF-16")),
        "typo in row 1": (["{in}/typo.csv"] + _BASE, ERROR(2, r"data row 1 \(line 1\), column 1 is not a number")),
        "bad cell later": (["{in}/secret.csv"] + _BASE, ERROR(2, r"data row 201 \(line 201\), column 2")),
        "ragged row": (["{in}/ragged.csv"] + _BASE, ERROR(2, r"data row 201 .* has 2 field\(s\), expected 3")),
        "nan cell": (["{in}/nan.csv"] + _BASE, ERROR(2, "NaN or infinite")),
        "header forced off": (["{in}/header.csv"] + _BASE + ["--header", "no"], ERROR(2, r"data row 1 \(line 1\)")),
        "columns without header": (["{in}/x.npy"] + _BASE + ["--columns", "a"], ERROR(2, "--columns applies")),
        "unknown dataset": (["dataset:nope"] + _BASE, ERROR(2, "Unknown data set")),
        # outputs, checked before the fit
        "report is a folder": (x + _BASE + ["--report", "{out}"], ERROR(2, "is a folder")),
        "unknown suffix": (x + _BASE + ["--centers", "{out}/c.json"], ERROR(2, "unknown suffix")),
        "report suffix": (x + _BASE + ["--report", "{out}/r.npy"], ERROR(2, "unknown suffix")),
        "labels over input": (x + _BASE + ["--labels", "{in}/x.npy"], ERROR(2, "would overwrite the input")),
        "centers over input": (x + _BASE + ["-o", "{in}/x.npy"], ERROR(2, "would overwrite the input")),
        "labels = centers": (x + _BASE + ["--labels", "{out}/a.npy", "--centers", "{out}/a.npy"],
                             ERROR(2, "name the same file")),
        "missing folder": (x + _BASE + ["--centers", "{out}/no/c.csv"], ERROR(2, "does not exist")),
        # correct results
        "npy": (x + _BASE, OK(N)),
        "npy shuffle": (x + _BASE + ["--shuffle", "--delta", "1e-5"], OK(N)),
        "bom without header": (["{in}/bom.csv"] + _BASE, OK(N)),  # the BOM row is data, not a header
        "header auto": (["{in}/header.csv"] + _BASE, OK(N)),
        "header yes, columns": (["{in}/header.csv"] + _BASE + ["--header", "yes", "--columns", "a,c",
                                                               "--center", "0,0"], OK(N, 2)),
        "gzip by content": (["{in}/gz_named_csv.csv"] + _BASE, OK(N)),
        "dataset": (["dataset:zoo", "-k", "3", "--epsilon", "2", "--radius", "20", "--levels", "6", "--seed", "0"],
                    OK(101, 16)),
        "k above n": (x + ["-k", "500", "--epsilon", "2", "--radius", "1", "--levels", "6", "--seed", "0"], OK(N)),
    }


CLI_CASES = _cli_cases()




@pytest.mark.parametrize("case", list(CLI_CASES))
def test_hostile_cli_case(case, files, tmp_path, capsys):
    argv, expected = CLI_CASES[case]
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "old_labels.npy").write_bytes(b"previous run")
    argv = [a.format(**{"in": files, "out": out_dir}) for a in argv]
    before_in, before_out = _snapshot(files), _snapshot(out_dir)
    if isinstance(expected, OK):
        argv += ["--labels", str(out_dir / "old_labels.npy"), "--centers", str(out_dir / "c.csv"),
                 "--report", str(out_dir / "r.json"), "--json"]
    code, out, err = _run(["private-kmeans", *argv], capsys)
    assert _snapshot(files) == before_in  # no input is ever touched
    assert str(SECRET) not in out + err and "2.5e-07" not in err
    if isinstance(expected, ERROR):
        assert code == expected.status, err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("bigclust private-kmeans: error:"), err
        assert re.search(expected.pattern, lines[0]), lines[0]
        assert "Traceback" not in err and out == ""
        assert _snapshot(out_dir) == before_out  # nothing created, nothing changed
    else:
        assert code == 0, err
        assert "error" not in err
        if case == "k above n":
            assert "n_clusters=500 but the private coreset" in err  # DOCUMENTED: fewer centres, stated
        summary = json.loads(out)
        assert summary["n_reports"] == expected.n_samples and summary["command"] == "private-kmeans"
        assert np.load(out_dir / "old_labels.npy").shape == (expected.n_samples,)
        centers = np.loadtxt(out_dir / "c.csv", delimiter=",", ndmin=2)
        assert centers.shape == (summary["n_centers"], expected.n_features)
        report = json.loads((out_dir / "r.json").read_text())
        assert report["epsilon"] == summary["epsilon"] > 0 and "time" in report
        assert sorted(p.name for p in out_dir.iterdir()) == ["c.csv", "old_labels.npy", "r.json"]  # no temp left


def test_a_failed_write_changes_no_output_and_prints_no_success(files, tmp_path, capsys, monkeypatch):
    """The report's writer fails (disk full) after the centres went to a temporary file: exit 1,
    one line, the old file intact, no new file, no temporary file, no summary."""
    from bigclust._core import io as bio

    def full(path, obj):
        with open(path, "w") as fh:
            fh.write("{")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(bio, "write_json", full)
    (tmp_path / "c.npy").write_bytes(b"old centres")
    code, out, err = _run(["private-kmeans", f"{files}/x.npy", *_BASE, "--centers", str(tmp_path / "c.npy"),
                           "--labels", str(tmp_path / "l.csv"), "--report", str(tmp_path / "r.json")], capsys)
    assert code == 1 and out == ""
    errors = [line for line in err.splitlines() if ": error:" in line]  # the others are the fit's warnings
    assert len(errors) == 1 and errors[0] == err.strip().splitlines()[-1]
    assert "No space left on device" in errors[0] and "no output was changed" in errors[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.npy"]
    assert (tmp_path / "c.npy").read_bytes() == b"old centres"


def test_internal_errors_exit_1_without_their_text_unless_debug(files, capsys, monkeypatch):
    from bigclust.private import _estimator

    def boom(self, X, y=None):
        raise RuntimeError(f"value {SECRET} leaked")

    monkeypatch.setattr(_estimator._PrivateKMeansBase, "fit", boom)
    code, out, err = _run(["private-kmeans", f"{files}/x.npy", *_BASE], capsys)
    assert code == 1 and out == ""
    assert err.strip() == ("bigclust private-kmeans: error: internal error (RuntimeError); "
                           "run with --debug for the traceback")
    code, out, err = _run(["private-kmeans", f"{files}/x.npy", *_BASE, "--debug"], capsys)
    assert code == 1 and "Traceback" in err and "RuntimeError" in err
