"""k-median node weights on Spark (Appendix D of the LSH-tree paper), for ``LSHTreeKMedian(engine="spark")``.

The tree is objective-independent (:mod:`._tree`, :mod:`._two_hop` build it with
k-means weights); this step replaces every internal vertex's weight by
``sum_{p in C} w_p |p - m_C|`` and its centre by ``m_C``, a Weiszfeld median of
``C``'s bottom-``s`` sample (``s = median_sample_size``), exactly as
:func:`bigclust.lshtree.median.kmedian_node_weights` defines them, and writes
the vertex table again; the pruning DP, labels and centres then run unchanged.

Rounds (``report_["spark"]["mpc_rounds_by_step"]``):

ancestors
    every (leaf, proper ancestor) pair. With ``candidates="two_hop"`` these are
    the stored leaf paths (Lemma 4.5: no round). Otherwise by pointer doubling
    over the parent pointers: after iteration ``j`` every vertex holds its
    ancestors at distances ``1..2^j`` and a pointer to the one at ``2^j``;
    ``S_{j+1}(v) = S_j(v) u S_j(J_j(v))``, ``J_{j+1}(v) = J_j(J_j(v))`` (two
    joins, 2 rounds per iteration, ``floor(log2 depth) + 1`` iterations). ``sum_v depth(v)`` rows, the
    total size of all candidate clusters, which the local engine also reads.
sample (2)
    keys ``sample_keys(p, seed)`` (a hash of the point id: no coordination,
    reproducible, the local engine's keys). Each task keeps, per vertex, the
    ``s`` pairs of smallest key among its own rows (bottom-``s`` samples
    merge: the bottom-``s`` of a union is the bottom-``s`` of the parts'
    bottom-``s``), so at most ``s`` rows per vertex and task cross the
    shuffle; a join with the points fetches coordinates and weights; a shuffle
    by vertex and a sort by key give each task whole vertices, whose first
    ``s`` rows are the sample. Weiszfeld runs in those tasks
    (:func:`bigclust.lshtree.median.vertex_median`), in key order, so the
    medians are the local engine's bit for bit.
cost (3)
    every pair joined with its point and its vertex's median, the weighted
    distance in Spark SQL, summed per vertex (partial sums before the shuffle):
    exact for that median, equal to the local engine's to rounding (the sum
    runs in another order).
nodes (1)
    the vertex table joined with the new weights and written again.

Per-task memory: a task holds its own pairs' keys, at most ``s`` sampled
rows per vertex and task after the shuffle (``s * tasks`` per vertex before the
cut to ``s``), and the partial sums of the vertices in its rows; the
doubling's joins buffer at most ``2^j`` ancestor rows per key. The driver holds
the seed and the iteration count only.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np

from ..median import sample_keys, vertex_median
from ._arrow import list_column, matrix, vector
from ._faults import maybe_fail


def _bottom_rows(v, u, key, s):
    """Indices of the rows that are among the ``s`` of smallest ``key`` of their ``v`` (sorted by ``(v, key)``)."""
    order = np.lexsort((key, v))
    vs = v[order]
    starts = np.flatnonzero(np.r_[True, vs[1:] != vs[:-1]])
    rank = np.arange(vs.shape[0]) - np.repeat(starts, np.diff(np.r_[starts, vs.shape[0]]))
    return order[rank < s]


def _partial_sample_task(seed, s):
    """Rows ``(u, v)`` -> ``(v, u, key)``: per vertex ``v``, the task's ``s`` rows of smallest key."""
    def run(batches):
        import pyarrow as pa

        maybe_fail("median")
        kv = ku = kk = None
        for b in batches:
            if b.num_rows == 0:
                continue
            u = vector(b.column("u"), np.int64)
            v = vector(b.column("v"), np.int64)
            key = sample_keys(u, seed)
            if kv is not None:  # merge with what the task kept so far (bottom-s samples merge)
                u, v, key = np.r_[ku, u], np.r_[kv, v], np.r_[kk, key]
            keep = _bottom_rows(v, u, key, s)
            ku, kv, kk = u[keep], v[keep], key[keep]
        if kv is not None and kv.shape[0]:
            yield pa.RecordBatch.from_arrays([pa.array(kv), pa.array(ku), pa.array(kk)], names=["v", "u", "key"])
    return run


