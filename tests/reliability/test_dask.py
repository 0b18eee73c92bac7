"""Dask execution under faults: a worker dies mid-evaluation, a timeout on a worker, loopback binding,
joining a running scheduler, and bad ``--dask`` addresses."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from optuna.trial import TrialState

from diffuse_dse.engine.dask import ATTEMPTS_FILE, DaskExecutor
from diffuse_dse.engine.executor import evaluate_task
from diffuse_dse.evaluators.command import CommandEvaluator
from diffuse_dse.evaluators.python import PythonEvaluator

from .conftest import DATA, child_env, diffuse, load, one_line, python_space, read_log, start_diffuse

CONFIG = {"x": 0.5, "y": 0.25}


@pytest.fixture(scope="module")
def executor():
    ex = DaskExecutor("local:2", retries=2)
    yield ex
    ex.shutdown()


def _python(function: str) -> PythonEvaluator:
    return PythonEvaluator({"function": f"evals:{function}", "path": str(DATA)})


@pytest.mark.timeout(90)
def test_a_worker_killed_mid_evaluation_is_rerun_elsewhere_and_the_rerun_recorded(executor, tmp_path: Path) -> None:
    outcome = executor.submit(evaluate_task, _python("die_on_first_attempt"), CONFIG, str(tmp_path / "t"),
                              ("f1", "f2")).result(timeout=60)
    assert outcome.reason is None and outcome.metrics == {"f1": 0.5, "f2": 0.375}
    assert outcome.attempts == 2
    assert len((tmp_path / "t" / ATTEMPTS_FILE).read_text().splitlines()) == 2


@pytest.mark.timeout(120)
def test_a_design_that_kills_every_worker_fails_with_a_reason_after_bounded_retries(executor, tmp_path: Path) -> None:
    outcome = executor.submit(evaluate_task, _python("always_die"), CONFIG, str(tmp_path / "t"),
                              ("f1", "f2")).result(timeout=100)
    assert outcome.metrics is None
    assert "died during it (3 tries)" in outcome.reason
    assert outcome.attempts == 3
    assert len((tmp_path / "t" / ATTEMPTS_FILE).read_text().splitlines()) == 3
    # the cluster is still usable afterwards
    ok = executor.submit(evaluate_task, _python("slow_logged"), CONFIG, str(tmp_path / "u"), ("f1", "f2"))
    assert ok.result(timeout=60).metrics is not None


@pytest.mark.timeout(60)
def test_a_timeout_kills_the_evaluators_whole_process_group_on_the_worker(executor, tmp_path: Path) -> None:
    evaluator = CommandEvaluator({"argv": [sys.executable, str(DATA / "spawn_and_hang.py")], "timeout_s": 2})
    workdir = tmp_path / "t"
    start = time.perf_counter()
    outcome = executor.submit(evaluate_task, evaluator, CONFIG, str(workdir), ("f1", "f2")).result(timeout=50)
    assert outcome.metrics is None and "exceeded its timeout of 2 s and was killed" in outcome.reason
    assert time.perf_counter() - start < 20
    for name in ("child.pid", "grandchild.pid"):
        pid = int((workdir / name).read_text())
        deadline = time.time() + 5
        while time.time() < deadline and _alive(pid):
            time.sleep(0.05)
        assert not _alive(pid), f"{name} {pid} survived the timeout"


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.timeout(60)
def test_the_local_cluster_listens_on_loopback_only(executor) -> None:
    me = psutil.Process()
    listening = [c for p in [me, *me.children(recursive=True)] for c in p.net_connections(kind="inet")
                 if c.status == psutil.CONN_LISTEN]
    assert listening, "the scheduler and workers should be listening"
    assert {c.laddr.ip for c in listening} == {"127.0.0.1"}
    assert executor.scheduler_address.startswith("tcp://127.0.0.1:")


@pytest.mark.timeout(150)
def test_cli_a_worker_killed_mid_run_loses_nothing(tmp_path: Path) -> None:
    space, db = python_space(tmp_path, "slow_logged"), tmp_path / "study.db"
    log, starts = tmp_path / "evaluated.log", tmp_path / "started.log"
    env = child_env(DIFFUSE_TEST_LOG=str(log), DIFFUSE_TEST_STARTS=str(starts), DIFFUSE_TEST_DELAY="1.5")
    driver = start_diffuse("run", str(space), "--sampler", "random", "--budget", "6", "--quiet", "--storage", str(db),
                           "--dask", "local:2", cwd=tmp_path, env=env)
    deadline = time.time() + 60
    while not read_log(starts):
        assert driver.poll() is None and time.time() < deadline
        time.sleep(0.05)
    victim = read_log(starts)[0]["workdir"]
    pid = int((tmp_path / "study.artifacts" / "space" / victim / "pid").read_text())
    os.kill(pid, signal.SIGKILL)  # the Dask worker process running that evaluation
    assert driver.wait(timeout=120) == 0

    trials = load(db, "space").trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 6
    killed = next(t for t in trials if Path(t.user_attrs["artifacts"]).name == victim)
    assert killed.user_attrs["attempts"] == 2
    assert all("attempts" not in t.user_attrs for t in trials if t is not killed)
    keys = [json.dumps(r["config"], sort_keys=True) for r in read_log(log)]
    assert len(keys) == len(set(keys)) == 6


@pytest.mark.timeout(120)
def test_cli_joins_a_running_scheduler(tmp_path: Path) -> None:
    scheduler_file = tmp_path / "scheduler.json"
    env = child_env()
    procs = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                               "--port", "0", "--no-dashboard", "--scheduler-file", str(scheduler_file)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        deadline = time.time() + 30
        while not scheduler_file.exists() and time.time() < deadline:
            time.sleep(0.1)
        address = json.loads(scheduler_file.read_text())["address"]
        procs.append(subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1",
                                       "--nworkers", "1", "--host", "127.0.0.1", "--no-dashboard"],
                                      env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        space = python_space(tmp_path, "slow_logged")
        proc = diffuse("run", str(space), "--sampler", "random", "--budget", "4", "--quiet", "--storage",
                       str(tmp_path / "s.db"), "--dask", address, cwd=tmp_path,
                       env=child_env(DIFFUSE_TEST_DELAY="0.1"), timeout=90)
        assert proc.returncode == 0, proc.stderr
        assert f"on Dask {address}" in proc.stderr
        assert sum(t.state == TrialState.COMPLETE for t in load(tmp_path / "s.db", "space").trials) == 4
    finally:
        for p in reversed(procs):
            p.terminate()
            p.wait(timeout=20)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("address", ["local:0", "local:two", "127.0.0.1:8786", "tcp://127.0.0.1:1"])
def test_cli_a_bad_dask_address_is_one_line_and_exit_2(tmp_path: Path, address: str) -> None:
    space = python_space(tmp_path, "slow_logged")
    proc = diffuse("run", str(space), "--sampler", "random", "--budget", "2", "--storage", str(tmp_path / "s.db"),
                   "--dask", address, cwd=tmp_path, timeout=50)
    assert proc.returncode == 2
    line = one_line(proc.stderr)
    assert line.startswith("diffuse run: error: --dask") and address in line
    assert proc.stdout == ""
