"""The benchmark's outputs: per-evaluation CSV, per-run CSV, a Markdown table, figures, JSON.

Files written to the output folder:

* ``metrics.csv``: ``sampler, seed, evaluations, hv, igd_plus, adrs`` after every evaluation;
* ``runs.csv``: one row per run (final metrics, evaluations to 80/90/95 %, seconds per
  proposal, counts, improvement over the default design);
* ``summary.md``: the median and IQR across seeds per sampler (also printed on stdout);
* ``summary.json``: the same numbers, the reference and the default design;
* ``reference.csv``: the reference front;
* ``hv.png``: normalized hypervolume against evaluations, median line and IQR band;
* ``fronts.png``: each sampler's final front (its median-hypervolume seed) against the reference.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from diffuse_dse.bench.metrics import FRACTIONS, RunSeries, checkpoints, quartiles
from diffuse_dse.bench.reference import Reference
from diffuse_dse.space import Space

FILES = ("metrics.csv", "runs.csv", "summary.md", "summary.json", "reference.csv", "hv.png", "fronts.png")


@dataclass
class Results:
    space: Space
    budget: int
    samplers: tuple[str, ...]
    reference: Reference
    default: dict[str, float] | None
    series: list[RunSeries]
    incomplete: list[tuple[str, int, int]] = field(default_factory=list)

    def of(self, sampler: str, *, finished: bool = True) -> list[RunSeries]:
        """The runs of ``sampler``: those that spent the whole budget, or all of them."""
        return [s for s in self.series if s.sampler == sampler and (not finished or s.evaluations >= self.budget)]


def _fmt(v: float, digits: int = 3) -> str:
    if math.isnan(v):
        return "–"
    if abs(v) >= 1000 or (abs(v) < 0.01 and v != 0):
        return f"{v:.{digits}g}"
    return f"{v:.{digits}f}".rstrip("0").rstrip(".") if "." in f"{v:.{digits}f}" else f"{v:.{digits}f}"


def _cell(values: Sequence[float], digits: int = 3, budget: int | None = None) -> str:
    med, lo, hi = quartiles(values)

    def one(x: float) -> str:
        return f">{budget}" if math.isinf(x) and budget is not None else _fmt(x, digits)

    if math.isnan(med):
        return "–"
    return f"{one(med)} [{one(lo)}, {one(hi)}]"


def table_rows(results: Results) -> tuple[list[str], list[list[str]], dict[str, dict[str, Any]]]:
    """The headline table: columns, rows of cells, and the raw quartiles per sampler."""
    ckpts = checkpoints(results.budget)
    cols = (
        ["sampler", "runs"]
        + [f"HV@{c}" for c in ckpts]
        + ["IGD+", "ADRS"]
        + [f"evals to {int(f * 100)} %" for f in FRACTIONS]
        + ["s / proposal", "PPA vs default"]
    )
    rows, raw = [], {}
    for name in results.samplers:
        runs, every = results.of(name), results.of(name, finished=False)
        if not every:
            continue
        partial = len(every) - len(runs)
        cells = [name, str(len(runs)) + (f" +{partial} unfinished" if partial else "")]
        entry: dict[str, Any] = {
            "runs": len(runs),
            "unfinished": partial,
            "evaluations": [r.evaluations for r in every],
        }
        for c in ckpts:
            vals = [r.at(c)["hv"] for r in every if r.evaluations >= c]
            cells.append(_cell(vals) if vals else "–")
            entry[f"hv@{c}"] = quartiles(vals) if vals else None
        for key in ("igd_plus", "adrs"):
            vals = [r.at(results.budget)[key] for r in runs]  # finished runs only, from here on
            cells.append(_cell(vals))
            entry[key] = quartiles(vals)
        for f in FRACTIONS:
            vals = [r.evals_to[f] for r in runs]
            cells.append(_cell(vals, budget=results.budget))
            entry[f"evals_to_{int(f * 100)}"] = quartiles(vals)
        vals = [r.sampler_seconds for r in runs]
        cells.append(_cell(vals, 3))
        entry["sampler_seconds"] = quartiles(vals)
        vals = [r.improvement.get("PPA", float("nan")) for r in runs]
        cells.append(_cell(vals, 3) + (" %" if not all(math.isnan(v) for v in vals) else ""))
        entry["ppa_improvement_pct"] = quartiles(vals)
        entry["improvement_pct"] = {
            k: quartiles([r.improvement.get(k, float("nan")) for r in runs])
            for k in [*list(results.space.objective_names), "PPA"]
        }
        rows.append(cells)
        raw[name] = entry
    return cols, rows, raw


def markdown(results: Results) -> str:
    cols, rows, _ = table_rows(results)
    ref = results.reference
    lines = [
        f"Space `{results.space.name}`, budget {results.budget} evaluations; median [25th, 75th percentile] "
        "across seeds. HV is normalized by the reference front's hypervolume; IGD+, ADRS, the evaluations to "
        "reach a fraction of the reference HV, the seconds per proposal and the improvement use finished runs only.",
        f"Reference ({ref.kind}): {len(ref.points)} points, HV {ref.hv:.6g} at "
        + ", ".join(f"{o.name} {o.ref:g}" for o in results.space.objectives)
        + f". {ref.note}.",
        "",
        "| " + " | ".join(cols) + " |",
        "|" + "|".join("---" for _ in cols) + "|",
    ]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    if results.incomplete:
        lines += [
            "",
            "Unfinished runs (counted only in the HV columns they reached): "
            + ", ".join(f"{s} seed {k} ({n} of {results.budget} evaluations)" for s, k, n in results.incomplete)
            + ".",
        ]
    if results.default is not None:
        names = list(results.space.objective_names)
        lines += [
            "",
            "Best design found vs the default design (improvement in %, median [IQR]; default: "
            + ", ".join(f"{k} {results.default[k]:.4g}" for k in names)
            + "):",
            "",
            "| sampler | " + " | ".join(names) + " | PPA |",
            "|---|" + "---|" * (len(names) + 1),
        ]
        for name in results.samplers:
            runs = results.of(name)
            if runs:
                lines.append(
                    f"| {name} | "
                    + " | ".join(_cell([r.improvement.get(k, float("nan")) for r in runs], 3) for k in [*names, "PPA"])
                    + " |"
                )
    return "\n".join(lines) + "\n"


def write_all(results: Results, out: Path) -> str:
    """Write every output file; return the Markdown table."""
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "metrics.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["space", "sampler", "seed", "evaluations", "hv", "igd_plus", "adrs"])
        for s in results.series:
            for n in range(s.evaluations):
                w.writerow(
                    [
                        results.space.name,
                        s.sampler,
                        s.seed,
                        n + 1,
                        f"{s.hv[n]:.6g}",
                        f"{s.igd_plus[n]:.6g}",
                        f"{s.adrs[n]:.6g}",
                    ]
                )
    names = list(results.space.objective_names)
    ckpts = checkpoints(results.budget)
    with open(out / "runs.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(
            ["sampler", "seed", "evaluations"]
            + [f"hv@{c}" for c in ckpts]
            + ["igd_plus", "adrs"]
            + [f"evals_to_{int(f * 100)}" for f in FRACTIONS]
            + ["sampler_seconds", "proposals", "infeasible", "failed", "cache_hits"]
            + [f"improvement_{k}_pct" for k in [*names, "PPA"]]
        )
        for s in results.series:
            final = s.at(results.budget)
            w.writerow(
                [s.sampler, s.seed, s.evaluations]
                + [f"{s.at(c)['hv']:.6g}" if s.evaluations >= c else "" for c in ckpts]
                + [f"{final['igd_plus']:.6g}", f"{final['adrs']:.6g}"]
                + [s.evals_to[f] for f in FRACTIONS]
                + [f"{s.sampler_seconds:.6g}", s.proposals, s.infeasible, s.failed, s.cache_hits]
                + [f"{s.improvement.get(k, float('nan')):.6g}" for k in [*names, "PPA"]]
            )
    with open(out / "reference.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(names)
        signs = np.array([o.sign for o in results.space.objectives])
        for p in results.reference.points * signs:
            w.writerow([f"{v:.9g}" for v in p])
    text = markdown(results)
    (out / "summary.md").write_text(text)
    _, _, raw = table_rows(results)
    ref = results.reference
    summary = {
        "space": results.space.name,
        "budget": results.budget,
        "checkpoints": ckpts,
        "reference": {
            "kind": ref.kind,
            "points": len(ref.points),
            "hypervolume": ref.hv,
            "reference_point": dict(
                zip(names, (ref.ref_point * [o.sign for o in results.space.objectives]).tolist(), strict=True)
            ),
            "exact_points": ref.exact_points,
            "note": ref.note,
        },
        "default": results.default,
        "samplers": raw,
        "incomplete": [{"sampler": s, "seed": k, "evaluations": n} for s, k, n in results.incomplete],
    }
    (out / "summary.json").write_text(json.dumps(_clean(summary), indent=1, default=str) + "\n")
    from diffuse_dse.bench.figures import plot_fronts, plot_hv

    plot_hv(results, out / "hv.png")
    plot_fronts(results, out / "fronts.png")
    return text


def _clean(v: Any) -> Any:
    """JSON-safe: ``inf`` and ``nan`` as strings (JSON has neither), numpy scalars as Python ones."""
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    return v
