"""The command evaluator with real subprocesses: QoR file, timeout, crash, verbatim values."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from diffuse_dse.engine import evaluate_task
from diffuse_dse.errors import EvaluationError, EvaluationTimeout, SettingsError
from diffuse_dse.evaluators.command import CommandEvaluator

SCRIPT = """
import json, sys, time, os
config = json.load(open(sys.argv[1]))
mode = sys.argv[3]
if mode == "sleep":
    open(os.path.join(os.path.dirname(sys.argv[2]), "child.pid"), "w").write(str(os.getpid()))
    time.sleep(60)
if mode == "crash":
    print("segmentation fault in placer", file=sys.stderr)
    sys.exit(3)
if mode == "garbage":
    open(sys.argv[2], "w").write("not json {")
    sys.exit(0)
json.dump({"f1": config["x"] * 2.0, "echo": len(sys.argv[4])}, open(sys.argv[2], "w"))
"""


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "flow.py"
    path.write_text(SCRIPT)
    return path


def make(script: Path, mode: str, **settings) -> CommandEvaluator:
    argv = [sys.executable, str(script), "{config}", "{output}", mode, "{label}"]
    return CommandEvaluator({"argv": argv, **settings})


def test_reads_qor_and_passes_values_verbatim(script, tmp_path):
    label = "a b;$(touch pwned)'\"|&"
    evaluator = make(script, "ok")
    qor = evaluator.evaluate({"x": 1.5, "label": label}, tmp_path)
    assert qor == {"f1": 3.0, "echo": len(label)}
    assert json.loads((tmp_path / "command.json").read_text())["argv"][-1] == label
    assert not (tmp_path / "pwned").exists()


def test_timeout_kills_the_process_group(script, tmp_path):
    evaluator = make(script, "sleep", timeout_s=1.0)
    start = time.monotonic()
    with pytest.raises(EvaluationTimeout, match="exceeded its timeout of 1 s"):
        evaluator.evaluate({"x": 1, "label": "t"}, tmp_path)
    assert time.monotonic() - start < 10
    pid = int((tmp_path / "child.pid").read_text())
    assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()


def test_crash_reports_status_and_stderr(script, tmp_path):
    with pytest.raises(EvaluationError, match=r"exited with status 3; stderr ends: segmentation fault in placer"):
        make(script, "crash").evaluate({"x": 1, "label": "c"}, tmp_path)


def test_garbage_output_becomes_a_failed_outcome(script, tmp_path):
    outcome = evaluate_task(make(script, "garbage"), {"x": 1, "label": "g"}, str(tmp_path), ("f1",))
    assert outcome.metrics is None and "not valid JSON" in outcome.reason


def test_missing_metric_and_nan_are_failures(tmp_path):
    script = tmp_path / "nan.py"
    script.write_text("import json,sys; json.dump({'f1': float('nan')}, open(sys.argv[1], 'w'))")
    outcome = evaluate_task(
        CommandEvaluator({"argv": [sys.executable, str(script), "{output}"]}), {}, str(tmp_path), ("f1",)
    )
    assert "metric 'f1' is nan" in outcome.reason
    outcome = evaluate_task(
        CommandEvaluator({"argv": [sys.executable, str(script), "{output}"]}), {}, str(tmp_path), ("f2",)
    )
    assert outcome.metrics is None


def test_bad_settings_fail_fast():
    with pytest.raises(SettingsError, match=r"evaluators\.command\.argv: this setting is required"):
        CommandEvaluator({})
    with pytest.raises(SettingsError, match=r"evaluators\.command\.timeout_s: must be > 0"):
        CommandEvaluator({"argv": ["true"], "timeout_s": 0})
    with pytest.raises(SettingsError, match=r"unknown setting; 'command' takes"):
        CommandEvaluator({"argv": ["true"], "shell": True})


def test_missing_tool_is_named(tmp_path):
    outcome = evaluate_task(CommandEvaluator({"argv": ["no-such-eda-tool-xyz", "{output}"]}), {}, str(tmp_path), ())
    assert "no-such-eda-tool-xyz" in outcome.reason and "not found" in outcome.reason
