"""A command's output files: checked before the work, written all or nothing.

Every ``bigclust`` sub-command that writes files follows three steps::

    from bigclust._core.outputs import Outputs, ARRAY, JSON

    outs = Outputs(inputs=[args.input])                 # paths no output may replace
    outs.add("--labels", args.labels, ARRAY)            # None (option not given) is skipped
    outs.add("--centers", args.centers, ARRAY)
    outs.add("--report", args.report, JSON)
    outs.check()              # before the fit: raises OutputError (a ValueError), one line
    ...fit...
    outs.write({"--labels": lambda tmp: write_array(tmp, labels, suffix=outs.suffix("--labels")),
                "--centers": ..., "--report": lambda tmp: write_json(tmp, report)})
    print(summary)            # only now: every file is in place

:meth:`Outputs.check` refuses, naming the option: a suffix the writer does not
know; a folder that does not exist, is not a folder or is not writable; a path
that is an existing folder, or a read-only file; a path that is one of the
inputs (or inside an input folder); two options naming the same file.

:meth:`Outputs.write` writes each file to a temporary name in the destination's
own folder (so the final rename stays on one file system and is atomic), and only
when every writer has succeeded renames them into place, one after the other;
an existing file is first moved aside and restored if a later rename fails, so
either every output is new or every old file is as it was. A writer that fails
leaves no temporary file behind; its error is re-raised as
:class:`OutputWriteError` (``OSError`` causes by their ``strerror``, never a data value). Directory
outputs (``kind=DIRECTORY``, e.g. a Spark Parquet directory) follow the same
protocol, with a temporary directory name the writer creates.
"""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

__all__ = ["Outputs", "OutputError", "OutputWriteError", "OutputKind", "ARRAY", "JSON", "DIRECTORY"]


class OutputError(ValueError):
    """An output path is unusable (a user error: found by :meth:`Outputs.check`, before any work)."""


class OutputWriteError(RuntimeError):
    """Writing or renaming the outputs failed (disk full, permissions changed...); nothing was changed.

    Not a ``ValueError``: the command line reports it with exit status 1, as an
    environment failure, with this message (which names the option, the path and
    the system's reason, never a data value).
    """


@dataclass(frozen=True)
class OutputKind:
    """What an output holds: the suffixes its writer knows (empty for a directory)."""

    label: str
    suffixes: tuple[str, ...]
    directory: bool = False


ARRAY = OutputKind("an array", (".npy", ".csv", ".tsv", ".txt"))
JSON = OutputKind("a JSON report", (".json",))
DIRECTORY = OutputKind("a directory", (), directory=True)


@dataclass
class _Entry:
    option: str
    path: Path
    kind: OutputKind


def _same(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def _inside(path: Path, folder: Path) -> bool:
    try:
        return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(folder))
    except (OSError, ValueError):
        return False


