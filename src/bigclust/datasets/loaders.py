"""Loaders for the real data sets stored in ``shared/data`` (no download ever happens).

The first eight (:data:`TABLE2_DATASETS`) are the real data sets of Tables 1 and 2
of "Massively Parallel k-Means Clustering for Perturbation Resilient Instances";
its protocol z-scores every column (:func:`bigclust.datasets.zscore`) and uses
``k`` = number of classes.
"""

from __future__ import annotations

import csv
import gzip
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

DATA_DIR_ENV = "BIGCLUST_DATA_DIR"


# --------------------------------------------------------------------------- #
# Real data sets
# --------------------------------------------------------------------------- #
@dataclass(frozen=True, eq=False)
class Dataset:
    """A labelled real data set.

    Attributes
    ----------
    X : ndarray of shape (n_samples, n_features), float64
        Features only (no ids, names or targets), not scaled; apply
        :func:`zscore` for the paper's protocol. No NaN.
    y : ndarray of shape (n_samples,), int64
        Class codes ``0 .. n_classes - 1``; ``class_names[c]`` is the original label.
    n_classes : int
        Number of classes (the ``k`` of the paper's Table 1).
    name : str
        Canonical data set name.
    notes : str
        What was read and how it was preprocessed (dropped columns, imputed cells).
    feature_names : tuple of str
        Name of each column of ``X``.
    class_names : tuple of str
        Original label of each class code.
    """

    X: np.ndarray
    y: np.ndarray
    n_classes: int
    name: str
    notes: str
    feature_names: tuple[str, ...] = field(default=())
    class_names: tuple[str, ...] = field(default=())

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_samples, n_features)`` of ``X``."""
        return self.X.shape


TABLE2_DATASETS: tuple[str, ...] = (
    "eucalyptus",
    "mice_protein",
    "biomed",
    "pima",
    "magic",
    "gesture_phase",
    "mnist",
    "zoo",
)
DATASETS: tuple[str, ...] = TABLE2_DATASETS + ("kddcup", "shuttle", "spambase")
_ALIASES = {"diabetes": "pima"}


def load_dataset(name: str, *, data_dir: str | os.PathLike | None = None) -> Dataset:
    """Load one of the real data sets stored in ``shared/data``.

    Parameters
    ----------
    name : str
        One of :data:`DATASETS` (``"diabetes"`` is accepted for ``"pima"``).
    data_dir : path-like, optional
        Folder holding one sub-folder per data set. Default: the environment
        variable ``BIGCLUST_DATA_DIR``, else the first ``shared/data`` folder found
        beside an ancestor of the current directory or of this file.

    Returns
    -------
    Dataset
        ``X`` of shape (n_samples, n_features) float64 with missing cells
        imputed by column means (counted in ``notes``), ``y`` of shape
        (n_samples,) int64 in ``0 .. n_classes - 1``.

    Raises
    ------
    ValueError
        Unknown name.
    FileNotFoundError
        The data folder or the data set's file is missing (the message names the path).
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a string, got {type(name).__name__}.")
    key = _ALIASES.get(name.lower(), name.lower())
    if key not in _LOADERS:
        raise ValueError(f"Unknown data set {name!r}; choose one of {', '.join(DATASETS)} (or 'diabetes' for pima).")
    root = find_data_dir(data_dir)
    return _LOADERS[key](root / key)


def find_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """Locate the folder of real data sets (see :func:`load_dataset`).

    Returns
    -------
    path : pathlib.Path
        An existing directory.
    """
    if data_dir is not None:
        path = Path(data_dir).expanduser()
        if not path.is_dir():
            raise FileNotFoundError(f"data_dir {str(path)!r} is not a directory.")
        return path
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        path = Path(env).expanduser()
        if not path.is_dir():
            raise FileNotFoundError(f"{DATA_DIR_ENV}={env!r} is not a directory.")
        return path
    # The checkout sits at <root>/<clone> with <root>/shared/data beside it (any
    # clone name); also accept shared/data inside an ancestor. Search from the
    # working directory and from this file (editable installs live in the clone).
    starts = [Path.cwd().resolve(), Path(__file__).resolve().parent]
    tried = []
    for start in starts:
        for anc in (start, *start.parents):
            cand = anc / "shared" / "data"
            if cand.is_dir():
                return cand
            tried.append(str(cand))
    raise FileNotFoundError(
        f"No data folder found: set the environment variable {DATA_DIR_ENV} to the folder holding the "
        f"data sets (e.g. .../shared/data) or pass data_dir=. Looked for shared/data beside every ancestor "
        f"of {starts[0]} and {starts[1]}."
    )


def _require(path: Path) -> Path:
    if not path.is_file():
        raise FileNotFoundError(f"Data file {str(path)!r} not found.")
    return path


