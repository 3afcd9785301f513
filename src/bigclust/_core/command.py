"""What every ``bigclust`` sub-command shares: its common options, its inputs and its summary.

One spelling, one meaning, in every sub-command that has the option (``docs/cli.md``
has the table):

``-k/--n-clusters N``
    The number of clusters asked for (centres, medians). ``pmedian`` and
    ``pcenter`` also accept ``-p`` (the OR-Library name); ``facility`` has no
    ``-k`` (its opening cost decides how many facilities open).
``-o/--output FILE``
    The command's main result: the centres (``kmeans``, ``kmedian``,
    ``private-kmeans``; also named ``--centers``) or the assignment table of a
    graph problem (also named ``--table``). The other outputs have names only
    (``--labels``, ``--assignment``, ``--facilities``, ``--report``, ``--plot``).
``--report FILE``
    The fit's ``report_`` as JSON.
``--plot FILE``
    A picture (.png, .pdf or .svg, through :mod:`bigclust.plot`), where the
    command has one: the elbow for ``kmeans``, the facility map for the graph
    commands.
``--json``
    The summary on stdout as exactly one JSON object (keys listed by the
    command's ``SUMMARY_KEYS``; numbers are JSON numbers, ``null`` where a key
    does not apply); without it, a short human summary (``key  value`` lines).
``-q/--quiet`` / ``-v/--verbose``
    Progress on stderr: none with ``-q``; by default each stage of a run that
    lasts more than 2 seconds; with ``-v`` every stage from the start. Warnings
    and errors are printed in every case.
``--seed N``
    Seed of the run's randomness (and of a ``planted:`` input).

Outputs are checked before any work and written all or nothing
(:mod:`bigclust._core.outputs`); the summary is printed only once they are all
in place.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from .outputs import OutputKind

__all__ = [
    "PICTURE", "PLANTED_MAX_VALUES", "add_common", "add_alias", "add_n_clusters", "load_points",
    "planted_spec", "print_summary", "progress", "picture_writer", "require_plotting", "json_ready",
]

#: ``--plot`` files: whatever matplotlib writes from the suffix.
PICTURE = OutputKind("a picture", (".png", ".pdf", ".svg"))

# planted:N,D,K draws N x D float64 values: bounded so a typo cannot ask for terabytes.
PLANTED_MAX_VALUES = 10**9

POINTS_INPUT_HELP = """\
INPUT is one of
  a file          .npy (2-D array), .csv/.tsv/.txt (optionally gzip, bzip2 or xz
                  compressed, recognised by content; see --header), or .parquet
                  (file or directory of parts; numeric and fixed-length vector
                  columns are used)
  dataset:NAME    a data set shipped beside the repo (shared/data), e.g. dataset:magic;
                  see bigclust.datasets.DATASETS
  planted:N,D,K   the paper's synthetic mixture: N points, D dimensions, K planted
                  Gaussian clusters (seeded by --seed); 1 <= K <= N, N x D <= 1e9
