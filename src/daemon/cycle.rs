//! The work loop: ingest new results, refit when enough arrived, top up the queue.

use std::sync::Arc;
use std::time::Instant;

use std::sync::Mutex;

use super::Shared;
use crate::config::{Config, Target};
use crate::db::Db;
use crate::events::Event;
use crate::events::Events;
use crate::ingest::ingest_pass;
use crate::proposer::History;
use crate::proposer::Proposer;
use crate::store::{NewModel, NewProposal, OkResult, Store, StoreError, TargetId};

/// Bring the store in line with the config at start or after a reload: the views, the
/// targets, the space fingerprint. At start (`recover`), proposals a previous run left
/// DISPATCHED or RUNNING on the local runner go back to the queue. Returns how many.
pub async fn prepare(db: &Db, config: &Arc<Config>) -> Result<usize, StoreError> {
    sync(db, config, true).await
}

/// [`prepare`] after a reload: running proposals are left alone.
pub async fn prepare_reload(db: &Db, config: &Arc<Config>) -> Result<usize, StoreError> {
    sync(db, config, false).await
}

async fn sync(db: &Db, config: &Arc<Config>, recover: bool) -> Result<usize, StoreError> {
    let config = config.clone();
    db.call(move |s| sync_store(s, &config, recover)).await
}

/// The blocking work of [`prepare`] (with `recover`) and [`prepare_reload`]: the views, the
/// space fingerprint (a changed space cancels every queued proposal), the targets, and at
/// start the requeue of local evaluations a previous run left in flight (they died with it).
/// Cluster proposals are not touched here: the watcher reconciles them with their result
/// files and the scheduler, and never resubmits blindly. Returns how many were requeued.
pub fn sync_store(s: &mut Store, config: &Config, recover: bool) -> Result<usize, StoreError> {
    s.sync_views(&config.objectives, &config.space.names())?;
    s.record_param_info(&config.space.params)?;
    let fingerprint = config.space.fingerprint();
    if let Some(old) = s.space_fingerprint()?
        && old != fingerprint
    {
        let n = s.cancel_queued_except(
            None,
            "the design space changed; proposals for the old space were cancelled",
        )?;
        tracing::warn!(
            cancelled = n,
            "the design space changed since the store was last used"
        );
    }
    s.set_space_fingerprint(&fingerprint)?;
    sync_targets(s, config)?;
    if !recover {
        return Ok(0);
    }
    // Results a batch wrote just before the previous run died finish their proposals first;
    // only then does what is still in flight go back to the queue.
    let targets = sync_targets(s, config)?;
    crate::ingest::ingest_pass(s, config, &targets)?;
    let ids: Vec<_> = s
        .live_unfinished()?
        .iter()
        .filter(|l| l.runner.as_deref().is_none_or(|r| r == "local"))
        .map(|l| l.proposal)
        .collect();
    s.requeue(
        &ids,
        "interrupted: the daemon stopped while it ran; queued again",
    )?;
    // Local batches the previous run left open are closed: their evaluations died with it.
    for b in s.batches(usize::MAX)? {
        if b.runner == "local" && b.state == crate::store::BatchState::Running {
            s.finish_batch(b.id, crate::store::BatchState::Interrupted)?;
        }
    }
    Ok(ids.len())
}

/// Record the config's targets in the store and return the active ones with their ids.
pub fn sync_targets(s: &mut Store, config: &Config) -> Result<Vec<(TargetId, Target)>, StoreError> {
    let specs: Vec<(String, serde_json::Value)> = config
        .targets
        .iter()
        .map(|t| (t.name.clone(), t.spec_json()))
        .collect();
    let ids = s.sync_targets(&specs)?;
    Ok(config
        .targets
        .iter()
        .filter_map(|t| {
            ids.iter()
                .find(|(n, _)| *n == t.name)
                .map(|(_, id)| (*id, t.clone()))
        })
        .collect())
}

/// The active targets with their store ids.
type Targets = Vec<(TargetId, Target)>;

/// Loop until shutdown: one cycle now, then one per poll interval or whenever woken.
pub async fn run(shared: Arc<Shared>) -> Result<(), StoreError> {
    let mut exhausted_logged = false;
    let mut targets: Option<(Arc<Config>, Targets)> = None;
    loop {
        let config = shared.config();
        // The targets' store ids, looked up again only when the config was swapped.
        if targets
            .as_ref()
            .is_none_or(|(c, _)| !Arc::ptr_eq(c, &config))
        {
            let cfg = config.clone();
            targets = Some((
                config.clone(),
                shared.db.call(move |s| sync_targets(s, &cfg)).await?,
            ));
        }
        let active = &targets.as_ref().expect("just set").1;
        one_cycle(
            &shared.db,
            &shared.proposer,
            &config,
            active,
            &shared.events,
            &mut exhausted_logged,
        )
        .await?;
        tokio::select! {
            _ = tokio::time::sleep(config.schedule.poll) => {}
            _ = shared.wake.notified() => {}
            _ = shared.token.cancelled() => return Ok(()),
        }
    }
}

