"""Algorithm 7 of the LSH-tree paper: the pruning DP with subtrees shipped to tasks.

Iteration ``r`` (``r = 1, 2, ...``) finishes every vertex whose subtree has at
most ``T_r = tau^r`` leaves (``tau = subtree_leaves``; the last iteration takes
the root): vertices with ``T_{r-1} < size <= T_r`` are "ongoing", each is
assigned to its highest ancestor within that band (pointer jumping over
parent pointers, ``O(log depth)`` rounds), and every such group is shipped to
one task together with the finished tables of its boundary children (the
roots of earlier iterations' groups). The task computes Algorithm 5's tables
for its vertices with the same arithmetic as :func:`bigclust.lshtree.pruning.exact_dp`
and keeps only its root's table. A group holds at most ``2 tau`` vertices of
its band per finished child, so task memory is bounded by ``tau`` and ``k``,
not by ``n``; the number of iterations is ``ceil(log n / log tau)`` (``O(1/delta)``
for ``tau = n^delta``, Lemma 4.6).

The traceback runs the iterations backwards: the root's group is traced with
``k`` clusters; each finished child it reaches with a count ``i > 1`` is traced by
its own group (in the iteration of the child's size, tables recomputed there),
so the selected vertices are exactly those of the local traceback.

Algorithm 6 (``approx_dp_spark``) runs through the same iterations with
breakpoint tables (at most ``levels + 2`` per vertex, whatever ``k``) and a
traceback by breakpoint index; ``split_to_k_spark`` then makes the local
engine's greedy splits with children fetched from Spark in batches.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._kernels.subtree_dp import (approx_tables, approx_traceback, child_rows, exact_tables, exact_traceback,
                                   level_count, level_tables)
from . import _kernels as K
from ._arrow import ragged_column, vector
from ._faults import maybe_fail


@dataclass
class _Group:
    """One shipped subtree (Algorithm 7, line 6): its rows sorted by ``(size, node)``."""

    top: int                 # M, the group's highest vertex
    root: int                # the row of ``top``
    node: np.ndarray
    left: np.ndarray
    right: np.ndarray
    size: np.ndarray
    cost: np.ndarray
    is_input: np.ndarray     # finished children: their table comes from an earlier iteration
    in_offs: np.ndarray      # the input rows' tables, flattened: row r's is in_vals[in_offs[r]:in_offs[r+1]]
    in_vals: np.ndarray
    alloc: int | None        # traceback only: the count (breakpoint) the top is traced with


def _groups(batches):
    """The groups in one task's rows (sorted by ``(M, size, node)``), after the fault hook of tests."""
    maybe_fail("dp")
    bs = [b for b in batches if b.num_rows]
    if not bs:
        return

    def col(name, dtype):
        return np.concatenate([vector(b.column(name), dtype) for b in bs])

    M = col("M", np.int64)
    node, left, right, size = (col(c, np.int64) for c in ("node", "left", "right", "size"))
    cost, is_input = col("cost", np.float64), col("is_input", np.bool_)
    alloc = col("alloc", np.int64) if "alloc" in bs[0].schema.names else None
    tables = [t for b in bs for t in b.column("table").to_pylist()]
    starts = np.flatnonzero(np.r_[True, M[1:] != M[:-1]])
    for a, e in zip(starts, np.r_[starts[1:], M.shape[0]]):
        lens = np.array([len(tables[r]) if is_input[r] else 0 for r in range(a, e)], np.int64)
        in_offs = np.zeros(e - a + 1, np.int64)
        np.cumsum(lens, out=in_offs[1:])
        in_vals = np.concatenate([np.asarray(tables[r], np.float64) for r in range(a, e) if is_input[r]]
                                 or [np.empty(0)])
        yield _Group(int(M[a]), int(np.flatnonzero(node[a:e] == M[a])[0]), node[a:e], left[a:e], right[a:e],
                     size[a:e], cost[a:e], is_input[a:e], in_offs, in_vals, None if alloc is None else int(alloc[a]))


