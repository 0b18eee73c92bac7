"""The report's figures, drawn with matplotlib (Agg): each function returns a ``Figure``.

* :func:`pareto_pairs`: every pair of objectives, all designs in grey, the Pareto designs in colour;
* :func:`pareto_3d`: the same in three dimensions, for three objectives;
* :func:`hv_history`: hypervolume after each evaluation;
* :func:`parallel`: parallel coordinates of the Pareto designs in real parameter values;
* :func:`importance`: per-objective parameter importance;
* :func:`bench_hv`: hypervolume vs evaluations per sampler, median and IQR band across seeds.

Hardware parameters are labelled in blue and EDA-flow parameters in orange everywhere.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from diffuse_dse.engine.records import completed, is_feasible, objective_matrix
from diffuse_dse.report import data as _data
from diffuse_dse.space import Parameter, Space

LAYER_COLOURS = {"hw": "#1f5fa8", "eda": "#d9730d"}
LAYER_NAMES = {"hw": "hardware", "eda": "EDA flow"}
FRONT_CMAP = "viridis"
STYLE = {"font.size": 9, "axes.titlesize": 10, "axes.labelsize": 9, "legend.fontsize": 8,
         "svg.hashsalt": "diffuse-dse", "svg.fonttype": "path", "axes.spines.top": False,
         "axes.spines.right": False}


def _figure(width: float, height: float) -> Figure:
    with plt.rc_context(STYLE):
        return Figure(figsize=(width, height), layout="constrained")


def axis_label(space: Space, name: str) -> str:
    """``name [unit]`` for an objective or metric."""
    units = {o.name: o.unit for o in space.objectives}
    return f"{name} [{units[name]}]" if units.get(name) else name


def _objective_values(data: _data.StudyData, trials: Sequence[Any]) -> np.ndarray:
    """Objective values as stored (not sign-flipped), ``n x m``."""
    return np.array([t.values for t in trials], dtype=float).reshape(len(trials), len(data.space.objectives))


def pareto_pairs(data: _data.StudyData) -> Figure:
    """Pairwise 2-D projections of the front: one panel per pair of objectives."""
    space = data.space
    m = len(space.objectives)
    pairs = list(itertools.combinations(range(m), 2)) or [(0, 0)]
    cols = min(3, len(pairs))
    rows = math.ceil(len(pairs) / cols)
    with plt.rc_context(STYLE):
        fig = _figure(3.6 * cols, 3.2 * rows)
        axes = fig.subplots(rows, cols, squeeze=False).ravel()
        done = completed(data.trials)
        feasible = [t for t in done if is_feasible(t)]
        infeasible = [t for t in done if not is_feasible(t)]
        all_v, bad_v = _objective_values(data, feasible), _objective_values(data, infeasible)
        front_v = _objective_values(data, data.front)
        colour = front_v[:, -1] if len(front_v) else None
        for ax, (i, j) in zip(axes, pairs, strict=False):
            ax.scatter(all_v[:, i], all_v[:, j], s=9, c="#b9b9b9", label=f"evaluated ({len(feasible)})",
                       rasterized=len(all_v) > 3000)
            if len(bad_v):
                ax.scatter(bad_v[:, i], bad_v[:, j], s=12, marker="x", c="#c0392b", linewidths=0.8,
                           label=f"outcome-infeasible ({len(bad_v)})")
            if len(front_v):
                sc = ax.scatter(front_v[:, i], front_v[:, j], s=22, c=colour, cmap=FRONT_CMAP, edgecolors="black",
                                linewidths=0.4, label=f"Pareto designs ({len(front_v)})", zorder=3)
            ax.set_xlabel(axis_label(space, space.objectives[i].name))
            ax.set_ylabel(axis_label(space, space.objectives[j].name) if m > 1 else "")
            ax.grid(alpha=0.25)
        for ax in axes[len(pairs):]:
            ax.set_visible(False)
        axes[0].legend(loc="best", frameon=False)
        if len(front_v) and m > 2:
            fig.colorbar(sc, ax=axes[: len(pairs)].tolist(), shrink=0.8,
                         label=f"{axis_label(space, space.objectives[-1].name)} (Pareto designs)")
        fig.suptitle(f"Pareto front of '{data.name}': pairwise projections")
    return fig


def pareto_3d(data: _data.StudyData) -> Figure:
    """The front in 3-D (the first three objectives): all designs in grey, the front in colour."""
    space = data.space
    if len(space.objectives) < 3:
        raise ValueError("a 3-D view needs three objectives")
    with plt.rc_context(STYLE):
        fig = _figure(6.0, 5.2)
        ax = fig.add_subplot(projection="3d")
        feasible = [t for t in completed(data.trials) if is_feasible(t)]
        all_v, front_v = _objective_values(data, feasible), _objective_values(data, data.front)
        ax.scatter(all_v[:, 0], all_v[:, 1], all_v[:, 2], s=6, c="#b9b9b9", depthshade=False, label="evaluated")
        if len(front_v):
            ax.scatter(front_v[:, 0], front_v[:, 1], front_v[:, 2], s=24, c=front_v[:, 2], cmap=FRONT_CMAP,
                       edgecolors="black", linewidths=0.4, depthshade=False, label="Pareto designs")
        ax.set_xlabel(axis_label(space, space.objectives[0].name))
        ax.set_ylabel(axis_label(space, space.objectives[1].name))
        ax.set_zlabel(axis_label(space, space.objectives[2].name))
        ax.view_init(elev=24, azim=45)
        ax.legend(loc="upper left", frameon=False)
        ax.set_title(f"Pareto front of '{data.name}' in 3-D")
    return fig


def hv_history(data: _data.StudyData, ref: np.ndarray | None = None) -> Figure:
    """Hypervolume vs evaluations (failures and cache hits are spent evaluations too)."""
    ref = _data.fixed_reference(data.space, [data]) if ref is None else ref
    xs, ys = _data.hv_history(data, ref)
    with plt.rc_context(STYLE):
        fig = _figure(6.4, 3.4)
        ax = fig.subplots()
        ax.step(xs, ys, where="post", color="#1f5fa8", lw=1.6)
        failed = [i for i, t in enumerate(data.evaluated, start=1) if t.state.name == "FAIL"]
        if failed:
            ax.plot(failed, ys[np.asarray(failed) - 1], "x", color="#c0392b", ms=5, label=f"failed ({len(failed)})")
            ax.legend(loc="lower right", frameon=False)
        ax.set_xlabel("evaluations")
        ax.set_ylabel("hypervolume")
        ax.set_title(f"Hypervolume of '{data.name}' vs evaluations")
        ax.annotate(f"reference point: {_fmt_point(data.space, ref)}", (0.99, 0.02), xycoords="axes fraction",
                    ha="right", va="bottom", fontsize=7, color="#555555")
        ax.grid(alpha=0.25)
        ax.set_xlim(0, max(1, len(xs)))
    return fig


def _fmt_point(space: Space, ref: np.ndarray) -> str:
    return ", ".join(f"{o.name}={o.sign * r:.4g}" for o, r in zip(space.objectives, ref, strict=True))


def _axis_position(p: Parameter, values: Sequence[Any]) -> tuple[np.ndarray, list[tuple[float, str]]]:
    """Positions in [0, 1] of real values on a parameter's axis, and its tick marks."""
    if p.kind == "float":
        lo, hi = (math.log(p.low), math.log(p.high)) if p.log else (p.low, p.high)
        f = (lambda v: (math.log(v) - lo) / (hi - lo)) if p.log else (lambda v: (v - lo) / (hi - lo))
        span = hi - lo or 1.0
        pos = np.array([f(float(v)) if span else 0.5 for v in values])
        ticks = [(0.0, f"{p.low:g}"), (1.0, f"{p.high:g}")]
        mid = math.exp((lo + hi) / 2) if p.log else (lo + hi) / 2
        ticks.append((0.5, f"{mid:.3g}"))
        return pos, ticks
    n = len(p.choices)
    if n == 1:
        return np.full(len(values), 0.5), [(0.5, str(p.choices[0]))]
    pos = np.array([p.index_of(v) / (n - 1) for v in values])
    shown = range(n) if n <= 9 else sorted({round(k * (n - 1) / 4) for k in range(5)})
    return pos, [(k / (n - 1), str(p.choices[k])) for k in shown]


