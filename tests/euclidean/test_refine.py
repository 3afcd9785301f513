"""The default refinement: pruned k-means++ seeding and Lloyd passes against dense oracles.

Claims checked: every assignment step gives each point a nearest centre (brute force over all
centres), including after arbitrary centre moves carried by the drift bounds; no Lloyd pass raises
the cost; the seeding's distances and groups are those of brute force, its candidate gains equal
the dense formula and its draws follow k-means++'s distribution (chi-square); the default fit is
never worse than the tree's answer, never degenerate on non-resilient data, as good as scikit-learn's
``KMeans`` there, and still the planted partition on resilient data; ``report_`` names the path.
"""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chisquare
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

import bigclust.lshtree._local as local_engine
import bigclust.lshtree._params as P
from bigclust import LSHTreeKMeans
from bigclust.datasets import make_planted_mixture
from bigclust.lshtree import refine as R
from bigclust.lshtree._kernels import lloyd as K
from bigclust.lshtree import DegenerateClusteringWarning


def _nearest_sq(X, C):
    return ((X[:, None, :] - C[None, :, :]) ** 2).sum(axis=2).min(axis=1)


def _assigned_sq(X, C, labels):
    return ((X - C[labels]) ** 2).sum(axis=1)


# --------------------------------------------------------------------------- assignment


@settings(max_examples=50, deadline=None)
@given(n=st.integers(1, 300), d=st.integers(1, 6), k=st.integers(2, 150), moves=st.integers(1, 6),
       seed=st.integers(0, 2**31 - 1), dup=st.booleans(), defer=st.booleans())
