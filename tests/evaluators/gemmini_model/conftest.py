"""A default configuration and random batches of the example space's parameters."""

from __future__ import annotations

import numpy as np
import pytest

DEFAULT = dict(mesh_rows=16, mesh_cols=16, tile_rows=1, tile_cols=1, dataflow="BOTH", input_bits=8, acc_bits=32,
               sp_capacity_kib=256, sp_banks=4, acc_capacity_kib=64, acc_banks=2, dma_bus_bits=128, clock_ps=1000,
               vt_flavour="RVT", synth_strategy="area", abc_delay_ratio=1.0, flatten=True, retime=False, max_fanout=32)


def random_batch(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """``n`` feasible-looking configurations (square arrays, DIM 4..32), seeded."""
    rng = np.random.default_rng(seed)
    dim = 2 ** rng.integers(2, 6, n)
    tr = np.minimum(dim // 1, 2 ** rng.integers(0, 3, n))
    tc = np.minimum(dim // 1, 2 ** rng.integers(0, 3, n))
    sp = 2 ** rng.integers(6, 11, n)
    return dict(mesh_rows=dim // tr, mesh_cols=dim // tc, tile_rows=tr, tile_cols=tc,
                dataflow=rng.choice(["OS", "WS", "BOTH"], n), input_bits=rng.choice([8, 16], n),
                acc_bits=rng.choice([24, 32], n), sp_capacity_kib=sp, sp_banks=2 ** rng.integers(0, 3, n),
                acc_capacity_kib=np.minimum(sp, 2 ** rng.integers(4, 9, n)), acc_banks=2 ** rng.integers(0, 3, n),
                dma_bus_bits=rng.choice([64, 128, 256], n), clock_ps=rng.integers(5, 41, n) * 50,
                vt_flavour=rng.choice(["RVT", "RVT+LVT", "LVT", "LVT+SLVT", "SLVT"], n),
                synth_strategy=rng.choice(["area", "delay"], n), abc_delay_ratio=rng.uniform(0.5, 1.0, n),
                flatten=rng.choice([False, True], n), retime=rng.choice([False, True], n),
                max_fanout=rng.choice([8, 16, 32, 64], n))


@pytest.fixture
def default() -> dict:
    return dict(DEFAULT)
