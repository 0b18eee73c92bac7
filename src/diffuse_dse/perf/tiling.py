"""Gemmini's choice of tiling factors for a GEMM, vectorized over hardware configurations.

This follows ``tiled_matmul_auto`` in ``include/gemmini.h`` of ucb-bar/gemmini-rocc-tests. A
GEMM ``C[M x N] = A[M x K] B[K x N]`` is cut into ``DIM x DIM`` blocks (``Ib, Jb, Kb`` of
them); a tile is ``tile_I x tile_J x tile_K`` blocks and must fit::

    (tile_I tile_K + tile_K tile_J) DIM <= S      # scratchpad rows for A and B
    tile_I tile_J DIM <= Acc                      # accumulator rows for C

with ``S``, ``Acc`` the scratchpad and accumulator rows, halved when the matmul is
double-buffered (Gemmini double-buffers its weight-stationary matmuls, not the OS ones). The
start point is ``tile_I = tile_J = min(., floor(sqrt(Acc' / DIM)))`` and
``tile_K = min(Kb, (S_total / 2 [/ 2]) / DIM / max_tile_ij)``; then ``J``, ``I`` and ``K`` in
turn grow by one block while the tile still fits, until none can grow.

Every constraint only tightens as any factor grows, so a factor that cannot grow once never
grows again; when a single factor is left growing it jumps straight to its largest fitting
value. That makes the loop take a few rounds instead of up to ``Kb``, with the same result.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Tiles:
    """Tiling factors in blocks (``tile_i, tile_j, tile_k``) and tile counts (``n_i, n_j, n_k``)."""

    tile_i: np.ndarray
    tile_j: np.ndarray
    tile_k: np.ndarray
    n_i: np.ndarray
    n_j: np.ndarray
    n_k: np.ndarray


def _cdiv(a: np.ndarray | int, b: np.ndarray | int) -> np.ndarray:
    return -(-np.asarray(a) // np.asarray(b))


def gemmini_tiles(dim: np.ndarray, sp_rows: np.ndarray, acc_rows: np.ndarray, double_buffered: bool,
                  m: int, n: int, k: int) -> Tiles:
    """Tiling factors of one GEMM for arrays of configurations.

    Args:
        dim: ``DIM``, a length-``U`` int array.
        sp_rows: Scratchpad rows (``capacity / (DIM * input bytes)``), length ``U``.
        acc_rows: Accumulator rows (``capacity / (DIM * acc bytes)``), length ``U``.
        double_buffered: Halve both memories (weight-stationary matmuls).
        m, n, k: The GEMM's shape.
    """
    dim = np.asarray(dim, dtype=np.int64)
    div = 2 if double_buffered else 1
    max_sp = np.asarray(sp_rows, dtype=np.int64) // div // dim  # in blocks
    max_acc = np.asarray(acc_rows, dtype=np.int64) // div // dim
    ib, jb, kb = _cdiv(m, dim), _cdiv(n, dim), _cdiv(k, dim)
    max_ij = np.maximum(np.floor(np.sqrt(max_acc)).astype(np.int64), 1)
    max_k = np.maximum(np.asarray(sp_rows, dtype=np.int64) // 2 // div // dim // max_ij, 1)
    ti, tj, tk = np.minimum(ib, max_ij), np.minimum(jb, max_ij), np.minimum(kb, max_k)

    def fits(i: np.ndarray, j: np.ndarray, kk: np.ndarray, acc: bool) -> np.ndarray:
        ok = (i * kk + kk * j) <= max_sp
        return ok & (i * j <= max_acc) if acc else ok

    for _ in range(10_000):
        gj = fits(ti, tj + 1, tk, True) & (tj + 1 <= jb)
        tj = tj + gj
        gi = fits(ti + 1, tj, tk, True) & (ti + 1 <= ib)
        ti = ti + gi
        gk = fits(ti, tj, tk + 1, False) & (tk + 1 <= kb)
        tk = tk + gk
        active = gj.astype(np.int8) + gi + gk
        if not active.any():
            break
        # A factor blocked in this round stays blocked: jump a lone grower to its largest fit.
        only_k, only_j, only_i = gk & ~gj & ~gi, gj & ~gi & ~gk, gi & ~gj & ~gk
        tk = np.where(only_k, np.maximum(tk, np.minimum(kb, max_sp // np.maximum(ti + tj, 1))), tk)
        j_cap = np.minimum(np.minimum(jb, (max_sp - ti * tk) // np.maximum(tk, 1)), max_acc // np.maximum(ti, 1))
        tj = np.where(only_j, np.maximum(tj, j_cap), tj)
        i_cap = np.minimum(np.minimum(ib, (max_sp - tk * tj) // np.maximum(tk, 1)), max_acc // np.maximum(tj, 1))
        ti = np.where(only_i, np.maximum(ti, i_cap), ti)
    return Tiles(ti, tj, tk, _cdiv(ib, ti), _cdiv(jb, tj), _cdiv(kb, tk))


def gemmini_tiles_reference(dim: int, sp_rows: int, acc_rows: int, double_buffered: bool,
                            m: int, n: int, k: int) -> tuple[int, int, int]:
    """The plain loop of ``tiled_matmul_auto`` for one configuration (for tests)."""
    div = 2 if double_buffered else 1
    max_spad_rows, max_acc_rows = sp_rows // div, acc_rows // div
    ib, jb, kb = -(-m // dim), -(-n // dim), -(-k // dim)
    max_ij = max(int((acc_rows // div // dim) ** 0.5), 1)
    max_k = max(sp_rows // 2 // div // dim // max_ij, 1)
    ti, tj, tk = min(ib, max_ij), min(jb, max_ij), min(kb, max_k)
    while True:
        grew = False
        if (ti * tk + tk * (tj + 1)) * dim <= max_spad_rows and ti * (tj + 1) * dim <= max_acc_rows and tj + 1 <= jb:
            tj, grew = tj + 1, True
        if ((ti + 1) * tk + tk * tj) * dim <= max_spad_rows and (ti + 1) * tj * dim <= max_acc_rows and ti + 1 <= ib:
            ti, grew = ti + 1, True
        if (ti * (tk + 1) + (tk + 1) * tj) * dim <= max_spad_rows and tk + 1 <= kb:
            tk, grew = tk + 1, True
        if not grew:
            return ti, tj, tk
