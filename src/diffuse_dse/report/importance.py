"""Per-objective parameter importance with Optuna's importance evaluators.

Optuna stores pow2 parameters under ``NAME.log2`` and ordinal ones under ``NAME.rank``
(see :mod:`diffuse_dse.space.parameter`); importances are reported under the parameter's own
name. Only evaluated designs count: cache hits (repeats), failures and skipped proposals are
left out, so a design evaluated once weighs once.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import optuna
from optuna.trial import FrozenTrial

from diffuse_dse.errors import UsageError
from diffuse_dse.space import Space

EVALUATORS = ("fanova", "ped-anova", "mdi")
"""Importance evaluators by name: fANOVA [Hutter2014]_, PED-ANOVA [Watanabe2023]_, and the
mean decrease in impurity of a random forest.

.. [Hutter2014] F. Hutter, H. Hoos, K. Leyton-Brown. An efficient approach for assessing
   hyperparameter importance. ICML 2014.
.. [Watanabe2023] S. Watanabe, A. Bansal, F. Hutter. PED-ANOVA: efficiently quantifying
   hyperparameter importance in arbitrary subspaces. IJCAI 2023.
"""

MIN_TRIALS = 4
"""Fewer evaluated designs than this give no importance (the forests cannot split)."""


def make_importance_evaluator(name: str, seed: int = 0) -> optuna.importance.BaseImportanceEvaluator:
    if name == "fanova":
        return optuna.importance.FanovaImportanceEvaluator(seed=seed)
    if name == "mdi":
        return optuna.importance.MeanDecreaseImpurityImportanceEvaluator(seed=seed)
    if name == "ped-anova":
        return optuna.importance.PedAnovaImportanceEvaluator()
    raise UsageError(f"Unknown importance evaluator '{name}'; expected one of {', '.join(EVALUATORS)}.")


def param_importances(space: Space, trials: Sequence[FrozenTrial], *, evaluator: str = "fanova",
                      seed: int = 0) -> dict[str, dict[str, float]]:
    """``{objective: {parameter: importance}}``, importances summing to 1 per objective.

    Parameters with a single legal value are left out (they cannot matter).

    Raises:
        UsageError: fewer than :data:`MIN_TRIALS` evaluated designs, or an unknown evaluator.
    """
    pool = [t for t in trials if t.values is not None and "cache_hit" not in t.user_attrs
            and t.state == optuna.trial.TrialState.COMPLETE]
    if len(pool) < MIN_TRIALS:
        raise UsageError(f"Parameter importance needs at least {MIN_TRIALS} completed designs; "
                         f"the study has {len(pool)}.")
    names = {p.optuna_key: p.name for p in space.parameters}
    keys = [p.optuna_key for p in space.parameters if p.cardinality > 1]
    study = optuna.create_study(directions=["minimize"] * len(space.objectives))
    # Optuna's importance needs one distribution per key across trials; the space fixes it.
    dists = {p.optuna_key: p.distribution() for p in space.parameters}
    study.add_trials([optuna.trial.create_trial(params={k: t.params[k] for k in dists}, distributions=dists,
                                                values=list(t.values)) for t in pool if set(dists) <= set(t.params)])
    out: dict[str, dict[str, float]] = {}
    for j, objective in enumerate(space.objectives):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            raw: dict[str, Any] = optuna.importance.get_param_importances(
                study, evaluator=make_importance_evaluator(evaluator, seed), params=keys,
                target=lambda t, j=j: t.values[j], normalize=True)
        out[objective.name] = {names[k]: float(v) for k, v in raw.items()}
    return out
