"""One command-line style for every sub-command (issue 23).

Table-driven: every sub-command of ``bigclust --help`` is a row of COMMANDS, and each shared option is
checked to exist with the same destination, type and meaning everywhere (or to be absent where the row
says it does not apply); ``--json`` prints exactly one JSON object whose keys are the command's documented
SUMMARY_KEYS (also listed in docs/cli.md), numbers as JSON numbers; the default is the short human
summary. The inputs are tiny (a few hundred points, a 6 x 6 grid) so the whole file runs in seconds.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from bigclust.cli import build_parser
from bigclust.graph import _cli as graph_cli
from bigclust.lshtree import _cli as lshtree_cli
from bigclust.private import _cli as private_cli
from _cli_helpers import run_cli, snapshot  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

# command -> (argv of a small run, its SUMMARY_KEYS, has -k, has --plot)
_POINTS = "planted:300,3,3"
_PRIVATE = ["planted:20000,2,2", "-k", "2", "--epsilon", "8", "--radius", "40", "--levels", "6", "--seed", "0"]
COMMANDS = {
    "kmeans": ([_POINTS, "-k", "3"], lshtree_cli.SUMMARY_KEYS, True, True),
    "kmedian": ([_POINTS, "-k", "3"], lshtree_cli.SUMMARY_KEYS, True, False),
    "pmedian": (["grid:6x6", "-k", "3"], graph_cli.SUMMARY_KEYS, True, True),
    "pcenter": (["grid:6x6", "-k", "3"], graph_cli.SUMMARY_KEYS, True, True),
    "facility": (["grid:6x6", "--cost", "5"], graph_cli.SUMMARY_KEYS, False, True),
    "private-kmeans": (_PRIVATE, private_cli.SUMMARY_KEYS, True, False),
}
# keys every summary has, with the same meaning
COMMON_KEYS = ("command", "input", "n_clusters", "cost", "fit_seconds", "total_seconds", "peak_memory_mb", "outputs")


def _subparsers():
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices


def _option(sub, flag):
    return sub._option_string_actions.get(flag)


def test_the_table_covers_every_sub_command():
    assert set(_subparsers()) == set(COMMANDS)


@pytest.mark.parametrize("command", list(COMMANDS))
def test_shared_options_have_one_spelling_and_one_meaning(command):
    sub = _subparsers()[command]
    _, keys, has_k, has_plot = COMMANDS[command]
    # -k/--n-clusters: an int into n_clusters, the same action for both spellings
    if has_k:
        k = _option(sub, "-k")
        assert k is not None and k is _option(sub, "--n-clusters")
        assert k.dest == "n_clusters" and k.type is int
    else:
        assert _option(sub, "-k") is None and _option(sub, "--n-clusters") is None
    if command in ("pmedian", "pcenter"):  # the OR-Library name stays, as a documented spelling of -k
        assert _option(sub, "-p") is _option(sub, "-k")
    # -o/--output: one destination, a file
    out = _option(sub, "-o")
    assert out is not None and out is _option(sub, "--output") and out.dest == "output" and out.metavar == "FILE"
    for flag, dest in (("--report", "report"), ("--plot", "plot")):
        action = _option(sub, flag)
        if flag == "--plot" and not has_plot:
            assert action is None
            continue
        assert action is not None and action.dest == dest and action.metavar == "FILE"
        assert action.nargs is None and action.type is None
    for flags, dest in ((("--json",), "json"), (("-q", "--quiet"), "quiet"), (("-v", "--verbose"), "verbose")):
        actions = {id(_option(sub, f)) for f in flags}
        action = _option(sub, flags[0])
        assert len(actions) == 1 and isinstance(action, argparse._StoreTrueAction) and action.dest == dest
    seed = _option(sub, "--seed")
    assert seed.dest == "seed" and seed.type is int
    # -q and -v exclude each other, in one group
    group = next(g for g in sub._mutually_exclusive_groups if _option(sub, "-q") in g._group_actions)
    assert _option(sub, "-v") in group._group_actions
    # the help text of each shared option is the same sentence everywhere (bar the command's own nouns)
    assert "one JSON object" in _option(sub, "--json").help


def _help(command, capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args([command, "--help"])
    return capsys.readouterr().out


@pytest.mark.parametrize("command", list(COMMANDS))
def test_help_lists_the_shared_options_and_hides_old_spellings(command, capsys):
    text = _help(command, capsys)
    for flag in ("-o FILE, --output FILE", "--report FILE", "--json", "-q, --quiet", "-v, --verbose", "--seed N"):
        assert flag in text, flag
    assert ("-k N, --n-clusters N" in text) == COMMANDS[command][2]
    assert ("--plot FILE" in text) == COMMANDS[command][3]
    hidden = {"kmeans": ["--epsilon "], "kmedian": ["--epsilon "], "private-kmeans": [],
              "pmedian": ["--out ", "--refine ", "--refine-candidates", "--epsilon "],
              "pcenter": ["--out ", "--epsilon "], "facility": ["--out ", "--refine ", "--epsilon "]}[command]
    for old in hidden:
        assert old not in text, old
    if command in ("kmeans", "kmedian"):
        assert "dataset:NAME" in text and "planted:N,D,K" in text
    if command == "private-kmeans":
        assert "dataset:NAME" in text and "planted:N,D,K" in text
    if command in ("pmedian", "pcenter", "facility"):
        assert "dataset:NAME" in text and "grid:ROWSxCOLS" in text


def _numbers_are_numbers(value, key=""):
    """No number hides in a string: every str value is a name, a path or a label, never parseable as a float."""
    if isinstance(value, dict):
        for k, v in value.items():
            _numbers_are_numbers(v, k)
    elif isinstance(value, list):
        for v in value:
            _numbers_are_numbers(v, key)
    elif isinstance(value, str) and key not in ("input", "output", "labels", "report", "plot", "assignment",
                                                "facilities"):
        with pytest.raises(ValueError):
            float(value)


@pytest.mark.parametrize("command", list(COMMANDS))
def test_json_is_one_object_with_the_documented_keys(command, tmp_path, capsys):
    argv, keys, _, _ = COMMANDS[command]
    report = tmp_path / "r.json"
    code, out, err = run_cli([command, *argv, "--json", "-q", "--report", str(report)], capsys)
    assert code == 0, err
    assert out.endswith("\n") and out.count("\n") == 1  # exactly one line on stdout
    obj = json.loads(out)
    assert isinstance(obj, dict) and list(obj) == list(keys)
    assert set(COMMON_KEYS) <= set(obj)
    assert obj["command"] == command and obj["input"] == argv[0]
    assert isinstance(obj["n_clusters"], int) and obj["n_clusters"] >= 1
    assert obj["cost"] is None if command == "private-kmeans" else isinstance(obj["cost"], float)
    for key in ("fit_seconds", "total_seconds", "peak_memory_mb"):
        assert isinstance(obj[key], (int, float)) and obj[key] >= 0
    assert obj["outputs"] == {"report": str(report)}
    _numbers_are_numbers(obj)
    assert "time" in json.loads(report.read_text())


@pytest.mark.parametrize("command", list(COMMANDS))
def test_default_is_a_short_human_summary(command, capsys):
    argv, keys, _, _ = COMMANDS[command]
    code, out, err = run_cli([command, *argv, "-q"], capsys)
    assert code == 0, err
    assert "{" not in out
    lines = out.splitlines()
    shown = [line.split()[0] for line in lines if line and not line.startswith(" ")]
    assert shown and set(shown) <= set(keys) and shown == [k for k in keys if k in shown]  # documented order
    assert {"command", "n_clusters", "total_seconds"} <= set(shown)
    assert len(lines) <= len(keys) + 8  # short: one line per key (a few centres' rows for private-kmeans)


@pytest.mark.parametrize("command", list(COMMANDS))
def test_quiet_and_verbose(command, capsys, caplog):
    """-v: every stage's records at INFO from the start (no 2-second delay); -q: none at INFO (DEBUG only).
    Under pytest logging is configured, so the records go to the "bigclust" logger, not to stderr."""
    argv = COMMANDS[command][0]
    code, out, err = run_cli([command, *argv, "-q", "-v"], capsys)
    assert code == 2 and out == "" and err.count("\n") == 1 and "not allowed with argument" in err

    def ends(flag):
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="bigclust"):
            code, _, err = run_cli([command, *argv, flag], capsys)
        assert code == 0, err
        return [r for r in caplog.records if getattr(r, "bigclust_event", None) == "end"]

    assert len(ends("-v")) >= 2
    assert ends("--quiet") == []


def test_verbose_progress_on_stderr_of_a_real_run():
    """Without a logging configuration (a shell), -v prints each stage on stderr; stdout holds the summary only."""
    import os
    import subprocess

    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    res = subprocess.run([sys.executable, "-m", "bigclust", "pcenter", "grid:6x6", "-k", "3", "-v", "--json"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 0, res.stderr
    assert re.search(r"^\[bigclust +\d+\.\ds\] \w+ done \(", res.stderr, re.M), res.stderr
    assert json.loads(res.stdout)["command"] == "pcenter"


def test_verbose_does_not_outlive_its_command(capsys):
    from bigclust._core.report import Progress

    run_cli(["kmeans", _POINTS, "-k", "3", "-v"], capsys)
    assert Progress.DEFAULT_DELAY == 2.0 and Progress().delay == 2.0


@pytest.mark.parametrize("command, old, new, value", [
    ("kmeans", "--centers", "--output", "c.npy"),
    ("private-kmeans", "--centers", "--output", "c.npy"),
    ("pmedian", "--out", "--output", "a.csv"),
    ("pmedian", "-p", "-k", "3"),
    ("pcenter", "-p", "--n-clusters", "3"),
])
def test_old_spellings_still_work(command, old, new, value, tmp_path, capsys):
    argv = list(COMMANDS[command][0])
    if new in ("-k", "--n-clusters"):
        i = argv.index("-k")
        argv[i:i + 2] = [old, value]
        code, out, err = run_cli([command, *argv, "--json", "-q"], capsys)
        assert code == 0, err
        assert json.loads(out)["n_clusters"] <= int(value)
        return
    path = tmp_path / value
    code, out, err = run_cli([command, *argv, old, str(path), "--json", "-q"], capsys)
    assert code == 0, err
    assert path.exists() and json.loads(out)["outputs"] == {"output": str(path)}


@pytest.mark.parametrize("command", ["kmeans", "pmedian", "facility"])
def test_plot_writes_a_picture_with_the_other_outputs(command, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    argv = COMMANDS[command][0]
    suffix = ".csv" if command != "kmeans" else ".npy"
    code, out, err = run_cli([command, *argv, "-q", "--json", "--plot", str(tmp_path / "p.png"),
                              "-o", str(tmp_path / f"o{suffix}")], capsys)
    assert code == 0, err
    assert (tmp_path / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads(out)["outputs"] == {"output": str(tmp_path / f"o{suffix}"), "plot": str(tmp_path / "p.png")}
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([f"o{suffix}", "p.png"])  # no temporary left


@pytest.mark.parametrize("command", ["kmeans", "pcenter"])
def test_plot_errors_come_before_any_work(command, tmp_path, capsys, monkeypatch):
    argv = COMMANDS[command][0]
    before = snapshot(tmp_path)
    code, out, err = run_cli([command, *argv, "-q", "--plot", str(tmp_path / "p.jpg")], capsys)
    assert code == 2 and out == "" and err.count("\n") == 1 and "--plot" in err and "unknown suffix" in err
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # not installed
    code, out, err = run_cli([command, *argv, "-q", "--plot", str(tmp_path / "p.png"),
                              "--report", str(tmp_path / "r.json")], capsys)
    assert code == 2 and out == "" and err.strip() == f"bigclust {command}: error: --plot needs matplotlib: " \
                                                      "pip install 'bigclust[plot]'"
    assert snapshot(tmp_path) == before


def test_kmedian_and_private_have_no_plot(capsys):
    for command in ("kmedian", "private-kmeans"):
        code, out, err = run_cli([command, *COMMANDS[command][0], "--plot", "p.png"], capsys)
        assert code == 2 and "unrecognized arguments" in err


def test_a_failed_picture_changes_no_output(tmp_path, capsys, monkeypatch):
    """The picture is one of the outputs: its failure (disk full) leaves every old file as it was."""
    import errno
    import os

    from bigclust._core import command as cmd

    def failing(draw):
        def write(path):
            Path(path).write_bytes(b"half")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return write

    monkeypatch.setattr(cmd, "picture_writer", failing)
    (tmp_path / "a.csv").write_text("old")
    code, out, err = run_cli(["pmedian", "grid:6x6", "-k", "3", "-q", "-o", str(tmp_path / "a.csv"),
                              "--plot", str(tmp_path / "m.png")], capsys)
    assert code == 1 and out == "" and "No space left on device" in err and err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv"] and (tmp_path / "a.csv").read_text() == "old"


def test_elbow_grid_and_picture():
    """The kmeans --plot elbow: at most 12 values of k, geometric, K included; the curve is the k-means cost of
    each answer (elbow_curve) and the answer returned is marked."""
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure

    from bigclust.datasets import make_planted_mixture
    from bigclust.lshtree import LSHTreeKMeans, elbow_curve

    assert lshtree_cli._elbow_grid(5) == [1, 2, 3, 4, 5]
    grid = lshtree_cli._elbow_grid(1000)
    assert len(grid) <= 12 and grid[0] == 1 and grid[-1] == 1000 and grid == sorted(set(grid))
    X, _, _ = make_planted_mixture(300, 3, 4, random_state=0)
    est = LSHTreeKMeans(4, random_state=0).fit(X)
    ax = Figure().subplots()
    lshtree_cli._elbow_drawer(X, est, 0)(ax)
    curve, answer = ax.lines
    np.testing.assert_array_equal(curve.get_xdata(), [1, 2, 3, 4])
    np.testing.assert_allclose(curve.get_ydata(), elbow_curve(X, [1, 2, 3, 4], random_state=0))
    assert list(answer.get_xdata()) == [4] and answer.get_ydata()[0] == pytest.approx(est.inertia_)


def test_inputs_where_they_make_sense(tmp_path, capsys):
    """planted: for private-kmeans (drawn with --seed, 0 when absent); dataset: for the graph commands."""
    from bigclust.datasets import make_planted_mixture

    code, out, err = run_cli(["private-kmeans", *_PRIVATE, "--json", "-q", "-o", str(tmp_path / "c.npy"),
                              "--labels", str(tmp_path / "l.npy")], capsys)
    assert code == 0, err
    assert json.loads(out)["n_reports"] == 20000 and np.load(tmp_path / "l.npy").shape == (20000,)
    X, _, _ = make_planted_mixture(20000, 2, 2, random_state=0)
    from bigclust.private import LocalDPKMeans

    assert np.array_equal(np.load(tmp_path / "l.npy"),
                          LocalDPKMeans(2, epsilon=8, radius=40, n_levels=6, random_state=0)
                          .fit(X).predict(X))  # the same points, the same release: the same labels
    code, out, err = run_cli(["private-kmeans", "planted:10,2,20", "-k", "2", "--epsilon", "1", "--radius", "1"],
                             capsys)
    assert code == 2 and "1 <= K <= N" in err
    from bigclust.datasets import find_data_dir

    try:
        find_data_dir()
    except FileNotFoundError:
        pytest.skip("no shared/data folder")
    code, out, err = run_cli(["pmedian", "dataset:pmed1", "--json", "-q"], capsys)
    assert code == 0, err
    obj = json.loads(out)
    assert obj["n_vertices"] == 100 and obj["n_clusters"] == 5  # the file's own p
    code, out, err = run_cli(["pcenter", "dataset:nope", "-k", "2"], capsys)
    assert code == 2 and "Unknown graph data set" in err and err.count("\n") == 1


def test_docs_list_every_summary_key():
    """docs/cli.md documents each command's --json keys, in order, and every shared option."""
    text = (ROOT / "docs" / "cli.md").read_text()
    documented = {}
    for line in text.splitlines():
        if line.startswith("`") and ": `command` " in line:
            names, keys = line.split(": ", 1)
            for name in re.findall(r"`([a-z-]+)`", names):
                documented[name] = re.findall(r"`([a-z_0-9]+)`", keys)
    assert documented == {command: list(keys) for command, (_, keys, _, _) in COMMANDS.items()}
    for flag in ("-k/--n-clusters", "-o/--output", "--report", "--plot", "--json", "-q/--quiet", "-v/--verbose",
                 "--seed"):
        assert f"`{flag}" in text, flag
