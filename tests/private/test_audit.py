"""Statistical privacy audits: empirical privacy loss on neighbouring inputs vs the claim.

Each audit draws many reports on two neighbouring inputs, maps reports to a few
outcomes (post-processing), and computes a Clopper-Pearson lower confidence bound on
the privacy loss (alpha = 1e-4, Bonferroni-corrected). The claim must never be
exceeded; the tight mechanisms must come close to it (so the audit has power); a
deliberately broken mechanism must be caught.
"""

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from bigclust.private import Encoder, ProtocolParams, RandomSource
from bigclust.private._audit import empirical_epsilon
from bigclust.private._mechanisms import (
    DuchiVector,
    HadamardResponse,
    LinearHashOLH,
    gaussian_from_seeds,
    hadamard_sign,
)

ALPHA = 1e-4
N = 400_000


def _hrr_outcomes(mech, item, D, seed):
    rows, bits = mech.randomize(np.full(N, item, dtype=np.uint64), D, RandomSource(seed))
    return (rows.astype(np.int64) * 2 + bits).astype(np.int64)


def test_hadamard_response_within_claim_and_tight():
    eps = Fraction(1)
    mech = HadamardResponse(eps)
    D = 4
    res = empirical_epsilon(_hrr_outcomes(mech, 0, D, 1), _hrr_outcomes(mech, 3, D, 2), 2 * D, alpha=ALPHA)
    assert res["epsilon_lower"] <= float(eps)
    assert res["epsilon_hat"] > 0.9 * float(eps)  # the audit can see the full loss


@dataclass(frozen=True)
class _BrokenHRR(HadamardResponse):
    """Claims eps but keeps the true bit with the probability for 1.5 eps (a real-world bug class)."""

    def randomize(self, buckets, domain, rng):
        return HadamardResponse(self.epsilon * 3 / 2).randomize(buckets, domain, rng)


def test_broken_mechanism_is_caught():
    eps = Fraction(1)
    mech = _BrokenHRR(eps)
    res = empirical_epsilon(_hrr_outcomes(mech, 0, 4, 3), _hrr_outcomes(mech, 3, 4, 4), 8, alpha=ALPHA)
    assert res["epsilon_lower"] > float(eps)


def test_leaky_mechanism_is_caught():
    # a mechanism that sends the true bit unflipped for row 0: infinite loss on that outcome
    eps = Fraction(1, 2)
    mech = HadamardResponse(eps)

    def leaky(item, seed):
        rows, bits = mech.randomize(np.full(N, item, dtype=np.uint64), 4, RandomSource(seed))
        true = hadamard_sign(rows, np.full(N, item, dtype=np.uint64)) > 0
        bits = np.where(rows == 1, true, bits)
        return rows.astype(np.int64) * 2 + bits

    res = empirical_epsilon(leaky(0, 5), leaky(1, 6), 8, alpha=ALPHA)
    assert res["epsilon_lower"] > float(eps)


OLH_PAIR = (3, 9)


def _olh_outcomes(mech, item, D, seed):
    # outcome = (report matches the hash of 3, report matches the hash of 9), for either
    # input: post-processing that shows the e^eps ratio exactly when A 3 != A 9
    seeds, w = mech.randomize(np.full(N, item, dtype=np.uint64), D, RandomSource(seed))
    a = mech._rows(seeds, np.full(N, int(math.log2(D)), dtype=np.uint64))
    shifts = np.arange(mech.hash_bits, dtype=np.uint64)

    def h(y):
        return ((np.bitwise_count(a & np.uint64(y)) & 1).astype(np.uint64) << shifts).sum(1)

    return (h(OLH_PAIR[0]) == w).astype(np.int64) * 2 + (h(OLH_PAIR[1]) == w)


def test_olh_within_claim_and_tight():
    eps = Fraction(2)
    mech = LinearHashOLH(eps)
    res = empirical_epsilon(_olh_outcomes(mech, 3, 16, 1), _olh_outcomes(mech, 9, 16, 2), 4, alpha=ALPHA)
    assert res["epsilon_lower"] <= float(eps)
    assert res["epsilon_hat"] > 0.9 * float(eps)


