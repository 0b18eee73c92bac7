"""Where evaluations run: in the driver process, or in a pool of worker processes.

Each evaluation runs :func:`evaluate_task`, which never raises: an evaluator's exception,
invalid output or timeout comes back as an :class:`Outcome` with a reason, so one bad design
never stops a run.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from diffuse_dse.errors import DiffuseError
from diffuse_dse.evaluators.base import Evaluator, check_metrics
from diffuse_dse.space import Config


@dataclass(frozen=True)
class Outcome:
    """What one evaluation produced: metrics, or the reason it failed."""

    metrics: dict[str, float] | None
    reason: str | None
    seconds: float
    attempts: int = 1
    """How many times the evaluation was started: more than 1 when a Dask worker died during it."""


def evaluate_task(evaluator: Evaluator, config: Config, workdir: str, required: tuple[str, ...]) -> Outcome:
    """Evaluate ``config`` in ``workdir`` and validate the output; never raises."""
    start = time.perf_counter()
    try:
        path = Path(workdir)
        path.mkdir(parents=True, exist_ok=True)
        metrics = check_metrics(evaluator.evaluate(config, path), required)
        return Outcome(metrics, None, time.perf_counter() - start)
    except DiffuseError as exc:
        return Outcome(None, str(exc), time.perf_counter() - start)
    except Exception as exc:  # any evaluator bug becomes a FAIL with its reason, not a crash
        where = traceback.extract_tb(exc.__traceback__)[-1]
        reason = f"{type(exc).__name__}: {exc} (at {Path(where.filename).name}:{where.lineno})"
        return Outcome(None, reason, time.perf_counter() - start)


class InlineExecutor:
    """Runs each task at submission in the driver process (one worker, no overhead)."""

    def submit(self, fn: Callable[..., Outcome], *args: Any) -> Future[Outcome]:
        future: Future[Outcome] = Future()
        future.set_result(fn(*args))
        return future

    def shutdown(self) -> None:
        pass


class PoolExecutor:
    """A pool of ``workers`` spawned processes; a worker that dies fails only its task."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_die_with_parent, initargs=(os.getpid(),))

    def submit(self, fn: Callable[..., Outcome], *args: Any) -> Future[Outcome]:
        outer: Future[Outcome] = Future()
        try:
            inner = self._pool.submit(fn, *args)
        except RuntimeError:  # the pool broke since the last submission: start a new one
            self._pool = self._new_pool()
            inner = self._pool.submit(fn, *args)
        inner.add_done_callback(lambda f: outer.set_result(_outcome_of(f)))
        return outer

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def _die_with_parent(parent: int) -> None:
    """In a pool worker: be killed when the driver dies (Linux), so that a SIGKILLed driver
    leaves no orphan finishing an evaluation whose result nobody will store."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            return
    if os.getppid() != parent:  # the driver died before the line above ran
        os._exit(1)


def _outcome_of(future: Future[Outcome]) -> Outcome:
    exc = future.exception()
    if exc is None:
        return future.result()
    return Outcome(None, f"the worker process died ({type(exc).__name__}: {exc})", 0.0)


def make_executor(workers: int, dask: str | None = None) -> Any:
    """The executor for ``workers`` parallel evaluations (1 runs in the driver), or a
    :class:`~diffuse_dse.engine.dask.DaskExecutor` for ``dask`` (``local:N`` or ``tcp://HOST:PORT``)."""
    if dask is not None:
        from diffuse_dse.engine.dask import DaskExecutor

        return DaskExecutor(dask)
    return InlineExecutor() if workers == 1 else PoolExecutor(workers)
