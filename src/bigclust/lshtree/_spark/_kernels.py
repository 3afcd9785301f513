"""Compiled per-task kernels of the spark engine that have no local counterpart.

Each function works on one Spark task's rows (an Arrow batch turned into NumPy
arrays): bucket summaries, components within a task, Algorithm 4's heaps per
group. The arithmetic both engines share (node statistics, the DP tables,
distances) is in :mod:`bigclust.lshtree._kernels`, so the engines produce
bit-identical trees, node weights and DP tables.
"""

from __future__ import annotations

import numba
import numpy as np

from .._kernels.node_stats import merge_stats


@numba.njit(cache=True)
def bucket_summary(keys, ids, labs):
    """One row per distinct bucket ``(j, key)`` of a task's points: the smallest
    ``id * 2^31 + lab`` (its smallest point with that point's component) and the
    least and largest component in it.

    ``keys`` (t, n) int64 bucket keys of the task's ``n`` points under each of the
    ``t`` hash functions. Returns ``(j, key, m, lo, hi)`` arrays. Min and max are
    exact whatever the grouping, so buckets split over tasks combine to the
    same result in Spark's aggregation.
    """
    t, n = keys.shape
    oj = np.empty(t * n, np.int32)
    ok = np.empty(t * n, np.int64)
    om = np.empty(t * n, np.int64)
    olo = np.empty(t * n, np.int64)
    ohi = np.empty(t * n, np.int64)
    c = 0
    for j in range(t):
        row = keys[j]
        order = np.argsort(row)
        i = 0
        while i < n:
            p = order[i]
            key = row[p]
            m = ids[p] * 2147483648 + labs[p]
            lo = labs[p]
            hi = labs[p]
            i += 1
            while i < n and row[order[i]] == key:
                p = order[i]
                m = min(m, ids[p] * 2147483648 + labs[p])
                lo = min(lo, labs[p])
                hi = max(hi, labs[p])
                i += 1
            oj[c] = j
            ok[c] = key
            om[c] = m
            olo[c] = lo
            ohi[c] = hi
            c += 1
    return oj[:c], ok[:c], om[:c], olo[:c], ohi[:c]


_PART_MIX = np.uint64(0x9E3779B97F4A7C15)


def summary_parts(j: np.ndarray, key: np.ndarray, n_parts: int) -> np.ndarray:
    """The part (``0 .. n_parts-1``) of each bucket ``(j, key)``: every task sends a
    bucket's summary rows to the same part, whatever task computed them."""
    h = (key.view(np.uint64) ^ (j.astype(np.uint64) * _PART_MIX)) * _PART_MIX
    return ((h >> np.uint64(32)) % np.uint64(n_parts)).astype(np.int64)


def pack_rows(cols) -> bytes:
    """Equal-length 1-D arrays as one columnar byte string (:func:`unpack_rows` reverses it)."""
    return b"".join(np.ascontiguousarray(c).tobytes() for c in cols)


def unpack_rows(blob, dtypes) -> list:
    """The arrays of :func:`pack_rows`'s bytes, given their dtypes (read-only views of ``blob``)."""
    sizes = [np.dtype(t).itemsize for t in dtypes]
    c = len(blob) // sum(sizes)
    out, off = [], 0
    for t, size in zip(dtypes, sizes):
        out.append(np.frombuffer(blob, t, c, off))
        off += size * c
    return out


_SUMMARY = (np.int32, np.int64, np.int64, np.int64, np.int64)
_KEYED = (np.int32, np.int64, np.int64)  # (j, key, id * 2^31 + lab)


def pack_summary(j, key, m, lo, hi) -> bytes:
    """Summary rows as one byte string (:func:`unpack_summary` reverses it).

    ``lo`` and ``hi`` are stored as their differences from the component of
    ``m``, zero in every bucket that holds one component in this task, so the
    shuffle's block compression (lz4 by default) removes most of their bytes.
    """
    lab = m & np.int64(2**31 - 1)
    return pack_rows((j.astype(np.int32), key, m, lab - lo, hi - lab))


def unpack_summary(blob):
    """``(j, key, m, lo, hi)`` arrays from :func:`pack_summary`'s bytes."""
    j, key, m, dlo, dhi = unpack_rows(blob, _SUMMARY)
    lab = m & np.int64(2**31 - 1)
    return j, key, m, lab - dlo, lab + dhi


