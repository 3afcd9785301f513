"""Candidate clusters in O(1) MPC rounds: Algorithm 2 as Appendix C.2 computes it.

Algorithm 2 of "Massively Parallel k-Means Clustering for Perturbation Resilient
Instances" may return any
family ``Q_i`` of connected components of the cumulative graph ``G'_i = E_0 u
... u E_i`` that contains every component of diameter at most 2.
:func:`bigclust.lshtree.hierarchy.build_hierarchy` keeps *all* components, which needs
a sequential sweep (or ``O(log n)`` rounds of a distributed connected-components
algorithm per scale). The proof of Lemma 4.3 (Appendix C.2) instead treats all
scales at once, with two rounds of label propagation per scale:

1. ``label1_i(u) = min({u} u N_i(u))`` and ``label2_i(u) = min over v in {u} u
   N_i(u) of label1_i(v)``, the smallest vertex within two hops in ``G'_i``;
2. ``C_c = {u : label2_i(u) = c}`` is kept in ``Q_i`` iff ``label2_i(c) = c`` and
   no edge of ``G'_i`` joins a vertex labelled ``c`` to one labelled otherwise.

Every kept ``C_c`` is a connected component of ``G'_i``, and every component of
diameter <= 2 is kept (its smallest vertex is within two hops of all of it).
The scales are fixed in advance (no dry runs, no skipping), from half the
smallest nearest-neighbour distance in a sample of points, divided by ``c``, to
twice the diameter bound, so the whole construction is a constant number of
sorts and aggregations whatever ``n`` and the number of scales: this is what the
spark engine runs with ``candidates="two_hop"``
(:mod:`bigclust.lshtree._spark._two_hop`), and this module is its single-machine twin
(same edges, same candidates, same tree).

Edges: for every scale ``i`` and hash ``j``, each point ``p`` proposes ``(p, q)``
with ``q`` the smallest point in its bucket (Algorithm 1); the pair is accepted at
the first proposing scale whose threshold ``c D_i`` exceeds ``|y_p - y_q|``. The
tree is built from the kept candidates as in Algorithms 3-4: a kept ``C_c`` that
is larger than the largest earlier candidate holding ``c`` becomes a vertex whose
children (the earlier candidates it contains, which it contains whole because
components only grow with ``i``) are ordered by their smallest point.
"""

from __future__ import annotations

import numba
import numpy as np

from ._kernels.candidates import scale_buffers, scale_candidates, scale_offsets
from ._kernels.distances import min_d2_to_samples, row_sq_dist, sq_dist_rows
from ._kernels.forest import Forest
from .hierarchy import Hierarchy
from .lsh import MULTIPLIERS, draw_pstable

__all__ = ["build_hierarchy_two_hop", "two_hop_scales", "two_hop_edges", "two_hop_candidates", "sq_dist_rows",
           "min_d2_to_samples", "N_SAMPLE"]

# points whose nearest-neighbour distance sets the first scale (both engines sample this many)
N_SAMPLE = 256


def two_hop_scales(far2: float, nn_min2: float, scale_ratio: float, edge_factor: float) -> np.ndarray:
    """The fixed scales ``D_i`` of the two-hop construction, shape (L,), increasing.

    ``far2`` is ``max |y - y_0|^2`` (the diameter bound is twice its root,
    Appendix C.7) and ``nn_min2`` the smallest squared nearest-neighbour distance
    of the sampled points. The first scale is half that distance over ``c``: scales
    below ``closest pair / c`` accept no edge, and the sample's smallest
    nearest-neighbour distance is close to the closest pair from above.
    """
    diameter_ub = 2.0 * float(np.sqrt(far2))
    nn = float(np.sqrt(nn_min2)) if np.isfinite(nn_min2) else diameter_ub
    if not nn > 0:
        nn = diameter_ub * 1e-12
    d_first = 0.5 * nn / edge_factor
    d_stop = 2.0 * max(diameter_ub, diameter_ub / edge_factor)
    scales = []
    i = 0
    while True:
        D = d_first * scale_ratio**i
        scales.append(D)
        if D >= d_stop:
            break
        i += 1
    return np.array(scales)


