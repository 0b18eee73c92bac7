"""The benchmark's figures (matplotlib, Agg): hypervolume vs evaluations, and final fronts."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from diffuse_dse.bench.report import Results

COLOURS = {
    "diffuse": "#d62728",
    "botorch": "#1f77b4",
    "gp": "#17becf",
    "tpe": "#2ca02c",
    "nsga2": "#9467bd",
    "random": "#7f7f7f",
    "sobol": "#bcbd22",
}


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_hv(results: Results, path: Path) -> None:
    """Normalized hypervolume after each evaluation: median across seeds, band from the 25th to the 75th percentile."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=120)
    for name in results.samplers:
        runs = results.of(name) or results.of(name, finished=False)  # unfinished runs only when none finished
        if not runs:
            continue
        n = min(r.evaluations for r in runs)
        if n == 0:
            continue
        hv = np.stack([r.hv[:n] for r in runs])
        x = np.arange(1, n + 1)
        med, lo, hi = np.percentile(hv, [50, 25, 75], axis=0)
        colour = COLOURS.get(name)
        ax.plot(x, med, label=f"{name} ({len(runs)})", color=colour, lw=2.2 if name == "diffuse" else 1.4)
        ax.fill_between(x, lo, hi, color=colour, alpha=0.15, lw=0)
    ax.set_xlabel("evaluations")
    ax.set_ylabel("hypervolume / reference hypervolume")
    ax.set_title(f"{results.space.name}: median and IQR across seeds (reference: {results.reference.kind})")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_fronts(results: Results, path: Path) -> None:
    """Each sampler's non-dominated designs (from its median-hypervolume seed) on every pair of
    objectives, with the reference front in grey."""
    plt = _plt()
    space = results.space
    m = len(space.objectives)
    pairs = list(itertools.combinations(range(m), 2)) or [(0, 0)]
    fig, axes = plt.subplots(1, len(pairs), figsize=(4.2 * len(pairs), 3.8), dpi=110, squeeze=False)
    signs = np.array([o.sign for o in space.objectives])
    ref = results.reference.points * signs
    import moocore

    for ax, (i, j) in zip(axes[0], pairs, strict=False):
        ax.scatter(ref[:, i], ref[:, j], s=3, color="#c8c8c8", label="reference", zorder=1)
        for name in results.samplers:
            runs = [r for r in (results.of(name) or results.of(name, finished=False)) if len(r.points)]
            if not runs:
                continue
            runs.sort(key=lambda r: r.hv[-1])
            run = runs[len(runs) // 2]
            pts = run.points[moocore.is_nondominated(run.points)] * signs
            ax.scatter(
                pts[:, i],
                pts[:, j],
                s=12,
                color=COLOURS.get(name),
                label=f"{name} (seed {run.seed})",
                alpha=0.85,
                zorder=3 if name == "diffuse" else 2,
            )
        oi, oj = space.objectives[i], space.objectives[j]
        ax.set_xlabel(f"{oi.name} [{oi.unit}]" if oi.unit else oi.name)
        ax.set_ylabel(f"{oj.name} [{oj.unit}]" if oj.unit else oj.name)
        if oi.unit and ref[:, i].min() > 0 and ref[:, i].max() / max(ref[:, i].min(), 1e-12) > 50:
            ax.set_xscale("log")
        if oj.unit and ref[:, j].min() > 0 and ref[:, j].max() / max(ref[:, j].min(), 1e-12) > 50:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
    axes[0][-1].legend(fontsize=7, loc="upper right")
    fig.suptitle(f"{space.name}: final fronts after {results.budget} evaluations")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
