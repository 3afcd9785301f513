"""The graph estimators as scikit-learn estimators: parameters, constraints, deprecated names."""

import json
import warnings

import numpy as np
import pytest
from sklearn.base import BaseEstimator, clone

from _graph_helpers import orlib_path, random_graph
from bigclust.cli import main
from bigclust.graph import FacilityLocation, PCenter, PMedian

PMED2 = orlib_path("pmed2.txt")

ESTIMATORS = [
    PMedian(5, distance_precision=0.1, local_search=True, local_search_candidates=7, random_state=1),
    PCenter(3, machines=4, fill=False),
    FacilityLocation(10.0, beta=2.0, max_local_search_passes=3),
]
IDS = [type(e).__name__ for e in ESTIMATORS]

# A value every constraint rejects, with digits that must not appear in the message.
SECRET = "987654"
BAD = {
    "p": -987654,
    "opening_cost": -987654.5,
    "distance_precision": 987654.5,
    "n_repetitions": -987654,
    "n_roundings": -987654,
    "n_probes": -987654,
    "max_search_steps": -987654,
    "n_trials": -987654,
    "fill": "yes987654",
    "derandomize": "yes987654",
    "beta": -987654.5,
    "machines": -987654,
    "local_search": "yes987654",
    "max_local_search_passes": -987654,
    "local_search_candidates": -987654,
    "random_state": -987654,
    "verbose": "yes987654",
    # deprecated aliases
    "epsilon": 987654.5,
    "refine": "yes987654",
    "max_refine_passes": 987654.5,
    "refine_candidates": -987654,
}


class _Untouchable:
    """A stand-in for the graph that fails the test if fit uses it before validating."""

    def __getattr__(self, name):
        raise AssertionError(f"fit touched the graph ({name}) before validating its parameters")


@pytest.mark.parametrize("est", ESTIMATORS, ids=IDS)
def test_clone_get_params_repr(est):
    assert isinstance(est, BaseEstimator)
    twin = clone(est)
    assert twin is not est and twin.get_params() == est.get_params()
    text = repr(est)
    assert text.startswith(type(est).__name__ + "(")
    assert repr(twin) == text


@pytest.mark.parametrize("est", ESTIMATORS, ids=IDS)
def test_set_params_round_trip(est):
    params = est.get_params()
    twin = clone(est).set_params(machines=7, verbose=True)
    assert twin.machines == 7 and twin.verbose is True
    assert twin.set_params(**params).get_params() == params
    # __init__ stores its arguments unchanged
    f = np.arange(5.0)
    fl = FacilityLocation(f, distance_precision=0.3)
    assert fl.opening_cost is f and fl.distance_precision == 0.3


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


def test_p_larger_than_the_graph_is_checked_after_the_constraints():
    g = random_graph(10, seed=0)
    for cls in (PMedian, PCenter):
        with pytest.raises(ValueError, match="larger than the number of vertices") as err:
            cls(987654).fit(g)
        assert SECRET not in str(err.value)


@pytest.mark.parametrize(
    "cls,args,old,new",
    [
        (PMedian, (3,), {"epsilon": 0.2}, {"distance_precision": 0.2}),
        (PMedian, (3,), {"refine": True}, {"local_search": True}),
        (PMedian, (3,), {"local_search": True, "max_refine_passes": 1}, {"local_search": True, "max_local_search_passes": 1}),
        (PMedian, (3,), {"local_search": True, "refine_candidates": 4}, {"local_search": True, "local_search_candidates": 4}),
        (PCenter, (3,), {"epsilon": 0.2}, {"distance_precision": 0.2}),
        (FacilityLocation, (30.0,), {"epsilon": 0.2}, {"distance_precision": 0.2}),
        (FacilityLocation, (30.0,), {"refine": True}, {"local_search": True}),
        (FacilityLocation, (30.0,), {"local_search": True, "max_refine_passes": 1},
         {"local_search": True, "max_local_search_passes": 1}),
    ],
)
def test_deprecated_names_still_work_and_warn(cls, args, old, new):
    g = random_graph(20, seed=4)
    (old_name,) = set(old) - set(new)
    (new_name,) = set(new) - set(old)
    with pytest.warns(FutureWarning, match=f"'{old_name}' was renamed to '{new_name}'"):
        a = cls(*args, random_state=0, **old).fit(g)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        b = cls(*args, random_state=0, **new).fit(g)
    assert np.array_equal(a.facilities_, b.facilities_) and a.cost_ == b.cost_
    assert getattr(a, old_name) == old[old_name]  # stored unchanged under the old name


def test_report_names_the_local_search():
    g = random_graph(20, seed=1)
    pm = PMedian(3, local_search=True, random_state=0).fit(g)
    assert "local_search" in pm.report_["time"] and pm.report_["local_search"]["passes"] >= 1
    assert pm.cost_ <= pm.report_["raw_cost"]


def test_cli_new_flags_and_hidden_deprecated_aliases(capsys):
    assert main(["pmedian", PMED2, "--quiet", "--json", "--local-search", "--local-search-candidates", "20",
                 "--distance-precision", "0.1"]) == 0
    new = json.loads(capsys.readouterr().out)
    assert main(["pmedian", PMED2, "--quiet", "--json", "--refine", "--refine-candidates", "20", "--epsilon", "0.1"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["cost"] == new["cost"]
    for old, replacement in (("--refine", "--local-search"), ("--refine-candidates", "--local-search-candidates"),
                             ("--epsilon", "--distance-precision")):
        assert f"{old} was renamed to {replacement}" in captured.err
    assert main(["pcenter", PMED2, "--quiet", "--epsilon", "0.05"]) == 0
    assert "--epsilon was renamed to --distance-precision" in capsys.readouterr().err
    for command in ("pmedian", "facility"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = capsys.readouterr().out
        assert "--local-search" in text and "--distance-precision" in text
        assert "--refine" not in text and "--epsilon" not in text
