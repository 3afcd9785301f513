"""Algorithms 5 and 6 of the LSH-tree paper over one subtree: the kernel of both engines.

Algorithm 7 ships subtrees to tasks; a task runs the DP over its rows with the
finished tables of its boundary children given as input. The local engine's
DP is the case of one subtree (the whole tree) without inputs, so both engines
run these functions and do the same additions in the same order.

Row conventions (all arrays of shape (n_rows,)): rows are ordered children
before parents; ``left``/``right`` are the *rows* of the children (-1 for
leaves; ignored for input rows); ``size`` is the number of leaves below.
Input rows (``is_input[r]``) are finished vertices whose table is
``in_vals[in_offs[r]:in_offs[r+1]]``; ``is_input`` of length 0 means there
are none (the local engine, which then allocates nothing per vertex for it).
"""

from __future__ import annotations

import numba
import numpy as np

NO_INPUT = np.zeros(0, np.bool_)
NO_OFFS = np.zeros(1, np.int64)
NO_VALS = np.zeros(0, np.float64)

_BIG = np.int64(1) << 62  # "no count yet" in the approximate DP's scratch


@numba.njit(cache=True, inline="always")
def _trace_buffers(m):
    """Output rows, counts (or breakpoints), selected flags, and a two-array stack, ``m`` entries each."""
    return (np.empty(m, np.int64), np.empty(m, np.int64), np.empty(m, np.bool_), np.empty(m, np.int64),
            np.empty(m, np.int64))


# --------------------------------------------------------------------------- Algorithm 5


@numba.njit(cache=True, inline="always")
def min_plus_into(dp, o, oa, na, ob, nb, cv):
    """Algorithm 5's recurrence for one vertex with children tables ``a``, ``b``:
    ``dp[o + i - 1] = min(dp[o + i - 1], min_{i1 + i2 = i} dp[oa + i1 - 1] + dp[ob + i2 - 1])``
    for ``i <= cv``, with ``na``/``nb`` entries in the children's tables.
    """
    for i1 in range(1, na + 1):
        va = dp[oa + i1 - 1]
        lim = min(nb, cv - i1)
        for i2 in range(1, lim + 1):
            s = va + dp[ob + i2 - 1]
            if s < dp[o + i1 + i2 - 1]:
                dp[o + i1 + i2 - 1] = s


@numba.njit(cache=True)
def exact_tables(left, right, size, w, is_input, in_offs, in_vals, k):
    """Algorithm 5's tables ``dp(C, i)`` (least weight with exactly ``i`` vertices) for every row.

    Parameters
    ----------
    left, right, size : ndarray of shape (n_rows,), int64
    w : ndarray of shape (n_rows,), float64
        Vertex weights ``w(C)``.
    is_input : ndarray of shape (n_rows,) or (0,), bool
    in_offs : ndarray of shape (n_rows + 1,) or (1,), int64
    in_vals : ndarray of float64
        Input rows' tables, ``min(size, k)`` entries each.
    k : int

    Returns
    -------
    dp : ndarray of shape (offs[-1],)
        Row ``r``'s table is ``dp[offs[r]:offs[r+1]]``, entry ``i - 1`` for ``i`` vertices.
    offs : ndarray of shape (n_rows + 1,), int64
    cap : ndarray of shape (n_rows,), int64
        ``min(size, k)``, the table lengths (the subtree-size bound of Algorithm 5).
    """
    n = left.shape[0]
    has_input = is_input.shape[0] > 0
    cap = np.empty(n, np.int64)
    offs = np.empty(n + 1, np.int64)
    offs[0] = 0
    for r in range(n):
        cap[r] = min(size[r], k)
        offs[r + 1] = offs[r] + cap[r]
    dp = np.full(offs[n], np.inf)
    for r in range(n):
        o = offs[r]
        if has_input and is_input[r]:
            for i in range(cap[r]):
                dp[o + i] = in_vals[in_offs[r] + i]
            continue
        dp[o] = w[r]
        if left[r] < 0:
            continue
        a = left[r]
        b = right[r]
        min_plus_into(dp, o, offs[a], cap[a], offs[b], cap[b], cap[r])
    return dp, offs, cap


