"""The one-round protocol: public parameters, report format, Encoder and Decoder.

Encoder (client, Algorithm 3) and Decoder (server, Algorithm 4) share a
:class:`ProtocolParams` and an integer ``public_seed`` (the shared public
randomness: SimHash hyperplanes or the random projection, and bucket hashes).
The client path is NumPy only.

Report format, version 2: 24 bytes per report, little-endian, no padding::

    offset size type   field
    0      1    uint8  format version (= 2)
    1      1    uint8  histogram level l_h (one of the public histogram levels)
    2      1    uint8  vector level l_v (one of the public vector levels)
    3      1    uint8  flags: bit 1 = vector bit; "hadamard": bit 0 = histogram bit
                       (1 means +1), bits 2-7 zero; "olh": bit 0 zero, bits 2-7 = the
                       randomised hash value w < g
    4      4    uint32 parameter fingerprint (first 4 bytes, little-endian, of the
                       SHA-256 of the canonical text of every public parameter and the
                       seed, :meth:`ProtocolParams.canonical`; lets a server reject
                       foreign reports)
    8      4    uint32 "hadamard": histogram row r_h, uniform on the level's bucket
                       domain; "olh": the hash seed, uniform on [0, 2^32)
    12     4    uint32 vector row r_v, uniform on the level's bucket domain
    16     8    uint64 vector payload: "duchi" -> direction seed; "coordinate" ->
                       coordinate index

Every field is either public (version, fingerprint), drawn independently of the data
(levels, rows, seeds), or a randomised response. The histogram bit / OLH value and the
vector bit are the only data-dependent fields and each is an exact randomised response
with eps_h resp. eps_v: the report is (eps_h + eps_v)-LDP (basic composition).

Version 2 derives all public randomness from ``public_seed`` with SHA-256 in counter mode
(:mod:`bigclust.private._public`) instead of NumPy's generator, so reports of version 1
are refused. docs/private.md ("Protocol specification") is the byte-for-byte reference.
"""

from __future__ import annotations

import hashlib
import math
import warnings
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from . import _public
from ._mechanisms import HISTOGRAM_MECHANISMS, VECTOR_MECHANISMS, fwht
from ._accounting import default_histogram_share, split_epsilon
from ._random import RandomSource
from ._trees import LatticeNetTree, SimHashTree, build_net_tree

__all__ = [
    "ProtocolParams",
    "Encoder",
    "Decoder",
    "DecodeResult",
    "REPORT_DTYPE",
    "REPORT_SIZE",
    "FORMAT_VERSION",
    "MAX_EPSILON",
    "PrivateUtilityWarning",
    "ClippingWarning",
]

FORMAT_VERSION = 2
# Largest accepted local budget: beyond it randomised response keeps the true value with
# probability 1 - e^-64 (no privacy left), and exp(epsilon) would overflow a float.
MAX_EPSILON = 64.0
# Public radius bounds: radius^2 times n k^2 (the noise floor, the trivial cost) stays
# finite and non-zero in float64 for any realistic n and k.
RADIUS_RANGE = (1e-100, 1e100)


class PrivateUtilityWarning(UserWarning):
    """The release will be poor: k beyond what the coreset supports, or noise above the trivial answer."""


class ClippingWarning(UserWarning):
    """Rows lie outside the public ball and were clipped to it (simulation estimators only)."""
REPORT_DTYPE = np.dtype(
    [
        ("version", "u1"),
        ("hlevel", "u1"),
        ("vlevel", "u1"),
        ("flags", "u1"),
        ("fingerprint", "<u4"),
        ("hrow", "<u4"),
        ("vrow", "<u4"),
        ("payload", "<u8"),
    ]
)
REPORT_SIZE = REPORT_DTYPE.itemsize  # 24
_MAX_NET_DIM = 6


def _as_float_array(values, what: str = "points") -> np.ndarray:
    """np.asarray(values, float64) whose error never carries the offending value.

    NumPy's message quotes it ("could not convert string to float: '...'"), so the
    error is raised outside the ``except`` block: no message, cause or context holds it.
    """
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        pass
    raise ValueError(f"{what} must be numeric (the offending value is not shown).")


