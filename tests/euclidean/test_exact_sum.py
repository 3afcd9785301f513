"""bigclust._core.exact_sum: exact column sums, the same bits however the rows are ordered or split (oracle: math.fsum)."""

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bigclust._core.exact_sum import add_rows, column_bins, column_mean, new_bins, sum_bins, trimmed

finite = st.floats(allow_nan=False, allow_infinity=False, width=64, min_value=-1e300, max_value=1e300)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(finite, finite), min_size=1, max_size=60), st.integers(1, 5), st.randoms(use_true_random=False))
def test_sum_equals_fsum_for_any_order_and_split(rows, n_parts, rnd):
    X = np.array(rows, dtype=np.float64)
    ref = np.array([math.fsum(X[:, j]) for j in range(2)])
    assert np.array_equal(sum_bins([column_bins(X)]), ref)
    order = list(range(X.shape[0]))
    rnd.shuffle(order)
    cuts = sorted(rnd.randint(0, len(order)) for _ in range(n_parts - 1))
    pieces = np.split(X[order], cuts)
    assert np.array_equal(sum_bins([column_bins(p) for p in pieces]), ref)
    bins = new_bins(2)  # one accumulator fed several blocks, as a Spark task does
    for p in pieces:
        add_rows(bins, p)
    assert np.array_equal(sum_bins([trimmed(bins)]), ref)


def test_wide_exponents_many_rows_and_carries():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200_003, 4)) * np.array([1.0, 1e300, 1e-310, 1e15])  # subnormal column too
    ref = np.array([math.fsum(X[:, j]) for j in range(4)])
    assert np.array_equal(sum_bins([column_bins(X)]), ref)
    assert np.array_equal(column_mean(X), ref / X.shape[0])
    perm = rng.permutation(X.shape[0])
    assert np.array_equal(column_mean(X[perm]), column_mean(X))
    # numpy's pairwise mean is not order-independent in the last bits; this one is
    assert np.allclose(column_mean(X)[[0, 3]], X.mean(axis=0)[[0, 3]], rtol=1e-12)


def test_all_zero_and_overflow():
    assert np.array_equal(sum_bins([column_bins(np.zeros((3, 2)))]), [0.0, 0.0])
    big = np.full((3, 1), 1e308)
    assert sum_bins([column_bins(big)])[0] == np.inf
    assert sum_bins([column_bins(-big)])[0] == -np.inf


def test_many_parts_added_in_int64_groups(monkeypatch):
    import bigclust._core.exact_sum as exact_sum

    rng = np.random.default_rng(1)
    # parts at far-apart exponents, empty parts, and parts whose bins are as full as a carry leaves them
    # (511 rows of the largest mantissa after the last carry of 1023 rows)
    full = np.full((1023, 2), np.nextafter(1.0, 0.0))
    pieces = [full, rng.standard_normal((7, 2)) * 1e200, np.empty((0, 2)), -full, full,
              rng.standard_normal((300, 2)) * 1e-200, np.zeros((2, 2))] * 5
    X = np.concatenate(pieces)
    ref = np.array([math.fsum(X[:, j]) for j in range(2)])
    parts = [column_bins(p) for p in pieces]
    assert np.array_equal(sum_bins(parts), ref)
    monkeypatch.setattr(exact_sum, "_PARTS_PER_SUM", 3)
    assert np.array_equal(sum_bins(parts), ref)
