"""Scratchpad and accumulator banks built from ASAP7 SRAM macros (``sram_macros.csv``).

A bank of ``rows`` rows of ``row_bits`` bits is tiled with ``cols x depth`` copies of one macro
(``words x width``): ``cols = ceil(row_bits / width)`` side by side and
``depth = ceil(rows / words)`` stacked, choosing the macro of least total area. One row access
fires the ``cols`` macros of one stacked slice, so it costs ``cols`` macro accesses. The table
comes from the PDK's LIB/LEF files (see :mod:`.liberty`).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache

import numpy as np

from diffuse_dse.evaluators.gemmini_model.liberty import SRAM_TABLE
from diffuse_dse.perf.layer_costs import unique_rows


@dataclass(frozen=True)
class Banks:
    """Per configuration: macros and area (um2) of all banks, per-row access energy (pJ), access time (ps)."""

    macros: np.ndarray
    area_um2: np.ndarray
    read_pj: np.ndarray
    write_pj: np.ndarray
    access_ps: np.ndarray


@cache
def macro_table() -> dict[str, np.ndarray]:
    """The macro table as columns (``words, width_bits, area_um2, read_pj, write_pj, access_ps``)."""
    with SRAM_TABLE.open() as f:
        rows = list(csv.DictReader(f))
    return {k: np.array([float(r[k]) for r in rows]) for k in ("words", "width_bits", "area_um2", "read_pj",
                                                                "write_pj", "access_ps")}


def banks(capacity_kib: np.ndarray, n_banks: np.ndarray, row_bits: np.ndarray) -> Banks:
    """Compose ``n_banks`` banks holding ``capacity_kib`` in rows of ``row_bits`` (arrays of length ``N``)."""
    cap = np.asarray(capacity_kib, dtype=np.int64)
    nb = np.asarray(n_banks, dtype=np.int64)
    rb = np.asarray(row_bits, dtype=np.int64)
    keys = np.stack([cap, nb, rb], axis=1)
    uniq, inverse = unique_rows(keys, (20, 10, 16))
    t = macro_table()
    u_cap, u_nb, u_rb = (uniq[:, i][:, None].astype(np.float64) for i in range(3))
    bank_rows = np.maximum(np.ceil(u_cap * 8192.0 / u_nb / u_rb), 1.0)
    cols = np.ceil(u_rb / t["width_bits"])
    depth = np.ceil(bank_rows / t["words"])
    area = cols * depth * t["area_um2"]
    best = np.argmin(area + 1e-9 * cols * depth, axis=1)
    pick = np.arange(len(uniq))
    u_cols, u_depth = cols[pick, best], depth[pick, best]
    n = u_nb[:, 0]
    return Banks(
        macros=(n * u_cols * u_depth)[inverse],
        area_um2=(n * area[pick, best])[inverse],
        read_pj=(u_cols * t["read_pj"][best])[inverse],
        write_pj=(u_cols * t["write_pj"][best])[inverse],
        access_ps=t["access_ps"][best][inverse],
    )
