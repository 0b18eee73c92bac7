"""Per-layer cost terms of a tiled GEMM on Gemmini, tabulated per memory configuration.

For one GEMM layer (``groups`` GEMMs ``M x K x N``, ``count`` repeats), ``DIM x DIM`` blocks
``Ib, Jb, Kb`` and the tiling of :func:`~diffuse_dse.perf.tiling.gemmini_tiles` (``n_i, n_j,
n_k`` tiles of ``tile_i x tile_j x tile_k`` blocks), the terms, all scaled by
``groups * count``, are:

* streaming cycles: the array's busy time with back-to-back blocks, their fill and drain
  overlapped. Weight-stationary preloads ``B`` (``DIM`` cycles) while streaming ``A`` rows::

      stream_WS = Jb Kb (sum over I tiles of max(rows in tile, DIM))

  and output-stationary streams the reduction while the previous block drains::

      stream_OS = Ib Jb (sum over K tiles of max(depth of tile, DIM))

  plus one exposed fill/drain per tile: ``tiles = n_i n_j n_k``, each costing
  ``matmul_cycles(DIM block) - DIM`` (it depends on the mesh shape, so it is added later).
* DRAM bytes with ``b`` input bytes (the loops ``i, j, k`` reload ``A`` per ``j`` tile and
  ``B`` per ``i`` tile; ``C`` leaves once)::

      dram = b (min(M K, a_elems) n_j + K N n_i + M N)

* prologue bytes: the first tile's ``A`` and ``B`` plus the last tile's ``C``, the transfers
  that double buffering cannot hide.
* scratchpad and accumulator traffic (bytes): writes are the DRAM loads; reads stream ``A``
  once per ``J`` block and ``B`` once per ``I`` tile (WS) or ``I`` block (OS); the accumulator
  (``ab`` bytes per entry) is read-modify-written once per ``K`` block (WS) or ``K`` tile (OS)
  and read once more to move ``C`` out.

Rows of the table are memory configurations ``(DIM, b, ab, sp_kib, acc_kib)``; they are
computed on first use and kept, so repeated calls cost an index lookup.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from diffuse_dse.perf.tiling import gemmini_tiles
from diffuse_dse.workloads import Workload

TERMS: tuple[str, ...] = ("stream", "tiles", "dram", "prologue", "sp_read", "sp_write", "acc_read", "acc_write")
"""The tabulated terms; each is a ``keys x 2 x layers`` array (dataflow 0 = OS, 1 = WS)."""


def _layer_terms(dim: np.ndarray, b: np.ndarray, ab: np.ndarray, sp_rows: np.ndarray, acc_rows: np.ndarray,
                 ws: bool, m: int, n: int, k: int, a_elems: int, mult: int) -> dict[str, np.ndarray]:
    t = gemmini_tiles(dim, sp_rows, acc_rows, ws, m, n, k)
    ib, jb, kb = -(-m // dim), -(-n // dim), -(-k // dim)
    rows_tile, depth_tile = t.tile_i * dim, t.tile_k * dim
    last_rows = m - (t.n_i - 1) * rows_tile
    last_depth = k - (t.n_k - 1) * depth_tile
    if ws:
        stream = jb * kb * ((t.n_i - 1) * np.maximum(rows_tile, dim) + np.maximum(last_rows, dim))
    else:
        stream = ib * jb * ((t.n_k - 1) * np.maximum(depth_tile, dim) + np.maximum(last_depth, dim))
    a_pass = min(m * k, a_elems)
    dram = b * (a_pass * t.n_j + k * n * t.n_i + m * n)
    tm, tn, tk = np.minimum(rows_tile, m), np.minimum(t.tile_j * dim, n), np.minimum(depth_tile, k)
    prologue = b * (tm * tk + tk * tn + tm * tn)
    sp_write = b * (a_pass * t.n_j + k * n * t.n_i)
    sp_read = b * (m * k * jb + k * n * (t.n_i if ws else ib))
    acc_passes = kb if ws else t.n_k
    acc_write = ab * m * n * acc_passes
    acc_read = ab * m * n * acc_passes  # (passes - 1) accumulations + 1 move-out
    out = {"stream": stream, "tiles": t.n_i * t.n_j * t.n_k, "dram": dram, "prologue": prologue,
           "sp_read": sp_read, "sp_write": sp_write, "acc_read": acc_read, "acc_write": acc_write}
    return {key: np.asarray(v, dtype=np.float64) * mult for key, v in out.items()}


def unique_rows(keys: np.ndarray, bits: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(keys, axis=0, return_inverse=True)``, fast when column ``i`` fits in ``bits[i]`` bits.

    Packing each row into one int64 turns the row sort into a 1-D sort, which is the main cost
    of a large batch otherwise.
    """
    limits = np.array([1 << b for b in bits], dtype=np.int64)
    if len(keys) and (keys >= 0).all() and (keys < limits).all():
        packed = np.zeros(len(keys), dtype=np.int64)
        for i, b in enumerate(bits):
            packed = (packed << b) | keys[:, i]
        _, first, inverse = np.unique(packed, return_index=True, return_inverse=True)
        return keys[first], inverse.ravel()
    uniq, inverse = np.unique(keys, axis=0, return_inverse=True)
    return uniq, inverse.ravel()


