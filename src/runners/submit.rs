//! Any other scheduler, through the `[runner.command]` submit and status templates.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::scheduler::{Scheduler, SchedulerError, Submission, TaskState, call};
use crate::config::{RunnerConfig, SubmitSettings};

pub struct SubmitTemplate {
    settings: SubmitSettings,
    base_dir: PathBuf,
    timeout: std::time::Duration,
}

impl SubmitTemplate {
    pub fn new(settings: &SubmitSettings, runner: &RunnerConfig) -> Self {
        let base_dir = runner
            .task_config
            .parent()
            .map(PathBuf::from)
            .unwrap_or_default();
        Self {
            settings: settings.clone(),
            base_dir,
            timeout: runner.scheduler_timeout,
        }
    }

    /// Substitute `{key}` placeholders. Each argv entry stays one argument, whatever it holds.
    fn expand(argv: &[String], values: &[(&str, String)]) -> Vec<String> {
        argv.iter()
            .map(|a| {
                values
                    .iter()
                    .fold(a.clone(), |acc, (k, v)| acc.replace(&format!("{{{k}}}"), v))
            })
            .collect()
    }

    fn program(&self, argv: &[String]) -> PathBuf {
        let p = PathBuf::from(&argv[0]);
        if argv[0].contains('/') && p.is_relative() {
            self.base_dir.join(p)
        } else {
            super::scheduler::tool(None, &argv[0])
        }
    }
}

fn state(word: &str) -> TaskState {
    match word.to_ascii_uppercase().as_str() {
        "PENDING" => TaskState::Pending,
        "RUNNING" => TaskState::Running,
        "LOST" => TaskState::Lost("LOST".into()),
        w => TaskState::Ended(w.to_string()),
    }
}

impl Scheduler for SubmitTemplate {
    fn name(&self) -> &'static str {
        "command"
    }

    fn index_env(&self) -> (&str, usize) {
        (&self.settings.index_env, self.settings.index_base)
    }

    fn submit(&self, job: &Submission<'_>) -> Result<String, SchedulerError> {
        let base = self.settings.index_base;
        let values = [
            ("script", job.script.display().to_string()),
            ("batch_dir", job.batch_dir.display().to_string()),
            ("count", job.count.to_string()),
            ("first", base.to_string()),
            ("last", (base + job.count - 1).to_string()),
            ("throttle", job.throttle.to_string()),
            ("name", job.name.clone()),
        ];
        let argv = Self::expand(&self.settings.submit, &values);
        let out = call(
            &self.program(&argv),
            &argv[1..],
            &self.settings.env,
            self.timeout,
        )?;
        let id = out
            .lines()
            .rev()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("")
            .to_string();
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        {
            return Err(SchedulerError(format!(
                "the submit command printed no job id on its last line (it printed {:?})",
                out.trim()
            )));
        }
        Ok(id)
    }

    fn poll(&self, job_id: &str) -> Result<Option<BTreeMap<usize, TaskState>>, SchedulerError> {
        let Some(status) = &self.settings.status else {
            return Ok(None);
        };
        let argv = Self::expand(status, &[("job_id", job_id.to_string())]);
        let text = call(
            &self.program(&argv),
            &argv[1..],
            &self.settings.env,
            self.timeout,
        )?;
        let base = self.settings.index_base;
        Ok(Some(
            text.lines()
                .filter_map(|l| {
                    let mut f = l.split_whitespace();
                    let index: usize = f.next()?.parse().ok()?;
                    Some((index.checked_sub(base)?, state(f.next()?)))
                })
                .collect(),
        ))
    }
}
