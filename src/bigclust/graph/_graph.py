"""The input of every graph algorithm: an undirected graph with non-negative edge weights.

The metric of the paper (Section 1.2, "graph-metric assumption") is the shortest-path distance
of this graph; it is never materialised as a matrix. The graph is stored once as a symmetric CSR
structure (each undirected edge appears in both endpoint rows), which is exactly what a machine
of the k-machine model holds for the vertices it hosts: the incident edges and their weights.
"""

from __future__ import annotations

import gzip
import os
import warnings
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

__all__ = ["Graph"]

_DUPLICATE_RULES = ("error", "last", "min", "same")


def _networkx(what: str):
    try:
        import networkx
    except ImportError:
        raise ImportError(f"{what} needs networkx: pip install networkx (or bigclust[networkx]).") from None
    return networkx


def _object_array(values) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out


def _node_data(G, nodes) -> dict:
    keys = []
    seen = set()
    for _, data in G.nodes(data=True):
        for k in data:
            if k not in seen:
                seen.add(k)
                keys.append(k)
    nd = G.nodes
    return {str(k): _object_array([nd[x].get(k) for x in nodes]) for k in keys}


def _numeric(values: np.ndarray) -> np.ndarray | None:
    """Float array of ``values`` (numbers or numeric strings), or None when one is not numeric."""
    try:
        out = np.array([float(x) for x in values], dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return out if np.isfinite(out).all() else None


def _coords_of(node_data: dict) -> np.ndarray | None:
    if "x" not in node_data or "y" not in node_data:
        return None
    x = _numeric(node_data["x"])
    y = _numeric(node_data["y"])
    if x is None or y is None:
        return None
    return np.column_stack([x, y])


# Bounds that keep memory and arithmetic finite (issue 22).
MAX_VERTICES = 2**31 - 1
"""Largest vertex count (and 0-based id + 1): CSR ids stay int32, as scipy.sparse.csgraph uses."""
MAX_TOTAL_WEIGHT = 1e100
"""Largest sum of all edge weights. Every shortest-path length is at most this sum, so path
lengths, their doubling in the distance levels and demand-weighted sums of them (demands are
at most 1e30 each) stay far below the float64 limit (~1.8e308) instead of overflowing to inf."""


def _check_total_weight(w: np.ndarray) -> None:
    # w is already checked finite and >= 0; the sum (not the values) is what overflows
    with np.errstate(over="ignore"):
        total = float(np.sum(w, dtype=np.float64))
    if not total <= MAX_TOTAL_WEIGHT:
        raise ValueError(
            f"the edge weights sum to more than {MAX_TOTAL_WEIGHT:g}: path lengths and sums of them would "
            "overflow; rescale the lengths (e.g. metres to kilometres)."
        )


def _check_declared_vertices(path, n: int, m: int) -> None:
    """A file header's vertex count against its edge count: m edges touch at most 2m vertices,
    so a larger n only declares vertices without edges (and n = 1e11 would allocate terabytes)."""
    if n > max(2 * m, 1):
        raise ValueError(f"{path}: the header declares more vertices than 2 x its {m} edges; "
                         "vertices without edges are not read from a file.")


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
    labels : ndarray of object or None
        The user's node ids (any hashable; ``labels[i]`` is the id of vertex i) when built from
        networkx, GraphML or an edge-list CSV with named nodes; None means the ids are
        ``0 .. n_vertices - 1``. Estimators report facilities in these ids
        (``facility_ids_``, ``to_frame()``) and accept them in ``fit(candidates=, fixed=)``.
    coords : ndarray of shape (n_vertices, 2) or None
        Node coordinates ``(x, y)`` (longitude, latitude for OSMnx graphs) when every node has
        numeric ``x`` and ``y``; used by ``to_geojson``.
    node_data : dict of str to ndarray of object
        Node attributes by name (networkx / GraphML input), e.g. a ``population`` to use as
        ``fit(graph, demand="population")``. Missing values are None.
    """

    n_vertices: int
    indptr: np.ndarray
    indices: np.ndarray
    weights: np.ndarray
    labels: np.ndarray | None = None
    coords: np.ndarray | None = None
    node_data: dict = field(default_factory=dict, repr=False)
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
            Non-negative finite edge weights (length units of your metric) summing to at most
            ``MAX_TOTAL_WEIGHT`` (1e100), so that path lengths and sums of them stay finite.
            Default: all 1.
        n_vertices : int, optional
            Number of vertices, at most ``MAX_VERTICES`` (2^31 - 1); default ``max(u, v) + 1``,
            which must then be at most ``2 * n_edges`` (a larger id would only add vertices
            without edges, and an id like 1e11 would allocate terabytes: refused, not
            renumbered; :meth:`read_edge_csv` renumbers ids of any kind). Vertices without
            edges are allowed (they make the graph disconnected).
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
            if min(int(u.min()), int(v.min())) < 0:
                raise ValueError(f"{int(((u < 0) | (v < 0)).sum())} edge(s) have a negative endpoint id.")
            n = int(max(u.max(), v.max())) + 1
            # m edges touch at most 2m vertices: a larger id would allocate arrays for vertices
            # without any edge (an id like 1e11 asks for terabytes). Refused, never renumbered:
            # renumbering would change the meaning of 0-based ids in --candidates/--fixed/outputs.
            if n > min(max(2 * u.size, 1), MAX_VERTICES):
                raise ValueError(
                    f"the largest vertex id is not below 2 x the number of edges ({2 * u.size}): 0-based "
                    "vertex numbers that large leave vertices without edges; pass n_vertices (at most "
                    f"{MAX_VERTICES}), or read ids of any kind (renumbered) with Graph.read_edge_csv "
                    "(a CSV with a header line)."
                )
        else:
            from .._core.validation import check_int

            n = check_int(n_vertices, "n_vertices", low=1, high=MAX_VERTICES)
        if u.size:
            lo = min(int(u.min()), int(v.min()))
            hi = max(int(u.max()), int(v.max()))
            if lo < 0 or hi >= n:
                # positions and counts only: the ids themselves are the user's data
                bad = int(((u < 0) | (u >= n) | (v < 0) | (v >= n)).sum())
                raise ValueError(f"{bad} edge(s) have an endpoint id out of range [0, {n}).")
        if np.isnan(w).any():
            raise ValueError(f"{int(np.isnan(w).sum())} edge weight(s) are NaN.")
        if np.isinf(w).any():
            raise ValueError(f"{int(np.isinf(w).sum())} edge weight(s) are infinite; omit such edges instead.")
        if (w < 0).any():
            i = int(np.flatnonzero(w < 0)[0])
            raise ValueError(f"edge weights must be >= 0; {int((w < 0).sum())} are negative, e.g. edge {i}.")
        loops = u == v
        if loops.any():
            i = int(np.flatnonzero(loops)[0])
            raise ValueError(f"{int(loops.sum())} self-loop(s), e.g. edge {i}; remove them.")
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
                        f"{int((~first).sum())} repeated edge(s), e.g. edge {i}; pass "
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
                            f"{int((gmin != gmax).sum())} vertex pair(s) appear with different weights, "
                            f"e.g. edge {i}; the graph must be undirected."
                        )
                    keep = order[first]
                keep = np.sort(keep)
                a, b, w = a[keep], b[keep], w[keep]
        return cls._from_canonical(a, b, w, n)

    @classmethod
    def _from_canonical(cls, a: np.ndarray, b: np.ndarray, w: np.ndarray, n: int, labels=None) -> "Graph":
        _check_total_weight(w)
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
    def _from_arcs(cls, u, v, w, n: int, *, directed: bool) -> "Graph":
        """Edges or arcs -> the symmetric metric: loops dropped, parallel edges keep the
        shortest, a pair with an arc in one direction only counted in one warning."""
        keep = u != v  # self-loops never shorten a path
        u, v, w = u[keep], v[keep], w[keep]
        if directed and u.size:
            a = np.minimum(u, v)
            b = np.maximum(u, v)
            key = a * n + b
            # a pair is two-way when it has an arc in each orientation
            fwd = np.unique(key[u < v])
            bwd = np.unique(key[u > v])
            n_pairs = np.unique(key).size
            one_way = n_pairs - np.intersect1d(fwd, bwd, assume_unique=True).size
            if one_way:
                warnings.warn(
                    f"the graph is directed: {one_way} one-way vertex pair(s) (of {n_pairs}) were made two-way; "
                    "the metric is the shortest direction of each pair (the paper's metric is symmetric).",
                    UserWarning,
                    stacklevel=3,
                )
        return cls.from_edges(u, v, w, n_vertices=n, duplicates="min")

    @classmethod
    def from_networkx(cls, G, *, weight: str | None = None, default_weight: float = 1.0) -> "Graph":
        """Build a graph from a ``networkx`` Graph, DiGraph, MultiGraph or MultiDiGraph.

        Parameters
        ----------
        G : networkx graph
            Any of the four networkx graph classes, e.g. an OSMnx street network (a
            ``MultiDiGraph`` with ``length`` on each edge, parallel edges and one-way streets).
        weight : str, optional
            Edge attribute holding the length. Default: ``"length"`` when any edge carries it
            (OSMnx), else ``"weight"`` when any edge carries it, else every edge has length
            ``default_weight``.
        default_weight : float, default=1.0
            Length of an edge without the weight attribute (networkx's own convention).

        Returns
        -------
        Graph
            Vertices are numbered in ``G.nodes`` order. Node names (any hashable) are kept in
            ``labels``; node coordinates ``x``/``y`` (when every node has numeric ones, as OSMnx
            nodes do) in ``coords``; every node attribute in ``node_data`` (for
            ``fit(graph, demand="population")``).

        Notes
        -----
        The paper's metric is symmetric (an undirected graph). Parallel edges keep the shortest.
        A directed graph becomes the symmetric metric of the shortest direction: the pair
        {u, v} gets the smallest length over the arcs u->v and v->u. When some pairs have an
        arc in one direction only (one-way streets), one ``UserWarning`` says how many were
        symmetrised: on such a network the distances are those of a pedestrian who may walk
        against the traffic. Self-loops (OSMnx keeps some) are dropped: they never lie on a
        shortest path.
        """
        nx = _networkx("from_networkx")
        if not isinstance(G, nx.Graph):  # MultiGraph, DiGraph, MultiDiGraph are subclasses
            raise TypeError(f"G must be a networkx graph, got {type(G).__name__}.")
        nodes = list(G.nodes)
        if not nodes:
            raise ValueError("The graph is empty (0 vertices).")
        index = {node: i for i, node in enumerate(nodes)}
        if weight is None:
            weight = "weight"
            for key in ("length", "weight"):
                if any(key in data for _, _, data in G.edges(data=True)):
                    weight = key
                    break
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
                # the message names the edge position and attribute, never the user's value
                raise ValueError(f"edge {e} has a non-numeric {weight!r} attribute.") from None
        g = cls._from_arcs(u, v, w, len(nodes), directed=G.is_directed())
        g.labels = _object_array(nodes)
        g.node_data = _node_data(G, nodes)
        g.coords = _coords_of(g.node_data)
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
        if body.size != 3 * m or len(tokens) != 3 + 3 * m:
            # both directions: a short file, and lines beyond the declared count (never ignored)
            have = (len(tokens) - 3) / 3
            raise ValueError(
                f"{path}: header says {m} edges but the file holds {have:g} edge lines' worth of numbers."
            )
        _check_declared_vertices(path, n, m)
        body = body.reshape(m, 3)
        g = cls.from_edges(body[:, 0] - 1, body[:, 1] - 1, body[:, 2], n_vertices=n, duplicates="last")
        return g, p

    @classmethod
    def read_dimacs(cls, path) -> "Graph":
        """Read a DIMACS shortest-path graph (``.gr``: ``p sp n m`` and ``a u v w`` lines, 1-based).

        Gzip-compressed files (``.gr.gz``) are recognised by their content (the gzip magic
        bytes), whatever their name. The ``p`` line's vertex and arc counts are checked: an
        arc with an id above ``n``, or a number of arc lines different from ``m``, is an error.
        Arcs are read as undirected edges; an arc and its reverse must carry the same weight
        (the 9th DIMACS challenge road graphs list every road in both directions).
        """
        path = os.fspath(path)
        if not os.path.exists(path):
            raise FileNotFoundError(f"No such file: {path}")
        with open(path, "rb") as fh:
            magic = fh.read(2)
        opener = gzip.open if magic == b"\x1f\x8b" else open
        n = m = None
        us, vs, ws = [], [], []
        try:
            with opener(path, "rt") as fh:
                for lineno, line in enumerate(fh, 1):
                    if not line.strip() or line[0] == "c":
                        continue
                    parts = line.split()
                    if parts[0] == "p":
                        if n is not None:
                            raise ValueError(f"{path}:{lineno}: a second problem line.")
                        if len(parts) != 4 or not parts[2].isdigit() or not parts[3].isdigit():
                            raise ValueError(f"{path}:{lineno}: malformed problem line (expected 'p sp n m').")
                        n, m = int(parts[2]), int(parts[3])
                    elif parts[0] == "a":
                        if n is None:
                            raise ValueError(f"{path}:{lineno}: arc line before the 'p sp n m' line.")
                        if len(parts) != 4:
                            raise ValueError(f"{path}:{lineno}: malformed arc line (expected 'a u v w').")
                        us.append(parts[1])
                        vs.append(parts[2])
                        ws.append(parts[3])
                    else:
                        raise ValueError(f"{path}:{lineno}: unknown line type (expected c, p or a).")
        except (OSError, EOFError, UnicodeDecodeError) as exc:
            raise ValueError(f"{path}: cannot read it as a DIMACS .gr file ({type(exc).__name__}).") from None
        if n is None:
            raise ValueError(f"{path}: no 'p sp n m' line.")
        if len(us) != m:
            raise ValueError(f"{path}: the problem line declares {m} arcs but the file holds {len(us)}.")
        try:
            u = np.array(us, dtype=np.int64) - 1
            v = np.array(vs, dtype=np.int64) - 1
            w = np.array(ws, dtype=np.float64)
        except ValueError:
            raise ValueError(f"{path}: non-numeric arc fields.") from None
        if n == 0:
            raise ValueError(f"{path}: the problem line declares 0 vertices.")
        _check_declared_vertices(path, n, m)
        return cls.from_edges(u, v, w, n_vertices=n, duplicates="same")

    @classmethod
    def read_graphml(cls, path, *, weight: str | None = None) -> "Graph":
        """Read a GraphML file (e.g. one saved by ``osmnx.save_graphml``) through networkx.

        Node ids that are all decimal integers (OSM node ids) become Python ints; otherwise
        they stay strings. Attributes stored as strings (OSMnx writes every attribute as a
        string) are converted where a number is needed (edge lengths, ``x``/``y``, demand).
        The graph then goes through :meth:`from_networkx` (same weight default, parallel-edge
        and one-way rules).
        """
        nx = _networkx("read_graphml")
        path = os.fspath(path)
        if not os.path.exists(path):
            raise FileNotFoundError(f"No such file: {path}")
        try:
            G = nx.read_graphml(path, force_multigraph=True)
        except Exception as exc:  # networkx raises several parser errors
            raise ValueError(f"{path}: not a readable GraphML file ({type(exc).__name__}).") from None
        names = list(G.nodes)
        if names and all(isinstance(x, str) and x.isdigit() for x in names):
            G = nx.relabel_nodes(G, {x: int(x) for x in names}, copy=True)
        return cls.from_networkx(G, weight=weight)

    @classmethod
    def read_edge_csv(cls, path, *, source: str | None = None, target: str | None = None,
                      weight: str | None = None) -> "Graph":
        """Read an edge-list CSV with a header line (one edge per row).

        Parameters
        ----------
        path : path-like
        source, target : str, optional
            Columns of the two endpoints (node ids of any kind: numbers or names); default the
            first two columns.
        weight : str, optional
            Column of the edge lengths; default the first of ``length``, ``weight``, ``w``,
            ``cost``, ``distance`` present, else the third column when there is one, else 1.

        Returns
        -------
        Graph
            With ``labels`` holding the node ids in order of first appearance. A vertex pair
            listed more than once keeps its shortest length (as :meth:`from_networkx`).
        """
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("read_edge_csv needs pandas: pip install pandas.") from None
        path = os.fspath(path)
        if not os.path.exists(path):
            raise FileNotFoundError(f"No such file: {path}")
        try:
            df = pd.read_csv(path, sep=None, engine="python")
        except Exception as exc:
            raise ValueError(f"{path}: not a readable CSV file ({type(exc).__name__}).") from None
        cols = [str(c) for c in df.columns]
        df.columns = cols
        if len(cols) < 2:
            raise ValueError(f"{path}: an edge list needs at least 2 columns (source, target).")
        src = cols[0] if source is None else source
        dst = cols[1] if target is None else target
        for name in (src, dst) + (() if weight is None else (weight,)):
            if name not in cols:
                raise ValueError(f"{path}: no column named {name!r}.")
        if weight is None:
            weight = next((c for c in ("length", "weight", "w", "cost", "distance") if c in cols), None)
            if weight is None and len(cols) >= 3:
                weight = next(c for c in cols if c not in (src, dst))
        if df[src].isna().any() or df[dst].isna().any():
            raise ValueError(f"{path}: empty node ids in the {src!r}/{dst!r} columns.")
        w = None
        if weight is not None:
            w = pd.to_numeric(df[weight], errors="coerce").to_numpy(dtype=np.float64)
            if np.isnan(w).any():
                raise ValueError(f"{path}: {int(np.isnan(w).sum())} missing or non-numeric value(s) in column {weight!r}.")
        codes, uniques = pd.factorize(pd.concat([df[src], df[dst]], ignore_index=True), sort=False)
        m = len(df)
        if m == 0:
            raise ValueError(f"{path}: no edges.")
        u, v = codes[:m].astype(np.int64), codes[m:].astype(np.int64)
        g = cls.from_edges(u, v, w, n_vertices=len(uniques), duplicates="min")
        g.labels = _object_array([x.item() if hasattr(x, "item") else x for x in uniques])
        return g

    @classmethod
    def read_osm(cls, path) -> "Graph":
        """Read the road network of an OpenStreetMap XML extract (``.osm``, ``.osm.bz2``, ``.osm.gz``).

        Every way with a ``highway`` tag contributes an edge between each pair of consecutive
        nodes, of length the great-circle (haversine) distance in metres. ``oneway=yes``/``1``/
        ``true`` ways are one-way forward, ``oneway=-1`` backward; the directed network then
        becomes the symmetric metric of its shortest direction, with the same single warning as
        :meth:`from_networkx`. Vertices are the nodes used by those ways, with their OSM ids
        as ``labels`` and ``(lon, lat)`` as ``coords``. Compression is recognised by content.
        No topology simplification is done (OSMnx merges degree-2 nodes; we keep them).
        The XML is parsed by the standard library; OSM PBF files are not supported.
        """
        import bz2
        import xml.etree.ElementTree as ET

        path = os.fspath(path)
        if not os.path.exists(path):
            raise FileNotFoundError(f"No such file: {path}")
        with open(path, "rb") as fh:
            magic = fh.read(3)
        opener = bz2.open if magic == b"BZh" else gzip.open if magic[:2] == b"\x1f\x8b" else open
        lat, lon = {}, {}
        arcs = []  # (from node id, to node id)
        try:
            with opener(path, "rb") as fh:
                for _, el in ET.iterparse(fh, events=("end",)):
                    if el.tag == "node":
                        i = int(el.get("id"))
                        lat[i] = float(el.get("lat"))
                        lon[i] = float(el.get("lon"))
                        el.clear()
                    elif el.tag == "way":
                        tags = {t.get("k"): t.get("v") for t in el.findall("tag")}
                        if "highway" in tags:
                            refs = [int(nd.get("ref")) for nd in el.findall("nd")]
                            ow = tags.get("oneway", "no")
                            for a, b in zip(refs[:-1], refs[1:]):
                                if ow in ("yes", "1", "true"):
                                    arcs.append((a, b))
                                elif ow == "-1":
                                    arcs.append((b, a))
                                else:
                                    arcs.append((a, b))
                                    arcs.append((b, a))
                        el.clear()
        except (ET.ParseError, OSError, EOFError, TypeError, ValueError) as exc:
            raise ValueError(f"{path}: not a readable OSM XML file ({type(exc).__name__}).") from None
        if not arcs:
            raise ValueError(f"{path}: no highway ways.")
        missing = {x for a in arcs for x in a if x not in lat}
        if missing:
            raise ValueError(f"{path}: {len(missing)} node(s) used by highway ways have no coordinates.")
        used = list(dict.fromkeys(x for a in arcs for x in a))
        index = {x: i for i, x in enumerate(used)}
        a = np.array(arcs, dtype=np.int64)
        la1, lo1 = np.radians([lat[x] for x in a[:, 0]]), np.radians([lon[x] for x in a[:, 0]])
        la2, lo2 = np.radians([lat[x] for x in a[:, 1]]), np.radians([lon[x] for x in a[:, 1]])
        h = np.sin((la2 - la1) / 2) ** 2 + np.cos(la1) * np.cos(la2) * np.sin((lo2 - lo1) / 2) ** 2
        length = 2 * 6371008.8 * np.arcsin(np.sqrt(np.minimum(h, 1.0)))  # metres, mean Earth radius
        u = np.array([index[x] for x in a[:, 0]], dtype=np.int64)
        v = np.array([index[x] for x in a[:, 1]], dtype=np.int64)
        g = cls._from_arcs(u, v, length, len(used), directed=True)
        g.labels = _object_array(used)
        g.coords = np.column_stack([[lon[x] for x in used], [lat[x] for x in used]]).astype(np.float64)
        g.node_data = {"x": _object_array(g.coords[:, 0].tolist()), "y": _object_array(g.coords[:, 1].tolist())}
        return g

    @classmethod
    def read_osm_pbf(cls, path, *, network_type: str = "driving") -> "Graph":
        """Read the road network of an OpenStreetMap PBF extract through the optional ``pyrosm``.

        Parameters
        ----------
        path : path-like
            An ``.osm.pbf`` file.
        network_type : {"driving", "walking", "cycling", "driving+service", "all"}
            Which ways make the network (pyrosm's filters).

        Returns
        -------
        Graph
            Built by :meth:`from_networkx` from ``pyrosm.OSM.to_graph(graph_type="networkx")``
            (OSMnx-compatible: simplified topology, ``length`` in metres, one-way arcs, OSM node
            ids and ``x``/``y`` kept; every component kept).

        Raises
        ------
        ImportError
            When ``pyrosm`` is not installed (``pip install pyrosm``, or the ``bigclust[geo]``
            extra).
        """
        try:
            from pyrosm import OSM
        except ImportError:
            raise ImportError(
                "reading OSM PBF files needs the optional package pyrosm: pip install pyrosm "
                "(or pip install bigclust[geo]). OSM XML (.osm, .osm.bz2) needs nothing: Graph.read_osm."
            ) from None
        path = os.fspath(path)
        if not os.path.exists(path):
            raise FileNotFoundError(f"No such file: {path}")
        osm = OSM(path)
        nodes, edges = osm.get_network(network_type=network_type, nodes=True)
        if edges is None or len(edges) == 0:
            raise ValueError(f"{path}: no {network_type} network in the extract.")
        G = osm.to_graph(nodes, edges, graph_type="networkx", retain_all=True)
        return cls.from_networkx(G, weight="length")

    # ------------------------------------------------------------------ node ids
    def ids_of(self, vertices) -> np.ndarray:
        """The user's node ids of internal vertex numbers (``labels[vertices]``, or the numbers)."""
        vertices = np.asarray(vertices, dtype=np.int64)
        return vertices.copy() if self.labels is None else self.labels[vertices]

    def index_of(self, ids, name: str = "ids") -> np.ndarray:
        """Internal vertex numbers of the user's node ids (the inverse of :meth:`ids_of`).

        Raises ValueError naming how many ids are not nodes of the graph (never the ids).
        """
        if self.labels is None:
            arr = _as_int_array(np.atleast_1d(np.asarray(ids)), name)
            bad = (arr < 0) | (arr >= self.n_vertices)
            if bad.any():
                raise ValueError(f"{name}: {int(bad.sum())} id(s) are not vertices of the graph (0 .. {self.n_vertices - 1}).")
            return arr
        lookup = self._cache.get("index")
        if lookup is None:
            lookup = {x: i for i, x in enumerate(self.labels)}
            self._cache["index"] = lookup
        if isinstance(ids, (str, bytes)) or not hasattr(ids, "__iter__"):
            ids = [ids]
        out = []
        missing = 0
        for x in ids:
            x = x.item() if isinstance(x, np.generic) else x
            try:
                out.append(lookup[x])
            except (KeyError, TypeError):
                missing += 1
        if missing:
            raise ValueError(f"{name}: {missing} id(s) are not nodes of the graph.")
        return np.asarray(out, dtype=np.int64)

    def node_attribute(self, name: str) -> np.ndarray:
        """A node attribute as float64, shape (n_vertices,) (e.g. a ``population``)."""
        if name not in self.node_data:
            raise ValueError(f"the graph has no node attribute {name!r}.")
        vals = self.node_data[name]
        try:
            return np.array([np.nan if x is None else float(x) for x in vals], dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"node attribute {name!r} has non-numeric values.") from None

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
        """Induced subgraph on ``vertices`` (internal numbers).

        Returns (graph, the internal numbers of its vertices in this graph, sorted). The
        subgraph keeps the user's node ids (``labels``), ``coords`` and ``node_data`` of its
        vertices.
        """
        vertices = np.unique(_as_int_array(vertices, "vertices"))
        if vertices.size == 0:
            raise ValueError("subgraph needs at least one vertex.")
        if vertices[0] < 0 or vertices[-1] >= self.n_vertices:
            raise ValueError("subgraph vertex ids out of range.")
        A = self.to_scipy()[vertices][:, vertices].tocoo()
        keep = A.row < A.col
        g = Graph._from_canonical(A.row[keep].astype(np.int64), A.col[keep].astype(np.int64), A.data[keep], vertices.size)
        # the user's node ids, coordinates and attributes follow their vertices
        if self.labels is not None:
            g.labels = self.labels[vertices]
        if self.coords is not None:
            g.coords = self.coords[vertices]
        g.node_data = {k: a[vertices] for k, a in self.node_data.items()}
        return g, vertices

    def __repr__(self) -> str:
        return f"Graph(n_vertices={self.n_vertices}, n_edges={self.n_edges})"
