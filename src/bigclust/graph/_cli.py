"""``bigclust pmedian``, ``bigclust pcenter``, ``bigclust facility``: clustering on a graph file."""

from __future__ import annotations

import argparse
import os
from typing import Any


_GRAPH_HELP = """\
GRAPH is one of
  an OR-Library p-median file   (first line 'n m p', then 'i j cost', 1-based; repeated
                                 pairs: the last occurrence wins). Its p is the default -k.
  a DIMACS shortest-path file   .gr or .gr.gz ('p sp n m', 'a u v w'; gzip found by content;
                                 arcs read as undirected edges)
  a GraphML file                .graphml (e.g. osmnx.save_graphml): edge length 'length', else
                                 'weight', else 1; directed/parallel edges: the shortest direction
  an OpenStreetMap XML extract  .osm, .osm.bz2, .osm.gz: the highway ways, lengths in metres
  an OpenStreetMap PBF extract  .osm.pbf: its driving network, through the optional pyrosm package
  an edge-list CSV with header  .csv whose first line names the columns: source, target[, length]
                                 (node ids of any kind; repeated pairs keep the shortest)
  an edge list                  .npy/.csv/.parquet with 2 or 3 numeric columns u, v[, w] (0-based
                                 ids below 2 x the number of edges, else refused: give the file a
                                 header line to have ids of any kind renumbered; weight 1 when
                                 missing; repeated pairs are an error). A .csv's line 1 is a header
                                 only if none of its fields is a number.
Edge weights: finite, >= 0, summing to at most 1e100 (path-length sums stay finite).
  grid:ROWSxCOLS                a generated road-like grid (bigclust.graph.generators.road_like_grid,
                                 seeded by --seed)
  dataset:NAME                  a graph shipped beside the repo (shared/data): pmed1 .. pmed40 (the
                                 OR-Library p-median instances) or west-oakland (an OSM extract)
Use --format to override the detection (orlib, dimacs, graphml, osm, pbf, csv, edges).
Node ids in --candidates/--fixed files and in -o/--output are the graph's own ids (OSM ids,
GraphML ids, CSV ids; 0-based vertex numbers for the other formats).

Outputs: -o/--output the assignment table (.csv node,facility,distance,demand, or .geojson),
--assignment each vertex's facility and --facilities the open facilities (0-based vertex
numbers), --report the fit's report_, --plot the facility map (bigclust.plot.facilities: a map
when the nodes have coordinates, else a layout of at most 5000 vertices).

"""

#: the keys of the summary (``--json``), in order; ``None`` (JSON null) where one does not apply.
#: ``n_facilities`` (the name of bigclust 0.2) equals ``n_clusters``.
SUMMARY_KEYS = ("command", "input", "n_vertices", "n_edges", "n_clusters", "n_facilities", "cost", "raw_cost",
                "machines", "rounds", "messages", "max_load", "fit_seconds", "total_seconds", "peak_memory_mb",
                "outputs")

#: ``dataset:NAME`` graphs: (folder below shared/data, file name)
_DATASETS = {**{f"pmed{i}": ("orlib/pmed", f"pmed{i}.txt") for i in range(1, 41)},
             "west-oakland": ("roads", "West-Oakland.osm.bz2")}

# a spring layout of more vertices takes minutes (bigclust.plot.facilities refuses it too)
_MAX_LAYOUT_VERTICES = 5000


def _assignment_table_kind():
    from .._core.outputs import OutputKind

    return OutputKind("the assignment table", (".csv", ".geojson", ".json"))


def _add_renamed(p, new: str, old: str, *, flag: bool = False, **kwargs) -> None:
    """Add option ``new`` (documented) and its deprecated hidden alias ``old``."""
    from .._core.command import add_alias

    if flag:
        p.add_argument(new, action="store_true", **kwargs)
    else:
        p.add_argument(new, **kwargs)
    extra: dict[str, Any] = {} if flag else {"type": kwargs.get("type"), "metavar": kwargs.get("metavar")}
    add_alias(p, old, new, dest=new.lstrip("-").replace("-", "_"), flag=flag, **extra)


