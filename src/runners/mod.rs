//! Runners: how a claimed batch of proposals gets evaluated.
//!
//! - `local` runs the evaluator on this machine, `parallel` designs at a time, and waits.
//! - `slurm`, `lsf` and `command` hand the batch to a cluster scheduler as one array job and
//!   return; [`watch`] brings the results back from the shared batch folder ([`batch_dir`]),
//!   with the scheduler as a backstop. The daemon never becomes a scheduler itself.
//!
//! Every result, from any runner, goes through the store's inbox and its validation.

pub mod batch_dir;
pub mod breaker;
pub mod local;
mod lsf;
pub mod scheduler;
mod slurm;
mod submit;
pub mod watch;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use local::{BatchReport, run_batch};
pub use lsf::parse_bjobs;
pub use scheduler::{Scheduler, SchedulerError, Submission, TaskState};
pub use slurm::parse_scontrol;

use crate::config::{Config, RunnerConfig, RunnerKind};
use crate::db::Db;
use crate::evaluators::{Cancel, Evaluator};
use crate::events::{Event, Events};
use crate::store::{BatchId, StoreError};

/// The scheduler of a cluster runner; `None` for the local runner.
pub fn scheduler(runner: &RunnerConfig) -> Option<Arc<dyn Scheduler>> {
    match &runner.kind {
        RunnerKind::Local => None,
        RunnerKind::Slurm(s) => Some(Arc::new(slurm::Slurm::new(s, runner))),
        RunnerKind::Lsf(s) => Some(Arc::new(lsf::Lsf::new(s, runner))),
        RunnerKind::Command(s) => Some(Arc::new(submit::SubmitTemplate::new(s, runner))),
    }
}

/// What a dispatch did.
#[derive(Clone, Debug, PartialEq)]
pub enum Dispatched {
    /// The local runner ran the batch to its end.
    Ran(BatchId, BatchReport),
    /// A cluster runner submitted it as `job_id`; the watcher brings the results.
    Submitted {
        batch: BatchId,
        job_id: String,
        size: usize,
    },
}

/// Claim up to `batch_size` queued proposals and run or submit them. `None` when nothing was
/// queued. For a cluster runner the claim, the manifest, the submission and the job id are
/// one transaction: if `sbatch` fails, nothing was claimed and the error says why.
pub async fn claim_and_run(
    db: &Db,
    config: &Config,
    evaluator: Arc<dyn Evaluator>,
    trigger: &'static str,
    cancel: &Cancel,
    events: &Events,
) -> Result<Option<Dispatched>, StoreError> {
    let n = config.schedule.batch_size;
    let runner = config.runner.clone();
    let Some(scheduler) = scheduler(&runner) else {
        let Some((batch, claimed)) = db.call(move |s| s.claim_batch(n, "local", trigger)).await?
        else {
            return Ok(None);
        };
        let report = run_batch(db, evaluator, &runner, batch, claimed, cancel, events).await?;
        return Ok(Some(Dispatched::Ran(batch, report)));
    };
    let name = scheduler.name();
    let binary = runner
        .task_binary
        .clone()
        .or_else(|| std::env::current_exe().ok())
        .unwrap_or_else(|| PathBuf::from("diffuse-dse"));
    let claimed = db
        .call(move |s| {
            let mut job_id = String::new();
            let claimed = s.claim_batch_with(n, name, trigger, |batch, claimed| {
                job_id = submit(&runner, scheduler.as_ref(), &binary, batch, claimed)?;
                Ok::<_, SchedulerError>(Some(job_id.clone()))
            })?;
            Ok(claimed.map(|(batch, claimed)| (batch, claimed.len(), job_id)))
        })
        .await?;
    let Some((batch, size, job_id)) = claimed else {
        return Ok(None);
    };
    events.send(Event::BatchStarted { batch, size });
    Ok(Some(Dispatched::Submitted {
        batch,
        job_id,
        size,
    }))
}

/// Write the batch folder and submit its array job; returns the job id.
fn submit(
    runner: &RunnerConfig,
    scheduler: &dyn Scheduler,
    binary: &Path,
    batch: BatchId,
    claimed: &[crate::store::Claimed],
) -> Result<String, SchedulerError> {
    let io = |e: std::io::Error| {
        SchedulerError(format!(
            "cannot write the batch folder under {}: {e}",
            runner.runs_dir.display()
        ))
    };
    batch_dir::write_batch(&runner.runs_dir, batch, claimed).map_err(io)?;
    let dir = batch_dir::batch_dir(&runner.runs_dir, batch);
    let script = dir.join("job.sh");
    let (var, base) = scheduler.index_env();
    batch_dir::write_atomic(
        &script,
        job_script(binary, &runner.task_config, &dir, var, base).as_bytes(),
    )
    .map_err(io)?;
    set_executable(&script).map_err(io)?;
    scheduler.submit(&Submission {
        batch_dir: &dir,
        script: &script,
        count: claimed.len(),
        throttle: runner.parallel,
        name: format!("dse-batch-{}", batch.0),
    })
}

/// Quote for a POSIX shell: the script's only variable part is paths from the admin's
/// config; design values never appear in it (tasks read them from `design.json`).
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

fn job_script(binary: &Path, config: &Path, dir: &Path, var: &str, base: usize) -> String {
    format!(
        "#!/bin/sh\n# diffuse-dse: one array task evaluates one proposal of this batch (see manifest.tsv).\n\
         exec {} run-task --config {} --batch-dir {} --index \"${{{var}}}\" --index-base {base}\n",
        quote(&binary.display().to_string()),
        quote(&config.display().to_string()),
        quote(&dir.display().to_string()),
    )
}

fn set_executable(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_job_script_quotes_its_paths() {
        let s = job_script(
            Path::new("/opt/it's/diffuse-dse"),
            Path::new("/etc/c.toml"),
            Path::new("/runs/batch-1"),
            "SLURM_ARRAY_TASK_ID",
            0,
        );
        assert!(s.contains("exec '/opt/it'\\''s/diffuse-dse' run-task --config '/etc/c.toml' --batch-dir '/runs/batch-1' --index \"${SLURM_ARRAY_TASK_ID}\" --index-base 0"), "{s}");
    }
}
