"""Rounds vs machines in the simulated k-machine model on a fixed graph.

For k in {2, 4, 8, 16, 32, 64}: the ledger of (a) one MSSP call (Lemma 2.3) from 10 sources,
(b) neighbourhood-size estimation (Algorithm 3) with 2 repetitions, (c) one approximate MIS
(Algorithm 5), (d) a full PCenter fit (n_trials=1). Also rounds * k / n: the paper proves
O~(n/k) rounds, so this column should stay roughly flat (polylog) as k grows.
Usage: python benchmarks/graph_rounds.py [--rows 30 --cols 40]
"""

import argparse
import json
import time

import numpy as np

from bigclust.graph import KMachine, PCenter, approximate_mis, mssp
from bigclust.graph.generators import road_like_grid
from bigclust.graph.neighbourhood import estimate_neighbourhood_sizes


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=30)
    ap.add_argument("--cols", type=int, default=40)
    ap.add_argument("--machines", default="2,4,8,16,32,64")
    args = ap.parse_args()
    g = road_like_grid(args.rows, args.cols, random_state=0)
    n = g.n_vertices
    src = np.random.default_rng(0).choice(n, 10, replace=False)
    for k in (int(x) for x in args.machines.split(",")):
        rec = {"n": n, "edges": g.n_edges, "machines": k}
        for name, fn in (
            ("mssp", lambda km, rng: mssp(g, src, km)),
            ("nbhd_alg3", lambda km, rng: estimate_neighbourhood_sizes(g, 0.5, 2, rng, km)),
            ("mis_alg5", lambda km, rng: approximate_mis(g, np.arange(n), 1500.0, rng, km)),
        ):
            rng = np.random.default_rng(1)
            km = KMachine(g, k, rng)
            t = time.perf_counter()
            fn(km, rng)
            led = km.ledger.as_dict()
            rec[f"{name}_rounds"] = led["rounds"]
            rec[f"{name}_messages"] = led["messages"]
            rec[f"{name}_max_load"] = led["max_load"]
            rec[f"{name}_rounds_x_k_over_n"] = round(led["rounds"] * k / n, 3)
            rec[f"{name}_s"] = round(time.perf_counter() - t, 2)
        t = time.perf_counter()
        pc = PCenter(8, machines=k, n_trials=1, distance_precision=0.05, random_state=0).fit(g)
        rec["pcenter_rounds"] = pc.report_["rounds"]
        rec["pcenter_messages"] = pc.report_["messages"]
        rec["pcenter_max_load"] = pc.report_["max_load"]
        rec["pcenter_rounds_x_k_over_n"] = round(pc.report_["rounds"] * k / n, 3)
        rec["pcenter_s"] = round(time.perf_counter() - t, 2)
        print(json.dumps(rec), flush=True)


if __name__ == "__main__":
    main()
