//! Proposers: given what the store knows, choose the next designs to evaluate.
//!
//! The daemon only orchestrates: it gathers a [`History`] from the store on a blocking thread,
//! asks the proposer to [`Proposer::fit`] after enough new results, and to
//! [`Proposer::propose`] whenever the queue runs low or a target has nothing queued. A
//! proposer behind this trait ([`SobolRandom`], or [`crate::diffuse::DiffuSE`]) can be swapped
//! without touching the loop.

mod sobol_random;

use std::collections::HashSet;

pub use sobol_random::SobolRandom;

use crate::config::{Config, ProposerKind, Target};
use crate::space::{Design, DesignHash};
use crate::store::TargetId;

/// What the proposer may look at: every design in the store and the results so far.
#[derive(Clone, Debug, Default)]
pub struct History {
    /// Hashes of every design in the store (proposed, evaluated or ingested): never proposed again.
    pub seen: HashSet<DesignHash>,
    /// Designs with an OK result: the design, its objective values (raw), and whether it met
    /// the outcome constraints.
    pub ok: Vec<(Design, Vec<f64>, bool)>,
    /// Designs whose evaluation failed.
    pub failed: Vec<Design>,
    /// Designs queued or out for evaluation, without a result yet: a model counts them as
    /// "believers" (at their predicted QoR) so a new batch does not crowd the same spot.
    pub pending: Vec<Design>,
    /// The active user targets, with their store ids.
    pub targets: Vec<(TargetId, Target)>,
    /// Targets that have no proposal queued now: each should get some in this cycle.
    pub starved_targets: Vec<TargetId>,
}

/// One design to enqueue, with where it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Proposal {
    pub design: Design,
    /// `sobol`, `random`, … (stored as the proposal's `origin`).
    pub origin: &'static str,
    pub target: Option<TargetId>,
}

/// A proposer's answer. `exhausted` says the space has no unseen feasible design left, so
/// fewer than asked came back and asking again will not help.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Proposals {
    pub proposals: Vec<Proposal>,
    pub exhausted: bool,
}

/// What one fit produced, recorded as a row of the `models` table.
#[derive(Clone, Debug, Default)]
pub struct Fit {
    pub loss: Option<f64>,
    /// The model's parameters, for a warm start after a restart; `None` when there are none.
    pub weights: Option<Vec<u8>>,
    /// The fit started from the previous weights (a warm fine-tune) rather than from scratch.
    pub warm: bool,
}

/// Chooses designs. Implementations are deterministic: the same seed and the same history
/// give the same proposals.
pub trait Proposer: Send {
    /// The kind stored in `models.kind`.
    fn kind(&self) -> &'static str;

    /// Refit on the history (called on a blocking thread after `retrain_every` new results).
    fn fit(&mut self, history: &History) -> Fit;

    /// Take up the weights of an earlier [`Fit`] (the latest checkpoint, after a restart), so
    /// the daemon need not retrain. An error says why they do not fit this proposer.
    fn restore(&mut self, weights: &[u8]) -> Result<(), String> {
        let _ = weights;
        Err("this proposer keeps no weights".into())
    }

    /// Up to `n` new designs, none of them in `history.seen`, plus at least one for each
    /// starved target when the space allows.
    fn propose(&mut self, history: &History, n: usize) -> Proposals;
}

/// The proposer the config asks for.
pub fn from_config(config: &Config) -> Box<dyn Proposer> {
    match config.model.kind {
        ProposerKind::SobolRandom => Box::new(SobolRandom::new(
            config.space.clone(),
            config.model.initial_design,
            config.seed,
        )),
        ProposerKind::Diffuse => Box::new(crate::diffuse::DiffuSE::new(
            config,
            crate::diffuse::pretrain_for(config),
        )),
    }
}
