"""Pieces the subcommands share: finding the study, parsing ``NAME=VALUE``, printing tables."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.table import Table

from diffuse_dse.engine.records import STUDY_ATTR
from diffuse_dse.errors import UsageError
from diffuse_dse.space import Space, load_space


def add_study_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "target", metavar="SPACE_OR_DB", help="the space file (its default study) or a study database (.db)"
    )
    parser.add_argument("--storage", help="an Optuna storage URL or SQLite file (default: ./<space>.db)")
    parser.add_argument("--study", help="the study name (default: the space's name, or the only study stored)")


def open_target(args: argparse.Namespace) -> tuple[Any, Space]:
    """The study named by ``target`` / ``--storage`` / ``--study``, and its space."""
    from diffuse_dse.engine.study import default_storage, load_study, storage_url

    target = Path(args.target)
    space: Space | None = None
    if target.suffix in (".yaml", ".yml"):
        space = load_space(target)
        url = storage_url(args.storage) if args.storage else default_storage(space)
        name = args.study or space.name
    else:
        url = storage_url(args.storage or args.target)
        name = args.study
    study = load_study(url, name)
    if space is None:
        space = space_of(study)
    return study, space


def space_of(study: Any) -> Space:
    """The space stored with a study by ``diffuse run``."""
    import tempfile

    settings = study.user_attrs.get(STUDY_ATTR)
    if not settings or "space_source" not in settings:
        raise UsageError(f"The study '{study.study_name}' was not made by `diffuse run`; give its space file instead.")
    original = Path(settings.get("space_path", "space.yaml"))
    if original.exists() and original.read_text(encoding="utf-8") == settings["space_source"]:
        return load_space(original)
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / original.name
        copy.write_text(settings["space_source"], encoding="utf-8")
        return load_space(copy)


def parse_assignments(items: Sequence[str], option: str) -> dict[str, str]:
    """``["a=1", "b=x"]`` as a dict; a malformed item is a usage error naming ``option``."""
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"{option} takes NAME=VALUE. Got {item!r}.")
        out[name.strip()] = value
    return out


def parse_setting_values(items: Sequence[str]) -> dict[str, Any]:
    """Evaluator settings from ``--option key=value``; values are read as YAML scalars."""
    return {k: yaml.safe_load(v) if v.strip() else "" for k, v in parse_assignments(items, "--option").items()}


def print_table(
    title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], *, styles: Mapping[str, str] | None = None
) -> None:
    """A table on stdout at its natural width: rows are never folded, so wide fronts stay
    readable (page them with ``less -S``)."""
    table = Table(title=title, title_justify="left", header_style="bold")
    for col in columns:
        table.add_column(col, style=(styles or {}).get(col), no_wrap=True)
    cells = [[fmt(v) for v in row] for row in rows]
    for row in cells:
        table.add_row(*row)
    natural = sum(max(len(str(c)), *(len(r[i]) for r in cells)) + 3 for i, c in enumerate(columns)) + 1 if cells else 80
    Console(file=sys.stdout, width=max(natural, len(title), 80)).print(table)


def fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def dump_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def whole_number(option: str, minimum: int = 1) -> Callable[[str], int]:
    """An argparse type for a whole number >= ``minimum``, whose error names ``option``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{option} must be a whole number >= {minimum}. Got {text!r}.") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{option} must be a whole number >= {minimum}. Got {value}.")
        return value

    return parse


def positive_int(option: str) -> Callable[[str], int]:
    """An argparse type for a whole number >= 1."""
    return whole_number(option, 1)
