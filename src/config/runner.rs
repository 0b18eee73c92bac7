//! The `[runner]` section: where batches run (this machine, Slurm, LSF, or a submit
//! template for another scheduler) and how lost work is retried.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::Problem;
use super::load::{positive, seconds};
use super::raw::{RawRunner, RawScheduler, RawSubmit, S};

/// Where the batches run.
#[derive(Clone, Debug, PartialEq)]
pub enum RunnerKind {
    /// Evaluations as children of the daemon, `parallel` at a time.
    Local,
    /// One `sbatch --array` job per batch.
    Slurm(SchedulerSettings),
    /// One `bsub -J "name[1-N]%K"` job array per batch.
    Lsf(SchedulerSettings),
    /// Another scheduler, through a submit (and optional status) command template.
    Command(SubmitSettings),
}

impl RunnerKind {
    /// The name stored in `batches.runner`.
    pub fn name(&self) -> &'static str {
        match self {
            RunnerKind::Local => "local",
            RunnerKind::Slurm(_) => "slurm",
            RunnerKind::Lsf(_) => "lsf",
            RunnerKind::Command(_) => "command",
        }
    }
}

/// `[runner.slurm]` or `[runner.lsf]`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SchedulerSettings {
    /// Extra arguments for `sbatch`/`bsub` (partition, time limit, memory, …), passed as argv.
    pub submit_args: Vec<String>,
    /// The folder of `sbatch`, `scontrol` (or `bsub`, `bjobs`); `PATH` when unset.
    pub bin_dir: Option<PathBuf>,
    /// Extra environment for the scheduler's commands, e.g. `SLURM_CONF` for a second cluster
    /// or `LSF_ENVDIR`. Jobs inherit it from the submission.
    pub env: Vec<(String, String)>,
}

/// `[runner.command]`: argv templates for a scheduler we have no module for.
///
/// `submit` placeholders: `{script}` (the job script), `{batch_dir}`, `{count}` (tasks),
/// `{first}`/`{last}` (task indices, from `index_base`), `{throttle}` (`parallel`), `{name}`.
/// The last non-empty line of its stdout is the job id. `status` (optional) takes
/// `{job_id}` and prints one `INDEX STATE` line per task it still knows, with STATE one of
/// PENDING, RUNNING, DONE, FAILED, CANCELLED, LOST; without it, tasks are judged by their
/// result files and `lost_after_s` alone.
#[derive(Clone, Debug, PartialEq)]
pub struct SubmitSettings {
    pub submit: Vec<String>,
    pub status: Option<Vec<String>>,
    /// The environment variable that holds a task's index in the job.
    pub index_env: String,
    /// The first task's index (0 or 1).
    pub index_base: usize,
    /// Extra environment for the submit and status commands.
    pub env: Vec<(String, String)>,
}

#[derive(Clone, Debug)]
pub struct RunnerConfig {
    pub kind: RunnerKind,
    /// Local: evaluations at once. Cluster: the array throttle (tasks at once, `%K`).
    pub parallel: usize,
    /// Wall-clock limit of one evaluation.
    pub timeout: Duration,
    /// Each evaluation's folder is `runs_dir/batch-N/proposal-M`; on a cluster it must be on
    /// the shared filesystem (the result files come back through it).
    pub runs_dir: PathBuf,
    /// Dispatches of one proposal at most: lost work (a killed evaluation, a cancelled job, a
    /// lost node) is retried until then, and then the proposal becomes FAILED or LOST.
    pub max_attempts: u32,
    /// How long a task may be gone from the scheduler with no result file before it counts
    /// as ended (result files on a network filesystem can show up late).
    pub lost_after: Duration,
    /// Dispatch pauses when more than this share of a finished batch failed (batches of 4 or
    /// more); `diffuse-dse resume` lifts the pause.
    pub breaker_failure_share: f64,
    /// The limit of one scheduler call (`sbatch`, `squeue`, …).
    pub scheduler_timeout: Duration,
    /// The `diffuse-dse` binary the farm tasks run; the daemon's own when unset.
    pub task_binary: Option<PathBuf>,
    /// The config file the farm tasks read (it must be at this path on the farm nodes too).
    pub task_config: PathBuf,
}

fn scheduler(raw: Option<&S<RawScheduler>>) -> SchedulerSettings {
    raw.map(|r| {
        let r = r.get_ref();
        SchedulerSettings {
            submit_args: r.submit_args.clone(),
            bin_dir: r.bin_dir.as_ref().map(|b| PathBuf::from(b.get_ref())),
            env: r.env.clone().into_iter().collect(),
        }
    })
    .unwrap_or_default()
}

