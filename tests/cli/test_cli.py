"""The real ``diffuse`` entry point: output streams, exit codes, resume after SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import optuna
from optuna.trial import TrialState

from tests.conftest import EXAMPLES, run_cli


def test_help_on_every_command_has_an_example():
    for command in ("run", "evaluate", "space", "status", "pareto"):
        result = run_cli(command, "--help")
        assert result.returncode == 0, result.stderr
        assert "example: diffuse" in result.stdout


def test_space_show_prints_table_and_size():
    result = run_cli("space", "show", str(EXAMPLES / "synthetic.yaml"))
    assert result.returncode == 0, result.stderr
    assert "categorical" in result.stdout and "ridge, bowl, step" in result.stdout
    assert "6,237 discrete configurations (times the continuous range of c, e)" in result.stdout
    assert "feasible:" in result.stdout


def test_bad_space_is_one_line_exit_2_and_writes_nothing(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        (EXAMPLES / "synthetic.yaml").read_text().replace("kind: int, low: 0, high: 20", "kind: int, low: 30, high: 20")
    )
    result = run_cli("run", str(bad), "--sampler", "random", "--budget", "5", cwd=tmp_path)
    assert result.returncode == 2
    assert (
        result.stderr.count("\n") == 1 and "parameters[0].high (line 6): must be >= low (30). Got 20" in result.stderr
    )
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == [bad]


def test_bad_flags_exit_2():
    result = run_cli("run", str(EXAMPLES / "synthetic.yaml"), "--budget", "0")
    assert result.returncode == 2 and "--budget must be a whole number >= 1. Got 0." in result.stderr
    result = run_cli("evaluate", str(EXAMPLES / "synthetic.yaml"), "--set", "a=99")
    assert result.returncode == 2 and "--set a=99: expected one of 0..20" in result.stderr


def test_run_status_pareto_round_trip(tmp_path):
    space = str(EXAMPLES / "synthetic.yaml")
    result = run_cli("run", space, "--sampler", "sobol", "--budget", "12", "--seed", "3", "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"study 'synthetic' in sqlite:///{tmp_path / 'synthetic.db'}" in result.stderr
    assert "Pareto front of 'synthetic'" in result.stdout
    status = run_cli("status", space, "--json", cwd=tmp_path)
    summary = json.loads(status.stdout)
    assert summary["counts"]["evaluations"] == 12 and summary["settings"]["sampler"] == "sobol"
    pareto = run_cli("pareto", str(tmp_path / "synthetic.db"), "--csv")
    lines = pareto.stdout.strip().splitlines()
    assert lines[0].startswith("trial,f1,f2,f3,") and len(lines) - 1 == summary["pareto_size"]
    # Continuing with a bigger budget resumes; another sampler on the same study is refused.
    more = run_cli("run", space, "--sampler", "sobol", "--budget", "15", "--seed", "3", "--quiet", cwd=tmp_path)
    assert more.returncode == 0 and "this session evaluated 3" in more.stderr
    other = run_cli("run", space, "--sampler", "tpe", "--budget", "15", "--seed", "3", cwd=tmp_path)
    assert other.returncode == 2 and "was run with sampler 'sobol', not 'tpe'" in other.stderr


def test_evaluate_prints_qor_and_artifacts(tmp_path):
    result = run_cli(
        "evaluate",
        str(EXAMPLES / "synthetic.yaml"),
        "--set",
        "kind=ridge",
        "--json",
        "--artifacts",
        str(tmp_path / "a"),
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["config"]["kind"] == "ridge" and set(data["metrics"]) == {"f1", "f2", "f3"}
    assert str(tmp_path / "a") in result.stderr


def test_sigkill_then_resume_loses_nothing_and_repeats_nothing(tmp_path):
    flow = tmp_path / "flow.py"
    log = tmp_path / "evaluated.txt"
    flow.write_text(
        "import json, time\n"
        "from diffuse_dse.evaluators.synthetic import SyntheticEvaluator\n"
        f"LOG = {str(log)!r}\n"
        "def qor(config):\n"
        "    time.sleep(0.4)\n"
        "    with open(LOG, 'a') as f:\n"
        "        f.write(json.dumps(config, sort_keys=True) + '\\n')\n"
        "    return SyntheticEvaluator().evaluate(config, None)\n"
    )
    space = tmp_path / "space.yaml"
    space.write_text(
        (EXAMPLES / "synthetic.yaml")
        .read_text()
        .replace(
            "evaluator: synthetic",
            f"evaluator: python\nevaluators:\n  python: {{function: 'flow:qor', path: '{tmp_path}'}}",
        )
        .replace("name: synthetic", "name: killme")
        .replace("metrics", "metrics")
    )
    code = "from diffuse_dse.cli import main; raise SystemExit(main())"
    argv = [
        sys.executable,
        "-c",
        code,
        "run",
        str(space),
        "--sampler",
        "random",
        "--budget",
        "24",
        "--workers",
        "2",
        "--quiet",
    ]
    proc = subprocess.Popen(
        argv, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not log.exists() or len(log.read_text().splitlines()) < 6):
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    db = tmp_path / "space.db"
    with sqlite3.connect(db) as conn:
        before = conn.execute("select count(*) from trials where state = 'COMPLETE'").fetchone()[0]
    assert 0 < before < 24
    resumed = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    study = optuna.load_study(study_name="killme", storage=f"sqlite:///{db}")
    complete = [t for t in study.trials if t.state == TrialState.COMPLETE]
    assert len(complete) == 24 >= before
    assert not [t for t in study.trials if t.state == TrialState.RUNNING]
    evaluated = log.read_text().splitlines()
    keys = [json.dumps(t.user_attrs["config"], sort_keys=True) for t in complete if "cache_hit" not in t.user_attrs]
    # Each completed design was evaluated once, except evaluations the kill cut short
    # (finished in the worker but not yet saved), which are re-run: at most one per worker.
    assert len(evaluated) - len(keys) <= 2
    assert sorted(set(evaluated)) == sorted(set(keys))
    interrupted = [t for t in study.trials if t.user_attrs.get("interrupted")]
    assert len(interrupted) <= 2 and all(t.state == TrialState.FAIL for t in interrupted)


def test_pretrain_from_a_cheap_evaluator(tmp_path):
    space = str(EXAMPLES / "synthetic.yaml")
    refused = run_cli(
        "run", space, "--sampler", "tpe", "--budget", "5", "--pretrain", "evaluator:synthetic", cwd=tmp_path
    )
    assert refused.returncode == 2 and "--pretrain works with --sampler diffuse only" in refused.stderr
    result = run_cli("run", space, "--budget", "6", "--pretrain", "evaluator:synthetic", "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    study = optuna.load_study(study_name="synthetic", storage=f"sqlite:///{tmp_path / 'synthetic.db'}")
    assert study.user_attrs["diffuse"]["pretrain"] == "evaluator:synthetic"
    # A pretrained DiffuSE needs only 4 Sobol points before its model proposes.
    assert sum(t.state == TrialState.COMPLETE for t in study.trials) == 6
