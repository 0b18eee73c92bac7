"""Samplers by name: DiffuSE, the BoTorch qLogNEHVI adapter, and Optuna's own.

``DiffuSESampler`` and ``QLogNEHVISampler`` import torch lazily, on first use, so that
``diffuse --help`` stays fast.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import optuna
from optuna.trial import FrozenTrial

from diffuse_dse.errors import UsageError
from diffuse_dse.space import Space

if TYPE_CHECKING:
    from diffuse_dse.samplers._diffuse import DiffuSESampler
    from diffuse_dse.samplers.botorch import QLogNEHVISampler

SAMPLERS: tuple[str, ...] = ("diffuse", "botorch", "gp", "tpe", "nsga2", "random", "sobol")
"""Every sampler name ``--sampler`` accepts."""

__all__ = [
    "SAMPLERS",
    "DiffuSESampler",
    "OutcomeConstraints",
    "QLogNEHVISampler",
    "initial_design_size",
    "make_sampler",
]


def __getattr__(name: str) -> Any:
    if name == "DiffuSESampler":
        from diffuse_dse.samplers._diffuse import DiffuSESampler

        return DiffuSESampler
    if name == "QLogNEHVISampler":
        from diffuse_dse.samplers.botorch import QLogNEHVISampler

        return QLogNEHVISampler
    raise AttributeError(name)


def initial_design_size(space: Space, budget: int | None) -> int:
    """The initial-design rule every model-based sampler shares:
    ``max(10, number of parameters, ceil(budget / 10))``, at most the budget."""
    size = max(10, len(space.parameters), math.ceil((budget or 0) / 10))
    return min(size, budget) if budget else size


class OutcomeConstraints:
    """Optuna's ``constraints_func``: the stored outcome-constraint violations of a trial.

    A trial without them (PRUNED for breaking a parameter constraint) counts as violating
    every outcome constraint.
    """

    def __init__(self, count: int) -> None:
        self.count = count

    def __call__(self, trial: FrozenTrial) -> Sequence[float]:
        return trial.user_attrs.get("constraint_violations", [1.0] * self.count)


class _OneThreadGPSampler(optuna.samplers.GPSampler):
    """Optuna's GPSampler with torch limited to one thread while it proposes (restored after).

    Its small matrices gain nothing from more threads, and on a loaded 2-core machine two
    threads made each proposal many times slower.
    """

    def sample_relative(self, study: optuna.Study, trial: FrozenTrial, search_space: dict[str, Any]) -> dict[str, Any]:
        import torch

        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return super().sample_relative(study, trial, search_space)
        finally:
            torch.set_num_threads(threads)


def make_sampler(
    name: str, space: Space, *, seed: int | None, budget: int | None = None, options: dict[str, Any] | None = None
) -> optuna.samplers.BaseSampler:
    """The sampler called ``name``, seeded, sharing the initial-design rule.

    Args:
        name: One of :data:`SAMPLERS`.
        space: The design space (DiffuSE and the BoTorch adapter encode it themselves).
        seed: Seeds every random choice; the same seed gives the same trials.
        budget: The run's evaluation budget, for the initial-design size.
        options: Extra keyword options for the sampler's constructor.
    """
    options = dict(options or {})
    startup = initial_design_size(space, budget)
    constraints = OutcomeConstraints(len(space.outcome_constraints)) if space.outcome_constraints else None
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed, **options)
    if name == "sobol":
        return optuna.samplers.QMCSampler(
            qmc_type="sobol",
            scramble=True,
            seed=seed,
            warn_asynchronous_seeding=False,
            warn_independent_sampling=False,
            **options,
        )
    if name == "tpe":
        return optuna.samplers.TPESampler(
            seed=seed,
            n_startup_trials=startup,
            multivariate=True,
            constraints_func=constraints,
            warn_independent_sampling=False,
            **options,
        )
    if name == "nsga2":
        return optuna.samplers.NSGAIISampler(
            seed=seed, population_size=options.pop("population_size", startup), constraints_func=constraints, **options
        )
    if name == "gp":
        return _OneThreadGPSampler(
            seed=seed,
            n_startup_trials=startup,
            constraints_func=constraints,
            warn_independent_sampling=False,
            **options,
        )
    if name == "botorch":
        from diffuse_dse.samplers.botorch import QLogNEHVISampler

        return QLogNEHVISampler(space=space, seed=seed, n_startup_trials=startup, **options)
    if name == "diffuse":
        from diffuse_dse.samplers._diffuse import DiffuSESampler

        return DiffuSESampler(space=space, seed=seed, n_startup_trials=startup, **options)
    raise UsageError(f"Unknown sampler '{name}'. Choose one of: {', '.join(SAMPLERS)}.")
