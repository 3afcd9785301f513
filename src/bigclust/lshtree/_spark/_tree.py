"""Algorithms 1-4 on Spark: the candidate-cluster tree as distributed tables.

Every step is a Spark stage over partitioned rows; the driver holds only
scalars per scale (the scale, counts, the ``t x m`` offsets) and the LSH
directions (``d x t m``). The tree is identical, vertex for vertex, to the one
:func:`bigclust.lshtree.hierarchy.build_hierarchy` builds for the same points, ids and
random generator (same scales, same hash functions, same edges, same
first-encounter order of merging components, same binarisation), because
each step below computes exactly what the local sweep computes, only
partitioned:

hash (map)
    ``t`` bucket keys per point at scale ``D_i`` (Algorithm 1, line 4), from the
    same projections and offsets as the local engine.
bucket (shuffle by key)
    for every bucket its smallest point id (the "smallest index" partner) and
    that point's component; candidate edges join points of different components.
    Each hashing task first reduces its own points per bucket and ships the
    rows packed by part of the bucket space (a few large values per task and
    part: Spark's cost per row dominated when they were rows); one task per
    part combines them. The buckets holding two or more components go back
    to the hashing tasks (a broadcast, up to ``_BROADCAST_BUCKETS``), so a
    point's keys leave Python only as part of its task's bucket summary and as
    the candidate edges it yields; above that, every point's keys are packed
    by part too and meet the part's mixed buckets in one task. A pass that
    finds no mixed bucket ends there (no candidate edge).
verify (a join with the points)
    the edge is kept iff ``|y_p - y_q| < c D_i`` (Lemma 3.5 (2) holds surely);
    the hashing task sends ``y_p`` with the edge, so only ``q`` is joined.
components (Algorithm 2)
    connected components of the components joined by accepted edges: in one
    task when the edge list is small (at most ``local_cc_max_edges`` rows),
    which also finds each merging component's first encounter, else by
    contraction rounds on edges packed by part of the vertex space (each
    task's union-find, then every vertex renamed to the least root it got;
    :mod:`bigclust.lshtree._spark._components`) until the rest fits one task. A
    component's label is its smallest point id.
tree (Algorithms 3-4, Lemma 4.5)
    the merging components are grouped by their new component (one shuffle)
    and each group becomes Algorithm 4's heap of vertices in one task, with
    node weights by Ward's merge (the aggregation of ``(W, mean, SSE)``
    bottom-up, as the local engine computes them).

empty scales (skipped)
    after a scale that merged nothing, with at most 512 components left, a
    lower bound on every distance between different components (spheres and
    slabs around the component means, as
    :func:`bigclust.lshtree._kernels.separation.separation_lower_bound` computes it, from a few
    aggregations) proves that the next scales would reject every edge; they are
    skipped, exactly as the local engine skips them. Any valid lower bound gives
    the same tree (a skipped scale would have accepted no edge), so the bound
    need not equal the local engine's to the last bit.

first scale (dry runs)
    the sweep starts just below the first scale in which the first four hash
    functions find an edge (:func:`bigclust.lshtree.hierarchy.first_sweep_scale`, the
    same search as the local engine's).

Scales are processed in sequence because each scale's candidate edges are
filtered by the components of the previous one (edges inside a component
cannot change the tree and are never verified); the rounds per scale are a
constant, and the number of scales is ``log_{ratio}`` of the aspect ratio (which
grows slowly with ``n`` on sampled data, as the closest pair gets closer). The paper runs all scales at once (Lemma 4.3) at the price of
``L`` times the edge volume; ``candidates="two_hop"`` does that (:mod:`bigclust.lshtree._spark._two_hop`).

Output: vertex rows ``(node, left, right, size, W, cost, mean, scale,
auxiliary)`` written as Parquet to the work directory, leaves included.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from .._kernels.candidates import scale_offsets
from .._kernels.distances import sq_dist_rows
from .._kernels.separation import SKIP_MAX_COMPONENTS, slab_bound, sphere_bounds
from ..hierarchy import first_sweep_scale
from ..lsh import MULTIPLIERS, bucket_keys, draw_pstable
from . import _kernels as K
from ._components import merging_components
from ._arrow import blobs, list_column, matrix, part_batches, vector
from ._faults import maybe_fail
from ._session import checkpoint_partitioned

# mixed buckets up to this many are shipped to the hashing tasks (O(this) on the driver)
_BROADCAST_BUCKETS = 2_000_000
# a scale's merging components up to this many are broadcast to the tasks holding all components
_BROADCAST_MERGES = 2_000_000

_NODE_SCHEMA = ("node long, left long, right long, size long, W double, cost double, mean array<double>, "
                "scale double, auxiliary boolean")


@dataclass
class SparkTree:
    """Where the distributed tree lives and what the driver knows about it."""

    path: str                 # Parquet directory of vertex rows
    n_leaves: int
    n_nodes: int
    root: int
    info: dict = field(default_factory=dict)
    paths: object = None      # two-hop only: DataFrame (u, id, size), every leaf's path to the root in T'


def _hash_input(X, mean, A):
    Y = X - mean
    return Y @ A if A is not None else Y


def _hashed(col, d, mean, A):
    """The hashed coordinates (centred, projected if ``A``) of a list<double> Arrow column of points."""
    return np.ascontiguousarray(_hash_input(matrix(col, d), mean, A))


def _write_leaves(points, nodes_dir):
    """Write the leaf rows (one per point) of the vertex table, replacing what ``nodes_dir`` held."""
    from pyspark.sql import functions as F

    points.select(
        F.col("id").alias("node"), F.lit(-1).cast("long").alias("left"), F.lit(-1).cast("long").alias("right"),
        F.lit(1).cast("long").alias("size"), F.col("w").alias("W"), F.lit(0.0).alias("cost"),
        F.col("x").alias("mean"), F.lit(0.0).alias("scale"), F.lit(False).alias("auxiliary")
    ).write.mode("overwrite").parquet(nodes_dir)


def _task_rows(batches, fault=None):
    """The non-empty Arrow batches of a task, after the tests' fault hook ``fault`` (if any)."""
    if fault is not None:
        maybe_fail(fault)
    return (b for b in batches if b.num_rows)


