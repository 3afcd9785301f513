"""Hostile input against the LSH-tree estimators (issue 22): every case has one expected outcome class.

``ERROR``: a clear ValueError/TypeError before any work, whose message states the
bound and does not repeat the value passed. ``CORRECT``: the fit runs and its
answer is checked against an oracle (here: the same fit on exactly rescaled data,
bit for bit). The cases are parametrised over both estimators and both pruning
DPs; each fit is on a few hundred points, so the file runs in seconds.
"""

import re

import numpy as np
import pytest

from bigclust.datasets import make_planted_mixture
from bigclust.lshtree import LSHTreeKMeans, LSHTreeKMedian
from bigclust._core.validation import column_span

ESTIMATORS = [LSHTreeKMeans, LSHTreeKMedian]
METHODS = ["exact", "approx"]
P = {LSHTreeKMeans: 2, LSHTreeKMedian: 1}  # the cost's power of the distance


@pytest.fixture(scope="module")
def X():
    """300 x 3 planted points scaled (by a power of two) so the largest column range is in [0.5, 1)."""
    X, _, _ = make_planted_mixture(300, 3, 3, random_state=0)
    span, _ = column_span(X)
    return np.ldexp(X, -int(np.frexp(span)[1]))


def _fit(Est, X, method, w=None, **kw):
    return Est(3, method=method, refine=kw.pop("refine", "auto"), random_state=0, **kw).fit(X, sample_weight=w)


def _no_echo(message: str, *values) -> None:
    for v in values:
        assert repr(v) not in message and str(v) not in message, message


# --------------------------------------------------------------------------- weights


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("weights, match", [
    (np.full(300, 1e306), "sums to more than the largest float64"),  # was a segfault / inertia_ = 0.0
    (np.r_[np.full(299, 1.0), np.nan], "NaN or infinite"),
    (np.r_[np.full(299, 1.0), np.inf], "NaN or infinite"),
    (np.r_[np.full(299, 1.0), -1.0], "negative"),
    (np.zeros(300), "sums to zero"),
    (np.ones(299), "shape"),
])
def test_bad_weights_are_refused(Est, method, X, weights, match):
    with pytest.raises(ValueError, match=match) as err:
        _fit(Est, X, method, weights)
    _no_echo(str(err.value), 1e306)


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("e", [300, -300, 1000 - 12])
def test_extreme_weights_give_the_same_answer_exactly(Est, method, X, e):
    """Weights summing outside [2^-100, 2^100] are rescaled by a power of two: same labels and centres,
    costs times 2^e, bit for bit (the fit runs on the very same arrays)."""
    w = np.random.default_rng(1).uniform(0.5, 2.0, 300)
    w *= 0.75 / w.sum()  # sum in [0.5, 1): the band's target, so the reference is not rescaled
    ref = _fit(Est, X, method, w)
    got = _fit(Est, X, method, np.ldexp(w, e))
    assert got.report_["rescaled"]["weight"] == e
    assert np.array_equal(got.labels_, ref.labels_)
    assert np.array_equal(got.cluster_centers_, ref.cluster_centers_)
    assert got.inertia_ == np.ldexp(ref.inertia_, e) and np.isfinite(got.inertia_) and got.inertia_ > 0
    assert np.array_equal(got.tree_.cost, np.ldexp(ref.tree_.cost, e))
    assert np.array_equal(got.tree_.weight, np.ldexp(ref.tree_.weight, e))


