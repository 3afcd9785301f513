"""A lower bound on every distance between points of different components.

After a scale that merged nothing, scales whose threshold ``c D`` is below this
bound would reject every proposed edge; both engines skip them (the hash
offsets are keyed by the scale index, so later scales are unaffected). For
components ``A``, ``B`` with (computed) means ``m_A``, ``m_B`` two bounds hold for
every ``p`` in ``A`` and ``q`` in ``B``:

* spheres: ``|p - q| >= |m_A - m_B| - r_A - r_B``, ``r_A`` = the largest
  distance of a point of ``A`` from ``m_A`` (triangle inequality);
* slab: with ``u = (m_B - m_A) / |m_B - m_A|``, ``|p - q| >= u.(q - p) >=
  min_B u.(q - m_A) - max_A u.(p - m_A)`` (Cauchy-Schwarz).

Every bound is shrunk by a relative ``1e-9`` (and by ``1e-9`` of the lengths
involved) to cover rounding, which is ``O(d eps)`` relative with ``eps = 2^-53``.
Both bounds hold for any centre vectors, so the engines need not agree on the
means' last bits.
"""

from __future__ import annotations

import numba
import numpy as np

from .distances import row_sq_dist
from .projection import hashed_coord, hashed_row

# The bound costs O(n d + C^2 d) for C components; sweeps only try it up to this many.
SKIP_MAX_COMPONENTS = 512


@numba.njit(cache=True)
def sphere_bounds(mu, rad):
    """The sphere bound of every pair of components, and the pairs in increasing bound.

    Parameters
    ----------
    mu : ndarray of shape (C, d)
        Component means.
    rad : ndarray of shape (C,)
        Component radii.

    Returns
    -------
    pa, pb : ndarray of shape (C (C - 1) / 2,), int64
        The pairs ``a < b``, in row-major order.
    dist : ndarray of shape (C (C - 1) / 2,)
        ``|m_a - m_b|``.
    sphere : ndarray of shape (C (C - 1) / 2,)
    order : ndarray of shape (C (C - 1) / 2,), int64
        The pairs by increasing ``sphere`` (stable).
    """
    n_comp = mu.shape[0]
    n_pairs = n_comp * (n_comp - 1) // 2
    pa = np.empty(n_pairs, np.int64)
    pb = np.empty(n_pairs, np.int64)
    sphere = np.empty(n_pairs)
    dist = np.empty(n_pairs)
    k = 0
    for a in range(n_comp):
        for b in range(a + 1, n_comp):
            pa[k] = a
            pb[k] = b
            dist[k] = np.sqrt(row_sq_dist(mu, a, mu, b))
            sphere[k] = dist[k] * (1.0 - 1e-9) - (rad[a] + rad[b]) * (1.0 + 1e-9)
            k += 1
    return pa, pb, dist, sphere, np.argsort(sphere, kind="mergesort")


@numba.njit(cache=True, inline="always")
def slab_bound(hi_a, lo_b, rad_a, rad_b, dist):
    """The slab bound of a pair from ``hi_a = max_A u.(p - m_A)`` and ``lo_b = min_B u.(q - m_A)``."""
    return (lo_b - hi_a) * (1.0 - 1e-9) - 1e-9 * (rad_a + rad_b + dist)


@numba.njit(cache=True, inline="always")
def _sq_dist_to(Y, rows, center, x, mu, c):
    """``|y_x - mu_c|^2`` summed in coordinate order (:func:`row_sq_dist` of the hashed point ``y_x``)."""
    r = hashed_row(Y, rows, center, x)
    s = 0.0
    for j in range(mu.shape[1]):
        t = hashed_coord(Y, center, r, j) - mu[c, j]
        s += t * t
    return s


@numba.njit(cache=True)
def separation_lower_bound(Y, lab, max_components, rows=None, center=None):
    """A lower bound on the distance between any two rows of ``Y`` (n, d) in different components.

    With ``rows`` and ``center`` the points are ``Y[rows] - center`` (Y is then any
    array of rows, the hashed points are never stored). ``lab`` (n,) holds each point's root. Pairs are taken in increasing sphere
    bound and the slab bound (``O((|A| + |B|) d)``) is computed only while a
    pair's sphere bound is below the best bound found so far, so the result is
    exactly ``min over pairs of max(sphere, slab)``, whatever the order of ties.
    Returns -1 when there are more than ``max_components`` components (the
    pairwise pass would cost too much), ``inf`` when there is one.
    """
    n = lab.shape[0]
    d = Y.shape[1]
    cid = np.full(n, -1, np.int64)
    n_comp = 0
    for x in range(n):
        r = lab[x]
        if cid[r] == -1:
            if n_comp == max_components:
                return -1.0
            cid[r] = n_comp
            n_comp += 1
    if n_comp < 2:
        return np.inf
    mu = np.zeros((n_comp, d))
    cnt = np.zeros(n_comp, np.int64)
    for x in range(n):
        c = cid[lab[x]]
        cnt[c] += 1
        r = hashed_row(Y, rows, center, x)
        for j in range(d):
            mu[c, j] += hashed_coord(Y, center, r, j)
    for c in range(n_comp):
        for j in range(d):
            mu[c, j] /= cnt[c]
    # members of each component, contiguous (counting sort by component)
    first = np.zeros(n_comp + 1, np.int64)
    for c in range(n_comp):
        first[c + 1] = first[c] + cnt[c]
    fill = first[:n_comp].copy()
    members = np.empty(n, np.int64)
    rad = np.zeros(n_comp)
    for x in range(n):
        c = cid[lab[x]]
        members[fill[c]] = x
        fill[c] += 1
        s = _sq_dist_to(Y, rows, center, x, mu, c)
        if s > rad[c]:
            rad[c] = s
    for c in range(n_comp):
        rad[c] = np.sqrt(rad[c])
    pa, pb, dist, sphere, order = sphere_bounds(mu, rad)
    best = np.inf
    u = np.empty(d)
    for o in range(order.shape[0]):
        k = order[o]
        if sphere[k] >= best:
            break  # every later pair has sphere >= best, so max(sphere, slab) >= best
        a = pa[k]
        b = pb[k]
        bound = sphere[k]
        if dist[k] > 0:
            for j in range(d):
                u[j] = (mu[b, j] - mu[a, j]) / dist[k]
            hi_a = -np.inf
            for i in range(first[a], first[a + 1]):
                s = _along(u, Y, rows, center, members[i], mu, a)
                if s > hi_a:
                    hi_a = s
            lo_b = np.inf
            for i in range(first[b], first[b + 1]):
                s = _along(u, Y, rows, center, members[i], mu, a)
                if s < lo_b:
                    lo_b = s
            slab = slab_bound(hi_a, lo_b, rad[a], rad[b], dist[k])
            if slab > bound:
                bound = slab
        if bound < best:
            best = bound
    return best


@numba.njit(cache=True, inline="always")
def _along(u, Y, rows, center, x, mu, a):
    """``u . (y_x - mu_a)``, summed in coordinate order (``y_x`` the hashed point ``x``)."""
    r = hashed_row(Y, rows, center, x)
    s = 0.0
    for j in range(u.shape[0]):
        s += u[j] * (hashed_coord(Y, center, r, j) - mu[a, j])
    return s
