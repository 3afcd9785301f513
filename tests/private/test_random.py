"""Exact samplers: distributions checked against their closed forms with binomial/chi-square tests."""

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from bigclust.private import RandomSource
from bigclust.private._random import rational_epsilon

N = 200_000


def _binom_ok(successes, n, p, alpha=1e-6):
    return stats.binomtest(int(successes), n, p).pvalue > alpha


def test_csprng_default_and_seeded_reproducible():
    assert RandomSource().secure
    a, b = RandomSource(5), RandomSource(5)
    assert not a.secure
    np.testing.assert_array_equal(a.words(10), b.words(10))
    assert not np.array_equal(RandomSource().words(4), RandomSource().words(4))


@pytest.mark.parametrize("high", [1, 2, 3, 7, 1000, 2**40 + 3])
def test_integers_uniform_in_range(high):
    r = RandomSource(1)
    x = r.integers(high, 50_000)
    assert x.dtype == np.uint64 and int(x.max()) < high
    if high <= 1000:
        counts = np.bincount(x.astype(np.int64), minlength=high)
        if high > 1:
            assert stats.chisquare(counts).pvalue > 1e-6


def test_integers_per_element_bounds():
    r = RandomSource(2)
    highs = np.array([1, 2, 5, 9, 1 << 20], dtype=np.uint64)
    x = r.integers(np.repeat(highs, 2000))
    assert (x < np.repeat(highs, 2000)).all()


@pytest.mark.parametrize("gamma", [Fraction(0), Fraction(1, 3), Fraction(1), Fraction(5, 2), Fraction(7, 1024)])
def test_bernoulli_exp_exact(gamma):
    b = RandomSource(3).bernoulli_exp(gamma, N)
    assert _binom_ok(b.sum(), N, math.exp(-float(gamma)))


@pytest.mark.parametrize("eps", [Fraction(1, 4), Fraction(1), Fraction(3)])
def test_bernoulli_logistic_exact(eps):
    b = RandomSource(4).bernoulli_logistic(eps, N)
    assert _binom_ok(b.sum(), N, 1.0 / (1.0 + math.exp(-float(eps))))


@pytest.mark.parametrize("eps,others", [(Fraction(1, 4), 1), (Fraction(1), 3), (Fraction(2), 7), (Fraction(4), 63)])
def test_bernoulli_logistic_with_others_exact(eps, others):
    # generalised randomised response keep probability e^eps / (e^eps + others)
    b = RandomSource(9).bernoulli_logistic(eps, N, others=others)
    e = math.exp(float(eps))
    assert _binom_ok(b.sum(), N, e / (e + others))


def test_bernoulli_rational():
    b = RandomSource(5).bernoulli_rational(3, 7, N)
    assert _binom_ok(b.sum(), N, 3 / 7)


@pytest.mark.parametrize("scale", [Fraction(1, 2), Fraction(3, 2), Fraction(4)])
def test_discrete_laplace_pmf(scale):
    z = RandomSource(6).discrete_laplace(scale, 100_000)
    s = float(scale)
    q = math.exp(-1 / s)
    support = np.arange(-12, 13)
    pmf = (1 - q) / (1 + q) * q ** np.abs(support)
    counts = np.array([(z == v).sum() for v in support])
    tail = len(z) - counts.sum()
    exp = np.append(pmf * len(z), len(z) * (1 - pmf.sum()))
    obs = np.append(counts, tail)
    keep = exp > 5
    obs_k, exp_k = obs[keep], exp[keep]
    exp_k = exp_k * obs_k.sum() / exp_k.sum()
    assert stats.chisquare(obs_k, exp_k).pvalue > 1e-6


def test_rational_epsilon_rounds_down():
    for e in [1.0, 0.1, 0.3333, 8.0, 2.0**-19]:
        r = rational_epsilon(e)
        assert r <= Fraction(e) and Fraction(e) - r < Fraction(1, 1 << 20)
        assert r.denominator <= 1 << 20
    with pytest.raises(ValueError):
        rational_epsilon(1e-9)


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=1, max_value=2**62), st.integers(min_value=0, max_value=2**32))
def test_integers_property_in_range(high, seed):
    x = RandomSource(seed).integers(high, 64)
    assert (x < np.uint64(high)).all()
