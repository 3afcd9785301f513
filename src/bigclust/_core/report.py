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

    @staticmethod
    def check_mode(mode: str | None) -> str:
        """The mode in force (``mode``, else ``BIGCLUST_PEAK_MEMORY``, else "auto"), checked."""
        mode = mode or os.environ.get("BIGCLUST_PEAK_MEMORY", "auto")
        if mode not in ("auto", "clear_refs"):
            raise ValueError("peak memory mode must be 'auto' or 'clear_refs' (BIGCLUST_PEAK_MEMORY).")
        return mode

    def __init__(self, mode: str | None = None, interval: float = SAMPLE_SECONDS):
        self.mode = self.check_mode(mode)
        self.interval = float(interval)
        self._cleared = False
        self._stop = threading.Event()
        self._max = 0.0
        self._thread: threading.Thread | None = None
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
    """Progress of a long run, as records of the standard :mod:`logging` module.

    Records go to the ``"bigclust"`` logger (level ``INFO`` when ``enabled``,
    ``DEBUG`` otherwise), once a run has lasted ``delay`` seconds, so an
    application routes, filters or silences them with its own logging
    configuration. When the application has configured no handler for them
    (the root logger and the ``"bigclust"`` loggers have none) and ``enabled``
    is true, they are written to ``stream``: on a terminal as one status line
    rewritten in place (with a bar when the message counts ``i/n``) and kept
    at the end of each stage, elsewhere as one line per record. Setting a
    level on the ``"bigclust"`` logger (e.g. ``WARNING``) or disabling it
    silences that too. Records carry ``bigclust_event`` (``"start"``,
    ``"update"``, ``"end"``), ``bigclust_stage`` and ``bigclust_elapsed``
    (seconds since the run started) for handlers that want them.

    Parameters
    ----------
    enabled : bool
        True (an estimator's ``verbose``): records at ``INFO``, shown on
        ``stream`` when logging is not configured. False: records at
        ``DEBUG`` only, which an application sees by enabling that level.
    delay : float, optional
        Seconds before the first record; short runs emit nothing. Default
        :attr:`DEFAULT_DELAY` (2 seconds).
    stream : file-like, optional
        Where records are written when logging is not configured; defaults
        to ``sys.stderr`` (looked up at each write).
    prefix : str
        Name shown at the start of each line, and the logger's name below
        ``"bigclust"`` when it is not ``"bigclust"`` itself.
    """

    LOGGER = "bigclust"
    _BAR = 20
    #: ``delay`` when none is given (the command line's ``-v`` sets 0 for its run)
    DEFAULT_DELAY = 2.0

    def __init__(self, enabled: bool = True, delay: float | None = None, stream=None, prefix: str = "bigclust"):
        import logging

        self.enabled = bool(enabled)
        self.delay = float(self.DEFAULT_DELAY if delay is None else delay)
        self.stream = stream
        self.prefix = prefix
        self.t0 = time.perf_counter()
        self._last_update = 0.0
        name = self.LOGGER if prefix in ("", self.LOGGER) else f"{self.LOGGER}.{prefix.replace(' ', '.')}"
        self.logger = logging.getLogger(name)
        self.level = logging.INFO if self.enabled else logging.DEBUG
        self._open_line = False  # a status line is showing on the terminal, not yet ended

    # ---------------------------------------------------------------- emitting

    def _configured(self) -> bool:
        """Whether the application gave these records a handler (NullHandlers do not count)."""
        import logging

        lg: logging.Logger | None = self.logger
        while lg is not None:
            if any(not isinstance(h, logging.NullHandler) for h in lg.handlers):
                return True
            if not lg.propagate:
                return False
            lg = lg.parent
        return False

    def _wanted(self) -> bool:
        if time.perf_counter() - self.t0 < self.delay:
            return False
        if self._configured():
            return self.logger.isEnabledFor(self.level)
        # no configuration: show verbose runs unless a level was set on a bigclust logger (or it is disabled)
        if not self.enabled or self.logger.disabled:
            return False
        import logging

        lg: logging.Logger | None = self.logger
        explicit = False
        while lg is not None and (lg.name == self.LOGGER or lg.name.startswith(self.LOGGER + ".")):
            explicit = explicit or lg.level != 0
            lg = lg.parent
        return not explicit or self.logger.isEnabledFor(self.level)

    def _emit(self, event: str, stage: str, msg: str) -> None:
        elapsed = time.perf_counter() - self.t0
        extra = {"bigclust_event": event, "bigclust_stage": stage, "bigclust_elapsed": elapsed}
        if self._configured():
            self.logger.log(self.level, msg, extra=extra)
            return
        stream = self.stream if self.stream is not None else sys.stderr
        line = f"[{self.prefix} {elapsed:7.1f}s] {msg}"
        tty = bool(getattr(stream, "isatty", lambda: False)())
        if not tty:
            print(line, file=stream, flush=True)
            return
        # a terminal: one status line rewritten in place; a stage's end stays on screen
        import re

        counted = re.search(r"(\d+)\s*/\s*(\d+)", msg)
        if event == "update" and counted and int(counted.group(2)) > 0:
            frac = min(int(counted.group(1)) / int(counted.group(2)), 1.0)
            filled = int(round(frac * self._BAR))
            line += f" [{'#' * filled}{'.' * (self._BAR - filled)}] {100 * frac:3.0f}%"
        stream.write("\r\x1b[K" + line + ("\n" if event == "end" else ""))
        stream.flush()
        self._open_line = event != "end"

    def _write(self, msg: str) -> None:
        """A free-form record (kept for callers of the earlier printer)."""
        if self._wanted():
            self._emit("update", "", msg)

    # ----------------------------------------------------------------- public

    def start(self, stage: str) -> None:
        """A stage begins."""
        if self._wanted():
            self._emit("start", stage, f"{stage} ...")

    def end(self, stage: str, seconds: float) -> None:
        """A stage ended after ``seconds``."""
        if self._wanted():
            self._emit("end", stage, f"{stage} done ({seconds:.2f}s)")

    def update(self, msg: str, every: float = 1.0) -> None:
        """A rate-limited record from inside a long stage (e.g. 'scale 3/12'), at most one per ``every`` seconds."""
        now = time.perf_counter()
        if now - self._last_update >= every and self._wanted():
            self._last_update = now
            self._emit("update", "", msg)


