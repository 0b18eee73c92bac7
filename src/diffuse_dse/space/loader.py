"""Load and validate a design-space YAML file into a :class:`~diffuse_dse.space.Space`.

Every problem raises one :class:`~diffuse_dse.errors.SpaceError` whose message names the
file, the field path (``parameters[3].high``), its line, what was expected and what was found.

The file's layout::

    name: gemmini-asap7                # optional; the file's stem by default
    description: ...                   # optional
    parameters:
      - {name: mesh_rows, layer: hw, kind: pow2, low: 1, high: 32, default: 16}
      - {name: vt, layer: eda, kind: ordinal, values: [RVT, LVT, SLVT]}
    constraints: ["mesh_rows * tile_rows == mesh_cols * tile_cols"]
    objectives:
      - {name: latency_ms, direction: min, unit: ms, ref: 100}
    outcome_constraints: ["area_mm2 <= 2.0"]
    evaluator: gemmini-model           # the one `diffuse run` uses
    evaluators:                        # settings by evaluator name
      gemmini-model: {workload: resnet50}
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from diffuse_dse.errors import SpaceError
from diffuse_dse.space.expr import Expression, ExpressionError, parse
from diffuse_dse.space.parameter import KINDS, LAYERS, Parameter
from diffuse_dse.space.space import EvaluatorSpec, Objective, OutcomeConstraint, Space

_TOP_KEYS = {
    "name",
    "description",
    "parameters",
    "constraints",
    "objectives",
    "outcome_constraints",
    "evaluator",
    "evaluators",
}
_COMMON_KEYS = {"name", "layer", "kind", "default", "unit", "description"}
_KIND_KEYS = {
    "int": {"low", "high", "step"},
    "pow2": {"low", "high"},
    "ordinal": {"values"},
    "categorical": {"values"},
    "float": {"low", "high", "log"},
}
_OBJECTIVE_KEYS = {"name", "direction", "unit", "ref"}
_FEASIBILITY_SAMPLES = 100_000
_RESERVED = {"min", "max", "abs", "log2", "sqrt", "and", "or", "not", "True", "False"}


def load_space(path: str | Path, *, known_evaluators: Callable[[], Mapping[str, Any]] | None = None) -> Space:
    """Read, validate and return the space in ``path``.

    Args:
        path: The YAML file.
        known_evaluators: Returns the registered evaluator classes by name; the default is
            the entry-point registry. Used to reject unknown evaluators and metrics.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpaceError(f"{path}: no such file. Give the path of a design-space YAML file.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpaceError(f"{path}: cannot be read as UTF-8 text ({exc}).") from None
    if known_evaluators is None:
        from diffuse_dse.evaluators.registry import evaluator_classes

        known_evaluators = evaluator_classes
    return _Loader(path, text, known_evaluators).load()


class _Loader:
    def __init__(self, path: Path, text: str, known: Callable[[], Mapping[str, Any]]) -> None:
        self.path = path
        self.text = text
        self.known = known
        self.lines: dict[str, int] = {}
        self._scalars = yaml.SafeLoader("")

    # --- errors ---------------------------------------------------------------------------
    def fail(self, field: str, message: str) -> SpaceError:
        line = self._line_of(field)
        where = f"{self.path}: {field}" if field else f"{self.path}"
        if line is not None:
            where += f" (line {line})"
        return SpaceError(f"{where}: {message}")

    def _line_of(self, field: str) -> int | None:
        while field:
            if field in self.lines:
                return self.lines[field]
            cut = max(field.rfind("."), field.rfind("["))
            field = field[:cut] if cut > 0 else ""
        return None

    # --- YAML with line numbers -------------------------------------------------------------
    def _compose(self) -> Any:
        try:
            node = yaml.compose(self.text, Loader=yaml.SafeLoader)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
            problem = getattr(exc, "problem", None) or str(exc)
            raise SpaceError(f"{self.path}{where}: not valid YAML: {problem}.") from None
        if node is None:
            raise SpaceError(f"{self.path}: the file is empty; expected a mapping with 'parameters' and 'objectives'.")
        return self._build(node, "")

    def _build(self, node: yaml.Node, field: str) -> Any:
        self.lines.setdefault(field, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = self._scalars.construct_object(key_node)  # type: ignore[no-untyped-call]
                sub = f"{field}.{key}" if field else str(key)
                if key in out:
                    self.lines[sub] = key_node.start_mark.line + 1
                    raise self.fail(sub, "this key appears twice; keep one.")
                out[key] = self._build(value_node, sub)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self._build(item, f"{field}[{i}]") for i, item in enumerate(node.value)]
        return self._scalars.construct_object(node, deep=True)  # type: ignore[no-untyped-call]

    # --- typed getters ------------------------------------------------------------------------
    def check_keys(self, data: Mapping[str, Any], field: str, allowed: set[str], what: str) -> None:
        for key in data:
            if key not in allowed:
                sub = f"{field}.{key}" if field else str(key)
                raise self.fail(sub, f"unknown key '{key}' in {what}; expected one of: {', '.join(sorted(allowed))}.")

    def get(
        self,
        data: Mapping[str, Any],
        key: str,
        field: str,
        types: tuple[type, ...],
        what: str,
        *,
        required: bool = True,
        default: Any = None,
    ) -> Any:
        sub = f"{field}.{key}" if field else key
        if key not in data:
            if required:
                raise self.fail(field, f"missing required key '{key}' ({what}).")
            return default
        value = data[key]
        ok = isinstance(value, types) and not (isinstance(value, bool) and bool not in types)
        if not ok:
            raise self.fail(sub, f"expected {what}. Got {value!r} ({_type_name(value)}).")
        return value

    # --- sections -----------------------------------------------------------------------------
    def load(self) -> Space:
        data = self._compose()
        if not isinstance(data, dict):
            raise self.fail(
                "", f"expected a mapping with 'parameters' and 'objectives' at the top. Got {_type_name(data)}."
            )
        self.check_keys(data, "", _TOP_KEYS, "the space file")
        name = self.get(data, "name", "", (str,), "a string", required=False, default=self.path.stem)
        description = self.get(data, "description", "", (str,), "a string", required=False, default="")
        params = self.parameters(self.get(data, "parameters", "", (list,), "a list of parameters"))
        names = {p.name for p in params}
        constraints = self.constraints(data, names)
        objectives = self.objectives(self.get(data, "objectives", "", (list,), "a list of objectives"))
        outcome = self.outcome_constraints(data)
        evaluator = self.evaluator(data)
        self.check_metrics(evaluator, objectives, outcome)
        space = Space(
            name=name,
            parameters=tuple(params),
            constraints=tuple(constraints),
            objectives=tuple(objectives),
            outcome_constraints=tuple(outcome),
            evaluator=evaluator,
            description=description,
            path=self.path.resolve(),
            source=self.text,
        )
        self.check_not_empty(space)
        return space

    def parameters(self, items: list[Any]) -> list[Parameter]:
        if not items:
            raise self.fail("parameters", "expected at least one parameter. Got an empty list.")
        params: list[Parameter] = []
        seen: dict[str, int] = {}
        for i, item in enumerate(items):
            field = f"parameters[{i}]"
            if not isinstance(item, dict):
                raise self.fail(field, f"expected a mapping with name, layer and kind. Got {_type_name(item)}.")
            param = self.parameter(item, field)
            if param.name in seen:
                raise self.fail(
                    f"{field}.name",
                    f"duplicate parameter name '{param.name}' (also parameters[{seen[param.name]}]); names must be "
                    "unique.",
                )
            seen[param.name] = i
            params.append(param)
        return params

    def identifier(self, value: str, field: str) -> str:
        if not value.isidentifier() or value in _RESERVED:
            raise self.fail(
                field,
                "expected a name made of letters, digits and '_' that does not start with a digit and is not one "
                f"of {sorted(_RESERVED)}. Got {value!r}.",
            )
        return value

    def parameter(self, item: dict[str, Any], field: str) -> Parameter:
        name = self.identifier(self.get(item, "name", field, (str,), "a string"), f"{field}.name")
        kind = self.get(item, "kind", field, (str,), f"one of {', '.join(KINDS)}")
        if kind not in KINDS:
            raise self.fail(f"{field}.kind", f"expected one of {', '.join(KINDS)}. Got {kind!r}.")
        layer = self.get(item, "layer", field, (str,), "'hw' or 'eda'")
        if layer not in LAYERS:
            raise self.fail(
                f"{field}.layer", f"expected 'hw' (hardware generator) or 'eda' (implementation flow). Got {layer!r}."
            )
        article = "an" if kind[0] in "aeiou" else "a"
        self.check_keys(item, field, _COMMON_KEYS | _KIND_KEYS[kind], f"{article} {kind} parameter")
        extra = {
            "unit": self.get(item, "unit", field, (str,), "a string", required=False, default=""),
            "description": self.get(item, "description", field, (str,), "a string", required=False, default=""),
        }
        if kind == "float":
            low = float(self.get(item, "low", field, (int, float), "a number"))
            high = float(self.get(item, "high", field, (int, float), "a number"))
            log = self.get(item, "log", field, (bool,), "true or false", required=False, default=False)
            if not math.isfinite(low) or not math.isfinite(high):
                raise self.fail(f"{field}.low", "expected finite bounds.")
            if high <= low:
                raise self.fail(f"{field}.high", f"must be > low ({low:g}). Got {high:g}: the range is empty.")
            if log and low <= 0:
                raise self.fail(f"{field}.low", f"must be > 0 when log is true. Got {low:g}.")
            param = Parameter(name, layer, kind, low=low, high=high, log=log, **extra)  # type: ignore[arg-type]
        else:
            choices = self.choices(item, field, kind)
            param = Parameter(name, layer, kind, choices=tuple(choices), **extra)  # type: ignore[arg-type]
        if "default" in item:
            default = item["default"]
            if not param.contains(default):
                raise self.fail(f"{field}.default", f"expected one of {param.describe_values()}. Got {default!r}.")
            param = Parameter(**{**_fields(param), "default": default})
        return param

    def choices(self, item: dict[str, Any], field: str, kind: str) -> list[Any]:
        if kind in ("int", "pow2"):
            low = self.get(item, "low", field, (int,), "a whole number")
            high = self.get(item, "high", field, (int,), "a whole number")
            if high < low:
                raise self.fail(f"{field}.high", f"must be >= low ({low}). Got {high}: the range is empty.")
            if kind == "int":
                step = self.get(item, "step", field, (int,), "a whole number >= 1", required=False, default=1)
                if step < 1:
                    raise self.fail(f"{field}.step", f"must be a whole number >= 1. Got {step}.")
                if (high - low) % step:
                    raise self.fail(f"{field}.high", f"high - low ({high - low}) must be a multiple of step ({step}).")
                return list(range(low, high + 1, step))
            for key, value in (("low", low), ("high", high)):
                if value < 1 or value & (value - 1):
                    raise self.fail(f"{field}.{key}", f"must be a power of two >= 1. Got {value}.")
            return [1 << e for e in range(low.bit_length() - 1, high.bit_length())]
        values = self.get(item, "values", field, (list,), "a non-empty list")
        if not values:
            raise self.fail(f"{field}.values", "expected at least one value. Got an empty list.")
        allowed: tuple[type, ...] = (int, float, str) if kind == "ordinal" else (int, float, str, bool)
        for j, value in enumerate(values):
            if not isinstance(value, allowed) or (kind == "ordinal" and isinstance(value, bool)):
                what = "numbers or strings" if kind == "ordinal" else "numbers, strings or booleans"
                raise self.fail(f"{field}.values[{j}]", f"expected {what}. Got {value!r} ({_type_name(value)}).")
            if any(type(v) is type(value) and v == value for v in values[:j]):
                raise self.fail(f"{field}.values[{j}]", f"duplicate value {value!r}; values must be unique.")
        return list(values)

    def expressions(self, data: Mapping[str, Any], key: str, names: set[str] | None) -> list[Expression]:
        items = self.get(data, key, "", (list,), "a list of expression strings", required=False, default=[])
        out = []
        for i, text in enumerate(items):
            field = f"{key}[{i}]"
            if not isinstance(text, str):
                raise self.fail(
                    field, f"expected an expression string such as 'a <= b'. Got {text!r} ({_type_name(text)})."
                )
            try:
                expr = parse(text)
            except ExpressionError as exc:
                raise self.fail(field, f"invalid expression {text!r}: {exc}.") from None
            if names is not None:
                unknown = [n for n in expr.names if n not in names]
                if unknown:
                    raise self.fail(
                        field,
                        f"unknown name '{unknown[0]}' in {text!r}; expected parameter names: "
                        f"{', '.join(sorted(names))}.",
                    )
            out.append(expr)
        return out

    def constraints(self, data: Mapping[str, Any], names: set[str]) -> list[Expression]:
        return self.expressions(data, "constraints", names)

    def outcome_constraints(self, data: Mapping[str, Any]) -> list[OutcomeConstraint]:
        return [OutcomeConstraint(e) for e in self.expressions(data, "outcome_constraints", None)]

    def objectives(self, items: list[Any]) -> list[Objective]:
        if not items:
            raise self.fail("objectives", "expected at least one objective. Got an empty list.")
        out: list[Objective] = []
        for i, item in enumerate(items):
            field = f"objectives[{i}]"
            if not isinstance(item, dict):
                raise self.fail(field, f"expected a mapping with name and direction. Got {_type_name(item)}.")
            self.check_keys(item, field, _OBJECTIVE_KEYS, "an objective")
            name = self.identifier(self.get(item, "name", field, (str,), "a metric name"), f"{field}.name")
            direction = self.get(item, "direction", field, (str,), "'min' or 'max'")
            if direction not in ("min", "max"):
                raise self.fail(f"{field}.direction", f"expected 'min' or 'max'. Got {direction!r}.")
            ref = self.get(item, "ref", field, (int, float), "a number (the hypervolume reference)", required=False)
            if any(o.name == name for o in out):
                raise self.fail(f"{field}.name", f"duplicate objective '{name}'; objectives must be unique.")
            unit = self.get(item, "unit", field, (str,), "a string", required=False, default="")
            out.append(Objective(name, direction, unit, None if ref is None else float(ref)))
        return out

    def evaluator(self, data: Mapping[str, Any]) -> EvaluatorSpec:
        known = self.known()
        name = self.get(data, "evaluator", "", (str,), "an evaluator name", required=False, default="synthetic")
        settings = self.get(
            data, "evaluators", "", (dict,), "a mapping from evaluator name to its settings", required=False, default={}
        )
        for key, value in [("evaluator", name), *((f"evaluators.{k}", k) for k in settings)]:
            if value not in known:
                raise self.fail(
                    key,
                    f"unknown evaluator '{value}'; installed evaluators: {', '.join(sorted(known))}. A third-party "
                    "evaluator registers itself under the 'diffuse_dse.evaluators' entry-point group.",
                )
        for key, value in settings.items():
            if not isinstance(value, dict):
                raise self.fail(f"evaluators.{key}", f"expected a mapping of settings. Got {_type_name(value)}.")
        return EvaluatorSpec(name, settings)

    def check_metrics(
        self, evaluator: EvaluatorSpec, objectives: Sequence[Objective], outcome: Sequence[OutcomeConstraint]
    ) -> None:
        metrics = getattr(self.known()[evaluator.name], "metrics", ())
        if not metrics:
            return
        for i, objective in enumerate(objectives):
            if objective.name not in metrics:
                raise self.fail(
                    f"objectives[{i}].name",
                    f"evaluator '{evaluator.name}' reports no metric '{objective.name}'; it reports: "
                    f"{', '.join(metrics)}.",
                )
        for i, constraint in enumerate(outcome):
            for n in constraint.expression.names:
                if n not in metrics:
                    raise self.fail(
                        f"outcome_constraints[{i}]",
                        f"evaluator '{evaluator.name}' reports no metric '{n}'; it reports: {', '.join(metrics)}.",
                    )

    def check_not_empty(self, space: Space) -> None:
        if not space.constraints:
            return
        if space.discrete_size <= _FEASIBILITY_SAMPLES and all(p.is_discrete for p in space.parameters):
            arrays = space.enumerate_arrays()
        else:
            arrays = space.sample_arrays(np.random.default_rng(0), _FEASIBILITY_SAMPLES)
        if space.feasible_mask(arrays).any():
            return
        n = len(next(iter(arrays.values())))
        never = [c.text for c in space.constraints if not np.broadcast_to(c.holds(arrays), (n,)).any()]
        involved = never or [c.text for c in space.constraints]
        how = "is never satisfied" if never else "are never satisfied together"
        raise self.fail(
            "constraints",
            f"the space is empty: {'; '.join(repr(t) for t in involved)} {how} by any configuration tried ({n:,}). "
            "Widen the parameter ranges or relax these constraints.",
        )


def _fields(param: Parameter) -> dict[str, Any]:
    return {
        k: getattr(param, k)
        for k in ("name", "layer", "kind", "choices", "low", "high", "log", "default", "unit", "description")
    }


def _type_name(value: Any) -> str:
    names = {
        dict: "a mapping",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        type(None): "nothing",
    }
    return names.get(type(value), type(value).__name__)
