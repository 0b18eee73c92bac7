"""What the report and the plots read from a study: trials, the front, hypervolume history.

A :class:`StudyData` is one exploration (one Optuna study and its space). A bench storage
holds several studies, one per sampler and seed (study user attribute ``diffuse`` has
``sampler`` and ``seed``); :func:`load_target` returns them all, and :class:`Bench` groups
them by sampler for the comparison plots.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import moocore
import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

from diffuse_dse.engine.pareto import hypervolume, pareto_trials, reference_point
from diffuse_dse.engine.records import completed, config_of, is_feasible, is_spent, objective_matrix, run_settings
from diffuse_dse.space import Space


@dataclass
class StudyData:
    """One exploration: its study name, space, run settings and trials (in trial order)."""

    name: str
    space: Space
    settings: dict[str, Any]
    trials: list[FrozenTrial]
    storage: str = ""

    @classmethod
    def from_study(cls, study: optuna.Study, space: Space, storage: str = "") -> StudyData:
        trials = sorted(study.get_trials(deepcopy=False), key=lambda t: t.number)
        return cls(study.study_name, space, run_settings(study), trials, storage)

    @property
    def sampler(self) -> str:
        return str(self.settings.get("sampler", "?"))

    @property
    def seed(self) -> Any:
        return self.settings.get("seed", "?")

    @cached_property
    def evaluated(self) -> list[FrozenTrial]:
        """Trials that count as evaluations (failures and cache hits included), in order."""
        return [t for t in self.trials if is_spent(t)]

    @cached_property
    def complete(self) -> list[FrozenTrial]:
        """COMPLETE trials that are not cache hits (each design once)."""
        return [t for t in completed(self.trials) if "cache_hit" not in t.user_attrs]

    @cached_property
    def feasible(self) -> list[FrozenTrial]:
        return [t for t in self.complete if is_feasible(t)]

    @cached_property
    def front(self) -> list[FrozenTrial]:
        """The Pareto designs, sorted by the first objective."""
        return sorted(pareto_trials(self.space, self.trials), key=lambda t: t.values[0])

    def label(self, trial: FrozenTrial) -> str:
        """How people name a trial: its number (with its study in a pooled view)."""
        return str(trial.number)

    def config(self, trial: FrozenTrial) -> dict[str, Any]:
        return config_of(trial, self.space)

    def metrics(self, trial: FrozenTrial) -> dict[str, float]:
        """Every metric of a COMPLETE trial (the objectives at least)."""
        stored = dict(trial.user_attrs.get("metrics", {}))
        for name, value in zip(self.space.objective_names, trial.values or (), strict=False):
            stored.setdefault(name, value)
        return stored

    def failures(self) -> dict[str, Any]:
        """Counts by outcome and the failure reasons, most common first, with example trials."""
        spent = self.evaluated
        failed = [t for t in spent if t.state == TrialState.FAIL]
        reasons: dict[str, list[int]] = defaultdict(list)
        for t in failed:
            reasons[str(t.user_attrs.get("fail_reason", "unknown"))].append(t.number)
        broken: Counter[str] = Counter()
        pruned = [t for t in self.trials if t.state == TrialState.PRUNED]
        for t in pruned:
            broken.update(t.user_attrs.get("infeasible", ["unknown"]))
        done = completed(self.trials)
        return {
            "evaluations": len(spent),
            "complete": len([t for t in done if "cache_hit" not in t.user_attrs]),
            "cache_hits": len([t for t in done if "cache_hit" in t.user_attrs]),
            "failed": len(failed),
            "outcome_infeasible": len([t for t in done if not is_feasible(t)]),
            "skipped_parameter_infeasible": len(pruned),
            "interrupted": len([t for t in self.trials if t.user_attrs.get("interrupted")]),
            "running": len([t for t in self.trials if t.state == TrialState.RUNNING]),
            "reasons": sorted(((r, ns) for r, ns in reasons.items()), key=lambda x: -len(x[1])),
            "constraints_broken": broken.most_common(),
        }


def fixed_reference(space: Space, studies: Sequence[StudyData]) -> np.ndarray:
    """One hypervolume reference for every curve: :func:`~diffuse_dse.engine.pareto.reference_point`
    over the feasible trials of all ``studies`` (1.0 for an objective with neither a ``ref`` nor data)."""
    ref = reference_point(space, objective_matrix(space, [t for s in studies for t in s.feasible]))
    ref[~np.isfinite(ref)] = 1.0
    return ref


def hv_history(data: StudyData, ref: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hypervolume after each evaluation: ``(evaluations, hv)``, two arrays of length ``n``.

    Evaluations are the spent trials in trial order; failures and cache hits add a step with
    an unchanged hypervolume (they are spent budget).
    """
    xs, ys = [], []
    front = np.empty((0, len(ref)))
    hv = 0.0
    for i, t in enumerate(data.evaluated, start=1):
        if t.state == TrialState.COMPLETE and "cache_hit" not in t.user_attrs and is_feasible(t):
            p = objective_matrix(data.space, [t])
            if np.all(p < ref) and not np.any(np.all(front <= p, axis=1)):
                front = np.vstack([front[~np.all(p <= front, axis=1)], p])
                hv = hypervolume(front, ref)
        xs.append(i)
        ys.append(hv)
    return np.asarray(xs), np.asarray(ys)


