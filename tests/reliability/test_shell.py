"""Parameter values with shell metacharacters reach a `command` evaluator verbatim, never through a shell."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from diffuse_dse.engine.records import params_from_config
from diffuse_dse.space import load_space

from .conftest import DATA, child_env, diffuse, load, write_space

NASTY = [
    "a;b",
    "$(touch pwned-subst)",
    "`touch pwned-backtick`",
    "'q\"",
    "with  two spaces",
    "x | touch pwned-pipe",
    "&& touch pwned-and",
    "> pwned-redirect",
    "*",
    "~",
    "$HOME",
    "-rf",
    "line\nbreak",
    "{x}",
    "ünï€ode",
]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("parallel", [[], ["--dask", "local:1"]], ids=["inline", "dask"])
def test_metacharacters_reach_the_command_verbatim(tmp_path: Path, parallel: list[str]) -> None:
    argv = [sys.executable, str(DATA / "echo_args.py"), "{output}", "{s}", "--label={s}"]
    space = write_space(tmp_path, "command", {"argv": argv}, extra_parameters=[
        {"name": "s", "layer": "eda", "kind": "categorical", "values": NASTY}])
    db = tmp_path / "s.db"
    base = ["run", str(space), "--sampler", "random", "--quiet", "--storage", str(db), *parallel]
    first = diffuse(*base, "--budget", "1", cwd=tmp_path, env=child_env())
    assert first.returncode == 0, first.stderr
    study = optuna.load_study(study_name="space", storage=f"sqlite:///{db}")
    loaded = load_space(space)
    done = study.trials[0].user_attrs["config"]["s"]
    for i, value in enumerate(v for v in NASTY if v != done):
        study.enqueue_trial(params_from_config(loaded, {"x": 0.01 * i, "y": 0.5, "s": value}))
    proc = diffuse(*base, "--budget", str(len(NASTY)), cwd=tmp_path, env=child_env())
    assert proc.returncode == 0, proc.stderr

    trials = load(db, "space").trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * len(NASTY)
    seen = set()
    for t in trials:
        value = t.user_attrs["config"]["s"]
        folder = Path(t.user_attrs["artifacts"])
        received = json.loads((folder / "argv.json").read_text())
        assert received[1:] == [value, f"--label={value}"]
        assert json.loads((folder / "config.json").read_text())["s"] == value
        assert t.values[0] == len(value)
        seen.add(value)
    assert seen == set(NASTY)
    assert not [p for p in tmp_path.rglob("pwned*")], "a value went through a shell"
