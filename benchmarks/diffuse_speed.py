"""Time DiffuSE's model fit on 500 observations and its proposal of a batch of 8.

Targets (issue 5, on the 2-core development machine): training on 500 observations <= 15 s,
proposing a batch of 8 <= 3 s. Run::

    python benchmarks/diffuse_speed.py [--observations 500] [--batch 8] [--repeats 3] [--device cpu]

The observations are uniform feasible designs of ``examples/synthetic.yaml`` with their
synthetic objectives, told to an Optuna study. "train (cold)" is the first fit of the
denoiser, the predictor ensemble and the feasibility classifier; "train (warm)" a refit
warm-started from it; "propose" is targets, DDIM sampling with guidance, legalization and
batch selection, with fitted models. Torch runs on one intra-op thread (the sampler's default).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import optuna
from optuna.distributions import BaseDistribution

from diffuse_dse.evaluators.synthetic import synthetic_objectives
from diffuse_dse.samplers._diffuse import DiffuSESampler
from diffuse_dse.samplers._diffuse.observations import Observations
from diffuse_dse.space import Encoder, load_space

ROOT = Path(__file__).resolve().parents[1]


def make_study(n: int, seed: int) -> tuple[optuna.Study, object]:
    space = load_space(ROOT / "examples" / "synthetic.yaml")
    rng = np.random.default_rng(seed)
    arrays = space.sample_arrays(rng, 4 * n)
    arrays = {k: v[space.feasible_mask(arrays)][:n] for k, v in arrays.items()}
    values = synthetic_objectives(arrays)
    study = optuna.create_study(directions=["minimize"] * 3)
    dists: dict[str, BaseDistribution] = {p.optuna_key: p.distribution() for p in space.parameters}
    trials = []
    for i, config in enumerate(space.rows(arrays)):
        params = {p.optuna_key: p.to_optuna(config[p.name]) for p in space.parameters}
        vals = [float(values[o.name][i]) for o in space.objectives]
        # A few failures, so the feasibility classifier is trained too.
        state = optuna.trial.TrialState.FAIL if i % 25 == 0 else optuna.trial.TrialState.COMPLETE
        trials.append(optuna.trial.create_trial(params=params, distributions=dists, state=state,
                                                values=None if state == optuna.trial.TrialState.FAIL else vals))
    study.add_trials(trials)
    return study, space


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--observations", type=int, default=500)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    from diffuse_dse._diffusion import torch_threads

    cold, warm, propose = [], [], []
    for r in range(args.repeats):
        study, space = make_study(args.observations, seed=r)
        sampler = DiffuSESampler(space=space, seed=r, batch_size=args.batch, device=args.device)
        sampler._space_for({}, study.directions)
        encoder = Encoder(space)
        obs = Observations.from_trials(space, encoder, study.get_trials(deepcopy=False), 3)
        with torch_threads(sampler.settings.torch_threads):
            from diffuse_dse.space.legalize import Legalizer

            sampler._legalizer = Legalizer(space, encoder, sampler._rng, sampler.settings.feasible_pool_size)
            t = time.perf_counter()
            scale, clf = sampler._fit(space, obs)
            cold.append(time.perf_counter() - t)
            t = time.perf_counter()
            scale, clf = sampler._fit(space, obs)
            warm.append(time.perf_counter() - t)
            t = time.perf_counter()
            batch = sampler._choose(space, obs, scale, clf)
            propose.append(time.perf_counter() - t)
        assert len(batch) == args.batch and all(space.is_feasible(c) for c in batch)
    figures = {
        "observations": args.observations,
        "batch": args.batch,
        "train_cold_s": statistics.median(cold),
        "train_warm_s": statistics.median(warm),
        "propose_s": statistics.median(propose),
        "repeats": args.repeats,
        "machine": f"{platform.processor() or platform.machine()}, {__import__('os').cpu_count()} cores",
        "device": args.device,
    }
    if args.json:
        print(json.dumps(figures))
        return
    print(f"DiffuSE speed, {args.observations} observations, batch of {args.batch}, median of {args.repeats} "
          f"({figures['machine']}, device {args.device})")
    print(f"  train (cold): {figures['train_cold_s']:.2f} s   [target <= 15 s]  runs: "
          + ", ".join(f"{x:.2f}" for x in cold))
    print(f"  train (warm): {figures['train_warm_s']:.2f} s   runs: " + ", ".join(f"{x:.2f}" for x in warm))
    print(f"  propose {args.batch}:    {figures['propose_s']:.2f} s   [target <= 3 s]   runs: "
          + ", ".join(f"{x:.2f}" for x in propose))


if __name__ == "__main__":
    main()
