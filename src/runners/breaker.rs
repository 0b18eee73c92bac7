//! The failure-rate breaker: when most of a finished batch failed (a broken tool, a full
//! disk, an expired licence), dispatch pauses instead of burning the queue. It says so in the
//! log and in `status`, and `diffuse-dse resume` lifts it.

use crate::store::{BatchId, Store, StoreError};

/// The meta key holding the reason dispatch is paused.
const KEY: &str = "breaker";

/// The smallest batch the breaker judges: one failure in two is no pattern.
pub const MIN_ENDED: u64 = 4;

/// Judge a finished batch. When more than `share` of its ended proposals failed or were
/// lost, dispatch is paused and the reason returned.
pub fn judge(store: &mut Store, batch: BatchId, share: f64) -> Result<Option<String>, StoreError> {
    let (done, failed) = store.batch_outcome(batch)?;
    let ended = done + failed;
    if ended < MIN_ENDED || share >= 1.0 || (failed as f64) <= share * ended as f64 {
        return Ok(None);
    }
    let reason = format!(
        "batch {} had {failed} of {ended} evaluations fail (more than {:.0} %); dispatch is paused. Look at \
         `SELECT * FROM failures`, fix the cause, then run `diffuse-dse resume`",
        batch.0,
        share * 100.0
    );
    store.meta_set(KEY, &reason)?;
    Ok(Some(reason))
}

/// Why dispatch is paused, if it is.
pub fn paused(store: &Store) -> Result<Option<String>, StoreError> {
    store.meta_get(KEY).map(|v| v.filter(|s| !s.is_empty()))
}

/// Lift the pause; returns the reason it had.
pub fn reset(store: &mut Store) -> Result<Option<String>, StoreError> {
    let was = paused(store)?;
    store.meta_set(KEY, "")?;
    Ok(was)
}