@dataclass(frozen=True)
class ProtocolParams:
    """Public parameters of the protocol, shared by every client and the server.

    Parameters
    ----------
    n_features : int
        Dimension d of the users' points.
    epsilon : float
        Local privacy budget of one report. Split ``histogram_share`` /
        ``1 - histogram_share`` between the two channels (the paper: eps/2 each).
        Rounded down to a multiple of 2^-20; ``epsilon_spent`` is the exact value.
    n_levels : int
        Depth T of the tree (levels 1..T are encoded). Deeper trees separate more
        clusters but spread the histogram reports over more levels (variance ~ T).
    tree : {"simhash", "net"}
        "simhash": the SimHash LSH tree of Section 5 (default, any dimension).
        "net": lattice net tree of Section 3 after a random projection to
        ``projection_dim`` dimensions (Algorithm 3), for low dimension.
    bucket_bits : int
        log2 of the largest bucket domain of one level. Levels with at most that many
        nodes are encoded without hashing. Server memory is about
        ``T 2^b`` counters + ``|vector levels| 2^b d`` floats.
    vector_levels : "auto", "deepest", "all" or tuple of int
        Levels whose nodes get vector sums. "auto" (default): "deepest" for SimHash,
        "all" for the net tree (whose leaves sit at many levels). "deepest" sends all
        vector reports to level T: SimHash leaves that matter are at level T, and not
        sampling a level keeps the vector noise T times lower. "all" is the paper's
        choice (centres of every node; Section 5).
    histogram_levels : "auto", "all" or tuple of int
        Levels that carry the histogram channel (the frequency oracle); the deepest must
        be ``n_levels``. Each report samples one of them, so the count noise grows like
        the square root of their number. The tree builder (Algorithm 1) moves from one
        histogram level to the next, expanding a node into all its descendants there
        (a net tree with a larger branching factor, Lemma 15). "all": every level 1..T,
        Algorithm 1 as written. "auto" (default): net tree -> "all"; SimHash -> ``(T,)``
        when ``T <= bucket_bits`` (a one-level tree whose 2^T nodes are all estimated by
        one FWHT), else ``m = ceil(T / bucket_bits)`` levels ``T, T - s, ...`` with
        ``s = ceil(T / m)``. With every level the count noise is sqrt(T) times larger
        and the tree loses clusters (docs/notes/private-measurements.md).
    histogram_share : float in (0, 1) or None
        Fraction of epsilon for the histogram channel. None (default): 0.25 for SimHash,
        0.5 (the paper's split) for the net tree, whose positions come from the tree
        and whose histogram is spread over every level. Why 0.25 for SimHash: the
        centres' error comes from the vector channel (every report adds noise to every
        bucket: error ~ k sqrt(n d) / (n eps_v) per centre), while the histogram only
        has to detect the clusters (the measured trade-off is in
        docs/notes/private-measurements.md).
    vector_mechanism : {"duchi", "coordinate"}
    histogram_mechanism : {"hadamard", "olh"}
        The frequency oracle: Hadamard randomised response (default) or optimal local
        hashing with GF(2)-linear hashes (same counter array and FWHT; lower variance
        when eps_h >~ 1: 0.79x HRR's at eps_h = 1, 0.42x at 2; identical below ~0.5).
    radius : float in [1e-100, 1e100] or "unit"
        Required public bound: users' points are mapped by ``(x - center) / radius`` and
        then clipped to the unit ball (any finite point, however far: see the
        specification's step 1 in docs/private.md). Must not be computed from the private data.
        ``"unit"`` states that the data already lie in the unit ball around ``center``
        (radius 1). There is no silent default: a wrong bound clips real data.
    center : tuple of float or None
        Public centre (default: the origin).
    projection_dim : int or None
        Net tree only: d' (default ``min(d, 3)``; at most 6). d' = d means no projection.
    projection_scale : float or None
        Net tree only: Lambda of Algorithm 3 (default ``sqrt(d / d') / 2``).
    """

    n_features: int
    epsilon: float
    n_levels: int = 12
    tree: str = "simhash"
    bucket_bits: int = 14
    vector_levels: object = "auto"
    histogram_levels: object = "auto"
    histogram_share: float | None = None
    vector_mechanism: str = "duchi"
    histogram_mechanism: str = "hadamard"
    radius: float | str | None = None
    center: tuple | None = None
    projection_dim: int | None = None
    projection_scale: float | None = None

    def __post_init__(self):
        from .._core.validation import check_int, check_positive

        check_int(self.n_features, "n_features", low=1)
        check_positive(self.epsilon, "epsilon")
        if not float(self.epsilon) <= MAX_EPSILON:
            raise ValueError(f"epsilon must be at most {MAX_EPSILON:g} (a larger local budget gives no privacy).")
        check_int(self.n_levels, "n_levels", low=1, high=63)
        if self.tree not in ("simhash", "net"):
            raise ValueError(f"tree must be 'simhash' or 'net', got {self.tree!r}.")
        check_int(self.bucket_bits, "bucket_bits", low=1, high=24)
        share = check_positive(self.resolved_histogram_share(), "histogram_share")
        if share >= 1:
            raise ValueError(f"histogram_share must be in (0, 1), got {share}.")
        if self.vector_mechanism not in VECTOR_MECHANISMS:
            raise ValueError(f"vector_mechanism must be one of {sorted(VECTOR_MECHANISMS)}, got {self.vector_mechanism!r}.")
        if self.histogram_mechanism not in HISTOGRAM_MECHANISMS:
            raise ValueError(f"histogram_mechanism must be one of {sorted(HISTOGRAM_MECHANISMS)}, got {self.histogram_mechanism!r}.")
        if self.radius is None:
            raise ValueError(
                "radius is required: a public bound on ||x - center|| (not computed from the data), "
                "or 'unit' for points already in the unit ball."
            )
        if isinstance(self.radius, str):
            if self.radius != "unit":
                raise ValueError("radius must be a positive number or 'unit'.")
            object.__setattr__(self, "radius", 1.0)
        check_positive(self.radius, "radius")
        if not RADIUS_RANGE[0] <= float(self.radius) <= RADIUS_RANGE[1]:
            raise ValueError(f"radius must be in [{RADIUS_RANGE[0]:g}, {RADIUS_RANGE[1]:g}] (rescale the data and "
                             "centre by a public constant otherwise).")
        object.__setattr__(self, "radius", float(self.radius))
        if self.center is not None:
            c = _as_float_array(self.center, what="center")
            if c.shape != (self.n_features,) or not np.isfinite(c).all():
                raise ValueError(f"center must be {self.n_features} finite numbers.")
            object.__setattr__(self, "center", tuple(float(v) + 0.0 for v in c))
        if self.projection_dim is not None:
            check_int(self.projection_dim, "projection_dim", low=1, high=min(self.n_features, _MAX_NET_DIM))
        if self.projection_scale is not None:
            check_positive(self.projection_scale, "projection_scale")
        self.resolved_vector_levels()  # validates
        self.resolved_histogram_levels()
        if self.tree == "net" and self.projection_dim is None and min(self.n_features, 3) > _MAX_NET_DIM:
            raise ValueError("net tree needs projection_dim <= 6")

    # ---- derived public quantities -------------------------------------------------
    def resolved_vector_levels(self) -> tuple:
        v = self.vector_levels
        if isinstance(v, str):
            if v == "auto":
                v = "deepest" if self.tree == "simhash" else "all"
            if v == "deepest":
                return (self.n_levels,)
            if v == "all":
                return tuple(range(1, self.n_levels + 1))
            raise ValueError(f"vector_levels must be 'auto', 'deepest', 'all' or a tuple of levels, got {v!r}.")
        try:
            levels = tuple(sorted({int(x) for x in v}))
        except (TypeError, ValueError):
            raise ValueError("vector_levels must be 'auto', 'deepest', 'all' or a tuple of levels.") from None
        if not levels or levels[0] < 1 or levels[-1] > self.n_levels:
            raise ValueError(f"vector_levels must be non-empty and within 1..{self.n_levels}.")
        return levels

    def resolved_histogram_share(self) -> float:
        if self.histogram_share is None:
            return default_histogram_share(self.tree)
        return self.histogram_share

    def resolved_histogram_levels(self) -> tuple:
        h, T = self.histogram_levels, self.n_levels
        if isinstance(h, str):
            if h == "auto":
                if self.tree == "net":
                    return tuple(range(1, T + 1))
                # SimHash: as few levels as the bucket domain allows. One level (T) when
                # its 2^T nodes fit in the domain (no hashing); otherwise ceil(T / b)
                # evenly spaced levels, so that each step expands a node into at most
                # 2^b descendants.
                m = math.ceil(T / self.bucket_bits)
                step = math.ceil(T / m)
                return tuple(sorted({lv for lv in range(T, 0, -step)}))
            if h == "all":
                return tuple(range(1, T + 1))
            raise ValueError(f"histogram_levels must be 'all', 'auto' or a tuple of levels, got {h!r}.")
        try:
            levels = tuple(sorted({int(x) for x in h}))
        except (TypeError, ValueError):
            raise ValueError("histogram_levels must be 'all', 'auto' or a tuple of levels.") from None
        if not levels or levels[0] < 1 or levels[-1] != T:
            raise ValueError(f"histogram_levels must be non-empty, within 1..{T}, and include n_levels = {T}.")
        return levels

    def epsilons(self) -> tuple[Fraction, Fraction]:
        """(eps_h, eps_v) as exact rationals; their sum is ``epsilon`` rounded down.

        See :func:`~bigclust.private._accounting.split_epsilon`.
        """
        return split_epsilon(self.epsilon, self.resolved_histogram_share())

    @property
    def epsilon_spent(self) -> float:
        """The exact local budget of one report (<= epsilon)."""
        eps_h, eps_v = self.epsilons()
        return float(eps_h + eps_v)

    def net_dims(self) -> tuple[int, float]:
        dp = self.projection_dim if self.projection_dim is not None else min(self.n_features, 3)
        lam = self.projection_scale if self.projection_scale is not None else math.sqrt(self.n_features / dp) / 2.0
        if dp == self.n_features and self.projection_scale is None:
            lam = 1.0
        return dp, lam

    def canonical(self, public_seed: int) -> bytes:
        """The canonical text of every public parameter and the seed (UTF-8 bytes).

        One ``key=value`` line per parameter, each ending in ``\\n``, in this order:
        ``bigclust-private-params`` (a header line without ``=``), ``format``,
        ``n_features``, ``epsilon``, ``histogram_share``, ``epsilon_histogram``,
        ``epsilon_vector``, ``n_levels``, ``tree``, ``bucket_bits``, ``histogram_levels``,
        ``vector_levels``, ``histogram_mechanism``, ``vector_mechanism``, ``radius``,
        ``center``, ``projection_dim``, ``projection_scale``, ``public_seed``. Integers in
        decimal; floats as the 16 lower-case hex digits of their IEEE 754 binary64 bit
        pattern (big-endian; -0.0 written as 0.0); exact budgets as ``num/den``; level
        lists comma-separated; ``center`` "none" or comma-separated floats;
        ``projection_dim``/``projection_scale`` the resolved values for the net tree,
        "none" for SimHash. Derived values (levels, share, budgets) are the resolved ones,
        so two spellings of the same protocol have the same text.
        """
        seed = _public._check_seed(public_seed)
        eps_h, eps_v = self.epsilons()
        fh = _public.float_hex
        if self.tree == "net":
            dp, lam = self.net_dims()
            proj = (str(dp), fh(lam))
        else:
            proj = ("none", "none")
        lines = [
            "bigclust-private-params",
            f"format={FORMAT_VERSION}",
            f"n_features={int(self.n_features)}",
            f"epsilon={fh(self.epsilon)}",
            f"histogram_share={fh(self.resolved_histogram_share())}",
            f"epsilon_histogram={eps_h.numerator}/{eps_h.denominator}",
            f"epsilon_vector={eps_v.numerator}/{eps_v.denominator}",
            f"n_levels={int(self.n_levels)}",
            f"tree={self.tree}",
            f"bucket_bits={int(self.bucket_bits)}",
            "histogram_levels=" + ",".join(str(v) for v in self.resolved_histogram_levels()),
            "vector_levels=" + ",".join(str(v) for v in self.resolved_vector_levels()),
            f"histogram_mechanism={self.histogram_mechanism}",
            f"vector_mechanism={self.vector_mechanism}",
            f"radius={fh(self.radius)}",
            "center=" + ("none" if self.center is None else ",".join(fh(c) for c in self.center)),
            f"projection_dim={proj[0]}",
            f"projection_scale={proj[1]}",
            f"public_seed={seed}",
        ]
        return ("\n".join(lines) + "\n").encode("utf-8")

    def digest(self, public_seed: int) -> bytes:
        """SHA-256 of :meth:`canonical` (32 bytes): identifies the protocol instance."""
        return hashlib.sha256(self.canonical(public_seed)).digest()

    def fingerprint(self, public_seed: int) -> int:
        """The report's 32-bit fingerprint: the first 4 bytes of :meth:`digest`, little-endian."""
        return int.from_bytes(self.digest(public_seed)[:4], "little")


