"""Find evaluators by name through the ``diffuse_dse.evaluators`` entry-point group."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Mapping
from importlib.metadata import entry_points
from typing import Any

from diffuse_dse.errors import SettingsError, UsageError
from diffuse_dse.evaluators.base import Evaluator
from diffuse_dse.space import Space

GROUP = "diffuse_dse.evaluators"


@functools.cache
def evaluator_classes() -> dict[str, type[Evaluator]]:
    """Every installed evaluator class by name (cached).

    Evaluator modules keep heavy imports (torch, tool wrappers) inside their methods, so
    loading them all stays cheap.
    """
    classes: dict[str, type[Evaluator]] = {}
    for ep in entry_points(group=GROUP):
        try:
            classes[ep.name] = ep.load()
        except Exception as exc:  # a broken plug-in must not take the others down
            warnings.warn(
                f"The evaluator '{ep.name}' ({ep.value}) could not be loaded and is left out: "
                f"{type(exc).__name__}: {exc}. Reinstall the package that provides it.",
                stacklevel=2,
            )
    return classes


def make_evaluator(space: Space, name: str | None = None, overrides: Mapping[str, Any] | None = None) -> Evaluator:
    """The evaluator ``name`` (the space's own by default) with its settings from the space
    file, updated by ``overrides`` (e.g. ``--option pdk=/path`` on the command line)."""
    name = name or space.evaluator.name
    classes = evaluator_classes()
    if name not in classes:
        raise UsageError(f"Unknown evaluator '{name}'. Installed evaluators: {', '.join(sorted(classes))}.")
    settings = {**space.evaluator.settings_for(name), **(overrides or {})}
    try:
        return classes[name](settings, base_dir=space.base_dir)
    except SettingsError as exc:
        where = f"{space.path}: " if space.path else ""
        raise SettingsError(f"{where}{exc}") from None
