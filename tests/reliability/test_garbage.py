"""Evaluators that return garbage: each such trial FAILs with its reason and the run goes on;
a run where every trial fails says so, exits non-zero and reports no best design."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from optuna.trial import TrialState

from .conftest import DATA, child_env, diffuse, load, python_space, write_space

PYTHON_REASONS = [  # evals.GARBAGE, in order
    "metric 'f1' is nan, expected a finite number",
    "metric 'f2' is inf, expected a finite number",
    "metric 'f1' is -inf, expected a finite number",
    "metric 'f1' is '12.5', expected a number",
    "the evaluator did not report f2",
    "the evaluator returned NoneType, expected a mapping",
    "the evaluator returned list, expected a mapping",
    "metric 'm0' is 'xxxx",
    "metric 'f2' is True, expected a number",
    "evals:garbage raised RuntimeError: the flow crashed",
]
COMMAND_REASONS = [  # qor_garbage.KINDS, in order
    "metric 'f1' is nan, expected a finite number",
    "metric 'f2' is inf, expected a finite number",
    "metric 'f1' is 'fast', expected a number",
    "the evaluator did not report f2",
    "is not valid JSON",
    "holds list, expected a JSON object",
    "is not valid JSON",
    "over the 1 MiB limit",
    "is not valid JSON",
    "exited with status 3; stderr ends: the flow fell over",
    "the command exited 0 but wrote no QoR file qor.json",
]


def _check(tmp_path: Path, space: Path, reasons: list[str], extra: list[str]) -> None:
    budget = len(reasons) + 3
    proc = diffuse("run", str(space), "--sampler", "random", "--budget", str(budget), "--quiet", "--storage",
                   str(tmp_path / "s.db"), *extra, cwd=tmp_path,
                   env=child_env(DIFFUSE_TEST_COUNTER=str(tmp_path / "n")))
    assert proc.returncode == 0, proc.stderr
    assert f"done: {budget} of {budget} evaluations spent" in proc.stderr
    assert f"failed {len(reasons)}" in proc.stderr
    assert "Pareto front" in proc.stdout
    trials = load(tmp_path / "s.db", "space").trials
    assert len(trials) == budget
    for trial, reason in zip(trials, reasons, strict=False):
        assert trial.state == TrialState.FAIL
        assert reason in trial.user_attrs["fail_reason"]
        assert len(trial.user_attrs["fail_reason"]) < 2000  # check_metrics quotes the whole bad value (see docs)
    assert [t.state for t in trials[len(reasons):]] == [TrialState.COMPLETE] * 3


@pytest.mark.timeout(90)
def test_python_evaluator_garbage_fails_each_trial_with_its_reason(tmp_path: Path) -> None:
    _check(tmp_path, python_space(tmp_path, "garbage"), PYTHON_REASONS, [])


@pytest.mark.timeout(120)
def test_command_evaluator_garbage_fails_each_trial_with_its_reason(tmp_path: Path) -> None:
    argv = [sys.executable, str(DATA / "qor_garbage.py"), "{output}", "{x}", "{y}"]
    _check(tmp_path, write_space(tmp_path, "command", {"argv": argv}), COMMAND_REASONS, ["--workers", "2"])


@pytest.mark.timeout(90)
@pytest.mark.parametrize("parallel", [[], ["--dask", "local:1"]], ids=["inline", "dask"])
def test_when_every_trial_fails_the_run_says_so_exits_1_and_reports_no_best(tmp_path: Path,
                                                                           parallel: list[str]) -> None:
    proc = diffuse("run", str(python_space(tmp_path, "always_garbage")), "--sampler", "random", "--budget", "4",
                   "--quiet", "--storage", str(tmp_path / "s.db"), *parallel, cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stdout == ""  # no table, no best design
    assert "no design completed successfully" in proc.stderr and "no best design" in proc.stderr
    assert "hypervolume" not in proc.stderr and "Traceback" not in proc.stderr
    assert "failed 4" in proc.stderr
    assert [t.state for t in load(tmp_path / "s.db", "space").trials] == [TrialState.FAIL] * 4
