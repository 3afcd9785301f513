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
    peak resident set size of the process during the fit, in MiB, measured
    without touching any process-wide counter; ``peak_memory_kind`` says how:

    ``"hwm"``
        the kernel's high-water mark (``VmHWM``, or ``ru_maxrss`` elsewhere) rose
        during the fit, so its value at the end is the fit's peak: exact.
    ``"sampled"``
        the high-water mark was set before the fit; the largest resident size a
        background thread read (``/proc/self/statm``) every ``SAMPLE_SECONDS``
        during the fit: a lower bound (a spike shorter than the interval, or while
        a kernel holds the GIL, can be missed). Concurrent fits each see their
        own figure only in this mode, and it includes the other fits' memory.
    ``"process_lifetime"``
        neither is available (no ``/proc``, and the lifetime peak did not rise):
        the process-lifetime peak, an upper bound.
    ``"clear_refs"``
        only when asked (``RunRecorder(peak_memory="clear_refs")`` or the
        environment variable ``BIGCLUST_PEAK_MEMORY=clear_refs``): the kernel's
        counter is reset at the start of the fit (``/proc/self/clear_refs``, Linux
        >= 4.0), which is exact but resets the figure a host application may be
        watching, and concurrent fits then share one process-wide figure. The
        benchmarks reset it themselves through :func:`peak_rss_reset`.
"""

from __future__ import annotations

import os
import resource
import sys
import threading
import time
import weakref
from contextlib import contextmanager

__all__ = ["RunRecorder", "Progress", "peak_rss_reset", "peak_rss_mb", "current_rss_mb", "PeakMemory"]

SAMPLE_SECONDS = 0.005  # resident-size sampling interval of PeakMemory


def peak_rss_reset() -> bool:
    """Reset the kernel's peak-RSS counter of this process (Linux >= 4.0). Returns success."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def current_rss_mb() -> float | None:
    """Resident set size of this process now, in MiB (None without ``/proc/self/statm``)."""
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[1]) * _PAGE_MB
    except (OSError, ValueError, IndexError):
        return None


try:
    _PAGE_MB = os.sysconf("SC_PAGE_SIZE") / (1024.0 * 1024.0)
except (AttributeError, ValueError, OSError):  # pragma: no cover - non-POSIX
    _PAGE_MB = 4096 / (1024.0 * 1024.0)


class PeakMemory:
    """The peak resident memory of the process while this object runs, without resetting any counter.

    Reads the kernel's high-water mark at :meth:`start` and :meth:`stop`; if it
    rose, the final value is the peak (``kind = "hwm"``). Otherwise the peak
    is the largest resident size sampled by a daemon thread every ``interval``
    seconds (``"sampled"``); without ``/proc`` it falls back to the lifetime peak
    (``"process_lifetime"``). ``mode="clear_refs"`` resets the kernel's counter
    at start instead (``"clear_refs"``; see the module docstring).
    """

    def __init__(self, mode: str | None = None, interval: float = SAMPLE_SECONDS):
        mode = mode or os.environ.get("BIGCLUST_PEAK_MEMORY", "auto")
        if mode not in ("auto", "clear_refs"):
            raise ValueError("peak memory mode must be 'auto' or 'clear_refs' (BIGCLUST_PEAK_MEMORY).")
        self.mode = mode
        self.interval = float(interval)
        self._cleared = False
        self._stop = threading.Event()
        self._max = 0.0
        self._thread = None
        self.start()

    def start(self) -> None:
        if self.mode == "clear_refs":
            self._cleared = peak_rss_reset()
        self._hwm0 = peak_rss_mb()
        now = current_rss_mb()
        if now is None or self._cleared:
            return
        self._max = now
        ref = weakref.ref(self)
        stop, interval = self._stop, self.interval

        def sample():  # holds only a weak reference: a recorder dropped mid-fit ends its thread
            while not stop.wait(interval):
                me = ref()
                if me is None:
                    return
                rss = current_rss_mb()
                if rss is not None and rss > me._max:
                    me._max = rss
                del me

        self._thread = threading.Thread(target=sample, name="bigclust-peak-memory", daemon=True)
        self._thread.start()

    def stop(self) -> tuple[float, str]:
        """(peak MiB, kind) of the run so far; stops the sampling thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        hwm = peak_rss_mb()
        if self._cleared:
            return hwm, "clear_refs"
        if hwm > self._hwm0:
            return hwm, "hwm"
        now = current_rss_mb()
        if now is None:
            return hwm, "process_lifetime"
        return max(self._max, now), "sampled"

    def __del__(self):
        stop = getattr(self, "_stop", None)
        if stop is not None:
            stop.set()


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
    """Times stages, records peak memory (:class:`PeakMemory`) and drives :class:`Progress` for one fit.

    ``peak_memory``: None (the ``BIGCLUST_PEAK_MEMORY`` environment variable, else
    ``"auto"``) or ``"clear_refs"``; see the module docstring.
    """

    def __init__(self, verbose: bool = False, progress: Progress | None = None, peak_memory: str | None = None):
        self.progress = progress if progress is not None else Progress(enabled=verbose)
        self.time: dict[str, float] = {}
        self._memory = PeakMemory(peak_memory)  # no process-wide counter is touched unless asked
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
        peak, kind = self._memory.stop()
        report = {
            "time": dict(self.time),
            "total_seconds": time.perf_counter() - self._t0,
            "peak_memory_mb": peak,
            "peak_memory_kind": kind,
        }
        report.update(extra)
        return report

