"""Throughput of the gemmini-model evaluator on one core: configurations per second.

Draws feasible configurations of the example space uniformly (seeded), evaluates them in one
``evaluate_arrays`` call after a warm-up call (which fills the per-workload layer-cost table),
and prints the median rate of several repeats. Run with one thread:

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python benchmarks/model_throughput.py [--n 200000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from diffuse_dse.errors import SpaceError
from diffuse_dse.evaluators.gemmini_model import evaluate_arrays
from diffuse_dse.space import load_space

SPACE = Path(__file__).resolve().parents[1] / "examples" / "gemmini-asap7.yaml"


def feasible_batch(n: int, seed: int) -> dict[str, np.ndarray]:
    """``n`` feasible configurations of the example space, drawn uniformly with ``seed``."""
    space = load_space(SPACE)
    rng = np.random.default_rng(seed)
    parts: list[dict[str, np.ndarray]] = []
    have = 0
    while have < n:
        arrays = space.sample_arrays(rng, 4 * n)
        mask = space.feasible_mask(arrays)
        parts.append({k: v[mask] for k, v in arrays.items()})
        have += int(mask.sum())
    return {k: np.concatenate([p[k] for p in parts])[:n] for k in parts[0]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000, help="configurations per call")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--workload", default="resnet50")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    try:
        batch = feasible_batch(args.n, args.seed)
    except SpaceError as exc:
        print(f"cannot load {SPACE}: {exc}", file=sys.stderr)
        return 2
    evaluate_arrays(batch, workload=args.workload)  # warm-up: builds the layer-cost table
    rates = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        evaluate_arrays(batch, workload=args.workload)
        rates.append(args.n / (time.perf_counter() - start))
    print(f"gemmini-model, {args.workload}: {np.median(rates):,.0f} configurations/s "
          f"(median of {args.repeats}, {args.n:,} per call; min {min(rates):,.0f}, max {max(rates):,.0f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
