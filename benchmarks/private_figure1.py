"""Figure 1 of Chang et al. (ICML 2021): normalised k-means objective of one-round LDP k-means.

Data: Section 5 mixtures in the unit ball (d = 100, separation r = 100). Methods, in the
same run on the same data:
  ours_local       bigclust.private.LocalDPKMeans (epsilon-LDP, one round)
  trivial          the origin as the only centre
  naive_laplace    each user adds Laplace(2 sqrt(d)/eps) per coordinate (eps-LDP), then
                   k-means++/Lloyd on the noisy points; "_raw" keeps the centres as found,
                   "_ball" projects them onto the unit ball (the data domain)
  nonprivate       k-means++/Lloyd (sklearn KMeans, n_init=1)
  diffprivlib      central-DP KMeans of diffprivlib (eps, bounds [-1, 1]^d)
  ours_shuffle_amplified
                   bigclust.private.ShuffleDPKMeans, (eps, delta = n^-1.1)-DP in the shuffle
                   model by amplification of the local report (not the paper's Theorem 2
                   protocol; only with --with-shuffle)
  ours_local_every_level
                   LocalDPKMeans in the previous configuration (Algorithm 1 on every level,
                   eps/2 per channel, centres clipped to the ball, no vector test); only in
                   the baseline runs

--baseline-runs B computes the expensive baselines (non-private, naive, diffprivlib,
ours_local_every_level) in the first B runs only; ours_local and trivial run in all runs.

Usage:
  python benchmarks/private_figure1.py --sweep paper --runs 10 --baseline-runs 3 --max-seconds 4800
  python benchmarks/private_figure1.py --grid --n 10000 100000 --eps 1 --k 2 8 --runs 2

--sweep paper: the three one-parameter sweeps of Figure 1 around (n=1e6, eps=1, k=8):
n in {1e4,1e5,1e6}, eps in {0.5,1,2,4,8}, k in {2,4,8,16,32}. --grid: full product.
Prints one JSON object per measurement and one "summary" line (mean, std) per setting
and method, with the headline ratios: ``ratio_to_trivial`` (cost / the trivial answer's
cost, every centre at the public centre -- below 1 means better than answering the
origin; ``trivial_over_cost`` is its inverse, "x times better than trivial") and
``ratio_to_nonprivate`` (cost / non-private k-means++ cost, when that baseline ran).
The naive Laplace baseline is reported but is not a headline: its cost is above the
trivial answer's.
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
from private_common import gaussian_mixture_in_ball, import_diffprivlib_kmeans, kmeans_cost, project_to_ball  # noqa: E402

from bigclust.private import LocalDPKMeans, PrivateUtilityWarning, ShuffleDPKMeans  # noqa: E402


def emit(obj):
    print(json.dumps(obj), flush=True)


def settings_for(args):
    if args.sweep == "paper":
        base_n, base_eps, base_k = 1_000_000, 1.0, 8
        s = {(n, base_eps, base_k) for n in (10_000, 100_000, 1_000_000)}
        s |= {(base_n, e, base_k) for e in (0.5, 1.0, 2.0, 4.0, 8.0)}
        s |= {(base_n, base_eps, k) for k in (2, 4, 8, 16, 32)}
        return sorted(s)
    return sorted({(n, e, k) for n in args.n for e in args.eps for k in args.k})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sweep", choices=("paper", "none"), default="none")
    ap.add_argument("--grid", action="store_true")
    ap.add_argument("--n", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--eps", type=float, nargs="+", default=[0.5, 1.0, 2.0, 4.0, 8.0])
    ap.add_argument("--k", type=int, nargs="+", default=[2, 4, 8, 16, 32])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--d", type=int, default=100)
    ap.add_argument("--r", type=float, default=100.0)
    ap.add_argument("--levels", type=int, default=12)
    ap.add_argument("--max-seconds", type=float, default=3000.0)
    ap.add_argument("--skip", nargs="*", default=[],
                    help="methods to skip: diffprivlib, naive, nonprivate, local, every_level")
    ap.add_argument("--with-shuffle", action="store_true", help="also run ShuffleDPKMeans")
    ap.add_argument("--baseline-runs", type=int, default=None,
                    help="compute the baselines in the first B runs only (default: all runs)")
    args = ap.parse_args()
    if args.sweep == "none" and not args.grid:
        ap.error("choose --sweep paper or --grid")
    t_start = time.time()
    DPKMeans = import_diffprivlib_kmeans() if "diffprivlib" not in args.skip else None
    from sklearn.cluster import KMeans

    settings = settings_for(args)
    results = {}
    # group by (n, k) so data and the eps-independent baselines are computed once per run
    by_nk = {}
    for n, e, k in settings:
        by_nk.setdefault((n, k), []).append(e)
    stopped = False
    baseline_runs = args.runs if args.baseline_runs is None else args.baseline_runs
    for run in range(args.runs):
        with_baselines = run < baseline_runs
        for (n, k), eps_list in sorted(by_nk.items()):
            if time.time() - t_start > args.max_seconds:
                stopped = True
                break
            rng = np.random.default_rng([run, n, k])
            X, _ = gaussian_mixture_in_ball(n, args.d, k, args.r, rng)
            base = {"bench": "private_figure1", "n": n, "d": args.d, "r": args.r, "k": k, "run": run}

            def record(method, eps, cost, secs, **extra):
                emit({**base, "epsilon": eps, "method": method, "cost": cost, "seconds": round(secs, 3), **extra})
                results.setdefault((n, eps, k, method), []).append(cost)

            t = time.time()
            triv = kmeans_cost(X, np.zeros((1, args.d)))
            for e in eps_list:
                record("trivial", e, triv, time.time() - t)
            if "nonprivate" not in args.skip and with_baselines:
                t = time.time()
                km = KMeans(k, n_init=1, random_state=run).fit(X)
                c_np = kmeans_cost(X, km.cluster_centers_)
                for e in eps_list:
                    record("nonprivate_kmeanspp", e, c_np, time.time() - t)
            for e in eps_list:
                if "local" not in args.skip:
                    t = time.time()
                    with warnings.catch_warnings(record=True) as caught:
                        warnings.simplefilter("always", PrivateUtilityWarning)
                        m = LocalDPKMeans(k, radius="unit", epsilon=e, n_levels=args.levels,
                                          random_state=run * 1000 + 17).fit(X)
                    record("ours_local", e, kmeans_cost(X, m.cluster_centers_), time.time() - t,
                           epsilon_spent=m.report_["epsilon"], coreset=m.report_["decoder_coreset_size"],
                           n_centers=m.report_["n_centers"], noise_floor=m.report_["decoder_expected_noise_floor"] / n,
                           utility_warning=any(issubclass(w.category, PrivateUtilityWarning) for w in caught))
                if "every_level" not in args.skip and with_baselines:
                    t = time.time()
                    m = LocalDPKMeans(k, radius="unit", epsilon=e, n_levels=args.levels, histogram_levels="all", histogram_share=0.5,
                                      center_estimator="clip", min_vector_sigmas=0.0,
                                      random_state=run * 1000 + 17).fit(X)
                    record("ours_local_every_level", e, kmeans_cost(X, m.cluster_centers_), time.time() - t,
                           epsilon_spent=m.report_["epsilon"], coreset=m.report_["decoder_coreset_size"])
                if args.with_shuffle:
                    t = time.time()
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", PrivateUtilityWarning)
                        m = ShuffleDPKMeans(k, radius="unit", epsilon=e, delta=float(n) ** -1.1, n_levels=args.levels,
                                            random_state=run * 1000 + 17).fit(X)
                    record("ours_shuffle_amplified", e, kmeans_cost(X, m.cluster_centers_), time.time() - t,
                           epsilon_spent=m.report_["epsilon"], delta_spent=m.report_["delta"],
                           epsilon_local=m.report_["epsilon_local"], coreset=m.report_["decoder_coreset_size"],
                           n_centers=m.report_["n_centers"])
                if not with_baselines:
                    continue
                if "naive" not in args.skip:
                    t = time.time()
                    scale = 2.0 * np.sqrt(args.d) / e
                    noisy = X + rng.laplace(0.0, scale, size=X.shape)
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        kn = KMeans(k, n_init=1, max_iter=100, random_state=run).fit(noisy)
                    del noisy
                    secs = time.time() - t
                    record("naive_laplace_raw", e, kmeans_cost(X, kn.cluster_centers_), secs)
                    record("naive_laplace_ball", e, kmeans_cost(X, project_to_ball(kn.cluster_centers_)), secs)
                if DPKMeans is not None:
                    t = time.time()
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        dp = DPKMeans(n_clusters=k, epsilon=e, bounds=([-1.0] * args.d, [1.0] * args.d),
                                      random_state=run).fit(X)
                    record("diffprivlib_central", e, kmeans_cost(X, dp.cluster_centers_), time.time() - t)
            del X
        if stopped:
            break
    for (n, e, k, method), costs in sorted(results.items()):
        line = {"bench": "private_figure1", "summary": True, "n": n, "epsilon": e, "k": k, "method": method,
                "runs": len(costs), "mean_cost": float(np.mean(costs)), "std_cost": float(np.std(costs))}
        triv = results.get((n, e, k, "trivial"))
        if triv:
            line["ratio_to_trivial"] = line["mean_cost"] / float(np.mean(triv))
            line["trivial_over_cost"] = float(np.mean(triv)) / line["mean_cost"] if line["mean_cost"] > 0 else None
        nonp = results.get((n, e, k, "nonprivate_kmeanspp"))
        if nonp:
            line["ratio_to_nonprivate"] = line["mean_cost"] / float(np.mean(nonp))
        emit(line)
    if stopped:
        emit({"bench": "private_figure1", "note": f"stopped after {args.max_seconds}s time limit; runs completed "
              "per setting are in the summary lines"})


if __name__ == "__main__":
    main()