/// The proposer the config asks for, with the weights of the store's latest model when that
/// model is of the same kind and for the same space: a restarted daemon (or `batch run`)
/// continues from the checkpoint instead of retraining.
pub async fn proposer_for(db: &Db, config: &Arc<Config>) -> Result<Box<dyn Proposer>, StoreError> {
    let (kind, space) = (config.model.kind.as_str(), config.space.fingerprint());
    let latest = db.call(|s| s.latest_model()).await?;
    let checkpoint = latest
        .filter(|r| r.model.kind == kind && r.model.space_hash == space)
        .and_then(|r| Some((r.version.0, r.model.weights?)));
    let config = config.clone();
    // Building may read pretraining rows, and restoring parses the checkpoint: both block.
    tokio::task::spawn_blocking(move || {
        let mut proposer = crate::proposer::from_config(&config);
        let Some((version, weights)) = checkpoint else {
            return Ok(proposer);
        };
        match proposer.restore(&weights) {
            Ok(()) => tracing::info!(version, kind, "loaded the latest model checkpoint"),
            Err(e) => tracing::warn!(version, kind, error = %e, "the latest checkpoint cannot be loaded; the next fit starts afresh"),
        }
        Ok(proposer)
    })
    .await
    .expect("restoring does not panic")
}

/// Run one cycle outside the daemon (`batch run` with an empty queue): ingest, refit if due,
/// and fill the queue, with the proposer of [`proposer_for`].
pub async fn top_up(db: &Db, config: &Arc<Config>) -> Result<(), StoreError> {
    let proposer = Arc::new(Mutex::new(proposer_for(db, config).await?));
    let cfg = config.clone();
    let targets = db.call(move |s| sync_targets(s, &cfg)).await?;
    one_cycle(db, &proposer, config, &targets, &Events::new(), &mut false).await
}

/// Ingest new results, refit when `retrain_every` new results arrived, and top the queue up
/// to `queue_depth` (plus one proposal for each target with nothing queued).
async fn one_cycle(
    db: &Db,
    proposer: &Arc<Mutex<Box<dyn Proposer>>>,
    config: &Arc<Config>,
    targets: &[(TargetId, Target)],
    events: &Events,
    exhausted_logged: &mut bool,
) -> Result<(), StoreError> {
    // Ingest.
    let cfg = config.clone();
    let t = targets.to_vec();
    let summary = db.call(move |s| ingest_pass(s, &cfg, &t)).await?;
    for (id, reason) in &summary.rejected {
        tracing::warn!(inbox_id = id, %reason, "result row rejected");
    }
    if summary.accepted > 0 || !summary.rejected.is_empty() {
        tracing::info!(
            accepted = summary.accepted,
            rejected = summary.rejected.len(),
            "ingested results"
        );
        events.send(Event::Ingested {
            accepted: summary.accepted,
            rejected: summary.rejected.len(),
        });
    }
    if let Some((size, hypervolume)) = summary.front {
        tracing::info!(
            front = size,
            hypervolume = hypervolume.unwrap_or(0.0),
            "front updated"
        );
        events.send(Event::Front { size, hypervolume });
    }

    // Cheap reads first: most cycles find a full queue and nothing new, and stop here.
    let (queued, n_results, latest, starved) = db
        .call(|s| {
            let counts = s.result_counts()?;
            let latest = s.latest_model()?.map(|m| {
                (
                    m.version,
                    m.model.n_results as usize,
                    m.model.kind,
                    m.model.space_hash,
                )
            });
            Ok((
                s.queued_count()? as usize,
                (counts.ok + counts.failed) as usize,
                latest,
                s.starved_targets()?,
            ))
        })
        .await?;
    // A fit is due after `retrain_every` new results, and at once when the latest model is of
    // another kind or for another space (a full retrain).
    let (kind, space) = (config.model.kind.as_str(), config.space.fingerprint());
    let due = latest.as_ref().is_none_or(|(_, at, k, h)| {
        n_results >= at + config.model.retrain_every || k != kind || *h != space
    });
    let want = config.schedule.queue_depth.saturating_sub(queued);
    if !due && want == 0 && starved.is_empty() {
        return Ok(());
    }
    let cfg = config.clone();
    let active = targets.to_vec();
    let _release = ReleaseMemory; // declared first, so it drops after the history
    let history = db.call(move |s| history(s, &cfg, active, starved)).await?;
    let mut version = latest.map(|(v, ..)| v);
    let mut cancelled = 0;
    if due {
        let proposer = proposer.clone();
        let h = history.clone();
        let (fit, seconds, kind) = tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            let mut p = proposer.lock().unwrap_or_else(|e| e.into_inner());
            let fit = p.fit(&h);
            (fit, started.elapsed().as_secs_f64(), p.kind())
        })
        .await
        .expect("fitting does not panic");
        let model = NewModel {
            parent: version,
            kind: kind.to_string(),
            space_hash: config.space.fingerprint(),
            n_results: n_results as u64,
            loss: fit.loss,
            train_seconds: Some(seconds),
            weights: fit.weights,
        };
        let replaces = model.weights.is_some();
        let (v, n) = db
            .call(move |s| {
                let v = s.insert_model(&model)?;
                // Queued proposals of older models give way to the new model's.
                let cancelled = if replaces {
                    s.cancel_queued_except(
                        Some(v),
                        &format!("replaced by the proposals of model version {}", v.0),
                    )?
                } else {
                    0
                };
                Ok((v, cancelled))
            })
            .await?;
        cancelled = n;
        tracing::info!(
            version = v.0,
            n_results,
            kind,
            warm = fit.warm,
            cancelled,
            seconds,
            "proposer refit"
        );
        events.send(Event::Refit {
            version: v.0,
            n_results,
        });
        version = Some(v);
    }
    // A refit that cancelled older proposals emptied part of the queue: recount, and let the
    // believers be what is still live.
    let (want, history) = if cancelled > 0 {
        let (queued, pending) = db
            .call(|s| Ok((s.queued_count()? as usize, s.pending_designs()?)))
            .await?;
        let want = config.schedule.queue_depth.saturating_sub(queued);
        (want, History { pending, ..history })
    } else {
        (want, history)
    };
    if want == 0 && history.starved_targets.is_empty() {
        return Ok(());
    }
    let proposer = proposer.clone();
    let proposals = tokio::task::spawn_blocking(move || {
        proposer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .propose(&history, want)
    })
    .await
    .expect("proposing does not panic");
    if proposals.exhausted && !*exhausted_logged {
        tracing::warn!("the design space is exhausted: every feasible design is in the store");
        *exhausted_logged = true;
    }
    let count = proposals.proposals.len();
    if count > 0 {
        let rows: Vec<NewProposal> = proposals
            .proposals
            .into_iter()
            .map(|p| NewProposal {
                design: p.design,
                origin: p.origin.to_string(),
                model_version: version,
                target: p.target,
            })
            .collect();
        let enqueued = db.call(move |s| s.enqueue(&rows)).await?;
        tracing::info!(queued = enqueued.ids.len(), "proposals queued");
    }
    events.send(Event::Proposed {
        count,
        exhausted: proposals.exhausted,
    });
    Ok(())
}

