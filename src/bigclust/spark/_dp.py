"""Algorithm 7 of the LSH-tree paper: the pruning DP with subtrees shipped to tasks.

Iteration ``r`` (``r = 1, 2, ...``) finishes every vertex whose subtree has at
most ``T_r = tau^r`` leaves (``tau = subtree_leaves``; the last iteration takes
the root): vertices with ``T_{r-1} < size <= T_r`` are "ongoing", each is
assigned to its highest ancestor within that band (pointer jumping over
parent pointers, ``O(log depth)`` rounds), and every such group is shipped to
one task together with the finished tables of its boundary children (the
roots of earlier iterations' groups). The task computes Algorithm 5's tables
for its vertices with the same arithmetic as :func:`bigclust.pruning.exact_dp`
and keeps only its root's table. A group holds at most ``2 tau`` vertices of
its band per finished child, so task memory is bounded by ``tau`` and ``k``,
not by ``n``; the number of iterations is ``ceil(log n / log tau)`` (``O(1/delta)``
for ``tau = n^delta``, Lemma 4.6).

The traceback runs the iterations backwards: the root's group is traced with
``k`` clusters; each finished child it reaches with a count ``i > 1`` is traced by
its own group in the previous iteration (tables recomputed there), so the
selected vertices are exactly those of the local traceback.
"""

from __future__ import annotations

import numpy as np

from . import _kernels as K
from ._arrow import maybe_fail, ragged_column, vector


def _group_arrays(b_cols):
    M = np.concatenate([vector(c["M"], np.int64) for c in b_cols])
    node = np.concatenate([vector(c["node"], np.int64) for c in b_cols])
    left = np.concatenate([vector(c["left"], np.int64) for c in b_cols])
    right = np.concatenate([vector(c["right"], np.int64) for c in b_cols])
    size = np.concatenate([vector(c["size"], np.int64) for c in b_cols])
    cost = np.concatenate([vector(c["cost"], np.float64) for c in b_cols])
    is_input = np.concatenate([vector(c["is_input"], np.bool_) for c in b_cols])
    tables = []
    for c in b_cols:
        tables.extend(c["table"].to_pylist())
    extra = {}
    if "alloc" in b_cols[0]:
        extra["alloc"] = np.concatenate([vector(c["alloc"], np.int64) for c in b_cols])
    return M, node, left, right, size, cost, is_input, tables, extra


def _runs(M):
    starts = np.flatnonzero(np.r_[True, M[1:] != M[:-1]])
    ends = np.r_[starts[1:], M.shape[0]]
    return zip(starts, ends)


def _inputs(tables, is_input, a, b):
    lens = np.array([len(tables[r]) if is_input[r] else 0 for r in range(a, b)], np.int64)
    offs = np.zeros(b - a + 1, np.int64)
    np.cumsum(lens, out=offs[1:])
    vals = np.concatenate([np.asarray(tables[r], np.float64) for r in range(a, b) if is_input[r]] or [np.empty(0)])
    return offs, vals


def _collect_batches(batches, names):
    cols = []
    for b in batches:
        if b.num_rows:
            cols.append({n: b.column(n) for n in names})
    return cols


_COLS = ("M", "node", "left", "right", "size", "cost", "is_input", "table")


def _tables_task(k, fault):
    def run(batches):
        import pyarrow as pa

        maybe_fail(fault, "dp")
        cols = _collect_batches(batches, _COLS)
        if not cols:
            return
        M, node, left, right, size, cost, is_input, tables, _ = _group_arrays(cols)
        out_node, out_vals, out_offs = [], [], [0]
        for a, b in _runs(M):
            in_offs, in_vals = _inputs(tables, is_input, a, b)
            offs, dp = K.subtree_tables(node[a:b], left[a:b], right[a:b], size[a:b], cost[a:b], is_input[a:b],
                                        in_offs, in_vals, k)
            r = int(np.flatnonzero(node[a:b] == M[a])[0])
            out_node.append(M[a])
            out_vals.append(dp[offs[r]:offs[r + 1]])
            out_offs.append(out_offs[-1] + out_vals[-1].shape[0])
        yield pa.RecordBatch.from_arrays(
            [pa.array(np.array(out_node, np.int64)), ragged_column(np.concatenate(out_vals), np.array(out_offs))],
            names=["node", "table"])
    return run


