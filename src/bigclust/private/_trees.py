"""Trees of potential representatives (Section 3 and Section 5) and the tree builder.

Two complete trees are available; both give every point one node per level
(its *potential representatives*, Algorithm 3 lines 7-9) and map each node to a
bucket of a power-of-two domain for the LDP channels.

:class:`SimHashTree` (Section 5, the paper's practical variant and the default)
    ``T`` public Gaussian hyperplanes ``v_1..v_T``; the level-``i`` node of ``x`` is
    the bit string ``(g_1(x), ..., g_i(x))``, ``g_j(x) = [<v_j, x> > 0]``, stored as an
    integer with bit ``j-1`` = ``g_j``. Node ``z`` at level ``i`` has the two children
    ``z`` and ``z | 2^i``. A level with ``2^i`` nodes or fewer than the bucket domain
    uses the node itself as bucket (no collisions); deeper levels use public
    multiply-shift hashing into ``2^bucket_bits`` buckets.

:class:`LatticeNetTree` (Section 3, for low dimension)
    Nets ``L_i = s_i Z^d'`` (cubic lattice, spacing ``s_i = 2^(1-i)/sqrt(d')``), so the
    covering radius is ``rho_i = 2^-i`` and the packing radius ``gamma 2^-i`` with
    ``gamma = 1/sqrt(d')``. The closest point of ``L_i`` to a point of ``L_{i+1}`` with
    integer coordinates ``u`` is ``ceil(u/2)`` (ties, which only occur between
    lattice points, broken upwards), so ``Psi_i(...Psi_T(x))`` has integer
    coordinates ``ceil(u_T / 2^(T-i))`` and every node has the ``2^d'`` children
    ``{2c-1, 2c}^d'`` (Lemma 15 with this net). Level 0 is the origin, whose children
    are the level-1 lattice points within distance 2 of it (Lemma 14). Buckets are a public
    hash of (level, coordinates). Points are first projected to ``d'`` dimensions
    (Algorithm 3 lines 2-6) by the encoder.

:func:`build_net_tree` is Algorithm 1 (BuildTree: it grows a net tree over the complete tree
from a frequency oracle) and :func:`compute_threshold` Algorithm 2.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from ._mechanisms import _splitmix64

__all__ = ["SimHashTree", "LatticeNetTree", "compute_threshold", "build_net_tree"]


class SimHashTree:
    """Complete SimHash prefix tree of depth ``n_levels`` over R^d (public hyperplanes)."""

    kind = "simhash"

    def __init__(self, hyperplanes: np.ndarray, multipliers: np.ndarray, bucket_bits: int):
        self.hyperplanes = np.asarray(hyperplanes, dtype=np.float64)  # (T, d)
        self.n_levels = self.hyperplanes.shape[0]
        self.multipliers = np.asarray(multipliers, dtype=np.uint64)  # (T+1,), odd
        self.bucket_bits = int(bucket_bits)

    # ---- client side -------------------------------------------------------------
    def encode(self, X: np.ndarray) -> np.ndarray:
        """Full T-bit codes (uint64, shape (n,)) of points X (n, d)."""
        bits = (X @ self.hyperplanes.T) > 0.0
        weights = np.left_shift(np.uint64(1), np.arange(self.n_levels, dtype=np.uint64))
        return (bits.astype(np.uint64) * weights[None, :]).sum(axis=1, dtype=np.uint64)

    def user_buckets(self, codes: np.ndarray, levels: np.ndarray) -> np.ndarray:
        """Bucket of each user's level-``levels[i]`` node."""
        lv = levels.astype(np.uint64)
        nodes = codes & ((np.uint64(1) << lv) - np.uint64(1))
        return self._bucket(nodes, levels)

    # ---- shared ------------------------------------------------------------------
    def domain_sizes(self, levels) -> np.ndarray:
        lv = np.asarray(levels, dtype=np.int64)
        return np.left_shift(1, np.minimum(lv, self.bucket_bits)).astype(np.uint64)

    def _bucket(self, nodes: np.ndarray, levels: np.ndarray) -> np.ndarray:
        levels = np.asarray(levels, dtype=np.int64)
        nodes = np.asarray(nodes, dtype=np.uint64)
        out = nodes.copy()
        hashed = levels > self.bucket_bits
        if hashed.any():
            with np.errstate(over="ignore"):
                h = nodes[hashed] * self.multipliers[levels[hashed]]
            out[hashed] = h >> np.uint64(64 - self.bucket_bits)
        return out

    # ---- server side -------------------------------------------------------------
    def root(self) -> np.ndarray:
        return np.zeros((1, 1), dtype=np.int64)

    def children(self, level: int, nodes: np.ndarray) -> np.ndarray:
        z = nodes[:, 0]
        return np.concatenate([z, z | (1 << level)])[:, None]

    def node_buckets(self, level: int, nodes: np.ndarray) -> np.ndarray:
        z = nodes[:, 0].astype(np.uint64)
        return self._bucket(z, np.full(z.shape[0], level))

    def positions(self, level: int, nodes: np.ndarray):
        return None  # SimHash nodes have no coordinates: their centres come from vector sums


