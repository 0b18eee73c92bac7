"""Evaluations as Dask tasks, on a local cluster this tool starts or on a scheduler it joins.

The driver keeps the sampler and the study; only :func:`~diffuse_dse.engine.executor.evaluate_task`
runs on the workers. ``--dask local:N`` starts a ``LocalCluster`` of ``N`` worker processes
with one thread each, every socket bound to ``127.0.0.1`` and no dashboard.
``--dask tcp://HOST:PORT`` joins a scheduler someone else started (by hand, or with
dask-jobqueue on Slurm, LSF or PBS; see ``docs/scale-out.md``).

Faults:

* A worker that dies while evaluating (killed, out of memory, its node lost) makes the
  scheduler run the task again on another worker, at most ``retries`` more times (Dask's
  ``distributed.scheduler.allowed-failures``; set here for a local cluster, the scheduler's own
  setting when joining one). Each start is appended to ``.dask-attempts`` in the trial's
  folder, so a re-run is counted (:attr:`Outcome.attempts`, stored on the trial as
  ``attempts``) wherever the workers share the artifact filesystem. Past the limit the trial
  FAILs with the reason.
* A task the scheduler lost (it restarted, or the connection dropped) is submitted again by
  the driver, at most ``retries`` times, before its trial FAILs.
* A timeout inside an evaluator (the ``command`` evaluator's ``timeout_s``) kills the
  evaluator's process group on the worker that runs it, as it does in a local process.

:meth:`DaskExecutor.submit` has the shape of :class:`~diffuse_dse.engine.executor.PoolExecutor`'s:
it returns a :class:`concurrent.futures.Future` that always resolves to an ``Outcome``.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import replace
from pathlib import Path
from typing import Any

from diffuse_dse.engine.executor import Outcome, evaluate_task
from diffuse_dse.errors import UsageError

DEFAULT_RETRIES = 2
"""Extra runs of a task whose worker died, and resubmissions of a task the scheduler lost."""

ATTEMPTS_FILE = ".dask-attempts"
"""One line per start of an evaluation, in the trial's folder: attempt number, worker, time."""

_ADDRESS = re.compile(r"^(tcp|tls)://\[?[A-Za-z0-9_.:-]+\]?:\d{1,5}$")


def parse_address(text: str) -> tuple[str, int | str]:
    """``("local", N)`` for ``local:N``, ``("remote", URL)`` for ``tcp://HOST:PORT``.

    Raises:
        UsageError: naming ``--dask``, the value and the two accepted forms.
    """
    expected = "--dask takes local:N (N >= 1 worker processes started here) or tcp://HOST:PORT (a running scheduler)."
    text = text.strip()
    if text.startswith("local:"):
        count = text[len("local:"):]
        if not count.isdigit() or int(count) < 1:
            raise UsageError(f"{expected} Got {text!r}.")
        return "local", int(count)
    if _ADDRESS.match(text):
        return "remote", text
    raise UsageError(f"{expected} Got {text!r}.")


def _run_task(fn: Callable[..., Outcome], args: tuple[Any, ...], workdir: str | None) -> Outcome:
    """Runs on a worker: note this start in the trial folder, then run ``fn``."""
    attempt = 1
    if workdir is not None:
        attempt = _note_attempt(Path(workdir))
    outcome = fn(*args)
    return replace(outcome, attempts=attempt) if attempt != outcome.attempts else outcome


def _note_attempt(folder: Path) -> int:
    try:
        from distributed import get_worker

        where = get_worker().address
    except (ImportError, ValueError):
        where = "?"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        line = f"{where} {socket.gethostname()} pid {os.getpid()} at {time.time():.3f}\n"
        fd = os.open(folder / ATTEMPTS_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode())  # one small O_APPEND write: atomic, so starts never mix
        finally:
            os.close(fd)
        return sum(1 for _ in (folder / ATTEMPTS_FILE).open(encoding="utf-8"))
    except OSError:
        return 1  # the folder cannot be written here; evaluate_task will say so