"""

COMMON_HELP = """\
Output: a short summary on stdout (key  value lines), or with --json exactly one
JSON object (see docs/cli.md for its keys). Files (-o/--output, the named
outputs, --report, --plot) are checked before the work (known suffix, writable
folder, not an input, not each other) and written all or nothing: each to a
temporary file beside it, renamed into place once all are written; the summary
is printed only then. Errors are one line on stderr that never quotes a data
value: exit status 2 for a problem with the input, options or paths, 1 for
anything else (--debug shows the traceback).
"""


class _RenamedFlag(argparse.Action):
    """An old option name kept working: hidden from --help, it stores into the new option's
    destination and prints a deprecation warning on stderr."""

    def __init__(self, option_strings, dest, *, new_flag: str, flag: bool = False, **kwargs):
        self.new_flag = new_flag
        super().__init__(option_strings, dest, nargs=0 if flag else None, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"{parser.prog}: warning: {option_string} was renamed to {self.new_flag} in bigclust 0.2 and "
              f"will be removed in 0.3; use {self.new_flag}.", file=sys.stderr)
        setattr(namespace, self.dest, True if self.nargs == 0 else values)


def add_alias(p: argparse.ArgumentParser, old: str, new: str, *, dest: str, flag: bool = False,
              warn: bool = True, **kwargs) -> None:
    """Keep the old spelling ``old`` of option ``new`` working, hidden from ``--help``.

    ``warn``: print a deprecation line on stderr when it is used (an alias that
    only spells the same option differently, e.g. ``--out`` for ``--output``, is
    kept silently).
    """
    if warn:
        p.add_argument(old, action=_RenamedFlag, new_flag=new, flag=flag, dest=dest, default=argparse.SUPPRESS,
                       help=argparse.SUPPRESS, **kwargs)
    elif flag:
        p.add_argument(old, action="store_true", dest=dest, default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    else:
        p.add_argument(old, dest=dest, default=argparse.SUPPRESS, help=argparse.SUPPRESS, **kwargs)


def add_n_clusters(p: argparse.ArgumentParser, *, required: bool, help: str, extra: Sequence[str] = ()) -> None:
    """``-k/--n-clusters N`` (destination ``n_clusters``), with ``extra`` spellings (e.g. ``-p``)."""
    p.add_argument("-k", "--n-clusters", *extra, dest="n_clusters", type=int, required=required, metavar="N",
                   help=help)


def add_common(p: argparse.ArgumentParser, *, output_help: str, output_names: Sequence[str] = (),
               plot_help: str | None = None, seed_default: int | None = 0,
               seed_help: str = "random seed (default 0)", report_help: str = "write the fit's report_ as JSON") -> None:
    """Add the options every sub-command shares (see the module docstring).

    ``-o/--output`` stores into ``args.output``; ``output_names`` are its other
    documented spellings (``--centers``). Without ``plot_help`` the command has
    no ``--plot``.
    """
    p.add_argument("-o", "--output", *output_names, dest="output", metavar="FILE", help=output_help)
    p.add_argument("--report", metavar="FILE", help=report_help)
    if plot_help is not None:
        p.add_argument("--plot", metavar="FILE", help=plot_help + " (.png, .pdf or .svg; needs matplotlib: "
                                                                  "pip install 'bigclust[plot]')")
    p.add_argument("--json", action="store_true",
                   help="print the summary as one JSON object on stdout (keys: docs/cli.md)")
    noise = p.add_mutually_exclusive_group()
    noise.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr (warnings still shown)")
    noise.add_argument("-v", "--verbose", action="store_true",
                       help="progress of every stage from the start (default: only of runs longer than 2 s)")
    p.add_argument("--seed", type=int, default=seed_default, metavar="N", help=seed_help)


@contextmanager
def progress(args: argparse.Namespace):
    """Within: the fit's progress as ``-q``/``-v`` ask. Yields the estimator's ``verbose``."""
    from .report import Progress

    old = Progress.DEFAULT_DELAY
    if getattr(args, "verbose", False):
        Progress.DEFAULT_DELAY = 0.0
    try:
        yield not getattr(args, "quiet", False)
    finally:
        Progress.DEFAULT_DELAY = old


# ------------------------------------------------------------------------------- point inputs


def planted_spec(spec: str) -> tuple[int, int, int]:
    """N, D, K of ``planted:N,D,K``, checked (1 <= K <= N, N x D <= PLANTED_MAX_VALUES)."""
    try:
        n, d, k = (int(v) for v in spec.split(":", 1)[1].split(","))
    except ValueError:
        raise ValueError("planted input must look like planted:N,D,K with three integers.") from None
    if n < 1 or d < 1 or not 1 <= k <= n:
        raise ValueError("planted:N,D,K needs N >= 1 points, D >= 1 dimensions and 1 <= K <= N planted clusters.")
    if n * d > PLANTED_MAX_VALUES:
        raise ValueError(f"planted:N,D,K needs N x D <= {PLANTED_MAX_VALUES:.0e} values; write larger data to a file.")
    return n, d, k


def load_points(spec: str, columns: str | None, header: str, seed: int | None):
    """INPUT of a point command as ``(X, y)``: ``planted:N,D,K`` (``y`` its planted labels),
    ``dataset:NAME`` (``y`` its classes) or a file (``y`` None) read by
    :func:`bigclust._core.io.read_matrix`, whose messages name a bad cell by row and
    column, never by its value."""
    if spec.startswith("planted:"):
        from ..datasets import make_planted_mixture

        n, d, k = planted_spec(spec)
        X, y, _ = make_planted_mixture(n, d, k, random_state=0 if seed is None else seed)
        return X, y
    if spec.startswith("dataset:"):
        from ..datasets import load_dataset

        ds = load_dataset(spec.split(":", 1)[1])
        return ds.X, ds.y
    from .io import read_matrix

    return read_matrix(spec, columns=columns.split(",") if columns else None, header=header), None


# ----------------------------------------------------------------------------------- pictures


def require_plotting() -> None:
    """Raise ImportError (exit status 2) before any work when ``--plot`` cannot be drawn."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ImportError("--plot needs matplotlib: pip install 'bigclust[plot]'") from None


def picture_writer(draw: Callable[[Any], None]) -> Callable[[Any], None]:
    """A writer for :meth:`Outputs.write`: ``draw(ax)`` on a new figure, saved to the given path.

    The figure is a bare :class:`matplotlib.figure.Figure` (no pyplot, no window,
    no global state); the format follows the path's suffix.
    """

    def write(path) -> None:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(7, 5), layout="constrained")
        draw(fig.subplots())
        fig.savefig(str(path), dpi=120)

    return write


# ------------------------------------------------------------------------------------ summary


def json_ready(value: Any) -> Any:
    """``value`` with NumPy scalars as Python numbers and non-finite floats as None (JSON has no NaN)."""
    if isinstance(value, Mapping):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if hasattr(value, "item") and getattr(value, "shape", None) == ():  # a NumPy scalar
        value = value.item()
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if hasattr(value, "tolist"):
        return json_ready(value.tolist())
    return str(value)


def print_summary(args: argparse.Namespace, summary: Mapping[str, Any], keys: Sequence[str]) -> None:
    """Print the command's summary on stdout: one JSON object with exactly ``keys`` (``--json``),
    else one ``key  value`` line per key whose value is not None (floats to 6 digits; a
    matrix, e.g. centres, one row per line below its key)."""
    if list(summary) != list(keys):  # the documented keys are a contract: a mismatch is a bug
        raise RuntimeError("summary keys differ from the documented SUMMARY_KEYS")
    obj = json_ready(summary)
    if getattr(args, "json", False):
        sys.stdout.write(json.dumps(obj, allow_nan=False) + "\n")
        return
    lines = []
    for key, value in obj.items():
        if value is None or value == {} or value == []:
            continue
        if isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in value.items())
        elif isinstance(value, list):  # a vector on one line; a matrix one row per line, below its key
            rows = value if value and isinstance(value[0], list) else [value]
            cells = ["  ".join(f"{v:.6g}" if isinstance(v, float) else str(v) for v in row) for row in rows]
            value = cells[0] if len(cells) == 1 else "\n  " + "\n  ".join(cells)
        elif isinstance(value, float):
            value = f"{value:.6g}"
        lines.append((key, str(value)))
    width = max((len(k) for k, _ in lines), default=0)
    text = "".join(f"{k:<{width}}  {v}\n" for k, v in lines)
    sys.stdout.write("\n".join(line.rstrip() for line in text.split("\n")))
