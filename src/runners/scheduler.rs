//! The cluster schedulers behind one trait: submit an array job, ask for its tasks' states.
//!
//! Every call runs the scheduler's own command (argv, never a shell) with a timeout, in its own
//! process group, through [`crate::process`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::evaluators::Cancel;
use crate::process::{self, Invocation};

/// A task's state as the scheduler reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskState {
    /// Waiting to start.
    Pending,
    Running,
    /// Ended, with the scheduler's word for how (`COMPLETED`, `FAILED`, `CANCELLED`,
    /// `TIMEOUT`, `NODE_FAIL`, `EXIT`, …).
    Ended(String),
    /// The node or the task is lost (`NODE_FAIL`, LSF `UNKWN`/`ZOMBI`): the work is gone.
    Lost(String),
}

/// What a submission needs to know.
#[derive(Clone, Debug)]
pub struct Submission<'a> {
    /// The batch folder (logs go there).
    pub batch_dir: &'a Path,
    /// The job script every task runs.
    pub script: &'a Path,
    /// Tasks in the array.
    pub count: usize,
    /// Tasks at once (`%K`).
    pub throttle: usize,
    /// A job name, e.g. `dse-batch-12`.
    pub name: String,
}

/// Why a scheduler call failed. The text names the command and what it said.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SchedulerError(pub String);

/// A cluster scheduler.
pub trait Scheduler: Send + Sync {
    /// `slurm`, `lsf` or `command`.
    fn name(&self) -> &'static str;

    /// The environment variable holding the task index inside a job, and the first index.
    fn index_env(&self) -> (&str, usize);

    /// Submit one array job; returns its job id.
    fn submit(&self, job: &Submission<'_>) -> Result<String, SchedulerError>;

    /// The state of every task the scheduler still knows, by index (from 0). A task it no
    /// longer lists is simply absent; `Ok(None)` means the scheduler cannot say (no status
    /// command), so the caller judges by result files and time alone.
    fn poll(&self, job_id: &str) -> Result<Option<BTreeMap<usize, TaskState>>, SchedulerError>;
}

/// Run one scheduler command: argv, a timeout, its own process group. Returns stdout, or an
/// error naming the command, its exit status and its stderr.
pub fn call(
    program: &Path,
    args: &[String],
    env: &[(String, String)],
    timeout: Duration,
) -> Result<String, SchedulerError> {
    let mut inv = Invocation::new(program, timeout);
    inv.args = args.to_vec();
    inv.env = env.to_vec();
    let shown = || format!("{} {}", program.display(), args.join(" "));
    let out = process::run(&inv, &Cancel::new())
        .map_err(|e| SchedulerError(format!("`{}`: {e}", shown())))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(SchedulerError(format!(
            "`{}` failed ({}): {}",
            shown(),
            out.status_text(),
            stderr.trim()
        )));
    }
    Ok(stdout)
}

/// A scheduler tool, found in `bin_dir` or on `PATH`.
pub fn tool(bin_dir: Option<&PathBuf>, name: &str) -> PathBuf {
    match bin_dir {
        Some(dir) => dir.join(name),
        None => process::find_program(name).unwrap_or_else(|| PathBuf::from(name)),
    }
}

/// Expand `a-b` ranges (with an optional `%K` throttle suffix or `:step`) and comma lists of
/// array indices, as Slurm prints them (`ArrayTaskId=4-7%2`, `0,2,5-6`).
pub fn expand_indices(text: &str) -> Vec<usize> {
    let text = text.split('%').next().unwrap_or("");
    let mut out = Vec::new();
    for part in text.split(',').filter(|p| !p.is_empty()) {
        let (range, step) = match part.split_once(':') {
            Some((r, s)) => (r, s.parse().unwrap_or(1).max(1)),
            None => (part, 1),
        };
        match range.split_once('-') {
            Some((a, b)) => {
                if let (Ok(a), Ok(b)) = (a.parse::<usize>(), b.parse::<usize>()) {
                    out.extend((a..=b).step_by(step));
                }
            }
            None => out.extend(range.parse::<usize>().ok()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_ranges_expand() {
        assert_eq!(expand_indices("4-7%2"), vec![4, 5, 6, 7]);
        assert_eq!(expand_indices("0,2,5-6"), vec![0, 2, 5, 6]);
        assert_eq!(expand_indices("1-7:3"), vec![1, 4, 7]);
        assert_eq!(expand_indices("3"), vec![3]);
        assert!(expand_indices("").is_empty());
    }
}
