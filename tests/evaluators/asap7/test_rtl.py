"""The generated RTL computes GEMMs correctly, in the cycle count that perf.array predicts."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from diffuse_dse.errors import InfeasibleDesign
from diffuse_dse.evaluators.asap7.generator import ArrayShape, design_verilog
from diffuse_dse.perf.array import matmul_cycles

from .rtlsim import simulate_gemm

needs_iverilog = pytest.mark.skipif(shutil.which("iverilog") is None, reason="iverilog is not installed")

SHAPES = {  # mesh_rows, mesh_cols, tile_rows, tile_cols
    "mesh2x2": (2, 2, 1, 1),
    "mesh2x2-tile2x2": (2, 2, 2, 2),
    "mesh4x4": (4, 4, 1, 1),
    "mesh2x4-tile2x1": (2, 4, 2, 1),
}


@pytest.mark.eda
@needs_iverilog
@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize(("design", "run"), [("OS", "OS"), ("WS", "WS"), ("BOTH", "OS"), ("BOTH", "WS")])
def test_gemm_is_exact_and_on_time(shape: str, design: str, run: str, tmp_path) -> None:
    R, C, tr, tc = SHAPES[shape]
    s = ArrayShape(mesh_rows=R, mesh_cols=C, tile_rows=tr, tile_cols=tc, dataflow=design, dma_bus_bits=64)
    rng = np.random.default_rng(R * 100 + tr)
    m, n = s.dim, s.dim - 1
    k = 2 * s.dim + 1 if run == "OS" else s.dim - 1
    a, b = rng.integers(-128, 128, (m, k)), rng.integers(-128, 128, (k, n))
    c, cycles = simulate_gemm(s, run, a, b, tmp_path)
    np.testing.assert_array_equal(c, a @ b)
    assert cycles == matmul_cycles(R, C, tr, tc, run, m, n, k)


@pytest.mark.eda
@needs_iverilog
def test_int16_inputs_with_24_bit_accumulator(tmp_path) -> None:
    s = ArrayShape(mesh_rows=2, mesh_cols=2, tile_rows=1, tile_cols=1, dataflow="BOTH", input_bits=16, acc_bits=24)
    rng = np.random.default_rng(3)
    a, b = rng.integers(-300, 300, (2, 3)), rng.integers(-300, 300, (3, 2))
    c, _ = simulate_gemm(s, "OS", a, b, tmp_path)
    np.testing.assert_array_equal(c, a @ b)


def test_matmul_cycles_formula_and_numpy() -> None:
    assert matmul_cycles(2, 2, 1, 1, "OS", 2, 2, 5) == 5 + 2 + 3
    assert matmul_cycles(4, 4, 1, 1, "WS", 3, 4, 3) == 3 + 3 + 7
    # a WS block deeper than the array takes ceil(k / DIM) preload + stream passes
    assert matmul_cycles(4, 4, 1, 1, "WS", 4, 4, 10) == sum(
        matmul_cycles(4, 4, 1, 1, "WS", 4, 4, kc) for kc in (4, 4, 2))
    got = matmul_cycles(np.array([2, 4]), np.array([2, 4]), 1, 1, np.array(["OS", "WS"]), 2, 2, np.array([5, 3]))
    np.testing.assert_array_equal(got, [10, 12])
    assert isinstance(matmul_cycles(2, 2, 1, 1, "OS", 2, 2, 5), int)
    with pytest.raises(ValueError, match="BOTH"):
        matmul_cycles(2, 2, 1, 1, "BOTH", 2, 2, 2)


def test_shape_checks() -> None:
    with pytest.raises(InfeasibleDesign, match="square"):
        ArrayShape(mesh_rows=2, mesh_cols=4, tile_rows=1, tile_cols=1).check()
    src = design_verilog(ArrayShape())
    assert set(src) == {"gem_pe", "gem_tile", "gem_tile_h", "gem_mesh", "gem_periph", "gem_top"}
