"""The derandomised Jain-Vazirani rounding of PMedian's raw path (Section 5.1 + the method of
conditional expectations), against brute-force enumeration of the randomised rounding's outcomes
and against the exact p-median MIP.

- ``_expected_cost`` equals the mean over every k-subset (enumerated);
- ``_conditional_expectation_picks`` makes the same picks as a brute-force method of conditional
  expectations (each conditional expectation enumerated) and ends at most at the expectation;
- ``derandomized_round`` costs at most the exact expected cost of the randomised rounding of the
  same pair (both bases, every extra set, weighted by a and b);
- PMedian(local_search=False) never returns more than the paper's own rounding
  (``report_["paper_cost"]``), and its mean ratio to the MIP optimum is held to a measured bound
  that the paper's rounding alone and random answers fail.
"""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _graph_helpers import dense, random_graph
from bigclust.graph import PMedian, exact
from bigclust.graph.paths import mssp
from bigclust.graph.pmedian import (
    _conditional_expectation_picks,
    _expected_cost,
    _min_probabilities,
    derandomized_round,
)


def _cost(d0, DR, S, w):
    return float((w * np.minimum(d0, DR[list(S)].min(axis=0) if len(S) else np.inf)).sum())


def _brute_expectation(d0, DR, k, w):
    return float(np.mean([_cost(d0, DR, S, w) for S in itertools.combinations(range(DR.shape[0]), k)]))


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 7), st.integers(1, 6), st.data())
def test_expected_cost_is_the_mean_over_subsets(N, n, data):
    k = data.draw(st.integers(0, N))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31)))
    DR = rng.integers(0, 5, (N, n)).astype(float)  # ties on purpose
    d0 = rng.integers(0, 6, n).astype(float)
    w = rng.integers(1, 4, n).astype(float)
    assert _expected_cost(d0, DR, k, w) == pytest.approx(_brute_expectation(d0, DR, k, w))
    assert _min_probabilities(N, k).sum() == pytest.approx(1.0 if k else 0.0)


def _brute_picks(d0, DR, k, w):
    """The method of conditional expectations with every expectation enumerated."""
    left, chosen, d = list(range(DR.shape[0])), [], d0.copy()
    for step in range(k):
        phi = []
        for q in left:
            others = [r for r in left if r != q]
            phi.append(_brute_expectation(np.minimum(d, DR[q]), DR[others], k - step - 1, w))
        q = left[int(np.argmin(phi))]
        chosen.append(q)
        left.remove(q)
        d = np.minimum(d, DR[q])
    return chosen


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 7), st.integers(1, 6), st.data())
def test_conditional_expectation_picks_match_brute_force(N, n, data):
    k = data.draw(st.integers(1, N))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31)))
    DR = rng.uniform(0, 10, (N, n))  # continuous: no ties, so the argmins agree
    d0 = rng.uniform(0, 12, n)
    w = rng.uniform(0.5, 3, n)
    picks, cost = _conditional_expectation_picks(d0, DR, k, w)
    assert picks.tolist() == _brute_picks(d0, DR, k, w)
    assert cost == pytest.approx(_cost(d0, DR, picks, w))
    assert cost <= _expected_cost(d0, DR, k, w) + 1e-9


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 7), st.integers(1, 6), st.data())
def test_conditional_expectation_never_exceeds_the_expectation_with_ties(N, n, data):
    k = data.draw(st.integers(1, N))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31)))
    DR = rng.integers(0, 4, (N, n)).astype(float)
    d0 = rng.integers(0, 5, n).astype(float)
    w = rng.integers(0, 3, n).astype(float)
    picks, cost = _conditional_expectation_picks(d0, DR, k, w)
    assert np.unique(picks).size == k
    assert cost == pytest.approx(_cost(d0, DR, picks, w))
    assert cost <= _expected_cost(d0, DR, k, w) + 1e-9


def _randomised_rounding_expectation(D, A, B, p, w, near):
    """Exact expected cost of Section 5.1's rounding of (A, B): base A w.p. a, else B', plus a
    uniform (p - |A|)-subset of B - B' (every outcome enumerated)."""
    b_prime = np.unique(near[A])
    rest = np.setdiff1d(B, b_prime)
    a = (B.size - p) / (B.size - A.size)
    out = 0.0
    for base, prob in ((A, a), (b_prime, 1 - a)):
        costs = [(w * D[:, np.union1d(base, S)].min(axis=1)).sum() for S in itertools.combinations(rest, p - A.size)]
        out += prob * np.mean(costs)
    return out


