"""Compiled kernels of the default refinement: pruned k-means++ seeding and Lloyd passes whose
assignment step is exact but compares most points with a few centres, not all ``k``.

Why not scikit-learn's Lloyd: each of its passes costs ``n k d`` (a dense distance
matrix), and so does each step of its k-means++ seeding; at ``k = 10^3..10^4`` that is
what dominates a fit. Both kernels here rely on the triangle inequality only, so
their results are those of the dense algorithms (same nearest centre, up to ties
between equal distances):

* **Seeding** (:func:`kmeanspp_pruned`): greedy k-means++ (Arthur & Vassilvitskii;
  ``2 + ln k`` candidates per step as in scikit-learn). Points are grouped by their
  nearest chosen seed ``s_b``; ``R_b`` is the largest distance in group ``b``. A new
  candidate ``c`` can only take a point ``x`` of group ``b`` if
  ``|c - x| < |x - s_b| <= R_b``, hence ``|c - s_b| < 2 R_b``: groups failing that test
  are skipped, and sampling proportional to ``w D^2`` goes group first, then point.
* **Assignment** (:func:`assign_pass`): Hamerly's bounds (an upper bound ``u`` on the
  distance to the point's centre ``a``, a lower bound ``l`` on the distance to every
  other centre, both carried across passes by the centres' drifts) skip a point when
  ``u <= max(l, s_a)``, ``s_a`` half the distance from ``a`` to its nearest other
  centre. A point that is not skipped is compared only with the centres ``c`` of
  ``a``'s neighbour list with ``|a - c| < 2 |x - a|``: any centre ``c`` with
  ``|a - c| >= 2 |x - a|`` has ``|x - c| >= |a - c| - |x - a| >= |x - a|``, so it is
  not nearer (Elkan's Lemma 1, used with sorted neighbour lists as in Newling &
  Fleuret's Exponion). When the list does not reach ``2 |x - a|`` the point is
  compared with all centres. Neighbour lists hold lower bounds on centre-centre
  distances (computed exactly, then lowered by the drifts since), so they need not
  be recomputed at every pass.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import prange

from .distances import row_sq_dist as _sq  # |X_i - C_c|^2, summed in coordinate order


# --------------------------------------------------------------------------- seeding


# Groups of the seeding live as segments of one pool of point ids, each sorted by
# decreasing distance to its seed: a candidate stops scanning a group at the first
# point too close to its seed to move, and a group only ever loses points (they move to
# the newest seed), so a segment shrinks from its front and a new group is appended.


@numba.njit(cache=True)
def _sample(S, j, pool, start, end, w, D2, u):
    """A point drawn with probability ``w D^2 / sum(w D^2)`` given a uniform ``u`` in [0, 1)."""
    pot = 0.0
    for b in range(j):
        pot += S[b]
    target = u * pot
    acc = 0.0
    last = -1
    for b in range(j):
        if S[b] > 0.0:
            last = b
            if acc + S[b] > target:
                break
            acc += S[b]
    if last < 0:
        return -1
    # within the group (its S may be off by rounding: fall back to its last point with mass)
    target -= acc
    acc = 0.0
    pick = -1
    for p in range(start[last], end[last]):
        x = pool[p]
        m = w[x] * D2[x]
        if m > 0.0:
            pick = x
            acc += m
            if acc > target:
                break
    return pick


@numba.njit(cache=True, parallel=True)
def _evaluate(X, w, D2, SC, R2, j, pool, start, end, cands, dc):
    """Potential decrease ``sum w max(0, D^2 - |x - c|^2)`` for each candidate ``c``; fills ``dc``.

    ``SC`` (k, d) holds the seeds' coordinates and ``R2`` (k,) each group's largest ``D^2``,
    contiguous: the test of every group per candidate reads them in order, where reading
    each group's first point was a cache miss per group (at k = 10^4, most of the seeding)."""
    L = cands.shape[0]
    gain = np.zeros(L)
    for q in prange(L):
        c = cands[q]
        if c < 0:
            gain[q] = -1.0
            continue
        g = 0.0
        for b in range(j):
            db = _sq(X, c, SC, b)
            dc[q, b] = db
            if not db < 4.0 * R2[b]:
                continue
            # a point x of group b can move only if |c - s_b| < 2 D(x) (squared: db < 4 D2)
            for p in range(start[b], end[b]):
                x = pool[p]
                if not db < 4.0 * D2[x]:
                    break
                dx = _sq(X, x, X, c)
                if dx < D2[x]:
                    g += w[x] * (D2[x] - dx)
        gain[q] = g
    return gain


