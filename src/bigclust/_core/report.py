"""The ``report_`` every bigclust estimator leaves behind, and progress on stderr.

A :class:`RunRecorder` times named stages, measures the peak resident memory of
the process during the run, and (when asked) prints progress lines to stderr for
runs that last more than a few seconds. Estimators do::

    run = RunRecorder(verbose=self.verbose)
    with run.stage("hash"):
        ...
    self.report_ = run.finish(n_scales=..., tree_nodes=...)

``report_`` keys common to every estimator:

``time``
    dict stage name -> seconds (wall clock).
``total_seconds``
    wall-clock seconds of the whole fit.
``peak_memory_mb``
    peak resident set size of the process during the fit, in MiB (Linux: the
    kernel's high-water mark, reset at the start of the fit; elsewhere the
    process-lifetime peak, and ``peak_memory_kind`` says so).
"""

from __future__ import annotations

import resource
import sys
import time
from contextlib import contextmanager

__all__ = ["RunRecorder", "Progress", "peak_rss_reset", "peak_rss_mb"]


def peak_rss_reset() -> bool:
    """Reset the kernel's peak-RSS counter of this process (Linux >= 4.0). Returns success."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MiB (since the last reset on Linux)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024.0 * 1024.0) if sys.platform == "darwin" else rss / 1024.0


class Progress:
    """Progress lines on stderr, shown only once a run has lasted ``delay`` seconds.

    Parameters
    ----------
    enabled : bool
        False silences everything.
    delay : float
        Seconds before the first line appears; short runs print nothing.
    stream : file-like, optional
        Defaults to ``sys.stderr``.
    """

    def __init__(self, enabled: bool = True, delay: float = 2.0, stream=None, prefix: str = "bigclust"):
        self.enabled = bool(enabled)
        self.delay = float(delay)
        self.stream = stream
        self.prefix = prefix
        self.t0 = time.perf_counter()
        self._last_update = 0.0

    def _write(self, msg: str) -> None:
        stream = self.stream if self.stream is not None else sys.stderr
        print(f"[{self.prefix} {time.perf_counter() - self.t0:7.1f}s] {msg}", file=stream, flush=True)

    def start(self, stage: str) -> None:
        if self.enabled and time.perf_counter() - self.t0 >= self.delay:
            self._write(f"{stage} ...")

    def end(self, stage: str, seconds: float) -> None:
        if self.enabled and time.perf_counter() - self.t0 >= self.delay:
            self._write(f"{stage} done ({seconds:.2f}s)")

    def update(self, msg: str, every: float = 1.0) -> None:
        """A rate-limited line from inside a long stage (e.g. 'scale 3/12')."""
        now = time.perf_counter()
        if self.enabled and now - self.t0 >= self.delay and now - self._last_update >= every:
            self._last_update = now
            self._write(msg)


class RunRecorder:
    """Times stages, records peak memory and drives :class:`Progress` for one fit."""

    def __init__(self, verbose: bool = False, progress: Progress | None = None):
        self.progress = progress if progress is not None else Progress(enabled=verbose)
        self.time: dict[str, float] = {}
        self._exact_peak = peak_rss_reset()
        self._t0 = time.perf_counter()

    @contextmanager
    def stage(self, name: str):
        self.progress.start(name)
        t = time.perf_counter()
        try:
            yield
        finally:
            dt = time.perf_counter() - t
            self.time[name] = self.time.get(name, 0.0) + dt
            self.progress.end(name, dt)

    def finish(self, **extra) -> dict:
        """Return the report dict: stage times, total seconds, peak memory, plus ``extra``."""
        report = {
            "time": dict(self.time),
            "total_seconds": time.perf_counter() - self._t0,
            "peak_memory_mb": peak_rss_mb(),
            "peak_memory_kind": "fit" if self._exact_peak else "process_lifetime",
        }
        report.update(extra)
        return report

