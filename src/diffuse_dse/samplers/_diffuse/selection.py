"""Choose a batch among candidates by predicted hypervolume improvement, with diversity.

On the common scale, with ``P`` the observed front (plus the predicted points of running
trials and of designs already chosen for this batch: the "believer" points), ``r`` the
reference, and ``f_e(x)`` the ``E`` predictor members::

    HVI(y | P) = HV(P ∪ {y}; r) - HV(P; r)
    a(x) = p_feas(x) * div(x) * (1/E) sum_e HVI(f_e(x) | P)

Candidates are first screened by the optimistic ``HVI(mean - beta std | P)`` (ties broken by
the additive epsilon distance to the front, ``eps(y) = min_i max_j (y_j - P_ij)``), then
chosen greedily: the best ``a(x)`` is taken, its mean prediction joins ``P``, and every
candidate's diversity factor is multiplied by ``1 - exp(-||x - x*||^2 / (2 rho^2))``. When no
candidate has a positive ``a``, the smallest optimistic ``eps`` (times the same factors) wins.
"""

from __future__ import annotations

import moocore
import numpy as np


def hypervolume_improvement(points: np.ndarray, front: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """``HVI`` of each row of a ``n x m`` array with respect to a ``k x m`` front."""
    out = np.zeros(len(points))
    inside = (front < ref).all(1) if len(front) else np.zeros(0, dtype=bool)
    base_set = front[inside]
    base = moocore.hypervolume(base_set, ref=ref) if len(base_set) else 0.0
    cand = (points < ref).all(1)
    if len(base_set):
        dominated = (base_set[None, :, :] <= points[:, None, :]).all(-1).any(-1)
        cand &= ~dominated
    for i in np.flatnonzero(cand):
        joint = np.vstack([base_set, points[i : i + 1]]) if len(base_set) else points[i : i + 1]
        out[i] = moocore.hypervolume(joint, ref=ref) - base
    return np.maximum(out, 0.0)


def additive_epsilon(points: np.ndarray, front: np.ndarray) -> np.ndarray:
    """``eps(y) = min_i max_j (y_j - P_ij)`` for each row of a ``n x m`` array (``< 0``: beyond the front)."""
    if len(front) == 0:
        return np.zeros(len(points))
    return (points[:, None, :] - front[None, :, :]).max(-1).min(-1)


def select_batch(X: np.ndarray, preds: np.ndarray, p_feas: np.ndarray, front: np.ndarray, ref: np.ndarray,
                 q: int, *, believers: np.ndarray | None = None, optimism: float = 1.0, n_screen: int = 128,
                 radius: float = 0.25) -> list[int]:
    """Indices of ``q`` candidates.

    Args:
        X: ``n x d`` encoded candidates. preds: ``E x n x m`` member predictions (common scale).
        p_feas: ``n`` feasibility probabilities. front: ``k x m`` observed front.
        ref: length-``m`` reference. believers: ``r x m`` predicted points of running trials.
    """
    n = len(X)
    if n == 0:
        return []
    mean, std = preds.mean(0), preds.std(0)
    optimistic = mean - optimism * std
    P = front if believers is None or len(believers) == 0 else np.vstack([front, believers])
    o_hvi = hypervolume_improvement(optimistic, P, ref) * p_feas
    o_eps = additive_epsilon(optimistic, P)
    order = np.lexsort((o_eps, -o_hvi))[: min(n, n_screen)]
    Xs, ps, pf = X[order], preds[:, order], p_feas[order]
    div = np.ones(len(order))
    chosen: list[int] = []
    for _ in range(min(q, len(order))):
        e_hvi = np.mean([hypervolume_improvement(ps[e], P, ref) for e in range(len(ps))], axis=0)
        score = e_hvi * pf * div
        if score.max() > 0:
            best = int(np.argmax(np.where(div > 0, score, -np.inf)))
        else:
            o_hvi = hypervolume_improvement(optimistic[order], P, ref) * pf * div
            if o_hvi.max() > 0:
                best = int(np.argmax(o_hvi))
            else:
                # Smallest optimistic epsilon; diversity enters as a penalty in normalized units.
                key = additive_epsilon(optimistic[order], P) + (1 - div) + (1 - pf)
                key[div <= 0] = np.inf
                if not np.isfinite(key).any():
                    break
                best = int(np.argmin(key))
        chosen.append(best)
        P = np.vstack([P, ps[:, best].mean(0, keepdims=True)])
        dist2 = ((Xs - Xs[best]) ** 2).sum(1)
        div *= 1.0 - np.exp(-dist2 / (2 * radius**2))
        div[best] = 0.0
    return [int(order[i]) for i in chosen]
