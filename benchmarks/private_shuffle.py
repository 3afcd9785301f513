"""The paper's shuffle-model protocol (Theorem 2) beside the amplified-local one and the anchors.

Data: the Section 5 mixtures of private_figure1.py (d = 100, r = 100, unit ball). Methods,
on the same data in the same run:
  shuffle            ShuffleDPKMeans(protocol="shuffle"): blanket histograms, (eps, delta)-DP
  amplified_local    ShuffleDPKMeans(protocol="amplified-local"): one eps0-LDP report per user
                     behind a shuffler (Feldman-McMillan-Talwar amplification), (eps, delta)-DP
  diffprivlib        diffprivlib KMeans, central eps-DP, bounds [-1, 1]^d (the `[compare-dp]`
                     extra; skipped with a note when it is not installed)
  nonprivate         scikit-learn KMeans (k-means++, n_init=1)
  trivial            every centre at the origin (the public centre)
delta = n^-1.1 for both shuffle-model methods.

Prints one JSON object per measurement, then one summary line per (n, k, eps, method) with
``ratio_to_trivial``, ``ratio_to_nonprivate`` and ``ratio_to_diffprivlib`` (cost / anchor's
cost). The issue's target: shuffle within 2x of diffprivlib at n = 1e6, k <= 16, eps = 1.

Usage:
  python benchmarks/private_shuffle.py --n 100000 1000000 --k 8 16 --eps 1 --runs 1
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from private_common import gaussian_mixture_in_ball, import_diffprivlib_kmeans, kmeans_cost  # noqa: E402

from bigclust.private import PrivateUtilityWarning, ShuffleDPKMeans  # noqa: E402


def emit(obj):
    print(json.dumps(obj), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--k", type=int, nargs="+", default=[8, 16])
    ap.add_argument("--eps", type=float, nargs="+", default=[1.0])
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--run-ids", type=int, nargs="*", default=None, help="run indices (default: 0 .. runs-1)")
    ap.add_argument("--d", type=int, default=100)
    ap.add_argument("--r", type=float, default=100.0)
    ap.add_argument("--skip", nargs="*", default=[], help="methods to skip: diffprivlib nonprivate amplified_local")
    args = ap.parse_args()
    try:
        DPKMeans = None if "diffprivlib" in args.skip else import_diffprivlib_kmeans()
    except ImportError:
        DPKMeans = None
        emit({"bench": "private_shuffle", "note": "diffprivlib not installed (pip install bigclust[compare-dp])"})
    from sklearn.cluster import KMeans

    results = {}
    for run in (range(args.runs) if args.run_ids is None else args.run_ids):
        for n in args.n:
            for k in args.k:
                X, _ = gaussian_mixture_in_ball(n, args.d, k, args.r, np.random.default_rng([run, n, k]))
                base = {"bench": "private_shuffle", "n": n, "d": args.d, "r": args.r, "k": k, "run": run}

                def record(method, eps, cost, secs, **extra):
                    emit({**base, "epsilon": eps, "method": method, "cost": cost, "seconds": round(secs, 3), **extra})
                    results.setdefault((n, k, eps, method), []).append(cost)

                t = time.time()
                triv = kmeans_cost(X, np.zeros((1, args.d)))
                for e in args.eps:
                    record("trivial", e, triv, time.time() - t)
                if "nonprivate" not in args.skip:
                    t = time.time()
                    c = kmeans_cost(X, KMeans(k, n_init=1, random_state=run).fit(X).cluster_centers_)
                    for e in args.eps:
                        record("nonprivate_kmeanspp", e, c, time.time() - t)
                for e in args.eps:
                    for proto in ("shuffle", "amplified-local"):
                        if proto == "amplified-local" and "amplified_local" in args.skip:
                            continue
                        t = time.time()
                        try:
                            with warnings.catch_warnings():
                                warnings.simplefilter("ignore", PrivateUtilityWarning)
                                m = ShuffleDPKMeans(k, epsilon=e, delta=float(n) ** -1.1, protocol=proto,
                                                    radius="unit", random_state=run * 1000 + 17).fit(X)
                        except ValueError as err:  # the shuffle protocol refuses too few users
                            emit({**base, "epsilon": e, "method": proto.replace("-", "_"), "refused": str(err)})
                            continue
                        rep = m.report_
                        extra = {"epsilon_spent": rep["epsilon"], "delta_spent": rep["delta"],
                                 "coreset": rep["decoder_coreset_size"], "n_centers": rep["n_centers"],
                                 "noise_floor": rep["decoder_expected_noise_floor"] / n}
                        if proto == "shuffle":
                            extra.update(messages_per_user=rep["messages_per_user"],
                                         blanket_noise_vector=rep["blanket_noise_vector"],
                                         blanket_noise_histogram=rep["blanket_noise_histogram"])
                        else:
                            extra["epsilon_local"] = rep["epsilon_local"]
                        record(proto.replace("-", "_"), e, kmeans_cost(X, m.cluster_centers_), time.time() - t, **extra)
                    if DPKMeans is not None:
                        t = time.time()
                        with warnings.catch_warnings():
                            warnings.simplefilter("ignore")
                            dp = DPKMeans(n_clusters=k, epsilon=e, bounds=([-1.0] * args.d, [1.0] * args.d),
                                          random_state=run).fit(X)
                        record("diffprivlib_central", e, kmeans_cost(X, dp.cluster_centers_), time.time() - t)
                del X
    for (n, k, e, method), costs in sorted(results.items()):
        line = {"bench": "private_shuffle", "summary": True, "n": n, "k": k, "epsilon": e, "method": method,
                "runs": len(costs), "mean_cost": float(np.mean(costs)), "std_cost": float(np.std(costs))}
        for anchor, key in (("trivial", "ratio_to_trivial"), ("nonprivate_kmeanspp", "ratio_to_nonprivate"),
                            ("diffprivlib_central", "ratio_to_diffprivlib")):
            a = results.get((n, k, e, anchor))
            if a and np.mean(a) > 0:
                line[key] = line["mean_cost"] / float(np.mean(a))
        emit(line)


if __name__ == "__main__":
    main()
