"""Does ``bigclust.limit_threads`` bound the threads a fit uses? Threads that did work during a fit.

Linux accounts CPU time per thread (/proc/self/task/*/stat), so the threads of this process that
worked during a fit can be counted whatever the load of the machine: ``busy_threads`` counts those
with at least 2% of the fit's CPU time. Under ``limit_threads(1)`` it must be 1; with a limit of
``t >= 2``, or none, the main thread runs the serial parts and up to ``t`` pool threads (Numba's, or
BLAS's) the parallel ones, so up to ``t + 1`` threads work, at most ``t`` at a time. ``cpu_per_wall`` (CPU seconds per wall second) is also given, but
other processes on a shared machine lower it. scikit-learn's KMeans under threadpoolctl's
``threadpool_limits`` (what scikit-learn users would do) is measured beside it. One JSON line per
(method, limit, repetition), with the machine's load average.

    python benchmarks/threads_limit.py                       # n 200000, d 16, k 50, limits: none, 1, 2 (Linux)
    python benchmarks/threads_limit.py --n 1000000 --reps 3
"""

import argparse
import os
import time

from _common import emit
from bigclust import LSHTreeKMeans, limit_threads
from bigclust.datasets import make_planted_mixture


def _thread_cpu() -> dict:
    """CPU ticks (user + system) of every thread of this process."""
    out = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            out[tid] = int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15 of stat)
        except OSError:
            pass
    return out


def _timed(fn):
    before = _thread_cpu()
    c0, t0 = time.process_time(), time.perf_counter()
    fn()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    after = _thread_cpu()
    deltas = [after[t] - before.get(t, 0) for t in after]
    total = max(sum(deltas), 1)
    return wall, cpu, sum(1 for d in deltas if d >= 0.02 * total)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--d", type=int, default=16)
    ap.add_argument("--k", type=int, default=50)
    ap.add_argument("--reps", type=int, default=2)
    args = ap.parse_args()
    import numba
    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_limits

    X, _, _ = make_planted_mixture(args.n, args.d, args.k, random_state=0)
    LSHTreeKMeans(args.k, random_state=0).fit(X[:2000])  # compile the kernels outside the timings
    for rep in range(args.reps):
        for limit in (None, 1, 2):
            common = dict(bench="threads_limit", n=args.n, d=args.d, k=args.k, rep=rep, limit=limit,
                          cores=os.cpu_count(), numba_pool=numba.config.NUMBA_NUM_THREADS)

            def ours():
                LSHTreeKMeans(args.k, random_state=rep).fit(X)

            def sk():
                KMeans(args.k, n_init=1, random_state=rep).fit(X)

            for name, fn in (("bigclust", ours), ("sklearn", sk)):
                if limit is None:
                    wall, cpu, busy = _timed(fn)
                elif name == "bigclust":
                    with limit_threads(limit):
                        wall, cpu, busy = _timed(fn)
                else:
                    with threadpool_limits(limit):
                        wall, cpu, busy = _timed(fn)
                emit(**common, method=name, busy_threads=busy, wall_s=wall, cpu_s=cpu, cpu_per_wall=cpu / wall,
                     load1=os.getloadavg()[0])


if __name__ == "__main__":
    main()
