"""A small copy of the example space for CLI tests (every model parameter, few values)."""

from __future__ import annotations

from pathlib import Path

SMALL_SPACE = """
name: small-gemmini
parameters:
  - {name: mesh_rows, layer: hw, kind: pow2, low: 2, high: 8, default: 4}
  - {name: mesh_cols, layer: hw, kind: pow2, low: 2, high: 8, default: 4}
  - {name: tile_rows, layer: hw, kind: pow2, low: 1, high: 2, default: 1}
  - {name: tile_cols, layer: hw, kind: pow2, low: 1, high: 2, default: 1}
  - {name: dataflow, layer: hw, kind: categorical, values: [OS, WS, BOTH], default: BOTH}
  - {name: input_bits, layer: hw, kind: ordinal, values: [8, 16], default: 8}
  - {name: acc_bits, layer: hw, kind: ordinal, values: [32], default: 32}
  - {name: sp_capacity_kib, layer: hw, kind: pow2, low: 32, high: 64, default: 64}
  - {name: sp_banks, layer: hw, kind: pow2, low: 4, high: 4, default: 4}
  - {name: acc_capacity_kib, layer: hw, kind: pow2, low: 16, high: 16, default: 16}
  - {name: acc_banks, layer: hw, kind: pow2, low: 2, high: 2, default: 2}
  - {name: dma_bus_bits, layer: hw, kind: ordinal, values: [64, 128], default: 128}
  - {name: clock_ps, layer: eda, kind: int, low: 500, high: 1500, step: 500, default: 1000}
  - {name: vt_flavour, layer: eda, kind: ordinal, values: [RVT, LVT, SLVT], default: RVT}
  - {name: synth_strategy, layer: eda, kind: categorical, values: [area, delay], default: area}
  - {name: abc_delay_ratio, layer: eda, kind: float, low: 0.5, high: 1.0, default: 1.0}
  - {name: flatten, layer: eda, kind: categorical, values: [false, true], default: true}
  - {name: retime, layer: eda, kind: categorical, values: [false, true], default: false}
  - {name: max_fanout, layer: eda, kind: ordinal, values: [16, 32], default: 32}
constraints:
  - "mesh_rows * tile_rows == mesh_cols * tile_cols"
  - "mesh_rows * tile_rows >= 4"
objectives:
  - {name: latency_ms, direction: min, unit: ms, ref: 5000}
  - {name: power_mw, direction: min, unit: mW, ref: 500}
  - {name: area_mm2, direction: min, unit: mm2, ref: 1.0}
evaluator: gemmini-model
evaluators:
  gemmini-model: {workload: resnet50}
"""


def write_small_space(folder: Path) -> Path:
    path = folder / "small.yaml"
    path.write_text(SMALL_SPACE)
    return path
