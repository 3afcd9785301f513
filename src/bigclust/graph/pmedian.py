"""p-median on a graph metric (Section 5): uniform facility location with a binary search on the
opening cost, then Jain-Vazirani bipoint rounding (Lemma 5.1, Section 5.1-5.2).

The raw path also rounds every bracketing pair of facility-location solutions the search met with
the rounding's random choices replaced by the method of conditional expectations (exact
expectations), and keeps the cheapest answer: each derandomised rounding costs at most the
expected cost of the paper's randomised rounding of the same pair, so the paper's guarantee holds
for the answer (see docs/graph.md, "what is the paper and what is amplification")."""

from __future__ import annotations

import numba
import numpy as np
from scipy.special import gammaln

from sklearn.base import BaseEstimator

from .._core.report import RunRecorder
from .._core.validation import BOOLEAN, NONE, Interval, Options, validate_params
from ._common import (
    REPETITIONS,
    COMMON_CONSTRAINTS,
    AtLeast,
    ClusteringResultMixin,
    check_fixed_p,
    check_graph,
    check_p,
    check_sites,
    outside_model,
    ledger_report,
    machines_for,
    resolve_renamed,
)
from .facility import _charge_output, _nbhd_weights, mettu_plaxton
from .kmachine import KMachine
from .local_search import AUTO_TABLE_CELLS, _distance_rows, swap_local_search
from .neighbourhood import estimate_neighbourhood_sizes
from .paths import mssp

__all__ = ["PMedian", "bipoint_round", "derandomized_round"]

# Budgets of the derandomised roundings of one fit (beyond them a pair is skipped; pairs are
# taken tightest first, the closest opening costs, the pairs Lemma 5.1 is about):
# - ROUNDING_SSSP new single-source searches (one per vertex of some B - B', kept across pairs);
#   measured as the dominant cost (each a full Dijkstra), about a third of the neighbourhood
#   estimate's time at n = 900;
# - ROUNDING_CELLS cells of conditional expectations: (candidates x clients) x (picks + the
#   log2 of a sort), about 0.1 s.
# Off when 64 rows of n distances exceed ROUNDING_CELLS (above 2**19 vertices: the 10**7
# path is unchanged). LADDER: extra MP runs a side, at opening costs 2**k away from the bracket.
ROUNDING_SSSP = 1024
ROUNDING_CELLS = 2**25
LADDER = 6


def bipoint_round(
    graph,
    A: np.ndarray,
    B: np.ndarray,
    p: int,
    rng: np.random.Generator,
    km: KMachine | None = None,
    *,
    pool: np.ndarray | None = None,
    fixed: np.ndarray | None = None,
) -> np.ndarray:
    """Jain-Vazirani rounding of a bipoint solution (Section 5.1) to exactly ``p`` facilities.

    ``|A| < p < |B|``. B' holds, for each vertex of A, its nearest vertex of B (one MSSP call from
    B, Lemma 2.3), padded with random vertices of B until ``|B'| = |A|``. With probability
    ``a = (|B| - p) / (|B| - |A|)`` take A, otherwise B'; then add ``p - |A|`` random vertices of
    ``B - B'``. (If A and B share vertices the result may have fewer than p distinct vertices; it
    is then topped up with random vertices of B, then of ``pool``, which can only lower the cost.)

    ``pool`` (default every vertex) are the allowed sites; ``fixed`` facilities must lie in A and
    in B and are kept: each is its own nearest vertex of B, so it is in B' and in the answer.
    The rounding does not look at client weights (Jain-Vazirani's argument holds for any
    non-negative client weights; only the cost of the result depends on them).
    """
    pool_all = None if pool is None else np.asarray(pool, dtype=np.int64)
    A = np.unique(A)
    B = np.unique(B)
    n_a, n_b = A.size, B.size
    _, near = mssp(graph, B, km)
    if fixed is not None and fixed.size:
        near[fixed] = fixed  # a fixed facility is its own nearest vertex of B (ties at distance 0)
    b_prime = np.unique(near[A])
    rest = np.setdiff1d(B, b_prime)
    if b_prime.size < n_a:
        b_prime = np.concatenate([b_prime, rng.choice(rest, n_a - b_prime.size, replace=False)])
        rest = np.setdiff1d(B, b_prime)
    a = (n_b - p) / (n_b - n_a)
    if km is not None:
        km.ledger.aggregate(2)  # counts |A|, |B'| to the coordinator and its coin flip back
    base = A if rng.random() < a else b_prime
    extra = rng.choice(rest, p - n_a, replace=False)
    C = np.union1d(base, extra)
    if C.size < p:
        pool = np.setdiff1d(B, C)
        if pool.size < p - C.size:
            everyone = np.arange(graph.n_vertices) if pool_all is None else pool_all
            pool = np.setdiff1d(everyone, C)
        C = np.union1d(C, rng.choice(pool, p - C.size, replace=False))
    return C