def parallel(data: _data.StudyData) -> Figure:
    """Parallel coordinates of the Pareto designs: one axis per parameter (real values, hw
    then eda), then one per objective; each line is one design, coloured by the first objective."""
    space = data.space
    front = data.front
    params = sorted(space.parameters, key=lambda p: (p.layer != "hw", space.names.index(p.name)))
    n_axes = len(params) + len(space.objectives)
    with plt.rc_context(STYLE):
        fig = _figure(max(6.5, 0.6 * n_axes + 1.5), 4.6)
        ax = fig.subplots()
        ax.set_title(f"Pareto designs of '{data.name}' ({len(front)}): parameters and objectives")
        if not front:
            ax.text(0.5, 0.5, "no completed, feasible design: the front is empty", ha="center", transform=ax.transAxes)
            ax.set_axis_off()
            return fig
        configs = [data.config(t) for t in front]
        columns, ticks = [], []
        for p in params:
            pos, tk = _axis_position(p, [c[p.name] for c in configs])
            columns.append(pos)
            ticks.append(tk)
        obj = _objective_values(data, front)
        for j in range(len(space.objectives)):
            lo, hi = obj[:, j].min(), obj[:, j].max()
            columns.append((obj[:, j] - lo) / (hi - lo) if hi > lo else np.full(len(obj), 0.5))
            ticks.append([(0.0, f"{lo:.4g}"), (1.0, f"{hi:.4g}")])
        matrix = np.column_stack(columns)
        cmap = plt.get_cmap(FRONT_CMAP)
        first = obj[:, 0]
        span = np.ptp(first) or 1.0
        x = np.arange(n_axes)
        for row, v in sorted(zip(matrix, first, strict=True), key=lambda rv: -rv[1]):
            ax.plot(x, row, color=cmap((v - first.min()) / span), lw=1.1, alpha=0.8)
        for k in range(n_axes):
            ax.axvline(k, color="#555555", lw=0.8, zorder=0)
            for y, text in ticks[k]:
                ax.text(k + 0.04, y, text, fontsize=7, va="center", ha="left", color="#333333",
                        bbox={"fc": "white", "ec": "none", "alpha": 0.7, "pad": 0.5})
        labels = [f"{p.name}" + (f" [{p.unit}]" if p.unit else "") for p in params]
        labels += [axis_label(space, o.name) + f"\n({o.direction})" for o in space.objectives]
        ax.set_xticks(x, labels, rotation=35, ha="right")
        for lbl, p in zip(ax.get_xticklabels(), params, strict=False):
            lbl.set_color(LAYER_COLOURS[p.layer])
        for lbl in ax.get_xticklabels()[len(params):]:
            lbl.set_fontweight("bold")
        ax.set_yticks([])
        ax.set_ylim(-0.05, 1.05)
        ax.set_xlim(-0.3, n_axes - 0.4)
        for side in ("left", "bottom"):
            ax.spines[side].set_visible(False)
        handles = [matplotlib.lines.Line2D([], [], color=c, lw=3, label=f"{LAYER_NAMES[k]} parameter ({k})")
                   for k, c in LAYER_COLOURS.items() if any(p.layer == k for p in params)]
        handles.append(matplotlib.lines.Line2D([], [], color="black", lw=3, label="objective (bold)"))
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.32), ncols=3, frameon=False)
        sm = matplotlib.cm.ScalarMappable(cmap=cmap, norm=matplotlib.colors.Normalize(first.min(), first.max()))
        fig.colorbar(sm, ax=ax, shrink=0.8, label=axis_label(space, space.objectives[0].name))
    return fig