def _points_of(batches, d, mean, A, fault=None):
    """``(ids, Y)`` per non-empty batch ``(id, x, ...)``: column 0 and the hashed coordinates (n, dd) of column 1."""
    for b in _task_rows(batches, fault):
        yield vector(b.column(0), np.int64), _hashed(b.column(1), d, mean, A)


def _edge_ends(batches, d, mean, A):
    """``(batch, Yp, Yq)`` per non-empty batch of edges: the hashed coordinates of both ends (columns xp, xq)."""
    for b in _task_rows(batches, "verify"):
        yield b, _hashed(b.column("xp"), d, mean, A), _hashed(b.column("xq"), d, mean, A)


def _point_keys(b, mean, A, V, offsets, inv_width, n_hashes, n_proj, d):
    """(ids, labs, keys) of an Arrow batch ``(id, x, lab)``: ``keys`` (t, n) int64, the
    bucket key of every point under each hash function (projections as PStableLSH.project)."""
    ids = vector(b.column(0), np.int64)
    Y = _hash_input(matrix(b.column(1), d), mean, A)
    Z = np.ascontiguousarray((Y @ V).T, dtype=np.float32)
    keys = np.empty((n_hashes, ids.shape[0]), np.uint64)
    for j in range(n_hashes):
        bucket_keys(Z, j * n_proj, n_proj, inv_width, offsets[j], MULTIPLIERS, keys[j])
    return ids, vector(b.column(2), np.int64), keys.view(np.int64)


def _keyed_batches(batches, hashing):
    """``(batch, ids, labs, keys)`` for each non-empty batch ``(id, x, lab)``, after the tests' fault hook."""
    for b in _task_rows(batches, "hash"):
        yield (b,) + _point_keys(b, *hashing)


def _keys_task(hashing):
    """Rows ``(j, key, id, lab)``: one per point and hash function (``hashing``: :func:`_point_keys`'s parameters)."""
    n_hashes = hashing[5]

    def run(batches):
        import pyarrow as pa

        for _, ids, lab, keys in _keyed_batches(batches, hashing):
            nb = ids.shape[0]
            yield pa.RecordBatch.from_arrays(
                [pa.array(np.repeat(np.arange(n_hashes, dtype=np.int32), nb)), pa.array(keys.ravel()),
                 pa.array(np.tile(ids, n_hashes)), pa.array(np.tile(lab, n_hashes))],
                names=["j", "key", "id", "lab"])
    return run


def _task_keys(batches, hashing):
    """``(ids, labs, keys)`` of all the task's points (``keys`` (t, n)), or None when it has none."""
    parts = list(_keyed_batches(batches, hashing))
    if not parts:
        return None
    return (np.concatenate([p[1] for p in parts]), np.concatenate([p[2] for p in parts]),
            np.concatenate([p[3] for p in parts], axis=1))


def _bucket_summary_task(hashing, n_parts):
    """Rows ``(part, blob)``: the task's summary rows ``(j, key, m, lo, hi)``, one per
    distinct bucket of its points (:func:`_kernels.bucket_summary` over the whole
    partition), packed per part of the bucket space (:func:`_kernels.pack_summary`).

    A bucket's points leave Python as one summary row instead of one row each,
    and the rows cross the shuffle as a few large values per task and part,
    not as one Spark row each (Spark's per-row cost dominated this step).
    """
    def run(batches):
        got = _task_keys(batches, hashing)
        if got is None:
            return
        cols = K.bucket_summary(got[2], got[0], got[1])
        del got
        yield from part_batches(K.summary_parts(cols[0], cols[1], n_parts), n_parts,
                                 lambda sel: K.pack_summary(*(c[sel] for c in cols)))
    return run


def _mixed_buckets_task():
    """Rows ``(j, key, m)``: the buckets with more than one component among the summary
    blobs of one or more parts (all of a part's blobs are in this task), with
    ``m = q * 2^31 + lab_q``: the bucket's smallest point ``q`` and its component."""
    def run(batches):
        import pyarrow as pa

        maybe_fail("bucket")
        got = [K.unpack_summary(blob) for _, blob in blobs(batches)]
        if not got:
            return
        j, key, m, lo, hi = (np.concatenate(c) for c in zip(*got))
        del got
        bj, bkey, bm = K.mixed_buckets(j, key, m, lo, hi, np.lexsort((key, j)))
        if bj.shape[0]:
            yield pa.RecordBatch.from_arrays([pa.array(bj), pa.array(bkey), pa.array(bm)], names=["j", "key", "m"])
    return run


