"""LocalDPKMeans / ShuffleDPKMeans as scikit-learn estimators; the accounting module; lazy loading."""

import inspect
import subprocess
import sys

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClusterMixin, clone

from bigclust.private import LocalDPKMeans, ProtocolParams, ShuffleDPKMeans, _accounting, _random, _shuffle

ESTIMATORS = [
    LocalDPKMeans(4, epsilon=2.0, radius=3.0, center=[0.5, 0.5], n_levels=6, vector_levels=(5, 6)),
    ShuffleDPKMeans(4, epsilon=1.0, delta=1e-7, radius=2.0, tree="net", histogram_share=0.4),
]
IDS = [type(e).__name__ for e in ESTIMATORS]

SECRET = "987654"
BAD = {
    "n_clusters": -987654,
    "epsilon": -987654.5,
    "delta": 987654.5,
    "protocol": "p987654",
    "radius": -987654.5,
    "center": "987654",
    "n_levels": 987654,
    "tree": "kd987654",
    "bucket_bits": 987654,
    "vector_levels": "top987654",
    "histogram_levels": "top987654",
    "histogram_share": 987654.5,
    "vector_mechanism": "m987654",
    "histogram_mechanism": "m987654",
    "projection_dim": 987654,
    "threshold_a": -987654,
    "min_count_sigmas": -987654.5,
    "min_vector_sigmas": -987654.5,
    "center_estimator": "mean987654",
    "n_init": -987654,
    "public_seed": -987654,
    "random_state": -987654,
    "batch_size": -987654,
    "verbose": "yes987654",
}


class _Untouchable:
    """A stand-in for X that fails the test if fit uses it before validating."""

    def __array__(self, *args, **kwargs):
        raise AssertionError("fit touched X before validating its parameters")

    def __getattr__(self, name):
        raise AssertionError(f"fit touched X ({name}) before validating its parameters")


def _blobs(n=3000, d=2, seed=0):
    rng = np.random.default_rng(seed)
    C = rng.standard_normal((3, d))
    C *= 0.8 / np.linalg.norm(C, axis=1, keepdims=True)
    return C[rng.integers(3, size=n)] + 0.01 * rng.standard_normal((n, d))


@pytest.mark.parametrize("est", ESTIMATORS, ids=IDS)
def test_clone_get_params_repr(est):
    assert isinstance(est, BaseEstimator) and isinstance(est, ClusterMixin)
    twin = clone(est)
    assert twin is not est and twin.get_params() == est.get_params()
    assert repr(twin) == repr(est) and repr(est).startswith(type(est).__name__ + "(")


@pytest.mark.parametrize("est", ESTIMATORS, ids=IDS)
def test_set_params_round_trip(est):
    params = est.get_params()
    twin = clone(est).set_params(n_clusters=9, epsilon=0.5)
    assert twin.n_clusters == 9 and twin.epsilon == 0.5
    assert twin.set_params(**params).get_params() == params


def test_shuffle_lists_every_parameter_with_the_local_defaults():
    local = LocalDPKMeans().get_params()
    shuffle = ShuffleDPKMeans().get_params()
    assert set(shuffle) == set(local) | {"delta", "protocol"}
    assert {k: shuffle[k] for k in local} == local and shuffle["delta"] == 1e-6
    assert shuffle["protocol"] == "amplified-local"  # the simple option stays the default
    assert "kwargs" not in inspect.signature(ShuffleDPKMeans.__init__).parameters
    center = [1.0, 2.0]
    assert ShuffleDPKMeans(center=center).center is center  # stored unchanged


@pytest.mark.parametrize("est", ESTIMATORS, ids=IDS)
def test_every_parameter_has_constraints(est):
    assert set(type(est)._parameter_constraints) == set(est.get_params())
    assert set(est.get_params()) <= set(BAD)


@pytest.mark.parametrize("est", ESTIMATORS, ids=IDS)
def test_constraints_reject_bad_values_before_any_work(est):
    name = type(est).__name__
    for param in est.get_params():
        bad = clone(est).set_params(**{param: BAD[param]})
        with pytest.raises((TypeError, ValueError), match=f"{name}: {param} must be") as err:
            bad.fit(_Untouchable())
        assert SECRET not in str(err.value)


def test_labels_and_fit_predict():
    X = _blobs()
    m = LocalDPKMeans(3, radius="unit", epsilon=8.0, n_levels=5, random_state=0, batch_size=700)
    labels = m.fit_predict(X)
    assert np.array_equal(labels, m.labels_) and np.array_equal(labels, m.predict(X))
    assert labels.dtype == np.int64 and labels.shape == (3000,)


@pytest.mark.parametrize("est", ESTIMATORS, ids=IDS)
def test_report_states_the_accounting_budget(est):
    X = _blobs(4000) if est.center is None else _blobs(4000) + 0.5
    m = clone(est).set_params(random_state=0).fit(X)
    share = m.histogram_share if m.histogram_share is not None else _accounting.default_histogram_share(m.tree)
    if isinstance(m, ShuffleDPKMeans):
        budget = _accounting.shuffle_budget(m.epsilon, m.delta, 4000, share)
    else:
        budget = _accounting.local_budget(m.epsilon, share)
    for key, value in budget.report().items():
        assert m.report_[key] == value
    assert m.report_["epsilon_local"] == m.report_["epsilon_histogram"] + m.report_["epsilon_vector"]


def test_accounting_is_the_one_place():
    # the other modules use the accounting module's functions, not copies
    assert _random.rational_epsilon is _accounting.rational_epsilon
    assert _shuffle.amplified_epsilon is _accounting.amplified_epsilon
    assert _shuffle.local_epsilon_for is _accounting.local_epsilon_for
    for tree, share in (("simhash", None), ("net", None), ("simhash", 0.4)):
        p = ProtocolParams(radius="unit", n_features=3, epsilon=1.3, tree=tree, histogram_share=share)
        resolved = _accounting.default_histogram_share(tree) if share is None else share
        assert p.epsilons() == _accounting.split_epsilon(1.3, resolved)
    local = _accounting.local_budget(0.3, 0.25)
    assert local.epsilon_local == _accounting.rational_epsilon(0.3) and local.delta == 0.0
    assert local.report()["epsilon"] == float(local.epsilon_local) <= 0.3
    eps0, central, delta = _accounting.local_epsilon_for(1.0, 1e-7, 200_000)
    shuffled = _accounting.shuffle_budget(1.0, 1e-7, 200_000, 0.25)
    assert shuffled.epsilon_local == eps0 and shuffled.epsilon == central and shuffled.delta == delta
    assert shuffled.report()["amplification"].startswith("Feldman")
    assert _accounting.shuffle_budget(1.0, 1e-7, 100, 0.25).report()["amplification"] == "none (n too small)"
    with pytest.raises(ValueError, match="too small") as err:
        _accounting.rational_epsilon(1.5e-9)
    assert "1.5e-09" not in str(err.value)


def test_client_import_loads_neither_sklearn_nor_numba_and_estimators_load_lazily():
    code = (
        "import sys, bigclust.private as p\n"
        "assert 'sklearn' not in sys.modules and 'numba' not in sys.modules\n"
        "assert 'LocalDPKMeans' in dir(p) and 'LocalDPKMeans' in p.__all__\n"
        "from bigclust.private import LocalDPKMeans, ShuffleDPKMeans\n"
        "assert 'sklearn' in sys.modules and p.ShuffleDPKMeans is ShuffleDPKMeans\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
    import bigclust.private as p

    with pytest.raises(AttributeError):
        p.NoSuchEstimator
