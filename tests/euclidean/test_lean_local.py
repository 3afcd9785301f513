"""The local engine's memory-lean paths give the bits of the plain computations.

The tree builder reads the hashed points from the input rows (``X[rows] - center``)
and recomputes each scale's projections with fused multiply-adds instead of storing
BLAS projections; the k-means node weights keep only one path's means; duplicates
are found without a normalised copy of X. Each must give exactly what the plain
computation gives.
"""

import numpy as np
import pytest

import bigclust.lshtree.hierarchy as H
from bigclust import LSHTreeKMeans
from bigclust._core.dedup import unique_rows
from bigclust.datasets import make_planted_mixture
from bigclust.lshtree._kernels.node_stats import kmeans_weights, vertex_means
from bigclust.lshtree._kernels.projection import hashed_points, matches_blas, projected_keys
from bigclust.lshtree._kernels.separation import separation_lower_bound
from bigclust.lshtree.hierarchy import build_hierarchy, kmeans_node_stats
from bigclust.lshtree.lsh import MULTIPLIERS, PROJECT_CHUNK, bucket_keys, draw_pstable
from bigclust.lshtree.pruning import exact_dp

_TREE_FIELDS = ("left", "right", "parent", "size", "scale", "auxiliary", "depth")


def _same_bits(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def _points(n, d, dtype, seed):
    rng = np.random.default_rng(seed)
    X = (rng.standard_normal((n + 7, d)) * rng.uniform(0.1, 30, d) + rng.integers(0, 5, (n + 7, 1)) * 9.0)
    X = X.astype(dtype)
    rows = rng.permutation(n + 7)[:n]
    center = np.asarray(X[rows], np.float64).mean(axis=0)
    return X, rows, center


@pytest.mark.parametrize("n,d,dtype,t,m", [(900, 16, np.float64, 10, 10), (700, 3, np.float32, 4, 7),
                                           (300, 40, np.float64, 3, 5), (70_000, 2, np.float64, 2, 3)])
def test_recomputed_keys_are_the_keys_of_the_blas_projections(n, d, dtype, t, m):
    X, rows, center = _points(n, d, dtype, seed=n)
    Y = np.ascontiguousarray(X[rows], np.float64) - center
    G = np.empty_like(Y)
    hashed_points(X, rows.astype(np.int32), center, G)
    assert _same_bits(G, Y)
    lsh = draw_pstable(d, t, m, 4.0, np.random.default_rng(1))
    Z = lsh.project(Y)
    offsets = np.random.default_rng(2).random((t, m))
    inv = 1.0 / (0.37 * 4.0)
    ref = np.empty((t, n), np.uint64)
    for j in range(t):
        bucket_keys(Z, j * m, m, inv, offsets[j], MULTIPLIERS, ref[j])
    if not matches_blas(Y, X, rows, center, lsh.directions, PROJECT_CHUNK):
        pytest.skip("this BLAS does not compute its products as FMA chains (the builder stores them)")
    for r, c, pts in ((rows, center, X), (None, None, Y)):
        keys = np.zeros((t, n), np.uint64)
        projected_keys(pts, r, c, lsh.directions, inv, offsets, t, m, MULTIPLIERS, keys)
        assert _same_bits(keys, ref)
    part = np.zeros((t, n), np.uint64)
    projected_keys(X, rows, center, lsh.directions, inv, offsets, 1, m, MULTIPLIERS, part)
    assert _same_bits(part[0], ref[0]) and not part[1:].any()


@pytest.mark.parametrize("recompute", [True, False])
@pytest.mark.parametrize("case", ["planted", "float32", "few_projections", "blobs"])
def test_tree_from_rows_equals_tree_from_the_centred_copy(monkeypatch, recompute, case):
    rng = np.random.default_rng(5)
    kw = {}
    if case == "planted":
        X = make_planted_mixture(3000, 6, 12, random_state=3)[0]
    elif case == "float32":
        X = (rng.standard_normal((1500, 4)) * 5).astype(np.float32)
    elif case == "few_projections":
        X = rng.standard_normal((1200, 3))
        kw = dict(n_hashes=3, n_projections=5, scale_ratio=1.3)
    else:  # well-separated groups: empty scales are skipped with the separation bound
        X = rng.uniform(0, 60, (6, 5)).repeat(150, axis=0) + rng.standard_normal((900, 5))
    rows = rng.permutation(X.shape[0])[: X.shape[0] - 5]
    center = np.asarray(X[rows], np.float64).mean(axis=0)
    Y = np.ascontiguousarray(X[rows], np.float64) - center
    plain = build_hierarchy(Y, random_state=np.random.default_rng(0), **kw)
    monkeypatch.setattr(H, "_RECOMPUTE_PROJECTIONS", recompute)
    lean = build_hierarchy(X, rows=rows.astype(np.int32), center=center, random_state=np.random.default_rng(0), **kw)
    for f in _TREE_FIELDS:
        assert _same_bits(getattr(lean, f), getattr(plain, f)), f
    info = {k: v for k, v in lean.info.items() if k != "projections"}
    assert info == {k: v for k, v in plain.info.items() if k != "projections"}
    if case == "blobs":
        assert lean.info["scales_skipped"] > 0


def test_separation_bound_from_rows_equals_bound_from_the_copy():
    X, rows, center = _points(600, 4, np.float64, seed=9)
    Y = np.ascontiguousarray(X[rows]) - center
    lab = (np.arange(600) // 150 * 150).astype(np.int32)
    assert separation_lower_bound(X, lab, 64, rows, center) == separation_lower_bound(Y, lab, 64)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_kmeans_weights_and_vertex_means_equal_kmeans_node_stats(dtype):
    X, rows, center = _points(30_000, 5, dtype, seed=4)  # large enough to be split between threads
    Xu = np.ascontiguousarray(X[rows], np.float64)
    w = np.random.default_rng(1).uniform(0.5, 3, Xu.shape[0])
    tree = build_hierarchy(Xu - center, random_state=np.random.default_rng(0))
    W0, sse0, means0 = kmeans_node_stats(tree, Xu, w)
    W, sse = kmeans_weights(X, rows, w, tree.left, tree.right, tree.size, tree.n_leaves, tree.depth)
    assert _same_bits(W, W0) and _same_bits(sse, sse0)
    for vertices in ([tree.root], [tree.left[tree.root], tree.right[tree.root]], exact_dp(tree, sse, 60)[0]):
        vertices = np.asarray(vertices, np.int64)  # disjoint subtrees (the last: a pruning)
        M = vertex_means(X, rows, tree.left, tree.right, tree.size, tree.n_leaves, tree.depth, W, sse, vertices)
        ref = np.array([Xu[v] if v < tree.n_leaves else means0[v - tree.n_leaves] for v in vertices])
        assert _same_bits(M, ref)
    assert _same_bits(W, W0) and _same_bits(sse, sse0)  # rewritten with the same values


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_unique_rows_reads_negative_zero_as_zero_without_a_copy(dtype):
    rng = np.random.default_rng(0)
    X = (rng.integers(-2, 3, (4000, 3)) * rng.choice([1.0, 0.5], (4000, 3))).astype(dtype)
    X[::5, 1] = -0.0
    first, inverse = unique_rows(X)
    assert np.array_equal(X[first][inverse] + 0.0, X + 0.0)
    # the order is that of the bytes of X + 0.0, as if the copy had been hashed
    Xn = X + 0.0
    flipped = np.where(X == 0, -0.0, X).astype(dtype)
    f2, i2 = unique_rows(flipped)
    assert np.array_equal(first, f2) and np.array_equal(inverse, i2)
    assert len(np.unique(Xn, axis=0)) == len(first)


@pytest.mark.parametrize("weights", ["none", "zeros"])
def test_fit_with_recomputed_projections_equals_fit_with_stored(monkeypatch, weights):
    X = make_planted_mixture(4000, 8, 20, random_state=2)[0]
    X[3000:3100] = X[:100]  # duplicates
    sw = None
    if weights == "zeros":
        sw = np.random.default_rng(0).uniform(0, 2, X.shape[0])
        sw[::17] = 0.0
    fits = []
    for recompute in (False, True):
        monkeypatch.setattr(H, "_RECOMPUTE_PROJECTIONS", recompute)
        est = LSHTreeKMeans(20, random_state=0, refine=0).fit(X, sample_weight=sw)
        assert est.report_["tree_info"]["projections"] == ("recomputed" if recompute else "stored")
        fits.append(est)
    a, b = fits
    for f in ("parent", "children", "size", "weight", "cost", "scale", "auxiliary", "leaf_of_sample", "selected"):
        assert _same_bits(getattr(a.tree_, f), getattr(b.tree_, f)), f
    assert _same_bits(a.labels_, b.labels_) and _same_bits(a.cluster_centers_, b.cluster_centers_)
    assert a.inertia_ == b.inertia_