/// Hands freed heap pages back to the system when dropped. The history of a large store takes
/// a few hundred MB for a moment; without this, glibc keeps them mapped and the idle daemon's
/// resident set stays at its peak.
struct ReleaseMemory;

impl Drop for ReleaseMemory {
    fn drop(&mut self) {
        #[cfg(target_env = "gnu")]
        // SAFETY: malloc_trim only returns free memory to the system; it touches no live allocation.
        unsafe {
            libc::malloc_trim(0);
        }
    }
}

/// The proposer's view of the store: every design's hash, the results, the targets.
fn history(
    s: &mut Store,
    config: &Config,
    targets: Vec<(TargetId, Target)>,
    starved: Vec<TargetId>,
) -> Result<History, StoreError> {
    let mut ok = s.ok_results(&config.objectives)?;
    in_design_order(&mut ok);
    let ok = ok
        .into_iter()
        .map(|r| (r.design, r.values, r.feasible))
        .collect();
    Ok(History {
        seen: s.design_hashes()?,
        ok,
        failed: s.failed_designs()?.into_iter().map(|(_, d, _)| d).collect(),
        pending: s.pending_designs()?,
        targets,
        starved_targets: starved,
    })
}

/// Sort results by design (the order designs entered the store), then by value. Results come
/// back in the order their evaluations finish, which parallel runs and a farm's scheduler
/// change from one night to the next; the proposer learns from the rows in this order, so the
/// same results give the same proposals whatever order they arrived in.
fn in_design_order(ok: &mut [OkResult]) {
    ok.sort_by(|a, b| {
        a.design_id.cmp(&b.design_id).then_with(|| {
            a.values
                .iter()
                .zip(&b.values)
                .map(|(x, y)| x.total_cmp(y))
                .find(|o| o.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(a.feasible.cmp(&b.feasible))
        })
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::space::Design;
    use crate::store::{DesignId, ResultId};

    fn result(id: i64, design: i64, value: f64) -> OkResult {
        OkResult {
            result: ResultId(id),
            design_id: DesignId(design),
            design: Design::default(),
            values: vec![value, 1.0],
            feasible: true,
        }
    }

    #[test]
    fn results_are_learned_in_design_order_whatever_order_they_arrived_in() {
        // Design 2 finished first, then design 1 twice (a duplicate), then design 3.
        let mut a = vec![
            result(1, 2, 5.0),
            result(2, 1, 7.0),
            result(3, 1, 6.0),
            result(4, 3, 1.0),
        ];
        // The same results, arrived the other way round.
        let mut b = vec![
            result(1, 3, 1.0),
            result(2, 1, 6.0),
            result(3, 1, 7.0),
            result(4, 2, 5.0),
        ];
        in_design_order(&mut a);
        in_design_order(&mut b);
        let key = |v: &[OkResult]| -> Vec<(i64, f64)> {
            v.iter().map(|r| (r.design_id.0, r.values[0])).collect()
        };
        assert_eq!(key(&a), vec![(1, 6.0), (1, 7.0), (2, 5.0), (3, 1.0)]);
        assert_eq!(key(&a), key(&b));
    }
}
