"""Derive the model's technology tables from the ASAP7 liberty and LEF files.

Run once, when the PDK changes: ``python -m diffuse_dse.evaluators.gemmini_model.liberty PDK_DIR``.
It writes two small CSV tables beside this module, which the model reads at import time, so the
model itself never needs the PDK:

* ``sram_macros.csv``: per SRAM bank macro ``srambank_{rows}x4x{width}_6t122`` its words, width,
  area (LEF ``SIZE W BY H``, um2), read and write energy per access (clock-pin internal power,
  ``VDD`` rail, ``when: !write`` / ``write``; pJ) and clock-to-output access time (ps).
* ``stdcells.csv``: per Vt flavour the area (um2), leakage (pW, mean over input states),
  typical delay (ps) and switching energy (fJ) of ``FAx1``, ``NAND2xp5``, ``INVx1``,
  ``XOR2xp5``, ``DFFHQNx1`` and ``BUFx2``: the first-principles prior of the technology
  coefficients.

"Typical" reads each NLDM table at index ``(3, 3)`` (input slew 20-40 ps, load 2-3 fF for the
standard cells), the middle of the table. The source files are BSD-3 (ASAP7, Arizona State
University); only these derived figures are stored here.
"""

from __future__ import annotations

import csv
import gzip
import re
import sys
from pathlib import Path

HERE = Path(__file__).parent
SRAM_TABLE = HERE / "sram_macros.csv"
STDCELL_TABLE = HERE / "stdcells.csv"
STDCELLS = ("FAx1", "NAND2xp5", "INVx1", "XOR2xp5", "DFFHQNx1", "BUFx2")
VT_SUFFIX = {"RVT": "R", "LVT": "L", "SLVT": "SL"}
_GROUPS = ("SIMPLE", "INVBUF", "SEQ")


def _read(path: Path) -> str:
    with gzip.open(path, "rt") as f:
        return f.read()


def _cell_block(text: str, cell: str) -> str:
    """The text of ``cell (NAME) { ... }`` with balanced braces."""
    start = text.index(f"cell ({cell})")
    depth, i = 0, text.index("{", start)
    for j in range(i, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return text[i : j + 1]
    raise ValueError(f"unbalanced braces in cell {cell}")


def _table_mid(block: str, kind: str) -> list[float]:
    """Values at index (3, 3) (or 3 for 1-D tables) of every ``kind (...) { values (...) }``."""
    out = []
    for m in re.finditer(rf"\b{kind}\s*\([^)]*\)\s*{{(.*?)}}", block, re.S):
        vals = re.search(r"values\s*\((.*?)\)\s*;", m.group(1), re.S)
        if not vals:
            continue
        rows = [[float(x) for x in r.split(",")] for r in re.findall(r'"([^"]*)"', vals.group(1))]
        row = rows[min(3, len(rows) - 1)]
        out.append(row[min(3, len(row) - 1)])
    return out


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else 0.0


def stdcell_figures(pdk_dir: Path, vt: str, cell: str) -> dict[str, float]:
    """Area (um2), leakage (pW), typical delay (ps) and energy (fJ) of one cell of one Vt."""
    name = f"{cell}_ASAP7_75t_{VT_SUFFIX[vt]}"
    for group in _GROUPS:
        for path in sorted((pdk_dir / "stdcells").glob(f"asap7sc7p5t_{group}_{vt}_TT_*.lib.gz")):
            text = _read(path)
            if f"cell ({name})" not in text:
                continue
            block = _cell_block(text, name)
            area = float(re.search(r"area\s*:\s*([\d.eE+-]+)", block).group(1))
            leak = _mean([float(v) for v in re.findall(r"leakage_power \(\)\s*{\s*value\s*:\s*([\d.eE+-]+)", block)])
            delay = _mean(_table_mid(block, "cell_rise") + _table_mid(block, "cell_fall"))
            energy = _mean(_table_mid(block, "rise_power") + _table_mid(block, "fall_power"))
            return {"area_um2": area, "leakage_pw": leak, "delay_ps": delay, "energy_fj": energy}
    raise FileNotFoundError(f"cell {name} not found under {pdk_dir / 'stdcells'}")


def sram_figures(pdk_dir: Path, macro: str) -> dict[str, float]:
    """Words, width, area (um2), read/write energy (pJ) and access time (ps) of one macro."""
    rows, mux, width = (int(x) for x in re.match(r"srambank_(\d+)x(\d+)x(\d+)_", macro).groups())
    lef = _read(pdk_dir / "sram" / f"{macro}.lef.gz")
    w, h = (float(x) for x in re.search(r"SIZE\s+([\d.]+)\s+BY\s+([\d.]+)", lef).groups())
    lib = _read(pdk_dir / "sram" / f"{macro}.lib.gz")
    clk = re.search(r"pin \(clk\)\s*{(.*?)\n    }\n", lib, re.S).group(1)
    energy = {"write": 0.0, "!write": 0.0}
    pattern = r'internal_power \(\)\s*{\s*when : "(!?write)";\s*related_pg_pin : VDD;(.*?)\n      }'
    for m in re.finditer(pattern, clk, re.S):
        energy[m.group(1)] += sum(_table_mid(m.group(2), "rise_power") + _table_mid(m.group(2), "fall_power"))
    access_ns = _mean(_table_mid(lib, "cell_rise") + _table_mid(lib, "cell_fall"))
    return {
        "macro": macro,
        "words": rows * mux,
        "width_bits": width,
        "area_um2": round(w * h, 4),
        "read_pj": round(energy["!write"], 6),
        "write_pj": round(energy["write"], 6),
        "access_ps": round(access_ns * 1000.0, 3),
    }


def derive_tables(pdk_dir: Path) -> None:
    """Write :data:`SRAM_TABLE` and :data:`STDCELL_TABLE` from the PDK at ``pdk_dir``."""
    macros = sorted({p.name.split(".")[0] for p in (pdk_dir / "sram").glob("srambank_*.lib.gz")})
    rows = [sram_figures(pdk_dir, m) for m in macros]
    with SRAM_TABLE.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(sorted(rows, key=lambda r: (r["width_bits"], r["words"])))
    cells = []
    for vt in VT_SUFFIX:
        for cell in STDCELLS:
            fig = stdcell_figures(pdk_dir, vt, cell)
            cells.append({"vt": vt, "cell": cell, **{k: round(v, 4) for k, v in fig.items()}})
    with STDCELL_TABLE.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(cells[0]))
        writer.writeheader()
        writer.writerows(cells)


if __name__ == "__main__":
    derive_tables(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/pdk/asap7"))