def _common_args(p, *, precision: float, precision_help: str, n_clusters_help: str | None = None) -> None:
    from .._core.command import add_alias, add_common, add_n_clusters

    p.add_argument("graph", metavar="GRAPH", help="graph file (see below)")
    if n_clusters_help is not None:  # -p: the OR-Library name, kept as a documented spelling
        add_n_clusters(p, required=False, extra=("-p",), help=n_clusters_help)
    p.add_argument("--format", choices=("auto", "orlib", "dimacs", "graphml", "osm", "pbf", "csv", "edges"), default="auto",
                   help="input format (default: by suffix / content)")
    p.add_argument("--demand", metavar="ATTR|FILE",
                   help="client weight per vertex: a node attribute of the graph (e.g. population) or a "
                        ".npy/.csv file with one value per vertex (0 = not a client; default 1 everywhere)")
    p.add_argument("--candidates", metavar="FILE",
                   help="text file of node ids (one per line) where a facility may open (default all)")
    p.add_argument("--fixed", metavar="FILE",
                   help="text file of node ids (one per line) of facilities already open (they count toward -p)")
    p.add_argument("--machines", type=int, default=1,
                   help="simulated k-machine model size, 1..256; >1 runs the distributed algorithms and counts rounds (default 1)")
    p.add_argument("--assignment", metavar="FILE", help="write each vertex's facility (.npy, .csv or .txt)")
    p.add_argument("--facilities", metavar="FILE", help="write the facility ids (.npy, .csv or .txt)")
    add_common(p, output_help="write the assignment in the graph's node ids: .csv (node,facility,distance,demand) "
                              "or .geojson (points; needs node coordinates)",
               report_help="write report_ (times, memory, k-machine ledger) as JSON",
               plot_help="draw the open facilities and the vertices each serves (a map when the nodes have "
                         "coordinates, else a layout of at most 5000 vertices, which needs networkx)",
               seed_help="random seed of the fit and of a grid: GRAPH (default 0)")
    add_alias(p, "--out", "--output", dest="output", warn=False, metavar="FILE")  # its name in bigclust 0.2
    # --epsilon: the old name (0.1), kept hidden for one release
    _add_renamed(p, "--distance-precision", "--epsilon", type=float, default=precision, metavar="E",
                 help=f"relative precision of distances in [1e-4, 1]: {precision_help} (default {precision})")


def _facility_args(p, *, repetitions: int, moves: str, note: str = "") -> None:
    """Options of the two problems solved through facility location (pmedian, facility)."""
    p.add_argument("--repetitions", type=int, default=repetitions,
                   help=f"neighbourhood-size rank draws, 1..100000 (default {repetitions})")
    # --refine: the old name (0.1), kept hidden for one release
    _add_renamed(p, "--local-search", "--refine", flag=True,
                 help=f"{moves} local search afterwards (beyond the paper){note}")


