"""Wall time of a 64-evaluation `diffuse run` of a 1-second CPU-bound evaluator: Dask on loopback
(``--dask local:N``) against the local process pool (``--workers N``), and the per-task overhead.

usage: python benchmarks/dask_scaling.py [--evals 64] [--seconds 1.0] [--workers 1 2 4] [--kind spin|nap] [--json OUT]

Each run is a real ``diffuse run`` subprocess (random sampler, fresh SQLite study), timed from start to
exit, so the figures include start-up (imports, pool spawn or LocalCluster start). ``--kind spin``
burns ``--seconds`` of CPU time per evaluation, so on a machine with C cores no setting beats C-fold;
``--kind nap`` sleeps instead, which shows the executors' own scaling. ``--workers 1`` with the pool
runs in the driver (no pool).
Per-task overhead: the mean round trip of a no-op evaluation submitted one at a time to each executor.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent


def spin(config: dict) -> dict:
    """The benchmark evaluator: burn ``SPIN_S`` seconds of CPU time, return two metrics."""
    end = time.process_time() + float(os.environ.get("SPIN_S", "1.0"))
    n = 0
    while time.process_time() < end:
        n += 1
    x, y = float(config["x"]), float(config["y"])
    return {"f1": x * x + y, "f2": (1 - x) ** 2 + y}


def nap(config: dict) -> dict:
    """The I/O-bound variant: sleep ``SPIN_S`` seconds (a flow waiting on a license or a remote tool)."""
    time.sleep(float(os.environ.get("SPIN_S", "1.0")))
    return {"f1": float(config["x"]), "f2": float(config["y"])}


def noop(config: dict) -> dict:
    return {"f1": 0.0, "f2": 0.0}


def _space(folder: Path, function: str) -> Path:
    doc = {"name": "bench", "parameters": [{"name": "x", "layer": "hw", "kind": "float", "low": 0.0, "high": 1.0},
                                           {"name": "y", "layer": "eda", "kind": "float", "low": 0.0, "high": 1.0}],
           "objectives": [{"name": "f1", "direction": "min"}, {"name": "f2", "direction": "min"}],
           "evaluator": "python", "evaluators": {"python": {"function": f"dask_scaling:{function}", "path": str(HERE)}}}
    path = folder / f"{function}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def run_once(space: Path, folder: Path, evals: int, parallel: list[str], seconds: float) -> float:
    db = folder / f"{'-'.join(parallel).replace(':', '')}.db"
    argv = [sys.executable, "-c", "from diffuse_dse.cli import main; raise SystemExit(main())", "run", str(space),
            "--sampler", "random", "--budget", str(evals), "--quiet", "--storage", str(db), *parallel]
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, env={**os.environ, "SPIN_S": str(seconds)})
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(parallel)} failed:\n{proc.stderr[-2000:]}")
    return wall


def overhead(folder: Path, tasks: int = 200) -> dict[str, float]:
    """Mean seconds per no-op task, submitted and awaited one at a time."""
    sys.path.insert(0, str(HERE))
    from diffuse_dse.engine.dask import DaskExecutor
    from diffuse_dse.engine.executor import InlineExecutor, PoolExecutor, evaluate_task
    from diffuse_dse.evaluators.python import PythonEvaluator

    evaluator = PythonEvaluator({"function": "dask_scaling:noop", "path": str(HERE)})
    out = {}
    for name, make in [("inline", InlineExecutor), ("pool", lambda: PoolExecutor(2)),
                       ("dask", lambda: DaskExecutor("local:2"))]:
        start = time.perf_counter()
        ex = make()
        ex.submit(evaluate_task, evaluator, {"x": 0.0, "y": 0.0}, str(folder / "warm"), ("f1", "f2")).result()
        out[f"{name}_start_s"] = time.perf_counter() - start
        start = time.perf_counter()
        for i in range(tasks):
            ex.submit(evaluate_task, evaluator, {"x": 0.0, "y": 0.0}, str(folder / f"t{i}"), ("f1", "f2")).result()
        out[f"{name}_ms_per_task"] = 1000 * (time.perf_counter() - start) / tasks
        ex.shutdown()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--evals", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=1.0)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--kind", choices=["spin", "nap"], default="spin",
                    help="spin: burn CPU for --seconds (bounded by the cores); nap: sleep (shows executor scaling)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    result = {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
                         f"load average {os.getloadavg()[0]:.1f} at start",
              "evals": args.evals, "seconds": args.seconds, "kind": args.kind, "runs": []}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        space = _space(folder, args.kind)
        for n in args.workers:
            for label, parallel in [("pool", ["--workers", str(n)]), ("dask", ["--dask", f"local:{n}"])]:
                wall = run_once(space, folder, args.evals, parallel, args.seconds)
                row = {"executor": label, "workers": n, "wall_s": round(wall, 1)}
                result["runs"].append(row)
                print(json.dumps(row), file=sys.stderr, flush=True)
        result["overhead"] = {k: round(v, 2) for k, v in overhead(folder).items()}
    result["load_average_end"] = round(os.getloadavg()[0], 1)
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
