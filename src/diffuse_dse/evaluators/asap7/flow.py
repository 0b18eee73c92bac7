"""The ASAP7 implementation flow of one design: generate, synthesize, time, compose, cache.

Hierarchical mode synthesizes two units and composes the array from them:

* the *tile slice*: ``gem_tile_h`` (a tile between registers) is mapped once, with ``gem_tile``
  kept as its own module. A mesh slice is the tile plus its outgoing inter-tile registers, i.e.
  the tile plus its share of boundary registers: the harness's register cost per bit
  ``(harness - tile) / (2 x bits per side)`` times the register bits the mesh really has
  (``R (C-1)`` left edges, ``(R-1) C`` top edges). Its register-to-register path is the mesh's;
* the *periphery* ``gem_periph`` (skew/de-skew, output registers, accumulator adders, DMA).

So ``area = R C tile + boundary registers + periphery`` and ``critical path = max(slice, periphery)``.
Flat mode maps ``gem_top`` whole, for spot checks. Each unit's result is cached under a key of
its Verilog, the EDA parameters, the liberty files and both tools' versions.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from diffuse_dse.evaluators.asap7.generator import ArrayShape, design_verilog, write_design
from diffuse_dse.evaluators.asap7.opensta import ACTIVITIES, OpenSta
from diffuse_dse.evaluators.asap7.pdk import plain_copy, stdcell_libs
from diffuse_dse.evaluators.asap7.yosys import SynthOptions, Yosys, total

UNITS = {  # unit -> (synthesis top, modules kept apart, STA tops, modules in its Verilog)
    "slice": ("gem_tile_h", ("gem_tile",), ["gem_tile", "gem_tile_h"], ("gem_pe", "gem_tile", "gem_tile_h")),
    "periph": ("gem_periph", (), ["gem_periph"], ("gem_periph",)),
    "top": ("gem_top", (), ["gem_top"], ("gem_pe", "gem_tile", "gem_mesh", "gem_periph", "gem_top")),
}


class Flow:
    """Runs (or recalls) the units of one design point."""

    def __init__(self, pdk: Path, cache_dir: Path, yosys: Yosys, sta: OpenSta) -> None:
        self.pdk, self.cache_dir, self.yosys, self.sta = pdk, cache_dir, yosys, sta
        self.tool_runs = 0
        """How many units this flow actually synthesized (cache misses)."""

    def unit(self, name: str, shape: ArrayShape, opts: SynthOptions, workdir: Path) -> dict[str, Any]:
        """Area, cells, timing and power of one unit: from the cache, or from Yosys + OpenSTA."""
        top, keep, sta_tops, modules = UNITS[name]
        src = design_verilog(shape)
        gz_libs = stdcell_libs(self.pdk, opts.vt_flavour)
        key_data = {"unit": name, "verilog": [src[m] for m in modules], "eda": asdict(opts),
                    "libs": [f"{p.name}:{p.stat().st_size}" for p in gz_libs],
                    "yosys": self.yosys.version(), "sta": self.sta.version(), "flow": 2}
        key = hashlib.sha256(json.dumps(key_data, sort_keys=True).encode()).hexdigest()[:24]
        hit = self.cache_dir / "results" / f"{name}-{key}.json"
        if hit.exists():
            result = json.loads(hit.read_text())
            result["cached"] = True
            return result
        self.tool_runs += 1
        libs = [plain_copy(p, self.cache_dir) for p in gz_libs]
        wd = workdir / name
        wd.mkdir(parents=True, exist_ok=True)
        design = wd / f"{name}.v"
        write_design(shape, design, modules)
        syn = self.yosys.synthesize(design, top, keep, libs, opts, wd, name)
        timing = self.sta.analyze(syn["netlist"], sta_tops, libs, opts.clock_ps, wd, name)
        result = {"unit": name, "key": key, "tops": {}}
        for t in sta_tops:
            r = timing[t]
            result["tops"][t] = {
                "area_um2": total(syn["modules"], t, "area_um2"), "cells": total(syn["modules"], t, "cells"),
                "crit_ps": opts.clock_ps - r["wns_ps"], "wns_ps": r["wns_ps"],
                "power_mw": [1e3 * r[f"power_w@{a}"] for a in ACTIVITIES],
                "leakage_mw": 1e3 * r[f"leakage_w@{ACTIVITIES[0]}"]}
        hit.parent.mkdir(parents=True, exist_ok=True)
        tmp = hit.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(result, indent=1))
        tmp.replace(hit)
        result["cached"] = False
        return result

    def logic(self, shape: ArrayShape, opts: SynthOptions, mode: str, workdir: Path) -> dict[str, Any]:
        """The standard-cell logic of the whole design, composed (hierarchical) or whole (flat).

        Returns ``area_um2``, ``cells``, ``crit_ps``, ``wns_ps``, ``leakage_mw`` and ``power_mw``
        (a pair: at activities :data:`ACTIVITIES`, target clock), and ``cached``.
        """
        if mode == "flat":
            u = self.unit("top", shape, opts, workdir)
            return {**u["tops"]["gem_top"], "cached": u["cached"]}
        s, p = self.unit("slice", shape, opts, workdir), self.unit("periph", shape, opts, workdir)
        tile, harness, per = s["tops"]["gem_tile"], s["tops"]["gem_tile_h"], p["tops"]["gem_periph"]
        R, C = shape.mesh_rows, shape.mesh_cols
        # boundary register bits a tile's harness holds on each side, and those the mesh really has
        a_bits = shape.tile_rows * shape.input_bits + 1
        bd_bits = shape.tile_cols * (shape.b_bits + shape.d_bits)
        mesh_bits = R * (C - 1) * a_bits + (R - 1) * C * bd_bits
        per_bit = 1.0 / (2 * (a_bits + bd_bits))

        def mix(t: float, h: float, q: float) -> float:
            return R * C * t + (h - t) * per_bit * mesh_bits + q

        def compose(key: str) -> float:
            return mix(tile[key], harness[key], per[key])

        power = [mix(t, h, q) for t, h, q in zip(tile["power_mw"], harness["power_mw"], per["power_mw"], strict=True)]
        crit = max(harness["crit_ps"], per["crit_ps"])
        return {"area_um2": compose("area_um2"), "cells": compose("cells"), "crit_ps": crit,
                "wns_ps": opts.clock_ps - crit, "leakage_mw": compose("leakage_mw"), "power_mw": power,
                "cached": s["cached"] and p["cached"]}
