"""Peak resident memory and time of one ``LSHTreeKMeans`` fit, against the size of its input.

Fits ``LSHTreeKMeans(k, random_state=seed, refine=R)`` (otherwise the defaults: local
engine, exact or approximate DP as the policy chooses; ``--refine 0`` by default, the
tree's own answer) on ``n`` points in ``d`` dimensions
and prints one JSON line: ``n, d, k, input_mb`` (the float64 input), ``peak_rss_mb``
(the process's peak resident set during the fit, counter reset just before it, so it
includes the input and the interpreter), ``ratio = peak_rss_mb / input_mb``,
``seconds`` (wall time of the fit), the fit's stage times and a digest of the tree, labels
and centres (equal digests: the same fit, bit for bit). With ``--sample S`` a
thread samples the resident set every ``S`` seconds and the line also gets the
highest sample seen in each stage (``stage_peak_mb``), which shows where the peak is.

    nice python benchmarks/euclidean_memory.py --n 1000000
    nice python benchmarks/euclidean_memory.py --n 10000000 --sample 0.05
    nice python benchmarks/euclidean_memory.py --n 1000000 --projections recompute

Data: ``--data planted`` (default; ``make_planted_mixture(n, d, k)``, the paper's
Section 5.1 mixture) or ``--data uniform`` (uniform in the unit cube). A tiny fit
first compiles the kernels, so the timed fit does not include compilation.
"""

import argparse
import hashlib
import os
import sys
import threading
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import emit, log  # noqa: E402
from bigclust import LSHTreeKMeans  # noqa: E402
from bigclust._core import report as _report  # noqa: E402
from bigclust._core.report import peak_rss_mb, peak_rss_reset  # noqa: E402
from bigclust.datasets import make_planted_mixture  # noqa: E402


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class _StageSampler:
    """Samples the resident set on a thread; attributes each sample to the stage running then."""

    def __init__(self, every: float):
        self.every = every
        self.stage = "start"
        self.peaks: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        original = _report.RunRecorder.stage
        sampler = self

        def stage(recorder, name):  # wraps RunRecorder.stage to learn the running stage
            cm = original(recorder, name)

            class _Named:
                def __enter__(self_inner):
                    sampler.stage = name
                    return cm.__enter__()

                def __exit__(self_inner, *exc):
                    out = cm.__exit__(*exc)
                    sampler.stage = f"after {name}"
                    return out
            return _Named()

        self._original = original
        _report.RunRecorder.stage = stage

    def _run(self):
        while not self._stop.is_set():
            rss = _rss_mb()
            self.peaks[self.stage] = max(self.peaks.get(self.stage, 0.0), rss)
            time.sleep(self.every)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        _report.RunRecorder.stage = self._original


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--d", type=int, default=16)
    ap.add_argument("--k", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data", choices=["planted", "uniform"], default="planted")
    ap.add_argument("--sample", type=float, default=0.0, help="seconds between resident-set samples (0: none)")
    ap.add_argument("--refine", default="0", help='the refine parameter: a number of passes or "auto"')
    ap.add_argument("--projections", choices=["auto", "recompute", "store"], default="auto",
                    help="the local tree builder's choice between storing the projections and recomputing "
                         "them at every scale (auto: its own rule)")
    args = ap.parse_args()

    refine = args.refine if args.refine == "auto" else int(args.refine)
    if args.projections != "auto":
        import bigclust.lshtree.hierarchy as hierarchy

        hierarchy._RECOMPUTE_PROJECTIONS = args.projections == "recompute"
    LSHTreeKMeans(2, random_state=0, refine=refine).fit(np.random.default_rng(0).standard_normal((500, 3)))  # compile
    if args.data == "planted":
        X, _, _ = make_planted_mixture(args.n, args.d, args.k, random_state=args.seed)
    else:
        X = np.random.default_rng(args.seed).random((args.n, args.d))
    input_mb = X.nbytes / 2**20
    log(f"data ready: {X.shape}, {input_mb:.0f} MiB, resident {_rss_mb():.0f} MiB")
    est = LSHTreeKMeans(args.k, random_state=args.seed, refine=refine)
    sampler = _StageSampler(args.sample) if args.sample > 0 else None
    exact = peak_rss_reset()
    t0 = time.perf_counter()
    if sampler is not None:
        with sampler:
            est.fit(X)
    else:
        est.fit(X)
    seconds = time.perf_counter() - t0
    peak = peak_rss_mb() if exact else float("nan")
    r = est.report_
    digest = hashlib.sha256()
    for a in (est.tree_.parent, est.tree_.children, est.tree_.cost, est.tree_.scale, est.labels_, est.cluster_centers_):
        digest.update(np.ascontiguousarray(a).tobytes())
    record = dict(benchmark="euclidean_memory", data=args.data, n=args.n, d=args.d, k=args.k, seed=args.seed, refine=refine,
                  input_mb=input_mb, peak_rss_mb=peak, ratio=peak / input_mb, seconds=seconds,
                  dp=r["method"], n_scales=r["n_scales"], n_distinct=r["n_distinct"],
                  projections=r["tree_info"].get("projections", "stored"), digest=digest.hexdigest()[:16],
                  stage_seconds={s: round(v, 2) for s, v in r["time"].items()})
    if sampler is not None:
        record["stage_peak_mb"] = {s: round(v) for s, v in sampler.peaks.items()}
    emit(**record)


if __name__ == "__main__":
    main()
