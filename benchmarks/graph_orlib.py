"""OR-Library pmed1..pmed40: PMedian (raw, refined) and PCenter (raw, local search) vs the published optima, beside
kmedoids.fasterpam on the all-pairs distance matrix, in the same run.

Prints one JSON object per instance and a summary line.
Usage: python benchmarks/graph_orlib.py [--first 1] [--last 40] [--seed 0]
"""

import argparse
import csv
import json
import time

import numpy as np

from bigclust.graph import Graph, PCenter, PMedian
from bigclust.graph.exact import all_pairs_distances

from bigclust.datasets import find_data_dir

DATA = str(find_data_dir())  # BIGCLUST_DATA_DIR, else shared/data beside the checkout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--first", type=int, default=1)
    ap.add_argument("--last", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    import kmedoids

    opt = {r["instance"]: r for r in csv.DictReader(open(f"{DATA}/orlib/pmed_optima.csv"))}
    rows = []
    for i in range(args.first, args.last + 1):
        name = f"pmed{i}"
        g, p = Graph.read_orlib(f"{DATA}/orlib/pmed/{name}.txt")
        o_med = float(opt[name]["pmedian_opt"])
        o_cen = float(opt[name]["pcenter_opt"])
        rec = {"instance": name, "n": g.n_vertices, "p": p}
        t = time.perf_counter()
        raw = PMedian(p, random_state=args.seed).fit(g)
        rec["pmedian_raw_ratio"] = raw.cost_ / o_med
        rec["pmedian_raw_s"] = time.perf_counter() - t
        t = time.perf_counter()
        ref = PMedian(p, random_state=args.seed, local_search=True).fit(g)
        rec["pmedian_refined_ratio"] = ref.cost_ / o_med
        rec["pmedian_refined_s"] = time.perf_counter() - t
        t = time.perf_counter()
        pc = PCenter(p, random_state=args.seed).fit(g)
        rec["pcenter_ratio"] = pc.cost_ / o_cen
        rec["pcenter_s"] = time.perf_counter() - t
        t = time.perf_counter()
        pcl = PCenter(p, random_state=args.seed, local_search=True).fit(g)
        rec["pcenter_local_search_ratio"] = pcl.cost_ / o_cen
        rec["pcenter_local_search_s"] = time.perf_counter() - t
        t = time.perf_counter()
        D = all_pairs_distances(g)
        rec["apsp_s"] = time.perf_counter() - t
        t = time.perf_counter()
        km = kmedoids.fasterpam(D, p, random_state=args.seed)
        rec["fasterpam_ratio"] = float(km.loss) / o_med
        rec["fasterpam_s"] = time.perf_counter() - t
        # p-center radius of FasterPAM's medoids, for reference
        rec["fasterpam_pcenter_ratio"] = float(D[:, km.medoids].min(axis=1).max()) / o_cen
        rows.append(rec)
        print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in rec.items()}), flush=True)
    keys = ["pmedian_raw_ratio", "pmedian_refined_ratio", "pcenter_ratio", "pcenter_local_search_ratio",
            "fasterpam_ratio", "pmedian_raw_s", "pmedian_refined_s", "pcenter_s", "pcenter_local_search_s",
            "fasterpam_s", "apsp_s"]
    summary = {"summary": f"pmed{args.first}..pmed{args.last}"}
    for k in keys:
        vals = np.array([r[k] for r in rows])
        summary[f"mean_{k}"] = round(float(vals.mean()), 4)
        if k.endswith("ratio"):
            summary[f"max_{k}"] = round(float(vals.max()), 4)
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