def _table_batch(tops, tables, **extra):
    """One row per group top: ``node``, its ``table`` (and ``extra`` int64 columns)."""
    import pyarrow as pa

    offs = np.zeros(len(tables) + 1, np.int64)
    np.cumsum([t.shape[0] for t in tables], out=offs[1:])
    return pa.RecordBatch.from_arrays(
        [pa.array(np.array(tops, np.int64)), ragged_column(np.concatenate(tables), offs)]
        + [pa.array(np.array(v, np.int64)) for v in extra.values()], names=["node", "table", *extra])


def _trace_batch(parts):
    """Traceback rows ``(node, count, selected, size)`` from per-group tuples of arrays."""
    import pyarrow as pa

    return pa.RecordBatch.from_arrays([pa.array(np.concatenate([p[i] for p in parts])) for i in range(4)],
                                      names=["node", "count", "selected", "size"])


def _exact_tables_of(g, k):
    """Algorithm 5's tables of one group (:func:`bigclust.lshtree._kernels.subtree_dp.exact_tables`, the
    local engine's kernel); returns (child rows, dp, offs, cap)."""
    lrow, rrow = child_rows(g.node, g.left, g.right, g.is_input)
    return (lrow, rrow) + exact_tables(lrow, rrow, g.size, g.cost, g.is_input, g.in_offs, g.in_vals, k)


def _tables_task(k):
    def run(batches):
        tops, tables = [], []
        for g in _groups(batches):
            _, _, dp, offs, _ = _exact_tables_of(g, k)
            tops.append(g.top)
            tables.append(dp[offs[g.root]:offs[g.root + 1]])
        if tops:
            yield _table_batch(tops, tables)
    return run


def _trace_task(k):
    def run(batches):
        parts = []
        for g in _groups(batches):
            lrow, rrow, dp, offs, cap = _exact_tables_of(g, k)
            rows, cnts, sel = exact_traceback(lrow, rrow, g.is_input, dp, offs, cap, g.root, g.alloc)
            parts.append((g.node[rows], cnts, sel, g.size[rows]))
        if parts:
            yield _trace_batch(parts)
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


def _bands(n: int, tau: int):
    """Algorithm 7's iterations: ``(T_{r-1}, T_r]`` with ``T_r = tau^r``, the last one ending at ``n``."""
    bands = []
    T_prev, T = 0, tau
    while True:
        last = T >= n
        bands.append((T_prev, n if last else T))
        if last:
            return bands
        T_prev, T = T, T * tau


def _band_groups(tree, ntp, bands, meter):
    """Per band, ``(node, M)``: each band vertex with its highest ancestor in the band (the group's top)."""
    from pyspark.sql import functions as F

    out, jump_rounds = [], 0
    for lo, hi in bands:
        if tree.paths is not None:
            band = _band_tops_from_paths(tree.paths, lo, hi)
            meter.round("dp: group subtrees")
        else:
            band = ntp.where((F.col("size") > lo) & (F.col("size") <= hi)).withColumn(
                "ptr", F.when(F.col("psize").isNotNull() & (F.col("psize") <= hi), F.col("parent")).otherwise(F.col("node")))
            band, jr = _pointer_jump(band.select("node", "ptr"), meter, "dp: group subtrees")
            jump_rounds += jr
            band = band.withColumnRenamed("ptr", "M")
        out.append(band.localCheckpoint())
    return out, jump_rounds


def _bottom_up(ntp, tops, meter, task, schema="node long, table array<double>"):
    """Algorithm 7's iterations: every band's groups (``tops``, from ``_band_groups``), shipped to tasks
    with their finished children.

    ``task`` turns a partition of group rows ``(M, node, left, right, size, cost,
    is_input, table)``, sorted by ``(M, size, node)``, into one row per group top
    (``schema``, first columns ``node`` and ``table``). Returns the shipped rows
    of every band (for the traceback), the last band's output (the root's row)
    and every band's output.
    """
    from pyspark.sql import functions as F

    finished = None
    groups = []
    out = None
    for band in tops:
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
        out = rows.mapInArrow(task, schema).localCheckpoint()
        finished = out if finished is None else finished.unionByName(out).localCheckpoint()
    return groups, out, finished