def _keyed_blobs_task(hashing, n_parts):
    """Rows ``(part, kind=1, blob)``: every point's ``(j, key, id * 2^31 + lab)`` under each hash, by part."""
    n_hashes = hashing[5]

    def run(batches):
        got = _task_keys(batches, hashing)
        if got is None:
            return
        ids, lab, keys = got
        j = np.repeat(np.arange(n_hashes, dtype=np.int32), ids.shape[0])
        key = keys.ravel()
        m = np.tile(ids * 2**31 + lab, n_hashes)
        del got, keys
        yield from part_batches(K.summary_parts(j, key, n_parts), n_parts,
                                 lambda sel: K.pack_rows((j[sel], key[sel], m[sel])), kind=1)
    return run


def _table_blobs_task(n_parts):
    """Rows ``(part, kind=0, blob)``: mixed buckets ``(j, key, m)``, by part."""
    def run(batches):
        cols = [[], [], []]
        for b in batches:
            if b.num_rows:
                cols[0].append(vector(b.column("j"), np.int32))
                cols[1].append(vector(b.column("key"), np.int64))
                cols[2].append(vector(b.column("m"), np.int64))
        if not cols[0]:
            return
        j, key, m = (np.concatenate(c) for c in cols)
        yield from part_batches(K.summary_parts(j, key, n_parts), n_parts,
                                 lambda sel: K.pack_rows((j[sel], key[sel], m[sel])), kind=0)
    return run


def _joined_candidates_task():
    """Rows ``(j, p, lab_p, q, lab_q)``: the points' keys (kind 1) joined with the mixed buckets
    (kind 0) of the same parts, as :func:`_kernels.bucket_candidates` pairs them."""
    def run(batches):
        import pyarrow as pa

        maybe_fail("bucket")
        rows = ([], [])
        for kind, blob in blobs(batches):
            rows[kind].append(K.unpack_rows(blob, K._KEYED))
        if not rows[0] or not rows[1]:
            return
        tj, tkey, tm = (np.concatenate(c) for c in zip(*rows[0]))
        j, key, m = (np.concatenate(c) for c in zip(*rows[1]))
        del rows
        order = np.lexsort((tkey, tj))
        tj, tkey, tm = tj[order], tkey[order], tm[order]
        by_j = np.argsort(j, kind="stable")
        t = int(max(tj.max(), j.max())) + 1
        tstart = np.searchsorted(tj, np.arange(t + 1))
        pstart = np.searchsorted(j[by_j], np.arange(t + 1))
        for h in range(t):
            if tstart[h] == tstart[h + 1] or pstart[h] == pstart[h + 1]:
                continue
            sel = by_j[pstart[h]:pstart[h + 1]]
            lab = m[sel] & (2**31 - 1)
            tab = slice(tstart[h], tstart[h + 1])
            _, row, q, lab_q = K.bucket_candidates(np.ascontiguousarray(key[sel])[None, :], lab,
                                                   np.array([0, tstart[h + 1] - tstart[h]]), tkey[tab],
                                                   tm[tab] >> 31, tm[tab] & (2**31 - 1))
            if row.shape[0]:
                yield pa.RecordBatch.from_arrays(
                    [pa.array(np.full(row.shape[0], h, np.int32)), pa.array(m[sel][row] >> 31), pa.array(lab[row]),
                     pa.array(q), pa.array(lab_q)], names=["j", "p", "lab_p", "q", "lab_q"])
    return run


def _bucket_candidates_task(hashing, table):
    """Rows ``(j, p, lab_p, q, lab_q, xp)``: the candidate edges of the task's points into
    the mixed buckets of ``table`` (``starts, key, q, lab_q``, sorted by ``(j, key)``), with
    the point ``p`` itself (so that only ``q`` is joined before the distance check)."""
    starts, bkey, bq, blab = table

    def run(batches):
        import pyarrow as pa

        for b, ids, lab, keys in _keyed_batches(batches, hashing):
            j, row, q, lab_q = K.bucket_candidates(keys, lab, starts, bkey, bq, blab)
            if j.shape[0]:
                yield pa.RecordBatch.from_arrays(
                    [pa.array(j), pa.array(ids[row]), pa.array(lab[row]), pa.array(q), pa.array(lab_q),
                     b.column(1).take(pa.array(row))], names=["j", "p", "lab_p", "q", "lab_q", "xp"])
    return run


def _verify_task(mean, A, thr2, d):
    def run(batches):
        import pyarrow as pa

        for b, Yp, Yq in _edge_ends(batches, d, mean, A):
            ok = sq_dist_rows(Yp, Yq) < thr2
            if not ok.any():
                continue
            yield pa.RecordBatch.from_arrays(
                [pa.array(vector(b.column(n))[ok]) for n in ("j", "p", "q", "lab_p", "lab_q")],
                names=["j", "p", "q", "lab_p", "lab_q"])
    return run


