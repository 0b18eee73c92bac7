"""The self-contained HTML report: one file, figures embedded, a few lines of inline JS.

Figures are embedded as ``data:`` URIs (SVG by default, PNG on request), so the file opens
offline and nothing is fetched from anywhere. The only script sorts the design tables when a
column header is clicked.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import io
import json
import math
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

import diffuse_dse
from diffuse_dse.errors import DiffuseError
from diffuse_dse.report import data as _data
from diffuse_dse.report import figures
from diffuse_dse.report.importance import param_importances
from diffuse_dse.space import Space

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#1d1d1f;
background:#fafafa}
header{background:#16324f;color:#fff;padding:18px 28px}header h1{margin:0 0 4px;font-size:22px}
header p{margin:2px 0;opacity:.9}nav{padding:8px 28px;background:#e9eef4;position:sticky;top:0;z-index:2}
nav a{margin-right:14px;color:#16324f;text-decoration:none;font-weight:600}
main{padding:8px 28px 40px;max-width:1400px}
section{background:#fff;border:1px solid #e2e2e2;border-radius:6px;padding:14px 18px;margin:16px 0}
h2{margin:0 0 8px;font-size:18px;color:#16324f}h3{font-size:15px;margin:14px 0 6px}
img.fig{max-width:100%;height:auto;display:block;margin:8px 0}
table{border-collapse:collapse;font-size:12.5px;margin:6px 0}
th,td{border:1px solid #ddd;padding:3px 7px;text-align:right}
th{background:#f0f3f6}td.t,th.t{text-align:left}
table.sortable th{cursor:pointer;user-select:none}table.sortable th:after{content:' \\2195';color:#999}
table.sortable th[aria-sort=ascending]:after{content:' \\25B2';color:#16324f}
table.sortable th[aria-sort=descending]:after{content:' \\25BC';color:#16324f}
.hw{color:#1f5fa8}.eda{color:#d9730d}.obj{font-weight:700}.note{color:#555;font-size:13px}
.scroll{overflow-x:auto}pre{background:#f5f5f5;padding:10px;overflow-x:auto;font-size:12px}
.kv td:first-child{text-align:left;font-weight:600}.kv td{text-align:left}
.tag{font-size:11px;padding:0 4px;border-radius:3px}
.tag.hw{background:#e3edf9}.tag.eda{background:#fbeadb}
"""

_JS = """
(function(){
  function key(cell){var v=cell.getAttribute('data-v');var t=v!==null?v:cell.textContent.trim();
    var n=parseFloat(t);return (t!==''&&isFinite(n)&&String(n)!=='NaN'&&/^[-+0-9.eE]+$/.test(t))?n:t.toLowerCase();}
  function sortBy(table,th,col){var body=table.tBodies[0];var rows=Array.prototype.slice.call(body.rows);
    var asc=th.getAttribute('aria-sort')!=='ascending';
    Array.prototype.forEach.call(table.tHead.rows[0].cells,function(h){h.removeAttribute('aria-sort');});
    th.setAttribute('aria-sort',asc?'ascending':'descending');
    rows.sort(function(a,b){var x=key(a.cells[col]),y=key(b.cells[col]);var r;
      if(typeof x==='number'&&typeof y==='number'){r=x-y;}else{r=String(x).localeCompare(String(y));}
      return asc?r:-r;});
    rows.forEach(function(r){body.appendChild(r);});}
  var tables=document.querySelectorAll('table.sortable');
  Array.prototype.forEach.call(tables,function(table){
    Array.prototype.forEach.call(table.tHead.rows[0].cells,function(th,col){
      th.tabIndex=0;th.title='sort by this column';
      th.addEventListener('click',function(){sortBy(table,th,col);});
      th.addEventListener('keydown',function(e){
        if(e.key==='Enter'||e.key===' '){e.preventDefault();sortBy(table,th,col);}});
    });});
})();
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def fmt(value: Any) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        return f"{value:.5g}"
    return str(value)


def embed(fig: Figure, alt: str, image_format: str = "svg") -> str:
    """``<img>`` with the figure as a ``data:`` URI."""
    buf = io.BytesIO()
    figures.save(fig, buf, fmt=image_format, dpi=130)
    mime = "image/svg+xml" if image_format == "svg" else "image/png"
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<img class="fig" alt="{_e(alt)}" src="data:{mime};base64,{data}">'


def table(columns: Sequence[str], rows: Iterable[Sequence[Any]], *, sortable: bool = False,
          classes: Sequence[str] | None = None, table_id: str | None = None, kv: bool = False) -> str:
    """An HTML table; ``classes`` gives each column's CSS class (``t`` = text, ``hw``/``eda``)."""
    classes = list(classes or [""] * len(columns))
    attrs = " ".join(filter(None, [f'id="{table_id}"' if table_id else "",
                                   'class="sortable"' if sortable else ('class="kv"' if kv else "")]))
    head = "".join(f'<th class="{c}">{_e(h)}</th>' for h, c in zip(columns, classes, strict=True))
    body = []
    for row in rows:
        cells = []
        for v, c in zip(row, classes, strict=True):
            sort_key = f' data-v="{v!r}"' if isinstance(v, float) and math.isfinite(v) else ""
            cells.append(f'<td class="{c}"{sort_key}>{_e(fmt(v))}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<div class="scroll"><table {attrs}><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')


