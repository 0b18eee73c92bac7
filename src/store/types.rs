//! Ids, states and rows of the store.

use std::fmt;
use std::str::FromStr;

use rusqlite::ToSql;
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSqlOutput, ValueRef};

use crate::space::Design;

/// Declares an id newtype over an `INTEGER PRIMARY KEY`, readable and writable by rusqlite, so a
/// batch id can't be passed where a proposal id is wanted.
macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }

        impl ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.0))
            }
        }

        impl FromSql for $name {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                i64::column_result(value).map($name)
            }
        }
    };
}

id_type!(
    /// A row of `designs`.
    DesignId
);
id_type!(
    /// A row of `proposals`.
    ProposalId
);
id_type!(
    /// A row of `batches`.
    BatchId
);
id_type!(
    /// A row of `results`.
    ResultId
);
id_type!(
    /// A row of `targets`.
    TargetId
);
id_type!(
    /// A row of `inbox`.
    InboxId
);
id_type!(
    /// A proposer checkpoint: a row of `models`.
    ModelVersion
);

/// Where a proposal is in its life (after Vizier's trial states).
///
/// `QUEUED → DISPATCHED → RUNNING → DONE | FAILED | LOST`, `QUEUED → CANCELLED` when a newer
/// model replaces it, and back to `QUEUED` from `DISPATCHED`/`RUNNING` when its batch was
/// interrupted. A result may also arrive while the proposal is only `DISPATCHED` (a runner that
/// never reports `RUNNING`), hence `DISPATCHED → DONE | FAILED | LOST`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProposalState {
    Queued,
    Dispatched,
    Running,
    Done,
    Failed,
    Lost,
    Cancelled,
}

impl ProposalState {
    /// Every state, in the order of a proposal's life.
    pub const ALL: [ProposalState; 7] = [
        ProposalState::Queued,
        ProposalState::Dispatched,
        ProposalState::Running,
        ProposalState::Done,
        ProposalState::Failed,
        ProposalState::Lost,
        ProposalState::Cancelled,
    ];

    /// The text stored in `proposals.state`, as the SQL `CHECK` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            ProposalState::Queued => "QUEUED",
            ProposalState::Dispatched => "DISPATCHED",
            ProposalState::Running => "RUNNING",
            ProposalState::Done => "DONE",
            ProposalState::Failed => "FAILED",
            ProposalState::Lost => "LOST",
            ProposalState::Cancelled => "CANCELLED",
        }
    }

    /// Queued or out for evaluation: the design must not be proposed again.
    pub fn is_live(self) -> bool {
        matches!(
            self,
            ProposalState::Queued | ProposalState::Dispatched | ProposalState::Running
        )
    }

    /// Whether `self → next` is a legal move.
    pub fn can_move_to(self, next: ProposalState) -> bool {
        use ProposalState::*;
        matches!(
            (self, next),
            (Queued, Dispatched | Cancelled)
                | (Dispatched, Running | Queued | Done | Failed | Lost)
                | (Running, Done | Failed | Lost | Queued)
        )
    }

    /// The SQL list of the states that may move to `next`, e.g. `'DISPATCHED','RUNNING'`, for a
    /// `WHERE state IN (…)` that makes an illegal move change nothing.
    pub(crate) fn sql_sources(next: ProposalState) -> String {
        let sources: Vec<String> = ProposalState::ALL
            .iter()
            .filter(|s| s.can_move_to(next))
            .map(|s| format!("'{}'", s.as_str()))
            .collect();
        sources.join(",")
    }
}

impl fmt::Display for ProposalState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ProposalState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ProposalState::ALL
            .into_iter()
            .find(|state| state.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown proposal state {s:?}; expected one of QUEUED, DISPATCHED, RUNNING, DONE, FAILED, LOST, CANCELLED"))
    }
}

impl FromSql for ProposalState {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        value
            .as_str()?
            .parse()
            .map_err(|e: String| FromSqlError::Other(e.into()))
    }
}

/// How a batch ended (`batches.state`); `RUNNING` while it is out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchState {
    Running,
    Done,
    /// Stopped before every proposal finished (shutdown, Ctrl-C, a lost job); its unfinished
    /// proposals went back to the queue.
    Interrupted,
}

