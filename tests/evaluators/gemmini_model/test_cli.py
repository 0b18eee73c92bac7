"""`diffuse reference-front` and `diffuse calibrate` through the real entry point."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from diffuse_dse.evaluators.gemmini_model import evaluate_arrays
from diffuse_dse.space import load_space

from .spaces import write_small_space

MAIN = [sys.executable, "-c", "from diffuse_dse.cli import main; raise SystemExit(main())"]


def _diffuse(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*MAIN, *args], capture_output=True, text=True, cwd=cwd, timeout=240)


def test_reference_front_is_the_exact_front_of_the_grid(tmp_path: Path) -> None:
    space_file = write_small_space(tmp_path)
    out = tmp_path / "front.json"
    proc = _diffuse("reference-front", str(space_file), "-o", str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    summary = json.loads(proc.stdout)
    assert summary["front_size"] == len(doc["front"]) > 0 and summary["hypervolume"] > 0
    # brute force: every feasible grid point, abc_delay_ratio at its default
    space = load_space(space_file)
    grid = [p for p in space.parameters if p.is_discrete]
    mesh = np.meshgrid(*[np.arange(len(p.choices)) for p in grid], indexing="ij")
    arrays = {p.name: p.values_array(g.ravel()) for p, g in zip(grid, mesh, strict=True)}
    arrays["abc_delay_ratio"] = np.ones(len(mesh[0].ravel()))
    mask = space.feasible_mask(arrays)
    assert summary["evaluated"] == int(mask.sum())
    met = evaluate_arrays({k: v[mask] for k, v in arrays.items()})
    pts = np.stack([met[m] for m in space.objective_names], axis=1)
    front = np.array([[row[m] for m in space.objective_names] for row in doc["front"]])
    for p in pts:  # nothing on the grid dominates a front point
        dominated = (front >= p).all(axis=1) & (front > p).any(axis=1)
        assert not dominated.any()


def test_reference_front_rejects_a_bad_fix(tmp_path: Path) -> None:
    proc = _diffuse("reference-front", str(write_small_space(tmp_path)), "--fix", "mesh_rows=3", cwd=tmp_path)
    assert proc.returncode == 2
    assert "mesh_rows" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.slow
def test_calibrate_against_a_stand_in_flow_is_resumable(tmp_path: Path) -> None:
    space_file = write_small_space(tmp_path)
    data, coef = tmp_path / "cal.csv", tmp_path / "coef.json"
    args = ("calibrate", str(space_file), "--flow", "gemmini-model", "--n", "10", "--data", str(data),
            "--out", str(coef))
    first = _diffuse(*args, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    with data.open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) >= 8 and {"area_mm2", "power_mw", "latency_ms", "workload"} <= set(rows[0])
    report = json.loads(first.stdout)
    assert report["fitted"]["area_mm2"]["mdape_pct"] < 5.0  # the stand-in flow is the (calibrated) model
    second = _diffuse(*args, cwd=tmp_path)
    assert second.returncode == 0 and "added 0 rows" in second.stderr
    assert json.loads(coef.read_text())["fa_area_um2"] > 0