def _trace_task(k, fault):
    def run(batches):
        import pyarrow as pa

        maybe_fail(fault, "dp")
        cols = _collect_batches(batches, _COLS + ("alloc",))
        if not cols:
            return
        M, node, left, right, size, cost, is_input, tables, extra = _group_arrays(cols)
        alloc = extra["alloc"]
        o_node, o_cnt, o_sel = [], [], []
        for a, b in _runs(M):
            in_offs, in_vals = _inputs(tables, is_input, a, b)
            offs, dp = K.subtree_tables(node[a:b], left[a:b], right[a:b], size[a:b], cost[a:b], is_input[a:b],
                                        in_offs, in_vals, k)
            r = int(np.flatnonzero(node[a:b] == M[a])[0])
            rows, cnts, sel = K.subtree_traceback(node[a:b], left[a:b], right[a:b], size[a:b], is_input[a:b],
                                                  offs, dp, r, int(alloc[a]), k)
            o_node.append(node[a:b][rows])
            o_cnt.append(cnts)
            o_sel.append(sel)
        yield pa.RecordBatch.from_arrays(
            [pa.array(np.concatenate(o_node)), pa.array(np.concatenate(o_cnt)), pa.array(np.concatenate(o_sel))],
            names=["node", "count", "selected"])
    return run


def _pointer_jump(df, meter, what):
    """Replace ``ptr`` by ``ptr(ptr)`` until nothing changes; rows map node -> ptr (a forest)."""
    from pyspark.sql import functions as F

    rounds = 0
    while True:
        b = df.select(F.col("node").alias("bn"), F.col("ptr").alias("bp"))
        j = df.join(b, df.ptr == b.bn, "left").withColumn("new", F.coalesce("bp", "ptr"))
        meter.round(what)
        rounds += 1
        j = j.localCheckpoint()
        changed = j.where(F.col("new") != F.col("ptr")).count()
        df = j.drop("ptr", "bn", "bp").withColumnRenamed("new", "ptr")
        if changed == 0:
            return df, rounds
        if rounds > 64:
            raise RuntimeError("pointer jumping did not converge; the parent pointers have a cycle")


def _band_tops_from_paths(paths, lo, hi):
    """(node, M) for the vertices with ``lo < size <= hi``: ``M`` is the highest ancestor with size <= hi.

    Sizes grow strictly along a leaf's path, so the vertices of size <= hi
    form a prefix of it and every band vertex in that prefix has the prefix's
    last vertex as ``M`` (one window over each leaf's path rows, Lemma 4.6
    without pointer jumping).
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    top = F.max(F.when(F.col("size") <= hi, F.struct("size", "id"))).over(Window.partitionBy("u"))
    return (paths.withColumn("M", top.getField("id")).where((F.col("size") > lo) & (F.col("size") <= hi))
            .select(F.col("id").alias("node"), "M").distinct())


def labels_from_paths(paths, selected: np.ndarray, meter, spark):
    """(leaf, selected ancestor) for every leaf: the selected vertex on its path (one join, no jumping)."""
    from pyspark.sql import functions as F

    sel = spark.createDataFrame([(int(v),) for v in selected], "sel long")
    meter.round("labels")
    return paths.join(F.broadcast(sel), paths.id == sel.sel).select(F.col("u").alias("id"), "sel"), 0


def tree_with_parents(spark, tree):
    """Vertex rows with their parent and the parent's size (null at the root)."""
    from pyspark.sql import functions as F

    nodes = spark.read.parquet(tree.path).select("node", "left", "right", "size", "cost")
    ch = (nodes.where(F.col("left") >= 0).select(F.col("left").alias("node"), F.col("node").alias("parent"), F.col("size").alias("psize"))
          .unionByName(nodes.where(F.col("right") >= 0).select(F.col("right").alias("node"), F.col("node").alias("parent"), F.col("size").alias("psize"))))
    return nodes.join(ch, "node", "left").localCheckpoint()


