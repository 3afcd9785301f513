"""Reading point matrices from files and writing results, for the CLI and scripts.

Inputs (:func:`read_matrix`)
----------------------------
``.npy``
    a 2-D numeric array (no pickles).
``.csv``, ``.tsv``, ``.txt``, ``.data``
    delimited numbers (``,``; tab for ``.tsv``). Compression is recognised by
    content, whatever the suffix: gzip, bzip2 and xz are read; zstd and zip are
    refused with a message. A UTF-8 byte-order mark is skipped; UTF-16 files are
    refused. Parsed by ``pyarrow.csv`` when pyarrow is installed
    (``bigclust[parquet]``), otherwise by ``numpy.loadtxt``; a file either refuses
    goes to a careful reader built on the standard library's :mod:`csv`, which
    parses it the same way or names the first bad cell.
``.parquet``
    a file or a directory of part files (needs pyarrow).

Header rule (``header=``)
-------------------------
``"yes"``: line 1 holds column names. ``"no"``: every line is data.
``"auto"`` (default): line 1 is a header only if **none** of its fields is a
number (``float()`` accepts it). A line 1 with at least one number is data, so
a header-less file never loses its first row: a typo in it (``1.5,2.x,3``) is
reported as an error naming row 1 and the column, not skipped. Headers whose
names are numbers (``1,2,3``) need ``header="yes"``.

Errors
------
Every problem with a file is one ``ValueError`` (``FileNotFoundError`` for a
missing path) naming the file and, for a bad cell, its row (1-based data row and
file line) and column (1-based, and its header name when there is one). No
message repeats a value read from the file.

Reuse
-----
Other families read their own text formats with :func:`read_delimited` (any
file name, one-character or ``"whitespace"`` delimiters, the same header rule,
compression handling and row/column errors) and check their own declared counts
on top.

Outputs
-------
:func:`write_array` and :func:`write_json` write one file directly; commands use
:mod:`bigclust._core.outputs`, which validates every output path before the work
and writes them all or nothing through these two.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import lzma
import os
import warnings
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["read_matrix", "read_delimited", "write_array", "write_json", "ARRAY_SUFFIXES", "HEADER_CHOICES"]

ARRAY_SUFFIXES = (".npy", ".csv", ".tsv", ".txt")
HEADER_CHOICES = ("auto", "yes", "no")
_TEXT_SUFFIXES = (".csv", ".tsv", ".txt", ".data")
_COMPRESSED_SUFFIXES = (".gz", ".bz2", ".xz")

# magic numbers: compression is recognised by content, not by name
_MAGIC = {
    b"\x1f\x8b": "gzip",
    b"BZh": "bzip2",
    b"\xfd7zXZ\x00": "xz",
    b"\x28\xb5\x2f\xfd": "zstd",
    b"PK\x03\x04": "zip",
}
_OPENERS: dict[str, Callable[..., Any]] = {"gzip": gzip.open, "bzip2": bz2.open, "xz": lzma.open}
# errors a corrupt or truncated compressed stream raises while it is read
_STREAM_ERRORS = (EOFError, zlib.error, gzip.BadGzipFile, lzma.LZMAError)


def _base_suffix(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    while suffixes and suffixes[-1] in _COMPRESSED_SUFFIXES:
        suffixes = suffixes[:-1]
    return suffixes[-1] if suffixes else ""


def _compression(path: Path) -> str | None:
    with open(path, "rb") as fh:
        head = fh.read(8)
    for magic, name in _MAGIC.items():
        if head.startswith(magic):
            return name
    return None


def _open_binary(path: Path, compression: str | None):
    if compression is None:
        return open(path, "rb")
    if compression not in _OPENERS:
        raise ValueError(f"{str(path)!r} is {compression}-compressed, which bigclust does not read; "
                         "decompress it first (gzip, bzip2 and xz are read directly).")
    return _OPENERS[compression](path, "rb")


def read_matrix(path: str | os.PathLike, *, columns: list[str] | None = None, delimiter: str | None = None,
                header: str = "auto") -> np.ndarray:
    """Read a numeric 2-D matrix from ``path``.

    Parameters
    ----------
    path : path-like
        ``.npy``, ``.csv``, ``.tsv``, ``.txt`` (optionally compressed), ``.parquet``
        file, or a directory of ``.parquet`` part files.
    columns : list of str, optional
        For CSV with a header and for Parquet: the feature columns to keep. By
        default all numeric columns are used; a Parquet column holding fixed-length
        lists (vectors) is expanded into features.
    delimiter : str, optional
        CSV delimiter; by default ``,``, and tab for ``.tsv``.
    header : {"auto", "yes", "no"}
        Whether line 1 of a CSV holds column names; see the module docstring.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), float64 (``.npy``: its own dtype)

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    ValueError
        Anything else wrong with the file, in one line (see the module docstring).
    """
    path = Path(path)
    if header not in HEADER_CHOICES:
        raise ValueError(f"header must be one of {', '.join(HEADER_CHOICES)}.")
    if not path.exists():
        raise FileNotFoundError(f"Input file {str(path)!r} does not exist.")
    if path.is_dir() or _base_suffix(path) == ".parquet":
        return _read_parquet(path, columns)
    suffix = _base_suffix(path)
    if suffix == ".npy":
        if columns is not None:
            raise ValueError("--columns applies to CSV and Parquet inputs, not .npy.")
        with _file_errors(path):
            return _read_npy(path)
    if suffix in _TEXT_SUFFIXES:
        return read_delimited(path, delimiter=delimiter or ("\t" if suffix == ".tsv" else ","), header=header,
                              columns=columns)
    raise ValueError(f"Unsupported input format {path.suffix!r} for {str(path)!r}: use .npy, .csv, .tsv, .txt "
                     "(optionally compressed) or .parquet.")


def read_delimited(path: str | os.PathLike, *, delimiter: str = ",", header: str = "auto",
                   columns: list[str] | None = None) -> np.ndarray:
    """Read a delimited numeric text file (any name; compression by content) into float64.

    The reader behind :func:`read_matrix` for ``.csv``/``.tsv``/``.txt``, for
    callers with their own formats (edge lists: integer ids up to 2^53 are exact
    in float64). Same header rule, errors and parsers (module docstring).

    Parameters
    ----------
    path : path-like
    delimiter : str
        One character, or ``"whitespace"`` for runs of spaces and tabs.
    header : {"auto", "yes", "no"}
    columns : list of str, optional
        Header names of the columns to keep (needs a header).

    Returns
    -------
    X : ndarray of shape (n_rows, n_columns), float64
    """
    path = Path(path)
    if header not in HEADER_CHOICES:
        raise ValueError(f"header must be one of {', '.join(HEADER_CHOICES)}.")
    if not path.exists():
        raise FileNotFoundError(f"Input file {str(path)!r} does not exist.")
    if path.is_dir():
        raise ValueError(f"{str(path)!r} is a folder; name a file.")
    with _file_errors(path):
        return _read_delimited(path, columns, delimiter, header)


class _file_errors:
    """Turn the ways reading a file can fail into one-line ValueErrors naming the file (never its content)."""

    def __init__(self, path: Path):
        self.path = path

    def __enter__(self):
        if self.path.stat().st_size == 0:
            raise ValueError(f"{str(self.path)!r} is empty (0 bytes).")
        return self

    def __exit__(self, kind, exc, tb):
        path = str(self.path)
        if kind is None or not issubclass(kind, (*_STREAM_ERRORS, UnicodeDecodeError, OSError)):
            return False
        if issubclass(kind, _STREAM_ERRORS):
            raise ValueError(f"{path!r} is a corrupt or truncated compressed file.") from None
        if issubclass(kind, UnicodeDecodeError):
            raise ValueError(f"{path!r} is not UTF-8 text (first bad byte at offset {exc.start} of its "
                             "decoded stream).") from None
        if issubclass(kind, PermissionError):
            raise ValueError(f"{path!r} cannot be read (permission denied).") from None
        if exc.errno is None:  # bz2 reports corrupt data as a bare OSError
            raise ValueError(f"{path!r} is a corrupt or truncated compressed file.") from None
        raise ValueError(f"{path!r} could not be read ({exc.strerror}).") from None


def _read_npy(path: Path) -> np.ndarray:
    compression = _compression(path)
    if compression is not None:
        raise ValueError(f"{str(path)!r} is {compression}-compressed; .npy inputs must be plain (decompress it).")
    with open(path, "rb") as fh:
        magic = fh.read(6)
    if magic != b"\x93NUMPY":  # np.load would try it as a pickle
        raise ValueError(f"{str(path)!r} is " + ("truncated: it ends before its .npy header." if
                                                  b"\x93NUMPY".startswith(magic) else
                                                  "not a valid .npy file (no .npy header).") )
    try:
        X = np.load(path, allow_pickle=False)
    except EOFError:
        raise ValueError(f"{str(path)!r} is truncated: it ends before its .npy header or data.") from None
    except ValueError as exc:
        why = "holds Python objects (pickles are not loaded)" if "allow_pickle" in str(exc) else \
            "is not a valid .npy file (bad header or truncated data)"
        raise ValueError(f"{str(path)!r} {why}.") from None
    if not isinstance(X, np.ndarray):
        raise ValueError(f"{str(path)!r} is not a .npy array file.")
    return X


# --------------------------------------------------------------------------- delimited text


def _is_number(token: str) -> bool:
    try:
        float(token)
        return True
    except ValueError:
        return False


def _first_line(path: Path, compression: str | None) -> str:
    with _open_binary(path, compression) as raw:
        line = raw.readline(1 << 20)
    if line.startswith(b"\xff\xfe") or line.startswith(b"\xfe\xff"):
        raise ValueError(f"{str(path)!r} is UTF-16 text; save it as UTF-8.")
    if line.startswith(b"\xef\xbb\xbf"):
        line = line[3:]
    return line.decode("utf-8").rstrip("\r\n")


def _split(line: str, delimiter: str) -> list[str]:
    if delimiter == "whitespace":
        return line.split()
    return next(csv.reader([line], delimiter=delimiter)) if line else []


def _read_delimited(path: Path, columns, delimiter: str, header: str) -> np.ndarray:
    compression = _compression(path)
    first = _split(_first_line(path, compression), delimiter)
    tokens = [t.strip() for t in first]
    if header == "auto":
        has_header = bool(tokens) and not any(_is_number(t) for t in tokens if t != "")
    else:
        has_header = header == "yes"
    names = tokens if has_header else None
    if columns is not None and not has_header:
        raise ValueError(f"--columns needs a header line, and {str(path)!r} has none"
                         + (" (line 1 holds a number; pass --header yes if it is a header)." if header == "auto" else "."))
    usecols = None
    if columns is not None:
        assert names is not None  # has_header, checked above
        missing = [c for c in columns if c not in names]
        if missing:
            raise ValueError(f"Column(s) {missing} not in the header of {str(path)!r} ({len(names)} columns).")
        usecols = [names.index(c) for c in columns]
    n_cols = len(tokens)
    if n_cols == 0:
        raise ValueError(f"{str(path)!r} has an empty first line; expected numbers or column names.")
    X = None
    try:
        import pyarrow  # noqa: F401
        pyarrow_ok = delimiter != "whitespace"  # Arrow splits on one character only
    except ImportError:
        pyarrow_ok = False
    if pyarrow_ok:
        X = _read_arrow(path, compression, delimiter, n_cols, has_header, usecols)
    if X is None and not pyarrow_ok:  # no pyarrow: numpy's C parser first (its errors echo values: not shown)
        X = _read_numpy(path, compression, delimiter, has_header, usecols)
    if X is None:  # no parser took it: the careful reader parses it or names the bad cell
        first_hint = {"auto": " (line 1 was read as data because it holds a number; pass --header yes if it "
                              "is a header)", "no": " (--header no: line 1 is data)"}.get(header, "")
        X = _read_careful(path, compression, delimiter, n_cols, names, usecols, first_hint)
    if X.shape[0] == 0:
        raise ValueError(f"{str(path)!r} has no data rows" + (" after its header line." if has_header else "."))
    return X


def _read_arrow(path, compression, delimiter, n_cols, has_header, usecols):
    """The whole file through ``pyarrow.csv`` (None when pyarrow refuses it: the careful reader says why)."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    names = [f"c{j}" for j in range(n_cols)]
    read = pcsv.ReadOptions(column_names=names, skip_rows=int(has_header), block_size=1 << 24)
    parse = pcsv.ParseOptions(delimiter=delimiter)
    keep = names if usecols is None else [names[j] for j in usecols]
    convert = pcsv.ConvertOptions(column_types={c: pa.float64() for c in names}, include_columns=keep,
                                  null_values=[], strings_can_be_null=False, quoted_strings_can_be_null=False)
    try:
        # Arrow's own streams (no Python file in between, no guess from the file name); xz through Python
        if compression in (None, "gzip", "bzip2"):
            raw = pa.OSFile(str(path), "rb")
            if compression is not None:
                raw = pa.CompressedInputStream(raw, {"gzip": "gzip", "bzip2": "bz2"}[compression])
        else:
            raw = _open_binary(path, compression)
        with raw:
            table = pcsv.read_csv(raw, read_options=read, parse_options=parse, convert_options=convert)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowIOError, OSError):
        return None  # the careful reader reports what is wrong (a corrupt stream, a bad cell, ...)
    if table.num_rows == 0:
        return np.empty((0, len(keep)))
    X = np.empty((table.num_rows, len(keep)))
    for j, name in enumerate(keep):
        start = 0
        for chunk in table.column(name).chunks:  # chunk by chunk: ChunkedArray.to_numpy is ~50x slower
            X[start:start + len(chunk), j] = chunk.to_numpy(zero_copy_only=False)
            start += len(chunk)
    return X