class _Public:
    """Everything derived from (params, public_seed): identical on clients and server."""

    def __init__(self, params: ProtocolParams, public_seed: int):
        self.params = params
        self.seed = _public._check_seed(public_seed)
        p = params
        self.center = np.zeros(p.n_features) if p.center is None else np.asarray(p.center, dtype=np.float64)
        if p.tree == "simhash":
            # integer hyperplanes (centred Irwin-Hall sums, ~2^32 N(0, 1)); the scaling by
            # 2^-32 is exact, so every platform holds the same float64 matrix
            planes = _public.hyperplanes(self.seed, p.n_levels, p.n_features).astype(np.float64) * 2.0**-32
            mult = _public.multipliers(self.seed, p.n_levels + 1)
            self.tree = SimHashTree(planes, mult, p.bucket_bits)
            self.projection = None
            self.scale = 1.0
        else:
            dp, lam = p.net_dims()
            if dp == p.n_features and p.projection_dim in (None, p.n_features):
                self.projection = None
            else:
                self.projection = _public.projection(self.seed, dp, p.n_features)  # (d', d), orthonormal rows
            self.scale = lam
            self.tree = LatticeNetTree(p.n_levels, dp, p.bucket_bits, _public.net_key(self.seed))
        self.eps_h, self.eps_v = p.epsilons()
        self.hist_mech = HISTOGRAM_MECHANISMS[p.histogram_mechanism][1](self.eps_h)
        self.vec_code, vec_cls = VECTOR_MECHANISMS[p.vector_mechanism]
        self.vec_mech = vec_cls(self.eps_v)
        self.vector_levels = np.asarray(p.resolved_vector_levels(), dtype=np.int64)
        self.histogram_levels = np.asarray(p.resolved_histogram_levels(), dtype=np.int64)
        self.fingerprint = p.fingerprint(self.seed)

    def tree_codes(self, Xunit: np.ndarray) -> np.ndarray:
        """Algorithm 3 lines 2-7: project, scale by Lambda (zero if too long), nearest leaf."""
        if self.params.tree == "simhash":
            return self.tree.encode(Xunit)
        xp = Xunit if self.projection is None else Xunit @ self.projection.T
        norms = np.linalg.norm(xp, axis=1)
        xs = np.where((norms <= 1.0 / self.scale)[:, None], self.scale * xp, 0.0)
        return self.tree.encode(xs)


def _to_unit_ball(X: np.ndarray, center: np.ndarray, radius: float) -> np.ndarray:
    """(X - center) / radius, rows longer than 1 scaled back to the unit sphere (a new array).

    Any finite X: a row whose squared norm overflows (|x - center| beyond ~1e154, or
    beyond the float64 range) or underflows is redone scaled by its largest entry, so
    it is clipped to the sphere (not sent to the origin) or mapped to its true tiny
    image; every other row gets exactly the plain arithmetic.
    """
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        Y = X - center
        sq = _sum_of_squares(Y)
        unsafe = ~(np.isfinite(sq) & ((sq > 1e-280) | (sq == 0.0) & ~Y.any(axis=1)))
        norms = np.sqrt(sq)
        if unsafe.any():
            norms[unsafe] = radius  # placeholder: these rows are redone below
        Y *= (1.0 / np.maximum(norms, radius))[:, None]
        if unsafe.any():
            Y[unsafe] = _to_unit_ball_scaled(X[unsafe], center, radius)
    return Y


def _sum_of_squares(Y: np.ndarray) -> np.ndarray:
    """Sum of squares of each row in coordinate order, as the specification's step 1 says.

    Not ``einsum``: its pairwise/SIMD order rounds differently in the last bit for some
    rows, and the report of such a row then differs from the reference client's.
    """
    # cumsum is sequential by definition (each entry the previous one plus the next square)
    return np.cumsum(Y * Y, axis=1)[:, -1]


