"""``bigclust pmedian``, ``bigclust pcenter``, ``bigclust facility``: clustering on a graph file."""

from __future__ import annotations

import argparse
import json
import os
import sys


_GRAPH_HELP = """\
GRAPH is one of
  an OR-Library p-median file   (first line 'n m p', then 'i j cost', 1-based; repeated
                                 pairs: the last occurrence wins). Its p is the default -p.
  a DIMACS shortest-path file   .gr ('p sp n m', 'a u v w'; arcs read as undirected edges)
  an edge list                  .npy/.csv/.parquet with 2 or 3 columns u, v[, w] (0-based ids;
                                 weight 1 when missing; repeated pairs are an error)
  grid:ROWSxCOLS                a generated road-like grid (bigclust.graph.generators.road_like_grid)
Use --format to override the detection (orlib, dimacs, edges).
"""


class _RenamedFlag(argparse.Action):
    """An old option name kept for one release: hidden from --help, it stores into the new
    option's destination and prints a deprecation warning on stderr."""

    def __init__(self, option_strings, dest, *, new_flag: str, flag: bool = False, **kwargs):
        self.new_flag = new_flag
        super().__init__(option_strings, dest, nargs=0 if flag else None, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"{parser.prog}: warning: {option_string} was renamed to {self.new_flag} in bigclust 0.2 and "
              f"will be removed in 0.3; use {self.new_flag}.", file=sys.stderr)
        setattr(namespace, self.dest, True if self.nargs == 0 else values)


def _add_renamed(p, new: str, old: str, *, flag: bool = False, **kwargs) -> None:
    """Add option ``new`` (documented) and its deprecated hidden alias ``old``."""
    if flag:
        p.add_argument(new, action="store_true", **kwargs)
    else:
        p.add_argument(new, **kwargs)
    dest = new.lstrip("-").replace("-", "_")
    extra = {} if flag else {"type": kwargs.get("type"), "metavar": kwargs.get("metavar")}
    p.add_argument(old, action=_RenamedFlag, new_flag=new, flag=flag, dest=dest, default=argparse.SUPPRESS,
                   help=argparse.SUPPRESS, **extra)


