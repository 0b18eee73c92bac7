"""How a trial's configuration, metrics and outcome are stored on an Optuna trial.

Trial ``user_attrs``:

* ``config``: the real value of every parameter (what people read);
* ``config_key``: a hash of the configuration and the evaluator's identity (the cache key);
* ``metrics``: every QoR metric the evaluator reported;
* ``constraint_violations``: one value per outcome constraint, ``<= 0`` when it holds;
* ``fail_reason``: why a FAIL trial failed;
* ``infeasible``: the parameter constraints a PRUNED trial broke (it was never evaluated);
* ``repair_of``: the PRUNED trial whose nearest feasible configuration this trial evaluates;
* ``cache_hit``: the number of the trial whose stored result was reused;
* ``pending_result``: a finished evaluation not yet told (kept so a crash loses nothing);
* ``rerun_of``: the trial, left RUNNING by a dead driver, that this one runs again;
* ``interrupted``: set on that abandoned trial, which is FAIL and not counted as spent;
* ``artifacts``: the folder holding the trial's files; ``eval_seconds``: evaluation time;
* ``attempts``: how many times the evaluation started, when a dead worker made it run again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

from diffuse_dse.space import Config, Space

STUDY_ATTR = "diffuse"
"""The study user attribute holding the run settings (space source, evaluator, sampler, seed)."""


def config_from_params(space: Space, params: Mapping[str, Any]) -> Config:
    """Real parameter values from what Optuna stored under each parameter's key."""
    return {p.name: p.from_optuna(params[p.optuna_key]) for p in space.parameters}


def params_from_config(space: Space, config: Mapping[str, Any]) -> dict[str, Any]:
    """What Optuna stores for a configuration of real values (for ``enqueue_trial``)."""
    return {p.optuna_key: p.to_optuna(config[p.name]) for p in space.parameters}


def config_key(config: Mapping[str, Any], identity: Mapping[str, Any]) -> str:
    """A stable hash of a configuration and the evaluator identity: the cache key."""
    blob = json.dumps({"config": config, "evaluator": identity}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def config_of(trial: FrozenTrial, space: Space | None = None) -> Config:
    """The real configuration of a trial (from its ``config`` attribute, or its params)."""
    if "config" in trial.user_attrs:
        return dict(trial.user_attrs["config"])
    if space is None:
        raise KeyError(f"trial {trial.number} has no stored configuration")
    return config_from_params(space, trial.params)


def is_spent(trial: FrozenTrial) -> bool:
    """Whether a finished trial counts against the budget: an evaluation, failed or not, or a
    cache hit. Trials a dead driver left behind (``interrupted``) do not count."""
    return trial.state in (TrialState.COMPLETE, TrialState.FAIL) and not trial.user_attrs.get("interrupted")


def completed(trials: Iterable[FrozenTrial]) -> list[FrozenTrial]:
    return [t for t in trials if t.state == TrialState.COMPLETE and t.values is not None]


def is_feasible(trial: FrozenTrial) -> bool:
    """A COMPLETE trial whose outcome constraints all hold."""
    return all(v <= 0 for v in trial.user_attrs.get("constraint_violations", []))


def objective_matrix(space: Space, trials: Iterable[FrozenTrial]) -> np.ndarray:
    """A ``n x m`` array of objective values, signed so that every column is minimized."""
    trials = list(trials)
    signs = np.array([o.sign for o in space.objectives])
    if not trials:
        return np.empty((0, len(space.objectives)))
    return np.array([t.values for t in trials], dtype=float) * signs


def run_settings(study: optuna.Study) -> dict[str, Any]:
    """The run settings stored on the study by ``diffuse run`` (empty for foreign studies)."""
    return dict(study.user_attrs.get(STUDY_ATTR, {}))
