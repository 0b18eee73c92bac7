"""What the benchmark measures on one run, evaluation by evaluation, and across seeds.

Every quantity is in minimization form (``sign * value``). With ``Z`` the reference front
(a ``k x m`` array), ``r`` the hypervolume reference point and ``A_n`` the feasible designs
among the run's first ``n`` evaluations (failures and cache hits count as evaluations):

* ``hv_n = HV(A_n, r) / HV(Z, r)``, the normalized hypervolume (moocore).
* ``igd+_n = mean_{z in Z} min_{a in A_n} sqrt(sum_j max(a'_j - z'_j, 0)^2)`` [Ishibuchi2015]_,
  on objectives scaled to ``x' = (x - ideal) / (r - ideal)`` with ``ideal = min Z``, so every
  objective weighs the same.
* ``adrs_n = mean_{z in Z} min_{a in A_n} max_j max(0, (a_j - z_j) / s_j)`` [Palermo2009]_,
  the average distance from the reference set, with ``s_j = max(|z_j|, 0.01 (r_j - ideal_j))``:
  the usual relative distance, floored so objectives that reach 0 (the synthetic problem) do
  not divide by 0.
* ``evals_to[f]``: the first ``n`` with ``hv_n >= f``; ``inf`` when the run never gets there.
* seconds per proposal: the time spent inside the sampler's methods per ``study.ask``
  (``sampler_seconds``; its ``after_trial`` included, Optuna's storage writes and the
  evaluation left out), averaged over every proposal, those breaking a parameter constraint
  included.
* improvement over the space's default design ``d``, for the best design found: per
  objective, ``(d_j - min_{a} a_j) / |d_j|``; and on the combined figure
  ``PPA = prod_j value_j`` of the objectives in their own units (for Gemmini
  ``latency x power x area``, i.e. energy per inference x area, in ms*mW*mm2):
  ``PPA(d) / min_a PPA(a) - 1`` (``+147 %`` means 2.47x lower). PPA is only defined when every
  objective is a minimized physical quantity (it has a unit) and every value is positive.

.. [Ishibuchi2015] H. Ishibuchi, H. Masuda, Y. Tanigaki, Y. Nojima. Modified distance
   calculation in generational distance and inverted generational distance. EMO 2015.
.. [Palermo2009] G. Palermo, C. Silvano, V. Zaccaria. ReSPIR: a response surface-based Pareto
   iterative refinement for application-specific design space exploration. IEEE TCAD 2009.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import moocore
import numpy as np
from optuna.trial import FrozenTrial, TrialState

from diffuse_dse.bench.reference import Reference
from diffuse_dse.engine.records import is_feasible, is_spent
from diffuse_dse.space import Space

FRACTIONS = (0.8, 0.9, 0.95)


@dataclass
class RunSeries:
    """One run's metrics after each evaluation ``n = 1..N`` (``N`` = evaluations spent)."""

    sampler: str
    seed: int
    hv: np.ndarray
    igd_plus: np.ndarray
    adrs: np.ndarray
    points: np.ndarray  # the feasible designs, in evaluation order (``p x m``)
    point_index: np.ndarray  # the evaluation (1-based) that produced each point
    sampler_seconds: float
    proposals: int
    infeasible: int
    failed: int
    cache_hits: int
    evals_to: dict[float, float] = field(default_factory=dict)
    improvement: dict[str, float] = field(default_factory=dict)

    @property
    def evaluations(self) -> int:
        return len(self.hv)

    def at(self, n: int) -> dict[str, float]:
        """The metrics after ``n`` evaluations (the last ones if the run has fewer)."""
        i = min(n, self.evaluations) - 1
        nan = float("nan")
        return {
            "hv": float(self.hv[i]) if i >= 0 else nan,
            "igd_plus": float(self.igd_plus[i]) if i >= 0 else nan,
            "adrs": float(self.adrs[i]) if i >= 0 else nan,
        }


