//! LSF: `bsub -J "name[1-N]%K"` with the task index in `$LSB_JOBINDEX` (from 1), and
//! `bjobs -noheader -o "jobindex stat"` for the tasks.

use std::collections::BTreeMap;

use super::scheduler::{Scheduler, SchedulerError, Submission, TaskState, call, tool};
use crate::config::{RunnerConfig, SchedulerSettings};

pub struct Lsf {
    settings: SchedulerSettings,
    timeout: std::time::Duration,
}

impl Lsf {
    pub fn new(settings: &SchedulerSettings, runner: &RunnerConfig) -> Self {
        Self {
            settings: settings.clone(),
            timeout: runner.scheduler_timeout,
        }
    }
}

fn state(word: &str) -> TaskState {
    match word {
        "PEND" | "PSUSP" | "WAIT" | "PROV" => TaskState::Pending,
        "RUN" | "USUSP" | "SSUSP" => TaskState::Running,
        "UNKWN" | "ZOMBI" => TaskState::Lost(word.to_string()),
        w => TaskState::Ended(w.to_string()),
    }
}

/// Parse `bjobs -noheader -o "jobindex stat"`: `INDEX STAT` per line, index from 1.
pub fn parse_bjobs(text: &str) -> BTreeMap<usize, TaskState> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let index: usize = f.next()?.parse().ok()?;
            Some((index.checked_sub(1)?, state(f.next()?)))
        })
        .collect()
}

/// The job id in bsub's `Job <1234> is submitted to queue <normal>.`
fn job_id(out: &str) -> Option<String> {
    let start = out.find("Job <")? + 5;
    let end = out[start..].find('>')? + start;
    let id = &out[start..end];
    id.chars()
        .all(|c| c.is_ascii_digit())
        .then(|| id.to_string())
}

impl Scheduler for Lsf {
    fn name(&self) -> &'static str {
        "lsf"
    }

    fn index_env(&self) -> (&str, usize) {
        ("LSB_JOBINDEX", 1)
    }

    fn submit(&self, job: &Submission<'_>) -> Result<String, SchedulerError> {
        let mut args = vec![
            "-J".to_string(),
            format!("{}[1-{}]%{}", job.name, job.count, job.throttle),
            "-cwd".into(),
            job.batch_dir.display().to_string(),
            "-o".into(),
            job.batch_dir.join("lsf-%J_%I.out").display().to_string(),
        ];
        args.extend(self.settings.submit_args.iter().cloned());
        args.push(job.script.display().to_string());
        let out = call(
            &tool(self.settings.bin_dir.as_ref(), "bsub"),
            &args,
            &self.settings.env,
            self.timeout,
        )?;
        job_id(&out).ok_or_else(|| {
            SchedulerError(format!(
                "bsub printed no job id (it printed {:?})",
                out.trim()
            ))
        })
    }

    fn poll(&self, job_id: &str) -> Result<Option<BTreeMap<usize, TaskState>>, SchedulerError> {
        let args = [
            "-noheader".to_string(),
            "-o".into(),
            "jobindex stat".into(),
            job_id.to_string(),
        ];
        match call(
            &tool(self.settings.bin_dir.as_ref(), "bjobs"),
            &args,
            &self.settings.env,
            self.timeout,
        ) {
            Ok(text) => Ok(Some(parse_bjobs(&text))),
            Err(e) if e.0.contains("is not found") => Ok(Some(BTreeMap::new())),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bsub_and_bjobs_output_parse() {
        assert_eq!(
            job_id("Job <4521> is submitted to queue <night>.\n"),
            Some("4521".into())
        );
        assert_eq!(job_id("Request aborted"), None);
        let s = parse_bjobs("1 DONE\n2 RUN\n3 EXIT\n4 PEND\n5 UNKWN\n");
        assert_eq!(s[&0], TaskState::Ended("DONE".into()));
        assert_eq!(s[&1], TaskState::Running);
        assert_eq!(s[&2], TaskState::Ended("EXIT".into()));
        assert_eq!(s[&3], TaskState::Pending);
        assert_eq!(s[&4], TaskState::Lost("UNKWN".into()));
    }
}
