"""``diffuse space show``: the parameters of a space as a table, and the size of the space."""

from __future__ import annotations

import argparse
from pathlib import Path

from diffuse_dse.cli._common import print_table


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "space",
        help="inspect a design-space file",
        description="Inspect a design-space file.",
        epilog="example: diffuse space show examples/gemmini-asap7.yaml",
    )
    inner = p.add_subparsers(dest="space_command", metavar="ACTION", required=True)
    show = inner.add_parser(
        "show",
        help="print the parameters as a table and the size of the space",
        description="Print the parameters as a table and the size of the space.",
        epilog="example: diffuse space show examples/gemmini-asap7.yaml",
    )
    show.add_argument("space", type=Path, metavar="SPACE.yaml", help="the design-space file")
    show.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from diffuse_dse.space import load_space

    space = load_space(args.space)
    rows = []
    for p in space.parameters:
        default = p.default if p.default is not None else f"(middle: {p.middle()})"
        rows.append([p.name, p.layer, p.kind, p.describe_values() + (f" {p.unit}" if p.unit else ""), default])
    print_table(
        f"{space.name}: {len(space.parameters)} parameters "
        f"({sum(p.layer == 'hw' for p in space.parameters)} hw, {sum(p.layer == 'eda' for p in space.parameters)} eda)",
        ["name", "layer", "kind", "values", "default"],
        rows,
    )
    if space.constraints:
        print("constraints:\n" + "\n".join(f"  {c.text}" for c in space.constraints))
    print(
        "objectives:\n"
        + "\n".join(
            f"  {o.direction} {o.name}"
            + (f" [{o.unit}]" if o.unit else "")
            + (f" (ref {o.ref:g})" if o.ref is not None else "")
            for o in space.objectives
        )
    )
    if space.outcome_constraints:
        print("outcome constraints:\n" + "\n".join(f"  {c.text}" for c in space.outcome_constraints))
    print(f"evaluator: {space.evaluator.name}")
    floats = [p.name for p in space.parameters if not p.is_discrete]
    size = f"{space.discrete_size:,.0f} discrete configurations"
    if floats:
        size += f" (times the continuous range of {', '.join(floats)})"
    feasible, exact = space.feasible_size()
    share = feasible / space.discrete_size if space.discrete_size else 0.0
    how = "counted exactly" if exact else "estimated from 200,000 uniform samples"
    print(f"size: {size}; feasible: {feasible:,.0f} ({share:.1%}, {how})")
    return 0