@pytest.mark.parametrize("seed", range(6))
def test_derandomized_round_costs_at_most_the_expected_rounding(seed):
    g = random_graph(16, seed=seed)
    D = dense(g)
    rng = np.random.default_rng(seed)
    w = rng.integers(0, 5, 16).astype(float)
    w[0] = 3.0
    checked = 0
    for _ in range(10):
        B = np.sort(rng.choice(16, int(rng.integers(5, 9)), replace=False))
        A = np.sort(rng.choice(16, int(rng.integers(1, 4)), replace=False))
        p = int(rng.integers(A.size + 1, B.size))
        _, near = mssp(g, B)
        if np.unique(near[A]).size < A.size:  # B' would be padded at random: not this oracle
            continue
        C, cost, _ = derandomized_round(g, A, B, p, rng, demand=w)
        assert C.size == p == np.unique(C).size
        assert cost == pytest.approx((w * D[:, C].min(axis=1)).sum())
        assert cost <= _randomised_rounding_expectation(D, A, B, p, w, near) + 1e-9
        checked += 1
    assert checked >= 3


def test_raw_pmedian_against_mip_beats_the_paper_rounding_alone():
    """local_search=False: never above the paper's rounding (report_["paper_cost"]), and the
    mean ratio to the MIP optimum over these 12 instances is held to a bound that the paper's
    rounding alone and random answers fail (measured: raw mean 1.002, worst 1.023; the paper's
    rounding alone mean 1.090, worst 1.195; random sets 1.5)."""
    raw, paper, rand = [], [], []
    for seed in range(6):
        g = random_graph(24, seed=seed)
        D = dense(g)
        rng = np.random.default_rng(seed)
        for p in (3, 6):
            opt, _ = exact.pmedian(D, p)
            pm = PMedian(p, random_state=seed, local_search=False).fit(g)
            assert pm.facilities_.size == p
            assert pm.cost_ == pytest.approx(pm.report_["raw_cost"])
            assert opt - 1e-9 <= pm.cost_ <= pm.report_["paper_cost"] + 1e-9
            raw.append(pm.cost_ / opt)
            paper.append(pm.report_["paper_cost"] / opt)
            rand += [D[:, rng.choice(24, p, replace=False)].min(axis=1).sum() / opt for _ in range(100)]
            plain = PMedian(p, random_state=seed, local_search=False, derandomize=False).fit(g)
            assert plain.report_["derandomized_rounding"]["pairs"] == 0
            assert plain.cost_ == pytest.approx(plain.report_["paper_cost"])
    bound = 1.02
    assert np.mean(raw) <= bound < np.mean(paper) < np.mean(rand)


def test_derandomized_rounding_is_charged_with_machines():
    g = random_graph(30, seed=3)
    with_ = PMedian(4, random_state=0, machines=3, local_search=False, n_repetitions=16).fit(g)
    without = PMedian(4, random_state=0, machines=3, local_search=False, n_repetitions=16, derandomize=False).fit(g)
    info = with_.report_["derandomized_rounding"]
    assert info["pairs"] > 0
    assert with_.report_["rounds"] > without.report_["rounds"]
    assert with_.report_["messages"] > without.report_["messages"]
    assert with_.report_["outside_model"] == without.report_["outside_model"]
    # the same answer family: never above the paper's rounding of the same run
    assert with_.cost_ <= with_.report_["paper_cost"] + 1e-9


def test_derandomized_rounding_is_off_above_its_size_gate(monkeypatch):
    """Above 64 rows of n distances per ROUNDING_CELLS (2**19 vertices by default; the
    10**7-vertex path) the raw path is the paper's alone: same search, same answer."""
    import bigclust.graph.pmedian as pmedian

    g = random_graph(40, seed=7)
    plain = PMedian(5, random_state=0, local_search=False, derandomize=False).fit(g)
    monkeypatch.setattr(pmedian, "ROUNDING_CELLS", 64 * 40 - 1)  # n = 40 vertices, all clients
    gated = PMedian(5, random_state=0, local_search=False).fit(g)
    assert gated.report_["derandomized_rounding"]["pairs"] == 0
    assert gated.report_["search"] == plain.report_["search"]
    assert gated.cost_ == plain.cost_ == gated.report_["paper_cost"]
    monkeypatch.setattr(pmedian, "ROUNDING_CELLS", 64 * 40)
    on = PMedian(5, random_state=0, local_search=False).fit(g)
    assert len(on.report_["search"]) == len(plain.report_["search"]) + 2 * pmedian.LADDER
