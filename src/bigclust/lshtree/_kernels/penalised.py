"""The Lagrangian relaxation's penalised pass over one subtree: the kernel of both engines.

For a penalty ``lam`` per cluster, the least ``sum_S w + lam |S|`` over prunings
``S`` of a vertex's subtree is ``best(v) = min(w(v) + lam, best(a) + best(b))``,
one bottom-up pass. Ties between the vertex itself and its children can go
either way: to the vertex (the *fewer* rule, fewest clusters) or to the
children (the *many* rule); the value is the same for both, only the counts
differ, so one pass gives the value and both counts.

Row conventions are those of :mod:`.subtree_dp`: rows ordered children before
parents, ``left``/``right`` the *rows* of the children (-1 for leaves; ignored
for input rows), input rows (``is_input[r]``) the roots of finished subtrees
(Algorithm 7) whose table is ``in_vals[in_offs[r]:in_offs[r+1]]``: for ``P``
penalties ``[values (P), fewer counts (P), many counts (P)]``. ``is_input`` of
length 0 means there are none: the local engine passes the whole tree (rows =
vertex ids, ``tree.left``/``tree.right``), so both engines run the same
additions and comparisons in the same order and agree bit for bit. The search
over penalties is :func:`bigclust.lshtree.pruning.lagrangian_search`.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True)
def penalised_batch(left, right, w, is_input, in_offs, in_vals, lams, root):
    """The penalised value and both counts at row ``root``, for every penalty of ``lams``.

    One bottom-up pass per penalty with ``O(rows)`` scratch, whatever ``k``.
    Returns (value, fewer count, many count), arrays of ``len(lams)``.
    """
    n = left.shape[0]
    P = lams.shape[0]
    has_input = is_input.shape[0] > 0
    best = np.empty(n)
    cf = np.empty(n, np.int64)
    cm = np.empty(n, np.int64)
    o_val = np.empty(P)
    o_cf = np.empty(P, np.int64)
    o_cm = np.empty(P, np.int64)
    for j in range(P):
        lam = lams[j]
        for r in range(n):
            if has_input and is_input[r]:
                o = in_offs[r]
                best[r] = in_vals[o + j]
                cf[r] = np.int64(in_vals[o + P + j])
                cm[r] = np.int64(in_vals[o + 2 * P + j])
                continue
            own = w[r] + lam
            a = left[r]
            if a < 0:
                best[r] = own
                cf[r] = 1
                cm[r] = 1
                continue
            b = right[r]
            split = best[a] + best[b]
            if own < split:
                best[r] = own
                cf[r] = 1
                cm[r] = 1
            elif own == split:  # a tie: the vertex (fewer) or its children (many), the same value
                best[r] = own
                cf[r] = 1
                cm[r] = cm[a] + cm[b]
            else:
                best[r] = split
                cf[r] = cf[a] + cf[b]
                cm[r] = cm[a] + cm[b]
        o_val[j] = best[root]
        o_cf[j] = cf[root]
        o_cm[j] = cm[root]
    return o_val, o_cf, o_cm


@numba.njit(cache=True)
def penalised_take(left, right, w, is_input, in_offs, in_vals, lam, fewer):
    """Whether each row takes itself (rather than its children) at penalty ``lam``; ties by ``fewer``.

    An input row's table holds one penalty: ``[value, fewer count, many count]``.
    Input rows are decided by their own subtree (False here).
    """
    n = left.shape[0]
    has_input = is_input.shape[0] > 0
    best = np.empty(n)
    take = np.zeros(n, np.bool_)
    for r in range(n):
        if has_input and is_input[r]:
            best[r] = in_vals[in_offs[r]]
            continue
        own = w[r] + lam
        a = left[r]
        if a < 0:
            best[r] = own
            take[r] = True
            continue
        split = best[a] + best[right[r]]
        if own < split or (own == split and fewer):
            best[r] = own
            take[r] = True
        else:
            best[r] = split
    return take


@numba.njit(cache=True)
def penalised_trace(left, right, is_input, take, root):
    """The rows the optimal pruning reaches from ``root``: a row is selected when it takes itself
    and no row above it did. Input rows reached (other than ``root``) are returned unselected:
    their own subtree decides. Returns (rows, is_selected), in depth-first order."""
    n = left.shape[0]
    has_input = is_input.shape[0] > 0
    out_r = np.empty(n, np.int64)
    out_sel = np.empty(n, np.bool_)
    n_out = 0
    stack = np.empty(n + 1, np.int64)
    stack[0] = root
    top = 1
    while top > 0:
        top -= 1
        r = stack[top]
        if has_input and is_input[r] and r != root:
            out_r[n_out] = r
            out_sel[n_out] = False
            n_out += 1
            continue
        if take[r]:
            out_r[n_out] = r
            out_sel[n_out] = True
            n_out += 1
            continue
        stack[top] = left[r]
        stack[top + 1] = right[r]
        top += 2
    return out_r[:n_out], out_sel[:n_out]
