"""A binary min-heap for the Numba kernels of the graph family (Dijkstra-style searches).

The heap lives in three parallel arrays: keys ``hk`` (float64 distances), ties ``ht``
(int64) and values ``hv`` (int64 vertex ids). Entries are ordered by ``(key, tie)``
lexicographically; ``tie`` is the source id in the distributed MSSP (deterministic
nearest-source ties) and 0 elsewhere. A search over a graph with ``n`` vertices and ``m2``
directed edges pushes at most ``n + m2`` entries (one per seed and one per strict
improvement), so :func:`new_heap` sizes the arrays for that and a push never overflows.

Used by :mod:`~bigclust.graph.kmachine` (distributed MSSP), :mod:`~bigclust.graph.mis`
(greedy threshold cover) and :mod:`~bigclust.graph.neighbourhood` (Cohen's pruned Dijkstra).
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["lex_less", "new_heap", "heap_push", "heap_pop"]


@numba.njit(cache=True, inline="always")
def lex_less(k1, t1, k2, t2):
    """``(k1, t1) < (k2, t2)`` lexicographically."""
    return k1 < k2 or (k1 == k2 and t1 < t2)


@numba.njit(cache=True)
def new_heap(n_vertices, n_directed_edges):
    """Empty heap arrays (keys, ties, values) large enough for one search over a graph."""
    cap = n_directed_edges + n_vertices + 1
    return np.empty(cap, dtype=np.float64), np.zeros(cap, dtype=np.int64), np.empty(cap, dtype=np.int64)


@numba.njit(cache=True, inline="always")
def _swap(hk, ht, hv, i, j):
    hk[i], hk[j] = hk[j], hk[i]
    ht[i], ht[j] = ht[j], ht[i]
    hv[i], hv[j] = hv[j], hv[i]


@numba.njit(cache=True)
def heap_push(hk, ht, hv, size, key, tie, val):
    """Insert ``(key, tie) -> val``; returns the new size."""
    i = size
    hk[i] = key
    ht[i] = tie
    hv[i] = val
    while i > 0:
        parent = (i - 1) >> 1
        if not lex_less(hk[i], ht[i], hk[parent], ht[parent]):
            break
        _swap(hk, ht, hv, i, parent)
        i = parent
    return size + 1


@numba.njit(cache=True)
def heap_pop(hk, ht, hv, size):
    """Remove the smallest entry; returns ``(key, tie, val, new_size)``."""
    key = hk[0]
    tie = ht[0]
    val = hv[0]
    size -= 1
    hk[0] = hk[size]
    ht[0] = ht[size]
    hv[0] = hv[size]
    i = 0
    while True:
        left = 2 * i + 1
        if left >= size:
            break
        c = left
        if left + 1 < size and lex_less(hk[left + 1], ht[left + 1], hk[left], ht[left]):
            c = left + 1
        if not lex_less(hk[c], ht[c], hk[i], ht[i]):
            break
        _swap(hk, ht, hv, c, i)
        i = c
    return key, tie, val, size
