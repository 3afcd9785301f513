"""The two-hop candidate tree on Spark: Algorithms 1-4 in a constant number of rounds.

The Spark form of :mod:`bigclust.lshtree.two_hop` (Appendix C.2 of the LSH-tree paper,
with Lemmas 4.3-4.5): every scale is handled at once, so the number of
shuffles does not depend on ``n`` or on the number of scales. Each step is one
or two sorts or aggregations over distributed rows; the driver holds only the
``L`` scales, the ``L x t x m`` offsets, the LSH directions and 256 sampled
points. The tree equals the local engine's for the same points and random
generator (same edges, candidates and children order); node weights are
aggregated in a different order, so they agree to rounding, not bit for bit.

extent (1 round)
    ``max |y - y_0|^2`` and the nearest-neighbour distances of the sampled
    points, in one pass (the fixed scales follow, :func:`~bigclust.lshtree.two_hop.two_hop_scales`).
hash + bucket (1)
    ``L t`` keys per point; a window over ``(scale, hash, key)`` gives every
    point its bucket's smallest point, the proposed edge of Algorithm 1.
pairs + verify (3)
    proposals grouped by pair (with their scales), joined with both points'
    coordinates; the pair is accepted at its first proposing scale whose
    threshold ``c D_i`` exceeds the distance.
label1, label2 (3)
    as step functions of the scale: per vertex the running minimum over its
    neighbours (label1), then over its neighbours' label1 functions (label2),
    each one window over the rows of a vertex ordered by scale.
open components (2)
    an edge whose ends carry different label2 values on a scale interval marks
    both labels open there (two joins of the edges with the label intervals).
candidates (3)
    per label ``c``: the scales where ``c`` labels itself and is not open, the
    size of ``C_c`` there (a running sum of +1/-1 events), and the scales where
    it grew: those are the new vertices ``(i, c)``, id ``(i + 1) n + c``.
paths (Lemma 4.4, 2)
    each point's candidates in scale order (a join and a window); consecutive
    ones are parent and child.
weights and binarisation (Lemma 4.5, 3)
    ``(W, mean, SSE)`` of every candidate from partial sums merged by Ward's
    formula, then each candidate's children, ordered by smallest point, become
    Algorithm 4's heap in one task (``binarise_groups``, as the sequential engine).
"""

from __future__ import annotations

import os

import numba
import numpy as np

from .._kernels.candidates import scale_offsets
from .._kernels.distances import min_d2_to_samples, sq_dist_rows
from .._kernels.node_stats import merge_stats
from ..lsh import MULTIPLIERS, bucket_keys, draw_pstable
from ..two_hop import N_SAMPLE, two_hop_scales
from . import _kernels as K
from ._arrow import list_column, matrix, vector
from ._faults import maybe_fail
from ._tree import _NODE_SCHEMA, SparkTree, TreeJob, _edge_ends, _hash_input, _points_of, _write_leaves


@numba.njit(cache=True)
def _first_accepted(d2, offs, scales_of_pair, thr2):
    """Per pair, the first of its (sorted) proposing scales whose threshold exceeds the distance, or -1."""
    n = d2.shape[0]
    out = np.full(n, -1, np.int64)
    for r in range(n):
        for e in range(offs[r], offs[r + 1]):
            i = scales_of_pair[e]
            if d2[r] < thr2[i]:
                out[r] = i
                break
    return out


@numba.njit(cache=True)
def _new_candidates(c, ra, rb, sz_offs, sz_pos, sz_val, bad_offs, bad_lo, bad_hi, n_scales):
    """Scales at which ``C_c`` is kept and larger than at the last scale it was kept.

    Per label ``c`` (row ``r``): it labels itself on ``[ra, rb)``; its size is
    ``sz_val`` from each ``sz_pos`` on; it is open on the ``[bad_lo, bad_hi)``
    intervals. Returns (c, i, size) of the new vertices.
    """
    out_c = []
    out_i = []
    out_s = []
    mark = np.zeros(n_scales, np.bool_)
    for r in range(c.shape[0]):
        for e in range(bad_offs[r], bad_offs[r + 1]):
            for i in range(max(bad_lo[e], ra[r]), min(bad_hi[e], rb[r])):
                mark[i] = True
        last = 1
        ptr = sz_offs[r]
        size = 0
        for i in range(ra[r], rb[r]):
            while ptr < sz_offs[r + 1] and sz_pos[ptr] <= i:
                size = sz_val[ptr]
                ptr += 1
            if not mark[i] and size > last:
                out_c.append(c[r])
                out_i.append(i)
                out_s.append(size)
                last = size
        for e in range(bad_offs[r], bad_offs[r + 1]):
            for i in range(max(bad_lo[e], ra[r]), min(bad_hi[e], rb[r])):
                mark[i] = False
    return np.array(out_c, np.int64), np.array(out_i, np.int64), np.array(out_s, np.int64)


