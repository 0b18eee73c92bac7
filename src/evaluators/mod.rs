//! Evaluators: a design goes in, QoR metrics come out.
//!
//! `gemmini-model` is the analytical Gemmini model (the embedded default), `synthetic` a
//! DTLZ2-like test problem, `command` the users' own flow run as a child process, and `asap7`
//! the real flow: a generated Gemmini-class design through Yosys and OpenSTA on ASAP7.

pub mod asap7;
pub mod command;
pub mod gemmini_model;
pub mod synthetic;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::config::Problem;
use crate::space::{Design, Metrics};

/// Why an evaluation produced no metrics. The text is stored as the result's `error`.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// The evaluator ran and failed (a crash, a non-zero exit, garbage output).
    #[error("{0}")]
    Failed(String),
    /// The design cannot be built (e.g. a memory bank smaller than one row).
    #[error("infeasible design: {0}")]
    Infeasible(String),
    /// The evaluation ran past its time limit and was killed.
    #[error("timed out after {0:?} (the process group was killed)")]
    Timeout(Duration),
    /// The work was lost rather than judged (the process was killed by a signal): it is
    /// retried while the proposal has attempts left.
    #[error("lost: {0}")]
    Lost(String),
    /// The evaluation was stopped because the batch was interrupted; it is not a failure.
    #[error("cancelled")]
    Cancelled,
    /// A setup problem that will fail every design the same way (a missing tool or file).
    #[error("{0}")]
    Setup(String),
}

/// A flag that asks a running evaluation to stop (Ctrl-C in `batch run`, daemon shutdown).
#[derive(Clone, Debug, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Where and how long one evaluation may run.
#[derive(Clone, Debug)]
pub struct EvalContext {
    /// A folder of this evaluation's own (it exists); logs and artifacts go here.
    pub workdir: PathBuf,
    /// The wall-clock limit; the evaluator kills its children past it.
    pub timeout: Duration,
    /// Checked while the evaluation runs.
    pub cancel: Cancel,
}

/// Something that turns a design into metrics. Implementations block (they are called from a
/// blocking thread, never from an async worker) and must be shareable across threads.
pub trait Evaluator: Send + Sync {
    /// The name used in the config (`[evaluator] name = "…"`).
    fn name(&self) -> &str;

    /// The metrics this evaluator reports; empty when only the user knows (`command`).
    fn metrics(&self) -> Vec<String>;

    /// Evaluate one design.
    fn evaluate(&self, design: &Design, ctx: &EvalContext) -> Result<Metrics, EvalError>;
}

/// The `[evaluator]` section, validated: which evaluator, with its settings.
#[derive(Clone, Debug)]
pub enum EvaluatorConfig {
    GemminiModel {
        settings: gemmini_model::GemminiSettings,
        base_dir: PathBuf,
    },
    Synthetic,
    Command {
        settings: command::CommandSettings,
        base_dir: PathBuf,
    },
    Asap7 {
        settings: asap7::Asap7Settings,
        base_dir: PathBuf,
    },
}

impl EvaluatorConfig {
    /// The name used in the config.
    pub fn name(&self) -> &'static str {
        match self {
            EvaluatorConfig::GemminiModel { .. } => "gemmini-model",
            EvaluatorConfig::Synthetic => "synthetic",
            EvaluatorConfig::Command { .. } => "command",
            EvaluatorConfig::Asap7 { .. } => "asap7",
        }
    }

    /// The metrics the evaluator reports; empty when it does not say (a `command` without
    /// a `metrics` list).
    pub fn metrics(&self) -> Vec<String> {
        match self {
            EvaluatorConfig::GemminiModel { .. } => gemmini_model::METRICS
                .iter()
                .map(|m| m.to_string())
                .collect(),
            EvaluatorConfig::Synthetic => {
                synthetic::METRICS.iter().map(|m| m.to_string()).collect()
            }
            EvaluatorConfig::Command { settings, .. } => settings.declared_metrics(),
            EvaluatorConfig::Asap7 { .. } => gemmini_model::METRICS
                .iter()
                .map(|m| m.to_string())
                .collect(),
        }
    }

    /// Start the evaluator: load coefficients, find the program.
    pub fn build(&self) -> Result<Arc<dyn Evaluator>, EvalError> {
        Ok(match self {
            EvaluatorConfig::GemminiModel { settings, base_dir } => {
                Arc::new(gemmini_model::GemminiModel::new(settings, base_dir)?)
            }
            EvaluatorConfig::Synthetic => Arc::new(synthetic::Synthetic),
            EvaluatorConfig::Command { settings, base_dir } => {
                Arc::new(command::CommandEvaluator::new(settings.clone(), base_dir)?)
            }
            EvaluatorConfig::Asap7 { settings, base_dir } => {
                Arc::new(asap7::Asap7Evaluator::new(settings, base_dir)?)
            }
        })
    }

    /// Validate `[evaluator.gemmini-model]` (absent: the defaults).
    pub fn gemmini(
        settings: Option<toml::Spanned<gemmini_model::GemminiSettings>>,
        dir: &Path,
        problems: &mut Vec<Problem>,
    ) -> Option<Self> {
        let settings = with_defaults(settings, |s| s.validate_in(dir), problems)?;
        Some(EvaluatorConfig::GemminiModel {
            settings,
            base_dir: dir.to_path_buf(),
        })
    }

    /// Validate `[evaluator.asap7]` (absent: the defaults). The PDK and the tools are checked
    /// when the evaluator starts ([`EvalError::Setup`]), not here, so that a config can be
    /// checked on a machine without them.
    pub fn asap7(
        settings: Option<toml::Spanned<asap7::Asap7Settings>>,
        dir: &Path,
        problems: &mut Vec<Problem>,
    ) -> Option<Self> {
        let settings = with_defaults(settings, asap7::Asap7Settings::validate, problems)?;
        Some(EvaluatorConfig::Asap7 {
            settings,
            base_dir: dir.to_path_buf(),
        })
    }

    /// Validate `[evaluator.command]`, which is required for the command evaluator.
    pub fn command(
        settings: Option<toml::Spanned<command::CommandSettings>>,
        dir: &Path,
        params: &[String],
        problems: &mut Vec<Problem>,
    ) -> Option<Self> {
        let Some(s) = settings else {
            problems.push(Problem::new(
                "evaluator.command",
                None,
                "is required when [evaluator] name = \"command\": give at least argv = [\"./flow.sh\", \"{clock_ps}\"].",
            ));
            return None;
        };
        let span = s.span();
        let settings = s.into_inner();
        let found = settings.validate(params);
        let ok = found.is_empty();
        problems.extend(found.into_iter().map(|p| Problem {
            span: p.span.or(Some(span.clone())),
            ..p
        }));
        ok.then(|| EvaluatorConfig::Command {
            settings,
            base_dir: dir.to_path_buf(),
        })
    }
}

/// An optional settings table, or its defaults when absent, validated: its problems are added
/// (pointing at the table when they have no span of their own) and `None` comes back if any.
fn with_defaults<S: Default>(
    settings: Option<toml::Spanned<S>>,
    validate: impl FnOnce(&S) -> Vec<Problem>,
    problems: &mut Vec<Problem>,
) -> Option<S> {
    let (settings, span) = match settings {
        Some(s) => {
            let span = s.span();
            (s.into_inner(), Some(span))
        }
        None => (S::default(), None),
    };
    let found = validate(&settings);
    let ok = found.is_empty();
    problems.extend(found.into_iter().map(|p| Problem {
        span: p.span.or(span.clone()),
        ..p
    }));
    ok.then_some(settings)
}
