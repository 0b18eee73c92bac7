"""The python evaluator calls a user function; its errors become failure reasons."""

from __future__ import annotations

import pytest

from diffuse_dse.engine import evaluate_task
from diffuse_dse.errors import SettingsError
from diffuse_dse.evaluators.python import PythonEvaluator


def test_calls_user_function_with_and_without_workdir(tmp_path):
    (tmp_path / "userflow.py").write_text(
        "def qor(config):\n    return {'f1': config['x'] + 1}\n"
        "def qor_dir(config, workdir):\n    (workdir / 'log.txt').write_text('ran')\n    return {'f1': 0.5}\n"
        "def boom(config):\n    raise RuntimeError('license server down')\n"
    )
    assert PythonEvaluator({"function": "userflow:qor", "path": "."}, base_dir=tmp_path).evaluate(
        {"x": 2}, tmp_path
    ) == {"f1": 3}
    PythonEvaluator({"function": "userflow:qor_dir", "path": "."}, base_dir=tmp_path).evaluate({}, tmp_path)
    assert (tmp_path / "log.txt").read_text() == "ran"
    outcome = evaluate_task(
        PythonEvaluator({"function": "userflow:boom", "path": "."}, base_dir=tmp_path), {}, str(tmp_path), ()
    )
    assert outcome.reason == "userflow:boom raised RuntimeError: license server down"


def test_bad_function_names_fail_fast(tmp_path):
    with pytest.raises(SettingsError, match="expected 'module:function'"):
        PythonEvaluator({"function": "nocolon"})
    with pytest.raises(SettingsError, match="cannot import module 'no_such_module_q'"):
        PythonEvaluator({"function": "no_such_module_q:f"})
    with pytest.raises(SettingsError, match="has no function 'nope'"):
        PythonEvaluator({"function": "json:nope"})
