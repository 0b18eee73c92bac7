"""``diffuse report``: write one self-contained HTML report of a study or a bench storage."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from diffuse_dse.cli._common import add_study_arguments, open_target, space_of
from diffuse_dse.errors import UsageError

EXAMPLE = "example: diffuse report examples/synthetic.yaml -o synthetic-report.html"
IMPORTANCE = ("fanova", "ped-anova", "mdi", "none")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="write a self-contained HTML report of a study (plots, front, importance)",
                       description="Write one self-contained HTML report of a study: Pareto front, hypervolume, "
                                   "parallel coordinates, a sortable design table, parameter importance, failures, "
                                   "the space and the run settings. Given a storage holding several studies (a bench), "
                                   "it also compares the samplers. The file opens offline.",
                       epilog=EXAMPLE)
    add_study_arguments(p)
    p.add_argument("-o", "--output", type=Path, help="the HTML file to write (default: <study>-report.html)")
    p.add_argument("--importance", choices=IMPORTANCE, default="fanova",
                   help="Optuna importance evaluator for per-objective parameter importance (default: fanova)")
    p.add_argument("--images", choices=("svg", "png"), default="svg", help="how figures are embedded (default: svg)")
    p.set_defaults(func=run)


def open_studies(args: argparse.Namespace) -> list[Any]:
    """The study named by the arguments as a one-item list, or every study of a storage that
    holds several when no ``--study`` is given (a bench storage)."""
    from diffuse_dse.engine.records import STUDY_ATTR
    from diffuse_dse.engine.study import load_study, storage_url
    from diffuse_dse.report.data import StudyData

    target = Path(args.target)
    if target.suffix in (".yaml", ".yml") or args.study:
        study, space = open_target(args)
        return [StudyData.from_study(study, space, _where(args, study))]
    url = storage_url(args.storage or args.target)
    try:
        return [StudyData.from_study(*(lambda s: (s, space_of(s)))(load_study(url, None)), url)]
    except UsageError as exc:
        if "choose one with --study" not in str(exc):
            raise
    import optuna

    studies, spaces = [], {}
    for summary in optuna.get_all_study_summaries(url):
        settings = summary.user_attrs.get(STUDY_ATTR) or {}
        if "space_source" not in settings:
            continue
        study = optuna.load_study(study_name=summary.study_name, storage=url)
        source = settings["space_source"]
        if source not in spaces:
            spaces[source] = space_of(study)
        studies.append(StudyData.from_study(study, spaces[source], url))
    if not studies:
        raise UsageError(f"{url} holds no study made by `diffuse run` or `diffuse bench`.")
    if len(spaces) > 1:
        names = ", ".join(s.name for s in studies)
        raise UsageError(f"{url} holds studies of {len(spaces)} different design spaces ({names}); "
                         "choose one with --study.")
    return studies


def _where(args: argparse.Namespace, study: Any) -> str:
    storage = getattr(study, "_storage", None)
    storage = getattr(storage, "_backend", storage)  # optuna wraps an RDB storage in a cache
    url = getattr(getattr(storage, "engine", None), "url", None)
    return url.render_as_string(hide_password=True) if url is not None else str(args.storage or args.target)


def run(args: argparse.Namespace) -> int:
    from diffuse_dse.report.html import build_report

    studies = open_studies(args)
    name = studies[0].name if len(studies) == 1 else Path(args.target).stem + "-bench"
    output = args.output or Path(f"{name}-report.html")
    if output.parent and not output.parent.exists():
        raise UsageError(f"-o {output}: the folder {output.parent} does not exist.")
    what = f"{len(studies)} studies" if len(studies) > 1 else f"study '{studies[0].name}'"
    print(f"building the report of {what} ...", file=sys.stderr)
    build_report(studies, output, importance=args.importance, image_format=args.images)
    print(f"wrote {output.resolve()} ({output.stat().st_size / 1024:.0f} KiB); open it in a browser", file=sys.stderr)
    return 0
