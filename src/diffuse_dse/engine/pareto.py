"""Pareto fronts and hypervolume of a study's trials, computed with moocore."""

from __future__ import annotations

from collections.abc import Sequence

import moocore
import numpy as np
from optuna.trial import FrozenTrial

from diffuse_dse.engine.records import completed, is_feasible, objective_matrix
from diffuse_dse.space import Space


def pareto_trials(space: Space, trials: Sequence[FrozenTrial]) -> list[FrozenTrial]:
    """Non-dominated COMPLETE trials that meet every outcome constraint.

    Cache hits are left out, since they repeat a design already listed.
    """
    pool = [t for t in completed(trials) if is_feasible(t) and "cache_hit" not in t.user_attrs]
    if not pool:
        return []
    mask = moocore.is_nondominated(objective_matrix(space, pool), keep_weakly=False)
    return [t for t, keep in zip(pool, mask, strict=True) if keep]


def reference_point(space: Space, points: np.ndarray) -> np.ndarray:
    """The hypervolume reference in minimization form.

    Each objective's ``ref`` from the space file when given; otherwise the worst observed
    value plus 10 % of the observed range (a provisional point that moves with the data).
    """
    ref = np.empty(len(space.objectives))
    for j, objective in enumerate(space.objectives):
        if objective.ref is not None:
            ref[j] = objective.sign * objective.ref
        elif len(points):
            worst, best = points[:, j].max(), points[:, j].min()
            ref[j] = worst + 0.1 * max(worst - best, abs(worst) * 1e-3, 1e-12)
        else:
            ref[j] = np.inf
    return ref


def hypervolume(points: np.ndarray, ref: np.ndarray) -> float:
    """Hypervolume of minimization-form points against ``ref`` (points beyond it add 0)."""
    if len(points) == 0:
        return 0.0
    inside = np.all(points < ref, axis=1)
    if not inside.any():
        return 0.0
    return float(moocore.hypervolume(points[inside], ref=ref))


def study_hypervolume(space: Space, trials: Sequence[FrozenTrial]) -> float:
    """Hypervolume of the feasible COMPLETE trials (reference: :func:`reference_point`)."""
    pool = [t for t in completed(trials) if is_feasible(t)]
    points = objective_matrix(space, pool)
    return hypervolume(points, reference_point(space, points))
