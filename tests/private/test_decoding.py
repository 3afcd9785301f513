"""Decoder post-processing: the public vector-noise formula, James-Stein centres, the
vector-sum significance test, and the one-level SimHash tree."""

import math

import numpy as np
import pytest

from bigclust.private import Decoder, Encoder, ProtocolParams, RandomSource
from bigclust.private._protocol import Decoder as _Dec


def _cluster_data(n, d, k, seed, spread=0.002, radius=0.9):
    rng = np.random.default_rng(seed)
    C = rng.standard_normal((k, d))
    C *= radius / np.linalg.norm(C, axis=1, keepdims=True)
    lab = rng.integers(k, size=n)
    return C[lab] + spread * rng.standard_normal((n, d)), C


def test_vector_noise_formula_matches_measured_error():
    # _vector_noise is E||v~_y - v_y||^2 for one bucket; JS shrinkage and the vector test
    # both rely on it. Compare with the squared error measured over all 2^T buckets.
    d, T, n = 6, 5, 40000
    p = ProtocolParams(radius="unit", n_features=d, epsilon=2.0, n_levels=T, bucket_bits=8)
    X, _ = _cluster_data(n, d, 3, seed=1)
    enc = Encoder(p, 4, random_source=RandomSource(3))
    dec = Decoder(p, 4).add(enc.encode_array(X))
    codes = enc._pub.tree_codes(X)
    true = np.zeros((2**T, d))
    np.add.at(true, codes.astype(np.int64), X)
    err2 = ((dec.vector_estimates(T) - true) ** 2).sum(1)
    predicted = dec._vector_noise(T)
    # E||Z||^2 is an upper bound (it includes ||u||^2 <= 1 per report); measured within 15%
    assert 0.85 * predicted < err2.mean() <= 1.05 * predicted


def test_james_stein_beats_clipping_and_matches_theory():
    rng = np.random.default_rng(0)
    d, m = 100, 4000
    c = rng.standard_normal(d)
    c *= math.sqrt(0.8) / np.linalg.norm(c)
    w = np.full(m, 1000.0)
    s2 = 0.5  # noise variance of the mean, total over coordinates
    noise_sum = s2 * w**2  # noise variance of the vector sums
    vsum = (c[None, :] + rng.standard_normal((m, d)) * math.sqrt(s2 / d)) * w[:, None]
    shrunk = _Dec._mean_point(vsum, w, noise_sum, "shrink")
    clipped = _Dec._mean_point(vsum, w, noise_sum, "clip")
    mse_s = ((shrunk - c) ** 2).sum(1).mean()
    mse_c = ((clipped - c) ** 2).sum(1).mean()
    theory = 0.8 * s2 / (0.8 + s2)  # ||c||^2 s^2 / (||c||^2 + s^2)
    assert mse_s < 0.85 * mse_c  # clipping alone: 0.40, James-Stein: 0.31 (theory 0.308)
    assert abs(mse_s - theory) < 0.1 * theory
    assert (np.linalg.norm(shrunk, axis=1) <= 1 + 1e-12).all()
    # no noise: shrinkage changes nothing
    exact = _Dec._mean_point(c[None, :] * 1000.0, np.array([1000.0]), np.array([0.0]), "shrink")
    np.testing.assert_allclose(exact[0], c, rtol=1e-12)


def test_vector_test_drops_noise_only_leaves():
    # one level of 2^10 buckets, threshold 0 on the histogram: every bucket with a positive
    # count estimate is a candidate. The vector-sum test keeps the real clusters only.
    d, k, n = 40, 3, 150000
    X, C = _cluster_data(n, d, k, seed=2)
    p = ProtocolParams(radius="unit", n_features=d, epsilon=4.0, n_levels=10)
    assert p.resolved_histogram_levels() == (10,)
    dec = Decoder(p, 5).add(Encoder(p, 5, random_source=RandomSource(6)).encode_array(X))
    loose = dec.fit(k, min_count_sigmas=0.0, min_vector_sigmas=0.0, random_state=0)
    tested = dec.fit(k, min_count_sigmas=0.0, min_vector_sigmas=3.0, random_state=0)
    assert loose.info["coreset_size"] > 100  # noise buckets pass a zero count threshold
    assert k <= tested.info["coreset_size"] <= k + 3
    err = [np.min(np.linalg.norm(tested.cluster_centers - c, axis=1)) for c in C]
    assert max(err) < 0.15, err


def test_one_level_tree_recovers_clusters_with_default_parameters():
    d, k, n = 20, 4, 120000
    X, C = _cluster_data(n, d, k, seed=3)
    p = ProtocolParams(radius="unit", n_features=d, epsilon=3.0, n_levels=8)
    res = Decoder(p, 1).add(Encoder(p, 1, random_source=RandomSource(2)).encode_array(X)).fit(k, random_state=0)
    assert res.info["histogram_levels"] == [8] and res.info["nodes_expanded_per_level"] == [1]
    err = [np.min(np.linalg.norm(res.cluster_centers - c, axis=1)) for c in C]
    assert max(err) < 0.2, err


def test_fit_option_validation():
    p = ProtocolParams(radius="unit", n_features=2, epsilon=1.0, n_levels=3)
    dec = Decoder(p, 0).add(Encoder(p, 0, random_source=RandomSource(0)).encode_array(np.zeros((10, 2))))
    with pytest.raises(ValueError, match="center_estimator"):
        dec.fit(2, center_estimator="mean")
    with pytest.raises(ValueError):
        dec.fit(2, min_vector_sigmas=-1.0)