def _min_probabilities(N: int, k: int) -> np.ndarray:
    """``P[i]``: probability that the i-th smallest (0-based) of N values is the minimum of a
    uniform random k-subset of them, ``C(N-1-i, k-1) / C(N, k)``; zeros when k = 0."""
    out = np.zeros(max(N, 0))
    if k <= 0 or N <= 0:
        return out
    i = np.arange(N)
    a = N - 1 - i
    ok = a >= k - 1
    log_all = gammaln(N + 1) - gammaln(k + 1) - gammaln(N - k + 1)
    out[ok] = np.exp(gammaln(a[ok] + 1) - gammaln(k) - gammaln(a[ok] - k + 2) - log_all)
    return out


def _expected_cost(d0: np.ndarray, DR: np.ndarray, k: int, w: np.ndarray, *, sorted_rows=None) -> float:
    """``E[sum_j w_j min(d0_j, min_{s in S} DR[s, j])]`` for S a uniform k-subset of the rows.

    ``sorted_rows``: ``np.sort(DR, axis=0)`` when the caller has it.
    """
    if k == 0 or DR.shape[0] == 0:
        return float((w * d0).sum())
    P = _min_probabilities(DR.shape[0], k)
    S = np.sort(DR, axis=0) if sorted_rows is None else sorted_rows
    return float(w @ (P @ np.minimum(S, d0[None, :])))


@numba.njit(cache=True)
def _ce_scores(S, order, M, d, w, P, phi):
    """Conditional expected cost of choosing each remaining row next (see
    :func:`_conditional_expectation_picks`); one pass over every client's sorted row values.

    ``S[j, :M]`` / ``order[j, :M]``: client j's distances to the remaining rows, sorted, and
    those rows; ``P[:M-1]`` the min-probabilities of the other rows; adds into ``phi``.
    """
    n = S.shape[0]
    A = np.empty(M + 1)
    Pp = np.empty(M + 1)
    for j in range(n):
        dj = d[j]
        T = 0
        while T < M and S[j, T] < dj:
            T += 1
        A[0] = 0.0
        Pp[0] = 0.0
        first = 0
        for i in range(M):
            s = S[j, i]
            if i > 0 and s != S[j, i - 1]:
                first = i
            if s <= dj:
                t, c = first, s
            else:
                t, c = T, dj
            phi[order[j, i]] += w[j] * (A[t] + c * (1.0 - Pp[t]))
            if i < M - 1:
                A[i + 1] = A[i] + P[i] * s
                Pp[i + 1] = Pp[i] + P[i]


@numba.njit(cache=True)
def _ce_remove(S, order, M, q):
    """Drop row q from every client's sorted list (entries ``:M``)."""
    n = S.shape[0]
    for j in range(n):
        k = 0
        for i in range(M):
            if order[j, i] != q:
                S[j, k] = S[j, i]
                order[j, k] = order[j, i]
                k += 1


