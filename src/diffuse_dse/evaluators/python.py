"""The ``python`` evaluator: a user function ``module:function`` called in-process.

The function takes the configuration (a dict of real values) and, if it accepts a second
argument, the trial's artifact folder. It returns a mapping of metric names to numbers.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar

from diffuse_dse.errors import EvaluationError, SettingsError
from diffuse_dse.evaluators.base import Evaluator, Setting
from diffuse_dse.space import Config


class PythonEvaluator(Evaluator):
    """Calls ``function`` (``"package.module:function"``) on each configuration."""

    name: ClassVar[str] = "python"
    SETTINGS: ClassVar[dict[str, Setting]] = {
        "function": Setting((str,), required=True, help="'module:function' to call"),
        "path": Setting((str,), default=None, help="a folder to put on sys.path first, relative to the space file"),
    }

    def __init__(self, settings: Mapping[str, Any] | None = None, *, base_dir: Path | None = None) -> None:
        super().__init__(settings, base_dir=base_dir)
        target = self.settings["function"]
        if target.count(":") != 1 or not all(target.split(":")):
            raise SettingsError(f"evaluators.python.function: expected 'module:function'. Got {target!r}.")
        self._function()  # fail fast on import errors

    def _function(self) -> Callable[..., Any]:
        if self.settings["path"]:
            folder = str((self.base_dir / self.settings["path"]).resolve())
            if folder not in sys.path:
                sys.path.insert(0, folder)
        module_name, attr = self.settings["function"].split(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise SettingsError(
                f"evaluators.python.function: cannot import module '{module_name}': {exc}. Set 'path' to the folder "
                "that holds it."
            ) from None
        func = getattr(module, attr, None)
        if not callable(func):
            raise SettingsError(f"evaluators.python.function: module '{module_name}' has no function '{attr}'.")
        return func

    def evaluate(self, config: Config, workdir: Path) -> Mapping[str, Any]:
        func = self._function()
        takes_workdir = len(inspect.signature(func).parameters) >= 2
        try:
            return func(dict(config), workdir) if takes_workdir else func(dict(config))
        except EvaluationError:
            raise
        except Exception as exc:  # a user function may raise anything: it becomes the reason
            raise EvaluationError(f"{self.settings['function']} raised {type(exc).__name__}: {exc}") from exc
