"""OR-Library pmed1..pmed40: PMedian and PCenter vs the published optima, beside kmedoids.fasterpam on the
all-pairs distance matrix, in the same run.

Columns (ratios to the optimum):
- pmedian_paper_ratio: the raw path, report_["raw_cost"] of the default fit: the paper's algorithm (Section 5:
  facility location + opening-cost search + Jain-Vazirani rounding) with its roundings derandomised by
  conditional expectations over every bracketing pair the search met (docs/graph.md);
- pmedian_paper_rounding_ratio: report_["paper_cost"]: the paper's own answer of the same run (exact-p solution
  of the search, or the cheapest of its ceil(log2 n) random roundings of the final bracket);
- pmedian_raw_s / pmedian_plain_s: seconds of PMedian(p, local_search=False) with and without the
  derandomised roundings (derandomize=False);
- pmedian_default_ratio: PMedian(p) with its defaults (the paper + the charged swap improvement phase);
- pmedian_refined_ratio: local_search=True (every candidate examined in each pass);
- pcenter_paper_ratio: Section 6 (MIS radius bisection + farthest-first fill), report_["raw_cost"];
- pcenter_default_ratio: PCenter(p) with its defaults (+ greedy-cover radius search + vertex substitution).

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
        pm = PMedian(p, random_state=args.seed).fit(g)
        rec["pmedian_default_s"] = time.perf_counter() - t
        rec["pmedian_paper_ratio"] = pm.report_["raw_cost"] / o_med
        rec["pmedian_paper_rounding_ratio"] = pm.report_["paper_cost"] / o_med
        rec["pmedian_default_ratio"] = pm.cost_ / o_med
        t = time.perf_counter()
        PMedian(p, random_state=args.seed, local_search=False).fit(g)
        rec["pmedian_raw_s"] = time.perf_counter() - t
        t = time.perf_counter()
        PMedian(p, random_state=args.seed, local_search=False, derandomize=False).fit(g)
        rec["pmedian_plain_s"] = time.perf_counter() - t
        t = time.perf_counter()
        ref = PMedian(p, random_state=args.seed, local_search=True).fit(g)
        rec["pmedian_refined_ratio"] = ref.cost_ / o_med
        rec["pmedian_refined_s"] = time.perf_counter() - t
        t = time.perf_counter()
        pc = PCenter(p, random_state=args.seed).fit(g)
        rec["pcenter_default_s"] = time.perf_counter() - t
        rec["pcenter_paper_ratio"] = pc.report_["raw_cost"] / o_cen
        rec["pcenter_default_ratio"] = pc.cost_ / o_cen
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
    keys = ["pmedian_paper_ratio", "pmedian_paper_rounding_ratio", "pmedian_default_ratio", "pmedian_refined_ratio", "pcenter_paper_ratio",
            "pcenter_default_ratio", "fasterpam_ratio", "fasterpam_pcenter_ratio", "pmedian_default_s",
            "pmedian_refined_s", "pmedian_raw_s", "pmedian_plain_s", "pcenter_default_s", "fasterpam_s", "apsp_s"]
    summary = {"summary": f"pmed{args.first}..pmed{args.last}", "seed": args.seed}
    for k in keys:
        vals = np.array([r[k] for r in rows])
        summary[f"mean_{k}"] = round(float(vals.mean()), 4)
        if k.endswith("ratio"):
            summary[f"max_{k}"] = round(float(vals.max()), 4)
            summary[f"worst_{k}"] = rows[int(vals.argmax())]["instance"]
    summary["pmedian_paper_above_1.10"] = int(sum(r["pmedian_paper_ratio"] > 1.10 for r in rows))
    summary["pmedian_paper_rounding_above_1.10"] = int(sum(r["pmedian_paper_rounding_ratio"] > 1.10 for r in rows))
    summary["pmedian_default_above_1.10"] = int(sum(r["pmedian_default_ratio"] > 1.10 for r in rows))
    summary["pcenter_default_above_1.30"] = int(sum(r["pcenter_default_ratio"] > 1.30 for r in rows))
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
