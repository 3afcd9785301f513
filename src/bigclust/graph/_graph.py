"""The input of every graph algorithm: an undirected graph with non-negative edge weights.

The metric of the paper (Section 1.2, "graph-metric assumption") is the shortest-path distance
of this graph; it is never materialised as a matrix. The graph is stored once as a symmetric CSR
structure (each undirected edge appears in both endpoint rows), which is exactly what a machine
of the k-machine model holds for the vertices it hosts: the incident edges and their weights.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

__all__ = ["Graph"]

_DUPLICATE_RULES = ("error", "last", "min", "same")


def _as_int_array(a, name: str) -> np.ndarray:
    arr = np.asarray(a)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}.")
    if arr.size and arr.dtype.kind == "f":
        if not np.isfinite(arr).all() or not np.all(arr == np.round(arr)):
            raise ValueError(f"{name} must hold integer vertex ids; found non-integer values.")
    elif arr.size and arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integer vertex ids, got dtype {arr.dtype}.")
    return arr.astype(np.int64)


@dataclass(eq=False)
class Graph:
    """An undirected graph with non-negative edge weights, stored as symmetric CSR.

    Build it with :meth:`from_edges`, :meth:`from_scipy`, :meth:`from_networkx`,
    :meth:`read_orlib` or :meth:`read_dimacs`; do not fill the fields by hand.

    Attributes
    ----------
    n_vertices : int
        Number of vertices, ids ``0 .. n_vertices - 1``.
    indptr, indices, weights : ndarray
        CSR adjacency of the symmetric graph: the neighbours of ``v`` are
        ``indices[indptr[v]:indptr[v+1]]`` with edge weights ``weights[...]`` (float64).
    labels : ndarray or None
        Original node names when built from networkx (``labels[i]`` is the name of vertex i).
    """

    n_vertices: int
    indptr: np.ndarray
    indices: np.ndarray
    weights: np.ndarray
    labels: np.ndarray | None = None
    _cache: dict = field(default_factory=dict, repr=False)

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_edges(cls, u, v, w=None, n_vertices: int | None = None, *, duplicates: str = "error") -> "Graph":
        """Build a graph from an undirected edge list.

        Parameters
        ----------
        u, v : array-like of shape (n_edges,)
            Integer endpoint ids in ``[0, n_vertices)``. Self-loops are rejected.
        w : array-like of shape (n_edges,), optional
            Non-negative finite edge weights (length units of your metric). Default: all 1.
        n_vertices : int, optional
            Number of vertices; default ``max(u, v) + 1``. Vertices without edges are allowed
            (they make the graph disconnected).
        duplicates : {"error", "last", "min", "same"}
            What to do when a vertex pair appears more than once (in either orientation):
            ``"error"`` refuses, ``"last"`` keeps the last occurrence (the OR-Library rule),
            ``"min"`` keeps the smallest weight, ``"same"`` merges repeats with identical weight
            and refuses conflicting ones.

        Returns
        -------
        Graph
        """
        if duplicates not in _DUPLICATE_RULES:
            raise ValueError(f"duplicates must be one of {_DUPLICATE_RULES}, got {duplicates!r}.")
        u = _as_int_array(u, "u")
        v = _as_int_array(v, "v")
        if u.shape != v.shape:
            raise ValueError(f"u and v must have the same length, got {u.shape[0]} and {v.shape[0]}.")
        if w is None:
            w = np.ones(u.shape[0], dtype=np.float64)
        else:
            w = np.asarray(w)
            if w.dtype.kind not in "biuf":
                raise TypeError(f"edge weights must be real numbers, got dtype {w.dtype}.")
            w = w.astype(np.float64)
            if w.shape != u.shape:
                raise ValueError(f"w must have shape {u.shape}, got {w.shape}.")
        if n_vertices is None:
            if u.size == 0:
                raise ValueError("The graph is empty: no edges and n_vertices not given.")
            n = int(max(u.max(), v.max())) + 1
        else:
            from .._core.validation import check_int

            n = check_int(n_vertices, "n_vertices", low=1)
        if u.size:
            lo = min(int(u.min()), int(v.min()))
            hi = max(int(u.max()), int(v.max()))
            if lo < 0 or hi >= n:
                bad = lo if lo < 0 else hi
                raise ValueError(f"vertex id {bad} is out of range [0, {n}).")
        if np.isnan(w).any():
            raise ValueError(f"{int(np.isnan(w).sum())} edge weight(s) are NaN.")
        if np.isinf(w).any():
            raise ValueError(f"{int(np.isinf(w).sum())} edge weight(s) are infinite; omit such edges instead.")
        if (w < 0).any():
            i = int(np.flatnonzero(w < 0)[0])
            raise ValueError(f"edge weights must be >= 0; edge {i} ({u[i]}, {v[i]}) has weight {w[i]}.")
        loops = u == v
        if loops.any():
            i = int(np.flatnonzero(loops)[0])
            raise ValueError(f"{int(loops.sum())} self-loop(s), e.g. edge {i} at vertex {u[i]}; remove them.")
        a = np.minimum(u, v)
        b = np.maximum(u, v)
        key = a * n + b
        if u.size:
            order = np.argsort(key, kind="stable")  # stable: original order within a pair
            ks = key[order]
            first = np.ones(ks.size, dtype=bool)
            first[1:] = ks[1:] != ks[:-1]
            if not first.all():
                dup_pos = order[~first]
                if duplicates == "error":
                    i = int(dup_pos[0])
                    raise ValueError(
                        f"{int((~first).sum())} repeated edge(s), e.g. ({a[i]}, {b[i]}); pass "
                        "duplicates='last', 'min' or 'same' to choose a rule."
                    )
                group = np.cumsum(first) - 1
                ws = w[order]
                if duplicates == "last":
                    lastpos = np.ones(ks.size, dtype=bool)
                    lastpos[:-1] = ks[1:] != ks[:-1]
                    keep = order[lastpos]
                elif duplicates == "min":
                    gmin = np.full(group[-1] + 1, np.inf)
                    np.minimum.at(gmin, group, ws)
                    keep = order[first]
                    w = w.copy()
                    w[keep] = gmin
                else:  # "same"
                    gmin = np.full(group[-1] + 1, np.inf)
                    gmax = np.full(group[-1] + 1, -np.inf)
                    np.minimum.at(gmin, group, ws)
                    np.maximum.at(gmax, group, ws)
                    if (gmin != gmax).any():
                        g = int(np.flatnonzero(gmin != gmax)[0])
                        i = int(order[first][g])
                        raise ValueError(
                            f"edge ({a[i]}, {b[i]}) appears with different weights "
                            f"({gmin[g]} and {gmax[g]}); the graph must be undirected."
                        )
                    keep = order[first]
                keep = np.sort(keep)
                a, b, w = a[keep], b[keep], w[keep]
        return cls._from_canonical(a, b, w, n)

    @classmethod
    def _from_canonical(cls, a: np.ndarray, b: np.ndarray, w: np.ndarray, n: int, labels=None) -> "Graph":
        rows = np.concatenate([a, b])
        cols = np.concatenate([b, a])
        ww = np.concatenate([w, w])
        order = np.lexsort((cols, rows))
        rows, cols, ww = rows[order], cols[order], ww[order]
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.add.at(indptr, rows + 1, 1)
        np.cumsum(indptr, out=indptr)
        # int32 ids keep the CSR small at a million vertices and are what scipy.csgraph uses.
        idx_dtype = np.int32 if n < 2**31 - 1 else np.int64
        return cls(int(n), indptr, cols.astype(idx_dtype), np.ascontiguousarray(ww, dtype=np.float64), labels)

    @classmethod
    def from_scipy(cls, A, *, duplicates: str = "same") -> "Graph":
        """Build a graph from a square SciPy sparse matrix (or dense array) of edge weights.

        Every stored entry ``A[i, j]`` is an edge of weight ``A[i, j]`` (explicit zeros are
        zero-weight edges). The matrix may be symmetric or hold each edge once (e.g. upper
        triangle); an edge stored in both triangles must have the same weight. For dense arrays
        only the non-zero entries are edges.
        """
        if not sp.issparse(A):
            arr = np.asarray(A)
            if arr.ndim != 2:
                raise ValueError(f"A must be a square 2-D matrix, got shape {arr.shape}.")
            A = sp.coo_matrix(arr)
        if A.shape[0] != A.shape[1]:
            raise ValueError(f"A must be square, got shape {A.shape}.")
        if A.shape[0] == 0:
            raise ValueError("The graph is empty (0 vertices).")
        C = A.tocoo()
        return cls.from_edges(C.row, C.col, C.data, n_vertices=A.shape[0], duplicates=duplicates)

    @classmethod
    def from_cost_matrix(cls, C) -> "Graph":
        """The bipartite graph of a facility/customer cost matrix (e.g. OR-Library UFL instances).

        Parameters
        ----------
        C : array-like of shape (n_facilities, n_customers)
            Non-negative allocation costs; ``inf`` means "no edge".

        Returns
        -------
        Graph
            Vertices ``0 .. n_facilities-1`` are the facilities, ``n_facilities + j`` is customer
            j; edge (i, customer j) has weight ``C[i, j]``. Its shortest-path metric is the
            metric closure of C: it equals C when C is metric, and is smaller otherwise (a
            customer may be reached through another customer and facility). Use it with
            ``FacilityLocation(opening_cost=concat(fixed, inf * n_customers)).fit(g, clients=...)``.
        """
        C = np.asarray(C, dtype=np.float64)
        if C.ndim != 2 or C.size == 0:
            raise ValueError(f"C must be a non-empty 2-D matrix, got shape {C.shape}.")
        if np.isnan(C).any():
            raise ValueError("C contains NaN values.")
        m, n = C.shape
        i, j = np.nonzero(np.isfinite(C))
        return cls.from_edges(i, m + j, C[i, j], n_vertices=m + n)

    @classmethod
    def from_networkx(cls, G, *, weight: str = "weight", default_weight: float = 1.0) -> "Graph":
        """Build a graph from an undirected ``networkx`` graph.

        Vertices are numbered in ``G.nodes`` order; their names are kept in ``labels``. Edges
        without the ``weight`` attribute get ``default_weight`` (networkx's own convention).
        Directed graphs and multigraphs with conflicting parallel edges are refused.
        """
        import networkx as nx

        if G.is_directed():
            raise TypeError("G is directed; the paper's metric needs an undirected graph (use G.to_undirected()).")
        nodes = list(G.nodes)
        if not nodes:
            raise ValueError("The graph is empty (0 vertices).")
        index = {node: i for i, node in enumerate(nodes)}
        m = G.number_of_edges()
        u = np.empty(m, dtype=np.int64)
        v = np.empty(m, dtype=np.int64)
        w = np.empty(m, dtype=np.float64)
        for e, (a, b, data) in enumerate(G.edges(data=True)):
            u[e], v[e] = index[a], index[b]
            val = data.get(weight, default_weight)
            try:
                w[e] = float(val)
            except (TypeError, ValueError):
                raise ValueError(f"edge ({a!r}, {b!r}) has non-numeric weight {val!r}.") from None
        dup = "same" if isinstance(G, (nx.MultiGraph,)) else "error"
        g = cls.from_edges(u, v, w, n_vertices=len(nodes), duplicates=dup)
        labels = np.empty(len(nodes), dtype=object)
        labels[:] = nodes
        g.labels = labels
        return g

    @classmethod
    def read_orlib(cls, path) -> tuple["Graph", int]:
        """Read an OR-Library p-median instance (``pmedN.txt``).

        Format: first line ``n m p``, then ``m`` lines ``i j cost`` with 1-based vertex ids.
        A vertex pair given more than once keeps its LAST cost (the rule that reproduces the
        published optima).

        Returns
        -------
        graph : Graph
        p : int
            The instance's number of medians.
        """
        path = os.fspath(path)
        if not os.path.exists(path):
            raise FileNotFoundError(f"No such file: {path}")
        with open(path) as fh:
            tokens = fh.read().split()
        if len(tokens) < 3:
            raise ValueError(f"{path}: expected a header 'n m p'.")
        try:
            n, m, p = (int(t) for t in tokens[:3])
            body = np.array(tokens[3 : 3 + 3 * m], dtype=np.float64)
        except ValueError:
            raise ValueError(f"{path}: not an OR-Library p-median file (non-numeric tokens).") from None
        if body.size != 3 * m:
            raise ValueError(f"{path}: header says {m} edges but the file holds {body.size // 3}.")
        body = body.reshape(m, 3)
        g = cls.from_edges(body[:, 0] - 1, body[:, 1] - 1, body[:, 2], n_vertices=n, duplicates="last")
        return g, p

    @classmethod
    def read_dimacs(cls, path) -> "Graph":
        """Read a DIMACS shortest-path graph (``.gr``: ``p sp n m`` and ``a u v w`` lines, 1-based).

        Arcs are read as undirected edges; an arc and its reverse must carry the same weight.
        """
        path = os.fspath(path)
        if not os.path.exists(path):
            raise FileNotFoundError(f"No such file: {path}")
        n = None
        us, vs, ws = [], [], []
        with open(path) as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip() or line[0] == "c":
                    continue
                parts = line.split()
                if parts[0] == "p":
                    if len(parts) < 4:
                        raise ValueError(f"{path}:{lineno}: malformed problem line {line.strip()!r}.")
                    n = int(parts[2])
                elif parts[0] == "a":
                    if len(parts) != 4:
                        raise ValueError(f"{path}:{lineno}: malformed arc line {line.strip()!r}.")
                    us.append(parts[1])
                    vs.append(parts[2])
                    ws.append(parts[3])
                else:
                    raise ValueError(f"{path}:{lineno}: unknown line type {parts[0]!r}.")
        if n is None:
            raise ValueError(f"{path}: no 'p sp n m' line.")
        u = np.array(us, dtype=np.int64) - 1
        v = np.array(vs, dtype=np.int64) - 1
        w = np.array(ws, dtype=np.float64)
        return cls.from_edges(u, v, w, n_vertices=n, duplicates="same")

    # ------------------------------------------------------------------ properties
    @property
    def n_edges(self) -> int:
        """Number of undirected edges."""
        return int(self.indices.shape[0] // 2)

    def to_scipy(self) -> sp.csr_matrix:
        """The symmetric CSR matrix (explicit zeros are zero-weight edges). Cached."""
        A = self._cache.get("csr")
        if A is None:
            A = sp.csr_matrix((self.weights, self.indices, self.indptr), shape=(self.n_vertices,) * 2)
            self._cache["csr"] = A
        return A

    def components(self) -> tuple[int, np.ndarray]:
        """(number of connected components, component label per vertex). Cached."""
        c = self._cache.get("components")
        if c is None:
            c = connected_components(self.to_scipy(), directed=False)
            self._cache["components"] = c
        return c

    @property
    def n_components(self) -> int:
        return int(self.components()[0])

    def min_positive_weight(self) -> float:
        pos = self.weights[self.weights > 0]
        return float(pos.min()) if pos.size else 0.0

    def check_connected(self, what: str) -> None:
        """Raise ValueError when the graph is disconnected (no finite answer for ``what``)."""
        k = self.n_components
        if k > 1:
            raise ValueError(
                f"the graph has {k} connected components; {what} needs a connected graph because "
                "distances between components are infinite. Solve each component separately "
                "(Graph.subgraph(vertices) with the labels from Graph.components())."
            )

    def subgraph(self, vertices) -> tuple["Graph", np.ndarray]:
        """Induced subgraph on ``vertices``; returns (graph, original ids of its vertices)."""
        vertices = np.unique(_as_int_array(vertices, "vertices"))
        if vertices.size == 0:
            raise ValueError("subgraph needs at least one vertex.")
        if vertices[0] < 0 or vertices[-1] >= self.n_vertices:
            raise ValueError("subgraph vertex ids out of range.")
        A = self.to_scipy()[vertices][:, vertices].tocoo()
        keep = A.row < A.col
        g = Graph._from_canonical(A.row[keep].astype(np.int64), A.col[keep].astype(np.int64), A.data[keep], vertices.size)
        return g, vertices

    def __repr__(self) -> str:
        return f"Graph(n_vertices={self.n_vertices}, n_edges={self.n_edges})"
