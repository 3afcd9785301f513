import numpy as np
import pytest

from bigclust._core.validation import check_points, check_sample_weight, check_n_clusters, check_random_state


def test_check_points_rejects_nan_and_shapes():
    with pytest.raises(ValueError, match="NaN or infinite"):
        check_points([[0.0, np.nan]])
    with pytest.raises(ValueError, match="2-D"):
        check_points([1.0, 2.0])
    with pytest.raises(TypeError, match="string"):
        check_points("abc")


def test_check_points_keeps_float32_and_does_not_alias_converted():
    X = np.ones((3, 2), dtype=np.float32)
    assert check_points(X) is X
    Xi = np.ones((3, 2), dtype=np.int64)
    out = check_points(Xi)
    assert out.dtype == np.float64 and out is not Xi


def test_sample_weight_checks():
    with pytest.raises(ValueError, match="negative"):
        check_sample_weight([1.0, -1.0], 2)
    with pytest.raises(ValueError, match="shape"):
        check_sample_weight([1.0], 2)
    w = np.array([1.0, 2.0])
    out = check_sample_weight(w, 2)
    out[0] = 5
    assert w[0] == 1.0


def test_n_clusters_and_random_state():
    with pytest.raises(ValueError):
        check_n_clusters(0, 5)
    with pytest.raises(ValueError):
        check_n_clusters(6, 5)
    with pytest.raises(TypeError):
        check_n_clusters(2.5, 5)
    a = check_random_state(3).integers(1 << 30)
    b = check_random_state(3).integers(1 << 30)
    assert a == b


# --------------------------------------------------------------------------- issue 22


def test_sample_weight_sum_must_be_finite_and_messages_do_not_echo():
    from bigclust._core.validation import check_positive, check_int

    with pytest.raises(ValueError, match="sums to more than the largest float64"):
        check_sample_weight(np.full(3, 1e308), 3)
    with pytest.raises(ValueError, match="sums to zero"):
        check_sample_weight(np.zeros(3), 3)
    for bad in (-2.5e7, float("nan")):
        with pytest.raises(ValueError) as err:
            check_sample_weight(bad, 3)
        assert "2.5e" not in str(err.value) and "nan" not in str(err.value).lower().replace("finite", "")
    with pytest.raises(ValueError) as err:
        check_positive(-1234.5, "alpha")
    assert "1234" not in str(err.value)
    with pytest.raises(ValueError, match="p must be >= 1") as err:
        check_int(-98765, "p", low=1)
    assert "98765" not in str(err.value)


def test_column_span_and_power_of_two_exponent():
    from bigclust._core.validation import column_span, power_of_two_exponent

    X = np.array([[1.0, -5.0], [3.0, 10.0], [2.0, 0.0]])
    assert column_span(X) == (15.0, 10.0)
    assert column_span(np.array([[-1e308], [1e308]]))[0] == np.inf
    assert power_of_two_exponent(15.0, -64, 64) == 0
    e = power_of_two_exponent(2.0 ** 70 * 1.5, -64, 64)
    assert 0.5 <= 2.0 ** 70 * 1.5 * 2.0 ** -e < 1
    e = power_of_two_exponent(2.0 ** -80, -64, 64)
    assert 0.5 <= 2.0 ** -80 * 2.0 ** -e < 1
    assert power_of_two_exponent(np.inf, -64, 64) == 1024


def test_scale_exactly_round_trips_or_refuses():
    from bigclust._core.validation import scale_exactly

    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 3)) * 1e200
    Y = scale_exactly(X, 600)
    assert np.array_equal(np.ldexp(Y, 600), X) and Y is not X
    X32 = rng.standard_normal((5, 2)).astype(np.float32) * np.float32(1e30)
    assert np.array_equal(np.ldexp(scale_exactly(X32, 100), 100), X32.astype(np.float64))
    with pytest.raises(ValueError, match="2\\^1000"):
        scale_exactly(np.array([[1e300], [1e-300]]), 1000)  # 1e-300 * 2^-1000 underflows


def test_interval_states_bound_and_reason_never_the_value():
    from bigclust._core.validation import Interval, validate_params

    class Est:
        _parameter_constraints = {"ratio": [Interval(float, 1.5, 8, why="finite number of scales")]}
        ratio = 1.0000001

    with pytest.raises(ValueError) as err:
        validate_params(Est())
    msg = str(err.value)
    assert "[1.5, 8]" in msg and "finite number of scales" in msg and "1.0000001" not in msg
