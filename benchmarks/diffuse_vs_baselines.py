"""DiffuSE against Optuna's TPE, GP, NSGA-II and random search (and optionally BoTorch qLogNEHVI).

Each sampler runs a plain ask/tell loop on a problem for a few seeds; a proposal that breaks
a parameter constraint is told PRUNED and not counted (as the engine does). The figure is the
median hypervolume over seeds after 50 and 100 evaluations. Run::

    python benchmarks/diffuse_vs_baselines.py --problem synthetic --seeds 0 1 2 --budget 100
    python benchmarks/diffuse_vs_baselines.py --problem gemmini --seeds 0 1 2 --budget 100

``synthetic`` is ``examples/synthetic.yaml`` with ``synthetic_objectives``; ``gemmini`` is
``examples/gemmini-asap7.yaml`` with the analytical ``gemmini-model`` evaluator. Hypervolume uses
the objectives' ``ref`` from the space file; if an objective has none, each objective is
min-max normalized over every result of every run and the reference is 1.1.
Samplers are built by :func:`diffuse_dse.samplers.make_sampler` with the budget, so they share
the project's initial-design rule. ``diffuse-pretrain`` (synthetic only) is DiffuSE pretrained
on 4096 evaluations of a deliberately biased cheap model (:func:`biased_synthetic`)::

    python benchmarks/diffuse_vs_baselines.py --samplers diffuse diffuse-pretrain --seeds 0 1 2 --budget 50
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import moocore
import numpy as np
import optuna
from optuna.trial import TrialState

from diffuse_dse.samplers import make_sampler
from diffuse_dse.space import Space, load_space

ROOT = Path(__file__).resolve().parents[1]
CHECKPOINTS = (20, 50, 100)


def problem(name: str) -> tuple[Space, Callable[[dict], list[float] | None]]:
    if name == "synthetic":
        from diffuse_dse.evaluators.synthetic import synthetic_objectives

        space = load_space(ROOT / "examples" / "synthetic.yaml")

        def evaluate(config: dict) -> list[float] | None:
            out = synthetic_objectives({k: np.asarray([v]) for k, v in config.items()})
            return [float(out[o.name][0]) for o in space.objectives]

        return space, evaluate
    if name == "gemmini":
        from diffuse_dse.errors import EvaluationError
        from diffuse_dse.evaluators.gemmini_model import GemminiModelEvaluator

        space = load_space(ROOT / "examples" / "gemmini-asap7.yaml")
        evaluator = GemminiModelEvaluator(space.evaluator.settings_for("gemmini-model"), base_dir=space.base_dir)
        workdir = Path("/tmp/diffuse-bench")
        workdir.mkdir(exist_ok=True)

        def evaluate(config: dict) -> list[float] | None:
            try:
                metrics = evaluator.evaluate(config, workdir)
            except EvaluationError:
                return None
            return [float(metrics[o.name]) for o in space.objectives]

        return space, evaluate
    raise SystemExit(f"unknown problem {name!r}; choose synthetic or gemmini")


def biased_synthetic(arrays: dict) -> dict:
    """A cheap, wrong model of the synthetic problem for ``diffuse-pretrain``: the distance
    optimum moved (``c`` read 0.08 too high, ``e`` a factor 2 off) and every objective 10 % high."""
    from diffuse_dse.evaluators.synthetic import synthetic_objectives

    shifted = dict(arrays, c=np.clip(np.asarray(arrays["c"], dtype=float) + 0.08, 0, 1),
                   e=np.clip(np.asarray(arrays["e"], dtype=float) * 2.0, 1e-3, 1))
    return {k: 1.1 * v for k, v in synthetic_objectives(shifted).items()}


def make(sampler_name: str, space: Space, seed: int, budget: int) -> optuna.samplers.BaseSampler:
    if sampler_name == "diffuse-pretrain":
        if space.name != "synthetic":
            raise SystemExit("diffuse-pretrain is defined for the synthetic problem only")
        from diffuse_dse.samplers._diffuse import DiffuSESampler

        return DiffuSESampler(space=space, seed=seed, budget=budget, pretrain=biased_synthetic)
    return make_sampler(sampler_name, space, seed=seed, budget=budget)


def run(space: Space, evaluate: Callable[[dict], list[float] | None], sampler_name: str, seed: int,
        budget: int) -> tuple[np.ndarray, float]:
    """The objective values (``budget x m``, NaN rows for failures) in evaluation order, and seconds."""
    sampler = make(sampler_name, space, seed=seed, budget=budget)
    directions = ["minimize" if o.direction == "min" else "maximize" for o in space.objectives]
    study = optuna.create_study(directions=directions, sampler=sampler)
    fixed = {p.optuna_key: p.distribution() for p in space.parameters}
    values: list[list[float]] = []
    start = time.perf_counter()
    asks = 0
    while len(values) < budget and asks < 50 * budget:
        asks += 1
        trial = study.ask(fixed)
        config = {p.name: p.from_optuna(trial.params[p.optuna_key]) for p in space.parameters}
        if not space.is_feasible(config):
            study.tell(trial, state=TrialState.PRUNED)
            continue
        result = evaluate(config)
        if result is None:
            study.tell(trial, state=TrialState.FAIL)
            values.append([np.nan] * len(space.objectives))
        else:
            study.tell(trial, result)
            values.append(result)
    return np.asarray(values, dtype=float), time.perf_counter() - start


def hypervolumes(values: np.ndarray, space: Space, norm: tuple[np.ndarray, np.ndarray] | None,
                 checkpoints: tuple[int, ...]) -> dict[int, float]:
    signs = np.array([o.sign for o in space.objectives])
    z = values * signs
    if norm is None:
        ref = np.array([o.ref for o in space.objectives], dtype=float) * signs
    else:
        lo, width = norm
        z = (z - lo) / width
        ref = np.full(len(signs), 1.1)
    out = {}
    for n in checkpoints:
        pts = z[:n]
        pts = pts[np.isfinite(pts).all(1) & (pts < ref).all(1)]
        out[n] = float(moocore.hypervolume(pts, ref=ref)) if len(pts) else 0.0
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problem", default="synthetic")
    parser.add_argument("--samplers", nargs="+", default=["diffuse", "tpe", "gp", "nsga2", "random"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--budget", type=int, default=100)
    parser.add_argument("--out", help="write every run's values and times to this JSON file")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    import torch

    torch.set_num_threads(1)
    space, evaluate = problem(args.problem)
    runs: dict[str, list[tuple[np.ndarray, float]]] = {}
    for name in args.samplers:
        for seed in args.seeds:
            values, seconds = run(space, evaluate, name, seed, args.budget)
            runs.setdefault(name, []).append((values, seconds))
            print(f"{name} seed {seed}: {seconds:.0f} s", file=sys.stderr, flush=True)
    norm = None
    if any(o.ref is None for o in space.objectives):
        signs = np.array([o.sign for o in space.objectives])
        pooled = np.vstack([v for rs in runs.values() for v, _ in rs]) * signs
        pooled = pooled[np.isfinite(pooled).all(1)]
        lo = pooled.min(0)
        norm = (lo, np.maximum(pooled.max(0) - lo, 1e-12))
    checkpoints = tuple(n for n in CHECKPOINTS if n <= args.budget)
    print(f"\n{args.problem}: median hypervolume over seeds {args.seeds} (min-max over seeds in brackets)\n")
    print("| sampler | " + " | ".join(f"HV @ {n}" for n in checkpoints) + " | seconds per run |")
    print("|---|" + "---|" * (len(checkpoints) + 1))
    table = {}
    for name, rs in runs.items():
        hvs = [hypervolumes(v, space, norm, checkpoints) for v, _ in rs]
        cells = []
        for n in checkpoints:
            col = [h[n] for h in hvs]
            cells.append(f"{statistics.median(col):.3f} [{min(col):.3f}, {max(col):.3f}]")
        secs = statistics.median(s for _, s in rs)
        table[name] = {"hv": hvs, "seconds": [s for _, s in rs]}
        print(f"| {name} | " + " | ".join(cells) + f" | {secs:.0f} |")
    if args.out:
        Path(args.out).write_text(json.dumps({"problem": args.problem, "seeds": args.seeds, "table": table}, indent=1))


if __name__ == "__main__":
    main()
