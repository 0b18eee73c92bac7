"""A :class:`~diffuse_dse.space.Space` built from Optuna distributions, for users without a space file.

``IntDistribution`` becomes an ``int`` parameter (its values in steps; a log-scaled one is
encoded by index too), ``FloatDistribution`` a ``float`` parameter (a ``step`` is honoured by
rounding proposals), ``CategoricalDistribution`` a ``categorical`` one. Each keeps its Optuna
name, so proposals map back one to one. Objectives are named ``objective_<i>``, with the
study's directions and no hypervolume reference.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.study import StudyDirection

from diffuse_dse.errors import UsageError
from diffuse_dse.space import Objective, Parameter, Space

_MAX_INT_CHOICES = 1_000_000


def space_from_distributions(distributions: Mapping[str, BaseDistribution],
                             directions: Sequence[StudyDirection]) -> Space:
    """The space whose parameters are ``distributions`` (sorted by name) and objectives ``directions``."""
    params = []
    for name in sorted(distributions):
        dist = distributions[name]
        if isinstance(dist, FloatDistribution):
            params.append(Parameter(name, "hw", "float", low=dist.low, high=dist.high, log=dist.log))
        elif isinstance(dist, IntDistribution):
            n = (dist.high - dist.low) // dist.step + 1
            if n > _MAX_INT_CHOICES:
                raise UsageError(f"DiffuSESampler cannot infer a space for parameter '{name}': it has {n} integer "
                                 f"values (at most {_MAX_INT_CHOICES}). Pass a Space, or use a float parameter.")
            params.append(Parameter(name, "hw", "int", choices=tuple(range(dist.low, dist.high + 1, dist.step))))
        elif isinstance(dist, CategoricalDistribution):
            params.append(Parameter(name, "hw", "categorical", choices=tuple(dist.choices)))
        else:
            raise UsageError(f"DiffuSESampler cannot infer a space for parameter '{name}': distribution "
                             f"{type(dist).__name__} is not supported.")
    objectives = tuple(
        Objective(f"objective_{i}", "min" if d == StudyDirection.MINIMIZE else "max") for i, d in enumerate(directions)
    )
    return Space(name="optuna-study", parameters=tuple(params), constraints=(), objectives=objectives)


def round_to_steps(distributions: Mapping[str, BaseDistribution], params: dict[str, object]) -> dict[str, object]:
    """``params`` with each stepped float moved to its distribution's grid."""
    out = dict(params)
    for name, value in params.items():
        dist = distributions.get(name)
        if isinstance(dist, FloatDistribution) and dist.step is not None:
            k = round((float(value) - dist.low) / dist.step)
            out[name] = min(dist.high, dist.low + k * dist.step)
    return out