fn submit(
    raw: Option<&S<RawSubmit>>,
    kind_span: std::ops::Range<usize>,
    problems: &mut Vec<Problem>,
) -> Option<SubmitSettings> {
    let Some(r) = raw else {
        problems.push(Problem::new(
            "runner.command",
            Some(kind_span),
            "is required when kind = \"command\": give submit = [\"qsub\", \"{script}\"] and index_env = \"TASK_ID\".",
        ));
        return None;
    };
    let r = r.get_ref();
    let before = problems.len();
    const PLACEHOLDERS: &[&str] = &[
        "script",
        "batch_dir",
        "count",
        "first",
        "last",
        "throttle",
        "name",
        "job_id",
    ];
    for (key, argv) in [("submit", Some(&r.submit)), ("status", r.status.as_ref())] {
        let Some(argv) = argv else { continue };
        if argv.get_ref().is_empty() {
            problems.push(Problem::new(
                format!("runner.command.{key}"),
                Some(argv.span()),
                "expected a non-empty argv list.",
            ));
        }
        for (i, arg) in argv.get_ref().iter().enumerate() {
            for name in placeholders(arg) {
                let allowed = if key == "status" {
                    name == "job_id"
                } else {
                    PLACEHOLDERS.contains(&name.as_str()) && name != "job_id"
                };
                if !allowed {
                    problems.push(Problem::new(
                        format!("runner.command.{key}[{i}]"),
                        Some(argv.span()),
                        format!(
                            "unknown placeholder {{{name}}}; {key} takes {}.",
                            if key == "status" {
                                "{job_id}".to_string()
                            } else {
                                "{script} {batch_dir} {count} {first} {last} {throttle} {name}"
                                    .to_string()
                            }
                        ),
                    ));
                }
            }
        }
    }
    if r.index_env.get_ref().is_empty()
        || !r
            .index_env
            .get_ref()
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        problems.push(Problem::new(
            "runner.command.index_env",
            Some(r.index_env.span()),
            format!(
                "expected an environment variable name. Got {:?}.",
                r.index_env.get_ref()
            ),
        ));
    }
    let index_base = match &r.index_base {
        None => 0,
        Some(b) if *b.get_ref() == 0 || *b.get_ref() == 1 => *b.get_ref() as usize,
        Some(b) => {
            problems.push(Problem::new(
                "runner.command.index_base",
                Some(b.span()),
                format!("expected 0 or 1. Got {}.", b.get_ref()),
            ));
            0
        }
    };
    (problems.len() == before).then(|| SubmitSettings {
        submit: r.submit.get_ref().clone(),
        status: r.status.as_ref().map(|s| s.get_ref().clone()),
        index_env: r.index_env.get_ref().clone(),
        index_base,
        env: r.env.clone().into_iter().collect(),
    })
}

/// The `{name}` placeholders of one argv entry.
pub fn placeholders(arg: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = arg;
    while let Some(i) = rest.find('{') {
        let Some(j) = rest[i..].find('}') else { break };
        out.push(rest[i + 1..i + j].to_string());
        rest = &rest[i + j + 1..];
    }
    out
}

pub fn runner(
    raw: Option<&RawRunner>,
    state_base: &Path,
    config_file: &Path,
    problems: &mut Vec<Problem>,
) -> RunnerConfig {
    let kind = match raw.and_then(|r| r.kind.as_ref()) {
        None => RunnerKind::Local,
        Some(k) => match k.get_ref().as_str() {
            "local" => RunnerKind::Local,
            "slurm" => RunnerKind::Slurm(scheduler(raw.and_then(|r| r.slurm.as_ref()))),
            "lsf" => RunnerKind::Lsf(scheduler(raw.and_then(|r| r.lsf.as_ref()))),
            "command" => submit(raw.and_then(|r| r.command.as_ref()), k.span(), problems)
                .map_or(RunnerKind::Local, RunnerKind::Command),
            other => {
                problems.push(Problem::new(
                    "runner.kind",
                    Some(k.span()),
                    format!(
                        "expected \"local\", \"slurm\", \"lsf\" or \"command\". Got {other:?}."
                    ),
                ));
                RunnerKind::Local
            }
        },
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let share = match raw.and_then(|r| r.breaker_failure_share.as_ref()) {
        None => 0.5,
        Some(s) if (0.0..=1.0).contains(s.get_ref()) => *s.get_ref(),
        Some(s) => {
            problems.push(Problem::new(
                "runner.breaker_failure_share",
                Some(s.span()),
                format!(
                    "expected a share from 0 to 1 (1 turns the breaker off). Got {}.",
                    s.get_ref()
                ),
            ));
            0.5
        }
    };
    let r = raw;
    RunnerConfig {
        kind,
        parallel: positive(
            r.and_then(|r| r.parallel.as_ref()),
            "runner.parallel",
            cores,
            100_000,
            problems,
        ),
        timeout: seconds(
            r.and_then(|r| r.timeout_s.as_ref()),
            "runner.timeout_s",
            3600.0,
            problems,
        ),
        runs_dir: state_base.join(
            r.and_then(|r| r.runs_dir.as_ref())
                .map_or("runs", |p| p.get_ref().as_str()),
        ),
        max_attempts: positive(
            r.and_then(|r| r.max_attempts.as_ref()),
            "runner.max_attempts",
            3,
            100,
            problems,
        ) as u32,
        lost_after: seconds(
            r.and_then(|r| r.lost_after_s.as_ref()),
            "runner.lost_after_s",
            60.0,
            problems,
        ),
        breaker_failure_share: share,
        scheduler_timeout: seconds(
            r.and_then(|r| r.scheduler_timeout_s.as_ref()),
            "runner.scheduler_timeout_s",
            60.0,
            problems,
        ),
        task_binary: r
            .and_then(|r| r.task_binary.as_ref())
            .map(|b| PathBuf::from(b.get_ref())),
        task_config: config_file.to_path_buf(),
    }
}
