//! Slurm: `sbatch --parsable --array=0-(N-1)%K`, and `scontrol -o show job` for the tasks.
//!
//! `scontrol` is used rather than `sacct`, which needs accounting storage (often off on small
//! clusters), and rather than `squeue`, which forgets ended tasks at once; `scontrol` keeps
//! them for `MinJobAge` (300 s by default), and a task gone from it counts as ended once
//! `lost_after_s` passes with no result file.

use std::collections::BTreeMap;

use super::scheduler::{
    Scheduler, SchedulerError, Submission, TaskState, call, expand_indices, tool,
};
use crate::config::{RunnerConfig, SchedulerSettings};

pub struct Slurm {
    settings: SchedulerSettings,
    timeout: std::time::Duration,
}

impl Slurm {
    pub fn new(settings: &SchedulerSettings, runner: &RunnerConfig) -> Self {
        Self {
            settings: settings.clone(),
            timeout: runner.scheduler_timeout,
        }
    }
}

/// Slurm job states that mean the node, not the job, failed.
const LOST_STATES: &[&str] = &["NODE_FAIL", "BOOT_FAIL"];

/// Map one `JobState=` word.
fn state(word: &str) -> TaskState {
    match word {
        "PENDING" | "REQUEUED" | "REQUEUE_HOLD" | "REQUEUE_FED" | "SUSPENDED" | "CONFIGURING"
        | "RESIZING" => TaskState::Pending,
        "RUNNING" | "COMPLETING" | "STAGE_OUT" | "SIGNALING" => TaskState::Running,
        w if LOST_STATES.contains(&w) => TaskState::Lost(w.to_string()),
        w => TaskState::Ended(w.to_string()),
    }
}

/// Parse `scontrol -o show job ID`: one line per task record, with `ArrayTaskId=` (a single
/// index, or a range for the pending rest of the array) and `JobState=`.
pub fn parse_scontrol(text: &str) -> BTreeMap<usize, TaskState> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let field = |key: &str| {
            line.split_whitespace()
                .find_map(|f| f.strip_prefix(key))
                .map(str::to_string)
        };
        let (Some(ids), Some(job_state)) = (field("ArrayTaskId="), field("JobState=")) else {
            continue;
        };
        for index in expand_indices(&ids) {
            out.insert(index, state(&job_state));
        }
    }
    out
}

impl Scheduler for Slurm {
    fn name(&self) -> &'static str {
        "slurm"
    }

    fn index_env(&self) -> (&str, usize) {
        ("SLURM_ARRAY_TASK_ID", 0)
    }

    fn submit(&self, job: &Submission<'_>) -> Result<String, SchedulerError> {
        let mut args = vec![
            "--parsable".to_string(),
            // The watcher decides retries (attempts are counted in the store); Slurm's own
            // requeue after a node failure would run the task again behind its back.
            "--no-requeue".to_string(),
            format!("--array=0-{}%{}", job.count - 1, job.throttle),
            format!("--job-name={}", job.name),
            format!(
                "--output={}",
                job.batch_dir.join("slurm-%A_%a.out").display()
            ),
            format!("--chdir={}", job.batch_dir.display()),
        ];
        args.extend(self.settings.submit_args.iter().cloned());
        args.push(job.script.display().to_string());
        let out = call(
            &tool(self.settings.bin_dir.as_ref(), "sbatch"),
            &args,
            &self.settings.env,
            self.timeout,
        )?;
        // `--parsable` prints `JOBID` or `JOBID;CLUSTER`.
        let id = out.trim().split(';').next().unwrap_or("").to_string();
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
            return Err(SchedulerError(format!(
                "sbatch printed no job id (it printed {:?})",
                out.trim()
            )));
        }
        Ok(id)
    }

    fn poll(&self, job_id: &str) -> Result<Option<BTreeMap<usize, TaskState>>, SchedulerError> {
        let args = [
            "-o".to_string(),
            "show".into(),
            "job".into(),
            job_id.to_string(),
        ];
        match call(
            &tool(self.settings.bin_dir.as_ref(), "scontrol"),
            &args,
            &self.settings.env,
            self.timeout,
        ) {
            Ok(text) => Ok(Some(parse_scontrol(&text))),
            // The job is gone from the controller's memory: every task has ended.
            Err(e) if e.0.contains("Invalid job id") => Ok(Some(BTreeMap::new())),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scontrol_lines_map_to_task_states() {
        let text = "JobId=12 ArrayJobId=11 ArrayTaskId=0 JobName=dse JobState=COMPLETED Reason=None\n\
                    JobId=13 ArrayJobId=11 ArrayTaskId=1 JobName=dse JobState=RUNNING Reason=None\n\
                    JobId=14 ArrayJobId=11 ArrayTaskId=2 JobName=dse JobState=NODE_FAIL Reason=None\n\
                    JobId=11 ArrayJobId=11 ArrayTaskId=3-5%2 JobName=dse JobState=PENDING Reason=JobArrayTaskLimit\n";
        let s = parse_scontrol(text);
        assert_eq!(s[&0], TaskState::Ended("COMPLETED".into()));
        assert_eq!(s[&1], TaskState::Running);
        assert_eq!(s[&2], TaskState::Lost("NODE_FAIL".into()));
        assert_eq!(
            (s[&3].clone(), s[&5].clone()),
            (TaskState::Pending, TaskState::Pending)
        );
        assert_eq!(s.len(), 6);
    }
}
