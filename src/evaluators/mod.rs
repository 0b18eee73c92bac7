//! Evaluators: a design goes in, QoR metrics come out.
//!
//! `gemmini-model` is the analytical Gemmini model (the embedded default), `synthetic` a
//! DTLZ2-like test problem, and `command` the users' own flow run as a child process.

pub mod command;
pub mod gemmini_model;
pub mod synthetic;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

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
