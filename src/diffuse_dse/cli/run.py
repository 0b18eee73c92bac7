"""``diffuse run``: explore a design space with a sampler, up to a budget of evaluations."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from diffuse_dse.cli._common import parse_setting_values, positive_int
from diffuse_dse.errors import UsageError
from diffuse_dse.samplers import SAMPLERS

EXAMPLE = "example: diffuse run examples/gemmini-asap7.yaml --sampler diffuse --budget 100 --workers 2"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run",
        help="explore a design space up to a budget of evaluations",
        description="Explore a design space up to a budget of evaluations. Re-running resumes the study.",
        epilog=EXAMPLE,
    )
    p.add_argument("space", type=Path, metavar="SPACE.yaml", help="the design-space file")
    p.add_argument("--sampler", choices=SAMPLERS, default="diffuse", help="the sampler (default: diffuse)")
    p.add_argument(
        "--budget",
        type=positive_int("--budget"),
        required=True,
        help="total evaluations, cache hits and failures included",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of every random choice (default: 0)")
    p.add_argument(
        "--workers",
        type=positive_int("--workers"),
        default=None,
        help="evaluations run at once, in separate processes (default: 1, or the Dask workers with --dask)",
    )
    p.add_argument(
        "--dask",
        metavar="ADDRESS",
        help="run evaluations on Dask: local:N starts N workers on 127.0.0.1, "
        "tcp://HOST:PORT joins a running scheduler (see docs/scale-out.md)",
    )
    p.add_argument("--storage", help="an Optuna storage URL or SQLite file (default: ./<space>.db)")
    p.add_argument("--study", help="the study name (default: the space's name)")
    p.add_argument(
        "--evaluator",
        help="run another evaluator than the space file's (its settings come from the file's 'evaluators')",
    )
    p.add_argument(
        "--option", action="append", default=[], metavar="KEY=VALUE", help="override an evaluator setting (repeatable)"
    )
    p.add_argument("--artifacts", type=Path, help="folder for per-trial artifacts (default: beside the database)")
    p.add_argument(
        "--pretrain",
        metavar="SOURCE",
        help="with --sampler diffuse: pretrain on SOURCE before any evaluation: a CSV file, a study "
        "(DB[#STUDY] or URL[#STUDY]) on the same space, or evaluator:NAME for many cheap evaluations "
        "(e.g. evaluator:gemmini-model)",
    )
    p.add_argument("--quiet", action="store_true", help="plain log lines instead of a progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from diffuse_dse.engine import open_study
    from diffuse_dse.engine.lock import DriverLock
    from diffuse_dse.engine.study import default_storage, storage_url
    from diffuse_dse.evaluators import make_evaluator
    from diffuse_dse.space import load_space

    space = load_space(args.space)
    if args.pretrain and args.sampler != "diffuse":
        raise UsageError(f"--pretrain works with --sampler diffuse only, not with --sampler {args.sampler}.")
    if args.dask is not None:
        from diffuse_dse.engine.dask import parse_address

        parse_address(args.dask)  # a bad address is a usage error before anything is opened
    evaluator = make_evaluator(space, args.evaluator, parse_setting_values(args.option))
    url = storage_url(args.storage) if args.storage else default_storage(space)
    name = args.study or space.name
    settings = {
        "space_name": space.name,
        "space_path": str(space.path),
        "space_source": space.source,
        "evaluator": evaluator.name,
        "evaluator_settings": evaluator.identity()["settings"],
        "sampler": args.sampler,
        "seed": args.seed,
        "pretrain": args.pretrain,
    }
    study = open_study(url, name, space, settings)
    with DriverLock(url, name, study):  # a second driver on this study is refused here (exit 2)
        return _drive(args, space, evaluator, study, url, name)


def _drive(args: argparse.Namespace, space, evaluator, study, url: str, name: str) -> int:
    from optuna.exceptions import StorageInternalError
    from sqlalchemy.exc import SQLAlchemyError

    from diffuse_dse.cli.pareto import print_front
    from diffuse_dse.engine import explore, make_executor, pareto_trials
    from diffuse_dse.engine.progress import make_reporter
    from diffuse_dse.engine.study import artifacts_root, session_seed
    from diffuse_dse.errors import StorageError
    from diffuse_dse.samplers import make_sampler

    seed = session_seed(args.seed, len(study.get_trials(deepcopy=False)))
    options = {"pretrain": pretrain_source(args.pretrain, space)} if args.pretrain else None
    study.sampler = make_sampler(args.sampler, space, seed=seed, budget=args.budget, options=options)
    artifacts = args.artifacts.resolve() / name if args.artifacts else artifacts_root(url, name)
    executor = make_executor(args.workers or 1, args.dask)
    print(f"study '{name}' in {url}", file=sys.stderr)
    workers = args.workers or getattr(executor, "slots", 1)
    where = f" on Dask {executor.scheduler_address}" if args.dask else ""
    print(
        f"sampler {args.sampler} (seed {args.seed}), evaluator {evaluator.name}, budget {args.budget}, "
        f"workers {workers}{where}; artifacts under {artifacts}",
        file=sys.stderr,
    )
    try:
        summary = explore(
            study,
            space,
            evaluator,
            budget=args.budget,
            workers=workers,
            executor=executor,
            artifacts=artifacts,
            reporter=make_reporter(space, args.quiet),
        )
    except (StorageInternalError, SQLAlchemyError) as exc:
        raise StorageError(
            f"the storage {url} failed during the run ({str(exc).splitlines()[0]}); what was told "
            "before is kept. Fix the storage and run again to resume."
        ) from None
    finally:
        executor.shutdown()
    print(
        f"done: {summary.spent} of {args.budget} evaluations spent; this session evaluated {summary.evaluated}, "
        f"failed {summary.failed}, cache hits {summary.cache_hits}, infeasible proposals skipped "
        f"{summary.infeasible}, recovered {summary.recovered}, re-run {summary.rerun}",
        file=sys.stderr,
    )
    front = pareto_trials(space, study.get_trials(deepcopy=False))
    if not front:
        print(
            "no design completed successfully: there is no Pareto front and no best design. "
            "See `diffuse status` for the failure reasons.",
            file=sys.stderr,
        )
        return 1
    print(f"hypervolume {summary.hypervolume:.6g}", file=sys.stderr)
    print_front(space, front, f"Pareto front of '{name}' ({len(front)} designs)")
    return 0


def pretrain_source(text: str, space: Any) -> Any:
    """The DiffuSE pretrain source named on the command line (see ``--pretrain``)."""
    from diffuse_dse.engine.study import load_study, storage_url
    from diffuse_dse.evaluators import make_evaluator

    if text.startswith("evaluator:"):
        evaluator = make_evaluator(space, text.split(":", 1)[1])
        return getattr(evaluator, "evaluate_arrays", evaluator)
    if text.endswith(".csv"):
        if not Path(text).is_file():
            raise UsageError(f"--pretrain {text}: no such CSV file.")
        return text
    location, _, study = text.partition("#")
    return load_study(storage_url(location), study or None)
