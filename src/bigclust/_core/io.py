"""Reading point matrices from files and writing results, for the CLI and scripts.

Supported inputs: ``.npy`` (a 2-D numeric array), ``.csv``/``.tsv`` (optionally
gzip-compressed; a header line is detected and skipped), and ``.parquet`` (a file
or a directory of part files; needs ``pyarrow``, installed by ``bigclust[parquet]``).
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

__all__ = ["read_matrix", "write_array", "write_json"]


def _open_text(path: Path):
    return gzip.open(path, "rt") if path.suffix == ".gz" else open(path)


def _base_suffix(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return suffixes[-1] if suffixes else ""


def read_matrix(path: str | os.PathLike, *, columns: list[str] | None = None, delimiter: str | None = None) -> np.ndarray:
    """Read a numeric 2-D matrix from ``path``.

    Parameters
    ----------
    path : path-like
        ``.npy``, ``.csv``, ``.tsv`` (optionally ``.gz``), ``.parquet`` file, or a
        directory of ``.parquet`` part files.
    columns : list of str, optional
        For CSV with a header and for Parquet: the feature columns to keep. By
        default all numeric columns are used; a Parquet column holding fixed-length
        lists (vectors) is expanded into features.
    delimiter : str, optional
        CSV delimiter; by default ``,`` for .csv and tab for .tsv.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"Input file {str(path)!r} does not exist.")
    if path.is_dir() or _base_suffix(path) == ".parquet":
        return _read_parquet(path, columns)
    suffix = _base_suffix(path)
    if suffix == ".npy":
        X = np.load(path, allow_pickle=False)
        if columns is not None:
            raise ValueError("columns= applies to CSV and Parquet inputs, not .npy.")
        return X
    if suffix in (".csv", ".tsv", ".txt", ".data"):
        return _read_delimited(path, columns, delimiter or ("\t" if suffix == ".tsv" else ","))
    raise ValueError(f"Unsupported input format {path.suffix!r} for {str(path)!r}: use .npy, .csv, .tsv or .parquet.")


def _looks_numeric(token: str) -> bool:
    try:
        float(token)
        return True
    except ValueError:
        return False


def _read_delimited(path: Path, columns, delimiter: str) -> np.ndarray:
    with _open_text(path) as fh:
        first = fh.readline().rstrip("\r\n")
    tokens = [t.strip().strip('"') for t in first.split(delimiter)]
    has_header = not all(_looks_numeric(t) for t in tokens if t != "")
    if columns is not None and not has_header:
        raise ValueError(f"columns= needs a header line, and {str(path)!r} has none.")
    usecols = None
    if columns is not None:
        missing = [c for c in columns if c not in tokens]
        if missing:
            raise ValueError(f"Column(s) {missing} not in the header of {str(path)!r}: {tokens}.")
        usecols = [tokens.index(c) for c in columns]
    try:
        X = np.loadtxt(path, delimiter=delimiter, skiprows=int(has_header), usecols=usecols, ndmin=2, dtype=np.float64)
    except ValueError as exc:
        raise ValueError(
            f"{str(path)!r} has non-numeric values ({exc}); select numeric feature columns with --columns."
        ) from None
    return X


def _read_parquet(path: Path, columns) -> np.ndarray:
    try:
        import pyarrow.parquet as pq
        import pyarrow as pa
        import pyarrow.compute as pc
    except ImportError:
        raise ImportError("Reading Parquet needs pyarrow: pip install 'bigclust[parquet]'.") from None
    table = pq.read_table(path, columns=columns)
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
            blocks.append(col.to_numpy().astype(np.float64).reshape(-1, 1))
        elif columns is not None:
            raise ValueError(f"Parquet column {name!r} has type {typ}, which is not numeric.")
    if not blocks:
        raise ValueError(f"{str(path)!r} has no numeric or vector columns.")
    return np.hstack(blocks)


def write_array(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write ``array`` to ``.npy`` or ``.csv``/``.txt`` (by suffix)."""
    path = Path(path)
    if path.suffix == ".npy":
        np.save(path, array)
    elif path.suffix in (".csv", ".txt", ".tsv"):
        fmt = "%d" if np.issubdtype(array.dtype, np.integer) else "%.10g"
        np.savetxt(path, array, delimiter="\t" if path.suffix == ".tsv" else ",", fmt=fmt)
    else:
        raise ValueError(f"Unsupported output format {path.suffix!r}: use .npy, .csv or .tsv.")


def write_json(path: str | os.PathLike, obj) -> None:
    """Write a report dict as JSON; NumPy arrays and scalars become lists and numbers."""
    import json

    def default(o):
        return o.tolist() if hasattr(o, "tolist") else str(o)

    with open(path, "w") as fh:
        json.dump(obj, fh, indent=1, default=default)
