"""Input checks shared by every estimator and the CLI.

Every check raises a specific ``ValueError``/``TypeError`` before any work
starts, and none of them modifies the caller's data: arrays are converted to a
working dtype by copy when needed, never in place.
"""

from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass

import numpy as np

__all__ = [
    "check_points",
    "check_sample_weight",
    "check_n_clusters",
    "check_positive",
    "check_fraction",
    "check_int",
    "check_random_state",
    "column_span",
    "power_of_two_exponent",
    "scale_exactly",
    "validate_params",
    "Interval",
    "Options",
    "InstanceOf",
    "NONE",
    "BOOLEAN",
    "RANDOM_STATE",
]


def check_points(X, *, name: str = "X", dtype=(np.float64, np.float32), min_samples: int = 1) -> np.ndarray:
    """Validate a point matrix.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Finite real numbers. Lists, NumPy arrays and array-likes are accepted;
        sparse matrices are not.
    name : str
        Name used in error messages.
    dtype : dtype or tuple of dtypes
        Accepted floating dtypes; other inputs are converted (by copy) to the first.
    min_samples : int
        Smallest accepted number of rows.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        C-contiguous float array; the input itself when it already qualifies.
    """
    if hasattr(X, "toarray") or type(X).__module__.startswith("scipy.sparse"):
        raise TypeError(f"{name} is a sparse matrix; bigclust needs a dense array (call .toarray()).")
    if isinstance(X, (str, bytes)):
        raise TypeError(f"{name} must be an array of numbers, got a string.")
    try:
        arr = np.asarray(X)
    except Exception as exc:  # ragged lists and the like
        raise ValueError(f"{name} could not be converted to an array: {exc}") from None
    if arr.dtype == object:
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} contains values that are not numbers: {exc}") from None
    if arr.dtype.kind == "c":
        raise ValueError(f"Complex data not supported: {name} has dtype {arr.dtype}; only real numbers are.")
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} has dtype {arr.dtype}; expected real numbers.")
    if arr.ndim != 2:
        hint = (" Reshape your data with X.reshape(-1, 1) if it has one feature, or X.reshape(1, -1) "
                "if it is one sample.") if arr.ndim == 1 else ""
        raise ValueError(f"{name} must be 2-D (n_samples, n_features), got {arr.ndim}-D with shape {arr.shape}.{hint}")
    n, d = arr.shape
    if n < min_samples:
        raise ValueError(f"{name} has {n} sample(s); at least {min_samples} required.")
    if d < 1:
        raise ValueError(f"{name} has 0 feature(s) (shape=({n}, 0)) while a minimum of 1 is required.")
    dtypes = dtype if isinstance(dtype, tuple) else (dtype,)
    if arr.dtype not in dtypes:
        arr = arr.astype(dtypes[0])
    if not _all_finite(arr):
        bad = int(np.count_nonzero(~np.isfinite(arr)))
        raise ValueError(f"{name} contains {bad} NaN or infinite value(s); clean or impute them first.")
    return np.ascontiguousarray(arr)


def _all_finite(arr: np.ndarray, chunk: int = 1 << 16) -> bool:
    """``np.isfinite(arr).all()`` a block of rows at a time (no boolean copy of a large array)."""
    return all(np.isfinite(arr[s:s + chunk]).all() for s in range(0, arr.shape[0], chunk))


