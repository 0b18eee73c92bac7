"""Target QoR vectors from the current Pareto front, pushed beyond it.

On the common scale (all objectives minimized, ``0`` best seen), with ``P`` the ``k x m``
non-dominated observed points, ``r`` the hypervolume reference and ``u = min_i P_i`` the
ideal point, each target is drawn as::

    i ~ Categorical(pi),  pi_i ∝ HVC_i(P; r) + 0.1 mean(HVC)
    t = P_i - gamma (P_i - u + delta 1) + sigma eps,   eps ~ N(0, I_m)

``HVC_i`` is the exclusive hypervolume contribution of ``P_i`` (``moocore.hv_contributions``):
points bordering large gaps of the front, and its extremes, contribute most, so targets
spread to where the front is thin. The push moves a target a fraction ``gamma`` of the way
toward the ideal point, plus ``gamma delta`` in every objective so that the extreme points,
which sit on the ideal in one objective, also move beyond the front.
"""

from __future__ import annotations

import moocore
import numpy as np


def pareto_front(points: np.ndarray) -> np.ndarray:
    """The non-dominated rows of a ``n x m`` array (all minimized), without duplicates."""
    if len(points) == 0:
        return points
    front = points[moocore.is_nondominated(points)]
    return np.unique(front, axis=0)


def choose_targets(front: np.ndarray, ref: np.ndarray, n: int, rng: np.random.Generator, *,
                   push: float, margin: float, jitter: float) -> np.ndarray:
    """``n`` targets (a ``n x m`` array) from a ``k x m`` front and a length-``m`` reference."""
    front = np.atleast_2d(front)
    k, m = front.shape
    inside = (front < ref).all(1)
    contrib = np.zeros(k)
    if inside.any():
        contrib[inside] = moocore.hv_contributions(front[inside], ref=ref)
    weights = contrib + 0.1 * contrib.mean() + 1e-12
    idx = rng.choice(k, size=n, p=weights / weights.sum())
    ideal = front.min(0)
    base = front[idx]
    return base - push * (base - ideal + margin) + jitter * rng.standard_normal((n, m))
