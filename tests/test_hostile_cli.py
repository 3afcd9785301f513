"""Hostile input through ``bigclust kmeans`` / ``bigclust kmedian`` (issue 22).

Each case names its outcome class: ``ERROR(status, pattern)`` — one line on
stderr matching ``pattern``, nothing on stdout, no output file created or changed,
no temporary file left — or ``OK(n_samples)`` — exit 0, the summary printed, every
requested output written. The cases run in process (``bigclust.cli.main``) on a
few hundred points.
"""

from __future__ import annotations

import gzip
import json
import os
from dataclasses import dataclass

import numpy as np
import pytest

from bigclust.cli import main
from bigclust.datasets import make_planted_mixture
from _cli_helpers import ERROR, run_cli as _run, snapshot as _snapshot  # noqa: E402

COMMANDS = ["kmeans", "kmedian"]
SECRET = 7351.123456  # planted in the bad cells; no message may repeat it


@dataclass
class OK:
    n_samples: int


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("in")
    X, _, _ = make_planted_mixture(200, 3, 3, random_state=0)
    np.save(d / "x.npy", X)
    (d / "empty.npy").write_bytes(b"")
    (d / "trunc.npy").write_bytes((d / "x.npy").read_bytes()[:100])
    np.save(d / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    rows = "\n".join(",".join(f"{v:.6f}" for v in r) for r in X)
    (d / "plain.csv").write_text(rows + "\n")
    (d / "bom.csv").write_bytes(b"\xef\xbb\xbf" + (rows + "\n").encode())
    (d / "header.csv").write_text("a,b,c\n" + rows + "\n")
    first, rest = rows.split("\n", 1)
    (d / "typo.csv").write_text(first.replace(".", f"x{SECRET}", 1) + "\n" + rest + "\n")
    (d / "nan.csv").write_text(rows + "\nnan,1,2\n")
    (d / "ragged.csv").write_text(rows + "\n1,2\n")
    (d / "gz_named_csv.csv").write_bytes(gzip.compress((rows + "\n").encode()))
    (d / "bad.csv.gz").write_bytes(gzip.compress((rows + "\n").encode())[:60])
    (d / "utf16.csv").write_bytes((rows + "\n").encode("utf-16"))
    (d / "secret.csv").write_text(rows + f"\n1,{SECRET}x,3\n")
    return d


def _cases():
    big = dict(n=200)
    return {
        # inputs
        "planted K > N": (["planted:10,3,20", "-k", "2"], ERROR(2, r"1 <= K <= N")),
        "planted garbage": (["planted:1,x", "-k", "2"], ERROR(2, r"planted:N,D,K")),
        "planted too big": (["planted:100000000,100,3", "-k", "2"], ERROR(2, r"N x D <= 1e\+09")),
        "missing file": (["{in}/nope.csv", "-k", "2"], ERROR(2, "does not exist")),
        "empty npy": (["{in}/empty.npy", "-k", "2"], ERROR(2, r"is empty \(0 bytes\)")),
        "truncated npy": (["{in}/trunc.npy", "-k", "2"], ERROR(2, "truncated|not a valid .npy")),
        "pickled npy": (["{in}/obj.npy", "-k", "2"], ERROR(2, "pickles are not loaded")),
        "corrupt csv.gz": (["{in}/bad.csv.gz", "-k", "2"], ERROR(2, "corrupt or truncated compressed")),
        "utf-16 csv": (["{in}/utf16.csv", "-k", "2"], ERROR(2, "UTF-16")),
        "typo in row 1": (["{in}/typo.csv", "-k", "2"], ERROR(2, r"data row 1 \(line 1\), column 1 is not a number")),
        "bad cell later": (["{in}/secret.csv", "-k", "2"], ERROR(2, r"data row 201 \(line 201\), column 2")),
        "ragged row": (["{in}/ragged.csv", "-k", "2"], ERROR(2, r"data row 201 .* has 2 field\(s\), expected 3")),
        "nan cell": (["{in}/nan.csv", "-k", "2"], ERROR(2, "NaN or infinite")),
        "header forced off": (["{in}/header.csv", "-k", "2", "--header", "no"],
                              ERROR(2, r"data row 1 \(line 1\), column 1 is not a number \(--header no")),
        "columns without header": (["{in}/plain.csv", "-k", "2", "--columns", "a"], ERROR(2, "needs a header")),
        # parameters
        "k zero": (["{in}/x.npy", "-k", "0"], ERROR(2, r"n_clusters must be an integer in \[1, inf\)")),
        "k above n": (["{in}/x.npy", "-k", "201"], ERROR(2, r"larger than the number of samples \(200\)")),
        "k not an int": (["{in}/x.npy", "-k", "two"], ERROR(2, "invalid int value")),
        "epsilon 1e-12": (["{in}/x.npy", "-k", "2", "--approx-epsilon", "1e-12"], ERROR(2, r"\[1e-06, inf\)")),
        "unknown method": (["{in}/x.npy", "-k", "2", "--method", "fast"], ERROR(2, "invalid choice")),
        # outputs (checked before the fit)
        "report is a folder": (["{in}/x.npy", "-k", "2", "--report", "{out}"], ERROR(2, "is a folder")),
        "unknown suffix": (["{in}/x.npy", "-k", "2", "--labels", "{out}/l.json"], ERROR(2, "unknown suffix")),
        "labels over input": (["{in}/x.npy", "-k", "2", "--labels", "{in}/x.npy"],
                              ERROR(2, "would overwrite the input")),
        "labels = centers": (["{in}/x.npy", "-k", "2", "--labels", "{out}/a.npy", "--centers", "{out}/a.npy"],
                             ERROR(2, "name the same file")),
        "missing folder": (["{in}/x.npy", "-k", "2", "--centers", "{out}/no/c.csv"], ERROR(2, "does not exist")),
        # correct results
        "bom without header": (["{in}/bom.csv", "-k", "3"], OK(200)),        # was: row 1 silently dropped
        "header auto": (["{in}/header.csv", "-k", "3"], OK(200)),
        "header yes": (["{in}/header.csv", "-k", "3", "--header", "yes", "--columns", "a,c"], OK(200)),
        "gzip by content": (["{in}/gz_named_csv.csv", "-k", "3"], OK(200)),
        "npy": (["{in}/x.npy", "-k", "3"], OK(200)),
    } | ({} if big else {})


CASES = _cases()




@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("case", list(CASES))
def test_hostile_cli_case(command, case, files, tmp_path, capsys):
    argv, expected = CASES[case]
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "old_labels.npy").write_bytes(b"previous run")
    argv = [a.format(**{"in": files, "out": out_dir}) for a in argv]
    before_in, before_out = _snapshot(files), _snapshot(out_dir)
    if isinstance(expected, OK):
        argv += ["--labels", str(out_dir / "old_labels.npy"), "--centers", str(out_dir / "c.csv"),
                 "--report", str(out_dir / "r.json")]
    code, out, err = _run([command, *argv, "--quiet"], capsys)
    assert _snapshot(files) == before_in  # no input is ever touched
    if isinstance(expected, ERROR):
        assert code == expected.status, err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"bigclust {command}: error:") or \
            lines[0].startswith(f"bigclust {command}: error:"), err
        assert len(lines) == 1, err
        import re
        assert re.search(expected.pattern, lines[0]), lines[0]
        assert str(SECRET) not in err and f"{SECRET}x" not in err
        assert out == ""
        assert _snapshot(out_dir) == before_out  # nothing created, nothing changed
    else:
        assert code == 0, err
        assert f"n_samples              {expected.n_samples}" in out or f"n_samples  {expected.n_samples}" in out \
            or any(line.split()[:2] == ["n_samples", str(expected.n_samples)] for line in out.splitlines())
        labels = np.load(out_dir / "old_labels.npy")
        assert labels.shape == (expected.n_samples,)
        assert np.loadtxt(out_dir / "c.csv", delimiter=",").shape == (3, 3 if "columns" not in argv else 2) \
            or "--columns" in argv
        assert "time" in json.loads((out_dir / "r.json").read_text())
        assert sorted(p.name for p in out_dir.iterdir()) == ["c.csv", "old_labels.npy", "r.json"]  # no temp left


