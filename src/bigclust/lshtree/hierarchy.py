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

from ._kernels.candidates import scale_buffers, scale_candidates, scale_offsets
from ._kernels.forest import Forest
from ._kernels.node_stats import kmeans_stats
from ._kernels.separation import SKIP_MAX_COMPONENTS, separation_lower_bound
from .lsh import MULTIPLIERS, draw_pstable

# Read at every sweep (tests lower it to turn skipping off).
_SKIP_MAX_COMPONENTS = SKIP_MAX_COMPONENTS

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
def _closer_than(Y, p, q, thr2):
    """``_sqdist(Y, p, q) < thr2``, stopping as soon as the answer is known.

    The squared distance is summed in coordinate order, as a plain loop would;
    every term is >= 0 and a rounded sum ``fl(s + x)`` with ``x >= 0`` is never
    below ``s``, so a partial sum that has reached ``thr2`` proves the full sum
    does too. The decision is therefore exactly that of the full sum.
    """
    s = 0.0
    d = Y.shape[1]
    j = 0
    while j < d:
        e = min(j + 8, d)
        for c in range(j, e):
            t = Y[p, c] - Y[q, c]
            s += t * t
        if s >= thr2:
            return False
        j = e
    return s < thr2


@numba.njit(cache=True)
def _closer_than4(Y, p0, q0, p1, q1, p2, q2, p3, q3, thr2, out, o):
    """:func:`_closer_than` for four pairs at once, written to ``out[o:o+4]``.

    Each pair's squared distance is still summed in coordinate order (so each
    decision is exactly that of :func:`_closer_than`); interleaving four
    independent sums hides the latency of the floating-point additions, which
    a single sequential sum is bound by.
    """
    s0 = 0.0
    s1 = 0.0
    s2 = 0.0
    s3 = 0.0
    d = Y.shape[1]
    j = 0
    while j < d:
        e = min(j + 8, d)
        for c in range(j, e):
            t0 = Y[p0, c] - Y[q0, c]
            t1 = Y[p1, c] - Y[q1, c]
            t2 = Y[p2, c] - Y[q2, c]
            t3 = Y[p3, c] - Y[q3, c]
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


@numba.njit(cache=True, parallel=True)
def _check_candidates(cand_p, cand_q, n_cand, n_hashes, Y, thr2, accepted, stop_at_first):
    """Distance-check the candidate edges of one scale; ``accepted[j, i]`` marks the short ones.

    Whether an edge is accepted depends only on its length, not on the order of
    unions, so the checks run in parallel. With ``stop_at_first`` (dry runs,
    which only ask whether any edge exists) the checks stop once one is found.
    Returns whether any edge was accepted.
    """
    n_blocks = 0
    block = 4096
    for j in range(n_hashes):
        n_blocks += (n_cand[j] + block - 1) // block
    owner = np.empty(n_blocks, np.int64)
    first = np.empty(n_blocks, np.int64)
    b = 0
    for j in range(n_hashes):
        for s in range(0, n_cand[j], block):
            owner[b] = j
            first[b] = s
            b += 1
    found = np.zeros(n_blocks, np.bool_)
    stop = np.zeros(1, np.bool_)  # shared flag; a stale read only costs a few extra checks
    for b in numba.prange(n_blocks):
        if stop_at_first and stop[0]:
            continue
        j = owner[b]
        e = min(first[b] + block, n_cand[j])
        acc = accepted[j]
        cp = cand_p[j]
        cq = cand_q[j]
        i = first[b]
        if not stop_at_first:
            while i + 4 <= e:
                _closer_than4(Y, cp[i], cq[i], cp[i + 1], cq[i + 1], cp[i + 2], cq[i + 2], cp[i + 3], cq[i + 3],
                              thr2, acc, i)
                if acc[i] or acc[i + 1] or acc[i + 2] or acc[i + 3]:
                    found[b] = True
                i += 4
        for i in range(i, e):
            ok = _closer_than(Y, cp[i], cq[i], thr2)
            acc[i] = ok
            if ok:
                found[b] = True
                if stop_at_first:
                    stop[0] = True
                    break
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

    Returns
    -------
    Hierarchy
    """
    Y = np.ascontiguousarray(Y, dtype=np.float64)
    n, d = Y.shape
    info = {"n_scales": 0, "edges_checked": 0, "edges_accepted": 0, "forced_root": False}
    if n == 1:
        return Hierarchy(1, *Forest(1).finish(info), info)

    lsh = draw_pstable(d, n_hashes, n_projections, bucket_width, random_state)
    Z = lsh.project(Y)
    # Appendix C.7: diameter within a factor 2 from one point, closest pair from below.
    far = float(np.sqrt(((Y - Y[0]) ** 2).sum(axis=1).max()))
    diameter_ub = 2.0 * far
    min_lb = _min_distance_lower_bound(Y, random_state)
    if not min_lb > 0:
        min_lb = diameter_ub * 1e-12
    d0 = min_lb / edge_factor  # below this scale no edge can pass the distance check
    d_stop = 2.0 * max(diameter_ub, diameter_ub / edge_factor)
    info.update(diameter_upper_bound=diameter_ub, min_distance_lower_bound=min_lb)

    forest = Forest(n)
    # candidate edges of one scale, (hash, i) -> (p, q)
    cand_p, cand_q, n_cand, scratch = scale_buffers(n, n_hashes)
    accepted = np.zeros((n_hashes, n), np.bool_)
    lab = np.empty(n, np.int64)
    seed_base = int(random_state.integers(2**63 - 1))

    def run_scale(i, dry):
        D = d0 * scale_ratio**i
        thr = edge_factor * D
        # a dry run only asks whether the first few hash functions find any edge
        t = min(n_hashes, 4) if dry else n_hashes
        forest.labels(lab)
        scale_candidates(Z, scale_offsets(seed_base, i, n_hashes, n_projections), 1.0 / (D * bucket_width), t,
                         n_projections, MULTIPLIERS, lab, cand_p, cand_q, n_cand, *scratch)
        checked = int(n_cand[:t].sum())
        found = _check_candidates(cand_p, cand_q, n_cand, t, Y, thr * thr, accepted, dry)
        if dry:
            return 0, int(found), checked
        nt, nu = forest.merge(cand_p, cand_q, n_cand, accepted, t, i, D)
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
            sep = separation_lower_bound(Y, lab, _SKIP_MAX_COMPONENTS)
            while edge_factor * d0 * scale_ratio ** (i + 1) * (1.0 + 1e-9) < sep and d0 * scale_ratio ** (i + 1) < d_stop:
                i += 1
                info["n_scales"] += 1
                info["scales_skipped"] += 1
        if progress is not None:
            progress.update(f"tree: scale {info['n_scales']} (D={D:.3g}), {forest.n_components} components")
        i += 1
    info["last_scale"] = float(d0 * scale_ratio ** (i - 1))
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
