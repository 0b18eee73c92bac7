//! `diffuse-dse evaluate`: evaluate one design by hand (the default with overrides), or a
//! stream of designs as JSON lines, so that any tool (a peer optimizer, a script) can drive
//! the same evaluators; `--layers` gives the analytical model's cycles layer by layer
//! (`benchmarks/scalesim/` compares them with SCALE-Sim).

use super::{CmdResult, ConfigArg, Failure};
use crate::config::Config;
use crate::evaluators::gemmini_model::{GemminiConfig, GemminiModel};
use crate::evaluators::{Cancel, EvalContext, Evaluator, EvaluatorConfig};
use crate::perf::BlockDataflow;
use crate::space::Design;

/// Evaluate the space's default design, changed by `--set NAME=VALUE`, and print its QoR.
#[derive(clap::Args, Debug)]
pub struct EvaluateCmd {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Use this evaluator instead of the config's (gemmini-model, synthetic, or the config's own:
    /// command, asap7).
    #[arg(long)]
    pub evaluator: Option<String>,
    /// Change one parameter of the default design, e.g. `--set clock_ps=800` (repeatable).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub set: Vec<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Read designs from stdin, one JSON object per line (parameters left out take their
    /// default), and write one JSON line of QoR per design to stdout:
    /// `{"line": N, "design": {…}, "metrics": {…}}`, or `{"line": N, "error": "…"}` for a
    /// design that is not legal or whose evaluation failed.
    #[arg(long, conflicts_with_all = ["set", "json"])]
    pub jsonl: bool,
    /// Print the analytical model's cycles of the design layer by layer (gemmini-model only),
    /// as one JSON object: `{"design", "workload", "period_ps", "bytes_per_cycle",
    /// "fill_cycles", "cycles", "layers": [{"name", "m", "n", "k", "multiplicity",
    /// "dataflow", "cycles", "array_cycles", "stream", "tiles", "dram_bytes",
    /// "prologue_bytes"}]}`, each count over all of the layer's `groups·count` GEMMs.
    #[arg(long, conflicts_with_all = ["jsonl", "json"])]
    pub layers: bool,
}

impl EvaluateCmd {
    pub fn run(self) -> CmdResult {
        let config = self.config.load()?;
        if self.layers {
            return self.per_layer(&config);
        }
        let evaluator = self
            .evaluator_config(&config)?
            .build()
            .map_err(Failure::usage)?;
        let workdir = tempdir()?;
        let ctx = EvalContext {
            workdir: workdir.clone(),
            timeout: config.runner.timeout,
            cancel: Cancel::new(),
        };
        let result = if self.jsonl {
            jsonl(&config, evaluator.as_ref(), &ctx)
        } else {
            self.one(&config, evaluator.as_ref(), &ctx).map(|()| 0)
        };
        // A failed evaluation's message names its tool's log: keep the folder it is in.
        let wrote = std::fs::read_dir(&workdir).is_ok_and(|mut d| d.next().is_some());
        if wrote && !matches!(result, Ok(0)) {
            eprintln!(
                "the failed evaluations' work folder, with the tools' logs, is kept: {}",
                workdir.display()
            );
        } else {
            let _ = std::fs::remove_dir_all(&workdir);
        }
        result.map(|_| ())
    }

    fn evaluator_config(&self, config: &Config) -> Result<EvaluatorConfig, Failure> {
        Ok(match self.evaluator.as_deref() {
            None => config.evaluator.clone(),
            Some(name) if name == config.evaluator.name() => config.evaluator.clone(),
            Some("synthetic") => EvaluatorConfig::Synthetic,
            Some("gemmini-model") => {
                let mut problems = Vec::new();
                let dir = config
                    .file
                    .parent()
                    .unwrap_or(std::path::Path::new("."))
                    .to_path_buf();
                EvaluatorConfig::gemmini(None, &dir, &mut problems)
                    .expect("the default settings are valid")
            }
            Some(other) => {
                return Err(Failure::usage(format!(
                    "--evaluator {other}: expected gemmini-model, synthetic, or the config's own ({}).",
                    config.evaluator.name()
                )));
            }
        })
    }

    /// The default design with `--set` overrides, evaluated and printed.
    fn one(&self, config: &Config, evaluator: &dyn Evaluator, ctx: &EvalContext) -> CmdResult {
        let design = self.design(config)?;
        let result = evaluator.evaluate(&design, ctx);
        let metrics = result.map_err(|e| match e {
            // a missing tool or file fails every design alike: the user's setup, exit 2
            crate::evaluators::EvalError::Setup(m) => Failure::usage(m),
            e => Failure::runtime(format!("evaluation failed: {e}")),
        })?;
        if self.json {
            let v = serde_json::json!({"evaluator": evaluator.name(), "design": design, "metrics": metrics});
            println!(
                "{}",
                serde_json::to_string_pretty(&v).expect("QoR serializes")
            );
        } else {
            let units: std::collections::HashMap<&str, &str> = config
                .objectives
                .iter()
                .map(|o| (o.name.as_str(), o.unit.as_str()))
                .collect();
            for (name, value) in &metrics.0 {
                println!(
                    "{name:<16} {value:>16.6} {}",
                    units.get(name.as_str()).copied().unwrap_or("")
                );
            }
        }
        Ok(())
    }

