"""``diffuse calibrate``: run the real flow on a designed sample and fit the gemmini-model to it."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from diffuse_dse.errors import UsageError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "calibrate", help="fit the gemmini-model's technology coefficients to the ASAP7 flow",
        description="Run the flow evaluator on Sobol points of SPACE plus corners and the default (skipping points "
                    "already in the data file), append the results to the CSV, fit the technology coefficients and "
                    "print the held-out error (median APE and Kendall tau for area, power and latency).",
        epilog="example: diffuse calibrate examples/gemmini-asap7.yaml --n 40 --max-dim 8")
    p.add_argument("space", metavar="SPACE", help="the design-space YAML file")
    p.add_argument("--n", type=int, default=32, help="Sobol points to add (before skipping known ones)")
    p.add_argument("--data", default="data/calibration/asap7.csv", help="the calibration CSV (appended to)")
    p.add_argument("--flow", default="asap7", help="the evaluator that is the ground truth")
    p.add_argument("--max-dim", type=int, default=None, help="leave out arrays larger than DIM x DIM")
    p.add_argument("--seed", type=int, default=0, help="seed of the Sobol design and the held-out split")
    p.add_argument("--fit-only", action="store_true", help="fit to the data already in the CSV; run nothing")
    p.add_argument("--out", default=None, help="where to write the fitted coefficients (default: the shipped file)")
    p.add_argument("--ridge", type=float, default=0.05, help="pull toward the first-principles coefficients")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import tempfile

    from diffuse_dse.evaluators.gemmini_model import calibration as cal
    from diffuse_dse.evaluators.gemmini_model.model import METRICS
    from diffuse_dse.evaluators.gemmini_model.technology import COEFFICIENTS_FILE, PRIOR_FILE, load_coefficients
    from diffuse_dse.evaluators.registry import make_evaluator
    from diffuse_dse.space import load_space

    if args.n < 0:
        raise UsageError(f"The '--n' option of `diffuse calibrate` must be a whole number >= 0. Got {args.n}.")
    space = load_space(args.space)
    data = Path(args.data)
    model = make_evaluator(space, "gemmini-model")
    workload = model.settings["workload"]
    if not args.fit_only:
        flow = make_evaluator(space, args.flow)
        configs = cal.design(space, args.n, seed=args.seed, max_dim=args.max_dim)

        def run_one(config: dict) -> dict:
            with tempfile.TemporaryDirectory() as tmp:
                return dict(flow.evaluate(config, Path(tmp)))

        added = cal.collect(space, configs, run_one, data, workload=workload, flow=args.flow, metrics=METRICS,
                            log=lambda s: print(s, file=sys.stderr))
        print(f"added {added} rows to {data}", file=sys.stderr)
    arrays, measured = cal.dataset(space, data, workload)
    n = len(measured[cal.TARGETS[0]])
    if n < 4:
        raise UsageError(f"{data} holds {n} rows for workload {workload}; the fit needs at least 4. Run more points.")
    train, test = cal.split(n, args.seed)
    prior = load_coefficients(PRIOR_FILE)  # first principles, so held-out rows never inform the start
    fitted = cal.fit(cal._subset(arrays, train), {k: v[train] for k, v in measured.items()}, prior,
                     workload=workload, ridge=args.ridge)
    report = {
        "rows": n, "train": len(train), "held_out": len(test), "workload": workload,
        "prior": cal.errors(cal._subset(arrays, test), {k: v[test] for k, v in measured.items()}, prior,
                            workload=workload),
        "fitted": cal.errors(cal._subset(arrays, test), {k: v[test] for k, v in measured.items()}, fitted,
                             workload=workload),
    }
    final = cal.fit(arrays, measured, prior, workload=workload, ridge=args.ridge)  # all rows, for shipping
    out = Path(args.out) if args.out else COEFFICIENTS_FILE
    out.write_text(json.dumps(final, indent=2) + "\n")
    print(f"wrote {out}", file=sys.stderr)
    for metric in cal.TARGETS:
        e = report["fitted"][metric]
        print(f"{metric:12s} held-out MdAPE {e['mdape_pct']:6.2f} %  Kendall tau {e['kendall_tau']:.3f}  "
              f"(n={e['n']}; prior {report['prior'][metric]['mdape_pct']:.1f} %)", file=sys.stderr)
    print(json.dumps(report))
    return 0