def _sorted_by_client(DR: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each client's distances to the rows, sorted, and the rows in that order: (clients, N)."""
    order = np.argsort(DR, axis=0, kind="stable")
    return np.ascontiguousarray(np.take_along_axis(DR, order, axis=0).T), np.ascontiguousarray(order.T)


def _conditional_expectation_picks(d0, DR, k, w, km=None, *, presorted=None):
    """Choose k rows of ``DR`` (shape (N, clients)) by the method of conditional expectations.

    The uniform random k-subset of the rounding is drawn one element at a time; each step keeps
    the row whose choice minimises the exact expected final cost given the rows kept so far and
    a uniform random choice of the rest. The expectation never increases, so the returned set
    costs at most ``_expected_cost(d0, DR, k, w)``.

    For row q with ``c_j = min(d_j, DR[q, j])``, the expected ``min(c_j, M_j)`` (M_j the minimum
    of a random (k-1)-subset of the other rows) is ``A_j(t) + c_j (1 - P(t))``, where t counts
    the other rows strictly below c_j (all of them sort before q in column j, so prefix sums of
    the full sorted column serve every q), ``A_j(t)`` sums ``P_i S_ij`` over i < t and ``P(t)``
    sums ``P_i``. One sort per client, then O(N) per pick and client.

    ``presorted``: :func:`_sorted_by_client` of ``DR`` (consumed) when the caller has it.

    Returns the chosen row indices (distinct) and the final cost.
    """
    N, n = DR.shape
    S, order = _sorted_by_client(DR) if presorted is None else presorted
    d = np.array(d0, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    chosen = []
    for step in range(k):
        M = N - step
        P = _min_probabilities(M - 1, k - step - 1)
        phi = np.zeros(N)
        _ce_scores(S, order, M, d, w, P, phi)
        phi[chosen] = np.inf
        if km is not None:
            km.ledger.aggregate(M)  # one partial sum per remaining row from each machine, decision back
        q = int(np.argmin(phi))
        chosen.append(q)
        np.minimum(d, DR[q], out=d)
        _ce_remove(S, order, M, q)
    return np.array(chosen, dtype=np.int64), float(w @ d)


def derandomized_round(
    graph,
    A: np.ndarray,
    B: np.ndarray,
    p: int,
    rng: np.random.Generator,
    km: KMachine | None = None,
    *,
    demand: np.ndarray,
    pool: np.ndarray | None = None,
    fixed: np.ndarray | None = None,
    rows: dict | None = None,
    max_new_rows: int | None = None,
) -> tuple[np.ndarray | None, float, int]:
    """Jain-Vazirani's bipoint rounding of ``(A, B)`` derandomised by conditional expectations.

    The same random experiment as :func:`bipoint_round` (base A with probability a, else B';
    then ``p - |A|`` uniform vertices of ``R = B - B'``), with every random choice replaced by
    the choice of least exact conditional expected cost (weighted by ``demand``): first the base
    (the smaller of the two expectations, at most their a/b mixture), then the vertices of R one
    at a time (:func:`_conditional_expectation_picks`). The result therefore costs at most the
    expected cost of the randomised rounding of the same pair, which Lemma 5.1 bounds.

    Needs ``|R| = |B| - |A|`` SSSPs (a ``|R| x clients`` table); ``rows`` (vertex -> its
    distances to the clients) keeps them across the pairs of one fit, so that each vertex's
    SSSP runs (and is charged) once (it also keeps the MSSPs of A and B); with ``max_new_rows`` a pair that needs more new SSSPs is
    given up after the MSSP that finds B' (result ``(None, inf, 0)``).

    Returns
    -------
    C : ndarray of int64, exactly p distinct vertices (``fixed`` included)
    cost : float
        ``sum_v demand[v] d(v, C)``.
    new_rows : int
        SSSPs run for this pair.
    """
    A = np.unique(A)
    B = np.unique(B)
    cidx = np.flatnonzero(demand > 0)
    w = demand[cidx]
    if rows is None:
        rows = {}

    def msspc(S):  # MSSP of a solution met before: its distances stay where they were computed
        key = ("mssp", S.tobytes())
        if key not in rows:
            rows[key] = mssp(graph, S, km)
        return rows[key]

    near = msspc(B)[1].copy()
    if fixed is not None and fixed.size:
        near[fixed] = fixed
    b_prime = np.unique(near[A])
    rest = np.setdiff1d(B, b_prime)
    if b_prime.size < A.size:  # "add arbitrary vertices of B" (Section 5.1)
        b_prime = np.concatenate([b_prime, rng.choice(rest, A.size - b_prime.size, replace=False)])
        rest = np.setdiff1d(B, b_prime)
    m = p - A.size
    todo = np.array([v for v in rest.tolist() if v not in rows], dtype=np.int64)  # int keys: SSSP rows
    if max_new_rows is not None and todo.size > max_new_rows:
        return None, np.inf, 0
    for v, row in zip(todo.tolist(), _distance_rows(graph, todo, cidx, km)):
        rows[v] = row
    DR = np.vstack([rows[v] for v in rest.tolist()]) if rest.size else np.empty((0, cidx.size))
    d_a = msspc(A)[0][cidx]
    d_b = mssp(graph, b_prime, km)[0][cidx]
    if km is not None:
        km.ledger.aggregate(2)  # both expectations at the coordinator, its choice back
    S, order = _sorted_by_client(DR)
    e_a = _expected_cost(d_a, DR, m, w, sorted_rows=S.T)
    e_b = _expected_cost(d_b, DR, m, w, sorted_rows=S.T)
    base, d0 = (A, d_a) if e_a <= e_b else (b_prime, d_b)
    picks, cost = _conditional_expectation_picks(d0, DR, m, w, km, presorted=(S, order))
    C = np.union1d(base, rest[picks])
    if C.size < p:  # A shared vertices with R: any extra facility only lowers the cost
        free = np.setdiff1d(B, C)
        if free.size < p - C.size:
            free = np.setdiff1d(np.arange(graph.n_vertices) if pool is None else pool, C)
        C = np.union1d(C, rng.choice(free, p - C.size, replace=False))
        cost = float((demand * mssp(graph, C, km)[0]).sum())
    return C, cost, int(todo.size)


class PMedian(ClusteringResultMixin, BaseEstimator):
    """p-median on a graph's shortest-path metric (Section 5).

    Choose exactly ``p`` vertices minimising ``sum_v d(v, nearest chosen vertex)``.

    The search runs the facility location algorithm of Section 4 with a uniform opening cost z,
    bisecting z (log scale) until a solution with exactly p facilities appears or two solutions
    A, B with ``|A| < p < |B|`` bracket p at opening costs within a factor
    ``1 + distance_precision`` (the resolution of the discretised radii: finer steps only redraw
    the random tie orders); those are combined by Jain-Vazirani bipoint rounding,
    repeated ``n_roundings`` times (the paper's O(log n) repetitions) keeping the cheapest.
    The neighbourhood sizes are estimated once: they do not depend on z.

    Parameters
    ----------
    p : int
        Number of medians, 1 <= p <= n_vertices.
    distance_precision : float in [1e-4, 1], default=0.05
        Relative precision of distances: radii and distances are discretised into powers of
        ``1 + distance_precision`` (the paper's epsilon, Section 4).
    n_repetitions : int in [1, 100000], default=64
        Rank draws of the neighbourhood-size estimator (Algorithm 3).
    n_roundings : int, optional
        Independent bipoint roundings; default ``ceil(log2 n)``.
    n_probes : int, default=8
        Extra MP runs (fresh tie orders, opening costs within a factor
        ``1 + distance_precision`` of the one that gave exactly p facilities); the cheapest
        p-facility solution is kept.
    derandomize : bool, default=True
        Also round every pair (A, B) of facility-location solutions met by the search with
        ``|A| < p < |B|`` (plus ``LADDER = 6`` MP runs a side at opening costs ``2**k`` away
        from the bracket), tightest opening costs first, with Jain-Vazirani's rounding
        derandomised by conditional expectations (:func:`derandomized_round`), and keep the
        cheapest of these and the paper's answer. Each such rounding costs at most the
        expected cost of the randomised rounding of its pair. Bounded by ``ROUNDING_SSSP =
        1024`` SSSPs and ``ROUNDING_CELLS = 2**25`` cells per fit; off above ``2**19`` vertices.
        ``False``: the paper's rounding of the final bracket only.
    max_search_steps : int in [1, 2000], default=60
        Bisection steps on the opening cost.
    machines : int in [1, 256], default=1
        Simulated k-machine model size (see :class:`FacilityLocation`).
    local_search : bool or "auto", default="auto"
        Swap local search after the paper's algorithm (beyond the paper; only shortest-path
        computations, charged to the ledger with ``machines > 1``). ``"auto"`` runs it when the
        ``p x n_vertices`` distance table has at most ``AUTO_TABLE_CELLS = 2**25`` cells (256
        MiB), each pass examining random candidates until their (pruned) searches have settled
        ``2**25`` vertices, and skips it otherwise (``report_["local_search"]["skipped"]``).
        ``True`` always runs it, over every candidate in each pass; ``False`` returns the
        paper's answer.
    max_local_search_passes : int, default=10
        Passes of the local search over its candidates; it stops earlier after a pass without
        an improving swap.
    local_search_candidates : int, optional
        Candidates examined per local-search pass (default all, within the ``"auto"``
        budget).
    random_state : None, int or Generator, default=None
    verbose : bool, default=False
    epsilon : float, optional
        Deprecated alias of ``distance_precision`` (since 0.2, removed in 0.3).
    refine : bool, optional
        Deprecated alias of ``local_search`` (since 0.2, removed in 0.3).
    max_refine_passes : int, optional
        Deprecated alias of ``max_local_search_passes`` (since 0.2, removed in 0.3).
    refine_candidates : int, optional
        Deprecated alias of ``local_search_candidates`` (since 0.2, removed in 0.3).

    Attributes
    ----------
    facilities_, assignment_, distances_ : see :class:`FacilityLocation`
    facility_ids_ : ndarray
        The medians in the graph's node ids (``labels``; vertex numbers when none).
    demand_ : ndarray of shape (n_vertices,)
        The client weights used (1 everywhere by default).
    cost_ : float
        ``sum_v demand[v] d(v, facility)``.
    report_ : dict
        Times, peak memory, ledger (``rounds``, ``messages``, ``max_load``), ``raw_cost``
        (the raw path's answer, before the local search: the paper's algorithm with the
        derandomised roundings), ``paper_cost`` (the paper's own answer of the same run:
        the exact-p solution, or the cheapest random rounding of the final bracket),
        ``derandomized_rounding`` (pairs rounded / skipped, cells, SSSPs, whether it beat the
        paper's answer), ``local_search`` (its passes, swaps
        and SSSP calls, or why ``"auto"`` skipped it), ``search`` (opening costs tried and
        facility counts), ``outside_model``.

    Notes
    -----
    A disconnected graph raises ValueError (distances between components are infinite).
    """

    _parameter_constraints = {
        "p": [AtLeast(int, 1)],
        "n_repetitions": [REPETITIONS],
        "n_roundings": [REPETITIONS, NONE],
        "n_probes": [Interval(int, 0, 100_000, closed="both")],
        "derandomize": [BOOLEAN],
        "max_search_steps": [Interval(int, 1, 2000, closed="both")],
        "local_search": [BOOLEAN, Options(("auto",))],
        "max_local_search_passes": [AtLeast(int, 1)],
        "local_search_candidates": [AtLeast(int, 1), NONE],
        **COMMON_CONSTRAINTS,
        "refine": [BOOLEAN, NONE],
        "max_refine_passes": [AtLeast(int, 1), NONE],
        "refine_candidates": [AtLeast(int, 1), NONE],
    }

    def __init__(
        self,
        p: int,
        *,
        distance_precision: float = 0.05,
        n_repetitions: int = 64,
        n_roundings: int | None = None,
        n_probes: int = 8,
        derandomize: bool = True,
        max_search_steps: int = 60,
        machines: int = 1,
        local_search: bool | str = "auto",
        max_local_search_passes: int = 10,
        local_search_candidates: int | None = None,
        random_state=None,
        verbose: bool = False,
        epsilon: float | None = None,
        refine: bool | None = None,
        max_refine_passes: int | None = None,
        refine_candidates: int | None = None,
    ):
        self.p = p
        self.distance_precision = distance_precision
        self.n_repetitions = n_repetitions
        self.n_roundings = n_roundings
        self.n_probes = n_probes
        self.derandomize = derandomize
        self.max_search_steps = max_search_steps
        self.machines = machines
        self.local_search = local_search
        self.max_local_search_passes = max_local_search_passes
        self.local_search_candidates = local_search_candidates
        self.random_state = random_state
        self.verbose = verbose
        self.epsilon = epsilon
        self.refine = refine
        self.max_refine_passes = max_refine_passes
        self.refine_candidates = refine_candidates

    def fit(self, graph, demand=None, candidates=None, fixed=None) -> "PMedian":
        """Choose ``p`` medians on ``graph`` (a connected :class:`~bigclust.graph.Graph`).

        Parameters
        ----------
        graph : Graph
        demand : str, array-like of shape (n_vertices,) or mapping, optional
            Client weight per vertex (0 = not a client; positive values in [1e-30, 1e30]); see
            :meth:`FacilityLocation.fit`. The objective becomes ``sum_v demand[v] d(v, F)``;
            the facility-location runs of the search use the weighted MP radii, the bipoint
            rounding is unchanged (Jain-Vazirani's analysis holds for weighted clients).
        candidates : array-like of node ids or bool mask, optional
            Where a median may open (default everywhere): other vertices get an infinite
            opening cost in every facility-location run.
        fixed : array-like of node ids or bool mask, optional
            Already open facilities; they count toward ``p`` (``len(fixed) <= p``) and stay
            open (opening cost 0 in every run; never swapped out by the local search).
        """
        validate_params(self)
        eps = float(resolve_renamed(self, "distance_precision"))
        local_search = resolve_renamed(self, "local_search")
        passes = int(resolve_renamed(self, "max_local_search_passes"))
        cand = resolve_renamed(self, "local_search_candidates")
        cand = None if cand is None else int(cand)
        graph = check_graph(graph)
        n = graph.n_vertices
        p = check_p(self.p, n)
        sites = check_sites(graph, demand, candidates, fixed)
        check_fixed_p(sites, p)
        ell = int(self.n_repetitions)
        steps = int(self.max_search_steps)
        n_round = max(1, int(np.ceil(np.log2(max(n, 2))))) if self.n_roundings is None else int(self.n_roundings)
        n_probe = int(self.n_probes)
        graph.check_connected("p-median")
        rng, km = machines_for(self, graph)
        run = RunRecorder(verbose=self.verbose)
        w = sites.demand
        fixed_v = sites.fixed
        site_ids = np.flatnonzero(sites.candidates)
        # the opening-cost pattern of every run: z at candidates, inf elsewhere, 0 when fixed
        base = np.where(sites.candidates, 1.0, np.inf)
        base[fixed_v] = 0.0

        def cost_of(d):
            return float((w * d).sum())

        def mp(z):
            fac = mettu_plaxton(graph, nbhd, z * base, rng, km)[0]
            return np.union1d(fac, fixed_v) if fixed_v.size else fac

        search = []
        n_clients = int((w > 0).sum())
        # every facility-location solution the search meets, kept for the derandomised roundings
        # of all bracketing pairs (a solution with more than p facilities only when some pair with
        # it can fit in the rounding budget: |B| - |A| rows of n_clients distances)
        met = []

        def meet(z, fac):
            if 64 * n > ROUNDING_CELLS:  # above the derandomised roundings' size gate
                return
            if fac.size < p or (fac.size > p and (fac.size - p) * n_clients <= ROUNDING_CELLS):
                met.append((z, fac))

        with run.stage("neighbourhood_sizes"):
            nbhd = estimate_neighbourhood_sizes(graph, eps, ell, rng, km, **_nbhd_weights(sites))
        with run.stage("opening_cost_search"):
            if p == site_ids.size or p == fixed_v.size:
                sol = site_ids if p == site_ids.size else fixed_v
            else:
                # z -> 0 opens every candidate near a client; z = W * (distance bound) leaves one.
                w_min = float(w[w > 0].min())
                z_lo = max(graph.min_positive_weight(), 1e-12) * min(w_min, 1.0) * 1e-3
                z_hi = float(w.sum()) * max(nbhd.levels[-1], 1.0) * 4.0
                km.ledger.aggregate(2)  # coordinator learns the min / max edge weight
                best_small = best_big = None  # facility sets with count < p / > p
                sol = None
                for _ in range(steps):
                    z = float(np.sqrt(z_lo * z_hi))
                    km.ledger.broadcast(1)  # coordinator announces z
                    fac = mp(z)
                    km.ledger.gather(1)  # facility count
                    search.append((z, int(fac.size)))
                    meet(z, fac)
                    run.progress.update(f"opening cost {z:.4g}: {fac.size} facilities")
                    if fac.size == p:
                        sol = fac
                        z_found = z
                        break
                    if fac.size > p:
                        z_lo, best_big = z, fac
                    else:
                        z_hi, best_small = z, fac
                    if z_hi / z_lo <= 1.0 + eps:
                        # below the radii's (1 + eps) resolution the facility count only
                        # jitters with the tie orders (measured: 30+ steps of +-2% around p on
                        # a 10^7-vertex grid); bracket and round (Section 5.1) instead
                        break
            if sol is not None and n_probe > 0 and p < site_ids.size and p > fixed_v.size and search:
                # Amplification (as the paper's O(log n) repetitions): more MP runs with fresh
                # tie orders at opening costs near the one that gave p facilities; keep the
                # cheapest solution with exactly p facilities.
                best_cost = cost_of(mssp(graph, sol, km)[0])
                for _ in range(n_probe):
                    z = z_found * (1.0 + eps) ** rng.uniform(-1.0, 1.0)
                    km.ledger.broadcast(1)
                    fac = mp(z)
                    km.ledger.aggregate(2)  # count and cost at the coordinator
                    search.append((z, int(fac.size)))
                    meet(z, fac)
                    if fac.size == p:
                        c = cost_of(mssp(graph, fac, km)[0])
                        if c < best_cost:
                            best_cost, sol = c, fac
            # derandomised roundings only where 64 rows of distances to every vertex fit the
            # budget (off above 2**19 vertices, e.g. at 10**7, where the search above is all the
            # raw path does; the cached MSSPs of the solutions met are n-vectors)
            derand_on = bool(self.derandomize) and 64 * n <= ROUNDING_CELLS and search \
                and fixed_v.size < p < site_ids.size
            if derand_on:
                # more facility-location solutions to pair: opening costs stepped away from the
                # bracket by factors of 2 on both sides (LADDER runs a side), so that solutions
                # well below and above p are met even when the bisection found p at once
                z_mid = z_found if sol is not None else float(np.sqrt(z_lo * z_hi))
                for k in range(1, LADDER + 1):
                    for z in (z_mid * 2.0**k, z_mid / 2.0**k):
                        km.ledger.broadcast(1)
                        fac = mp(z)
                        km.ledger.gather(1)
                        search.append((z, int(fac.size)))
                        meet(z, fac)
        rounded = False
        with run.stage("bipoint_rounding"):
            if sol is None:
                if best_big is None:  # never saw more than p: take the cheapest z solution
                    best_big = mp(z_lo)
                if best_small is None:
                    best_small = mp(z_hi)
                if best_big.size <= p:  # cannot bracket (ties): top up the largest solution
                    free = np.setdiff1d(site_ids, best_big)
                    best_big = np.union1d(best_big, rng.choice(free, p + 1 - best_big.size, replace=False))
                if best_small.size >= p:
                    movable = np.setdiff1d(best_small, fixed_v)
                    keep = rng.choice(movable, p - 1 - fixed_v.size, replace=False)
                    best_small = np.union1d(keep, fixed_v)
                rounded = True
                best_cost = np.inf
                for _ in range(n_round):
                    C = bipoint_round(graph, best_small, best_big, p, rng, km, pool=site_ids, fixed=fixed_v)
                    d, _ = mssp(graph, C, km)
                    km.ledger.aggregate(1)  # total cost at the coordinator
                    c = cost_of(d)
                    if c < best_cost:
                        best_cost, sol = c, C
            paper_sol = sol
            dist, nearest = mssp(graph, sol, km)
            paper_cost = cost_of(dist)
            derand = {"pairs": 0, "pairs_skipped": 0, "cells": 0, "sssp": 0, "improved": False}
            if derand_on:
                # Every bracketing pair (|A| < p < |B|) the search met, tightest opening costs
                # first, rounded by conditional expectations (each result costs at most the
                # expected cost of the paper's randomised rounding of that pair); keep the
                # cheapest of these and the paper's answer.
                smalls = [(z, f) for z, f in met if f.size < p]
                bigs = [(z, f) for z, f in met if f.size > p]
                pairs = sorted(((za / zb, ia, ib) for ia, (za, _) in enumerate(smalls)
                                for ib, (zb, _) in enumerate(bigs)), key=lambda t: t[0])
                left = ROUNDING_CELLS
                left_rows = ROUNDING_SSSP
                seen = set()
                rows: dict = {}  # SSSP rows and MSSPs shared by the pairs
                best_cost = paper_cost
                for _, ia, ib in pairs:
                    A_, B_ = smalls[ia][1], bigs[ib][1]
                    key = (A_.tobytes(), B_.tobytes())
                    if key in seen:  # the same pair met twice (probes at one opening cost)
                        continue
                    seen.add(key)
                    # one sort of the |B| - |A| rows per client, then one pass per pick
                    n_r = B_.size - A_.size
                    work = n_r * n_clients * (p - A_.size + int(np.log2(n_r)) + 1)
                    if work > left:
                        derand["pairs_skipped"] += 1
                        continue
                    C_r, c, new_rows = derandomized_round(graph, A_, B_, p, rng, km, demand=w, pool=site_ids,
                                                          fixed=fixed_v, rows=rows, max_new_rows=left_rows)
                    if C_r is None:  # its new SSSPs do not fit what is left
                        derand["pairs_skipped"] += 1
                        continue
                    left -= work
                    left_rows -= new_rows
                    km.ledger.aggregate(1)  # its cost at the coordinator
                    derand["pairs"] += 1
                    derand["cells"] += int(work)
                    derand["sssp"] += new_rows
                    if c < best_cost:
                        best_cost, sol = c, C_r
                        derand["improved"] = True
        if sol is not paper_sol:  # a derandomised rounding won
            dist, nearest = mssp(graph, sol, km)
        raw_cost = cost_of(dist)
        info = {}
        auto = isinstance(local_search, str)  # "auto"
        fits = p * n <= AUTO_TABLE_CELLS  # the search's p x n table of facility distances
        if (auto and fits) or (not auto and bool(local_search)):
            with run.stage("local_search"):
                sol, info = swap_local_search(
                    graph, sol, rng, max_passes=passes, max_candidates=cand, clients=w > 0, demand=w,
                    candidates=sites.candidates if sites.restricted else None, fixed=fixed_v, km=km,
                    max_visits=AUTO_TABLE_CELLS if auto else None,  # "auto": a pass settles <= 2**25 vertices
                )
                dist, nearest = mssp(graph, sol, km)
        elif auto:
            info = {"skipped": "p x n_vertices table above AUTO_TABLE_CELLS"}
        if km.distributed:
            _charge_output(km, nearest)
        self._set_solution(sol, dist, nearest, graph, sites)
        self.cost_ = cost_of(self.distances_)
        self.report_ = run.finish(
            **ledger_report(km),
            n_vertices=n,
            p=p,
            raw_cost=raw_cost,
            bipoint_rounding=rounded,
            paper_cost=paper_cost,
            derandomized_rounding=derand,
            search=search,
            n_levels=int(nbhd.levels.size),
            local_search=info,
            **outside_model(km),
        )
        return self
