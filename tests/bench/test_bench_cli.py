"""``diffuse bench`` through the real entry point: a tiny bench, every output file and metric, resume."""

from __future__ import annotations

import csv
import json
import math
from collections import defaultdict
from pathlib import Path

import moocore
import numpy as np
import optuna
import pytest
from optuna.trial import TrialState

from diffuse_dse.bench.metrics import FRACTIONS
from diffuse_dse.bench.report import FILES
from diffuse_dse.evaluators.synthetic import synthetic_objectives
from diffuse_dse.space import load_space
from tests.conftest import ROOT, run_cli

TASK = ROOT / "benchmarks" / "tasks" / "synthetic.yaml"
SAMPLERS = ("random", "tpe")
BUDGET = 12


def bench(out: Path, *extra: str):
    return run_cli(
        "bench",
        "--space",
        str(TASK),
        "--samplers",
        ",".join(SAMPLERS),
        "--budget",
        str(BUDGET),
        "-o",
        str(out),
        *extra,
        cwd=out.parent,
    )


def exact_synthetic_front() -> np.ndarray:
    """The unit-sphere points of every feasible (a, b): the synthetic problem's exact front."""
    space = load_space(TASK)
    a, b = np.meshgrid(np.arange(21), space.parameter("b").choices, indexing="ij")
    a, b = a.ravel(), b.ravel()
    keep = a + 20 * b <= 32
    n = int(keep.sum())
    out = synthetic_objectives(
        {
            "a": a[keep],
            "b": b[keep],
            "kind": np.array(["ridge"] * n),
            "c": np.full(n, 0.5),
            "d": np.full(n, 5),
            "e": np.full(n, 0.1),
        }
    )
    return np.stack([out["f1"], out["f2"], out["f3"]], axis=1)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A tiny bench built in three steps: seed 0 complete; seed 1 partial (5 evaluations) with a
    trial left RUNNING as a killed driver leaves it; then the full command, which must skip
    seed 0 and resume seed 1."""
    out = tmp_path_factory.mktemp("bench") / "out"
    out.mkdir()
    first = bench(out, "--seeds", "1", "--quiet")
    assert first.returncode == 0, first.stderr
    partial = run_cli(
        "bench",
        "--space",
        str(TASK),
        "--samplers",
        ",".join(SAMPLERS),
        "--budget",
        "5",
        "--seed-list",
        "1",
        "-o",
        str(out),
        "--quiet",
        cwd=out.parent,
    )
    assert partial.returncode == 0, partial.stderr
    storage = f"sqlite:///{out / 'bench.db'}"
    dangling = optuna.load_study(study_name="synthetic-random-s1", storage=storage)
    dangling.ask()  # left RUNNING without a result: the resume must fail it and queue it again
    full = bench(out, "--seeds", "2", "--quiet")
    return out, storage, first, full


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_every_output_file_is_written(finished):
    out, _, _, full = finished
    assert full.returncode == 0, full.stderr
    for name in FILES:
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    for name in ("hv.png", "fronts.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_resume_skips_finished_runs_and_completes_partial_ones(finished):
    _out, storage, first, full = finished
    assert "synthetic-random-s0: started, budget 12" in first.stderr
    assert "synthetic-random-s0: finished before (12 evaluations), skipped" in full.stderr
    assert "synthetic-tpe-s0: finished before (12 evaluations), skipped" in full.stderr
    assert "synthetic-random-s1: resumed at 5 of 12" in full.stderr
    assert "synthetic-tpe-s1: resumed at 5 of 12" in full.stderr
    for sampler in SAMPLERS:
        for seed in (0, 1):
            study = optuna.load_study(study_name=f"synthetic-{sampler}-s{seed}", storage=storage)
            trials = study.get_trials(deepcopy=False)
            spent = [
                t
                for t in trials
                if t.state in (TrialState.COMPLETE, TrialState.FAIL) and not t.user_attrs.get("interrupted")
            ]
            assert len(spent) == BUDGET
            assert not [t for t in trials if t.state == TrialState.RUNNING]
            attrs = study.user_attrs["diffuse"]
            assert (attrs["sampler"], attrs["seed"], attrs["evaluator"]) == (sampler, seed, "synthetic")
            assert all(
                "sampler_seconds" in t.user_attrs and "ask_seconds" in t.user_attrs
                for t in trials
                if not t.user_attrs.get("interrupted")
            )
    interrupted = [
        t
        for t in optuna.load_study(study_name="synthetic-random-s1", storage=storage).trials
        if t.user_attrs.get("interrupted")
    ]
    assert len(interrupted) == 1


def test_rerun_of_a_finished_bench_changes_nothing(finished, tmp_path):
    out, _, _, full = finished
    before = {name: (out / name).read_text() for name in ("metrics.csv", "runs.csv", "summary.md")}
    again = bench(out, "--seeds", "2", "--quiet")
    assert again.returncode == 0, again.stderr
    assert again.stderr.count("skipped") == 4
    assert {name: (out / name).read_text() for name in before} == before
    assert again.stdout == full.stdout == before["summary.md"]


def test_metrics_csv_covers_every_evaluation_and_is_consistent(finished):
    out, storage, _, _ = finished
    rows = read_csv(out / "metrics.csv")
    assert len(rows) == len(SAMPLERS) * 2 * BUDGET
    by_run = defaultdict(list)
    for r in rows:
        by_run[(r["sampler"], int(r["seed"]))].append(r)
    assert set(by_run) == {(s, seed) for s in SAMPLERS for seed in (0, 1)}
    exact = exact_synthetic_front()
    ref = np.full(3, 2.5)
    ref_hv = moocore.hypervolume(exact, ref=ref)
    for (sampler, seed), series in by_run.items():
        assert [int(r["evaluations"]) for r in series] == list(range(1, BUDGET + 1))
        hv = np.array([float(r["hv"]) for r in series])
        igd = np.array([float(r["igd_plus"]) for r in series])
        adrs = np.array([float(r["adrs"]) for r in series])
        assert np.all(np.diff(hv) >= -1e-12) and np.all((hv >= 0) & (hv <= 1))
        assert np.all(np.diff(igd) <= 1e-12) and np.all(igd >= 0)
        assert np.all(np.diff(adrs) <= 1e-12) and np.all(adrs >= 0)
        # The final HV, recomputed from the stored trials against the exact front.
        study = optuna.load_study(study_name=f"synthetic-{sampler}-s{seed}", storage=storage)
        pts = np.array([t.values for t in study.trials if t.state == TrialState.COMPLETE])
        assert hv[-1] == pytest.approx(moocore.hypervolume(pts, ref=ref) / ref_hv, rel=1e-5)
        # IGD+ on objectives scaled by (ref - ideal); the ideal of the exact front is 0.
        scaled_ref, scaled_pts = (exact - exact.min(0)) / 2.5, (pts - exact.min(0)) / 2.5
        assert igd[-1] == pytest.approx(moocore.igd_plus(scaled_pts, ref=scaled_ref), rel=1e-5)


def test_runs_csv_and_summary(finished):
    out, _, _, _full = finished
    runs = read_csv(out / "runs.csv")
    assert len(runs) == 4
    for r in runs:
        assert int(r["evaluations"]) == BUDGET
        reached = [float(r[f"evals_to_{int(f * 100)}"]) for f in FRACTIONS]
        assert reached == sorted(reached)  # a higher target is never reached sooner
        assert float(r["sampler_seconds"]) > 0
        assert int(r["proposals"]) >= BUDGET
        assert int(r["failed"]) == 0
        for objective in ("f1", "f2", "f3"):
            assert float(r[f"improvement_{objective}_pct"]) <= 100
        assert r["improvement_PPA_pct"] == "nan"  # the synthetic objectives have no units: no PPA figure
    summary = json.loads((out / "summary.json").read_text())
    exact = exact_synthetic_front()
    assert summary["reference"]["kind"] == "exact"
    assert summary["reference"]["points"] == len(exact) == 172
    assert summary["reference"]["hypervolume"] == pytest.approx(moocore.hypervolume(exact, ref=np.full(3, 2.5)))
    assert summary["checkpoints"] == [6, 12]
    default = synthetic_objectives(
        {
            "a": np.array([10]),
            "b": np.array([0.5]),
            "kind": np.array(["bowl"]),
            "c": np.array([0.5]),
            "d": np.array([2]),
            "e": np.array([0.01]),
        }
    )
    assert summary["default"] == {k: pytest.approx(float(v[0])) for k, v in default.items()}
    for sampler in SAMPLERS:
        entry = summary["samplers"][sampler]
        assert entry["runs"] == 2 and entry["evaluations"] == [BUDGET, BUDGET]
        med, lo, hi = entry["hv@12"]
        assert lo <= med <= hi
    table = (out / "summary.md").read_text()
    assert "| sampler | runs | HV@6 | HV@12 | IGD+ | ADRS | evals to 80 % | evals to 90 % | evals to 95 % |" in table
    assert all(f"| {s} | 2 |" in table for s in SAMPLERS)
    reference = read_csv(out / "reference.csv")
    assert len(reference) == 172 and set(reference[0]) == {"f1", "f2", "f3"}
    assert not math.isnan(float(reference[0]["f1"]))


def test_no_run_only_rewrites_outputs(finished):
    out, _, _, _ = finished
    (out / "hv.png").unlink()
    result = bench(out, "--seeds", "2", "--no-run")
    assert result.returncode == 0, result.stderr
    assert "started" not in result.stderr and "skipped" not in result.stderr
    assert (out / "hv.png").is_file()


def test_usage_errors_are_one_line_exit_2(tmp_path, write_space):
    result = run_cli(
        "bench", "--space", str(TASK), "--samplers", "random,simplex", "--budget", "3", "-o", str(tmp_path / "x")
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "diffuse bench: error: --samplers: unknown sampler 'simplex'. Choose from: "
        "diffuse, botorch, gp, tpe, nsga2, random, sobol."
    ]
    no_ref = write_space(TASK.read_text().replace(", ref: 2.5}", "}"), "noref.yaml")
    result = run_cli(
        "bench", "--space", str(no_ref), "--samplers", "random", "--budget", "3", "-o", str(tmp_path / "y")
    )
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "have no 'ref'" in result.stderr
