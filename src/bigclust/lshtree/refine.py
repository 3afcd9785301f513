"""``refine``: Lloyd (k-means) or assign/Weiszfeld (k-median) iterations after the tree (beyond the paper).

The paper's tree is exact on perturbation-resilient data; on ordinary data its
``k``-pruning is often one large cluster plus outliers. Refinement therefore runs
Lloyd's algorithm from two starts and keeps the cheapest of them and of the tree's
own answer:

``"tree"``      the tree's ``k`` centres (optimal on perturbation-resilient data,
                where Lloyd keeps them: they are a fixed point);
``"kmeans++"``  greedy k-means++ seeding (scikit-learn's seeding, ``2 + ln k``
                candidates per step) on the distinct points, or on the tree's
                coreset (:func:`tree_coreset`) when there are many more points than
                centres.

Both the seeding and the Lloyd passes use the triangle inequality to avoid the
``n k d`` cost per pass of dense implementations (:mod:`._kernels.lloyd` proves
each step); where that does not pay (few centres for the dimension) a run switches
to full passes, compiled or by BLAS with near-ties re-compared exactly. The
assignment is exactly the nearest centre at every pass, so each pass never
increases the cost. ``refine="auto"`` runs Lloyd to convergence with
scikit-learn's stopping rule (no label changes, or a total squared centre shift at
most ``1e-4`` times the mean per-feature variance; at most 300 passes); an integer
caps the passes. The local engine runs it here; the Spark engine's distributed
version is :mod:`bigclust.lshtree._spark._refine`.
"""

from __future__ import annotations

import math

import numpy as np
from sklearn.metrics import pairwise_distances_argmin_min
from threadpoolctl import threadpool_limits

from ._kernels import lloyd as K
from ._params import TreeParams
from .median import weiszfeld

__all__ = ["elbow_curve", "kmeanspp", "lloyd", "refine_best", "tree_coreset"]

AUTO_MAX_PASSES = 300     # scikit-learn's max_iter
AUTO_TOL = 1e-4           # scikit-learn's tol, relative to the mean per-feature variance
AUTO_REL_TOL = 1e-4       # ... or a pass lowering the cost by less than this fraction
_LIST_COST = 1.0            # (a recomputation costs about as much as this many k full scans)
_LIST_STALE = 0.1           # neighbour lists are recomputed (when a pass scanned > k points fully) once a
                            # centre moved this fraction of the median list reach since ...
_LIST_SLACK = 0.25          # ... or once a pass scans this many k more points fully than the best pass since
_NEIGHBOURS = 128          # centre neighbour list length of the pruned assignment
SEARCH_MARGIN = 0.1        # searches cover 2 (1 + margin) |x - a| around a: a margin for later passes
DENSE_SWITCH = 0.5          # a pruned pass computing more than this fraction of the n k distances
                            # makes the run switch to full passes (1, 2, 4, ... before a retry)
DENSE_MIN_DIM = 32          # from this dimension and up to BLAS_SEEDING_MAX_K centres: k-means++
BLAS_SEEDING_MAX_K = 128    # by BLAS candidates (scikit-learn's), and BLAS passes from the first
DEFER_MIN_DIM = 12          # from this dimension a pruned pass's full scans are made by BLAS
BLAS_MIN_DIM = 8            # full passes by BLAS from this dimension, compiled loops below (at d = 3
                            # BLAS took 1.6x as long, at d = 8-10 0.85-1.0x, at d = 32 0.4x)
_CANDIDATES = 8            # nearest other centres each point remembers between passes
_PREFIXES = (0, 4, 8, 16, 32, 64, 128)  # neighbour-list prefixes whose drifts bound a point's bounds
SEEDING_PER_CENTRE = 20    # tree-coreset rows per centre the k-means++ starts read ...
SEEDING_MIN_ROWS = 20000   # ... and at least this many (smaller data: every point)
# Centre-side work (centre-centre distances: k^2 d per list, (2 + ln k) k^2 d / 2 for the
# seeding) beyond which refine="auto" does not run: about a minute of one core.
AUTO_MAX_CENTRE_WORK = 5e10


