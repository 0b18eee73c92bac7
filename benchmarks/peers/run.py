#!/usr/bin/env python3
"""Run one peer optimizer against a diffuse-dse evaluator and write a JSONL trace.

Every peer drives the same Rust binary:

* the space and objectives come from ``diffuse-dse space --json``;
* the first ``initial_design`` evaluations are our scrambled Sobol design
  (``diffuse-dse initial-design --seed S``), enqueued into Optuna or used as BoTorch's first data;
* every proposal goes through our repair rule (one long-lived ``diffuse-dse repair``), and is
  evaluated by one long-lived ``diffuse-dse evaluate --jsonl`` (a line in, a line out).

The trace has one JSON line per evaluation, in order (see README.md for the fields). Logs go
to stderr. Exit status 2 for a usage problem (no venv, no binary, a bad config), 1 when a
helper process dies.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SAMPLERS = ("tpe", "nsga2", "gp", "qlognehvi", "random")


def fail(message: str, code: int = 2) -> None:
    print(f"run.py: {message}", file=sys.stderr)
    sys.exit(code)


def log(message: str) -> None:
    print(f"run.py: {message}", file=sys.stderr, flush=True)


# One BLAS/OpenMP thread per run unless the caller says otherwise: torch and SciPy otherwise
# oversubscribe the cores (Optuna's GPSampler ran 5x slower on 2 cores without this), and runs
# over seeds go side by side. Read at import, so set before numpy and torch are imported.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
# The venv's bin first on PATH, so BoTorch finds the venv's `ninja` to build its fused qLogEHVI
# kernel (built once, cached under ~/.cache/torch_extensions; `make venv` builds it).
os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")

try:
    import numpy  # noqa: F401
except ImportError:
    fail(
        "numpy is missing: this is not the harness's venv. Run `make -C benchmarks/peers venv`, "
        "then `benchmarks/peers/.venv/bin/python benchmarks/peers/run.py ...`."
    )


# --------------------------------------------------------------------------- the Rust side


class Pipe:
    """A long-lived helper that answers one JSON line per JSON line written to it."""

    def __init__(self, argv: list[str], what: str):
        self.what = what
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None,  # the helper's messages go to our stderr
            text=True,
            bufsize=1,
        )

    def call(self, obj: dict) -> dict:
        try:
            self.proc.stdin.write(json.dumps(obj) + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass
        line = self.proc.stdout.readline()
        if not line:
            code = self.proc.wait()
            fail(f"`{self.what}` stopped (exit status {code}) before answering {obj}", 1)
        return json.loads(line)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def find_binary(given: str | None) -> str:
    if given:
        path = Path(given)
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
        fail(f"--bin {given}: not an executable file. Build it with `cargo build --release`.")
    for candidate in (REPO / "target" / "release" / "diffuse-dse",):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    on_path = shutil.which("diffuse-dse")
    if on_path:
        return on_path
    fail(
        f"no diffuse-dse binary: none at {REPO / 'target/release/diffuse-dse'} nor on PATH. "
        "Run `cargo build --release` in the repository, or pass --bin PATH."
    )


def helper_output(argv: list[str]) -> str:
    out = subprocess.run(argv, capture_output=True, text=True)
    if out.returncode != 0:
        fail(f"`{' '.join(argv)}` failed: {out.stderr.strip()}", 2 if out.returncode == 2 else 1)
    return out.stdout


# --------------------------------------------------------------------------- the space


class Space:
    """The space as `diffuse-dse space --json` describes it, with our encoder's layout."""

    def __init__(self, spec: dict):
        self.spec = spec
        self.params = spec["params"]
        self.objectives = spec["objectives"]
        self.initial_design = int(spec["initial_design"])
        # (first column, width) of each parameter, as src/space/encoding.rs.
        self.columns = []
        width = 0
        for p in self.params:
            w = len(p["choices"]) if p["kind"] == "categorical" else 1
            self.columns.append((width, w))
            width += w
        self.width = width

    @staticmethod
    def ordered(p: dict) -> bool:
        return p["kind"] in ("int", "pow2", "ordinal")

    def index(self, p: dict, value) -> int:
        for i, c in enumerate(p["choices"]):
            if c == value and type(c) is type(value):
                return i
        for i, c in enumerate(p["choices"]):
            if isinstance(c, (int, float)) and isinstance(value, (int, float)) and c == value:
                return i
        raise ValueError(f"{p['name']} = {value!r} is not one of {p['choices']}")

    def encode01(self, design: dict) -> list[float]:
        """Our encoder's layout on [0, 1]: an ordered parameter's index `i/(n-1)`, a float's
        position in its range (log when log), a categorical one-hot with 0/1."""
        x = [0.0] * self.width
        for p, (start, w) in zip(self.params, self.columns):
            v = design[p["name"]]
            if p["kind"] == "float":
                lo, hi, val = p["low"], p["high"], float(v)
                if p["log"]:
                    lo, hi, val = math.log(lo), math.log(hi), math.log(val)
                x[start] = (val - lo) / (hi - lo) if hi > lo else 0.5
            elif p["kind"] == "categorical":
                x[start + self.index(p, v)] = 1.0
            else:
                n = len(p["choices"])
                x[start] = self.index(p, v) / (n - 1) if n > 1 else 0.5
        return x

    def decode01(self, x) -> dict:
        """The legal values nearest to a point of [0, 1]^d: the rounded index (half to even,
        as our decoder), the first maximum of a one-hot block, a float clipped to its range."""
        design = {}
        for p, (start, w) in zip(self.params, self.columns):
            if p["kind"] == "float":
                u = min(max(float(x[start]), 0.0), 1.0)
                lo, hi = p["low"], p["high"]
                if p["log"]:
                    value = math.exp(math.log(lo) + u * (math.log(hi) - math.log(lo)))
                else:
                    value = lo + u * (hi - lo)
                design[p["name"]] = min(max(value, lo), hi)
            elif p["kind"] == "categorical":
                block = [float(v) for v in x[start : start + w]]
                design[p["name"]] = p["choices"][block.index(max(block))]
            else:
                n = len(p["choices"])
                u = min(max(float(x[start]), 0.0), 1.0)
                design[p["name"]] = p["choices"][min(int(round(u * (n - 1))), n - 1)]
        return design

    def minimized(self, metrics: dict) -> list[float]:
        """The objectives in minimization form: `value` for min, `-value` for max."""
        return [
            (1.0 if o["direction"] == "min" else -1.0) * float(metrics[o["name"]])
            for o in self.objectives
        ]


