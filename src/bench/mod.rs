//! `diffuse-dse bench`: samplers side by side on one evaluator, over seeds, against a
//! reference front; figures as Markdown, CSV and SVG.
//!
//! DiffuSE, random and Sobol run through the daemon's own cycle and runner ([`run`]); the
//! peers (Optuna, BoTorch) through `benchmarks/peers/run.py`, which drives the same evaluator
//! through `diffuse-dse evaluate --jsonl` and writes the same trace. The reference front is the
//! analytical model's exact front over its grid ([`reference`]), merged with every design the
//! runs found; the figures are in [`metrics`].

pub mod metrics;
pub mod reference;
mod report;
pub mod run;

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::config::Config;
use crate::store::StoreError;
use run::Evaluation;

pub use report::write_outputs;

/// Why a benchmark could not run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Setup(String),
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What to run.
#[derive(Clone, Debug)]
pub struct Plan {
    pub samplers: Vec<String>,
    pub seeds: Vec<u64>,
    pub budget: usize,
    pub batch: usize,
    pub out: PathBuf,
    /// An earlier output folder whose traces are read instead of running those (sampler, seed)
    /// pairs again.
    pub reuse: Option<PathBuf>,
    /// The peer harness folder (`benchmarks/peers`) and the binary it drives.
    pub peers_dir: PathBuf,
    pub binary: PathBuf,
}

/// One finished run.
#[derive(Clone, Debug)]
pub struct Run {
    pub sampler: String,
    pub seed: u64,
    pub evaluations: Vec<Evaluation>,
    pub seconds: f64,
    /// Seconds spent in the proposer's fits (own samplers), from the run's `models` table.
    pub train_seconds: Option<f64>,
}

impl Run {
    /// The run's trace in minimization form (infeasible and failed evaluations add nothing).
    pub fn trace(&self, config: &Config) -> metrics::Trace {
        self.evaluations
            .iter()
            .map(|e| {
                let v = e.values.as_ref().filter(|_| e.feasible)?;
                Some(
                    config
                        .objectives
                        .iter()
                        .zip(v)
                        .map(|(o, &y)| o.minimized(y))
                        .collect(),
                )
            })
            .collect()
    }
}

/// Run every (sampler, seed) of the plan, with a line of progress per run on stderr.
pub fn run_plan(config: &Config, plan: &Plan) -> Result<Vec<Run>, BenchError> {
    let traces = plan.out.join("traces");
    std::fs::create_dir_all(&traces).map_err(|source| BenchError::Write {
        path: traces.clone(),
        source,
    })?;
    let total = plan.samplers.len() * plan.seeds.len();
    let mut runs = Vec::with_capacity(total);
    for sampler in &plan.samplers {
        for &seed in &plan.seeds {
            let started = Instant::now();
            let file = traces.join(format!("{sampler}-{seed}.jsonl"));
            let reused = plan
                .reuse
                .as_ref()
                .map(|dir| dir.join("traces").join(format!("{sampler}-{seed}.jsonl")))
                .filter(|f| f.exists());
            let train_file = file.with_extension("train.json");
            let (evaluations, train_seconds) = if let Some(old) = reused {
                std::fs::copy(&old, &file).map_err(|source| BenchError::Write {
                    path: file.clone(),
                    source,
                })?;
                let train = std::fs::read_to_string(old.with_extension("train.json"))
                    .ok()
                    .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                    .and_then(|v| v["train_seconds"].as_f64());
                if let Some(t) = train {
                    write_file(
                        &train_file,
                        &serde_json::json!({ "train_seconds": t }).to_string(),
                    )?;
                }
                (
                    run::read_trace(config, &file).map_err(BenchError::Setup)?,
                    train,
                )
            } else if run::OWN.contains(&sampler.as_str()) {
                let dir = tempfile_dir(&plan.out, sampler, seed)?;
                let c = run::run_config(config, sampler, seed, plan.budget, plan.batch, &dir);
                let (e, train) = run::run_own(&c, plan.budget, &format!("{sampler} seed {seed}"))?;
                let _ = std::fs::remove_dir_all(&dir);
                write_trace(&file, sampler, seed, &e)?;
                write_file(
                    &train_file,
                    &serde_json::json!({ "train_seconds": train }).to_string(),
                )?;
                (e, Some(train))
            } else {
                (run_peer(config, plan, sampler, seed, &file)?, None)
            };
            let seconds = started.elapsed().as_secs_f64();
            eprintln!(
                "[{}/{total}] {sampler} seed {seed}: {} evaluations in {seconds:.1} s",
                runs.len() + 1,
                evaluations.len()
            );
            runs.push(Run {
                sampler: sampler.clone(),
                seed,
                evaluations,
                seconds,
                train_seconds,
            });
        }
    }
    Ok(runs)
}

fn tempfile_dir(out: &Path, sampler: &str, seed: u64) -> Result<PathBuf, BenchError> {
    let dir = out.join("work").join(format!("{sampler}-{seed}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|source| BenchError::Write {
        path: dir.clone(),
        source,
    })?;
    Ok(dir)
}

/// Our runs' traces, in the peers' format, so every figure can be recomputed from the files.
fn write_trace(
    path: &Path,
    sampler: &str,
    seed: u64,
    evaluations: &[Evaluation],
) -> Result<(), BenchError> {
    let mut text = String::new();
    for (i, e) in evaluations.iter().enumerate() {
        let line = serde_json::json!({
            "eval": i + 1,
            "sampler": sampler,
            "seed": seed,
            "params": e.params,
            "values": e.values,
            "feasible": e.feasible,
            "propose_seconds": e.propose_seconds,
        });
        text.push_str(&line.to_string());
        text.push('\n');
    }
    write_file(path, &text)
}

fn write_file(path: &Path, text: &str) -> Result<(), BenchError> {
    std::fs::write(path, text).map_err(|source| BenchError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Run one peer through the Python harness, then read its trace.
fn run_peer(
    config: &Config,
    plan: &Plan,
    sampler: &str,
    seed: u64,
    trace: &Path,
) -> Result<Vec<Evaluation>, BenchError> {
    let python = plan.peers_dir.join(".venv/bin/python");
    let script = plan.peers_dir.join("run.py");
    if !python.exists() || !script.exists() {
        return Err(BenchError::Setup(format!(
            "sampler {sampler} runs in the peer harness, which is not set up: expected {} and {}. Run `make -C {} venv` first (it downloads torch, a large install).",
            script.display(),
            python.display(),
            plan.peers_dir.display()
        )));
    }
    let status = std::process::Command::new(&python)
        .arg(&script)
        .arg("--config")
        .arg(&config.file)
        .args(["--sampler", sampler, "--seed", &seed.to_string()])
        .args([
            "--budget",
            &plan.budget.to_string(),
            "--batch",
            &plan.batch.to_string(),
        ])
        .arg("--out")
        .arg(trace)
        .arg("--bin")
        .arg(&plan.binary)
        .status()
        .map_err(|e| BenchError::Setup(format!("cannot run {}: {e}", python.display())))?;
    if !status.success() {
        return Err(BenchError::Setup(format!(
            "the peer harness failed for {sampler} seed {seed} ({status})"
        )));
    }
    run::read_trace(config, trace).map_err(BenchError::Setup)
}

/// The machine, for the reports: CPU count and model.
pub fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!("{cpus} CPUs, {model}")
}
