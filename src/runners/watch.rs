//! Watching cluster batches: result files as they appear, the scheduler as a backstop.
//!
//! One pass, every poll and at start (the reconciliation after a crash):
//! 1. every DISPATCHED or RUNNING proposal of a cluster batch whose `qor.json` exists goes
//!    to the inbox (a garbage file becomes a failed row with the reason);
//! 2. for the rest, the scheduler is asked for its tasks' states: RUNNING ones are marked so;
//! 3. a task that ended, or that the scheduler no longer lists, without a result file, is
//!    given `lost_after` to let the file appear (it never counts as failed because it has not
//!    arrived yet). Then it is retried while it has attempts left, or becomes FAILED (the job
//!    ended: the scheduler's state is the reason) or LOST (the node was lost).
//!
//! Nothing is resubmitted blindly: a proposal goes back to the queue only after the scheduler
//! and the file both say its work is gone.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use super::batch_dir::{batch_dir, read_manifest, read_result};
use super::scheduler::{Scheduler, TaskState};
use crate::config::Config;
use crate::db::Db;
use crate::store::{BatchId, InboxRow, LiveProposal, ProposalId, StoreError};

/// What one pass saw and did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WatchReport {
    /// Result files moved to the inbox.
    pub results: usize,
    pub running: usize,
    /// Lost work queued again.
    pub retried: usize,
    /// Proposals that ran out of attempts.
    pub failed: usize,
    pub lost: usize,
    /// Scheduler calls that failed (the pass goes on; the next one asks again).
    pub scheduler_errors: Vec<String>,
    /// Batches with no live proposal left after this pass.
    pub finished_batches: Vec<BatchId>,
}

/// Since when each task has been ended or unlisted without a result: kept by the watcher
/// between passes (a restart starts the wait again, which only delays the verdict).
pub type GoneSince = HashMap<ProposalId, Instant>;

enum Verdict {
    Result(InboxRow),
    Running(ProposalId),
    Retry(ProposalId, String),
    Fail(ProposalId, String),
    Lose(ProposalId, String),
}