@numba.njit(cache=True)
def exact_traceback(left, right, is_input, dp, offs, cap, root, n_clusters):
    """Algorithm 5's traceback (line 10) from ``root`` with ``n_clusters`` vertices.

    Splits a count at the smallest ``i'`` that attains the table entry. Stops
    at selected rows (count 1) and at input rows other than ``root`` (finished
    subtrees, traced by their own task, Algorithm 7).

    Returns
    -------
    rows, counts : ndarray of shape (m,), int64
        Rows reached and the count each is traced with.
    selected : ndarray of shape (m,), bool
        True for selected rows (count 1), False for input rows to trace further.
    """
    has_input = is_input.shape[0] > 0
    out_r, out_i, out_sel, stack_r, stack_i = _trace_buffers(2 * n_clusters + 2)
    n_out = 0
    stack_r[0] = root
    stack_i[0] = n_clusters
    top = 1
    while top > 0:
        top -= 1
        r = stack_r[top]
        i = stack_i[top]
        if i == 1 or (has_input and is_input[r] and r != root):
            out_r[n_out] = r
            out_i[n_out] = i
            out_sel[n_out] = i == 1
            n_out += 1
            continue
        a = left[r]
        b = right[r]
        target = dp[offs[r] + i - 1]
        found = -1
        for i1 in range(max(1, i - cap[b]), min(cap[a], i - 1) + 1):  # smallest i' first (Alg. 5 line 10.4)
            if dp[offs[a] + i1 - 1] + dp[offs[b] + i - i1 - 1] == target:
                found = i1
                break
        stack_r[top] = a
        stack_i[top] = found
        stack_r[top + 1] = b
        stack_i[top + 1] = i - found
        top += 2
    return out_r[:n_out], out_i[:n_out], out_sel[:n_out]


# --------------------------------------------------------------------------- Algorithm 6


def level_tables(step: float, n_levels: int) -> np.ndarray:
    """``lambda_i = (1 + step)^i`` for ``i = 0 .. n_levels - 1``, shape (n_levels,) (``lambda_{-1} = 0`` is implicit)."""
    return (1.0 + step) ** np.arange(n_levels, dtype=np.float64)


def level_count(n_leaves: int, w_max: float, unit: float, step: float) -> int:
    """Number of cost levels of Algorithm 6 (line 2), weights rescaled so the least positive one is 1."""
    return int(np.ceil(np.log(2.0 * n_leaves * w_max / unit) / np.log1p(step))) + 2


@numba.njit(cache=True, inline="always")
def level_of(x, lam, inv_log_step):
    """Smallest i with lam[i] >= x for x > 0 (len(lam) if none), -1 for x == 0.

    One logarithm gives the level up to rounding; the table comparison makes it
    exact with respect to ``lam`` (with a relative tolerance of 1e-12).
    """
    if x <= 0.0:
        return -1
    n = lam.shape[0]
    i = np.int64(np.ceil(np.log(x) * inv_log_step))
    if i < 0:
        i = 0
    if i > n:
        i = n
    xt = x * (1 - 1e-12)
    while i > 0 and lam[i - 1] >= xt:
        i -= 1
    while i < n and lam[i] < xt:
        i += 1
    return i


