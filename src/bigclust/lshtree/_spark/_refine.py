"""``refine`` on the spark engine: Lloyd's iterations from three starts, as Spark rounds.

Beyond the paper (as ``refine`` is on the local engine). Every pass over the
points is one MPC round: a map task assigns its rows to the nearest of the
broadcast centres and emits, per cluster present, the weight, the weighted
coordinate sum and the cost; a shuffle by cluster sums them; the driver
collects ``O(k d)`` numbers. Points never leave the executors.

Starts (the cheapest after refinement wins, ties to the earlier):

1. ``"tree"``: the tree's own ``k`` centres (the local engine's first start).
2. ``"tree_coreset"``: k-means++ (scikit-learn ``KMeans``, on the driver) on the
   weighted means of the tree's optimal ``K = min(40 k, n)``-pruning, found by the
   same distributed exact DP; ``O(K d)`` on the driver. Skipped when ``K <= k`` or
   when that DP's table would exceed the exact-DP budget.
3. ``"kmeans||"``: the distributed k-means++ of Bahmani et al. (2012): a random
   point, then 5 rounds that keep each point with probability
   ``min(1, l w d^2 / phi)`` (``l = 2k``), candidates weighted by the points
   nearest to them, and weighted k-means++ seeding on the driver. The local
   engine's third start is sequential k-means++ on all points, which takes
   ``k`` passes; this replaces it, so with ``refine > 0`` the two engines agree
   only when the same start wins and Lloyd's steps agree.

Lloyd here keeps an empty cluster's centre where it was (scikit-learn moves it).
After the last update a final pass assigns every point to its nearest centre:
the labels returned are those nearest-centre labels (what ``predict`` gives),
and ``inertia_`` is their exact cost.

Sums are made in a fixed order (rows by id within a partition, partitions by
number within a cluster) and k-means|| draws its coins from a hash of
``(seed, round, id)``, so the result does not depend on task scheduling.
"""

from __future__ import annotations

import numpy as np

from ._arrow import list_column, matrix, vector
from ._faults import maybe_fail

_CHUNK = 4096                 # rows per distance block
_KMEANS_PARALLEL_ROUNDS = 5   # Bahmani et al.'s r; MLlib's initSteps default is 2, their paper uses 5


