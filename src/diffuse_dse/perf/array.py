"""Cycle count of one GEMM block on the generated Gemmini-style systolic array.

The formula is exact for the RTL that :mod:`diffuse_dse.evaluators.asap7.generator` emits (the
tests simulate it and compare), and is what the analytical performance model charges per block.

The array is ``DIM x DIM`` PEs (``DIM = mesh_rows * tile_rows = mesh_cols * tile_cols``), built
from ``mesh_rows x mesh_cols`` tiles. Inside a tile the PEs are chained combinationally; between
tiles every signal crosses one pipeline register. The array's ports are not skewed: the generator
skews the inputs of tile row ``ti`` by ``ti`` cycles and de-skews the outputs of tile column
``tj`` by ``mesh_cols - 1 - tj`` cycles, as Gemmini's ``MeshWithDelays`` does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

DATAFLOWS = ("OS", "WS")
"""Run-time dataflows; a ``BOTH`` design runs one of these per block."""


def matmul_cycles(mesh_rows: Any, mesh_cols: Any, tile_rows: Any, tile_cols: Any, dataflow: Any,
                  m: Any, n: Any, k: Any) -> Any:
    """Cycles from the first input cycle to the last output cycle of ``C[m x n] = A[m x k] . B[k x n]``.

    With ``R = mesh_rows``, ``C = mesh_cols``, ``DIM = R * tile_rows``:

    * ``OS`` (output-stationary): ``A`` columns and ``B`` rows stream in for ``k`` cycles, each
      PE accumulates its ``C[i][j]``; the last PE (bottom-right tile) finishes ``R + C - 2``
      cycles after the last input (fill). The results then shift down a register chain of
      ``DIM`` PE registers plus one per tile boundary, through the output register and the
      de-skew (drain)::

          cycles = k + DIM + R + C - 1

      independent of ``m`` and ``n`` (all ``DIM`` rows are shifted out).
    * ``WS`` (weight-stationary): ``B`` is preloaded into the PEs (one cycle per preloaded row,
      ``kc <= DIM`` rows), then the ``m`` rows of ``A`` stream through while partial sums flow
      down. A block with ``k > DIM`` takes ``P = ceil(k / DIM)`` such passes, whose partial sums
      the accumulator memory adds::

          cycles = k + P * (m + R + C - 1)

    ``tile_cols`` only enters through the square-array requirement; ``n`` never changes the
    count (unused columns compute on zeros).

    Args:
        mesh_rows, mesh_cols, tile_rows, tile_cols: The array's shape (ints or integer arrays).
        dataflow: ``"OS"`` or ``"WS"`` (a str or an array of str), the dataflow used at run time.
        m, n, k: The block's shape; ``m, n <= DIM`` and ``k >= 1``.

    Returns:
        An ``int`` when every argument is a scalar, else an integer ``ndarray`` (broadcast).

    Raises:
        ValueError: a dataflow other than ``OS`` / ``WS``.
    """
    scalar = all(np.ndim(v) == 0 for v in (mesh_rows, mesh_cols, tile_rows, tile_cols, dataflow, m, n, k))
    rows, cols, tr = (np.asarray(v, dtype=np.int64) for v in (mesh_rows, mesh_cols, tile_rows))
    m_, k_ = np.asarray(m, dtype=np.int64), np.asarray(k, dtype=np.int64)
    flow = np.asarray(dataflow).astype(str)
    is_os, is_ws = flow == "OS", flow == "WS"
    if not np.all(is_os | is_ws):
        bad = sorted(set(np.atleast_1d(flow[~(is_os | is_ws)]).tolist()))
        raise ValueError(f"matmul_cycles: dataflow must be 'OS' or 'WS' (a BOTH design runs one). Got {bad}.")
    dim = rows * tr
    fill = rows + cols - 1
    os_cycles = k_ + dim + fill
    passes = -(-k_ // dim)
    ws_cycles = k_ + passes * (m_ + fill)
    out = np.where(is_ws, ws_cycles, os_cycles) + np.zeros_like(np.asarray(n, dtype=np.int64))  # n: shape only
    return int(out) if scalar else out