@numba.njit(cache=True)
def approx_vertex(wv, lv, oa, na, ob, nb, o, bl, bc, bx, pa, pb, lam, k, inv_log_step,
                  best_c, best_x, best_a, best_b):
    """Algorithm 6, lines 6-10, for one vertex of weight ``wv`` (level ``lv >= 0``).

    Its children's breakpoints are ``oa .. oa+na-1`` and ``ob .. ob+nb-1`` of the
    arrays; the vertex's are written from ``o`` on (children pairs first, the
    vertex itself last) and their number is returned. ``best_*`` are scratch
    arrays of length ``len(lam) + 2``, ``best_c`` all ``_BIG`` on entry and exit.
    """
    lo = lv + 1
    hi = -1
    for x in range(oa, oa + na):
        ca = bc[x]
        xa = bx[x]
        for y in range(ob, ob + nb):
            cost = xa + bx[y]
            lsum = level_of(cost, lam, inv_log_step)
            if lsum >= lv:  # from level lv on the vertex itself (count 1) wins
                break
            c = ca + bc[y]
            t = lsum + 1
            if c < best_c[t] or (c == best_c[t] and cost < best_x[t]):
                best_c[t] = c
                best_x[t] = cost
                best_a[t] = x
                best_b[t] = y
            if t < lo:
                lo = t
            if t > hi:
                hi = t
    m = 0
    run = k + 1  # only counts <= k are kept
    for t in range(lo, hi + 1):
        if best_c[t] < run:
            run = best_c[t]
            bl[o + m] = t - 1
            bc[o + m] = run
            bx[o + m] = best_x[t]
            pa[o + m] = best_a[t]
            pb[o + m] = best_b[t]
            m += 1
        best_c[t] = _BIG
    bl[o + m] = lv
    bc[o + m] = 1
    bx[o + m] = wv
    pa[o + m] = -1
    pb[o + m] = -1
    return m + 1


@numba.njit(cache=True)
def approx_tables(left, right, size, wn, is_input, in_offs, in_vals, lam, k, inv_log_step):
    """Breakpoint tables of Algorithm 6 for every row, counts above ``k`` dropped.

    Row ``r`` stores breakpoints ``x = offs[r] .. offs[r]+nbp[r]-1`` with levels
    ``bl`` increasing and counts ``bc`` strictly decreasing: DPsize(r, i) is the
    count of the last breakpoint whose level is <= i (and exceeds ``k`` below the
    first). Each breakpoint also keeps the actual weight ``bx`` of a pruning that
    achieves it and the two children breakpoints ``pa``/``pb`` it came from (-1 for
    the vertex itself and for input rows).

    Two departures from line 9, both provably never worse:
    * a combination is placed at the level of the *actual* sum ``bx_a + bx_b``
      instead of ``lambda_a + lambda_b``; since ``bx <= lambda`` at every breakpoint,
      by induction every count sits at a level no higher than in Algorithm 6's
      table, so Lemma 3.12's bound holds and rounding no longer compounds up the tree;
    * counts above ``k`` are dropped: a sum with such a term exceeds ``k``, so the
      root's choice (line 12) and the traceback never read them. This bounds each
      table by ``min(|C|, levels + 2, k + 1)`` entries.

    Parameters
    ----------
    left, right, size : ndarray of shape (n_rows,), int64
    wn : ndarray of shape (n_rows,), float64
        Vertex weights divided by the unit (least positive weight).
    is_input, in_offs, in_vals :
        As in :func:`exact_tables`; an input row's table is flattened as
        ``[levels, counts, weights]`` (``3 m`` values for ``m`` breakpoints).
    lam : ndarray of shape (n_levels,)
        :func:`level_tables`.
    k : int
    inv_log_step : float
        ``1 / log1p(step)``.

    Returns
    -------
    bl, bc : ndarray of shape (offs[-1],), int64
    bx : ndarray of shape (offs[-1],), float64
    pa, pb : ndarray of shape (offs[-1],), int64
    offs : ndarray of shape (n_rows + 1,), int64
    nbp : ndarray of shape (n_rows,), int64
    """
    n = left.shape[0]
    n_levels = lam.shape[0]
    has_input = is_input.shape[0] > 0
    offs = np.empty(n + 1, np.int64)
    offs[0] = 0
    for r in range(n):
        if has_input and is_input[r]:
            offs[r + 1] = offs[r] + (in_offs[r + 1] - in_offs[r]) // 3
        else:
            offs[r + 1] = offs[r] + min(size[r], n_levels + 2, k + 1)
    total = offs[n]
    bl = np.empty(total, np.int64)
    bc = np.empty(total, np.int64)
    bx = np.empty(total)
    pa = np.empty(total, np.int64)
    pb = np.empty(total, np.int64)
    nbp = np.zeros(n, np.int64)
    best_c = np.full(n_levels + 2, _BIG, np.int64)
    best_x = np.empty(n_levels + 2)
    best_a = np.empty(n_levels + 2, np.int64)
    best_b = np.empty(n_levels + 2, np.int64)
    for r in range(n):
        o = offs[r]
        if has_input and is_input[r]:
            m = (in_offs[r + 1] - in_offs[r]) // 3
            base = in_offs[r]
            for i in range(m):
                bl[o + i] = np.int64(in_vals[base + i])
                bc[o + i] = np.int64(in_vals[base + m + i])
                bx[o + i] = in_vals[base + 2 * m + i]
                pa[o + i] = -1
                pb[o + i] = -1
            nbp[r] = m
            continue
        lv = level_of(wn[r], lam, inv_log_step)
        if left[r] < 0 or lv == -1:
            bl[o] = lv
            bc[o] = 1
            bx[o] = wn[r]
            pa[o] = -1
            pb[o] = -1
            nbp[r] = 1
            continue
        a = left[r]
        b = right[r]
        nbp[r] = approx_vertex(wn[r], lv, offs[a], nbp[a], offs[b], nbp[b], o, bl, bc, bx, pa, pb, lam, k,
                               inv_log_step, best_c, best_x, best_a, best_b)
    return bl, bc, bx, pa, pb, offs, nbp