@dataclass
class Bench:
    """The studies of a bench storage grouped by sampler, on one fixed reference point."""

    studies: list[StudyData]
    ref: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.ref = fixed_reference(self.space, self.studies)

    @property
    def space(self) -> Space:
        return self.studies[0].space

    def by_sampler(self) -> dict[str, list[StudyData]]:
        groups: dict[str, list[StudyData]] = defaultdict(list)
        for s in self.studies:
            groups[s.sampler].append(s)
        return dict(sorted(groups.items()))

    def hv_bands(self) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
        """Per sampler: ``(evaluations, median, q25, q75)`` of hypervolume across seeds.

        Curves are compared up to the shortest run of the sampler's seeds.
        """
        out = {}
        for sampler, group in self.by_sampler().items():
            curves = [hv_history(s, self.ref)[1] for s in group]
            n = min(len(c) for c in curves)
            if n == 0:
                continue
            stack = np.vstack([c[:n] for c in curves])
            q25, med, q75 = np.percentile(stack, [25, 50, 75], axis=0)
            out[sampler] = (np.arange(1, n + 1), med, q25, q75)
        return out

    def final_table(self) -> list[dict[str, Any]]:
        """Per sampler: seeds, evaluations, final hypervolume median and IQR, front size."""
        rows = []
        for sampler, group in self.by_sampler().items():
            final = np.array([hv_history(s, self.ref)[1][-1] if s.evaluated else 0.0 for s in group])
            q25, med, q75 = np.percentile(final, [25, 50, 75])
            rows.append({"sampler": sampler, "seeds": len(group),
                         "evaluations": int(np.median([len(s.evaluated) for s in group])),
                         "hv_median": float(med), "hv_q25": float(q25), "hv_q75": float(q75),
                         "front_median": float(np.median([len(s.front) for s in group])),
                         "failed": sum(s.failures()["failed"] for s in group)})
        return rows

    def pooled(self) -> StudyData:
        """Every study's trials as one exploration (for the union front and importance)."""
        trials = [t for s in self.studies for t in s.trials]
        owner = {t._trial_id: s.name for s in self.studies for t in s.trials}
        settings = {"samplers": sorted({s.sampler for s in self.studies}), "studies": len(self.studies),
                    **{k: v for k, v in self.studies[0].settings.items() if k not in ("sampler", "seed")}}
        pooled = _Pooled("all studies pooled", self.space, settings, trials, self.studies[0].storage)
        pooled.owner = owner
        return pooled


class _Pooled(StudyData):
    """Trials of several studies: the trial number alone no longer names a trial."""

    owner: dict[int, str]

    def label(self, trial: FrozenTrial) -> str:
        return f"{self.owner.get(trial._trial_id, '?')}#{trial.number}"


def is_bench(studies: Sequence[StudyData]) -> bool:
    """Several studies made by ``diffuse`` on one space: a bench storage."""
    return len(studies) > 1 and all("sampler" in s.settings for s in studies)


def nondominated_mask(points: np.ndarray) -> np.ndarray:
    """Which rows of a ``n x m`` minimization array are non-dominated."""
    if not len(points):
        return np.zeros(0, dtype=bool)
    return np.asarray(moocore.is_nondominated(points, keep_weakly=False))