def nearest_center(X: np.ndarray, centers: np.ndarray, c2: np.ndarray | None = None):
    """Index of the nearest row of ``centers`` for each row of ``X`` and its squared distance.

    Blocks of ``_CHUNK`` rows against all centres with one matrix product each
    (``|x|^2 - 2 x.c + |c|^2`` for the argmin); the distance returned is then
    recomputed as ``|x - c|^2`` so that costs do not suffer the expansion's
    cancellation. Shapes: X (m, d), centers (k, d); returns (m,) int64, (m,) float64.
    """
    if c2 is None:
        c2 = np.einsum("ij,ij->i", centers, centers)
    m = X.shape[0]
    lab = np.empty(m, np.int64)
    step = max(1, min(_CHUNK, int(2**25 // max(1, centers.shape[0]))))  # blocks of <= 256 MB of distances
    for s in range(0, m, step):
        xb = X[s:s + step]
        g = c2[None, :] - 2.0 * (xb @ centers.T)
        lab[s:s + step] = np.argmin(g, axis=1)
    diff = X - centers[lab]
    return lab, np.einsum("ij,ij->i", diff, diff)


def _cluster_sums(lab, X, w, k):
    """(clusters present, their weight, weighted coordinate sums): one sparse product."""
    from scipy import sparse

    W = np.bincount(lab, weights=w, minlength=k)
    present = np.flatnonzero(np.bincount(lab, minlength=k))
    M = sparse.csr_matrix((w, (lab, np.arange(lab.shape[0]))), shape=(k, lab.shape[0]))
    return present, W[present], np.asarray(M[present] @ X)


def _lloyd_map_task(centers, d, kmedian=False):
    """Partition -> one row per cluster present: (cluster, pid, W, S, cost), cost on the first row only.

    k-means: ``W = sum w``, ``S = sum w x``, ``cost = sum w |x - c|^2``. k-median (``kmedian``):
    the Weiszfeld sums ``W = sum w/|x - m|``, ``S = sum w x/|x - m|`` and ``cost = sum w |x - m|``;
    distances below 1e-12 count as 1e-12, as :func:`bigclust.lshtree.median.weiszfeld` does.
    """
    c2 = np.einsum("ij,ij->i", centers, centers)
    k = centers.shape[0]

    def run(batches):
        import pyarrow as pa
        from pyspark import TaskContext

        maybe_fail("refine")
        W, S, cost, seen = np.zeros(k), np.zeros((k, d)), 0.0, np.zeros(k, bool)
        for b in batches:
            if b.num_rows == 0:
                continue
            X, w = matrix(b.column("x"), d), vector(b.column("w"), np.float64)
            lab, d2 = nearest_center(X, centers, c2)
            if kmedian:
                dist = np.sqrt(d2)
                present, Wp, Sp = _cluster_sums(lab, X, w / np.maximum(dist, 1e-12), k)
                cost += float(np.dot(w, dist))
            else:
                present, Wp, Sp = _cluster_sums(lab, X, w, k)
                cost += float(np.dot(w, d2))
            W[present] += Wp
            S[present] += Sp
            seen[present] = True
        cl = np.flatnonzero(seen)
        if cl.shape[0] == 0:
            return
        pid = TaskContext.get().partitionId()
        c = np.zeros(cl.shape[0])
        c[0] = cost
        yield pa.RecordBatch.from_arrays(
            [pa.array(cl), pa.array(np.full(cl.shape[0], pid, np.int64)), pa.array(W[cl]), list_column(S[cl]), pa.array(c)],
            names=["cluster", "pid", "W", "S", "cost"])
    return run


def _lloyd_reduce_task(d):
    """Rows of some clusters from every map task -> one row per cluster, summed in (cluster, pid) order."""
    def run(batches):
        import pyarrow as pa

        parts = [b for b in batches if b.num_rows]
        if not parts:
            return
        t = pa.Table.from_batches(parts)
        cl, pid = vector(t.column("cluster").combine_chunks()), vector(t.column("pid").combine_chunks())
        order = np.lexsort((pid, cl))
        cl = cl[order]
        W = vector(t.column("W").combine_chunks())[order]
        S = matrix(t.column("S").combine_chunks(), d)[order]
        cost = vector(t.column("cost").combine_chunks())[order]
        starts = np.flatnonzero(np.r_[True, cl[1:] != cl[:-1]])
        yield pa.RecordBatch.from_arrays(
            [pa.array(cl[starts]), pa.array(np.add.reduceat(W, starts)), list_column(np.add.reduceat(S, starts, axis=0)),
             pa.array(np.add.reduceat(cost, starts))],
            names=["cluster", "W", "S", "cost"])
    return run


def _cluster_totals(points, centers, d, num_partitions, kmedian=False):
    """Per cluster of the nearest-centre assignment: rows (cluster, W, S, cost), one shuffle by cluster
    (the sums of :func:`_lloyd_map_task`)."""
    task = _lloyd_map_task(centers, d, kmedian)
    return (points.mapInArrow(task, "cluster long, pid long, W double, S array<double>, cost double")
            .repartition(num_partitions, "cluster")
            .mapInArrow(_lloyd_reduce_task(d), "cluster long, W double, S array<double>, cost double").collect())


def _lloyd_pass(points, centers, d, num_partitions, meter, kmedian=False):
    """One assignment pass: (new centres, empty clusters unmoved; cost of the assignment).

    k-means: the new centres are the clusters' weighted means. k-median
    (``kmedian``): one Weiszfeld step per cluster, ``sum (w/|x-m|) x / sum w/|x-m|``
    over its points (both sums merge across tasks), which does not raise the
    cluster's distance sum; the cost is the sum of weighted distances.
    """
    rows = _cluster_totals(points, centers, d, num_partitions, kmedian)
    meter.round("refine: weiszfeld" if kmedian else "refine: lloyd")
    new = centers.copy()
    cost = 0.0
    for r in sorted(rows, key=lambda r: r["cluster"]):  # fixed order: the cost sum is reproducible
        cost += r["cost"]
        if r["W"] > 0:
            new[r["cluster"]] = np.asarray(r["S"], np.float64) / r["W"]
    return new, cost


def lloyd_spark(points, centers: np.ndarray, n_iter: int, d: int, num_partitions: int, meter,
                rel_tol: float = 0.0, kmedian: bool = False):
    """``n_iter`` Lloyd updates from ``centers`` (k, d), then the cost of nearest-centre labels.

    ``points``: DataFrame ``(id, x, w)`` sorted by id within partitions and
    checkpointed. Stops early when an update leaves every centre where it was,
    or (``rel_tol > 0``, ``refine="auto"``) when a pass lowered the cost by at most
    ``rel_tol`` times the cost, the local engine's rule. Returns (centres (k, d),
    cost of assigning every point to its nearest centre, passes made, start cost).
    ``kmedian``: assign/Weiszfeld-step passes and distance costs (:func:`_lloyd_pass`).
    """
    cur = np.array(centers, np.float64, copy=True)
    start_cost = None
    passes = 0
    prev = np.inf
    for _ in range(n_iter):
        new, cost = _lloyd_pass(points, cur, d, num_partitions, meter, kmedian)
        passes += 1
        if start_cost is None:
            start_cost = cost
        if np.array_equal(new, cur):
            return cur, cost, passes, start_cost
        if rel_tol > 0 and prev - cost <= rel_tol * cost:
            break
        prev = cost
        cur = new
    _, cost = _lloyd_pass(points, cur, d, num_partitions, meter, kmedian)
    passes += 1
    return cur, cost, passes, (cost if start_cost is None else start_cost)


# --------------------------------------------------------------- k-means||

def _uniform(ids: np.ndarray, seed: int, rnd: int) -> np.ndarray:
    """A uniform in [0, 1) per id from a hash of (seed, round, id) (splitmix64): independent of partitioning."""
    salt = np.array([seed & 0xFFFFFFFFFFFFFFFF, rnd], np.uint64)
    with np.errstate(over="ignore"):  # multiplications are meant to wrap modulo 2^64
        salt = salt * np.array([0xD1B54A32D192ED03, 0x8CB92BA72F3D8DD7], np.uint64)
        z = ids.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        z ^= salt[0] + salt[1]
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z ^= z >> np.uint64(31)
    return (z >> np.uint64(11)).astype(np.float64) * 2.0**-53


def _sample_task(d, ell, phi, seed, rnd):
    def run(batches):
        import pyarrow as pa

        maybe_fail("refine")
        for b in batches:
            if b.num_rows == 0:
                continue
            ids = vector(b.column("id"), np.int64)
            p = ell * vector(b.column("w"), np.float64) * vector(b.column("d2"), np.float64) / phi
            keep = np.flatnonzero(_uniform(ids, seed, rnd) < p)
            if keep.shape[0]:
                yield pa.RecordBatch.from_arrays([pa.array(ids[keep]), b.column("x").take(pa.array(keep))], names=["id", "x"])
    return run


def _nearest_task(centers, d, emit):
    """A mapInArrow task: for each batch, ``emit(batch, nearest centre, squared distance)``."""
    c2 = np.einsum("ij,ij->i", centers, centers)

    def run(batches):
        maybe_fail("refine")
        for b in batches:
            if b.num_rows:
                lab, dist = nearest_center(matrix(b.column("x"), d), centers, c2)
                yield emit(b, lab, dist)
    return run


def _update_d2_task(new, d):
    """Rows ``(id, x, w[, d2])`` -> ``(id, x, w, d2)`` with d2 := min(d2, squared distance to the new candidates)."""
    def emit(b, _, dn):
        import pyarrow as pa

        d2 = np.minimum(vector(b.column("d2"), np.float64), dn) if "d2" in b.schema.names else dn
        return pa.RecordBatch.from_arrays([b.column("id"), b.column("x"), b.column("w"), pa.array(d2)],
                                          names=["id", "x", "w", "d2"])
    return _nearest_task(new, d, emit)


def kmeans_parallel_spark(points, n: int, k: int, d: int, seed: int, num_partitions: int, meter):
    """k-means|| seeding (Bahmani et al. 2012, Algorithm 2 with r = 5, l = 2k) on Spark.

    Returns (k, d) centres and info. The candidates (about ``1 + 5 l``) are
    weighted by the points nearest to them (one Lloyd-style pass) and reduced
    to ``k`` by weighted greedy k-means++ on the driver (scikit-learn's
    ``kmeans_plusplus``), as MLlib does with its local k-means++.
    """
    from pyspark.sql import functions as F
    from sklearn.cluster import kmeans_plusplus

    rng = np.random.default_rng(seed)
    first = int(rng.integers(n))
    row = points.where(F.col("id") == first).select("x").first()
    meter.round("refine: k-means|| pick")
    cand = {first: np.asarray(row["x"], np.float64)}
    new = np.asarray(row["x"], np.float64)[None, :]
    state = None
    schema = "id long, x array<double>, w double, d2 double"
    ell = 2.0 * k
    rnd = 0
    while True:
        src = points if state is None else state
        nxt = src.mapInArrow(_update_d2_task(new, d), schema).localCheckpoint()
        if state is not None:
            state.unpersist()
        state = nxt
        phi = float(state.select(F.sum(F.col("w") * F.col("d2"))).first()[0] or 0.0)
        meter.round("refine: k-means|| update")
        if phi <= 0 or (rnd >= _KMEANS_PARALLEL_ROUNDS and len(cand) >= k) or rnd >= 4 * _KMEANS_PARALLEL_ROUNDS:
            break
        got = state.mapInArrow(_sample_task(d, ell, phi, seed, rnd), "id long, x array<double>").collect()
        meter.round("refine: k-means|| sample")
        rnd += 1
        fresh = sorted((int(r["id"]), r["x"]) for r in got if int(r["id"]) not in cand)
        for i, x in fresh:
            cand[i] = np.asarray(x, np.float64)
        # nothing new: an unchanged d2 pass keeps the loop simple
        new = np.array([x for _, x in fresh], np.float64).reshape(-1, d) if fresh else next(iter(cand.values()))[None, :]
    state.unpersist()
    ids = sorted(cand)
    C = np.array([cand[i] for i in ids], np.float64)
    W = _candidate_weights(points, C, d, num_partitions, meter)
    keep = np.flatnonzero(W > 0)
    C, W = C[keep], W[keep]
    centers, _ = kmeans_plusplus(C, min(k, C.shape[0]), sample_weight=W, random_state=int(rng.integers(2**31 - 1)))
    centers = np.asarray(centers, np.float64)
    if centers.shape[0] < k:  # fewer distinct candidates than k (tiny inputs): the next farthest-first points
        centers = _top_up(points, centers, k, d, meter)
    return centers, {"kmeans_parallel_rounds": rnd, "kmeans_parallel_candidates": int(len(ids))}


def _candidate_weights(points, C, d, num_partitions, meter):
    """Weight of the points nearest to each candidate (one Lloyd pass without its sums' use)."""
    rows = _cluster_totals(points, C, d, num_partitions)
    meter.round("refine: k-means|| weights")
    W = np.zeros(C.shape[0])
    for r in rows:
        W[r["cluster"]] = r["W"]
    return W


def _top_up(points, centers, k, d, meter):
    """Add the points farthest from the centres, one pass each, until there are ``k`` (only when candidates < k)."""
    from pyspark.sql import functions as F

    while centers.shape[0] < k:
        st = points.mapInArrow(_update_d2_task(centers, d), "id long, x array<double>, w double, d2 double")
        far = st.orderBy(F.col("d2").desc(), F.col("id")).first()  # every point here has w > 0
        meter.round("refine: k-means|| top up")
        centers = np.vstack([centers, np.asarray(far["x"], np.float64)[None, :]])
    return centers


# --------------------------------------------------------------- labels

def assign_task(centers, d, cols=("x",)):
    """Rows -> the columns ``cols`` plus ``cluster`` = index of the nearest centre (blocks of rows; any k)."""
    def emit(b, lab, _):
        import pyarrow as pa

        return pa.RecordBatch.from_arrays([b.column(c) for c in cols] + [pa.array(lab)], names=list(cols) + ["cluster"])
    return _nearest_task(centers, d, emit)


def refine_spark(points, n: int, k: int, d: int, tree_centers: np.ndarray, coreset, n_iter: int,
                 seeds: tuple[int, int], num_partitions: int, meter, rel_tol: float = 0.0, kmedian: bool = False):
    """The three starts, ``n_iter`` Lloyd updates each; returns (centres, inertia, info).

    ``coreset``: None or (reps (K, d), weights (K,)) of the tree's ``K``-pruning.
    ``seeds``: (coreset k-means++ seed, k-means|| seed), drawn by the caller.
    ``kmedian``: assign/Weiszfeld-step passes instead of Lloyd's (the caller passes
    no coreset: its start is a k-means clustering of the tree's means), from the
    tree's medians and from k-means|| (a D^2 seeding, used as a start only).
    """
    from sklearn.cluster import KMeans

    pts = points.select("id", "x", "w").sortWithinPartitions("id").localCheckpoint()
    starts = [("tree", tree_centers)]
    info = {"start": None, "start_costs": {}, "final_costs": {}, "passes": {}}
    if coreset is not None:
        reps, rep_w = coreset
        n_init = 10 if reps.shape[0] * k * d <= 1e9 else 1
        seeded = KMeans(k, n_init=n_init, random_state=seeds[0]).fit(reps, sample_weight=rep_w)
        starts.append(("tree_coreset", seeded.cluster_centers_.astype(np.float64)))
        info["coreset_size"] = int(reps.shape[0])
    kp, kp_info = kmeans_parallel_spark(pts, n, k, d, seeds[1], num_partitions, meter)
    starts.append(("kmeans||", kp))
    info.update(kp_info)
    best = None
    for name, start in starts:
        centers, cost, passes, start_cost = lloyd_spark(pts, start, n_iter, d, num_partitions, meter, rel_tol, kmedian)
        info["start_costs"][name] = start_cost
        info["final_costs"][name] = cost
        info["passes"][name] = passes
        if best is None or cost < best[1]:
            best, info["start"] = (centers, cost), name
    pts.unpersist()
    return best[0], best[1], info