def exact_dp_spark(spark, tree, ntp, k: int, subtree_leaves: int, meter, fault=None):
    """Algorithm 5 by Algorithm 7. Returns (selected vertex ids, exact_curve, info)."""
    from pyspark.sql import functions as F

    n = tree.n_leaves
    tau = max(2, int(subtree_leaves))
    bands = []
    T_prev, T = 0, tau
    while True:
        last = T >= n
        bands.append((T_prev, n if last else T))
        if last:
            break
        T_prev, T = T, T * tau
    finished = None
    groups = []
    jump_rounds = 0
    for r, (lo, hi) in enumerate(bands):
        if tree.paths is not None:
            band = _band_tops_from_paths(tree.paths, lo, hi)
            meter.round("dp: group subtrees")
        else:
            band = ntp.where((F.col("size") > lo) & (F.col("size") <= hi)).withColumn(
                "ptr", F.when(F.col("psize").isNotNull() & (F.col("psize") <= hi), F.col("parent")).otherwise(F.col("node")))
            band, jr = _pointer_jump(band.select("node", "ptr"), meter, "dp: group subtrees")
            jump_rounds += jr
            band = band.withColumnRenamed("ptr", "M")
        own = (ntp.join(band, "node").select("M", "node", "left", "right", "size", "cost",
                                             F.lit(False).alias("is_input"), F.lit(None).cast("array<double>").alias("table")))
        rows = own
        if finished is not None:
            bm = band.select(F.col("node").alias("parent"), "M")
            inp = (finished.join(ntp.select("node", "parent", "left", "right", "size", "cost"), "node")
                   .join(bm, "parent")
                   .select("M", "node", "left", "right", "size", "cost", F.lit(True).alias("is_input"), "table"))
            rows = own.unionByName(inp)
        rows = rows.repartition("M").sortWithinPartitions("M", "size", "node").localCheckpoint()
        meter.round("dp: ship subtrees")
        groups.append(rows)
        out = rows.mapInArrow(_tables_task(k, fault), "node long, table array<double>").localCheckpoint()
        finished = out if finished is None else finished.unionByName(out).localCheckpoint()
    root_table = np.asarray(out.first()["table"], np.float64)

    selected = []
    alloc = spark.createDataFrame([(int(tree.root), int(min(k, n)))], "M long, alloc long")
    for rows in reversed(groups):
        g = rows.join(F.broadcast(alloc), "M").sortWithinPartitions("M", "size", "node")
        res = g.mapInArrow(_trace_task(k, fault), "node long, count long, selected boolean").collect()
        meter.round("dp: traceback")
        selected.extend(int(r["node"]) for r in res if r["selected"])
        nxt = [(int(r["node"]), int(r["count"])) for r in res if not r["selected"]]
        if not nxt:
            break
        alloc = spark.createDataFrame(nxt, "M long, alloc long")
    info = {"dp_iterations": len(bands), "subtree_leaves": tau, "group_rounds": jump_rounds}
    return np.array(sorted(selected), np.int64), root_table, info


def labels_by_pointer_jumping(ntp, selected: np.ndarray, meter, spark):
    """(leaf, selected ancestor) for every leaf: each vertex points to itself if
    selected, else to its parent; pointer jumping resolves every leaf."""
    from pyspark.sql import functions as F

    sel = spark.createDataFrame([(int(v),) for v in selected], "sel long")
    df = (ntp.join(F.broadcast(sel), ntp.node == sel.sel, "left")
          .select("node", "left", F.when(F.col("sel").isNotNull() | F.col("parent").isNull(), F.col("node"))
                  .otherwise(F.col("parent")).alias("ptr")))
    df, rounds = _pointer_jump(df, meter, "labels")
    return df.where(F.col("left") < 0).select(F.col("node").alias("id"), F.col("ptr").alias("sel")), rounds