@numba.njit(cache=True)
def _group_stats(key, X, w):
    """(W, count, mean, SSE) of every run of equal ``key`` (rows sorted by key), SSE about the run's mean."""
    n, d = X.shape
    starts = [0]
    for r in range(1, n):
        if key[r] != key[r - 1]:
            starts.append(r)
    g = len(starts)
    starts.append(n)
    keys = np.empty(g, np.int64)
    W = np.zeros(g)
    cnt = np.zeros(g)
    mean = np.zeros((g, d))
    sse = np.zeros(g)
    for s in range(g):
        a, b = starts[s], starts[s + 1]
        keys[s] = key[a]
        for r in range(a, b):
            W[s] += w[r]
            for j in range(d):
                mean[s, j] += w[r] * X[r, j]
        cnt[s] = b - a
        for j in range(d):
            mean[s, j] /= W[s]
        for r in range(a, b):
            acc = 0.0
            for j in range(d):
                t = X[r, j] - mean[s, j]
                acc += t * t
            sse[s] += w[r] * acc
    return keys, W, cnt, mean, sse


@numba.njit(cache=True)
def _fold_stats(key, W, cnt, mean, sse):
    """Merge partial (W, count, mean, SSE) rows with equal ``key`` (sorted) by Ward's formula."""
    n, d = mean.shape
    o_key = []
    o_W = []
    o_cnt = []
    o_sse = []
    o_mean = np.empty((n, d))
    g = -1
    for r in range(n):
        if r == 0 or key[r] != key[r - 1]:
            g += 1
            o_key.append(key[r])
            o_W.append(W[r])
            o_cnt.append(cnt[r])
            o_sse.append(sse[r])
            o_mean[g] = mean[r]
        else:
            m = np.empty(d)
            Wv, cv, sv = merge_stats(o_W[g], W[r], o_cnt[g], cnt[r], o_mean[g], mean[r], o_sse[g], sse[r], m)
            o_W[g] = Wv
            o_cnt[g] = cv
            o_sse[g] = sv
            o_mean[g] = m
    return (np.array(o_key, np.int64), np.array(o_W), np.array(o_cnt), o_mean[:g + 1].copy(), np.array(o_sse))


def _list_parts(col, dtype):
    """(offsets, flat values) of an Arrow list column."""
    offs = col.offsets.to_numpy().astype(np.int64)
    vals = col.values.to_numpy(zero_copy_only=False).astype(dtype, copy=False)
    return offs, vals


def _batches_of(batches, names):
    """Concatenate the non-empty batches of a task into NumPy columns (lists stay Arrow)."""
    import pyarrow as pa

    got = [b for b in batches if b.num_rows]
    if not got:
        return None
    t = pa.Table.from_batches(got).combine_chunks()
    return {n: t.column(n).chunk(0) if t.column(n).num_chunks else t.column(n) for n in names}