def run_series(
    space: Space,
    trials: Sequence[FrozenTrial],
    reference: Reference,
    sampler: str,
    seed: int,
    default: np.ndarray | None,
) -> RunSeries:
    """The metrics of one run's trials after each evaluation, against ``reference``."""
    trials = sorted(trials, key=lambda t: t.number)
    spent = [t for t in trials if is_spent(t)]
    signs = np.array([o.sign for o in space.objectives])
    ref_pt, Z, ideal = reference.ref_point, reference.points, reference.ideal
    span = np.where(ref_pt - ideal > 0, ref_pt - ideal, 1.0)
    Zs = (Z - ideal) / span
    floor = np.maximum(np.abs(Z), 0.01 * span)
    best_igd = np.full(len(Z), np.inf)
    best_adrs = np.full(len(Z), np.inf)
    hv = np.zeros(len(spent))
    igd = np.full(len(spent), np.nan)
    adrs = np.full(len(spent), np.nan)
    front = np.empty((0, len(signs)))
    points, index = [], []
    current = 0.0
    for n, t in enumerate(spent):
        new = (
            t.state == TrialState.COMPLETE
            and t.values is not None
            and is_feasible(t)
            and "cache_hit" not in t.user_attrs
        )
        if new:
            a = np.asarray(t.values, dtype=float) * signs
            points.append(a)
            index.append(n + 1)
            if not front.size or not np.any(np.all(front <= a, axis=1)):
                front = np.vstack([front[~np.all(a <= front, axis=1)], a])
                inside = front[np.all(front < ref_pt, axis=1)]
                current = float(moocore.hypervolume(inside, ref=ref_pt)) if len(inside) else 0.0
            d_plus = np.sqrt((np.maximum((a - ideal) / span - Zs, 0.0) ** 2).sum(axis=1))
            best_igd = np.minimum(best_igd, d_plus)
            best_adrs = np.minimum(best_adrs, np.maximum((a - Z) / floor, 0.0).max(axis=1))
        hv[n] = current / reference.hv if reference.hv > 0 else np.nan
        if points:
            igd[n], adrs[n] = best_igd.mean(), best_adrs.mean()
    asks = [t.user_attrs["sampler_seconds"] for t in trials if "sampler_seconds" in t.user_attrs]
    pts = np.asarray(points).reshape(-1, len(signs))
    series = RunSeries(
        sampler,
        seed,
        hv,
        igd,
        adrs,
        pts,
        np.asarray(index, dtype=int),
        sampler_seconds=float(np.mean(asks)) if asks else float("nan"),
        proposals=len(asks),
        infeasible=sum(1 for t in trials if t.state == TrialState.PRUNED and "infeasible" in t.user_attrs),
        failed=sum(1 for t in spent if t.state == TrialState.FAIL),
        cache_hits=sum(1 for t in spent if "cache_hit" in t.user_attrs),
    )
    series.evals_to = {f: evals_to_reach(hv, f) for f in FRACTIONS}
    series.improvement = improvement(space, pts, default)
    return series


def evals_to_reach(hv: np.ndarray, fraction: float) -> float:
    """The first evaluation count whose normalized hypervolume is ``>= fraction`` (``inf`` if none)."""
    hit = np.nonzero(hv >= fraction - 1e-12)[0]
    return float(hit[0] + 1) if len(hit) else float("inf")


def ppa_defined(space: Space) -> bool:
    return all(o.direction == "min" and o.unit for o in space.objectives)


def improvement(space: Space, points: np.ndarray, default: np.ndarray | None) -> dict[str, float]:
    """Per-objective and PPA improvement (in %) of the best designs over the default design."""
    if default is None or not len(points):
        return {}
    out = {
        o.name: float(100 * (default[j] - points[:, j].min()) / abs(default[j])) if default[j] else float("nan")
        for j, o in enumerate(space.objectives)
    }
    if ppa_defined(space) and np.all(default > 0) and np.all(points > 0):
        out["PPA"] = float(100 * (np.prod(default) / np.prod(points, axis=1).min() - 1))
    return out


def quartiles(values: Sequence[float]) -> tuple[float, float, float]:
    """Median, 25th and 75th percentile of the finite-or-inf values (``inf`` sorts last)."""
    arr = np.asarray([v for v in values if not np.isnan(v)], dtype=float)
    if not len(arr):
        return (float("nan"),) * 3  # type: ignore[return-value]
    if np.isinf(arr).any():  # order statistics keep inf meaningful ("not reached")
        return tuple(float(np.percentile(arr, q, method="nearest")) for q in (50, 25, 75))  # type: ignore[return-value]
    return tuple(float(np.percentile(arr, q)) for q in (50, 25, 75))  # type: ignore[return-value]


def checkpoints(budget: int) -> list[int]:
    """Where the table reads the hypervolume: 50, 100, 200 within the budget, and the budget."""
    points = [c for c in (50, 100, 200) if c <= budget]
    if not points:
        points = sorted({max(1, budget // 2), budget})
    if budget not in points:
        points.append(budget)
    return points
