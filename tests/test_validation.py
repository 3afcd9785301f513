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
