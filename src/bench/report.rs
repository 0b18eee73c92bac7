//! The benchmark's outputs: `summary.md` (the tables a person reads), `summary.csv`,
//! `runs.csv` (every run's HV after every evaluation), `reference.csv` (the reference front)
//! and `hv.svg` (median HV against evaluations, one line per sampler).

use std::fmt::Write as _;

use super::metrics::{evals_to, hv_curve, igd_plus, quartiles};
use super::reference::ReferenceFront;
use super::{BenchError, Plan, Run};
use crate::config::Config;

/// The checkpoints of the tables: 50, 100, 200 within the budget, and the budget.
fn checkpoints(budget: usize) -> Vec<usize> {
    let mut c: Vec<usize> = [50, 100, 200].into_iter().filter(|&n| n < budget).collect();
    c.push(budget);
    c
}

/// One row of the summary: a sampler at a checkpoint.
struct Row {
    sampler: String,
    n: usize,
    hv: Option<(f64, f64, f64)>,
    igd: Option<(f64, f64, f64)>,
    to90: Option<f64>,
    to95: Option<f64>,
    seconds_per_proposal: f64,
    ppa: Option<f64>,
}

/// The median of evaluation counts where a run that never got there counts as infinite.
fn median_count(v: &[Option<usize>]) -> Option<f64> {
    let mut x: Vec<f64> = v
        .iter()
        .map(|c| c.map_or(f64::INFINITY, |c| c as f64))
        .collect();
    x.sort_by(f64::total_cmp);
    let m = *x.get(x.len() / 2)?;
    if x.len().is_multiple_of(2) {
        let lo = x[x.len() / 2 - 1];
        Some(if m.is_finite() { (lo + m) / 2.0 } else { m })
    } else {
        Some(m)
    }
}

fn fmt_q(q: Option<(f64, f64, f64)>, digits: usize) -> String {
    q.map_or("–".into(), |(m, lo, hi)| {
        format!("{m:.digits$} [{lo:.digits$}, {hi:.digits$}]")
    })
}

fn fmt_count(c: Option<f64>, n: usize) -> String {
    match c {
        Some(c) if c.is_finite() => format!("{c:.0}"),
        _ => format!(">{n}"),
    }
}

