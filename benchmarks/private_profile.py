"""Stage-by-stage profile of one-round LDP k-means on the Section 5 data (Figure 1 setting).

For each configuration it encodes the n users once (seeded: experiments only) and reports,
per true cluster, what each stage of the decoder did with it; then the noise floor of the
centres. The auditor uses the true labels and centres, which the protocol never sees.

Lines (one JSON object each):
  "stage": "histogram"  per histogram level: the count noise sigma (public) and, per true
                        cluster, the estimated count of its dominant level-T node, its
                        z-score, and whether a coreset leaf holds it
  "stage": "vector"     per true cluster: the centre error of its own bucket's vector sum,
                        ||v~ - v|| / f, measured and predicted (public formula)
  "stage": "result"     the cost / n of the decoder's output, of the trivial answer, and the
                        "own-bucket oracle": every cluster's centre from its own bucket's
                        vector sum (James-Stein, true count), i.e. the cost if detection and
                        the k-means step were perfect
  "stage": "floor"      the analytic floor of the centre error for this n, d, k: with
                        sigma^2 = k^2 d V(eps_v) / n (V: per-report, per-coordinate variance of
                        the vector mechanism; count and detection taken as free and exact),
                        James-Stein gives R^2 sigma^2 / (R^2 + sigma^2) per point (R = 0.99,
                        the centres' norm), for each budget share of the vector channel, for
                        Duchi et al. and for the best mechanism of the cap family of PrivUnit
                        (Bhowmick et al. 2018; density e^eps times higher on a cap)

Usage: python benchmarks/private_profile.py --n 1000000 --eps 1 --k 8 16 32
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from private_common import gaussian_mixture_in_ball, kmeans_cost  # noqa: E402

from bigclust.private import Decoder, Encoder, ProtocolParams, RandomSource  # noqa: E402

CONFIGS = {
    # the configuration before the Section 5 profile: Algorithm 1 on every level, eps/2 each
    "every_level": dict(params=dict(histogram_levels="all", histogram_share=0.5),
                        fit=dict(center_estimator="clip", min_vector_sigmas=0.0)),
    # only the histogram levels changed
    "one_level_half_split": dict(params=dict(histogram_levels="auto", histogram_share=0.5),
                                 fit=dict(center_estimator="clip", min_vector_sigmas=0.0)),
    # the defaults: one histogram level, 1/4 : 3/4 split, James-Stein, vector test
    "default": dict(params=dict(), fit=dict()),
}


def emit(o):
    print(json.dumps(o), flush=True)


def duchi_variance(eps: float) -> float:
    """E||Z||^2 / d of the Duchi et al. mechanism used by the protocol (per coordinate)."""
    c = (math.exp(eps) + 1) / (math.exp(eps) - 1)
    return c * c * math.pi / 2


def best_cap_variance(eps: float, d: int) -> float:
    """min over cap thresholds of E||Z||^2 / d for the cap mechanism (PrivUnit-type):
    output u uniform on the sphere, density e^eps times higher on {<u, x> >= g}."""
    from scipy import integrate, special

    logc = special.gammaln(d / 2) - special.gammaln((d - 1) / 2) - 0.5 * math.log(math.pi)

    def dens(t):
        return math.exp(logc + (d - 3) / 2 * math.log1p(-t * t))

    best = math.inf
    for g in np.linspace(0.0, 0.5, 251):
        q = integrate.quad(dens, g, 1)[0]
        mm = integrate.quad(lambda t: t * dens(t), g, 1)[0]
        e = math.exp(eps)
        mean = (e - 1) * mm / (e * q + 1 - q)  # E<u, x> for a unit x
        best = min(best, 1.0 / (mean * mean) / d)
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--d", type=int, default=100)
    ap.add_argument("--r", type=float, default=100.0)
    ap.add_argument("--eps", type=float, default=1.0)
    ap.add_argument("--k", type=int, nargs="+", default=[8, 16, 32])
    ap.add_argument("--levels", type=int, default=12)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--configs", nargs="+", default=list(CONFIGS))
    args = ap.parse_args()
    n, d = args.n, args.d
    for k in args.k:
        X, C = gaussian_mixture_in_ball(n, d, k, args.r, np.random.default_rng([args.seed, n, k]))
        counts = np.full(k, n // k)  # as in gaussian_mixture_in_ball: rows are grouped by cluster
        counts[: n - counts.sum()] += 1
        lab = np.repeat(np.arange(k), counts)
        base = {"bench": "private_profile", "n": n, "d": d, "k": k, "epsilon": args.eps, "seed": args.seed}
        trivial = kmeans_cost(X, np.zeros((1, d)))
        for name in args.configs:
            cfg = CONFIGS[name]
            p = ProtocolParams(radius="unit", n_features=d, epsilon=args.eps, n_levels=args.levels, **cfg["params"])
            enc = Encoder(p, 1000 + args.seed, random_source=RandomSource(np.random.SeedSequence([args.seed, k])))
            dec = Decoder(p, 1000 + args.seed)
            for s in range(0, n, 100_000):
                dec.add(enc.encode_array(X[s:s + 100_000]))
            pub = enc._pub
            codes = pub.tree_codes(X)
            T = args.levels
            # dominant level-T node of every true cluster
            dom, dom_count = [], []
            for j in range(k):
                u, c = np.unique(codes[lab == j], return_counts=True)
                dom.append(int(u[np.argmax(c)]))
                dom_count.append(int(c.max()))
            dom = np.array(dom, dtype=np.int64)
            res = dec.fit(k, random_state=args.seed, **cfg["fit"])
            eh, ev = p.epsilons()
            cfgb = {**base, "config": name, "histogram_levels": list(p.resolved_histogram_levels()),
                    "epsilon_histogram": float(eh), "epsilon_vector": float(ev)}
            # histogram stage, per histogram level
            for lv in p.resolved_histogram_levels():
                f = dec.frequency_estimates(lv)
                _, sigma = dec._hist_scale_sigma(lv)
                nodes = dom & ((1 << lv) - 1)
                b = pub.tree.node_buckets(lv, nodes[:, None]).astype(np.int64)
                true = np.array([np.count_nonzero((codes & ((1 << lv) - 1)) == z) for z in nodes])
                emit({**cfgb, "stage": "histogram", "level": lv, "sigma": sigma, "threshold": 3.0 * sigma,
                      "true_count": true.tolist(), "estimated_count": np.round(f[b]).astype(int).tolist(),
                      "z_score": np.round(f[b] / sigma, 2).tolist()})
            # vector stage at level T, each cluster's own bucket
            V = dec.vector_estimates(T)
            bT = pub.tree.node_buckets(T, dom[:, None]).astype(np.int64)
            err, true_sums = [], []
            for j in range(k):
                members = (lab == j) & (codes == dom[j])
                v_true = X[members].sum(0)
                true_sums.append(v_true)
                err.append(float(np.linalg.norm(V[bT[j]] - v_true) / dom_count[j]))
            pred = [math.sqrt(dec._vector_noise(T)) / c for c in dom_count]
            emit({**cfgb, "stage": "vector", "centre_error_measured": np.round(err, 3).tolist(),
                  "centre_error_predicted": np.round(pred, 3).tolist()})
            # own-bucket oracle: JS centre of every cluster's bucket with its true count
            oracle = Decoder._mean_point(V[bT], np.array(dom_count, float), np.full(k, dec._vector_noise(T)), "shrink")
            out = res.cluster_centers
            nearest = np.sqrt(((C[:, None, :] - out[None]) ** 2).sum(-1).min(1))
            emit({**cfgb, "stage": "result", "cost": kmeans_cost(X, out), "trivial": trivial,
                  "own_bucket_oracle_cost": kmeans_cost(X, oracle), "coreset_size": res.info["coreset_size"],
                  "nodes_expanded_per_level": res.info["nodes_expanded_per_level"],
                  "true_centres_within_0.5": int((nearest < 0.5).sum()),
                  "distance_true_to_nearest_output": np.round(nearest, 3).tolist()})
        # analytic floor
        R2 = (1 - 1 / args.r) ** 2
        rows = []
        for share_v in (0.5, 0.75, 0.8, 0.9, 1.0):
            ev = args.eps * share_v
            for mech, V in (("duchi", duchi_variance(ev)), ("best_cap", best_cap_variance(ev, d))):
                s2 = k * k * d * V / n
                rows.append({"vector_share": share_v, "mechanism": mech, "sigma2": round(s2, 4),
                             "js_floor_cost": round(R2 * s2 / (R2 + s2), 4)})
        emit({**base, "stage": "floor", "floor": rows})


if __name__ == "__main__":
    main()
