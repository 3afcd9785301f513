"""Fingerprint of the LSH tree and pruning for fixed seeds: checks that a speed-up changed no output.

The tree (parent array, children, node sizes, weights, costs, scales) and the
labels/centres of ``LSHTreeKMeans`` (no refine) must be bit-for-bit identical for
a given ``random_state`` across optimisations (engines must reproduce each
other). This script fits a fixed set of settings and prints, per setting, the
SHA-256 of every output array; ``--save F`` stores them, ``--check F`` compares
and exits non-zero on any difference.

    NUMBA_NUM_THREADS=1 python benchmarks/euclidean_tree_fingerprint.py --save /tmp/fp.json
    NUMBA_NUM_THREADS=2 python benchmarks/euclidean_tree_fingerprint.py --check /tmp/fp.json

Fingerprints are specific to a machine and its NumPy/BLAS build: the scales and
projections come from BLAS products, whose last bits depend on the CPU's kernels,
and one last-bit change can flip a bucket or a distance decision. The stored
``results/euclidean_tree_fingerprint.json`` matched on the machine it was saved on
but not on a later one (14 of 30 settings differed for the very commit that saved
it). To check a change, save a baseline from the parent commit on the same
machine (e.g. from a ``git worktree`` with ``PYTHONPATH`` pointing at its ``src``)
and check the change against that.
"""

import argparse
import hashlib
import json
import sys
import time

import numpy as np

from bigclust import LSHTreeKMeans
from bigclust.datasets import make_planted_mixture


def _settings(quick: bool):
    rng = np.random.default_rng(7)
    out = []
    for n, d, k in ([(20_000, 10, 100), (20_000, 100, 100), (5_000, 10, 5)] if quick else
                    [(100_000, 10, 100), (100_000, 100, 100), (20_000, 10, 1000), (20_000, 100, 5)]):
        X, _, _ = make_planted_mixture(n, d, k, random_state=1000 * d + k)
        out.append((f"planted n={n} d={d} k={k}", X, k, {}, None))
    # non-resilient data, duplicates, float32, weights, other tree parameters
    G = rng.standard_normal((8_000, 12))
    G[4000:6000] = G[:2000]  # exact duplicates
    out.append(("gauss dup float32", G.astype(np.float32), 20, {}, None))
    out.append(("gauss weights", G, 7, {}, rng.random(G.shape[0]) * 3))
    out.append(("gauss t=4 c=1 ratio=1.3", G, 9, dict(n_hashes=4, edge_factor=1.0, scale_ratio=1.3), None))
    out.append(("gauss approx", G, 50, dict(method="approx"), None))
    H = rng.standard_normal((3_000, 400))  # JL projection path (d > 256)
    out.append(("projected d=400", H, 6, {}, None))
    C = np.repeat(rng.integers(0, 3, (50, 4)).astype(float), 3, axis=0)  # tiny, many duplicates
    out.append(("tiny lattice", C, 4, {}, None))
    return out


def _digest(a) -> str:
    a = np.ascontiguousarray(a)
    return hashlib.sha256(a.dtype.str.encode() + str(a.shape).encode() + a.tobytes()).hexdigest()[:24]


def fingerprint(quick: bool, seeds) -> dict:
    import warnings

    warnings.simplefilter("ignore")
    res = {}
    for name, X, k, kw, sw in _settings(quick):
        for seed in seeds:
            t0 = time.perf_counter()
            est = LSHTreeKMeans(k, random_state=seed, **{"refine": 0, **kw}).fit(X, sample_weight=sw)
            t = est.tree_
            res[f"{name} seed={seed}"] = {
                "parent": _digest(t.parent), "children": _digest(t.children), "size": _digest(t.size),
                "weight": _digest(t.weight), "cost": _digest(t.cost), "scale": _digest(t.scale),
                "auxiliary": _digest(t.auxiliary), "selected": _digest(t.selected),
                "labels": _digest(est.labels_), "centers": _digest(est.cluster_centers_),
                "inertia": repr(float(est.inertia_)), "n_scales": est.report_["n_scales"],
            }
            print(f"{name} seed={seed}: {time.perf_counter() - t0:.2f}s n_scales={est.report_['n_scales']}",
                  file=sys.stderr, flush=True)
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--save")
    g.add_argument("--check")
    ap.add_argument("--quick", action="store_true", help="smaller planted settings")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = ap.parse_args()
    res = fingerprint(args.quick, args.seeds)
    if args.save:
        with open(args.save, "w") as f:
            json.dump(res, f, indent=1, sort_keys=True)
        print(json.dumps({"saved": args.save, "settings": len(res)}))
        return
    with open(args.check) as f:
        ref = json.load(f)
    bad = [(key, field) for key in ref for field in ref[key] if res.get(key, {}).get(field) != ref[key][field]]
    print(json.dumps({"checked": len(ref), "differences": [f"{a}: {b}" for a, b in bad]}))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