def _top_down(spark, groups, bands, root: int, start: int, task, meter):
    """Traceback backwards through the iterations; ``start`` is the root's count (or breakpoint).

    ``task`` emits ``(node, count, selected, size)`` per group: selected
    vertices, and the finished inputs reached with the count (breakpoint) their
    own group must trace. That group belongs to the iteration of the input's
    size, which may be any earlier one (a band-``r`` vertex can have a small
    child), so pending inputs wait for their own iteration.
    """
    from pyspark.sql import functions as F

    selected = []
    pending = {len(groups) - 1: [(int(root), int(start))]}
    his = np.array([hi for _, hi in bands])
    for r in range(len(groups) - 1, -1, -1):
        todo = pending.pop(r, None)
        if not todo:
            continue
        alloc = spark.createDataFrame(todo, "M long, alloc long")
        g = groups[r].join(F.broadcast(alloc), "M").sortWithinPartitions("M", "size", "node")
        res = g.mapInArrow(task, "node long, count long, selected boolean, size long").collect()
        meter.round("dp: traceback")
        for row in res:
            if row["selected"]:
                selected.append(int(row["node"]))
            else:  # its group is in the band of its size
                pending.setdefault(int(np.searchsorted(his, row["size"])), []).append((int(row["node"]), int(row["count"])))
    return np.array(sorted(selected), np.int64)


def exact_dp_spark(spark, tree, ntp, k: int, subtree_leaves: int, meter):
    """Algorithm 5 by Algorithm 7. Returns (selected vertex ids, exact_curve, info)."""
    tau = max(2, int(subtree_leaves))
    bands = _bands(tree.n_leaves, tau)
    tops, jump_rounds = _band_groups(tree, ntp, bands, meter)
    groups, out, _ = _bottom_up(ntp, tops, meter, _tables_task(k))
    root_table = np.asarray(out.first()["table"], np.float64)
    selected = _top_down(spark, groups, bands, tree.root, min(k, tree.n_leaves), _trace_task(k), meter)
    info = {"dp_iterations": len(bands), "subtree_leaves": tau, "group_rounds": jump_rounds}
    return selected, root_table, info


# --------------------------------------------------------------------------- Algorithm 6 by Algorithm 7


def _heights_task():
    def run(batches):
        tops, tables = [], []
        for g in _groups(batches):
            h = K.subtree_heights(*child_rows(g.node, g.left, g.right, g.is_input), g.is_input, g.in_offs, g.in_vals)
            tops.append(g.top)
            tables.append(np.array([float(h[g.root])]))
        if tops:
            yield _table_batch(tops, tables)
    return run


def _tree_depth(tree, ntp, tops, meter) -> int:
    """``H`` of Algorithm 6: the largest number of edges on a leaf-to-root path.

    With stored leaf paths (two-hop) it is the longest path; otherwise heights
    are computed bottom-up by Algorithm 7's iterations over the DP's groups ``tops``.
    """
    from pyspark.sql import functions as F

    if tree.n_leaves == 1:
        return 0
    meter.round("dp: depth")
    if tree.paths is not None:
        return int(tree.paths.groupBy("u").count().agg(F.max("count")).first()[0]) - 1
    _, out, _ = _bottom_up(ntp, tops, meter, _heights_task())
    return int(out.first()["table"][0])