impl BatchState {
    pub fn as_str(self) -> &'static str {
        match self {
            BatchState::Running => "RUNNING",
            BatchState::Done => "DONE",
            BatchState::Interrupted => "INTERRUPTED",
        }
    }
}

impl FromSql for BatchState {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        match value.as_str()? {
            "RUNNING" => Ok(BatchState::Running),
            "DONE" => Ok(BatchState::Done),
            "INTERRUPTED" => Ok(BatchState::Interrupted),
            other => Err(FromSqlError::Other(
                format!("unknown batch state {other:?}").into(),
            )),
        }
    }
}

/// Reads a design's `params` JSON column; a store edited into something that isn't a design is
/// reported as a conversion error of that column.
pub(crate) fn design_column(row: &rusqlite::Row<'_>, idx: usize) -> rusqlite::Result<Design> {
    let text: String = row.get(idx)?;
    serde_json::from_str(&text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// A proposal to add to the queue.
#[derive(Clone, Debug)]
pub struct NewProposal {
    pub design: Design,
    /// Who proposed it: `sobol`, `diffuse`, `user`, …
    pub origin: String,
    /// The model checkpoint that proposed it; `None` for a person's proposal, which
    /// `cancel_queued_except` never cancels.
    pub model_version: Option<ModelVersion>,
    /// The target it was conditioned on.
    pub target: Option<TargetId>,
}

/// What `enqueue` did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Enqueued {
    /// The new proposals, in the order given.
    pub ids: Vec<ProposalId>,
    /// Designs skipped because they are live already (queued, dispatched or running).
    pub skipped: usize,
}

/// A proposal claimed for a batch.
#[derive(Clone, Debug, PartialEq)]
pub struct Claimed {
    pub proposal: ProposalId,
    pub design_id: DesignId,
    pub design: Design,
    /// How many times it has been dispatched, this time included.
    pub attempts: u32,
}

/// The result of a state change over several proposals: the ones that moved, and the ones
/// refused because the move was illegal from their state (they were left unchanged).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Moved {
    pub moved: Vec<ProposalId>,
    /// Each refused proposal with its current state (`None`: no such proposal).
    pub refused: Vec<(ProposalId, Option<ProposalState>)>,
}

/// A proposal out for evaluation (`DISPATCHED` or `RUNNING`), for reconciliation at start.
#[derive(Clone, Debug, PartialEq)]
pub struct LiveProposal {
    pub proposal: ProposalId,
    pub design_id: DesignId,
    pub state: ProposalState,
    pub batch: Option<BatchId>,
    pub job_id: Option<String>,
    pub attempts: u32,
    /// When it last changed state (UTC ISO-8601), for a time-to-live.
    pub updated_at: String,
    /// The runner of its batch (`local`, `slurm`, …).
    pub runner: Option<String>,
}

/// One proposal as the `queue` command shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct QueueRow {
    pub proposal: ProposalId,
    pub state: ProposalState,
    pub origin: String,
    pub target: Option<String>,
    pub model_version: Option<ModelVersion>,
    pub batch: Option<BatchId>,
    pub job_id: Option<String>,
    pub attempts: u32,
    pub reason: Option<String>,
    pub created_at: String,
    pub design: Design,
}

/// One row of `batches`.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchRow {
    pub id: BatchId,
    pub runner: String,
    pub state: BatchState,
    pub size: u32,
    pub job_id: Option<String>,
    pub trigger: String,
    pub started_at: String,
    pub finished_at: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_through_text() {
        for state in ProposalState::ALL {
            assert_eq!(state.as_str().parse::<ProposalState>(), Ok(state));
        }
        assert!(
            "PENDING"
                .parse::<ProposalState>()
                .unwrap_err()
                .contains("PENDING")
        );
    }

    #[test]
    fn legal_moves() {
        use ProposalState::*;
        assert!(Queued.can_move_to(Dispatched));
        assert!(Running.can_move_to(Queued));
        assert!(!Queued.can_move_to(Done));
        assert!(!Done.can_move_to(Queued));
        for state in ProposalState::ALL {
            assert!(!state.can_move_to(state), "{state} → {state}");
            if !state.is_live() {
                assert!(
                    ProposalState::ALL.iter().all(|&n| !state.can_move_to(n)),
                    "{state} is final"
                );
            }
        }
        assert_eq!(ProposalState::sql_sources(Queued), "'DISPATCHED','RUNNING'");
    }
}