def _read_numpy(path, compression, delimiter, has_header, usecols):
    """``numpy.loadtxt`` on the decoded stream (None when it refuses the file)."""
    with _open_binary(path, compression) as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        try:
            with warnings.catch_warnings():  # "input contained no data": reported by read_matrix instead
                warnings.simplefilter("ignore", UserWarning)
                return np.loadtxt(text, delimiter=None if delimiter == "whitespace" else delimiter, skiprows=int(has_header), usecols=usecols, ndmin=2,
                                  dtype=np.float64, quotechar='"', comments=None)
        except ValueError:
            return None


def _read_careful(path, compression, delimiter, n_cols, names, usecols, first_hint="") -> np.ndarray:
    """Parse with the standard library, naming the first bad cell by row and column (never its value)."""
    def where(row, line, j):
        # the column by number only: a header's text can be data read as a header (wrong delimiter)
        col = f"column {j + 1}"
        return f"{str(path)!r}: data row {row} (line {line}), {col}"

    rows = []
    cols = range(n_cols) if usecols is None else usecols
    with _open_binary(path, compression) as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        if delimiter == "whitespace":
            lines = ((i + 1, ln.split()) for i, ln in enumerate(text))
        else:
            reader = csv.reader(text, delimiter=delimiter)
            lines = ((reader.line_num, fields) for fields in reader)
        skip = names is not None
        row = 0
        for line, fields in lines:
            if skip:
                skip = False
                continue
            if not fields or (len(fields) == 1 and fields[0].strip() == ""):
                continue  # blank lines carry no row (as in numpy.loadtxt and pyarrow)
            row += 1
            if len(fields) != n_cols:
                raise ValueError(f"{str(path)!r}: data row {row} (line {line}) has {len(fields)} field(s), "
                                 f"expected {n_cols} as in line 1.")
            values = []
            for j in cols:
                token = fields[j].strip()
                if token == "":
                    raise ValueError(f"{where(row, line, j)} is empty; fill or drop missing values first.")
                try:
                    values.append(float(token))
                except ValueError:
                    hint = first_hint if line == 1 else ""
                    raise ValueError(f"{where(row, line, j)} is not a number{hint}; select numeric feature "
                                     "columns with --columns.") from None
            rows.append(values)
    return np.array(rows, dtype=np.float64).reshape(len(rows), len(cols))