def _merging_task(batches):
    """One scale's accepted edges ``(lab_p, lab_q, j, p)``, all in one task -> one row per merging
    component ``(c, group, kj, kp, kside)``: its new component (Algorithm 2, the smallest label)
    and the key of its first encounter (which orders the children of the new vertex)."""
    import pyarrow as pa

    cols = [[], [], [], []]
    for b in batches:
        for c in range(4):
            cols[c].append(vector(b.column(c), np.int64))
    if not cols[0]:
        return
    lab_p, lab_q, j, p = (np.concatenate(c) for c in cols)
    verts, root = K.components_in_task(lab_p, lab_q, 0)
    kj, kp, ks = K.first_encounter(verts, lab_p, lab_q, j, p)
    yield pa.RecordBatch.from_arrays(
        [pa.array(verts), pa.array(root), pa.array(kj.astype(np.int32)), pa.array(kp), pa.array(ks.astype(np.int32))],
        names=["c", "group", "kj", "kp", "kside"])


def _binarise_task(scale_seq, n_leaves, scale_value, d):
    def run(batches):
        import pyarrow as pa

        maybe_fail("tree")
        cols = {k: [] for k in ("group", "lab", "node", "W", "cnt", "sse", "mean")}
        for b in batches:
            if b.num_rows == 0:
                continue
            for k in ("group", "lab", "node", "W", "cnt", "sse"):
                cols[k].append(vector(b.column(k)))
            cols["mean"].append(matrix(b.column("mean"), d))
        if not cols["group"]:
            return
        c = {k: np.concatenate(v) for k, v in cols.items()}
        # rows arrive sorted by (group, first-encounter key) within the partition
        node, left, right, W, cnt, sse, means, pos, grp = K.binarise_groups(
            c["group"].astype(np.int64), c["lab"].astype(np.int64), c["node"].astype(np.int64),
            c["W"].astype(np.float64), c["cnt"].astype(np.float64), np.ascontiguousarray(c["mean"]),
            c["sse"].astype(np.float64), np.full(c["group"].shape[0], scale_seq, np.int64), n_leaves)
        yield pa.RecordBatch.from_arrays(
            [pa.array(node), pa.array(left), pa.array(right), pa.array(cnt.astype(np.int64)), pa.array(W),
             pa.array(sse), list_column(means), pa.array(np.full(node.shape[0], scale_value)),
             pa.array(pos != 1), pa.array(pos), pa.array(grp)],
            names=["node", "left", "right", "size", "W", "cost", "mean", "scale", "auxiliary", "pos", "grp"])
    return run


@dataclass
class TreeJob:
    """What a Spark tree builder works on: the session, the id-numbered points and the fit's settings."""

    spark: object
    points: object            # DataFrame (id, x, w), hash-partitioned by id, persisted
    n: int                    # distinct points (ids 0 .. n-1)
    d: int
    mean: np.ndarray          # the exactly summed mean the hashed points are centred on
    A: np.ndarray | None      # Johnson-Lindenstrauss projection (d x d'), or None
    params: object            # TreeParams
    rng: np.random.Generator
    meter: object             # SparkMeter
    workdir: str              # Parquet of tree vertices goes here
    num_partitions: int
    progress: object = None


