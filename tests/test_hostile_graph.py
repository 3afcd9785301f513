"""Hostile input against the graph family (issue 22): estimators and ``bigclust pmedian|pcenter|facility``.

Every case names its outcome class:

``ERROR``
    a clear ``ValueError``/``TypeError`` (API) or exit status 2 with one stderr line
    (CLI), raised before any work, whose message states the bound and never repeats
    the value passed; through the CLI nothing is printed on stdout, no output file
    is created or changed, no temporary file is left and no input is touched.
``CORRECT``
    the fit runs and its answer is checked: ``cost_`` against a recomputation from
    exact shortest-path distances (SciPy's Dijkstra), and the p-median cost against
    the brute-force optimum (never below it).
``DOCUMENTED``
    the documented behaviour (e.g. a CSV's line 1 with a number is data, not a header).

Graphs have a few dozen vertices, so the whole file runs in seconds.
"""

from __future__ import annotations

import itertools
import json
import re

import numpy as np
import pytest
from scipy.sparse.csgraph import dijkstra

from bigclust.graph import FacilityLocation, Graph, PCenter, PMedian
from _cli_helpers import run_cli as _run, snapshot as _snapshot  # noqa: E402

SECRET = 7351.123456  # planted in bad cells; no message may repeat it


def _make(Est, **kw):
    """One estimator with its problem parameter (p = 2, opening cost 5) and a fixed seed."""
    first = 5.0 if Est is FacilityLocation else 2
    return Est(first, random_state=0, **kw)


ESTIMATORS = [FacilityLocation, PMedian, PCenter]


