"""Tests for bigclust.datasets: the Section 5.1 generator, planted_cost, zscore and
the real-data loaders (shapes and class counts from shared/data/README.md)."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.cluster import KMeans

import bigclust.datasets as ds
from bigclust.datasets import (
    DATASETS,
    TABLE2_DATASETS,
    Dataset,
    find_data_dir,
    load_dataset,
    make_planted_mixture,
    planted_cost,
    zscore,
)


# --------------------------------------------------------------------------- #
# make_planted_mixture
# --------------------------------------------------------------------------- #
def test_generator_shapes_and_dtypes():
    X, labels, centers = make_planted_mixture(1003, 7, 10, random_state=0)
    assert X.shape == (1003, 7) and X.dtype == np.float64 and X.flags.c_contiguous
    assert labels.shape == (1003,) and labels.dtype == np.int64
    assert centers.shape == (10, 7) and centers.dtype == np.float64
    assert labels.min() == 0 and labels.max() == 9


def test_generator_same_seed_same_output_and_different_seed_differs():
    a = make_planted_mixture(500, 4, 5, random_state=42)
    b = make_planted_mixture(500, 4, 5, random_state=42)
    c = make_planted_mixture(500, 4, 5, random_state=43)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a[0], c[0])
    # A Generator is accepted and advanced like any other random source.
    rng = np.random.default_rng(42)
    d = make_planted_mixture(500, 4, 5, random_state=rng)
    np.testing.assert_array_equal(a[0], d[0])


def test_generator_cluster_sizes_equal_up_to_one():
    _, labels, _ = make_planted_mixture(10, 2, 3, random_state=0)
    np.testing.assert_array_equal(np.bincount(labels), [4, 3, 3])
    _, labels, _ = make_planted_mixture(1000, 2, 8, random_state=0)
    np.testing.assert_array_equal(np.bincount(labels), [125] * 8)


def test_generator_centres_in_box_and_points_around_them():
    box = 7.5
    X, labels, centers = make_planted_mixture(40_000, 3, 4, box=box, std=0.5, random_state=1)
    assert (centers >= 0).all() and (centers <= box).all()
    for j in range(4):
        pts = X[labels == j]
        # 10^4 points per cluster: the sample mean is within ~0.005 of the centre,
        # the sample std within ~1% of 0.5 (fixed seed, so this cannot flake).
        np.testing.assert_allclose(pts.mean(axis=0), centers[j], atol=0.03)
        np.testing.assert_allclose(pts.std(axis=0), 0.5, rtol=0.03)


def test_generator_std_zero_puts_points_on_centres_and_shuffle_false_groups():
    X, labels, centers = make_planted_mixture(11, 2, 3, std=0.0, shuffle=False, random_state=3)
    np.testing.assert_array_equal(labels, [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2])
    np.testing.assert_array_equal(X, centers[labels])


def test_generator_shuffles_by_default():
    _, labels, _ = make_planted_mixture(1000, 1, 4, random_state=0)
    assert not np.all(np.diff(labels) >= 0)


@pytest.mark.parametrize(
    "args, kwargs, exc",
    [
        ((0, 2, 1), {}, ValueError),
        ((10, 0, 1), {}, ValueError),
        ((10, 2, 11), {}, ValueError),
        ((10, 2, 0), {}, ValueError),
        ((10.0, 2, 1), {}, TypeError),
        ((10, 2, 2), {"box": 0.0}, ValueError),
        ((10, 2, 2), {"std": -1.0}, ValueError),
        ((10, 2, 2), {"std": float("nan")}, ValueError),
        ((10, 2, 2), {"random_state": -1}, ValueError),
        ((10, 2, 2), {"shuffle": "yes"}, TypeError),
    ],
)
def test_generator_rejects_bad_input(args, kwargs, exc):
    with pytest.raises(exc):
        make_planted_mixture(*args, **kwargs)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 300), k=st.integers(1, 40), d=st.integers(1, 5), seed=st.integers(0, 2**31))
def test_generator_properties(n, k, d, seed):
    k = min(k, n)
    X, labels, centers = make_planted_mixture(n, d, k, box=10.0, random_state=seed)
    sizes = np.bincount(labels, minlength=k)
    assert sizes.size == k and sizes.sum() == n
    assert sizes.max() - sizes.min() <= 1 and sizes.min() >= 1  # every cluster non-empty
    assert ((centers >= 0) & (centers <= 10.0)).all()
    assert np.isfinite(X).all()


# --------------------------------------------------------------------------- #
# planted_cost
# --------------------------------------------------------------------------- #
def _brute_cost(X, labels, w=None):
    X = np.asarray(X, dtype=float)
    w = np.ones(len(X)) if w is None else np.asarray(w, dtype=float)
    total = 0.0
    for c in set(labels.tolist()):
        idx = [i for i in range(len(X)) if labels[i] == c]
        W = sum(w[i] for i in idx)
        if W == 0:
            continue
        mu = sum(w[i] * X[i] for i in idx) / W
        total += sum(w[i] * float(np.sum((X[i] - mu) ** 2)) for i in idx)
    return total


def test_planted_cost_matches_brute_force():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4)) * 3
    labels = rng.integers(0, 5, size=60)
    assert planted_cost(X, labels) == pytest.approx(_brute_cost(X, labels), rel=1e-12)
    w = rng.uniform(0, 2, size=60)
    assert planted_cost(X, labels, w) == pytest.approx(_brute_cost(X, labels, w), rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 40),
    d=st.integers(1, 4),
    k=st.integers(1, 6),
    seed=st.integers(0, 2**31),
    weighted=st.booleans(),
)
def test_planted_cost_properties(n, d, k, seed, weighted):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * rng.uniform(0.1, 100)
    labels = rng.integers(0, k, size=n)
    w = rng.uniform(0, 3, size=n) if weighted else None
    if w is not None:
        w[0] = 1.0  # positive total weight
    cost = planted_cost(X, labels, w)
    assert cost == pytest.approx(_brute_cost(X, labels, w), rel=1e-9, abs=1e-9)
    # Renaming cluster ids (to sparse, huge ids) and translating X do not change the cost.
    perm = rng.permutation(k) * 1_000_003 + 7
    assert planted_cost(X + 5.0, perm[labels], w) == pytest.approx(cost, rel=1e-9, abs=1e-9)


def test_planted_cost_equals_sklearn_inertia():
    X, _, _ = make_planted_mixture(3000, 5, 6, box=20.0, random_state=2)
    # tol=0 makes Lloyd run to a fixed point, so the final centres are exactly the
    # means of the final labels and inertia_ is the cost of that partition.
    km = KMeans(6, init="k-means++", n_init=3, tol=0.0, random_state=0).fit(X)
    assert planted_cost(X, km.labels_) == pytest.approx(km.inertia_, rel=1e-9)
    w = np.random.default_rng(0).uniform(0.5, 2.0, size=3000)
    kmw = KMeans(6, init="k-means++", n_init=3, tol=0.0, random_state=0).fit(X, sample_weight=w)
    assert planted_cost(X, kmw.labels_, w) == pytest.approx(kmw.inertia_, rel=1e-9)


def test_planted_cost_is_numerically_stable_far_from_origin():
    rng = np.random.default_rng(5)
    small = rng.integers(-40, 40, size=(5000, 3)) / 8.0  # exactly representable
    labels = rng.integers(0, 4, size=5000)
    offset = 2.0**30  # offset + small is still exact in float64
    expected = _brute_cost(small, labels)
    got = planted_cost(small + offset, labels)
    # sum(x^2) - W mu^2 would be ~1e18 - 1e18 here and lose every digit.
    assert got == pytest.approx(expected, rel=1e-9)


def test_planted_cost_planted_partition_of_generator():
    # With std=1 the planted partition costs about n*d (chi-square with n*d - k*d dof).
    X, labels, _ = make_planted_mixture(20_000, 4, 5, random_state=9)
    cost = planted_cost(X, labels)
    assert cost == pytest.approx(20_000 * 4, rel=0.03)


def test_planted_cost_edge_cases_and_does_not_modify_input():
    X = np.array([[0.0, 0.0], [2.0, 0.0], [10.0, 10.0]])
    labels = np.array([3, 3, 8], dtype=np.int32)
    X0, l0 = X.copy(), labels.copy()
    assert planted_cost(X, labels) == pytest.approx(2.0)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(labels, l0)
    # A zero-weight point costs nothing and does not move its cluster's mean.
    assert planted_cost(X, labels, [1.0, 0.0, 1.0]) == 0.0
    assert planted_cost(X, np.zeros(3, dtype=int)) == pytest.approx(_brute_cost(X, np.zeros(3, dtype=int)))
    assert planted_cost(X, np.array([0.0, 0.0, 1.0])) == pytest.approx(2.0)  # integral floats accepted


@pytest.mark.parametrize(
    "X, labels, w, exc",
    [
        ([[0.0], [1.0]], [0], None, ValueError),
        ([[0.0], [1.0]], [0, -1], None, ValueError),
        ([[0.0], [1.0]], [0, 0.5], None, ValueError),
        ([[0.0], [1.0]], ["a", "b"], None, TypeError),
        ([[0.0], [np.nan]], [0, 1], None, ValueError),
        ([[0.0], [1.0]], [0, 1], [1.0, -1.0], ValueError),
        ([0.0, 1.0], [0, 1], None, ValueError),
    ],
)
def test_planted_cost_rejects_bad_input(X, labels, w, exc):
    with pytest.raises(exc):
        planted_cost(X, labels, w)


# --------------------------------------------------------------------------- #
# zscore
# --------------------------------------------------------------------------- #
def test_zscore_mean_zero_variance_one_and_constant_columns_zero():
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.normal(5, 3, 500), np.full(500, 0.1), rng.integers(0, 3, 500), np.zeros(500)])
    X0 = X.copy()
    Z = zscore(X)
    assert Z is not X and Z.dtype == np.float64
    np.testing.assert_array_equal(X, X0)  # input untouched
    np.testing.assert_allclose(Z[:, [0, 2]].mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(Z[:, [0, 2]].var(axis=0), 1.0, rtol=1e-12)
    # 0.1 is not exact in binary, so its mean has rounding residue; still exactly 0.
    assert (Z[:, 1] == 0).all() and (Z[:, 3] == 0).all()
    assert np.isfinite(Z).all()


def test_zscore_int_input_and_errors():
    Z = zscore([[1, 2], [3, 2]])
    np.testing.assert_array_equal(Z, [[-1.0, 0.0], [1.0, 0.0]])
    with pytest.raises(ValueError):
        zscore([[1.0, np.nan]])
    with pytest.raises(ValueError):
        zscore([1.0, 2.0])


# --------------------------------------------------------------------------- #
# Real data sets (shared/data/README.md table)
# --------------------------------------------------------------------------- #
EXPECTED = {  # name: (rows, features, classes)
    "eucalyptus": (736, 14, 5),
    "mice_protein": (1080, 77, 8),
    "biomed": (209, 7, 2),
    "pima": (768, 8, 2),
    "magic": (19020, 10, 2),
    "gesture_phase": (9873, 32, 5),
    "mnist": (60000, 784, 10),
    "zoo": (101, 16, 7),
    "kddcup": (494020, 41, 23),
    "shuttle": (58000, 9, 7),
    "spambase": (4601, 57, 2),
}


def test_dataset_name_tuples():
    assert TABLE2_DATASETS == ("eucalyptus", "mice_protein", "biomed", "pima", "magic", "gesture_phase", "mnist", "zoo")
    assert set(DATASETS) == set(EXPECTED) and DATASETS[:8] == TABLE2_DATASETS


@pytest.mark.parametrize("name", DATASETS)
def test_every_dataset_loads_with_readme_shape(name):
    data = load_dataset(name)
    n, d, k = EXPECTED[name]
    assert isinstance(data, Dataset) and data.name == name
    assert data.X.shape == (n, d) and data.X.dtype == np.float64
    assert data.y.shape == (n,) and data.y.dtype == np.int64
    assert data.n_classes == k == len(data.class_names)
    np.testing.assert_array_equal(np.unique(data.y), np.arange(k))  # codes 0..k-1, all used
    assert np.isfinite(data.X).all()
    assert len(data.feature_names) == d
    assert data.notes and str(n) in data.notes


def test_imputation_counts_and_values():
    from scipy.io import arff

    euc = load_dataset("eucalyptus")
    assert "448 missing cells in 95 rows" in euc.notes
    raw, meta = arff.loadarff(str(find_data_dir() / "eucalyptus" / "eucalyptus.arff"))
    surv = raw["Surv"].astype(float)
    col = euc.feature_names.index("Surv")
    missing = np.isnan(surv)
    assert missing.sum() == 94
    np.testing.assert_allclose(euc.X[missing, col], np.nanmean(surv))
    np.testing.assert_array_equal(euc.X[~missing, col], surv[~missing])
    mice = load_dataset("mice_protein")
    assert "1396 missing cells in 528 rows" in mice.notes


def test_loader_details():
    bio = load_dataset("biomed")
    assert "Observation_number" not in bio.feature_names
    zoo = load_dataset("zoo")
    assert set(np.unique(np.delete(zoo.X, zoo.feature_names.index("legs"), axis=1))) == {0.0, 1.0}
    assert zoo.class_names[0] == "mammal" and np.sum(zoo.y == 0) == 41
    magic = load_dataset("magic")
    assert magic.class_names == ("g", "h") and np.sum(magic.y == 0) == 12332
    gest = load_dataset("gesture_phase")
    assert dict(zip(gest.class_names, np.bincount(gest.y))) == {"D": 2741, "P": 2097, "S": 2950, "H": 998, "R": 1087}
    pima = load_dataset("diabetes")  # alias
    assert pima.name == "pima" and pima.X.shape == (768, 8)
    np.testing.assert_array_equal(pima.X[0], [6, 148, 72, 35, 0, 33.6, 0.627, 50])  # UCI first row
    mnist = load_dataset("mnist")
    assert mnist.X.min() == 0 and mnist.X.max() == 255 and mnist.y[0] == 5  # MNIST's first label is 5


@pytest.mark.parametrize("name, expected", [("pima", 5129.0), ("magic", 136927.0)])
def test_kmeanspp_cost_matches_readme(name, expected):
    data = load_dataset(name)
    km = KMeans(data.n_classes, init="k-means++", n_init=10, random_state=0).fit(zscore(data.X))
    assert km.inertia_ == pytest.approx(expected, rel=0.02)


def test_unknown_name_and_bad_type():
    with pytest.raises(ValueError, match="Unknown data set"):
        load_dataset("iris")
    with pytest.raises(TypeError):
        load_dataset(3)


def test_missing_dataset_file_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / "pima"))):
        load_dataset("pima", data_dir=tmp_path)
    with pytest.raises(FileNotFoundError, match="not a directory"):
        load_dataset("pima", data_dir=tmp_path / "nope")


def test_data_dir_from_environment_variable(tmp_path, monkeypatch):
    shutil.copytree(find_data_dir() / "zoo", tmp_path / "zoo")
    monkeypatch.setenv("BIGCLUST_DATA_DIR", str(tmp_path))
    assert find_data_dir() == tmp_path
    assert load_dataset("zoo").X.shape == (101, 16)
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / "magic"))):
        load_dataset("magic")
    monkeypatch.setenv("BIGCLUST_DATA_DIR", str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError, match="BIGCLUST_DATA_DIR"):
        load_dataset("zoo")


def test_data_dir_found_beside_any_clone(tmp_path, monkeypatch):
    # CI layout: <root>/<any clone name>/... with <root>/shared/data beside the clone.
    root = tmp_path / "root"
    (root / "shared" / "data").mkdir(parents=True)
    (root / "ci-clone-123" / "tests").mkdir(parents=True)
    monkeypatch.delenv("BIGCLUST_DATA_DIR", raising=False)
    monkeypatch.setattr(ds.loaders, "__file__", str(tmp_path / "elsewhere" / "datasets.py"))
    monkeypatch.chdir(root / "ci-clone-123" / "tests")
    assert find_data_dir().resolve() == (root / "shared" / "data").resolve()
    # Found from the module's location too (editable install), whatever the cwd.
    monkeypatch.setattr(ds.loaders, "__file__", str(root / "ci-clone-123" / "src" / "bigclust" / "datasets.py"))
    monkeypatch.chdir(tmp_path)
    assert find_data_dir().resolve() == (root / "shared" / "data").resolve()


def test_no_data_dir_error_names_the_variable(tmp_path, monkeypatch):
    monkeypatch.delenv("BIGCLUST_DATA_DIR", raising=False)
    monkeypatch.setattr(ds.loaders, "__file__", str(tmp_path / "a" / "datasets.py"))
    monkeypatch.chdir(tmp_path)
    if any((p / "shared" / "data").is_dir() for p in (tmp_path, *tmp_path.parents)):
        pytest.fail("test setup: a shared/data exists above the temporary directory")
    with pytest.raises(FileNotFoundError, match="BIGCLUST_DATA_DIR"):
        load_dataset("zoo")
