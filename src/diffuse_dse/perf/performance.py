"""Cycles and memory traffic of a DNN workload on a Gemmini-class accelerator.

Per layer, with the tabulated terms of :mod:`diffuse_dse.perf.layer_costs`, the exposed
fill/drain ``f = matmul_cycles(DIM block) - DIM`` of the mesh, and ``x`` cycles per byte moved::

    bw = min(dma_bus_bits / 8, dram_gbps * clock_ps / 1000)    # bytes per cycle
    compute = stream + tiles f
    WS:  cycles = max(compute, dram x) + prologue x           # double-buffered: DMA overlaps
    OS:  cycles = compute + dram x                            # single-buffered: DMA serializes

where ``x = 1 / bw``. A ``BOTH`` design takes the cheaper dataflow per layer, as Gemmini's
software can. The workload's cycles are the sum over layers; utilization is
``MACs / (cycles DIM^2)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from diffuse_dse.perf.array import matmul_cycles
from diffuse_dse.perf.layer_costs import cost_table
from diffuse_dse.workloads import Workload, load_workload

CHUNK = 16_384
"""Configurations handled at once (bounds the ``chunk x layers`` temporaries)."""

HW_PARAMETERS: tuple[str, ...] = ("mesh_rows", "mesh_cols", "tile_rows", "tile_cols", "dataflow", "input_bits",
                                  "acc_bits", "sp_capacity_kib", "acc_capacity_kib", "dma_bus_bits")
"""The configuration entries the performance model reads."""


@dataclass(frozen=True)
class PerfResult:
    """A workload's run on one or more configurations (floats, or arrays of the batch's length).

    Attributes:
        cycles: Clock cycles per inference.
        macs: Multiply-accumulates per inference.
        utilization: ``macs / (cycles DIM^2)``, in ``[0, 1]``.
        dram_bytes: Bytes moved between DRAM and the scratchpad/accumulator.
        sp_read_bytes, sp_write_bytes: Scratchpad traffic.
        acc_read_bytes, acc_write_bytes: Accumulator-memory traffic.
    """

    cycles: Any
    macs: Any
    utilization: Any
    dram_bytes: Any
    sp_read_bytes: Any
    sp_write_bytes: Any
    acc_read_bytes: Any
    acc_write_bytes: Any


def performance(config: Mapping[str, Any], workload: Workload | str, *, clock_ps: Any,
                dram_gbps: float = 16.0) -> PerfResult:
    """Run ``workload`` on ``config``, vectorized.

    Args:
        config: The hardware parameters of :data:`HW_PARAMETERS`, each a scalar or a length-``N``
            array (other entries are ignored).
        workload: A :class:`~diffuse_dse.workloads.Workload` or the name of a shipped one.
        clock_ps: The clock period that runs (scalar or length ``N``): sets the DRAM bytes per
            cycle.
        dram_gbps: DRAM bandwidth in GB/s.

    Returns:
        A :class:`PerfResult` of floats when every input is a scalar, else of length-``N`` arrays.
    """
    wl = load_workload(workload) if isinstance(workload, str) else workload
    scalar = all(np.ndim(config[p]) == 0 for p in HW_PARAMETERS) and np.ndim(clock_ps) == 0
    n = max([np.size(config[p]) for p in HW_PARAMETERS] + [np.size(clock_ps)])
    cols = {p: np.broadcast_to(np.asarray(config[p]), (n,)) for p in HW_PARAMETERS}
    clock = np.broadcast_to(np.asarray(clock_ps, dtype=np.float64), (n,))
    parts = [_run(wl, {p: c[s:s + CHUNK] for p, c in cols.items()}, clock[s:s + CHUNK], dram_gbps)
             for s in range(0, n, CHUNK)]
    out = {k: np.concatenate([p[k] for p in parts]) if parts else np.zeros(0) for k in parts[0]} if parts else {}
    if scalar:
        return PerfResult(**{k: float(v[0]) for k, v in out.items()})
    return PerfResult(**out)


def _run(wl: Workload, c: Mapping[str, np.ndarray], clock_ps: np.ndarray, dram_gbps: float) -> dict[str, np.ndarray]:
    rows_, cols_ = c["mesh_rows"].astype(np.int64), c["mesh_cols"].astype(np.int64)
    dim = rows_ * c["tile_rows"].astype(np.int64)
    table = cost_table(wl)
    idx = table.rows(dim, c["input_bits"], c["acc_bits"], c["sp_capacity_kib"], c["acc_capacity_kib"])
    shape = (rows_, cols_, c["tile_rows"], c["tile_cols"])
    fill = (matmul_cycles(*shape, "WS", dim, dim, dim) - dim).astype(np.float64)
    fill_os = (matmul_cycles(*shape, "OS", dim, dim, dim) - dim).astype(np.float64)
    bw = np.minimum(c["dma_bus_bits"].astype(np.float64) / 8.0, dram_gbps * clock_ps / 1000.0)
    x = (1.0 / bw)[:, None]
    flow = c["dataflow"].astype(str)

    def gather(name: str, df: int) -> np.ndarray:
        return table.term(name)[idx, df, :]

    dram_os, dram_ws = gather("dram", 0), gather("dram", 1)
    cyc_os = gather("stream", 0) + gather("tiles", 0) * fill_os[:, None] + dram_os * x
    comp_ws = gather("stream", 1) + gather("tiles", 1) * fill[:, None]
    cyc_ws = np.maximum(comp_ws, dram_ws * x) + gather("prologue", 1) * x
    use_ws = np.where((flow == "WS")[:, None], True, np.where((flow == "OS")[:, None], False, cyc_ws <= cyc_os))

    def pick(os_: np.ndarray, ws_: np.ndarray) -> np.ndarray:
        return np.where(use_ws, ws_, os_).sum(axis=1)

    cycles = pick(cyc_os, cyc_ws)
    macs = float(wl.macs)
    out = {
        "cycles": cycles,
        "macs": np.full(len(cycles), macs),
        "utilization": macs / (cycles * dim.astype(np.float64) ** 2),
        "dram_bytes": pick(dram_os, dram_ws),
    }
    for name in ("sp_read", "sp_write", "acc_read", "acc_write"):
        out[f"{name}_bytes"] = pick(gather(name, 0), gather(name, 1))
    return out