    /// `--layers`: the analytical model's cycles, layer by layer, at the period the model gives
    /// the design.
    fn per_layer(&self, config: &Config) -> CmdResult {
        let chosen = self.evaluator_config(config)?;
        let name = chosen.name();
        let EvaluatorConfig::GemminiModel { settings, base_dir } = chosen else {
            return Err(Failure::usage(format!(
                "--layers needs the gemmini-model evaluator, not {name}: pass --evaluator gemmini-model."
            )));
        };
        let model = GemminiModel::new(&settings, &base_dir).map_err(Failure::usage)?;
        let design = self.design(config)?;
        let cfg = GemminiConfig::from_design(&design).map_err(Failure::usage)?;
        let period_ps = model.evaluate(&cfg).period_ps;
        let perf_cfg = cfg.perf_config();
        let runs = model.perf().run_layers(&perf_cfg, period_ps);
        let layers: Vec<_> = model
            .workload()
            .layers
            .iter()
            .zip(&runs)
            .map(|(layer, run)| {
                serde_json::json!({
                    "name": layer.name,
                    "m": layer.m,
                    "n": layer.n,
                    "k": layer.k,
                    "multiplicity": layer.multiplicity(),
                    "dataflow": match run.dataflow {
                        BlockDataflow::Os => "OS",
                        BlockDataflow::Ws => "WS",
                    },
                    "cycles": run.cycles,
                    "array_cycles": run.array_cycles,
                    "stream": run.terms.stream,
                    "tiles": run.terms.tiles,
                    "dram_bytes": run.terms.dram,
                    "prologue_bytes": run.terms.prologue,
                })
            })
            .collect();
        let v = serde_json::json!({
            "design": design,
            "workload": model.workload().name,
            "period_ps": period_ps,
            "bytes_per_cycle": model.perf().bytes_per_cycle(&perf_cfg, period_ps),
            "fill_cycles": runs.first().map_or(0.0, |r| r.fill_cycles),
            "cycles": runs.iter().map(|r| r.cycles).sum::<f64>(),
            "layers": layers,
        });
        println!("{v}");
        Ok(())
    }

    /// The default design with `--set NAME=VALUE` overrides, checked against the space.
    fn design(&self, config: &Config) -> Result<Design, Failure> {
        let space = &config.space;
        let mut design = space.default_design();
        for item in &self.set {
            let (name, text) = item.split_once('=').ok_or_else(|| {
                Failure::usage(format!(
                    "--set {item}: expected NAME=VALUE, e.g. --set clock_ps=800."
                ))
            })?;
            let param = space.param(name.trim()).ok_or_else(|| {
                Failure::usage(format!(
                    "--set {item}: '{name}' is not a parameter (parameters: {}).",
                    space.names().join(", ")
                ))
            })?;
            let value = param
                .parse_text(text)
                .map_err(|e| Failure::usage(format!("--set {item}: {e}.")))?;
            design.set(&param.name, value);
        }
        space
            .check(&design)
            .map_err(|e| Failure::usage(format!("the design is not legal: {e}.")))?;
        Ok(design)
    }
}

/// Evaluate every design of stdin, in order, one JSON line out per line in. Returns how many
/// evaluations failed.
fn jsonl(config: &Config, evaluator: &dyn Evaluator, ctx: &EvalContext) -> Result<usize, Failure> {
    use std::io::{BufRead, Write};
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut failed = 0;
    for (n, line) in std::io::stdin().lock().lines().enumerate() {
        let line = line.map_err(|e| Failure::runtime(format!("stdin: {e}")))?;
        if line.trim().is_empty() {
            continue;
        }
        let reply = match design_of(config, &line) {
            Err(error) => serde_json::json!({"line": n + 1, "error": error}),
            Ok(design) => match evaluator.evaluate(&design, ctx) {
                Ok(metrics) => {
                    serde_json::json!({"line": n + 1, "design": design, "metrics": metrics})
                }
                Err(e) => {
                    failed += 1;
                    serde_json::json!({"line": n + 1, "design": design, "error": e.to_string()})
                }
            },
        };
        writeln!(out, "{reply}")
            .and_then(|()| out.flush())
            .map_err(|e| Failure::runtime(format!("stdout: {e}")))?;
    }
    Ok(failed)
}

/// A JSON object of parameter values over the default design, checked against the space.
fn design_of(config: &Config, line: &str) -> Result<Design, String> {
    config
        .space
        .design_from_json(&over_default(config, line)?)
        .map_err(|e| e.to_string())
}

/// One line of stdin, a JSON object of parameter values, laid over the default design (so
/// parameters left out take their default). Not yet checked against the space.
pub(super) fn over_default(config: &Config, line: &str) -> Result<serde_json::Value, String> {
    let given: serde_json::Map<String, serde_json::Value> = serde_json::from_str(line)
        .map_err(|e| format!("not a JSON object of parameter values: {e}"))?;
    let mut design =
        serde_json::to_value(config.space.default_design()).expect("a design serializes");
    design
        .as_object_mut()
        .expect("a design is an object")
        .extend(given);
    Ok(design)
}

fn tempdir() -> Result<std::path::PathBuf, Failure> {
    let dir = std::env::temp_dir().join(format!("diffuse-dse-evaluate-{}", std::process::id()));
    std::fs::create_dir_all(&dir)
        .map_err(|e| Failure::runtime(format!("cannot create {}: {e}", dir.display())))?;
    Ok(dir)
}
