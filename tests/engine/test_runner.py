"""The exploration loop: budget, cache hits, infeasible proposals, failures, workers."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import optuna
from optuna.trial import TrialState

from diffuse_dse.engine import InlineExecutor, PoolExecutor, explore, pareto_trials
from diffuse_dse.engine.progress import LogReporter
from diffuse_dse.evaluators.base import Evaluator
from diffuse_dse.evaluators.synthetic import SyntheticEvaluator
from diffuse_dse.space import load_space


class Repeating(optuna.samplers.BaseSampler):
    """Proposes only two distinct configurations, alternating, to provoke cache hits."""

    def infer_relative_search_space(self, study, trial):
        return {}

    def sample_relative(self, study, trial, search_space):
        return {}

    def sample_independent(self, study, trial, name, distribution):
        low = distribution.low if hasattr(distribution, "low") else distribution.choices[0]
        if trial.number % 2 and hasattr(distribution, "high"):
            return distribution.high if name != "a" else 3
        return low


class Flaky(Evaluator):
    """Fails for odd values of ``d``; counts calls in a file."""

    name: ClassVar[str] = "flaky"

    def evaluate(self, config: Mapping[str, Any], workdir: Path) -> Mapping[str, Any]:
        with open(workdir.parent / "calls.txt", "a") as f:
            f.write(f"{config['d']}\n")
        if config["d"] % 2:
            raise RuntimeError(f"odd d={config['d']}")
        return SyntheticEvaluator().evaluate(config, workdir)


def explore_study(space, sampler, evaluator, tmp_path, budget, workers=1):
    study = optuna.create_study(directions=["minimize"] * 3, sampler=sampler)
    executor = InlineExecutor() if workers == 1 else PoolExecutor(workers)
    try:
        summary = explore(
            study,
            space,
            evaluator,
            budget=budget,
            workers=workers,
            executor=executor,
            artifacts=tmp_path / "artifacts",
            reporter=LogReporter(space),
        )
    finally:
        executor.shutdown()
    return study, summary


def test_duplicates_are_cache_hits_not_evaluations(synthetic_space_path, tmp_path):
    space = load_space(synthetic_space_path)
    study, summary = explore_study(space, Repeating(), Flaky(), tmp_path, budget=10)
    calls = (tmp_path / "artifacts" / "calls.txt").read_text().split()
    assert len(calls) == 2
    assert summary.evaluated == 2 and summary.cache_hits == 8
    hits = [t for t in study.trials if "cache_hit" in t.user_attrs]
    assert len(hits) == 8 and {t.user_attrs["cache_hit"] for t in hits} == {0, 1}
    assert all(h.values == study.trials[h.user_attrs["cache_hit"]].values for h in hits)
    assert len(pareto_trials(space, study.trials)) <= 2


def test_failures_are_recorded_and_the_run_goes_on(synthetic_space_path, tmp_path):
    space = load_space(synthetic_space_path)
    study, summary = explore_study(space, optuna.samplers.RandomSampler(seed=3), Flaky(), tmp_path, budget=16)
    failed = [t for t in study.trials if t.state == TrialState.FAIL]
    done = [t for t in study.trials if t.state == TrialState.COMPLETE]
    assert failed and done and len(failed) + len(done) == 16
    assert all(t.user_attrs["fail_reason"].startswith("RuntimeError: odd d=") for t in failed)
    assert summary.failed == len(failed)


def test_infeasible_proposals_are_pruned_unevaluated_and_free(write_space, synthetic_space_path, tmp_path):
    space = load_space(write_space(synthetic_space_path.read_text().replace("a + 20 * b <= 32", "a + 20 * b <= 20")))
    study, summary = explore_study(space, optuna.samplers.RandomSampler(seed=0), Flaky(), tmp_path, budget=40)
    pruned = [t for t in study.trials if t.state == TrialState.PRUNED]
    assert pruned and summary.infeasible == len(pruned)
    assert all(t.user_attrs["infeasible"] == ["a + 20 * b <= 20"] for t in pruned)
    calls = (tmp_path / "artifacts" / "calls.txt").read_text().split()
    assert len(calls) == 40 - summary.cache_hits


def test_parallel_workers_give_the_same_trials_as_one(synthetic_space_path, tmp_path):
    space = load_space(synthetic_space_path)
    slow = SyntheticEvaluator({"delay_s": 0.05})
    one, _ = explore_study(space, optuna.samplers.TPESampler(seed=1, n_startup_trials=5), slow, tmp_path / "1", 14, 1)
    two, _ = explore_study(space, optuna.samplers.TPESampler(seed=1, n_startup_trials=5), slow, tmp_path / "2", 14, 2)
    # Two workers: the sampler sees one trial still running at each ask, so proposals after the
    # start differ from the sequential run, but all 14 are evaluated and the run is reproducible.
    assert sum(t.state == TrialState.COMPLETE for t in two.trials) == 14
    again, _ = explore_study(space, optuna.samplers.TPESampler(seed=1, n_startup_trials=5), slow, tmp_path / "3", 14, 2)
    assert [t.user_attrs["config"] for t in two.trials] == [t.user_attrs["config"] for t in again.trials]
    assert [t.user_attrs["config"] for t in one.trials][:1] == [t.user_attrs["config"] for t in two.trials][:1]


def test_outcome_constraints_exclude_designs_from_the_front(write_space, synthetic_space_path, tmp_path):
    text = synthetic_space_path.read_text().replace(
        "evaluator: synthetic", 'outcome_constraints: ["f3 <= 0.5"]\nevaluator: synthetic'
    )
    space = load_space(write_space(text))
    study, _ = explore_study(space, optuna.samplers.RandomSampler(seed=2), SyntheticEvaluator(), tmp_path, budget=20)
    violations = [t.user_attrs["constraint_violations"][0] for t in study.trials if t.state == TrialState.COMPLETE]
    assert any(v > 0 for v in violations) and any(v <= 0 for v in violations)
    assert all(t.user_attrs["metrics"]["f3"] <= 0.5 for t in pareto_trials(space, study.trials))


def test_repairs_keep_a_genetic_sampler_evolving(write_space, synthetic_space_path, tmp_path):
    # Most of this space breaks the constraint, so most NSGA-II children are repaired; the
    # repairs must count in their generation or NSGA-II never leaves random search.
    space = load_space(write_space(synthetic_space_path.read_text().replace("a + 20 * b <= 32", "a + 20 * b <= 6")))
    sampler = optuna.samplers.NSGAIISampler(seed=0, population_size=6)
    study, summary = explore_study(space, sampler, SyntheticEvaluator(), tmp_path, budget=30)
    repaired = [t for t in study.trials if "repair_of" in t.user_attrs]
    assert summary.infeasible > 0 and len(repaired) == summary.infeasible
    assert all(space.is_feasible(t.user_attrs["config"]) for t in repaired)
    complete = [t for t in study.trials if t.state == TrialState.COMPLETE]
    assert max(t.system_attrs.get("NSGAIISampler:generation", -1) for t in complete) >= 3
