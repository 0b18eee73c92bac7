"""The ``diffuse`` command line: one module per subcommand.

Each module in :data:`COMMANDS` exposes ``register(subparsers)``, which adds its parser and
sets ``func`` (taking the parsed arguments, returning an exit status). Data goes to stdout;
logs and progress go to stderr. A :class:`~diffuse_dse.errors.DiffuseError` prints one line
and exits with status 2; a traceback appears only with ``--debug``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from diffuse_dse.errors import DiffuseError

COMMANDS: list[str] = [
    "run",
    "evaluate",
    "space",
    "status",
    "pareto",
    "calibrate",
    "reference_front",
    "report",
    "plot",
    "replay",
    "bench",
]
"""Subcommand modules under ``diffuse_dse.cli``, in the order ``--help`` lists them."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="diffuse", description="Design-space exploration of DNN accelerators across hardware and EDA parameters."
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        importlib.import_module(f"diffuse_dse.cli.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except DiffuseError as exc:
        if args.debug:
            raise
        print(f"diffuse {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"diffuse {args.command}: interrupted", file=sys.stderr)
        return 130
