"""Scratchpad and accumulator banks composed from ASAP7 SRAM bank macros (LIB + LEF data).

A macro ``srambank_{R}x4x{W}`` holds ``4 R`` words of ``W`` bits. A bank of ``depth`` rows of
``width`` bits is a grid of ``ceil(width / W)`` macros side by side times ``ceil(depth / 4R)``
deep; the macro with the smallest total area wins. One access of a bank reads or writes one
row: every macro of one depth slice fires.
"""

from __future__ import annotations

import gzip
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from diffuse_dse.errors import InfeasibleDesign, PdkNotFoundError

_NAME = re.compile(r"srambank_(\d+)x4x(\d+)_6t122\.lib(\.gz)?$")


@dataclass(frozen=True)
class Macro:
    """One SRAM macro: words x bits, LEF footprint, clock-to-data time, energy per access."""

    name: str
    words: int
    bits: int
    area_um2: float
    access_ps: float
    read_pj: float
    write_pj: float


@dataclass(frozen=True)
class Bank:
    """A bank built of ``cols x rows`` macros of one kind."""

    macro: Macro
    cols: int
    rows: int
    depth: int
    width: int

    @property
    def area_um2(self) -> float:
        return self.cols * self.rows * self.macro.area_um2

    @property
    def read_pj(self) -> float:
        """Energy of one row read (one depth slice of ``cols`` macros)."""
        return self.cols * self.macro.read_pj

    @property
    def write_pj(self) -> float:
        return self.cols * self.macro.write_pj


def _open(path: Path) -> str:
    return gzip.open(path, "rt").read() if path.suffix == ".gz" else path.read_text()


def _table_mid(block: str, name: str) -> float:
    """The mid entry (row 3, column 2) of the first ``name`` table in ``block``."""
    m = re.search(name + r"\s*\([^)]*\)\s*\{.*?values\s*\((.*?)\);", block, re.S)
    if not m:
        return 0.0
    rows = [[float(x) for x in r.split(",")] for r in re.findall(r'"([^"]+)"', m.group(1))]
    r = rows[min(2, len(rows) - 1)]
    return r[min(1, len(r) - 1)]


def _clk_energy(lib: str, when: str) -> float:
    """Energy (pJ: liberty pF x V^2) of one clock cycle on the VDD pin under ``when``."""
    clk = lib[lib.index("pin (clk)"):]
    total = 0.0
    for m in re.finditer(r'internal_power\s*\(\)\s*\{\s*when\s*:\s*"([^"]+)";\s*related_pg_pin\s*:\s*VDD;'
                         r'(.*?)\n      \}', clk, re.S):
        if m.group(1) == when:
            for kind in ("rise_power", "fall_power"):
                total += _table_mid(m.group(2), kind)
    return total


@lru_cache(maxsize=8)
def load_macros(sram_dir: Path) -> tuple[Macro, ...]:
    """Parse every ``srambank_*`` macro in ``sram_dir`` (LIB: time ns, energy pJ; LEF: um)."""
    out = []
    for lib_path in sorted(sram_dir.glob("srambank_*x4x*_6t122.lib*")):
        m = _NAME.search(lib_path.name)
        if not m:
            continue
        rows, bits = int(m.group(1)), int(m.group(2))
        name = lib_path.name.split(".lib")[0]
        lef_path = next(iter(sram_dir.glob(name + ".lef*")), None)
        if lef_path is None:
            raise PdkNotFoundError(f"{sram_dir} has {lib_path.name} but no {name}.lef(.gz) for its size.")
        size = re.search(r"SIZE\s+([\d.]+)\s+BY\s+([\d.]+)", _open(lef_path))
        lib = _open(lib_path)
        dout = lib[lib.index("bus (dataout)"):]
        access_ns = max(_table_mid(dout, "cell_rise"), _table_mid(dout, "cell_fall"))
        setup_ns = max((_table_mid(b, "rise_constraint") for b in re.findall(
            r"timing_type : setup_rising;(.*?)\n        \}\n      \}", lib, re.S)), default=0.0)
        out.append(Macro(name=name, words=4 * rows, bits=bits, area_um2=float(size.group(1)) * float(size.group(2)),
                         access_ps=1000.0 * (access_ns + setup_ns),
                         read_pj=_clk_energy(lib, "!write"), write_pj=_clk_energy(lib, "write")))
    if not out:
        raise PdkNotFoundError(f"No srambank_*.lib(.gz) SRAM macros in {sram_dir}.")
    return tuple(out)


def compose_bank(macros: tuple[Macro, ...], capacity_bytes: int, width: int, what: str) -> Bank:
    """The smallest-area bank of ``capacity_bytes`` with rows of ``width`` bits.

    Raises:
        InfeasibleDesign: the capacity holds less than one row.

    A capacity that is not a whole number of rows keeps its whole rows (``floor``), as
    Gemmini sizes its accumulator when ``acc_bits`` is not a power of two.
    """
    bits = capacity_bytes * 8
    if bits < width:
        raise InfeasibleDesign(f"a {what} bank of {capacity_bytes} bytes cannot hold one row of {width} bits")
    depth = bits // width
    best = min((Bank(mac, math.ceil(width / mac.bits), math.ceil(depth / mac.words), depth, width)
                for mac in macros), key=lambda b: (b.area_um2, b.cols * b.rows))
    return best
