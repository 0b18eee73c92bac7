"""Analytical performance of a Gemmini-class accelerator on DNN workloads.

``performance(config, workload, clock_ps=...)`` gives cycles and memory traffic, vectorized
over configurations; ``load_workload(name)`` gives the shipped layer shapes. The cycles of one
block on the array come from :func:`diffuse_dse.perf.array.matmul_cycles`, which the generated
RTL matches.
"""

from diffuse_dse.perf.array import matmul_cycles
from diffuse_dse.perf.performance import HW_PARAMETERS, PerfResult, performance
from diffuse_dse.perf.tiling import Tiles, gemmini_tiles
from diffuse_dse.workloads import WORKLOADS, Layer, Workload, load_workload

__all__ = [
    "HW_PARAMETERS",
    "WORKLOADS",
    "Layer",
    "PerfResult",
    "Tiles",
    "Workload",
    "gemmini_tiles",
    "load_workload",
    "matmul_cycles",
    "performance",
]