def _approx_tasks(lam, inv_log_step, k, unit):
    """(tables task, traceback task) of Algorithm 6 over shipped subtrees."""

    def tables_of(g):
        # Algorithm 6's kernel of the local engine over the shipped subtree
        lrow, rrow = child_rows(g.node, g.left, g.right, g.is_input)
        return (lrow, rrow) + approx_tables(lrow, rrow, g.size, g.cost / unit, g.is_input, g.in_offs, g.in_vals,
                                            lam, k, inv_log_step)

    def run(batches):
        tops, tables, stored, widest = [], [], [], []
        for g in _groups(batches):
            _, _, bl, bc, bx, _, _, offs, nbp = tables_of(g)
            x = slice(offs[g.root], offs[g.root] + nbp[g.root])
            tops.append(g.top)
            tables.append(np.concatenate([bl[x].astype(np.float64), bc[x].astype(np.float64), bx[x]]))
            own = nbp[~g.is_input]
            stored.append(int(own.sum()))
            widest.append(int(own.max()))
        if tops:
            yield _table_batch(tops, tables, stored=stored, widest=widest)

    def trace(batches):
        parts = []
        for g in _groups(batches):
            lrow, rrow, _, _, _, pa_, pb_, offs, _ = tables_of(g)
            rows, idx, sel = approx_traceback(lrow, rrow, g.is_input, offs, pa_, pb_, g.root, g.alloc, g.node.shape[0])
            parts.append((g.node[rows], idx, sel, g.size[rows]))
        if parts:
            yield _trace_batch(parts)

    return run, trace


def approx_dp_spark(spark, tree, ntp, k: int, step_for_depth, subtree_leaves: int, meter):
    """Algorithm 6 by Algorithm 7: at most ``k`` vertices within ``(1 + step)^H`` of the optimum.

    The same computation as :func:`bigclust.lshtree.pruning.approx_dp` (same levels,
    tables and traceback, bit for bit), with each shipped subtree's tables
    computed in one task: a table holds at most ``min(|C|, levels + 2, k + 1)``
    breakpoints, so a task's memory is bounded by ``tau`` and the number of
    levels, not by ``k`` (the MPC form of Lemma 4.6). The driver holds the
    ``levels`` thresholds and the root's table. ``step_for_depth(H)`` gives the
    step from the tree's depth ``H``, found first over the same groups.

    Returns (selected vertex ids, info) with ``info`` as ``approx_dp``'s plus
    ``tree_depth``, ``step``, ``widest_table`` (the most breakpoints of one
    vertex) and the iterations.
    """
    from pyspark.sql import functions as F

    tau = max(2, int(subtree_leaves))
    bands = _bands(tree.n_leaves, tau)
    tops, jump_rounds = _band_groups(tree, ntp, bands, meter)
    H = _tree_depth(tree, ntp, tops, meter)
    step = float(step_for_depth(H))
    st = ntp.agg(F.min(F.when(F.col("cost") > 0, F.col("cost"))).alias("lo"), F.max("cost").alias("hi")).first()
    meter.round("dp: levels")
    base = {"dp_iterations": len(bands), "subtree_leaves": tau, "tree_depth": H, "step": step,
            "group_rounds": jump_rounds}
    if st["lo"] is None:  # all weights zero: the root alone is optimal
        return np.array([tree.root], np.int64), dict(base, n_levels=1, level_bound=0.0, cost=0.0,
                                                     clusters_from_dp=1, breakpoints=1, widest_table=1)
    unit = float(st["lo"])
    n_levels = level_count(tree.n_leaves, float(st["hi"]), unit, step)  # the least positive weight rescaled to 1
    lam = level_tables(step, n_levels)
    tables_task, trace_task = _approx_tasks(lam, 1.0 / np.log1p(step), int(k), unit)
    groups, out, finished = _bottom_up(ntp, tops, meter, tables_task,
                                       "node long, table array<double>, stored long, widest long")
    root = np.asarray(out.first()["table"], np.float64)
    m = root.shape[0] // 3
    sizes = finished.agg(F.sum("stored").alias("s"), F.max("widest").alias("w")).first()
    selected = _top_down(spark, groups, bands, tree.root, 0, trace_task, meter)
    level = int(root[0])
    info = dict(base, n_levels=n_levels + 1, level_bound=0.0 if level < 0 else float(lam[level]) * unit,
                cost=float(root[2 * m]) * unit, clusters_from_dp=int(root[m]),
                breakpoints=int(sizes["s"]), widest_table=int(sizes["w"]))
    return selected, info


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


