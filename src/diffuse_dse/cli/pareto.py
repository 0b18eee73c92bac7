"""``diffuse pareto``: print the non-dominated designs with real parameter values and QoR."""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Sequence

from optuna.trial import FrozenTrial

from diffuse_dse.cli._common import add_study_arguments, dump_json, open_target, print_table
from diffuse_dse.engine.records import config_of
from diffuse_dse.space import Space


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "pareto",
        help="print the Pareto-optimal designs of a study",
        description="Print the Pareto-optimal designs of a study, with real parameter values and QoR.",
        epilog="example: diffuse pareto examples/gemmini-asap7.yaml --csv > front.csv",
    )
    add_study_arguments(p)
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--csv", action="store_true", help="write CSV to stdout")
    fmt.add_argument("--json", action="store_true", help="write JSON to stdout")
    p.set_defaults(func=run)


def front_rows(space: Space, front: Sequence[FrozenTrial]) -> tuple[list[str], list[list[object]]]:
    """Column names and rows (trial, objectives, other metrics, parameters) of a front."""
    metric_names = list(space.objective_names)
    for t in front:
        metric_names += [m for m in t.user_attrs.get("metrics", {}) if m not in metric_names]
    columns = ["trial", *metric_names, *space.names]
    rows = []
    for t in sorted(front, key=lambda t: t.values[0]):
        metrics = t.user_attrs.get("metrics", dict(zip(space.objective_names, t.values, strict=True)))
        config = config_of(t, space)
        rows.append([t.number, *(metrics.get(m, "") for m in metric_names), *(config[n] for n in space.names)])
    return columns, rows


def print_front(space: Space, front: Sequence[FrozenTrial], title: str) -> None:
    columns, rows = front_rows(space, front)
    units = {o.name: o.unit for o in space.objectives}
    shown = ["trial", *space.objective_names, *space.names]
    index = [columns.index(c) for c in shown]
    header = [f"{c} [{units[c]}]" if units.get(c) else c for c in shown]
    print_table(title, header, [[row[i] for i in index] for row in rows])


def run(args: argparse.Namespace) -> int:
    from diffuse_dse.engine import pareto_trials

    study, space = open_target(args)
    front = pareto_trials(space, study.get_trials(deepcopy=False))
    columns, rows = front_rows(space, front)
    if args.csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        writer.writerows(rows)
    elif args.json:
        dump_json([dict(zip(columns, row, strict=True)) for row in rows])
    elif front:
        print_front(space, front, f"Pareto front of '{study.study_name}' ({len(front)} designs)")
    else:
        print("no completed, feasible design yet: the front is empty", file=sys.stderr)
    return 0