@numba.njit(cache=True)
def _accept_new(cand_p, cand_q, n_cand, n_hashes, Y, thr2, table, out_p, out_q, n_out):
    """Accept the proposed pairs of one scale that are short and not accepted before.

    ``table`` is an open-addressing set of accepted ``q * n + p`` keys (0 = empty,
    keys stored + 1). Returns the new number of accepted pairs, or -1 when the
    table or the output arrays are too full (the caller grows them and retries).
    """
    n = Y.shape[0]
    mask = table.shape[0] - 1
    cnt = n_out
    for j in range(n_hashes):
        for i in range(n_cand[j]):
            p = np.int64(cand_p[j, i])
            q = np.int64(cand_q[j, i])
            key = np.uint64(q * n + p + 1)
            h = np.int64((key * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(20)) & mask
            found = False
            while table[h] != 0:
                if table[h] == key:
                    found = True
                    break
                h = (h + 1) & mask
            if found:
                continue
            if row_sq_dist(Y, p, Y, q) < thr2:
                if cnt >= out_p.shape[0] or 2 * (cnt + 1) > table.shape[0]:
                    return -1
                table[h] = key
                out_p[cnt] = p
                out_q[cnt] = q
                cnt += 1
    return cnt


def two_hop_edges(Y, Z, lsh, scales, offsets_for, edge_factor, progress=None):
    """Accepted edges ``(p, q, f)`` (``q < p``, ``f`` = first accepting scale index), sorted by ``f``.

    Parameters
    ----------
    Y : ndarray of shape (n, d), float64
        Hashed coordinates (distances are checked here).
    Z : ndarray of shape (t * m, n), float32
        ``lsh.project(Y)``.
    scales : ndarray of shape (L,)
        :func:`two_hop_scales`.
    offsets_for : callable
        ``i -> (t, m)`` offsets of scale ``i``.
    """
    n = Y.shape[0]
    t, m = lsh.n_hashes, lsh.n_projections
    cand_p, cand_q, n_cand, scratch = scale_buffers(n, t)
    lab = np.arange(n, dtype=np.int64)  # no component filter: every proposal is an edge of G_i
    cap = 4 * n
    table = np.zeros(1 << int(np.ceil(np.log2(4 * cap))), np.uint64)
    out_p = np.empty(cap, np.int64)
    out_q = np.empty(cap, np.int64)
    starts = np.zeros(len(scales) + 1, np.int64)
    cnt = 0
    for i, D in enumerate(scales):
        thr = edge_factor * D
        scale_candidates(Z, offsets_for(i), 1.0 / (D * lsh.bucket_width), t, m, MULTIPLIERS, lab,
                         cand_p, cand_q, n_cand, *scratch)
        while True:
            new = _accept_new(cand_p, cand_q, n_cand, t, Y, thr * thr, table, out_p, out_q, cnt)
            if new >= 0:
                break
            # grow and rehash; the pairs accepted so far at this scale are re-found, not duplicated
            cap *= 2
            out_p = np.concatenate([out_p[:cnt], np.empty(cap - cnt, np.int64)])
            out_q = np.concatenate([out_q[:cnt], np.empty(cap - cnt, np.int64)])
            table = np.zeros(1 << int(np.ceil(np.log2(4 * cap))), np.uint64)
            _rehash(out_p, out_q, cnt, n, table)
        cnt = new
        starts[i + 1] = cnt
        if progress is not None:
            progress.update(f"two-hop edges: scale {i + 1}/{len(scales)}, {cnt} edges")
    f = np.repeat(np.arange(len(scales), dtype=np.int64), np.diff(starts))
    return out_p[:cnt].copy(), out_q[:cnt].copy(), f


@numba.njit(cache=True)
def _rehash(out_p, out_q, cnt, n, table):
    mask = table.shape[0] - 1
    for i in range(cnt):
        key = np.uint64(out_q[i] * n + out_p[i] + 1)
        h = np.int64((key * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(20)) & mask
        while table[h] != 0:
            h = (h + 1) & mask
        table[h] = key


@numba.njit(cache=True)
def _two_hop_labels(n, p, q, end, l1, l2, bad, stamp):
    """label1/label2 of Appendix C.2 on the graph of edges ``[0, end)``; marks open labels with ``stamp``."""
    for u in range(n):
        l1[u] = u
    for e in range(end):
        a, b = p[e], q[e]
        if b < l1[a]:
            l1[a] = b
        if a < l1[b]:
            l1[b] = a
    for u in range(n):
        l2[u] = l1[u]
    for e in range(end):
        a, b = p[e], q[e]
        if l1[b] < l2[a]:
            l2[a] = l1[b]
        if l1[a] < l2[b]:
            l2[b] = l1[a]
    for e in range(end):
        a, b = p[e], q[e]
        if l2[a] != l2[b]:
            bad[l2[a]] = stamp
            bad[l2[b]] = stamp


@numba.njit(cache=True)
def _closed_pairs(n, l2, kept, out_c, out_u):
    """``(c, u)`` for every point ``u != c`` of a kept candidate ``C_c``, in increasing ``u``."""
    m = 0
    for u in range(n):
        c = l2[u]
        if c != u and kept[c]:
            out_c[m] = c
            out_u[m] = u
            m += 1
    return m


def two_hop_candidates(n: int, p: np.ndarray, q: np.ndarray, f: np.ndarray, n_scales: int):
    """Yield ``(i, label2, kept)`` per scale: Appendix C.2's labels on ``G'_i`` and the kept roots.

    ``kept`` is a boolean array over points: ``kept[c]`` iff ``C_c`` is in ``Q_i``.
    Used by the tests as the definition the tree is checked against.
    """
    l1 = np.empty(n, np.int64)
    l2 = np.empty(n, np.int64)
    bad = np.full(n, -1, np.int64)
    ends = np.searchsorted(f, np.arange(n_scales), side="right")
    for i in range(n_scales):
        _two_hop_labels(n, p, q, int(ends[i]), l1, l2, bad, i)
        kept = (l2 == np.arange(n)) & (bad != i)
        yield i, l2.copy(), kept


def build_hierarchy_two_hop(
    Y: np.ndarray,
    *,
    n_hashes: int = 10,
    n_projections: int = 10,
    bucket_width: float = 4.0,
    scale_ratio: float = 1.1,
    edge_factor: float = 2.0,
    random_state: np.random.Generator,
    progress=None,
) -> Hierarchy:
    """The binarised tree T' over the two-hop candidates (Appendix C.2), on one machine.

    Same parameters and result type as :func:`bigclust.lshtree.hierarchy.build_hierarchy`.
    Random draws, in order: the LSH directions, the sampled points (``min(n, 256)``
    without replacement), the seed of the per-scale offsets.
    """
    Y = np.ascontiguousarray(Y, dtype=np.float64)
    n, d = Y.shape
    info = {"candidates": "two_hop", "n_scales": 0, "edges_accepted": 0, "forced_root": False}
    if n == 1:
        return Hierarchy(1, *Forest(1).finish(info), info)

    lsh = draw_pstable(d, n_hashes, n_projections, bucket_width, random_state)
    sample = random_state.choice(n, size=min(n, N_SAMPLE), replace=False).astype(np.int64)
    seed_base = int(random_state.integers(2**63 - 1))
    far2 = float(sq_dist_rows(Y, np.broadcast_to(Y[0], Y.shape).copy()).max())
    nn2 = np.full(sample.shape[0], np.inf)
    min_d2_to_samples(Y[sample], sample, Y, np.arange(n, dtype=np.int64), nn2)
    scales = two_hop_scales(far2, float(nn2.min()), scale_ratio, edge_factor)
    L = scales.shape[0]
    info.update(n_scales=int(L), first_scale=float(scales[0]), last_scale=float(scales[-1]),
                diameter_upper_bound=2.0 * float(np.sqrt(far2)), sample_nn_distance=float(np.sqrt(nn2.min())))

    def offsets_for(i):
        return scale_offsets(seed_base, i, n_hashes, n_projections)

    Z = lsh.project(Y)
    p, q, f = two_hop_edges(Y, Z, lsh, scales, offsets_for, edge_factor, progress)
    del Z
    info["edges_accepted"] = int(p.shape[0])

    forest = Forest(n)
    pair_c = np.empty((1, n), np.int64)
    pair_u = np.empty((1, n), np.int64)
    all_true = np.ones((1, n), np.bool_)
    n_candidates = 0
    for i, l2, kept in two_hop_candidates(n, p, q, f, L):
        m = _closed_pairs(n, l2, kept, pair_c[0], pair_u[0])
        if m == 0:
            continue
        nt, nu = forest.merge(pair_c, pair_u, np.array([m], np.int64), all_true, 1, i, scales[i])
        n_candidates += nt - nu  # one new candidate per group of children
        if progress is not None:
            progress.update(f"two-hop tree: scale {i + 1}/{L}, {forest.n_components} components")
    info["n_candidates"] = int(n_candidates)
    return Hierarchy(n, *forest.finish(info), info)