def split_to_k_spark(spark, ntp, selected: np.ndarray, k: int, meter):
    """:func:`bigclust.lshtree.pruning.split_to_k` with the tree in Spark: the same greedy splits, the same result.

    The driver runs the greedy (pop the selected vertex whose split lowers the
    weight most, ``w(C) - w(C') - w(C'')``, ties to the smaller id) and fetches
    children rows from Spark in batches. A vertex whose children's weights are
    not known yet has gain at most ``w(C)`` (weights are non-negative), so the
    greedy may pop a known vertex ahead of every unknown one whose bound is
    lower; when it cannot, it fetches the children of all unknown vertices in
    one round. The driver holds ``O(k)`` rows. Returns (vertex ids, rounds).
    """
    import heapq

    from pyspark.sql import functions as F

    rows = {}  # node -> (left, right, weight)
    rounds = 0

    def fetch(ids):
        nonlocal rounds
        ids = [v for v in ids if v not in rows]
        if not ids:
            return
        want = spark.createDataFrame([(int(v),) for v in ids], "node long")
        for r in ntp.join(F.broadcast(want), "node").select("node", "left", "right", "cost").collect():
            rows[int(r["node"])] = (int(r["left"]), int(r["right"]), float(r["cost"]))
        meter.round("dp: split to k")
        rounds += 1

    def gain(v):
        a, b, wv = rows[v]
        return wv - rows[a][2] - rows[b][2]

    chosen = set(int(v) for v in selected)
    if len(chosen) >= k:
        return np.array(sorted(chosen), np.int64), 0
    fetch(chosen)
    known, unknown = [], []

    def settle(vs):
        fetch([c for v in vs for c in rows[v][:2]])
        for v in vs:
            heapq.heappush(known, (-gain(v), v))

    settle([v for v in chosen if rows[v][0] >= 0])
    while len(chosen) < k and (known or unknown):
        if known and (not unknown or known[0] < unknown[0]):
            _, v = heapq.heappop(known)
            chosen.discard(v)
            for c in rows[v][:2]:
                chosen.add(c)
                if rows[c][0] >= 0:
                    if rows[c][0] in rows and rows[c][1] in rows:
                        heapq.heappush(known, (-gain(c), c))
                    else:
                        heapq.heappush(unknown, (-rows[c][2], c))
        else:
            batch = [v for _, v in unknown]
            unknown = []
            settle(batch)
    return np.array(sorted(chosen), np.int64), rounds


# --------------------------------------------------------------------------- Lagrangian relaxation by Algorithm 7


def _penalised_tasks(lams, fewer: bool = True):
    """(evaluation task, traceback task) of the Lagrangian relaxation over shipped subtrees.

    The evaluation task emits per group top the table ``[values, fewer counts,
    many counts]`` (``3 P`` doubles for the ``P`` penalties ``lams``) computed by
    :func:`bigclust.lshtree._kernels.penalised.penalised_batch`, the local pass
    restricted to the group, with its finished children's tables as inputs. The
    traceback task (for one penalty, ``lams[0]``, and tie rule ``fewer``) emits
    the selected vertices and the finished children reached (traced by their own
    group).
    """
    from .._kernels import penalised as PK

    lams = np.ascontiguousarray(lams, np.float64)

    def run(batches):
        tops, tables = [], []
        for g in _groups(batches):
            lrow, rrow = child_rows(g.node, g.left, g.right, g.is_input)
            val, few, many = PK.penalised_batch(lrow, rrow, g.cost, g.is_input, g.in_offs, g.in_vals, lams, g.root)
            tops.append(g.top)
            tables.append(np.concatenate([val, few.astype(np.float64), many.astype(np.float64)]))
        if tops:
            yield _table_batch(tops, tables)

    def trace(batches):
        parts = []
        for g in _groups(batches):
            lrow, rrow = child_rows(g.node, g.left, g.right, g.is_input)
            take = PK.penalised_take(lrow, rrow, g.cost, g.is_input, g.in_offs, g.in_vals, lams[0], fewer)
            rows, sel = PK.penalised_trace(lrow, rrow, g.is_input, take, g.root)
            parts.append((g.node[rows], np.zeros(rows.shape[0], np.int64), sel, g.size[rows]))
        if parts:
            yield _trace_batch(parts)

    return run, trace


