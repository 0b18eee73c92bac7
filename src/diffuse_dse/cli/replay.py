"""``diffuse replay``: write one design's Verilog, flow scripts and settings, and reproduce its QoR."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from diffuse_dse.cli._common import add_study_arguments, fmt, open_target, print_table, whole_number
from diffuse_dse.cli.report import _where

EXAMPLE = "example: diffuse replay examples/gemmini-asap7.yaml 42 -o replay-42"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("replay", help="write a design's Verilog, flow scripts and settings, and re-run it",
                       description="Write what reproduces one design of a study (its configuration, the evaluator "
                                   "settings as run, the generated Verilog and the exact flow scripts, or a command "
                                   "evaluator's argv and input file), evaluate it again, and compare the QoR with "
                                   "the stored one. Exits 1 when they differ.",
                       epilog=EXAMPLE)
    add_study_arguments(p)
    p.add_argument("trial", type=whole_number("TRIAL", 0), metavar="TRIAL",
                   help="the trial number (see `diffuse pareto`)")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="DIR", help="the folder to write (new or empty)")
    p.add_argument("--no-run", action="store_true", help="write the files only; do not evaluate again")
    p.add_argument("--use-cache", action="store_true",
                   help="let the evaluator reuse its result cache (by default the tools really run again)")
    p.add_argument("--rtol", type=float, default=1e-6, help="relative tolerance of the comparison (default: 1e-6)")
    p.add_argument("--force", action="store_true", help="replace DIR if it is not empty")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from diffuse_dse.report.replay import find_trial, replay_trial

    study, space = open_target(args)
    find_trial(study, args.trial)
    run_again = not args.no_run
    if run_again:
        print(f"replaying trial {args.trial} of '{study.study_name}' into {args.output} ...", file=sys.stderr)
    result = replay_trial(study, space, args.trial, args.output, run=run_again, use_cache=args.use_cache,
                          rtol=args.rtol, force=args.force, storage=_where(args, study))
    folder = result.folder.resolve()
    if not result.ran:
        print(f"wrote the files of trial {args.trial} ({result.evaluator}) to {folder}; re-run with {folder}/replay.sh")
        return 0
    out = result.outcome
    assert out is not None
    if result.stored is None or out.metrics is None:
        print(f"stored:     {'QoR' if result.stored is not None else 'FAILED: ' + str(result.stored_reason)}")
        print(f"reproduced: {'QoR' if out.metrics is not None else 'FAILED: ' + str(out.reason)}")
    else:
        bad = {m.metric for m in result.mismatches}
        rows = []
        for key in sorted(set(result.stored) | set(out.metrics)):
            a, b = result.stored.get(key), out.metrics.get(key)
            diff = abs(a - b) / max(abs(a), 1e-300) if a is not None and b is not None else float("nan")
            rows.append([key, "" if a is None else a, "" if b is None else b, f"{diff:.2e}",
                         "DIFFERS" if key in bad else "same"])
        print(f"trial {args.trial}: stored vs reproduced QoR ({result.evaluator}, re-run took {out.seconds:.1f} s)")
        print_table("", ["metric", "stored", "reproduced", "rel. diff", ""], rows)
    if result.reproduced:
        print(f"reproduced: the re-run matches the stored result (rtol {fmt(args.rtol)}). Files in {folder}")
        return 0
    if result.stored is not None and out.metrics is None:
        why = "the stored trial completed, but the re-run failed"
    elif result.stored is None:
        why = "the stored trial failed, but the re-run completed"
    else:
        why = f"{', '.join(m.metric for m in result.mismatches)} differ beyond rtol {fmt(args.rtol)}"
    print(f"diffuse replay: NOT reproduced: {why}. Files in {folder}", file=sys.stderr)
    return 1
