import numpy as np
from scipy.sparse.csgraph import floyd_warshall

from bigclust.graph import Graph


def random_graph(n, extra=None, seed=0, wmax=20, zero_frac=0.0):
    """A connected random graph: a random spanning tree plus ``extra`` random edges."""
    rng = np.random.default_rng(seed)
    extra = n if extra is None else extra
    perm = rng.permutation(n)
    u = [perm[i] for i in range(1, n)]
    v = [perm[rng.integers(0, i)] for i in range(1, n)]
    seen = {(min(a, b), max(a, b)) for a, b in zip(u, v)}
    for _ in range(extra):
        a, b = rng.integers(0, n, 2)
        if a != b and (min(a, b), max(a, b)) not in seen:
            seen.add((min(a, b), max(a, b)))
            u.append(a)
            v.append(b)
    w = rng.integers(1, wmax + 1, len(u)).astype(float)
    if zero_frac:
        w[rng.random(len(u)) < zero_frac] = 0.0
    return Graph.from_edges(np.array(u), np.array(v), w, n_vertices=n)


def dense(g):
    return floyd_warshall(g.to_scipy(), directed=True)


def orlib_path(name):
    """An OR-Library p-median file, found through the project's data-dir lookup
    (``BIGCLUST_DATA_DIR`` or the ``shared/data`` folder beside the checkout)."""
    from bigclust.datasets import find_data_dir

    return str(find_data_dir() / "orlib" / "pmed" / name)
