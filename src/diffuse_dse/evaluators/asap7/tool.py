"""A small base class that owns the invocation of one EDA tool: find, version, run, log."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import ClassVar

from diffuse_dse.errors import ToolNotFoundError
from diffuse_dse.evaluators.command import run


class Tool:
    """One external tool. Subclasses set :attr:`name`, :attr:`install` and :attr:`version_args`."""

    name: ClassVar[str]
    install: ClassVar[str]
    version_args: ClassVar[tuple[str, ...]] = ("-version",)

    def __init__(self, exe: str | None = None, *, timeout_s: float | None = None,
                 cache_dir: Path | None = None) -> None:
        self.exe = exe or self.name
        self.timeout_s = timeout_s
        self.cache_dir = cache_dir

    def path(self) -> str:
        """The binary's full path; :class:`ToolNotFoundError` naming the package when absent."""
        found = shutil.which(self.exe)
        if found is None:
            raise ToolNotFoundError(self.exe, f"Install it: {self.install}.")
        return found

    def version(self) -> str:
        """The tool's version line (part of every cache key).

        Remembered in ``<cache_dir>/tools.json`` by binary path and modification time, so a
        cache hit runs no tool at all.
        """
        exe = self.path()
        if self.cache_dir is None:
            return _version(exe, self.version_args)
        real = os.path.realpath(exe)
        key = f"{real}:{os.stat(real).st_mtime_ns}:{' '.join(self.version_args)}"
        db = self.cache_dir / "tools.json"
        known = json.loads(db.read_text()) if db.exists() else {}
        if key not in known:
            known[key] = _version(exe, self.version_args)
            db.parent.mkdir(parents=True, exist_ok=True)
            tmp = db.with_suffix(f".tmp{os.getpid()}")
            tmp.write_text(json.dumps(known, indent=1))
            tmp.replace(db)
        return known[key]

    def run(self, args: list[str], workdir: Path, *, log_stem: str, env: Mapping[str, str] | None = None) -> None:
        """Run the tool in ``workdir`` with its own process group; logs go to ``<log_stem>.std{out,err}.log``."""
        run([self.path(), *args], workdir, timeout_s=self.timeout_s, env=env, what=f"{self.exe} ({log_stem})",
            log_stem=log_stem)


@lru_cache(maxsize=16)
def _version(exe: str, args: tuple[str, ...]) -> str:
    try:
        out = subprocess.run([exe, *args], capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unknown ({exc})"
    lines = [ln.strip() for ln in (out.stdout + out.stderr).splitlines() if ln.strip()]
    return lines[-1] if lines else "unknown"