@numba.njit(cache=True)
def _apply(X, w, D2, group, seeds, SC, R2, j, pool, start, end, pool_len, S, c, dcrow, newd):
    """Make point ``c`` seed ``j``: points nearer to it than to their seed move to group ``j``.
    ``SC`` / ``R2`` (see :func:`_evaluate`) are kept up to date.

    Returns the new used length of ``pool`` (the caller made room for ``n`` more ids).
    """
    seeds[j] = c
    SC[j] = X[c]
    n_moved = 0
    for b in range(j):
        db = dcrow[b]
        if not db < 4.0 * R2[b]:
            continue
        p = start[b]
        while p < end[b]:
            x = pool[p]
            if not db < 4.0 * D2[x]:
                break
            newd[p - start[b]] = _sq(X, x, X, c)
            p += 1
        scanned_end = p
        # stable compaction of the scanned stayers towards scanned_end
        wr = scanned_end - 1
        for r in range(scanned_end - 1, start[b] - 1, -1):
            x = pool[r]
            dx = newd[r - start[b]]
            if dx < D2[x]:
                S[b] -= w[x] * D2[x]
                D2[x] = dx
                group[x] = j
                pool[pool_len + n_moved] = x
                n_moved += 1
            else:
                pool[wr] = x
                wr -= 1
        start[b] = wr + 1
        R2[b] = D2[pool[start[b]]] if start[b] < end[b] else 0.0  # stayers keep their order
        # S is kept by subtraction; clamp the rounding (an emptied group has no mass)
        if S[b] < 0.0 or start[b] == end[b]:
            S[b] = 0.0
    # the new group, sorted by decreasing distance
    seg = pool[pool_len:pool_len + n_moved]
    order = np.argsort(-D2[seg], kind="mergesort")
    sorted_seg = seg[order]
    sj = 0.0
    for t in range(n_moved):
        x = sorted_seg[t]
        pool[pool_len + t] = x
        sj += w[x] * D2[x]
    start[j] = pool_len
    end[j] = pool_len + n_moved
    S[j] = sj
    R2[j] = D2[pool[pool_len]] if n_moved > 0 else 0.0
    return pool_len + n_moved


@numba.njit(cache=True)
def _compact(pool, start, end, j):
    """Copy the live segments of groups ``0..j-1`` to the front of a new pool of the same size."""
    out = np.empty_like(pool)
    pos = 0
    for b in range(j):
        s0 = start[b]
        e0 = end[b]
        start[b] = pos
        for p in range(s0, e0):
            out[pos] = pool[p]
            pos += 1
        end[b] = pos
    return out, pos


