"""The model moves the way physics says, and its vectorized and scalar paths agree."""

from __future__ import annotations

import numpy as np
import pytest

from diffuse_dse.errors import SettingsError
from diffuse_dse.evaluators.gemmini_model import METRICS, GemminiModelEvaluator, evaluate_arrays

from .conftest import random_batch


def _one(config: dict, **kw) -> dict[str, float]:
    return {k: float(v[0]) for k, v in evaluate_arrays({k: np.asarray([v]) for k, v in config.items()}, **kw).items()}


def test_default_gemmini_is_in_a_plausible_range(default) -> None:
    m = _one(default)
    assert set(m) == set(METRICS)
    assert 0.05 < m["area_mm2"] < 1.0  # 256 KiB + 64 KiB SRAM dominate
    assert 1.0 < m["power_mw"] < 500.0
    assert 1.0 < m["latency_ms"] < 100.0
    assert m["energy_mj"] == pytest.approx(m["power_mw"] * m["latency_ms"] * 1e-3)


def test_bigger_mesh_gives_more_area(default) -> None:
    small = _one({**default, "mesh_rows": 8, "mesh_cols": 8})
    big = _one({**default, "mesh_rows": 32, "mesh_cols": 32})
    assert big["area_mm2"] > _one(default)["area_mm2"] > small["area_mm2"]


def test_lower_vt_gives_more_leakage_and_less_delay(default) -> None:
    slow_clock = {**default, "clock_ps": 2000}  # leakage dominates the difference at a slow clock
    power = [_one({**slow_clock, "vt_flavour": vt})["power_mw"] for vt in ("RVT", "LVT", "SLVT")]
    fmax = [_one({**slow_clock, "vt_flavour": vt})["fmax_mhz"] for vt in ("RVT", "LVT", "SLVT")]
    assert power[0] < power[1] < power[2]
    assert fmax[0] < fmax[1] < fmax[2]


def test_tighter_clock_target_costs_area_and_power(default) -> None:
    # the delay-oriented script trades area for delay; the calibrated area script hardly reacts to the target
    relaxed = _one({**default, "synth_strategy": "delay", "clock_ps": 2000})
    tight = _one({**default, "synth_strategy": "delay", "clock_ps": 500})
    assert tight["area_mm2"] > relaxed["area_mm2"]
    assert tight["power_mw"] > relaxed["power_mw"]
    assert tight["latency_ms"] < relaxed["latency_ms"]


def test_deeper_tile_lengthens_the_critical_path(default) -> None:
    flat = _one({**default, "clock_ps": 2000})
    deep = _one({**default, "clock_ps": 2000, "mesh_rows": 4, "tile_rows": 4, "mesh_cols": 4, "tile_cols": 4})
    assert deep["fmax_mhz"] < flat["fmax_mhz"]


def test_larger_scratchpad_costs_area(default) -> None:
    assert _one({**default, "sp_capacity_kib": 1024})["area_mm2"] > _one(default)["area_mm2"]


def test_vectorized_and_scalar_paths_agree() -> None:
    batch = random_batch(60, seed=3)
    ev = GemminiModelEvaluator({"workload": "mobilenetv2"})
    vec = ev.evaluate_arrays(batch)
    for i in range(60):
        one = ev.evaluate({k: v[i].item() for k, v in batch.items()}, workdir=None)
        for metric in METRICS:
            assert one[metric] == pytest.approx(float(vec[metric][i]), rel=1e-12)


def test_settings_fail_fast() -> None:
    with pytest.raises(SettingsError, match="workload"):
        GemminiModelEvaluator({"workload": "vgg"})
    with pytest.raises(SettingsError, match="dram_gbps"):
        GemminiModelEvaluator({"dram_gbps": 0})