def _to_unit_ball_scaled(X: np.ndarray, center: np.ndarray, radius: float) -> np.ndarray:
    """_to_unit_ball for extreme rows: each row divided by its largest |entry| m first,
    ``Y / max(|Y|, radius) = Z / max(|Z|, radius / m)`` with ``Z = Y / m``."""
    Y = X - center
    halved = ~np.isfinite(Y).all(axis=1)  # |x - c| beyond float64: the same direction at half the size
    if halved.any():
        Y[halved] = 0.5 * X[halved] - 0.5 * center
    m = np.abs(Y).max(axis=1)
    m[m == 0.0] = 1.0
    Z = Y / m[:, None]
    limit = radius / m / np.where(halved, 2.0, 1.0)  # may overflow to inf: then the image underflows to 0
    return Z / np.maximum(np.sqrt(_sum_of_squares(Z)), limit)[:, None]


class Encoder:
    """Client side of the protocol (Algorithm 3): one report of 24 bytes per user.

    Parameters
    ----------
    params : ProtocolParams
    public_seed : int
        Shared public randomness (the same on every client and on the server).
    random_source : RandomSource, optional
        The private randomness. Default: a fresh CSPRNG-backed source. Pass a seeded
        ``RandomSource(seed)`` only in tests and experiments.

    Notes
    -----
    Errors never echo the point. Points are mapped to the unit ball with the public
    ``center``/``radius`` and clipped to it; nothing about the point is stored.
    """

    def __init__(self, params: ProtocolParams, public_seed: int, *, random_source: RandomSource | None = None):
        if not isinstance(params, ProtocolParams):
            raise TypeError("params must be a ProtocolParams.")
        self.params = params
        self.public_seed = public_seed
        self._pub = _Public(params, public_seed)
        self._rng = random_source if random_source is not None else RandomSource()

    @property
    def epsilon(self) -> float:
        """Local privacy budget actually spent by one report."""
        return self.params.epsilon_spent

    def _check(self, X) -> np.ndarray:
        X = _as_float_array(X)
        d = self.params.n_features
        if X.ndim != 2 or X.shape[1] != d:
            raise ValueError(f"points must have shape (n, {d}), got shape {X.shape}.")
        if not np.isfinite(X).all():
            raise ValueError("points must be finite (NaN or infinity found).")
        return X

    def encode(self, x) -> bytes:
        """Encode one user's point ``x`` (shape (d,)) into one 24-byte report."""
        if not isinstance(x, np.ndarray):
            x = _as_float_array(x)
        if x.ndim != 1:
            raise ValueError(f"encode() takes one point of shape ({self.params.n_features},); use encode_batch for many.")
        return self.encode_batch(x[None, :])

    def encode_batch(self, X) -> bytes:
        """Encode each row of ``X`` (n, d) as one user's report; returns n * 24 bytes."""
        return self.encode_array(X).tobytes()

    _CHUNK = 8192

    def encode_array(self, X) -> np.ndarray:
        """Like :meth:`encode_batch` but returns the structured array (dtype REPORT_DTYPE)."""
        X = self._check(X)
        if X.shape[0] <= self._CHUNK:
            return self._encode_chunk(X)
        return np.concatenate([self._encode_chunk(X[s:s + self._CHUNK]) for s in range(0, X.shape[0], self._CHUNK)])

    def _encode_chunk(self, X: np.ndarray) -> np.ndarray:
        pub, rng = self._pub, self._rng
        n = X.shape[0]
        T = self.params.n_levels
        Xu = _to_unit_ball(X, pub.center, self.params.radius)
        codes = pub.tree_codes(Xu)
        # histogram channel: one level uniform on the public histogram levels
        # (data-independent), the frequency-oracle randomiser on its bucket
        nh = pub.histogram_levels.shape[0]
        hlevel = pub.histogram_levels[rng.integers(nh, n).astype(np.int64)] if nh > 1 else np.full(n, T)
        hbucket = pub.tree.user_buckets(codes, hlevel)
        hrow, hval = pub.hist_mech.randomize(hbucket, pub.tree.domain_sizes(hlevel), rng)
        # vector channel: one public vector level, a Hadamard row r, then the vector
        # mechanism on H[r, bucket] * x (Algorithm 3 line 11 with the Hadamard bucketing)
        nv = pub.vector_levels.shape[0]
        vlevel = pub.vector_levels[rng.integers(nv, n).astype(np.int64)] if nv > 1 else np.full(n, pub.vector_levels[0])
        vbucket = pub.tree.user_buckets(codes, vlevel)
        vrow = rng.integers(pub.tree.domain_sizes(vlevel))
        par = (np.bitwise_count(vrow & vbucket) & 1).astype(bool)
        Xu[par] *= -1.0  # H[r_v, bucket] * x
        payload, vbit = pub.vec_mech.randomize(Xu, rng)

        out = np.empty(n, dtype=REPORT_DTYPE)
        out["version"] = FORMAT_VERSION
        out["hlevel"] = hlevel
        out["vlevel"] = vlevel
        out["flags"] = pub.hist_mech.flag_bits(hval) | (vbit.astype(np.uint8) << 1)
        out["fingerprint"] = pub.fingerprint
        out["hrow"] = hrow
        out["vrow"] = vrow
        out["payload"] = payload
        return out


def parse_reports(reports) -> np.ndarray:
    """bytes, a sequence of bytes, or a REPORT_DTYPE array -> REPORT_DTYPE array (no copy of arrays)."""
    if isinstance(reports, np.ndarray) and reports.dtype == REPORT_DTYPE:
        return reports
    if isinstance(reports, (list, tuple)):
        for i, r in enumerate(reports):  # each item is whole reports: a misaligned item would shift the rest
            if not isinstance(r, (bytes, bytearray, memoryview)):
                raise TypeError(f"reports must be bytes, a list of bytes, or an array of dtype REPORT_DTYPE "
                                f"(item {i} of the list is a {type(r).__name__}).")
            if len(r) % REPORT_SIZE:
                raise ValueError(f"item {i} of the reports has a length that is not a multiple of the "
                                 f"{REPORT_SIZE}-byte report size.")
        reports = b"".join(reports)
    if isinstance(reports, (bytes, bytearray, memoryview)):
        if len(reports) % REPORT_SIZE:
            raise ValueError(f"report data length {len(reports)} is not a multiple of the {REPORT_SIZE}-byte report size.")
        return np.frombuffer(reports, dtype=REPORT_DTYPE)
    if isinstance(reports, np.ndarray) and reports.dtype == np.uint8:
        return parse_reports(reports.tobytes())
    raise TypeError("reports must be bytes, a list of bytes, or an array of dtype REPORT_DTYPE.")


@dataclass
class DecodeResult:
    """What :meth:`Decoder.fit` returns.

    Attributes
    ----------
    cluster_centers : ndarray (k, d)
        Centres in the users' coordinates.
    info : dict
        Tree and coreset statistics (all computed from the private aggregates only).
    """

    cluster_centers: np.ndarray
    info: dict = field(default_factory=dict)



