//! Golden test of the analytical Gemmini model: every metric of the reference model's 903
//! rows (`tests/data/gemmini-golden.csv`: the default and 300 seeded feasible configurations of
//! the example space on each workload, made by the Python reference at 9201a62) to 1e-6
//! relative, `wns_ps` (which crosses zero) to 1e-6 ps absolute, with the embedded default
//! coefficients (the reference's fit).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use diffuse_dse::evaluators::gemmini_model::{
    GemminiConfig, GemminiModel, GemminiSettings, METRICS,
};
use diffuse_dse::evaluators::{Cancel, EvalContext, Evaluator};
use diffuse_dse::space::{Design, Value};
use diffuse_dse::workloads::WORKLOADS;

const GOLDEN: &str = include_str!("data/gemmini-golden.csv");

struct Row {
    workload: String,
    design: Design,
    metrics: [f64; 7],
}

/// The CSV as rows: `workload`, the 19 parameters, the 7 metrics. Booleans are `True`/`False`,
/// `abc_delay_ratio` is the only float parameter.
fn golden_rows() -> Vec<Row> {
    let mut lines = GOLDEN.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(header.len(), 27);
    assert_eq!(header[20..], METRICS);
    lines
        .map(|line| {
            let cells: Vec<&str> = line.split(',').collect();
            assert_eq!(cells.len(), header.len(), "{line}");
            let mut design = Design::default();
            for (name, cell) in header[1..20].iter().zip(&cells[1..20]) {
                let value = match (*name, *cell) {
                    ("abc_delay_ratio", x) => Value::Float(x.parse().unwrap()),
                    (_, "True") => Value::Bool(true),
                    (_, "False") => Value::Bool(false),
                    (_, x) => x
                        .parse()
                        .map(Value::Int)
                        .unwrap_or_else(|_| Value::Str(x.to_string())),
                };
                design.set(name, value);
            }
            let metrics = std::array::from_fn(|i| cells[20 + i].parse().unwrap());
            Row {
                workload: cells[0].to_string(),
                design,
                metrics,
            }
        })
        .collect()
}

fn models() -> BTreeMap<&'static str, GemminiModel> {
    WORKLOADS
        .iter()
        .map(|w| {
            let settings = GemminiSettings {
                workload: w.to_string(),
                ..GemminiSettings::default()
            };
            (*w, GemminiModel::new(&settings, Path::new(".")).unwrap())
        })
        .collect()
}

#[test]
fn every_golden_row_matches() {
    let rows = golden_rows();
    assert_eq!(rows.len(), 903);
    let models = models();
    let (mut worst_rel, mut worst_wns_ps) = (0.0_f64, 0.0_f64);
    let mut failures = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let cfg = GemminiConfig::from_design(&row.design).unwrap();
        let got = models[row.workload.as_str()].evaluate(&cfg).values();
        for ((name, got), want) in METRICS.iter().zip(got).zip(row.metrics) {
            let ok = if *name == "wns_ps" {
                worst_wns_ps = worst_wns_ps.max((got - want).abs());
                (got - want).abs() <= 1e-6
            } else {
                worst_rel = worst_rel.max((got - want).abs() / want.abs());
                (got - want).abs() <= 1e-6 * want.abs()
            };
            if !ok {
                failures.push(format!(
                    "row {} ({}) {name}: got {got}, want {want}",
                    i + 2,
                    row.workload
                ));
            }
        }
    }
    println!(
        "{} rows: worst relative error {worst_rel:e}, worst wns_ps error {worst_wns_ps:e} ps",
        rows.len()
    );
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn the_evaluator_trait_gives_the_golden_metrics() {
    let rows = golden_rows();
    let models = models();
    let ctx = EvalContext {
        workdir: std::env::temp_dir(),
        timeout: Duration::from_secs(5),
        cancel: Cancel::new(),
    };
    for row in rows.iter().step_by(50) {
        let metrics =
            Evaluator::evaluate(&models[row.workload.as_str()], &row.design, &ctx).unwrap();
        for (name, want) in METRICS.iter().zip(row.metrics) {
            let got = metrics.get(name).unwrap();
            assert!(
                (got - want).abs() <= 1e-6 * want.abs().max(1.0),
                "{name}: {got} vs {want}"
            );
        }
    }
}

#[test]
fn the_first_row_of_each_workload_is_the_default_configuration() {
    let rows = golden_rows();
    for w in WORKLOADS {
        let first = rows.iter().find(|r| r.workload == w).unwrap();
        assert_eq!(
            GemminiConfig::from_design(&first.design).unwrap(),
            GemminiConfig::default()
        );
    }
}
