"""Facility location, p-median and p-center on shortest-path metrics of weighted graphs, in the
k-machine model (Bandyapadhyay, Inamdar, Pai, Pemmaraju: "Near-optimal clustering in the
k-machine model"). See docs/graph.md."""

from ._graph import Graph
from .facility import FacilityLocation, mettu_plaxton
from .kmachine import KMachine, Ledger
from .mis import approximate_mis
from .neighbourhood import compute_radii, estimate_neighbourhood_sizes
from .paths import exclusive_mssp, mssp, sssp
from .pcenter import PCenter
from .pmedian import PMedian, bipoint_round

__all__ = [
    "Graph",
    "FacilityLocation",
    "PMedian",
    "PCenter",
    "KMachine",
    "Ledger",
    "sssp",
    "mssp",
    "exclusive_mssp",
    "estimate_neighbourhood_sizes",
    "compute_radii",
    "approximate_mis",
    "mettu_plaxton",
    "bipoint_round",
]
