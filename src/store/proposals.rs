//! The proposal queue and batches: enqueue, claim, and the state changes of a proposal's life.
//!
//! Every state change is an `UPDATE … WHERE state IN (states that may move there)`, the list
//! coming from [`ProposalState::can_move_to`], so an illegal move changes nothing and comes back
//! in [`Moved::refused`].

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use super::types::design_column;
use super::{
    BatchId, BatchRow, BatchState, Claimed, Enqueued, LiveProposal, ModelVersion, Moved,
    NewProposal, ProposalId, ProposalState, QueueRow, Store, StoreError, upsert_design,
};

/// Moves each of `ids` to `next` where that is legal from its current state, with `reason`
/// (`NULL` when `None`). A proposal going back to the queue loses its batch and job id.
pub(super) fn transition(
    tx: &Transaction<'_>,
    ids: &[ProposalId],
    next: ProposalState,
    reason: Option<&str>,
) -> rusqlite::Result<Moved> {
    let sql = format!(
        "UPDATE proposals SET state = ?2, reason = ?3,
             batch_id = CASE WHEN ?2 = 'QUEUED' THEN NULL ELSE batch_id END,
             job_id = CASE WHEN ?2 = 'QUEUED' THEN NULL ELSE job_id END,
             updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
         WHERE id = ?1 AND state IN ({})",
        ProposalState::sql_sources(next)
    );
    let mut update = tx.prepare_cached(&sql)?;
    let mut current = tx.prepare_cached("SELECT state FROM proposals WHERE id = ?1")?;
    let mut moved = Moved::default();
    for &id in ids {
        if update.execute(params![id, next.as_str(), reason])? == 1 {
            moved.moved.push(id);
        } else {
            let state = current.query_row([id], |r| r.get(0)).optional()?;
            moved.refused.push((id, state));
        }
    }
    Ok(moved)
}

impl Store {
    /// Adds proposals to the queue in one transaction, inserting their designs as needed. A
    /// design that is live already (queued, dispatched or running) is skipped.
    pub fn enqueue(&mut self, proposals: &[NewProposal]) -> Result<Enqueued, StoreError> {
        self.write(|tx| {
            let mut out = Enqueued::default();
            for p in proposals {
                let design = upsert_design(tx, &p.design)?;
                let id = tx
                    .prepare_cached(
                        "INSERT INTO proposals (design_id, origin, model_version, target_id)
                         VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING RETURNING id",
                    )?
                    .query_row(params![design, p.origin, p.model_version, p.target], |r| r.get(0))
                    .optional()?;
                match id {
                    Some(id) => out.ids.push(id),
                    None => out.skipped += 1,
                }
            }
            Ok(out)
        })
    }

