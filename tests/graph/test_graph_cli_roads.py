"""The graph CLI on real-road inputs: GraphML with demand, OSM XML, edge-list CSV with a header,
--candidates/--fixed/--out, and its hostile-input checks."""

import json

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from bigclust.cli import main
from bigclust.datasets import find_data_dir


@pytest.fixture
def city(tmp_path):
    """An OSMnx-style GraphML city (strings everywhere, as osmnx.save_graphml writes)."""
    G = nx.MultiDiGraph()
    rng = np.random.default_rng(0)
    ids = [1000 + i for i in range(12)]
    for i, node in enumerate(ids):
        G.add_node(node, x=str(-122.3 + 0.001 * (i % 4)), y=str(37.8 + 0.001 * (i // 4)),
                   population=str(int(rng.integers(0, 50))))
    for i in range(12):
        for j in (i + 1, i + 4):
            if j < 12 and not (j == i + 1 and j % 4 == 0):
                L = str(float(rng.integers(50, 150)))
                G.add_edge(ids[i], ids[j], length=L)
                G.add_edge(ids[j], ids[i], length=L)
    path = tmp_path / "city.graphml"
    nx.write_graphml(G, path)
    return path, ids


def test_pmedian_graphml_demand_geojson_and_csv(city, tmp_path, capsys):
    path, ids = city
    gj = tmp_path / "a.geojson"
    assert main(["pmedian", str(path), "-p", "3", "--demand", "population", "--quiet", "--json", "--out", str(gj)]) == 0
    summary = json.loads(capsys.readouterr().out)
    doc = json.loads(gj.read_text())
    feats = doc["features"]
    assert doc["type"] == "FeatureCollection" and len(feats) == 12
    assert {f["properties"]["node"] for f in feats} == set(ids)
    facs = {f["properties"]["node"] for f in feats if f["properties"]["is_facility"]}
    assert len(facs) == 3 and {f["properties"]["facility"] for f in feats} == facs
    weighted = sum(f["properties"]["demand"] * f["properties"]["distance"] for f in feats)
    assert weighted == pytest.approx(summary["cost"])
    out = tmp_path / "a.csv"
    fixed = tmp_path / "fixed.txt"
    fixed.write_text(f"{ids[5]}\n")
    assert main(["pcenter", str(path), "-p", "2", "--fixed", str(fixed), "--quiet", "--json", "--out", str(out),
                 "--local-search"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["cost"] <= summary["raw_cost"]
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["node", "facility", "distance", "demand"]
    assert ids[5] in set(frame["facility"]) and frame["facility"].nunique() <= 2


def test_facility_cost_per_candidate_and_shape_refused(city, tmp_path, capsys):
    path, ids = city
    cand = tmp_path / "cand.txt"
    cand.write_text("\n".join(str(x) for x in ids[:4]) + "\n")
    np.save(tmp_path / "c4.npy", np.array([100.0, 200.0, 300.0, 400.0]))
    out = tmp_path / "f.csv"
    assert main(["facility", str(path), "--cost", str(tmp_path / "c4.npy"), "--candidates", str(cand), "--quiet",
                 "--out", str(out)]) == 0
    assert set(pd.read_csv(out)["facility"]) <= set(ids[:4])
    capsys.readouterr()
    np.save(tmp_path / "c2x2.npy", np.ones((2, 2)))
    assert main(["facility", str(path), "--cost", str(tmp_path / "c2x2.npy"), "--candidates", str(cand)]) == 2
    assert "shape (2, 2)" in capsys.readouterr().err
    np.save(tmp_path / "c6x2.npy", np.ones((6, 2)))  # 12 numbers for 12 vertices, but a table
    assert main(["facility", str(path), "--cost", str(tmp_path / "c6x2.npy")]) == 2
    assert "expected one value per row" in capsys.readouterr().err
    bad = tmp_path / "bad.txt"
    bad.write_text("999999\n")
    assert main(["pmedian", str(path), "-p", "2", "--fixed", str(bad)]) == 2
    assert "1 id(s) are not nodes" in capsys.readouterr().err


def test_summary_only_after_every_output(city, tmp_path, capsys):
    path, _ = city
    missing_dir = tmp_path / "nope" / "a.csv"
    code = main(["pmedian", str(path), "-p", "2", "--quiet", "--out", str(missing_dir)])
    captured = capsys.readouterr()
    assert code != 0 and captured.out == ""  # no success line when an output failed
    assert main(["pmedian", str(path), "-p", "2", "--quiet", "--out", str(tmp_path / "a.txt")]) == 2
    assert "unknown suffix; the assignment table is written as .csv, .geojson" in capsys.readouterr().err


def test_osm_extract_and_edge_csv(tmp_path, capsys):
    osm = find_data_dir() / "roads" / "West-Oakland.osm.bz2"
    if not osm.exists():
        pytest.skip("West-Oakland.osm.bz2 is not in the data folder")
    # the extract has 3 components: facility location serves each one
    out = tmp_path / "wo.geojson"
    assert main(["facility", str(osm), "--cost", "500", "--quiet", "--json", "--out", str(out)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["n_vertices"] == 213 and summary["n_facilities"] >= 3
    assert len(json.loads(out.read_text())["features"]) == 213
    csv = tmp_path / "edges.csv"
    csv.write_text("from,to,length\nA,B,1\nB,C,1\nC,D,1\n")
    assert main(["pmedian", str(csv), "-p", "1", "--quiet", "--out", str(tmp_path / "o.csv")]) == 0
    assert set(pd.read_csv(tmp_path / "o.csv")["facility"]) in ({"B"}, {"C"})


def test_plot_map_on_the_real_extract(tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import warnings

    from bigclust.graph import Graph, PMedian

    osm = find_data_dir() / "roads" / "West-Oakland.osm.bz2"
    if not osm.exists():
        pytest.skip("West-Oakland.osm.bz2 is not in the data folder")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = Graph.read_osm(osm)
    _, lab = g.components()
    sub, _ = g.subgraph(np.flatnonzero(lab == np.argmax(np.bincount(lab))))
    pm = PMedian(4, random_state=0).fit(sub)
    ax = pm.plot_map(sub)
    assert len(ax.collections) == 3  # edges, served vertices, facilities
    offsets = ax.collections[2].get_offsets()
    assert np.allclose(np.sort(offsets[:, 0]), np.sort(sub.coords[pm.facilities_, 0]))
    ax.figure.savefig(tmp_path / "map.png")
    with pytest.raises(ValueError, match="vertex counts differ"):
        pm.plot_map(g)
