"""The tree of candidate clusters: Algorithms 1-4 of the LSH-tree paper.

The paper ("Massively Parallel k-Means Clustering for Perturbation Resilient
Instances", Cohen-Addad, Mirrokni and Zhong, ICML 2022) builds, for geometric scales
``D_i``, near-neighbour graphs ``G_i`` from LSH collisions (Algorithm 1), takes
the connected components of the cumulative graphs ``G'_i = E_0 u ... u E_i`` as
candidate clusters (Algorithm 2), links each candidate to the smallest candidate
containing it at a higher scale (Algorithm 3) and binarises the result
(Algorithm 4). This module does all four in one sweep over the scales:

* one union-find over the points persists across scales, so after scale ``i``
  its components are exactly the components of ``G'_i`` (Algorithm 2, all
  components kept, which satisfies line 4's requirement);
* the components that change at scale ``i`` become new tree vertices whose
  children are the components they absorbed (Algorithm 3: a component that
  does not change is the same set, hence the same vertex);
* each new vertex with ``s`` children is binarised at once with Algorithm 4's
  heap layout (child ``i`` under auxiliary ``C'_{floor((s+i)/2)}``, ``C'_j``
  under ``C'_{floor(j/2)}``). Two vertices of that layout are copies of another
  vertex's point set with a single child: ``C'_1`` (equal to ``C``) and
  ``C'_s`` (equal to ``C_s``). Removing a single-child vertex whose set equals
  its child's leaves every DP value unchanged (``DPcost(C, i) = min(w(C),
  DPcost(C', i)) = DPcost(C', i)`` because ``DPcost(C', i) <= w(C')`` and
  ``w(C) = w(C')``), so they are collapsed and the result is a full binary tree.

Edges are verified against the true distance (``dist(p, q) < c * D``), which
makes Lemma 3.5 (2) hold surely instead of with high probability. A scale whose
threshold ``c * D`` is below a proven lower bound on every distance between
different components (:func:`bigclust.lshtree._kernels.separation.separation_lower_bound`) would reject every edge
and is skipped; that changes nothing in the output, because each scale's hash
offsets are drawn from a stream keyed by the scale index.

Node ids: leaves are ``0 .. n-1`` (the input rows); internal vertices follow
in creation order, so every child has a smaller id than its parent and the root
is the last id.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numba
import numpy as np

from ._kernels.candidates import edge_buffers, scale_offsets
from ._kernels.forest import Forest
from ._kernels.node_stats import kmeans_stats
from ._kernels.projection import hashed_coord, hashed_points, hashed_row, matches_blas, projected_keys
from ._kernels.separation import SKIP_MAX_COMPONENTS, separation_lower_bound
from .lsh import MULTIPLIERS, PROJECT_CHUNK, bucket_keys, draw_pstable

# Read at every sweep (tests lower it to turn skipping off).
_SKIP_MAX_COMPONENTS = SKIP_MAX_COMPONENTS
# The projections of all points (4 bytes per point, hash function and projection) are
# stored when they take at most this or at most as much memory as the points; otherwise
# every scale recomputes them. Tests set _RECOMPUTE_PROJECTIONS to force either way.
_STORED_PROJECTIONS_MAX_BYTES = 1 << 30
_RECOMPUTE_PROJECTIONS = None

__all__ = ["Hierarchy", "build_hierarchy", "kmeans_node_stats", "leaf_order", "labels_from_pruning"]


@dataclass
class Hierarchy:
    """A full binary tree over ``n_leaves`` points (the binarised tree T' of Algorithm 4).

    Attributes
    ----------
    n_leaves : int
        Number of leaves; leaf ``i`` is input row ``i``.
    left, right : ndarray of shape (n_nodes,), int64
        Children of each vertex, -1 for leaves.
    parent : ndarray of shape (n_nodes,), int64
        Parent of each vertex, -1 for the root (the last vertex).
    size : ndarray of shape (n_nodes,), int64
        Number of leaves below each vertex.
    scale : ndarray of shape (n_nodes,), float64
        The LSH scale ``D`` (in the units of the hashed coordinates) at which the
        vertex's component formed; 0 for leaves, ``inf`` for a root that had to
        join components no scale connected.
    auxiliary : ndarray of shape (n_nodes,), bool
        True for vertices added by the binarisation (Algorithm 4), False for
        candidate clusters of Algorithm 2 and leaves.
    depth : int
        Largest number of edges on a leaf-to-root path (``H`` of Algorithm 6).
    info : dict
        Construction statistics: scales run, edges checked and accepted, ...
    """

    n_leaves: int
    left: np.ndarray
    right: np.ndarray
    parent: np.ndarray
    size: np.ndarray
    scale: np.ndarray
    auxiliary: np.ndarray
    depth: int
    info: dict = field(default_factory=dict)

    @property
    def n_nodes(self) -> int:
        return int(self.left.shape[0])

    @property
    def root(self) -> int:
        return self.n_nodes - 1


# --------------------------------------------------------------------------- distance checks


@numba.njit(cache=True)
def _closer_than(Y, rows, center, p, q, thr2):
    """``|y_p - y_q|^2 < thr2`` for hashed points ``y = Y[rows] - center`` (or rows of ``Y``
    when ``rows``/``center`` are None), stopping as soon as the answer is known.

    The squared distance is summed in coordinate order, as a plain loop would;
    every term is >= 0 and a rounded sum ``fl(s + x)`` with ``x >= 0`` is never
    below ``s``, so a partial sum that has reached ``thr2`` proves the full sum
    does too. The decision is therefore exactly that of the full sum.
    """
    rp = hashed_row(Y, rows, center, p)
    rq = hashed_row(Y, rows, center, q)
    s = 0.0
    d = Y.shape[1]
    j = 0
    while j < d:
        e = min(j + 8, d)
        for c in range(j, e):
            t = hashed_coord(Y, center, rp, c) - hashed_coord(Y, center, rq, c)
            s += t * t
        if s >= thr2:
            return False
        j = e
    return s < thr2


@numba.njit(cache=True)
def _closer_than4(Y, rows, center, p0, q0, p1, q1, p2, q2, p3, q3, thr2, out, o):
    """:func:`_closer_than` for four pairs at once, written to ``out[o:o+4]``.

    Each pair's squared distance is still summed in coordinate order (so each
    decision is exactly that of :func:`_closer_than`); interleaving four
    independent sums hides the latency of the floating-point additions, which
    a single sequential sum is bound by.
    """
    a0 = hashed_row(Y, rows, center, p0)
    b0 = hashed_row(Y, rows, center, q0)
    a1 = hashed_row(Y, rows, center, p1)
    b1 = hashed_row(Y, rows, center, q1)
    a2 = hashed_row(Y, rows, center, p2)
    b2 = hashed_row(Y, rows, center, q2)
    a3 = hashed_row(Y, rows, center, p3)
    b3 = hashed_row(Y, rows, center, q3)
    s0 = 0.0
    s1 = 0.0
    s2 = 0.0
    s3 = 0.0
    d = Y.shape[1]
    j = 0
    while j < d:
        e = min(j + 8, d)
        for c in range(j, e):
            t0 = hashed_coord(Y, center, a0, c) - hashed_coord(Y, center, b0, c)
            t1 = hashed_coord(Y, center, a1, c) - hashed_coord(Y, center, b1, c)
            t2 = hashed_coord(Y, center, a2, c) - hashed_coord(Y, center, b2, c)
            t3 = hashed_coord(Y, center, a3, c) - hashed_coord(Y, center, b3, c)
            s0 += t0 * t0
            s1 += t1 * t1
            s2 += t2 * t2
            s3 += t3 * t3
        if s0 >= thr2 and s1 >= thr2 and s2 >= thr2 and s3 >= thr2:
            break
        j = e
    out[o] = s0 < thr2
    out[o + 1] = s1 < thr2
    out[o + 2] = s2 < thr2
    out[o + 3] = s3 < thr2


@numba.njit(cache=True)
def _check_batch(Y, rows, center, thr2, bp, bq, nb, ok, edge_p, edge_q, j, a):
    """Distance-check the ``nb`` pending edges ``(bp[i], bq[i])`` (four at a time) and append the
    accepted ones, in order, to row ``j`` of ``edge_p``/``edge_q`` from position ``a``; returns the new end."""
    i = 0
    while i + 4 <= nb:
        _closer_than4(Y, rows, center, bp[i], bq[i], bp[i + 1], bq[i + 1], bp[i + 2], bq[i + 2], bp[i + 3], bq[i + 3],
                      thr2, ok, i)
        i += 4
    for i in range(i, nb):
        ok[i] = _closer_than(Y, rows, center, bp[i], bq[i], thr2)
    for i in range(nb):
        if ok[i]:
            edge_p[j, a] = bp[i]
            edge_q[j, a] = bq[i]
            a += 1
    return a


_BATCH = 64  # proposed edges checked together by keyed_edges


@numba.njit(cache=True, parallel=True)
def keyed_edges(keys, t, lab, Y, rows, center, thr2, dry, edge_p, edge_q, n_edges, n_cand, table,
                Z=None, inv_scale_width=0.0, offsets=None, m=0, multipliers=None):
    """Algorithm 1, lines 4-5, for the first ``t`` hash functions of one scale: the proposed
    edges and which of them are short.

    ``keys`` (>= t, n) uint64 are the scale's bucket keys, or, with stored
    projections ``Z`` (t m, n) float32, one row per thread that receives them
    (:func:`bigclust.lshtree.lsh.bucket_keys` with the scale's ``inv_scale_width``,
    ``offsets``, ``m`` and ``multipliers``). For each point ``p`` and
    hash function the proposed edge is ``(p, q)``, ``q`` the smallest point in
    ``p``'s bucket (found with an open-addressing table, points inserted in
    increasing order); edges within a component (``lab``, the components at the
    start of the scale) change nothing and are not proposed. A proposed edge is
    accepted if ``|y_p - y_q|^2 < thr2`` (:func:`_closer_than`, hashed points
    ``Y[rows] - center``), checked in batches as they are found. Row ``j`` of
    ``edge_p``/``edge_q`` receives hash function ``j``'s accepted edges in
    increasing ``p`` (only that part of a row is written), ``n_edges[j]`` their
    number and ``n_cand[j]`` that of proposed edges. Hash functions are spread
    over the threads, one table (a row of ``table``) each. A ``dry`` run only
    asks whether any edge is accepted: once one is, the other proposed edges are
    counted but not checked. Returns whether any edge was accepted.
    """
    n = keys.shape[1]
    n_workers = table.shape[0]
    mask = table.shape[1] - 1
    found = np.zeros(t, np.bool_)
    stop = np.zeros(1, np.bool_)  # shared flag of dry runs; a stale read only costs a few extra checks
    for w in numba.prange(n_workers):
        tv = table[w]
        bp = np.empty(_BATCH, np.int64)
        bq = np.empty(_BATCH, np.int64)
        ok = np.empty(_BATCH, np.bool_)
        for j in range(w, t, n_workers):
            if Z is None:
                kw = keys[j]
            else:
                kw = keys[w]
                bucket_keys(Z, j * m, m, inv_scale_width, offsets[j], multipliers, kw)
            tv[:] = -1
            c = 0
            a = 0
            nb = 0
            for p in range(n):  # increasing p: the first point stored per key is the smallest index
                key = kw[p]
                slot = np.int64(key & np.uint64(mask))
                while True:
                    v = tv[slot]
                    if v == -1:
                        tv[slot] = p
                        break
                    if kw[v] == key:
                        if lab[v] != lab[p]:
                            c += 1
                            if not (dry and stop[0]):
                                bp[nb] = p
                                bq[nb] = v
                                nb += 1
                                if nb == _BATCH:
                                    a = _check_batch(Y, rows, center, thr2, bp, bq, nb, ok, edge_p, edge_q, j, a)
                                    nb = 0
                                    if dry and a > 0:
                                        stop[0] = True
                        break
                    slot = (slot + 1) & mask
            a = _check_batch(Y, rows, center, thr2, bp, bq, nb, ok, edge_p, edge_q, j, a)
            if dry and a > 0:
                stop[0] = True
            found[j] = a > 0
            n_cand[j] = c
            n_edges[j] = a
    return found.any()


def _min_distance_lower_bound(Y: np.ndarray, rng: np.random.Generator, n_directions: int = 4) -> float:
    """Appendix C.7: a lower bound on the closest-pair distance from sorted 1-D projections.

    For a unit vector ``g`` the smallest gap between adjacent sorted values of
    ``Y @ g`` is at most ``|g . (p* - q*)| <= dist(p*, q*)`` for the closest pair,
    so every direction gives a lower bound; the largest of a few is kept.
    """
    best = 0.0
    for _ in range(n_directions):
        g = rng.standard_normal(Y.shape[1])
        g /= np.linalg.norm(g)
        proj = np.sort(Y @ g)
        gaps = np.diff(proj)
        best = max(best, float(gaps.min()) if gaps.size else 0.0)
    return best


def first_sweep_scale(probe, d0: float, scale_ratio: float, d_stop: float, steps=(32, 8, 4, 2, 1)) -> int:
    """The index ``i`` of the scale ``d0 * scale_ratio**i`` the sweep starts from.

    The closest-pair bound can be far below the closest pair, and scales below
    the first one with any edge merge nothing. ``probe(i)`` is a dry run of
    scale ``i`` (a few hash functions; True when it finds an edge). Stepping
    by each of ``steps`` in turn, the search keeps ``i`` at a scale whose probe
    found nothing (or 0) and moves it up while the probe ``step`` scales
    higher finds nothing; with a last step of 1, scale ``i + 1`` is the first
    the probes found an edge in. Each scale is probed at most once. Both
    engines call this, so they sweep the same scales.
    """
    found = {}
    i = 0
    for step in steps:
        while d0 * scale_ratio ** (i + step) < d_stop:
            if i + step not in found:
                found[i + step] = bool(probe(i + step))
            if found[i + step]:
                break
            i += step
    return i


def _farthest_from_first(Y: np.ndarray, chunk: int = 65536) -> float:
    """``max_p |y_p - y_0|``: the row sums of ``((Y - Y[0]) ** 2).sum(axis=1)``, a chunk of rows at a time."""
    best = 0.0
    for s in range(0, Y.shape[0], chunk):
        best = max(best, float(((Y[s:s + chunk] - Y[0]) ** 2).sum(axis=1).max()))
    return float(np.sqrt(best))


def build_hierarchy(
    Y: np.ndarray,
    *,
    n_hashes: int = 10,
    n_projections: int = 10,
    bucket_width: float = 4.0,
    scale_ratio: float = 1.1,
    edge_factor: float = 2.0,
    random_state: np.random.Generator,
    progress=None,
    rows: np.ndarray | None = None,
    center: np.ndarray | None = None,
) -> Hierarchy:
    """Build the binarised candidate-cluster tree T' over the rows of ``Y``.

    Parameters
    ----------
    Y : ndarray of shape (n_samples, n_features), float64
        Distinct points (duplicates must be removed first; they would be joined
        at distance 0 by no scale's threshold check).
    n_hashes : int
        ``t``: LSH functions per scale (Algorithm 1).
    n_projections, bucket_width : int, float
        ``m`` and ``r`` of the p-stable family (Section 5 uses 10 and 4).
    scale_ratio : float
        Ratio of consecutive scales (the analysis uses 1.01, Section 5 uses 1.1).
    edge_factor : float
        ``c`` of Algorithm 1: an LSH edge found at scale ``D`` is kept only if
        its true distance is below ``c * D`` (the paper's ``c = alpha'`` depends on
        the unknown resilience ``alpha``).
    random_state : numpy.random.Generator
    progress : bigclust._core.report.Progress, optional
    rows, center : ndarray of shape (n_points,) and (n_features,), optional
        With these the points are ``Y[rows] - center`` (``Y`` float64 or float32,
        ``rows`` int32 or int64, either may be None), the same bits as building on
        ``np.asarray(Y, float64)[rows] - center``, without storing that array
        beyond the start of the sweep.

    Returns
    -------
    Hierarchy

    Notes
    -----
    Memory: besides the points, ~100 bytes a point for the sweep (each scale's
    bucket keys, 8 bytes a hash function, the candidate edges of a few hash
    functions at a time, one hash table per thread, the union-find) and ~60
    bytes a point for the tree. The projections are recomputed at every scale
    (:mod:`bigclust.lshtree._kernels.projection`) instead of being stored (4
    bytes a hash function and projection); where the BLAS computes them other
    than with fused multiply-adds in coordinate order they are stored as before.
    """
    plain = rows is None and center is None
    if plain:
        Y = np.ascontiguousarray(Y, dtype=np.float64)
        n = Y.shape[0]
    else:
        Y = np.ascontiguousarray(Y)
        if rows is not None:
            rows = np.ascontiguousarray(rows)
        if center is not None:
            center = np.ascontiguousarray(center, dtype=np.float64)
        n = rows.shape[0] if rows is not None else Y.shape[0]
    d = Y.shape[1]
    info = {"n_scales": 0, "edges_checked": 0, "edges_accepted": 0, "forced_root": False}
    if n == 1:
        return Hierarchy(1, *Forest(1).finish(info), info)

    lsh = draw_pstable(d, n_hashes, n_projections, bucket_width, random_state)
    # The hashed points as one array, for the bounds below (BLAS products whose
    # last bits depend on the array's shape) and the check of the recomputed projections.
    H = Y if plain else np.empty((n, d))
    if not plain:
        hashed_points(Y, rows, center, H)
    # Appendix C.7: diameter within a factor 2 from one point, closest pair from below.
    far = _farthest_from_first(H)
    diameter_ub = 2.0 * far
    min_lb = _min_distance_lower_bound(H, random_state)
    if not min_lb > 0:
        min_lb = diameter_ub * 1e-12
    d0 = min_lb / edge_factor  # below this scale no edge can pass the distance check
    d_stop = 2.0 * max(diameter_ub, diameter_ub / edge_factor)
    info.update(diameter_upper_bound=diameter_ub, min_distance_lower_bound=min_lb)

    V = lsh.directions
    recompute = _RECOMPUTE_PROJECTIONS
    if recompute is None:  # when storing them would take more than the points and 1 GiB
        recompute = 4 * n * n_hashes * n_projections > max(_STORED_PROJECTIONS_MAX_BYTES, 8 * n * d)
    if recompute and matches_blas(H, Y, rows, center, V, PROJECT_CHUNK):
        Z = None  # every scale recomputes its projections; the points are read from Y[rows]
    else:  # store the projections, and the hashed points (as Y)
        Z = lsh.project(H)
        Y, rows, center = H, None, None
    del H
    info["projections"] = "recomputed" if Z is None else "stored"

    forest = Forest(n)
    # each scale's bucket keys (or one row per thread), its accepted edges, one hash table per thread
    n_workers = max(1, min(numba.get_num_threads(), n_hashes))
    keys = np.empty((n_hashes if Z is None else n_workers, n), np.uint64)
    edge_p, edge_q, n_edges, n_cand, table = edge_buffers(n, n_hashes, n_workers)
    lab = np.empty(n, forest.index_dtype)
    seed_base = int(random_state.integers(2**63 - 1))

    def run_scale(i, dry):
        D = d0 * scale_ratio**i
        thr = edge_factor * D
        thr2 = thr * thr
        # a dry run only asks whether the first few hash functions find any edge
        t = min(n_hashes, 4) if dry else n_hashes
        forest.labels(lab)
        offsets = scale_offsets(seed_base, i, n_hashes, n_projections)
        inv_width = 1.0 / (D * bucket_width)
        if Z is None:
            projected_keys(Y, rows, center, V, inv_width, offsets, t, n_projections, MULTIPLIERS, keys)
            found = keyed_edges(keys, t, lab, Y, rows, center, thr2, dry, edge_p, edge_q, n_edges, n_cand, table)
        else:
            found = keyed_edges(keys, t, lab, Y, rows, center, thr2, dry, edge_p, edge_q, n_edges, n_cand, table,
                                Z, inv_width, offsets, n_projections, MULTIPLIERS)
        checked = int(n_cand[:t].sum())
        if dry:
            return 0, int(found), checked
        nt, nu = forest.merge(edge_p, edge_q, n_edges, None, t, i, D)
        return nt, nu, checked

    def probe(i):
        _, found, checked = run_scale(i, True)
        info["edges_checked"] += int(checked)
        return found

    # sweep from the last scale the dry runs found empty
    i = first_sweep_scale(probe, d0, scale_ratio, d_stop)
    info["first_scale"] = float(d0 * scale_ratio**i)

    info["scales_skipped"] = 0
    bound_tried = False  # a separation bound was computed for the current components
    while forest.n_components > 1 and d0 * scale_ratio**i < d_stop:
        D = d0 * scale_ratio**i
        nt, nu, checked = run_scale(i, False)
        info["n_scales"] += 1
        info["edges_checked"] += int(checked)
        info["edges_accepted"] += int(nu)
        if nt:
            bound_tried = False
        elif not bound_tried and forest.n_components <= _SKIP_MAX_COMPONENTS:
            # A scale merged nothing: the components may be far apart. Scales whose
            # threshold c*D is below a lower bound on every cross-component distance
            # would reject every proposed edge and change nothing (the offsets are
            # keyed by the scale index, so later scales are unaffected): skip them.
            # They count in n_scales (swept), not in edges_checked.
            bound_tried = True
            forest.labels(lab)
            sep = separation_lower_bound(Y, lab, _SKIP_MAX_COMPONENTS, rows, center)
            while edge_factor * d0 * scale_ratio ** (i + 1) * (1.0 + 1e-9) < sep and d0 * scale_ratio ** (i + 1) < d_stop:
                i += 1
                info["n_scales"] += 1
                info["scales_skipped"] += 1
        if progress is not None:
            progress.update(f"tree: scale {info['n_scales']} (D={D:.3g}), {forest.n_components} components")
        i += 1
    info["last_scale"] = float(d0 * scale_ratio ** (i - 1))
    keys = edge_p = edge_q = table = lab = Z = None  # freed before the tree's int64 arrays are made
    # No scale up to twice the diameter bound may have connected everything (LSH
    # misses are possible): finish joins what is left under one root.
    return Hierarchy(n, *forest.finish(info), info)


# --------------------------------------------------------------------------- node weights


def kmeans_node_stats(tree: Hierarchy, X: np.ndarray, sample_weight: np.ndarray):
    """Node weights ``w(C) = sum_{p in C} w_p |p - mean(C)|^2`` for every vertex.

    Parameters
    ----------
    tree : Hierarchy
    X : ndarray of shape (n_leaves, n_features)
        The points in the space whose cost is optimised (before any JL projection).
    sample_weight : ndarray of shape (n_leaves,)

    Returns
    -------
    total_weight : ndarray of shape (n_nodes,)
    sse : ndarray of shape (n_nodes,)
    internal_means : ndarray of shape (n_nodes - n_leaves, n_features)
    """
    return kmeans_stats(np.ascontiguousarray(X, dtype=np.float64), sample_weight.astype(np.float64),
                         tree.left, tree.right, tree.n_leaves)


@numba.njit(cache=True)
def _leaf_order(left, right, n_leaves):
    n_nodes = left.shape[0]
    order = np.empty(n_leaves, np.int64)
    start = np.zeros(n_nodes, np.int64)
    stack = np.empty(n_nodes, np.int64)
    top = 0
    stack[0] = n_nodes - 1
    top = 1
    pos = 0
    while top > 0:
        top -= 1
        v = stack[top]
        if v < n_leaves:
            order[pos] = v
            start[v] = pos
            pos += 1
        else:
            stack[top] = right[v]
            stack[top + 1] = left[v]
            top += 2
    # start of an internal vertex = start of its leftmost leaf
    for v in range(n_leaves, n_nodes):
        start[v] = start[left[v]]
    return order, start


def leaf_order(tree: Hierarchy):
    """Leaves in depth-first order and each vertex's first position in it.

    The leaves below vertex ``v`` are ``order[start[v] : start[v] + size[v]]``.
    """
    return _leaf_order(tree.left, tree.right, tree.n_leaves)


@numba.njit(cache=True)
def _labels_from_pruning(parent, selected, n_leaves):
    n_nodes = parent.shape[0]
    lab = np.full(n_nodes, -1, np.int64)
    for c in range(selected.shape[0]):
        lab[selected[c]] = c
    for v in range(n_nodes - 2, -1, -1):
        if lab[v] == -1:
            lab[v] = lab[parent[v]]
    return lab[:n_leaves].copy()


def labels_from_pruning(tree: Hierarchy, selected: np.ndarray) -> np.ndarray:
    """Cluster label of every leaf: the index in ``selected`` of its unique selected ancestor."""
    labels = _labels_from_pruning(tree.parent, np.asarray(selected, dtype=np.int64), tree.n_leaves)
    if (labels < 0).any():
        raise AssertionError("selected vertices are not a pruning set")
    return labels