def _open_text(path: Path):
    return gzip.open(path, "rt", newline="") if path.suffix == ".gz" else open(path, newline="")


def _encode_classes(raw, order=None) -> tuple[np.ndarray, tuple[str, ...]]:
    """Map labels to 0..c-1: in ``order`` when given (ARFF declaration), else sorted."""
    raw = np.asarray(raw)
    names: tuple[str, ...]
    codes: np.ndarray
    if order is None:
        uniques, codes = np.unique(raw, return_inverse=True)
        names = tuple(_label_str(v) for v in uniques)
    else:
        names = tuple(order)
        lookup = {v: i for i, v in enumerate(names)}
        try:
            codes = np.array([lookup[v] for v in raw.tolist()], dtype=np.int64)
        except KeyError as exc:
            raise ValueError(f"class label {exc.args[0]!r} is not among the declared classes {names}.") from None
        used = np.unique(codes)
        if used.size != len(names):  # keep codes dense 0..c-1 when a declared class never occurs
            names = tuple(names[i] for i in used)
            codes = np.searchsorted(used, codes)
    return np.asarray(codes, dtype=np.int64).reshape(-1), names


def _label_str(v) -> str:
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v)


def _impute_column_means(X: np.ndarray) -> tuple[np.ndarray, int, int]:
    """Replace NaN cells in place by their column's mean; return X, cells, rows."""
    missing = np.isnan(X)
    n_cells = int(missing.sum())
    n_rows = int(missing.any(axis=1).sum())
    if n_cells:
        means = np.nanmean(X, axis=0)
        if np.isnan(means).any():
            raise ValueError("a column has no observed value; cannot impute it.")
        rows, cols = np.nonzero(missing)
        X[rows, cols] = means[cols]
    return X, n_cells, n_rows


def _make(name, X, y, class_names, feature_names, notes) -> Dataset:
    X = np.ascontiguousarray(X, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.int64)
    if not np.isfinite(X).all():  # defensive: every loader imputes or rejects NaN
        raise ValueError(f"{name}: non-finite values left after preprocessing.")
    return Dataset(
        X=X,
        y=y,
        n_classes=len(class_names),
        name=name,
        notes=notes,
        feature_names=tuple(feature_names),
        class_names=tuple(class_names),
    )


def _class_note(y, names) -> str:
    counts = np.bincount(y, minlength=len(names))
    return "classes " + ", ".join(f"{c}={nm} ({int(m)})" for c, (nm, m) in enumerate(zip(names, counts)))


def _imputed_note(n_cells: int, n_rows: int) -> str:
    if n_cells == 0:
        return "no missing values"
    return f"{n_cells} missing cells in {n_rows} rows imputed with the column mean (over observed values)"


# ---- ARFF (eucalyptus, zoo) ------------------------------------------------- #
def _read_arff(path: Path):
    from scipy.io import arff

    data, meta = arff.loadarff(str(_require(path)))
    return data, meta


def _nominal_values(meta, attr) -> tuple[str, ...]:
    return tuple(meta[attr][1])


def _load_eucalyptus(folder: Path) -> Dataset:
    path = folder / "eucalyptus.arff"
    data, meta = _read_arff(path)
    names = meta.names()
    types = meta.types()
    target = "class"
    numeric = [a for a, t in zip(names, types) if t == "numeric" and a != target]
    nominal = [a for a, t in zip(names, types) if t != "numeric" and a != target]
    X = np.column_stack([data[a].astype(np.float64) for a in numeric])  # '?' -> NaN
    X, n_cells, n_rows = _impute_column_means(X)
    raw = [v.decode() if isinstance(v, bytes) else v for v in data[target]]
    y, cls = _encode_classes(raw, _nominal_values(meta, target))
    notes = (
        f"{path.name}: {X.shape[0]} rows x {X.shape[1]} numeric attributes; dropped the {len(nominal)} "
        f"nominal attributes ({', '.join(nominal)}) and the class; {_imputed_note(n_cells, n_rows)}; "
        f"{_class_note(y, cls)} (ARFF declaration order)."
    )
    return _make("eucalyptus", X, y, cls, numeric, notes)


def _load_zoo(folder: Path) -> Dataset:
    path = folder / "zoo.arff"
    data, meta = _read_arff(path)
    names = meta.names()
    target = "class"
    feats = [a for a in names if a not in ("animal", target)]
    cols = []
    for a in feats:
        col = data[a]
        if col.dtype.kind in "SUO":  # ARFF {false, true}: code 0/1 as the file declares
            col = np.array([v.decode() if isinstance(v, bytes) else v for v in col])
            values = _nominal_values(meta, a)
            if set(values) != {"false", "true"}:
                raise ValueError(f"zoo: unexpected nominal attribute {a} with values {values}.")
            col = (col == "true").astype(np.float64)
        cols.append(np.asarray(col, dtype=np.float64))
    X = np.column_stack(cols)
    X, n_cells, n_rows = _impute_column_means(X)
    raw = [v.decode() if isinstance(v, bytes) else v for v in data[target]]
    y, cls = _encode_classes(raw, _nominal_values(meta, target))
    notes = (
        f"{path.name}: {X.shape[0]} rows x {X.shape[1]} features (15 booleans coded false=0/true=1, "
        f"legs as an integer); dropped the animal name and the class; {_imputed_note(n_cells, n_rows)}; "
        f"{_class_note(y, cls)} (ARFF declaration order)."
    )
    return _make("zoo", X, y, cls, feats, notes)