@numba.njit(cache=True)
def mixed_buckets(j, key, m, lo, hi, order):
    """Combine summary rows of the same bucket ``(j, key)`` (from any tasks) and keep the
    buckets holding more than one component: returns their ``(j, key, m)``, ``m`` the
    smallest ``id * 2^31 + lab`` of the bucket. ``order`` sorts the rows by ``(j, key)``
    (``np.lexsort((key, j))``); min and max do not depend on the order within a bucket."""
    n = j.shape[0]
    oj = np.empty(n, np.int32)
    ok = np.empty(n, np.int64)
    om = np.empty(n, np.int64)
    c = 0
    i = 0
    while i < n:
        p = order[i]
        bj = j[p]
        bk = key[p]
        bm = m[p]
        blo = lo[p]
        bhi = hi[p]
        i += 1
        while i < n and key[order[i]] == bk and j[order[i]] == bj:
            p = order[i]
            bm = min(bm, m[p])
            blo = min(blo, lo[p])
            bhi = max(bhi, hi[p])
            i += 1
        if blo != bhi:
            oj[c] = bj
            ok[c] = bk
            om[c] = bm
            c += 1
    return oj[:c], ok[:c], om[:c]


@numba.njit(cache=True)
def bucket_candidates(keys, labs, starts, bkey, bq, blab):
    """Candidate edges of a task's points to the smallest point of their bucket.

    ``keys`` (t, n) int64 as in :func:`bucket_summary`; the buckets holding more
    than one component are ``bkey[starts[j]:starts[j+1]]`` (sorted) for hash
    ``j``, with their smallest point ``bq`` and its component ``blab``. A point
    gets the edge when its bucket is one of those and its component differs
    from ``q``'s (then ``p != q`` too). Returns ``(j, row, q, lab_q)``: ``row`` is
    the point's index in the task's arrays.
    """
    t, n = keys.shape
    cap = 1024
    oj = np.empty(cap, np.int32)
    orow = np.empty(cap, np.int64)
    oq = np.empty(cap, np.int64)
    olq = np.empty(cap, np.int64)
    c = 0
    for j in range(t):
        lo_, hi_ = starts[j], starts[j + 1]
        if hi_ == lo_:
            continue
        tab = bkey[lo_:hi_]
        pos = np.searchsorted(tab, keys[j])
        for p in range(n):
            b = pos[p]
            if b == hi_ - lo_ or tab[b] != keys[j, p] or blab[lo_ + b] == labs[p]:
                continue
            if c == cap:
                cap *= 2
                oj = _grown(oj, cap)
                orow = _grown(orow, cap)
                oq = _grown(oq, cap)
                olq = _grown(olq, cap)
            oj[c] = j
            orow[c] = p
            oq[c] = bq[lo_ + b]
            olq[c] = blab[lo_ + b]
            c += 1
    return oj[:c], orow[:c], oq[:c], olq[:c]


@numba.njit(cache=True)
def _grown(a, cap):
    out = np.empty(cap, a.dtype)
    out[:a.shape[0]] = a
    return out


@numba.njit(cache=True, inline="always")
def _run_end(group, i):
    """End of the run of rows equal to ``group[i]`` (rows sorted by group)."""
    j = i
    while j < group.shape[0] and group[j] == group[i]:
        j += 1
    return j


@numba.njit(cache=True)
def binarise_groups(group, child_lab, child_node, W, cnt, mean, sse, scale_seq, n_leaves):
    """Algorithms 3-4 for one scale: a binary vertex tree over each group of merging components.

    Rows are the components that merged at this scale, sorted by ``group`` (the
    merged component's label) and, within a group, by first-encounter order (the
    order ``_kernels.forest.merge_accepted`` touches them). A group of ``s`` children
    gets Algorithm 4's heap layout with positions ``1..s-1`` as vertices
    (position 1 is the merged component itself; child ``i`` hangs under position
    ``floor((s+i)/2)``; the copy at position ``s`` is collapsed onto child ``s``),
    exactly as :func:`bigclust.lshtree._kernels.forest.emit_vertices`; weights by
    :func:`bigclust.lshtree._kernels.node_stats.merge_stats`. Vertex ids are ``scale_seq * n_leaves
    + label of child pos-1`` (``scale_seq`` is given per row, constant within a
    group): unique, and computable inside the task.

    Returns per new vertex: node, left, right, W, cnt, sse, mean (n_new, d), pos,
    and the group label.
    """
    n = group.shape[0]
    d = mean.shape[1]
    n_groups = 0
    i = 0
    while i < n:
        n_groups += 1
        i = _run_end(group, i)
    n_new = n - n_groups
    o_node = np.empty(n_new, np.int64)
    o_left = np.empty(n_new, np.int64)
    o_right = np.empty(n_new, np.int64)
    o_W = np.empty(n_new)
    o_cnt = np.empty(n_new)
    o_sse = np.empty(n_new)
    o_mean = np.empty((n_new, d))
    o_pos = np.empty(n_new, np.int64)
    o_group = np.empty(n_new, np.int64)
    out = 0
    i = 0
    while i < n:
        j = _run_end(group, i)
        s = j - i
        # slot q of the group's heap (1..s-1 vertices, s..2s-1 children) -> row in the output or child
        base = out
        for pos in range(s - 1, 0, -1):
            r = base + (s - 1 - pos)
            o_node[r] = scale_seq[i] * n_leaves + child_lab[i + pos - 1]
            o_pos[r] = pos
            o_group[r] = group[i]
        for pos in range(s - 1, 0, -1):
            r = base + (s - 1 - pos)
            for side in range(2):
                qpos = 2 * pos + side
                if qpos >= s:
                    c = i + (qpos - s - 1 if qpos > s else s - 1)
                    node = child_node[c]
                    cw = W[c]
                    cc = cnt[c]
                    cs = sse[c]
                    cm = mean[c]
                else:
                    rr = base + (s - 1 - qpos)
                    node = o_node[rr]
                    cw = o_W[rr]
                    cc = o_cnt[rr]
                    cs = o_sse[rr]
                    cm = o_mean[rr]
                if side == 0:
                    o_left[r] = node
                    lw, lc, ls, lm = cw, cc, cs, cm
                else:
                    o_right[r] = node
                    Wv, cv, sv = merge_stats(lw, cw, lc, cc, lm, cm, ls, cs, o_mean[r])
                    o_W[r] = Wv
                    o_cnt[r] = cv
                    o_sse[r] = sv
        out += s - 1
        i = j
    return o_node, o_left, o_right, o_W, o_cnt, o_sse, o_mean, o_pos, o_group