@pytest.mark.parametrize("command", COMMANDS)
def test_a_failed_write_changes_no_output_and_prints_no_success(command, files, tmp_path, capsys, monkeypatch):
    """The report's writer fails (disk full) after labels and centres were written to temporary files:
    exit 1, one line, the old labels file intact, no new file, no temporary file, no summary."""
    import errno

    from bigclust._core import io as bio

    def full(path, obj):
        with open(path, "w") as fh:
            fh.write("{")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(bio, "write_json", full)
    (tmp_path / "l.npy").write_bytes(b"old labels")
    code, out, err = _run([command, f"{files}/x.npy", "-k", "3", "--quiet", "--labels", str(tmp_path / "l.npy"),
                           "--centers", str(tmp_path / "c.csv"), "--report", str(tmp_path / "r.json")], capsys)
    assert code == 1 and out == ""
    assert err.strip().count("\n") == 0 and "No space left on device" in err and "no output was changed" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["l.npy"]
    assert (tmp_path / "l.npy").read_bytes() == b"old labels"


@pytest.mark.parametrize("command", COMMANDS)
def test_internal_errors_exit_1_without_their_text_unless_debug(command, files, capsys, monkeypatch):
    from bigclust.lshtree import _estimator

    def boom(self, X, y=None, sample_weight=None):
        raise RuntimeError(f"value {SECRET} leaked")

    monkeypatch.setattr(_estimator._LSHTreeBase, "fit", boom)
    code, out, err = _run([command, f"{files}/x.npy", "-k", "3", "--quiet"], capsys)
    assert code == 1 and out == ""
    assert err.strip() == f"bigclust {command}: error: internal error (RuntimeError); run with --debug for the traceback"
    code, out, err = _run(["--debug", command, f"{files}/x.npy", "-k", "3", "--quiet"], capsys)
    assert code == 1 and "Traceback" in err and "RuntimeError" in err
    code, out, err = _run([command, f"{files}/x.npy", "-k", "3", "--quiet", "--debug"], capsys)
    assert code == 1 and "Traceback" in err


def test_argparse_errors_are_one_line(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["kmeans", "x.npy"])  # -k missing
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "required" in err and "--help" in err
