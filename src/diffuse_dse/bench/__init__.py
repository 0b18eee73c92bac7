"""Side-by-side benchmarks of samplers over seeds, against reference fronts (``diffuse bench``).

:func:`run_plan` runs every (sampler, seed) as its own study in one storage, resumably;
:func:`analyze` reads them back, builds the reference front and the metrics
(:mod:`diffuse_dse.bench.metrics`), and :func:`~diffuse_dse.bench.report.write_all` writes
the CSV, Markdown, JSON and figures.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from diffuse_dse.bench.harness import BenchProgress, Plan, load_runs, run_plan, study_name
from diffuse_dse.bench.metrics import RunSeries, checkpoints, run_series
from diffuse_dse.bench.reference import Reference, build_reference, default_metrics, exact_points, objective_vector
from diffuse_dse.bench.report import FILES, Results, write_all
from diffuse_dse.engine.records import completed, is_feasible, objective_matrix

__all__ = [
    "FILES",
    "BenchProgress",
    "Plan",
    "Reference",
    "Results",
    "RunSeries",
    "analyze",
    "checkpoints",
    "run_plan",
    "study_name",
    "write_all",
]


def analyze(plan: Plan, out: Path) -> Results:
    """Read every run of ``plan`` from its storage and compute the reference and the metrics.

    The exact part of the reference and the default design's metrics are cached in ``out``.
    An unfinished run counts in the hypervolume columns it reached; the final metrics (IGD+,
    ADRS, evaluations to a target, improvement) use finished runs only. Unfinished runs are listed.
    """
    out.mkdir(parents=True, exist_ok=True)
    space = plan.space
    runs = load_runs(plan)
    exact, note = exact_points(space, plan.evaluator, out / "reference-exact.json")
    found = [objective_matrix(space, [t for t in completed(trials) if is_feasible(t)]) for _, _, trials in runs]
    pool = np.vstack(found) if found else np.empty((0, len(space.objectives)))
    reference = build_reference(space, exact, note, pool)
    default = default_metrics(space, plan.evaluator, out / "default.json", plan.artifacts / "default")
    dvec = objective_vector(space, default) if default else None
    series = [run_series(space, trials, reference, sampler, seed, dvec) for sampler, seed, trials in runs]
    incomplete = [(s.sampler, s.seed, s.evaluations) for s in series if s.evaluations < plan.budget]
    return Results(space, plan.budget, plan.samplers, reference, default, series, incomplete)
