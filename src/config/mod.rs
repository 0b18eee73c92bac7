//! The config file: raw TOML ([`raw`]), then a validated, immutable [`Config`].
//!
//! One file holds `seed`, `outcome_constraints`, `[store]`, `[log]`, `[space]`,
//! `[[objectives]]`, `[[targets]]`, `[schedule]`, `[runner]`, `[evaluator]` and `[model]`.
//! More `[[targets]]` may be dropped into `targets.d/*.toml` beside it. Every problem found
//! is reported as `file:line:column: field: message`.

mod load;
mod problem;
mod raw;
mod runner;
mod schedule;
mod space_check;
mod target;

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

pub use load::{ConfigError, Located};
pub use problem::Problem;
pub use runner::{RunnerConfig, RunnerKind, SchedulerSettings, SubmitSettings};
pub use schedule::{Cron, Zone};
pub use target::{Bound, Target};

use crate::evaluators::EvaluatorConfig;
use crate::space::{Constraint, Objective, Space};

/// The name of the drop-in folder for targets, beside the config file.
pub const DROP_IN_DIR: &str = "targets.d";

/// A validated config. Paths are absolute; nothing here needs checking again.
#[derive(Clone, Debug)]
pub struct Config {
    /// The config file.
    pub file: PathBuf,
    /// The seed of every random choice the daemon makes.
    pub seed: u64,
    pub store_path: PathBuf,
    /// `[log] level`, used when `RUST_LOG` is not set.
    pub log_level: Option<String>,
    pub space: Space,
    pub objectives: Vec<Objective>,
    /// Conditions on metrics a design must meet to count as feasible, e.g. `area_mm2 <= 2`.
    pub outcome_constraints: Vec<Constraint>,
    /// From the config and the drop-in folder, in that order (drop-in files sorted by name).
    pub targets: Vec<Target>,
    pub schedule: ScheduleConfig,
    pub runner: RunnerConfig,
    pub evaluator: EvaluatorConfig,
    pub model: ModelConfig,
    /// The files this config was read from, with what they looked like then: a reload is due
    /// when one of them changes.
    pub sources: Vec<SourceStamp>,
}

#[derive(Clone, Debug)]
pub struct ScheduleConfig {
    /// When batches fire.
    pub cron: Cron,
    /// Proposals claimed per batch.
    pub batch_size: usize,
    /// Proposals the proposer keeps queued.
    pub queue_depth: usize,
    /// How often the daemon looks for new results and config changes.
    pub poll: Duration,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProposerKind {
    /// A scrambled Sobol initial design, then uniform feasible designs.
    SobolRandom,
    /// The Sobol initial design, then DiffuSE.
    Diffuse,
}

impl ProposerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProposerKind::SobolRandom => "sobol-random",
            ProposerKind::Diffuse => "diffuse",
        }
    }
}

#[derive(Clone, Debug)]
pub struct ModelConfig {
    pub kind: ProposerKind,
    /// Size of the Sobol initial design: `max(10, number of parameters)` unless set.
    pub initial_design: usize,
    /// Refit after this many new results.
    pub retrain_every: usize,
    /// A full (cold) refit every this many versions.
    pub full_retrain_every: usize,
    /// `[model.diffuse]`.
    pub diffuse: crate::diffuse::Settings,
    /// `[model.pretrain]`, when given.
    pub pretrain: Option<crate::diffuse::pretrain::PretrainSettings>,
}

/// A file (or folder) the config came from, and its modification time and size then.
#[derive(Clone, Debug, PartialEq)]
pub struct SourceStamp {
    pub path: PathBuf,
    pub stamp: Option<(SystemTime, u64)>,
}

impl SourceStamp {
    pub fn of(path: PathBuf) -> Self {
        let stamp = std::fs::metadata(&path)
            .ok()
            .and_then(|m| Some((m.modified().ok()?, m.len())));
        Self { path, stamp }
    }
}

impl Config {
    /// Read and validate a config file and its drop-in targets.
    pub fn load(file: impl Into<PathBuf>) -> Result<Config, ConfigError> {
        load::load(file.into())
    }

    /// The config file, the drop-in folder and each drop-in file as they are now. A reload
    /// is due when these differ from the last look (modification time or size; editors that
    /// save by rename change both).
    pub fn current_sources(&self) -> Vec<SourceStamp> {
        load::source_stamps(&self.file)
    }

    /// The metrics every result must report: the objectives, then any other metric named in
    /// an outcome constraint.
    pub fn required_metrics(&self) -> Vec<String> {
        let mut out: Vec<String> = self.objectives.iter().map(|o| o.name.clone()).collect();
        for c in &self.outcome_constraints {
            for n in c.expr.names() {
                if !out.contains(&n) {
                    out.push(n);
                }
            }
        }
        out
    }

    /// The objectives' values in the metrics, in objective order; `None` when one is missing or
    /// not finite.
    pub fn objective_values(&self, metrics: &crate::space::Metrics) -> Option<Vec<f64>> {
        self.objectives
            .iter()
            .map(|o| metrics.get(&o.name).filter(|v| v.is_finite()))
            .collect()
    }

    /// Whether the metrics meet every outcome constraint (violation ≤ 0).
    pub fn outcome_feasible(&self, metrics: &crate::space::Metrics) -> bool {
        let lookup = |n: &str| metrics.get(n).map(crate::space::expr::Operand::Num);
        self.outcome_constraints
            .iter()
            .all(|c| c.expr.violation(&lookup).is_ok_and(|v| v <= 0.0))
    }
}