/// Write every output into `plan.out`. `default` is the default design's objectives (raw),
/// for the improvement column.
pub fn write_outputs(
    config: &Config,
    plan: &Plan,
    reference: &ReferenceFront,
    runs: &[Run],
    default: Option<&[f64]>,
    command: &str,
    machine: &str,
) -> Result<String, BenchError> {
    let write = |name: &str, text: &str| {
        let path = plan.out.join(name);
        std::fs::write(&path, text).map_err(|source| BenchError::Write { path, source })
    };
    let curves: Vec<Vec<f64>> = runs
        .iter()
        .map(|r| hv_curve(&r.trace(config), &reference.reference, reference.hv))
        .collect();
    let default_min: Option<Vec<f64>> = default.map(|d| {
        config
            .objectives
            .iter()
            .zip(d)
            .map(|(o, &y)| o.minimized(y))
            .collect()
    });
    let ppa_ok = config.objectives.iter().all(|o| o.direction.sign() > 0.0);
    let mut rows = Vec::new();
    for sampler in &plan.samplers {
        let idx: Vec<usize> = (0..runs.len())
            .filter(|&i| &runs[i].sampler == sampler)
            .collect();
        for n in checkpoints(plan.budget) {
            let hv: Vec<f64> = idx
                .iter()
                .filter_map(|&i| {
                    curves[i]
                        .get(n.min(curves[i].len()).saturating_sub(1))
                        .copied()
                })
                .collect();
            let finished: Vec<usize> = idx
                .iter()
                .copied()
                .filter(|&i| curves[i].len() >= n)
                .collect();
            let igd: Vec<f64> = finished
                .iter()
                .map(|&i| {
                    igd_plus(
                        &runs[i].trace(config),
                        n,
                        &reference.points,
                        &reference.reference,
                    )
                })
                .collect();
            let to = |f: f64| -> Vec<Option<usize>> {
                finished
                    .iter()
                    .map(|&i| evals_to(&curves[i][..n], f))
                    .collect()
            };
            let spp: Vec<f64> = idx
                .iter()
                .flat_map(|&i| {
                    runs[i]
                        .evaluations
                        .iter()
                        .take(n)
                        .map(|e| e.propose_seconds)
                })
                .collect();
            let ppa = default_min.as_ref().filter(|_| ppa_ok).and_then(|d| {
                let v: Vec<f64> = finished
                    .iter()
                    .map(|&i| {
                        let trace = runs[i].trace(config);
                        let best_ppa = trace
                            .iter()
                            .take(n)
                            .flatten()
                            .map(|a| a.iter().product::<f64>())
                            .fold(f64::INFINITY, f64::min);
                        d.iter().product::<f64>() / best_ppa - 1.0
                    })
                    .collect();
                quartiles(&v).map(|q| q.0)
            });
            rows.push(Row {
                sampler: sampler.clone(),
                n,
                hv: quartiles(&hv),
                igd: quartiles(&igd),
                to90: median_count(&to(0.9)),
                to95: median_count(&to(0.95)),
                seconds_per_proposal: spp.iter().sum::<f64>() / spp.len().max(1) as f64,
                ppa,
            });
        }
    }

    // summary.csv
    let mut csv = String::from(
        "sampler,evaluations,hv_median,hv_q25,hv_q75,igd_plus_median,evals_to_90,evals_to_95,seconds_per_proposal,ppa_improvement\n",
    );
    for r in &rows {
        let q = |q: Option<(f64, f64, f64)>, k: usize| {
            q.map_or(String::new(), |q| format!("{:.6}", [q.0, q.1, q.2][k]))
        };
        let c = |c: Option<f64>| {
            c.filter(|c| c.is_finite())
                .map_or(String::new(), |c| format!("{c}"))
        };
        writeln!(
            csv,
            "{},{},{},{},{},{},{},{},{:.4},{}",
            r.sampler,
            r.n,
            q(r.hv, 0),
            q(r.hv, 1),
            q(r.hv, 2),
            q(r.igd, 0),
            c(r.to90),
            c(r.to95),
            r.seconds_per_proposal,
            r.ppa.map_or(String::new(), |p| format!("{p:.4}"))
        )
        .expect("writing to a string");
    }
    write("summary.csv", &csv)?;

    // runs.csv
    let mut runs_csv = String::from("sampler,seed,evaluation,hv_normalized\n");
    for (r, c) in runs.iter().zip(&curves) {
        for (i, h) in c.iter().enumerate() {
            writeln!(runs_csv, "{},{},{},{h:.6}", r.sampler, r.seed, i + 1).expect("string");
        }
    }
    write("runs.csv", &runs_csv)?;

    // reference.csv
    let mut ref_csv = config
        .objectives
        .iter()
        .map(|o| format!("{}_minimized", o.name))
        .collect::<Vec<_>>()
        .join(",");
    ref_csv.push('\n');
    for p in &reference.points {
        ref_csv.push_str(
            &p.iter()
                .map(|v| format!("{v:.9e}"))
                .collect::<Vec<_>>()
                .join(","),
        );
        ref_csv.push('\n');
    }
    write("reference.csv", &ref_csv)?;

    // hv.svg
    write("hv.svg", &svg(plan, runs, &curves))?;

    // summary.md
    let mut md = String::new();
    writeln!(md, "# Benchmark: {}\n", config.space.name).expect("string");
    writeln!(md, "- Command: `{command}`").expect("string");
    writeln!(md, "- Machine: {machine}").expect("string");
    writeln!(
        md,
        "- Samplers {}, seeds {}, budget {}, batch {}",
        plan.samplers.join(", "),
        plan.seeds.len(),
        plan.budget,
        plan.batch
    )
    .expect("string");
    let walk = if reference.enumerated > 0 {
        format!(
            " The grid walk took {:.1} s ({:.2} M designs/s, one core).",
            reference.seconds,
            reference.enumerated as f64 / reference.seconds.max(1e-9) / 1e6
        )
    } else {
        String::new()
    };
    writeln!(
        md,
        "- Reference front: {} points, HV {:.6e} against ({}); {}.{walk}",
        reference.points.len(),
        reference.hv,
        config
            .objectives
            .iter()
            .zip(&reference.reference)
            .map(|(o, r)| format!("{} {}", o.name, o.minimized(*r)))
            .collect::<Vec<_>>()
            .join(", "),
        reference.note,
    )
    .expect("string");
    writeln!(md, "\nMedian [25th, 75th percentile] over seeds. HV is normalized by the reference front's HV; \"evals to 90 %\" is the median first evaluation count reaching 90 % of it (`>N`: not reached by the median run).\n").expect("string");
    for n in checkpoints(plan.budget) {
        writeln!(md, "## After {n} evaluations\n").expect("string");
        writeln!(md, "| sampler | HV | IGD+ | evals to 90 % | evals to 95 % | s per proposal | PPA vs default |").expect("string");
        writeln!(md, "|---|---|---|---|---|---|---|").expect("string");
        for r in rows.iter().filter(|r| r.n == n) {
            writeln!(
                md,
                "| {} | {} | {} | {} | {} | {:.3} | {} |",
                r.sampler,
                fmt_q(r.hv, 3),
                fmt_q(r.igd, 4),
                fmt_count(r.to90, n),
                fmt_count(r.to95, n),
                r.seconds_per_proposal,
                r.ppa.map_or("–".into(), |p| format!("{:+.0} %", 100.0 * p))
            )
            .expect("string");
        }
        md.push('\n');
    }
    let trained: Vec<(&String, Vec<f64>)> = plan
        .samplers
        .iter()
        .map(|s| {
            (
                s,
                runs.iter()
                    .filter(|r| &r.sampler == s)
                    .filter_map(|r| r.train_seconds)
                    .collect::<Vec<f64>>(),
            )
        })
        .filter(|(_, t)| !t.is_empty())
        .collect();
    if !trained.is_empty() {
        writeln!(
            md,
            "## Time in the proposer's fits, over a whole run
"
        )
        .expect("string");
        writeln!(md, "| sampler | seconds |").expect("string");
        writeln!(md, "|---|---|").expect("string");
        for (s, t) in trained {
            writeln!(md, "| {s} | {} |", fmt_q(quartiles(&t), 1)).expect("string");
        }
        md.push('\n');
    }
    writeln!(md, "Files: `summary.csv`, `runs.csv` (HV after every evaluation of every run), `reference.csv`, `hv.svg`, `traces/*.jsonl`.").expect("string");
    write("summary.md", &md)?;
    Ok(md)
}

