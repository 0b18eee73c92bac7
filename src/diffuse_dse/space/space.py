"""The design space: parameters, their constraints, the objectives and outcome constraints."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from diffuse_dse.space.expr import Expression
from diffuse_dse.space.parameter import Parameter, Value

Config = dict[str, Value]
"""A configuration: every parameter's name mapped to a legal real value."""

ENUMERATION_LIMIT = 2_000_000
"""Spaces with at most this many discrete points are enumerated exactly."""


@dataclass(frozen=True)
class Objective:
    """A QoR metric to optimize.

    Attributes:
        name: The metric name the evaluator returns (e.g. ``latency_ms``).
        direction: ``"min"`` or ``"max"``.
        unit: Free text, e.g. ``ms``.
        ref: Reference value for hypervolume (a worst acceptable value), or ``None``.
    """

    name: str
    direction: Literal["min", "max"]
    unit: str = ""
    ref: float | None = None

    @property
    def sign(self) -> float:
        """``+1`` for minimization, ``-1`` for maximization: ``sign * value`` is minimized."""
        return 1.0 if self.direction == "min" else -1.0


@dataclass(frozen=True)
class OutcomeConstraint:
    """A constraint on QoR metrics, e.g. ``area_mm2 <= 2.0``, checked after evaluation."""

    expression: Expression

    @property
    def text(self) -> str:
        return self.expression.text

    def violation(self, metrics: Mapping[str, float]) -> float:
        """How far the constraint is from holding: ``<= 0`` when it holds (Optuna's rule)."""
        return self.expression.violation(metrics)


@dataclass(frozen=True)
class EvaluatorSpec:
    """Which evaluator runs a configuration, and its settings by evaluator name."""

    name: str
    settings: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def settings_for(self, name: str) -> dict[str, Any]:
        return dict(self.settings.get(name, {}))


@dataclass(frozen=True)
class Space:
    """A validated design space, as loaded from a YAML file by :func:`load_space`."""

    name: str
    parameters: tuple[Parameter, ...]
    constraints: tuple[Expression, ...]
    objectives: tuple[Objective, ...]
    outcome_constraints: tuple[OutcomeConstraint, ...] = ()
    evaluator: EvaluatorSpec = field(default_factory=lambda: EvaluatorSpec("synthetic"))
    description: str = ""
    path: Path | None = None
    source: str = ""

    # --- lookups -------------------------------------------------------------------------
    def parameter(self, name: str) -> Parameter:
        for p in self.parameters:
            if p.name == name:
                return p
        raise KeyError(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parameters)

    @property
    def objective_names(self) -> tuple[str, ...]:
        return tuple(o.name for o in self.objectives)

    @property
    def base_dir(self) -> Path:
        """The folder that relative paths in the space file are resolved against."""
        return self.path.parent if self.path is not None else Path.cwd()

    # --- configurations ------------------------------------------------------------------
    def default_config(self) -> Config:
        """The baseline design: each parameter's default, or its middle value if unset."""
        return {p.name: p.baseline() for p in self.parameters}

    def violated(self, config: Mapping[str, Any]) -> list[str]:
        """The texts of the parameter constraints that ``config`` breaks."""
        return [c.text for c in self.constraints if not c.holds(config)]

    def is_feasible(self, config: Mapping[str, Any]) -> bool:
        return all(c.holds(config) for c in self.constraints)

    def check_config(self, config: Mapping[str, Any]) -> None:
        """Raise ``ValueError`` naming the first unknown, missing or illegal value."""
        for name in config:
            if name not in self.names:
                raise ValueError(f"unknown parameter '{name}'")
        for p in self.parameters:
            if p.name not in config:
                raise ValueError(f"parameter '{p.name}' is missing")
            if not p.contains(config[p.name]):
                raise ValueError(f"parameter '{p.name}' = {config[p.name]!r} is not one of {p.describe_values()}")

    def sample_arrays(self, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
        """``n`` uniform random configurations as arrays of real values keyed by name."""
        return {p.name: p.values_array(p.sample(rng, n)) for p in self.parameters}

    def feasible_mask(self, arrays: Mapping[str, np.ndarray]) -> np.ndarray:
        """Which rows of column arrays satisfy every parameter constraint."""
        n = len(next(iter(arrays.values()))) if arrays else 0
        mask = np.ones(n, dtype=bool)
        for c in self.constraints:
            mask &= np.broadcast_to(np.asarray(c.holds(arrays), dtype=bool), (n,))
        return mask

    def enumerate_arrays(self) -> dict[str, np.ndarray]:
        """Every discrete configuration as column arrays (the space must be discrete)."""
        discrete = [p for p in self.parameters if p.is_discrete]
        if len(discrete) != len(self.parameters):
            raise ValueError("a space with float parameters cannot be enumerated")
        grids = np.meshgrid(*[np.arange(len(p.choices)) for p in discrete], indexing="ij")
        return {p.name: p.values_array(g.ravel()) for p, g in zip(discrete, grids, strict=True)}

    def rows(self, arrays: Mapping[str, np.ndarray]) -> Iterable[Config]:
        """Configurations, one per row of column arrays, with plain Python values."""
        n = len(next(iter(arrays.values()))) if arrays else 0
        for i in range(n):
            yield {name: _plain(arrays[name][i]) for name in self.names}

    # --- size ----------------------------------------------------------------------------
    @property
    def discrete_size(self) -> float:
        """Product of the discrete parameters' cardinalities (floats left out)."""
        return float(math.prod(len(p.choices) for p in self.parameters if p.is_discrete))

    def feasible_size(self, *, seed: int = 0, samples: int = 200_000) -> tuple[float, bool]:
        """The number of feasible discrete configurations and whether it is exact.

        Counted exactly when the space has no float parameter and at most
        :data:`ENUMERATION_LIMIT` points; estimated from uniform samples otherwise.
        """
        if not self.constraints:
            return self.discrete_size, True
        exact = self.discrete_size <= ENUMERATION_LIMIT and all(p.is_discrete for p in self.parameters)
        if exact:
            return float(self.feasible_mask(self.enumerate_arrays()).sum()), True
        rng = np.random.default_rng(seed)
        fraction = self.feasible_mask(self.sample_arrays(rng, samples)).mean()
        return float(fraction * self.discrete_size), False


def _plain(value: Any) -> Value:
    """A numpy scalar as the matching Python scalar."""
    return value.item() if isinstance(value, np.generic) else value