class Outputs:
    """The set of files one command writes; see the module docstring.

    Parameters
    ----------
    inputs : list of path-like or str
        Input paths (files or folders) that no output may replace or sit inside;
        entries that do not exist as paths (``planted:...``) are ignored.
    """

    def __init__(self, inputs=()):
        self.inputs = [Path(p) for p in inputs if p is not None and os.path.exists(p)]
        self._entries: list[_Entry] = []

    def add(self, option: str, path, kind: OutputKind) -> None:
        """Declare an output (``path`` None: the option was not given, nothing to write)."""
        if path is None:
            return
        self._entries.append(_Entry(option, Path(path), kind))

    def __contains__(self, option: str) -> bool:
        return any(e.option == option for e in self._entries)

    def suffix(self, option: str) -> str:
        """The lower-case suffix of the output given to ``option``."""
        return next(e.path.suffix.lower() for e in self._entries if e.option == option)

    def check(self) -> None:
        """Validate every declared path (see the module docstring); raises :class:`OutputError`."""
        seen: list[_Entry] = []
        for e in self._entries:
            p = e.path
            if str(p) == "" or p.name in ("", ".", ".."):
                raise OutputError(f"{e.option} needs a file name.")
            if p.is_dir() and not e.kind.directory:
                raise OutputError(f"{e.option} {str(p)!r} is a folder; name a file.")
            if not e.kind.directory and p.suffix.lower() not in e.kind.suffixes:
                raise OutputError(f"{e.option} {str(p)!r}: unknown suffix; {e.kind.label} is written as "
                                  + ", ".join(e.kind.suffixes) + ".")
            folder = p.parent if str(p.parent) else Path(".")
            if not folder.exists():
                raise OutputError(f"{e.option} {str(p)!r}: folder {str(folder)!r} does not exist.")
            if not folder.is_dir():
                raise OutputError(f"{e.option} {str(p)!r}: {str(folder)!r} is not a folder.")
            if not os.access(folder, os.W_OK | os.X_OK):
                raise OutputError(f"{e.option} {str(p)!r}: folder {str(folder)!r} is not writable.")
            if p.exists() or p.is_symlink():
                if not p.is_dir() and e.kind.directory:
                    raise OutputError(f"{e.option} {str(p)!r} is an existing file; name a folder to create.")
                if not p.is_dir() and not os.access(p, os.W_OK):
                    raise OutputError(f"{e.option} {str(p)!r} is read-only; it is not replaced.")
            for src in self.inputs:
                if (p.exists() and _same(p, src)) or (src.is_dir() and _inside(p, src)) or \
                        (e.kind.directory and _inside(src, p)):
                    raise OutputError(f"{e.option} {str(p)!r} would overwrite the input {str(src)!r}.")
            for other in seen:
                if os.path.realpath(other.path) == os.path.realpath(p) or (p.exists() and other.path.exists()
                                                                          and _same(p, other.path)):
                    raise OutputError(f"{e.option} and {other.option} name the same file {str(p)!r}; "
                                      "each output needs its own.")
            seen.append(e)

    def write(self, writers: dict[str, Callable[[Path], None]]) -> None:
        """Write every declared output all or nothing; ``writers[option](tmp_path)`` writes one.

        Calls :meth:`check` again first (the file system may have changed during the
        work). Raises :class:`OutputWriteError` when a writer or a rename fails; then no
        output has changed.
        """
        self.check()
        missing = [e.option for e in self._entries if e.option not in writers]
        if missing:
            raise KeyError(f"no writer for {missing}")
        token = uuid.uuid4().hex[:12]
        temps: list[tuple[_Entry, Path]] = []
        try:
            for e in self._entries:
                tmp = e.path.with_name(f".{e.path.name}.{token}.tmp{e.path.suffix}")
                temps.append((e, tmp))
                try:
                    writers[e.option](tmp)
                except OSError as exc:
                    raise OutputWriteError(f"writing {e.option} {str(e.path)!r} failed "
                                      f"({exc.strerror or type(exc).__name__}); no output was changed.") from None
                if not (tmp.exists()):
                    raise OutputWriteError(f"writing {e.option} {str(e.path)!r} produced no file; no output was changed.")
            self._replace_all(temps, token)
        except BaseException:
            for _, tmp in temps:
                _remove(tmp)
            raise

    @staticmethod
    def _replace_all(temps: list[tuple[_Entry, Path]], token: str) -> None:
        """Rename the temporary files into place; on a failure, put every old file back."""
        done: list[tuple[Path, Path | None]] = []  # (destination, backup of the old file or None)
        try:
            for e, tmp in temps:
                backup = None
                if e.path.exists() or e.path.is_symlink():
                    backup = e.path.with_name(f".{e.path.name}.{token}.old")
                    os.replace(e.path, backup)
                done.append((e.path, backup))
                os.replace(tmp, e.path)
        except OSError as exc:
            kept = []
            for dest, backup in reversed(done):
                if backup is not None and backup.exists():
                    try:
                        if dest.exists() and not _same(dest, backup):
                            _remove(dest)
                        os.replace(backup, dest)
                    except OSError:
                        kept.append(f"{str(dest)!r} is kept as {str(backup)!r}")
                else:
                    _remove(dest)
            why = exc.strerror or type(exc).__name__
            if kept:
                raise OutputWriteError(f"moving the outputs into place failed ({why}), and so did restoring: "
                                       + "; ".join(kept) + ".") from None
            raise OutputWriteError(f"moving the outputs into place failed ({why}); every old file was restored.") \
                from None
        for _, backup in done:
            if backup is not None:
                _remove(backup)


def _remove(path: Path) -> None:
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
    except OSError:
        pass
