"""Algorithm 2's connected components for edge lists too large for one task.

One scale's accepted edges join components (labels) of the previous scale;
the new components, each labelled by its smallest old label, and every merging
label's first encounter (the least key ``(j, p, side)`` of its edges, which
orders the children of the new vertex) are what the tree needs
(:func:`merging_components`). The edges stay distributed, packed as binary
blobs by part of the vertex space (as the bucket summaries of
:mod:`bigclust.lshtree._spark._tree`: Spark's cost per row dominated when every edge
was a Spark row), and the graph is contracted until it fits one task:

contraction (3 rounds)
    every edge is stored in both directions at the part of its first vertex.
    (1) Each task finds the connected components of its own edges by
    union-find: every vertex of its parts lies in one local component with its
    whole neighbourhood. It sends ``(x, r)``, ``r`` the least vertex of ``x``'s
    local component, to ``x``'s part. (2) There ``T(x)`` is the least ``r``
    received; each edge ``(a, b)`` becomes ``(b, T(a))`` at ``b``'s part, and
    each label's current vertex ``cur`` becomes ``T(cur)``. (3) ``(b, T(a))``
    becomes ``(T(b), T(a))``, self-loops and duplicates dropped.
    ``x`` and ``T(x)`` are connected, so the contracted graph has the same
    components (of the renamed vertices); and the largest vertex of every
    component is in no other vertex's image, so every contraction removes at
    least one vertex per component. Vertices are compared by a fixed random
    bijection of their labels (:func:`_priority`), not by the labels, so that
    sorted chains (ids that follow the data order) shrink as fast as random
    ones: at least by half per contraction in practice.
finish (4 rounds)
    once at most ``local_max_edges`` edges are left, one task finds their
    components by union-find; every label's current vertex is looked up; each
    new component takes its smallest label (Algorithm 2); and the labels meet
    their first encounters, reduced per task before the shuffle.

The driver holds only counts: no edge, vertex or label reaches it.
"""

from __future__ import annotations

import numpy as np

from . import _kernels as K
from ._arrow import blobs, part_batches, vector
from ._faults import maybe_fail

# blob kinds: what a (part, kind, blob) row's packed columns are
_EDGE = 0    # (a, b): an edge at a's part (every edge is stored in both directions)
_HOOK = 1    # (x, r): the least vertex of a local component holding x, at x's part
_LABEL = 2   # (c, cur): label c's current vertex, at cur's part
_TABLE = 3   # (x, T(x)) at x's part
_HALF = 4    # (b, T(a)): an edge (a, b) with a renamed, at b's part
_FIRST = 5   # (c, kj, kp, kside): a task's least first-encounter key of label c, at c's part
_GROUP = 6   # (c, group): label c's new component (its smallest label), at c's part
_BLOB = "part int, kind int, blob binary"
_PAIR = (np.int64, np.int64)
_FIRST_ROW = (np.int64, np.int64, np.int64, np.int64)
_NO_TABLE = (np.empty(0, np.int64), np.empty(0, np.int64))

_MIX = (0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9)  # odd, so multiplying by them is a bijection mod 2^64
_UNMIX = tuple(pow(c, -1, 2**64) for c in _MIX)


def _priority(x: np.ndarray) -> np.ndarray:
    """A fixed bijection of int64 labels that orders them as at random (``_label`` inverts it)."""
    y = x.view(np.uint64) * np.uint64(_MIX[0])
    y ^= y >> np.uint64(32)
    return (y * np.uint64(_MIX[1])).view(np.int64)


def _label(v: np.ndarray) -> np.ndarray:
    """The label of priority-space vertices ``v`` (the inverse of :func:`_priority`)."""
    y = v.view(np.uint64) * np.uint64(_UNMIX[1])
    y ^= y >> np.uint64(32)  # a shift by half the width undoes itself
    return (y * np.uint64(_UNMIX[0])).view(np.int64)


def _parts(x: np.ndarray, n_parts: int) -> np.ndarray:
    return K.summary_parts(np.zeros(x.shape[0], np.int32), x, n_parts)


def _sorted_runs(*cols):
    """``cols`` sorted lexicographically (the first column most significant) and a mask of the
    rows that start a run of equal first columns."""
    order = np.lexsort(cols[::-1])
    cols = [c[order] for c in cols]
    start = np.ones(cols[0].shape[0], bool)
    start[1:] = cols[0][1:] != cols[0][:-1]
    return cols, start


def _least_per_key(x: np.ndarray, *vals: np.ndarray):
    """Sorted distinct ``x`` and, for each, its lexicographically least row of ``vals``."""
    cols, start = _sorted_runs(x, *vals)
    return tuple(c[start] for c in cols)


def _unique_pairs(a: np.ndarray, b: np.ndarray):
    """The distinct pairs ``(a, b)``, sorted."""
    (a, b), start = _sorted_runs(a, b)
    start[1:] |= b[1:] != b[:-1]
    return a[start], b[start]


