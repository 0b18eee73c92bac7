"""Run every (sampler, seed) of a benchmark as its own study in one storage, resumably.

Study ``{space}-{sampler}-s{seed}`` holds one run. Its user attribute ``diffuse`` is what
``diffuse run`` stores (space, evaluator, ``sampler``, ``seed``) plus ``bench``, so
``diffuse report`` and ``diffuse status`` read it like any other run. Every run gets the same
evaluator, budget and initial-design rule (:func:`~diffuse_dse.samplers.initial_design_size`,
applied by :func:`~diffuse_dse.samplers.make_sampler`); cache hits and failures count against
the budget, proposals that break a parameter constraint do not (the engine's rules).

Re-running the same command skips finished runs and resumes partial ones (the engine's
:func:`~diffuse_dse.engine.runner.recover` tells or re-queues trials a killed driver left).
Each proposal is timed: ``sampler_seconds`` on its trial is the time spent inside the
sampler's methods (the optimizer's own work, without the evaluation and Optuna's storage
writes), ``ask_seconds`` the wall time of the whole ``study.ask``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from diffuse_dse.engine.records import is_spent
from diffuse_dse.evaluators.base import Evaluator
from diffuse_dse.space import Space


def study_name(space: Space, sampler: str, seed: int) -> str:
    return f"{space.name}-{sampler}-s{seed}"


@dataclass(frozen=True)
class Plan:
    """What one benchmark runs."""

    space: Space
    evaluator: Evaluator
    samplers: tuple[str, ...]
    seeds: tuple[int, ...]
    budget: int
    workers: int
    storage: str
    artifacts: Path

    def runs(self) -> list[tuple[str, int]]:
        """Seeds outer, samplers inner: a partial benchmark compares every sampler on the first seeds."""
        return [(s, seed) for seed in self.seeds for s in self.samplers]

    def settings(self, sampler: str, seed: int) -> dict[str, Any]:
        ev = self.evaluator
        return {
            "space_name": self.space.name,
            "space_path": str(self.space.path),
            "space_source": self.space.source,
            "evaluator": ev.name,
            "evaluator_settings": ev.identity()["settings"],
            "sampler": sampler,
            "seed": seed,
            "bench": {"budget": self.budget, "workers": self.workers},
        }


SAMPLER_METHODS = (
    "before_trial",
    "infer_relative_search_space",
    "sample_relative",
    "sample_independent",
    "after_trial",
)


def _timed_ask(study: optuna.Study) -> None:
    """Store on each trial the wall time of its ``study.ask`` (``ask_seconds``) and the time
    spent inside the sampler's methods (``sampler_seconds``): the optimizer's own work, without
    the evaluation or Optuna's storage writes. A sampler's ``after_trial`` runs in
    ``study.tell``; its time is added to the next proposal."""
    sampler = study.sampler
    spent = [0.0, 0]  # seconds, nesting depth (a method calling another is timed once)
    for method in SAMPLER_METHODS:
        setattr(sampler, method, _clocked(getattr(sampler, method), spent))
    ask = study.ask

    def timed(*args: Any, **kwargs: Any) -> optuna.trial.Trial:
        start = time.perf_counter()
        trial = ask(*args, **kwargs)
        wall = time.perf_counter() - start
        trial.set_user_attr("ask_seconds", round(wall, 6))
        trial.set_user_attr("sampler_seconds", round(spent[0], 6))
        spent[0] = 0.0
        return trial

    study.ask = timed  # type: ignore[method-assign]


def _clocked(fn: Any, spent: list[Any]) -> Any:
    def clocked(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        spent[1] += 1
        try:
            return fn(*args, **kwargs)
        finally:
            spent[1] -= 1
            if spent[1] == 0:
                spent[0] += time.perf_counter() - start

    return clocked


def spent_count(study: optuna.Study) -> tuple[int, bool]:
    """Evaluations a study has spent, and whether a dead driver left trials RUNNING."""
    trials = study.get_trials(deepcopy=False)
    return sum(1 for t in trials if is_spent(t)), any(t.state == TrialState.RUNNING for t in trials)


def run_plan(plan: Plan, progress: BenchProgress) -> None:
    """Run (or resume, or skip) every study of ``plan``."""
    from diffuse_dse.engine import explore, make_executor, open_study
    from diffuse_dse.engine.lock import DriverLock
    from diffuse_dse.engine.study import session_seed
    from diffuse_dse.samplers import make_sampler

    progress.begin(len(plan.runs()) * plan.budget)
    for sampler, seed in plan.runs():
        name = study_name(plan.space, sampler, seed)
        study = open_study(plan.storage, name, plan.space, plan.settings(sampler, seed))
        spent, dangling = spent_count(study)
        if spent >= plan.budget and not dangling:
            progress.skip(name, min(spent, plan.budget))
            continue
        with DriverLock(plan.storage, name, study):
            seed_now = session_seed(seed, len(study.get_trials(deepcopy=False)))
            study.sampler = make_sampler(sampler, plan.space, seed=seed_now, budget=plan.budget)
            _timed_ask(study)
            executor = make_executor(plan.workers)
            try:
                explore(
                    study,
                    plan.space,
                    plan.evaluator,
                    budget=plan.budget,
                    workers=plan.workers,
                    executor=executor,
                    artifacts=plan.artifacts / name,
                    reporter=progress.reporter(name),
                )
            finally:
                executor.shutdown()
    progress.end()


class BenchProgress:
    """Progress of the whole benchmark on stderr: a rich bar on a terminal, else one line per run."""

    def __init__(self, quiet: bool = False) -> None:
        self.bar = not quiet and sys.stderr.isatty()
        self.total = 0
        self.done = 0
        self.progress: Any = None
        self.task: Any = None
        self.started = time.perf_counter()

    def begin(self, total: int) -> None:
        self.total = total
        if self.bar:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self.progress = Progress(
                TextColumn("[bold]bench"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.description}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
            )
            self.progress.start()
            self.task = self.progress.add_task("", total=total)

    def _log(self, text: str) -> None:
        if self.progress is not None:
            self.progress.console.print(text)
        else:
            elapsed = time.perf_counter() - self.started
            print(f"[bench {self.done}/{self.total} evaluations, {elapsed:.0f} s] {text}", file=sys.stderr, flush=True)

    def _advance(self, name: str, by: int) -> None:
        self.done += by
        if self.progress is not None:
            self.progress.update(self.task, completed=self.done, description=name)

    def skip(self, name: str, spent: int) -> None:
        self._advance(name, spent)
        self._log(f"{name}: finished before ({spent} evaluations), skipped")

    def reporter(self, name: str) -> _RunReporter:
        return _RunReporter(self, name)

    def end(self) -> None:
        if self.progress is not None:
            self.progress.stop()


class _RunReporter:
    """The engine's ``Reporter`` for one run, feeding the benchmark's progress."""

    def __init__(self, parent: BenchProgress, name: str) -> None:
        self.parent, self.name = parent, name
        self.done = 0
        self.started = time.perf_counter()

    def start(self, total: int, done: int) -> None:
        self.done = done
        self.parent._advance(self.name, done)
        self.parent._log(f"{self.name}: " + (f"resumed at {done} of {total}" if done else f"started, budget {total}"))

    def trial(
        self, number: int, state: str, detail: str, done: int, failed: int, hv: float, best: Mapping[str, float]
    ) -> None:
        self.parent._advance(self.name, done - self.done)
        self.done = done

    def stop(self) -> None:
        self.parent._log(
            f"{self.name}: {self.done} evaluations, {time.perf_counter() - self.started:.1f} s this session"
        )


def load_runs(plan: Plan) -> list[tuple[str, int, Sequence[Any]]]:
    """``(sampler, seed, trials)`` of every run of ``plan`` that the storage holds."""
    storage = optuna.storages.RDBStorage(plan.storage)
    names = {s.study_name for s in optuna.get_all_study_summaries(storage)}
    out = []
    for sampler, seed in plan.runs():
        name = study_name(plan.space, sampler, seed)
        if name in names:
            study = optuna.load_study(study_name=name, storage=storage)
            out.append((sampler, seed, study.get_trials(deepcopy=False)))
    return out