def _cycle(n=12, w=None):
    """A cycle with chords: connected, a few distinct weights."""
    u = np.r_[np.arange(n), 0, 3]
    v = np.r_[(np.arange(n) + 1) % n, n // 2, n - 2]
    if w is None:
        w = 1.0 + (np.arange(u.size) % 4)
    return u, v, np.asarray(w, dtype=float)


def _no_echo(message: str, *values) -> None:
    for val in values:
        for text in {repr(val), str(val), f"{val:g}" if isinstance(val, float) else str(val)}:
            assert text not in message, message


def _check_cost(est, graph):
    """cost_ recomputed from exact distances (the result is self-consistent and finite)."""
    D = dijkstra(graph.to_scipy(), directed=False, indices=est.facilities_)
    d = D.min(axis=0)
    assert np.all(np.isfinite(d))
    np.testing.assert_allclose(est.distances_, d, rtol=1e-12, atol=0)
    if isinstance(est, PCenter):
        assert est.cost_ == pytest.approx(d.max(), rel=1e-12)
    elif isinstance(est, PMedian):
        assert est.cost_ == pytest.approx(d.sum(), rel=1e-12)
        full = dijkstra(graph.to_scipy(), directed=False)
        best = min(full[list(S)].min(axis=0).sum() for S in itertools.combinations(range(graph.n_vertices), 2))
        assert est.cost_ >= best * (1 - 1e-12)
    else:
        assert est.cost_ == pytest.approx(d.sum() + 5.0 * est.facilities_.size, rel=1e-12)


# --------------------------------------------------------------------------- graph construction


@pytest.mark.parametrize("ids, match", [
    # was: max id + 1 vertices allocated (745 GiB for 1e11); refused, never renumbered
    ([0, 1, 2, 10**11], r"not below 2 x the number of edges \(6\).*at most 2147483647.*read_edge_csv"),
    ([0, 1, 2, 7], r"not below 2 x the number of edges"),  # 8 > 2 x 3: vertices without edges
    ([0, 1, 2, -5], "negative endpoint id"),
])
def test_vertex_ids_beyond_the_edges_are_refused(ids, match):
    u, v = np.array(ids[:3]), np.array(ids[1:])
    with pytest.raises(ValueError, match=match) as err:
        Graph.from_edges(u, v)
    _no_echo(str(err.value), 10**11)


def test_explicit_vertex_count_is_bounded():
    with pytest.raises(ValueError, match=r"n_vertices must be <= 2147483647"):
        Graph.from_edges([0], [1], n_vertices=10**11)


def test_ids_up_to_twice_the_edges_are_kept():
    # DOCUMENTED: isolated vertices below 2m are allowed (facility location serves them per component)
    g = Graph.from_edges([0, 1], [1, 3])
    assert g.n_vertices == 4 and g.n_components == 2


@pytest.mark.parametrize("weights, match", [
    ([1.0, 1e308, 1e308, 1.0], r"sum to more than 1e\+100"),  # was an OverflowError in the levels
    ([1.0, 6e99, 6e99, 1.0], r"sum to more than 1e\+100"),  # each fine, the sum is not
    ([1.0, np.nan, 1.0, 1.0], "NaN"),
    ([1.0, np.inf, 1.0, 1.0], "infinite"),
    ([1.0, -2.0, 1.0, 1.0], "negative"),
])
def test_bad_edge_weights_are_refused(weights, match):
    with pytest.raises(ValueError, match=match) as err:
        Graph.from_edges([0, 1, 2, 3], [1, 2, 3, 0], weights)
    _no_echo(str(err.value), 1e308, 6e99, -2.0)


def test_generated_graphs_are_bounded():
    from bigclust.graph.generators import lower_bound_graph, road_like_grid

    with pytest.raises(ValueError, match=r"rows x cols must be at most 10000000 vertices"):
        road_like_grid(10**5, 10**5)
    with pytest.raises(ValueError, match=r"b must be <= 10000000"):
        lower_bound_graph(10**12)


def test_cost_matrix_entries_are_bounded_by_the_same_sum():
    with pytest.raises(ValueError, match=r"sum to more than 1e\+100"):
        Graph.from_cost_matrix(np.array([[1.0, 1e308], [2.0, 1.0]]))


# --------------------------------------------------------------------------- estimator parameters


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("params, match", [
    ({"machines": 10**6}, r"machines must be an integer in \[1, 256\]"),  # was a k x k allocation
    ({"machines": 0}, r"machines must be an integer in \[1, 256\]"),
    ({"machines": 257}, r"machines must be an integer in \[1, 256\]"),  # time grows with k^2 per round
    ({"distance_precision": 1e-12}, r"distance_precision must be a real number in \[0.0001, 1\]"),
    ({"distance_precision": 0.0}, r"\[0.0001, 1\]"),
    ({"distance_precision": float("nan")}, r"\[0.0001, 1\]"),
])
def test_memory_and_time_parameters_are_bounded(Est, params, match):
    u, v, w = _cycle()
    with pytest.raises(ValueError, match=match) as err:
        _make(Est, **params).fit(Graph.from_edges(u, v, w))
    _no_echo(str(err.value), 10**6, 1e-12)


@pytest.mark.parametrize("Est, name", [(FacilityLocation, "n_repetitions"), (PMedian, "n_repetitions"),
                                       (PCenter, "n_trials"), (PMedian, "n_roundings")])
def test_repetition_counts_are_bounded(Est, name):
    u, v, w = _cycle()
    with pytest.raises(ValueError, match=rf"{name} must be an integer in \[1, 100000\]"):
        _make(Est, **{name: 10**9}).fit(Graph.from_edges(u, v, w))


def test_bisection_steps_are_bounded():
    u, v, w = _cycle()
    with pytest.raises(ValueError, match=r"max_search_steps must be an integer in \[1, 2000\]"):
        PMedian(2, max_search_steps=10**9).fit(Graph.from_edges(u, v, w))


@pytest.mark.parametrize("Est", [PMedian, PCenter])
@pytest.mark.parametrize("p, match", [(13, r"larger than the number of vertices \(12\)"), (0, r"p must be")])
def test_p_outside_one_to_n(Est, p, match):
    u, v, w = _cycle()
    with pytest.raises(ValueError, match=match):
        Est(p).fit(Graph.from_edges(u, v, w))


@pytest.mark.parametrize("cost, match", [
    (1e308, r"opening_cost must be a real number in \[0, 1e\+100\]"),
    (float("inf"), r"\[0, 1e\+100\]"),
    (-1.0, r"\[0, 1e\+100\]"),
    (np.r_[np.full(11, 1.0), 1e200], r"1 finite value\(s\) above 1e\+100"),
])
def test_opening_cost_is_bounded(cost, match):
    u, v, w = _cycle()
    with pytest.raises(ValueError, match=match) as err:
        FacilityLocation(cost).fit(Graph.from_edges(u, v, w))
    _no_echo(str(err.value), 1e308, 1e200)


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("demand, match", [
    (np.r_[np.ones(11), 1e40], r"1 positive value\(s\) outside \[1e-30, 1e\+30\]"),  # float32 rank sums
    (np.r_[np.ones(11), 1e-40], r"outside \[1e-30, 1e\+30\]"),
    (np.r_[np.ones(11), np.nan], "non-finite"),
    (np.r_[np.ones(11), -1.0], "negative"),
    (np.zeros(12), "clients are empty"),
    (np.ones(11), r"shape \(12,\)"),
])
def test_bad_demand_is_refused(Est, demand, match):
    u, v, w = _cycle()
    with pytest.raises(ValueError, match=match) as err:
        _make(Est).fit(Graph.from_edges(u, v, w), demand=demand)
    _no_echo(str(err.value), 1e40, 1e-40)


@pytest.mark.parametrize("Est", [FacilityLocation, PMedian])
def test_too_many_distance_levels_are_refused(Est):
    # a 1e-300 edge beside unit edges: log(1e300) / log(1 + 1e-4) ~ 6.9e6 levels x 40 vertices
    # would be a 1.1 GiB table (and minutes of work): refused with the bound
    u, v, _ = _cycle(40)
    w = np.ones(u.size)
    w[0] = 1e-300
    with pytest.raises(ValueError, match=r"would exceed 268435456 cells \(1 GiB\); raise distance_precision"):
        _make(Est, distance_precision=1e-4).fit(Graph.from_edges(u, v, w))


# --------------------------------------------------------------------------- correct results at the edges


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("case", ["zero weights", "1e-300 edge", "weights near the sum bound", "demand at the bounds",
                                  "256 machines"])
def test_extreme_but_allowed_inputs_give_checked_results(Est, case):
    u, v, w = _cycle()
    demand = None
    params = {"machines": 256} if case == "256 machines" else {}  # the bound: more machines than vertices
    if case == "zero weights":
        w[[1, 5]] = 0.0  # DOCUMENTED: zero-length edges are allowed (co-located vertices)
    elif case == "1e-300 edge":
        w[2] = 1e-300  # many distance levels, but 12 x levels stays under the table bound
    elif case == "weights near the sum bound":
        w = w * 2.0**300  # ~2e90 each; path sums stay finite
    else:
        demand = np.r_[np.full(6, 1e-30), np.full(6, 1e30)]
    graph = Graph.from_edges(u, v, w)
    est = _make(Est, **params).fit(graph, demand=demand)
    assert np.isfinite(est.cost_)
    if demand is None:
        _check_cost(est, graph)
    else:
        # the heavy clients dominate: every one of them is served; the cost is finite and recomputable
        D = dijkstra(graph.to_scipy(), directed=False, indices=est.facilities_).min(axis=0)
        np.testing.assert_allclose(est.distances_, D, rtol=1e-12)


# --------------------------------------------------------------------------- the command line

COMMANDS = {"pmedian": ["-p", "2"], "pcenter": ["-p", "2"], "facility": ["--cost", "5"]}
EDGES = [(0, 1, 1), (1, 2, 2), (2, 3, 1), (3, 4, 3), (4, 5, 1), (5, 0, 2), (0, 3, 4), (2, 5, 5)]


def _edge_text(rows, sep=","):
    return "".join(sep.join(str(x) for x in r) + "\n" for r in rows)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("in")
    (d / "g.csv").write_text(_edge_text(EDGES))
    (d / "bom.csv").write_bytes(b"\xef\xbb\xbf" + _edge_text(EDGES).encode())
    (d / "spaces.csv").write_text(_edge_text(EDGES, " "))
    (d / "header.csv").write_text("source,target,length\n" + _edge_text(EDGES))
    (d / "bigid.csv").write_text(_edge_text(EDGES[:-1] + [(2, 10**11, 1)]))
    (d / "w308.csv").write_text(_edge_text(EDGES[:-1] + [(2, 5, "1e308")]))
    (d / "nan.csv").write_text(_edge_text(EDGES[:-1] + [(2, 5, "nan")]))
    (d / "neg.csv").write_text(_edge_text(EDGES[:-1] + [(2, 5, -1)]))
    (d / "typo.csv").write_text(_edge_text([(0, 1, f"1x{SECRET}")] + EDGES[1:]))
    (d / "cand_bad.txt").write_text("0\n999\n")
    (d / "demand_bad.csv").write_text("1\n2\n3\n")
    (d / "demand_big.csv").write_text("1\n1\n1\n1\n1\n1e40\n")
    (d / "folder.csv").mkdir()
    (d / "orlib_big_n.txt").write_text("100000000000 2 2\n1 2 1\n2 3 1\n")
    (d / "dimacs_big_n.gr").write_text("p sp 100000000000 2\na 1 2 1\na 2 3 1\n")
    return d


def _cli_cases(command):
    base = COMMANDS[command]
    reps = "--trials" if command == "pcenter" else "--repetitions"
    cases = {
        # graph inputs
        "vertex id 1e11": (["{in}/bigid.csv", *base], r"not below 2 x the number of edges \(16\)"),
        "weight 1e308": (["{in}/w308.csv", *base], r"sum to more than 1e\+100"),
        "weight nan": (["{in}/nan.csv", *base], "NaN"),
        "weight negative": (["{in}/neg.csv", *base], "negative"),
        "typo in row 1": (["{in}/typo.csv", *base], r"data row 1 \(line 1\), column 3 is not a number"),
        "grid too big": (["grid:100000x100000", *base], r"rows x cols must be at most 10000000"),
        "missing graph": (["{in}/nope.csv", *base], "No such file|does not exist"),
        "or-library n 1e11": (["{in}/orlib_big_n.txt", *base], r"declares more vertices than 2 x its 2 edges"),
        "dimacs n 1e11": (["{in}/dimacs_big_n.gr", *base], r"declares more vertices than 2 x its 2 edges"),
        "format csv without header": (["{in}/g.csv", *base, "--format", "csv"], r"needs a header line.*line 1 holds"),
        "format edges with header": (["{in}/header.csv", *base, "--format", "edges"],
                                     r"data row 1 \(line 1\), column 1 is not a number"),
        "graph is a folder": (["{in}/folder.csv", *base], r"is a folder; name a file"),
        "demand file missing": (["{in}/g.csv", *base, "--demand", "{in}/pop.csv"], r"--demand file .* does not exist"),
        # parameters
        "machines 1e6": (["{in}/g.csv", *base, "--machines", "1000000"], r"machines must be an integer in \[1, 256\]"),
        "precision 1e-12": (["{in}/g.csv", *base, "--distance-precision", "1e-12"], r"\[0.0001, 1\]"),
        "repetitions 1e9": (["{in}/g.csv", *base, reps, "1000000000"], r"must be an integer in \[1, 100000\]"),
        "candidate not a node": (["{in}/g.csv", *base, "--candidates", "{in}/cand_bad.txt"], r"1 id\(s\)"),
        "demand wrong length": (["{in}/g.csv", *base, "--demand", "{in}/demand_bad.csv"], "expected one value per"),
        "demand 1e40": (["{in}/g.csv", *base, "--demand", "{in}/demand_big.csv"], r"outside \[1e-30, 1e\+30\]"),
        # outputs: checked before any reading or work
        "out over input": (["{in}/g.csv", *base, "--out", "{in}/g.csv"], "would overwrite the input"),
        "out over demand": (["{in}/g.csv", *base, "--demand", "{in}/demand_bad.csv", "--report",
                             "{in}/demand_bad.csv"], "would overwrite the input|unknown suffix"),
        "same file twice": (["{in}/g.csv", *base, "--assignment", "{out}/a.npy", "--facilities", "{out}/a.npy"],
                            "name the same file"),
        "unknown out suffix": (["{in}/g.csv", *base, "--out", "{out}/a.txt"], "unknown suffix"),
        "report is a folder": (["{in}/g.csv", *base, "--report", "{out}"], "is a folder"),
        "missing folder": (["{in}/g.csv", *base, "--facilities", "{out}/no/f.npy"], "does not exist"),
        "geojson without coordinates": (["{in}/g.csv", *base, "--out", "{out}/a.geojson"], "needs node coordinates"),
    }
    if command == "facility":
        cases["cost 1e308"] = (["{in}/g.csv", "--cost", "1e308"], r"\[0, 1e\+100\]")
        cases["cost nan"] = (["{in}/g.csv", "--cost", "nan"], r"\[0, 1e\+100\]")
    else:
        cases["p above n"] = (["{in}/g.csv", "-p", "7"], r"larger than the number of vertices \(6\)")
        cases["p zero"] = (["{in}/g.csv", "-p", "0"], r"p must be")
    return cases


ERROR_CASES = [(c, name) for c in COMMANDS for name in _cli_cases(c)]




@pytest.mark.parametrize("command, case", ERROR_CASES)
def test_hostile_cli_error(command, case, files, tmp_path, capsys):
    argv, pattern = _cli_cases(command)[case]
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "a.npy").write_bytes(b"previous run")
    argv = [a.format(**{"in": files, "out": out_dir}) for a in argv]
    before_in, before_out = _snapshot(files), _snapshot(out_dir)
    code, out, err = _run([command, *argv, "--quiet"], capsys)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"bigclust {command}: error:"), err
    assert "Traceback" not in err
    assert re.search(pattern, lines[0]), lines[0]
    _no_echo(err, SECRET, 1e308, 10**11, 1e40, 1000000000)
    assert out == ""
    assert _snapshot(files) == before_in  # no input touched
    assert _snapshot(out_dir) == before_out  # nothing created or changed, no temporary file