/// One pass over the live proposals of `scheduler`'s batches.
pub async fn watch_pass(
    db: &Db,
    config: &Arc<Config>,
    scheduler: Arc<dyn Scheduler>,
    gone: &mut GoneSince,
) -> Result<WatchReport, StoreError> {
    let name = scheduler.name();
    let live: Vec<LiveProposal> = db
        .call(|s| s.live_unfinished())
        .await?
        .into_iter()
        .filter(|l| l.runner.as_deref() == Some(name))
        .collect();
    let mut report = WatchReport::default();
    if live.is_empty() {
        gone.clear();
        return Ok(report);
    }
    let runner = config.runner.clone();
    let source = name.to_string();
    let seen_gone = std::mem::take(gone);
    // Files and scheduler calls are blocking and may be slow (a network filesystem, a busy
    // controller): they run on a blocking thread, outside the store's lock.
    let (verdicts, still_gone, errors) = tokio::task::spawn_blocking(move || {
        let mut verdicts = Vec::new();
        let mut still_gone = GoneSince::new();
        let mut errors = Vec::new();
        let mut by_job: BTreeMap<(BatchId, String), Vec<&LiveProposal>> = BTreeMap::new();
        for l in &live {
            let Some(batch) = l.batch else { continue };
            if let Some(row) = read_result(&runner.runs_dir, batch, l.proposal, &source) {
                verdicts.push(Verdict::Result(row));
            } else if let Some(job) = &l.job_id {
                by_job.entry((batch, job.clone())).or_default().push(l);
            }
        }
        for ((batch, job), proposals) in by_job {
            let states = match scheduler.poll(&job) {
                Ok(s) => s,
                Err(e) => {
                    errors.push(e.to_string());
                    // Keep the clocks running for these tasks; no verdict without the scheduler.
                    for l in proposals {
                        if let Some(t) = seen_gone.get(&l.proposal) {
                            still_gone.insert(l.proposal, *t);
                        }
                    }
                    continue;
                }
            };
            let index_of: HashMap<ProposalId, usize> =
                read_manifest(&batch_dir(&runner.runs_dir, batch))
                    .map(|tasks| tasks.into_iter().map(|t| (t.proposal, t.index)).collect())
                    .unwrap_or_default();
            for l in proposals {
                let state = states
                    .as_ref()
                    .and_then(|s| index_of.get(&l.proposal).and_then(|i| s.get(i)));
                let (why, lost) = match state {
                    Some(TaskState::Pending) => continue,
                    Some(TaskState::Running) => {
                        if l.state == crate::store::ProposalState::Dispatched {
                            verdicts.push(Verdict::Running(l.proposal));
                        }
                        continue;
                    }
                    Some(TaskState::Ended(s)) => {
                        (format!("job {job} ended {s} without a result file"), false)
                    }
                    Some(TaskState::Lost(s)) => {
                        (format!("job {job} was lost ({s}): its node failed"), true)
                    }
                    None if states.is_some() => (
                        format!(
                            "job {job} is no longer known to {} and wrote no result file",
                            scheduler.name()
                        ),
                        true,
                    ),
                    // No status command: the time since dispatch is all there is.
                    None => (format!("no result file from job {job}"), true),
                };
                let since = *seen_gone.get(&l.proposal).unwrap_or(&Instant::now());
                let wait = if states.is_some() {
                    runner.lost_after
                } else {
                    runner.timeout + runner.lost_after
                };
                if since.elapsed() < wait {
                    still_gone.insert(l.proposal, since);
                    continue;
                }
                // The file may have landed while we waited on the scheduler.
                if let Some(row) = read_result(&runner.runs_dir, batch, l.proposal, &source) {
                    verdicts.push(Verdict::Result(row));
                } else if l.attempts < runner.max_attempts {
                    verdicts.push(Verdict::Retry(
                        l.proposal,
                        format!(
                            "{why}; queued again (attempt {} of {} done)",
                            l.attempts, runner.max_attempts
                        ),
                    ));
                } else if lost {
                    verdicts.push(Verdict::Lose(
                        l.proposal,
                        format!("{why}, after {} attempts", l.attempts),
                    ));
                } else {
                    verdicts.push(Verdict::Fail(
                        l.proposal,
                        format!("{why}, after {} attempts", l.attempts),
                    ));
                }
            }
        }
        (verdicts, still_gone, errors)
    })
    .await
    .expect("the watcher does not panic");
    *gone = still_gone;
    report.scheduler_errors = errors;
    for v in &verdicts {
        match v {
            Verdict::Result(_) => report.results += 1,
            Verdict::Running(_) => report.running += 1,
            Verdict::Retry(..) => report.retried += 1,
            Verdict::Fail(..) => report.failed += 1,
            Verdict::Lose(..) => report.lost += 1,
        }
    }
    let cfg = config.clone();
    let finished = db
        .call(move |s| {
            let mut rows = Vec::new();
            let batches: Vec<BatchId> = s
                .live_unfinished()?
                .iter()
                .filter_map(|l| l.batch)
                .collect();
            for v in verdicts {
                match v {
                    Verdict::Result(row) => rows.push(row),
                    Verdict::Running(p) => {
                        s.mark_running(&[p])?;
                    }
                    Verdict::Retry(p, why) => {
                        s.requeue(&[p], &why)?;
                    }
                    // A FAILED result for work that never reported, so the failure is in
                    // `results` with its reason, like any other.
                    Verdict::Fail(p, why) => rows.push(InboxRow::failed(p, why, "watch")),
                    Verdict::Lose(p, why) => {
                        s.mark_lost(&[p], &why)?;
                    }
                }
            }
            if !rows.is_empty() {
                s.insert_inbox(&rows)?;
                let targets = crate::daemon::sync_targets(s, &cfg)?;
                crate::ingest::ingest_pass(s, &cfg, &targets)?;
            }
            let after: std::collections::HashSet<BatchId> = s
                .live_unfinished()?
                .iter()
                .filter_map(|l| l.batch)
                .collect();
            let mut done: Vec<BatchId> =
                batches.into_iter().filter(|b| !after.contains(b)).collect();
            done.dedup();
            for b in &done {
                s.finish_batch(*b, crate::store::BatchState::Done)?;
            }
            Ok(done)
        })
        .await?;
    report.finished_batches = finished;
    Ok(report)
}