def kmeanspp(X: np.ndarray, w: np.ndarray, k: int, rng: np.random.Generator):
    """Greedy k-means++ seeding (``2 + int(ln k)`` candidates per step, as scikit-learn).

    Parameters
    ----------
    X : ndarray of shape (n, d), float64, distinct rows
    w : ndarray of shape (n,), positive weights
    k : int, ``1 <= k <= n``
    rng : numpy.random.Generator

    Returns
    -------
    centers : ndarray of shape (k, d)
    labels : ndarray of shape (n,), int64 -- each point's nearest seed
    dist : ndarray of shape (n,) -- its distance to that seed
    """
    if X.shape[1] >= DENSE_MIN_DIM and k <= BLAS_SEEDING_MAX_K:
        # In high dimension the compiled scalar distances of the pruned seeding cost more than
        # scikit-learn's BLAS candidates at small k (mnist, d = 784: k = 10 in 1.8 s instead of
        # 6.9 s, k = 100 in 17 s instead of 96 s; benchmarks/euclidean_seeding.py).
        from sklearn.cluster import kmeans_plusplus

        _, idx = kmeans_plusplus(X, int(k), sample_weight=w, random_state=int(rng.integers(2**31 - 1)))
        centers = X[idx].copy()
        labels = np.zeros(X.shape[0], np.int64)
        _dense_assign(X, _row_norms(X), centers, labels, np.empty(X.shape[0]))
        return centers, labels, np.sqrt(K.point_costs(X, centers, labels))
    trials = 2 + int(math.log(k))
    uniforms = rng.random(1 + (k - 1) * trials)
    seeds, group, D2 = K.kmeanspp_pruned(X, w, int(k), trials, uniforms)
    return X[seeds].copy(), group, np.sqrt(D2)


def _row_norms(X: np.ndarray) -> np.ndarray:
    """``|x|`` of every row (n,), for the rounding bound of :func:`_dense_assign`."""
    return np.sqrt(np.einsum("ij,ij->i", X, X))


class _NeighbourLists:
    """Centre neighbour lists and the bounds the assignment kernel needs, refreshed lazily.

    Lists are computed exactly (``k^2 d``) and then kept while the centres drift:
    a listed distance ``|a - c|`` is lowered by the drifts of ``a`` and ``c`` since,
    and the bound on unlisted centres by ``a``'s drift plus the largest drift,
    which keeps every bound a valid lower bound. Recomputing costs about as much as
    ``k`` points compared with every centre, so it is done only after a pass that
    compared more than ``k`` points with every centre, and then if some centre moved
    more than ``_LIST_STALE`` of the median list reach since, or that pass compared
    ``_LIST_SLACK k`` more points than the best pass since the last recomputation
    (early passes, where centres move far, recompute at every pass; at
    ``k = 1000``, ``d = 8`` a recomputation takes 20 ms and late passes skip it).
    """

    def __init__(self, k: int):
        self.m = min(_NEIGHBOURS, k - 1)
        self.ids = None
        self.moved = np.zeros(k)

    def bounds(self, C: np.ndarray, full_scans: int):
        k = C.shape[0]
        # the fewest full scans of a pass since the lists were computed: what fresh lists leave
        self.base = full_scans if self.base is None else min(self.base, full_scans)
        moved = self.moved.max()
        stale = self.ids is not None and moved > _LIST_STALE * self.reach
        if self.ids is None or (moved > 0 and full_scans > _LIST_COST * k and
                                (stale or full_scans > self.base + int(_LIST_SLACK * k))):
            self.ids, self.dist, self.beyond = K.centre_neighbours(C, self.m)
            self.reach = float(np.median(self.beyond)) if np.isfinite(self.beyond).any() else np.inf
            self.moved[:] = 0.0
            self.recomputed += 1
            self.base = None
        nb_lb = np.maximum(self.dist - self.moved[:, None] - self.moved[self.ids], 0.0)
        beyond_lb = np.maximum(self.beyond - self.moved - self.moved.max(), 0.0)
        nearest = np.minimum(nb_lb.min(axis=1) if self.m > 0 else np.inf, beyond_lb)
        return nb_lb, beyond_lb, 0.5 * nearest

    recomputed = 0
    base = None   # fewest full scans of a pass since the lists' last recomputation
    reach = np.inf  # median distance to the first unlisted centre at the last recomputation

    def near_drift(self, drift: np.ndarray, nb_lb: np.ndarray, beyond_lb: np.ndarray):
        """Per centre and list prefix ``j`` in ``_PREFIXES``: the largest ``drift`` among its ``j``
        nearest listed neighbours, and a lower bound on the distance to every centre outside
        them (both (k, J)); the last column is all centres (the largest drift, and ``inf``).
        See :func:`._kernels.lloyd.assign_pass`."""
        k = drift.shape[0]
        cuts = [j for j in _PREFIXES if j <= self.m]
        nd = np.zeros((k, len(cuts) + 1))
        bn = np.empty((k, len(cuts) + 1))
        if self.m > 0:
            run_max = np.maximum.accumulate(drift[self.ids], axis=1)
            suffix_min = np.minimum.accumulate(nb_lb[:, ::-1], axis=1)[:, ::-1]
        for q, j in enumerate(cuts):
            if j > 0:
                nd[:, q] = run_max[:, j - 1]
            bn[:, q] = np.minimum(suffix_min[:, j], beyond_lb) if j < self.m else beyond_lb
        # the last column is every centre (Hamerly's global bound): all moved by at most the
        # largest drift, none outside. Without it a point whose centre's list ends within
        # 2 |x - a| is capped by that list's reach and searched again at every pass.
        nd[:, -1] = drift.max() if k else 0.0
        bn[:, -1] = np.inf
        return nd, bn