def check_sample_weight(sample_weight, n_samples: int, *, dtype=np.float64) -> np.ndarray:
    """Validate per-sample weights: shape (n_samples,), finite, non-negative, positive total.

    Returns a new array (ones when ``sample_weight`` is None); the input is never modified.
    """
    if sample_weight is None:
        return np.ones(n_samples, dtype=dtype)
    if np.isscalar(sample_weight):
        scalar = float(sample_weight)  # type: ignore[arg-type]  # a non-number raises TypeError/ValueError
        if not np.isfinite(scalar) or scalar <= 0:
            raise ValueError("A scalar sample_weight must be a positive finite number.")
        return np.full(n_samples, scalar, dtype=dtype)
    w = np.asarray(sample_weight)
    if w.dtype.kind not in "biuf":
        raise TypeError(f"sample_weight must be numeric, got dtype {w.dtype}.")
    w = w.astype(dtype)  # copy: never alias the caller's array
    if w.ndim != 1 or w.shape[0] != n_samples:
        raise ValueError(f"sample_weight must have shape ({n_samples},), got {w.shape}.")
    if not np.isfinite(w).all():
        raise ValueError("sample_weight contains NaN or infinite values.")
    if (w < 0).any():
        raise ValueError(f"sample_weight contains {int((w < 0).sum())} negative value(s); weights must be >= 0.")
    with np.errstate(over="ignore"):
        total = w.sum()
    if not np.isfinite(total):
        raise ValueError("sample_weight sums to more than the largest float64 (about 1.8e308); "
                         "divide the weights by a common factor (only their ratios matter to the clustering).")
    if total <= 0:
        raise ValueError("sample_weight sums to zero; at least one sample needs a positive weight.")
    return w


# --------------------------------------------------------------------------- exact rescaling
#
# Multiplying a float by a power of two changes only its exponent, so as long as
# nothing overflows or falls below the smallest normal number the result is
# exact and can be undone exactly. Estimators whose kernels need data within a
# range (float32 hash projections, squared distances summed in float64) map data
# outside it into the range this way, fit, and map the answer back: the fit on
# ``X * 2**-e`` is bit for bit the fit on that array, and centres and costs are
# scaled back by the same powers of two.


def column_span(X: np.ndarray, chunk: int = 1 << 16) -> tuple[float, float]:
    """(largest column range ``max_j (max_i X[i, j] - min_i X[i, j])``, largest ``|X[i, j]|``), a block of rows at a time.

    ``X`` must be finite (:func:`check_points`); the range is computed in float64
    and may be ``inf`` when a column spans more than the float64 range.
    """
    X = np.asarray(X)
    lo = np.full(X.shape[1], np.inf)
    hi = np.full(X.shape[1], -np.inf)
    for s in range(0, X.shape[0], chunk):
        block = X[s:s + chunk]
        np.minimum(lo, block.min(axis=0), out=lo)
        np.maximum(hi, block.max(axis=0), out=hi)
    with np.errstate(over="ignore"):
        span = float((hi - lo).max()) if X.shape[0] else 0.0
    biggest = float(max(np.abs(lo).max(), np.abs(hi).max())) if X.shape[0] else 0.0
    return span, biggest


def power_of_two_exponent(value: float, low: int, high: int) -> int:
    """The ``e`` with ``value * 2**-e`` in ``[0.5, 1)`` when ``value`` lies outside ``[2**low, 2**high]``, else 0.

    ``value`` must be positive (finite or ``inf``: then ``e`` is 1024, one past the float64 range).
    """
    if not np.isfinite(value):
        return 1024
    if 2.0 ** low <= value <= 2.0 ** high:
        return 0
    return int(np.frexp(value)[1])


def scale_exactly(a: np.ndarray, e: int, *, name: str = "X") -> np.ndarray:
    """``a * 2**-e`` in float64 (a new array), checked to be exact (no value over- or underflowed).

    Raises ValueError naming ``name`` when some value cannot be represented after
    the scaling, which happens only for values more than ``2**1000`` times
    smaller or larger than the rest.
    """
    exact = True
    with np.errstate(over="ignore", under="ignore"):
        out = np.ldexp(np.asarray(a, dtype=np.float64), -e)
        for s in range(0, out.shape[0], 1 << 16):  # the round trip a block at a time (no second copy)
            block = out[s:s + (1 << 16)]
            exact = exact and bool(np.isfinite(block).all()) and np.array_equal(np.ldexp(block, e), a[s:s + (1 << 16)])
    if not exact:
        raise ValueError(f"{name} mixes magnitudes more than 2^1000 apart, beyond what can be rescaled exactly "
                         "into the range the kernels handle; divide or drop the outlying values.")
    return out