def _emit(kind, n_parts, key, cols):
    """Blob rows of kind ``kind``: the rows ``cols`` packed by the part of ``key``."""
    yield from part_batches(_parts(key, n_parts), n_parts, lambda s: K.pack_rows([c[s] for c in cols]), kind=kind)


def _gather(batches):
    """``{kind: [column arrays]}`` of all blob rows in the task (columns concatenated)."""
    got = {}
    for kind, blob in blobs(batches):
        got.setdefault(kind, []).append(K.unpack_rows(blob, _FIRST_ROW if kind == _FIRST else _PAIR))
    return {kind: [np.concatenate(c) for c in zip(*parts)] for kind, parts in got.items()}


def _edges_task(n_parts):
    """Accepted edges ``(lab_p, lab_q, j, p)`` -> the edges in both directions in priority space and
    every label's least first-encounter key among this task's edges (:func:`_kernels.first_encounter`)."""
    def run(batches):
        cols = [[], [], [], []]
        for b in batches:
            if b.num_rows:
                for c, name in enumerate(("lab_p", "lab_q", "j", "p")):
                    cols[c].append(vector(b.column(name), np.int64))
        if not cols[0]:
            return
        lab_p, lab_q, j, p = (np.concatenate(c) for c in cols)
        verts = np.unique(np.concatenate([lab_p, lab_q]))
        kj, kp, ks = K.first_encounter(verts, lab_p, lab_q, j, p)
        yield from _emit(_FIRST, n_parts, verts, (verts, kj, kp, ks))
        u, v = _priority(lab_p), _priority(lab_q)
        a, b = _unique_pairs(np.concatenate([u, v]), np.concatenate([v, u]))
        yield from _emit(_EDGE, n_parts, a, (a, b))
    return run


def _hook_task(n_parts):
    """(1) of a contraction: each local component's least vertex to its vertices' parts; the edges go on."""
    def run(batches):
        maybe_fail("components")
        got = _gather(batches).get(_EDGE)
        if got is None:
            return
        a, b = _unique_pairs(*got)
        verts, root = K.components_in_task(a, b, 0)
        yield from _emit(_HOOK, n_parts, verts, (verts, root))
        yield from _emit(_EDGE, n_parts, a, (a, b))
    return run


def _renamed(table, cur, every=False):
    """``T(cur)`` where ``cur`` is in the table ``(xs, t)`` (``xs`` sorted, distinct), else ``cur``.

    ``every``: each ``cur`` must be in the table (an edge's vertex always is: its part's
    task hooked it); a miss would silently cut the graph, so it raises.
    """
    xs, t = table
    if xs.shape[0] == 0:
        hit, renamed = np.zeros(cur.shape[0], bool), cur
    else:
        at = np.minimum(np.searchsorted(xs, cur), xs.shape[0] - 1)
        hit = xs[at] == cur
        renamed = np.where(hit, t[at], cur)
    if every and not hit.all():
        raise AssertionError("components: an edge's vertex is missing from its part's table")
    return renamed


def _contract_task(n_parts, first, last=False):
    """(2) of a contraction: ``T`` from the hooks; edges ``(a, b)`` -> ``(b, T(a))``, labels'
    current vertices renamed (on the first contraction every vertex is one label's; after the
    last one no table is needed)."""
    def run(batches):
        got = _gather(batches)
        if _HOOK in got:
            table = _least_per_key(*got[_HOOK])
            if not last:
                yield from _emit(_TABLE, n_parts, table[0], table)
            if first:
                yield from _emit(_LABEL, n_parts, table[1], (_label(table[0]), table[1]))
        else:
            table = _NO_TABLE
        if _EDGE in got:
            a, b = got[_EDGE]
            b, ta = _unique_pairs(b, _renamed(table, a, every=True))
            yield from _emit(_HALF, n_parts, b, (b, ta))
        if _LABEL in got:
            c, cur = got[_LABEL]
            cur = _renamed(table, cur)
            yield from _emit(_LABEL, n_parts, cur, (c, cur))
    return run


def _relabel_task(n_parts):
    """(3) of a contraction: ``(b, T(a))`` -> ``(T(b), T(a))``, without self-loops and duplicates."""
    def run(batches):
        got = _gather(batches)
        if _HALF not in got:
            return
        table = _least_per_key(*got[_TABLE]) if _TABLE in got else _NO_TABLE  # sorted
        b, ta = got[_HALF]
        tb = _renamed(table, b, every=True)
        keep = tb != ta
        a, b = _unique_pairs(tb[keep], ta[keep])
        yield from _emit(_EDGE, n_parts, a, (a, b))
    return run


def _last_components_task(n_parts):
    """All the remaining edges in one task -> ``(x, root)`` for their vertices (as hooks: each
    vertex's component is whole here)."""
    def run(batches):
        got = _gather(batches).get(_EDGE)
        if got is None:
            return
        verts, root = K.components_in_task(*got, 0)
        yield from _emit(_HOOK, n_parts, verts, (verts, root))
    return run