def lloyd(X: np.ndarray, w: np.ndarray, centers: np.ndarray, labels: np.ndarray, max_passes: int,
          tol: float, rel_tol: float = 0.0, progress=None, name: str = "", candidates=None):
    """Lloyd's algorithm with the exact pruned assignment of :mod:`._kernels.lloyd`.

    Parameters
    ----------
    X : ndarray of shape (n, d), float64
    w : ndarray of shape (n,), positive weights
    centers : ndarray of shape (k, d), the start
    labels : ndarray of shape (n,), int64
        A guess of each point's nearest centre (any values in ``[0, k)``; a good
        guess only saves work).
    candidates : ndarray of shape (n, t), optional
        More guesses per point (ids in ``[0, k)`` or -1; ``t`` at most ``min(8, k - 1)``):
        the first pass searches around the nearest of them and ``labels``.
    max_passes : int
        Most assignment + update passes.
    tol : float
        Stop once the total squared centre shift of a pass is at most ``tol``.
    progress : bigclust._core.report.Progress, optional

    Returns
    -------
    labels : ndarray of shape (n,), int64 -- nearest centre of each point
    centers : ndarray of shape (k, d)
    inertia : float -- ``sum w |x - centers[labels]|^2``
    info : dict -- ``passes``, ``costs`` (after each update: the partition with its means),
        ``converged`` ("labels", "tol", "cost" or False), ``full_scans``
        (points a pruned pass compared with every centre, summed over passes),
        ``list_scans``, ``settled_by_candidates``, ``distances`` (computed by pruned and
        full passes), ``full_passes`` / ``dense_passes`` (passes comparing every point with
        every centre, compiled / by BLAS), ``neighbour_lists`` (times the centre lists were
        computed)
    """
    X = np.ascontiguousarray(X, dtype=np.float64)
    C = np.array(centers, dtype=np.float64, order="C")
    k = C.shape[0]
    n = X.shape[0]
    labels = np.array(labels, dtype=np.int64)
    info = {"passes": 0, "converged": False, "full_scans": 0, "list_scans": 0, "settled_by_candidates": 0,
            "distances": 0, "neighbour_lists": 0, "dense_passes": 0, "full_passes": 0, "costs": []}
    if k == 1:
        labels[:] = 0
        tot, sums = K.weighted_sums(X, w, labels, 1)
        C = sums / tot[:, None]
        info["converged"] = "labels"
        return labels, C, float(np.dot(w, K.point_costs(X, C, labels))), info
    upper = np.full(n, np.inf)   # forces an exact distance on the first pass
    lower = np.zeros(n)
    t = min(_CANDIDATES, k - 1)
    cand = np.full((n, t), -1, np.int32 if k < 2**31 else np.int64)
    if candidates is not None:
        cand[:, :candidates.shape[1]] = candidates[:, :t]
    cand_key = np.full((n, t), -np.inf)  # lower bounds on the candidates' distances (+ cum), unknown yet
    cum = np.zeros(k)                    # each centre's total drift so far
    rest = np.full(n, -np.inf)   # no candidates yet: the first pass searches
    drift = np.zeros(k)
    lists = _NeighbourLists(k)
    stats = np.zeros(5, np.int64)
    cost = np.inf

    xnorm = None  # |x| per point, for BLAS full passes (from BLAS_MIN_DIM), computed at the first
    # from DEFER_MIN_DIM, a pruned pass leaves the points it would compare with every centre to
    # matrix products (at d = 16 the scalar scans were most of a pass's time)
    deferred = np.zeros(n if X.shape[1] >= DEFER_MIN_DIM else 0, np.uint8)
    # the cost of a partition with its means, from the sums each pass computes anyway (k d, not n d)
    mean = (w @ X) / w.sum()
    spread = float(K.feature_spread(X, w, mean).sum())

    # Passes before ``full_until`` compare every point with every centre (see assign()). In high
    # dimension with few centres the bounds settle few points, and a first pruned pass (no
    # bounds yet) searches for every point: such runs are full from the start (mnist, k = 10:
    # a pruned first pass took 3x a BLAS pass), without retrying pruned passes.
    always_full = X.shape[1] >= DENSE_MIN_DIM and k <= BLAS_SEEDING_MAX_K
    full_until = max_passes + 1 if always_full else 0
    backoff = 1      # full passes after a pruned pass that did not pay

    def assign():
        nonlocal full_until, backoff, xnorm
        p = info["passes"]
        if p < full_until:
            if X.shape[1] >= BLAS_MIN_DIM:
                if xnorm is None:
                    xnorm = _row_norms(X)
                _dense_assign(X, xnorm, C, labels, upper, lower, cand, rest, stats, cand_key, cum)
                info["dense_passes"] += 1
            else:
                K.full_pass(X, C, labels, upper, lower, cand, cand_key, cum, rest, stats)
                info["full_passes"] += 1
            info["distances"] += int(stats[4])
            return
        nb_lb, beyond_lb, half_sep = lists.bounds(C, int(stats[2]))
        near_drift, beyond_near = lists.near_drift(drift, nb_lb, beyond_lb)
        K.assign_pass(X, C, labels, upper, lower, cand, cand_key, cum, rest, drift, near_drift, beyond_near,
                      lists.ids, nb_lb, beyond_lb, half_sep, SEARCH_MARGIN, stats, deferred)
        if deferred.shape[0] and xnorm is None:
            xnorm = _row_norms(X)
        _assign_deferred(X, xnorm, C, deferred, labels, upper, lower, cand, cand_key, cum, rest, stats)
        info["full_scans"] += int(stats[2])
        info["list_scans"] += int(stats[1])
        info["settled_by_candidates"] += int(stats[3])
        info["distances"] += int(stats[4])
        # Where the bounds prune little (few centres for the dimension), a pass comparing every
        # point with every centre costs less: a pruned distance cost 1.6-2.7x one of a full pass
        # (uniform d = 8 at k = 1000 and 100, magic at k = 100). Not judged on the first pass,
        # whose bounds are all unknown. Full passes leave valid bounds, so a pruned pass is
        # tried again after 1, 2, 4, ... of them (pruning pays more as a run settles).
        if p > 0 and int(stats[4]) > DENSE_SWITCH * n * k:
            full_until = p + 1 + backoff
            backoff *= 2
        elif p > 0:
            backoff = 1

    for it in range(max_passes + 1):
        assign()
        if it > 0 and stats[0] == 0:
            info["converged"] = "labels"
            break
        if it == max_passes:
            break
        tot, sums = K.weighted_sums(X, w, labels, k)
        new = C.copy()
        ok = tot > 0
        new[ok] = sums[ok] / tot[ok, None]
        # an empty cluster keeps its centre (it still labels nobody; the cost is unaffected)
        drift = np.sqrt(((new - C) ** 2).sum(axis=1))
        lists.moved += drift
        cum += drift
        C = new
        info["passes"] += 1
        shift = float(np.dot(drift, drift))
        prev_cost, cost = cost, _cost_of_means(spread, mean, tot, sums)
        info["costs"].append(cost)
        if progress is not None:
            progress.update(f"refine{name}: pass {info['passes']}, {int(stats[0])} labels changed, cost {cost:.6g}")
        if shift <= tol or prev_cost - cost <= rel_tol * cost:
            info["converged"] = "tol" if shift <= tol else "cost"
            assign()  # a last assignment with the final centres (what predict gives)
            break
    info["neighbour_lists"] = lists.recomputed
    inertia = float(np.dot(w, K.point_costs(X, C, labels)))
    return labels, C, inertia, info


