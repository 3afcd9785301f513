"""The union-find sweep and Algorithms 3-4's binarised vertices, shared by the local tree builders.

:func:`bigclust.lshtree.hierarchy.build_hierarchy` (one scale after another) and
:func:`bigclust.lshtree.two_hop.build_hierarchy_two_hop` (the kept two-hop
candidates) both feed each scale's merges into a :class:`Forest`; it turns
every group of merging components into Algorithm 4's heap of vertices and
finishes the tree (Lemma 3.7's forced root when components remain).
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, inline="always")
def find(uf, x):
    """Root of ``x`` in the union-find array ``uf``, shape (n,) (path halving)."""
    while uf[x] != x:
        uf[x] = uf[uf[x]]
        x = uf[x]
    return x


@numba.njit(cache=True)
def flatten(uf, lab):
    """Point every element of ``uf`` at its root and write the roots to ``lab``, both shape (n,)."""
    for x in range(uf.shape[0]):
        r = find(uf, x)
        uf[x] = r
        lab[x] = r


@numba.njit(cache=True)
def merge_accepted(cand_p, cand_q, n_cand, accepted, n_hashes, uf, uf_size, mark, scale_id, touched, n_touched=0):
    """Union the accepted edges of one scale, hash by hash, in increasing ``p``.

    ``cand_p``/``cand_q``/``accepted`` have shape (n_hashes, n), row ``j`` valid
    up to ``n_cand[j]`` (``accepted`` None: every edge is accepted). Returns (n_touched, n_unions). ``touched`` collects the
    roots, as of the start of the scale, of every component that merged, in the
    order of first contact (it fixes the children's order in Algorithm 4's heap);
    a scale whose hash functions come in several groups passes the count so far
    as ``n_touched`` (the ``mark`` of the scale remembers the roots already touched).
    """
    n_unions = 0
    for j in range(n_hashes):
        for i in range(n_cand[j]):
            if accepted is not None and not accepted[j, i]:
                continue
            ra = find(uf, cand_p[j, i])
            rb = find(uf, cand_q[j, i])
            if ra == rb:
                continue
            if mark[ra] != scale_id:
                mark[ra] = scale_id
                touched[n_touched] = ra
                n_touched += 1
            if mark[rb] != scale_id:
                mark[rb] = scale_id
                touched[n_touched] = rb
                n_touched += 1
            if uf_size[ra] < uf_size[rb]:
                ra, rb = rb, ra
            uf[rb] = ra
            uf_size[ra] += uf_size[rb]
            n_unions += 1
    return n_touched, n_unions


@numba.njit(cache=True)
def emit_vertices(touched, n_touched, uf, comp_node, left, right, auxiliary, node_scale, next_id, scale_value):
    """Algorithms 3-4 for one scale: new vertices for the components that merged.

    ``touched`` holds the union-find roots, as of the start of the scale, of every
    component that took part in a merge; grouping them by their root now gives
    each new component's children. Returns the next free vertex id.
    """
    finals = np.empty(n_touched, np.int64)
    for i in range(n_touched):
        finals[i] = find(uf, touched[i])
    order = np.argsort(finals, kind="mergesort")
    i = 0
    while i < n_touched:
        f = finals[order[i]]
        j = i
        while j < n_touched and finals[order[j]] == f:
            j += 1
        s = j - i  # number of children, >= 2
        children = np.empty(s, np.int64)
        for c in range(s):
            children[c] = comp_node[touched[order[i + c]]]
        # Heap positions 1..s-1 become vertices (1 is the component itself);
        # positions s+1..2s are the children, position s is collapsed onto child s.
        # Create from position s-1 down to 1 so children get smaller ids.
        base = next_id
        for pos in range(s - 1, 0, -1):
            vid = base + (s - 1 - pos)
            for side in range(2):
                qpos = 2 * pos + side
                if qpos >= s:
                    child = children[qpos - s - 1] if qpos > s else children[s - 1]
                else:
                    child = base + (s - 1 - qpos)
                if side == 0:
                    left[vid] = child
                else:
                    right[vid] = child
            auxiliary[vid] = pos != 1
            node_scale[vid] = scale_value
        next_id = base + s - 1
        comp_node[f] = next_id - 1
        i = j
    return next_id


@numba.njit(cache=True)
def join_all(uf, uf_size, mark, scale_id, touched):
    """Union every remaining component (the forced root); returns n_touched.

    The components are touched in order of their smallest point (a canonical
    order that does not depend on union-find internals, so the spark engine,
    whose component labels are smallest points, builds the same root).
    """
    n = uf.shape[0]
    nt = 0
    for x in range(n):
        r = find(uf, x)
        if mark[r] != scale_id:
            mark[r] = scale_id
            touched[nt] = r
            nt += 1
    first = touched[0]
    for i in range(1, nt):
        uf[touched[i]] = first
        uf_size[first] += uf_size[touched[i]]
    return nt


@numba.njit(cache=True)
def finish_tree(left, right, n_leaves):
    """(parent, size, depth) of a full binary tree given by ``left``/``right``, shape (n_nodes,), root last."""
    n_nodes = left.shape[0]
    parent = np.full(n_nodes, -1, np.int64)
    size = np.ones(n_nodes, np.int64)
    for v in range(n_leaves, n_nodes):
        parent[left[v]] = v
        parent[right[v]] = v
        size[v] = size[left[v]] + size[right[v]]
    depth = np.zeros(n_nodes, np.int64)
    max_depth = 0
    for v in range(n_nodes - 2, -1, -1):
        depth[v] = depth[parent[v]] + 1
        if depth[v] > max_depth:
            max_depth = depth[v]
    return parent, size, max_depth


class Forest:
    """The components of the points so far and the vertices of T' built for them.

    Leaves are ``0 .. n-1``; vertices get ids in creation order, so every child
    has a smaller id than its parent and the root is ``2 n - 2``. The working
    arrays hold ids as int32 below 2^31 vertices (half the memory of int64, the
    same values); :meth:`finish` returns int64 arrays.
    """

    def __init__(self, n: int):
        self.n = n
        max_nodes = 2 * n - 1
        idx = np.int32 if max_nodes < 2**31 else np.int64
        self.index_dtype = idx
        self.left = np.full(max_nodes, -1, idx)
        self.right = np.full(max_nodes, -1, idx)
        self.auxiliary = np.zeros(max_nodes, np.bool_)
        self.node_scale = np.zeros(max_nodes, np.float64)
        self.uf = np.arange(n, dtype=idx)
        self.uf_size = np.ones(n, idx)
        self.mark = np.full(n, -1, np.int32)  # scale ids
        self.touched = np.empty(n, idx)
        self.comp_node = np.arange(n, dtype=idx)
        self.next_id = n
        self.n_components = n

    def labels(self, lab: np.ndarray) -> None:
        """Write every point's component root to ``lab``, shape (n,)."""
        flatten(self.uf, lab)

    def merge(self, cand_p, cand_q, n_cand, accepted, n_hashes, scale_id: int, scale_value: float) -> tuple[int, int]:
        """Union one scale's accepted edges and emit the new vertices (at ``scale_value``); returns (n_touched, n_unions)."""
        nt, nu = self.union(cand_p, cand_q, n_cand, accepted, n_hashes, scale_id, 0)
        if nt:
            self.emit(nt, nu, scale_value)
        return nt, nu

    def union(self, cand_p, cand_q, n_cand, accepted, n_hashes, scale_id: int, n_touched: int) -> tuple[int, int]:
        """Union a group of one scale's hash functions' accepted edges (:func:`merge_accepted`), without
        emitting vertices; returns (n_touched so far in the scale, n_unions of the group)."""
        nt, nu = merge_accepted(cand_p, cand_q, n_cand, accepted, n_hashes, self.uf, self.uf_size, self.mark,
                                scale_id, self.touched, n_touched)
        return int(nt), int(nu)

    def emit(self, nt, nu, scale_value):
        """Emit the vertices of a scale whose unions (``nu`` in all, ``nt`` roots touched) are done."""
        self.next_id = emit_vertices(self.touched, nt, self.uf, self.comp_node, self.left, self.right,
                                     self.auxiliary, self.node_scale, self.next_id, scale_value)
        self.n_components -= nu

    _emit = emit

    def finish(self, info: dict):
        """Join what no scale joined under one root (Lemma 3.7's ``P`` in ``Q_L``) and close the tree.

        Returns
        -------
        (left, right, parent, size, scale, auxiliary, depth) : the fields of a
        :class:`~bigclust.lshtree.hierarchy.Hierarchy` after ``n_leaves``.
        """
        if self.n_components > 1:
            info["forced_root"] = True
            nt = join_all(self.uf, self.uf_size, self.mark, -2, self.touched)
            self._emit(nt, self.n_components - 1, np.inf)
        assert self.next_id == 2 * self.n - 1, (self.next_id, 2 * self.n - 1)
        # the union-find is done with: free it before the int64 tree arrays are made
        self.uf = self.uf_size = self.mark = self.touched = self.comp_node = None
        left = self.left.astype(np.int64)
        self.left = None
        right = self.right.astype(np.int64)
        self.right = None
        parent, size, depth = finish_tree(left, right, self.n)
        return left, right, parent, size, self.node_scale, self.auxiliary, int(depth)
