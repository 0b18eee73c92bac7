"""``diffuse evaluate``: evaluate one configuration and print its QoR."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from diffuse_dse.cli._common import dump_json, parse_assignments, parse_setting_values, print_table
from diffuse_dse.errors import EvaluationError, UsageError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate",
        help="evaluate one configuration (the default design unless --set) and print its QoR",
        description="Evaluate one configuration (the space's default design unless --set changes it) "
        "and print its QoR.",
        epilog="example: diffuse evaluate examples/gemmini-asap7.yaml --set mesh_rows=8 --set mesh_cols=8 "
        "--evaluator asap7",
    )
    p.add_argument("space", type=Path, metavar="SPACE.yaml", help="the design-space file")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="a parameter value (repeatable)")
    p.add_argument("--evaluator", help="another evaluator than the space file's")
    p.add_argument(
        "--option", action="append", default=[], metavar="KEY=VALUE", help="override an evaluator setting (repeatable)"
    )
    p.add_argument("--artifacts", type=Path, help="folder for the artifacts (default: a new temporary folder)")
    p.add_argument("--json", action="store_true", help="print the configuration and QoR as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from diffuse_dse.engine import evaluate_task
    from diffuse_dse.evaluators import make_evaluator
    from diffuse_dse.space import load_space

    space = load_space(args.space)
    config = space.default_config()
    for name, text in parse_assignments(args.set, "--set").items():
        if name not in space.names:
            raise UsageError(
                f"--set {name}=...: the space has no parameter '{name}'; it has: {', '.join(space.names)}."
            )
        try:
            config[name] = space.parameter(name).coerce(text)
        except ValueError as exc:
            raise UsageError(f"--set {name}={text}: {exc}.") from None
    broken = space.violated(config)
    if broken:
        raise UsageError(f"the configuration breaks the constraint(s) {'; '.join(broken)}; change it with --set.")
    evaluator = make_evaluator(space, args.evaluator, parse_setting_values(args.option))
    workdir = args.artifacts.resolve() if args.artifacts else Path(tempfile.mkdtemp(prefix="diffuse-evaluate-"))
    print(f"evaluating with {evaluator.name}; artifacts in {workdir}", file=sys.stderr)
    start = time.perf_counter()
    required = space.objective_names + tuple(n for c in space.outcome_constraints for n in c.expression.names)
    outcome = evaluate_task(evaluator, config, str(workdir), required)
    if outcome.metrics is None:
        raise EvaluationError(f"the evaluation failed: {outcome.reason} (artifacts in {workdir})")
    if args.json:
        dump_json({"config": config, "metrics": outcome.metrics, "artifacts": str(workdir)})
    else:
        units = {o.name: o.unit for o in space.objectives}
        print_table("configuration", ["parameter", "value"], [[k, v] for k, v in config.items()])
        print_table("QoR", ["metric", "value", "unit"], [[k, v, units.get(k, "")] for k, v in outcome.metrics.items()])
    for c in space.outcome_constraints:
        if c.violation(outcome.metrics) > 0:
            print(f"note: the outcome constraint {c.text} does not hold", file=sys.stderr)
    print(f"evaluated in {time.perf_counter() - start:.2f} s; artifacts in {workdir}", file=sys.stderr)
    return 0
