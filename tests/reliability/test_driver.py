"""The driver dies or is doubled: SIGKILL mid-run then resume, and two drivers on one study."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from diffuse_dse.engine.lock import StudyLease
from diffuse_dse.errors import UsageError

from .conftest import child_env, diffuse, load, one_line, python_space, read_log, start_diffuse

BUDGET = 12


def _kill_mid_evaluation(driver: subprocess.Popen[str], log: Path, starts: Path, *, done_at_least: int) -> None:
    """SIGKILL the driver once ``done_at_least`` evaluations are logged and every evaluation in flight
    is well inside its 1 s sleep, so that none is finishing (or just finished) at the kill."""
    deadline = time.time() + 90
    while time.time() < deadline:
        assert driver.poll() is None, "the driver ended before it could be killed"
        done = read_log(log)
        finished = {r["workdir"] for r in done}
        inflight = [s for s in read_log(starts) if s["workdir"] not in finished]
        now = time.time()
        if (len(done) >= done_at_least and inflight and now - max(r["t"] for r in done) > 0.2
                and all(0.2 < now - s["t"] < 0.7 for s in inflight)):
            os.kill(driver.pid, signal.SIGKILL)
            driver.wait(timeout=10)
            return
        time.sleep(0.02)
    pytest.fail("no moment to kill the driver mid-evaluation came within 90 s")


@pytest.mark.timeout(240)
@pytest.mark.parametrize("parallel", [["--workers", "2"], ["--dask", "local:2"]], ids=["pool", "dask"])
def test_sigkill_driver_then_resume_loses_nothing_and_repeats_nothing(tmp_path: Path, parallel: list[str]) -> None:
    space, db = python_space(tmp_path, "slow_logged"), tmp_path / "study.db"
    log, starts = tmp_path / "evaluated.log", tmp_path / "started.log"
    env = child_env(DIFFUSE_TEST_LOG=str(log), DIFFUSE_TEST_STARTS=str(starts), DIFFUSE_TEST_DELAY="1.0")
    args = ["run", str(space), "--sampler", "random", "--budget", str(BUDGET), "--quiet", "--storage", str(db),
            *parallel]

    _kill_mid_evaluation(start_diffuse(*args, cwd=tmp_path, env=env), log, starts, done_at_least=3)
    before = read_log(log)
    time.sleep(1.5)  # long enough for an orphaned worker to finish its evaluation
    assert read_log(log) == before, "an evaluation finished after the driver died: a worker outlived the driver"
    left_running = [t for t in load(db, "space").trials if t.state == TrialState.RUNNING]
    assert left_running, "the kill should have left trials RUNNING"

    resumed = diffuse(*args, cwd=tmp_path, env={**env, "DIFFUSE_TEST_DELAY": "0.2"}, timeout=150)
    assert resumed.returncode == 0, resumed.stderr

    trials = load(db, "space").trials
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    interrupted = [t for t in trials if t.user_attrs.get("interrupted")]
    assert not [t for t in trials if t.state == TrialState.RUNNING]
    assert len(complete) == BUDGET
    assert all(t.state == TrialState.FAIL for t in interrupted)
    assert len(interrupted) + len(complete) == len(trials)
    assert f"re-run {len(interrupted)}" in resumed.stderr
    logged = read_log(log)
    keys = [json.dumps(r["config"], sort_keys=True) for r in logged]
    assert len(keys) == len(set(keys)) == BUDGET, "a configuration was evaluated twice"  # 0 evaluated twice
    assert {json.dumps(t.user_attrs["config"], sort_keys=True) for t in complete} == set(keys)  # 0 lost
    by_folder = {Path(t.user_attrs["artifacts"]).name: t for t in complete}
    for record in before:  # every evaluation finished before the kill kept its own trial and result
        assert by_folder[record["workdir"]].user_attrs["config"] == record["config"]
    for t in interrupted:  # each abandoned trial was queued again, and that run completed
        assert any(c.user_attrs.get("rerun_of") == t.number for c in complete)


@pytest.mark.timeout(120)
def test_a_second_driver_is_refused_and_a_killed_one_does_not_block_resume(tmp_path: Path) -> None:
    space, db = python_space(tmp_path, "slow_logged"), tmp_path / "study.db"
    starts = tmp_path / "started.log"
    env = child_env(DIFFUSE_TEST_STARTS=str(starts), DIFFUSE_TEST_DELAY="0.5")
    args = ["run", str(space), "--sampler", "random", "--budget", "6", "--quiet", "--storage", str(db)]
    first = start_diffuse(*args, cwd=tmp_path, env=env)
    deadline = time.time() + 60
    while not read_log(starts) and time.time() < deadline:
        assert first.poll() is None
        time.sleep(0.05)

    second = diffuse(*args, cwd=tmp_path, env=env)
    assert second.returncode == 2
    line = one_line(second.stderr)
    assert "is being run by another `diffuse run`" in line and f"pid {first.pid}" in line
    assert second.stdout == ""

    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    third = diffuse(*args, cwd=tmp_path, env={**env, "DIFFUSE_TEST_DELAY": "0.05"})
    assert third.returncode == 0, third.stderr
    trials = load(db, "space").trials
    assert sum(t.state == TrialState.COMPLETE for t in trials) == 6


@pytest.mark.timeout(30)
def test_lease_refuses_a_second_driver_and_expires_with_a_dead_one(tmp_path: Path) -> None:
    """The lease used for server storages (PostgreSQL, MySQL), exercised on SQLite."""
    url = f"sqlite:///{tmp_path / 'lease.db'}"
    optuna.create_study(storage=url, study_name="s")

    def lease() -> StudyLease:
        return StudyLease(optuna.load_study(study_name="s", storage=url), url, heartbeat_s=0.1, stale_s=1.0,
                          settle_s=0.05)

    first = lease()
    first.acquire()
    time.sleep(0.3)  # heartbeats keep it fresh past several beats
    with pytest.raises(UsageError, match="being run by another"):
        lease().acquire()
    first.release()
    second = lease()
    second.acquire()
    second._stop.set()  # the holder dies: its heartbeat stops and the lease goes stale
    second._thread.join()
    with pytest.raises(UsageError):
        lease().acquire()
    time.sleep(1.1)
    third = lease()
    third.acquire()
    third.release()