# ---- CSV (mice_protein, pima, magic, gesture_phase) ------------------------- #
def _load_mice_protein(folder: Path) -> Dataset:
    path = _require(folder / "Data_Cortex_Nuclear.csv")
    with _open_text(path) as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], [r for r in rows[1:] if r]
    descriptive = ("MouseID", "Genotype", "Treatment", "Behavior", "class")
    for col in descriptive:
        if col not in header:
            raise ValueError(f"{path}: expected a column {col!r} in the header.")
    feat_idx = [i for i, h in enumerate(header) if h not in descriptive]
    X = np.array([[float(r[i]) if r[i].strip() else np.nan for i in feat_idx] for r in body], dtype=np.float64)
    X, n_cells, n_rows = _impute_column_means(X)
    y, cls = _encode_classes([r[header.index("class")] for r in body])
    notes = (
        f"{path.name}: {X.shape[0]} rows x {X.shape[1]} protein expression levels; dropped MouseID, "
        f"Genotype, Treatment, Behavior and class (the 8 classes combine the three descriptive columns); "
        f"{_imputed_note(n_cells, n_rows)}; {_class_note(y, cls)} (sorted by name)."
    )
    return _make("mice_protein", X, y, cls, [header[i] for i in feat_idx], notes)


def _load_pima(folder: Path) -> Dataset:
    path = _require(folder / "pima-indians-diabetes.data")
    with _open_text(path) as fh:
        header = fh.readline().strip().split(",")
    data = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float64, ndmin=2)
    X, raw = data[:, :-1], data[:, -1]
    X, n_cells, n_rows = _impute_column_means(np.ascontiguousarray(X))
    y, cls = _encode_classes(raw)
    notes = (
        f"{path.name} (UCI row order, one header line): {X.shape[0]} rows x {X.shape[1]} features; "
        f"dropped the class column; zeros kept as recorded (the file codes some unknown values as 0 "
        f"and the paper does not treat them as missing); {_imputed_note(n_cells, n_rows)}; "
        f"{_class_note(y, cls)}."
    )
    return _make("pima", X, y, cls, header[:-1], notes)


def _load_magic(folder: Path) -> Dataset:
    path = _require(folder / "magic04.data")
    X = np.loadtxt(path, delimiter=",", usecols=range(10), dtype=np.float64, ndmin=2)
    raw = np.loadtxt(path, delimiter=",", usecols=10, dtype=str, ndmin=1)
    X, n_cells, n_rows = _impute_column_means(X)
    y, cls = _encode_classes(raw, ("g", "h"))  # PMLB's coding: g (gamma) = 0, h (hadron) = 1
    names = ("fLength", "fWidth", "fSize", "fConc", "fConc1", "fAsym", "fM3Long", "fM3Trans", "fAlpha", "fDist")
    notes = (
        f"{path.name} (UCI, no header): {X.shape[0]} rows x {X.shape[1]} features; dropped the class "
        f"column; {_imputed_note(n_cells, n_rows)}; {_class_note(y, cls)}."
    )
    return _make("magic", X, y, cls, names, notes)


_GESTURE_FILES = ("a1", "a2", "a3", "b1", "b3", "c1", "c3")


def _load_gesture_phase(folder: Path) -> Dataset:
    blocks, labels, feat_names = [], [], None
    for stem in _GESTURE_FILES:
        path = _require(folder / f"{stem}_va3.csv")
        with _open_text(path) as fh:
            header = fh.readline().strip().split(",")
        if header[-1] != "Phase":
            raise ValueError(f"{path}: expected the last column to be 'Phase', got {header[-1]!r}.")
        n_feat = len(header) - 1
        if feat_names is None:
            feat_names = header[:-1]
        elif header[:-1] != feat_names:
            raise ValueError(f"{path}: columns differ from {_GESTURE_FILES[0]}_va3.csv.")
        blocks.append(np.loadtxt(path, delimiter=",", skiprows=1, usecols=range(n_feat), dtype=np.float64, ndmin=2))
        labels.append(np.loadtxt(path, delimiter=",", skiprows=1, usecols=n_feat, dtype=str, ndmin=1))
    X = np.concatenate(blocks)
    X, n_cells, n_rows = _impute_column_means(X)
    y, cls = _encode_classes(np.concatenate(labels))
    notes = (
        f"{', '.join(s + '_va3.csv' for s in _GESTURE_FILES)} stacked in this order: {X.shape[0]} rows x "
        f"{X.shape[1]} features (the processed velocity/acceleration columns 1..32); dropped Phase; "
        f"{_imputed_note(n_cells, n_rows)}; {_class_note(y, cls)} (sorted by name; "
        f"D=rest, H=hold, P=preparation, R=retraction, S=stroke)."
    )
    return _make("gesture_phase", X, y, cls, feat_names, notes)


