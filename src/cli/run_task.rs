//! `diffuse-dse run-task`: what one array task of a cluster batch runs on a farm node.
//!
//! It reads its proposal from the batch folder, evaluates it, and writes `qor.json`
//! atomically beside it. It never opens the store: the daemon ingests the file.

use std::path::PathBuf;
use std::time::Instant;

use super::{CmdResult, ConfigArg, Failure};
use crate::evaluators::{Cancel, EvalContext};
use crate::runners::batch_dir::{RESULT, ResultFile, read_design, read_manifest, write_atomic};

/// Evaluate one task of a batch (the job script calls this; people rarely do).
#[derive(clap::Args, Debug)]
pub struct RunTaskCmd {
    #[command(flatten)]
    pub config: ConfigArg,
    /// The batch folder (`runs/batch-N`), with its manifest.
    #[arg(long)]
    pub batch_dir: PathBuf,
    /// The task index as the scheduler gives it (`$SLURM_ARRAY_TASK_ID`, `$LSB_JOBINDEX`).
    #[arg(long)]
    pub index: usize,
    /// The scheduler's first index: 0 for Slurm, 1 for LSF.
    #[arg(long, default_value_t = 0)]
    pub index_base: usize,
}

impl RunTaskCmd {
    pub fn run(self) -> CmdResult {
        let config = self.config.load()?;
        let tasks = read_manifest(&self.batch_dir).map_err(Failure::usage)?;
        let index = self.index.checked_sub(self.index_base).ok_or_else(|| {
            Failure::usage(format!(
                "--index {} is below --index-base {}",
                self.index, self.index_base
            ))
        })?;
        let task = tasks.iter().find(|t| t.index == index).ok_or_else(|| {
            Failure::usage(format!(
                "{}: no task {index} in the manifest ({} tasks)",
                self.batch_dir.display(),
                tasks.len()
            ))
        })?;
        let dir = self.batch_dir.join(format!("proposal-{}", task.proposal.0));
        let design = read_design(&dir).map_err(Failure::usage)?;
        let evaluator = config.evaluator.build().map_err(Failure::usage)?;
        let ctx = EvalContext {
            workdir: dir.clone(),
            timeout: config.runner.timeout,
            cancel: Cancel::new(),
        };
        let started = Instant::now();
        let outcome = evaluator.evaluate(&design, &ctx);
        let (status, metrics, error) = match outcome {
            Ok(m) => ("ok", Some(m), None),
            Err(e) => ("failed", None, Some(e.to_string())),
        };
        let file = ResultFile {
            proposal_id: task.proposal.0,
            status: status.into(),
            metrics,
            error,
            evaluator: evaluator.name().to_string(),
            runtime_s: started.elapsed().as_secs_f64(),
        };
        let text = serde_json::to_string_pretty(&file).expect("a result serializes");
        let path = dir.join(RESULT);
        write_atomic(&path, text.as_bytes()).map_err(|e| {
            Failure::runtime(format!("{}: cannot write the result: {e}", path.display()))
        })?;
        eprintln!(
            "proposal {}: {status}, written to {}",
            task.proposal.0,
            path.display()
        );
        Ok(())
    }
}