def register(subparsers) -> None:
    from .._core.command import COMMON_HELP

    fmt = argparse.RawDescriptionHelpFormatter
    p = subparsers.add_parser(
        "pmedian", help="p-median on a weighted graph's shortest-path metric",
        description="Choose P vertices minimising the sum of shortest-path distances to the nearest one "
                    "(facility location + binary search on the opening cost + bipoint rounding).",
        epilog=_GRAPH_HELP + COMMON_HELP + "\nExamples:\n  bigclust pmedian dataset:pmed1 -k 5 --local-search --assignment a.npy\n"
               "  bigclust pmedian city.graphml -k 10 --demand population -o assignment.geojson --plot map.png",
        formatter_class=fmt,
    )
    _common_args(p, precision=0.05, precision_help="radius and distance discretisation",
                 n_clusters_help="number of medians (default: the OR-Library file's p)")
    _facility_args(p, repetitions=64, moves="swap",
                   note="; it runs by default within memory and time limits, this flag lifts them")
    _add_renamed(p, "--local-search-candidates", "--refine-candidates", type=int, metavar="N",
                 help="candidates per local-search pass (default: all; the default improvement "
                      "phase also stops a pass once its searches settled 2^25 vertices)")
    p.add_argument("--no-local-search", action="store_true",
                   help="the raw path (the paper's algorithm, its roundings derandomised): no default "
                        "improvement phase (run when the p x n_vertices table has at most 2^25 cells; "
                        "see docs/graph.md)")
    p.set_defaults(func=_run, problem="pmedian")

    p = subparsers.add_parser(
        "pcenter", help="p-center on a weighted graph's shortest-path metric",
        description="Choose at most P vertices minimising the largest distance to the nearest one "
                    "(approximate MIS + binary search on the radius; a 2(1+eps)-approximation).",
        epilog=_GRAPH_HELP + COMMON_HELP + "\nExample:\n  bigclust pcenter roads.gr -k 100 --facilities centres.csv --json",
        formatter_class=fmt,
    )
    _common_args(p, precision=0.01, precision_help="of the radius search",
                 n_clusters_help="number of centres (default: the OR-Library file's p)")
    p.add_argument("--trials", type=int, default=16, help="MIS draws per tested radius, 1..100000 (default 16)")
    p.add_argument("--local-search", action="store_true",
                   help="run the improvement phase (greedy-cover radius search, then vertex substitution) "
                        "without the default's memory and time limits")
    p.add_argument("--no-local-search", action="store_true",
                   help="the paper's algorithm alone: no default improvement phase (run when the "
                        "p x clients table has at most 2^25 cells; see docs/graph.md)")
    p.set_defaults(func=_run, problem="pcenter")

    p = subparsers.add_parser(
        "facility", help="uncapacitated facility location on a weighted graph",
        description="Open facilities minimising opening costs plus shortest-path connection costs "
                    "(Mettu-Plaxton with estimated radii, Section 4 of the k-machine paper).",
        epilog=_GRAPH_HELP + COMMON_HELP + "\nExample:\n  bigclust facility dataset:pmed1 --cost 100 --local-search",
        formatter_class=fmt,
    )
    _common_args(p, precision=0.1, precision_help="radius and distance discretisation")
    p.add_argument("--cost", required=True, metavar="F",
                   help="opening cost: a number (every candidate) or a .npy/.csv file with one value per vertex "
                        "(per candidate, in the --candidates order, when --candidates is given)")
    _facility_args(p, repetitions=32, moves="open/close/swap")
    p.set_defaults(func=_run, problem="facility")


def _is_orlib(path: str) -> bool:
    with open(path, errors="replace") as fh:
        first = fh.readline().split()
    return len(first) == 3 and all(t.lstrip("-").isdigit() for t in first)


def _sniff_delimiter(line: str) -> str:
    """The delimiter of an edge-list line: the first of , ; tab found, else runs of whitespace."""
    for d in (",", ";", "\t"):
        if d in line:
            return d
    return "whitespace"


def _first_line_tokens(path: str) -> tuple[list[str], str]:
    """Line 1 of a text file (compression by content, BOM skipped) split at its delimiter."""
    from pathlib import Path

    from .._core.io import _compression, _first_line, _split

    p = Path(path)
    if p.stat().st_size == 0:
        raise ValueError(f"{path!r} is empty (0 bytes).")
    try:
        line = _first_line(p, _compression(p))
    except UnicodeDecodeError:
        raise ValueError(f"{path!r} is not UTF-8 text.") from None
    delim = _sniff_delimiter(line)
    return [t.strip() for t in _split(line, delim)], delim


def _csv_has_header(path: str) -> bool:
    """The header rule of :mod:`bigclust._core.io`: line 1 is a header only if none of its
    fields is a number, so a header-less edge list never loses its first edge (a typo in it
    is then reported with its row and column)."""
    from .._core.io import _is_number

    tokens, _ = _first_line_tokens(path)
    return bool(tokens) and not any(_is_number(t) for t in tokens if t != "")


