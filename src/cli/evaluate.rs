//! `diffuse-dse evaluate`: evaluate one design by hand (the default with overrides), or a
//! stream of designs as JSON lines, so that any tool (a peer optimizer, a script) can drive
//! the same evaluators.

use super::{CmdResult, ConfigArg, Failure};
use crate::config::Config;
use crate::evaluators::{Cancel, EvalContext, Evaluator, EvaluatorConfig};
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
}

impl EvaluateCmd {
    pub fn run(self) -> CmdResult {
        let config = self.config.load()?;
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