def check_int(value, name: str, *, low: int | None = None, high: int | None = None) -> int:
    """Check that ``value`` is an integer (not bool) in [low, high]."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer; got a value of type {type(value).__name__}.")
    value = int(value)
    if low is not None and value < low:
        raise ValueError(f"{name} must be >= {low}.")
    if high is not None and value > high:
        raise ValueError(f"{name} must be <= {high}.")
    return value


def check_n_clusters(n_clusters, n_samples: int, *, name: str = "n_clusters") -> int:
    """Check 1 <= n_clusters <= n_samples."""
    k = check_int(n_clusters, name, low=1)
    if k > n_samples:
        raise ValueError(f"{name} is larger than the number of samples ({n_samples}); it must be in [1, {n_samples}].")
    return k


def check_positive(value, name: str, *, allow_zero: bool = False, allow_inf: bool = False) -> float:
    """Check a real number is > 0 (or >= 0) and finite (unless ``allow_inf``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number; got a value of type {type(value).__name__}.")
    value = float(value)
    if np.isnan(value) or (np.isinf(value) and not allow_inf):
        raise ValueError(f"{name} must be a finite number.")
    if value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else '> 0'}.")
    return value


def check_fraction(value, name: str, *, inclusive_high: bool = False) -> float:
    """Check 0 < value < 1 (or <= 1 with ``inclusive_high``)."""
    value = check_positive(value, name)
    if value > 1 or (value == 1 and not inclusive_high):
        raise ValueError(f"{name} must be in (0, 1{']' if inclusive_high else ')'}.")
    return value


def check_random_state(seed) -> np.random.Generator:
    """Turn ``None``, an int, a ``SeedSequence`` or a ``Generator`` into a ``numpy.random.Generator``.

    A ``numpy.random.RandomState`` is accepted too (a Generator is seeded from it), so
    scikit-learn style ``random_state`` values work everywhere.
    """
    if seed is None or isinstance(seed, (numbers.Integral, np.random.SeedSequence)):
        if isinstance(seed, numbers.Integral) and not isinstance(seed, bool) and seed < 0:
            raise ValueError("random_state must be a non-negative integer.")
        return np.random.default_rng(seed)  # type: ignore[arg-type]  # an Integral is an int to NumPy
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, np.random.RandomState):
        return np.random.default_rng(seed.randint(0, 2**32 - 1, dtype=np.uint64))
    raise TypeError(f"random_state must be None, an int, a SeedSequence or a Generator, got {type(seed).__name__}.")


def warn_fewer_distinct(n_distinct: int, n_clusters: int, cls=None) -> None:
    """Warn, as scikit-learn's KMeans does, when fewer distinct points than clusters exist."""
    from sklearn.exceptions import ConvergenceWarning

    warnings.warn(
        f"Number of distinct clusters ({n_distinct}) found smaller than n_clusters ({n_clusters}). "
        "Possibly due to duplicate points in X.",
        cls or ConvergenceWarning,
        stacklevel=3,
    )


# --------------------------------------------------------------------------- declarative parameter checks
#
# Every public estimator declares its parameters' constraints in a class attribute
# ``_parameter_constraints = {"name": [constraint, ...]}`` (any one constraint may
# hold, as in scikit-learn) and calls ``validate_params(self)`` first thing in
# ``fit``. Messages name the estimator, the parameter and what is allowed; they
# never repeat the value passed (it may be anything, including private data).


