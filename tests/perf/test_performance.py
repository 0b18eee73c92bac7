"""The performance model moves the way Gemmini does, and its vectorized and scalar paths agree."""

from __future__ import annotations

import numpy as np
import pytest

from diffuse_dse.perf import matmul_cycles, performance
from diffuse_dse.workloads import Layer, Workload

DEFAULT = dict(mesh_rows=16, mesh_cols=16, tile_rows=1, tile_cols=1, dataflow="BOTH", input_bits=8, acc_bits=32,
               sp_capacity_kib=256, acc_capacity_kib=64, dma_bus_bits=128)


def test_default_gemmini_on_resnet50_is_plausible() -> None:
    r = performance(DEFAULT, "resnet50", clock_ps=1000)
    assert r.macs == pytest.approx(4.09e9, rel=0.01)
    assert 0.3 < r.utilization <= 1.0
    assert r.cycles >= r.macs / 256
    assert r.dram_bytes > 25e6  # at least the weights (25.5 M int8 parameters)


def test_larger_scratchpad_moves_fewer_dram_bytes_for_a_layer_that_did_not_fit() -> None:
    big = Workload("big", "", (Layer("fc", m=1024, n=2048, k=2048, a_elems=1024 * 2048),))
    small = performance({**DEFAULT, "sp_capacity_kib": 32, "acc_capacity_kib": 16}, big, clock_ps=1000)
    large = performance({**DEFAULT, "sp_capacity_kib": 1024, "acc_capacity_kib": 16}, big, clock_ps=1000)
    assert large.dram_bytes < small.dram_bytes
    assert large.cycles <= small.cycles


def test_single_block_costs_the_array_formula_plus_its_exposed_transfers() -> None:
    one = Workload("one", "", (Layer("blk", m=16, n=16, k=16, a_elems=256),))
    for flow in ("OS", "WS"):
        r = performance({**DEFAULT, "dataflow": flow, "dma_bus_bits": 256}, one, clock_ps=1e9)
        moved = 3 * 16 * 16 / 32  # A, B in and C out at 32 bytes per cycle, none of it hidden
        assert r.dram_bytes == 768
        assert r.cycles == pytest.approx(matmul_cycles(16, 16, 1, 1, flow, 16, 16, 16) + moved)


def test_both_is_never_slower_than_either_dataflow() -> None:
    cyc = {f: performance({**DEFAULT, "dataflow": f}, "mobilenetv2", clock_ps=500).cycles for f in ("OS", "WS", "BOTH")}
    assert cyc["BOTH"] <= min(cyc["OS"], cyc["WS"])


def test_wider_inputs_and_slower_dram_cost_more() -> None:
    base = performance(DEFAULT, "bert-base", clock_ps=1000)
    wide = performance({**DEFAULT, "input_bits": 16}, "bert-base", clock_ps=1000)
    assert wide.dram_bytes > base.dram_bytes
    slow = performance(DEFAULT, "bert-base", clock_ps=1000, dram_gbps=1.0)
    assert slow.cycles > base.cycles


def test_vectorized_equals_scalar() -> None:
    rng = np.random.default_rng(1)
    n = 25
    dim = 2 ** rng.integers(2, 6, n)
    mesh = np.minimum(dim, 2 ** rng.integers(0, 6, n))
    arrays = dict(mesh_rows=mesh, mesh_cols=mesh, tile_rows=dim // mesh, tile_cols=dim // mesh,
                  dataflow=rng.choice(["OS", "WS", "BOTH"], n), input_bits=rng.choice([8, 16], n),
                  acc_bits=rng.choice([24, 32], n), sp_capacity_kib=2 ** rng.integers(5, 11, n),
                  acc_capacity_kib=2 ** rng.integers(4, 9, n), dma_bus_bits=rng.choice([64, 128, 256], n))
    clock = rng.integers(5, 41, n) * 50.0
    vec = performance(arrays, "resnet50", clock_ps=clock)
    for i in range(n):
        one = performance({k: v[i].item() for k, v in arrays.items()}, "resnet50", clock_ps=float(clock[i]))
        for field in ("cycles", "dram_bytes", "sp_read_bytes", "acc_write_bytes", "utilization"):
            assert getattr(one, field) == pytest.approx(getattr(vec, field)[i], rel=1e-12)