def _detect(spec: str) -> str:
    low = spec.lower()
    if low.endswith((".gr", ".gr.gz")):
        return "dimacs"
    if low.endswith(".graphml"):
        return "graphml"
    if low.endswith((".osm", ".osm.bz2", ".osm.gz", ".osm.xml")):
        return "osm"
    if low.endswith(".pbf"):
        return "pbf"
    if low.endswith((".csv", ".tsv", ".csv.gz", ".tsv.gz")):
        return "csv" if _csv_has_header(spec) else "edges"
    if low.endswith((".npy", ".parquet")):
        return "edges"
    with open(spec, "rb") as fh:
        head = fh.read(2)
    if head == b"\x1f\x8b":
        return "dimacs"  # the only gzip-compressed graph format read by content
    if _is_orlib(spec):
        return "orlib"
    raise ValueError(f"cannot tell the format of {spec}; pass --format orlib|dimacs|graphml|osm|pbf|csv|edges.")


def load_graph(spec: str, fmt: str = "auto", seed: int = 0):
    """Load GRAPH for the CLI; returns (graph, p_from_file or None)."""
    from . import Graph

    if spec.startswith("grid:"):
        from .generators import road_like_grid

        try:
            r, c = (int(x) for x in spec[5:].lower().split("x"))
        except ValueError:
            raise ValueError(f"grid input must look like grid:ROWSxCOLS, got {spec!r}.") from None
        return road_like_grid(r, c, random_state=seed), None
    if spec.startswith("dataset:"):
        from ..datasets import find_data_dir

        name = spec.split(":", 1)[1].lower()
        if name not in _DATASETS:
            raise ValueError("Unknown graph data set; choose pmed1 .. pmed40 or west-oakland.")
        folder, file = _DATASETS[name]
        path = find_data_dir() / folder / file
        if not path.is_file():
            raise FileNotFoundError(f"Data file {str(path)!r} not found.")
        spec, fmt = str(path), ("orlib" if name.startswith("pmed") else "osm")
    if not os.path.exists(spec):
        raise FileNotFoundError(f"No such file: {spec}")
    if os.path.isdir(spec):
        raise ValueError(f"GRAPH {spec} is a folder; name a file.")
    if fmt == "auto":
        fmt = _detect(spec)
    if fmt == "orlib":
        return Graph.read_orlib(spec)
    if fmt == "dimacs":
        return Graph.read_dimacs(spec), None
    if fmt == "graphml":
        return Graph.read_graphml(spec), None
    if fmt == "osm":
        return Graph.read_osm(spec), None
    if fmt == "pbf":
        return Graph.read_osm_pbf(spec), None
    if fmt == "csv":
        if not _csv_has_header(spec):
            # read_edge_csv takes line 1 as column names: a header-less file would lose an edge
            raise ValueError(f"{spec}: --format csv needs a header line, and line 1 holds a number (it is data); "
                             "use --format edges for 0-based numeric ids, or add a header line.")
        return Graph.read_edge_csv(spec), None
    from .._core.io import read_delimited, read_matrix

    if spec.lower().endswith((".npy", ".parquet")):
        E = read_matrix(spec)
    else:  # numbers only: line 1 is data (the header rule sends a headed file to the csv reader)
        E = read_delimited(spec, delimiter=_first_line_tokens(spec)[1], header="no")
    if E.ndim != 2:
        raise ValueError(f"{spec}: an edge list is a table with 2 or 3 columns (u, v[, w]).")
    if E.shape[1] not in (2, 3):
        raise ValueError(f"an edge list needs 2 or 3 columns (u, v[, w]), got {E.shape[1]}.")
    w = E[:, 2] if E.shape[1] == 3 else None
    return Graph.from_edges(E[:, 0], E[:, 1], w), None


