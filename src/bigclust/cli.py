"""The ``bigclust`` command line.

Each algorithm family registers its own sub-commands from a small module that
defines ``register(subparsers)``; this file only assembles them, so the
families stay independent:

* ``bigclust.lshtree._cli``     -> ``kmeans``, ``kmedian``
* ``bigclust.graph._cli``      -> ``pmedian``, ``pcenter``, ``facility``
* ``bigclust.private._cli``    -> ``private-kmeans``

A sub-command's handler takes the parsed ``argparse.Namespace`` and returns an
exit code. Errors are one line on stderr, ``bigclust COMMAND: error: ...``:

* exit status 2 for a user error: bad options (argparse), bad or missing input
  files, parameters out of range, unusable output paths (``ValueError``,
  ``TypeError``, ``FileNotFoundError``, ``IsADirectoryError``,
  ``NotADirectoryError``, ``ImportError`` of an optional extra);
* exit status 1 for anything else: out of memory (with its size), a failed
  write, a bug (the exception's type but not its text, which may hold data
  values, and the hint to re-run with ``--debug``);
* ``--debug`` (before or after the command name) prints the full traceback too.

A handler may raise any of these; it prints its success summary only after
every output is written (:mod:`bigclust._core.outputs`).

The options every sub-command shares (``-k/--n-clusters``, ``-o/--output``,
``--report``, ``--plot``, ``--json``, ``-q/--quiet``, ``-v/--verbose``,
``--seed``), the point inputs and the summary printer live in
:mod:`bigclust._core.command`, so the families spell and print them alike
(``docs/cli.md``).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
import warnings

from . import __version__
from ._core.outputs import OutputWriteError

_FAMILIES = ("bigclust.lshtree._cli", "bigclust.graph._cli", "bigclust.private._cli")


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``PROG: error: MESSAGE (see PROG --help)``, exit status 2."""

    def error(self, message):  # noqa: D102 - argparse's hook
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="bigclust",
        description=(
            "Clustering for data that is too big for one machine, spread over many machines, "
            "or too private to collect. Run 'bigclust COMMAND --help' for the options of a command."
        ),
        epilog=(
            "Every command prints a short summary on stdout (--json: exactly one JSON object) and "
            "shares -k/--n-clusters, -o/--output, --report, -q/--quiet, -v/--verbose and --seed "
            "(kmeans and the graph commands also --plot FILE.png); docs/cli.md lists them and the "
            "summary keys. Errors: one line on stderr, exit status 2 for bad input, options or paths, "
            "1 otherwise."
        ),
    )
    parser.add_argument("--version", action="version", version=f"bigclust {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in _FAMILIES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:  # a real missing dependency inside the module
                raise
            continue
        module.register(sub)
    for command in sub.choices.values():  # --debug after the command name too (unless a family adds its own)
        if "--debug" in command._option_string_actions:
            continue
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                             help="show the full traceback of an error")
    return parser


# exceptions that mean the user's input, options or paths are wrong: exit status 2
_USER_ERRORS = (ValueError, TypeError, FileNotFoundError, IsADirectoryError, NotADirectoryError, ImportError)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # --help, --version and usage errors (one line, status 2) raise SystemExit
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    debug = bool(getattr(args, "debug", False))
    try:
        with warnings.catch_warnings():
            # warnings are part of the answer: one line each, no source line
            warnings.showwarning = lambda message, category, *_a, **_k: print(
                f"bigclust {args.command}: warning: {_one_line(message)}", file=sys.stderr)
            return int(args.func(args) or 0)
    except OutputWriteError as exc:  # the outputs could not be written: nothing was changed
        if debug:
            traceback.print_exc()
        print(f"bigclust {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except _USER_ERRORS as exc:
        if debug:
            traceback.print_exc()
        print(f"bigclust {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("bigclust: interrupted", file=sys.stderr)
        return 130
    except MemoryError as exc:  # numpy's and bigclust's texts name sizes and shapes, never values
        if debug:
            traceback.print_exc()
        print(f"bigclust {args.command}: error: out of memory" + (f": {_one_line(exc)}" if str(exc) else "")
              + ("" if debug else " (--debug shows where)"), file=sys.stderr)
        return 1
    except Exception as exc:  # a bug or an environment failure: its text may hold data values
        if debug:
            traceback.print_exc()
        where = f"{exc.strerror}" if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        print(f"bigclust {args.command}: error: internal error ({where})"
              + ("" if debug else "; run with --debug for the traceback"), file=sys.stderr)
        return 1


def _one_line(msg) -> str:
    """A message on one line (exception texts may hold newlines)."""
    return " ".join(str(msg).split())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
