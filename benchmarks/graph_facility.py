"""Facility location benchmarks.

1. OR-Library pmed graphs with uniform opening costs: ratio to the exact MIP optimum
   (scipy.optimize.milp / HiGHS), raw and refined, with times.
2. --ufl: the OR-Library uncapacitated instances (cap71..cap134, capa, capb, capc) through the
   bipartite cost-matrix input (Graph.from_cost_matrix, customers as clients, customers cannot
   host facilities). Their costs are not metric: the algorithm works on the metric closure of
   the bipartite graph, so we report both the closure cost and the TRUE cost (fixed costs +
   each customer's cheapest open facility under the original matrix) over the published optimum.

Usage: python benchmarks/graph_facility.py [--last 10] [--costs 50,200,1000] [--time-limit 120]
       python benchmarks/graph_facility.py --ufl
"""

import argparse
import csv
import json
import time

import numpy as np

from bigclust.graph import FacilityLocation, Graph
from bigclust.graph import exact

from bigclust.datasets import find_data_dir  # noqa: E402

DATA = str(find_data_dir())  # BIGCLUST_DATA_DIR, else shared/data beside the checkout


def read_ufl(path):
    """OR-Library cap* file -> (fixed costs (m,), allocation costs (m, n)); capacities/demands ignored."""
    tok = open(path).read().split()
    m, n = int(tok[0]), int(tok[1])
    pos = 2
    fixed = np.empty(m)
    for i in range(m):
        pos += 1  # capacity (a number, or the word 'capacity' in capa/b/c)
        fixed[i] = float(tok[pos])
        pos += 1
    C = np.empty((m, n))
    for j in range(n):
        pos += 1  # demand
        C[:, j] = np.array(tok[pos:pos + m], dtype=float)
        pos += m
    return fixed, C


def run_ufl(seed):
    opt = {r["instance"]: float(r["uncap_opt"]) for r in csv.DictReader(open(f"{DATA}/orlib/ufl_optima.csv"))}
    for name in opt:
        fixed, C = read_ufl(f"{DATA}/orlib/ufl/{name}.txt")
        m, n = C.shape
        g = Graph.from_cost_matrix(C)
        f = np.concatenate([fixed, np.full(n, np.inf)])
        clients = np.arange(m, m + n)
        rec = {"instance": name, "facilities": m, "customers": n, "optimum": opt[name]}
        for local_search in (False, True):
            t = time.perf_counter()
            fl = FacilityLocation(f, local_search=local_search, random_state=seed).fit(g, clients=clients)
            F = fl.facilities_
            true = fixed[F].sum() + C[F].min(axis=0).sum()
            tag = "refined" if local_search else "raw"
            rec[f"{tag}_true_ratio"] = round(true / opt[name], 4)
            rec[f"{tag}_closure_ratio"] = round(fl.cost_ / opt[name], 4)
            rec[f"{tag}_open"] = int(F.size)
            rec[f"{tag}_s"] = round(time.perf_counter() - t, 3)
        print(json.dumps(rec), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--first", type=int, default=1)
    ap.add_argument("--last", type=int, default=10)
    ap.add_argument("--costs", default="50,200,1000")
    ap.add_argument("--time-limit", type=float, default=120.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--ufl", action="store_true", help="run the OR-Library UFL instances instead")
    args = ap.parse_args()
    if args.ufl:
        return run_ufl(args.seed)
    for i in range(args.first, args.last + 1):
        g, _ = Graph.read_orlib(f"{DATA}/orlib/pmed/pmed{i}.txt")
        D = exact.all_pairs_distances(g)
        for z in (float(c) for c in args.costs.split(",")):
            rec = {"instance": f"pmed{i}", "n": g.n_vertices, "opening_cost": z}
            t = time.perf_counter()
            opt, fac = exact.facility_location(D, z, time_limit=args.time_limit)
            rec["mip_s"] = round(time.perf_counter() - t, 3)
            rec["mip_cost"] = opt
            rec["mip_facilities"] = int(fac.size)
            for local_search in (False, True):
                t = time.perf_counter()
                fl = FacilityLocation(z, local_search=local_search, random_state=args.seed).fit(g)
                tag = "refined" if local_search else "raw"
                rec[f"{tag}_ratio"] = round(fl.cost_ / opt, 4)
                rec[f"{tag}_facilities"] = int(fl.facilities_.size)
                rec[f"{tag}_s"] = round(time.perf_counter() - t, 3)
            print(json.dumps(rec), flush=True)


if __name__ == "__main__":
    main()
