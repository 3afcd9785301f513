"""Do the local and spark engines give the same partition at a size the tests cannot reach?

Reads what ``spark_scale.py --labels-out DIR`` saved for one fit (the (row, cluster) Parquet and
fit.json), fits the local engine on the same planted mixture with the same settings, and prints
one JSON line: the tree figures of both engines side by side (the DP's exact entries, i.e. the
sum of min(size, k) over the tree's vertices, the minimum-distance lower bound that fixes the
scale grid, the node count), both inertias, and how many rows got a different cluster id.

Example (after benchmark 1 of docs/spark.md with ``--labels-out /tmp/fits``)::

    python benchmarks/spark_local_agree.py /tmp/fits/n10000000_d16_k10000_s0_exact --n 10000000 --d 16 --k 10000
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _common import emit  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("fit_dir", help="one fit's directory written by spark_scale.py --labels-out")
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--d", type=int, required=True)
    ap.add_argument("--k", type=int, required=True)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    import pyarrow.parquet as pq

    from bigclust import LSHTreeKMeans
    from bigclust.datasets import make_planted_mixture

    with open(os.path.join(args.fit_dir, "fit.json")) as f:
        sp = json.load(f)
    table = pq.read_table(os.path.join(args.fit_dir, "labels"), columns=["row", "cluster"])
    rows = table.column("row").to_numpy()
    if rows.shape[0] != args.n or np.unique(rows).shape[0] != args.n:
        raise SystemExit(f"{args.fit_dir}: {rows.shape[0]} labelled rows, expected each of {args.n} once")
    spark_labels = np.empty(args.n, np.int64)
    spark_labels[rows] = table.column("cluster").to_numpy()
    del table, rows

    X, _, _ = make_planted_mixture(args.n, args.d, args.k, random_state=args.seed)
    t = time.perf_counter()
    est = LSHTreeKMeans(args.k, method=sp["method"], scale_ratio=sp["scale_ratio"], candidates=sp["candidates"],
                        random_state=args.seed).fit(X)
    local_s = time.perf_counter() - t
    r = est.report_
    differ = int(np.count_nonzero(est.labels_ != spark_labels))
    emit(tool="bigclust local vs spark", n=args.n, d=args.d, k=args.k, seed=args.seed, method=sp["method"],
         scale_ratio=sp["scale_ratio"], candidates=sp["candidates"], local_seconds=local_s,
         exact_entries_local=float(np.minimum(est.tree_.size, args.k).sum()),
         exact_entries_spark=sp["exact_entries"],
         # as repr strings: emit() rounds floats to 6 decimals, and these are ~1e-13
         min_lb_local=repr(r["tree_info"].get("min_distance_lower_bound")),
         min_lb_spark=repr(sp["min_distance_lower_bound"]),
         tree_nodes_local=r["tree_nodes"], tree_nodes_spark=sp["tree_nodes"],
         n_scales_local=r["n_scales"], n_scales_spark=sp["n_scales"],
         inertia_local=repr(float(est.inertia_)), inertia_spark=repr(float(sp["inertia"])),
         rows_with_different_label=differ, labels_equal=differ == 0)


if __name__ == "__main__":
    main()
