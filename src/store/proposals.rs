//! The proposal queue and batches: enqueue, claim, and the state changes of a proposal's life.
//!
//! Every state change is an `UPDATE … WHERE state IN (states that may move there)`, the list
//! coming from [`ProposalState::can_move_to`], so an illegal move changes nothing and comes back
//! in [`Moved::refused`].

use std::collections::BTreeMap;

use rusqlite::{OptionalExtension, Transaction, TransactionBehavior, params};

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
                    .query_row(params![design, p.origin, p.model_version, p.target], |r| {
                        r.get(0)
                    })
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
            let mut stmt =
                c.prepare_cached("SELECT state, count(*) FROM proposals GROUP BY state")?;
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
            c.query_row(
                "SELECT count(*) FROM proposals WHERE state = 'QUEUED'",
                [],
                |r| r.get(0),
            )
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
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(at)?;
        let Some((batch, claimed)) = claim(&tx, n, runner, trigger).map_err(at)? else {
            return Ok(None);
        };
        let job_id = dispatch(batch, &claimed).map_err(|e| StoreError::Dispatch {
            path: path.clone(),
            batch,
            source: e.into(),
        })?;
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

    /// Cancels queued proposals. With `Some(keep)`, those of every model but `keep` (a newer
    /// model replaces them), keeping proposals without a model (a person's). With `None`,
    /// every queued proposal (the design space changed, so none of them fits it). Returns how
    /// many were cancelled.
    pub fn cancel_queued_except(
        &mut self,
        keep: Option<ModelVersion>,
        reason: &str,
    ) -> Result<usize, StoreError> {
        let sql = format!(
            "UPDATE proposals SET state = 'CANCELLED', reason = ?2,
                 updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
             WHERE state IN ({}) AND (?1 IS NULL OR (model_version IS NOT NULL AND model_version != ?1))",
            ProposalState::sql_sources(ProposalState::Cancelled)
        );
        self.write(|tx| tx.execute(&sql, params![keep, reason]))
    }

    /// The designs of the live proposals (queued, dispatched, running): the believers a model
    /// counts as pending when it proposes more.
    pub fn pending_designs(&self) -> Result<Vec<crate::space::Design>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT d.params FROM proposals p JOIN designs d ON d.id = p.design_id
                 WHERE p.state IN ('QUEUED', 'DISPATCHED', 'RUNNING') ORDER BY p.id",
            )?;
            stmt.query_map([], |r| design_column(r, 0))?.collect()
        })
    }

    /// The proposals out for evaluation (`DISPATCHED`, `RUNNING`) with their batch and job, for
    /// reconciliation when the daemon starts.
    pub fn live_unfinished(&self) -> Result<Vec<LiveProposal>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT p.id, p.design_id, p.state, p.batch_id, p.job_id, p.attempts, p.updated_at, b.runner
                 FROM proposals p LEFT JOIN batches b ON b.id = p.batch_id
                 WHERE p.state IN ('DISPATCHED', 'RUNNING') ORDER BY p.id",
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
                    runner: r.get(7)?,
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
        self.read(|c| {
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
        })
    }
}

