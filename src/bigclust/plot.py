"""Pictures of fitted bigclust models (``pip install 'bigclust[plot]'``: matplotlib).

Each function draws on a matplotlib ``Axes`` (a new figure's unless ``ax=`` is
given) and returns it, so pictures compose with the rest of a figure:

:func:`elbow`
    Cost against the number of clusters: an LSH-tree fit's ``cost_curve_`` with
    the answer it returned, or the costs of :func:`bigclust.lshtree.elbow_curve`.
:func:`tree`
    The top of an LSH-tree fit's cluster tree (``tree_``) as a dendrogram, at
    the LSH scales where the candidate clusters formed.
:func:`facilities`
    A graph fit's open facilities and the vertices each serves: a map when the
    graph has node coordinates (``graph.coords``, e.g. OSMnx longitude and
    latitude), else a networkx layout.
:func:`privacy_utility`
    Cost against the privacy budget epsilon, one line per method, from records
    such as ``benchmarks/private_figure1.py`` prints.

Nothing here reads data beyond the fitted attributes it is given; nothing is
shown or saved (call ``ax.figure.savefig(...)`` or ``plt.show()``).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["elbow", "tree", "facilities", "privacy_utility"]


def _axes(ax):
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("bigclust.plot needs matplotlib: pip install 'bigclust[plot]'") from exc
    if ax is None:
        _, ax = plt.subplots()
    return ax


# ------------------------------------------------------------------------------------------ elbow


def elbow(est=None, *, n_clusters: Sequence[int] | None = None, costs: Sequence[float] | None = None,
          ax=None, label: str | None = None):
    """Cost against the number of clusters ``k``.

    Parameters
    ----------
    est : fitted LSHTreeKMeans or LSHTreeKMedian, optional
        Draws ``cost_curve_`` (the least cost of a pruning of the tree into at
        most ``j`` clusters, ``j = 1..n_clusters``; fitted with
        ``method="exact"``) and marks the cost of the answer returned
        (``inertia_`` at ``k = len(cluster_centers_)``), which refinement can
        bring below the tree's curve.
    n_clusters, costs : sequences of the same length, optional
        Instead of ``est``: the grid of ``k`` and the cost at each, e.g.
        ``costs = bigclust.lshtree.elbow_curve(X, n_clusters)``.
    ax : matplotlib Axes, optional
    label : str, optional
        Legend label of the curve.

    Returns
    -------
    ax : matplotlib Axes
        One line for the curve (markers at each ``k``), plus one marker for the
        answer when ``est`` is given.
    """
    if (est is None) == (costs is None):
        raise ValueError("give either a fitted estimator or costs (with n_clusters), not both.")
    if est is not None:
        curve = getattr(est, "cost_curve_", None)
        if not hasattr(est, "cluster_centers_"):
            raise ValueError("est is not fitted: call fit first.")
        if curve is None:
            raise ValueError("est has no cost_curve_ (the approximate DPs do not compute one): fit with "
                             "method='exact', or pass costs=bigclust.lshtree.elbow_curve(X, n_clusters).")
        y = np.asarray(curve, dtype=np.float64)
        x = np.arange(1, y.size + 1)
        label = label or "tree's optimal pruning (cost_curve_)"
    else:
        y = np.asarray(costs, dtype=np.float64)
        x = np.arange(1, y.size + 1) if n_clusters is None else np.asarray(n_clusters)
        if y.ndim != 1 or x.shape != y.shape or y.size == 0:
            raise ValueError("n_clusters and costs must be 1-D sequences of the same, non-zero length.")
        if not np.issubdtype(x.dtype, np.integer) or x.min() < 1:
            raise ValueError("n_clusters must hold positive integers.")
        order = np.argsort(x, kind="stable")
        x, y = x[order], y[order]
        label = label or "cost"
    if not np.all(np.isfinite(y)):
        raise ValueError("costs must be finite.")
    ax = _axes(ax)
    ax.plot(x, y, marker="o", label=label)
    if est is not None:
        k = int(np.asarray(est.cluster_centers_).shape[0])
        ax.plot([k], [float(est.inertia_)], linestyle="none", marker="*", markersize=12,
                label=f"answer returned (k = {k})")
    ax.set_xlabel("number of clusters k")
    ax.set_ylabel("cost")
    ax.set_title("Elbow")
    ax.legend()
    return ax


# ------------------------------------------------------------------------------------------ tree


def _top_of_tree(t, n_leaves: int):
    """The ``n_leaves`` vertices left after repeatedly splitting the highest vertex, from the root down
    (scipy's ``truncate_mode="lastp"`` rule), and the height of every vertex (its scale; 0 for leaves)."""
    children = np.asarray(t.children)
    n = children.shape[0]
    scale = np.asarray(t.scale, dtype=np.float64)
    finite = scale[np.isfinite(scale)]
    top = float(finite.max()) if finite.size else 1.0
    # a root joined above every scale (components no scale connected) is drawn just above the top
    h = np.where(np.isfinite(scale), scale, top * 1.1 if top > 0 else 1.0)
    h = np.where(children[:, 0] < 0, 0.0, h)
    root = n - 1
    frontier = [(-h[root], root)]
    leaves: list[int] = []
    while frontier and len(frontier) + len(leaves) < n_leaves:
        _, v = heapq.heappop(frontier)
        a, b = children[v]
        if a < 0:
            leaves.append(v)
            continue
        heapq.heappush(frontier, (-h[a], int(a)))
        heapq.heappush(frontier, (-h[b], int(b)))
    leaves.extend(v for _, v in frontier)
    return leaves, h


def tree(est, *, n_leaves: int = 30, ax=None, orientation: str = "top"):
    """The top of an LSH-tree fit's hierarchy of candidate clusters, as a dendrogram.

    The tree (``est.tree_``, Algorithms 2-4 of "Massively Parallel k-Means
    Clustering for Perturbation Resilient Instances") is cut where it has
    ``n_leaves`` vertices, splitting the highest vertex first; each vertex is
    drawn at the LSH scale at which its candidate cluster formed (never below
    its children's). Leaf labels give the number of samples under each
    vertex; a ``*`` marks a vertex inside one of the clusters the pruning DP
    selected (``tree_.selected``).

    Parameters
    ----------
    est : fitted LSHTreeKMeans or LSHTreeKMedian (local engine)
    n_leaves : int, default=30
        Vertices at the bottom of the picture (fewer when the tree is smaller).
    ax : matplotlib Axes, optional
    orientation : {"top", "bottom", "left", "right"}, default="top"
        Where the root is drawn (scipy's ``dendrogram``).

    Returns
    -------
    ax : matplotlib Axes
        ``min(n_leaves, tree_.n_nodes)`` leaves and one link (a U-shaped line)
        per merge above them.
    """
    from scipy.cluster.hierarchy import dendrogram

    t = getattr(est, "tree_", None)
    if t is None:
        raise ValueError("est has no tree_: fit it with the local engine first (the spark engine keeps no tree).")
    if isinstance(n_leaves, bool) or not isinstance(n_leaves, (int, np.integer)) or n_leaves < 2:
        raise ValueError("n_leaves must be an integer >= 2.")
    leaves, h = _top_of_tree(t, int(n_leaves))
    children = np.asarray(t.children)
    size = np.asarray(t.size)
    ax = _axes(ax)
    if len(leaves) < 2:  # a one-vertex tree: nothing to join
        ax.bar([0], [0.0])
        ax.set_xticks([0], [f"{int(size[leaves[0]])}"])
        return ax
    # inside a selected cluster: under (or equal to) one of the selected vertices
    parent = np.asarray(t.parent)
    selected = set(int(s) for s in np.asarray(t.selected))
    inside = []
    for v in leaves:
        u, hit = int(v), False
        while u >= 0 and not hit:
            hit, u = u in selected, int(parent[u])
        inside.append(hit)
    # scipy linkage over the cut: the leaves are 0..p-1, merges numbered p.. in bottom-up order
    index = {v: i for i, v in enumerate(leaves)}
    above = sorted({int(p) for v in leaves for p in _ancestors(parent, v)})  # bottom-up (ids grow upwards)
    rows: list[list[float]] = []
    height = dict.fromkeys(leaves, 0.0)
    count = dict.fromkeys(leaves, 1)  # linkage counts are of the picture's leaves, not of samples
    for v in above:
        a, b = int(children[v, 0]), int(children[v, 1])
        index[v] = len(leaves) + len(rows)
        # never below a child (a dendrogram's links go up)
        height[v] = max(float(h[v]), height[a], height[b])
        count[v] = count[a] + count[b]
        rows.append([index[a], index[b], height[v], count[v]])
    Z = np.asarray(rows, dtype=np.float64)
    labels = [f"{int(size[v])}{'*' if s else ''}" for v, s in zip(leaves, inside)]
    dendrogram(Z, labels=labels, ax=ax, orientation=orientation, color_threshold=0, above_threshold_color="C0",
               leaf_rotation=90 if orientation in ("top", "bottom") else 0)
    axis = ax.set_ylabel if orientation in ("top", "bottom") else ax.set_xlabel
    axis("LSH scale at which the cluster formed")
    ax.set_title(f"Top of the cluster tree ({t.n_nodes} vertices)\nleaves: samples under them (* = in a chosen cluster)")
    return ax


def _ancestors(parent: np.ndarray, v: int):
    u = int(parent[v])
    while u >= 0:
        yield u
        u = int(parent[u])


# ------------------------------------------------------------------------------------ facilities


def facilities(est, graph, *, ax=None, pos=None, draw_edges: bool = True, max_layout_vertices: int = 5000,
               random_state: int | None = 0):
    """A graph fit's open facilities and the vertices each one serves.

    Parameters
    ----------
    est : fitted FacilityLocation, PMedian or PCenter (bigclust.graph)
        Uses ``facilities_`` (open facilities, vertex ids) and ``labels_`` or
        ``assignment_`` (the facility serving each vertex).
    graph : bigclust.graph.Graph
        The graph ``est`` was fitted on. Node coordinates (``graph.coords``,
        shape (n_vertices, 2): x/longitude, y/latitude) make the picture a
        map; without them vertices are placed by networkx's spring layout.
    ax : matplotlib Axes, optional
    pos : array-like of shape (n_vertices, 2), optional
        Vertex positions to use instead of the coordinates or the layout.
    draw_edges : bool, default=True
        Draw the graph's edges (thin grey lines) under the vertices.
    max_layout_vertices : int, default=5000
        A layout of a larger graph is refused (it would take minutes); give
        ``pos`` or coordinates instead.
    random_state : int or None, default=0
        Seed of the spring layout.

    Returns
    -------
    ax : matplotlib Axes
        Collections: the edges (a LineCollection of ``n_edges`` segments,
        when drawn), the vertices (``n_vertices`` points coloured by their
        facility), the facilities (``len(facilities_)`` star markers).
    """
    from matplotlib.collections import LineCollection

    fac = getattr(est, "facilities_", None)
    if fac is None:
        raise ValueError("est is not fitted: call fit first.")
    assign = getattr(est, "labels_", None)
    if assign is None:
        assign = getattr(est, "assignment_", None)
    fac = np.asarray(fac, dtype=np.int64)
    assign = np.asarray(assign, dtype=np.int64)
    n = int(graph.n_vertices)
    if assign.shape != (n,):
        raise ValueError("est was fitted on another graph: its assignment does not have one entry per vertex.")
    if pos is None:
        pos = getattr(graph, "coords", None)
    is_map = pos is not None
    if pos is None:
        if n > max_layout_vertices:
            raise ValueError(f"the graph has {n} vertices and no coordinates; a layout of more than "
                             f"max_layout_vertices={max_layout_vertices} is refused: pass pos=.")
        pos = _layout(graph, random_state)
    pos = np.asarray(pos, dtype=np.float64)
    if pos.shape != (n, 2) or not np.all(np.isfinite(pos)):
        raise ValueError("positions must be finite, of shape (n_vertices, 2).")
    ax = _axes(ax)
    if draw_edges:
        indptr, indices = np.asarray(graph.indptr), np.asarray(graph.indices)
        src = np.repeat(np.arange(n), np.diff(indptr))
        keep = src < indices  # each undirected edge once
        seg = np.stack([pos[src[keep]], pos[indices[keep]]], axis=1)
        ax.add_collection(LineCollection(list(seg), colors="0.8", linewidths=0.5, zorder=1))
    # colour = rank of the serving facility, so neighbouring clusters differ in a qualitative map
    rank = np.searchsorted(fac, assign)
    cmap = "tab20" if fac.size <= 20 else "hsv"
    ax.scatter(pos[:, 0], pos[:, 1], c=rank, cmap=cmap, vmin=0, vmax=max(fac.size - 1, 1), s=8, zorder=2,
               label="vertices (colour: serving facility)")
    ax.scatter(pos[fac, 0], pos[fac, 1], marker="*", s=160, c="black", edgecolors="white", zorder=3,
               label=f"facilities ({fac.size})")
    ax.autoscale_view()
    if is_map:
        ax.set_xlabel("x (longitude)")
        ax.set_ylabel("y (latitude)")
        ax.set_aspect("equal", adjustable="datalim")
    else:
        ax.set_axis_off()
    ax.set_title(f"{type(est).__name__}: {fac.size} facilities, {n} vertices")
    ax.legend(loc="best", fontsize="small")
    return ax


def _layout(graph, random_state) -> np.ndarray:
    try:
        import networkx as nx
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("a graph without coordinates is laid out by networkx: pip install "
                          "'bigclust[networkx]', or pass pos=") from exc
    n = int(graph.n_vertices)
    G = nx.Graph()
    G.add_nodes_from(range(n))
    indptr, indices = np.asarray(graph.indptr), np.asarray(graph.indices)
    src = np.repeat(np.arange(n), np.diff(indptr))
    keep = src < indices
    G.add_edges_from(zip(src[keep].tolist(), indices[keep].tolist()))
    layout = nx.spring_layout(G, seed=random_state)
    return np.asarray([layout[v] for v in range(n)], dtype=np.float64)


# ------------------------------------------------------------------------------- privacy_utility


def privacy_utility(results: Iterable[Mapping[str, Any]] | Any, *, x: str = "epsilon", y: str = "cost",
                    by: str = "method", ax=None, logx: bool = True, logy: bool = False):
    """Utility (cost) against the privacy budget, one line per method.

    Parameters
    ----------
    results : iterable of dicts, or a pandas DataFrame
        One record per run, with the fields named by ``x``, ``y`` and ``by``;
        e.g. the JSON lines of ``benchmarks/private_figure1.py`` (``epsilon``,
        ``cost``, ``method``; summary records, which have ``mean_cost`` and no
        ``cost``, are skipped). Records without ``y`` are skipped; runs at the
        same ``x`` are averaged, with their standard deviation as error bars.
    x, y, by : str
        Field names of the budget, the cost and the method.
    ax : matplotlib Axes, optional
    logx, logy : bool
        Logarithmic axes (epsilon spans orders of magnitude by default).

    Returns
    -------
    ax : matplotlib Axes
        One line (with error bars) per value of ``by``, in the order the
        methods first appear; a legend names them.
    """
    if hasattr(results, "to_dict") and hasattr(results, "columns"):
        results = results.to_dict(orient="records")
    groups: dict[Any, dict[float, list[float]]] = {}
    for rec in results:
        if not isinstance(rec, Mapping):
            raise TypeError("results must be records (dicts) or a DataFrame.")
        if y not in rec or x not in rec:
            continue
        xv, yv = float(rec[x]), float(rec[y])
        if not (math.isfinite(xv) and math.isfinite(yv)):
            raise ValueError(f"results hold a non-finite {x} or {y}.")
        groups.setdefault(rec.get(by, ""), {}).setdefault(xv, []).append(yv)
    if not groups:
        raise ValueError(f"no record has both {x!r} and {y!r}.")
    ax = _axes(ax)
    for method, pts in groups.items():
        xs = np.array(sorted(pts))
        means = np.array([np.mean(pts[v]) for v in xs])
        stds = np.array([np.std(pts[v]) if len(pts[v]) > 1 else 0.0 for v in xs])
        ax.errorbar(xs, means, yerr=stds if np.any(stds > 0) else None, marker="o", capsize=3, label=str(method))
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(f"privacy budget {x}")
    ax.set_ylabel(y)
    ax.set_title("Privacy-utility trade-off")
    ax.legend(fontsize="small")
    return ax
