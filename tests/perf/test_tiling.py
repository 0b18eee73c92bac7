"""The vectorized tiling equals Gemmini's tiled_matmul_auto loop."""

from __future__ import annotations

import numpy as np

from diffuse_dse.perf.tiling import gemmini_tiles, gemmini_tiles_reference
from diffuse_dse.workloads import WORKLOADS, load_workload


def test_vectorized_tiling_equals_the_reference_loop() -> None:
    rng = np.random.default_rng(0)
    n = 40
    dim = 2 ** rng.integers(2, 6, n)
    ibits = rng.choice([8, 16], n)
    abits = rng.choice([24, 32], n)
    sp_rows = (2 ** rng.integers(5, 11, n)) * 8192 // (dim * ibits)
    acc_rows = (2 ** rng.integers(4, 9, n)) * 8192 // (dim * abits)
    for name in WORKLOADS:
        for layer in load_workload(name).layers:
            for db in (False, True):
                t = gemmini_tiles(dim, sp_rows, acc_rows, db, layer.m, layer.n, layer.k)
                for u in range(n):
                    want = gemmini_tiles_reference(int(dim[u]), int(sp_rows[u]), int(acc_rows[u]), db,
                                                   layer.m, layer.n, layer.k)
                    assert (t.tile_i[u], t.tile_j[u], t.tile_k[u]) == want
