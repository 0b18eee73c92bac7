//! The local runner: N evaluations at a time on blocking threads, each with a timeout.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::config::RunnerConfig;
use crate::db::Db;
use crate::evaluators::{Cancel, EvalContext, EvalError, Evaluator};
use crate::events::{Event, Events};
use crate::store::{BatchId, BatchState, Claimed, InboxRow, InboxStatus, ProposalId, StoreError};

/// How a batch ended.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BatchReport {
    /// Evaluations that returned metrics (written to the inbox).
    pub done: usize,
    /// Evaluations that failed (a crash, a timeout, garbage): FAILED with the reason.
    pub failed: usize,
    /// Evaluations stopped by `cancel`: their proposals are QUEUED again.
    pub requeued: usize,
    /// Lost evaluations (killed by a signal) with attempts left: QUEUED again.
    pub retried: usize,
}

/// What one evaluation came to.
enum Outcome {
    Metrics(crate::space::Metrics),
    Failed(String),
    /// Killed rather than judged: retried while attempts are left.
    Lost(String),
    Cancelled,
}

/// Evaluate a claimed batch. Each finished evaluation is written to the inbox at once (a
/// crash loses at most the ones in flight); cancelled ones go back to the queue, and the
/// batch row is closed DONE or INTERRUPTED.
pub async fn run_batch(
    db: &Db,
    evaluator: Arc<dyn Evaluator>,
    runner: &RunnerConfig,
    batch: BatchId,
    claimed: Vec<Claimed>,
    cancel: &Cancel,
    events: &Events,
) -> Result<BatchReport, StoreError> {
    events.send(Event::BatchStarted {
        batch,
        size: claimed.len(),
    });
    let ids: Vec<ProposalId> = claimed.iter().map(|c| c.proposal).collect();
    db.call(move |s| s.mark_running(&ids)).await?;
    let slots = Arc::new(Semaphore::new(runner.parallel));
    let mut jobs = JoinSet::new();
    for c in claimed {
        let slots = slots.clone();
        let evaluator = evaluator.clone();
        let ctx = EvalContext {
            workdir: runner
                .runs_dir
                .join(format!("batch-{}", batch.0))
                .join(format!("proposal-{}", c.proposal.0)),
            timeout: runner.timeout,
            cancel: cancel.clone(),
        };
        jobs.spawn(async move {
            let _slot = slots
                .acquire_owned()
                .await
                .expect("the semaphore is never closed");
            let started = Instant::now();
            let outcome = evaluate(evaluator, c.design.clone(), ctx).await;
            (c, outcome, started.elapsed().as_secs_f64())
        });
    }
    let mut report = BatchReport::default();
    let name = evaluator.name().to_string();
    while let Some(joined) = jobs.join_next().await {
        let (c, outcome, runtime_s) = joined.expect("evaluation tasks catch their panics");
        let proposal = c.proposal;
        // Lost work with no attempt left is a failure like any other, with the reason.
        let outcome = match outcome {
            Outcome::Lost(why) if c.attempts >= runner.max_attempts => {
                Outcome::Failed(format!("lost: {why}, after {} attempts", c.attempts))
            }
            other => other,
        };
        match outcome {
            Outcome::Cancelled => {
                db.call(move |s| {
                    s.requeue(
                        &[proposal],
                        "interrupted: the batch was stopped before it finished",
                    )
                })
                .await?;
                report.requeued += 1;
            }
            Outcome::Metrics(metrics) => {
                let row = inbox_row(
                    proposal,
                    InboxStatus::Ok,
                    Some(&metrics),
                    None,
                    &name,
                    runtime_s,
                );
                db.call(move |s| s.insert_inbox(&[row])).await?;
                report.done += 1;
                events.send(Event::Evaluated {
                    batch,
                    proposal,
                    ok: true,
                    error: None,
                });
            }
            Outcome::Lost(why) => {
                let reason = format!(
                    "lost: {why}; queued again (attempt {} of {} done)",
                    c.attempts, runner.max_attempts
                );
                db.call(move |s| s.requeue(&[proposal], &reason)).await?;
                report.retried += 1;
                events.send(Event::Evaluated {
                    batch,
                    proposal,
                    ok: false,
                    error: Some(format!("lost: {why}")),
                });
            }
            Outcome::Failed(error) => {
                let row = inbox_row(
                    proposal,
                    InboxStatus::Failed,
                    None,
                    Some(error.clone()),
                    &name,
                    runtime_s,
                );
                db.call(move |s| s.insert_inbox(&[row])).await?;
                report.failed += 1;
                events.send(Event::Evaluated {
                    batch,
                    proposal,
                    ok: false,
                    error: Some(error),
                });
            }
        }
    }
    let state = if report.requeued > 0 {
        BatchState::Interrupted
    } else {
        BatchState::Done
    };
    db.call(move |s| s.finish_batch(batch, state)).await?;
    events.send(Event::BatchFinished {
        batch,
        done: report.done,
        failed: report.failed,
        requeued: report.requeued,
    });
    Ok(report)
}

fn inbox_row(
    proposal: ProposalId,
    status: InboxStatus,
    metrics: Option<&crate::space::Metrics>,
    error: Option<String>,
    evaluator: &str,
    runtime_s: f64,
) -> InboxRow {
    InboxRow {
        proposal_id: Some(proposal),
        design_id: None,
        params: None,
        metrics: metrics.map(|m| serde_json::to_value(m).expect("metrics serialize")),
        status,
        error,
        evaluator: Some(evaluator.to_string()),
        runtime_s: Some(runtime_s),
        source: "batch".to_string(),
    }
}

/// Run one evaluation on a blocking thread. The evaluator enforces the timeout on its own
/// children; an in-process evaluator that overruns is abandoned (its thread finishes in the
/// background) and the design is FAILED with the timeout.
async fn evaluate(
    evaluator: Arc<dyn Evaluator>,
    design: crate::space::Design,
    ctx: EvalContext,
) -> Outcome {
    if ctx.cancel.is_cancelled() {
        return Outcome::Cancelled;
    }
    if let Err(e) = std::fs::create_dir_all(&ctx.workdir) {
        return Outcome::Failed(format!(
            "cannot create the run folder {}: {e}",
            ctx.workdir.display()
        ));
    }
    let timeout = ctx.timeout;
    let cancel = ctx.cancel.clone();
    let mut task = tokio::task::spawn_blocking(move || evaluator.evaluate(&design, &ctx));
    // A little grace beyond the evaluator's own limit, so its timeout message wins.
    let limit = timeout + std::time::Duration::from_secs(5);
    let joined = tokio::select! {
        j = &mut task => j,
        _ = tokio::time::sleep(limit) => {
            return Outcome::Failed(EvalError::Timeout(timeout).to_string());
        }
    };
    match joined {
        Ok(Ok(metrics)) => Outcome::Metrics(metrics),
        Ok(Err(EvalError::Cancelled)) => Outcome::Cancelled,
        Ok(Err(_)) if cancel.is_cancelled() => Outcome::Cancelled,
        Ok(Err(EvalError::Lost(why))) => Outcome::Lost(why),
        Ok(Err(e)) => Outcome::Failed(e.to_string()),
        Err(e) => Outcome::Failed(format!("the evaluator crashed: {}", panic_text(e))),
    }
}

fn panic_text(e: tokio::task::JoinError) -> String {
    match e.try_into_panic() {
        Ok(p) => p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".into()),
        Err(e) => e.to_string(),
    }
}
