"""Peak memory of a fit, measured without touching process-wide counters (issue 22, item 8).

A host application that watches its own peak (``VmHWM``) must not see it reset
by a bigclust fit; ``/proc/self/clear_refs`` is written only when asked.
"""

import builtins
import os
import threading
import time

import numpy as np
import pytest

from bigclust._core import report as R
from bigclust.lshtree import LSHTreeKMeans, LSHTreeKMedian

linux = pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc")


@pytest.fixture
def no_clear_refs(monkeypatch):
    """Fail the test if anything opens /proc/self/clear_refs."""
    real_open = builtins.open

    def guarded(file, *a, **k):
        if "clear_refs" in str(file):
            raise AssertionError("clear_refs was written without being asked")
        return real_open(file, *a, **k)

    monkeypatch.setattr(builtins, "open", guarded)
    monkeypatch.delenv("BIGCLUST_PEAK_MEMORY", raising=False)


@pytest.mark.parametrize("Est", [LSHTreeKMeans, LSHTreeKMedian])
def test_fit_does_not_reset_the_process_peak(Est, no_clear_refs):
    X = np.random.default_rng(0).standard_normal((300, 3))
    hwm_before = R.peak_rss_mb()
    samplers = [t for t in threading.enumerate() if t.name == "bigclust-peak-memory"]  # of other, live recorders
    r = Est(3, random_state=0).fit(X).report_
    assert r["peak_memory_kind"] in ("hwm", "sampled", "process_lifetime")
    assert r["peak_memory_mb"] > 0
    assert R.peak_rss_mb() >= hwm_before  # never lowered
    # the fit's own sampler stopped
    assert [t for t in threading.enumerate() if t.name == "bigclust-peak-memory" and t.is_alive()] == \
        [t for t in samplers if t.is_alive()]


@linux
def test_sampled_peak_sees_an_allocation_below_the_high_water_mark(no_clear_refs):
    """With the process's high-water mark set earlier, a fit's own peak is sampled: it sees a 64 MiB block."""
    block = np.ones(96 * 2**17)  # 96 MiB touched: raises the high-water mark above what follows
    del block
    m = R.PeakMemory()
    base = R.current_rss_mb()
    a = np.ones(64 * 2**17)  # 64 MiB
    time.sleep(0.1)
    del a
    peak, kind = m.stop()
    assert kind == "sampled"
    assert peak >= base + 60


def test_hwm_kind_when_the_fit_sets_a_new_peak(no_clear_refs, monkeypatch):
    """The high-water mark rose during the run: its final value is the run's peak (no big allocation here:
    the kernel's figure is simulated)."""
    marks = iter([100.0, 150.0])
    monkeypatch.setattr(R, "peak_rss_mb", lambda: next(marks))
    m = R.PeakMemory()
    assert m.stop() == (150.0, "hwm")
    marks = iter([100.0, 100.0])
    m = R.PeakMemory()
    peak, kind = m.stop()
    assert kind in ("sampled", "process_lifetime") and peak > 0


@linux
def test_clear_refs_only_when_asked(monkeypatch):
    written = []
    real_open = builtins.open

    def spy(file, *a, **k):
        if "clear_refs" in str(file):
            written.append(file)
        return real_open(file, *a, **k)

    monkeypatch.setattr(builtins, "open", spy)
    monkeypatch.setenv("BIGCLUST_PEAK_MEMORY", "clear_refs")
    X = np.random.default_rng(0).standard_normal((100, 2))
    r = LSHTreeKMeans(2, random_state=0).fit(X).report_
    assert written and r["peak_memory_kind"] in ("clear_refs", "hwm", "sampled")
    monkeypatch.setenv("BIGCLUST_PEAK_MEMORY", "sometimes")
    with pytest.raises(ValueError, match="'auto' or 'clear_refs'"):
        R.PeakMemory()


def test_a_dropped_recorder_stops_its_thread(no_clear_refs):
    import gc

    rec = R.RunRecorder()
    stage = rec.stage("dropped mid-stage")
    stage.__enter__()  # sampling starts with the first stage
    assert any(t.name == "bigclust-peak-memory" for t in threading.enumerate()) or R.current_rss_mb() is None
    del rec, stage
    gc.collect()
    deadline = time.time() + 2
    while any(t.name == "bigclust-peak-memory" for t in threading.enumerate()) and time.time() < deadline:
        time.sleep(0.01)
    assert not any(t.name == "bigclust-peak-memory" for t in threading.enumerate())


def test_a_refused_or_failing_fit_leaves_no_sampling_thread():
    """A recorder starts sampling at its first stage and stops when a stage raises, even while the
    exception (and through its traceback, the recorder) stays alive, as in a test runner."""
    def samplers():
        return sum(t.name == "bigclust-peak-memory" and t.is_alive() for t in threading.enumerate())

    before = samplers()
    run = R.RunRecorder()
    assert samplers() == before  # nothing before the first stage (a fit refused by its checks)
    with pytest.raises(RuntimeError) as info:
        with run.stage("work"):
            assert samplers() == before + 1
            raise RuntimeError("failed inside a stage")
    time.sleep(0.02)
    assert samplers() == before and info.value is not None
    with pytest.raises(ValueError):  # and a real refused fit
        LSHTreeKMeans(3).fit(np.full((10, 2), np.nan))
    assert samplers() == before
