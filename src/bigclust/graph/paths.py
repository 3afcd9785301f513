"""Shortest-path primitives of Section 2.2: SSSP, MSSP (Lemma 2.3) and ExclusiveMSSP (Lemma 2.4).

Every function takes an optional :class:`~bigclust.graph.kmachine.KMachine`. Without one (or with
``k = 1``) the sequential equivalent runs: SciPy's Dijkstra, with ``min_only=True`` for the
multi-source problem (Thorup's dummy-source reduction, done inside SciPy). With ``k > 1`` the
computation is executed round by round in the simulated k-machine model and charged to its
ledger. Both compute exact distances, which satisfy the paper's (1+eps) guarantees for every eps.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse.csgraph import dijkstra

from .kmachine import KMachine, distributed_mssp

__all__ = ["sssp", "mssp", "exclusive_mssp"]


def _check_sources(graph, sources, *, allow_empty: bool = False) -> np.ndarray:
    s = np.asarray(sources)
    if s.ndim == 0:
        s = s.reshape(1)
    if s.size and s.dtype.kind not in "iu":
        raise TypeError(f"sources must be integer vertex ids, got dtype {s.dtype}.")
    s = np.unique(s.astype(np.int64))
    if s.size == 0 and not allow_empty:
        raise ValueError("sources is empty.")
    if s.size and (s[0] < 0 or s[-1] >= graph.n_vertices):
        raise ValueError(f"source ids must be in [0, {graph.n_vertices}).")
    return s


def _seq_mssp(graph, sources: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = graph.n_vertices
    if sources.size == 0:
        return np.full(n, np.inf), np.full(n, -1, dtype=np.int64)
    dist, _, src = dijkstra(graph.to_scipy(), directed=True, indices=sources, min_only=True, return_predecessors=True)
    return dist, src.astype(np.int64)


def sssp(graph, source: int, km: KMachine | None = None) -> np.ndarray:
    """Single-source shortest-path distances (Corollary 2.2).

    Parameters
    ----------
    graph : Graph
    source : int
        Source vertex id.
    km : KMachine, optional
        Simulated machines; with ``k > 1`` the run is distributed and charged to ``km.ledger``.

    Returns
    -------
    dist : ndarray of shape (n_vertices,)
        Distance from ``source`` (same units as the edge weights); inf when unreachable.
    """
    s = _check_sources(graph, [source])
    return mssp(graph, s, km)[0]


def mssp(graph, sources, km: KMachine | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Multi-source shortest paths (Lemma 2.3): every vertex's nearest source and its distance.

    Returns
    -------
    dist : ndarray of shape (n_vertices,)
        ``d(v, T)`` for the source set T (0 at sources; inf when no source is reachable).
    nearest : ndarray of int64, shape (n_vertices,)
        A source realising ``dist[v]`` (the smallest id among equidistant ones in the distributed
        run); -1 when unreachable.
    """
    s = _check_sources(graph, sources, allow_empty=True)
    if km is not None and km.distributed:
        return distributed_mssp(km, s)
    if km is not None:
        km.ledger.count_call("mssp")
    return _seq_mssp(graph, s)


def exclusive_mssp(graph, sources, km: KMachine | None = None) -> tuple[np.ndarray, np.ndarray]:
    """ExclusiveMSSP (Lemma 2.4): for every vertex v, the nearest source OTHER than v.

    Implemented as in the proof of Lemma 2.4: every source gets a ``ceil(log2 |T|)``-bit id; for
    each bit position b and value c, one MSSP call from ``T_{b,c}`` (sources whose bit b is c).
    Any two distinct sources differ in some bit, so for every vertex the minimum over the sets
    that do not contain it is its nearest other source. Costs ``2 ceil(log2 |T|)`` MSSP calls.

    Returns
    -------
    dist : ndarray of shape (n_vertices,)
        ``d(v, T - {v})``; inf when no other source exists or is reachable.
    nearest : ndarray of int64, shape (n_vertices,)
        The source realising it, or -1.
    """
    s = _check_sources(graph, sources, allow_empty=True)
    n = graph.n_vertices
    best = np.full(n, np.inf)
    arg = np.full(n, -1, dtype=np.int64)
    if s.size <= 1:
        if s.size == 1:  # non-sources' nearest other source is the only source
            d, a = mssp(graph, s, km)
            best, arg = d, a
            best[s[0]], arg[s[0]] = np.inf, -1
        return best, arg
    if km is not None and km.distributed:
        km.ledger.gather(1)  # machines announce how many sources they host (proof of Lemma 2.4)
        km.ledger.broadcast(1)
    bits = int(np.ceil(np.log2(s.size)))
    ids = np.arange(s.size)
    in_t = np.full(n, -1, dtype=np.int64)
    in_t[s] = ids
    for b in range(bits):
        for c in (0, 1):
            part = s[((ids >> b) & 1) == c]
            if part.size == 0:
                continue
            d, a = mssp(graph, part, km)
            # vertices inside this part are excluded from using it (they would find themselves)
            inside = in_t >= 0
            inside[inside] = ((in_t[inside] >> b) & 1) == c
            upd = (~inside) & ((d < best) | ((d == best) & (a < arg) & (a >= 0)))
            best[upd] = d[upd]
            arg[upd] = a[upd]
    return best, arg