def lagrangian_dp_spark(spark, tree, ntp, k: int, subtree_leaves: int, meter, iterations: int = 100,
                        speculation: int = 8, stats: dict | None = None):
    """:func:`bigclust.lshtree.pruning.lagrangian_dp` by Algorithm 7: the same pruning and info, bit for bit.

    The search is the local one (:func:`bigclust.lshtree.pruning.lagrangian_search`)
    and so is the compiled pass (:mod:`bigclust.lshtree._kernels.penalised`), run
    over the shipped subtrees of Algorithm 7's iterations: a finished subtree
    passes on its root's penalised value and its cluster counts for both tie
    rules, so a task holds its subtree and ``3`` numbers per penalty per finished
    child, whatever ``k``. One bottom-up pass evaluates every penalty the next
    ``speculation`` bisection steps may visit (``2^speculation - 1``) and the
    driver replays the bisection on them, so a search of ``s`` steps takes about
    ``s / speculation`` passes rather than ``s``. The chosen penalty's pruning
    takes one more bottom-up pass and the traceback; when no penalty gave
    exactly ``k`` clusters it is grown by :func:`split_to_k_spark`, the local
    greedy splits.

    Returns (selected vertex ids, info), exactly ``lagrangian_dp``'s (same keys,
    same values). ``stats``, if given, receives the Spark figures:
    ``dp_iterations``, ``subtree_leaves``, ``group_rounds``, ``speculation``,
    ``evaluation_passes`` (bottom-up passes of the search; the selection takes
    one more), ``penalties_evaluated`` and ``split_rounds``.
    """
    from pyspark.sql import functions as F

    from ..pruning import lagrangian_info, lagrangian_search

    k = int(k)
    tau = max(2, int(subtree_leaves))
    bands = _bands(tree.n_leaves, tau)
    tops, jump_rounds = _band_groups(tree, ntp, bands, meter)
    root_weight = float(ntp.where(F.col("node") == int(tree.root)).select("cost").first()["cost"])
    meter.round("dp: lagrangian bound")

    def evaluate(lams):
        run, _ = _penalised_tasks(lams)
        _, out, _ = _bottom_up(ntp, tops, meter, run)
        table = np.asarray(out.first()["table"], np.float64)
        P = lams.shape[0]
        return table[:P], table[P:2 * P].astype(np.int64), table[2 * P:].astype(np.int64)

    search = lagrangian_search(k, root_weight, tree.n_leaves, evaluate, iterations, speculation)
    run, trace = _penalised_tasks([search["lam"]], search["fewer"])
    groups, _, _ = _bottom_up(ntp, tops, meter, run)
    selected = _top_down(spark, groups, bands, tree.root, 0, trace, meter)
    split_rounds = 0
    if not search["exact"]:
        selected, split_rounds = split_to_k_spark(spark, ntp, selected, k, meter)
    want = spark.createDataFrame([(int(v),) for v in selected], "node long")
    w = dict((int(r["node"]), float(r["cost"]))
             for r in ntp.join(F.broadcast(want), "node").select("node", "cost").collect())
    meter.round("dp: lagrangian cost")
    cost = math.fsum(w[int(v)] for v in selected)  # exact, so independent of vertex numbering (as locally)
    if stats is not None:
        stats.update(dp_iterations=len(bands), subtree_leaves=tau, group_rounds=jump_rounds,
                     speculation=max(1, int(speculation)), evaluation_passes=search["evaluations"],
                     penalties_evaluated=search["penalties"], split_rounds=split_rounds)
    return selected, lagrangian_info(search, cost)
