"""``diffuse status``: counts, failures and the best value per objective of a study."""

from __future__ import annotations

import argparse
from collections import Counter

from optuna.trial import TrialState

from diffuse_dse.cli._common import add_study_arguments, dump_json, open_target, print_table


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "status",
        help="summarize a study: counts, failures, best values, hypervolume",
        description="Summarize a study: trial counts, failure reasons, best value per objective and hypervolume.",
        epilog="example: diffuse status examples/gemmini-asap7.yaml",
    )
    add_study_arguments(p)
    p.add_argument("--json", action="store_true", help="write JSON to stdout")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from diffuse_dse.engine import pareto_trials, study_hypervolume
    from diffuse_dse.engine.records import completed, is_feasible, is_spent, run_settings

    study, space = open_target(args)
    trials = study.get_trials(deepcopy=False)
    done = completed(trials)
    feasible = [t for t in done if is_feasible(t)]
    counts = {
        "evaluations": sum(1 for t in trials if is_spent(t)),
        "complete": len(done),
        "cache_hits": sum(1 for t in done if "cache_hit" in t.user_attrs),
        "failed": sum(1 for t in trials if t.state == TrialState.FAIL and is_spent(t)),
        "infeasible_skipped": sum(1 for t in trials if t.state == TrialState.PRUNED),
        "running": sum(1 for t in trials if t.state == TrialState.RUNNING),
        "outcome_infeasible": len(done) - len(feasible),
    }
    reasons = Counter(
        t.user_attrs.get("fail_reason", "unknown") for t in trials if t.state == TrialState.FAIL and is_spent(t)
    )
    best = {}
    for j, o in enumerate(space.objectives):
        if feasible:
            pick = min(feasible, key=lambda t: o.sign * t.values[j])
            best[o.name] = {"value": pick.values[j], "trial": pick.number}
    summary = {
        "study": study.study_name,
        "settings": {k: v for k, v in run_settings(study).items() if k not in ("space_source", "fingerprint")},
        "counts": counts,
        "pareto_size": len(pareto_trials(space, trials)),
        "hypervolume": study_hypervolume(space, trials),
        "best": best,
        "fail_reasons": dict(reasons),
    }
    if args.json:
        dump_json(summary)
        return 0
    settings = summary["settings"]
    print(
        f"study '{study.study_name}': sampler {settings.get('sampler', '?')} (seed {settings.get('seed', '?')}), "
        f"evaluator {settings.get('evaluator', '?')}"
    )
    print_table("trials", ["what", "count"], [[k.replace("_", " "), v] for k, v in counts.items()])
    if best:
        print_table(
            "best per objective",
            ["objective", "value", "trial"],
            [[k, v["value"], v["trial"]] for k, v in best.items()],
        )
    else:
        print("no completed, feasible design: no best value to report")
    print(f"Pareto designs: {summary['pareto_size']}; hypervolume: {summary['hypervolume']:.6g}")
    if reasons:
        print_table("failure reasons", ["count", "reason"], [[n, r] for r, n in reasons.most_common(10)])
    return 0
