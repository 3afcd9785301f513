"""Encoder and decoder throughput of the one-round private k-means protocol.

Single core (BLAS/OpenMP threads pinned to 1). Measures:
  * encoder reports/s when encoding batches, and latency of encode() for one report;
  * decoder: time to add() n reports and fit(k), with the peak resident memory of the
    decoding phase (the points and reports are produced before the counter is reset).
For comparison in the same run: sklearn KMeans (n_init=1) on the same raw points, i.e.
the non-private computation the protocol replaces.

Usage: python benchmarks/private_throughput.py --n 1000000 --d 100 --k 8
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from private_common import gaussian_mixture_in_ball, kmeans_cost  # noqa: E402

from bigclust._core.report import peak_rss_mb, peak_rss_reset  # noqa: E402
from bigclust.private import Decoder, Encoder, ProtocolParams  # noqa: E402


_CONTEXT = {}


def emit(o):
    print(json.dumps({**o, **_CONTEXT}), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--d", type=int, default=100)
    ap.add_argument("--k", type=int, default=8)
    ap.add_argument("--epsilon", type=float, default=1.0)
    ap.add_argument("--levels", type=int, default=12)
    ap.add_argument("--batch", type=int, default=100_000)
    ap.add_argument("--singles", type=int, default=2000)
    ap.add_argument("--histogram-mechanism", choices=("hadamard", "olh"), default="hadamard")
    ap.add_argument("--skip-sklearn", action="store_true")
    args = ap.parse_args()
    _CONTEXT.update(epsilon=args.epsilon, histogram_mechanism=args.histogram_mechanism, levels=args.levels)
    params = ProtocolParams(radius="unit", n_features=args.d, epsilon=args.epsilon, n_levels=args.levels,
                            histogram_mechanism=args.histogram_mechanism)
    enc = Encoder(params, 42)  # CSPRNG private randomness, as deployed
    rng = np.random.default_rng(0)
    X, _ = gaussian_mixture_in_ball(args.n, args.d, args.k, 100.0, rng)

    # encoder: batches
    enc.encode_batch(X[:1000])  # warm-up
    t = time.perf_counter()
    reports = bytearray()
    for s in range(0, args.n, args.batch):
        reports += enc.encode_batch(X[s:s + args.batch])
    secs = time.perf_counter() - t
    emit({"bench": "private_throughput", "what": "encode_batch", "n": args.n, "d": args.d, "batch": args.batch,
          "seconds": round(secs, 3), "reports_per_second": round(args.n / secs), "report_bytes": 24,
          "private_randomness": "os.urandom"})
    # encoder: one report at a time
    lat = []
    for i in range(args.singles):
        t = time.perf_counter()
        enc.encode(X[i])
        lat.append(time.perf_counter() - t)
    lat = np.array(lat) * 1e3
    emit({"bench": "private_throughput", "what": "encode_one", "d": args.d, "reports": args.singles,
          "median_ms": round(float(np.median(lat)), 4), "p99_ms": round(float(np.percentile(lat, 99)), 4)})

    # sklearn on the raw data (what a non-private server would run), same process
    from sklearn.cluster import KMeans

    if not args.skip_sklearn:
        t = time.perf_counter()
        km = KMeans(args.k, n_init=1, random_state=0).fit(X)
        emit({"bench": "private_throughput", "what": "sklearn_kmeans_nonprivate", "n": args.n, "d": args.d, "k": args.k,
              "seconds": round(time.perf_counter() - t, 3), "cost": kmeans_cost(X, km.cluster_centers_)})

    Xeval = X[:: max(1, args.n // 200_000)].copy()
    del X
    reports = bytes(reports)
    # decoder
    peak_rss_reset()
    base = peak_rss_mb()
    t = time.perf_counter()
    dec = Decoder(params, 42)
    step = 24 * args.batch
    for s in range(0, len(reports), step):
        dec.add(reports[s:s + step])
    t_add = time.perf_counter() - t
    res = dec.fit(args.k, random_state=0)
    t_all = time.perf_counter() - t
    emit({"bench": "private_throughput", "what": "decode", "n": args.n, "d": args.d, "k": args.k,
          "add_seconds": round(t_add, 3), "total_seconds": round(t_all, 3),
          "peak_rss_mb_during_decode": round(peak_rss_mb(), 1), "rss_mb_before_decode": round(base, 1),
          "aggregate_mb": round(dec.aggregate_nbytes() / 2**20, 2), "reports_mb": round(len(reports) / 2**20, 1),
          "cost_on_sample": kmeans_cost(Xeval, res.cluster_centers)})


if __name__ == "__main__":
    main()