class DaskExecutor:
    """Submits evaluations to Dask.

    Args:
        address: ``local:N`` or ``tcp://HOST:PORT`` (see :func:`parse_address`).
        retries: How many more times a task is run when its worker dies, or submitted when the
            scheduler loses it. For a joined scheduler, its own ``allowed-failures`` decides
            the former.
        connect_timeout_s: How long to wait for a remote scheduler to answer.

    Attributes:
        slots: Evaluations worth running at once: ``N`` for a local cluster, the worker
            threads present at connection for a remote one (at least 1).
    """

    def __init__(self, address: str, *, retries: int = DEFAULT_RETRIES, connect_timeout_s: float = 10.0) -> None:
        if retries < 0:
            raise UsageError(f"DaskExecutor: retries must be >= 0. Got {retries}.")
        kind, target = parse_address(address)
        import dask
        from distributed import Client, LocalCluster

        self.address = address
        self.retries = retries
        self._cluster = None
        self._lock = threading.Lock()
        self._closed = False
        if kind == "local":
            with dask.config.set({"distributed.scheduler.allowed-failures": retries,
                                  "distributed.worker.daemon": False}):
                self._cluster = LocalCluster(n_workers=int(target), threads_per_worker=1, processes=True,
                                             host="127.0.0.1", dashboard_address=None,
                                             silence_logs=logging.ERROR)
                self.client = Client(self._cluster, set_as_default=False)
            self.slots = int(target)
        else:
            try:
                self.client = Client(str(target), timeout=f"{connect_timeout_s}s", set_as_default=False)
            except (OSError, TimeoutError) as exc:
                raise UsageError(f"--dask {target}: no Dask scheduler answered within {connect_timeout_s:g} s "
                                 f"({type(exc).__name__}). Start one (`dask scheduler --host 127.0.0.1`) or check "
                                 "the address.") from None
            workers = self.client.scheduler_info().get("workers", {})
            self.slots = max(1, sum(int(w.get("nthreads", 1)) for w in workers.values()))
        self.scheduler_address = self.client.scheduler.address

    def submit(self, fn: Callable[..., Outcome], *args: Any) -> Future[Outcome]:
        """Run ``fn(*args)`` as a Dask task; the future resolves to an ``Outcome``, never an error."""
        outer: Future[Outcome] = Future()
        workdir = str(args[2]) if fn is evaluate_task and len(args) > 2 else None
        self._submit(outer, fn, args, workdir, resubmits=0)
        return outer

    def _submit(self, outer: Future[Outcome], fn: Callable[..., Outcome], args: tuple[Any, ...],
                workdir: str | None, resubmits: int) -> None:
        key = f"diffuse-evaluate-{uuid.uuid4().hex}"
        try:
            task = self.client.submit(_run_task, fn, args, workdir, key=key, pure=False)
        except Exception as exc:  # the client is closed or cannot reach its scheduler
            outer.set_result(Outcome(None, f"could not submit to the Dask scheduler {self.address}: "
                                           f"{type(exc).__name__}: {exc}", 0.0))
            return
        task.add_done_callback(lambda f: self._done(f, outer, fn, args, workdir, resubmits))

    def _done(self, task: Any, outer: Future[Outcome], fn: Callable[..., Outcome], args: tuple[Any, ...],
              workdir: str | None, resubmits: int) -> None:
        try:
            outcome = self._outcome_of(task, resubmits)
        except Exception as exc:  # never leave the driver waiting on a future that never resolves
            outcome = Outcome(None, f"the Dask task ended in an unexpected way: {type(exc).__name__}: {exc}", 0.0)
        if outcome is None:  # lost by the scheduler: submit it again
            self._submit(outer, fn, args, workdir, resubmits + 1)
            return
        outer.set_result(outcome)

    def _outcome_of(self, task: Any, resubmits: int) -> Outcome | None:
        from distributed import KilledWorker

        if task.status == "finished":
            outcome = task.result()
            if not isinstance(outcome, Outcome):
                return Outcome(None, f"the Dask task returned {type(outcome).__name__}, not an Outcome", 0.0)
            return outcome
        if task.status == "error":
            exc = task.exception()
            if isinstance(exc, KilledWorker):
                return Outcome(None, f"every Dask worker that ran this evaluation died during it ({self.retries + 1} "
                                     "tries); the design may crash the worker, e.g. by running out of memory", 0.0,
                               attempts=self.retries + 1)
            return Outcome(None, f"the Dask task failed: {type(exc).__name__}: {exc}", 0.0)
        # cancelled or lost: the scheduler restarted or the connection dropped
        if resubmits < self.retries and not self._closed:
            return None
        return Outcome(None, f"the Dask scheduler {self.address} lost this evaluation {resubmits + 1} times "
                             f"(status {task.status})", 0.0, attempts=resubmits + 1)

    def shutdown(self) -> None:
        """Close the client, and the local cluster if this executor started it."""
        self._closed = True
        try:
            self.client.close(timeout=10)
        finally:
            if self._cluster is not None:
                self._cluster.close(timeout=10)
