//! `diffuse-dse calibrate`: fit the analytical model's coefficients to the asap7 flow results in
//! the store, and report the held-out error (reference: cli/calibrate.py at 9201a62).

use std::path::PathBuf;

use super::{CmdResult, ConfigArg, Failure};
use crate::evaluators::EvaluatorConfig;
use crate::evaluators::asap7::calibrate::{self, Row, TARGETS};
use crate::evaluators::gemmini_model::{Coefficients, GemminiConfig, GemminiModel};
use crate::store::Store;
use crate::workloads::Workload;

/// Fit the gemmini-model coefficients to the store's asap7 results: print the held-out median
/// error and Kendall's τ per objective, and write the coefficients refitted on every row.
#[derive(clap::Args, Debug)]
pub struct CalibrateCmd {
    /// A config of the asap7 evaluator; its store holds the flow results.
    #[command(flatten)]
    pub config: ConfigArg,
    /// Write the coefficients, refitted on every row, to this JSON file (the format of
    /// data/calibration/coefficients-asap7-134.json, for [evaluator.gemmini-model] coefficients).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// The seed of the train / held-out split.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// The share of rows held out.
    #[arg(long, default_value_t = 0.25)]
    pub test_fraction: f64,
    /// The pull toward the first-principles prior (`ridge·|θ|²`).
    #[arg(long, default_value_t = 0.05)]
    pub ridge: f64,
    /// Write every row's measured and predicted (fitted on the training rows) targets to
    /// this CSV file, to see where the model misses.
    #[arg(long, value_name = "FILE")]
    pub rows: Option<PathBuf>,
    /// Print the report as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

impl CalibrateCmd {
    pub fn run(self) -> CmdResult {
        if !(0.0..1.0).contains(&self.test_fraction) {
            return Err(Failure::usage(format!(
                "--test-fraction must be in [0, 1). Got {}.",
                self.test_fraction
            )));
        }
        if !(self.ridge.is_finite() && self.ridge >= 0.0) {
            return Err(Failure::usage(format!(
                "--ridge must be >= 0. Got {}.",
                self.ridge
            )));
        }
        let config = self.config.load()?;
        let EvaluatorConfig::Asap7 { settings, .. } = &config.evaluator else {
            return Err(Failure::usage(format!(
                "calibrate: {} uses the {} evaluator; calibrate reads the results of [evaluator] name = \"asap7\".",
                config.file.display(),
                config.evaluator.name()
            )));
        };
        let workload = Workload::load(&settings.workload).map_err(Failure::usage)?;
        let model =
            GemminiModel::with_coefficients(workload, settings.dram_gbps, Coefficients::prior());
        let store = Store::open_read_only(&config.store_path)?;
        let rows: Vec<Row> = store
            .stored_results()?
            .into_iter()
            .filter(|r| r.evaluator.as_deref() == Some("asap7"))
            .filter_map(|r| {
                let cfg = GemminiConfig::from_design(&r.design).ok()?;
                let measured = [
                    *r.metrics.get(TARGETS[0])?,
                    *r.metrics.get(TARGETS[1])?,
                    *r.metrics.get(TARGETS[2])?,
                ];
                let min_period_ps = r
                    .metrics
                    .get("fmax_mhz")
                    .map(|f| 1e6 / f)
                    .filter(|p| p.is_finite() && *p > 0.0);
                measured
                    .iter()
                    .all(|v| v.is_finite() && *v > 0.0)
                    .then_some(Row {
                        cfg,
                        measured,
                        min_period_ps,
                    })
            })
            .collect();
        if rows.len() < 4 {
            return Err(Failure::usage(format!(
                "calibrate: {} holds {} asap7 results with {}; a fit needs at least 4 (run batches first).",
                config.store_path.display(),
                rows.len(),
                TARGETS.join(", ")
            )));
        }
        let (train_idx, test_idx) = calibrate::split(rows.len(), self.seed, self.test_fraction);
        let pick = |idx: &[usize]| idx.iter().map(|&i| rows[i].clone()).collect::<Vec<_>>();
        let (train, test) = (pick(&train_idx), pick(&test_idx));
        let prior = Coefficients::prior();
        let fitted = calibrate::fit(&model, &prior, &train, self.ridge);
        let report = serde_json::json!({
            "rows": rows.len(),
            "train": train.len(),
            "held_out": test.len(),
            "seed": self.seed,
            "ridge": self.ridge,
            "held_out_prior": calibrate::errors(&model, &prior, &test),
            "held_out_fitted": calibrate::errors(&model, &fitted, &test),
            "in_sample_fitted": calibrate::errors(&model, &fitted, &train),
            "shipped_on_all": calibrate::errors(&model, &Coefficients::shipped(), &rows),
        });
        if self.json {
            println!(
                "{}",
                serde_json::to_string_pretty(&report).expect("a report serializes")
            );
        } else {
            println!(
                "{} asap7 rows: {} to fit, {} held out (seed {}, ridge {})",
                rows.len(),
                train.len(),
                test.len(),
                self.seed,
                self.ridge
            );
            println!(
                "{:<12} {:>18} {:>18} {:>14} {:>18} {:>12}",
                "objective",
                "prior MdAPE %",
                "fit MdAPE % (h/o)",
                "fit tau (h/o)",
                "fit MdAPE % (in)",
                "fit tau (in)"
            );
            for k in 0..TARGETS.len() {
                let cell =
                    |key: &str, field: &str| report[key][k][field].as_f64().unwrap_or(f64::NAN);
                println!(
                    "{:<12} {:>18.2} {:>18.2} {:>14.3} {:>18.2} {:>12.3}",
                    TARGETS[k],
                    cell("held_out_prior", "mdape_pct"),
                    cell("held_out_fitted", "mdape_pct"),
                    cell("held_out_fitted", "kendall_tau"),
                    cell("in_sample_fitted", "mdape_pct"),
                    cell("in_sample_fitted", "kendall_tau"),
                );
            }
        }
        if let Some(path) = &self.rows {
            let pred = calibrate::predict(&model, &fitted, &rows);
            let mut csv = String::from(
                "row,held_out,dim,dataflow,vt_flavour,clock_ps,synth_strategy,retime,area_mm2,area_model,power_mw,power_model,latency_ms,latency_model\n",
            );
            for (i, (r, p)) in rows.iter().zip(&pred).enumerate() {
                let c = &r.cfg;
                csv.push_str(&format!(
                    "{i},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
                    test_idx.contains(&i),
                    c.dim(),
                    c.dataflow.as_str(),
                    c.vt_flavour.as_str(),
                    c.clock_ps,
                    c.synth_strategy.as_str(),
                    c.retime,
                    r.measured[0],
                    p[0],
                    r.measured[1],
                    p[1],
                    r.measured[2],
                    p[2]
                ));
            }
            std::fs::write(path, csv)
                .map_err(|e| Failure::runtime(format!("cannot write {}: {e}", path.display())))?;
        }
        if let Some(path) = &self.out {
            let all = calibrate::fit(&model, &prior, &rows, self.ridge);
            let text = serde_json::to_string_pretty(&all).expect("coefficients serialize") + "\n";
            std::fs::write(path, text)
                .map_err(|e| Failure::runtime(format!("cannot write {}: {e}", path.display())))?;
            eprintln!(
                "wrote the coefficients fitted on all {} rows to {}",
                rows.len(),
                path.display()
            );
        }
        Ok(())
    }
}
