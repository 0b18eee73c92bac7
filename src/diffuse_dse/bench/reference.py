"""Reference fronts and the default design a benchmark is measured against.

Three kinds of reference, from best to weakest (``Reference.kind``):

* ``exact``: the synthetic problem. Its objectives are ``(1 + g) u(a, b)`` with ``u`` a unit
  vector fixed by the position variables and ``g >= 0`` a distance that is exactly 0 at
  ``kind = ridge, c = 0.5, d = 5, e = 0.1`` for every ``(a, b)``. The constraint involves only
  ``a`` and ``b``, so every ``(1 + g) u(a, b)`` with ``g > 0`` is dominated by the feasible
  ``u(a, b)``, and unit vectors of distinct directions never dominate one another. The front is
  therefore exactly the points ``u(a, b)`` over the feasible ``(a, b)`` grid; it is found by
  walking every discrete value with ``c`` and ``e`` at their optima
  (:func:`~diffuse_dse.evaluators.gemmini_model.front.exact_front`: 172 feasible ``(a, b)``).
* ``exact-subgrid+found``: the analytical ``gemmini-model``. The exact front of the sub-grid
  that ``docs/gemmini-model.md`` walks (every value of every parameter, ``abc_delay_ratio = 1``
  and ``flatten = true`` which lose nothing under the model, ``sp_banks``, ``acc_banks``,
  ``retime`` and ``max_fanout`` held at their defaults, about 10^7 points) merged with every
  design any run of the benchmark found, and reduced to its non-dominated points. A sampler can
  leave the sub-grid, so the merge keeps the reference at least as good as any run.
* ``found``: any other evaluator (the ASAP7 flow): the non-dominated union of every run's
  designs.

The exact part is costly (a minute or two per workload), so it is cached in the benchmark
folder as ``reference-exact.json``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from diffuse_dse.engine.pareto import hypervolume
from diffuse_dse.evaluators.base import Evaluator
from diffuse_dse.space import Space

GEMMINI_FIXED = ("sp_banks", "acc_banks", "retime", "max_fanout")
"""Parameters the gemmini-model reference walk holds at their defaults (see the module doc)."""

SYNTHETIC_OPTIMUM = {"kind": "ridge", "c": 0.5, "d": 5, "e": 0.1}


@dataclass
class Reference:
    """The reference front (``k x m``, minimization form), its hypervolume, and how it was made."""

    kind: str
    points: np.ndarray
    ref_point: np.ndarray
    hv: float
    exact_points: int
    note: str

    @property
    def ideal(self) -> np.ndarray:
        return self.points.min(axis=0)


def reference_point(space: Space) -> np.ndarray:
    """The objectives' ``ref`` values in minimization form; every objective must have one."""
    missing = [o.name for o in space.objectives if o.ref is None]
    if missing:
        raise ValueError(
            f"{space.path}: objectives {', '.join(missing)} have no 'ref'; a benchmark needs a fixed "
            "hypervolume reference point (a worst acceptable value per objective)."
        )
    return np.array([o.sign * float(o.ref) for o in space.objectives])  # type: ignore[arg-type]


