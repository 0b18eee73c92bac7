"""Small real studies, made with the real ``diffuse run``, shared by the report tests."""

from __future__ import annotations

import shutil
import textwrap

import pytest

from tests.report.helpers import EXAMPLES, Made, check, diffuse


@pytest.fixture(scope="session")
def synthetic_study(tmp_path_factory: pytest.TempPathFactory) -> Made:
    """The shipped synthetic problem (3 objectives), 30 TPE evaluations."""
    folder = tmp_path_factory.mktemp("synthetic")
    space = folder / "synthetic.yaml"
    shutil.copy(EXAMPLES / "synthetic.yaml", space)
    check(diffuse("run", str(space), "--sampler", "tpe", "--budget", "30", "--seed", "1", "--quiet", cwd=folder))
    return Made(folder, space, folder / "synthetic.db")


FLAKY = '''
import math

def evaluate(config):
    if config["kind"] == "step":
        raise RuntimeError("the flow crashed on a step design")
    x, y = config["x"], config["depth"]
    return {"power": (x - 0.2) ** 2 + 0.1 * y, "delay": (x - 0.8) ** 2 + 0.05 * (8 - y), "area": x + y}
'''

FLAKY_SPACE = '''
name: flaky
description: Two objectives, pow2 and ordinal parameters, an outcome constraint and a flow that crashes.
parameters:
  - {name: x, layer: hw, kind: float, low: 0.0, high: 1.0, unit: V}
  - {name: depth, layer: hw, kind: pow2, low: 1, high: 8}
  - {name: kind, layer: eda, kind: categorical, values: [ridge, bowl, step]}
  - {name: effort, layer: eda, kind: ordinal, values: [low, medium, high]}
objectives:
  - {name: power, direction: min, unit: mW}
  - {name: delay, direction: min, unit: ns}
outcome_constraints: ["area <= 6"]
evaluator: python
evaluators:
  python: {function: "flaky_flow:evaluate", path: "."}
'''


@pytest.fixture(scope="session")
def flaky_study(tmp_path_factory: pytest.TempPathFactory) -> Made:
    """Two objectives, pow2/ordinal parameters, failures and outcome-infeasible designs."""
    folder = tmp_path_factory.mktemp("flaky")
    (folder / "flaky_flow.py").write_text(textwrap.dedent(FLAKY))
    space = folder / "flaky.yaml"
    space.write_text(textwrap.dedent(FLAKY_SPACE).lstrip())
    check(diffuse("run", str(space), "--sampler", "random", "--budget", "24", "--quiet", cwd=folder))
    return Made(folder, space, folder / "flaky.db")


@pytest.fixture(scope="session")
def bench_storage(tmp_path_factory: pytest.TempPathFactory) -> Made:
    """A bench storage: two samplers x two seeds x 12 evaluations, one study each."""
    folder = tmp_path_factory.mktemp("bench")
    space = folder / "synthetic.yaml"
    shutil.copy(EXAMPLES / "synthetic.yaml", space)
    db = folder / "bench.db"
    for sampler in ("random", "tpe"):
        for seed in (0, 1):
            check(diffuse("run", str(space), "--sampler", sampler, "--seed", str(seed), "--budget", "12", "--quiet",
                          "--storage", str(db), "--study", f"{sampler}-{seed}", cwd=folder))
    return Made(folder, space, db)
