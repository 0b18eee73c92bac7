"""What the sampler learns from: a study's trials as encoded arrays, and the common QoR scale.

Objectives go on one scale before they condition the denoiser or train the predictor: each
is turned into a minimization (``z = sign * y``), taken in log space when all its observed
values are positive and span at least a decade (``z = sign * log y``), and min-max normalized
over the observed values, so ``0`` is the best and ``1`` the worst value seen::

    q_j = (z_j - min z_j) / (max z_j - min z_j)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from diffuse_dse.space import Config, Encoder, Space

Key = tuple[Any, ...]


def config_key(space: Space, config: Mapping[str, Any]) -> Key:
    """A hashable identity of a configuration (floats rounded to 10 significant digits)."""
    out = []
    for p in space.parameters:
        v = config[p.name]
        out.append(float(f"{float(v):.10g}") if p.kind == "float" else v)
    return tuple(out)


def trial_config(space: Space, trial: FrozenTrial) -> Config | None:
    """The real configuration of a trial, from its params or ``user_attrs["config"]``; ``None`` if absent."""
    params = trial.params
    if all(p.optuna_key in params for p in space.parameters):
        return {p.name: p.from_optuna(params[p.optuna_key]) for p in space.parameters}
    config = trial.user_attrs.get("config")
    if isinstance(config, Mapping) and all(p.name in config for p in space.parameters):
        return {p.name: config[p.name] for p in space.parameters}
    return None


def trial_violations(trial: FrozenTrial) -> list[float]:
    """Outcome-constraint values (``<= 0`` satisfied): Optuna's ``constraints`` and the engine's attribute."""
    values = [float(v) for v in trial.constraints.values()] if hasattr(trial, "constraints") else []
    extra = trial.user_attrs.get("constraint_violations")
    if isinstance(extra, Sequence):
        values.extend(float(v) for v in extra)
    return values


@dataclass
class Observations:
    """Encoded trials of one study.

    Attributes:
        X: ``n x d`` encoded designs of complete trials. Y: their ``n x m`` objective values
            (raw, in the study's directions). ok: ``n`` booleans, outcome constraints satisfied.
        X_failed: ``k x d`` encoded designs of failed trials.
        X_pending: ``r x d`` encoded designs of running trials.
        seen: keys of every configuration already in the study (any state).
    """

    X: np.ndarray
    Y: np.ndarray
    ok: np.ndarray
    X_failed: np.ndarray
    X_pending: np.ndarray
    seen: set[Key] = field(default_factory=set)

    @property
    def n_complete(self) -> int:
        return len(self.X)

    @classmethod
    def from_trials(cls, space: Space, encoder: Encoder, trials: Iterable[FrozenTrial], n_objectives: int,
                    exclude: int | None = None) -> Observations:
        """Collect ``trials``; ``exclude`` is the number of the trial being sampled (it is left out)."""
        done: list[Config] = []
        values: list[list[float]] = []
        ok: list[bool] = []
        failed: list[Config] = []
        pending: list[Config] = []
        seen: set[Key] = set()
        for t in trials:
            if t.number == exclude:
                continue
            config = trial_config(space, t)
            if config is None:
                continue
            try:
                space.check_config(config)
            except ValueError:
                continue
            seen.add(config_key(space, config))
            if t.state == TrialState.COMPLETE and t.values is not None and len(t.values) == n_objectives:
                if not all(math.isfinite(v) for v in t.values):
                    failed.append(config)
                    continue
                done.append(config)
                values.append(list(t.values))
                ok.append(all(v <= 0 for v in trial_violations(t)))
            elif t.state == TrialState.FAIL:
                failed.append(config)
            elif t.state == TrialState.RUNNING:
                pending.append(config)
        d = encoder.dim

        def enc(configs: list[Config]) -> np.ndarray:
            return encoder.encode(configs) if configs else np.empty((0, d))

        return cls(
            X=enc(done),
            Y=np.asarray(values, dtype=float).reshape(-1, n_objectives),
            ok=np.asarray(ok, dtype=bool),
            X_failed=enc(failed),
            X_pending=enc(pending),
            seen=seen,
        )


class ObjectiveScale:
    """The common scale of the module docstring, and the linear scale hypervolume is computed on.

    An objective is taken in log space when its observed values are all positive and span at
    least a decade but not more than six (``10 <= max / min <= 1e6``): a wider ratio means
    values at numerical zero (e.g. ``cos(pi / 2)``), which a log would blow up. Hypervolume is
    reported on raw values, so the sampler measures it on the linear scale
    ``h_j = (sign_j y_j - min) / (max - min)`` whatever the conditioning scale.

    Args:
        signs: ``+1`` for each minimized objective, ``-1`` for each maximized one.
    """

    def __init__(self, signs: Sequence[float]) -> None:
        self.signs = np.asarray(signs, dtype=float)

    @classmethod
    def from_directions(cls, directions: Sequence[StudyDirection]) -> ObjectiveScale:
        return cls([1.0 if d == StudyDirection.MINIMIZE else -1.0 for d in directions])

    def fit(self, Y: np.ndarray) -> ObjectiveScale:
        """Choose log per objective and both normalizations from a ``n x m`` array of raw values."""
        Y = np.asarray(Y, dtype=float)
        lo, hi = Y.min(0), Y.max(0)
        ratio = np.divide(hi, lo, out=np.full_like(hi, np.inf), where=lo > 0)
        self.log_ = (lo > 0) & (ratio >= 10.0) & (ratio <= 1e6)
        z = self._z(Y)
        self.low_ = z.min(0)
        self.width_ = np.maximum(z.max(0) - self.low_, 1e-12)
        h = self.signs * Y
        self.hv_low_ = h.min(0)
        self.hv_width_ = np.maximum(h.max(0) - self.hv_low_, 1e-12)
        return self

    def _z(self, Y: np.ndarray) -> np.ndarray:
        Y = np.asarray(Y, dtype=float)
        logged = np.log(np.maximum(Y, 1e-300))
        return self.signs * np.where(self.log_, logged, Y)

    def transform(self, Y: np.ndarray) -> np.ndarray:
        """A ``n x m`` array of raw values on the common scale (``0`` best seen, ``1`` worst)."""
        return (self._z(Y) - self.low_) / self.width_

    def inverse(self, Q: np.ndarray) -> np.ndarray:
        """Raw values for a ``... x m`` array on the common scale."""
        z = np.asarray(Q, dtype=float) * self.width_ + self.low_
        v = z * self.signs
        return np.where(self.log_, np.exp(np.clip(v, -700, 700)), v)

    def to_hv(self, Y: np.ndarray) -> np.ndarray:
        """Raw values on the linear hypervolume scale (``0`` best seen, ``1`` worst, minimized)."""
        return (self.signs * np.asarray(Y, dtype=float) - self.hv_low_) / self.hv_width_

    def hv_ref(self, ref: Sequence[float | None]) -> np.ndarray:
        """The hypervolume reference on the linear scale; ``1.1`` where an objective has none."""
        out = np.full(len(self.signs), 1.1)
        for j, r in enumerate(ref):
            if r is not None:
                out[j] = (self.signs[j] * r - self.hv_low_[j]) / self.hv_width_[j]
        return out