# --------------------------------------------------------------------------- data range


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("e", [200, -200, 70, -900, 500])
def test_data_outside_the_hash_range_gives_the_same_answer_exactly(Est, method, X, e):
    """|x| beyond float32 (2^200 ~ 1.6e60) or below its normal range (2^-200): rescaled exactly, so the
    answer is the in-range fit's, scaled; before issue 22 this was a random partition at 100x the cost."""
    ref = _fit(Est, X, method)
    got = _fit(Est, np.ldexp(X, e), method)
    p = P[Est]
    assert got.report_["rescaled"] == {"data": e, "weight": 0}
    assert "rescaled" not in ref.report_
    assert np.array_equal(got.labels_, ref.labels_)
    assert np.array_equal(got.cluster_centers_, np.ldexp(ref.cluster_centers_, e))
    assert got.inertia_ == np.ldexp(ref.inertia_, p * e)
    assert np.array_equal(got.tree_.cost, np.ldexp(ref.tree_.cost, p * e))
    if ref.cost_curve_ is not None:
        assert np.array_equal(got.cost_curve_, np.ldexp(ref.cost_curve_, p * e))
    assert np.array_equal(got.predict(np.ldexp(X, e)), ref.predict(X))


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_float32_data_beyond_float32_hash_range_is_fitted_in_float64(Est, X):
    X32 = np.ldexp(X, 100).astype(np.float32)  # ~1e30: float32 values, projections would overflow
    got = Est(3, method="exact", random_state=0).fit(X32)
    ref = Est(3, method="exact", random_state=0).fit(np.ldexp(X32.astype(np.float64), -100))
    assert got.cluster_centers_.dtype == np.float32
    assert np.array_equal(got.labels_, ref.labels_)
    assert np.array_equal(got.cluster_centers_, np.ldexp(ref.cluster_centers_, 100).astype(np.float32))


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_cost_beyond_float64_is_refused_with_the_bound(Est, X):
    e = 1020 if Est is LSHTreeKMeans else 1023  # k-means: span^2 overflows; k-median: n * span does
    with pytest.raises(ValueError, match=r"below 2\^1023") as err:
        Est(3).fit(np.ldexp(X, e))
    _no_echo(str(err.value), float(np.ldexp(X, e).max()))


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_a_constant_column_far_beyond_the_range(Est, X):
    """A constant column at 2^600 beside columns varying by ~1: the raw rows' squared norms would overflow
    (scikit-learn's distances in refinement); within 2^544 of the range it is rescaled exactly, beyond
    that it is refused with the bound."""
    Y = np.c_[np.full(300, 2.0 ** 520), X]
    ref = Est(3, random_state=0).fit(np.ldexp(Y, -41))
    got = Est(3, random_state=0).fit(Y)
    assert got.report_["rescaled"]["data"] == 41
    assert np.array_equal(got.labels_, ref.labels_)
    assert np.array_equal(got.cluster_centers_, np.ldexp(ref.cluster_centers_, 41))
    with pytest.raises(ValueError, match=r"more than 2\^544 times the largest column range"):
        Est(3).fit(np.c_[np.full(300, 1e300), X])


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("bad, match", [(np.nan, "NaN or infinite"), (np.inf, "NaN or infinite")])
def test_non_finite_data_is_refused(Est, X, bad, match):
    Y = X.copy()
    Y[7, 1] = bad
    with pytest.raises(ValueError, match=match):
        Est(3).fit(Y)


