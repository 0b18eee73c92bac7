"""Helpers of the report tests: run the real ``diffuse`` entry point, make small real studies."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def diffuse(*args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run the real ``diffuse`` entry point in a subprocess."""
    code = "from diffuse_dse.cli import main; raise SystemExit(main())"
    return subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


def check(proc: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc


@dataclass
class Made:
    """A study made by ``diffuse run``: its folder, space file and database."""

    folder: Path
    space: Path
    db: Path
