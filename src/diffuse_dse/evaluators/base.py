"""The evaluator contract: a configuration goes in, QoR metrics (and artifacts) come out."""

from __future__ import annotations

import abc
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from diffuse_dse.errors import EvaluationError, SettingsError
from diffuse_dse.space import Config


@dataclass(frozen=True)
class Setting:
    """One evaluator setting: its accepted types, default and a help line."""

    types: tuple[type, ...]
    default: Any = None
    help: str = ""
    required: bool = False


class Evaluator(abc.ABC):
    """Turns one configuration into a dict of QoR metric values.

    Subclasses declare :attr:`name`, the :attr:`metrics` they report (empty when only the
    user knows, as for ``command``) and their :attr:`SETTINGS`. They are registered under
    the ``diffuse_dse.evaluators`` entry-point group, so a third-party package adds one by
    being installed. Instances are pickled into worker processes: keep them picklable.

    Args:
        settings: The evaluator's settings from the space file and the command line.
        base_dir: The folder that relative paths in ``settings`` are resolved against.
    """

    name: ClassVar[str]
    metrics: ClassVar[tuple[str, ...]] = ()
    SETTINGS: ClassVar[dict[str, Setting]] = {}

    def __init__(self, settings: Mapping[str, Any] | None = None, *, base_dir: Path | None = None) -> None:
        self.base_dir = Path(base_dir) if base_dir is not None else Path.cwd()
        self.settings = parse_settings(self.name, settings or {}, self.SETTINGS)

    @abc.abstractmethod
    def evaluate(self, config: Config, workdir: Path) -> Mapping[str, Any]:
        """Evaluate ``config``; may write artifacts under ``workdir`` (which exists).

        Raises:
            EvaluationError: The design could not be evaluated; the message is the reason.
        """

    def identity(self) -> dict[str, Any]:
        """What, besides the configuration, decides the result: part of the cache key."""
        return {"evaluator": self.name, "settings": _jsonable(self.settings)}

    def artifact_files(self, workdir: Path) -> list[Path]:
        """Files that reproduce this evaluation (scripts, inputs), for ``diffuse replay``."""
        return sorted(p for p in workdir.rglob("*") if p.is_file()) if workdir.exists() else []


def parse_settings(evaluator: str, given: Mapping[str, Any], schema: Mapping[str, Setting]) -> dict[str, Any]:
    """Validate ``given`` against ``schema`` and fill in defaults.

    Raises:
        SettingsError: naming ``evaluators.<evaluator>.<key>``, what was expected and got.
    """
    out: dict[str, Any] = {}
    for key, value in given.items():
        if key not in schema:
            known = ", ".join(sorted(schema)) or "none"
            raise SettingsError(f"evaluators.{evaluator}.{key}: unknown setting; '{evaluator}' takes: {known}.")
        spec = schema[key]
        ok = isinstance(value, spec.types) and not (isinstance(value, bool) and bool not in spec.types)
        if isinstance(value, int) and float in spec.types and not isinstance(value, bool):
            ok, value = True, float(value) if int not in spec.types else value
        if not ok:
            expected = " or ".join(_TYPE_WORDS.get(t, t.__name__) for t in spec.types)
            raise SettingsError(f"evaluators.{evaluator}.{key}: expected {expected} ({spec.help}). Got {value!r}.")
        out[key] = value
    for key, spec in schema.items():
        if key not in out:
            if spec.required:
                raise SettingsError(f"evaluators.{evaluator}.{key}: this setting is required ({spec.help}).")
            out[key] = spec.default
    return out


def check_metrics(raw: Any, required: tuple[str, ...]) -> dict[str, float]:
    """Validate an evaluator's output: a mapping of metric names to finite numbers.

    Every name in ``required`` must be present; other entries must be numbers too and are
    kept. Raises :class:`EvaluationError` with the reason otherwise.
    """
    if not isinstance(raw, Mapping):
        raise EvaluationError(
            f"the evaluator returned {type(raw).__name__}, expected a mapping of metric names to numbers"
        )
    out: dict[str, float] = {}
    for key, value in raw.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise EvaluationError(f"metric '{key}' is {_short(value)}, expected a number")
        if not math.isfinite(value):
            raise EvaluationError(f"metric '{key}' is {value}, expected a finite number")
        out[str(key)] = float(value)
    missing = [m for m in required if m not in out]
    if missing:
        raise EvaluationError(
            f"the evaluator did not report {', '.join(missing)} (it reported: {', '.join(out) or 'nothing'})"
        )
    return out


_TYPE_WORDS = {
    str: "a string",
    int: "a whole number",
    float: "a number",
    bool: "true or false",
    list: "a list",
    dict: "a mapping",
}


def _short(value: Any, limit: int = 80) -> str:
    """``repr(value)`` cut to ``limit`` characters, so garbage output cannot flood a reason."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value
