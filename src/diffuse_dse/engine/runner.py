"""The exploration loop: one driver asks the sampler, evaluates, and tells the study.

Trials are told in the order they were asked. With ``W`` workers, trial ``n + W`` is asked
right after trial ``n`` is told, so what the sampler sees at each ask does not depend on
which evaluation happens to finish first: the same seed gives the same trials for any
timing. A finished evaluation is saved on its trial at once (``pending_result``), so a
driver killed before the trial is told loses nothing: :func:`recover` tells it on resume.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

from diffuse_dse.engine import records
from diffuse_dse.engine.executor import Outcome, evaluate_task
from diffuse_dse.engine.pareto import hypervolume, reference_point
from diffuse_dse.engine.progress import Reporter
from diffuse_dse.evaluators.base import Evaluator
from diffuse_dse.space import Config, Encoder, Space
from diffuse_dse.space.legalize import Legalizer

REPAIR_POOL_SIZE = 8192
"""Uniform draws, filtered by the parameter constraints, that repairs choose from."""


class Executor(Protocol):
    """What the loop needs of InlineExecutor, PoolExecutor or the Dask executor."""

    def submit(self, fn: Callable[..., Outcome], *args: object) -> Future[Outcome]: ...


@dataclass
class RunSummary:
    """What one ``explore`` call did; ``spent``, ``hypervolume`` and ``best`` cover the whole study."""

    evaluated: int = 0
    failed: int = 0
    cache_hits: int = 0
    infeasible: int = 0
    recovered: int = 0
    rerun: int = 0
    spent: int = 0
    hypervolume: float = 0.0
    best: dict[str, float] = field(default_factory=dict)


@dataclass
class _Pending:
    trial: optuna.trial.Trial
    key: str
    future: Future[Outcome]
    duplicate_of: int | None = None
    saved: bool = False


def recover(study: optuna.Study, space: Space) -> tuple[int, int]:
    """Deal with trials a dead driver left RUNNING.

    A trial whose evaluation had finished (``pending_result``) is told from it. Any other is
    marked FAIL ("the driver stopped") and its configuration is queued to run again.

    Returns:
        ``(told, requeued)`` counts.
    """
    told = requeued = 0
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        pending = t.user_attrs.get("pending_result")
        if pending is not None:
            outcome = Outcome(
                pending.get("metrics"), pending.get("reason"), pending.get("seconds", 0.0), pending.get("attempts", 1)
            )
            _tell(study, space, t.number, outcome)
            told += 1
            continue
        study._storage.set_trial_user_attr(
            t._trial_id, "fail_reason", "the driver stopped before this evaluation finished; it was queued again"
        )
        study._storage.set_trial_user_attr(t._trial_id, "interrupted", True)
        study.tell(t.number, state=TrialState.FAIL)
        study.enqueue_trial(dict(t.params), user_attrs={"rerun_of": t.number}, skip_if_exists=False)
        requeued += 1
    return told, requeued


def _tell(study: optuna.Study, space: Space, number: int, outcome: Outcome, extra: dict | None = None) -> TrialState:
    storage, trial_id = study._storage, study._storage.get_trial_id_from_study_id_trial_number(study._study_id, number)
    for key, value in (extra or {}).items():
        storage.set_trial_user_attr(trial_id, key, value)
    storage.set_trial_user_attr(trial_id, "eval_seconds", round(outcome.seconds, 3))
    if outcome.attempts != 1:  # a Dask worker died during it and it was run again
        storage.set_trial_user_attr(trial_id, "attempts", outcome.attempts)
    if outcome.metrics is None:
        storage.set_trial_user_attr(trial_id, "fail_reason", outcome.reason or "unknown")
        study.tell(number, state=TrialState.FAIL)
        return TrialState.FAIL
    storage.set_trial_user_attr(trial_id, "metrics", outcome.metrics)
    if space.outcome_constraints:
        violations = [c.violation(outcome.metrics) for c in space.outcome_constraints]
        storage.set_trial_user_attr(trial_id, "constraint_violations", violations)
    study.tell(number, [outcome.metrics[o.name] for o in space.objectives])
    return TrialState.COMPLETE


def explore(
    study: optuna.Study,
    space: Space,
    evaluator: Evaluator,
    *,
    budget: int,
    workers: int,
    executor: Executor,
    artifacts: Path,
    reporter: Reporter,
) -> RunSummary:
    """Run the study until ``budget`` evaluations (cache hits and failures included) exist.

    A configuration breaking a parameter constraint is told PRUNED without evaluation and
    does not count against the budget; its nearest feasible configuration (in the encoded
    space, among a fixed pool of feasible designs) is queued as the next trial, so a sampler
    that does not know the constraints costs one extra ask per infeasible proposal, not an
    unbounded search. A configuration already evaluated is not evaluated again.
    """
    summary = RunSummary()
    summary.recovered, summary.rerun = recover(study, space)
    distributions = {p.optuna_key: p.distribution() for p in space.parameters}
    identity = evaluator.identity()
    required = space.objective_names + tuple(n for c in space.outcome_constraints for n in c.expression.names)
    trials = study.get_trials(deepcopy=False)
    cache: dict[str, FrozenTrial] = {
        t.user_attrs["config_key"]: t
        for t in records.completed(trials)
        if "config_key" in t.user_attrs and "cache_hit" not in t.user_attrs
    }
    spent = sum(1 for t in trials if records.is_spent(t))
    failed = sum(1 for t in trials if records.is_spent(t) and t.state == TrialState.FAIL)
    points = records.objective_matrix(space, [t for t in records.completed(trials) if records.is_feasible(t)])
    inflight: deque[_Pending] = deque()
    repair: Callable[[Config], Config] | None = None
    reporter.start(budget, min(spent, budget))

    def finish(p: _Pending) -> None:
        nonlocal spent, failed, points
        outcome = p.future.result()
        extra = {"cache_hit": p.duplicate_of} if p.duplicate_of is not None else {}
        state = _tell(study, space, p.trial.number, outcome, extra)
        spent += 1
        frozen = study._storage.get_trial(p.trial._trial_id)
        if state == TrialState.COMPLETE:
            if p.duplicate_of is None:
                cache[p.key] = frozen
                summary.evaluated += 1
            else:
                summary.cache_hits += 1
            if records.is_feasible(frozen):
                points = np.vstack([points, records.objective_matrix(space, [frozen])])
            detail = " ".join(f"{o.name}={outcome.metrics[o.name]:.4g}" for o in space.objectives)  # type: ignore[index]
        else:
            failed += 1
            summary.failed += 1
            detail = f"reason: {outcome.reason}"
        if p.duplicate_of is not None:
            detail += f" (cache hit of trial {p.duplicate_of})"
        hv = hypervolume(points, reference_point(space, points))
        reporter.trial(p.trial.number, state.name, detail, min(spent, budget), failed, hv, _best(space, points))

    try:
        while spent + len(inflight) < budget or inflight:
            while len(inflight) < workers and spent + len(inflight) < budget:
                trial = study.ask(distributions)
                config = records.config_from_params(space, trial.params)
                key = records.config_key(config, identity)
                trial.set_user_attr("config", config)
                trial.set_user_attr("config_key", key)
                broken = space.violated(config)
                if broken:
                    trial.set_user_attr("infeasible", broken)
                    study.tell(trial, state=TrialState.PRUNED)
                    summary.infeasible += 1
                    repair = repair or _repairer(space)
                    fixed = records.params_from_config(space, repair(config))
                    study.enqueue_trial(fixed, user_attrs={"repair_of": trial.number}, skip_if_exists=False)
                    continue
                if "repair_of" in trial.user_attrs:
                    _inherit_generation(study, trial, trial.user_attrs["repair_of"])
                workdir = artifacts / f"trial-{trial.number:05d}"
                trial.set_user_attr("artifacts", str(workdir))
                if key in cache:
                    done: Future[Outcome] = Future()
                    hit = cache[key]
                    done.set_result(Outcome(dict(hit.user_attrs["metrics"]), None, 0.0))
                    inflight.append(_Pending(trial, key, done, duplicate_of=hit.number))
                    continue
                twin = next((p for p in inflight if p.key == key and p.duplicate_of is None), None)
                if twin is not None:
                    inflight.append(_Pending(trial, key, twin.future, duplicate_of=twin.trial.number))
                    continue
                future = executor.submit(evaluate_task, evaluator, config, str(workdir), required)
                inflight.append(_Pending(trial, key, future))
            if not inflight:
                break
            # Save every evaluation as soon as it finishes; tell only the head, then refill, so
            # trial n + workers is always asked right after trial n is told.
            while True:
                for p in inflight:
                    if p.future.done() and p.duplicate_of is None and not p.saved:
                        o = p.future.result()
                        p.trial.set_user_attr(
                            "pending_result",
                            {"metrics": o.metrics, "reason": o.reason, "seconds": o.seconds, "attempts": o.attempts},
                        )
                        p.saved = True
                if inflight[0].future.done():
                    break
                wait([p.future for p in inflight], return_when=FIRST_COMPLETED)
            finish(inflight.popleft())
    finally:
        reporter.stop()
    summary.spent = min(spent, budget)
    summary.hypervolume = hypervolume(points, reference_point(space, points))
    summary.best = _best(space, points)
    return summary


def _best(space: Space, points: np.ndarray) -> dict[str, float]:
    if not len(points):
        return {}
    return {o.name: float(o.sign * points[:, j].min()) for j, o in enumerate(space.objectives)}


def _repairer(space: Space) -> Callable[[Config], Config]:
    """The nearest feasible configuration to a given one, from a pool drawn with seed 0."""
    encoder = Encoder(space)
    legalizer = Legalizer(space, encoder, np.random.default_rng(0), REPAIR_POOL_SIZE)

    def repair(config: Config) -> Config:
        arrays, _, _ = legalizer.legalize(encoder.encode([config]))
        return next(iter(space.rows(arrays)))

    return repair


def _inherit_generation(study: optuna.Study, trial: optuna.trial.Trial, pruned_number: int) -> None:
    """Give a repair the generation of the proposal it replaces.

    Genetic samplers (NSGA-II/III) count a generation only from trials they sampled
    themselves, and Optuna does not sample queued trials; without this, a generation whose
    children are mostly infeasible never fills and the sampler stays at random search.
    """
    storage = study._storage
    source = storage.get_trial(storage.get_trial_id_from_study_id_trial_number(study._study_id, pruned_number))
    for key, value in source.system_attrs.items():
        if key.endswith(":generation"):
            storage.set_trial_system_attr(trial._trial_id, key, value)
