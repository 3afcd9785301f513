"""The per-task bucket kernels of the spark tree against a dictionary of buckets (brute force)."""

import collections

import numpy as np
from hypothesis import given, settings, strategies as st

from bigclust.lshtree._spark import _kernels as K


def _random_buckets(t, n, n_keys, n_labs, seed):
    """Keys (t, n) drawn from ``n_keys`` values, distinct ids, components, and the dictionary
    (j, key) -> the points in that bucket (the brute-force oracle)."""
    rng = np.random.default_rng(seed)
    keys = rng.integers(-(2**62), 2**62, n_keys)[rng.integers(0, n_keys, (t, n))].astype(np.int64)
    ids = rng.permutation(2**20)[:n].astype(np.int64)
    labs = rng.integers(0, n_labs, n).astype(np.int64)
    buckets = collections.defaultdict(list)
    for j in range(t):
        for p in range(n):
            buckets[(j, int(keys[j, p]))].append(p)
    return rng, keys, ids, labs, buckets


@settings(max_examples=60, deadline=None)
@given(t=st.integers(1, 4), n=st.integers(1, 300), n_keys=st.integers(1, 80), n_labs=st.integers(1, 20),
       seed=st.integers(0, 10_000))
def test_bucket_summary_and_candidates_equal_brute_force(t, n, n_keys, n_labs, seed):
    rng, keys, ids, labs, buckets = _random_buckets(t, n, n_keys, n_labs, seed)

    j, key, m, lo, hi = K.bucket_summary(keys, ids, labs)
    assert len(j) == len(buckets) == len(set(zip(j.tolist(), key.tolist())))  # one row per bucket
    mixed = {}
    for a in range(len(j)):
        ps = buckets[(int(j[a]), int(key[a]))]
        q = min(ps, key=lambda p: ids[p])
        assert m[a] == ids[q] * 2**31 + labs[q]
        assert (lo[a], hi[a]) == (labs[ps].min(), labs[ps].max())
        if lo[a] != hi[a]:
            mixed[(int(j[a]), int(key[a]))] = (int(ids[q]), int(labs[q]))

    table = sorted(mixed.items())
    bj = np.array([b[0][0] for b in table], np.int64)
    starts = np.searchsorted(bj, np.arange(t + 1))
    cols = [np.array(c, np.int64) for c in zip(*[(b[0][1],) + b[1] for b in table])] or [np.empty(0, np.int64)] * 3
    j_, row, q_, lq_ = K.bucket_candidates(keys, labs, starts, *cols)
    expected = {(jj, int(ids[p]), int(labs[p]), q, lq)
                for (jj, _), (q, lq) in mixed.items() for p in buckets[(jj, _)] if labs[p] != lq}
    assert len(j_) == len(expected)
    assert set(zip(j_.tolist(), ids[row].tolist(), labs[row].tolist(), q_.tolist(), lq_.tolist())) == expected


@settings(max_examples=60, deadline=None)
@given(m=st.integers(1, 200), n_labs=st.integers(2, 30), seed=st.integers(0, 10_000))
def test_first_encounter_is_the_least_key_per_component(m, n_labs, seed):
    rng = np.random.default_rng(seed)
    lab_p = rng.integers(0, n_labs, m).astype(np.int64)
    lab_q = (lab_p + rng.integers(1, n_labs, m)) % n_labs
    j = rng.integers(0, 3, m).astype(np.int64)
    p = rng.integers(0, 20, m).astype(np.int64)
    verts = np.unique(np.r_[lab_p, lab_q])
    kj, kp, ks = K.first_encounter(verts, lab_p, lab_q, j, p)
    for x, v in enumerate(verts):
        keys = [(j[e], p[e], 0) for e in range(m) if lab_p[e] == v] + [(j[e], p[e], 1) for e in range(m) if lab_q[e] == v]
        assert (kj[x], kp[x], ks[x]) == min(keys)


@settings(max_examples=60, deadline=None)
@given(t=st.integers(1, 4), n=st.integers(1, 300), n_keys=st.integers(1, 80), n_labs=st.integers(1, 20),
       n_tasks=st.integers(1, 5), n_parts=st.integers(1, 7), seed=st.integers(0, 10_000))
def test_summaries_packed_by_part_combine_to_the_mixed_buckets(t, n, n_keys, n_labs, n_tasks, n_parts, seed):
    """Tasks summarise their own points, pack the rows by part; each part's blobs, combined, give exactly
    the buckets with more than one component and their smallest point (a dictionary of all points)."""
    rng, keys, ids, labs, buckets = _random_buckets(t, n, n_keys, n_labs, seed)
    expected = {}
    for b, ps in buckets.items():
        if len({int(labs[p]) for p in ps}) > 1:
            q = min(ps, key=lambda p: ids[p])
            expected[b] = int(ids[q]) * 2**31 + int(labs[q])

    task = rng.integers(0, n_tasks, n)
    blobs = collections.defaultdict(list)
    for s in range(n_tasks):
        own = np.flatnonzero(task == s)
        if own.size == 0:
            continue
        cols = K.bucket_summary(np.ascontiguousarray(keys[:, own]), ids[own], labs[own])
        part = K.summary_parts(cols[0], cols[1], n_parts)
        assert part.min() >= 0 and part.max() < n_parts
        for r in np.unique(part):
            blobs[int(r)].append(K.pack_summary(*(c[part == r] for c in cols)))
    got = {}
    for r, bs in blobs.items():
        j, key, m, lo, hi = (np.concatenate(c) for c in zip(*(K.unpack_summary(b) for b in bs)))
        bj, bk, bm = K.mixed_buckets(j, key, m, lo, hi, np.lexsort((key, j)))
        for a in range(len(bj)):
            assert (int(bj[a]), int(bk[a])) not in got  # a bucket lives in one part only
            got[(int(bj[a]), int(bk[a]))] = int(bm[a])
    assert got == expected