def exact_points(space: Space, evaluator: Evaluator, cache: Path) -> tuple[np.ndarray, str]:
    """The exact (or exact sub-grid) front in minimization form, and a note on how, from ``cache``
    when it was computed before for the same space, evaluator and settings. ``(0 x m, "")`` when
    the evaluator has no vectorized model."""
    m = len(space.objectives)
    arrays_eval = _arrays_evaluator(space, evaluator)
    if arrays_eval is None:
        return np.empty((0, m)), ""
    key = {"space": space.source, "evaluator": evaluator.identity()}
    if cache.exists():
        stored = json.loads(cache.read_text())
        if stored.get("key") == json.loads(json.dumps(key, default=str)):
            return np.asarray(stored["points"], dtype=float).reshape(-1, m), stored["note"]
    from diffuse_dse.evaluators.gemmini_model.front import exact_front, grid_values

    if evaluator.name == "synthetic":
        fixed = {k: v for k, v in SYNTHETIC_OPTIMUM.items() if k in space.names}
        note = (
            "exact: every feasible (a, b) with kind=ridge, c=0.5, d=5, e=0.1 (distance g = 0); "
            "points with g > 0 are dominated by the same (a, b) at g = 0"
        )
    else:
        fixed = {n: space.parameter(n).baseline() for n in GEMMINI_FIXED if n in space.names}
        if "flatten" in space.names:
            fixed["flatten"] = True
        note = (
            "exact front of the sub-grid with "
            + ", ".join(f"{k}={v}" for k, v in fixed.items())
            + ", abc_delay_ratio=1.0 (every other value of every parameter walked)"
        )
    values = grid_values(space, fixed, {})
    front = exact_front(space, arrays_eval, values, progress=False)
    signs = np.array([o.sign for o in space.objectives])
    pts = (
        np.stack([front.metrics[o.name] for o in space.objectives], axis=1) * signs
        if front.metrics
        else np.empty((0, m))
    )
    note += f"; {front.evaluated:,} configurations evaluated, {len(pts):,} non-dominated"
    cache.write_text(json.dumps({"key": key, "note": note, "points": pts.tolist()}, default=str))
    return pts, note


def _arrays_evaluator(space: Space, evaluator: Evaluator) -> Any:
    if evaluator.name == "synthetic" and {"a", "b", "kind", "c", "d", "e"} <= set(space.names):
        from diffuse_dse.evaluators.synthetic import synthetic_objectives

        return synthetic_objectives
    if evaluator.name == "gemmini-model":
        return evaluator.evaluate_arrays  # type: ignore[attr-defined]
    return None


def build_reference(space: Space, exact: np.ndarray, note: str, found: np.ndarray) -> Reference:
    """Merge the exact points with every point found (``n x m``) and keep the non-dominated ones."""
    import moocore

    ref_point = reference_point(space)
    pool = np.vstack([exact, found]) if len(found) else exact
    pool = pool[np.isfinite(pool).all(axis=1)]
    if not len(pool):
        raise ValueError("no design completed in any run and there is no exact front: no reference front")
    if note.startswith("exact:"):
        kind, pts = "exact", exact  # the exact front cannot be beaten; found points only repeat it
    else:
        kind = "exact-subgrid+found" if len(exact) else "found"
        pts = np.unique(pool[moocore.is_nondominated(pool, keep_weakly=False)], axis=0)
    return Reference(
        kind, pts, ref_point, hypervolume(pts, ref_point), len(exact), note or "union of every run's front"
    )


def default_metrics(space: Space, evaluator: Evaluator, cache: Path, workdir: Path) -> dict[str, float] | None:
    """The metrics of the space's default design (cached in ``cache``), or ``None`` if it fails."""
    config = space.default_config()
    key = json.loads(json.dumps({"config": config, "evaluator": evaluator.identity()}, default=str))
    if cache.exists():
        stored = json.loads(cache.read_text())
        if stored.get("key") == key:
            return stored["metrics"]
    from diffuse_dse.engine.executor import evaluate_task

    workdir.mkdir(parents=True, exist_ok=True)
    outcome = evaluate_task(evaluator, config, str(workdir), space.objective_names)
    metrics = (
        None
        if outcome.metrics is None
        else {k: float(v) for k, v in outcome.metrics.items() if isinstance(v, (int, float))}
    )
    cache.write_text(
        json.dumps({"key": key, "config": config, "metrics": metrics, "reason": outcome.reason}, default=str, indent=1)
    )
    return metrics


def objective_vector(space: Space, metrics: Mapping[str, float]) -> np.ndarray:
    """Minimization-form objectives of one metrics dict."""
    return np.array([o.sign * float(metrics[o.name]) for o in space.objectives])