    /// How many proposals are in each state (every state present, zeros included).
    pub fn state_counts(&self) -> Result<BTreeMap<ProposalState, u64>, StoreError> {
        self.read(|c| {
            let mut counts: BTreeMap<ProposalState, u64> =
                ProposalState::ALL.into_iter().map(|s| (s, 0)).collect();
            let mut stmt = c.prepare_cached("SELECT state, count(*) FROM proposals GROUP BY state")?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, ProposalState>(0)?, r.get(1)?)))?;
            for row in rows {
                let (state, n) = row?;
                counts.insert(state, n);
            }
            Ok(counts)
        })
    }

    /// How many proposals wait in the queue.
    pub fn queued_count(&self) -> Result<u64, StoreError> {
        self.read(|c| {
            c.query_row("SELECT count(*) FROM proposals WHERE state = 'QUEUED'", [], |r| r.get(0))
        })
    }

    /// Claims the oldest `n` queued proposals for a new batch: see [`Store::claim_batch_with`],
    /// without a dispatch step.
    pub fn claim_batch(
        &mut self,
        n: usize,
        runner: &str,
        trigger: &str,
    ) -> Result<Option<(BatchId, Vec<Claimed>)>, StoreError> {
        self.claim_batch_with(n, runner, trigger, |_, _| Ok::<_, StoreError>(None))
    }

    /// Claims the oldest `n` queued proposals for a new batch and dispatches them, all in ONE
    /// `BEGIN IMMEDIATE` transaction: the batch row is created (state `RUNNING`, `runner`,
    /// `trigger` such as `cron` or `manual`), the proposals move to `DISPATCHED` with
    /// `attempts + 1` and the batch id (one `UPDATE … RETURNING`), then `dispatch` runs (a
    /// cluster runner submits the job there) and the job id it returns is stored on the batch
    /// and its proposals. If `dispatch` fails, nothing was claimed. `None` when nothing is
    /// queued (and `dispatch` is not called).
    ///
    /// The store stays locked for writing while `dispatch` runs, so it must be quick (one
    /// `sbatch`); other writers wait up to [`super::BUSY_TIMEOUT`].
    pub fn claim_batch_with<E>(
        &mut self,
        n: usize,
        runner: &str,
        trigger: &str,
        dispatch: impl FnOnce(BatchId, &[Claimed]) -> Result<Option<String>, E>,
    ) -> Result<Option<(BatchId, Vec<Claimed>)>, StoreError>
    where
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let path = self.path.clone();
        let at = |e| StoreError::from_sqlite(&path, e);
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(at)?;
        let Some((batch, claimed)) = claim(&tx, n, runner, trigger).map_err(at)? else {
            return Ok(None);
        };
        let job_id = dispatch(batch, &claimed)
            .map_err(|e| StoreError::Dispatch { path: path.clone(), batch, source: e.into() })?;
        if let Some(job_id) = job_id {
            let ids: Vec<ProposalId> = claimed.iter().map(|c| c.proposal).collect();
            set_job_id(&tx, batch, &ids, &job_id).map_err(at)?;
        }
        tx.commit().map_err(at)?;
        Ok(Some((batch, claimed)))
    }

    /// Records the scheduler's job id on a batch and on the given proposals of it, for a runner
    /// that learns it after the claim. Returns how many proposals took it.
    pub fn set_job_id(
        &mut self,
        batch: BatchId,
        proposals: &[ProposalId],
        job_id: &str,
    ) -> Result<usize, StoreError> {
        self.write(|tx| set_job_id(tx, batch, proposals, job_id))
    }

    /// `DISPATCHED → RUNNING`: the runner started them.
    pub fn mark_running(&mut self, ids: &[ProposalId]) -> Result<Moved, StoreError> {
        self.write(|tx| transition(tx, ids, ProposalState::Running, None))
    }

    /// `DISPATCHED | RUNNING → QUEUED`, for an interrupted batch; attempts are not refunded.
    pub fn requeue(&mut self, ids: &[ProposalId], reason: &str) -> Result<Moved, StoreError> {
        self.write(|tx| transition(tx, ids, ProposalState::Queued, Some(reason)))
    }

    /// `DISPATCHED | RUNNING → FAILED` without a result (the runner could not run them).
    pub fn fail(&mut self, ids: &[ProposalId], reason: &str) -> Result<Moved, StoreError> {
        self.write(|tx| transition(tx, ids, ProposalState::Failed, Some(reason)))
    }

    /// `DISPATCHED | RUNNING → LOST`: the job ended without a result, as the scheduler says or
    /// after a time-to-live.
    pub fn mark_lost(&mut self, ids: &[ProposalId], reason: &str) -> Result<Moved, StoreError> {
        self.write(|tx| transition(tx, ids, ProposalState::Lost, Some(reason)))
    }

    /// Ends a running batch (`Done` or `Interrupted`). Returns false if it was not running.
    pub fn finish_batch(&mut self, batch: BatchId, state: BatchState) -> Result<bool, StoreError> {
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE batches SET state = ?2, finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
                 WHERE id = ?1 AND state = 'RUNNING'",
                params![batch, state.as_str()],
            )?;
            Ok(n == 1)
        })
    }

    /// Cancels the queued proposals of every model but `keep` (a newer model replaces them).
    /// Proposals without a model (a person's) are kept. Returns how many were cancelled.
    pub fn cancel_queued_except(
        &mut self,
        keep: ModelVersion,
        reason: &str,
    ) -> Result<usize, StoreError> {
        let sql = format!(
            "UPDATE proposals SET state = 'CANCELLED', reason = ?2,
                 updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
             WHERE state IN ({}) AND model_version IS NOT NULL AND model_version != ?1",
            ProposalState::sql_sources(ProposalState::Cancelled)
        );
        self.write(|tx| tx.execute(&sql, params![keep, reason]))
    }

    /// The proposals out for evaluation (`DISPATCHED`, `RUNNING`) with their batch and job, for
    /// reconciliation when the daemon starts.
    pub fn live_unfinished(&self) -> Result<Vec<LiveProposal>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT id, design_id, state, batch_id, job_id, attempts, updated_at
                 FROM proposals WHERE state IN ('DISPATCHED', 'RUNNING') ORDER BY id",
            )?;
            stmt.query_map([], |r| {
                Ok(LiveProposal {
                    proposal: r.get(0)?,
                    design_id: r.get(1)?,
                    state: r.get(2)?,
                    batch: r.get(3)?,
                    job_id: r.get(4)?,
                    attempts: r.get(5)?,
                    updated_at: r.get(6)?,
                })
            })?
            .collect()
        })
    }

    /// The first `limit` live proposals (queued, dispatched, running), oldest first, for
    /// display.
    pub fn queue(&self, limit: usize) -> Result<Vec<QueueRow>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT p.id, p.state, p.origin, t.name, p.model_version, p.batch_id, p.job_id,
                        p.attempts, p.reason, p.created_at, d.params
                 FROM proposals p JOIN designs d ON d.id = p.design_id
                 LEFT JOIN targets t ON t.id = p.target_id
                 WHERE p.state IN ('QUEUED', 'DISPATCHED', 'RUNNING') ORDER BY p.id LIMIT ?1",
            )?;
            stmt.query_map([limit as i64], |r| {
                Ok(QueueRow {
                    proposal: r.get(0)?,
                    state: r.get(1)?,
                    origin: r.get(2)?,
                    target: r.get(3)?,
                    model_version: r.get(4)?,
                    batch: r.get(5)?,
                    job_id: r.get(6)?,
                    attempts: r.get(7)?,
                    reason: r.get(8)?,
                    created_at: r.get(9)?,
                    design: design_column(r, 10)?,
                })
            })?
            .collect()
        })
    }

    /// The newest `limit` batches, newest first.
    pub fn batches(&self, limit: usize) -> Result<Vec<BatchRow>, StoreError> {
        self.read(|c| batches(c, limit))
    }
}

