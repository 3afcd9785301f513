"""Graph generators: the lower-bound family of Section 3 and road-like benchmark graphs."""

from __future__ import annotations

import numpy as np

from .._core.validation import check_int, check_positive, check_random_state
from ._graph import Graph

__all__ = ["lower_bound_graph", "road_like_grid"]


# Largest generated graph (issue 22: bounded memory): 1e7 vertices, ~0.5 GiB of CSR arrays.
MAX_GRID_VERTICES = 10_000_000


def lower_bound_graph(b: int, random_state=None, *, gamma: float = 4.0):
    """A graph of the lower-bound family ``F_b(X, Y)`` (Section 3, Lemmas 3.1-3.3).

    ``(X, Y)`` are drawn uniformly from pairs of length-b bit strings with ``x_i y_i = 0`` for
    every i (the Klauck et al. distribution). Vertices: ``u = 0``, ``w = 1``, ``u' = 2``,
    ``w' = 3`` (joined to u and w by weight-1 edges) and ``v_i = 4 + i``. The weights of the
    edges ``(u, v_i)`` depend only on ``x_i`` and those of ``(w, v_i)`` only on ``y_i``:
    ``w(u, v_i) = 2`` if ``x_i = 0`` else ``L``, and ``w(w, v_i) = 3`` if ``y_i = 0`` else 1,
    with ``L = gamma * b``. Hence u serves ``v_i`` in the optimum iff ``x_i = y_i = 0``: the
    machine hosting u knows X and, from its clients, learns Y, which forces it to receive
    ``Omega(b)`` bits (Lemma 3.1). (Figure 1 of the paper is not in our text copy; this
    reconstruction follows the lemmas' requirements.)

    Returns
    -------
    graph : Graph
    opening_cost : ndarray of shape (b + 4,)
        0 at u and w, L elsewhere (the facility-location instance of Lemma 3.2).
    X, Y : ndarray of int8, shape (b,)
    """
    b = check_int(b, "b", low=1, high=MAX_GRID_VERTICES)  # the same memory bound as the grids
    rng = check_random_state(random_state)
    pairs = rng.integers(0, 3, size=b)  # 0: (0,0), 1: (0,1), 2: (1,0)
    X = (pairs == 2).astype(np.int8)
    Y = (pairs == 1).astype(np.int8)
    L = float(gamma) * b
    vi = 4 + np.arange(b)
    u = np.concatenate([[0, 1], np.zeros(b, int), np.ones(b, int)])
    v = np.concatenate([[2, 3], vi, vi])
    w = np.concatenate([[1.0, 1.0], np.where(X == 0, 2.0, L), np.where(Y == 0, 3.0, 1.0)])
    g = Graph.from_edges(u, v, w, n_vertices=b + 4)
    f = np.full(b + 4, L)
    f[[0, 1]] = 0.0
    return g, f, X, Y


def road_like_grid(rows: int, cols: int, *, shortcut_fraction: float = 0.02, max_shortcut: int = 40,
                   random_state=None) -> Graph:
    """A road-like graph: a ``rows x cols`` grid with random street lengths plus local shortcuts.

    Grid edges get integer lengths uniform in [50, 150] (streets); ``shortcut_fraction * n``
    extra edges join vertices at most ``max_shortcut`` cells apart with length 0.7 x their
    Euclidean distance x 100 (arterial roads that are faster than streets). Connected by
    construction (the grid is).

    Returns
    -------
    Graph with ``rows * cols`` vertices (vertex ``r * cols + c`` sits at cell (r, c)).
    """
    rows = check_int(rows, "rows", low=1)
    cols = check_int(cols, "cols", low=1)
    if rows * cols > MAX_GRID_VERTICES:
        # a typo like grid:100000x100000 would otherwise allocate tens of GiB
        raise ValueError(f"rows x cols must be at most {MAX_GRID_VERTICES} vertices.")
    check_positive(shortcut_fraction, "shortcut_fraction", allow_zero=True)
    rng = check_random_state(random_state)
    n = rows * cols
    idx = np.arange(n, dtype=np.int64).reshape(rows, cols)
    hu = idx[:, :-1].ravel()
    hv = idx[:, 1:].ravel()
    vu = idx[:-1, :].ravel()
    vv = idx[1:, :].ravel()
    u = np.concatenate([hu, vu])
    v = np.concatenate([hv, vv])
    w = rng.integers(50, 151, size=u.size).astype(np.float64)
    n_short = int(shortcut_fraction * n)
    if n_short and n > 1:
        a = rng.integers(0, n, n_short)
        ar, ac = a // cols, a % cols
        br = np.clip(ar + rng.integers(-max_shortcut, max_shortcut + 1, n_short), 0, rows - 1)
        bc = np.clip(ac + rng.integers(-max_shortcut, max_shortcut + 1, n_short), 0, cols - 1)
        bb = br * cols + bc
        ok = bb != a
        a, bb = a[ok], bb[ok]
        length = np.ceil(70.0 * np.hypot(ar[ok] - br[ok], ac[ok] - bc[ok]))
        u = np.concatenate([u, a])
        v = np.concatenate([v, bb])
        w = np.concatenate([w, length])
    return Graph.from_edges(u, v, w, n_vertices=n, duplicates="min")
