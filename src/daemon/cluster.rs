//! The cluster watcher task: result files and the scheduler, every poll (see `runners::watch`).

use std::sync::Arc;

use super::Shared;
use crate::events::Event;
use crate::runners::{breaker, scheduler, watch};
use crate::store::StoreError;

pub async fn run(shared: Arc<Shared>) -> Result<(), StoreError> {
    let mut gone = watch::GoneSince::new();
    loop {
        let config = shared.config();
        if let Some(scheduler) = scheduler(&config.runner) {
            let report = watch::watch_pass(&shared.db, &config, scheduler, &mut gone).await?;
            for e in &report.scheduler_errors {
                tracing::warn!(error = %e, "the scheduler did not answer; asking again next poll");
            }
            if report.results + report.retried + report.failed + report.lost > 0 {
                tracing::info!(
                    results = report.results,
                    running = report.running,
                    retried = report.retried,
                    failed = report.failed,
                    lost = report.lost,
                    "cluster batches"
                );
                shared.wake.notify_one();
            }
            for batch in report.finished_batches {
                let share = config.runner.breaker_failure_share;
                let (done, failed) = shared.db.call(move |s| s.batch_outcome(batch)).await?;
                tracing::info!(batch = batch.0, done, failed, "batch finished");
                shared.events.send(Event::BatchFinished {
                    batch,
                    done: done as usize,
                    failed: failed as usize,
                    requeued: 0,
                });
                if let Some(reason) = shared
                    .db
                    .call(move |s| breaker::judge(s, batch, share))
                    .await?
                {
                    tracing::error!(%reason, "failure breaker tripped");
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(config.schedule.poll) => {}
            _ = shared.token.cancelled() => return Ok(()),
        }
    }
}