@numba.njit(cache=True)
def kmeanspp_pruned(X, w, k, n_trials, uniforms):
    """Greedy k-means++ seeding with the group pruning of the module docstring.

    Parameters
    ----------
    X : ndarray of shape (n, d), float64 (distinct rows)
    w : ndarray of shape (n,), float64, positive
    k : int, 1 <= k <= n
    n_trials : int
        Candidates drawn per step (scikit-learn: ``2 + int(ln k)``).
    uniforms : ndarray of shape (1 + (k - 1) * n_trials,), uniform in [0, 1)

    Returns
    -------
    seeds : ndarray of shape (k,), int64 -- row indices of the chosen seeds
    group : ndarray of shape (n,), int64 -- index of each point's nearest seed
    D2 : ndarray of shape (n,), float64 -- squared distance to it
    """
    n = X.shape[0]
    seeds = np.full(k, -1, np.int64)
    group = np.zeros(n, np.int64)
    D2 = np.empty(n)
    start = np.zeros(k, np.int64)
    end = np.zeros(k, np.int64)
    S = np.zeros(k)
    # the first seed: drawn with probability proportional to its weight
    tot = 0.0
    for x in range(n):
        tot += w[x]
    target = uniforms[0] * tot
    acc = 0.0
    first = n - 1
    for x in range(n):
        acc += w[x]
        if acc > target:
            first = x
            break
    seeds[0] = first
    for x in range(n):
        D2[x] = _sq(X, x, X, first)
        S[0] += w[x] * D2[x]
    pool = np.empty(3 * n, np.int64)
    pool[:n] = np.argsort(-D2, kind="mergesort")
    SC = np.empty((k, X.shape[1]))
    SC[0] = X[first]
    R2 = np.zeros(k)
    R2[0] = D2[pool[0]]
    start[0] = 0
    end[0] = n
    pool_len = n
    newd = np.empty(n)
    cands = np.empty(n_trials, np.int64)
    dc = np.empty((n_trials, k))
    for j in range(1, k):
        for q in range(n_trials):
            cands[q] = _sample(S, j, pool, start, end, w, D2, uniforms[1 + (j - 1) * n_trials + q])
        gain = _evaluate(X, w, D2, SC, R2, j, pool, start, end, cands, dc)
        best = 0
        for q in range(1, n_trials):
            if gain[q] > gain[best]:
                best = q
        c = cands[best]
        if c < 0:  # no potential left (cannot happen for distinct points): take the first non-seed
            is_seed = np.zeros(n, np.bool_)
            for b in range(j):
                is_seed[seeds[b]] = True
            for x in range(n):
                if not is_seed[x]:
                    c = x
                    break
            for b in range(j):
                dc[best, b] = _sq(X, c, SC, b)
        if pool_len + n > pool.shape[0]:
            pool, pool_len = _compact(pool, start, end, j)
        pool_len = _apply(X, w, D2, group, seeds, SC, R2, j, pool, start, end, pool_len, S, c, dc[best], newd)
    return seeds, group, D2


# --------------------------------------------------------------------------- Lloyd

_CHUNKS = 512  # work items of an assignment pass (fixed: results do not depend on the threads)



@numba.njit(cache=True, parallel=True)
def centre_neighbours(C, m):
    """Each centre's ``m`` nearest other centres and a bound on all the others.

    Parameters
    ----------
    C : ndarray of shape (k, d)
    m : int, 0 <= m <= k - 1

    Returns
    -------
    ids : ndarray of shape (k, m), int64 -- neighbours, nearest first
    dist : ndarray of shape (k, m) -- their distances
    beyond : ndarray of shape (k,) -- distance of the ``(m + 1)``-th nearest other
        centre (``inf`` when ``m = k - 1``): every centre not in the list is at least
        this far
    """
    k = C.shape[0]
    ids = np.empty((k, m), np.int64)
    dist = np.empty((k, m))
    beyond = np.empty(k)
    # per centre: every distance (k d), then a selection and a sort of the m nearest; an
    # insertion into a sorted list per closer centre cost 5x as much at k = 1000, m = 128
    for i in prange(k):
        buf = np.empty(k)
        for j in range(k):
            buf[j] = _sq(C, i, C, j) if j != i else np.inf
        if m < k - 1:
            thr = np.partition(buf.copy(), m)[m]  # the (m + 1)-th smallest: all unlisted are this far
        else:
            thr = np.inf
        sel = np.empty(m, np.int64)
        c = 0
        for j in range(k):
            if buf[j] < thr and c < m:
                sel[c] = j
                c += 1
        for j in range(k):  # ties with the threshold fill the list
            if c == m:
                break
            if buf[j] == thr and j != i:
                sel[c] = j
                c += 1
        order = np.argsort(buf[sel], kind="mergesort")
        for p in range(m):
            ids[i, p] = sel[order[p]]
            dist[i, p] = math.sqrt(buf[sel[order[p]]])
        beyond[i] = math.sqrt(thr)
    return ids, dist, beyond


@numba.njit(cache=True, inline="always")
def _keep_nearest(bd, bi, dd, c):
    """Insert (dd, c) into the ascending arrays (bd, bi) if it is among their smallest."""
    t = bd.shape[0] - 1
    if dd >= bd[t]:
        return
    p = t
    while p > 0 and bd[p - 1] > dd:
        bd[p] = bd[p - 1]
        bi[p] = bi[p - 1]
        p -= 1
    bd[p] = dd
    bi[p] = c