class RunRecorder:
    """Times stages, records peak memory (:class:`PeakMemory`) and drives :class:`Progress` for one fit.

    ``peak_memory``: None (the ``BIGCLUST_PEAK_MEMORY`` environment variable, else
    ``"auto"``) or ``"clear_refs"``; see the module docstring.
    """

    def __init__(self, verbose: bool = False, progress: Progress | None = None, peak_memory: str | None = None):
        self.progress = progress if progress is not None else Progress(enabled=verbose)
        self.time: dict[str, float] = {}
        PeakMemory.check_mode(peak_memory)
        self._peak_mode = peak_memory
        # Measured from the first stage on: a fit refused by its checks before any stage starts
        # no sampling thread, and one failing inside a stage stops it (an exception's traceback
        # can keep the recorder alive long after, e.g. in a test runner).
        self._memory: PeakMemory | None = None  # no process-wide counter is touched unless asked
        self._t0 = time.perf_counter()

    @contextmanager
    def stage(self, name: str):
        if self._memory is None:
            self._memory = PeakMemory(self._peak_mode)
        self.progress.start(name)
        t = time.perf_counter()
        try:
            yield
        except BaseException:
            self._memory.stop()
            raise
        finally:
            dt = time.perf_counter() - t
            self.time[name] = self.time.get(name, 0.0) + dt
            self.progress.end(name, dt)

    def finish(self, **extra) -> dict:
        """Return the report dict: stage times, total seconds, peak memory, plus ``extra``."""
        if self._memory is None:
            self._memory = PeakMemory(self._peak_mode)
        peak, kind = self._memory.stop()
        report = {
            "time": dict(self.time),
            "total_seconds": time.perf_counter() - self._t0,
            "peak_memory_mb": peak,
            "peak_memory_kind": kind,
        }
        report.update(extra)
        return report

