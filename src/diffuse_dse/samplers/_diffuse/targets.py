"""Target QoR vectors from the current Pareto front, pushed beyond it.

With ``P`` the ``k`` non-dominated observed points, each target starts from a front point
drawn in proportion to its hypervolume contribution, measured on the linear hypervolume
scale ``h`` (see :class:`~.observations.ObjectiveScale`) with reference ``r``::

    i ~ Categorical(pi),  pi_i ∝ HVC_i(P_h; r) + 0.1 mean(HVC)

``HVC_i`` is the exclusive contribution of ``P_i`` (``moocore.hv_contributions``): points that
border large gaps of the front, and its extremes, contribute most, so targets spread to where
the front is thin. The start is then pushed on the common (conditioning) scale ``q``, with
``u = min_i P_q,i`` the ideal point of the front::

    t = P_q,i - gamma (P_q,i - u + delta 1) + sigma eps,   eps ~ N(0, I_m)

so a target moves a fraction ``gamma`` of the way toward the ideal point, plus ``gamma delta``
in every objective so that the extreme points, which sit on the ideal in one objective, also
move beyond the front.
"""

from __future__ import annotations

import moocore
import numpy as np


def pick_front_points(front: np.ndarray, ref: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` row indices of a ``k x m`` front (linear scale), drawn by hypervolume contribution."""
    front = np.atleast_2d(front)
    k = len(front)
    inside = (front < ref).all(1)
    contrib = np.zeros(k)
    if inside.any():
        contrib[inside] = moocore.hv_contributions(front[inside], ref=ref)
    weights = contrib + 0.1 * contrib.mean() + 1e-12
    return rng.choice(k, size=n, p=weights / weights.sum())


def push_targets(points: np.ndarray, ideal: np.ndarray, rng: np.random.Generator, *, push: float, margin: float,
                 jitter: float) -> np.ndarray:
    """Targets ``t`` (a ``n x m`` array) for ``n x m`` front points and a length-``m`` ideal point."""
    return points - push * (points - ideal + margin) + jitter * rng.standard_normal(points.shape)