def test_every_assignment_step_gives_a_nearest_centre(n, d, k, moves, seed, dup, defer):
    """Arbitrary centre moves (some large, some none) between passes; after each pass every
    point's centre is at the brute-force nearest distance (ties may pick either centre), with
    full scans made in the kernel or deferred to matrix products."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * rng.uniform(0.1, 10, size=d)
    C = rng.standard_normal((k, d))
    if dup:
        C[k // 2] = C[0]  # equal centres: ties
    labels = rng.integers(0, k, n).astype(np.int64)  # any guess
    t = min(R._CANDIDATES, k - 1)
    upper, lower = np.full(n, np.inf), np.zeros(n)
    cand, rest = np.full((n, t), -1, np.int32), np.full(n, -np.inf)
    cand_key, cum = np.full((n, t), -np.inf), np.zeros(k)
    lists = R._NeighbourLists(k)
    lists.m = min(int(rng.integers(0, 9)), k - 1)  # short lists force the full-scan path too
    drift, stats = np.zeros(k), np.zeros(5, np.int64)
    deferred = np.zeros(n if defer else 0, np.uint8)
    for _ in range(moves):
        nb_lb, beyond_lb, half_sep = lists.bounds(C, int(stats[2]))
        nd, bn = lists.near_drift(drift, nb_lb, beyond_lb)
        K.assign_pass(X, C, labels, upper, lower, cand, cand_key, cum, rest, drift, nd, bn, lists.ids, nb_lb, beyond_lb,
                      half_sep, R.SEARCH_MARGIN, stats, deferred)
        R._assign_deferred(X, R._row_norms(X), C, deferred, labels, upper, lower, cand, cand_key, cum, rest, stats)
        np.testing.assert_allclose(_assigned_sq(X, C, labels), _nearest_sq(X, C), rtol=1e-12, atol=1e-12)
        # the bounds the next pass relies on hold
        dist = np.sqrt(((X[:, None, :] - C[None, :, :]) ** 2).sum(axis=2))
        own = dist[np.arange(n), labels]
        assert np.all(upper >= own * (1 - 1e-12) - 1e-12)
        others = dist.copy()
        others[np.arange(n), labels] = np.inf
        assert np.all(lower <= others.min(axis=1) * (1 + 1e-12) + 1e-12)
        known = cand >= 0
        rows = np.nonzero(known)[0]
        # each candidate's lazy bound, and rest for every centre but the label and the candidates
        lb = cand_key[known] - cum[cand[known]]
        assert np.all(lb <= dist[rows, cand[known]] * (1 + 1e-12) + 1e-12)
        for i in range(n):
            outside = np.setdiff1d(np.arange(k), np.append(cand[i][cand[i] >= 0], labels[i]))
            if outside.size:
                assert rest[i] <= dist[i, outside].min() * (1 + 1e-12) + 1e-12
        step = rng.standard_normal((k, d)) * rng.choice([0.0, 0.01, 1.0], size=(k, 1))
        new = C + step
        drift = np.sqrt(((new - C) ** 2).sum(axis=1))
        lists.moved += drift
        cum += drift
        C = new


@pytest.mark.parametrize("mode", ["pruned", "blas", "blas-retry", "full-retry", "deferred"])
@pytest.mark.parametrize("d,k", [(2, 40), (8, 60), (30, 12)])
def test_lloyd_passes_never_raise_the_cost_and_end_at_nearest_centres(d, k, mode, monkeypatch):
    """Pruned passes, and the BLAS or compiled full passes a run switches to where pruning
    does not pay, all give exact nearest centres and never raise the cost. Forced here:
    BLAS passes throughout ("blas"), or full passes alternating with pruned ones that must
    start from the bounds a full pass leaves ("-retry"), or pruned passes with short neighbour
    lists whose full scans go to matrix products ("deferred")."""
    monkeypatch.setattr(R, "DENSE_SWITCH", 2.0 if mode in ("pruned", "deferred") else -1.0)
    monkeypatch.setattr(R, "DEFER_MIN_DIM", 1 if mode == "deferred" else 10**9)
    if mode == "deferred":
        monkeypatch.setattr(R, "_NEIGHBOURS", 3)
    monkeypatch.setattr(R, "DENSE_MIN_DIM", 1 if mode == "blas" else 10**9)
    monkeypatch.setattr(R, "BLAS_SEEDING_MAX_K", k if mode == "blas" else 0)  # BLAS from the first pass, or never
    monkeypatch.setattr(R, "BLAS_MIN_DIM", 10**9 if mode == "full-retry" else 1)
    dense = mode.startswith("blas")
    rng = np.random.default_rng(d * k)
    X = rng.standard_normal((1500, d))
    w = rng.uniform(0.1, 3, 1500)
    start = X[rng.choice(1500, k, replace=False)]
    labels, C, inertia, info = R.lloyd(X, w, start, np.zeros(1500, np.int64), 300, 0.0)
    np.testing.assert_array_equal(K.point_costs(X, C, labels), K.brute_nearest(X, C)[1])  # same sums, exactly
    costs = [float(w @ _nearest_sq(X, start))] + info["costs"]
    assert all(b <= a * (1 + 1e-12) for a, b in zip(costs, costs[1:]))
    np.testing.assert_allclose(_assigned_sq(X, C, labels), _nearest_sq(X, C), rtol=1e-12)
    assert inertia == pytest.approx(float(w @ _assigned_sq(X, C, labels)), rel=1e-12)
    assert (info["dense_passes"] > 0) == dense
    assert (info["full_passes"] > 0) == (mode == "full-retry")
    if mode.endswith("retry"):
        assert info["list_scans"] + info["full_scans"] + info["settled_by_candidates"] > 0  # pruned passes ran too
    if mode == "deferred":
        assert info["full_scans"] > 0  # searches went to matrix products
    # the same passes as a dense Lloyd (scikit-learn's, from the same start, to convergence)
    km = KMeans(k, init=start, n_init=1, max_iter=300, tol=0.0, algorithm="lloyd").fit(X, sample_weight=w)
    assert inertia == pytest.approx(km.inertia_, rel=1e-9)


# --------------------------------------------------------------------------- seeding


@settings(max_examples=30, deadline=None)
@given(n=st.integers(2, 200), d=st.integers(1, 5), seed=st.integers(0, 2**31 - 1), data=st.data())
def test_seeding_distances_and_groups_are_brute_force(n, d, seed, data):
    rng = np.random.default_rng(seed)
    X = np.unique(np.round(rng.standard_normal((n, d)), 3), axis=0)
    k = data.draw(st.integers(1, X.shape[0]))
    w = rng.uniform(0.1, 2, X.shape[0])
    centers, group, dist = R.kmeanspp(X, w, k, rng)
    assert np.unique(centers, axis=0).shape[0] == k  # distinct seeds
    np.testing.assert_allclose(dist**2, _nearest_sq(X, centers), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(_assigned_sq(X, centers, group), dist**2, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("k", [1, 7, R.BLAS_SEEDING_MAX_K])
def test_blas_seeding_in_high_dimension_gives_exact_groups(k):
    """From d = DENSE_MIN_DIM and up to BLAS_SEEDING_MAX_K, seeds come from scikit-learn's BLAS
    k-means++; groups and distances still come out exact (ties between seeds aside)."""
    rng = np.random.default_rng(k)
    X = rng.standard_normal((600, R.DENSE_MIN_DIM + 3))
    w = rng.uniform(0.1, 2, 600)
    centers, group, dist = R.kmeanspp(X, w, k, np.random.default_rng(5))
    assert np.unique(centers, axis=0).shape[0] == k
    assert all((X == c).all(axis=1).any() for c in centers)  # seeds are data points
    np.testing.assert_allclose(dist**2, _nearest_sq(X, centers), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(_assigned_sq(X, centers, group), dist**2, rtol=1e-12, atol=1e-15)
    again = R.kmeanspp(X, w, k, np.random.default_rng(5))
    np.testing.assert_array_equal(again[0], centers)  # the generator decides the seeds


def test_candidate_gains_equal_the_dense_formula():
    """The pruned gain sum_x w max(0, D^2 - |x - c|^2) of every point as a candidate, mid-seeding."""
    rng = np.random.default_rng(1)
    X = rng.standard_normal((400, 3)) * [1, 4, 0.5]
    w = rng.uniform(0.5, 2, 400)
    k = 25
    seeds, group, D2 = K.kmeanspp_pruned(X, w, k, 3, rng.random(1 + (k - 1) * 3))
    # rebuild the group segments as the kernel keeps them (decreasing distance within a group)
    order = np.lexsort((-D2, group))
    pool = order.astype(np.int64)
    counts = np.bincount(group, minlength=k)
    end = np.cumsum(counts).astype(np.int64)
    start = (end - counts).astype(np.int64)
    cands = np.arange(400, dtype=np.int64)
    dc = np.empty((400, k))
    R2 = np.array([D2[pool[start[b]]] if end[b] > start[b] else 0.0 for b in range(k)])
    gain = K._evaluate(X, w, D2, X[seeds], R2, k, pool, start, end, cands, dc)
    dense = (w[None, :] * np.maximum(0.0, D2[None, :] - ((X[:, None, :] - X[None, :, :]) ** 2).sum(axis=2))).sum(axis=1)
    np.testing.assert_allclose(gain, dense, rtol=1e-10, atol=1e-12)


def test_seeding_draws_follow_the_kmeanspp_distribution():
    """With one candidate per step the seeding is plain k-means++: first seed with probability
    w_i / W, second w_j D(j)^2 / sum w D^2. Chi-square over the 20 ordered pairs of 5 points."""
    X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 3.0], [5.0, 5.0], [-2.0, 1.0]])
    w = np.array([1.0, 2.0, 0.5, 1.0, 3.0])
    d2 = ((X[:, None] - X[None]) ** 2).sum(axis=2)
    expected = (w[:, None] / w.sum()) * (w[None, :] * d2) / (d2 @ w)[:, None]
    rng = np.random.default_rng(0)
    draws = 20000
    counts = np.zeros((5, 5))
    for _ in range(draws):
        seeds, _, _ = K.kmeanspp_pruned(X, w, 2, 1, rng.random(2))
        counts[seeds[0], seeds[1]] += 1
    off = ~np.eye(5, dtype=bool)
    assert counts[~off].sum() == 0
    _, p = chisquare(counts[off], expected[off] * draws)
    assert p > 1e-3


# --------------------------------------------------------------------------- the default fit


@pytest.mark.parametrize("seed", range(4))
def test_default_fit_on_non_resilient_data_is_never_worse_nor_degenerate(seed):
    rng = np.random.default_rng(seed)
    X = [rng.standard_normal((1500, 5)), rng.uniform(size=(1500, 3)), rng.standard_t(2, size=(1500, 4))][seed % 3]
    k = [2, 7, 20, 60][seed]
    tree = LSHTreeKMeans(k, refine=0, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateClusteringWarning)
        tree.fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DegenerateClusteringWarning)
        est = LSHTreeKMeans(k, random_state=seed).fit(X)
    assert est.inertia_ <= tree.inertia_ * (1 + 1e-12)
    assert np.bincount(est.labels_, minlength=k).max() < 0.9 * X.shape[0]
    sk = np.mean([KMeans(k, random_state=s).fit(X).inertia_ for s in range(3)])
    assert est.inertia_ <= 1.01 * sk
    assert est.report_["answer"].endswith("+lloyd")


def test_planted_data_stays_exact_with_the_defaults():
    X, y, _ = make_planted_mixture(3000, 10, 12, random_state=2)
    tree = LSHTreeKMeans(12, refine=0, random_state=0).fit(X)
    est = LSHTreeKMeans(12, random_state=0).fit(X)
    assert adjusted_rand_score(y, est.labels_) == 1.0 == adjusted_rand_score(y, tree.labels_)
    assert est.inertia_ <= tree.inertia_ * (1 + 1e-9)
    assert est.report_["answer"] in ("tree", "tree+lloyd", "kmeans+++lloyd")


def test_report_names_the_path_and_only_dps_that_ran(monkeypatch):
    X, _, _ = make_planted_mixture(800, 4, 5, random_state=1)
    raw = LSHTreeKMeans(5, refine=0, random_state=0).fit(X)
    assert raw.report_["answer"] == "tree" and raw.report_["refine"] is None
    monkeypatch.setattr(P, "EXACT_MAX_ENTRIES", 10)  # forces the approximate DPs
    est = LSHTreeKMeans(5, refine=0, random_state=0).fit(X)
    dp = est.report_["dp"]
    if dp["lagrangian"]["exact"]:  # the certificate answered: Algorithm 6 did not run
        assert est.report_["method"] == "lagrangian" and dp["ran"] == ["lagrangian"] and "step" not in dp
    appr = LSHTreeKMeans(5, method="approx", refine=0, random_state=0).fit(X)
    assert appr.report_["method"] == "approx" and "step" in appr.report_["dp"]


def test_degenerate_tree_answer_is_never_returned_silently(monkeypatch):
    X = np.random.default_rng(0).standard_normal((1000, 8))
    with pytest.warns(DegenerateClusteringWarning, match="one of its 3 clusters"):
        LSHTreeKMeans(3, refine=0, random_state=0).fit(X)
    monkeypatch.setattr(local_engine, "AUTO_MAX_CENTRE_WORK", 1.0)  # refine="auto" over budget
    with pytest.warns(DegenerateClusteringWarning, match="over budget"):
        est = LSHTreeKMeans(3, random_state=0).fit(X)
    assert est.report_["refine"]["skipped"] and est.report_["answer"] == "tree"


def test_refine_auto_is_deterministic_and_reports_passes():
    X = np.random.default_rng(5).uniform(size=(3000, 2))
    a = LSHTreeKMeans(150, random_state=3).fit(X)
    b = LSHTreeKMeans(150, random_state=3).fit(X)
    assert np.array_equal(a.labels_, b.labels_) and np.array_equal(a.cluster_centers_, b.cluster_centers_)
    r = a.report_["refine"]
    assert r["mode"] == "auto" and r["passes"]["kmeans++"] >= 1
    assert a.report_["answer"] == r["answer"]


def test_elbow_curve_refines_prefixes_of_one_seeding():
    from bigclust.lshtree import elbow_curve

    rng = np.random.default_rng(7)
    X = np.vstack([rng.standard_normal((300, 3)) + c for c in ([0, 0, 0], [8, 0, 0], [0, 8, 0], [8, 8, 8])])
    ks = [1, 2, 4, 6, 10]
    costs = elbow_curve(X, ks, random_state=1)
    assert costs[0] == pytest.approx(((X - X.mean(axis=0)) ** 2).sum(), rel=1e-12)
    seeds, _, _ = R.kmeanspp(X, np.ones(len(X)), 10, np.random.default_rng(1))  # the same seeding
    for k, cost in zip(ks, costs):
        assert cost <= float(_nearest_sq(X, seeds[:k]).sum()) * (1 + 1e-12)  # Lloyd from the prefix
    assert costs[2] < 0.2 * costs[1] and costs[3] > 0.8 * costs[2]  # the elbow at the 4 planted blobs
    with pytest.raises(ValueError, match="n_clusters"):
        elbow_curve(X, [0, 2])


@settings(max_examples=40, deadline=None)
@given(k=st.integers(1, 60), d=st.integers(1, 4), m_frac=st.floats(0, 1), seed=st.integers(0, 2**31 - 1),
       grid=st.booleans())
def test_centre_neighbour_lists_are_the_nearest_others(k, d, m_frac, seed, grid):
    """Each list holds ``m`` nearest other centres, sorted, with exact distances, and ``beyond``
    is the (m + 1)-th smallest distance (every unlisted centre is at least that far)."""
    rng = np.random.default_rng(seed)
    C = rng.integers(0, 2, (k, d)).astype(float) if grid else rng.standard_normal((k, d))
    m = int(round(m_frac * (k - 1)))
    ids, dist, beyond = K.centre_neighbours(C, m)
    D = np.sqrt(((C[:, None, :] - C[None, :, :]) ** 2).sum(axis=2))
    np.fill_diagonal(D, np.inf)
    for i in range(k):
        true = np.sort(D[i])
        np.testing.assert_allclose(dist[i], true[:m], rtol=1e-12)
        assert i not in ids[i] and len(set(ids[i].tolist())) == m
        np.testing.assert_allclose(D[i, ids[i]], dist[i], rtol=1e-12)
        assert beyond[i] == (true[m] if m < k - 1 else np.inf) or np.isclose(beyond[i], true[m])
        unlisted = np.setdiff1d(np.delete(np.arange(k), i), ids[i])
        if unlisted.size:
            assert D[i, unlisted].min() >= beyond[i] * (1 - 1e-12)


# --------------------------------------------------------------------------- seeding from the tree


@settings(max_examples=25, deadline=None)
@given(n=st.integers(5, 400), m=st.integers(1, 400), seed=st.integers(0, 2**31 - 1))
def test_tree_coreset_is_the_smallest_sse_cut_within_m(n, m, seed):
    """The cut partitions the leaves, has at most m vertices (unless the roots alone are more), and
    the next smaller SSE threshold would leave more than m (brute force over every threshold)."""
    from bigclust.lshtree.hierarchy import build_hierarchy

    rng = np.random.default_rng(seed)
    X = np.unique(rng.standard_t(2, (n, 3)), axis=0)
    tree = build_hierarchy(X, n_hashes=2, n_projections=3, bucket_width=4.0, scale_ratio=2.0, edge_factor=2.0,
                           random_state=rng)
    W, sse = local_engine.kmeans_weights(X, None, np.ones(X.shape[0]), tree.left, tree.right, tree.size,
                                         tree.n_leaves, tree.depth)
    cut = R.tree_coreset(tree.parent, sse, m)
    labels = local_engine.labels_from_pruning(tree, cut)  # raises unless the cut partitions the leaves
    assert np.unique(labels).shape[0] == cut.shape[0]
    roots = int(np.count_nonzero(tree.parent < 0))
    assert cut.shape[0] <= max(m, roots)

    def cut_at(tau):
        pc = np.array([sse[p] if p >= 0 else np.inf for p in tree.parent])
        return np.flatnonzero((sse <= tau) & (pc > tau))

    taus = np.unique(sse)
    sizes = [cut_at(t).shape[0] for t in taus]
    best = min((t for t, c in zip(taus, sizes) if c <= m), default=taus[-1])
    np.testing.assert_array_equal(cut, cut_at(best))


def test_coreset_seeding_keeps_far_groups_and_reports_the_start_cost(monkeypatch):
    """Seeding from the tree's coreset (forced on small data): remote groups of a few points stay
    coreset rows of their own, so the refined answer gives them centres as full seeding does
    (a uniform sample of this size would miss them); the reported start cost is the exact cost of
    the start partition (each point at its vertex's seed) by brute force; the answer is within 1%
    of scikit-learn's mean of 3 seeds."""
    rng = np.random.default_rng(5)
    bulk = rng.uniform(size=(3000, 3))
    far = np.concatenate([rng.normal(c, 0.01, (3, 3)) for c in (50.0, -60.0, 80.0)])
    X = np.concatenate([bulk, far])
    monkeypatch.setattr(R, "SEEDING_MIN_ROWS", 200)
    monkeypatch.setattr(R, "SEEDING_PER_CENTRE", 10)
    seen = {}
    real_run = R._run

    def spy(name, start, guess, Xu, wu, *args):
        seen[name] = float(np.dot(wu, ((Xu - start[guess]) ** 2).sum(axis=1)))
        return real_run(name, start, guess, Xu, wu, *args)

    monkeypatch.setattr(R, "_run", spy)
    est = LSHTreeKMeans(12, random_state=0).fit(X)
    info = est.report_["refine"]
    assert info["seeding"]["coreset"] <= 200
    assert np.isclose(info["start_costs"]["kmeans++"], seen["kmeans++"], rtol=1e-9)
    far_labels = est.labels_[3000:]
    assert not np.isin(far_labels, est.labels_[:3000]).any()  # the far groups have centres of their own
    sk = np.mean([KMeans(12, random_state=s).fit(X).inertia_ for s in range(3)])
    assert est.inertia_ <= 1.01 * sk


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 200), d=st.integers(1, 6), k=st.integers(2, 60), seed=st.integers(0, 2**31 - 1),
       offset=st.sampled_from([0.0, 1e3]), dup=st.booleans())