def _assign_deferred(X, xnorm, C, deferred, labels, upper, lower, cand, cand_key, cum, rest, stats) -> None:
    """The points a pruned pass deferred (``deferred[i] == 1``), compared with every centre by
    :func:`_dense_assign`; their labels, bounds, candidates and ``stats`` are updated."""
    idx = np.flatnonzero(deferred) if deferred.shape[0] else deferred
    if idx.shape[0] == 0:
        return
    arrays = (labels, upper, lower, cand, rest, cand_key)
    sub = [a[idx] for a in arrays]
    stats[0] += _dense_assign(X[idx], xnorm[idx], C, *sub[:5], None, sub[5], cum)
    for a, b in zip(arrays, sub):
        a[idx] = b
    stats[4] += idx.shape[0] * (C.shape[0] - 1)


def _dense_assign(X, xnorm, C, labels, upper, lower=None, cand=None, rest=None, stats=None, cand_key=None,
                  cum=None) -> int:
    """A full pass by blocks of matrix products (BLAS), made exact by
    :func:`_kernels.lloyd.nearest_from_gram`: labels become the exact nearest centres.

    ``xnorm`` (n,) is :func:`_row_norms` of ``X``. ``upper`` receives an upper bound on each
    point's distance to its centre; with ``lower`` (and ``cand``, ``rest``), the bounds a
    pruned pass can start from: ``lower`` a lower bound on the distance to every other
    centre, ``cand`` the ``t`` other centres nearest by the products and ``rest`` a lower
    bound on the distance to every centre but those and the nearest; ``cand_key`` / ``cum``
    the candidates' lazy bounds (see :func:`_kernels.lloyd.assign_pass`). ``stats`` (5,) as
    :func:`_kernels.lloyd.full_pass`. Returns the number of labels that changed.
    """
    n, k = X.shape[0], C.shape[0]
    old = labels.copy()
    c2 = np.einsum("ij,ij->i", C, C)
    c_norm_max = float(np.sqrt(c2.max()))
    # blocks of about 1 MB of products, which stay in cache for the exact pass over them
    # (at k = 1000 this took 65 ms a pass where blocks of 4096 rows took 95 ms)
    step = max(64, min(4096, 2**17 // max(k, 1)))
    if lower is None:
        lower = np.empty(n)
    if cand is None:
        cand, rest = np.empty((n, 0), np.int32), np.empty(n)
    if cand_key is None:
        cand_key, cum = np.empty(cand.shape), np.zeros(k)
    # One BLAS thread below d = 64: there a block's products cost less than the compiled scan
    # of the block, and BLAS threads spinning after each product took the cores from that scan
    # (heavy-tailed data, d = 8, k = 1000, two threads: refine 40 s, 7.5 s with one BLAS thread)
    with threadpool_limits(limits=1 if X.shape[1] < 64 else None, user_api="blas"):
        for s in range(0, n, step):
            G = X[s:s + step] @ C.T
            G *= -2.0
            G += c2
            K.nearest_from_gram(X, xnorm, C, G, s, c_norm_max, labels, upper, lower, cand, cand_key, cum, rest)
    changed = int(np.count_nonzero(labels != old))
    if stats is not None:
        stats[:] = 0
        stats[0] = changed
        stats[4] = n * (k - 1)
    return changed


def _cost_of_means(spread: float, mean, tot, sums) -> float:
    """``sum w |x - mu(x)|^2`` of a partition with its cluster means ``mu = sums / tot``, as
    ``spread - sum_c tot_c |mu_c - mean|^2`` (``spread = sum w |x - mean|^2``, the weighted mean).

    Exact in real arithmetic; its rounding error is about ``1e-16 spread``, which is below
    the stopping rule's ``AUTO_REL_TOL`` of the cost unless the clusters are a 10^11-th of
    the data's spread. The cost returned by :func:`lloyd` is summed point by point.
    """
    ok = tot > 0
    dev = sums[ok] - tot[ok, None] * mean
    return max(0.0, spread - float(((dev * dev).sum(axis=1) / tot[ok]).sum()))


def centre_work(k: int, d: int) -> float:
    """Operations of the centre-side work of refine: one neighbour list plus the seeding."""
    return float(k) * k * d * (1.0 + (2 + math.log(max(k, 1))) / 2.0)


def _weiszfeld_passes(Xu, wu, centers, n_iter, weiszfeld_iter, rel_tol=0.0):
    """Assign / Weiszfeld passes (k-median); stops when the labels repeat or, with ``rel_tol``,
    when a pass lowers the cost by at most ``rel_tol`` times the cost."""
    labels, dist = pairwise_distances_argmin_min(Xu, centers)
    cost = float(np.dot(wu, dist))
    for _ in range(n_iter):
        for c in range(centers.shape[0]):
            members = labels == c
            if members.any():
                centers[c] = weiszfeld(Xu[members], wu[members], centers[c].copy(), int(weiszfeld_iter))
        new_labels, dist = pairwise_distances_argmin_min(Xu, centers)
        prev, cost = cost, float(np.dot(wu, dist))
        same = np.array_equal(new_labels, labels)
        labels = new_labels
        if same or prev - cost <= rel_tol * cost:
            break
    return labels.astype(np.int64), centers, cost


def _tolerance(Xu, wu) -> float:
    """scikit-learn's tolerance: ``tol`` times the mean per-feature variance (weighted by multiplicity)."""
    W = float(wu.sum())
    var = K.feature_spread(Xu, wu, (wu @ Xu) / W) / W
    return AUTO_TOL * float(var.mean())


def refine_best(params: TreeParams, tree_labels, tree_centers, tree_cost, Xu, wu, rng, progress=None,
                coreset=None):
    """Refinement from the tree's answer and from k-means++; the cheapest of all answers wins.

    Parameters
    ----------
    params : TreeParams (``refine`` is "auto" or a number of passes > 0)
    tree_labels : ndarray of shape (n_distinct,), int64 -- the tree's partition
    tree_centers : ndarray of shape (k, d) -- its centres
    tree_cost : float -- its cost
    Xu, wu : distinct points (n_distinct, d) and their weights
    rng : numpy.random.Generator
    coreset : callable, optional
        ``coreset(m)`` gives a weighted summary of at most ``m`` points to seed from when
        there are more than :func:`seeding_coreset_size` distinct points (k-means only):
        ``(points (m', d), weights (m',), member (n_distinct,) -- each point's summary
        row, sse)`` with ``sse`` the points' squared distances to their rows' points
        (:func:`tree_coreset` gives it from the tree). Without it, seeding reads every point.

    Returns
    -------
    labels, centers, inertia, info
        ``info["answer"]`` is ``"tree"`` (the tree's partition, unrefined, was the
        cheapest), ``"tree+lloyd"`` or ``"kmeans+++lloyd"``; ``start_costs`` and
        ``final_costs`` give every start's cost before and after its passes, and
        ``passes`` their number. Ties go to the tree.
    """
    k, d = tree_centers.shape
    auto = params.refine == "auto"
    max_passes = AUTO_MAX_PASSES if auto else int(params.refine)
    info: dict = {"mode": "auto" if auto else "passes", "max_passes": max_passes,
                  "start_costs": {"tree": tree_cost}, "final_costs": {}, "passes": {}}
    kpp_seed = int(rng.integers(2**63 - 1))
    best = (tree_labels, tree_centers, tree_cost)
    info["answer"] = "tree"
    if params.objective != "kmeans":
        starts = [("tree", tree_centers)]
        from sklearn.cluster import kmeans_plusplus

        seeds, _ = kmeans_plusplus(Xu, k, sample_weight=wu, random_state=kpp_seed % (2**31 - 1))
        starts.append(("kmeans++", np.asarray(seeds, dtype=np.float64)))
        for name, start in starts:
            _, dist = pairwise_distances_argmin_min(Xu, start)
            info["start_costs"][name] = float(np.dot(wu, dist))
            out = _weiszfeld_passes(Xu, wu, start.copy(), max_passes, params.weiszfeld_iter,
                                    AUTO_REL_TOL if auto else 0.0)
            info["final_costs"][name] = out[2]
            if out[2] < best[2]:
                best, info["answer"] = out, name + "+weiszfeld"
        return (*best, info)

    tol, rel_tol = (_tolerance(Xu, wu), AUTO_REL_TOL) if auto else (0.0, 0.0)
    cut = coreset(seeding_coreset_size(k)) if coreset is not None and Xu.shape[0] > seeding_coreset_size(k) \
        else None
    if cut is not None:
        info["seeding"] = {"coreset": int(cut[0].shape[0])}
    for r in range(kmeanspp_starts(Xu.shape[0], k, d)):
        name = "kmeans++" if r == 0 else f"kmeans++#{r + 1}"
        if cut is None:
            seeds, seed_labels, seed_dist = kmeanspp(Xu, wu, k, np.random.default_rng([kpp_seed, r]))
            info["start_costs"][name] = float(np.dot(wu, seed_dist**2))
        else:
            # seeds drawn from the tree's coreset; each point starts at its vertex's seed, and
            # the start cost is that partition's (the coreset's cost plus the vertices' own SSE)
            Xc, wc, member, sse = cut
            seeds, vertex_labels, vertex_dist = kmeanspp(Xc, wc, k, np.random.default_rng([kpp_seed, r]))
            seed_labels = vertex_labels[member]
            info["start_costs"][name] = float(np.dot(wc, vertex_dist**2)) + sse
            # a vertex's points are spread over several seeds' cells (88% of the points on
            # heavy-tailed data at k = 1000): its nearest seeds are their candidates, so the
            # first pass searches around the right one instead of scanning every centre
            near = _nearest_seeds(Xc, seeds, min(_CANDIDATES, k - 1) + 1)
            best = _run(name, seeds, seed_labels, Xu, wu, max_passes, tol, rel_tol, progress, info, best,
                        near[member, 1:])
            continue
        best = _run(name, seeds, seed_labels, Xu, wu, max_passes, tol, rel_tol, progress, info, best)
    if k > 1 and tree_cost > 1.5 * best[2]:
        # Lloyd from a start 1.5x worse than a converged k-means++ run: skipped
        info["passes"]["tree"] = 0
    else:
        best = _run("tree", tree_centers, tree_labels, Xu, wu, max_passes, tol, rel_tol, progress, info, best)
    return (*best, info)


def seeding_coreset_size(k: int) -> int:
    """Summary rows the k-means++ starts read instead of every point (when there are more).

    Greedy k-means++ costs about ``(2 + ln k)`` candidate evaluations per seed over the
    points it reads; at ``k = 1000`` on 10^5 points (d = 8) that was 45% of the refinement.
    ``SEEDING_PER_CENTRE`` rows per centre, at least ``SEEDING_MIN_ROWS``.
    """
    return max(SEEDING_MIN_ROWS, SEEDING_PER_CENTRE * int(k))


def tree_coreset(parent: np.ndarray, cost: np.ndarray, m: int) -> np.ndarray:
    """The tree vertices whose points the seeding reads as one weighted row: the cut of
    vertices with SSE at most ``tau`` whose parent's exceeds it, for the smallest ``tau``
    leaving at most ``m`` of them.

    A vertex's SSE is at least the sum of its children's, so for every ``tau`` these
    vertices partition the leaves. Far points (outliers, small remote groups) join a
    vertex of large SSE only at coarse scales, so they stay rows of their own: a
    uniform sample of the points would miss them (shuttle, k = 1000: a k-means++ start
    from a 10-per-centre sample ended 21x costlier after Lloyd).

    Parameters
    ----------
    parent : ndarray of shape (n_nodes,), int64 -- ``-1`` at a root
    cost : ndarray of shape (n_nodes,) -- each vertex's SSE about its mean
    m : int

    Returns
    -------
    ndarray of shape (m',), int64 -- the cut's vertices, ``m' <= m`` unless the roots
    alone are more
    """
    pc = np.where(parent >= 0, cost[np.maximum(parent, 0)], np.inf)
    values = np.unique(cost)

    def count(tau):
        return int(np.count_nonzero((cost <= tau) & (pc > tau)))

    lo, hi = 0, values.shape[0] - 1  # the cut at values[hi] (every root) is the smallest
    while lo < hi:
        mid = (lo + hi) // 2
        if count(values[mid]) <= m:
            hi = mid
        else:
            lo = mid + 1
    tau = values[lo]
    return np.flatnonzero((cost <= tau) & (pc > tau)).astype(np.int64)


def kmeanspp_starts(n: int, k: int, d: int) -> int:
    """k-means++ starts of ``refine``; the cheapest result is kept.

    One start's final cost varies most between seeds at small ``k`` (on kddcup at
    k = 23, 2.08e6 to 2.65e6 over four seeds), where Lloyd is also cheapest: up to 10
    starts below ``k = 16`` on small data (``n k d <= 10^7``), 3 below ``k = 64``, one from ``k = 64`` on.
    """
    size = float(n) * k * d
    if k < 16:
        return 10 if size <= 1e7 else 3
    if k < 64:
        return 3 if size <= 1e9 else 1
    return 1


def _nearest_seeds(P: np.ndarray, seeds: np.ndarray, m: int) -> np.ndarray:
    """The ``m`` nearest seeds of each row of ``P`` (nearest first; hints for the first pass, whose
    searches make the labels exact whatever they are)."""
    from sklearn.neighbors import NearestNeighbors

    m = min(m, seeds.shape[0])
    return NearestNeighbors(n_neighbors=m).fit(seeds).kneighbors(P, return_distance=False).astype(np.int64)


def _run(name, start, guess, Xu, wu, max_passes, tol, rel_tol, progress, info, best, candidates=None):
    """Lloyd from one start; returns the better of its result and ``best`` (ties to the tree)."""
    labels, centers, inertia, run = lloyd(Xu, wu, start, guess, max_passes, tol, rel_tol, progress, f" ({name})",
                                          candidates)
    info["final_costs"][name] = inertia
    info["passes"][name] = run["passes"]
    info.setdefault("lloyd", {})[name] = run
    if inertia < best[2] or (name == "tree" and inertia <= best[2]):
        info["answer"] = name.split("#")[0] + "+lloyd"
        return labels, centers, inertia
    return best


def elbow_curve(X, n_clusters, *, sample_weight=None, random_state=None) -> np.ndarray:
    """k-means costs of the answers ``refine="auto"`` would refine, on a grid of ``k``, from one seeding.

    Greedy k-means++ is sequential, so the first ``j`` seeds of one run to
    ``max(n_clusters)`` are a ``j``-seeding: one seeding serves every ``k`` of the
    grid, and each ``k`` then runs the default's Lloyd passes (exact pruned
    assignment, the same stopping rule) from its prefix. Unlike
    ``LSHTreeKMeans.cost_curve_`` (the tree's prunings, nearly flat on data that
    is not perturbation-resilient) this is the curve of the answers users get;
    it takes one k-means++ start per ``k`` (the estimator may keep the best of
    several at small ``k``, so its cost can be lower).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    n_clusters : sequence of int
        The grid of ``k`` (each ``1 <= k <=`` number of distinct points).
    sample_weight : array-like of shape (n_samples,), optional
    random_state : int, Generator or None

    Returns
    -------
    costs : ndarray of shape (len(n_clusters),)
        ``sum w |x - centre|^2`` of the converged answer at each ``k``, in the order given.

    Examples
    --------
    >>> import numpy as np
    >>> from bigclust.lshtree import elbow_curve
    >>> X = np.random.default_rng(0).standard_normal((500, 2))
    >>> costs = elbow_curve(X, [1, 2, 4, 8], random_state=0)
    >>> bool(np.all(np.diff(costs) < 0))
    True
    """
    from .._core import validation as V
    from .._core.dedup import unique_rows

    X = V.check_points(X)
    w = V.check_sample_weight(sample_weight, X.shape[0])
    ks = np.asarray(n_clusters)
    if ks.ndim != 1 or ks.size == 0 or not np.issubdtype(ks.dtype, np.integer) or ks.min() < 1:
        raise ValueError("n_clusters must be a non-empty sequence of integers >= 1.")
    first, inverse = unique_rows(X)
    wu = np.bincount(inverse, weights=w, minlength=first.shape[0])
    keep = wu > 0
    Xu = np.ascontiguousarray(X[first[keep]], dtype=np.float64)
    wu = wu[keep]
    if ks.max() > Xu.shape[0]:
        raise ValueError(f"n_clusters holds a k above the number of distinct points with positive weight "
                         f"({Xu.shape[0]}).")
    rng = V.check_random_state(random_state)
    seeds, _, _ = kmeanspp(Xu, wu, int(ks.max()), rng)
    tol = _tolerance(Xu, wu)
    out = np.empty(ks.shape[0])
    for i, k in enumerate(ks.tolist()):
        start = seeds[:k]
        guess, _ = pairwise_distances_argmin_min(Xu, start)
        out[i] = lloyd(Xu, wu, start, guess.astype(np.int64), AUTO_MAX_PASSES, tol, AUTO_REL_TOL)[2]
    return out
