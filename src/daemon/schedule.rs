//! The batch schedule: wait for the next cron time, claim a batch, run it.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{Clock, Shared};
use crate::runners::{Dispatched, breaker, claim_and_run};
use crate::store::StoreError;

/// The longest single sleep: the next fire time is recomputed at least this often, so a
/// wall-clock jump (NTP, a VM resumed) never delays a batch by more than this.
const MAX_SLEEP: Duration = Duration::from_secs(30);

/// Sleep until `next`, in steps of at most [`MAX_SLEEP`], reading `clock` after each.
async fn sleep_until(clock: &Clock, next: DateTime<Utc>) {
    loop {
        let left = (next - clock.now()).to_std().unwrap_or(Duration::ZERO);
        if left.is_zero() {
            return;
        }
        tokio::time::sleep(left.min(MAX_SLEEP)).await;
    }
}

pub async fn run(shared: Arc<Shared>) -> Result<(), StoreError> {
    let mut config_rx = shared.config.subscribe();
    loop {
        let config = shared.config();
        let Some(next) = config.schedule.cron.next_after(shared.clock.now()) else {
            tracing::warn!(cron = %config.schedule.cron.text, "the schedule never fires again; waiting for a reload");
            tokio::select! {
                _ = config_rx.changed() => continue,
                _ = shared.token.cancelled() => return Ok(()),
            }
        };
        tracing::debug!(next = %next, "next batch");
        tokio::select! {
            _ = sleep_until(&shared.clock, next) => {}
            _ = config_rx.changed() => continue,
            _ = shared.token.cancelled() => return Ok(()),
        }
        if let Some(reason) = shared.db.call(|s| breaker::paused(s)).await? {
            tracing::warn!(%reason, "batch time, but dispatch is paused by the failure breaker");
            continue;
        }
        let evaluator = shared.evaluator();
        match claim_and_run(
            &shared.db,
            &config,
            evaluator,
            "cron",
            &shared.cancel,
            &shared.events,
        )
        .await
        {
            Ok(None) => tracing::info!("batch time, but nothing is queued"),
            Ok(Some(Dispatched::Ran(batch, r))) => {
                tracing::info!(
                    batch = batch.0,
                    done = r.done,
                    failed = r.failed,
                    requeued = r.requeued,
                    "batch finished"
                );
                let share = config.runner.breaker_failure_share;
                if let Some(reason) = shared
                    .db
                    .call(move |s| breaker::judge(s, batch, share))
                    .await?
                {
                    tracing::error!(%reason, "failure breaker tripped");
                }
            }
            Ok(Some(Dispatched::Submitted {
                batch,
                job_id,
                size,
            })) => {
                tracing::info!(
                    batch = batch.0,
                    job_id,
                    size,
                    runner = config.runner.kind.name(),
                    "batch submitted"
                );
            }
            // The scheduler refused the job: nothing was claimed; the next fire time tries again.
            Err(StoreError::Dispatch { source, .. }) => {
                tracing::error!(error = %source, "batch not submitted; its proposals stay queued");
            }
            Err(e) => return Err(e),
        }
        shared.wake.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Cron, Zone};
    use chrono::TimeZone;

    /// The schedule loop's waiting, under tokio's paused clock: three fires of a
    /// `*/10 * * * * *` schedule take 30 s of virtual time and no real time.
    #[tokio::test(start_paused = true)]
    async fn sleeps_until_each_fire_time_on_a_paused_clock() {
        let start = Utc.with_ymd_and_hms(2026, 12, 1, 22, 0, 1).unwrap();
        let clock = Clock::starting_at(start);
        let cron = Cron::parse("*/10 * * * * *", Zone::Utc).unwrap();
        let mut fired = Vec::new();
        for _ in 0..3 {
            let next = cron.next_after(clock.now()).unwrap();
            sleep_until(&clock, next).await;
            fired.push(clock.now());
        }
        let secs: Vec<i64> = fired.iter().map(|t| (*t - start).num_seconds()).collect();
        assert_eq!(secs, vec![9, 19, 29]);
    }

    /// A daily schedule sleeps in bounded steps and still wakes on time.
    #[tokio::test(start_paused = true)]
    async fn long_waits_are_split_but_wake_on_time() {
        let start = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
        let clock = Clock::starting_at(start);
        let cron = Cron::parse("0 22 * * *", Zone::Utc).unwrap();
        let next = cron.next_after(clock.now()).unwrap();
        sleep_until(&clock, next).await;
        assert_eq!(
            clock.now(),
            Utc.with_ymd_and_hms(2026, 12, 1, 22, 0, 0).unwrap()
        );
    }
}
