"""``refine``: Lloyd (k-means) or assign/Weiszfeld (k-median) iterations after the tree (beyond the paper).

On perturbation-resilient data the tree's ``k``-pruning is already optimal and
refinement keeps it; on real (non-resilient) data the pruning is often one large
cluster plus outliers, and refinement from three starts brings the cost to that
of k-means++ with Lloyd. The local engine runs it here; the Spark engine's
distributed version is :mod:`bigclust.lshtree._spark._refine`.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import pairwise_distances_argmin_min

from ._params import EXACT_MAX_ENTRIES, EXACT_MAX_WORK, TreeParams
from .median import weiszfeld
from .pruning import approx_dp, exact_dp, exact_dp_work, split_to_k

__all__ = ["refine_best"]


def _coreset_pruning(tree, cost, K):
    """Pruning with ``K`` vertices for the coreset start: exact when cheap, else Algorithm 6 (step 0.1)."""
    work, entries = exact_dp_work(tree, K)
    if work <= EXACT_MAX_WORK and entries <= EXACT_MAX_ENTRIES:
        return exact_dp(tree, cost, K)[0]
    return split_to_k(tree, cost, approx_dp(tree, cost, K, 0.1)[0], K)


def _starts(tree, cost, centers_int, Xu, wu, subtree_w, centers, rng):
    """The starts of ``refine``: a list of (name, centres), and the random draws they used.

    (1) ``"tree"``: the tree's own ``k`` centres (optimal on perturbation-resilient
    data). (2) ``"tree_coreset"``: k-means++ (10 tries, each with Lloyd) on the
    weighted centres of the tree's optimal pruning into ``K = 40 k`` clusters, a
    coreset of the data from the same tree; skipped when ``K`` would not exceed
    ``k``. (3) ``"kmeans++"``: greedy k-means++ seeding (``2 + ln k``
    candidates per step, scikit-learn's ``kmeans_plusplus``) on all distinct
    points with their weights, which costs about ``2 + ln k`` Lloyd iterations.
    (1) and (2) come from the tree; (3) guards against trees whose prunings
    are one large cluster plus outliers at every size, where (2) is no
    coreset (docs/notes/euclidean-measurements.md has the mnist figures).
    The random draws are made in a fixed order, so the result depends only on
    ``random_state``.
    """
    from sklearn.cluster import KMeans, kmeans_plusplus

    k = centers.shape[0]
    coreset_seed = int(rng.integers(2**31 - 1))
    kpp_seed = int(rng.integers(2**31 - 1))
    starts = [("tree", centers)]
    info = {}
    K = min(40 * k, tree.n_leaves)
    if K > k:
        selected = _coreset_pruning(tree, cost, K)
        reps = np.array([Xu[v] if v < tree.n_leaves else centers_int[v - tree.n_leaves] for v in selected])
        rep_w = subtree_w[selected]
        n_init = 10 if K * k * Xu.shape[1] <= 1e9 else 1  # bounded seeding work at large k
        seeded = KMeans(k, n_init=n_init, random_state=coreset_seed).fit(reps, sample_weight=rep_w)
        starts.append(("tree_coreset", seeded.cluster_centers_.astype(np.float64)))
        info["coreset_size"] = int(K)
    seeds, _ = kmeans_plusplus(Xu, k, sample_weight=wu, random_state=kpp_seed)
    starts.append(("kmeans++", np.asarray(seeds, dtype=np.float64)))
    return starts, info


def _lloyd(Xu, wu, centers, n_iter, rng):
    from sklearn.cluster import KMeans

    km = KMeans(n_clusters=centers.shape[0], init=centers, n_init=1, max_iter=n_iter, tol=0.0,
                algorithm="lloyd", random_state=int(rng.integers(2**31 - 1)))
    km.fit(Xu, sample_weight=wu)
    labels = km.labels_.astype(np.int64)
    # finish with an update step: centres become the weighted means of labels_,
    # which can only lower the cost, and inertia_ is that partition's SSE
    k, d = centers.shape
    tot = np.bincount(labels, weights=wu, minlength=k)
    sums = np.stack([np.bincount(labels, weights=Xu[:, j] * wu, minlength=k) for j in range(d)], axis=1)
    new = km.cluster_centers_.astype(np.float64).copy()
    ok = tot > 0
    new[ok] = sums[ok] / tot[ok, None]
    inertia = float(np.dot(wu, ((Xu - new[labels]) ** 2).sum(axis=1)))
    return labels, new, inertia


def _weiszfeld_passes(Xu, wu, centers, n_iter, weiszfeld_iter):
    labels = None
    for _ in range(n_iter):
        labels, _ = pairwise_distances_argmin_min(Xu, centers)
        for c in range(centers.shape[0]):
            members = labels == c
            if members.any():
                centers[c] = weiszfeld(Xu[members], wu[members], centers[c].copy(), int(weiszfeld_iter))
    labels, dist = pairwise_distances_argmin_min(Xu, centers)
    return labels.astype(np.int64), centers, float(np.dot(wu, dist))


def _cost_of_centers(objective, Xu, wu, centers) -> float:
    _, dist = pairwise_distances_argmin_min(Xu, centers)
    return float(np.dot(wu, dist**2 if objective == "kmeans" else dist))


def refine_best(params: TreeParams, tree, cost, centers_int, Xu, wu, subtree_w, centers, rng):
    """``params.refine`` iterations from each start of :func:`_starts`; the cheapest result wins.

    Choosing by the cost after refinement, not before, matters: the cheapest
    start is not always the cheapest after refinement (on mnist it was not).
    Ties go to the earlier start (tree first).

    Returns
    -------
    labels : ndarray of shape (n_distinct,), int64
    centers : ndarray of shape (k, n_features), float64
    inertia : float
    info : dict
        ``start`` (the winner), ``start_costs`` and ``final_costs`` of every start.
    """
    starts, info = _starts(tree, cost, centers_int, Xu, wu, subtree_w, centers, rng)
    info.update(start=None, start_costs={}, final_costs={})
    best = None
    for name, start in starts:
        info["start_costs"][name] = _cost_of_centers(params.objective, Xu, wu, start)
        if params.objective == "kmeans":
            out = _lloyd(Xu, wu, start.copy(), params.refine, rng)
        else:
            out = _weiszfeld_passes(Xu, wu, start.copy(), params.refine, params.weiszfeld_iter)
        info["final_costs"][name] = out[2]
        if best is None or out[2] < best[2]:
            best, info["start"] = out, name
    return (*best, info)