@numba.njit(cache=True, parallel=True)
def assign_pass(X, C, labels, upper, lower, cand, cand_key, cum, rest, drift, near_drift, beyond_near, nb_ids,
                nb_lb, beyond_lb, half_sep, margin, stats, deferred):
    """One exact assignment step: ``labels[i]`` becomes a nearest centre of ``C`` for every point.

    Per point ``i`` with centre ``a = labels[i]`` the bounds are: ``upper[i] >= |x - a|``,
    ``lower[i] <= |x - c|`` for every other centre ``c``, and ``rest[i] <= |x - c|`` for
    every centre other than ``a`` and the point's candidates ``cand[i]`` (t,) (its ``t``
    nearest other centres when last searched; ``rest = -inf`` when unknown). They must
    hold for the centres *before* they moved by ``drift`` (k,); the kernel carries them
    over the move and leaves them valid for ``C``: ``upper`` grows by ``drift[a]``; for
    each prefix ``j`` of ``a``'s neighbour list (columns of ``near_drift`` / ``beyond_near``,
    (k, J)), a lower bound ``b`` stays valid as ``min(b - near_drift[a, j],
    beyond_near[a, j] - upper)``: the centres of the prefix moved by at most
    ``near_drift[a, j]``, and every other centre ``c`` has ``|x - c| >= |a - c| - |x - a|
    >= beyond_near[a, j] - upper``. The largest of these is kept, so a centre far away
    moving does not loosen every point's bounds, as Hamerly's global bound would; the
    caller's last column (every centre: the largest drift, ``beyond = inf``) is
    Hamerly's bound itself, which is the best one once all drifts are small.

    ``cand_key`` (n, t) holds per candidate ``c`` a lower bound on ``|x - c|`` plus ``cum[c]``
    at the time it was set, ``cum`` (k,) each centre's total drift so far (Elkan's
    per-centre bounds, kept lazily: the bound now is ``cand_key - cum[c]``, as a centre
    moved at most its total drift since); ``-inf`` where unknown.

    Then, cheapest first: (1) skip if ``upper <= max(lower, half_sep[a])``; (2) the same
    test with the exact ``|x - a|`` (Hamerly's tightening); (3) compute the distances to
    the candidates: if the nearest of them and ``a``, ``b``, is within ``rest``, it is the
    nearest centre; (4) otherwise compare with the centres of ``b``'s
    list closer to ``b`` than ``2 |x - b|`` (all centres if the list is too short; see
    the module docstring) and refresh the candidates.

    ``nb_ids`` (k, m) / ``nb_lb`` (k, m) are each centre's listed neighbours and lower
    bounds on their distances, ``beyond_lb`` (k,) a lower bound on the distance to any
    unlisted centre, ``half_sep`` (k,) half a lower bound on the distance to the nearest
    other centre. Where ``deferred`` (n,) is non-empty, a point whose search would compare
    it with every centre is not searched: ``deferred[i]`` becomes 1 (0 for the others) and
    its label and bounds are left for the caller to set (by :func:`nearest_from_gram`, whose
    matrix products compute those distances faster in moderate dimension). ``stats`` (5,)
    receives: points whose label changed, points compared with listed neighbours, points
    compared with every centre, points settled by their candidates, distances computed in
    searches.
    """
    n = X.shape[0]
    k = C.shape[0]
    m = nb_ids.shape[1]
    t = cand.shape[1]
    changed = 0
    listed = 0
    full = 0
    by_cand = 0
    examined = 0
    # points in fixed chunks, each with its scratch for the t + 2 nearest seen by a search
    n_chunks = min(n, _CHUNKS)
    size = (n + n_chunks - 1) // max(n_chunks, 1)
    scratch_d = np.empty((n_chunks, t + 2))
    scratch_i = np.empty((n_chunks, t + 2), np.int64)
    defer = deferred.shape[0] > 0
    for ch in prange(n_chunks):
        for i in range(ch * size, min(n, (ch + 1) * size)):
            if defer:
                deferred[i] = 0
            a = labels[i]
            u = upper[i] + drift[a]
            l = -np.inf
            r = -np.inf
            for j in range(near_drift.shape[1]):
                l = max(l, min(lower[i] - near_drift[a, j], beyond_near[a, j] - u))
                r = max(r, min(rest[i] - near_drift[a, j], beyond_near[a, j] - u))
            if u <= max(l, half_sep[a]):
                upper[i] = u
                lower[i] = l
                rest[i] = r
                continue
            # (2) the exact distance to a (Hamerly's tightening): often enough on its own
            du = _sq(X, i, C, a)
            if math.sqrt(du) <= max(l, half_sep[a]):
                upper[i] = math.sqrt(du)
                lower[i] = l
                rest[i] = r
                continue
            # (3) the point's candidates; one whose bound is at least the best distance so far
            # cannot be nearer: its bound, not its distance, goes into the second-nearest bound
            best = a
            bd = du
            best_d = math.sqrt(du)
            second = np.inf  # a lower bound on the distance to every candidate but the best
            for q in range(t):
                c = cand[i, q]
                if c < 0:
                    break
                lb = cand_key[i, q] - cum[c]
                if lb >= best_d:
                    if lb < second:
                        second = lb
                    continue
                dd = _sq(X, i, C, c)
                dc = math.sqrt(dd)
                cand_key[i, q] = dc + cum[c]
                if dd < bd:
                    if best_d < second:
                        second = best_d
                    bd = dd
                    best_d = dc
                    best = c
                elif dc < second:
                    second = dc
            if best_d <= r:
                by_cand += 1
                if best != a:
                    changed += 1
                    for q in range(t):  # the old centre takes the new one's place among the candidates
                        if cand[i, q] == best:
                            cand[i, q] = a
                            cand_key[i, q] = math.sqrt(du) + cum[a]
                            break
                labels[i] = best
                upper[i] = best_d
                lower[i] = min(second, r)
                rest[i] = r
                continue
            # (4) search the ball of radius 2 |x - b| around b, the nearest of a and the
            # candidates (any centre c with |b - c| >= 2 |x - b| is no nearer than b); keep the
            # t + 2 nearest seen. Around b rather than a: after a large move, or from a rough
            # start whose candidates hold the right centre, that ball is the smaller one.
            b = best
            u = math.sqrt(bd)
            # examining the ball of radius 2u (1 + margin) leaves rest >= u (1 + 2 margin):
            # a margin that lets later passes settle the point by its candidates
            two_u = 2.0 * u * (1.0 + margin)
            nd = scratch_d[ch]
            ni = scratch_i[ch]
            nd[:] = np.inf
            ni[:] = -1
            nd[0] = bd
            ni[0] = b
            unexamined = np.inf
            if beyond_lb[b] < two_u and defer:
                full += 1
                deferred[i] = 1
                continue
            if beyond_lb[b] < two_u:
                full += 1
                for c in range(k):
                    if c != b:
                        _keep_nearest(nd, ni, _sq(X, i, C, c), c)
                examined += k - 1
            else:
                listed += 1
                for p in range(m):
                    lb = nb_lb[b, p]
                    if lb < two_u:
                        c = nb_ids[b, p]
                        examined += 1
                        _keep_nearest(nd, ni, _sq(X, i, C, c), c)
                    elif lb < unexamined:
                        unexamined = lb
                if beyond_lb[b] < unexamined:
                    unexamined = beyond_lb[b]
            # unexamined centres c have |b - c| >= unexamined, so |x - c| >= unexamined - u
            floor = unexamined - u
            if ni[0] != a:
                changed += 1
            labels[i] = ni[0]
            upper[i] = math.sqrt(nd[0])
            lower[i] = min(math.sqrt(nd[1]), floor)
            for q in range(t):
                cand[i, q] = ni[q + 1]
                cand_key[i, q] = math.sqrt(nd[q + 1]) + cum[ni[q + 1]] if ni[q + 1] >= 0 else -np.inf
            rest[i] = min(math.sqrt(nd[t + 1]), floor)
    stats[0] = changed
    stats[1] = listed
    stats[2] = full
    stats[3] = by_cand
    stats[4] = examined


