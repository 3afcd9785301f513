"""Distributed components (spark/_components.py) against scipy's connected components and the
one-task kernels on the same edges (the oracle), on graphs that stress the contraction."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

pyspark = pytest.importorskip("pyspark")

from scipy.sparse import coo_matrix  # noqa: E402
from scipy.sparse.csgraph import connected_components  # noqa: E402

from bigclust.lshtree._spark import _components as C  # noqa: E402
from bigclust.lshtree._spark import _kernels as K  # noqa: E402
from bigclust.lshtree._spark._session import SparkMeter  # noqa: E402
from bigclust.lshtree._spark._faults import injected_faults  # noqa: E402


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-(2**63), 2**63 - 1), min_size=1, max_size=50))
def test_priority_is_a_bijection_that_label_inverts(xs):
    x = np.array(xs, np.int64)
    np.testing.assert_array_equal(C._label(C._priority(x)), x)
    assert np.unique(C._priority(np.unique(x))).shape[0] == np.unique(x).shape[0]


def _oracle(lab_p, lab_q, j, p):
    """(c, group, kj, kp, kside) by scipy (groups: smallest label of each component) and the kernel."""
    verts = np.unique(np.concatenate([lab_p, lab_q]))
    a, b = np.searchsorted(verts, lab_p), np.searchsorted(verts, lab_q)
    g = coo_matrix((np.ones(a.shape[0]), (a, b)), shape=(verts.shape[0],) * 2)
    _, comp = connected_components(g, directed=False)
    smallest = np.full(comp.max() + 1, np.iinfo(np.int64).max)
    np.minimum.at(smallest, comp, verts)
    kj, kp, ks = K.first_encounter(verts, lab_p, lab_q, j, p)
    return verts, smallest[comp], kj, kp, ks


def _graphs():
    rng = np.random.default_rng(5)
    n = 300
    # a path in label order: hooking by the smallest label alone would shrink it by one vertex a round
    path = np.arange(n - 1), np.arange(1, n)
    # stars, several components, duplicate and reversed edges, labels up to 2^31 - 1
    labs = rng.choice(2**31 - 1, 400, replace=False).astype(np.int64)
    centres = rng.integers(0, 400, 30)
    u = centres[rng.integers(0, 30, 900)]
    v = rng.integers(0, 400, 900)
    stars = labs[u], labs[v]
    # random sparse graph with many components and isolated pairs
    e = rng.integers(0, 500, (2, 350))
    # larger: every task of a round gets many blobs (parts), in no particular order
    big = rng.integers(0, 6000, (2, 9000)) * 7919 % 2**31
    return {"sorted path": path, "stars": stars, "sparse": (e[0], e[1]), "big": (big[0], big[1])}


@pytest.mark.spark
@pytest.mark.parametrize("local_max_edges", [0, 40, 10**9])
@pytest.mark.parametrize("graph", ["sorted path", "stars", "sparse", "big"])
def test_merging_components_equal_scipy(spark, graph, local_max_edges):
    lab_p, lab_q = (np.asarray(x, np.int64) for x in _graphs()[graph])
    keep = lab_p != lab_q  # accepted edges join different components
    lab_p, lab_q = lab_p[keep], lab_q[keep]
    rng = np.random.default_rng(0)
    j = rng.integers(0, 4, lab_p.shape[0])
    p = rng.integers(0, 10**6, lab_p.shape[0])
    rows = [(int(a), int(b), int(c), int(d)) for a, b, c, d in zip(lab_p, lab_q, j, p)]
    acc = spark.createDataFrame(rows, "lab_p long, lab_q long, j int, p long").repartition(3)
    meter = SparkMeter(spark)
    # with 40: the first attempt of a contraction task and of the last task fails; Spark's retry agrees
    fault = "components" if local_max_edges == 40 else None
    lines = []

    class Progress:
        def update(self, msg, every=1.0):
            lines.append(msg)

    with injected_faults(spark, *([fault] if fault else [])):
        merging, contractions = C.merging_components(acc, 4, local_max_edges, meter, progress=Progress())
        got = merging.toPandas().sort_values("c")
    verts, group, kj, kp, ks = _oracle(lab_p, lab_q, j, p)
    np.testing.assert_array_equal(got["c"].to_numpy(), verts)
    np.testing.assert_array_equal(got["group"].to_numpy(), group)
    np.testing.assert_array_equal(got["kj"].to_numpy(), kj)
    np.testing.assert_array_equal(got["kp"].to_numpy(), kp)
    np.testing.assert_array_equal(got["kside"].to_numpy(), ks)
    # 3 rounds per contraction, 2 for the last task (if any edge is left), 2 to meet the first encounters
    assert meter.round_log["components"] in (3 * contractions + 2, 3 * (contractions - 1) + 4)
    if local_max_edges == 0:
        # every contraction at least halves the graph here: a few, not one per path vertex
        assert 1 < contractions <= 12
        assert len(lines) == contractions and lines[-1].endswith(": 0 edges left")
    if local_max_edges >= lab_p.shape[0]:
        assert contractions == 1 and meter.round_log["components"] == 4


def _by_task(batches, n_tasks, assign, rng, kinds=None):
    """A shuffle by part without Spark: every row goes to task ``assign[part]``; each task gets its
    blocks in random order (Spark promises no order either)."""
    import pyarrow as pa

    tasks = [[] for _ in range(n_tasks)]
    for b in batches:
        part, kind = b.column("part").to_numpy(), b.column("kind").to_numpy()
        for t in range(n_tasks):
            sel = np.flatnonzero((assign[part] == t) & (np.isin(kind, kinds) if kinds else True))
            if sel.shape[0]:
                tasks[t].append(b.take(pa.array(sel)))
    for blocks in tasks:
        rng.shuffle(blocks)
    return tasks


def _run(task, tasks):
    return [out for blocks in tasks for out in task(iter(blocks))]


@settings(max_examples=80, deadline=None)
@given(n=st.integers(2, 400), m=st.integers(1, 600), n_tasks=st.integers(1, 5), n_parts=st.integers(1, 12),
       local_max=st.sampled_from([0, 0, 3, 30]), seed=st.integers(0, 10_000))
def test_contraction_tasks_under_any_grouping_equal_scipy(n, m, n_tasks, n_parts, local_max, seed):
    """The per-task steps of merging_components, run in its order with parts given to tasks at random
    and blocks in random order, give scipy's components and the one-task first encounters."""
    import pyarrow as pa

    rng = np.random.default_rng(seed)
    labs = rng.choice(2**31 - 1, n, replace=False)
    e = rng.integers(0, n, (2, m))
    e = e[:, e[0] != e[1]]
    if e.shape[1] == 0:
        return
    lab_p, lab_q = labs[e[0]], labs[e[1]]
    j, p = rng.integers(0, 3, lab_p.shape[0]), rng.integers(0, 50, lab_p.shape[0])
    acc = pa.RecordBatch.from_arrays([pa.array(x) for x in (lab_p, lab_q, j, p)], names=["lab_p", "lab_q", "j", "p"])
    assign = rng.integers(0, n_tasks, n_parts)

    def shuffle(batches, kinds=None):
        return _by_task(batches, n_tasks, assign, rng, kinds)

    def edge_count(batches):
        return sum(len(blob.as_py()) for b in batches for k, blob in zip(b.column("kind").to_numpy(), b.column("blob"))
                   if k == C._EDGE) // 32

    start = _run(C._edges_task(n_parts), [[acc.slice(0, m // 2)], [acc.slice(m // 2)]])
    edges, labels = shuffle(start, [C._EDGE]), None
    n_edges, contractions = edge_count(start), 0
    while n_edges > local_max:
        hooks = _run(C._hook_task(n_parts), edges)
        step2 = _run(C._contract_task(n_parts, labels is None), shuffle(hooks + (labels or [])))
        step3 = _run(C._relabel_task(n_parts), shuffle(step2, [C._HALF, C._TABLE]))
        labels = [b.filter(pa.compute.equal(b.column("kind"), C._LABEL)) for b in step2]
        edges, n_edges = shuffle(step3), edge_count(step3)
        contractions += 1
        assert contractions <= 40
    if n_edges:
        roots = _run(C._last_components_task(n_parts), [[b for blocks in edges for b in blocks]])
        labels = _run(C._contract_task(n_parts, labels is None, last=True), shuffle(roots + (labels or [])))
    groups = _run(C._groups_task(n_parts), shuffle(labels))
    rows = _run(C._merging_rows_task(), shuffle(groups + start, [C._GROUP, C._FIRST]))
    got = pa.Table.from_batches(rows).sort_by("c")
    verts, group, kj, kp, ks = _oracle(lab_p, lab_q, j, p)
    np.testing.assert_array_equal(got.column("c").to_numpy(), verts)
    np.testing.assert_array_equal(got.column("group").to_numpy(), group)
    np.testing.assert_array_equal(got.column("kj").to_numpy(), kj)
    np.testing.assert_array_equal(got.column("kp").to_numpy(), kp)
    np.testing.assert_array_equal(got.column("kside").to_numpy(), ks)
