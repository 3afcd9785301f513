"""bigclust.plot: each picture rendered with the Agg backend, and what it drew checked against the model."""

from __future__ import annotations

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.collections import LineCollection, PathCollection  # noqa: E402

from bigclust import LSHTreeKMeans, LSHTreeKMedian, plot  # noqa: E402
from bigclust.datasets import make_planted_mixture  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def fitted():
    X, _, _ = make_planted_mixture(400, 3, 5, random_state=2)
    return X, LSHTreeKMeans(5, method="exact", random_state=0).fit(X)


def _segments(ax):
    return [s for c in ax.collections if isinstance(c, LineCollection) for s in c.get_segments()]


# ------------------------------------------------------------------------------------------ elbow


def test_elbow_draws_the_cost_curve_and_the_answer(fitted):
    _, km = fitted
    fig, ax = plt.subplots()
    out = plot.elbow(km, ax=ax)
    assert out is ax
    curve, answer = ax.get_lines()
    np.testing.assert_array_equal(curve.get_xdata(), np.arange(1, 6))
    np.testing.assert_allclose(curve.get_ydata(), km.cost_curve_)
    assert list(answer.get_xdata()) == [5] and answer.get_ydata()[0] == pytest.approx(km.inertia_)
    assert [t.get_text() for t in ax.get_legend().get_texts()][1] == "answer returned (k = 5)"
    fig.canvas.draw()  # renders


def test_elbow_from_elbow_curve_costs_sorted_by_k():
    from bigclust.lshtree import elbow_curve

    X, _, _ = make_planted_mixture(300, 2, 3, random_state=1)
    ks = [4, 1, 2]
    costs = elbow_curve(X, ks, random_state=0)
    ax = plot.elbow(n_clusters=ks, costs=costs, label="k-means++ and Lloyd")
    (line,) = ax.get_lines()
    np.testing.assert_array_equal(line.get_xdata(), [1, 2, 4])
    np.testing.assert_allclose(line.get_ydata(), [costs[1], costs[2], costs[0]])
    assert ax.get_xlabel() == "number of clusters k"


def test_elbow_refuses_what_it_cannot_draw(fitted):
    X, _ = fitted
    approx = LSHTreeKMeans(5, method="approx", random_state=0).fit(X)
    with pytest.raises(ValueError, match="method='exact'"):
        plot.elbow(approx)
    with pytest.raises(ValueError, match="not fitted"):
        plot.elbow(LSHTreeKMeans(3))
    with pytest.raises(ValueError, match="either"):
        plot.elbow()
    with pytest.raises(ValueError, match="same"):
        plot.elbow(n_clusters=[1, 2], costs=[3.0])


# ------------------------------------------------------------------------------------------- tree


def _leaf_sizes(ax):
    return [int(t.get_text().rstrip("*")) for t in ax.get_xticklabels()]


def test_tree_draws_the_top_of_the_hierarchy(fitted):
    X, km = fitted
    t = km.tree_
    ax = plot.tree(km, n_leaves=12)
    sizes = _leaf_sizes(ax)
    assert len(sizes) == 12 and sum(sizes) == X.shape[0]  # the cut partitions the samples
    segs = _segments(ax)
    assert len(segs) == 11  # one link per merge above the 12 leaves
    # links go up: each link's top is at least as high as the tops of the links it joins
    tops = sorted(max(s[:, 1]) for s in segs)
    assert tops[-1] == pytest.approx(max(s[:, 1].max() for s in segs)) and min(min(s[:, 1]) for s in segs) >= 0
    # the highest link is the root, at its scale (finite) or above every scale
    root_scale = t.scale[t.n_nodes - 1]
    if np.isfinite(root_scale):
        assert tops[-1] >= root_scale
    # the chosen clusters: every sample lies under exactly one selected vertex, so the starred
    # leaves (inside a chosen cluster) cover at most all samples, and here (planted data) all
    starred = [t_.get_text().endswith("*") for t_ in ax.get_xticklabels()]
    assert any(starred)
    sel_sizes = t.size[t.selected].sum()
    assert sum(s for s, st in zip(sizes, starred) if st) <= sel_sizes == X.shape[0]


def test_tree_with_more_room_than_vertices_shows_every_leaf():
    X = np.array([[0.0, 0.0], [0.0, 1.0], [10.0, 0.0], [10.0, 1.0], [50.0, 50.0]])
    km = LSHTreeKMedian(2, random_state=0).fit(X)
    ax = plot.tree(km, n_leaves=100)
    sizes = _leaf_sizes(ax)
    assert sorted(sizes) == [1] * 5  # the leaves are the five distinct points
    assert len(_segments(ax)) == 4