@numba.njit(cache=True)
def approx_traceback(left, right, is_input, offs, pa, pb, root, start, max_out):
    """Algorithm 6's traceback (line 14): follow the stored children breakpoints.

    Starts at breakpoint ``start`` (an index within ``root``'s table) and stops
    at rows that chose themselves (selected) and at input rows other than
    ``root`` (finished subtrees, traced by their own task from the breakpoint
    reached). ``max_out`` bounds the rows reached (the selected count, or the
    number of rows).

    Returns
    -------
    rows, index : ndarray of shape (m,), int64
        Rows reached and the breakpoint (within the row's table) each is reached with.
    selected : ndarray of shape (m,), bool
    """
    has_input = is_input.shape[0] > 0
    out_r, out_i, out_sel, stack_r, stack_x = _trace_buffers(2 * max_out + 2)
    n_out = 0
    stack_r[0] = root
    stack_x[0] = offs[root] + start
    top = 1
    while top > 0:
        top -= 1
        r = stack_r[top]
        x = stack_x[top]
        if has_input and is_input[r] and r != root:
            out_r[n_out] = r
            out_i[n_out] = x - offs[r]
            out_sel[n_out] = False
            n_out += 1
            continue
        if pa[x] < 0:  # the vertex itself (Alg. 6 line 14.2)
            out_r[n_out] = r
            out_i[n_out] = 0
            out_sel[n_out] = True
            n_out += 1
            continue
        stack_r[top] = left[r]
        stack_x[top] = pa[x]
        stack_r[top + 1] = right[r]
        stack_x[top + 1] = pb[x]
        top += 2
    return out_r[:n_out], out_i[:n_out], out_sel[:n_out]


# --------------------------------------------------------------------------- rows of a shipped subtree


@numba.njit(cache=True)
def child_rows(node, left, right, is_input):
    """The rows of each row's children within one shipped subtree (Algorithm 7, line 6).

    Parameters
    ----------
    node : ndarray of shape (n_rows,), int64, distinct vertex ids
    left, right : ndarray of shape (n_rows,), int64
        Children's vertex ids (-1 for leaves).
    is_input : ndarray of shape (n_rows,), bool
        Input rows' children are not shipped.

    Returns
    -------
    lrow, rrow : ndarray of shape (n_rows,), int64
        -1 for leaves and input rows.
    """
    n = node.shape[0]
    order = np.argsort(node)
    sorted_nodes = node[order]
    lrow = np.full(n, -1, np.int64)
    rrow = np.full(n, -1, np.int64)
    for r in range(n):
        if is_input[r] or left[r] < 0:
            continue
        lrow[r] = order[np.searchsorted(sorted_nodes, left[r])]
        rrow[r] = order[np.searchsorted(sorted_nodes, right[r])]
    return lrow, rrow