# ---- PMLB TSV.gz (biomed, kddcup, shuttle, spambase) ------------------------ #
def _read_pmlb(path: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    _require(path)
    with _open_text(path) as fh:
        header = fh.readline().rstrip("\r\n").split("\t")
    if header[-1] != "target":
        raise ValueError(f"{path}: expected the last column to be 'target', got {header[-1]!r}.")
    data = np.loadtxt(path, delimiter="\t", skiprows=1, dtype=np.float64, ndmin=2)
    return header, data[:, :-1], data[:, -1]


def _load_pmlb(name: str, folder: Path, drop: tuple[str, ...] = (), extra: str = "") -> Dataset:
    path = folder / f"{name}.tsv.gz"
    header, X, raw = _read_pmlb(path)
    keep = [i for i, h in enumerate(header[:-1]) if h not in drop]
    X = np.ascontiguousarray(X[:, keep])
    X, n_cells, n_rows = _impute_column_means(X)
    y, cls = _encode_classes(raw)
    dropped = ", ".join(list(drop) + ["target"])
    notes = (
        f"{path.name} (PMLB): {X.shape[0]} rows x {X.shape[1]} features; dropped {dropped}; "
        f"{extra}{_imputed_note(n_cells, n_rows)}; {_class_note(y, cls)} (PMLB target values, sorted)."
    )
    return _make(name, X, y, cls, [header[i] for i in keep], notes)


def _load_biomed(folder: Path) -> Dataset:
    return _load_pmlb(
        "biomed",
        folder,
        drop=("Observation_number",),
        extra="kept the hospital id and date columns, as the 209 x 7 of the paper's Table 1 implies; ",
    )


def _load_kddcup(folder: Path) -> Dataset:
    return _load_pmlb(
        "kddcup",
        folder,
        extra="the symbolic columns protocol_type, service, flag (Atr-1..3) are PMLB's integer codes; ",
    )


def _load_shuttle(folder: Path) -> Dataset:
    return _load_pmlb("shuttle", folder)


def _load_spambase(folder: Path) -> Dataset:
    return _load_pmlb("spambase", folder)


# ---- MNIST idx ------------------------------------------------------------- #
def _read_idx(path: Path, magic: int) -> np.ndarray:
    with gzip.open(_require(path), "rb") as fh:
        raw = fh.read()
    got = int.from_bytes(raw[:4], "big")
    if got != magic:
        raise ValueError(f"{path}: not an idx file of the expected kind (magic {got}, expected {magic}).")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    offset = 4 + 4 * ndim
    arr = np.frombuffer(raw, dtype=np.uint8, offset=offset)
    if arr.size != int(np.prod(dims)):
        raise ValueError(f"{path}: header says {dims} but holds {arr.size} bytes of data.")
    return arr.reshape(dims)


def _load_mnist(folder: Path) -> Dataset:
    images = _read_idx(folder / "train-images-idx3-ubyte.gz", 2051)
    labels = _read_idx(folder / "train-labels-idx1-ubyte.gz", 2049)
    if images.shape[0] != labels.shape[0]:
        raise ValueError(f"mnist: {images.shape[0]} images but {labels.shape[0]} labels.")
    X = images.reshape(images.shape[0], -1).astype(np.float64)
    y, cls = _encode_classes(labels.astype(np.int64))
    notes = (
        f"train-images/labels-idx*-ubyte.gz: the training set only, {X.shape[0]} rows x {X.shape[1]} "
        f"pixels (28x28, row-major) as raw intensities 0..255; the 10000 test images are not included; "
        f"no missing values; {_class_note(y, cls)}."
    )
    return _make("mnist", X, y, cls, [f"pixel{i}" for i in range(X.shape[1])], notes)


_LOADERS = {
    "eucalyptus": _load_eucalyptus,
    "mice_protein": _load_mice_protein,
    "biomed": _load_biomed,
    "pima": _load_pima,
    "magic": _load_magic,
    "gesture_phase": _load_gesture_phase,
    "mnist": _load_mnist,
    "zoo": _load_zoo,
    "kddcup": _load_kddcup,
    "shuttle": _load_shuttle,
    "spambase": _load_spambase,
}
