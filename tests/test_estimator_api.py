"""Every public estimator of every family is a scikit-learn estimator: get_params, set_params, clone, repr."""

import pytest
from sklearn.base import BaseEstimator, clone

from bigclust import LSHTreeKMeans, LSHTreeKMedian
from bigclust.graph import FacilityLocation, PCenter, PMedian
from bigclust.private import LocalDPKMeans, ShuffleDPKMeans

ESTIMATORS = [
    LSHTreeKMeans(7, method="approx", refine=2, random_state=3),
    LSHTreeKMedian(4, median_sample_size=64),
    PMedian(5, random_state=1),
    PCenter(3, machines=4),
    FacilityLocation(opening_cost=10.0),
    LocalDPKMeans(n_clusters=4, epsilon=2.0, radius=3.0),
    ShuffleDPKMeans(n_clusters=4, epsilon=1.0, delta=1e-6, radius=2.0),
]


@pytest.mark.parametrize("est", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_clone_keeps_every_parameter(est):
    assert isinstance(est, BaseEstimator)
    params = est.get_params()
    twin = clone(est)
    assert twin is not est and type(twin) is type(est)
    assert twin.get_params() == params
    assert repr(twin) == repr(est)


@pytest.mark.parametrize("est", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_set_params_round_trip(est):
    params = est.get_params()
    twin = clone(est).set_params(**params)
    assert twin.get_params() == params
    # every constructor argument is a parameter, listed by name
    import inspect

    names = [p for p in inspect.signature(type(est).__init__).parameters if p != "self"]
    assert sorted(names) == sorted(params)