def checked_envelope(data, magic: bytes, serial_version: int, format_version: int, digest: bytes, min_body: int,
                     bad: ValueError) -> bytes:
    """``data`` as bytes once its envelope is checked: magic, SHA-256 trailer, versions, parameter digest.

    The layout shared by the serialised aggregates of both protocols: 8-byte magic, uint16
    serialisation version, uint16 format version, 32-byte digest, at least ``min_body``
    bytes, then the SHA-256 of everything before it. Raises ``bad`` for a truncated or
    altered blob and a specific ``ValueError`` for another version or other parameters.
    """
    data = bytes(data)
    if len(data) < 8 + 4 + 32 + min_body + 32 or data[:8] != magic:
        raise bad
    if hashlib.sha256(data[:-32]).digest() != data[-32:]:
        raise bad
    ser, fmt = np.frombuffer(data, dtype="<u2", count=2, offset=8)
    if int(ser) != serial_version or int(fmt) != format_version:
        raise ValueError(f"unsupported aggregate version (this decoder reads serialisation {serial_version}, "
                         f"format {format_version}).")
    if data[12:44] != digest:
        raise ValueError("the aggregate was made with different public parameters or public seed.")
    return data


class Decoder:
    """Server side of the protocol (Algorithm 4) with bounded-memory, mergeable aggregation.

    Parameters
    ----------
    params : ProtocolParams
    public_seed : int

    Notes
    -----
    :meth:`add` folds any number of report batches into fixed-size integer aggregates:
    per histogram level, one counter per bucket; per vector level, one d-vector of
    fixed-point sums per bucket (see ``DuchiVector.decode_fixed``). Memory does not
    depend on the number of reports. The aggregates are exact integers, so
    :meth:`merge` of decoders that saw disjoint shards of the reports equals, bit for
    bit, one decoder that saw them all; :meth:`to_bytes` / :meth:`from_bytes` move an
    aggregate between servers (a versioned format, not pickle; docs/private.md).

    Where a deployment authenticates its clients, ``add(reports, client_ids=...)``
    records a 16-byte digest of every id and refuses a report from an id already seen
    (a replayed or duplicated client); this set grows with the number of clients.
    """

    _CHUNK = 1 << 15
    _FLOOR_FORMULA = "k^2 |V| E||Z||^2 radius^2"  # of expected_noise_floor, for the warning
    _MAGIC = b"BCPRVDEC"
    _SERIAL_VERSION = 1

    def __init__(self, params: ProtocolParams, public_seed: int):
        if not isinstance(params, ProtocolParams):
            raise TypeError("params must be a ProtocolParams.")
        self.params = params
        self.public_seed = public_seed
        self._pub = _Public(params, public_seed)
        self._digest = params.digest(self._pub.seed)
        T = params.n_levels
        dom = self._pub.tree.domain_sizes(np.arange(T + 1)).astype(np.int64)
        self._hdom = dom
        hl = self._pub.histogram_levels
        self._hlut = np.zeros(T + 1, dtype=np.int64)  # level -> offset of its block in _hsum
        self._hlut[hl] = np.concatenate([[0], np.cumsum(dom[hl])[:-1]])
        self._hsum = np.zeros(int(dom[hl].sum()), dtype=np.int64)
        self._hcount = np.zeros(T + 1, dtype=np.int64)
        vl = self._pub.vector_levels
        self._vidx = {int(lv): i for i, lv in enumerate(vl)}
        self._voff = np.concatenate([[0], np.cumsum(dom[vl])])
        self._vsum = np.zeros((int(self._voff[-1]), params.n_features), dtype=np.int64)
        self._vcount = np.zeros(T + 1, dtype=np.int64)
        self._vlut = np.zeros(T + 1, dtype=np.int64)  # level -> offset of its block in _vsum
        for lv, i in self._vidx.items():
            self._vlut[lv] = self._voff[i]
        self._ids: set | None = None  # None until the first add; then a set iff ids are used
        self._ids_mode: bool | None = None
        self.n_reports_ = 0

    def aggregate_nbytes(self) -> int:
        """Bytes held by the aggregates (independent of the number of reports; client ids excluded)."""
        return self._hsum.nbytes + self._hcount.nbytes + self._vsum.nbytes + self._vcount.nbytes

    def _validate(self, r: np.ndarray) -> None:
        pub = self._pub
        bad = np.count_nonzero(r["version"] != FORMAT_VERSION)
        if bad:
            raise ValueError(f"{bad} report(s) have an unsupported format version (this decoder reads version {FORMAT_VERSION}).")
        bad = np.count_nonzero(r["fingerprint"] != pub.fingerprint)
        if bad:
            raise ValueError(f"{bad} report(s) were made with different public parameters or seed.")
        hl = r["hlevel"].astype(np.int64)
        vl = r["vlevel"].astype(np.int64)
        ok = np.isin(hl, pub.histogram_levels) & np.isin(vl, pub.vector_levels)
        if not ok.all():
            raise ValueError(f"{np.count_nonzero(~ok)} report(s) have an invalid level.")
        ok = pub.hist_mech.valid(r["hrow"].astype(np.uint64), r["flags"], self._hdom[hl].astype(np.uint64))
        ok &= r["vrow"] < self._hdom[vl]
        if self.params.vector_mechanism == "coordinate":
            ok &= r["payload"] < self.params.n_features
        if not ok.all():
            raise ValueError(f"{np.count_nonzero(~ok)} report(s) have out-of-range fields.")

    @staticmethod
    def _id_key(client_id) -> bytes:
        if isinstance(client_id, str):
            raw = b"s" + client_id.encode("utf-8")
        elif isinstance(client_id, (bytes, bytearray, memoryview)):
            raw = b"b" + bytes(client_id)
        elif isinstance(client_id, (int, np.integer)) and not isinstance(client_id, bool):
            raw = b"i" + str(int(client_id)).encode("ascii")
        else:
            raise TypeError("client ids must be str, bytes or int.")
        return hashlib.sha256(b"bigclust/private/v2/client-id/" + raw).digest()[:16]

    def _check_ids_mode(self, use_ids: bool) -> None:
        if self._ids_mode is not None and self._ids_mode != use_ids:
            raise ValueError(
                "this decoder " + ("checks client ids: every batch needs client_ids." if self._ids_mode
                                   else "was fed without client ids: it cannot check them now.")
            )

    def add(self, reports, client_ids=None) -> "Decoder":
        """Fold a batch of reports (bytes, list of bytes or REPORT_DTYPE array) into the aggregates.

        Parameters
        ----------
        reports : bytes, list of bytes or ndarray of REPORT_DTYPE
        client_ids : sequence of str, bytes or int, optional
            One authenticated id per report. When given (and it must then be given for
            every batch), a report whose id was already seen, or that repeats within
            the batch, makes the whole batch fail: nothing is added.

        The whole batch is validated before anything is added.
        """
        r = parse_reports(reports)
        self._validate(r)
        use_ids = client_ids is not None
        self._check_ids_mode(use_ids)
        keys = None
        if use_ids:
            try:
                ids = list(client_ids)
            except TypeError:
                raise TypeError("client_ids must be a sequence with one id per report.") from None
            if len(ids) != r.shape[0]:
                raise ValueError(f"client_ids has {len(ids)} entries for {r.shape[0]} reports.")
            keys = [self._id_key(c) for c in ids]
            fresh = set(keys)
            repeats = len(keys) - len(fresh) + (len(fresh & self._ids) if self._ids else 0)
            if repeats:
                raise ValueError(f"{repeats} report(s) come from client ids already seen (replays); nothing was added.")
        d = self.params.n_features
        for start in range(0, r.shape[0], self._CHUNK):
            c = r[start:start + self._CHUNK]
            hl = c["hlevel"].astype(np.int64)
            rows, signs = self._pub.hist_mech.terms(c["hrow"].astype(np.uint64), c["flags"], self._hdom[hl])
            key = self._hlut[hl][:, None] + rows
            self._hsum += np.rint(np.bincount(key.ravel(), weights=signs.ravel(), minlength=self._hsum.shape[0])).astype(np.int64)
            self._hcount += np.bincount(hl, minlength=self._hcount.shape[0])
            vl = c["vlevel"].astype(np.int64)
            self._vcount += np.bincount(vl, minlength=self._vcount.shape[0])
            vkey = self._vlut[vl] + c["vrow"].astype(np.int64)
            Z = self._pub.vec_mech.decode_fixed(c["payload"], (c["flags"] & 2).astype(bool), d)
            order = np.argsort(vkey, kind="stable")
            sk = vkey[order]
            starts = np.flatnonzero(np.concatenate([[True], sk[1:] != sk[:-1]]))
            # integer-valued float32 terms below 2^27, at most 2^15 per chunk: the float64
            # sums are exact integers, so the int64 aggregates do not depend on the order
            self._vsum[sk[starts]] += np.add.reduceat(Z[order], starts, axis=0, dtype=np.float64).astype(np.int64)
        self.n_reports_ += int(r.shape[0])
        if self._ids_mode is None:
            self._ids_mode = use_ids
            self._ids = set() if use_ids else None
        if keys is not None:
            self._ids.update(keys)
        return self

    # ---- sharding -------------------------------------------------------------------
    def merge(self, other: "Decoder") -> "Decoder":
        """Add the aggregates of ``other`` (same parameters and seed) into this decoder.

        The result equals, exactly, one decoder fed both decoders' reports. With client
        ids, an id seen by both decoders is a replay across shards and is refused.
        Returns self.
        """
        if not isinstance(other, Decoder):
            raise TypeError("merge() takes a Decoder.")
        if other is self:
            raise ValueError("cannot merge a decoder with itself (every report would count twice).")
        if other._digest != self._digest:
            raise ValueError("cannot merge decoders built with different public parameters or public seed.")
        if other.n_reports_ == 0:
            return self
        self._check_ids_mode(bool(other._ids_mode))
        if other._ids_mode:
            both = len(self._ids & other._ids) if self._ids else 0
            if both:
                raise ValueError(f"{both} client id(s) appear in both decoders (replays across shards); nothing was merged.")
        self._hsum += other._hsum
        self._hcount += other._hcount
        self._vsum += other._vsum
        self._vcount += other._vcount
        self.n_reports_ += other.n_reports_
        if self._ids_mode is None:
            self._ids_mode = other._ids_mode
            self._ids = set() if other._ids_mode else None
        if other._ids_mode:
            self._ids |= other._ids
        return self

    def to_bytes(self) -> bytes:
        """The aggregates in the versioned binary format of docs/private.md (no pickle).

        Layout (little-endian): magic ``b"BCPRVDEC"``; uint16 serialisation version (1);
        uint16 report format version; the 32-byte :meth:`ProtocolParams.digest`; uint64
        number of reports; int64 ``hcount[T+1]``; int64 ``vcount[T+1]``; uint64 length
        and int64 values of the histogram counters; uint64 rows, uint64 columns and int64
        values (row-major) of the vector sums; uint8 id mode (0 unknown, 1 no ids, 2 ids);
        uint64 number of id digests and the sorted 16-byte digests; finally the SHA-256 of
        everything before it.
        """
        T1 = self.params.n_levels + 1
        parts = [
            self._MAGIC,
            np.array([self._SERIAL_VERSION, FORMAT_VERSION], dtype="<u2").tobytes(),
            self._digest,
            np.array([self.n_reports_], dtype="<u8").tobytes(),
            self._hcount.astype("<i8").tobytes(),
            self._vcount.astype("<i8").tobytes(),
            np.array([self._hsum.shape[0]], dtype="<u8").tobytes(),
            self._hsum.astype("<i8").tobytes(),
            np.array(self._vsum.shape, dtype="<u8").tobytes(),
            self._vsum.astype("<i8").tobytes(),
        ]
        assert self._hcount.shape[0] == T1
        mode = 0 if self._ids_mode is None else (2 if self._ids_mode else 1)
        ids = sorted(self._ids) if self._ids else []
        parts += [bytes([mode]), np.array([len(ids)], dtype="<u8").tobytes(), b"".join(ids)]
        body = b"".join(parts)
        return body + hashlib.sha256(body).digest()

    @classmethod
    def from_bytes(cls, data: bytes, params: ProtocolParams, public_seed: int) -> "Decoder":
        """Rebuild a decoder from :meth:`to_bytes` output; ``params`` and ``public_seed`` must match it."""
        dec = cls(params, public_seed)
        bad = ValueError("not a bigclust private decoder aggregate, or it is corrupted.")
        data = checked_envelope(data, cls._MAGIC, cls._SERIAL_VERSION, FORMAT_VERSION, dec._digest, 8, bad)
        pos = 44
        body = data[:-32]

        def take(dtype, count):
            nonlocal pos
            size = np.dtype(dtype).itemsize * count
            if pos + size > len(body):
                raise bad
            out = np.frombuffer(body, dtype=dtype, count=count, offset=pos)
            pos += size
            return out

        T1 = params.n_levels + 1
        n = int(take("<u8", 1)[0])
        hcount = take("<i8", T1)
        vcount = take("<i8", T1)
        hlen = int(take("<u8", 1)[0])
        if hlen != dec._hsum.shape[0]:
            raise bad
        hsum = take("<i8", hlen)
        rows, cols = (int(v) for v in take("<u8", 2))
        if (rows, cols) != dec._vsum.shape:
            raise bad
        vsum = take("<i8", rows * cols).reshape(rows, cols)
        mode = int(take("u1", 1)[0])
        nid = int(take("<u8", 1)[0])
        if mode not in (0, 1, 2) or (nid and mode != 2) or len(body) - pos != 16 * nid:
            raise bad
        raw = take("u1", 16 * nid).tobytes()
        if hcount.sum() != n or vcount.sum() != n or (hcount < 0).any() or (vcount < 0).any():
            raise bad
        dec.n_reports_ = n
        dec._hcount[:] = hcount
        dec._vcount[:] = vcount
        dec._hsum[:] = hsum
        dec._vsum[:] = vsum
        dec._ids_mode = None if mode == 0 else mode == 2
        dec._ids = {raw[i:i + 16] for i in range(0, len(raw), 16)} if mode == 2 else None
        return dec

    def expected_noise_floor(self, n_clusters: int) -> float:
        """Heuristic floor on the extra k-means cost the vector channel adds (data units).

        ``k^2 |V| E||Z||^2 radius^2``: a centre estimated from the vector sums of a
        cluster of ``n/k`` users in one bucket has squared error about
        ``n^2 / n_v E||Z||^2 / (n/k)^2`` (``n_v = n / |V|`` reports per vector level,
        ``E||Z||^2`` one report's noise: ``C^2 (pi/2) d`` for "duchi", ``C^2 d^2`` for
        "coordinate", ``C = (e^eps_v + 1)/(e^eps_v - 1)``), and its ``n/k`` users pay it:
        ``k^2 |V| E||Z||^2`` over the k clusters, whatever n is. Public quantities only.
        """
        V = self._pub.vector_levels.shape[0]
        return float(n_clusters) ** 2 * V * self._pub.vec_mech.report_variance(self.params.n_features) * self.params.radius**2

    # ---- oracles ------------------------------------------------------------------
    def _hist_scale_sigma(self, level: int) -> tuple[float, float]:
        n, nl = self.n_reports_, int(self._hcount[level])
        if nl == 0:
            return 0.0, math.inf
        scale = n / nl
        sigma = n * math.sqrt(self._pub.hist_mech.report_variance() / nl)
        return scale, sigma

    def frequency_estimates(self, level: int) -> np.ndarray:
        """Unbiased count estimates of every bucket of ``level`` (raw, may be negative)."""
        if level not in self._pub.histogram_levels:
            raise ValueError(f"level {level} carries no histogram reports (histogram levels: {self._pub.histogram_levels.tolist()}).")
        lo = int(self._hlut[level])
        sums = self._hsum[lo:lo + int(self._hdom[level])]
        scale, _ = self._hist_scale_sigma(level)
        return scale * self._pub.hist_mech.estimate(sums)

    def vector_estimates(self, level: int) -> np.ndarray:
        """Unbiased vector-sum estimates (in unit-ball coordinates) of every bucket of ``level``."""
        i = self._vidx[level]
        block = self._vsum[int(self._voff[i]):int(self._voff[i + 1])]
        nv = int(self._vcount[level])
        if nv == 0:
            return np.zeros(block.shape, dtype=np.float64)
        return (self.n_reports_ / nv) * self._pub.vec_mech.unit(self.params.n_features) * fwht(block)

    def _vector_noise(self, level: int) -> float:
        """E||v~_y - v_y||^2 of one bucket's vector-sum estimate at ``level`` (upper bound).

        Every one of the n_v reports at the level adds (n/n_v) H[r, y] Z to the estimate,
        independent zero-mean terms: n^2 / n_v * E||Z||^2. Public quantities only.
        """
        nv = int(self._vcount[level])
        if nv == 0:
            return math.inf
        return self.n_reports_ ** 2 / nv * self._pub.vec_mech.report_variance(self.params.n_features)

    @staticmethod
    def _mean_point(vsum: np.ndarray, w: np.ndarray, noise: np.ndarray, how: str) -> np.ndarray:
        """Points (m, d) from vector-sum estimates (m, d), weights (m,) and their noise (m,)."""
        c = vsum / np.maximum(w, 1.0)[:, None]
        if how == "shrink":
            s2 = noise / np.maximum(w, 1.0) ** 2  # noise variance of c
            nrm2 = np.einsum("ij,ij->i", c, c)
            c = c * np.maximum(0.0, 1.0 - s2 / np.maximum(nrm2, 1e-300))[:, None]
        return c / np.maximum(np.linalg.norm(c, axis=1), 1.0)[:, None]

    def fit(
        self,
        n_clusters: int,
        *,
        threshold_a: int = 1,
        gamma: int | None = None,
        min_count_sigmas: float = 3.0,
        n_init: int = 3,
        center_estimator: str = "shrink",
        min_vector_sigmas: float = 3.0,
        random_state=None,
    ) -> DecodeResult:
        """Algorithm 4: frequency oracle -> tree (Alg. 1-2) -> k-means on the coreset -> centres.

        Parameters
        ----------
        n_clusters : int
        threshold_a : int
            ``a`` of Algorithm 2: up to ``k a`` nodes are expanded per block.
        gamma : int, optional
            ``Gamma`` of Algorithm 2 (default ceil(log2 n), Theorem 20).
        min_count_sigmas : float
            Approximate frequencies below ``min_count_sigmas`` standard deviations of
            the oracle's noise (computed from public quantities) are set to 0. This is
            post-processing; it moves each estimate by at most that many sigmas, so an
            eta-accurate oracle stays (1 + min_count_sigmas) eta-accurate (Theorem 20).
            0 keeps the paper's max(f, 0) only.
        n_init : int
            Restarts of the (non-private) weighted k-means++/Lloyd on the coreset.
        center_estimator : {"shrink", "clip"}
            How a noisy mean ``c~ = v~ / f~`` (of a node, and of each final cluster) is
            turned into a point. "clip": Algorithm 4 lines 13-16, project onto the unit
            ball. "shrink" (default): positive-part James-Stein,
            ``c~ max(0, 1 - s^2 / ||c~||^2)``, then the ball; ``s^2`` is the vector
            oracle's noise variance ``(#buckets) n^2 E||Z||^2 / (n_v f~^2)``, computed
            from public quantities and the released ``f~`` (post-processing). For
            isotropic noise this cuts the expected squared error from about ``s^2``
            to ``||c||^2 s^2 / (||c||^2 + s^2)``.
        min_vector_sigmas : float
            SimHash only: a leaf enters the coreset only if its vector-sum estimate is
            significantly longer than pure noise, ``||v~||^2 > s^2 (1 + z sqrt(2/d))``
            with ``s^2`` the oracle's noise variance (public) and ``z`` this value. Under
            the null (no users in the bucket) ``||v~||^2 / s^2`` is about chi^2_d / d,
            mean 1 and standard deviation ``sqrt(2/d)``; a cluster's coherent sum adds
            ``||v||^2``. This second, independent test removes frequency-oracle false
            positives whose position would be noise. Post-processing; 0 disables it.
        random_state : int, Generator or None
            Randomness of that k-means (not of the privacy mechanisms).

        Returns
        -------
        DecodeResult
            ``cluster_centers`` has ``min(n_clusters, coreset size)`` rows from the
            coreset (the public centre when the coreset is empty) and, when the coreset
            is smaller than ``n_clusters``, one more: the public centre, so that no point
            pays more than the trivial answer would charge it
            (``info["public_centre_added"]``). Never more centres than the coreset
            supports, plus that one. A
            :class:`PrivateUtilityWarning` says so, and another one when
            :meth:`expected_noise_floor` exceeds ``n radius^2`` (the most the trivial
            answer can cost). ``info`` states ``n_clusters_requested``, ``n_centers``,
            ``n_distinct_centers`` and ``expected_noise_floor``.
        """
        from sklearn.cluster import KMeans

        from .._core.validation import check_int, check_positive, check_random_state

        k = check_int(n_clusters, "n_clusters", low=1)
        a = check_int(threshold_a, "threshold_a", low=1)
        check_positive(min_count_sigmas, "min_count_sigmas", allow_zero=True)
        check_int(n_init, "n_init", low=1)
        zv = check_positive(min_vector_sigmas, "min_vector_sigmas", allow_zero=True)
        if center_estimator not in ("shrink", "clip"):
            raise ValueError(f"center_estimator must be 'shrink' or 'clip', got {center_estimator!r}.")
        n = self.n_reports_
        if n == 0:
            raise ValueError("no reports were added; call add(reports) first.")
        G = check_int(gamma, "gamma", low=1) if gamma is not None else max(1, math.ceil(math.log2(max(n, 2))))
        rng = check_random_state(random_state)
        pub, tree, T = self._pub, self._pub.tree, self.params.n_levels

        cache = {}

        def freq_level(level):
            if level not in cache:
                f = self.frequency_estimates(level)
                _, sigma = self._hist_scale_sigma(level)
                f = np.where(f >= max(min_count_sigmas * sigma, 0.0), np.maximum(f, 0.0), 0.0)
                cache[level] = f
            return cache[level]

        def freq(level, nodes):
            return freq_level(level)[tree.node_buckets(level, nodes).astype(np.int64)]

        leaves, expanded = build_net_tree(tree, freq, n, k, a, G, levels=pub.histogram_levels.tolist())

        vcache = {}
        rep_pos, rep_w, rep_v, rep_has_v, rep_noise = [], [], [], [], []
        for level, nodes, f in leaves:
            keep = f > 0
            if not keep.any():
                continue
            nodes, f = nodes[keep], f[keep]
            if level in self._vidx:
                if level not in vcache:
                    vcache[level] = self.vector_estimates(level)
                v = vcache[level][tree.node_buckets(level, nodes).astype(np.int64)]
                has = np.ones(f.shape[0], dtype=bool)
            else:
                v = np.zeros((f.shape[0], self.params.n_features))
                has = np.zeros(f.shape[0], dtype=bool)
            pos = tree.positions(level, nodes)
            if pos is None:  # SimHash: a node's representative is its estimated mean
                if not has.any():
                    continue
                s2 = self._vector_noise(level)
                if zv > 0:
                    has &= np.einsum("ij,ij->i", v, v) > s2 * (1.0 + zv * math.sqrt(2.0 / self.params.n_features))
                    if not has.any():
                        continue
                f, v, has = f[has], v[has], has[has]
                pos = self._mean_point(v, f, np.full(f.shape[0], s2), center_estimator)
            rep_pos.append(pos)
            rep_w.append(f)
            rep_v.append(v)
            rep_has_v.append(has)
            rep_noise.append(np.where(has, self._vector_noise(level) if level in self._vidx else 0.0, 0.0))

        d = self.params.n_features
        info = {
            "n_reports": n,
            "n_levels": T,
            "tree": self.params.tree,
            "nodes_expanded_per_level": expanded,
            "n_leaves": int(sum(lv[1].shape[0] for lv in leaves)),
            "coreset_size": 0,
            "coreset_weight": 0.0,
            "histogram_levels": pub.histogram_levels.tolist(),
            "histogram_sigma_per_level": [self._hist_scale_sigma(int(lv))[1] for lv in pub.histogram_levels],
        }
        # Guard rails (public quantities only): never more centres than coreset points,
        # and a warning when the vector noise alone would cost more than the trivial
        # answer (every centre at the public centre) could, n radius^2.
        m = sum(int(pp.shape[0]) for pp in rep_pos)
        k_eff = max(1, min(k, m))
        # A spare slot (k > m >= 1) gets the public centre, i.e. the trivial answer: every
        # point then pays at most what the trivial answer charges it, so a small coreset
        # cannot make the release worse than answering the public centre. Public
        # information, so post-processing.
        add_public = 1 <= m < k
        floor = self.expected_noise_floor(k)
        info["n_clusters_requested"] = k
        info["expected_noise_floor"] = floor
        if k_eff < k:
            warnings.warn(
                f"n_clusters={k} but the private coreset has only {m} point(s): returning {k_eff} centre(s)"
                + (" and the public centre" if add_public else " (the public centre)" if m == 0 else "")
                + ". More reports, a larger epsilon or a smaller k would support more.",
                PrivateUtilityWarning,
                stacklevel=2,
            )
        if floor > n * self.params.radius**2:
            warnings.warn(
                f"the expected noise floor of the centres ({self._FLOOR_FORMULA} = {floor:.3g}) exceeds "
                f"n radius^2 = {n * self.params.radius**2:.3g}, the most the trivial answer (every centre at the "
                "public centre) can cost: expect no better than the trivial answer. Use fewer clusters, a larger "
                "epsilon or more users.",
                PrivateUtilityWarning,
                stacklevel=2,
            )
        centers_unit = np.zeros((k_eff, d))
        if rep_pos:
            P = np.concatenate(rep_pos)
            W = np.concatenate(rep_w)
            V = np.concatenate(rep_v)
            H = np.concatenate(rep_has_v)
            N = np.concatenate(rep_noise)
            info["coreset_size"] = int(P.shape[0])
            info["coreset_weight"] = float(W.sum())
            if P.shape[0] <= k_eff:
                labels = np.arange(P.shape[0])
                km_centers = P
            else:
                km = KMeans(n_clusters=k_eff, n_init=n_init, random_state=int(rng.integers(2**31 - 1)))
                km.fit(P, sample_weight=W)
                labels, km_centers = km.labels_, km.cluster_centers_
            for j in range(min(k_eff, km_centers.shape[0])):
                sel = (labels == j) & H
                if sel.any():
                    # Algorithm 4 lines 7-17: centre from the vector-sum oracle, back to the
                    # ball (after shrinkage towards the origin for "shrink")
                    c = self._mean_point(V[sel].sum(axis=0)[None, :], np.array([W[sel].sum()]),
                                         np.array([N[sel].sum()]), center_estimator)[0]
                elif self.params.tree == "simhash":
                    c = km_centers[j]  # representatives live in the (unit-ball) data space
                else:
                    c = np.zeros(d)
                nrm = np.linalg.norm(c)
                centers_unit[j] = c / nrm if nrm > 1.0 else c
        if add_public:
            centers_unit = np.vstack([centers_unit, np.zeros((1, d))])
        info["public_centre_added"] = bool(add_public)
        centers = centers_unit * self.params.radius + pub.center
        info["n_centers"] = int(centers.shape[0])
        info["n_distinct_centers"] = int(np.unique(centers, axis=0).shape[0])
        return DecodeResult(cluster_centers=centers, info=info)
