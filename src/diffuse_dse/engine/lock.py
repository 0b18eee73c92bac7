"""One driver per study: a second ``diffuse run`` on a study that is being driven is refused.

Two drivers on one study would each ask the sampler, each run :func:`~diffuse_dse.engine.runner.recover`
on the other's RUNNING trials, and together overrun the budget. So ``diffuse run`` takes a lock
before it touches the trials, and a second driver exits with status 2 and names the first.

* A SQLite study (the default) is locked with ``flock`` on ``<db>.<study>.lock`` beside the
  database. The operating system drops the lock when the driver exits, however it exits
  (SIGKILL included), so a resume never waits on a dead driver. ``flock`` works across hosts
  on NFSv4 and Lustre/GPFS with locking enabled, but not on every network filesystem.
* Any other storage (PostgreSQL, MySQL) holds a lease in the study's system attributes: the
  holder refreshes it every :data:`HEARTBEAT_S` seconds and a lease older than
  :data:`STALE_S` seconds belongs to a dead driver and is taken over.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import socket
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import optuna

from diffuse_dse.engine.study import sqlite_path
from diffuse_dse.errors import StorageError, UsageError

LEASE_ATTR = "diffuse:driver"
HEARTBEAT_S = 10.0
STALE_S = 60.0


def _holder() -> dict[str, Any]:
    return {"pid": os.getpid(), "host": socket.gethostname(), "since": time.strftime("%Y-%m-%d %H:%M:%S")}


def _refusal(study_name: str, url: str, holder: dict[str, Any]) -> UsageError:
    who = f"pid {holder.get('pid', '?')} on {holder.get('host', '?')}, since {holder.get('since', '?')}"
    return UsageError(
        f"The study '{study_name}' in {url} is being run by another `diffuse run` ({who}). Two drivers on one "
        "study would propose and evaluate trials twice; wait for it to finish or stop it, then run again to resume."
    )


class DriverLock:
    """The lock of one study; use as a context manager, or call :meth:`acquire` / :meth:`release`.

    Raises (from :meth:`acquire`):
        UsageError: another driver holds the study.
        StorageError: the lock file cannot be created.
    """

    def __init__(self, url: str, study_name: str, study: optuna.Study | None = None) -> None:
        self.url = url
        self.study_name = study_name
        self.study = study
        self._fd: int | None = None
        self._lease: StudyLease | None = None

    @property
    def path(self) -> Path | None:
        """The lock file of a SQLite study, else ``None``."""
        db = sqlite_path(self.url)
        if db is None:
            return None
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", self.study_name)[:80]
        return db.with_name(f"{db.name}.{safe}.lock")

    def acquire(self) -> DriverLock:
        path = self.path
        if path is None:
            if self.study is None:
                raise ValueError("DriverLock needs the study for a storage other than SQLite")
            self._lease = StudyLease(self.study, self.url)
            self._lease.acquire()
            return self
        if not os.access(path.parent, os.W_OK):  # SQLite writes its journal beside the database
            raise StorageError(f"{path.parent}: the folder of the study database cannot be written (permission "
                               "denied), and SQLite needs it for its journal. Choose a writable --storage folder.")
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StorageError(f"{path}: cannot create the driver lock beside the study database "
                               f"({exc.strerror}). Choose a writable --storage folder.") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                holder = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
            except (OSError, ValueError):
                holder = {}
            os.close(fd)
            raise _refusal(self.study_name, self.url, holder) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(_holder()).encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock
            self._fd = None
        if self._lease is not None:
            self._lease.release()
            self._lease = None

    def __enter__(self) -> DriverLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


class StudyLease:
    """A lease on a study kept in its system attributes, refreshed by a daemon thread."""

    def __init__(self, study: optuna.Study, url: str, *, heartbeat_s: float = HEARTBEAT_S,
                 stale_s: float = STALE_S, settle_s: float = 0.5) -> None:
        self.study = study
        self.url = url
        self.heartbeat_s = heartbeat_s
        self.stale_s = stale_s
        self.settle_s = settle_s
        self.token = uuid.uuid4().hex
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _read(self) -> dict[str, Any]:
        attrs = self.study._storage.get_study_system_attrs(self.study._study_id)
        return dict(attrs.get(LEASE_ATTR) or {})

    def _write(self, value: dict[str, Any] | None) -> None:
        self.study._storage.set_study_system_attr(self.study._study_id, LEASE_ATTR, value)

    def acquire(self) -> None:
        current = self._read()
        if current and current.get("token") != self.token and time.time() - current.get("beat", 0) < self.stale_s:
            raise _refusal(self.study.study_name, self.url, current)
        self._write({**_holder(), "token": self.token, "beat": time.time()})
        time.sleep(self.settle_s)  # two drivers starting together: the last writer wins, the other backs off
        if self._read().get("token") != self.token:
            raise _refusal(self.study.study_name, self.url, self._read())
        self._thread = threading.Thread(target=self._beat, name="diffuse-driver-lease", daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat_s):
            try:
                lease = self._read()
                if lease.get("token") == self.token:
                    self._write({**lease, "beat": time.time()})
            except Exception:  # the storage blipped: try again at the next beat
                continue

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        try:
            if self._read().get("token") == self.token:
                self._write(None)
        except Exception:
            pass  # the lease goes stale on its own
