"""The exact Pareto front of a space's feasible grid under a vectorized evaluator.

The grid is every discrete value of every parameter, minus those fixed by the caller, times a
few values of each float parameter (its default unless given). It is walked in chunks: the
hardware-layer parameters are enumerated once and filtered by the constraints, then crossed
with each chunk of the remaining parameters; each chunk's non-dominated points are merged into
the running front (``moocore.is_nondominated``), so memory stays bounded.

For ``gemmini-model`` the default ``abc_delay_ratio = 1.0`` loses nothing: a ratio ``r < 1``
sets the synthesis target ``r clock_ps`` below the clock, which leaves the running period
``max(clock_ps, t_cp)`` unchanged (``t_cp <= clock_ps`` either way once the clock is reachable,
and ``t_cp = t_min`` for both otherwise) while the pressure ``p``, and with it area and power,
can only grow. So every point with ``r < 1`` is weakly dominated by the same point at ``r = 1``.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from diffuse_dse.errors import UsageError
from diffuse_dse.space import Space

ArraysEvaluator = Callable[[Mapping[str, np.ndarray]], Mapping[str, np.ndarray]]


@dataclass(frozen=True)
class Front:
    """The non-dominated configurations (column arrays) and their metrics, and the grid walked."""

    configs: dict[str, np.ndarray]
    metrics: dict[str, np.ndarray]
    evaluated: int
    grid_values: dict[str, list[Any]]


def grid_values(space: Space, fixed: Mapping[str, Any], floats: Mapping[str, Sequence[float]]) -> dict[str, list[Any]]:
    """The values walked per parameter: fixed, given float values, float default, or all choices."""
    out: dict[str, list[Any]] = {}
    for p in space.parameters:
        if p.name in fixed:
            out[p.name] = [fixed[p.name]]
        elif p.name in floats:
            out[p.name] = list(floats[p.name])
        elif not p.is_discrete:
            out[p.name] = [p.baseline()]
        else:
            out[p.name] = list(p.choices)
        bad = [v for v in out[p.name] if not p.contains(v)]
        if bad:
            raise UsageError(f"reference-front: {p.name} = {bad[0]!r} is not one of {p.describe_values()}.")
    return out


def _product(names: Sequence[str], values: Mapping[str, list[Any]], index: np.ndarray) -> dict[str, np.ndarray]:
    sizes = [len(values[n]) for n in names]
    pos = np.unravel_index(index, sizes) if names else ()
    out = {}
    for name, p in zip(names, pos, strict=True):
        vals = values[name]
        arr = np.empty(len(vals), dtype=object) if any(isinstance(v, (str, bool)) for v in vals) else np.asarray(vals)
        if arr.dtype == object:
            arr[:] = vals
        out[name] = arr[p]
    return out


def exact_front(space: Space, evaluate: ArraysEvaluator, values: Mapping[str, list[Any]], *,
                chunk: int = 250_000, progress: bool = True) -> Front:
    """Walk the grid ``values`` and keep the configurations non-dominated in the space's objectives."""
    import moocore

    hw = [p.name for p in space.parameters if p.layer == "hw"]
    rest = [p.name for p in space.parameters if p.layer != "hw"]
    n_hw = math.prod(len(values[n]) for n in hw)
    hw_all = _product(hw, values, np.arange(n_hw))
    hw_mask = _partial_mask(space, hw_all)
    hw_rows = {k: v[hw_mask] for k, v in hw_all.items()}
    h = int(hw_mask.sum())
    n_rest = math.prod(len(values[n]) for n in rest)
    total = h * n_rest
    signs = np.array([o.sign for o in space.objectives])
    names = list(space.objective_names)
    front_cfg: dict[str, np.ndarray] = {}
    front_met: dict[str, np.ndarray] = {}
    evaluated = 0
    per = max(1, chunk // max(h, 1))
    for start in range(0, n_rest, per):
        idx = np.arange(start, min(start + per, n_rest))
        rest_rows = _product(rest, values, idx)
        cfg = {k: np.tile(v, len(idx)) for k, v in hw_rows.items()}
        cfg.update({k: np.repeat(v, h) for k, v in rest_rows.items()})
        mask = space.feasible_mask(cfg)
        cfg = {k: v[mask] for k, v in cfg.items()}
        if not mask.any():
            continue
        met = {k: np.asarray(v, dtype=np.float64) for k, v in evaluate(cfg).items()}
        evaluated += int(mask.sum())
        if front_cfg:
            cfg = {k: np.concatenate([front_cfg[k], cfg[k]]) for k in cfg}
            met = {k: np.concatenate([front_met[k], met[k]]) for k in met}
        points = np.stack([met[n] for n in names], axis=1) * signs
        keep = moocore.is_nondominated(points, keep_weakly=False)
        front_cfg = {k: v[keep] for k, v in cfg.items()}
        front_met = {k: v[keep] for k, v in met.items()}
        if progress:
            print(f"\r{evaluated:,} of about {total:,} configurations, front {len(keep.nonzero()[0]):,}",
                  end="", file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)
    order = np.argsort(front_met[names[0]]) if front_met else np.zeros(0, dtype=int)
    return Front({k: v[order] for k, v in front_cfg.items()}, {k: v[order] for k, v in front_met.items()},
                 evaluated, dict(values))


def _partial_mask(space: Space, arrays: Mapping[str, np.ndarray]) -> np.ndarray:
    """Rows that satisfy every constraint that names only the given parameters."""
    n = len(next(iter(arrays.values()))) if arrays else 0
    mask = np.ones(n, dtype=bool)
    for c in space.constraints:
        if all(name in arrays for name in c.names):  # the others are checked per chunk
            mask &= np.broadcast_to(np.asarray(c.holds(arrays), dtype=bool), (n,))
    return mask


def hypervolume(space: Space, metrics: Mapping[str, np.ndarray]) -> tuple[float, list[float]]:
    """Hypervolume of the front in the space's objectives, against the objectives' ``ref`` values."""
    import moocore

    missing = [o.name for o in space.objectives if o.ref is None]
    if missing:
        raise UsageError(f"{space.path}: objectives {', '.join(missing)} have no 'ref' value; the hypervolume needs "
                         "one per objective (a worst acceptable value).")
    signs = np.array([o.sign for o in space.objectives])
    ref = np.array([o.ref for o in space.objectives], dtype=np.float64) * signs
    points = np.stack([metrics[o.name] for o in space.objectives], axis=1) * signs
    inside = (points < ref).all(axis=1)
    hv = float(moocore.hypervolume(points[inside], ref=ref)) if inside.any() else 0.0
    return hv, list(ref * signs)
