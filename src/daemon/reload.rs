//! Reload: on SIGHUP, or when the config file or a drop-in target file changes.

use std::sync::Arc;

use super::Shared;
use crate::config::{Config, ConfigError};
use crate::events::Event;
use crate::store::StoreError;

pub async fn run(shared: Arc<Shared>) -> Result<(), StoreError> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hup = signal(SignalKind::hangup()).expect("a SIGHUP handler can be installed");
    // From what the files looked like when the running config was read, so an edit made
    // while the daemon was starting is not missed.
    let mut last_seen = shared.config().sources.clone();
    loop {
        let poll = shared.config().schedule.poll;
        let forced = tokio::select! {
            _ = hup.recv() => true,
            _ = tokio::time::sleep(poll) => false,
            _ = shared.token.cancelled() => return Ok(()),
        };
        let current = shared.config();
        let now = current.current_sources();
        if !forced && now == last_seen {
            continue;
        }
        last_seen = now;
        tracing::info!(file = %current.file.display(), reason = if forced { "SIGHUP" } else { "a file changed" }, "reloading the config");
        let file = current.file.clone();
        let loaded = tokio::task::spawn_blocking(move || Config::load(file))
            .await
            .expect("loading does not panic");
        match loaded {
            Ok(config) => apply(&shared, config).await?,
            Err(e) => reject(&shared, &e),
        }
    }
}

/// Swap in a valid config: a new evaluator (kept old if the new one cannot start), the
/// store's views and targets, a proposer for the new space, then wake the work loop so new
/// targets get proposals in this cycle.
async fn apply(shared: &Shared, config: Config) -> Result<(), StoreError> {
    let evaluator = match config.evaluator.build() {
        Ok(e) => e,
        Err(e) => {
            let message = format!(
                "the {} evaluator cannot start: {e}",
                config.evaluator.name()
            );
            tracing::error!(%message, "reload rejected; the old config stays");
            shared.events.send(Event::ReloadRejected { message });
            return Ok(());
        }
    };
    let config = Arc::new(config);
    super::cycle::prepare_reload(&shared.db, &config).await?;
    *shared.evaluator.lock().unwrap_or_else(|p| p.into_inner()) = evaluator;
    let proposer = super::cycle::proposer_for(&shared.db, &config).await?;
    *shared.proposer.lock().unwrap_or_else(|p| p.into_inner()) = proposer;
    let targets = config.targets.len();
    shared.config.send_replace(config);
    tracing::info!(targets, "config reloaded");
    shared.events.send(Event::Reloaded { targets });
    shared.wake.notify_one();
    Ok(())
}

fn reject(shared: &Shared, e: &ConfigError) {
    let message = e.to_string();
    for line in message.lines() {
        tracing::error!(problem = line, "reload rejected; the old config stays");
    }
    shared.events.send(Event::ReloadRejected { message });
}
