//! The config file as written: loosely typed, every key known, every value with its span.
//!
//! `serde` with `deny_unknown_fields` rejects unknown keys; `toml::Spanned` keeps where each
//! value stands so that [`super::validate`] can name `file:line:column`.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

pub type S<T> = Spanned<T>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub seed: Option<S<i64>>,
    #[serde(default)]
    pub outcome_constraints: Vec<S<String>>,
    pub store: Option<RawStore>,
    pub log: Option<RawLog>,
    pub space: S<RawSpace>,
    #[serde(default)]
    pub objectives: Vec<S<RawObjective>>,
    #[serde(default)]
    pub targets: Vec<S<RawTarget>>,
    pub schedule: Option<RawSchedule>,
    pub runner: Option<RawRunner>,
    pub evaluator: Option<RawEvaluator>,
    pub model: Option<RawModel>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStore {
    pub path: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLog {
    pub level: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSpace {
    pub name: Option<S<String>>,
    pub description: Option<String>,
    #[serde(default)]
    pub params: Vec<S<RawParam>>,
    #[serde(default)]
    pub constraints: Vec<S<String>>,
}

/// A TOML scalar as a parameter value: integer, float, string or boolean.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum RawValue {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawParam {
    pub name: S<String>,
    pub layer: Option<S<String>>,
    pub kind: S<String>,
    pub low: Option<S<RawValue>>,
    pub high: Option<S<RawValue>>,
    pub step: Option<S<i64>>,
    pub log: Option<S<bool>>,
    pub values: Option<S<Vec<S<RawValue>>>>,
    pub default: Option<S<RawValue>>,
    pub unit: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawObjective {
    pub name: S<String>,
    pub direction: S<String>,
    pub unit: Option<String>,
    #[serde(rename = "ref")]
    pub reference: Option<S<f64>>,
}

/// A user target: goals (desired values) and/or bounds (limits) on objectives.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTarget {
    pub name: S<String>,
    pub description: Option<String>,
    #[serde(default)]
    pub goals: BTreeMap<String, S<f64>>,
    #[serde(default)]
    pub bounds: BTreeMap<String, S<RawBound>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBound {
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// A drop-in target file (`targets.d/*.toml`): only `[[targets]]` entries.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTargetFile {
    #[serde(default)]
    pub targets: Vec<S<RawTarget>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSchedule {
    pub cron: Option<S<String>>,
    pub timezone: Option<S<String>>,
    pub batch_size: Option<S<i64>>,
    pub queue_depth: Option<S<i64>>,
    pub poll_s: Option<S<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRunner {
    pub kind: Option<S<String>>,
    pub parallel: Option<S<i64>>,
    pub timeout_s: Option<S<f64>>,
    pub runs_dir: Option<S<String>>,
    pub max_attempts: Option<S<i64>>,
    pub lost_after_s: Option<S<f64>>,
    pub breaker_failure_share: Option<S<f64>>,
    pub scheduler_timeout_s: Option<S<f64>>,
    pub task_binary: Option<S<String>>,
    pub slurm: Option<S<RawScheduler>>,
    pub lsf: Option<S<RawScheduler>>,
    pub command: Option<S<RawSubmit>>,
}

/// `[runner.slurm]` / `[runner.lsf]`: extra submit arguments and where the tools are.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScheduler {
    #[serde(default)]
    pub submit_args: Vec<String>,
    pub bin_dir: Option<S<String>>,
    #[serde(default)]
    pub env: std::collections::BTreeMap<String, String>,
}

/// `[runner.command]`: a submit template for another scheduler.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSubmit {
    pub submit: S<Vec<String>>,
    pub status: Option<S<Vec<String>>>,
    pub index_env: S<String>,
    pub index_base: Option<S<i64>>,
    #[serde(default)]
    pub env: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEvaluator {
    pub name: Option<S<String>>,
    #[serde(rename = "gemmini-model")]
    pub gemmini_model: Option<S<crate::evaluators::gemmini_model::GemminiSettings>>,
    pub command: Option<S<crate::evaluators::command::CommandSettings>>,
    pub asap7: Option<S<crate::evaluators::asap7::Asap7Settings>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawModel {
    pub kind: Option<S<String>>,
    pub initial_design: Option<S<i64>>,
    pub retrain_every: Option<S<i64>>,
    pub full_retrain_every: Option<S<i64>>,
    pub diffuse: Option<S<crate::diffuse::Settings>>,
    pub pretrain: Option<S<crate::diffuse::pretrain::PretrainSettings>>,
}