/// Median HV curve per sampler as an SVG line chart.
fn svg(plan: &Plan, runs: &[Run], curves: &[Vec<f64>]) -> String {
    let (w, h, pad) = (720.0, 420.0, 50.0);
    let colors = [
        "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf",
    ];
    let mut medians = Vec::new();
    for sampler in &plan.samplers {
        let cs: Vec<&Vec<f64>> = runs
            .iter()
            .zip(curves)
            .filter(|(r, _)| &r.sampler == sampler)
            .map(|(_, c)| c)
            .collect();
        let len = cs.iter().map(|c| c.len()).max().unwrap_or(0);
        let med: Vec<f64> = (0..len)
            .map(|i| {
                let v: Vec<f64> = cs.iter().map(|c| c[i.min(c.len() - 1)]).collect();
                quartiles(&v).map_or(0.0, |q| q.0)
            })
            .collect();
        medians.push((sampler, med));
    }
    let low = medians
        .iter()
        .flat_map(|(_, m)| m.iter().skip(plan.batch))
        .fold(1.0f64, |a, &b| a.min(b));
    let low = (low * 20.0).floor() / 20.0;
    let x = |i: usize| pad + (w - 2.0 * pad) * i as f64 / plan.budget.max(1) as f64;
    let y =
        |v: f64| h - pad - (h - 2.0 * pad) * ((v - low) / (1.0 - low).max(1e-9)).clamp(0.0, 1.0);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    );
    writeln!(s, "<text x=\"{}\" y=\"20\" text-anchor=\"middle\" font-size=\"14\">Median normalized hypervolume</text>", w / 2.0).expect("string");
    writeln!(
        s,
        "<line x1=\"{pad}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"black\"/>",
        h - pad,
        w - pad,
        h - pad
    )
    .expect("string");
    writeln!(
        s,
        "<line x1=\"{pad}\" y1=\"{pad}\" x2=\"{pad}\" y2=\"{}\" stroke=\"black\"/>",
        h - pad
    )
    .expect("string");
    for k in 0..=4 {
        let v = low + (1.0 - low) * k as f64 / 4.0;
        writeln!(
            s,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{v:.3}</text>",
            pad - 4.0,
            y(v) + 4.0
        )
        .expect("string");
        let n = plan.budget * k / 4;
        writeln!(
            s,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{n}</text>",
            x(n),
            h - pad + 16.0
        )
        .expect("string");
    }
    writeln!(
        s,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">evaluations</text>",
        w / 2.0,
        h - 10.0
    )
    .expect("string");
    for (k, (sampler, med)) in medians.iter().enumerate() {
        let c = colors[k % colors.len()];
        let pts: Vec<String> = med
            .iter()
            .enumerate()
            .map(|(i, &v)| format!("{:.1},{:.1}", x(i + 1), y(v)))
            .collect();
        writeln!(
            s,
            "<polyline fill=\"none\" stroke=\"{c}\" stroke-width=\"2\" points=\"{}\"/>",
            pts.join(" ")
        )
        .expect("string");
        writeln!(
            s,
            "<text x=\"{}\" y=\"{}\" fill=\"{c}\">{sampler}</text>",
            w - pad - 110.0,
            h - pad - 20.0 - 16.0 * k as f64
        )
        .expect("string");
    }
    s.push_str("</svg>\n");
    s
}
