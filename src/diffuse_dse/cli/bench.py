"""``diffuse bench``: run samplers side by side over seeds and compare them against a reference front."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from diffuse_dse.cli._common import parse_setting_values, positive_int
from diffuse_dse.errors import UsageError

EXAMPLE = (
    "example: diffuse bench --space benchmarks/tasks/synthetic.yaml --samplers diffuse,tpe,random "
    "--seeds 3 --budget 100 -o bench-synthetic"
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bench",
        help="compare samplers over seeds on one space, against a reference front",
        description="Run every sampler with every seed as its own study in one storage, then write "
        "per-evaluation metrics (normalized hypervolume, IGD+, ADRS), a Markdown table of "
        "median and IQR across seeds, and figures. Re-running skips finished runs and "
        "resumes partial ones.",
        epilog=EXAMPLE,
    )
    p.add_argument(
        "--space",
        type=Path,
        required=True,
        metavar="SPACE.yaml",
        help="the design-space file (every objective needs a 'ref')",
    )
    p.add_argument(
        "--samplers",
        default="diffuse,botorch,gp,tpe,nsga2,random,sobol",
        help="comma-separated sampler names (default: all seven)",
    )
    p.add_argument("--seeds", type=positive_int("--seeds"), default=3, help="seeds 0..K-1 per sampler (default: 3)")
    p.add_argument("--seed-list", help="explicit comma-separated seeds instead of --seeds (e.g. 3,4)")
    p.add_argument(
        "--budget",
        type=positive_int("--budget"),
        required=True,
        help="evaluations per run, cache hits and failures included",
    )
    p.add_argument(
        "--workers", type=positive_int("--workers"), default=1, help="evaluations at once per run (default: 1)"
    )
    p.add_argument("--storage", help="an Optuna storage URL or SQLite file (default: OUTDIR/bench.db)")
    p.add_argument("-o", "--out", type=Path, help="the output folder (default: ./bench-<space name>)")
    p.add_argument("--evaluator", help="another evaluator than the space file's")
    p.add_argument(
        "--option", action="append", default=[], metavar="KEY=VALUE", help="override an evaluator setting (repeatable)"
    )
    p.add_argument("--no-run", action="store_true", help="only recompute the outputs from what the storage holds")
    p.add_argument(
        "--no-report", action="store_true", help="only run the studies; write the outputs later with --no-run"
    )
    p.add_argument("--quiet", action="store_true", help="plain log lines instead of a progress bar")
    p.set_defaults(func=run)


def _list(text: str, option: str) -> list[str]:
    items = [s.strip() for s in text.split(",") if s.strip()]
    if not items:
        raise UsageError(f"{option} must list at least one name. Got {text!r}.")
    if len(set(items)) != len(items):
        raise UsageError(f"{option} lists a name twice. Got {text!r}.")
    return items


def run(args: argparse.Namespace) -> int:
    from diffuse_dse.bench import BenchProgress, Plan, analyze, run_plan, write_all
    from diffuse_dse.engine.study import storage_url
    from diffuse_dse.evaluators import make_evaluator
    from diffuse_dse.samplers import SAMPLERS
    from diffuse_dse.space import load_space

    samplers = _list(args.samplers, "--samplers")
    unknown = [s for s in samplers if s not in SAMPLERS]
    if unknown:
        raise UsageError(f"--samplers: unknown sampler '{unknown[0]}'. Choose from: {', '.join(SAMPLERS)}.")
    if args.seed_list:
        try:
            seeds = [int(s) for s in _list(args.seed_list, "--seed-list")]
        except ValueError:
            raise UsageError(f"--seed-list takes whole numbers separated by commas. Got {args.seed_list!r}.") from None
    else:
        seeds = list(range(args.seeds))
    space = load_space(args.space)
    missing = [o.name for o in space.objectives if o.ref is None]
    if missing:
        raise UsageError(
            f"{args.space}: objectives {', '.join(missing)} have no 'ref'; `diffuse bench` needs a fixed "
            "hypervolume reference point. Add 'ref: WORST_VALUE' to each objective."
        )
    evaluator = make_evaluator(space, args.evaluator, parse_setting_values(args.option))
    out = (args.out or Path(f"bench-{space.name}")).resolve()
    out.mkdir(parents=True, exist_ok=True)
    url = storage_url(args.storage) if args.storage else storage_url(str(out / "bench.db"))
    plan = Plan(space, evaluator, tuple(samplers), tuple(seeds), args.budget, args.workers, url, out / "artifacts")
    print(
        f"bench '{space.name}': samplers {', '.join(samplers)}; seeds {', '.join(map(str, seeds))}; budget "
        f"{args.budget}; workers {args.workers}; evaluator {evaluator.name}; storage {url}; outputs in {out}",
        file=sys.stderr,
    )
    if args.no_run and args.no_report:
        raise UsageError("--no-run and --no-report together leave nothing to do; give one of them.")
    if not args.no_run:
        run_plan(plan, BenchProgress(args.quiet))
    if args.no_report:
        return 0
    results = analyze(plan, out)
    if not results.series:
        raise UsageError(f"{url} holds no run of this benchmark yet; run it without --no-run first.")
    sys.stdout.write(write_all(results, out))
    written = sorted(p.name for p in out.iterdir() if p.is_file() and p.suffix in (".csv", ".md", ".json", ".png"))
    print(f"wrote {', '.join(written)} to {out}", file=sys.stderr)
    return 0