@dataclass(frozen=True)
class _BrokenOLH(LinearHashOLH):
    """Claims eps (and uses its g) but keeps the true value with the probability for 1.5 eps."""

    def randomize(self, buckets, domain, rng):
        return LinearHashOLH(self.epsilon * 3 / 2).randomize(buckets, domain, rng)


def test_broken_olh_is_caught():
    eps = Fraction(1)
    mech = _BrokenOLH(eps)
    assert LinearHashOLH(eps * 3 / 2).g == mech.g  # same hash, only the keep probability differs
    res = empirical_epsilon(_olh_outcomes(mech, 3, 16, 3), _olh_outcomes(mech, 9, 16, 4), 4, alpha=ALPHA)
    assert res["epsilon_lower"] > float(eps)


V_AUDIT = np.array([0.6, 0.8, 0.0])


def _duchi_outcomes(mech, v, seed):
    X = np.tile(v, (N // 4, 1))
    payload, bits = mech.randomize(X, RandomSource(seed))
    g = gaussian_from_seeds(payload, v.shape[0])
    agree = (g @ V_AUDIT.astype(np.float32) > 0) == bits  # post-processing with a fixed direction
    return agree.astype(np.int64)


def test_duchi_within_claim_and_tight():
    eps = Fraction(3, 2)
    mech = DuchiVector(eps)
    v = V_AUDIT
    res = empirical_epsilon(_duchi_outcomes(mech, v, 1), _duchi_outcomes(mech, -v, 2), 2, alpha=ALPHA)
    assert res["epsilon_lower"] <= float(eps)
    assert res["epsilon_hat"] > 0.9 * float(eps)


def test_broken_duchi_is_caught():
    eps = Fraction(1)
    broken = DuchiVector(Fraction(2))  # claims 1, runs 2
    v = V_AUDIT
    res = empirical_epsilon(_duchi_outcomes(broken, v, 3), _duchi_outcomes(broken, -v, 4), 2, alpha=ALPHA)
    assert res["epsilon_lower"] > float(eps)


def test_full_encoder_report_within_total_epsilon():
    # whole 24-byte reports on two neighbouring users; outcome = (histogram bit agrees with
    # x's bucket sign, vector bit agrees with x's direction), both computed from the report
    # equal split, so that each channel alone can show a loss above half the total
    p = ProtocolParams(radius="unit", n_features=3, epsilon=2.0, n_levels=3, histogram_share=0.5)
    x = np.array([[0.5, -0.4, 0.3]])
    xp = -x
    n = 200_000

    def outcomes(point, seed):
        enc = Encoder(p, 1, random_source=RandomSource(seed))
        rep = enc.encode_array(np.repeat(point, n, axis=0))
        pub = enc._pub
        codes = pub.tree_codes(x)  # the auditor evaluates everything against x
        hb = pub.tree.user_buckets(np.repeat(codes, n), rep["hlevel"].astype(np.int64))
        h_agree = (hadamard_sign(rep["hrow"], hb) > 0) == (rep["flags"] & 1).astype(bool)
        vb = pub.tree.user_buckets(np.repeat(codes, n), rep["vlevel"].astype(np.int64))
        s = hadamard_sign(rep["vrow"], vb).astype(np.float32)
        g = gaussian_from_seeds(rep["payload"], 3)
        v_agree = ((g @ x[0].astype(np.float32)) * s > 0) == (rep["flags"] & 2).astype(bool)
        return h_agree.astype(np.int64) * 2 + v_agree

    res = empirical_epsilon(outcomes(x, 11), outcomes(xp, 12), 4, alpha=ALPHA)
    assert res["epsilon_lower"] <= p.epsilon_spent
    assert res["epsilon_hat"] > 0.5 * p.epsilon_spent


def test_empirical_epsilon_lower_bound_is_conservative():
    # identical distributions: the lower bound must stay near 0
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 4, 50_000), rng.integers(0, 4, 50_000)
    res = empirical_epsilon(a, b, 4, alpha=ALPHA)
    assert res["epsilon_lower"] <= 0.0 + 1e-12 or res["epsilon_lower"] < 0.05
    assert math.isfinite(res["epsilon_hat"])
