"""The benchmark's metrics on hand-made runs: evaluations to a target, quartiles, improvement, checkpoints."""

from __future__ import annotations

import math

import numpy as np
import pytest

from diffuse_dse.bench.metrics import checkpoints, evals_to_reach, improvement, quartiles
from diffuse_dse.space import load_space
from tests.conftest import ROOT


def test_evals_to_reach_is_the_first_count_at_or_above_the_target():
    hv = np.array([0.1, 0.5, 0.85, 0.9, 0.93])
    assert evals_to_reach(hv, 0.8) == 3
    assert evals_to_reach(hv, 0.9) == 4
    assert math.isinf(evals_to_reach(hv, 0.95))


def test_quartiles_keep_not_reached_as_inf():
    assert quartiles([1.0, 2.0, 3.0, 4.0, 5.0]) == (3.0, 2.0, 4.0)
    med, lo, hi = quartiles([10.0, math.inf, math.inf])
    assert math.isinf(med) and lo == 10.0 and math.isinf(hi)
    assert all(math.isnan(v) for v in quartiles([]))


def test_checkpoints_follow_the_budget():
    assert checkpoints(12) == [6, 12]
    assert checkpoints(100) == [50, 100]
    assert checkpoints(150) == [50, 100, 150]
    assert checkpoints(200) == [50, 100, 200]


def test_improvement_per_objective_and_ppa_product():
    space = load_space(ROOT / "benchmarks" / "tasks" / "gemmini-resnet50.yaml")
    default = np.array([20.0, 100.0, 0.1])
    points = np.array([[10.0, 100.0, 0.1], [40.0, 25.0, 0.05]])
    out = improvement(space, points, default)
    assert out["latency_ms"] == pytest.approx(50.0)
    assert out["power_mw"] == pytest.approx(75.0)
    assert out["area_mm2"] == pytest.approx(50.0)
    # PPA = latency x power x area: default 200, best 50 (second point) -> 4x lower, +300 %.
    assert out["PPA"] == pytest.approx(300.0)
    assert improvement(space, points, None) == {}
