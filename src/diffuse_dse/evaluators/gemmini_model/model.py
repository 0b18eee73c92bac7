"""The Gemmini-class PPA model: technology (:mod:`.technology`) plus performance (:mod:`diffuse_dse.perf`).

For column arrays of configurations::

    period_ps  = max(clock_ps, t_cp)                     # the clock that runs
    cycles     = performance(config, workload, clock_ps=period_ps).cycles
    latency_ms = cycles period_ps 1e-9
    P_logic    = (u DIM^2 e_mac + e_clk) / period_ps      # fJ / ps = mW; u = utilization
    P_sram     = sum(traffic_bytes pJ_per_byte) / (cycles period_ps / 1000)   # pJ / ns = mW
    power_mw   = P_logic + P_leak + P_sram
    energy_mj  = power_mw latency_ms 1e-3
    area_mm2   = (A_logic + A_sram) 1e-6
    fmax_mhz   = 1e6 / t_cp;   wns_ps = clock_ps - t_cp    # slack, > 0 when met (as the flow reports)

DRAM power is outside the accelerator and not counted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from diffuse_dse.evaluators.gemmini_model.technology import load_coefficients, technology
from diffuse_dse.perf import performance

METRICS: tuple[str, ...] = ("latency_ms", "power_mw", "area_mm2", "energy_mj", "fmax_mhz", "wns_ps", "cell_count")
"""The QoR metrics, the same as the ASAP7 flow's."""

PARAMETERS: tuple[str, ...] = (
    "mesh_rows", "mesh_cols", "tile_rows", "tile_cols", "dataflow", "input_bits", "acc_bits", "sp_capacity_kib",
    "sp_banks", "acc_capacity_kib", "acc_banks", "dma_bus_bits", "clock_ps", "vt_flavour", "synth_strategy",
    "abc_delay_ratio", "flatten", "retime", "max_fanout")
"""The parameters of ``examples/gemmini-asap7.yaml`` that the model reads."""

_COEF: dict[str, Any] | None = None


def evaluate_arrays(arrays: Mapping[str, Any], *, workload: str = "resnet50", dram_gbps: float = 16.0,
                    coefficients: Mapping[str, Any] | None = None) -> dict[str, np.ndarray]:
    """Every metric of :data:`METRICS` for equal-length column arrays of configurations.

    Args:
        arrays: Each parameter of :data:`PARAMETERS` as an array (or a scalar, broadcast).
        workload: A shipped workload name.
        dram_gbps: DRAM bandwidth in GB/s.
        coefficients: Technology coefficients; the shipped ``coefficients.json`` by default.
    """
    global _COEF
    if coefficients is None:
        if _COEF is None:
            _COEF = load_coefficients()
        coefficients = _COEF
    missing = [p for p in PARAMETERS if p not in arrays]
    if missing:
        raise KeyError(f"gemmini-model needs the parameters {', '.join(missing)}")
    n = max(np.size(arrays[p]) for p in PARAMETERS)
    cols = {p: np.broadcast_to(np.asarray(arrays[p]), (n,)) for p in PARAMETERS}
    tech = technology(cols, coefficients)
    period = np.maximum(cols["clock_ps"].astype(np.float64), tech.critical_path_ps)
    perf = performance(cols, workload, clock_ps=period, dram_gbps=dram_gbps)
    latency_ns = perf.cycles * period * 1e-3
    p_logic = (perf.utilization * tech.dim**2 * tech.mac_fj + tech.cycle_fj) / period
    sram_pj = (perf.sp_read_bytes * tech.sp_read_pj_per_byte + perf.sp_write_bytes * tech.sp_write_pj_per_byte
               + perf.acc_read_bytes * tech.acc_read_pj_per_byte + perf.acc_write_bytes * tech.acc_write_pj_per_byte)
    power = p_logic + tech.leakage_mw + sram_pj / latency_ns
    latency_ms = latency_ns * 1e-6
    return {
        "latency_ms": latency_ms,
        "power_mw": power,
        "area_mm2": (tech.logic_area_um2 + tech.sram_area_um2) * 1e-6,
        "energy_mj": power * latency_ms * 1e-3,
        "fmax_mhz": 1e6 / tech.critical_path_ps,
        "wns_ps": cols["clock_ps"] - tech.critical_path_ps,
        "cell_count": tech.cell_count,
    }