def importance(space: Space, importances: Mapping[str, Mapping[str, float]], evaluator: str = "fanova") -> Figure:
    """Horizontal bars of each parameter's importance, one panel per objective."""
    m = len(importances)
    with plt.rc_context(STYLE):
        fig = _figure(3.3 * max(1, m), 0.28 * len(space.parameters) + 1.6)
        axes = fig.subplots(1, max(1, m), squeeze=False, sharey=True).ravel()
        order = [p.name for p in space.parameters if any(p.name in imp for imp in importances.values())]
        order.sort(key=lambda n: -sum(imp.get(n, 0.0) for imp in importances.values()))
        y = np.arange(len(order))[::-1]
        for ax, (objective, imp) in zip(axes, importances.items(), strict=False):
            vals = [imp.get(n, 0.0) for n in order]
            colours = [LAYER_COLOURS[space.parameter(n).layer] for n in order]
            ax.barh(y, vals, color=colours)
            for yy, v in zip(y, vals, strict=True):
                ax.text(v + 0.01, yy, f"{v:.2f}", va="center", fontsize=7)
            ax.set_title(objective)
            ax.set_xlim(0, 1.12)
            ax.set_xlabel("importance")
            ax.grid(axis="x", alpha=0.25)
        axes[0].set_yticks(y, order)
        for lbl, n in zip(axes[0].get_yticklabels(), order, strict=True):
            lbl.set_color(LAYER_COLOURS[space.parameter(n).layer])
        names = {"fanova": "fANOVA", "ped-anova": "PED-ANOVA", "mdi": "mean decrease in impurity"}
        fig.suptitle(f"Parameter importance per objective ({names.get(evaluator, evaluator)}; "
                     "blue: hardware, orange: EDA flow)")
    return fig