/// The claim inside `claim_batch_with`'s transaction.
fn claim(
    tx: &Transaction<'_>,
    n: usize,
    runner: &str,
    trigger: &str,
) -> rusqlite::Result<Option<(BatchId, Vec<Claimed>)>> {
    if n == 0 {
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
        .query_map(params![batch, n as i64], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    if rows.is_empty() {
        // Nothing queued: the caller drops the transaction, and the batch row with it.
        return Ok(None);
    }
    rows.sort_by_key(|row| row.0);
    let mut design = tx.prepare_cached("SELECT params FROM designs WHERE id = ?1")?;
    let mut claimed = Vec::with_capacity(rows.len());
    for (proposal, design_id, attempts) in rows {
        let design = design.query_row([design_id], |r| design_column(r, 0))?;
        claimed.push(Claimed {
            proposal,
            design_id,
            design,
            attempts,
        });
    }
    tx.execute(
        "UPDATE batches SET size = ?2 WHERE id = ?1",
        params![batch, claimed.len() as i64],
    )?;
    Ok(Some((batch, claimed)))
}

fn set_job_id(
    tx: &Transaction<'_>,
    batch: BatchId,
    proposals: &[ProposalId],
    job_id: &str,
) -> rusqlite::Result<usize> {
    tx.execute(
        "UPDATE batches SET job_id = ?2 WHERE id = ?1",
        params![batch, job_id],
    )?;
    let mut stmt =
        tx.prepare_cached("UPDATE proposals SET job_id = ?3 WHERE id = ?1 AND batch_id = ?2")?;
    let mut n = 0;
    for &id in proposals {
        n += stmt.execute(params![id, batch, job_id])?;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::store::testing::{design, temp_store};

    fn proposals(range: std::ops::Range<i64>, model: Option<i64>) -> Vec<NewProposal> {
        range
            .map(|i| NewProposal {
                design: design(i),
                origin: "test".into(),
                model_version: model.map(ModelVersion),
                target: None,
            })
            .collect()
    }

    #[test]
    fn enqueue_skips_live_designs() {
        let (_dir, mut store) = temp_store();
        let first = store.enqueue(&proposals(0..3, None)).unwrap();
        assert_eq!((first.ids.len(), first.skipped), (3, 0));
        let again = store.enqueue(&proposals(2..5, None)).unwrap();
        assert_eq!((again.ids.len(), again.skipped), (2, 1));
        assert_eq!(store.queued_count().unwrap(), 5);
        assert_eq!(store.design_hashes().unwrap().len(), 5);
        let counts = store.state_counts().unwrap();
        assert_eq!(counts[&ProposalState::Queued], 5);
        assert_eq!(counts.len(), ProposalState::ALL.len());
    }

    #[test]
    fn claim_takes_the_oldest_and_counts_attempts() {
        let (_dir, mut store) = temp_store();
        assert_eq!(store.claim_batch(4, "local", "manual").unwrap(), None);
        let ids = store.enqueue(&proposals(0..5, None)).unwrap().ids;
        let (batch, claimed) = store.claim_batch(3, "local", "cron").unwrap().unwrap();
        assert_eq!(
            claimed.iter().map(|c| c.proposal).collect::<Vec<_>>(),
            ids[..3]
        );
        assert_eq!(claimed[1].design, design(1));
        assert!(claimed.iter().all(|c| c.attempts == 1));
        let row = &store.batches(10).unwrap()[0];
        assert_eq!(
            (row.id, row.size, row.state, row.trigger.as_str()),
            (batch, 3, BatchState::Running, "cron")
        );

        let moved = store.requeue(&ids[..1], "batch interrupted").unwrap();
        assert_eq!(moved.moved, ids[..1]);
        let (_, again) = store.claim_batch(10, "local", "cron").unwrap().unwrap();
        assert_eq!(
            again.iter().map(|c| c.proposal).collect::<Vec<_>>(),
            vec![ids[0], ids[3], ids[4]]
        );
        assert_eq!(
            again[0].attempts, 2,
            "a requeue does not refund the attempt"
        );
        assert!(store.finish_batch(batch, BatchState::Interrupted).unwrap());
        assert!(!store.finish_batch(batch, BatchState::Done).unwrap());
    }

    #[test]
    fn the_job_id_is_stored_with_the_dispatch_and_a_failed_dispatch_claims_nothing() {
        let (_dir, mut store) = temp_store();
        store.enqueue(&proposals(0..4, None)).unwrap();
        let err = store
            .claim_batch_with(2, "slurm", "cron", |_, _| {
                Err::<Option<String>, _>("sbatch: command not found")
            })
            .unwrap_err();
        assert!(matches!(err, StoreError::Dispatch { .. }), "{err}");
        assert_eq!(store.queued_count().unwrap(), 4);
        assert!(store.batches(10).unwrap().is_empty());

        let (batch, claimed) = store
            .claim_batch_with(2, "slurm", "cron", |batch, claimed| {
                assert_eq!(claimed.len(), 2);
                Ok::<_, StoreError>(Some(format!("job-{batch}")))
            })
            .unwrap()
            .unwrap();
        let live = store.live_unfinished().unwrap();
        assert_eq!(live.len(), 2);
        assert!(
            live.iter()
                .all(|l| l.job_id.as_deref() == Some("job-1") && l.batch == Some(batch))
        );
        assert_eq!(
            store.batches(1).unwrap()[0].job_id.as_deref(),
            Some("job-1")
        );
        let n = store
            .set_job_id(batch, &[claimed[0].proposal], "1234_0")
            .unwrap();
        assert_eq!(n, 1);
        assert_eq!(
            store.live_unfinished().unwrap()[0].job_id.as_deref(),
            Some("1234_0")
        );
    }

    #[test]
    fn illegal_moves_change_nothing_and_are_reported() {
        let (_dir, mut store) = temp_store();
        let ids = store.enqueue(&proposals(0..3, None)).unwrap().ids;
        let refused = store.mark_running(&ids[..1]).unwrap();
        assert_eq!(refused.refused, vec![(ids[0], Some(ProposalState::Queued))]);
        assert!(refused.moved.is_empty());
        store.claim_batch(2, "local", "manual").unwrap();
        let moved = store.mark_running(&ids).unwrap();
        assert_eq!(moved.moved, ids[..2]);
        assert_eq!(moved.refused, vec![(ids[2], Some(ProposalState::Queued))]);
        assert_eq!(
            store.fail(&ids[..1], "tool crashed").unwrap().moved,
            ids[..1]
        );
        let again = store.requeue(&ids[..1], "retry").unwrap();
        assert_eq!(again.refused, vec![(ids[0], Some(ProposalState::Failed))]);
        assert_eq!(
            store.mark_lost(&[ProposalId(99)], "gone").unwrap().refused,
            vec![(ProposalId(99), None)]
        );
        assert_eq!(
            store.mark_lost(&ids[1..2], "job vanished").unwrap().moved,
            ids[1..2]
        );
        let counts = store.state_counts().unwrap();
        assert_eq!(
            (
                counts[&ProposalState::Failed],
                counts[&ProposalState::Lost],
                counts[&ProposalState::Queued]
            ),
            (1, 1, 1)
        );
    }

    #[test]
    fn a_newer_model_cancels_older_queued_proposals_but_not_a_persons() {
        let (_dir, mut store) = temp_store();
        for kind in ["sobol", "diffuse"] {
            let model = crate::store::NewModel {
                parent: None,
                kind: kind.into(),
                space_hash: "h".into(),
                n_results: 0,
                loss: None,
                train_seconds: None,
                weights: None,
            };
            store.insert_model(&model).unwrap();
        }
        store.enqueue(&proposals(0..3, Some(1))).unwrap();
        store.enqueue(&proposals(3..5, Some(2))).unwrap();
        store.enqueue(&proposals(5..6, None)).unwrap();
        store.claim_batch(1, "local", "manual").unwrap();
        assert_eq!(
            store
                .cancel_queued_except(Some(ModelVersion(2)), "replaced by model 2")
                .unwrap(),
            2
        );
        let queue = store.queue(10).unwrap();
        assert_eq!(queue.len(), 4);
        assert_eq!(queue[0].state, ProposalState::Dispatched);
        assert_eq!(
            queue.iter().filter(|q| q.model_version.is_none()).count(),
            1
        );
    }

    /// Two connections claiming at once never get the same proposal.
    #[test]
    fn concurrent_claims_are_disjoint() {
        let (dir, mut store) = temp_store();
        store.enqueue(&proposals(0..200, None)).unwrap();
        let path = dir.path().join("store.db");
        let workers: Vec<_> = (0..4)
            .map(|w| {
                let path = path.clone();
                std::thread::spawn(move || {
                    let mut store = Store::open(&path).unwrap();
                    let mut mine = Vec::new();
                    while let Some((_, claimed)) =
                        store.claim_batch(3, &format!("w{w}"), "test").unwrap()
                    {
                        mine.extend(claimed.into_iter().map(|c| c.proposal));
                    }
                    mine
                })
            })
            .collect();
        let all: Vec<ProposalId> = workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect();
        let distinct: HashSet<ProposalId> = all.iter().copied().collect();
        assert_eq!((all.len(), distinct.len()), (200, 200));
        assert_eq!(store.queued_count().unwrap(), 0);
    }
}
