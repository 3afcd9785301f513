import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp

from _graph_helpers import orlib_path
from bigclust.graph import FacilityLocation, Graph, PCenter, PMedian

ORLIB = orlib_path("pmed1.txt")


def test_from_edges_builds_symmetric_csr():
    g = Graph.from_edges([0, 1], [1, 2], [2.0, 3.0])
    assert g.n_vertices == 3 and g.n_edges == 2
    A = g.to_scipy().toarray()
    assert np.array_equal(A, A.T) and A[0, 1] == 2.0 and A[1, 2] == 3.0


@pytest.mark.parametrize(
    "u,v,w,n,msg",
    [
        ([0], [1], [-1.0], None, "must be >= 0"),
        ([0], [1], [np.nan], None, "NaN"),
        ([0], [1], [np.inf], None, "infinite"),
        ([0, 1], [0, 2], [1.0, 1.0], None, "self-loop"),
        ([0], [5], [1.0], 3, "out of range"),
        ([-1], [1], [1.0], 3, "out of range"),
        ([], [], [], None, "empty"),
        ([0, 1], [1, 0], [1.0, 2.0], None, "repeated"),
    ],
)
def test_from_edges_rejects_bad_input(u, v, w, n, msg):
    with pytest.raises(ValueError, match=msg):
        Graph.from_edges(np.array(u, dtype=int), np.array(v, dtype=int), np.array(w, dtype=float), n_vertices=n)


def test_duplicate_rules():
    u, v, w = [0, 1, 0], [1, 0, 2], [5.0, 3.0, 1.0]
    assert Graph.from_edges(u, v, w, duplicates="last").to_scipy()[0, 1] == 3.0
    assert Graph.from_edges(u, v, [5.0, 7.0, 1.0], duplicates="min").to_scipy()[0, 1] == 5.0
    with pytest.raises(ValueError, match="different weights"):
        Graph.from_edges(u, v, w, duplicates="same")
    assert Graph.from_edges(u, v, [3.0, 3.0, 1.0], duplicates="same").n_edges == 2
    with pytest.raises(ValueError, match="duplicates must be"):
        Graph.from_edges(u, v, w, duplicates="max")


def test_zero_weight_edges_are_edges():
    g = Graph.from_edges([0, 1], [1, 2], [0.0, 1.0])
    from bigclust.graph import sssp

    assert np.array_equal(sssp(g, 0), [0.0, 0.0, 1.0])


def test_read_orlib_last_occurrence_wins():
    g, p = Graph.read_orlib(ORLIB)
    assert (g.n_vertices, p) == (100, 5)
    rows = np.loadtxt(ORLIB, skiprows=1)
    a = np.minimum(rows[:, 0], rows[:, 1]).astype(int) - 1
    b = np.maximum(rows[:, 0], rows[:, 1]).astype(int) - 1
    A = g.to_scipy()
    last = {}
    for i, (x, y) in enumerate(zip(a, b)):
        last[(x, y)] = rows[i, 2]
    assert len(last) < rows.shape[0]  # the file does repeat pairs
    for (x, y), w in last.items():
        assert A[x, y] == w and A[y, x] == w


def test_read_orlib_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        Graph.read_orlib(tmp_path / "nope.txt")
    bad = tmp_path / "bad.txt"
    bad.write_text("3 2 1\n1 2 4\n")
    with pytest.raises(ValueError, match="header says 2 edges"):
        Graph.read_orlib(bad)


def test_read_dimacs(tmp_path):
    f = tmp_path / "g.gr"
    f.write_text("c test\np sp 3 4\na 1 2 5\na 2 1 5\na 2 3 7\na 3 2 7\n")
    g = Graph.read_dimacs(f)
    assert g.n_vertices == 3 and g.n_edges == 2 and g.to_scipy()[1, 2] == 7
    f.write_text("p sp 3 2\na 1 2 5\na 2 1 6\n")
    with pytest.raises(ValueError, match="different weights"):
        Graph.read_dimacs(f)
    f.write_text("p sp 3 1\nx 1 2 5\n")
    with pytest.raises(ValueError, match="unknown line"):
        Graph.read_dimacs(f)


def test_from_scipy_triangular_symmetric_and_conflicting():
    U = sp.coo_matrix((np.array([1.0, 2.0]), (np.array([0, 1]), np.array([1, 2]))), shape=(3, 3))
    g1 = Graph.from_scipy(U)
    g2 = Graph.from_scipy(U + U.T)
    assert np.array_equal(g1.to_scipy().toarray(), g2.to_scipy().toarray())
    C = U + sp.coo_matrix((np.array([9.0]), (np.array([1]), np.array([0]))), shape=(3, 3))
    with pytest.raises(ValueError, match="different weights"):
        Graph.from_scipy(C)
    with pytest.raises(ValueError, match="square"):
        Graph.from_scipy(sp.csr_matrix((2, 3)))
    with pytest.raises(ValueError, match="self-loop"):
        Graph.from_scipy(sp.eye(3).tocsr())


def test_from_networkx_keeps_labels_and_weights():
    G = nx.Graph()
    G.add_edge("a", "b", weight=2.0)
    G.add_edge("b", "c")  # networkx default weight 1
    g = Graph.from_networkx(G)
    assert list(g.labels) == ["a", "b", "c"]
    assert g.to_scipy()[0, 1] == 2.0 and g.to_scipy()[1, 2] == 1.0
    with pytest.raises(TypeError, match="networkx graph"):
        Graph.from_networkx([(0, 1)])
    with pytest.raises(ValueError, match="empty"):
        Graph.from_networkx(nx.Graph())


def test_disconnected_graph_policy():
    # two triangles, no edge between them
    g = Graph.from_edges([0, 1, 2, 3, 4, 5], [1, 2, 0, 4, 5, 3], [1, 1, 1, 2, 2, 2])
    assert g.n_components == 2
    with pytest.raises(ValueError, match="2 connected components"):
        PMedian(2, random_state=0).fit(g)
    with pytest.raises(ValueError, match="2 connected components"):
        PCenter(2, random_state=0).fit(g)
    # facility location is solved per component: every component gets a facility
    for k in (1, 3):
        fl = FacilityLocation(0.5, random_state=0, machines=k).fit(g)
        _, lab = g.components()
        assert set(lab[fl.facilities_]) == {0, 1}
        assert np.all(lab[fl.assignment_] == lab)
        assert np.isfinite(fl.cost_)


def test_isolated_vertex_is_its_own_component():
    g = Graph.from_edges([0], [1], [1.0], n_vertices=3)
    fl = FacilityLocation(10.0, random_state=0).fit(g)
    assert 2 in fl.facilities_ and fl.assignment_[2] == 2


def test_fit_rejects_non_graph():
    with pytest.raises(TypeError, match="Graph"):
        PMedian(2).fit(np.zeros((3, 3)))


def test_subgraph_per_component_workflow():
    g = Graph.from_edges([0, 1, 3, 4], [1, 2, 4, 5], [1.0, 2.0, 3.0, 0.0])
    n_comp, lab = g.components()
    assert n_comp == 2
    total = 0.0
    for c in range(n_comp):
        sub, ids = g.subgraph(np.flatnonzero(lab == c))
        assert sub.n_components == 1
        pm = PMedian(1, random_state=0).fit(sub)
        total += pm.cost_
        assert np.all(np.isin(ids[pm.facilities_], np.flatnonzero(lab == c)))
    assert total == 3.0 + 3.0  # median 1 serves 0 and 2 (1 + 2); 4 serves 3 (3) and 5 (0)
