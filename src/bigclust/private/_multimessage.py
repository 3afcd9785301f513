"""The shuffle-model protocol (the paper's Theorem 2): multi-message blanket histograms.

Theorem 2 of "Locally Private k-Means in One Round" (Chang, Ghazi, Kumar, Manurangsi,
ICML 2021) is Theorem 22 (the net-tree encoder/decoder, Algorithms 3-4) with the two
local oracles replaced by shuffle-model protocols for *generalized histogram* and
*generalized bucketized vector summation* (Definition 11) whose error does not grow
with n. This module is that substitution:

* Histogram channel (generalized histogram, T' = number of histogram levels): each user
  sends one message naming its bucket at every histogram level.
* Vector channel (bucketized vector summation): for every vector level and coordinate
  ``j`` each user sends, with probability ``|x_j|``, one message naming
  (bucket, j, sign x_j), and nothing otherwise (randomised rounding of the unit-ball
  point ``x``: ``E = x_j``, rounding variance ``sum_j |x_j| - x_j^2 <= sqrt(d)``). The
  server's estimate of a bucket's sum is (#plus - #minus) per coordinate. A user sends
  at most ``d`` vector messages per level, which is what the accounting assumes.
* Blankets (the privacy): every cell of both channels also receives ``Bin(g, 1/2)``
  messages that carry no data, one fair coin from each of the ``g`` users of the cell's
  public group (user ``i`` serves the cells ``z`` with ``z = i (mod R)``, ``R`` chosen
  from ``n_users`` so that every group has more than N users). After the trusted shuffler
  the server sees the multiset, i.e. per-cell counts; the blanket analysis and the
  (epsilon, delta) are in :mod:`~bigclust.private._accounting` ("The shuffle-model
  protocol"). The blanket noise of a count is ``Bin(g, 1/2) - g/2``: its standard
  deviation ``sqrt(g)/2`` depends on (epsilon, delta, d) only, not on n, so the additive
  error of the counts and sums -- hence of the k-means cost -- does not grow with n.

Exact randomness: the blanket coins are fair bits (the privacy rests on them and on
nothing else); a simulation draws a cell's total ``Bin(g, 1/2)`` exactly as the popcount
of ``g`` fair bits. The rounding coin of the vector channel is a float comparison: it
does not affect privacy, because the analysis lets a user's real messages be any
function of its point (only their number per cell matters).

Message format (16 bytes, little-endian)::

    offset size type   field
    0      1    uint8  message version (= 1)
    1      1    uint8  tag 0x53 ("S": a shuffle-protocol message, not a 24-byte report)
    2      2    uint16 zero
    4      4    uint32 fingerprint: first 4 bytes, little-endian, of
                       :meth:`ShuffleParams.digest`
    8      8    uint64 cell: histogram cells first (level blocks in the order of the
                       histogram levels, one cell per bucket), then vector cells,
                       ``C_h + 2 (d (o_l + bucket) + j) + (sign == +1)`` with ``o_l`` the
                       offset of vector level ``l``'s block of buckets

docs/private.md ("The shuffle-model protocol") states the schedule, the layout and the
deviations from the paper.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field

import numpy as np

from . import _public
from ._accounting import BlanketBudget, blanket_budget, default_histogram_share
from ._protocol import Decoder, ProtocolParams, _as_float_array, _Public, _to_unit_ball, checked_envelope
from ._random import RandomSource

__all__ = [
    "ShuffleParams",
    "ShuffleEncoder",
    "ShuffleDecoder",
    "MESSAGE_DTYPE",
    "MESSAGE_SIZE",
    "simulate_blankets",
]

MESSAGE_VERSION = 1
MESSAGE_TAG = 0x53
MESSAGE_DTYPE = np.dtype([("version", "u1"), ("tag", "u1"), ("reserved", "<u2"), ("fingerprint", "<u4"), ("cell", "<u8")])
MESSAGE_SIZE = MESSAGE_DTYPE.itemsize  # 16


@dataclass(frozen=True)
class ShuffleParams:
    """Public parameters of the shuffle-model protocol (clients and server share them).

    Parameters
    ----------
    n_features : int
    epsilon : float
        Central budget of the release (after the shuffler).
    delta : float in (0, 1)
    n_users : int
        The number of users, each with a public index ``0 .. n_users - 1`` (its place in
        the blanket schedule). Every one of them must send its messages: a missing user
        removes its fair coins from its cells (less noise than the accounting assumes).
    n_levels, tree, bucket_bits, vector_levels, histogram_levels, histogram_share, radius, center, projection_dim, projection_scale
        The tree and the public ball, as in :class:`~bigclust.private.ProtocolParams`
        (the same validation and public randomness). ``histogram_share`` is the share of
        epsilon the histogram channel's blanket size is chosen for.

    Raises ValueError when ``n_users`` is too small for the blanket noise the budget
    needs (the message states the smallest workable number).
    """

    n_features: int
    epsilon: float
    delta: float
    n_users: int
    n_levels: int = 12
    tree: str = "simhash"
    bucket_bits: int = 14
    vector_levels: object = "auto"
    histogram_levels: object = "auto"
    histogram_share: float | None = None
    radius: float | str | None = None
    center: tuple | None = None
    projection_dim: int | None = None
    projection_scale: float | None = None
    tree_params: ProtocolParams = field(init=False, repr=False, compare=False)
    budget: BlanketBudget = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        from .._core.validation import check_int

        tp = ProtocolParams(
            n_features=self.n_features, epsilon=self.epsilon, n_levels=self.n_levels, tree=self.tree,
            bucket_bits=self.bucket_bits, vector_levels=self.vector_levels, histogram_levels=self.histogram_levels,
            histogram_share=self.histogram_share, radius=self.radius, center=self.center,
            projection_dim=self.projection_dim, projection_scale=self.projection_scale,
        )
        try:
            delta = float(self.delta)
        except (TypeError, ValueError):
            raise ValueError("delta must be a number in (0, 1).") from None
        if not 0.0 < delta < 1.0:
            raise ValueError("delta must be in (0, 1).")
        n = check_int(self.n_users, "n_users", low=1)
        object.__setattr__(self, "tree_params", tp)
        object.__setattr__(self, "radius", tp.radius)
        object.__setattr__(self, "center", tp.center)
        object.__setattr__(self, "delta", delta)
        share = default_histogram_share(self.tree) if self.histogram_share is None else float(self.histogram_share)
        mh = len(tp.resolved_histogram_levels())
        mv = len(tp.resolved_vector_levels()) * int(self.n_features)
        b = blanket_budget(float(self.epsilon), delta, share, mh, mv)
        object.__setattr__(self, "budget", b)
        need = max(b.noise_histogram, b.noise_vector) + 1
        if n < need:
            raise ValueError(
                f"the shuffle protocol needs at least {need} users for epsilon, delta and n_features as given "
                f"(every cell needs Bin(N, 1/2) blanket noise from N = {need - 1} other users); got n_users = {n}. "
                "Use the amplified-local protocol, a larger epsilon or delta, or fewer features."
            )

    # ---- the blanket schedule --------------------------------------------------------
    def groups(self) -> tuple[int, int]:
        """(R_h, R_v): user ``i`` serves the cells ``z = i (mod R)`` of each channel."""
        b = self.budget
        return self.n_users // (b.noise_histogram + 1), self.n_users // (b.noise_vector + 1)

    def canonical(self, public_seed: int) -> bytes:
        """Canonical text: a header, the shuffle parameters, then the tree's :meth:`ProtocolParams.canonical`.

        Lines ``bigclust-shuffle-params``, ``message_version``, ``delta`` (float hex),
        ``n_users``, ``blanket_noise_histogram``, ``blanket_noise_vector`` (the N of each
        channel), followed by the tree parameters' canonical text (whose ``epsilon`` is the
        central budget; its two mechanism lines are not used by this protocol).
        """
        b = self.budget
        head = [
            "bigclust-shuffle-params",
            f"message_version={MESSAGE_VERSION}",
            f"delta={_public.float_hex(self.delta)}",
            f"n_users={int(self.n_users)}",
            f"blanket_noise_histogram={b.noise_histogram}",
            f"blanket_noise_vector={b.noise_vector}",
        ]
        return ("\n".join(head) + "\n").encode("utf-8") + self.tree_params.canonical(public_seed)

    def digest(self, public_seed: int) -> bytes:
        return hashlib.sha256(self.canonical(public_seed)).digest()

    def fingerprint(self, public_seed: int) -> int:
        return int.from_bytes(self.digest(public_seed)[:4], "little")


class _Layout:
    """Cell numbering and blanket groups, from (params, public_seed)."""

    def __init__(self, params: ShuffleParams, public_seed: int):
        self.params = params
        self.pub = _Public(params.tree_params, public_seed)
        self.d = int(params.n_features)
        tree = self.pub.tree
        T = params.n_levels
        dom = tree.domain_sizes(np.arange(T + 1)).astype(np.int64)
        self.dom = dom
        hl, vl = self.pub.histogram_levels, self.pub.vector_levels
        self.hoff = np.zeros(T + 1, dtype=np.int64)
        self.hoff[hl] = np.concatenate([[0], np.cumsum(dom[hl])[:-1]])
        self.n_hist = int(dom[hl].sum())
        self.voff = np.zeros(T + 1, dtype=np.int64)  # level -> offset of its buckets
        self.voff[vl] = np.concatenate([[0], np.cumsum(dom[vl])[:-1]])
        self.n_vec = 2 * self.d * int(dom[vl].sum())
        self.n_cells = self.n_hist + self.n_vec
        self.R_h, self.R_v = params.groups()
        self.fingerprint = params.fingerprint(public_seed)

    def group_sizes(self, channel: str, cells: np.ndarray) -> np.ndarray:
        """g of each (channel-local) cell: the number of users i < n with i = z (mod R)."""
        R = self.R_h if channel == "h" else self.R_v
        n = self.params.n_users
        r = cells % R
        return n // R + (r < n % R).astype(np.int64)

    def real_cells(self, Xunit: np.ndarray, rng: RandomSource) -> np.ndarray:
        """(n, T' + |V| d) global cells of the real messages of each user (unit-ball points)."""
        pub, d = self.pub, self.d
        n = Xunit.shape[0]
        codes = pub.tree_codes(Xunit)
        cols = []
        for lv in pub.histogram_levels:
            lvl = np.full(n, lv)
            cols.append((self.hoff[lv] + pub.tree.user_buckets(codes, lvl).astype(np.int64))[:, None])
        j = np.arange(d, dtype=np.int64)
        for lv in pub.vector_levels:
            lvl = np.full(n, lv)
            b = self.voff[lv] + pub.tree.user_buckets(codes, lvl).astype(np.int64)
            # randomised rounding (not a privacy coin): the message (b, j, sign x_j) with
            # probability |x_j|, else none (-1): E = x_j, variance |x_j| - x_j^2, at most
            # sqrt(d) summed over j for a point of the unit ball
            send = rng.uniform53(n * d).reshape(n, d) < np.abs(Xunit)
            cell = self.n_hist + 2 * (d * b[:, None] + j[None, :]) + (Xunit > 0)
            cols.append(np.where(send, cell, -1))
        return np.concatenate(cols, axis=1)

    def blanket_cells(self, user_index: int, rng: RandomSource) -> np.ndarray:
        """Global cells of user ``user_index``'s blanket messages: a fair coin per served cell."""
        out = []
        for base, size, R in ((0, self.n_hist, self.R_h), (self.n_hist, self.n_vec, self.R_v)):
            z = np.arange(user_index % R, size, R, dtype=np.int64)
            if z.size:
                coins = _fair_bits(rng, z.size)
                out.append(base + z[coins])
        return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


def _fair_bits(rng: RandomSource, size: int) -> np.ndarray:
    """``size`` independent fair coins (bool), from whole random words."""
    words = rng.words((size + 63) // 64)
    bits = np.unpackbits(words.view(np.uint8), bitorder="little")[:size]
    return bits.astype(bool)


def _binomial_half(rng: RandomSource, g: np.ndarray, chunk_words: int = 1 << 22) -> np.ndarray:
    """Exact Bin(g_i, 1/2) for each entry of ``g`` (int64): the popcount of g_i fair bits."""
    g = np.asarray(g, dtype=np.int64)
    out = np.zeros(g.shape[0], dtype=np.int64)
    if g.size == 0:
        return out
    wpc = int((int(g.max()) + 63) // 64)
    if wpc == 0:
        return out
    step = max(1, chunk_words // wpc)
    w = np.arange(wpc, dtype=np.int64)
    for s in range(0, g.shape[0], step):
        gg = g[s:s + step]
        W = rng.words(gg.shape[0] * wpc).reshape(gg.shape[0], wpc)
        bits = np.clip(gg[:, None] - 64 * w[None, :], 0, 64)  # valid bits of each word
        mask = np.where(bits >= 64, np.uint64(0xFFFFFFFFFFFFFFFF),
                        (np.uint64(1) << np.minimum(bits, 63).astype(np.uint64)) - np.uint64(1))
        out[s:s + step] = np.bitwise_count(W & mask).sum(axis=1, dtype=np.int64)
    return out


def simulate_blankets(params: ShuffleParams, public_seed: int, random_source: RandomSource | None = None) -> np.ndarray:
    """Per-cell blanket counts of all ``n_users`` users together (int64, one per cell).

    Equal in distribution to the sum over users of :meth:`ShuffleEncoder.encode`'s blanket
    messages (cell ``z`` gets ``Bin(g_z, 1/2)``), drawn exactly with ``sum g_z`` fair bits
    instead of one message each: the simulation estimators use it.
    """
    lay = _Layout(params, public_seed)
    rng = random_source if random_source is not None else RandomSource()
    out = np.empty(lay.n_cells, dtype=np.int64)
    step = 1 << 16
    for base, size, ch in ((0, lay.n_hist, "h"), (lay.n_hist, lay.n_vec, "v")):
        for s in range(0, size, step):
            z = np.arange(s, min(size, s + step), dtype=np.int64)
            out[base + s:base + s + z.size] = _binomial_half(rng, lay.group_sizes(ch, z))
    return out


class ShuffleEncoder:
    """Client side of the shuffle-model protocol: the multiset of messages of one user.

    Parameters
    ----------
    params : ShuffleParams
    public_seed : int
    random_source : RandomSource, optional
        Private randomness (default: the OS CSPRNG).

    Notes
    -----
    :meth:`encode` returns ``T' + |V| d`` real messages and about
    ``(C_h / R_h + C_v / R_v) / 2`` blanket messages (``expected_messages``), sorted by
    cell, so their order says nothing. Errors never echo the point.
    """

    def __init__(self, params: ShuffleParams, public_seed: int, *, random_source: RandomSource | None = None):
        if not isinstance(params, ShuffleParams):
            raise TypeError("params must be a ShuffleParams.")
        self.params = params
        self.public_seed = public_seed
        self._lay = _Layout(params, public_seed)
        self._rng = random_source if random_source is not None else RandomSource()

    @property
    def expected_messages(self) -> float:
        """Expected number of messages one user sends (an upper bound: every vector coordinate
        counted as sending, real + blanket)."""
        lay = self._lay
        real = len(lay.pub.histogram_levels) + len(lay.pub.vector_levels) * lay.d
        return real + 0.5 * (lay.n_hist / lay.R_h + lay.n_vec / lay.R_v)

    def _unit(self, X) -> np.ndarray:
        X = _as_float_array(X)
        d = self.params.n_features
        if X.ndim != 2 or X.shape[1] != d:
            raise ValueError(f"points must have shape (n, {d}), got shape {X.shape}.")
        if not np.isfinite(X).all():
            raise ValueError("points must be finite (NaN or infinity found).")
        return _to_unit_ball(X, self._lay.pub.center, self.params.radius)

    def real_cells(self, X) -> np.ndarray:
        """(n, T' + |V| d) cells of the real messages of the users in the rows of ``X`` (no blankets);
        -1 where a vector coordinate sends no message."""
        return self._lay.real_cells(self._unit(X), self._rng)

    def encode(self, x, user_index: int) -> bytes:
        """All messages (``MESSAGE_SIZE`` bytes each) of the user with public index ``user_index`` and point ``x``."""
        from .._core.validation import check_int

        i = check_int(user_index, "user_index", low=0, high=self.params.n_users - 1)
        x = _as_float_array(x)
        if x.ndim != 1:
            raise ValueError(f"encode() takes one point of shape ({self.params.n_features},).")
        real = self.real_cells(x[None, :])[0]
        cells = np.concatenate([real[real >= 0], self._lay.blanket_cells(i, self._rng)])
        cells.sort()
        out = np.zeros(cells.shape[0], dtype=MESSAGE_DTYPE)
        out["version"] = MESSAGE_VERSION
        out["tag"] = MESSAGE_TAG
        out["fingerprint"] = self._lay.fingerprint
        out["cell"] = cells
        return out.tobytes()


def parse_messages(messages) -> np.ndarray:
    """bytes, a list of bytes or a MESSAGE_DTYPE array -> MESSAGE_DTYPE array."""
    if isinstance(messages, np.ndarray) and messages.dtype == MESSAGE_DTYPE:
        return messages
    if isinstance(messages, (list, tuple)):
        if not all(isinstance(m, (bytes, bytearray, memoryview)) for m in messages):
            raise TypeError("messages must be bytes, a list of bytes, or an array of dtype MESSAGE_DTYPE.")
        messages = b"".join(messages)
    if isinstance(messages, (bytes, bytearray, memoryview)):
        if len(messages) % MESSAGE_SIZE:
            raise ValueError(f"message data length is not a multiple of the {MESSAGE_SIZE}-byte message size.")
        return np.frombuffer(messages, dtype=MESSAGE_DTYPE)
    raise TypeError("messages must be bytes, a list of bytes, or an array of dtype MESSAGE_DTYPE.")


class ShuffleDecoder(Decoder):
    """Server side of the shuffle-model protocol: shuffler output -> per-cell counts -> centres.

    :meth:`add` folds shuffled messages into one int64 counter per cell (memory
    independent of the number of messages); :meth:`merge`, :meth:`to_bytes` and
    :meth:`from_bytes` shard the aggregation as for :class:`~bigclust.private.Decoder`.
    :meth:`fit` is :meth:`Decoder.fit <bigclust.private.Decoder.fit>` (Algorithm 4 with
    the tree builder of Algorithms 1-2) over this protocol's oracles:

    * frequency of bucket ``b`` at a histogram level: ``count - g/2`` (the expected
      blankets removed), noise standard deviation ``sqrt(g)/2``;
    * vector sum of bucket ``b``: per coordinate ``(count_plus - g/2) - (count_minus - g/2)``,
      noise variance ``g/2`` per coordinate from the blankets plus ``|x_j| - x_j^2`` per
      user in the bucket from the rounding (at most ``sqrt(d)`` over the coordinates).

    Client ids are not supported (users are identified by their schedule index instead).
    """

    _MAGIC = b"BCPRVSHF"
    _FLOOR_FORMULA = "radius^2 (k sqrt(d) + k^2 d g / (2 n))"
    _SERIAL_VERSION = 1

    def __init__(self, params: ShuffleParams, public_seed: int):
        if not isinstance(params, ShuffleParams):
            raise TypeError("params must be a ShuffleParams.")
        self.shuffle_params = params
        self.params = params.tree_params
        self.public_seed = public_seed
        self._lay = _Layout(params, public_seed)
        self._pub = self._lay.pub
        self._digest = params.digest(self._pub.seed)
        self._counts = np.zeros(self._lay.n_cells, dtype=np.int64)
        self._vidx = {int(lv): i for i, lv in enumerate(self._pub.vector_levels)}
        self._ids_mode = None
        self._ids = None
        self.n_messages_ = 0
        self.n_reports_ = int(params.n_users)  # users: the public n of the tree builder

    def aggregate_nbytes(self) -> int:
        return self._counts.nbytes

    def add(self, messages, client_ids=None) -> "ShuffleDecoder":
        """Fold a batch of shuffled messages (bytes, list of bytes or MESSAGE_DTYPE array) into the counts.

        The whole batch is validated first (version, tag, fingerprint, cell range).
        """
        if client_ids is not None:
            raise ValueError("the shuffle protocol's decoder takes no client ids (the shuffler hides senders).")
        m = parse_messages(messages)
        bad = np.count_nonzero((m["version"] != MESSAGE_VERSION) | (m["tag"] != MESSAGE_TAG) | (m["reserved"] != 0))
        if bad:
            raise ValueError(f"{bad} message(s) are not shuffle-protocol messages of version {MESSAGE_VERSION}.")
        bad = np.count_nonzero(m["fingerprint"] != self._lay.fingerprint)
        if bad:
            raise ValueError(f"{bad} message(s) were made with different public parameters or seed.")
        bad = np.count_nonzero(m["cell"] >= np.uint64(self._lay.n_cells))
        if bad:
            raise ValueError(f"{bad} message(s) name a cell outside the protocol's domain.")
        self._add_cells(m["cell"].astype(np.int64))
        return self

    def _add_cells(self, cells: np.ndarray) -> None:
        cells = cells[cells >= 0]  # -1: no message (ShuffleEncoder.real_cells)
        for s in range(0, cells.shape[0], 1 << 22):
            self._counts += np.bincount(cells[s:s + (1 << 22)], minlength=self._counts.shape[0])
        self.n_messages_ += int(cells.shape[0])

    def _add_counts(self, counts: np.ndarray) -> None:
        self._counts += counts
        self.n_messages_ += int(counts.sum())

    def merge(self, other: "ShuffleDecoder") -> "ShuffleDecoder":
        """Add the counts of ``other`` (same parameters and seed); equals one decoder fed both batches."""
        if not isinstance(other, ShuffleDecoder):
            raise TypeError("merge() takes a ShuffleDecoder.")
        if other is self:
            raise ValueError("cannot merge a decoder with itself (every message would count twice).")
        if other._digest != self._digest:
            raise ValueError("cannot merge decoders built with different public parameters or public seed.")
        self._counts += other._counts
        self.n_messages_ += other.n_messages_
        return self

    def to_bytes(self) -> bytes:
        """Magic ``b"BCPRVSHF"``; uint16 serialisation version (1); uint16 message version;
        the 32-byte :meth:`ShuffleParams.digest`; uint64 number of messages; uint64 number
        of cells and their int64 counts; the SHA-256 of everything before it."""
        body = b"".join([
            self._MAGIC,
            np.array([self._SERIAL_VERSION, MESSAGE_VERSION], dtype="<u2").tobytes(),
            self._digest,
            np.array([self.n_messages_, self._counts.shape[0]], dtype="<u8").tobytes(),
            self._counts.astype("<i8").tobytes(),
        ])
        return body + hashlib.sha256(body).digest()

    @classmethod
    def from_bytes(cls, data: bytes, params: ShuffleParams, public_seed: int) -> "ShuffleDecoder":
        """Rebuild a decoder from :meth:`to_bytes` output; ``params`` and ``public_seed`` must match it."""
        dec = cls(params, public_seed)
        bad = ValueError("not a bigclust shuffle-protocol aggregate, or it is corrupted.")
        data = checked_envelope(data, cls._MAGIC, cls._SERIAL_VERSION, MESSAGE_VERSION, dec._digest, 16, bad)
        nmsg, ncells = (int(v) for v in np.frombuffer(data, dtype="<u8", count=2, offset=44))
        if ncells != dec._counts.shape[0] or len(data) != 60 + 8 * ncells + 32:
            raise bad
        counts = np.frombuffer(data, dtype="<i8", count=ncells, offset=60)
        if (counts < 0).any() or int(counts.sum()) != nmsg:
            raise bad
        dec._counts[:] = counts
        dec.n_messages_ = nmsg
        return dec

    # ---- oracles (override the local protocol's) ---------------------------------------
    def _hist_scale_sigma(self, level: int) -> tuple[float, float]:
        lay = self._lay
        g = self.shuffle_params.n_users // lay.R_h + (1 if self.shuffle_params.n_users % lay.R_h else 0)
        return 1.0, math.sqrt(g) / 2.0

    def frequency_estimates(self, level: int) -> np.ndarray:
        """Unbiased count estimates of every bucket of ``level`` (raw, may be negative)."""
        lay = self._lay
        if level not in self._pub.histogram_levels:
            raise ValueError(f"level {level} carries no histogram messages.")
        lo = int(lay.hoff[level])
        z = np.arange(lo, lo + int(lay.dom[level]), dtype=np.int64)
        return self._counts[z] - 0.5 * lay.group_sizes("h", z)

    def vector_estimates(self, level: int) -> np.ndarray:
        """Unbiased vector-sum estimates (unit-ball coordinates), shape (buckets of ``level``, d)."""
        lay = self._lay
        if level not in self._vidx:
            raise ValueError(f"level {level} carries no vector messages.")
        d, nb = lay.d, int(lay.dom[level])
        lo = 2 * d * int(lay.voff[level])
        z = np.arange(lo, lo + 2 * d * nb, dtype=np.int64)
        c = self._counts[lay.n_hist + z] - 0.5 * lay.group_sizes("v", z)
        c = c.reshape(nb, d, 2)
        return c[:, :, 1] - c[:, :, 0]

    def _vector_noise(self, level: int) -> float:
        """E||v~_y - v_y||^2 from the blankets alone (public): d g / 2 with g the largest group."""
        lay = self._lay
        n = self.shuffle_params.n_users
        g = n // lay.R_v + (1 if n % lay.R_v else 0)
        return lay.d * g / 2.0

    def expected_noise_floor(self, n_clusters: int) -> float:
        """Heuristic extra k-means cost (data units) of the vector channel, not growing with n.

        ``radius^2 (k sqrt(d) + k^2 d g / (2 n))``: every user's rounding adds at most
        ``sqrt(d)`` to the squared error of its cluster's sum, which its ``n/k`` users pay
        once over ``(n/k)^2``: ``sqrt(d)`` per cluster; the blankets add ``d g / 2`` per
        bucket sum, paid ``k / n`` times per user. Public quantities only.
        """
        k, n = float(n_clusters), float(self.shuffle_params.n_users)
        rounding = k * math.sqrt(self._lay.d)
        return (rounding + k * k * self._vector_noise(int(self._pub.vector_levels[-1])) / n) * self.params.radius**2

    def fit(self, n_clusters: int, **kwargs):
        """:meth:`Decoder.fit <bigclust.private.Decoder.fit>` over the shuffle protocol's oracles (same keywords)."""
        if self.n_messages_ == 0:
            raise ValueError("no messages were added; call add(messages) first.")
        return super().fit(n_clusters, **kwargs)
