"""Hadamard transform, HRR frequency oracle and vector mechanisms against dense oracles."""

import math
from fractions import Fraction

import numpy as np
import pytest
from scipy.linalg import hadamard

from bigclust.private import RandomSource
from bigclust.private._mechanisms import (
    CoordinateVector,
    DuchiVector,
    HadamardResponse,
    LinearHashOLH,
    fwht,
    gaussian_from_seeds,
    hadamard_sign,
)


@pytest.mark.parametrize("n", [1, 2, 8, 64])
def test_fwht_matches_dense_hadamard(n):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, 3))
    np.testing.assert_allclose(fwht(a), hadamard(n) @ a, atol=1e-10)
    np.testing.assert_allclose(fwht(a[:, 0]), hadamard(n) @ a[:, 0], atol=1e-10)


def test_hadamard_sign_matches_dense():
    H = hadamard(32)
    r, y = np.meshgrid(np.arange(32), np.arange(32), indexing="ij")
    np.testing.assert_array_equal(hadamard_sign(r.ravel(), y.ravel()).reshape(32, 32), H)


def test_hrr_unbiased_counts():
    rng = RandomSource(0)
    D, n = 16, 120_000
    truth = np.array([0.5, 0.3, 0.2])
    items = np.repeat(np.array([3, 7, 12], dtype=np.uint64), (truth * n).astype(int))
    mech = HadamardResponse(Fraction(1))
    rows, bits = mech.randomize(items, D, rng)
    sums = np.bincount(rows.astype(np.int64), weights=np.where(bits, 1.0, -1.0), minlength=D)
    est = mech.estimate(sums)
    expected = np.zeros(D)
    expected[[3, 7, 12]] = truth * n
    sigma = math.sqrt(mech.report_variance() * n)
    assert np.abs(est - expected).max() < 5 * sigma
    # dense oracle for the decoder formula: C * sum_i b_i H[r_i, y]
    H = hadamard(D)
    dense = mech.unbias() * (np.where(bits, 1.0, -1.0)[:, None] * H[rows.astype(int)]).sum(0)
    np.testing.assert_allclose(est, dense, rtol=1e-10, atol=1e-6)


def test_gaussian_from_seeds_deterministic_and_normal():
    s = np.arange(20000, dtype=np.uint64) * np.uint64(7919)
    g = gaussian_from_seeds(s, 9)
    np.testing.assert_array_equal(g, gaussian_from_seeds(s, 9))
    assert g.shape == (20000, 9)
    assert abs(g.mean()) < 0.02 and abs(g.var() - 1) < 0.03
    c = np.corrcoef(g.T)
    assert np.abs(c - np.eye(9)).max() < 0.03


@pytest.mark.parametrize("cls", [DuchiVector, CoordinateVector])
def test_vector_mechanisms_unbiased(cls):
    d, n = 6, 150_000
    v = np.array([0.6, -0.3, 0.0, 0.2, 0.1, -0.5])
    v /= np.linalg.norm(v) / 0.9
    mech = cls(Fraction(2))
    payload, bits = mech.randomize(np.tile(v, (n, 1)), RandomSource(1))
    Z = mech.decode(payload, bits, d).astype(np.float64)
    mean = Z.mean(0)
    se = math.sqrt(mech.report_variance(d) / d / n)
    assert np.abs(mean - v).max() < 5 * se
    # the per-report squared norm matches the stated variance bound
    assert abs((Z**2).sum(1).mean() - mech.report_variance(d)) / mech.report_variance(d) < 0.1


def test_duchi_zero_vector_mean_zero():
    d, n = 4, 100_000
    mech = DuchiVector(Fraction(1))
    payload, bits = mech.randomize(np.zeros((n, d)), RandomSource(2))
    Z = mech.decode(payload, bits, d)
    assert np.abs(Z.mean(0)).max() < 5 * math.sqrt(mech.report_variance(d) / d / n)


@pytest.mark.parametrize("eps", [Fraction(1, 4), Fraction(1), Fraction(2), Fraction(4)])
def test_olh_choice_of_g_and_variance(eps):
    mech = LinearHashOLH(eps)
    e = math.exp(float(eps))
    # g is the power of two (<= 64) with the smallest null variance, and that variance is
    # (1/g)(1 - 1/g) / (p - 1/g)^2 with p = e^eps / (e^eps + g - 1)
    var = {j: (1 / 2**j) * (1 - 1 / 2**j) / (e / (e + 2**j - 1) - 1 / 2**j) ** 2 for j in range(1, 7)}
    assert mech.g == 2 ** min(var, key=var.get)
    assert math.isclose(mech.report_variance(), var[mech.hash_bits], rel_tol=1e-12)
    # never worse than HRR, and within 2% of OLH's optimum 4e^eps/(e^eps-1)^2 when g can be ~e^eps+1
    assert mech.report_variance() <= HadamardResponse(eps).report_variance() * (1 + 1e-12)
    if eps >= 1:
        assert mech.report_variance() < 1.02 * 4 * e / (e - 1) ** 2


def test_olh_matches_brute_force_counting_and_is_unbiased():
    eps, D, n = Fraction(2), 64, 100_000
    mech = LinearHashOLH(eps)
    rng = np.random.default_rng(0)
    truth = np.array([0.3, 0.2, 0.1])
    items = np.concatenate([np.repeat(np.array([5, 17, 40], dtype=np.uint64), (truth * n).astype(int)),
                            rng.integers(0, D, size=int(0.4 * n)).astype(np.uint64)])
    seeds, w = mech.randomize(items, D, RandomSource(1))
    assert int(seeds.max()) < 2**32 and int(w.max()) < mech.g
    flags = mech.flag_bits(w)
    assert mech.valid(seeds, flags, np.full(items.shape[0], D, dtype=np.uint64)).all()
    rows, signs = mech.terms(seeds, flags, np.full(items.shape[0], D))
    est = mech.estimate(np.bincount(rows.ravel(), weights=signs.ravel(), minlength=D))
    # brute force: count the reports whose hash of y equals their value, then unbias
    a = mech._rows(seeds, np.full(items.shape[0], 6, dtype=np.uint64))
    count = np.zeros(D)
    for y in range(D):
        par = (np.bitwise_count(a & np.uint64(y)) & 1).astype(np.uint64)
        count[y] = np.count_nonzero((par << np.arange(mech.hash_bits, dtype=np.uint64)).sum(1) == w)
    p = mech._p(mech.g)
    np.testing.assert_allclose(est, (count - len(items) / mech.g) / (p - 1 / mech.g), atol=1e-6)
    expected = np.bincount(items.astype(np.int64), minlength=D)
    sigma = math.sqrt(mech.report_variance() * len(items))
    z = (est - expected) / sigma
    assert np.abs(z).max() < 5 and abs(z.mean()) < 0.5


def test_olh_validation_rejects_bad_values():
    mech = LinearHashOLH(Fraction(2))  # g = 8
    seeds = np.array([1, 2, 3], dtype=np.uint64)
    D = np.full(3, 16, dtype=np.uint64)
    flags = np.array([mech.g << 2, 1, 7 << 2], dtype=np.uint8)  # value too large, HRR bit set, ok
    np.testing.assert_array_equal(mech.valid(seeds, flags, D), [False, False, True])