class _TreeBuilder:
    def __init__(self, job: TreeJob, local_cc_max_edges: int):
        self.spark, self.points, self.n, self.d = job.spark, job.points, job.n, job.d
        self.mean, self.A, self.params, self.rng = job.mean, job.A, job.params, job.rng
        self.meter, self.workdir, self.P, self.progress = job.meter, job.workdir, job.num_partitions, job.progress
        self.local_cc_max_edges = local_cc_max_edges
        self._to_unpersist = []

    # ----------------------------------------------------------- one scale's edges

    def _accepted_edges(self, labels, D, offsets, n_hashes):
        """Accepted edges ``(j, p, q, lab_p, lab_q)`` of one scale (Algorithm 1 with the distance check),
        or None when no bucket holds two components (no candidate edge: the scale merges nothing)."""
        from pyspark.sql import Window
        from pyspark.sql import functions as F

        params = self.params
        inv_width = 1.0 / (D * params.bucket_width)
        thr = params.edge_factor * D
        # labels is partitioned as the points (by id, P parts): a join without a shuffle
        src = self.points.select("id", "x").join(labels, "id")
        hashing = (self.mean, self.A, self.V, offsets, inv_width, n_hashes, params.n_projections, self.d)
        if self.n < 2**31:
            cand = self._candidates_by_aggregate(src, hashing)
            if cand is None:
                return None
        else:  # (id, lab) does not pack into one long: one sort-based window instead
            self.meter.round("bucket")
            self.info["bucket_passes"] += 1
            keys = src.mapInArrow(_keys_task(hashing), "j int, key long, id long, lab long")
            w = Window.partitionBy("j", "key")
            cand = (keys.withColumn("m", F.min(F.struct("id", "lab")).over(w))
                    .where((F.col("m.id") != F.col("id")) & (F.col("m.lab") != F.col("lab")))
                    .select("j", F.col("id").alias("p"), F.col("lab").alias("lab_p"),
                            F.col("m.id").alias("q"), F.col("m.lab").alias("lab_q")))
        if "xp" not in cand.columns:
            xp = self.points.select(F.col("id").alias("p"), F.col("x").alias("xp"))
            cand = cand.join(xp, "p")
            self.meter.round("verify")
        xq = self.points.select(F.col("id").alias("q"), F.col("x").alias("xq"))
        self.meter.round("verify")
        return cand.join(xq, "q").mapInArrow(
            _verify_task(self.mean, self.A, thr * thr, self.d),
            "j int, p long, q long, lab_p long, lab_q long")

    def _candidates_by_aggregate(self, src, hashing):
        """Candidate edges (p, partner) between different components, in two aggregating rounds.

        Round 1 summarises each bucket as (smallest id with its component, least
        and largest component): every task first reduces its own points per
        bucket (:func:`_kernels.bucket_summary`) and ships the rows packed by
        part of the bucket space; one task per part combines them
        (:func:`_kernels.mixed_buckets`). So a coarse scale's large buckets cross
        the shuffle as one row per bucket and task instead of one per point, and
        no step handles one Spark row per bucket. Round 2 pairs the points with
        the buckets that hold more than one component, the only ones that can
        yield an edge the local engine would check: when there are at most
        ``_BROADCAST_BUCKETS`` of them, they are shipped to the hashing tasks,
        which emit only the candidate edges (:func:`_kernels.bucket_candidates`);
        else every point's keys are packed by part as well and meet the part's
        mixed buckets in one task. Returns None when no bucket is mixed.
        """
        n_parts = 4 * self.P  # several parts per task even out the parts' sizes
        summary = src.mapInArrow(_bucket_summary_task(hashing, n_parts), "part int, blob binary")
        buckets = (summary.repartition(self.P, "part")
                   .mapInArrow(_mixed_buckets_task(), "j int, key long, m long")
                   .persist())
        self._to_unpersist.append(buckets)
        self.meter.round("bucket")
        self.info["bucket_passes"] += 1
        n_mixed = buckets.count()
        if n_mixed == 0:  # no candidate edge: skip the second pass over the points
            return None
        if n_mixed <= _BROADCAST_BUCKETS:
            t = buckets.toArrow()
            j = vector(t.column("j"), np.int64)
            key = vector(t.column("key"), np.int64)
            order = np.lexsort((key, j))
            m = vector(t.column("m"), np.int64)[order]
            table = (np.searchsorted(j[order], np.arange(hashing[5] + 1)), np.ascontiguousarray(key[order]),
                     m >> 31, m & (2**31 - 1))
            del t, j, key, m
            return src.mapInArrow(_bucket_candidates_task(hashing, table),
                                  "j int, p long, lab_p long, q long, lab_q long, xp array<double>")
        # else the points' keys meet the mixed buckets of the same part in one task (no driver)
        self.meter.round("bucket")
        self.info["scales_buckets_joined"] += 1
        blob = "part int, kind int, blob binary"
        keyed = src.mapInArrow(_keyed_blobs_task(hashing, n_parts), blob)
        table = buckets.mapInArrow(_table_blobs_task(n_parts), blob)
        return (keyed.unionByName(table).repartition(self.P, "part")
                .mapInArrow(_joined_candidates_task(), "j int, p long, lab_p long, q long, lab_q long"))

    # ----------------------------------------------------------- Algorithms 3-4 for one scale

    def _emit(self, children, scale_seq, scale_value):
        """children: (group, key struct, lab, node, W, cnt, mean, sse) -> new vertex rows."""
        rows = (children.repartition(self.P, "group")
                .sortWithinPartitions("group", "kj", "kp", "kside")
                .mapInArrow(_binarise_task(scale_seq, self.n, scale_value, self.d),
                            _NODE_SCHEMA + ", pos long, grp long"))
        self.meter.round("tree")
        return rows.persist()

    # ----------------------------------------------------------- the sweep

    def build(self) -> SparkTree:
        from pyspark.sql import functions as F

        params, rng, n = self.params, self.rng, self.n
        dd = self.A.shape[1] if self.A is not None else self.d
        t, m = params.n_hashes, params.n_projections
        lsh = draw_pstable(dd, t, m, params.bucket_width, rng)
        self.V = lsh.directions
        info = {"n_scales": 0, "edges_checked": None, "edges_accepted": 0, "forced_root": False,
                "components_rounds": 0, "scales_buckets_joined": 0, "bucket_passes": 0}
        self.info = info
        nodes_dir = os.path.join(self.workdir, "nodes")

        _write_leaves(self.points, nodes_dir)
        if n == 1:
            return SparkTree(nodes_dir, 1, 1, 0, info)

        # Appendix C.7 bounds, as build_hierarchy computes them
        far2, min_lb = self._extent_bounds(dd)
        diameter_ub = 2.0 * float(np.sqrt(far2))
        if not min_lb > 0:
            min_lb = diameter_ub * 1e-12
        ef, ratio = params.edge_factor, params.scale_ratio
        d0 = min_lb / ef
        d_stop = 2.0 * max(diameter_ub, diameter_ub / ef)
        info.update(diameter_upper_bound=diameter_ub, min_distance_lower_bound=min_lb)
        seed_base = int(rng.integers(2**63 - 1))

        def offsets_for(i):
            return scale_offsets(seed_base, i, t, m)

        ids_as_labels = self.points.select("id", F.col("id").alias("lab"))
        def probe(i):  # as build_hierarchy's dry runs: the first 4 hash functions, any accepted edge
            acc = self._accepted_edges(ids_as_labels, d0 * ratio**i, offsets_for(i), min(t, 4))
            found = acc is not None and not acc.isEmpty()
            self._release()
            return found

        i = first_sweep_scale(probe, d0, ratio, d_stop)
        info["first_scale"] = float(d0 * ratio**i)

        # every point's component, partitioned as the points (by id), so that each scale's join with
        # the points needs no shuffle
        labels = checkpoint_partitioned(ids_as_labels)
        comps = self.points.select(F.col("id").alias("lab"), F.col("id").alias("node"), F.col("w").alias("W"),
                                   F.lit(1.0).alias("cnt"), F.col("x").alias("mean"), F.lit(0.0).alias("sse")).localCheckpoint()
        n_components = n
        n_nodes = n
        seq = 0
        info["scales_skipped"] = 0
        bound_tried = False  # a separation bound was computed for the current components
        while n_components > 1 and d0 * ratio**i < d_stop:
            D = d0 * ratio**i
            acc = self._accepted_edges(labels, D, offsets_for(i), t)
            n_acc = 0
            if acc is not None:
                acc = acc.persist()
                n_acc = acc.count()
            self._release()
            info["n_scales"] += 1
            i += 1
            if n_acc == 0:
                if acc is not None:
                    acc.unpersist()
                if not bound_tried and n_components <= SKIP_MAX_COMPONENTS:
                    # as build_hierarchy: scales whose threshold c*D is below a lower bound
                    # on every cross-component distance would reject every edge
                    bound_tried = True
                    sep = self._separation_bound(labels)
                    while ef * d0 * ratio**i * (1.0 + 1e-9) < sep and d0 * ratio**i < d_stop:
                        i += 1
                        info["n_scales"] += 1
                        info["scales_skipped"] += 1
                continue
            bound_tried = False
            seq += 1
            info["edges_accepted"] += n_acc
            # merging: (c, group, kj, kp, kside) per merging component c: its new component and
            # the key (j, p, side) of its first encounter, which orders the group's children
            if n_acc <= self.local_cc_max_edges:  # one task: components and first encounters together
                merging = (acc.select("lab_p", "lab_q", "j", "p").repartition(1)
                           .mapInArrow(_merging_task, "c long, group long, kj int, kp long, kside int").persist())
                mapping = merging.select(F.col("c").alias("u"), F.col("group").alias("root"))
                self.meter.round("components")
                cc_rounds = 1
            else:  # contracted in rounds until the rest fits one task (no edge reaches the driver)
                merging, cc_rounds = merging_components(acc.select("lab_p", "lab_q", "j", "p"), self.P,
                                                        self.local_cc_max_edges, self.meter,
                                                        progress=self.progress)
                mapping = merging.select(F.col("c").alias("u"), F.col("group").alias("root"))
            info["components_rounds"] = max(info["components_rounds"], cc_rounds)
            # the merging components number at most 2 n_acc: up to _BROADCAST_MERGES of them are
            # broadcast to the tasks holding the components (and the points) instead of shuffling those
            few = 2 * n_acc <= _BROADCAST_MERGES
            children = (F.broadcast(merging) if few else merging).join(comps, F.col("c") == comps.lab).drop("c")
            self.meter.round("tree")
            rows = self._emit(children, seq, D)
            n_new = rows.count()
            rows.drop("pos", "grp").write.mode("append").parquet(nodes_dir)
            n_nodes += n_new
            new_comps = rows.where(F.col("pos") == 1).select(
                F.col("grp").alias("lab"), "node", "W", F.col("size").cast("double").alias("cnt"), "mean",
                F.col("cost").alias("sse"))
            touched = mapping.select(F.col("u").alias("lab"))
            moved = mapping
            if few:
                touched, moved = F.broadcast(touched), F.broadcast(mapping)
            # coalesce: each union adds the new vertices' partitions
            comps = comps.join(touched, "lab", "left_anti").unionByName(new_comps).coalesce(self.P).localCheckpoint()
            relabelled = (labels.join(moved, labels.lab == moved.u, "left")
                          .select("id", F.coalesce("root", "lab").alias("lab")))
            if not few:  # a shuffle join by label: back to the points' partitioning
                relabelled = relabelled.repartition(self.P, "id")
            labels = checkpoint_partitioned(relabelled)
            self.meter.round("relabel", 1 if few else 2)
            n_components -= n_new
            for df in (acc, merging, mapping, rows):
                df.unpersist()
            if self.progress is not None:
                self.progress.update(f"spark tree: scale {info['n_scales']} (D={D:.3g}), {n_components} components")
        self._release()  # whatever the last scale or separation bound persisted
        if n_components > 1:
            # Lemma 3.7's root P: join what no scale joined, children in order of their smallest point
            info["forced_root"] = True
            seq += 1
            children = comps.select(F.lit(-1).cast("long").alias("group"), F.col("lab").alias("kj"),
                                    F.lit(0).cast("long").alias("kp"), F.lit(0).alias("kside"), "*")
            rows = self._emit(children, seq, float("inf"))
            n_nodes += rows.count()
            rows.drop("pos", "grp").write.mode("append").parquet(nodes_dir)
        info["last_scale"] = float(d0 * ratio ** (i - 1))
        root = self._root(nodes_dir)
        return SparkTree(nodes_dir, n, n_nodes, root, info)

    def _separation_bound(self, labels, pairs_per_pass=64, max_passes=4):
        """A lower bound on the distance between points of different components (at most 512 of them).

        The Spark form of :func:`bigclust.lshtree._kernels.separation.separation_lower_bound`: one
        aggregation for the component means ``m_A``, one for the radii ``r_A``
        (largest ``|y - m_A|``), then the sphere bound ``|m_A - m_B| - r_A - r_B``
        of every pair on the driver (``C <= 512`` components, ``O(C d)`` numbers,
        :func:`~bigclust.lshtree._kernels.separation.sphere_bounds`),
        and slab bounds ``min_B u.(q - m_A) - max_A u.(p - m_A)`` (``u`` the unit
        vector from ``m_A`` to ``m_B``) for the pairs in increasing sphere bound, up
        to ``pairs_per_pass`` pairs per aggregation, while a pair's sphere bound is
        below the best bound so far. After ``max_passes`` passes the bound is the
        best so far or the next pair's sphere bound, whichever is smaller, which
        is still a lower bound. Both bounds hold for any centre vectors, so the
        order in which Spark sums the means does not matter; the same relative
        ``1e-9`` margins as the local engine cover rounding.
        """
        from pyspark.sql import functions as F
        import pyarrow as pa

        d, mean, A = self.d, self.mean, self.A
        dd = A.shape[1] if A is not None else d
        # read by every pass below: join once (released with the next scale's edges)
        src = self.points.select("id", "x").join(labels, "id").select("lab", "x").persist()
        self._to_unpersist.append(src)

        def partial_sums(batches):
            for lab, Y in _points_of(batches, d, mean, A):
                u, inv = np.unique(lab, return_inverse=True)
                S = np.zeros((u.shape[0], Y.shape[1]))
                np.add.at(S, inv, Y)
                yield pa.RecordBatch.from_arrays(
                    [pa.array(u), pa.array(np.bincount(inv).astype(np.int64)), list_column(S)], names=["lab", "cnt", "s"])

        def add_up(batches):
            labs, cnts, sums = [], [], []
            for b in batches:
                if b.num_rows == 0:
                    continue
                labs.append(vector(b.column(0), np.int64))
                cnts.append(vector(b.column(1), np.int64))
                sums.append(matrix(b.column(2), dd))
            if not labs:
                return
            lab = np.concatenate(labs)
            u, inv = np.unique(lab, return_inverse=True)
            S = np.zeros((u.shape[0], sums[0].shape[1]))
            np.add.at(S, inv, np.concatenate(sums))
            cnt = np.bincount(inv, weights=np.concatenate(cnts))
            yield pa.RecordBatch.from_arrays([pa.array(u), list_column(S / cnt[:, None])], names=["lab", "m"])

        rows = (src.mapInArrow(partial_sums, "lab long, cnt long, s array<double>")
                .repartition(self.P, "lab").mapInArrow(add_up, "lab long, m array<double>").collect())
        if len(rows) < 2:
            return np.inf
        rows.sort(key=lambda r: r["lab"])
        labs = np.array([r["lab"] for r in rows], np.int64)
        mu = np.array([r["m"] for r in rows], np.float64)
        C = labs.shape[0]

        def radii(batches):
            for lab, Y in _points_of(batches, d, mean, A):
                c = np.searchsorted(labs, lab)
                r2 = ((Y - mu[c]) ** 2).sum(axis=1)
                out = np.zeros(C)
                np.maximum.at(out, c, r2)
                keep = np.flatnonzero(np.bincount(c, minlength=C))
                yield pa.RecordBatch.from_arrays([pa.array(keep), pa.array(out[keep])], names=["c", "r2"])

        rad = np.zeros(C)
        for r in src.mapInArrow(radii, "c long, r2 double").groupBy("c").agg(F.max("r2").alias("r2")).collect():
            rad[r["c"]] = np.sqrt(r["r2"])
        a_idx, b_idx, dist, sphere, order = sphere_bounds(mu, rad)
        self.meter.round("skip: separation bound", 3)

        def slabs(pa_, pb_, U):
            def run(batches):
                for lab, Y in _points_of(batches, d, mean, A):
                    c = np.searchsorted(labs, lab)
                    by_c = np.argsort(c, kind="stable")
                    first = np.searchsorted(c[by_c], np.arange(C + 1))
                    for t in range(pa_.shape[0]):
                        ya = Y[by_c[first[pa_[t]]:first[pa_[t] + 1]]]
                        yb = Y[by_c[first[pb_[t]]:first[pb_[t] + 1]]]
                        hi = float(((ya - mu[pa_[t]]) @ U[t]).max()) if ya.shape[0] else -np.inf
                        lo = float(((yb - mu[pa_[t]]) @ U[t]).min()) if yb.shape[0] else np.inf
                        if ya.shape[0] or yb.shape[0]:
                            yield pa.RecordBatch.from_arrays([pa.array([t]), pa.array([hi]), pa.array([lo])],
                                                             names=["t", "hi", "lo"])
            return run

        best = np.inf
        pos = 0
        for _ in range(max_passes):
            batch = []
            while pos < order.shape[0] and len(batch) < pairs_per_pass and sphere[order[pos]] < best:
                batch.append(order[pos])
                pos += 1
            if not batch:
                return float(best)
            batch = np.array(batch)
            pa_, pb_, dist_b = a_idx[batch], b_idx[batch], dist[batch]
            U = (mu[pb_] - mu[pa_]) / np.where(dist_b > 0, dist_b, 1.0)[:, None]
            ext = {r["t"]: (r["hi"], r["lo"]) for r in src.mapInArrow(slabs(pa_, pb_, U), "t long, hi double, lo double")
                   .groupBy("t").agg(F.max("hi").alias("hi"), F.min("lo").alias("lo")).collect()}
            self.meter.round("skip: separation bound")
            for t, k in enumerate(batch):
                bound = sphere[k]
                if dist_b[t] > 0:
                    hi, lo = ext[t]
                    slab = slab_bound(hi, lo, rad[pa_[t]], rad[pb_[t]], dist_b[t])
                    bound = max(bound, slab)
                best = min(best, bound)
        if pos < order.shape[0]:
            best = min(best, sphere[order[pos]])  # every pair not examined has a bound >= its sphere bound
        return float(best)

    def _release(self):
        for df in self._to_unpersist:
            df.unpersist()
        self._to_unpersist = []

    def _root(self, nodes_dir):
        from pyspark.sql import functions as F

        nodes = self.spark.read.parquet(nodes_dir)
        return int(nodes.where(F.col("size") == self.n).agg(F.max("node")).first()[0]) if self.n > 1 else 0

    def _extent_bounds(self, dd):
        """(max |y - y_0|^2, closest-pair lower bound), as ``build_hierarchy`` and
        ``_min_distance_lower_bound`` compute them (same random directions)."""
        from pyspark.sql import functions as F
        import pyarrow as pa

        d, mean, A = self.d, self.mean, self.A
        x0 = np.asarray(self.points.where(F.col("id") == 0).select("x").first()[0], dtype=np.float64)
        y0 = _hash_input(x0[None, :], mean, A)[0]
        gs = []
        for _ in range(4):
            g = self.rng.standard_normal(dd)
            gs.append(g / np.linalg.norm(g))
        G = np.stack(gs, axis=1)

        def proj(batches):
            for b in batches:
                if b.num_rows == 0:
                    continue
                Y = _hash_input(matrix(b.column(1), d), mean, A)
                far = ((Y - y0) ** 2).sum(axis=1)
                P = np.stack([Y @ G[:, c] for c in range(4)], axis=1)
                yield pa.RecordBatch.from_arrays([pa.array(far)] + [pa.array(P[:, c]) for c in range(4)],
                                                 names=["far", "g0", "g1", "g2", "g3"])

        pr = self.points.select("id", "x").mapInArrow(proj, "far double, g0 double, g1 double, g2 double, g3 double")
        pr = pr.localCheckpoint()
        far2 = float(pr.agg(F.max("far")).first()[0])
        best = 0.0
        for c in range(4):
            best = max(best, self._min_gap(pr.select(F.col(f"g{c}").alias("v"))))
        self.meter.round("extent", 5)
        return far2, best

    def _min_gap(self, vals):
        """Smallest gap between adjacent values after a distributed sort (Appendix C.7)."""
        import pyarrow as pa

        def gaps(batches):
            vs = [vector(b.column(0), np.float64) for b in batches if b.num_rows]
            if not vs:
                return
            v = np.concatenate(vs)  # this partition's range, sorted by Spark
            g = np.diff(v).min() if v.shape[0] > 1 else np.inf
            yield pa.RecordBatch.from_arrays([pa.array([g]), pa.array([v[0]]), pa.array([v[-1]])],
                                             names=["gap", "lo", "hi"])

        parts = vals.orderBy("v").mapInArrow(gaps, "gap double, lo double, hi double").collect()
        # partitions of a range-partitioned sort are ordered; combine their boundaries
        parts = sorted(parts, key=lambda r: r["lo"])
        best = min(r["gap"] for r in parts)
        for a, b in zip(parts, parts[1:]):
            best = min(best, b["lo"] - a["hi"])
        return float(best) if np.isfinite(best) else 0.0


def build_hierarchy_spark(job: TreeJob, local_cc_max_edges: int) -> SparkTree:
    """The binarised candidate-cluster tree (Algorithms 1-4) of the job's points, on Spark
    (the distributed twin of :func:`bigclust.lshtree.hierarchy.build_hierarchy`)."""
    return _TreeBuilder(job, local_cc_max_edges).build()
