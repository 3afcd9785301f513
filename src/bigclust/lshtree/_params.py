"""The LSH-tree fit's parameters, validated once, and the pruning-DP policy both engines follow.

The estimator checks its public parameters (declaratively, see
:mod:`bigclust._core.validation`), turns them into one frozen :class:`TreeParams`
and hands that to an engine (:mod:`._local` or :mod:`._spark`); the engines never
see the estimator. Which dynamic program runs, with which step and which
guarantee, is decided here from quantities both engines measure on the same tree
(:func:`choose_method`, :func:`choose_step`, :func:`approx_pruning`), so that
``method="auto"``, ``"exact"`` and ``"approx"`` give the same partition on both.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from .._core import validation as V
from .pruning import approx_guarantee

# method="auto" runs the exact DP (Algorithm 5) when it needs at most this many
# inner-loop operations and table entries (2e8 float64 entries = 1.6 GB), the
# approximate DP otherwise; method="exact" refuses beyond 4 * EXACT_MAX_ENTRIES.
# The same budget holds on Spark, where the tables are spread over tasks, so that
# both engines choose the same DP for the same tree.
EXACT_MAX_WORK = 5e9
EXACT_MAX_ENTRIES = 2e8
# Algorithm 6 keeps a table of cost levels (float64 each): refused beyond this many.
MAX_LEVELS = int(1e7)


@dataclass(frozen=True)
class TreeParams:
    """Everything an engine needs to fit, validated (see the estimators' docstrings for meanings).

    ``n_clusters`` is the requested ``k`` (an engine lowers it to the number of
    distinct points, with a warning); ``objective`` is ``"kmeans"`` or
    ``"kmedian"``. ``projection_dim`` may be ``"auto"`` until :meth:`for_data`
    resolves it (None = no projection); engines call :meth:`for_data` as soon as
    they know the number of rows and features, before any work.
    """

    objective: str
    n_clusters: int
    method: str
    approx_epsilon: float
    dp_step: float | None
    refine: int | str
    n_hashes: int
    n_projections: int
    bucket_width: float
    scale_ratio: float
    edge_factor: float
    projection_dim: int | str | None
    candidates: str
    median_sample_size: int
    weiszfeld_iter: int
    verbose: bool

    def for_data(self, n_samples: int, n_features: int) -> "TreeParams":
        """These parameters checked against the data's shape: ``n_clusters <= n_samples``, and
        ``projection_dim`` resolved ("auto": 128 when ``n_features > 256``; none when not below ``n_features``)."""
        V.check_n_clusters(self.n_clusters, n_samples)
        dim = self.projection_dim
        if dim == "auto":
            dim = 128 if n_features > 256 else None
        elif dim is not None and dim >= n_features:
            dim = None
        return replace(self, projection_dim=dim)


def choose_method(method: str, k: int, exact_work: float, exact_entries: float) -> str:
    """``"exact"`` or ``"approx"``, from the exact DP's work and table entries (known before it runs).

    Raises ``MemoryError`` for ``method="exact"`` when the tables could not fit.
    """
    if method == "exact":
        if exact_entries > 4 * EXACT_MAX_ENTRIES:
            raise MemoryError(
                f"method='exact' needs {exact_entries:.3g} DP table entries ({exact_entries * 8 / 2**30:.1f} GiB) "
                f"for n_clusters={k}; use method='approx', whose memory does not grow with k.")
        return "exact"
    if method == "auto" and exact_work <= EXACT_MAX_WORK and exact_entries <= EXACT_MAX_ENTRIES:
        return "exact"
    return "approx"


def approx_table_cap(n_levels: int, k: int) -> int:
    """Most breakpoints one vertex's table of Algorithm 6 holds: ``min(levels + 2, k + 1)`` (and ``|C|``)."""
    return min(int(n_levels) + 2, int(k) + 1)


def choose_step(params: TreeParams, k: int, depth: int, levels_for: Callable[[float], int],
                measure: Callable[[int], tuple[float, float]]) -> tuple[float, dict]:
    """Algorithm 6's step and what it guarantees.

    ``dp_step`` if given; else Lemma 3.12's ``epsilon / (2 H)``; with
    ``method="auto"``, if that table would be too large (very large ``k``), the
    finest step ``epsilon / (2 H) * 2^j <= epsilon`` whose table fits, which only
    guarantees ``(1 + step)^H`` (the finest step that fits, because coarser
    steps compound their rounding over the depth).

    ``levels_for(step)`` is the number of cost levels (Algorithm 6, line 2) and
    ``measure(cap)`` the (operations, table entries) of a DP whose tables hold at
    most ``cap`` entries per vertex; both engines compute them on the same tree.
    """
    H = max(int(depth), 1)
    eps = params.approx_epsilon
    info: dict = {}
    if params.dp_step is not None:
        step = params.dp_step
    else:
        step = eps / (2 * H)
        if params.method == "auto":
            while True:
                n_levels = levels_for(step)
                work, entries = measure(approx_table_cap(n_levels, k))
                if (work <= EXACT_MAX_WORK and entries <= EXACT_MAX_ENTRIES and n_levels <= MAX_LEVELS) or step >= eps:
                    break
                step = min(2 * step, eps)
            info["approx_work"] = work
    n_levels = levels_for(step)
    if n_levels > MAX_LEVELS:  # before Algorithm 6 allocates its level table (issue 22: 13 PiB at epsilon 1e-12)
        what = "dp_step" if params.dp_step is not None else "approx_epsilon"
        raise ValueError(
            f"{what} is too fine for this tree (depth {H}): Algorithm 6 would keep more than {MAX_LEVELS:.0e} "
            f"cost levels ({8 * MAX_LEVELS / 2**20:.0f} MiB); use {what} >= {_finest(levels_for, step, eps, H, what):.3g}, "
            "or method='exact' or 'auto'.")
    info.update(step=step, guarantee=approx_guarantee(step, H, eps))
    return step, info


def _finest(levels_for: Callable[[float], int], step: float, eps: float, H: int, what: str) -> float:
    """The least ``dp_step`` (or ``approx_epsilon = 2 H step``) found by doubling whose table has at most MAX_LEVELS levels."""
    while levels_for(step) > MAX_LEVELS:
        step *= 2
    return step if what == "dp_step" else 2 * H * step


def approx_pruning(params: TreeParams, info: dict, lagrangian: Callable[[], tuple[np.ndarray, dict]],
                   algorithm6: Callable[[], tuple[np.ndarray, dict]],
                   cost_of: Callable[[np.ndarray], float]) -> tuple[np.ndarray, dict]:
    """Algorithm 6 and a Lagrangian relaxation (both memory-independent of k); the cheaper wins.

    ``lagrangian()`` returns ``lagrangian_dp``'s (selected, info); ``algorithm6()``
    returns Algorithm 6's pruning grown to ``k`` clusters by greedy splits and its
    info; ``cost_of(selected)`` is the pruning's total node cost, summed exactly
    (``math.fsum``: the engines number vertices differently, so any fixed order
    of summation would differ between them). The Lagrangian pass is exact when a penalty hits ``k``
    clusters and always certifies a lower bound; with ``method="auto"`` an exact
    certificate makes Algorithm 6 unnecessary. ``info["source"]`` names the winner,
    ``info["certified_gap"]`` is cost / lower bound on the optimal ``k``-pruning,
    ``info["ran"]`` lists the DPs that ran (see :func:`approx_method`).
    """
    lag_sel, lag = lagrangian()
    info["lagrangian"] = lag
    best, source = lag_sel, "lagrangian"
    best_cost = cost_of(lag_sel)
    info["ran"] = ["lagrangian"]
    if not (params.method == "auto" and lag["exact"]):
        info["ran"].append("algorithm6")
        sel, a_info = algorithm6()
        info.update(a_info)
        cost = cost_of(sel)
        if cost <= best_cost:
            best, source, best_cost = sel, "algorithm6", cost
    info["source"] = source
    lb = lag["lower_bound"]
    info["certified_gap"] = best_cost / lb if lb > 0 else (1.0 if best_cost == 0 else np.inf)
    if lag["exact"] and source == "lagrangian":
        info["guarantee"] = 1.0
    return best, info


def approx_method(info: dict) -> str:
    """``report_["method"]`` after :func:`approx_pruning`: ``"approx"`` when Algorithm 6 ran (beside
    the Lagrangian relaxation), ``"lagrangian"`` when the relaxation's certificate made it unnecessary."""
    return "approx" if "algorithm6" in info["ran"] else "lagrangian"