def _oracle(command):
    u, v, w = (np.array(c, dtype=float) for c in zip(*EDGES))
    g = Graph.from_edges(u.astype(int), v.astype(int), w)
    Est = {"pmedian": PMedian, "pcenter": PCenter, "facility": FacilityLocation}[command]
    return g, _make(Est, verbose=False).fit(g)


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("graph_file", ["g.csv", "bom.csv", "spaces.csv", "header.csv"])
def test_hostile_cli_correct(command, graph_file, files, tmp_path, capsys):
    """CORRECT / DOCUMENTED: a BOM or whitespace-separated header-less edge list keeps its first edge
    (line 1 holds numbers, so it is data); a header line is used as column names. Every output is
    written (an old file replaced), no temporary file is left, the summary is printed last."""
    (tmp_path / "a.npy").write_bytes(b"previous run")
    before_in = _snapshot(files)
    code, out, err = _run([command, str(files / graph_file), *COMMANDS[command], "--quiet", "--json", "--seed", "0",
                           "--assignment", str(tmp_path / "a.npy"), "--facilities", str(tmp_path / "f.csv"),
                           "--out", str(tmp_path / "o.csv"), "--report", str(tmp_path / "r.json")], capsys)
    assert code == 0, err
    assert _snapshot(files) == before_in
    summary = json.loads(out)
    assert summary["n_vertices"] == 6 and summary["n_edges"] == len(EDGES)  # row 1 never lost
    graph, est = _oracle(command)
    assert summary["cost"] == pytest.approx(est.cost_, rel=1e-12)
    assign = np.load(tmp_path / "a.npy")
    assert assign.shape == (6,)
    if graph_file != "header.csv":  # 0-based numbers; the headed file's ids are labels in order of appearance
        np.testing.assert_array_equal(assign, est.assignment_)
    assert (tmp_path / "o.csv").read_text().splitlines()[0] == "node,facility,distance,demand"
    assert "total_seconds" in json.loads((tmp_path / "r.json").read_text())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npy", "f.csv", "o.csv", "r.json"]


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_failed_write_changes_nothing_and_prints_no_success(command, files, tmp_path, capsys, monkeypatch):
    """The report's writer fails (disk full) after the other outputs went to temporary files: exit 1,
    one line, the old file intact, no new file, no temporary file, no summary."""
    import errno
    import os

    from bigclust._core import io as bio

    def full(path, obj):
        with open(path, "w") as fh:
            fh.write("{")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(bio, "write_json", full)
    (tmp_path / "a.npy").write_bytes(b"old")
    code, out, err = _run([command, str(files / "g.csv"), *COMMANDS[command], "--quiet",
                           "--assignment", str(tmp_path / "a.npy"), "--out", str(tmp_path / "o.csv"),
                           "--report", str(tmp_path / "r.json")], capsys)
    assert code == 1 and out == ""
    assert err.strip().count("\n") == 0 and "No space left on device" in err and "no output was changed" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npy"]
    assert (tmp_path / "a.npy").read_bytes() == b"old"