@numba.njit(cache=True, parallel=True)
def full_pass(X, C, labels, upper, lower, cand, cand_key, cum, rest, stats):
    """One assignment step comparing every point with every centre (``n k d``).

    Where the bounds of :func:`assign_pass` prune little (few centres in moderate
    dimension: uniform data at d = 8, k = 100 computed 98 of the 99 other distances per
    point and pass) this is the cheaper exact step. It leaves exact bounds for pruned
    passes that may follow: ``upper`` the distance to the nearest centre, ``lower`` the
    distance to the second, ``cand`` the ``t`` nearest others (with their ``cand_key``,
    see :func:`assign_pass`) and ``rest`` the distance to the next, as a search leaves
    them. The current centre is compared first, so ties keep it, as a search does.
    ``stats`` (5,) receives the labels changed (``stats[0]``) and the distances computed
    (``stats[4]``), zeros elsewhere.
    """
    n = X.shape[0]
    k = C.shape[0]
    changed = 0
    t = cand.shape[1]
    # scratch per chunk of points: an allocation per point inside the parallel loop
    # serialises the threads on the allocator
    n_chunks = min(n, _CHUNKS)
    size = (n + n_chunks - 1) // max(n_chunks, 1)
    scratch_d = np.empty((n_chunks, t + 2))
    scratch_i = np.empty((n_chunks, t + 2), np.int64)
    for ch in prange(n_chunks):
        nd = scratch_d[ch]
        ni = scratch_i[ch]
        for i in range(ch * size, min(n, (ch + 1) * size)):
            changed += _full_scan_point(X, C, labels, upper, lower, cand, cand_key, cum, rest, i, nd, ni)
    stats[0] = changed
    stats[1] = 0
    stats[2] = 0  # (counts searches of assign_pass only: its neighbour lists are not involved)
    stats[3] = 0
    stats[4] = n * (k - 1)