class LatticeNetTree:
    """Complete net tree on cubic-lattice nets in R^d' (Section 3)."""

    kind = "net"

    def __init__(self, n_levels: int, dim: int, bucket_bits: int, key: int):
        self.n_levels = int(n_levels)
        self.dim = int(dim)
        self.bucket_bits = int(bucket_bits)
        self.key = np.uint64(key)

    def spacing(self, level: int) -> float:
        return 2.0 ** (1 - level) / math.sqrt(self.dim)

    def encode(self, Xp: np.ndarray) -> np.ndarray:
        """Integer coordinates of the closest level-T lattice point (int64, (n, d'))."""
        return np.rint(Xp / self.spacing(self.n_levels)).astype(np.int64)

    def _ancestors(self, codes: np.ndarray, levels: np.ndarray) -> np.ndarray:
        shift = (self.n_levels - np.asarray(levels, dtype=np.int64))[:, None]
        return -((-codes) >> shift)  # ceil(u / 2^shift)

    def user_buckets(self, codes: np.ndarray, levels: np.ndarray) -> np.ndarray:
        return self._hash(self._ancestors(codes, levels), np.asarray(levels, dtype=np.int64))

    def domain_sizes(self, levels) -> np.ndarray:
        return np.full(np.shape(levels), 1 << self.bucket_bits, dtype=np.uint64)

    def _hash(self, coords: np.ndarray, levels: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            h = _splitmix64(levels.astype(np.uint64) ^ self.key)
            for c in range(coords.shape[1]):
                h = _splitmix64(h ^ coords[:, c].astype(np.uint64))
        return h >> np.uint64(64 - self.bucket_bits)

    def root(self) -> np.ndarray:
        return np.zeros((1, self.dim), dtype=np.int64)

    def children(self, level: int, nodes: np.ndarray) -> np.ndarray:
        if level == 0:
            # every level-1 lattice point that can represent a point of the unit ball:
            # by Lemma 14 it lies within 2^(1-1) = 1 of the point, so within 2 of the origin
            s1 = self.spacing(1)
            r = int(math.floor(2.0 / s1))
            grid = np.array(list(itertools.product(range(-r, r + 1), repeat=self.dim)), dtype=np.int64)
            keep = np.linalg.norm(grid * s1, axis=1) <= 2.0 + 1e-9
            return grid[keep]
        offs = np.array(list(itertools.product((-1, 0), repeat=self.dim)), dtype=np.int64)
        return (2 * nodes[:, None, :] + offs[None, :, :]).reshape(-1, self.dim)

    def node_buckets(self, level: int, nodes: np.ndarray) -> np.ndarray:
        return self._hash(nodes, np.full(nodes.shape[0], level, dtype=np.int64))

    def positions(self, level: int, nodes: np.ndarray) -> np.ndarray:
        return nodes.astype(np.float64) * self.spacing(level)


def compute_threshold(f_sorted: np.ndarray, k: int, a: int, gamma: int) -> int:
    """Algorithm 2 (ComputeThreshold): how many of the heaviest nodes of a level to expand.

    Parameters
    ----------
    f_sorted : array (m,)
        Non-negative approximate frequencies of the level's nodes, non-decreasing.
    k, a, gamma : int
        Number of clusters, packing multiplicity ``a`` (Corollary 18) and the cap
        ``Gamma`` on the number of ``ka``-blocks (Theorem 20 uses ceil(log n)).

    Returns
    -------
    tau : int
        For the first ``j`` in ``1..min(Gamma, floor(m/(ka)))`` with
        ``sum_{i <= m-(j-1)ka} f_i <= 2 sum_{i <= m-jka} f_i``, ``(j-1)ka``; else
        ``min(m, Gamma ka)``.
    """
    m = int(f_sorted.shape[0])
    ka = k * a
    prefix = np.concatenate([[0.0], np.cumsum(f_sorted, dtype=np.float64)])
    for j in range(1, min(gamma, m // ka) + 1):
        if prefix[m - (j - 1) * ka] <= 2.0 * prefix[m - j * ka]:
            return (j - 1) * ka
    return min(m, gamma * ka)


def build_net_tree(tree, freq, n_total: float, k: int, a: int, gamma: int, levels=None, max_nodes: int = 2_000_000):
    """Algorithm 1 (BuildTree): grow a net tree top-down from a frequency oracle.

    Parameters
    ----------
    tree : SimHashTree or LatticeNetTree
    freq : callable (level, nodes) -> array of non-negative approximate frequencies
    n_total : float
        Frequency of the root (the public number of reports).
    k, a, gamma : int
        As in :func:`compute_threshold`.
    levels : sequence of int, optional
        The levels at which the frequency oracle is queried (the histogram levels),
        increasing and ending at ``tree.n_levels``; default every level 1..T. A node
        expanded at level ``l`` is replaced by all its descendants at the next of these
        levels, i.e. the tree on these levels has branching factor
        ``B^(l' - l)`` (Lemma 15); with every level this is exactly Algorithm 1.
    max_nodes : int
        Safety cap on the number of nodes of one level (the paper bounds it by
        ``2^O(d) k log n``, Theorem 20); exceeding it raises ValueError.

    Returns
    -------
    leaves : list of (level, nodes, frequencies)
        Every root-to-level-T path of the complete tree passes through exactly one leaf.
    expanded : list of int
        Number of nodes expanded at the root and at each of ``levels`` but the last.

    Nodes whose approximate frequency is 0 are not expanded even when ranked within
    the top ``tau``: they carry no estimated mass, so expanding them cannot lower the
    transport bound of Lemma 16, and only adds noisy leaves.
    """
    T = tree.n_levels
    levels = list(range(1, T + 1)) if levels is None else [int(lv) for lv in levels]
    if not levels or levels[-1] != T or any(b <= a_ for a_, b in zip([0] + levels, levels)):
        raise ValueError("levels must be increasing, positive and end at the tree depth.")
    leaves = []
    expanded = []
    nodes = tree.root()
    f = np.array([float(n_total)])
    level = 0
    for nxt in levels:
        order = np.argsort(f, kind="stable")
        tau = compute_threshold(f[order], k, a, gamma)
        top = order[f.shape[0] - tau:]
        top = top[f[top] > 0]
        is_leaf = np.ones(f.shape[0], dtype=bool)
        is_leaf[top] = False
        if is_leaf.any():
            leaves.append((level, nodes[is_leaf], f[is_leaf]))
        expanded.append(int(top.size))
        if top.size == 0:
            return leaves, expanded
        nodes = nodes[np.sort(top)]
        for lv in range(level, nxt):
            nodes = tree.children(lv, nodes)
            if nodes.shape[0] > max_nodes:
                raise ValueError(f"The tree would have {nodes.shape[0]} nodes at level {lv + 1} (cap {max_nodes}).")
        level = nxt
        f = freq(level, nodes)
    leaves.append((T, nodes, f))
    return leaves, expanded