# --------------------------------------------------------------------------- the samplers


class OptunaPeer:
    """An Optuna sampler asked for `batch` trials at a time. Ordered parameters (int, pow2,
    ordinal) are presented as their index, an IntDistribution; categoricals as a
    CategoricalDistribution; floats as a FloatDistribution. A trial is told the values of its
    repaired design: the sampler optimizes `f(repair(x))`."""

    def __init__(self, name: str, space: Space, seed: int, batch: int, initial: list[dict]):
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.optuna = optuna
        self.space = space
        n0 = len(initial)
        if name == "tpe":
            sampler = optuna.samplers.TPESampler(
                multivariate=True,
                constant_liar=True,
                n_startup_trials=max(n0, 1),
                seed=seed,
            )
        elif name == "nsga2":
            sampler = optuna.samplers.NSGAIISampler(
                population_size=nsga2_population(batch, n0), seed=seed
            )
        elif name == "gp":
            sampler = optuna.samplers.GPSampler(
                seed=seed, n_startup_trials=max(n0, 1), deterministic_objective=True
            )
        elif name == "random":
            sampler = optuna.samplers.RandomSampler(seed=seed)
        else:
            raise ValueError(name)
        directions = [
            "minimize" if o["direction"] == "min" else "maximize" for o in space.objectives
        ]
        self.study = optuna.create_study(directions=directions, sampler=sampler)
        D = optuna.distributions
        self.dists = {}
        for p in space.params:
            if p["kind"] == "float":
                self.dists[p["name"]] = D.FloatDistribution(p["low"], p["high"], log=p["log"])
            elif p["kind"] == "categorical":
                self.dists[p["name"]] = D.CategoricalDistribution(p["choices"])
            else:
                self.dists[p["name"]] = D.IntDistribution(0, len(p["choices"]) - 1)
        for design in initial:
            self.study.enqueue_trial(self.to_optuna(design))
        self.pending = []

    def to_optuna(self, design: dict) -> dict:
        return {
            p["name"]: (
                self.space.index(p, design[p["name"]])
                if Space.ordered(p)
                else design[p["name"]]
            )
            for p in self.space.params
        }

    def from_optuna(self, params: dict) -> dict:
        return {
            p["name"]: (
                p["choices"][params[p["name"]]] if Space.ordered(p) else params[p["name"]]
            )
            for p in self.space.params
        }

    def ask(self, k: int) -> list[dict]:
        self.pending = [self.study.ask(self.dists) for _ in range(k)]
        return [self.from_optuna(t.params) for t in self.pending]

    def tell(self, results: list[dict | None]) -> None:
        state = self.optuna.trial.TrialState
        for trial, metrics in zip(self.pending, results):
            if metrics is None:
                self.study.tell(trial, state=state.FAIL)
            else:
                values = [float(metrics[o["name"]]) for o in self.space.objectives]
                self.study.tell(trial, values)
        self.pending = []