@numba.njit(cache=True)
def _full_scan_point(X, C, labels, upper, lower, cand, cand_key, cum, rest, i, nd, ni):
    """:func:`full_pass` for point ``i`` with scratch ``nd`` / ``ni`` (t + 2,); returns 1 if its label changed."""
    k = C.shape[0]
    t = cand.shape[1]
    a = labels[i]
    nd[:] = np.inf
    ni[:] = -1
    nd[0] = _sq(X, i, C, a)
    ni[0] = a
    for c in range(k):
        if c != a:
            _keep_nearest(nd, ni, _sq(X, i, C, c), c)
    labels[i] = ni[0]
    upper[i] = math.sqrt(nd[0])
    lower[i] = math.sqrt(nd[1])
    for q in range(t):
        cand[i, q] = ni[q + 1]
        cand_key[i, q] = math.sqrt(nd[q + 1]) + cum[ni[q + 1]] if ni[q + 1] >= 0 else -np.inf
    rest[i] = math.sqrt(nd[t + 1])
    return 1 if ni[0] != a else 0


@numba.njit(cache=True)
def weighted_sums(X, w, labels, k):
    """Per cluster, ``sum w`` (k,) and ``sum w x`` (k, d), accumulated in point order.

    Sequential on purpose: ``n d`` additions are cheap next to an assignment pass, and
    per-thread partial sums would cost ``threads * k * d`` memory at large ``k``.
    """
    n, d = X.shape
    tot = np.zeros(k)
    sums = np.zeros((k, d))
    for i in range(n):
        c = labels[i]
        tot[c] += w[i]
        for t in range(d):
            sums[c, t] += w[i] * X[i, t]
    return tot, sums


@numba.njit(cache=True, parallel=True)
def feature_spread(X, w, mean):
    """``sum_i w_i (X[i, t] - mean[t])^2`` per feature ``t`` (d,), in fixed chunks of points."""
    n, d = X.shape
    n_chunks = min(n, _CHUNKS)
    size = (n + n_chunks - 1) // max(n_chunks, 1)
    part = np.zeros((n_chunks, d))
    for ch in prange(n_chunks):
        for i in range(ch * size, min(n, (ch + 1) * size)):
            for t in range(d):
                dev = X[i, t] - mean[t]
                part[ch, t] += w[i] * dev * dev
    out = np.zeros(d)
    for ch in range(n_chunks):  # in chunk order: the same sums whatever the threads
        for t in range(d):
            out[t] += part[ch, t]
    return out


@numba.njit(cache=True, parallel=True)
def point_costs(X, C, labels):
    """``|x_i - C[labels[i]]|^2`` for every point (n,)."""
    n = X.shape[0]
    out = np.empty(n)
    for i in prange(n):
        out[i] = _sq(X, i, C, labels[i])
    return out


@numba.njit(cache=True, parallel=True)
def brute_nearest(X, C):
    """Reference: index and squared distance of the nearest centre, comparing with all (n k d)."""
    n = X.shape[0]
    k = C.shape[0]
    lab = np.empty(n, np.int64)
    dist = np.empty(n)
    for i in prange(n):
        best = 0
        bd = _sq(X, i, C, 0)
        for c in range(1, k):
            dd = _sq(X, i, C, c)
            if dd < bd:
                bd = dd
                best = c
        lab[i] = best
        dist[i] = bd
    return lab, dist


