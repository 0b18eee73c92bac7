"""Calibrate the technology coefficients against a real flow (the ``asap7`` evaluator).

* Design: scrambled Sobol points over the space (seeded), mapped to legal values and kept when
  feasible, plus two corners (every hardware parameter at its smallest / largest legal value)
  and the space's default; ``max_dim`` drops arrays larger than ``DIM x DIM`` to bound flow time.
* Data: one CSV row per evaluated configuration (parameters, metrics, workload, flow, seconds).
  Runs append; configurations already in the file are skipped, so the set grows over runs.
* Fit: the coefficients of :data:`FIT` are scaled by ``exp(theta)``; ``theta`` minimizes
  ``sum (log model - log flow)^2`` over area, power and latency of the training rows plus
  ``ridge |theta|^2`` (a pull toward the first-principles values, as data are few), with
  ``scipy.optimize.least_squares``.
* Error: rows are split once, seeded, 75 / 25; the held-out rows give the median absolute
  percentage error and Kendall's tau per metric.
"""

from __future__ import annotations

import csv
import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from diffuse_dse.evaluators.gemmini_model.model import evaluate_arrays
from diffuse_dse.space import Space

TARGETS: tuple[str, ...] = ("area_mm2", "power_mw", "latency_ms")
"""The metrics fitted and reported."""

FIT: tuple[str, ...] = (
    "fa_area_um2", "dff_area_um2", "ctrl_area_um2", "sram_area_scale", "delay_strategy_area", "pressure_area",
    "reg_ps", "mul_ps_per_bit", "add_ps_per_log2bit", "stage_ps", "hop_ps", "periph_ps", "delay_strategy_delay",
    "min_delay_frac_area", "min_delay_frac_delay",
    "vt_delay", "vt_leak_pw_per_um2", "mac_fj_per_fa", "reg_clock_fj", "sram_energy_scale",
)
"""Coefficients the fit scales (list-valued ones entry by entry)."""

EXTRA = ("workload", "flow", "seconds")


def design(space: Space, n: int, *, seed: int = 0, max_dim: int | None = None) -> list[dict[str, Any]]:
    """The default, two corners and up to ``n`` feasible Sobol points, as configurations."""
    from scipy.stats import qmc

    configs = [space.default_config()]
    for pick in (0, -1):
        corner = dict(space.default_config())
        for p in space.parameters:
            if p.layer == "hw" and p.is_discrete and p.is_numeric:
                corner[p.name] = p.choices[pick]
        configs.append(corner)
    sampler = qmc.Sobol(d=len(space.parameters), scramble=True, seed=seed)
    u = sampler.random(2 ** max(4, math.ceil(math.log2(max(n, 1) * 16))))
    arrays = {}
    for j, p in enumerate(space.parameters):
        if p.is_discrete:
            arrays[p.name] = p.values_array(np.minimum((u[:, j] * len(p.choices)).astype(int), len(p.choices) - 1))
        else:
            arrays[p.name] = p.low + u[:, j] * (p.high - p.low)
    mask = space.feasible_mask(arrays)
    if max_dim is not None:
        mask &= np.asarray(arrays["mesh_rows"]) * np.asarray(arrays["tile_rows"]) <= max_dim
    rows = list(space.rows({k: v[mask] for k, v in arrays.items()}))[:n]
    small = [c for c in configs if max_dim is None or c["mesh_rows"] * c["tile_rows"] <= max_dim]
    ok = [c for c in small if space.is_feasible(c)]
    return ok + rows


def config_key(space: Space, config: Mapping[str, Any]) -> str:
    """A stable text key of a configuration (floats rounded to 6 digits)."""
    return json.dumps({p.name: round(float(config[p.name]), 6) if p.kind == "float" else str(config[p.name])
                       for p in space.parameters}, sort_keys=True)


