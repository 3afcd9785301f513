"""Progress goes through the standard logging module (the "bigclust" logger): an application routes
or silences it with its logging configuration; without one, verbose runs print to stderr."""

from __future__ import annotations

import io
import logging

import numpy as np
import pytest

from bigclust._core import report
from bigclust._core.report import Progress


class _Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture
def unconfigured(monkeypatch):
    """Logging as in a script that configured nothing. pytest adds its capture handlers to the root
    logger when the test body starts (after fixtures), so they are removed at the first call."""

    def bare():
        monkeypatch.setattr(logging.getLogger(), "handlers", [])
        lg = logging.getLogger("bigclust")
        monkeypatch.setattr(lg, "handlers", [logging.NullHandler()])
        monkeypatch.setattr(lg, "level", logging.NOTSET)
        monkeypatch.setattr(lg, "disabled", False)
        return lg

    return bare


def _run(p: Progress):
    p.start("hash")
    p.update("scale 5/10", every=0.0)
    p.end("hash", 1.25)


def test_records_go_to_the_bigclust_logger_with_structured_fields(caplog):
    caplog.set_level(logging.INFO, logger="bigclust")
    _run(Progress(enabled=True, delay=0.0))
    recs = [r for r in caplog.records if r.name == "bigclust"]
    assert [r.getMessage() for r in recs] == ["hash ...", "scale 5/10", "hash done (1.25s)"]
    assert {r.levelno for r in recs} == {logging.INFO}
    assert [r.bigclust_event for r in recs] == ["start", "update", "end"]
    assert recs[0].bigclust_stage == "hash" and recs[1].bigclust_stage == ""
    assert all(r.bigclust_elapsed >= 0 for r in recs)


def test_quiet_runs_log_at_debug_which_an_application_can_enable(caplog):
    caplog.set_level(logging.INFO, logger="bigclust")
    _run(Progress(enabled=False, delay=0.0))
    assert not [r for r in caplog.records if r.name == "bigclust"]
    caplog.set_level(logging.DEBUG, logger="bigclust")
    _run(Progress(enabled=False, delay=0.0))
    recs = [r for r in caplog.records if r.name == "bigclust"]
    assert len(recs) == 3 and {r.levelno for r in recs} == {logging.DEBUG}


def test_a_level_on_the_logger_silences_it(caplog):
    caplog.set_level(logging.WARNING, logger="bigclust")
    _run(Progress(enabled=True, delay=0.0))
    assert not [r for r in caplog.records if r.name.startswith("bigclust")]


def test_without_logging_configuration_verbose_prints_lines(unconfigured):
    unconfigured()
    out = io.StringIO()
    _run(Progress(enabled=True, delay=0.0, stream=out))
    lines = out.getvalue().splitlines()
    assert len(lines) == 3 and "\r" not in out.getvalue()
    assert lines[0].startswith("[bigclust") and lines[0].endswith("hash ...")
    assert lines[2].endswith("hash done (1.25s)")
    # not verbose: nothing
    out = io.StringIO()
    _run(Progress(enabled=False, delay=0.0, stream=out))
    assert out.getvalue() == ""
    # short runs: nothing before the delay
    out = io.StringIO()
    _run(Progress(enabled=True, delay=3600.0, stream=out))
    assert out.getvalue() == ""


def test_without_configuration_a_level_or_disabling_silences_verbose_too(unconfigured):
    lg = unconfigured()
    out = io.StringIO()
    lg.setLevel(logging.WARNING)
    _run(Progress(enabled=True, delay=0.0, stream=out))
    assert out.getvalue() == ""
    lg.setLevel(logging.NOTSET)
    lg.disabled = True
    _run(Progress(enabled=True, delay=0.0, stream=out))
    assert out.getvalue() == ""


def test_on_a_terminal_one_status_line_with_a_bar(unconfigured):
    unconfigured()
    term = _Terminal()
    _run(Progress(enabled=True, delay=0.0, stream=term))
    text = term.getvalue()
    parts = text.split("\r\x1b[K")[1:]
    assert len(parts) == 3
    assert parts[0].endswith("hash ...") and "\n" not in parts[0]  # rewritten in place
    assert parts[1].endswith("scale 5/10 [##########..........]  50%") and "\n" not in parts[1]
    assert parts[2].endswith("hash done (1.25s)\n")  # a stage's end stays


def test_an_application_handler_receives_records_instead_of_stderr(unconfigured, capsys):
    seen = []

    class Collect(logging.Handler):
        def emit(self, record):
            seen.append(record.getMessage())

    lg = unconfigured()
    h = Collect(level=logging.INFO)
    lg.addHandler(h)
    lg.setLevel(logging.INFO)
    try:
        _run(Progress(enabled=True, delay=0.0))
    finally:
        lg.removeHandler(h)
    assert seen == ["hash ...", "scale 5/10", "hash done (1.25s)"]
    assert capsys.readouterr().err == ""


def test_update_is_rate_limited(caplog):
    caplog.set_level(logging.INFO, logger="bigclust")
    p = Progress(enabled=True, delay=0.0)
    for i in range(50):
        p.update(f"pass {i}", every=3600.0)
    assert [r.getMessage() for r in caplog.records if r.name == "bigclust"] == ["pass 0"]


def test_a_verbose_fit_logs_its_stages(caplog, monkeypatch):
    from bigclust import LSHTreeKMeans
    from bigclust.datasets import make_planted_mixture

    # no 2-second wait for a small fit
    monkeypatch.setattr(report.Progress.__init__, "__defaults__", (True, 0.0, None, "bigclust"))
    caplog.set_level(logging.INFO, logger="bigclust")
    X, _, _ = make_planted_mixture(300, 3, 3, random_state=0)
    LSHTreeKMeans(3, random_state=0, verbose=True).fit(X)
    recs = [r for r in caplog.records if r.name == "bigclust"]
    ends = [r.bigclust_stage for r in recs if r.bigclust_event == "end"]
    assert ends and all(r.levelno == logging.INFO for r in recs)
    assert len(ends) == len([r for r in recs if r.bigclust_event == "start"])
    # nothing of the data in the messages: the first coordinate of X never appears
    assert not any(f"{X[0, 0]:.4g}" in r.getMessage() for r in recs if np.isfinite(X[0, 0]))
    caplog.clear()
    LSHTreeKMeans(3, random_state=0).fit(X)  # verbose=False: DEBUG only, not captured at INFO
    assert not [r for r in caplog.records if r.name == "bigclust"]
