"""A simulator of the k-machine model (Klauck et al.; paper Section 1.2) with a communication ledger.

Vertices are spread over ``k`` machines uniformly at random (the random-partition assumption).
A machine knows the edges incident to the vertices it hosts and which machine hosts each
neighbour. Time proceeds in synchronous rounds; in one round every ordered pair of machines can
exchange one message of O(log n) bits (a vertex id, a distance and a source id count as one
message, as the paper assumes distances fit in a constant number of words). Local computation is
free.

The ledger counts what the paper counts:

``rounds``
    communication rounds. A superstep in which machine a must send ``L[a, b]`` messages to
    machine b costs ``max_{a,b} L[a, b]`` rounds (at least 1 if anything is sent).
``messages``
    total messages sent between distinct machines.
``max_load``
    the largest number of messages received by one machine over the whole run.

Shortest paths are executed, not estimated: :func:`distributed_mssp` runs a synchronous
distributed relaxation (each machine runs Dijkstra on its hosted part for free, then every vertex
whose distance improved sends its (distance, source) once to each other machine hosting one of
its neighbours). With exact arithmetic this computes exact multi-source shortest paths, which is
within every (1+eps) factor the paper's Lemma 2.3 allows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numba
import numpy as np

from ._heap import heap_pop, heap_push, lex_less, new_heap

__all__ = ["Ledger", "KMachine"]


@dataclass
class Ledger:
    """Round / message / load counters of one k-machine execution."""

    machines: int
    rounds: int = 0
    messages: int = 0
    received: np.ndarray | None = None
    calls: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.received is None:
            self.received = np.zeros(self.machines, dtype=np.int64)

    def count_call(self, name: str, times: int = 1) -> None:
        self.calls[name] = self.calls.get(name, 0) + times

    def charge(self, rounds: int, messages: int, received: np.ndarray | None = None) -> None:
        self.rounds += int(rounds)
        self.messages += int(messages)
        if received is not None:
            self.received += received

    def broadcast(self, words: int = 1) -> None:
        """A coordinator machine sends ``words`` words to every other machine."""
        if self.machines > 1:
            k = self.machines
            self.rounds += int(words)
            self.messages += int(words) * (k - 1)
            self.received += int(words)
            self.received[0] -= int(words)

    def gather(self, words: int = 1) -> None:
        """Every machine sends ``words`` words (e.g. local counts) to the coordinator."""
        if self.machines > 1:
            k = self.machines
            self.rounds += int(words)
            self.messages += int(words) * (k - 1)
            self.received[0] += int(words) * (k - 1)

    def aggregate(self, words: int = 1) -> None:
        """gather + broadcast: every machine learns a global sum / min / max."""
        self.gather(words)
        self.broadcast(words)

    @property
    def max_load(self) -> int:
        return int(self.received.max()) if self.received.size else 0

    def as_dict(self) -> dict:
        return {
            "machines": self.machines,
            "rounds": int(self.rounds),
            "messages": int(self.messages),
            "max_load": self.max_load,
            "primitive_calls": dict(self.calls),
        }


class KMachine:
    """``k`` simulated machines hosting a random partition of a graph's vertices.

    Parameters
    ----------
    graph : Graph
    machines : int
        Number of machines k >= 1. With k = 1 there is no communication; primitives use fast
        sequential code and the ledger stays at zero rounds.
    rng : numpy.random.Generator
        Source of the random partition.
    """

    def __init__(self, graph, machines: int, rng: np.random.Generator):
        self.graph = graph
        self.k = int(machines)
        self.owner = rng.integers(0, self.k, size=graph.n_vertices).astype(np.int32)
        self.ledger = Ledger(self.k)

    @property
    def distributed(self) -> bool:
        return self.k > 1

    def host_counts(self) -> np.ndarray:
        return np.bincount(self.owner, minlength=self.k)


@numba.njit(cache=True)
def _bf_mssp(indptr, indices, weights, owner, k, dist, src):
    """Synchronous distributed multi-source relaxation; modifies dist/src in place.

    Returns (rounds, messages, received_per_machine, supersteps).
    """
    n = dist.shape[0]
    m2 = indices.shape[0]
    # each vertex is pushed once per strict (distance, source) improvement: <= seeds + m2 per phase;
    # (distance, source) pairs compare lexicographically: deterministic ties among equidistant sources
    hk, ht, hv = new_heap(n, m2)
    changed = np.zeros(n, dtype=np.bool_)
    seeds = np.empty(n, dtype=np.int64)
    nseeds = 0
    for v in range(n):
        if dist[v] < np.inf:
            seeds[nseeds] = v
            nseeds += 1
    link = np.zeros((k, k), dtype=np.int64)
    received = np.zeros(k, dtype=np.int64)
    sent_stamp = np.full(k, -1, dtype=np.int64)
    rounds = 0
    messages = 0
    supersteps = 0
    changed_list = np.empty(n, dtype=np.int64)
    sent_d = np.empty(n, dtype=np.float64)
    sent_s = np.empty(n, dtype=np.int64)
    while nseeds > 0:
        supersteps += 1
        # 1) local phase: every machine runs Dijkstra over edges inside itself (free).
        size = 0
        for t in range(nseeds):
            v = seeds[t]
            size = heap_push(hk, ht, hv, size, dist[v], src[v], v)
        nchanged = 0
        while size > 0:
            d, s, u, size = heap_pop(hk, ht, hv, size)
            if d != dist[u] or s != src[u]:
                continue  # stale entry: u improved since
            if not changed[u]:
                changed[u] = True
                changed_list[nchanged] = u
                nchanged += 1
            mu = owner[u]
            for e in range(indptr[u], indptr[u + 1]):
                x = indices[e]
                if owner[x] != mu:
                    continue
                nd = d + weights[e]
                if lex_less(nd, src[u], dist[x], src[x]):
                    dist[x] = nd
                    src[x] = src[u]
                    size = heap_push(hk, ht, hv, size, nd, src[x], x)
        # 2) communication: each improved vertex sends (dist, src) once per neighbouring machine.
        for i in range(k):
            for j in range(k):
                link[i, j] = 0
        nseeds = 0
        for t in range(nchanged):
            u = changed_list[t]
            changed[u] = False
            mu = owner[u]
            stamp = supersteps * n + u  # unique per (superstep, sender)
            for e in range(indptr[u], indptr[u + 1]):
                x = indices[e]
                mx = owner[x]
                if mx == mu:
                    continue
                if sent_stamp[mx] != stamp:
                    sent_stamp[mx] = stamp
                    link[mu, mx] += 1
                    messages += 1
                    received[mx] += 1
            # the message content is fixed at send time (synchronous rounds)
            sent_d[t] = dist[u]
            sent_s[t] = src[u]
        for t in range(nchanged):
            u = changed_list[t]
            mu = owner[u]
            for e in range(indptr[u], indptr[u + 1]):
                x = indices[e]
                if owner[x] == mu:
                    continue
                nd = sent_d[t] + weights[e]
                if lex_less(nd, sent_s[t], dist[x], src[x]):
                    dist[x] = nd
                    src[x] = sent_s[t]
                    if not changed[x]:
                        changed[x] = True
                        seeds[nseeds] = x
                        nseeds += 1
        for t in range(nseeds):
            changed[seeds[t]] = False
        mx_load = 0
        for i in range(k):
            for j in range(k):
                if link[i, j] > mx_load:
                    mx_load = link[i, j]
        rounds += mx_load
    return rounds, messages, received, supersteps


def distributed_mssp(km: KMachine, sources: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact MSSP executed in the k-machine model; charges ``km.ledger``.

    Returns (dist, nearest_source) arrays of shape (n,); unreachable vertices get inf / -1.
    """
    g = km.graph
    n = g.n_vertices
    dist = np.full(n, np.inf)
    src = np.full(n, -1, dtype=np.int64)
    sources = np.asarray(sources, dtype=np.int64)
    dist[sources] = 0.0
    src[sources] = sources
    # Every machine must learn that this MSSP call starts (1 control round), as the coordinator
    # of a synchronous algorithm would announce it.
    km.ledger.broadcast(1)
    if sources.size:
        rounds, messages, received, _ = _bf_mssp(g.indptr, g.indices, g.weights, km.owner, km.k, dist, src)
        km.ledger.charge(rounds, messages, received)
    km.ledger.count_call("mssp")
    return dist, src
