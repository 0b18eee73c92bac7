//! The daemon: supervised tasks for ingest, retrain, propose, schedule and reload, with one
//! shutdown path.
//!
//! [`run`] takes its shutdown as a future, so tests start a real daemon in-process and stop
//! it without signals; `main` passes SIGINT/SIGTERM. Blocking work (SQLite, fitting) runs on
//! blocking threads through [`Db`] and `spawn_blocking`, never on the async workers.

mod clock;
mod cluster;
mod cycle;
mod reload;
mod schedule;
mod signals;

use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use clock::Clock;
pub use cycle::{prepare_reload as prepare_store, sync_store, sync_targets, top_up};
pub use signals::shutdown_signal;

use crate::config::Config;
use crate::db::Db;
use crate::evaluators::{Cancel, EvalError, Evaluator};
use crate::events::{Event, Events};
use crate::proposer::Proposer;
use crate::store::{Store, StoreError};

/// Why the daemon could not start or had to stop.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    TaskFailed(String),
    #[error("the {evaluator} evaluator cannot start: {source}")]
    Evaluator {
        evaluator: String,
        source: EvalError,
    },
}

/// Knobs for embedding the daemon (tests, the demo).
#[derive(Clone, Default)]
pub struct Options {
    /// Where the time comes from (the system clock unless a test injects one).
    pub clock: Clock,
    /// Progress and state changes are sent here.
    pub events: Events,
}

/// What every task shares.
pub(crate) struct Shared {
    pub db: Db,
    pub config: watch::Sender<Arc<Config>>,
    pub evaluator: Mutex<Arc<dyn Evaluator>>,
    pub proposer: Arc<Mutex<Box<dyn Proposer>>>,
    pub events: Events,
    pub clock: Clock,
    pub token: CancellationToken,
    /// Set on shutdown: running evaluations stop and their proposals are queued again.
    pub cancel: Cancel,
    /// Set when a task failed for good: the daemon stops and `run` returns it as an error.
    pub failed: Mutex<Option<String>>,
    /// Poked after new results (retrain and propose look), after a reload and after a batch.
    pub wake: Notify,
}

impl Shared {
    pub fn config(&self) -> Arc<Config> {
        self.config.borrow().clone()
    }
    pub fn evaluator(&self) -> Arc<dyn Evaluator> {
        self.evaluator
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// Open the store, bring it in line with the config, and serve until `shutdown` resolves.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> Result<(), DaemonError> {
    run_with(config, shutdown, Options::default()).await
}

/// [`run`] with an injected clock and an event channel.
pub async fn run_with(
    config: Config,
    shutdown: impl Future<Output = ()>,
    options: Options,
) -> Result<(), DaemonError> {
    let evaluator = config
        .evaluator
        .build()
        .map_err(|source| DaemonError::Evaluator {
            evaluator: config.evaluator.name().into(),
            source,
        })?;
    let path = config.store_path.clone();
    let store = tokio::task::spawn_blocking(move || Store::open(&path))
        .await
        .expect("open does not panic")?;
    let db = Db::new(store);
    let config = Arc::new(config);
    let recovered = cycle::prepare(&db, &config).await?;
    if recovered > 0 {
        tracing::warn!(
            proposals = recovered,
            "requeued proposals left DISPATCHED or RUNNING by a previous run"
        );
    }
    let proposer = cycle::proposer_for(&db, &config).await?;
    let shared = Arc::new(Shared {
        db,
        proposer: Arc::new(Mutex::new(proposer)),
        config: watch::channel(config.clone()).0,
        evaluator: Mutex::new(evaluator),
        events: options.events,
        clock: options.clock,
        token: CancellationToken::new(),
        cancel: Cancel::new(),
        wake: Notify::new(),
        failed: Mutex::new(None),
    });
    tracing::info!(
        store = %config.store_path.display(),
        evaluator = config.evaluator.name(),
        schedule = %config.schedule.cron.text,
        runner = config.runner.kind.name(),
        "daemon ready"
    );
    let _ = sd_notify::notify(&[sd_notify::NotifyState::Ready]);
    shared.events.send(Event::Ready);

    let tracker = TaskTracker::new();
    tracker.spawn(supervise("cycle", shared.clone(), cycle::run));
    tracker.spawn(supervise("schedule", shared.clone(), schedule::run));
    tracker.spawn(supervise("reload", shared.clone(), reload::run));
    tracker.spawn(supervise("cluster", shared.clone(), cluster::run));
    tracker.close();

    tokio::select! {
        _ = shutdown => tracing::info!("stopping: finishing the current step, requeueing running evaluations"),
        _ = shared.token.cancelled() => tracing::error!("stopping after a task failed"),
    }
    let _ = sd_notify::notify(&[sd_notify::NotifyState::Stopping]);
    shared.cancel.cancel();
    shared.token.cancel();
    tracker.wait().await;
    // Results that arrived while stopping (the last evaluations of a batch) are validated
    // now rather than at the next start.
    let config = shared.config();
    let final_pass = shared
        .db
        .call(move |s| {
            let targets = sync_targets(s, &config)?;
            crate::ingest::ingest_pass(s, &config, &targets)
        })
        .await;
    if let Err(e) = final_pass {
        tracing::error!(error = %e, "the last ingest pass failed; the rows stay in the inbox for the next start");
    }
    if let Some(why) = shared
        .failed
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take()
    {
        return Err(DaemonError::TaskFailed(why));
    }
    tracing::info!("stopped");
    Ok(())
}

/// Run a task to its end. Every task watches the shutdown token itself and winds down at a
/// safe point (a batch requeues its running evaluations first), so it is never dropped midway.
///
/// A transient store error (another process holds a lock past the busy timeout, the disk is
/// full) is logged and the task starts again after a pause that doubles up to a minute: the
/// daemon outlives the condition. Any other error takes the daemon down with it: it is
/// logged, recorded in `failed`, and the process exits non-zero, so systemd restarts it
/// (`Restart=on-failure`).
async fn supervise<F, Fut>(name: &'static str, shared: Arc<Shared>, task: F)
where
    F: Fn(Arc<Shared>) -> Fut,
    Fut: Future<Output = Result<(), StoreError>>,
{
    let mut pause = std::time::Duration::from_secs(1);
    loop {
        match task(shared.clone()).await {
            Ok(()) => return,
            Err(e) if e.is_transient() => {
                tracing::warn!(task = name, error = %e, retry_in_s = pause.as_secs(), "store unavailable; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = shared.token.cancelled() => return,
                }
                pause = (pause * 2).min(std::time::Duration::from_secs(60));
            }
            Err(e) => {
                tracing::error!(task = name, error = %e, "task failed; stopping the daemon");
                let mut failed = shared.failed.lock().unwrap_or_else(|p| p.into_inner());
                failed.get_or_insert_with(|| format!("the {name} task failed: {e}"));
                shared.token.cancel();
                return;
            }
        }
    }
}
