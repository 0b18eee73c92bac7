"""Helpers for the reliability suite: run the real ``diffuse`` entry point, write spaces, read studies."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import optuna
import yaml

DATA = Path(__file__).resolve().parent / "data"
MAIN = [sys.executable, "-c", "from diffuse_dse.cli import main; raise SystemExit(main())"]


def child_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", **extra}
    env.pop("COLUMNS", None)
    return env


def diffuse(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 100,
            **popen: Any) -> subprocess.CompletedProcess[str]:
    """Run ``diffuse ARGS`` to completion and return its result (stdout, stderr, returncode)."""
    return subprocess.run([*MAIN, *args], cwd=cwd, env=env or child_env(), capture_output=True, text=True,
                          timeout=timeout, **popen)


def start_diffuse(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    """Start ``diffuse ARGS`` in the background, stderr to ``cwd/<pid>.err``."""
    err = open(cwd / f"driver-{len(list(cwd.glob('driver-*.err')))}.err", "w")  # noqa: SIM115
    return subprocess.Popen([*MAIN, *args], cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=err, text=True)


def write_space(folder: Path, evaluator: str, settings: dict[str, Any], *, extra_parameters: list[dict] | None = None,
                name: str = "space") -> Path:
    """A two-objective space over floats ``x, y`` (plus ``extra_parameters``) for ``evaluator``."""
    doc = {
        "name": name,
        "parameters": [
            {"name": "x", "layer": "hw", "kind": "float", "low": 0.0, "high": 1.0},
            {"name": "y", "layer": "eda", "kind": "float", "low": 0.0, "high": 1.0},
            *(extra_parameters or []),
        ],
        "objectives": [{"name": "f1", "direction": "min", "ref": 3.0}, {"name": "f2", "direction": "min", "ref": 3.0}],
        "evaluator": evaluator,
        "evaluators": {evaluator: settings},
    }
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def python_space(folder: Path, function: str, **kw: Any) -> Path:
    """A space whose evaluator is ``evals:<function>`` from ``tests/reliability/data``."""
    return write_space(folder, "python", {"function": f"evals:{function}", "path": str(DATA)}, **kw)


def load(db: Path, name: str) -> optuna.Study:
    return optuna.load_study(study_name=name, storage=f"sqlite:///{db}")


def read_log(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def one_line(stderr: str) -> str:
    """The single line of a clean error; fails the test on a traceback or several lines."""
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert "Traceback" not in stderr, stderr
    assert len(lines) == 1, stderr
    return lines[0]
