//! `diffuse-dse evaluate`: evaluate one design by hand, the default with overrides.

use super::{CmdResult, ConfigArg, Failure};
use crate::evaluators::{Cancel, EvalContext, EvaluatorConfig};

/// Evaluate the space's default design, changed by `--set NAME=VALUE`, and print its QoR.
#[derive(clap::Args, Debug)]
pub struct EvaluateCmd {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Use this evaluator instead of the config's (gemmini-model, synthetic, command).
    #[arg(long)]
    pub evaluator: Option<String>,
    /// Change one parameter of the default design, e.g. `--set clock_ps=800` (repeatable).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub set: Vec<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

impl EvaluateCmd {
    pub fn run(self) -> CmdResult {
        let config = self.config.load()?;
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
        let evaluator_config = match self.evaluator.as_deref() {
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
        };
        let evaluator = evaluator_config.build().map_err(Failure::usage)?;
        let workdir = tempdir()?;
        let ctx = EvalContext {
            workdir: workdir.clone(),
            timeout: config.runner.timeout,
            cancel: Cancel::new(),
        };
        let result = evaluator.evaluate(&design, &ctx);
        let _ = std::fs::remove_dir_all(&workdir);
        let metrics = result.map_err(|e| Failure::runtime(format!("evaluation failed: {e}")))?;
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

fn tempdir() -> Result<std::path::PathBuf, Failure> {
    let dir = std::env::temp_dir().join(format!("diffuse-dse-evaluate-{}", std::process::id()));
    std::fs::create_dir_all(&dir)
        .map_err(|e| Failure::runtime(format!("cannot create {}: {e}", dir.display())))?;
    Ok(dir)
}
