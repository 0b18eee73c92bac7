"""``diffuse plot``: write one figure of a study as PNG or SVG (matplotlib), for papers."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from diffuse_dse.cli._common import add_study_arguments
from diffuse_dse.errors import UsageError

KINDS = ("pareto", "pareto3d", "hv", "parallel", "importance", "compare", "fronts")
"""pareto: pairwise projections; pareto3d: 3-D front; hv: hypervolume vs evaluations; parallel:
parallel coordinates of the Pareto designs; importance: per-objective parameter importance;
compare / fronts: hypervolume bands / union fronts per sampler of a bench storage."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plot", help="write one figure of a study (Pareto, hypervolume, ...) as PNG or SVG",
                       description="Write one figure of a study as PNG or SVG: the Pareto front (pareto, pareto3d), "
                                   "hypervolume vs evaluations (hv), parallel coordinates of the Pareto designs "
                                   "(parallel), parameter importance (importance), or, for a bench storage, the "
                                   "samplers' hypervolume bands (compare) and union fronts (fronts).",
                       epilog="example: diffuse plot examples/synthetic.yaml --kind pareto -o front.svg")
    add_study_arguments(p)
    p.add_argument("--kind", choices=KINDS, required=True, help="which figure")
    p.add_argument("-o", "--output", type=Path, required=True, help="the file to write: .png or .svg")
    p.add_argument("--importance", choices=("fanova", "ped-anova", "mdi"), default="fanova",
                   help="importance evaluator for --kind importance (default: fanova)")
    p.add_argument("--dpi", type=int, default=200, help="resolution of a PNG (default: 200)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    suffix = args.output.suffix.lower()
    if suffix not in (".png", ".svg"):
        raise UsageError(f"-o {args.output}: the file must end in .png or .svg.")
    if not args.output.parent.exists():
        raise UsageError(f"-o {args.output}: the folder {args.output.parent} does not exist.")
    from diffuse_dse.cli.report import open_studies
    from diffuse_dse.report import data as _data
    from diffuse_dse.report import figures

    studies = open_studies(args)
    bench = _data.Bench(studies) if _data.is_bench(studies) else None
    data = bench.pooled() if bench else studies[0]
    kind = args.kind
    if kind in ("compare", "fronts"):
        if bench is None:
            raise UsageError(f"--kind {kind} compares the samplers of a bench storage; '{data.name}' is one study. "
                             "Give a storage that holds several studies (and no --study).")
        fig = figures.bench_hv(bench) if kind == "compare" else figures.bench_fronts(bench)
    elif kind == "pareto":
        fig = figures.pareto_pairs(data)
    elif kind == "pareto3d":
        if len(data.space.objectives) < 3:
            raise UsageError(f"--kind pareto3d needs three objectives; '{data.space.name}' has "
                             f"{len(data.space.objectives)}. Use --kind pareto.")
        fig = figures.pareto_3d(data)
    elif kind == "hv":
        fig = figures.bench_hv(bench) if bench else figures.hv_history(data)
    elif kind == "parallel":
        fig = figures.parallel(data)
    else:
        from diffuse_dse.report.importance import param_importances

        fig = figures.importance(data.space, param_importances(data.space, data.trials, evaluator=args.importance),
                                 args.importance)
    figures.save(fig, args.output, dpi=args.dpi)
    print(f"wrote {args.output.resolve()}", file=sys.stderr)
    return 0