# --------------------------------------------------------------------------- parameters


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("param, value, bound", [
    ("scale_ratio", 1 + 1e-12, "[1.001, 1000]"),   # was a hang
    ("scale_ratio", 1e300, "[1.001, 1000]"),
    ("edge_factor", 1e-9, "[0.25, 1000]"),          # was 182x the cost, silently
    ("approx_epsilon", 1e-12, "[1e-06, inf)"),      # was a 13 PiB allocation
    ("dp_step", 1e-12, "[1e-09, inf)"),
    ("n_hashes", 10**6, "[1, 1024]"),
    ("n_projections", 5000, "[1, 1024]"),
    ("bucket_width", 1e-300, "[0.001, 1000]"),
    ("approx_epsilon", float("nan"), "[1e-06, inf)"),
])
def test_parameters_out_of_bounds_are_refused_with_the_bound(Est, X, param, value, bound):
    with pytest.raises(ValueError) as err:
        Est(3, **{param: value}).fit(X)
    msg = str(err.value)
    assert param in msg and bound in msg
    assert "(" in msg.split(bound, 1)[1]  # the reason follows the bound
    _no_echo(msg, value)


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_approx_levels_beyond_memory_are_refused_before_allocating(Est, X):
    """approx_epsilon in bounds but too fine for this tree's depth: refused with the finest that fits."""
    with pytest.raises(ValueError, match=r"more than 1e\+07 cost levels.*use approx_epsilon >= ") as err:
        Est(3, method="approx", approx_epsilon=1e-6, random_state=0).fit(X)
    finest = float(re.search(r">= ([0-9.e+-]+),", str(err.value)).group(1))
    Est(3, method="approx", approx_epsilon=finest * 1.01, random_state=0).fit(X)  # the stated bound works


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_auto_coarsens_instead_of_allocating(Est, X):
    est = Est(3, method="auto", approx_epsilon=1e-6, random_state=0).fit(X)
    assert est.report_["method"] == "exact"


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_bounds_are_open_where_documented(Est, X):
    """The bounds themselves are accepted (a lower bound that fits is a usable value)."""
    for kw in (dict(scale_ratio=1000.0), dict(edge_factor=0.25), dict(edge_factor=1000.0), dict(n_hashes=1)):
        est = Est(3, random_state=0, refine=0, **kw).fit(X)
        assert est.labels_.shape == (300,)


# --------------------------------------------------------------------------- documented behaviour


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("method", METHODS)
def test_identical_points_warn_and_return_one_cluster(Est, method):
    from sklearn.exceptions import ConvergenceWarning

    Y = np.full((50, 3), 1e300)  # identical and huge: no range problem, one distinct point
    with pytest.warns(ConvergenceWarning, match="distinct clusters"):
        est = Est(3, method=method, random_state=0).fit(Y)
    assert est.inertia_ == 0.0 and np.array_equal(est.cluster_centers_, Y[:1])
    assert (est.labels_ == 0).all()


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("method", METHODS)
def test_zero_weight_rows_do_not_move_the_answer(Est, method, X):
    """Rows of weight 0 are as if removed, then labelled by their nearest centre (documented)."""
    far = np.full((5, 3), 50.0)
    Y = np.vstack([X, far])
    w = np.r_[np.ones(300), np.zeros(5)]
    ref = _fit(Est, X, method)
    got = _fit(Est, Y, method, w)
    assert np.array_equal(got.labels_[:300], ref.labels_)
    assert np.array_equal(got.cluster_centers_, ref.cluster_centers_) and got.inertia_ == ref.inertia_
    assert np.array_equal(got.labels_[300:], ref.predict(far))


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("X_bad, error, match", [
    ("abc", TypeError, "string"),
    ([[1.0, 2.0], [3.0]], ValueError, "could not be converted|inhomogeneous|sequence"),
    (np.zeros((0, 3)), ValueError, "at least 1 required"),
    (np.zeros((5, 0)), ValueError, "0 feature"),
    (np.array([[1 + 2j, 0], [0, 1]]), ValueError, "Complex"),
    (np.array([["a", "b"], ["c", "d"]]), TypeError, "dtype"),
])
def test_malformed_arrays_are_refused(Est, X_bad, error, match):
    with pytest.raises(error, match=match):
        Est(1).fit(X_bad)


def test_spark_engine_refuses_out_of_band_numpy_input_before_any_spark_work(X):
    """The spark engine does not rescale yet: refused with the bands, before a session starts (or pyspark
    is even imported)."""
    with pytest.raises(ValueError, match=r"\[2\^-64, 2\^64\].*engine='local'"):
        LSHTreeKMeans(3, engine="spark").fit(np.ldexp(X, 200))
    with pytest.raises(ValueError, match=r"summing to \[2\^-100, 2\^100\]"):
        LSHTreeKMeans(3, engine="spark").fit(X, sample_weight=np.full(300, 2.0 ** 120))