def _read_ids(path: str, graph, what: str) -> list:
    """Node ids listed one per line in a text file, as the graph's own ids."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"No such file: {path}")
    try:
        with open(path, encoding="utf-8-sig") as fh:  # a byte-order mark is not part of the first id
            tokens = [line.strip() for line in fh if line.strip()]
    except UnicodeDecodeError:
        raise ValueError(f"{what} file {path}: not UTF-8 text.") from None
    except IsADirectoryError:
        raise ValueError(f"{what} {path} is a folder; name a file.") from None
    if graph.labels is None:
        try:
            return [int(t) for t in tokens]
        except ValueError:
            raise ValueError(f"{what} file {path}: the graph's vertices are numbered 0..n-1; found a non-integer id.") from None
    by_text = {str(x): x for x in graph.labels}
    missing = sum(t not in by_text for t in tokens)
    if missing:
        raise ValueError(f"{what} file {path}: {missing} id(s) are not nodes of the graph.")
    return [by_text[t] for t in tokens]


_TABLE_SUFFIXES = (".npy", ".csv", ".tsv", ".txt", ".parquet", ".gz", ".bz2", ".xz")


def _read_values(path: str, want: int, what: str):
    """One number per vertex (or candidate) from a .npy/.csv table; refuse any other shape."""
    import numpy as np

    from .._core.io import read_matrix

    values = np.asarray(read_matrix(path))
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.shape != (want,):
        raise ValueError(f"{what} file {path} holds a table of shape {values.shape}; expected one value per "
                         f"row, {want} rows.")
    return values


def _write_assignment_csv(path, est) -> None:
    """node,facility,distance,demand rows (no pandas needed), written to ``path`` (a temporary
    name given by :class:`bigclust._core.outputs.Outputs`, which renames it into place)."""
    import csv
    import io

    from ._common import _json_id

    cols = est._assignment_columns()
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["node", "facility", "distance", "demand"])
    for node, fac, dist, dem in zip(cols["node"], cols["facility"], cols["distance"], cols["demand"]):
        w.writerow([_json_id(node), _json_id(fac), repr(float(dist)), repr(float(dem))])
    with open(path, "w", newline="") as fh:
        fh.write(buf.getvalue())


def _run(args) -> int:
    import time

    from .._core.command import PICTURE, picture_writer, print_summary, progress, require_plotting
    from .._core.io import write_array, write_json
    from .._core.outputs import ARRAY, JSON, Outputs
    from . import FacilityLocation, PCenter, PMedian

    t0 = time.perf_counter()
    if args.local_search and getattr(args, "no_local_search", False):
        raise ValueError("--local-search and --no-local-search exclude each other.")
    out = args.output
    # every output path is checked before any reading or work: suffix, folder, not an input,
    # not another output; they are written all or nothing after the fit (_core.outputs)
    inputs = [args.graph, args.demand, args.candidates, args.fixed, getattr(args, "cost", None)]
    outs = Outputs(inputs=[x for x in inputs if x is not None])
    outs.add("--output", out, _assignment_table_kind())
    outs.add("--assignment", args.assignment, ARRAY)
    outs.add("--facilities", args.facilities, ARRAY)
    outs.add("--report", args.report, JSON)
    outs.add("--plot", args.plot, PICTURE)
    outs.check()
    if args.plot:
        require_plotting()
    graph, p_file = load_graph(args.graph, args.format, args.seed)
    if out and out.lower().endswith((".geojson", ".json")) and graph.coords is None:
        raise ValueError("-o/--output .geojson needs node coordinates (GraphML/OSM input with x/y on every node).")
    if args.plot and graph.coords is None:
        if graph.n_vertices > _MAX_LAYOUT_VERTICES:
            raise ValueError(f"--plot of a graph without node coordinates lays it out, which is limited to "
                             f"{_MAX_LAYOUT_VERTICES} vertices; this graph has {graph.n_vertices}.")
        try:
            import networkx  # noqa: F401
        except ImportError:
            raise ImportError("--plot of a graph without node coordinates needs networkx: "
                              "pip install 'bigclust[networkx]'") from None
    demand = None
    if args.demand is not None:
        if os.path.exists(args.demand):
            demand = _read_values(args.demand, graph.n_vertices, "--demand")
        elif args.demand.lower().endswith(_TABLE_SUFFIXES) or os.sep in args.demand:
            # looks like a file, not an attribute name: say so rather than "no node attribute"
            raise FileNotFoundError(f"--demand file {args.demand} does not exist.")
        else:
            demand = args.demand  # a node attribute name, checked by fit
    candidates = _read_ids(args.candidates, graph, "--candidates") if args.candidates else None
    fixed = _read_ids(args.fixed, graph, "--fixed") if args.fixed else None
    with progress(args) as verbose:
        if args.problem in ("pmedian", "pcenter"):
            p = args.n_clusters if args.n_clusters is not None else p_file
            # default: the estimators' "auto" improvement phase
            local_search = True if args.local_search else (False if args.no_local_search else "auto")
            if p is None:
                raise ValueError("-k/--n-clusters (or -p) is required: the input is not an OR-Library file "
                                 "with its own p.")
            if args.problem == "pmedian":
                est = PMedian(p, distance_precision=args.distance_precision, n_repetitions=args.repetitions,
                              machines=args.machines, local_search=local_search,
                              local_search_candidates=args.local_search_candidates,
                              random_state=args.seed, verbose=verbose)
            else:
                est = PCenter(p, distance_precision=args.distance_precision, n_trials=args.trials,
                              machines=args.machines, local_search=local_search, random_state=args.seed,
                              verbose=verbose)
        else:
            try:
                cost = float(args.cost)
            except ValueError:
                want = len(candidates) if candidates is not None else graph.n_vertices
                cost = _read_values(args.cost, want, "--cost")
            est = FacilityLocation(cost, distance_precision=args.distance_precision, n_repetitions=args.repetitions,
                                   machines=args.machines, local_search=args.local_search, random_state=args.seed,
                                   verbose=verbose)
        est.fit(graph, demand=demand, candidates=candidates, fixed=fixed)
    rep = est.report_
    # every output first (all or nothing); the success summary only once they are all in place
    writers = {
        "--assignment": lambda tmp: write_array(tmp, est.assignment_, suffix=outs.suffix("--assignment")),
        "--facilities": lambda tmp: write_array(tmp, est.facilities_, suffix=outs.suffix("--facilities")),
        "--report": lambda tmp: write_json(tmp, rep),
    }
    if out:
        writers["--output"] = ((lambda tmp: _write_assignment_csv(tmp, est)) if outs.suffix("--output") == ".csv"
                               else (lambda tmp: est.to_geojson(tmp)))
    if args.plot:
        from ..plot import facilities

        writers["--plot"] = picture_writer(lambda ax: facilities(est, graph, ax=ax, random_state=args.seed))
    outs.write({k: f for k, f in writers.items() if k in outs})
    written = {"output": out, "assignment": args.assignment, "facilities": args.facilities,
               "report": args.report, "plot": args.plot}
    summary = {
        "command": args.problem,
        "input": args.graph,
        "n_vertices": int(graph.n_vertices),
        "n_edges": int(graph.n_edges),
        "n_clusters": int(est.facilities_.size),
        "n_facilities": int(est.facilities_.size),
        "cost": float(est.cost_),
        "raw_cost": rep["raw_cost"] if args.problem in ("pmedian", "pcenter") else None,
        "machines": rep["machines"],
        "rounds": rep["rounds"],
        "messages": rep["messages"],
        "max_load": rep["max_load"],
        "fit_seconds": round(rep["total_seconds"], 3),
        "total_seconds": round(time.perf_counter() - t0, 3),
        "peak_memory_mb": round(rep["peak_memory_mb"], 1),
        "outputs": {k: v for k, v in written.items() if v is not None},
    }
    print_summary(args, summary, SUMMARY_KEYS)
    return 0