class _TwoHopBuilder:
    def __init__(self, job: TreeJob):
        self.spark, self.points, self.n, self.d = job.spark, job.points, job.n, job.d
        self.mean, self.A, self.params, self.rng = job.mean, job.A, job.params, job.rng
        self.meter, self.workdir, self.P, self.progress = job.meter, job.workdir, job.num_partitions, job.progress

    def _say(self, what):
        if self.progress is not None:
            self.progress.update(f"spark two-hop tree: {what}")

    def build(self) -> SparkTree:
        from pyspark.sql import functions as F

        import pyarrow as pa

        params, rng, n, d, mean, A, meter = self.params, self.rng, self.n, self.d, self.mean, self.A, self.meter
        dd = A.shape[1] if A is not None else d
        t, m = params.n_hashes, params.n_projections
        ef, bw = params.edge_factor, params.bucket_width
        # the random draws of build_hierarchy_two_hop, in its order
        V = draw_pstable(dd, t, m, bw, rng).directions
        sample = rng.choice(n, size=min(n, N_SAMPLE), replace=False).astype(np.int64)
        seed_base = int(rng.integers(2**63 - 1))
        info = {"candidates": "two_hop", "n_scales": 0, "edges_accepted": 0, "forced_root": False}
        nodes_dir = os.path.join(self.workdir, "nodes")
        pts = self.points
        _write_leaves(pts, nodes_dir)
        if n == 1:
            return SparkTree(nodes_dir, 1, 1, 0, info)

        # ---- extent: diameter bound and sampled nearest neighbours (one pass)
        srows = pts.where(F.col("id").isin([int(s) for s in sample])).select("id", "x").collect()
        sids = np.array([r["id"] for r in srows], np.int64)
        S = np.ascontiguousarray(_hash_input(np.array([r["x"] for r in srows], np.float64).reshape(len(srows), d), mean, A))
        x0 = np.asarray(pts.where(F.col("id") == 0).select("x").first()[0], dtype=np.float64)
        y0 = _hash_input(x0[None, :], mean, A)[0]

        def extent(batches):
            for ids, Y in _points_of(batches, d, mean, A, "extent"):
                far = sq_dist_rows(Y, np.repeat(y0[None, :], Y.shape[0], axis=0)).max()
                nn = np.full(S.shape[0], np.inf)
                min_d2_to_samples(S, sids, Y, ids, nn)
                yield pa.RecordBatch.from_arrays([pa.array([far]), pa.array([nn.min()])], names=["far", "nn"])

        ext = pts.select("id", "x").mapInArrow(extent, "far double, nn double").agg(
            F.max("far").alias("far"), F.min("nn").alias("nn")).first()
        meter.round("two-hop: extent")
        far2, nn2 = float(ext["far"]), float(ext["nn"])
        scales = two_hop_scales(far2, nn2, params.scale_ratio, ef)
        L = int(scales.shape[0])
        info.update(n_scales=L, first_scale=float(scales[0]), last_scale=float(scales[-1]),
                    diameter_upper_bound=2.0 * float(np.sqrt(far2)), sample_nn_distance=float(np.sqrt(nn2)))
        offsets = np.stack([scale_offsets(seed_base, i, t, m) for i in range(L)])
        inv_widths = np.array([1.0 / (D * bw) for D in scales])
        thr = ef * scales
        thr2 = thr * thr
        self._say(f"{L} scales")
        # every scale's rows go through the same shuffles: size the partitions by that volume
        # (adaptive execution merges the small ones back)
        conf = self.spark.conf
        old_partitions = conf.get("spark.sql.shuffle.partitions")
        conf.set("spark.sql.shuffle.partitions", str(max(self.P, -(-n * L * t // 2_000_000))))
        try:
            return self._build_scales(info, nodes_dir, scales, offsets, inv_widths, thr2, V, L, t, m)
        finally:
            conf.set("spark.sql.shuffle.partitions", old_partitions)

    def _build_scales(self, info, nodes_dir, scales, offsets, inv_widths, thr2, V, L, t, m) -> SparkTree:
        from pyspark.sql import Window
        from pyspark.sql import functions as F

        import pyarrow as pa

        n, d, mean, A, meter = self.n, self.d, self.mean, self.A, self.meter
        pts = self.points

        # ---- hash every point at every scale; bucket minimum = proposed partner (Algorithm 1)
        def keys_task(batches):
            for ids, Y in _points_of(batches, d, mean, A, "hash"):
                Z = np.ascontiguousarray((Y @ V).T, dtype=np.float32)  # as PStableLSH.project
                nb = ids.shape[0]
                keys = np.empty(t * nb, np.uint64)
                jj = pa.array(np.repeat(np.arange(t, dtype=np.int32), nb))
                idc = pa.array(np.tile(ids, t))
                for i in range(L):
                    for j in range(t):
                        bucket_keys(Z, j * m, m, inv_widths[i], offsets[i, j], MULTIPLIERS, keys[j * nb:(j + 1) * nb])
                    yield pa.RecordBatch.from_arrays(
                        [pa.array(np.full(t * nb, i, np.int32)), jj, pa.array(keys.view(np.int64).copy()), idc],
                        names=["i", "j", "key", "id"])

        keys = pts.select("id", "x").mapInArrow(keys_task, "i int, j int, key long, id long")
        bucket = Window.partitionBy("i", "j", "key")
        prop = (keys.withColumn("q", F.min("id").over(bucket)).where(F.col("id") != F.col("q"))
                .select("i", F.col("id").alias("p"), "q"))
        pairs = prop.groupBy("p", "q").agg(F.array_sort(F.collect_set("i")).alias("S"))
        meter.round("two-hop: hash and bucket")
        meter.round("two-hop: pairs")

        def verify(batches):
            for b, Yp, Yq in _edge_ends(batches, d, mean, A):
                offs, vals = _list_parts(b.column("S"), np.int64)
                f = _first_accepted(sq_dist_rows(Yp, Yq), offs, vals, thr2)
                ok = f >= 0
                if ok.any():
                    yield pa.RecordBatch.from_arrays(
                        [pa.array(vector(b.column("p"), np.int64)[ok]), pa.array(vector(b.column("q"), np.int64)[ok]),
                         pa.array(f[ok].astype(np.int32))], names=["p", "q", "f"])

        xp = pts.select(F.col("id").alias("p"), F.col("x").alias("xp"))
        xq = pts.select(F.col("id").alias("q"), F.col("x").alias("xq"))
        E = pairs.join(xq, "q").join(xp, "p").mapInArrow(verify, "p long, q long, f int").localCheckpoint()
        meter.round("two-hop: verify", 2)
        n_edges = E.count()
        info["edges_accepted"] = int(n_edges)
        self._say(f"{n_edges} edges over {L} scales")

        # ---- label1 and label2 as step functions of the scale (Appendix C.2, two propagation rounds)
        def breakpoints(rows):
            w = Window.partitionBy("u").orderBy("a", "val")
            run = rows.withColumn("run", F.min("val").over(w.rowsBetween(Window.unboundedPreceding, Window.currentRow)))
            run = run.withColumn("prev", F.lag("run").over(w))
            return run.where(F.col("prev").isNull() | (F.col("run") < F.col("prev"))).select(
                "u", "a", F.col("run").alias("val"))

        sym = (E.select(F.col("p").alias("u"), F.col("q").alias("v"), "f")
               .unionByName(E.select(F.col("q").alias("u"), F.col("p").alias("v"), "f")))
        own = pts.select(F.col("id").alias("u"), F.lit(0).alias("a"), F.col("id").alias("val"))
        L1 = breakpoints(own.unionByName(sym.select("u", F.col("f").alias("a"), F.col("v").alias("val"))))
        w_u = Window.partitionBy("u").orderBy("a")
        L1 = L1.withColumn("b", F.coalesce(F.lead("a").over(w_u), F.lit(L))).localCheckpoint()
        meter.round("two-hop: label1")
        # a neighbour's label1 piece that ends before the edge exists is dominated by the piece at f
        via = (sym.join(L1.select(F.col("u").alias("v"), F.col("a").alias("g"), F.col("b").alias("gb"), "val"), "v")
               .where(F.col("gb") > F.col("f")).select("u", F.greatest("f", "g").alias("a"), "val"))
        L2 = breakpoints(L1.select("u", "a", "val").unionByName(via))
        L2i = L2.select("u", "a", F.coalesce(F.lead("a").over(w_u), F.lit(L)).alias("b"),
                        F.col("val").alias("c")).localCheckpoint()
        meter.round("two-hop: label2", 2)

        # ---- open labels: an edge whose ends carry different label2 values on a scale interval
        ip = L2i.select(F.col("u").alias("p"), F.col("a").alias("a1"), F.col("b").alias("b1"), F.col("c").alias("c1"))
        iq = L2i.select(F.col("u").alias("q"), F.col("a").alias("a2"), F.col("b").alias("b2"), F.col("c").alias("c2"))
        cut = (E.join(ip, "p").join(iq, "q")
               .select(F.greatest("f", "a1", "a2").alias("lo"), F.least("b1", "b2").alias("hi"), "c1", "c2")
               .where((F.col("lo") < F.col("hi")) & (F.col("c1") != F.col("c2"))))
        # interval ends are label breakpoints, so a label has at most L^2 / 2 distinct open intervals: a
        # set (deduplicated map-side too) stays small where a list would not (a coarse label can be cut
        # by millions of edges)
        bad = (cut.select(F.col("c1").alias("c"), "lo", "hi").unionByName(cut.select(F.col("c2").alias("c"), "lo", "hi"))
               .groupBy("c").agg(F.collect_set(F.struct("lo", "hi")).alias("bad")))
        meter.round("two-hop: open components", 2)

        # ---- candidates: scales where c labels itself, is closed, and C_c grew
        roots = L2i.where(F.col("u") == F.col("c")).select("c", F.col("a").alias("ra"), F.col("b").alias("rb"))
        ev = (L2i.select("c", F.col("a").alias("pos"), F.lit(1).alias("delta"))
              .unionByName(L2i.where(F.col("b") < L).select("c", F.col("b").alias("pos"), F.lit(-1).alias("delta")))
              .groupBy("c", "pos").agg(F.sum("delta").alias("delta")))
        w_c = Window.partitionBy("c").orderBy("pos").rowsBetween(Window.unboundedPreceding, Window.currentRow)
        sizes = (ev.withColumn("size", F.sum("delta").over(w_c))
                 .groupBy("c").agg(F.max("size").alias("big"), F.array_sort(F.collect_list(F.struct("pos", "size"))).alias("sz"))
                 .where(F.col("big") > 1).drop("big"))
        meter.round("two-hop: candidate sizes", 2)

        def candidates(batches):
            maybe_fail("tree")
            cols = _batches_of(batches, ["c", "ra", "rb", "sz", "bad"])
            if cols is None:
                return
            sz = cols["sz"]
            sz_offs = sz.offsets.to_numpy().astype(np.int64)
            sz_pos = sz.values.field("pos").to_numpy(zero_copy_only=False).astype(np.int64)
            sz_val = sz.values.field("size").to_numpy(zero_copy_only=False).astype(np.int64)
            bd = cols["bad"]
            lens = np.array([0 if v is None else len(v) for v in bd.to_pylist()], np.int64)
            flat = [e for v in bd.to_pylist() if v is not None for e in v]
            bad_offs = np.zeros(lens.shape[0] + 1, np.int64)
            np.cumsum(lens, out=bad_offs[1:])
            bad_lo = np.array([e["lo"] for e in flat], np.int64)
            bad_hi = np.array([e["hi"] for e in flat], np.int64)
            cc, ii, ss = _new_candidates(vector(cols["c"], np.int64), vector(cols["ra"], np.int64),
                                         vector(cols["rb"], np.int64), sz_offs, sz_pos, sz_val,
                                         bad_offs, bad_lo, bad_hi, L)
            if cc.shape[0]:
                yield pa.RecordBatch.from_arrays([pa.array(cc), pa.array(ii.astype(np.int32)), pa.array(ss)],
                                                 names=["c", "i", "size"])

        cands = (roots.join(sizes, "c").join(bad, "c", "left")
                 .mapInArrow(candidates, "c long, i int, size long").localCheckpoint())
        meter.round("two-hop: candidates", 2)
        n_cand = cands.count()
        info["n_candidates"] = int(n_cand)
        self._say(f"{n_cand} candidate clusters")

        # ---- Lemma 4.4: every point's candidates in scale order; consecutive ones are child and parent
        mem = (L2i.join(cands, "c").where((F.col("a") <= F.col("i")) & (F.col("i") < F.col("b")))
               .select("u", "i", "c", ((F.col("i") + 1).cast("long") * F.lit(n).cast("long") + F.col("c")).alias("node")))
        w_path = Window.partitionBy("u").orderBy("i")
        path = (mem.withColumn("child", F.coalesce(F.lag("node").over(w_path), F.col("u")))
                .withColumn("child_min", F.coalesce(F.lag("c").over(w_path), F.col("u")))
                .withColumn("top", F.lead("node").over(w_path).isNull())).localCheckpoint()
        meter.round("two-hop: paths", 2)

        # ---- Lemma 4.5: (W, mean, SSE) of every candidate, partial sums merged by Ward's formula
        def partial(batches):
            for b in batches:
                if b.num_rows == 0:
                    continue
                key = vector(b.column(0), np.int64)
                order = np.argsort(key, kind="stable")
                X = matrix(b.column(1), d)[order]
                k_, W_, c_, m_, s_ = _group_stats(key[order], np.ascontiguousarray(X), vector(b.column(2), np.float64)[order])
                yield pa.RecordBatch.from_arrays([pa.array(k_), pa.array(W_), pa.array(c_), list_column(m_), pa.array(s_)],
                                                 names=["node", "W", "cnt", "mean", "sse"])

        def fold(batches):
            cols = _batches_of(batches, ["node", "W", "cnt", "mean", "sse"])
            if cols is None:
                return
            key = vector(cols["node"], np.int64)
            order = np.argsort(key, kind="stable")
            k_, W_, c_, m_, s_ = _fold_stats(key[order], vector(cols["W"], np.float64)[order],
                                             vector(cols["cnt"], np.float64)[order],
                                             np.ascontiguousarray(matrix(cols["mean"], d)[order]),
                                             vector(cols["sse"], np.float64)[order])
            yield pa.RecordBatch.from_arrays([pa.array(k_), pa.array(W_), pa.array(c_), list_column(m_), pa.array(s_)],
                                             names=["node", "W", "cnt", "mean", "sse"])

        stats_schema = "node long, W double, cnt double, mean array<double>, sse double"
        cstats = (path.select("u", "node").join(pts.select(F.col("id").alias("u"), "x", "w"), "u")
                  .select("node", "x", "w").mapInArrow(partial, stats_schema)
                  .repartition(self.P, "node").mapInArrow(fold, stats_schema))
        lstats = pts.select(F.col("id").alias("node"), "w", F.lit(1.0).alias("cnt"), "x", F.lit(0.0).alias("sse")).select(
            "node", F.col("w").alias("W"), "cnt", F.col("x").alias("mean"), "sse")
        stats = cstats.unionByName(lstats).localCheckpoint()
        meter.round("two-hop: weights", 3)

        # ---- Algorithms 3-4: children of each candidate, ordered by smallest point, as Algorithm 4's heap
        children = path.select(F.col("node").alias("group"), F.col("child_min").alias("lab"),
                               F.col("child").alias("node")).distinct()
        n_nodes = n + self._emit(children, stats, scales, nodes_dir)
        meter.round("two-hop: binarise", 2)

        # ---- Lemma 3.7's root: join what no scale joined
        tops = (path.where("top").select("node", F.col("c").alias("lab"), "u")
                .unionByName(pts.join(path.select(F.col("u").alias("id")).distinct(), "id", "left_anti")
                             .select(F.col("id").alias("node"), F.col("id").alias("lab"), F.col("id").alias("u")))
                .localCheckpoint())  # one row per point: its top candidate (or itself)
        meter.round("two-hop: root")
        forced = None
        if tops.select("node").distinct().count() > 1:
            info["forced_root"] = True
            forced = tops.select(F.lit((L + 1) * n).cast("long").alias("group"), "lab", "node").distinct()
            n_nodes += self._emit(forced, stats, scales, nodes_dir)
            meter.round("two-hop: root", 2)
        nodes = self.spark.read.parquet(nodes_dir)
        root = int(nodes.where(F.col("size") == n).agg(F.max("node")).first()[0])
        paths = self._leaf_paths(children, forced, path, tops, nodes, L)
        for df in (E, L1, L2i, cands, path, stats, tops):
            df.unpersist()
        return SparkTree(nodes_dir, n, int(n_nodes), root, info, paths=paths)

    def _leaf_paths(self, children, forced, path, tops, nodes, L):
        """Lemma 4.5: every leaf's path to the root in the binarised tree T', as rows ``(u, id, size)``.

        A child of rank ``r`` (by smallest point) among the ``s`` children of a
        group sits at heap position ``s + r`` (``s`` for the last one); its
        ancestors inside the group are the positions ``P >> 1, P >> 2, ..., 1``,
        and position ``q`` is vertex ``seq * n + lab`` of the child of rank ``q``
        (``binarise_groups``'s ids). A leaf's path is the concatenation of these
        segments along its path in T (``path``), plus the forced root's segment.
        Four rounds; ``n x depth(T')`` rows.
        """
        from pyspark.sql import Window
        from pyspark.sql import functions as F

        import pyarrow as pa

        n, meter = self.n, self.meter
        allc = children if forced is None else children.unionByName(forced)
        wg = Window.partitionBy("group")
        ranked = (allc.withColumn("r", F.row_number().over(wg.orderBy("lab")))
                  .withColumn("s", F.count(F.lit(1)).over(wg))).localCheckpoint()

        def positions(batches):
            for b in batches:
                if b.num_rows == 0:
                    continue
                g = vector(b.column(0), np.int64)
                r = vector(b.column(2), np.int64)
                s = vector(b.column(3), np.int64)
                P = np.where(r < s, s + r, s)
                depth = np.floor(np.log2(np.maximum(P, 1))).astype(np.int64)
                while True:  # exact floor(log2) despite rounding
                    hi = (P >> depth) == 0
                    lo = (P >> (depth + 1)) > 0
                    if not (hi.any() or lo.any()):
                        break
                    depth = depth - hi + lo
                rep = np.repeat(np.arange(g.shape[0]), depth)
                j = np.arange(rep.shape[0]) - np.repeat(np.cumsum(depth) - depth, depth) + 1
                yield pa.RecordBatch.from_arrays(
                    [pa.array(g[rep]), pa.array(vector(b.column(1), np.int64)[rep]), pa.array(j), pa.array(P[rep] >> j)],
                    names=["group", "x", "j", "q"])

        seg = (ranked.select("group", "node", "r", "s").mapInArrow(positions, "group long, x long, j long, q long")
               .join(ranked.select("group", F.col("r").cast("long").alias("q"), F.col("lab").alias("qlab")), ["group", "q"])
               .select("group", "x", "j", (F.col("group") - F.pmod(F.col("group"), F.lit(n).cast("long")) + F.col("qlab")).alias("id")))
        steps = path.select("u", F.col("node").alias("group"), F.col("child").alias("x"))
        if forced is not None:
            steps = steps.unionByName(tops.select("u", F.lit((L + 1) * n).cast("long").alias("group"), F.col("node").alias("x")))
        rows = (steps.join(seg, ["group", "x"]).select("u", "id")
                .unionByName(self.points.select(F.col("id").alias("u"), F.col("id").alias("id"))))
        out = rows.join(nodes.select(F.col("node").alias("id"), "size"), "id").repartition(self.P, "u").localCheckpoint()
        meter.round("two-hop: leaf paths", 4)
        return out

    def _emit(self, children, stats, scales, nodes_dir) -> int:
        """Binarise ``children(group, lab, node)`` with their stats; append the vertex rows; returns their number."""
        import pyarrow as pa

        n, d, L = self.n, self.d, scales.shape[0]

        def run(batches):
            maybe_fail("tree")
            c = _batches_of(batches, ["group", "lab", "node", "W", "cnt", "sse", "mean"])
            if c is None:
                return
            group = vector(c["group"], np.int64)
            node, left, right, W, cnt, sse, means, pos, grp = K.binarise_groups(
                group, vector(c["lab"], np.int64), vector(c["node"], np.int64), vector(c["W"], np.float64),
                vector(c["cnt"], np.float64), np.ascontiguousarray(matrix(c["mean"], d)), vector(c["sse"], np.float64),
                group // n, n)
            seq = grp // n
            scale = np.where(seq <= L, scales[np.minimum(seq, L) - 1], np.inf)
            yield pa.RecordBatch.from_arrays(
                [pa.array(node), pa.array(left), pa.array(right), pa.array(cnt.astype(np.int64)), pa.array(W),
                 pa.array(sse), list_column(means), pa.array(scale), pa.array(pos != 1)],
                names=["node", "left", "right", "size", "W", "cost", "mean", "scale", "auxiliary"])

        rows = (children.join(stats, "node").repartition(self.P, "group").sortWithinPartitions("group", "lab")
                .mapInArrow(run, _NODE_SCHEMA).localCheckpoint())
        rows.write.mode("append").parquet(nodes_dir)
        return int(rows.count())


def build_hierarchy_two_hop_spark(job: TreeJob) -> SparkTree:
    """The two-hop candidate tree (``candidates="two_hop"``) of the job's points, on Spark
    (the distributed twin of :func:`bigclust.lshtree.two_hop.build_hierarchy_two_hop`)."""
    return _TwoHopBuilder(job).build()
