"""Algorithm 1's proposed edges of one scale, for the local tree builders.

For each hash function ``j`` and point ``p`` the proposed edge is ``(p, q)`` with
``q`` the smallest point in ``p``'s bucket. :func:`bigclust.lshtree.two_hop.two_hop_edges`
collects them with :func:`scale_candidates` (from stored projections) into the
buffers of :func:`scale_buffers`; :func:`bigclust.lshtree.hierarchy.build_hierarchy`
finds and checks them from the scale's keys (:func:`bigclust.lshtree.hierarchy.keyed_edges`,
buffers of :func:`edge_buffers`).
Every engine draws the scale's bucket offsets with :func:`scale_offsets`.
"""

from __future__ import annotations

import numba
import numpy as np

from ..lsh import bucket_keys


def scale_offsets(seed_base: int, i: int, n_hashes: int, n_projections: int) -> np.ndarray:
    """Offsets ``b / r`` in [0, 1) of scale ``i``, shape (n_hashes, n_projections).

    Drawn from a stream keyed by the scale index, so that dry runs, skipped
    scales and the engines' different sweeps all agree on every scale's hashes.
    """
    return np.random.default_rng([seed_base, i]).random((n_hashes, n_projections))


def scale_buffers(n: int, n_hashes: int):
    """Buffers of :func:`scale_candidates` for ``n`` points, allocated once per fit.

    Returns
    -------
    cand_p, cand_q : ndarray of shape (n_hashes, n), int32 (int64 from 2^31 points)
    n_cand : ndarray of shape (n_hashes,), int64
    scratch : (keys, table_keys, table_vals), one row per worker thread
    """
    idx = np.int32 if n < 2**31 else np.int64  # int32 halves the memory traffic
    cand_p = np.empty((n_hashes, n), idx)
    cand_q = np.empty((n_hashes, n), idx)
    n_cand = np.zeros(n_hashes, np.int64)
    n_workers = max(1, min(numba.get_num_threads(), n_hashes))
    table_size = 1 << int(np.ceil(np.log2(2 * n)))
    scratch = (np.empty((n_workers, n), np.uint64), np.empty((n_workers, table_size), np.uint64),
               np.empty((n_workers, table_size), idx))
    return cand_p, cand_q, n_cand, scratch


@numba.njit(cache=True, parallel=True)
def scale_candidates(Z, offsets, inv_scale_width, n_hashes, n_projections, multipliers, lab,
                     cand_p, cand_q, n_cand, keys, table_keys, table_vals):
    """Algorithm 1, line 4, for one scale: the edges that need a distance check.

    For each hash function ``j`` and each point ``p``, the proposed edge is
    ``(p, q)`` with ``q`` the smallest-index point in ``p``'s bucket. Only edges
    between different components (``lab``, shape (n,), = component at the start
    of the scale) can change anything; those are written, in increasing ``p``,
    to ``cand_p[j, :n_cand[j]]`` and ``cand_q[j, :n_cand[j]]``.

    Hash functions are independent, so they are spread over the worker threads;
    each worker owns one row of the ``keys``/``table_*`` scratch arrays.
    """
    n = Z.shape[1]
    n_workers = keys.shape[0]
    mask = table_keys.shape[1] - 1
    for w in numba.prange(n_workers):
        for j in range(w, n_hashes, n_workers):
            kw = keys[w]
            tk = table_keys[w]
            tv = table_vals[w]
            bucket_keys(Z, j * n_projections, n_projections, inv_scale_width, offsets[j], multipliers, kw)
            tv[:] = -1
            c = 0
            for p in range(n):  # increasing p: the first point stored per key is the smallest index
                key = kw[p]
                slot = np.int64(key & np.uint64(mask))
                while True:
                    v = tv[slot]
                    if v == -1:
                        tv[slot] = p
                        tk[slot] = key
                        break
                    if tk[slot] == key:
                        if lab[v] != lab[p]:
                            cand_p[j, c] = p
                            cand_q[j, c] = v
                            c += 1
                        break
                    slot = (slot + 1) & mask
            n_cand[j] = c



def edge_buffers(n: int, n_hashes: int, n_workers: int):
    """Buffers of :func:`bigclust.lshtree.hierarchy.keyed_edges` for ``n`` points.

    Returns
    -------
    edge_p, edge_q : ndarray of shape (n_hashes, n), int32 (int64 from 2^31 points)
        Accepted edges per hash function. Only the start of a row is written (a
        scale accepts a small share of its proposed edges), and only memory that
        is written is taken.
    n_edges, n_cand : ndarray of shape (n_hashes,), int64
    table : ndarray of shape (n_workers, 2^ceil(log2(2 n))), same integer type
        One open-addressing table per thread; a slot holds a point (the smallest
        of its bucket) and the key is read from that point.
    """
    idx = np.int32 if n < 2**31 else np.int64
    edge_p = np.empty((n_hashes, n), idx)
    edge_q = np.empty((n_hashes, n), idx)
    n_edges = np.zeros(n_hashes, np.int64)
    n_cand = np.zeros(n_hashes, np.int64)
    table = np.empty((n_workers, 1 << int(np.ceil(np.log2(2 * n)))), idx)
    return edge_p, edge_q, n_edges, n_cand, table