def test_full_and_dense_passes_leave_valid_bounds_and_candidates(n, d, k, seed, offset, dup):
    """After a compiled full pass or a BLAS pass: labels are the nearest centres, ``upper`` bounds
    the own distance, ``lower`` every other, and ``rest`` every centre but the label and the
    candidates (brute force); far-off data (offset) stresses the products' rounding margin."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) + offset
    C = rng.standard_normal((k, d)) + offset
    if dup:
        C[k // 2] = C[0]
    t = min(R._CANDIDATES, k - 1)
    dist = np.sqrt(((X[:, None, :] - C[None, :, :]) ** 2).sum(axis=2))
    for mode in ("full", "dense"):
        labels = rng.integers(0, k, n).astype(np.int64)
        upper, lower, rest = np.empty(n), np.empty(n), np.empty(n)
        cand = np.full((n, t), -7, np.int32)
        cand_key, cum = np.full((n, t), np.nan), rng.uniform(0, 1, k)
        stats = np.zeros(5, np.int64)
        if mode == "full":
            K.full_pass(X, C, labels, upper, lower, cand, cand_key, cum, rest, stats)
        else:
            R._dense_assign(X, R._row_norms(X), C, labels, upper, lower, cand, rest, stats, cand_key, cum)
        own = dist[np.arange(n), labels]
        np.testing.assert_allclose(own, dist.min(axis=1), rtol=1e-12, atol=1e-12)
        assert np.all(upper >= own * (1 - 1e-12) - 1e-12)
        others = dist.copy()
        others[np.arange(n), labels] = np.inf
        assert np.all(lower <= others.min(axis=1) * (1 + 1e-12) + 1e-12)
        assert np.all(cand_key - cum[cand] <= dist[np.arange(n)[:, None], cand] * (1 + 1e-12) + 1e-12)
        for i in range(n):
            assert np.all((cand[i] >= 0) & (cand[i] < k)) and labels[i] not in cand[i]
            assert len(set(cand[i].tolist())) == t
            outside = np.setdiff1d(np.arange(k), np.append(cand[i], labels[i]))
            if outside.size:
                assert rest[i] <= dist[i, outside].min() * (1 + 1e-12) + 1e-12