def read_rows(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def collect(space: Space, configs: Sequence[Mapping[str, Any]], run: Callable[[Mapping[str, Any]], Mapping[str, float]],
            path: Path, *, workload: str, flow: str, metrics: Sequence[str],
            log: Callable[[str], None] = print) -> int:
    """Evaluate the configurations not yet in ``path`` with ``run`` and append a row for each."""
    have = {config_key(space, _typed(space, r)) for r in read_rows(path) if r.get("workload") == workload}
    todo = [c for c in configs if config_key(space, c) not in have]
    columns = [*space.names, *metrics, *EXTRA]
    new_file = not path.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    done = 0
    for i, config in enumerate(todo):
        start = time.perf_counter()
        try:
            result = run(config)
        except Exception as exc:  # one failed flow run must not lose the others
            log(f"[{i + 1}/{len(todo)}] failed: {type(exc).__name__}: {exc}")
            continue
        row = {**{k: config[k] for k in space.names}, **{m: result[m] for m in metrics},
               "workload": workload, "flow": flow, "seconds": round(time.perf_counter() - start, 2)}
        with path.open("a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=columns)
            if new_file:
                writer.writeheader()
                new_file = False
            writer.writerow(row)
        done += 1
        log(f"[{i + 1}/{len(todo)}] {row['seconds']} s  " + "  ".join(f"{m}={result[m]:.4g}" for m in TARGETS))
    return done


def _typed(space: Space, row: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for p in space.parameters:
        out[p.name] = p.coerce(row[p.name]) if p.is_discrete else float(row[p.name])
    return out


def dataset(space: Space, path: Path, workload: str) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Column arrays of configurations and of measured metrics for one workload."""
    rows = [r for r in read_rows(path) if r.get("workload") == workload]
    configs = [_typed(space, r) for r in rows]
    arrays = {p.name: np.array([c[p.name] for c in configs], dtype=object if not p.is_numeric else None)
              for p in space.parameters}
    measured = {m: np.array([float(r[m]) for r in rows]) for m in TARGETS}
    return arrays, measured


def split(n: int, seed: int = 0, test_fraction: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    """Seeded train and held-out row indices."""
    order = np.random.default_rng(seed).permutation(n)
    k = max(1, round(n * test_fraction)) if n >= 4 else 0
    return np.sort(order[k:]), np.sort(order[:k])


def _apply(coef: Mapping[str, Any], theta: np.ndarray) -> dict[str, Any]:
    out, i = dict(coef), 0
    for name in FIT:
        value = coef[name]
        if isinstance(value, list):
            out[name] = [v * math.exp(t) for v, t in zip(value, theta[i:i + len(value)], strict=True)]
            i += len(value)
        else:
            out[name] = value * math.exp(theta[i])
            i += 1
    return out


def _n_theta(coef: Mapping[str, Any]) -> int:
    return sum(len(coef[n]) if isinstance(coef[n], list) else 1 for n in FIT)


def _subset(arrays: Mapping[str, np.ndarray], idx: np.ndarray) -> dict[str, np.ndarray]:
    return {k: np.asarray(v)[idx] for k, v in arrays.items()}


def fit(arrays: Mapping[str, np.ndarray], measured: Mapping[str, np.ndarray], coef: Mapping[str, Any], *,
        workload: str, ridge: float = 0.05) -> dict[str, Any]:
    """Coefficients that best match ``measured`` in log space (see the module docstring)."""
    from scipy.optimize import least_squares

    logs = np.concatenate([np.log(measured[m]) for m in TARGETS])

    def residuals(theta: np.ndarray) -> np.ndarray:
        out = evaluate_arrays(arrays, workload=workload, coefficients=_apply(coef, theta))
        model = np.concatenate([np.log(np.maximum(out[m], 1e-30)) for m in TARGETS])
        return np.concatenate([model - logs, math.sqrt(ridge) * theta])

    result = least_squares(residuals, np.zeros(_n_theta(coef)), method="trf", diff_step=1e-3, max_nfev=400)
    fitted = _apply(coef, result.x)
    fitted["source"] = f"least-squares fit to {len(logs) // len(TARGETS)} flow rows ({workload}), ridge {ridge}"
    return fitted


def errors(arrays: Mapping[str, np.ndarray], measured: Mapping[str, np.ndarray], coef: Mapping[str, Any], *,
           workload: str) -> dict[str, dict[str, float]]:
    """Median absolute percentage error and Kendall's tau per target metric."""
    from scipy.stats import kendalltau

    out = evaluate_arrays(arrays, workload=workload, coefficients=coef)
    report = {}
    for m in TARGETS:
        ape = np.abs(out[m] - measured[m]) / np.abs(measured[m]) * 100.0
        tau = kendalltau(out[m], measured[m]).statistic if len(ape) > 2 else float("nan")
        report[m] = {"mdape_pct": float(np.median(ape)), "kendall_tau": float(tau), "n": len(ape)}
    return report