def _try(what: str, make: Callable[[], str]) -> str:
    """A section part, or a note saying why it could not be drawn (the report still builds)."""
    try:
        return make()
    except (DiffuseError, ValueError, RuntimeError) as exc:
        return f'<p class="note">No {_e(what)}: {_e(exc)}</p>'


class ReportBuilder:
    """Builds the report of one study, or of a bench storage (several studies)."""

    def __init__(self, studies: Sequence[_data.StudyData], *, importance: str = "fanova",
                 image_format: str = "svg") -> None:
        if not studies:
            raise ValueError("no study to report on")
        self.studies = list(studies)
        self.bench = _data.Bench(self.studies) if _data.is_bench(self.studies) else None
        self.data = self.bench.pooled() if self.bench else self.studies[0]
        self.space: Space = self.data.space
        self.importance = importance
        self.image_format = image_format
        self.ref = self.bench.ref if self.bench else _data.fixed_reference(self.space, [self.data])

    def img(self, fig: Figure, alt: str) -> str:
        return embed(fig, alt, self.image_format)

    def build(self) -> str:
        sections = []
        if self.bench:
            sections.append(("compare", "Sampler comparison", self.section_bench()))
        sections += [
            ("front", "Pareto front", self.section_front()),
            ("hv", "Hypervolume", self.section_hv()),
            ("parallel", "Pareto designs: parallel coordinates", self.section_parallel()),
            ("designs", "Pareto designs: table", self.section_table()),
            ("importance", "Parameter importance", self.section_importance()),
            ("failures", "Failures", self.section_failures()),
            ("space", "Design space", self.section_space()),
            ("settings", "Run settings", self.section_settings()),
        ]
        nav = "".join(f'<a href="#{key}">{_e(title)}</a>' for key, title, _ in sections)
        body = "".join(f'<section id="{key}"><h2>{_e(title)}</h2>{content}</section>'
                       for key, title, content in sections)
        title = (f"Bench report: {len(self.studies)} studies on '{self.space.name}'" if self.bench
                 else f"Exploration report: '{self.data.name}'")
        return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
                f"<header><h1>{_e(title)}</h1>{self.summary()}</header><nav>{nav}</nav><main>{body}</main>"
                f"<script>{_JS}</script></body></html>\n")

    # -- parts ---------------------------------------------------------------------------------

    def summary(self) -> str:
        d, s = self.data, self.data.settings
        f = d.failures()
        hv = _data.hv_history(d, self.ref)[1] if not self.bench else None
        parts = [f"space <b>{_e(self.space.name)}</b>", f"evaluator <b>{_e(s.get('evaluator', '?'))}</b>"]
        if self.bench:
            parts.append(f"samplers <b>{_e(', '.join(s.get('samplers', [])))}</b>")
        else:
            parts.append(f"sampler <b>{_e(s.get('sampler', '?'))}</b> (seed {_e(s.get('seed', '?'))})")
        counts = (f"{f['evaluations']} evaluations: {f['complete']} designs completed, {f['failed']} failed, "
                  f"{f['cache_hits']} cache hits; {len(d.front)} Pareto designs")
        if hv is not None and len(hv):
            counts += f"; hypervolume {hv[-1]:.6g}"
        stamp = _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
        return (f"<p>{' · '.join(parts)}</p><p>{_e(counts)}</p>"
                f"<p class=\"note\" style=\"color:#cfd8e3\">diffuse-dse {_e(diffuse_dse_version())}, {_e(stamp)}; "
                f"storage {_e(d.storage)}</p>")

    def section_front(self) -> str:
        out = [self.img(figures.pareto_pairs(self.data), "Pareto front, pairwise projections of the objectives")]
        if len(self.space.objectives) == 3:
            out.append(self.img(figures.pareto_3d(self.data), "Pareto front in three dimensions"))
        out.append('<p class="note">Grey: every completed design that meets the outcome constraints; colour: the '
                   "non-dominated (Pareto) designs. Cache hits repeat a design and are not drawn twice.</p>")
        return "".join(out)

    def section_hv(self) -> str:
        ref = ", ".join(f"{o.name} = {o.sign * r:.5g}" for o, r in zip(self.space.objectives, self.ref, strict=True))
        note = ('<p class="note">Hypervolume of the feasible designs found after each evaluation (failures and cache '
                f"hits are spent evaluations), against the fixed reference point {_e(ref)}.</p>")
        if self.bench:
            return note + "<p class=\"note\">A bench storage: see the sampler comparison above.</p>"
        return self.img(figures.hv_history(self.data, self.ref), "Hypervolume vs evaluations") + note

    def section_parallel(self) -> str:
        return (self.img(figures.parallel(self.data), "Parallel coordinates of the Pareto designs")
                + '<p class="note">One line per Pareto design, in real parameter values. Axis labels: '
                  '<span class="hw">hardware parameters (hw)</span>, <span class="eda">EDA-flow parameters '
                  "(eda)</span>, then the objectives in bold (each scaled to the front's range).</p>")

    def design_rows(self) -> tuple[list[str], list[str], list[list[Any]]]:
        d, space = self.data, self.space
        metric_names = list(space.objective_names)
        for t in d.front:
            metric_names += [m for m in t.user_attrs.get("metrics", {}) if m not in metric_names]
        units = {o.name: o.unit for o in space.objectives}
        columns = ["trial"] + [f"{m} [{units[m]}]" if units.get(m) else m for m in metric_names]
        classes = ["t" if self.bench else ""] + ["obj" if m in space.objective_names else "" for m in metric_names]
        for p in space.parameters:
            columns.append(f"{p.name} ({p.layer})")
            classes.append(p.layer + ("" if p.is_numeric else " t"))
        rows = []
        for t in d.front:
            metrics, config = d.metrics(t), d.config(t)
            row: list[Any] = [d.label(t) if self.bench else t.number]
            row += [metrics.get(m, "") for m in metric_names]
            # discrete values exactly as the space lists them (0.0 stays 0.0); floats rounded for reading
            row += [config.get(p.name, "") if p.kind == "float" else str(config.get(p.name, ""))
                    for p in space.parameters]
            rows.append(row)
        return columns, classes, rows

    def section_table(self) -> str:
        columns, classes, rows = self.design_rows()
        if not rows:
            return '<p class="note">No completed, feasible design: the front is empty.</p>'
        csv_text = "\n".join(",".join(_csv(v) for v in r) for r in [columns, *rows]) + "\n"
        href = "data:text/csv;base64," + base64.b64encode(csv_text.encode()).decode("ascii")
        return (f'<p class="note">{len(rows)} designs. Click a column header to sort. Parameters: '
                '<span class="tag hw">hw</span> hardware, <span class="tag eda">eda</span> EDA flow. '
                f'<a download="pareto-{_e(self.data.name)}.csv" href="{href}">Download as CSV</a>. '
                "Reproduce a design with <code>diffuse replay STUDY TRIAL -o DIR</code>.</p>"
                + table(columns, rows, sortable=True, classes=classes, table_id="pareto-table"))

    def section_importance(self) -> str:
        def make() -> str:
            imp = param_importances(self.space, self.data.trials, evaluator=self.importance)
            names = [p.name for p in self.space.parameters if any(p.name in v for v in imp.values())]
            rows = [[n, self.space.parameter(n).layer, *(imp[o].get(n, 0.0) for o in imp)] for n in names]
            rows.sort(key=lambda r: -sum(r[2:]))
            return (self.img(figures.importance(self.space, imp, self.importance), "Parameter importance per objective")
                    + f'<p class="note">Share of each objective\'s variance explained by each parameter '
                      f"({_e(self.importance)}, Optuna's importance evaluator, over "
                      f"{len(self.data.complete)} completed designs). Sums to 1 per objective.</p>"
                    + table(["parameter", "layer", *imp], rows, sortable=True,
                            classes=["t", "t", *[""] * len(imp)]))
        if self.importance == "none":
            return '<p class="note">Importance was not computed (--importance none).</p>'
        return _try("importance", make)

    def section_failures(self) -> str:
        f = self.data.failures()
        counts = [["evaluations (budget spent)", f["evaluations"]], ["completed designs", f["complete"]],
                  ["cache hits (a design already evaluated)", f["cache_hits"]], ["failed", f["failed"]],
                  ["completed but outcome-infeasible", f["outcome_infeasible"]],
                  ["proposals skipped: broke a parameter constraint", f["skipped_parameter_infeasible"]],
                  ["interrupted (driver stopped; re-run)", f["interrupted"]], ["still running", f["running"]]]
        out = [table(["outcome", "trials"], counts, kv=True)]
        if f["reasons"]:
            rows = [[len(ns), reason, _examples(ns)] for reason, ns in f["reasons"]]
            out.append("<h3>Failure reasons</h3>" + table(["count", "reason", "trials"], rows, sortable=True,
                                                             classes=["", "t", "t"]))
        else:
            out.append('<p class="note">No evaluation failed.</p>')
        if f["constraints_broken"]:
            out.append("<h3>Parameter constraints the sampler's proposals broke (never evaluated)</h3>"
                       + table(["constraint", "proposals"], f["constraints_broken"], classes=["t", ""]))
        return "".join(out)

    def section_space(self) -> str:
        sp = self.space
        rows = [[p.name, p.layer, p.kind, p.describe_values(), "" if p.default is None else p.default, p.unit,
                 p.description] for p in sp.parameters]
        out = [f"<p>{_e(sp.description)}</p>" if sp.description else "",
               table(["parameter", "layer", "kind", "values", "default", "unit", "description"], rows,
                     classes=["t", "t", "t", "t", "t", "t", "t"])]
        if sp.constraints:
            out.append("<h3>Parameter constraints</h3><ul>"
                       + "".join(f"<li><code>{_e(c.text)}</code></li>" for c in sp.constraints) + "</ul>")
        objs = [[o.name, o.direction, o.unit, "" if o.ref is None else o.ref] for o in sp.objectives]
        out.append("<h3>Objectives</h3>" + table(["objective", "direction", "unit", "hypervolume reference"], objs,
                                                  classes=["t", "t", "t", ""]))
        if sp.outcome_constraints:
            out.append("<h3>Outcome constraints</h3><ul>"
                       + "".join(f"<li><code>{_e(c.text)}</code></li>" for c in sp.outcome_constraints) + "</ul>")
        source = self.data.settings.get("space_source") or sp.source
        if source:
            out.append(f"<details><summary>The space file as run ({_e(self.data.settings.get('space_path', ''))})"
                       f"</summary><pre>{_e(source)}</pre></details>")
        return "".join(out)

    def section_settings(self) -> str:
        rows = []
        for s in self.studies:
            st = s.settings
            starts = [t.datetime_start for t in s.trials if t.datetime_start]
            ends = [t.datetime_complete for t in s.trials if t.datetime_complete]
            eval_s = sum(float(t.user_attrs.get("eval_seconds", 0.0)) for t in s.trials)
            rows.append([s.name, st.get("sampler", "?"), st.get("seed", "?"), st.get("evaluator", "?"),
                         json.dumps(st.get("evaluator_settings", {}), sort_keys=True), len(s.trials),
                         min(starts).strftime("%Y-%m-%d %H:%M:%S") if starts else "",
                         max(ends).strftime("%Y-%m-%d %H:%M:%S") if ends else "", eval_s])
        cols = ["study", "sampler", "seed", "evaluator", "evaluator settings", "trials", "first trial started",
                "last trial finished", "evaluation time [s]"]
        return (table(cols, rows, sortable=len(rows) > 1, classes=["t", "t", "", "t", "t", "", "t", "t", ""])
                + f'<p class="note">Storage: <code>{_e(self.data.storage)}</code>. Space file: '
                  f'<code>{_e(self.data.settings.get("space_path", "?"))}</code>. '
                  "Every setting above is stored on the study (user attribute <code>diffuse</code>).</p>")

    def section_bench(self) -> str:
        assert self.bench is not None
        rows = [[r["sampler"], r["seeds"], r["evaluations"], r["hv_median"], r["hv_q25"], r["hv_q75"],
                 r["front_median"], r["failed"]] for r in self.bench.final_table()]
        return (self.img(figures.bench_hv(self.bench), "Hypervolume vs evaluations per sampler")
                + self.img(figures.bench_fronts(self.bench), "Union front of each sampler")
                + "<h3>Final hypervolume per sampler</h3>"
                + table(["sampler", "seeds", "evaluations (median)", "HV median", "HV 25 %", "HV 75 %",
                         "Pareto designs (median)", "failed (all seeds)"], rows, sortable=True,
                        classes=["t", "", "", "", "", "", "", ""])
                + '<p class="note">All curves share one reference point. The sections below pool every '
                  "study's trials (trials are named <code>study#number</code>).</p>")


def _examples(numbers: Sequence[int], k: int = 8) -> str:
    shown = ", ".join(str(n) for n in numbers[:k])
    return shown + (f", … ({len(numbers) - k} more)" if len(numbers) > k else "")


def _csv(value: Any) -> str:
    text = fmt(value) if not isinstance(value, float) else repr(value)
    return f'"{text.replace(chr(34), chr(34) * 2)}"' if any(c in text for c in ',"\n') else text


def diffuse_dse_version() -> str:
    return getattr(diffuse_dse, "__version__", None) or _dist_version()


def _dist_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("diffuse-dse")
    except PackageNotFoundError:
        return "unknown"


def build_report(studies: Sequence[_data.StudyData], path: Path, *, importance: str = "fanova",
                 image_format: str = "svg") -> Path:
    """Write the report of ``studies`` (one study, or every study of a bench storage) to ``path``."""
    text = ReportBuilder(studies, importance=importance, image_format=image_format).build()
    path.write_text(text, encoding="utf-8")
    return path


__all__ = ["ReportBuilder", "build_report", "embed"]
