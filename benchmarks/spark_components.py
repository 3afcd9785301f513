"""Algorithm 2's components on Spark at the size of a 10^7-point merging scale (issue 5).

The spark tree finds each scale's components either in one task (up to
``local_cc_max_edges`` accepted edges) or by distributed contraction
(:mod:`bigclust.lshtree._spark._components`). This times both on one edge list shaped
like a merging scale's accepted edges, beside scipy's connected components on
one machine (the tool a user would reach for when the edges fit in memory;
Spark's own DataFrame API has no connected components).

The graph: ``n`` labels in clusters of ``cluster`` labels (label = a random id
below 2^31, so ids do not follow the clusters); each label gets ``degree``
edges to random labels of its cluster, as LSH bucket stars join points to each
bucket's smallest point. The components are the clusters. Edges are written as
Parquet and read back by Spark; every method's groups are checked against
scipy's.

Usage:
  python benchmarks/spark_components.py --n 10000000 --degree 2 --cluster 1000 --partitions 16
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _common import emit, log, spark_session  # noqa: E402


def make_edges(n, degree, cluster, seed):
    """``(lab_p, lab_q, j, p)`` arrays: ``degree`` edges per label inside its cluster, no self-loops."""
    rng = np.random.default_rng(seed)
    labels = rng.choice(2**31 - 1, n, replace=False).astype(np.int64)
    src = np.repeat(np.arange(n), degree)
    dst = (src // cluster) * cluster + rng.integers(0, cluster, src.shape[0])
    dst = np.minimum(dst, n - 1)
    keep = src != dst
    src, dst = src[keep], dst[keep]
    j = rng.integers(0, 10, src.shape[0]).astype(np.int32)
    return labels[src], labels[dst], j, labels[src]


def scipy_groups(lab_p, lab_q):
    """(sorted labels, smallest label of each one's component) by scipy.sparse.csgraph."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    verts = np.unique(np.concatenate([lab_p, lab_q]))
    a, b = np.searchsorted(verts, lab_p), np.searchsorted(verts, lab_q)
    g = coo_matrix((np.ones(a.shape[0], np.int8), (a, b)), shape=(verts.shape[0],) * 2).tocsr()
    _, comp = connected_components(g, directed=False)
    smallest = np.full(comp.max() + 1, np.iinfo(np.int64).max)
    np.minimum.at(smallest, comp, verts)
    return verts, smallest[comp]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000_000, help="labels (vertices)")
    ap.add_argument("--degree", type=int, default=2, help="edges per label")
    ap.add_argument("--cluster", type=int, default=1000, help="labels per component")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--partitions", type=int, default=16)
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--driver-memory", default="4g")
    ap.add_argument("--conf", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--skip-one-task", action="store_true")
    args = ap.parse_args()

    import pyarrow as pa
    import pyarrow.parquet as pq

    from bigclust.lshtree._spark._components import merging_components
    from bigclust.lshtree._spark._session import SparkMeter
    from bigclust.lshtree._spark._tree import _merging_task

    lab_p, lab_q, j, p = make_edges(args.n, args.degree, args.cluster, args.seed)
    m = lab_p.shape[0]
    common = dict(n=args.n, edges=m, degree=args.degree, cluster=args.cluster, partitions=args.partitions,
                  master=args.master)
    t = time.perf_counter()
    verts, group = scipy_groups(lab_p, lab_q)
    emit(tool="scipy connected_components (one machine)", seconds=time.perf_counter() - t, **common)

    work = tempfile.mkdtemp(prefix="bigclust-cc-")
    try:
        path = os.path.join(work, "edges")
        os.makedirs(path)
        step = max(1, m // args.partitions)
        for s in range(0, m, step):
            pq.write_table(pa.table({"lab_p": lab_p[s:s + step], "lab_q": lab_q[s:s + step], "j": j[s:s + step],
                                     "p": p[s:s + step]}), os.path.join(path, f"part-{s // step:05d}.parquet"))
        del lab_p, lab_q, j, p
        spark = spark_session("bigclust-components", args.master, args.driver_memory, args.conf)
        spark.sparkContext.setLogLevel("ERROR")
        acc = spark.read.parquet(path).repartition(args.partitions).persist()
        acc.count()

        def check(merging):
            got = merging.select("c", "group").toArrow().sort_by("c")
            ok = (np.array_equal(got.column("c").to_numpy(), verts)
                  and np.array_equal(got.column("group").to_numpy(), group))
            if not ok:
                raise AssertionError("components differ from scipy's")

        meter = SparkMeter(spark)

        class Progress:
            def update(self, msg, every=1.0):
                log(f"[{time.perf_counter() - t:8.1f}s] {msg}")

        t = time.perf_counter()
        merging, contractions = merging_components(acc, args.partitions, 0, meter, progress=Progress())
        seconds = time.perf_counter() - t
        check(merging)
        emit(tool="bigclust spark, distributed contraction", seconds=seconds, contractions=contractions,
             mpc_rounds=meter.round_log["components"], **common)
        if not args.skip_one_task:
            t = time.perf_counter()
            one = (acc.repartition(1).mapInArrow(_merging_task, "c long, group long, kj int, kp long, kside int")
                   .persist())
            one.count()
            seconds = time.perf_counter() - t
            check(one)
            emit(tool="bigclust spark, one task", seconds=seconds, mpc_rounds=1, **common)
        spark.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