@numba.njit(cache=True)
def components_in_task(u, v, n_vertices_hint):
    """Connected components of a small edge list on one task; label = smallest vertex.

    Returns (vertex, root) for every vertex that appears in an edge.
    """
    m = u.shape[0]
    verts = np.empty(2 * m, np.int64)
    verts[:m] = u
    verts[m:] = v
    verts = np.unique(verts)
    nv = verts.shape[0]
    ui = np.searchsorted(verts, u)
    vi = np.searchsorted(verts, v)
    uf = np.arange(nv)
    for e in range(m):
        a = ui[e]
        while uf[a] != a:
            uf[a] = uf[uf[a]]
            a = uf[a]
        b = vi[e]
        while uf[b] != b:
            uf[b] = uf[uf[b]]
            b = uf[b]
        if a != b:
            if a < b:  # keep the smaller vertex (verts are sorted) as root
                uf[b] = a
            else:
                uf[a] = b
    root = np.empty(nv, np.int64)
    for x in range(nv):
        a = x
        while uf[a] != a:
            a = uf[a]
        root[x] = verts[a]
    return verts, root


@numba.njit(cache=True)
def first_encounter(verts, lab_p, lab_q, j, p):
    """Per vertex of ``verts`` (sorted), the least key ``(j, p, side)`` of the accepted
    edges ``(j, p, q)`` touching it: side 0 where it is ``lab_p``, 1 where it is ``lab_q``.

    The order in which the local sweep first meets each merging component
    (``hierarchy.build_hierarchy``), which orders the children of a new vertex.
    """
    nv = verts.shape[0]
    kj = np.full(nv, np.iinfo(np.int64).max, np.int64)
    kp = np.full(nv, np.iinfo(np.int64).max, np.int64)
    ks = np.full(nv, 2, np.int64)
    a = np.searchsorted(verts, lab_p)
    b = np.searchsorted(verts, lab_q)
    for e in range(j.shape[0]):
        for side in range(2):
            x = a[e] if side == 0 else b[e]
            if j[e] < kj[x] or (j[e] == kj[x] and (p[e] < kp[x] or (p[e] == kp[x] and side < ks[x]))):
                kj[x] = j[e]
                kp[x] = p[e]
                ks[x] = side
    return kj, kp, ks


# --------------------------------------------------------------------------- Algorithm 7 tasks


@numba.njit(cache=True)
def subtree_heights(lrow, rrow, is_input, in_offs, in_vals):
    """Height (edges to the deepest leaf below) of every row of one shipped subtree.

    Rows are sorted by ``size``; ``lrow``/``rrow`` (n_rows,) are the children's rows
    (:func:`bigclust.lshtree._kernels.subtree_dp.child_rows`); an input row's height
    is ``in_vals[in_offs[r]]``. The root's height is ``H`` of Algorithm 6
    (``Hierarchy.depth``). Returns shape (n_rows,), int64.
    """
    n = lrow.shape[0]
    h = np.zeros(n, np.int64)
    for r in range(n):
        if is_input[r]:
            h[r] = np.int64(in_vals[in_offs[r]])
        elif lrow[r] >= 0:
            h[r] = 1 + max(h[lrow[r]], h[rrow[r]])
    return h
