"""The shuffle-model protocol (Theorem 2): accounting, exact aggregation, privacy audit,
error that does not grow with n, reproducibility, sharding."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binom

from bigclust.private import RandomSource, ShuffleDecoder, ShuffleDPKMeans, ShuffleEncoder, ShuffleParams
from bigclust.private._accounting import blanket_budget, blanket_epsilon, blanket_group_size
from bigclust.private._audit import empirical_epsilon_delta
from bigclust.private._multimessage import MESSAGE_DTYPE, _binomial_half, _Layout, simulate_blankets


# ---- accounting vs the exact hockey-stick divergence -----------------------------------------
def _exact_delta(N: int, m: int, eps: float) -> float:
    """sup over events of P(S) - e^eps Q(S) for m cells shifted +1 and m cells shifted -1,
    each with Bin(N, 1/2) noise: summed over every outcome (the oracle)."""
    u = np.arange(N + 2)
    b = binom.pmf(u, N, 0.5)  # b[N + 1] = 0
    b_minus = np.concatenate([[0.0], b[:-1]])  # P(X + 1 = u)
    # one +1 cell and one -1 cell: P = (X+1, Y), Q = (X, Y+1)
    P1 = np.outer(b_minus, b).ravel()
    Q1 = np.outer(b, b_minus).ravel()
    P, Q = P1, Q1
    for _ in range(m - 1):
        P, Q = np.outer(P, P1).ravel(), np.outer(Q, Q1).ravel()
    return float(np.maximum(P - math.exp(eps) * Q, 0.0).sum())


@pytest.mark.parametrize("N,m,delta", [(10, 1, 1e-2), (40, 1, 1e-3), (200, 1, 1e-4), (12, 2, 1e-2), (30, 2, 1e-3)])
def test_blanket_bound_holds_against_exact_divergence(N, m, delta):
    eps = blanket_epsilon([(m, N)], delta)
    assert math.isfinite(eps)
    assert _exact_delta(N, m, eps) <= delta
    # the bound is not vacuous: at a fifth of it the exact delta is far above the target
    assert _exact_delta(N, m, eps / 5.0) > delta


def test_group_size_is_the_smallest_that_meets_the_target():
    for eps, delta, m in [(1.0, 1e-5, 1), (0.5, 1e-6, 3), (2.0, 1e-4, 20)]:
        N = blanket_group_size(eps, delta, m)
        assert blanket_epsilon([(m, N)], delta) <= eps < blanket_epsilon([(m, N - 1)], delta)
    b = blanket_budget(1.0, 1e-6, 0.25, 1, 100)
    assert b.epsilon <= 1.0 and b.delta == 1e-6
    assert blanket_epsilon([(1, b.noise_histogram), (100, b.noise_vector)], 1e-6) <= 1.0


def test_binomial_half_is_exact_popcount():
    rng = RandomSource(3)
    g = np.array([0, 1, 63, 64, 65, 200] * 4000)
    x = _binomial_half(rng, g)
    assert ((x >= 0) & (x <= g)).all()
    for gi in (1, 63, 64, 65, 200):
        s = x[g == gi]
        assert abs(s.mean() - gi / 2) < 5 * math.sqrt(gi / 4 / s.size)
        assert abs(s.var() - gi / 4) < 0.15 * gi / 4 + 0.02
    assert (x[g == 0] == 0).all()


# ---- small protocol instances ------------------------------------------------------------------
def _params(n_users=3000, d=2, eps=4.0, delta=1e-4, T=4):
    return ShuffleParams(n_features=d, epsilon=eps, delta=delta, n_users=n_users, n_levels=T, radius="unit")


def _two_blobs(n, d, seed):
    rng = np.random.default_rng(seed)
    c = np.zeros((2, d))
    c[0, 0], c[1, 0] = 0.6, -0.6
    X = c[rng.integers(2, size=n)] + rng.normal(0, 0.05, (n, d))
    return X / np.maximum(np.linalg.norm(X, axis=1), 1.0)[:, None]


def _messages(cells, fp):
    cells = cells[cells >= 0]  # -1: a coordinate that sent nothing
    m = np.zeros(cells.size, dtype=MESSAGE_DTYPE)
    m["version"], m["tag"], m["fingerprint"], m["cell"] = 1, 0x53, fp, cells.ravel()
    return m


def test_aggregation_is_exact_without_blankets():
    """Real messages only (noise off): counts = the exact histogram; d = 1 points at +-1 round
    deterministically, so the vector sums are exact too."""
    p = ShuffleParams(n_features=1, epsilon=4.0, delta=1e-4, n_users=2000, n_levels=3, radius="unit")
    rng = np.random.default_rng(0)
    X = rng.choice([-1.0, 1.0], size=(2000, 1))
    enc = ShuffleEncoder(p, 11, random_source=RandomSource(1))
    dec = ShuffleDecoder(p, 11)
    lay = dec._lay
    dec.add(_messages(enc.real_cells(X), lay.fingerprint).tobytes())
    codes = lay.pub.tree_codes(X)
    for lv in lay.pub.histogram_levels:
        buckets = lay.pub.tree.user_buckets(codes, np.full(2000, lv)).astype(np.int64)
        exact = np.bincount(buckets, minlength=int(lay.dom[lv]))
        z = np.arange(int(lay.hoff[lv]), int(lay.hoff[lv] + lay.dom[lv]))
        np.testing.assert_array_equal(dec.frequency_estimates(int(lv)) + 0.5 * lay.group_sizes("h", z), exact)
    for lv in lay.pub.vector_levels:
        buckets = lay.pub.tree.user_buckets(codes, np.full(2000, lv)).astype(np.int64)
        exact = np.zeros((int(lay.dom[lv]), 1))
        np.add.at(exact, buckets, X)
        # the blankets' expectation is subtracted from both sign cells: it cancels in the difference
        np.testing.assert_array_equal(dec.vector_estimates(int(lv)), exact)


def test_rounding_is_unbiased_and_encode_matches_the_schedule():
    p = _params()
    enc = ShuffleEncoder(p, 5, random_source=RandomSource(2))
    lay = enc._lay
    X = _two_blobs(3000, 2, 1)
    dec = ShuffleDecoder(p, 5)
    dec.add(_messages(enc.real_cells(X), lay.fingerprint))
    lv = int(lay.pub.vector_levels[0])
    buckets = lay.pub.tree.user_buckets(lay.pub.tree_codes(X), np.full(3000, lv)).astype(np.int64)
    exact = np.zeros((int(lay.dom[lv]), 2))
    np.add.at(exact, buckets, X)
    sizes = np.bincount(buckets, minlength=int(lay.dom[lv]))
    err = np.abs(dec.vector_estimates(lv) - exact)
    assert (err <= 5 * np.sqrt(np.maximum(sizes, 1))[:, None]).all()
    # one user's multiset: its real messages plus blankets on its own residue class only
    one = np.frombuffer(enc.encode(X[7], 7), dtype=MESSAGE_DTYPE)
    cells = one["cell"].astype(np.int64)
    assert (np.diff(cells) >= 0).all()
    # real messages: the user's histogram cell, and for each coordinate at most one of its
    # two sign cells (the rounding coin of encode() is its own)
    bucket = int(lay.pub.tree.user_buckets(lay.pub.tree_codes(X[7:8]), np.array([4]))[0])
    blank = cells.tolist()
    blank.remove(bucket)
    for j in range(2):
        pair = [lay.n_hist + 2 * (2 * bucket + j) + s for s in (0, 1)]
        off = [q for q in pair if q in blank and (q - lay.n_hist) % lay.R_v != 7 % lay.R_v]
        if off:
            blank.remove(off[0])
    blank = np.array(blank, dtype=np.int64)
    h = blank[blank < lay.n_hist]
    v = blank[blank >= lay.n_hist] - lay.n_hist
    assert (h % lay.R_h == 7 % lay.R_h).all() and (v % lay.R_v == 7 % lay.R_v).all()


def test_all_clients_blankets_match_the_simulation():
    """Sum of every user's blanket messages (client path) vs simulate_blankets: same mean per
    cell (g/2) and the same spread (g/4), over the cells."""
    p = _params(n_users=800, d=1, eps=6.0, delta=1e-3, T=3)
    enc = ShuffleEncoder(p, 9, random_source=RandomSource(4))
    lay = enc._lay
    counts = np.zeros(lay.n_cells, dtype=np.int64)
    for i in range(p.n_users):
        np.add.at(counts, lay.blanket_cells(i, enc._rng), 1)
    sim = simulate_blankets(p, 9, RandomSource(5))
    g = np.concatenate([lay.group_sizes("h", np.arange(lay.n_hist)), lay.group_sizes("v", np.arange(lay.n_vec))])
    for c in (counts, sim):
        z = (c - g / 2) / np.sqrt(g / 4)
        assert abs(z.mean()) < 4 / math.sqrt(z.size) + 0.3 and 0.3 < z.std() < 1.8


# ---- privacy audit of the shuffled output --------------------------------------------------------
def _audit_counts(p, seed, trials, shrink=1):
    """Shuffler output (per-cell counts) for neighbours: user 0 at +1 vs at -1 (d = 1, one level)."""
    lay = _Layout(p, seed)
    n = p.n_users
    rs = RandomSource(seed)
    stats = []
    b = p.budget
    for x0 in (1.0, -1.0):
        X = np.ones((n, 1))
        X[0, 0] = x0
        real = lay.real_cells(X, rs).ravel()
        real = np.bincount(real[real >= 0], minlength=lay.n_cells)
        g = np.concatenate([lay.group_sizes("h", np.arange(lay.n_hist)), lay.group_sizes("v", np.arange(lay.n_vec))])
        g = (g - 1) // shrink  # the changed user's own coins are data-independent: leave them out
        noise = _binomial_half(rs, np.tile(g, trials)).reshape(trials, lay.n_cells)
        c = real[None, :] + noise
        # near-optimal test statistic: the Gaussian log-likelihood ratio of the shifted cells
        h = c[:, 0] - c[:, 1]
        v = c[:, lay.n_hist + 1] - c[:, lay.n_hist + 2]  # (bucket 0, +) minus (bucket 1, -)
        sign = 1.0 if lay.pub.tree_codes(np.ones((1, 1)))[0] == 0 else -1.0
        stats.append(sign * (h / b.noise_histogram + v / b.noise_vector))
    return stats


@pytest.mark.parametrize("shrink,should_pass", [(1, True), (8, False)])
def test_audit_shuffled_output(shrink, should_pass):
    b = blanket_budget(1.0, 1e-3, 0.5, 1, 1)
    n = max(b.noise_histogram, b.noise_vector) + 1
    p = ShuffleParams(n_features=1, epsilon=1.0, delta=1e-3, n_users=n, n_levels=1, histogram_share=0.5, radius="unit")
    a, bb = _audit_counts(p, 21, 200_000, shrink)
    res = empirical_epsilon_delta(a, bb, p.delta, alpha=1e-4)
    if should_pass:
        assert res["epsilon_lower"] <= p.budget.epsilon
        assert res["epsilon_lower"] >= 0.3 * p.budget.epsilon  # the audit sees a good part of the claim
    else:
        assert res["epsilon_lower"] > p.budget.epsilon  # 8x too little noise is caught


# ---- error that does not grow with n -------------------------------------------------------------
def _excess(n, seed):
    X = _two_blobs(n, 2, seed)
    c = np.array([[0.6, 0.0], [-0.6, 0.0]])
    m = ShuffleDPKMeans(2, epsilon=2.0, delta=1e-4, protocol="shuffle", radius="unit", n_levels=4,
                        random_state=seed).fit(X)

    def cost(C):
        return float(((X[:, None, :] - C[None]) ** 2).sum(-1).min(1).sum())

    return cost(m.cluster_centers_) - cost(c), m


def test_additive_error_does_not_grow_with_n():
    """Excess k-means cost over the planted centres at n and 16 n: a protocol whose error grew
    like sqrt(n) (the amplified-local one) would be about 4x larger at 16 n."""
    small = [_excess(4000, s)[0] for s in range(3)]
    large = [_excess(64000, s)[0] for s in range(3)]
    _, m = _excess(4000, 0)
    floor = m.report_["decoder_expected_noise_floor"]
    assert np.mean(large) < 3.0 * max(np.mean(small), floor)
    assert max(large) < 10.0 * floor  # k d + k^2 d g / (2 n) in data units: d = 2, k = 2
    # the blanket noise of a count is sqrt(g)/2, g < 2 (N + 1): set by (eps, delta, d), not n
    assert m.report_["decoder_histogram_sigma_per_level"][0] <= math.sqrt(2 * (m.report_["blanket_noise_histogram"] + 1)) / 2


# ---- reproducibility, sharding, contract -----------------------------------------------------------
def test_same_seed_same_result():
    X = _two_blobs(3000, 2, 4)
    a = ShuffleDPKMeans(2, protocol="shuffle", epsilon=4.0, delta=1e-4, radius="unit", n_levels=4, random_state=7).fit(X)
    b = ShuffleDPKMeans(2, protocol="shuffle", epsilon=4.0, delta=1e-4, radius="unit", n_levels=4, random_state=7).fit(X)
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    assert a.report_["protocol"] == "shuffle" and a.report_["epsilon"] <= 4.0 and a.report_["delta"] == 1e-4
    p = _params()
    e1 = ShuffleEncoder(p, 3, random_source=RandomSource(9)).encode(X[0], 0)
    e2 = ShuffleEncoder(p, 3, random_source=RandomSource(9)).encode(X[0], 0)
    assert e1 == e2


def test_merge_and_bytes_equal_one_decoder():
    p = _params()
    X = _two_blobs(3000, 2, 2)
    enc = ShuffleEncoder(p, 8, random_source=RandomSource(1))
    msgs = [enc.encode(X[i], i) for i in range(p.n_users)]
    whole = ShuffleDecoder(p, 8).add(msgs)
    a = ShuffleDecoder(p, 8).add(msgs[:1000])
    b = ShuffleDecoder(p, 8).add(msgs[1000:])
    c = ShuffleDecoder.from_bytes(b.to_bytes(), p, 8)
    a.merge(c)
    np.testing.assert_array_equal(a._counts, whole._counts)
    assert a.to_bytes() == whole.to_bytes()
    ra, rw = a.fit(2, random_state=1), whole.fit(2, random_state=1)
    np.testing.assert_array_equal(ra.cluster_centers, rw.cluster_centers)
    assert np.abs(np.sort(rw.cluster_centers[:, 0]) - [-0.6, 0.6]).max() < 0.15
    other = ShuffleDecoder(p, 9)
    with pytest.raises(ValueError, match="different public parameters"):
        a.merge(other)
    with pytest.raises(ValueError, match="different public parameters"):
        ShuffleDecoder.from_bytes(whole.to_bytes(), p, 9)
    blob = bytearray(whole.to_bytes())
    blob[70] ^= 1
    with pytest.raises(ValueError, match="corrupted"):
        ShuffleDecoder.from_bytes(bytes(blob), p, 8)
    with pytest.raises(ValueError, match="different public parameters"):
        other.add(msgs[0])
    bad = np.frombuffer(msgs[0], dtype=MESSAGE_DTYPE).copy()
    bad["cell"][0] = 2**40
    with pytest.raises(ValueError, match="outside"):
        ShuffleDecoder(p, 8).add(bad)


def test_bad_input_is_refused_without_echo():
    with pytest.raises(ValueError, match="at least"):
        ShuffleParams(n_features=5, epsilon=1.0, delta=1e-5, n_users=1000, radius="unit")
    with pytest.raises(ValueError, match="delta"):
        ShuffleParams(n_features=2, epsilon=1.0, delta=1.5, n_users=10**6, radius="unit")
    with pytest.raises(ValueError, match="radius is required"):
        ShuffleParams(n_features=2, epsilon=1.0, delta=1e-6, n_users=10**6)
    p = _params()
    enc = ShuffleEncoder(p, 1)
    with pytest.raises(ValueError) as e:
        enc.encode(["0.123456", "my-secret"], 0)
    assert "my-secret" not in str(e.value) and e.value.__context__ is None
    with pytest.raises(ValueError) as e:
        enc.encode([0.987654321, float("nan")], 0)
    assert "0.987654321" not in str(e.value)
    with pytest.raises(ValueError, match="user_index"):
        enc.encode([0.1, 0.2], p.n_users)
    with pytest.raises(ValueError, match="protocol"):
        ShuffleDPKMeans(2, protocol="central", radius="unit").fit(np.zeros((10, 2)))


# ---- properties ------------------------------------------------------------------------------------
@settings(max_examples=15, deadline=None)
@given(N=st.integers(4, 3000), m=st.integers(1, 50), delta=st.sampled_from([1e-3, 1e-6, 1e-9]))
def test_blanket_epsilon_is_monotone(N, m, delta):
    e = blanket_epsilon([(m, N)], delta)
    assert e >= blanket_epsilon([(m, N + max(1, N // 4))], delta)  # more noise, less loss
    assert e <= blanket_epsilon([(m + 1, N)], delta)  # more shifted cells, more loss
    assert e <= blanket_epsilon([(m, N)], delta / 10)


@settings(max_examples=10, deadline=None)
@given(d=st.integers(1, 3), T=st.integers(1, 4), seed=st.integers(0, 2**32 - 1), cut=st.floats(0.0, 1.0))
def test_any_split_of_the_messages_merges_to_the_same_counts(d, T, seed, cut):
    p = ShuffleParams(n_features=d, epsilon=8.0, delta=1e-3, n_users=400, n_levels=T, radius="unit")
    rng = np.random.default_rng(seed)
    X = rng.normal(0, 0.5, (p.n_users, d))
    enc = ShuffleEncoder(p, seed, random_source=RandomSource(seed))
    msgs = b"".join(enc.encode(X[i], i) for i in range(p.n_users))
    allm = np.frombuffer(msgs, dtype=MESSAGE_DTYPE)[rng.permutation(len(msgs) // 16)]  # the shuffler
    j = int(cut * allm.size)
    a = ShuffleDecoder(p, seed).add(allm[:j])
    a.merge(ShuffleDecoder(p, seed).add(allm[j:]))
    whole = ShuffleDecoder(p, seed).add(allm)
    assert a.to_bytes() == whole.to_bytes()
    # every user sent exactly one real histogram message per level: totals are n + blankets
    lay = whole._lay
    for lv in lay.pub.histogram_levels:
        z = np.arange(int(lay.hoff[lv]), int(lay.hoff[lv] + lay.dom[lv]))
        blankets = whole._counts[z].sum() - p.n_users
        assert 0 <= blankets <= lay.group_sizes("h", z).sum()


# ---- test vector (docs/private.md, "The shuffle-model protocol") --------------------------------
def test_message_test_vector_and_its_reconstruction_from_the_rules():
    import hashlib

    from bigclust.private._public import stream_bytes

    p = ShuffleParams(n_features=2, epsilon=4.0, delta=1e-4, n_users=300, n_levels=4, radius="unit")
    assert p.digest(7).hex() == "32079ad9b365d13678b884daea3045bf62580349de12a6a9a67ff4f3a6841601"
    assert (p.budget.noise_histogram, p.budget.noise_vector, p.groups()) == (110, 29, (2, 10))
    x, i = np.array([0.3, -0.2]), 5
    msgs = ShuffleEncoder(p, 7, random_source=RandomSource.test_stream(1)).encode(x, i)
    assert hashlib.sha256(msgs).hexdigest() == "b340f1760a6ff94c1c00bda22f45e51b5ff2d4666a31b2607a2d82328f86cdb9"
    # the same messages from the documented rules and the private-test stream
    lay = _Layout(p, 7)
    words = np.frombuffer(stream_bytes(1, "private-test", 8 * 64), dtype="<u8")
    bucket = int(lay.pub.tree.user_buckets(lay.pub.tree_codes(x[None, :]), np.array([4]))[0])
    cells = [bucket]  # one histogram level (4): its block starts at 0
    u = (words[:2] >> np.uint64(11)).astype(np.float64) / 2.0**53  # one uniform53 per coordinate
    cells += [16 + 2 * (2 * bucket + j) + int(x[j] > 0) for j in range(2) if u[j] < abs(x[j])]
    w = 2
    for base, size, R in ((0, 16, 2), (16, 64, 10)):  # histogram cells, then vector cells
        served = list(range(i % R, size, R))
        nw = (len(served) + 63) // 64
        bits = np.unpackbits(words[w:w + nw].view(np.uint8), bitorder="little")
        cells += [base + z for z, b in zip(served, bits) if b]
        w += nw
    expected = np.zeros(len(cells), dtype=MESSAGE_DTYPE)
    expected["version"], expected["tag"], expected["fingerprint"] = 1, 0x53, p.fingerprint(7)
    expected["cell"] = sorted(cells)
    assert expected.tobytes() == msgs