def test_tree_refuses_without_a_tree_and_bad_sizes(fitted):
    _, km = fitted
    with pytest.raises(ValueError, match="n_leaves"):
        plot.tree(km, n_leaves=1)
    with pytest.raises(ValueError, match="no tree_"):
        plot.tree(LSHTreeKMeans(3))


# ------------------------------------------------------------------------------------- facilities


@pytest.fixture(scope="module")
def city():
    from bigclust.graph import FacilityLocation
    from bigclust.graph.generators import road_like_grid

    rows, cols = 6, 7
    g = road_like_grid(rows, cols, random_state=0)
    est = FacilityLocation(opening_cost=400.0, random_state=0).fit(g)
    xy = np.stack([np.arange(rows * cols) % cols, np.arange(rows * cols) // cols], axis=1).astype(float)
    return g, est, xy


def _points(ax):
    return [c for c in ax.collections if isinstance(c, PathCollection)]


def test_facilities_map_from_coordinates(city):
    g, est, xy = city
    g2 = type(g)(n_vertices=g.n_vertices, indptr=g.indptr, indices=g.indices, weights=g.weights)
    g2.coords = xy  # as the graph readers set it for OSMnx / OSM input
    ax = plot.facilities(est, g2)
    n_edges = g.indices.size // 2
    assert len(_segments(ax)) == n_edges
    vertices, stars = _points(ax)
    np.testing.assert_array_equal(vertices.get_offsets(), xy)
    np.testing.assert_array_equal(stars.get_offsets(), xy[est.facilities_])
    # colour = the serving facility: vertices with one colour are the clients of one facility
    assign = getattr(est, "labels_", getattr(est, "assignment_", None))
    np.testing.assert_array_equal(vertices.get_array(), np.searchsorted(est.facilities_, assign))
    assert ax.get_xlabel().startswith("x") and ax.axison
    ax.figure.canvas.draw()


def test_facilities_layout_without_coordinates(city):
    pytest.importorskip("networkx")
    g, est, _ = city
    ax = plot.facilities(est, g, draw_edges=False)
    assert not _segments(ax) and not ax.axison
    vertices, stars = _points(ax)
    assert len(vertices.get_offsets()) == g.n_vertices and len(stars.get_offsets()) == est.facilities_.size
    with pytest.raises(ValueError, match="pos="):
        plot.facilities(est, g, max_layout_vertices=10)
    with pytest.raises(ValueError, match="shape"):
        plot.facilities(est, g, pos=np.zeros((3, 2)))


def test_facilities_refuses_a_model_of_another_graph(city):
    from bigclust.graph import PMedian
    from bigclust.graph.generators import road_like_grid

    g, _, _ = city
    other = PMedian(2, random_state=0).fit(road_like_grid(3, 3, random_state=0))
    with pytest.raises(ValueError, match="another graph"):
        plot.facilities(other, g, pos=np.zeros((g.n_vertices, 2)))


# -------------------------------------------------------------------------------- privacy_utility


def _records():
    recs = []
    for method, base in (("ours_local", 1.0), ("naive_laplace_ball", 3.0)):
        for eps in (4.0, 0.5, 1.0):
            for run in range(2):
                recs.append({"method": method, "epsilon": eps, "run": run, "cost": base / eps + run})
    recs.append({"summary": True, "method": "ours_local", "epsilon": 1.0, "mean_cost": 9.9})  # skipped
    return recs


def test_privacy_utility_one_line_per_method_averaging_runs():
    ax = plot.privacy_utility(_records())
    data = [c.lines[0] for c in ax.containers]  # one error-bar container per method: its data line
    assert len(data) == 2
    np.testing.assert_array_equal(data[0].get_xdata(), [0.5, 1.0, 4.0])
    np.testing.assert_allclose(data[0].get_ydata(), [1 / 0.5 + 0.5, 1.0 + 0.5, 0.25 + 0.5])
    np.testing.assert_allclose(data[1].get_ydata(), [3 / 0.5 + 0.5, 3.0 + 0.5, 0.75 + 0.5])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["ours_local", "naive_laplace_ball"]
    assert ax.get_xscale() == "log"


def test_privacy_utility_from_a_dataframe_and_the_benchmark_file():
    pd = pytest.importorskip("pandas")
    ax = plot.privacy_utility(pd.DataFrame([r for r in _records() if "cost" in r]), logx=False)
    assert ax.get_xscale() == "linear" and len(ax.get_legend().get_texts()) == 2
    with pytest.raises(ValueError, match="no record"):
        plot.privacy_utility([{"epsilon": 1.0}])
    with pytest.raises(TypeError, match="records"):
        plot.privacy_utility([1, 2])