def bench_hv(bench: _data.Bench) -> Figure:
    """Hypervolume vs evaluations per sampler: the median across seeds and the IQR band."""
    bands = bench.hv_bands()
    groups = bench.by_sampler()
    with plt.rc_context(STYLE):
        fig = _figure(6.8, 3.8)
        ax = fig.subplots()
        colours = plt.get_cmap("tab10")
        for k, (sampler, (x, med, q25, q75)) in enumerate(bands.items()):
            c = colours(k % 10)
            ax.plot(x, med, color=c, lw=1.8, label=f"{sampler} ({len(groups[sampler])} seeds)")
            ax.fill_between(x, q25, q75, color=c, alpha=0.2, lw=0)
        ax.set_xlabel("evaluations")
        ax.set_ylabel("hypervolume")
        ax.set_title("Hypervolume vs evaluations: median across seeds, band = interquartile range")
        ax.grid(alpha=0.25)
        ax.legend(loc="lower right", frameon=False)
    return fig


def bench_fronts(bench: _data.Bench) -> Figure:
    """Each sampler's union front (all its seeds), on the first two objectives."""
    space = bench.space
    with plt.rc_context(STYLE):
        fig = _figure(5.6, 4.2)
        ax = fig.subplots()
        colours = plt.get_cmap("tab10")
        markers = "osD^v<>P*X"
        for k, (sampler, group) in enumerate(bench.by_sampler().items()):
            pts = objective_matrix(space, [t for s in group for t in s.feasible])
            if not len(pts):
                continue
            front = pts[_data.nondominated_mask(pts)] * np.array([o.sign for o in space.objectives])
            front = front[np.argsort(front[:, 0])]
            ax.scatter(front[:, 0], front[:, 1] if front.shape[1] > 1 else np.zeros(len(front)), s=16,
                       color=colours(k % 10), marker=markers[k % len(markers)], label=f"{sampler} ({len(front)})")
        ax.set_xlabel(axis_label(space, space.objectives[0].name))
        if len(space.objectives) > 1:
            ax.set_ylabel(axis_label(space, space.objectives[1].name))
        ax.set_title("Union front of each sampler (all seeds), first two objectives")
        ax.grid(alpha=0.25)
        ax.legend(loc="best", frameon=False)
    return fig


def save(fig: Figure, path: Any, fmt: str | None = None, dpi: int = 150) -> None:
    """Write ``fig`` as PNG or SVG (by ``fmt`` or the file suffix)."""
    with plt.rc_context(STYLE):
        fig.savefig(path, format=fmt, dpi=dpi, metadata={"Date": None} if (fmt or str(path)).endswith("svg") else None)
