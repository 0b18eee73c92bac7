//! Runners: how a claimed batch of proposals gets evaluated.
//!
//! `local` runs the evaluator on this machine, `parallel` designs at a time. Results go into
//! the store's inbox, where the same validation as every other result source applies.

pub mod local;

pub use local::{BatchReport, run_batch};

use std::sync::Arc;

use crate::config::Config;
use crate::db::Db;
use crate::evaluators::{Cancel, Evaluator};
use crate::events::Events;
use crate::store::{BatchId, StoreError};

/// Claim up to `batch_size` queued proposals in one transaction and run them. `None` when
/// nothing was queued. Shared by the daemon's schedule and `diffuse-dse batch run`.
pub async fn claim_and_run(
    db: &Db,
    config: &Config,
    evaluator: Arc<dyn Evaluator>,
    trigger: &'static str,
    cancel: &Cancel,
    events: &Events,
) -> Result<Option<(BatchId, BatchReport)>, StoreError> {
    let n = config.schedule.batch_size;
    let Some((batch, claimed)) = db.call(move |s| s.claim_batch(n, "local", trigger)).await? else {
        return Ok(None);
    };
    let report = run_batch(
        db,
        evaluator,
        &config.runner,
        batch,
        claimed,
        cancel,
        events,
    )
    .await?;
    Ok(Some((batch, report)))
}