def _median_task(s, n_iter, d):
    """Rows ``(v, key, x, w)`` sorted by ``(v, key)``, whole vertices per task -> ``(node, m)``: the
    Weiszfeld median of each vertex's first ``s`` rows (its bottom-``s`` sample), in key order."""
    def run(batches):
        import pyarrow as pa

        maybe_fail("median")
        bs = [b for b in batches if b.num_rows]
        if not bs:
            return
        v = np.concatenate([vector(b.column("v"), np.int64) for b in bs])
        X = np.concatenate([matrix(b.column("x"), d) for b in bs])
        w = np.concatenate([vector(b.column("w"), np.float64) for b in bs])
        starts = np.flatnonzero(np.r_[True, v[1:] != v[:-1]])
        ends = np.r_[starts[1:], v.shape[0]]
        M = np.empty((starts.shape[0], d))
        for g, (a, e) in enumerate(zip(starts, ends)):
            e = min(e, a + s)
            M[g] = vertex_median(np.ascontiguousarray(X[a:e]), np.ascontiguousarray(w[a:e]), n_iter)
        yield pa.RecordBatch.from_arrays([pa.array(v[starts]), list_column(M)], names=["node", "m"])
    return run


def _ancestor_pairs(spark, tree, meter):
    """``(u, v)`` for every leaf ``u`` and proper ancestor ``v``; returns (DataFrame, doubling iterations)."""
    from pyspark.sql import functions as F

    if tree.paths is not None:  # two-hop: every leaf's path is stored (Lemma 4.5); its first row is the leaf
        return tree.paths.where(F.col("id") != F.col("u")).select("u", F.col("id").alias("v")), 0
    n = tree.n_leaves
    nodes = spark.read.parquet(tree.path).select("node", "left", "right")
    J = (nodes.where(F.col("left") >= 0).select(F.col("left").alias("node"), F.col("node").alias("ptr"))
         .unionByName(nodes.where(F.col("right") >= 0).select(F.col("right").alias("node"), F.col("node").alias("ptr")))
         ).localCheckpoint()
    S = J.select("node", F.col("ptr").alias("anc"))  # the parent pointers: a map of the vertex table
    iterations = 0
    while not J.isEmpty():
        iterations += 1
        if iterations > 64:
            raise RuntimeError("the parent pointers have a cycle")
        far = J.join(S.withColumnRenamed("node", "ptr"), "ptr").select("node", "anc")
        S = S.unionByName(far).localCheckpoint()
        J = J.join(J.select(F.col("node").alias("ptr"), F.col("ptr").alias("p2")), "ptr").select(
            "node", F.col("p2").alias("ptr")).localCheckpoint()
        meter.round("kmedian: ancestors", 2)
    # leaves are the vertices 0..n-1 (the points' ids); internal vertices have larger ids
    return S.where(F.col("node") < n).select(F.col("node").alias("u"), F.col("anc").alias("v")), iterations


def kmedian_tree_spark(spark, tree, points, d: int, sample_size: int, n_iter: int, seed: int, P: int, workdir: str,
                       meter):
    """The tree with k-median weights and medians (a new vertex table under ``workdir``), and info.

    ``points``: rows ``(id, x, w)``; ``seed``: the sampling keys' seed (the local
    engine draws it at the same point of the random sequence).
    """
    from pyspark.sql import functions as F

    info = {"sample_size": int(sample_size), "weiszfeld_iter": int(n_iter), "sample_seed": int(seed)}
    if tree.n_leaves == 1:
        return tree, dict(info, ancestor_iterations=0, ancestor_pairs=0)
    pairs, iterations = _ancestor_pairs(spark, tree, meter)
    pairs = pairs.localCheckpoint()
    info["ancestor_iterations"] = iterations
    info["ancestor_pairs"] = int(pairs.count())
    pts = points.select(F.col("id").alias("u"), "x", "w")

    sample = (pairs.mapInArrow(_partial_sample_task(int(seed), int(sample_size)), "v long, u long, key long")
              .join(pts, "u")
              .repartition(P, "v").sortWithinPartitions("v", "key")
              .mapInArrow(_median_task(int(sample_size), int(n_iter), d), "node long, m array<double>"))
    medians = sample.localCheckpoint()
    meter.round("kmedian: sample and medians", 2)

    dist = F.sqrt(F.aggregate(F.zip_with("x", "m", lambda a, b: (a - b) * (a - b)), F.lit(0.0), lambda acc, t: acc + t))
    costs = (pairs.join(pts, "u").join(medians.withColumnRenamed("node", "v"), "v")
             .groupBy("v").agg(F.sum(F.col("w") * dist).alias("kcost")))
    meter.round("kmedian: cost", 3)

    weights = medians.join(costs.withColumnRenamed("v", "node"), "node")
    nodes = spark.read.parquet(tree.path)
    out = os.path.join(workdir, "nodes_kmedian")
    (nodes.join(weights, "node", "left")
     .select("node", "left", "right", "size", "W",
             F.when(F.col("left") >= 0, F.col("kcost")).otherwise(F.lit(0.0)).alias("cost"),
             F.when(F.col("left") >= 0, F.col("m")).otherwise(F.col("mean")).alias("mean"), "scale", "auxiliary")
     .write.mode("overwrite").parquet(out))
    meter.round("kmedian: nodes")
    return dataclasses.replace(tree, path=out), info
