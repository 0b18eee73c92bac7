"""``diffuse reference-front``: the exact Pareto front of a space under the gemmini-model."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import Any

from diffuse_dse.errors import UsageError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "reference-front", help="write the model's exact Pareto front of a space and its hypervolume",
        description="Enumerate the feasible grid of SPACE with the gemmini-model evaluator and write its exact "
                    "Pareto front (real parameter values and every metric) and hypervolume. Float parameters are "
                    "held at their default unless --float gives values; --fix holds any parameter at one value.",
        epilog="example: diffuse reference-front examples/gemmini-asap7.yaml --fix sp_banks=4 -o front.csv")
    p.add_argument("space", metavar="SPACE", help="the design-space YAML file")
    p.add_argument("-o", "--output", help="the front as .csv or .json (default: CSV on stdout)")
    p.add_argument("--fix", action="append", default=[], metavar="NAME=VALUE", help="hold a parameter at one value")
    p.add_argument("--float", action="append", default=[], metavar="NAME=V1,V2,...",
                   help="values of a float parameter to walk (default: its default value)")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="a gemmini-model setting, e.g. workload=bert-base")
    p.add_argument("--chunk", type=int, default=250_000, help="configurations per evaluation call")
    p.set_defaults(func=run)


def _pairs(items: list[str], what: str) -> dict[str, str]:
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"The '{what}' option of `diffuse reference-front` must be NAME=VALUE. Got {item!r}.")
        out[name.strip()] = value.strip()
    return out


def _setting(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def run(args: argparse.Namespace) -> int:
    from diffuse_dse.evaluators.gemmini_model.front import exact_front, grid_values, hypervolume
    from diffuse_dse.evaluators.registry import make_evaluator
    from diffuse_dse.space import load_space

    space = load_space(args.space)
    options = {k: _setting(v) for k, v in _pairs(args.option, "--option").items()}
    evaluator = make_evaluator(space, "gemmini-model", options)
    fixed: dict[str, Any] = {}
    for name, text in _pairs(args.fix, "--fix").items():
        try:
            fixed[name] = space.parameter(name).coerce(text)
        except KeyError:
            raise UsageError(f"--fix {name}: no such parameter in {args.space}.") from None
        except ValueError as exc:
            raise UsageError(f"--fix {name}: {exc}. Got {text!r}.") from None
    floats = {}
    for name, text in _pairs(args.float, "--float").items():
        try:
            floats[name] = [space.parameter(name).coerce(t) for t in text.split(",")]
        except (KeyError, ValueError) as exc:
            raise UsageError(f"--float {name}: {exc}. Got {text!r}.") from None
    values = grid_values(space, fixed, floats)
    front = exact_front(space, evaluator.evaluate_arrays, values, chunk=args.chunk)
    hv, ref = hypervolume(space, front.metrics)
    size = len(next(iter(front.metrics.values()))) if front.metrics else 0
    rows = [{**{k: _plain(v[i]) for k, v in front.configs.items()},
             **{k: float(v[i]) for k, v in front.metrics.items()}} for i in range(size)]
    summary = {"space": str(args.space), "workload": evaluator.settings["workload"], "evaluated": front.evaluated,
               "front_size": len(rows), "hypervolume": hv,
               "reference_point": dict(zip(space.objective_names, ref, strict=True)),
               "grid": {k: [_plain(x) for x in v] for k, v in values.items() if len(v) == 1}}
    if args.output and Path(args.output).suffix == ".json":
        Path(args.output).write_text(json.dumps({**summary, "front": rows}, indent=1) + "\n")
    else:
        out = open(args.output, "w", newline="") if args.output else sys.stdout  # noqa: SIM115
        writer = csv.DictWriter(out, fieldnames=list(rows[0]) if rows else [])
        writer.writeheader()
        writer.writerows(rows)
        if args.output:
            out.close()
    print(json.dumps(summary), file=sys.stderr if not args.output else sys.stdout)
    return 0


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value
