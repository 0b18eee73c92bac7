//! What the daemon and the runners report as they work, for progress displays and tests.

use crate::store::{BatchId, ProposalId};

/// One thing that happened. Sent on a broadcast channel; nobody has to listen.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// The store is migrated and the daemon is serving (systemd readiness is sent now).
    Ready,
    BatchStarted {
        batch: BatchId,
        size: usize,
    },
    /// One evaluation ended: `ok` or failed with `error`.
    Evaluated {
        batch: BatchId,
        proposal: ProposalId,
        ok: bool,
        error: Option<String>,
    },
    BatchFinished {
        batch: BatchId,
        done: usize,
        failed: usize,
        requeued: usize,
    },
    /// An ingest pass moved rows from the inbox.
    Ingested {
        accepted: usize,
        rejected: usize,
    },
    /// The front after new results: its size and hypervolume (`None` when no result is feasible).
    Front {
        size: usize,
        hypervolume: Option<f64>,
    },
    Proposed {
        count: usize,
        exhausted: bool,
    },
    Refit {
        version: i64,
        n_results: usize,
    },
    Reloaded {
        targets: usize,
    },
    ReloadRejected {
        message: String,
    },
}

/// The sending side; cloning is cheap. A send with no receiver is not an error.
#[derive(Clone)]
pub struct Events(tokio::sync::broadcast::Sender<Event>);

impl Events {
    pub fn new() -> Self {
        Self(tokio::sync::broadcast::channel(1024).0)
    }

    pub fn send(&self, event: Event) {
        let _ = self.0.send(event);
    }

    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Event> {
        self.0.subscribe()
    }
}

impl Default for Events {
    fn default() -> Self {
        Self::new()
    }
}
