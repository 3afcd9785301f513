"""The ``bigclust`` command line.

Each algorithm family registers its own sub-commands from a small module that
defines ``register(subparsers)``; this file only assembles them, so the
families stay independent:

* ``bigclust.lshtree._cli``     -> ``kmeans``, ``kmedian``
* ``bigclust.graph._cli``      -> ``pmedian``, ``pcenter``, ``facility``
* ``bigclust.private._cli``    -> ``private-kmeans``

A sub-command's handler takes the parsed ``argparse.Namespace`` and returns an
exit code. User errors (bad files, bad parameters) print one line
``bigclust: error: ...`` and exit with status 2, without a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings

from . import __version__

_FAMILIES = ("bigclust.lshtree._cli", "bigclust.graph._cli", "bigclust.private._cli")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bigclust",
        description=(
            "Clustering for data that is too big for one machine, spread over many machines, "
            "or too private to collect. Run 'bigclust COMMAND --help' for the options of a command."
        ),
    )
    parser.add_argument("--version", action="version", version=f"bigclust {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in _FAMILIES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:  # a real missing dependency inside the module
                raise
            continue
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        with warnings.catch_warnings():
            # warnings are part of the answer: one line each, no source line
            warnings.showwarning = lambda message, category, *_a, **_k: print(
                f"bigclust {args.command}: warning: {message}", file=sys.stderr)
            return int(args.func(args) or 0)
    except (ValueError, TypeError, FileNotFoundError, ImportError) as exc:
        print(f"bigclust {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("bigclust: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