@dataclass(frozen=True)
class Interval:
    """A number of type ``kind`` (int or float; ints are accepted for floats, bools never) between bounds.

    ``closed`` says which bounds belong to the interval: "both", "left", "right" or "neither".
    A float interval excludes NaN, and infinity unless a bound is None on that side
    and ``finite`` is False.
    """

    kind: type
    low: float | None = None
    high: float | None = None
    closed: str = "both"
    finite: bool = True
    why: str = ""  # why the bounds are what they are, appended to the message

    def is_type(self, value) -> bool:
        if isinstance(value, bool):
            return False
        return isinstance(value, numbers.Integral if self.kind is int else numbers.Real)

    def holds(self, value) -> bool:
        if not self.is_type(value):
            return False
        v = float(value)
        if np.isnan(v) or (self.finite and np.isinf(v)):
            return False
        if self.low is not None and (v < self.low or (v == self.low and self.closed in ("right", "neither"))):
            return False
        if self.high is not None and (v > self.high or (v == self.high and self.closed in ("left", "neither"))):
            return False
        return True

    def describe(self) -> str:
        what = "an integer" if self.kind is int else "a real number"
        if self.low is None and self.high is None:
            return what + ("" if self.kind is int or not self.finite else " (finite)")
        lo = "-inf" if self.low is None else f"{self.low:g}"
        hi = "inf" if self.high is None else f"{self.high:g}"
        left = "[" if self.closed in ("both", "left") and self.low is not None else "("
        right = "]" if self.closed in ("both", "right") and self.high is not None else ")"
        return f"{what} in {left}{lo}, {hi}{right}" + (f" ({self.why})" if self.why else "")


@dataclass(frozen=True)
class Options:
    """One of a fixed set of values (strings, usually)."""

    values: tuple

    def is_type(self, value) -> bool:
        return isinstance(value, type(self.values[0]))

    def holds(self, value) -> bool:
        return any(value == v and type(value) is type(v) for v in self.values)

    def describe(self) -> str:
        return "one of " + ", ".join(repr(v) for v in self.values)


@dataclass(frozen=True)
class InstanceOf:
    """An instance of one of ``types`` (e.g. ``dict``, ``bool``)."""

    types: tuple
    label: str

    def is_type(self, value) -> bool:
        return isinstance(value, self.types)

    def holds(self, value) -> bool:
        return isinstance(value, self.types)

    def describe(self) -> str:
        return self.label


class _NoneConstraint:
    def is_type(self, value) -> bool:
        return value is None

    holds = is_type

    def describe(self) -> str:
        return "None"


class _RandomState:
    def is_type(self, value) -> bool:
        return value is None or isinstance(value, (numbers.Integral, np.random.Generator, np.random.SeedSequence,
                                                   np.random.RandomState)) and not isinstance(value, bool)

    def holds(self, value) -> bool:
        return self.is_type(value) and not (isinstance(value, numbers.Integral) and value < 0)

    def describe(self) -> str:
        return "None, a non-negative integer, a SeedSequence, a Generator or a RandomState"


NONE = _NoneConstraint()
RANDOM_STATE = _RandomState()
BOOLEAN = InstanceOf((bool, np.bool_), "a bool")


def validate_params(est, constraints: dict | None = None) -> None:
    """Check every parameter of ``est`` against its declared constraints, before any work.

    Raises ``TypeError`` when the value has none of the allowed types and
    ``ValueError`` when it has an allowed type but is out of range; the message
    names the estimator, the parameter and what is allowed (not the value).
    """
    constraints = type(est)._parameter_constraints if constraints is None else constraints
    owner = type(est).__name__
    for name, allowed in constraints.items():
        value = getattr(est, name)
        if any(c.holds(value) for c in allowed):
            continue
        wanted = " or ".join(c.describe() for c in allowed)
        if any(c.is_type(value) for c in allowed):
            raise ValueError(f"{owner}: {name} must be {wanted}.")
        raise TypeError(f"{owner}: {name} must be {wanted}; got a value of type {type(value).__name__}.")


def check_new_points(est, X, check_values) -> np.ndarray:
    """``X`` for a fitted estimator's predict/transform/score: ``check_values(X)`` (the family's own
    value checks, which never quote a value) with the fitted column names and feature count checked
    as scikit-learn checks them: for a DataFrame before its values (reindexed columns would read as
    NaN), otherwise on the checked array, after the value checks, whose messages are clearer."""
    from sklearn.utils.validation import validate_data

    frame = hasattr(X, "columns")
    if frame:
        validate_data(est, X, skip_check_array=True, reset=False)
    checked = check_values(X)
    if not frame:
        validate_data(est, checked, skip_check_array=True, reset=False)
    return checked