def nsga2_population(batch: int, n0: int) -> int:
    """Two batches, and at least the initial design rounded up to whole batches, so that the
    first generation holds the Sobol design and every generation is whole batches."""
    return max(2 * batch, -(-n0 // batch) * batch)


class BotorchPeer:
    """BoTorch qLogNEHVI (Ament et al. 2023) with q = the batch size: a SingleTaskGP on every
    objective (minimization form, negated since BoTorch maximizes, standardized), inputs in
    our encoder's layout on [0, 1]^d, the acquisition optimized over the relaxed cube with
    `optimize_acqf` (sequential greedy over the q points), then rounded to legal values."""

    def __init__(self, space: Space, seed: int, initial: list[dict],
                 restarts: int, raw_samples: int, mc_samples: int):
        import torch

        torch.manual_seed(seed)
        self.torch = torch
        self.space = space
        self.seed = seed
        self.initial = list(initial)
        self.restarts = restarts
        self.raw_samples = raw_samples
        self.mc_samples = mc_samples
        self.X: list[list[float]] = []
        self.Y: list[list[float]] = []
        self.round = 0
        refs = [o.get("ref") for o in space.objectives]
        # The reference point in BoTorch's (maximization) form: -(minimized ref).
        self.ref = None
        if all(r is not None for r in refs):
            self.ref = [
                -((1.0 if o["direction"] == "min" else -1.0) * float(o["ref"]))
                for o in space.objectives
            ]

    def ask(self, k: int) -> list[dict]:
        out = []
        while self.initial and len(out) < k:
            out.append(self.initial.pop(0))
        if len(out) < k:
            out.extend(self.acquire(k - len(out)))
        return out

    def tell_evaluated(self, designs: list[dict], results: list[dict | None]) -> None:
        """The data are the designs actually evaluated (after repair) with their QoR."""
        for design, metrics in zip(designs, results):
            if metrics is not None:
                self.X.append(self.space.encode01(design))
                self.Y.append([-v for v in self.space.minimized(metrics)])

    def acquire(self, q: int) -> list[dict]:
        torch = self.torch
        from botorch.acquisition.multi_objective.logei import (
            qLogNoisyExpectedHypervolumeImprovement,
        )
        from botorch.fit import fit_gpytorch_mll
        from botorch.models import SingleTaskGP
        from botorch.models.transforms.outcome import Standardize
        from botorch.optim import optimize_acqf
        from botorch.sampling import SobolQMCNormalSampler
        from botorch.utils.multi_objective.hypervolume import infer_reference_point
        from gpytorch.mlls import ExactMarginalLogLikelihood

        d = self.space.width
        if len(self.X) < 2:
            # Too little to fit a GP on: uniform points of the cube, rounded.
            g = torch.Generator().manual_seed(self.seed * 1000 + self.round)
            self.round += 1
            return [self.space.decode01(row.tolist()) for row in torch.rand(q, d, generator=g)]
        X = torch.tensor(self.X, dtype=torch.double)
        Y = torch.tensor(self.Y, dtype=torch.double)
        model = SingleTaskGP(X, Y, outcome_transform=Standardize(m=Y.shape[-1]))
        fit_gpytorch_mll(ExactMarginalLogLikelihood(model.likelihood, model))
        ref = (
            torch.tensor(self.ref, dtype=torch.double)
            if self.ref is not None
            else infer_reference_point(Y)
        )
        acq = qLogNoisyExpectedHypervolumeImprovement(
            model=model,
            ref_point=ref,
            X_baseline=X,
            prune_baseline=True,
            sampler=SobolQMCNormalSampler(
                sample_shape=torch.Size([self.mc_samples]), seed=self.seed + self.round
            ),
        )
        bounds = torch.stack([torch.zeros(d), torch.ones(d)]).to(torch.double)
        torch.manual_seed(self.seed * 1000 + self.round)
        self.round += 1
        candidates, _ = optimize_acqf(
            acq,
            bounds=bounds,
            q=q,
            num_restarts=self.restarts,
            raw_samples=self.raw_samples,
            sequential=True,
            options={"batch_limit": 5, "maxiter": 200},
        )
        return [self.space.decode01(row.tolist()) for row in candidates.detach()]


# --------------------------------------------------------------------------- the loop


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", required=True, help="the diffuse-dse config (TOML)")
    ap.add_argument("--sampler", required=True, choices=SAMPLERS)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--budget", type=int, required=True, help="evaluations in all")
    ap.add_argument("--batch", type=int, default=8, help="proposals per batch (BoTorch's q)")
    ap.add_argument("--out", required=True, help="the JSONL trace to write")
    ap.add_argument("--bin", help="the diffuse-dse binary (default: target/release, then PATH)")
    ap.add_argument("--restarts", type=int, default=4, help="qlognehvi: optimize_acqf restarts")
    ap.add_argument("--raw-samples", type=int, default=128, help="qlognehvi: raw samples")
    ap.add_argument("--mc-samples", type=int, default=64, help="qlognehvi: QMC samples")
    args = ap.parse_args()
    if args.budget < 1 or args.batch < 1:
        fail(f"--budget {args.budget} --batch {args.batch}: both must be at least 1.")
    if not Path(args.config).is_file():
        fail(f"--config {args.config}: no such file.")
    if args.seed < 0:
        fail(f"--seed {args.seed}: expected a seed ≥ 0.")
    try:
        if args.sampler == "qlognehvi":
            import botorch  # noqa: F401
        else:
            import optuna  # noqa: F401
    except ImportError as e:
        fail(
            f"{e.name} is missing from this Python ({sys.executable}). "
            "Run `make -C benchmarks/peers venv` and use benchmarks/peers/.venv/bin/python."
        )

    binary = find_binary(args.bin)
    config = str(Path(args.config).resolve())
    space = Space(json.loads(helper_output([binary, "space", "--config", config, "--json"])))
    n0 = min(space.initial_design, args.budget)
    initial = [
        json.loads(line)
        for line in helper_output(
            [binary, "initial-design", "--config", config, "--n", str(n0), "--seed", str(args.seed)]
        ).splitlines()
        if line.strip()
    ]
    log(
        f"{args.sampler}, seed {args.seed}: {args.budget} evaluations in batches of "
        f"{args.batch}, the first {len(initial)} from our Sobol design; {binary}"
    )

    if args.sampler == "qlognehvi":
        peer = BotorchPeer(
            space, args.seed, initial, args.restarts, args.raw_samples, args.mc_samples
        )
    else:
        peer = OptunaPeer(args.sampler, space, args.seed, args.batch, initial)

    repair = Pipe([binary, "repair", "--config", config, "--seed", str(args.seed)], "repair")
    evaluate = Pipe([binary, "evaluate", "--jsonl", "--config", config], "evaluate --jsonl")
    seen = set()
    t_start = time.monotonic()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w") as trace:
        done = 0
        b = 0
        while done < args.budget:
            k = min(args.batch, args.budget - done)
            t0 = time.perf_counter()
            proposals = peer.ask(k)
            propose_s = time.perf_counter() - t0
            designs, results, records = [], [], []
            for proposal in proposals:
                fixed = repair.call(proposal)
                if "error" in fixed:
                    design, repaired, error, metrics = proposal, False, fixed["error"], None
                else:
                    design, repaired = fixed["design"], fixed["repaired"]
                    reply = evaluate.call(design)
                    metrics, error = reply.get("metrics"), reply.get("error")
                    if metrics is not None and any(o["name"] not in metrics for o in space.objectives):
                        missing = [o["name"] for o in space.objectives if o["name"] not in metrics]
                        metrics, error = None, f"the evaluator reported no {', '.join(missing)}"
                key = json.dumps(design, sort_keys=True)
                duplicate = key in seen
                seen.add(key)
                designs.append(design)
                results.append(metrics)
                records.append((design, metrics, error, repaired, duplicate))
            t1 = time.perf_counter()
            if isinstance(peer, BotorchPeer):
                peer.tell_evaluated(designs, results)
            else:
                peer.tell(results)
            propose_s += time.perf_counter() - t1
            for design, metrics, error, repaired, duplicate in records:
                trace.write(
                    json.dumps(
                        {
                            "eval": done,
                            "batch": b,
                            "sampler": args.sampler,
                            "seed": args.seed,
                            "params": design,
                            "metrics": metrics,
                            "error": error,
                            "propose_seconds": propose_s / k,
                            "initial": done < len(initial),
                            "repaired": repaired,
                            "duplicate": duplicate,
                        }
                    )
                    + "\n"
                )
                done += 1
            trace.flush()
            b += 1
    repair.close()
    evaluate.close()
    log(f"{args.sampler}, seed {args.seed}: {done} evaluations in {time.monotonic() - t_start:.1f} s -> {args.out}")


if __name__ == "__main__":
    main()
