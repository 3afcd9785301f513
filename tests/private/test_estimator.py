"""LocalDPKMeans / ShuffleDPKMeans: accounting, contract, determinism, errors, CLI."""

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bigclust.cli import main
from bigclust.private import LocalDPKMeans, ShuffleDPKMeans, amplified_epsilon, local_epsilon_for


def _blobs(n=40000, d=4, k=3, seed=0):
    rng = np.random.default_rng(seed)
    C = rng.standard_normal((k, d))
    C *= 0.8 / np.linalg.norm(C, axis=1, keepdims=True)
    return C[rng.integers(k, size=n)] + 0.005 * rng.standard_normal((n, d)), C


def test_local_report_accounting_and_contract():
    X, C = _blobs()
    m = LocalDPKMeans(3, radius="unit", epsilon=12.0, n_levels=8, random_state=0).fit(X)
    r = m.report_
    assert r["epsilon"] == r["epsilon_histogram"] + r["epsilon_vector"] == 12.0
    assert r["delta"] == 0.0 and r["model"] == "local"
    assert r["n_reports"] == 40000 and r["report_bytes"] == 24
    assert set(r["time"]) >= {"encode", "decode", "tree_and_kmeans"} and r["peak_memory_mb"] > 0
    assert "seeded" in r["private_randomness"]
    assert m.cluster_centers_.shape == (3, 4)
    assert (np.linalg.norm(m.cluster_centers_, axis=1) <= 1 + 1e-9).all()
    labels = m.predict(X)
    assert labels.shape == (40000,) and labels.min() >= 0 and labels.max() < 3
    cost = -m.score(X) / len(X)
    trivial = (X**2).sum(1).mean()
    assert cost < 0.1 * trivial


def test_epsilon_rounded_down_never_up():
    X, _ = _blobs(2000)
    m = LocalDPKMeans(2, radius="unit", epsilon=0.3, n_levels=4, random_state=1).fit(X)
    assert m.report_["epsilon"] <= 0.3 and 0.3 - m.report_["epsilon"] < 2**-19
    assert m.report_["epsilon_histogram"] > 0 and m.report_["epsilon_vector"] > 0


def test_unseeded_uses_csprng():
    X, _ = _blobs(1000)
    m = LocalDPKMeans(2, radius="unit", epsilon=1.0, n_levels=4).fit(X)
    assert m.report_["private_randomness"].startswith("os.urandom")


def test_radius_and_center_map_back():
    X, C = _blobs(40000)
    Y = 50.0 * X + 7.0
    m = LocalDPKMeans(3, epsilon=12.0, n_levels=8, radius=50.0, center=[7.0] * 4, random_state=0).fit(Y)
    err = max(np.min(np.linalg.norm(m.cluster_centers_ - (50 * c + 7), axis=1)) for c in C)
    assert err < 0.15 * 50


def test_shuffle_accounting():
    n, eps, delta = 200_000, 1.0, 1e-7
    eps0, central, d_spent = local_epsilon_for(eps, delta, n)
    assert eps0 > eps and central <= eps and d_spent == delta
    assert amplified_epsilon(float(eps0), n, delta) == central
    # the next representable eps0 would overshoot (eps0 is maximal up to bisection tolerance)
    assert amplified_epsilon(float(eps0) * 1.001, n, delta) > eps
    # small n: no amplification, pure local guarantee
    eps0, central, d_spent = local_epsilon_for(eps, delta, 100)
    assert float(eps0) == 1.0 and central == 1.0 and d_spent == 0.0


def test_shuffle_estimator_reports_central_guarantee():
    X, C = _blobs(60000)
    m = ShuffleDPKMeans(3, radius="unit", epsilon=2.0, delta=1e-6, n_levels=8, random_state=0).fit(X)
    r = m.report_
    assert r["model"] == "shuffle" and r["epsilon"] <= 2.0 and r["delta"] == 1e-6
    assert r["epsilon_local"] > 2.0
    assert math.isclose(r["epsilon"], amplified_epsilon(r["epsilon_local"], 60000, 1e-6))
    assert "shuffle" in r["time"]


@settings(max_examples=5, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_same_seed_same_result(seed):
    X, _ = _blobs(3000, d=3, seed=1)
    a = LocalDPKMeans(2, radius="unit", epsilon=4.0, n_levels=5, random_state=seed).fit(X)
    b = LocalDPKMeans(2, radius="unit", epsilon=4.0, n_levels=5, random_state=seed).fit(X)
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    lab = a.predict(X)
    assert ((lab >= 0) & (lab < 2)).all() and lab.shape == (3000,)  # every point in one cluster


def test_bad_input_errors():
    X, _ = _blobs(100)
    with pytest.raises(ValueError):
        LocalDPKMeans(2, radius="unit", epsilon=0.0).fit(X)
    with pytest.raises(ValueError):
        LocalDPKMeans(2, epsilon=1.0, radius=-1).fit(X)
    with pytest.raises(ValueError):
        LocalDPKMeans(2, radius="unit", epsilon=1.0).fit(np.array([[1.0, np.nan]]))
    with pytest.raises(ValueError):
        ShuffleDPKMeans(2, radius="unit", epsilon=1.0, delta=1.5).fit(X)
    with pytest.raises(AttributeError):
        LocalDPKMeans(2, radius="unit", epsilon=1.0).predict(X)
    m = LocalDPKMeans(2, radius="unit", epsilon=1.0, n_levels=3, random_state=0).fit(X)
    with pytest.raises(ValueError, match="features"):
        m.predict(X[:, :2])


def test_cli_private_kmeans(tmp_path, capsys):
    X, _ = _blobs(5000, d=3)
    f = tmp_path / "x.npy"
    np.save(f, X)
    out = tmp_path / "c.npy"
    code = main(["private-kmeans", str(f), "-k", "3", "--radius", "unit", "--epsilon", "4", "--levels", "6", "--seed", "1", "-o", str(out), "--json"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["epsilon"] == 4.0 and summary["delta"] == 0.0
    # k is capped by the coreset: as many centres as the summary states, at most k
    assert np.load(out).shape == (summary["n_centers"], 3) and 1 <= summary["n_centers"] <= 3
    code = main(["private-kmeans", str(f), "-k", "3", "--radius", "unit", "--epsilon", "1", "--shuffle", "--delta", "1e-5", "--seed", "2", "--json"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["model"] == "shuffle" and summary["epsilon"] <= 1.0
    assert len(summary["cluster_centers"]) == summary["n_centers"] <= 3
    code = main(["private-kmeans", str(f), "-k", "3", "--radius", "unit", "--epsilon", "4", "--levels", "6", "--seed", "3",
                 "--histogram-mechanism", "olh", "--histogram-levels", "3,6", "--histogram-share", "0.5", "--json",
                 "--report", str(tmp_path / "r.json")])
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["epsilon_histogram"] == 2.0
    assert json.loads((tmp_path / "r.json").read_text())["decoder_histogram_levels"] == [3, 6]
    assert main(["private-kmeans", str(f), "-k", "3", "--radius", "unit", "--epsilon", "1", "--histogram-levels", "3,5"]) == 2
    assert "histogram_levels" in capsys.readouterr().err
    assert main(["private-kmeans", str(f), "-k", "3", "--radius", "unit", "--epsilon", "-1"]) == 2
    assert "epsilon" in capsys.readouterr().err
    assert main(["private-kmeans", str(tmp_path / "missing.npy"), "-k", "3", "--radius", "unit", "--epsilon", "1"]) == 2