/// The claim inside `claim_batch_with`'s transaction.
fn claim(
    tx: &Transaction<'_>,
    n: usize,
    runner: &str,
    trigger: &str,
) -> rusqlite::Result<Option<(BatchId, Vec<Claimed>)>> {
    let any = tx
        .query_row("SELECT 1 FROM proposals WHERE state = 'QUEUED' LIMIT 1", [], |_| Ok(()))
        .optional()?;
    if n == 0 || any.is_none() {
        return Ok(None);
    }
    let batch: BatchId = tx.query_row(
        "INSERT INTO batches (runner, state, size, trigger) VALUES (?1, 'RUNNING', 0, ?2) RETURNING id",
        params![runner, trigger],
        |r| r.get(0),
    )?;
    let sql = format!(
        "UPDATE proposals SET state = 'DISPATCHED', attempts = attempts + 1, batch_id = ?1,
             job_id = NULL, reason = NULL, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
         WHERE id IN (SELECT id FROM proposals WHERE state IN ({}) ORDER BY id LIMIT ?2)
         RETURNING id, design_id, attempts",
        ProposalState::sql_sources(ProposalState::Dispatched)
    );
    let mut rows: Vec<(ProposalId, super::DesignId, u32)> = tx
        .prepare(&sql)?
        .query_map(params![batch, n as i64], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    rows.sort_by_key(|row| row.0);
    let mut design = tx.prepare_cached("SELECT params FROM designs WHERE id = ?1")?;
    let mut claimed = Vec::with_capacity(rows.len());
    for (proposal, design_id, attempts) in rows {
        let design = design.query_row([design_id], |r| design_column(r, 0))?;
        claimed.push(Claimed { proposal, design_id, design, attempts });
    }
    tx.execute("UPDATE batches SET size = ?2 WHERE id = ?1", params![batch, claimed.len() as i64])?;
    Ok(Some((batch, claimed)))
}

fn set_job_id(
    tx: &Transaction<'_>,
    batch: BatchId,
    proposals: &[ProposalId],
    job_id: &str,
) -> rusqlite::Result<usize> {
    tx.execute("UPDATE batches SET job_id = ?2 WHERE id = ?1", params![batch, job_id])?;
    let mut stmt =
        tx.prepare_cached("UPDATE proposals SET job_id = ?3 WHERE id = ?1 AND batch_id = ?2")?;
    let mut n = 0;
    for &id in proposals {
        n += stmt.execute(params![id, batch, job_id])?;
    }
    Ok(n)
}

fn batches(c: &Connection, limit: usize) -> rusqlite::Result<Vec<BatchRow>> {
    let mut stmt = c.prepare(
        "SELECT id, runner, state, size, job_id, trigger, started_at, finished_at
         FROM batches ORDER BY id DESC LIMIT ?1",
    )?;
    stmt.query_map([limit as i64], |r| {
        Ok(BatchRow {
            id: r.get(0)?,
            runner: r.get(1)?,
            state: r.get(2)?,
            size: r.get(3)?,
            job_id: r.get(4)?,
            trigger: r.get(5)?,
            started_at: r.get(6)?,
            finished_at: r.get(7)?,
        })
    })?
    .collect()
}
