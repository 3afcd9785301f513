"""Scale: PMedian and PCenter with p = 100 on a road-like graph of ROWS x COLS vertices
(default 1000 x 1000 = 1,000,000), each in its own process-level peak-memory window.

Each result line says whether the run met issue 20's scale target (<= 30 minutes and <= 8 GB
each; the issue asks for 10,000,000 vertices and p = 1,000:
``--rows 2500 --cols 4000 -p 1000 --pmedian-precision 0.6``; at that size the vertices x
distance-levels table (at most 2**28 cells) needs distance_precision >= ~0.55).

Also prints what the matrix-based anchors (kmedoids.fasterpam on the all-pairs matrix, an exact
MIP) would need at this size, and checks it against the machine's RAM: they cannot run.
Usage: python benchmarks/graph_scale.py [--rows 1000 --cols 1000] [-p 100] [--which pmedian,pcenter]
       [--pmedian-precision 0.1] [--pcenter-precision 0.02] [--local-search-candidates 100] [--defaults]
"""

import argparse
import json
import os
import time

import numpy as np

from bigclust._core.report import peak_rss_mb, peak_rss_reset
from bigclust.graph import PCenter, PMedian
from bigclust.graph.generators import road_like_grid


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1000)
    ap.add_argument("--cols", type=int, default=1000)
    ap.add_argument("-p", type=int, default=100)
    ap.add_argument("--which", default="pmedian,pcenter")
    ap.add_argument("--repetitions", type=int, default=8)
    ap.add_argument("--probes", type=int, default=2)
    ap.add_argument("--trials", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--pmedian-precision", type=float, default=0.1, help="PMedian distance_precision")
    ap.add_argument("--pcenter-precision", type=float, default=0.02, help="PCenter distance_precision")
    ap.add_argument("--defaults", action="store_true",
                    help="PMedian(p) and PCenter(p) with every other parameter at its default (ignores the options above)")
    ap.add_argument("--local-search-candidates", type=int, default=0,
                    help="if > 0: PMedian local_search=True examining this many candidates per pass (2 passes); "
                         "default: the estimators' local_search='auto' (skipped when its table exceeds 2**25 cells)")
    args = ap.parse_args()
    t = time.perf_counter()
    g = road_like_grid(args.rows, args.cols, random_state=args.seed)
    n = g.n_vertices
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    print(json.dumps({"graph": "road_like_grid", "n": n, "edges": g.n_edges,
                      "build_s": round(time.perf_counter() - t, 2), "graph_mb": round(peak_rss_mb(), 1)}), flush=True)
    need = {
        "anchor": "all-pairs float64 distance matrix (kmedoids.fasterpam input)",
        "bytes": 8 * n * n,
        "gib": round(8 * n * n / 2**30, 1),
        "machine_ram_gib": round(ram / 2**30, 1),
        "feasible": bool(8 * n * n < ram),
        "mip_binary_variables": n * n + n,
    }
    print(json.dumps(need), flush=True)
    for which in args.which.split(","):
        peak_rss_reset()
        t = time.perf_counter()
        if args.defaults:
            est = (PMedian if which == "pmedian" else PCenter)(args.p, random_state=args.seed, verbose=True).fit(g)
        elif which == "pmedian":
            est = PMedian(args.p, distance_precision=args.pmedian_precision, n_repetitions=args.repetitions,
                          n_probes=args.probes, n_roundings=4,
                          local_search=True if args.local_search_candidates > 0 else "auto",
                          local_search_candidates=args.local_search_candidates or None, max_local_search_passes=2,
                          random_state=args.seed, verbose=True).fit(g)
        else:
            est = PCenter(args.p, distance_precision=args.pcenter_precision, n_trials=args.trials,
                          random_state=args.seed, verbose=True).fit(g)
        secs = time.perf_counter() - t
        rec = {"algorithm": which, "n": n, "p": args.p, "seconds": round(secs, 1),
               "peak_memory_mb": round(peak_rss_mb(), 1), "cost": est.cost_,
               "n_facilities": int(est.facilities_.size),
               "distance_precision": est.distance_precision,
               "stage_seconds": {k: round(v, 1) for k, v in est.report_["time"].items()}}
        rec["within_30min_8gb"] = bool(secs <= 1800 and rec["peak_memory_mb"] <= 8192)
        if which == "pmedian":
            rec["raw_cost"] = est.report_["raw_cost"]
            rec["search_steps"] = len(est.report_["search"])
            rec["bipoint_rounding"] = est.report_["bipoint_rounding"]
            rec["local_search"] = est.report_["local_search"]
        else:
            rec["raw_cost"] = est.report_["raw_cost"]
            rec["search_radius"] = est.search_radius_
            rec["search_steps"] = len(est.report_["search"])
            rec["local_search"] = est.report_["local_search"]
        print(json.dumps(rec), flush=True)


if __name__ == "__main__":
    main()
