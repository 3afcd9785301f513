import json

import numpy as np
import pytest

from _graph_helpers import dense, orlib_path
from bigclust.cli import main
from bigclust.graph import FacilityLocation, PCenter, PMedian
from bigclust.graph.generators import lower_bound_graph, road_like_grid

PMED2 = orlib_path("pmed2.txt")


def test_cli_pmedian_orlib(tmp_path, capsys):
    fac = tmp_path / "f.npy"
    asg = tmp_path / "a.npy"
    rep = tmp_path / "r.json"
    assert main(["pmedian", PMED2, "--refine", "--quiet", "--json", "--facilities", str(fac), "--assignment", str(asg),
                 "--report", str(rep)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n_facilities"] == 10 and out["cost"] <= out["raw_cost"]
    assert np.load(fac).size == 10 and np.load(asg).shape == (100,)
    assert "rounds" in json.loads(rep.read_text())


def test_cli_pcenter_and_facility_with_edge_list(tmp_path, capsys):
    E = np.array([[0, 1, 2.0], [1, 2, 3.0], [2, 3, 1.0], [3, 0, 5.0]])
    f = tmp_path / "e.npy"
    np.save(f, E)
    assert main(["pcenter", str(f), "-p", "2", "--quiet", "--json", "--machines", "2"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n_facilities"] <= 2 and out["rounds"] > 0
    np.save(tmp_path / "c.npy", np.array([1.0, 100.0, 100.0, 100.0]))
    assert main(["facility", str(f), "--cost", str(tmp_path / "c.npy"), "--quiet", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n_facilities"] >= 1


def test_cli_user_errors(tmp_path, capsys):
    assert main(["pmedian", str(tmp_path / "missing.txt"), "-p", "2"]) == 2
    assert "No such file" in capsys.readouterr().err
    assert main(["pmedian", "grid:5x5", "--quiet"]) == 2
    assert "-k/--n-clusters (or -p) is required" in capsys.readouterr().err
    assert main(["pmedian", PMED2, "-p", "1000", "--quiet"]) == 2
    assert "larger than" in capsys.readouterr().err


def test_road_like_grid_is_connected_and_seeded():
    g = road_like_grid(15, 20, random_state=3)
    assert g.n_vertices == 300 and g.n_components == 1
    g2 = road_like_grid(15, 20, random_state=3)
    assert np.array_equal(g.weights, g2.weights)


def test_lower_bound_family_optimum_reveals_y():
    g, f, X, Y = lower_bound_graph(12, random_state=0)
    assert not np.any((X == 1) & (Y == 1))
    D = dense(g)
    # with u (0) and w (1) open, u serves v_i exactly when x_i = y_i = 0 (Lemma 3.2's argument)
    serves_u = D[4:, 0] < D[4:, 1]
    assert np.array_equal(serves_u, (X == 0) & (Y == 0))
    fl = FacilityLocation(f, random_state=0).fit(g)
    assert {0, 1} <= set(fl.facilities_.tolist())
    for est in (PMedian(2, random_state=0, local_search=True), PCenter(2, random_state=0)):
        est.fit(g)
        assert est.facilities_.size <= 2