def _groups_task(n_parts):
    """Labels at their final vertex -> ``(c, group)``: group = the smallest label with that vertex."""
    def run(batches):
        got = _gather(batches).get(_LABEL)
        if got is None:
            return
        (cur, c), start = _sorted_runs(got[1], got[0])
        group = c[np.flatnonzero(start)[np.cumsum(start) - 1]]  # each run's first (smallest) label
        yield from _emit(_GROUP, n_parts, c, (c, group))
    return run


def _merging_rows_task():
    """Labels' groups and first-encounter keys (least over the tasks') -> ``(c, group, kj, kp, kside)``."""
    def run(batches):
        import pyarrow as pa

        maybe_fail("components")
        got = _gather(batches)
        if _GROUP not in got:
            return
        c, kj, kp, ks = _least_per_key(*got[_FIRST])
        gc, group = got[_GROUP]
        group = group[np.argsort(gc)]
        if not np.array_equal(np.sort(gc), c):
            raise AssertionError("components: the labels' groups and first encounters do not match")
        yield pa.RecordBatch.from_arrays(
            [pa.array(c), pa.array(group), pa.array(kj.astype(np.int32)), pa.array(kp), pa.array(ks.astype(np.int32))],
            names=["c", "group", "kj", "kp", "kside"])
    return run


def _edge_count(frame) -> int:
    """Edges (each stored in both directions) in a blob DataFrame's edge rows."""
    from pyspark.sql import functions as F

    nbytes = frame.where(F.col("kind") == _EDGE).agg(F.sum(F.length("blob"))).first()[0]
    return int(nbytes or 0) // (2 * 16)


def merging_components(acc, num_partitions: int, local_max_edges: int, meter, max_contractions=64,
                       progress=None):
    """Algorithm 2 on one scale's accepted edges, distributed (see the module docstring).

    Parameters
    ----------
    acc : DataFrame with columns ``lab_p, lab_q`` (long, the labels an edge joins), ``j`` (int, the
        hash function) and ``p`` (long, the edge's point): one scale's accepted edges.
    num_partitions : tasks per round.
    local_max_edges : contract until at most this many edges are left, then finish in one task.
    meter : SparkMeter counting the rounds (``"components"``).
    max_contractions : after this many contractions the rest goes to one task whatever its size
        (each contraction removes at least one vertex per component, usually half of them).
    progress : :class:`bigclust._core.report.Progress` or None: a line per contraction.

    Returns
    -------
    merging : DataFrame ``(c long, group long, kj int, kp long, kside int)``, checkpointed: one row per
        label ``c`` in ``acc``, its new component ``group`` (the smallest label connected to it) and its
        first-encounter key ``(kj, kp, kside)``.
    contractions : int, contractions run plus one for the last task.
    """
    from pyspark.sql import functions as F

    P = num_partitions
    n_parts = 4 * P  # several parts per task even out the tasks' sizes

    def keep(df):  # computed once; a checkpoint also cuts the lineage, which would double each contraction
        return df.localCheckpoint()

    def of(df, *kinds):
        return df.where(F.col("kind").isin(list(kinds)))

    def shuffled(df):
        return df.repartition(P, "part")

    start = keep(acc.mapInArrow(_edges_task(n_parts), _BLOB))
    edges, labels = of(start, _EDGE), None
    n_edges = _edge_count(start)
    contractions = 0
    while n_edges > local_max_edges and contractions < max_contractions:
        hooks = shuffled(edges).mapInArrow(_hook_task(n_parts), _BLOB)
        inputs = hooks if labels is None else hooks.unionByName(labels)
        step2 = keep(shuffled(inputs).mapInArrow(_contract_task(n_parts, labels is None), _BLOB))
        step3 = keep(shuffled(of(step2, _HALF, _TABLE)).mapInArrow(_relabel_task(n_parts), _BLOB))
        meter.round("components", 3)
        edges, labels = step3, of(step2, _LABEL)
        n_edges = _edge_count(step3)  # a small job over the checkpointed blobs
        contractions += 1
        if progress is not None:
            progress.update(f"spark tree: components, contraction {contractions}: {n_edges} edges left", every=0.0)
    if n_edges:
        roots = edges.repartition(1).mapInArrow(_last_components_task(n_parts), _BLOB)
        inputs = roots if labels is None else roots.unionByName(labels)
        labels = shuffled(inputs).mapInArrow(_contract_task(n_parts, labels is None, last=True), _BLOB)
        meter.round("components", 2)
        contractions += 1
    if labels is None:  # no edge at all
        labels = edges
    groups = shuffled(labels).mapInArrow(_groups_task(n_parts), _BLOB)
    merging = (shuffled(groups.unionByName(of(start, _FIRST)))
               .mapInArrow(_merging_rows_task(), "c long, group long, kj int, kp long, kside int"))
    meter.round("components", 2)
    return keep(merging), contractions