@numba.njit(cache=True, parallel=True)
def nearest_from_gram(X, xnorm, C, G, row0, c_norm_max, labels, upper, lower, cand, cand_key, cum, rest):
    """Exact nearest centres of rows ``row0 .. row0 + m`` of ``X`` from ``G = |c|^2 - 2 X C^T`` (m, k);
    ``xnorm`` (n,) holds ``|x|`` per row (a bound's input: its own rounding is covered by the margin).

    ``G`` comes from a matrix product (BLAS), whose rounding can misorder centres
    whose distances nearly tie. Every entry is within ``err`` of ``|x - c|^2 - |x|^2``
    with ``err = 4 (d + 2) u (|x| + max |c|)^2`` (``u`` the unit roundoff; a generous
    form of the usual dot-product bound), so the nearest centre is among those with
    ``G <= min G + 2 err``: those few are compared exactly, as :func:`assign_pass`
    compares, and ``labels`` receives the nearest. ``upper`` receives its distance where
    several were compared, otherwise the upper bound ``sqrt(min G + |x|^2 + err)``;
    ``lower`` a lower bound on the distance to every other centre (``inf`` if none);
    ``cand`` (n, t) the ``t`` other centres of least ``G`` and ``rest`` a lower bound on the
    distance to every centre but those and the nearest, so that pruned passes after a
    dense one start from candidates as after a search.
    """
    m, k = G.shape
    d = X.shape[1]
    u = 2.0 ** -53
    t = cand.shape[1]
    # scratch per chunk of rows (an allocation per row inside the parallel loop serialises the
    # threads on the allocator: heavy-tailed data, k = 1000, took 2.7x scikit-learn's time)
    n_chunks = min(m, 64)
    size = (m + n_chunks - 1) // max(n_chunks, 1)
    scratch_g = np.empty((n_chunks, t + 1))
    scratch_i = np.empty((n_chunks, t + 1), np.int64)
    for ch in prange(n_chunks):
        for r in range(ch * size, min(m, (ch + 1) * size)):
            _nearest_from_gram_row(X, xnorm, C, G, row0, c_norm_max, labels, upper, lower, cand, cand_key, cum,
                                   rest, r, d, u, scratch_g[ch], scratch_i[ch])


@numba.njit(cache=True)
def _nearest_from_gram_row(X, xnorm, C, G, row0, c_norm_max, labels, upper, lower, cand, cand_key, cum, rest, r,
                           d, u, bg, bi):
    """Row ``r`` of :func:`nearest_from_gram`, with scratch ``bg`` / ``bi`` (t + 1,)."""
    k = G.shape[1]
    i = row0 + r
    xn = xnorm[i]
    err = 4.0 * (d + 2) * u * (xn + c_norm_max) ** 2
    gmin = np.inf
    for c in range(k):
        if G[r, c] < gmin:
            gmin = G[r, c]
    thr = gmin + 2.0 * err
    near = 0
    best = -1
    for c in range(k):
        if G[r, c] <= thr:
            near += 1
            best = c
    if near == 1:  # no near-tie: the product decides, and bounds the distance from above
        labels[i] = best
        upper[i] = math.sqrt(max(0.0, gmin + xn * xn + err))
    else:
        best = -1
        bd = np.inf
        for c in range(k):
            if G[r, c] <= thr:
                dd = _sq(X, i, C, c)
                if dd < bd:
                    bd = dd
                    best = c
        labels[i] = best
        upper[i] = math.sqrt(bd)
    # every other centre c has |x - c|^2 >= G[r, c] + |x|^2 - err
    t = cand.shape[1]
    bg[:] = np.inf
    bi[:] = -1
    for c in range(k):
        if c != best:
            _keep_nearest(bg, bi, G[r, c], c)
    lower[i] = math.sqrt(max(0.0, bg[0] + xn * xn - err))
    for q in range(t):
        cand[i, q] = bi[q]
        cand_key[i, q] = math.sqrt(max(0.0, bg[q] + xn * xn - err)) + cum[bi[q]] if bi[q] >= 0 else -np.inf
    rest[i] = math.sqrt(max(0.0, bg[t] + xn * xn - err))
