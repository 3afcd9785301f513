"""Facility location on the OR-Library pmed graphs with uniform opening costs: ratio to the exact
MIP optimum (scipy.optimize.milp / HiGHS), raw and refined, with times.

Usage: python benchmarks/graph_facility.py [--last 10] [--costs 50,200,1000] [--time-limit 120]
"""

import argparse
import json
import os
import time

from bigclust.graph import FacilityLocation, Graph
from bigclust.graph import exact

DATA = os.environ.get("BIGCLUST_DATA", "/work/shared/data")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--first", type=int, default=1)
    ap.add_argument("--last", type=int, default=10)
    ap.add_argument("--costs", default="50,200,1000")
    ap.add_argument("--time-limit", type=float, default=120.0)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
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
            for refine in (False, True):
                t = time.perf_counter()
                fl = FacilityLocation(z, refine=refine, random_state=args.seed).fit(g)
                tag = "refined" if refine else "raw"
                rec[f"{tag}_ratio"] = round(fl.cost_ / opt, 4)
                rec[f"{tag}_facilities"] = int(fl.facilities_.size)
                rec[f"{tag}_s"] = round(time.perf_counter() - t, 3)
            print(json.dumps(rec), flush=True)


if __name__ == "__main__":
    main()