def _common_args(p, *, precision: float, precision_help: str) -> None:
    p.add_argument("graph", metavar="GRAPH", help="graph file (see below)")
    p.add_argument("--format", choices=("auto", "orlib", "dimacs", "edges"), default="auto",
                   help="input format (default: by suffix / content)")
    p.add_argument("--machines", type=int, default=1,
                   help="simulated k-machine model size; >1 runs the distributed algorithms and counts rounds (default 1)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--assignment", metavar="FILE", help="write each vertex's facility (.npy, .csv or .txt)")
    p.add_argument("--facilities", metavar="FILE", help="write the facility ids (.npy, .csv or .txt)")
    p.add_argument("--report", metavar="FILE", help="write report_ (times, memory, k-machine ledger) as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    # --epsilon: the old name (0.1), kept hidden for one release
    _add_renamed(p, "--distance-precision", "--epsilon", type=float, default=precision, metavar="E",
                 help=f"relative precision of distances: {precision_help} (default {precision})")


def _facility_args(p, *, repetitions: int, moves: str) -> None:
    """Options of the two problems solved through facility location (pmedian, facility)."""
    p.add_argument("--repetitions", type=int, default=repetitions,
                   help=f"neighbourhood-size rank draws (default {repetitions})")
    # --refine: the old name (0.1), kept hidden for one release
    _add_renamed(p, "--local-search", "--refine", flag=True,
                 help=f"{moves} local search afterwards (beyond the paper)")


def register(subparsers) -> None:
    fmt = argparse.RawDescriptionHelpFormatter
    p = subparsers.add_parser(
        "pmedian", help="p-median on a weighted graph's shortest-path metric",
        description="Choose P vertices minimising the sum of shortest-path distances to the nearest one "
                    "(facility location + binary search on the opening cost + bipoint rounding).",
        epilog=_GRAPH_HELP + "\nExample:\n  bigclust pmedian pmed1.txt -p 5 --local-search --assignment a.npy",
        formatter_class=fmt,
    )
    _common_args(p, precision=0.05, precision_help="radius and distance discretisation")
    p.add_argument("-p", type=int, help="number of medians (default: the OR-Library file's p)")
    _facility_args(p, repetitions=64, moves="swap")
    _add_renamed(p, "--local-search-candidates", "--refine-candidates", type=int, metavar="N",
                 help="candidates per local-search pass (default all)")
    p.set_defaults(func=_run, problem="pmedian")

    p = subparsers.add_parser(
        "pcenter", help="p-center on a weighted graph's shortest-path metric",
        description="Choose at most P vertices minimising the largest distance to the nearest one "
                    "(approximate MIS + binary search on the radius; a 2(1+eps)-approximation).",
        epilog=_GRAPH_HELP + "\nExample:\n  bigclust pcenter roads.gr -p 100 --facilities centres.csv",
        formatter_class=fmt,
    )
    _common_args(p, precision=0.01, precision_help="of the radius search")
    p.add_argument("-p", type=int, help="number of centres (default: the OR-Library file's p)")
    p.add_argument("--trials", type=int, default=16, help="MIS draws per tested radius (default 16)")
    p.set_defaults(func=_run, problem="pcenter")

    p = subparsers.add_parser(
        "facility", help="uncapacitated facility location on a weighted graph",
        description="Open facilities minimising opening costs plus shortest-path connection costs "
                    "(Mettu-Plaxton with estimated radii, Section 4 of the k-machine paper).",
        epilog=_GRAPH_HELP + "\nExample:\n  bigclust facility pmed1.txt --cost 100 --local-search",
        formatter_class=fmt,
    )
    _common_args(p, precision=0.1, precision_help="radius and distance discretisation")
    p.add_argument("--cost", required=True, metavar="F",
                   help="opening cost: a number (every vertex) or a .npy/.csv file with one value per vertex")
    _facility_args(p, repetitions=32, moves="open/close/swap")
    p.set_defaults(func=_run, problem="facility")


def _is_orlib(path: str) -> bool:
    with open(path) as fh:
        first = fh.readline().split()
    return len(first) == 3 and all(t.lstrip("-").isdigit() for t in first)


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
    if not os.path.exists(spec):
        raise FileNotFoundError(f"No such file: {spec}")
    if fmt == "auto":
        low = spec.lower()
        if low.endswith(".gr") or low.endswith(".gr.gz"):
            fmt = "dimacs"
        elif low.endswith((".npy", ".parquet", ".csv", ".tsv")):
            fmt = "edges"
        elif _is_orlib(spec):
            fmt = "orlib"
        else:
            raise ValueError(f"cannot tell the format of {spec}; pass --format orlib|dimacs|edges.")
    if fmt == "orlib":
        return Graph.read_orlib(spec)
    if fmt == "dimacs":
        return Graph.read_dimacs(spec), None
    from .._core.io import read_matrix

    E = read_matrix(spec)
    if E.shape[1] not in (2, 3):
        raise ValueError(f"an edge list needs 2 or 3 columns (u, v[, w]), got {E.shape[1]}.")
    w = E[:, 2] if E.shape[1] == 3 else None
    return Graph.from_edges(E[:, 0], E[:, 1], w), None


def _run(args) -> int:
    from .._core.io import write_array, write_json
    from . import FacilityLocation, PCenter, PMedian

    graph, p_file = load_graph(args.graph, args.format, args.seed)
    verbose = not args.quiet
    if args.problem in ("pmedian", "pcenter"):
        p = args.p if args.p is not None else p_file
        if p is None:
            raise ValueError("-p is required (the input is not an OR-Library file with its own p).")
        if args.problem == "pmedian":
            est = PMedian(p, distance_precision=args.distance_precision, n_repetitions=args.repetitions,
                          machines=args.machines, local_search=args.local_search,
                          local_search_candidates=args.local_search_candidates,
                          random_state=args.seed, verbose=verbose)
        else:
            est = PCenter(p, distance_precision=args.distance_precision, n_trials=args.trials, machines=args.machines,
                          random_state=args.seed, verbose=verbose)
    else:
        try:
            cost = float(args.cost)
        except ValueError:
            from .._core.io import read_matrix

            cost = read_matrix(args.cost).ravel()
        est = FacilityLocation(cost, distance_precision=args.distance_precision, n_repetitions=args.repetitions,
                               machines=args.machines, local_search=args.local_search, random_state=args.seed,
                               verbose=verbose)
    est.fit(graph)
    rep = est.report_
    summary = {
        "problem": args.problem,
        "n_vertices": graph.n_vertices,
        "n_edges": graph.n_edges,
        "n_facilities": int(est.facilities_.size),
        "cost": est.cost_,
        "seconds": round(rep["total_seconds"], 3),
        "peak_memory_mb": round(rep["peak_memory_mb"], 1),
        "machines": rep["machines"],
        "rounds": rep["rounds"],
        "messages": rep["messages"],
        "max_load": rep["max_load"],
    }
    if args.problem == "pmedian":
        summary["raw_cost"] = rep["raw_cost"]
    print(json.dumps(summary))
    if args.assignment:
        write_array(args.assignment, est.assignment_)
    if args.facilities:
        write_array(args.facilities, est.facilities_)
    if args.report:
        write_json(args.report, rep)
    return 0

