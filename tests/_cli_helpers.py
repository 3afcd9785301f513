"""Helpers shared by the hostile-input suites of the command line (tests/test_hostile_*.py)."""

from dataclasses import dataclass

from bigclust.cli import main


@dataclass
class ERROR:
    """Expected outcome of a CLI case: this exit status and one stderr line matching ``pattern``."""
    status: int
    pattern: str


def run_cli(argv, capsys):
    """``bigclust argv`` in-process: (exit code, stdout, stderr); argparse's usage errors included."""
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def snapshot(folder):
    """Every file under ``folder`` with its bytes: equal snapshots mean nothing was created or changed."""
    return {p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