@dataclass
class LayerCostTable:
    """The cost terms of every layer of ``workload``, one row per memory configuration seen."""

    workload: Workload
    _index: dict[tuple[int, ...], int] = field(default_factory=dict)
    _terms: dict[str, np.ndarray] = field(default_factory=dict)

    def rows(self, dim: np.ndarray, input_bits: np.ndarray, acc_bits: np.ndarray, sp_kib: np.ndarray,
             acc_kib: np.ndarray) -> np.ndarray:
        """Row indices for length-``N`` arrays of memory parameters (new rows are computed)."""
        keys = np.stack([np.asarray(a, dtype=np.int64).ravel() for a in (dim, input_bits, acc_bits, sp_kib, acc_kib)],
                        axis=1)
        uniq, inverse = unique_rows(keys, (12, 7, 7, 18, 18))
        missing = [tuple(int(x) for x in row) for row in uniq if tuple(int(x) for x in row) not in self._index]
        if missing:
            self._add(np.array(missing, dtype=np.int64))
        lookup = np.array([self._index[tuple(int(x) for x in row)] for row in uniq], dtype=np.int64)
        return lookup[inverse.ravel()]

    def term(self, name: str) -> np.ndarray:
        """The ``keys x 2 x layers`` array of one of :data:`TERMS`."""
        return self._terms[name]

    def _add(self, keys: np.ndarray) -> None:
        dim, ibits, abits, sp_kib, acc_kib = keys.T
        b, ab = ibits / 8.0, abits / 8.0
        sp_rows = sp_kib * 1024 * 8 // (dim * ibits)
        acc_rows = acc_kib * 1024 * 8 // (dim * abits)
        new = {name: np.zeros((len(keys), 2, len(self.workload.layers))) for name in TERMS}
        for li, layer in enumerate(self.workload.layers):
            mult = layer.groups * layer.count
            for df, ws in ((0, False), (1, True)):
                terms = _layer_terms(dim, b, ab, sp_rows, acc_rows, ws, layer.m, layer.n, layer.k, layer.a_elems, mult)
                for name in TERMS:
                    new[name][:, df, li] = terms[name]
        start = len(self._index)
        for i, row in enumerate(keys):
            self._index[tuple(int(x) for x in row)] = start + i
        for name in TERMS:
            self._terms[name] = new[name] if name not in self._terms else np.concatenate([self._terms[name], new[name]])


_TABLES: dict[str, LayerCostTable] = {}


def cost_table(workload: Workload) -> LayerCostTable:
    """The process-wide table of ``workload`` (kept across calls)."""
    table = _TABLES.get(workload.name)
    if table is None or table.workload != workload:
        table = _TABLES[workload.name] = LayerCostTable(workload)
    return table