# --------------------------------------------------------------------------- parquet


def _read_parquet(path: Path, columns) -> np.ndarray:
    try:
        import pyarrow.parquet as pq
        import pyarrow as pa
        import pyarrow.compute as pc
    except ImportError:
        raise ImportError("Reading Parquet needs pyarrow: pip install 'bigclust[parquet]'.") from None
    if path.is_dir() and not any(p.suffix == ".parquet" or p.is_dir() for p in path.iterdir()):
        raise ValueError(f"{str(path)!r} is a folder without .parquet files; name a file or a folder of "
                         "Parquet part files.")
    try:
        table = pq.read_table(path, columns=columns)
    except (pa.ArrowInvalid, OSError) as exc:
        what = "a Parquet file or a directory of them" if path.is_dir() else "a valid Parquet file"
        if columns is not None and isinstance(exc, pa.ArrowInvalid) and "No match for" in str(exc):
            raise ValueError(f"Column(s) {columns} not all found in {str(path)!r}.") from None
        raise ValueError(f"{str(path)!r} is not {what}.") from None
    blocks = []
    for name, col in zip(table.column_names, table.columns):
        typ = col.type
        if pa.types.is_list(typ) or pa.types.is_fixed_size_list(typ) or pa.types.is_large_list(typ):
            arr = col.combine_chunks()
            lengths = pc.list_value_length(arr).to_numpy(zero_copy_only=False)
            if len(lengths) and (lengths != lengths[0]).any():
                raise ValueError(f"Parquet vector column {name!r} has rows of different lengths.")
            flat = arr.flatten().to_numpy(zero_copy_only=False).astype(np.float64)
            blocks.append(flat.reshape(len(arr), -1))
        elif pa.types.is_integer(typ) or pa.types.is_floating(typ) or pa.types.is_boolean(typ):
            if col.null_count:
                raise ValueError(f"Parquet column {name!r} of {str(path)!r} has {col.null_count} missing value(s).")
            blocks.append(col.to_numpy().astype(np.float64).reshape(-1, 1))
        elif columns is not None:
            raise ValueError(f"Parquet column {name!r} has type {typ}, which is not numeric.")
    if not blocks:
        raise ValueError(f"{str(path)!r} has no numeric or vector columns.")
    return np.hstack(blocks)


# --------------------------------------------------------------------------- writing


def write_array(path: str | os.PathLike, array: np.ndarray, *, suffix: str | None = None) -> None:
    """Write ``array`` to ``.npy`` or ``.csv``/``.tsv``/``.txt`` (by ``suffix``, default the path's)."""
    path = Path(path)
    suffix = (suffix or path.suffix).lower()
    if suffix == ".npy":
        with open(path, "wb") as fh:  # a file object: np.save would append .npy to another name
            np.save(fh, array)
    elif suffix in (".csv", ".txt", ".tsv"):
        fmt = "%d" if np.issubdtype(array.dtype, np.integer) else "%.17g"
        np.savetxt(path, array, delimiter="\t" if suffix == ".tsv" else ",", fmt=fmt)
    else:
        raise ValueError(f"Unsupported output format {suffix!r}: use .npy, .csv, .tsv or .txt.")


def write_json(path: str | os.PathLike, obj) -> None:
    """Write a report dict as JSON; NumPy arrays and scalars become lists and numbers."""
    import json

    def default(o):
        return o.tolist() if hasattr(o, "tolist") else str(o)

    with open(path, "w") as fh:
        json.dump(obj, fh, indent=1, default=default)
