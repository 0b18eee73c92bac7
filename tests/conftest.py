"""Shared fixtures: paths of the shipped example spaces and a helper that writes spaces."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


@pytest.fixture
def synthetic_space_path() -> Path:
    return EXAMPLES / "synthetic.yaml"


@pytest.fixture
def write_space(tmp_path: Path):
    """Write YAML text (dedented) to a file in tmp_path and return its path."""

    def write(text: str, name: str = "space.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip())
        return path

    return write


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run the real ``diffuse`` entry point in a subprocess."""
    code = "from diffuse_dse.cli import main; raise SystemExit(main())"
    return subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)
