"""A storage that cannot be written: one clear line, exit 2, and what was there is unchanged.

Root ignores file modes, so as root the runs drop CAP_DAC_OVERRIDE with ``setpriv``."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from .conftest import MAIN, child_env, load, one_line, python_space

SETPRIV = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--inh-caps",
           "-dac_override,-dac_read_search", "--"]
needs_modes = pytest.mark.skipif(os.geteuid() == 0 and shutil.which("setpriv") is None,
                                 reason="as root, read-only modes need setpriv to drop CAP_DAC_OVERRIDE")


def _run(space: Path, db: Path, budget: int, cwd: Path) -> subprocess.CompletedProcess[str]:
    prefix = SETPRIV if os.geteuid() == 0 else []
    argv = [*prefix, *MAIN, "run", str(space), "--sampler", "random", "--budget", str(budget), "--quiet",
            "--storage", str(db)]
    return subprocess.run(argv, cwd=cwd, env=child_env(DIFFUSE_TEST_DELAY="0"), capture_output=True, text=True,
                          timeout=60)


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in sorted(folder.rglob("*"))}


@pytest.fixture
def study(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A folder holding a study of 3 trials: ``(space file, folder, database)``."""
    space, folder = python_space(tmp_path, "slow_logged"), tmp_path / "store"
    folder.mkdir()
    assert _run(space, folder / "s.db", 3, tmp_path).returncode == 0
    return space, folder, folder / "s.db"


def _check_refused(proc: subprocess.CompletedProcess[str], *words: str) -> None:
    assert proc.returncode == 2, proc.stderr
    line = one_line(proc.stderr)
    assert line.startswith("diffuse run: error: ") and all(w in line for w in words), line
    assert proc.stdout == ""


@needs_modes
@pytest.mark.timeout(120)
def test_a_read_only_database_file(study, tmp_path: Path) -> None:
    space, folder, db = study
    db.chmod(0o444)
    before = _digest(folder)
    _check_refused(_run(space, db, 6, tmp_path), str(db), "cannot be written")
    assert _digest(folder) == before
    assert len(load(db, "space").trials) == 3


@needs_modes
@pytest.mark.timeout(120)
@pytest.mark.parametrize("lock_exists", [True, False])
def test_a_read_only_folder_holding_a_writable_database(study, tmp_path: Path, lock_exists: bool) -> None:
    space, folder, db = study
    if not lock_exists:
        for lock in folder.glob("*.lock"):
            lock.unlink()
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
    try:
        before = _digest(folder)
        _check_refused(_run(space, db, 6, tmp_path), str(folder), "cannot")
        assert _digest(folder) == before
    finally:
        folder.chmod(0o755)
    assert len(load(db, "space").trials) == 3


@needs_modes
@pytest.mark.timeout(60)
def test_a_new_database_in_a_read_only_folder(tmp_path: Path) -> None:
    space, folder = python_space(tmp_path, "slow_logged"), tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        _check_refused(_run(space, folder / "new.db", 2, tmp_path), "new.db", "cannot be written")
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o755)
