"""The k-machine ledger, hand-computed on a tiny fixed partition, and what a distributed run
reports as computed outside the model."""

import numpy as np
import pytest

from _graph_helpers import random_graph
from bigclust.graph import FacilityLocation, Graph, KMachine, PCenter, PMedian, exclusive_mssp, mssp


def path_on_two_machines():
    """Path 0 - 1 - 2 - 3 (unit weights); machine 0 hosts {0, 1}, machine 1 hosts {2, 3}."""
    g = Graph.from_edges([0, 1, 2], [1, 2, 3], [1.0, 1.0, 1.0])
    km = KMachine(g, 2, np.random.default_rng(0))
    km.owner = np.array([0, 0, 1, 1], dtype=np.int32)
    return g, km


def test_mssp_ledger_by_hand():
    g, km = path_on_two_machines()
    dist, near = mssp(g, [0], km)
    assert dist.tolist() == [0, 1, 2, 3] and near.tolist() == [0, 0, 0, 0]
    # 1 control round: the coordinator (machine 0) announces the call to machine 1.
    # Superstep 1: machine 0 settles 0 and 1 locally; vertex 1 sends (1, src 0) to machine 1:
    #   1 message on link 0->1, 1 round. Superstep 2: machine 1 settles 2 and 3; vertex 2 sends
    #   (2, src 0) back to machine 0 (no improvement there): 1 message on link 1->0, 1 round.
    assert (km.ledger.rounds, km.ledger.messages) == (3, 3)
    assert km.ledger.received.tolist() == [1, 2] and km.ledger.max_load == 2
    assert km.ledger.calls == {"mssp": 1}


def test_exclusive_mssp_ledger_by_hand():
    g, km = path_on_two_machines()
    dist, near = exclusive_mssp(g, [0, 3], km)
    assert dist.tolist() == [3, 1, 1, 3] and near.tolist() == [3, 0, 3, 0]
    # gather + broadcast of the source counts (2 rounds, 2 messages, one received by each
    # machine), then ceil(log2 2) = 1 bit: one MSSP from {0} (3 rounds, 3 messages, received
    # [1, 2], as above) and its mirror from {3} (3, 3, [1, 2]).
    assert (km.ledger.rounds, km.ledger.messages) == (8, 8)
    assert km.ledger.received.tolist() == [3, 5]
    assert km.ledger.calls == {"mssp": 2}


def test_one_machine_charges_nothing():
    g = Graph.from_edges([0, 1, 2], [1, 2, 3], [1.0, 1.0, 1.0])
    km = KMachine(g, 1, np.random.default_rng(0))
    mssp(g, [0], km)
    assert (km.ledger.rounds, km.ledger.messages, km.ledger.max_load) == (0, 0, 0)


@pytest.mark.parametrize("est", [
    FacilityLocation(20.0, machines=3, n_repetitions=8, local_search=True, random_state=0),
    PMedian(3, machines=3, n_repetitions=8, local_search=True, random_state=0),
    PCenter(3, machines=3, n_trials=2, random_state=0),
])
def test_report_names_what_ran_outside_the_model(est):
    g = random_graph(20, seed=4)
    est.fit(g)
    rep = est.report_
    # every improvement phase is charged now: only the input's components run outside the model
    assert rep["outside_model"] == ["connected_components"]
    assert rep["rounds"] > 0 and rep["messages"] > 0
    one = type(est)(**{**est.get_params(), "machines": 1}).fit(g)
    assert one.report_["outside_model"] == [] and one.report_["rounds"] == 0


def test_weighted_algorithm3_equals_cohen_given_same_rounded_ranks():
    """Exponential (weighted) ranks: the distributed Algorithm 3 and the sequential pruned
    Dijkstra accumulate the same minima once both round the ranks to (1+eps) classes."""
    from bigclust.graph.neighbourhood import distance_levels, estimate_neighbourhood_sizes

    g = random_graph(35, seed=3)
    w = np.random.default_rng(0).uniform(0.0, 3.0, 35)
    w[::4] = 0.0
    levels = distance_levels(g, 0.1)
    seq = estimate_neighbourhood_sizes(g, 0.1, 5, np.random.default_rng(9), None, levels=levels,
                                       round_to_classes=True, demand=w)
    km = KMachine(g, 4, np.random.default_rng(1))
    dist = estimate_neighbourhood_sizes(g, 0.1, 5, np.random.default_rng(9), km, levels=levels, demand=w)
    assert np.allclose(seq.acc, dist.acc, rtol=1e-6)
    assert seq.weighted and seq.min_weight == pytest.approx(w[w > 0].min())
    # the whole graph's ball weighs w.sum(): 400 repetitions estimate it within 15%
    big = estimate_neighbourhood_sizes(g, 0.1, 400, np.random.default_rng(2), None, levels=levels, demand=w)
    assert np.allclose(big.sizes()[:, -1], w.sum(), rtol=0.15)
    # B(v, 0) of a zero-demand vertex holds no client: estimated weight 0
    zero = np.flatnonzero(w == 0)
    assert np.all(big.sizes()[zero, 0] == 0)
