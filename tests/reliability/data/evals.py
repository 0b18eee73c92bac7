"""Python evaluators for the reliability suite.

Each reads its knobs from environment variables so that worker processes (a process pool or
Dask workers, which inherit the driver's environment) behave like the driver:

* ``DIFFUSE_TEST_LOG``: a file to which every finished evaluation appends one JSON line;
* ``DIFFUSE_TEST_DELAY``: seconds each evaluation sleeps (default 0.3);
* ``DIFFUSE_TEST_STARTS``: a file to which every evaluation appends a line when it starts;
* ``DIFFUSE_TEST_COUNTER``: a file counting evaluations, so the n-th one can misbehave.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import signal
import time
from pathlib import Path


def _metrics(config: dict) -> dict:
    x, y = float(config["x"]), float(config["y"])
    return {"f1": x * x + y, "f2": (1 - x) ** 2 + 0.5 * y}


def _append(path: str, record: dict) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        fh.write(json.dumps(record, sort_keys=True) + "\n")


def next_count() -> int:
    """Increment the counter in ``$DIFFUSE_TEST_COUNTER`` under a lock; the value before."""
    path = os.environ["DIFFUSE_TEST_COUNTER"]
    with open(path, "a+", encoding="utf-8") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        fh.seek(0)
        n = int(fh.read() or 0)
        fh.seek(0)
        fh.truncate()
        fh.write(str(n + 1))
    return n


def slow_logged(config: dict, workdir: Path) -> dict:
    """Sleeps, then logs the finished evaluation (its config and folder) and returns metrics."""
    (Path(workdir) / "pid").write_text(str(os.getpid()))
    if os.environ.get("DIFFUSE_TEST_STARTS"):
        _append(os.environ["DIFFUSE_TEST_STARTS"], {"workdir": Path(workdir).name, "t": time.time()})
    time.sleep(float(os.environ.get("DIFFUSE_TEST_DELAY", "0.3")))
    out = _metrics(config)
    if os.environ.get("DIFFUSE_TEST_LOG"):
        _append(os.environ["DIFFUSE_TEST_LOG"], {"config": config, "workdir": Path(workdir).name, "pid": os.getpid(),
                                               "t": time.time()})
    return out


def die_on_first_attempt(config: dict, workdir: Path) -> dict:
    """SIGKILLs its own process (a Dask worker) the first time it runs in ``workdir``."""
    marker = Path(workdir) / "started-once"
    if not marker.exists():
        marker.write_text(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)
    return _metrics(config)


def always_die(config: dict, workdir: Path) -> dict:
    """SIGKILLs its own process every time (a design that crashes the worker)."""
    os.kill(os.getpid(), signal.SIGKILL)
    return _metrics(config)


GARBAGE = ["nan", "inf", "-inf", "string", "missing", "none", "list", "huge", "bool", "raise"]


def garbage(config: dict) -> object:
    """The n-th evaluation returns garbage kind ``GARBAGE[n]``; from ``len(GARBAGE)`` on, good metrics."""
    n = next_count()
    kind = GARBAGE[n] if n < len(GARBAGE) else "ok"
    good = _metrics(config)
    if kind == "nan":
        return {**good, "f1": math.nan}
    if kind == "inf":
        return {**good, "f2": math.inf}
    if kind == "-inf":
        return {**good, "f1": -math.inf}
    if kind == "string":
        return {**good, "f1": "12.5"}
    if kind == "missing":
        return {"f1": good["f1"]}
    if kind == "none":
        return None
    if kind == "list":
        return [good["f1"], good["f2"]]
    if kind == "huge":
        return {**good, **{f"m{i}": "x" * 1000 for i in range(2000)}}
    if kind == "bool":
        return {**good, "f2": True}
    if kind == "raise":
        raise RuntimeError("the flow crashed")
    return good


def always_garbage(config: dict) -> object:
    return {"f1": math.nan, "f2": 1.0}
