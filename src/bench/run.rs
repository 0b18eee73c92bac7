//! One benchmark run: a fresh store, and the daemon's own cycle (ingest, refit when due,
//! top up the queue) and local runner, back to back without waiting for the schedule, until
//! the budget is spent. Peers run through their harness and come back as the same trace.

use std::io::BufRead;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::BenchError;
use crate::config::{Config, ProposerKind};
use crate::db::Db;
use crate::evaluators::Cancel;
use crate::events::Events;
use crate::ingest::ingest_pass;
use crate::runners::Dispatched;
use crate::space::Design;
use crate::store::Store;

/// One evaluation, in the order it was spent.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Evaluation {
    pub params: Design,
    /// The objectives' raw values; `None` for a failed evaluation.
    pub values: Option<Vec<f64>>,
    /// Met every outcome constraint.
    pub feasible: bool,
    /// Seconds the proposer spent per proposal in the cycle that proposed it.
    pub propose_seconds: f64,
}

/// The samplers the daemon itself runs.
pub const OWN: [&str; 4] = ["diffuse", "diffuse-scratch", "random", "sobol"];

/// The config for one run of an own sampler: a store in `dir`, the seed, batch and queue of
/// `batch`, and the proposer. `diffuse-scratch` retrains from scratch at every fit (the
/// comparison for incremental retraining); `sobol` serves a Sobol design of the whole budget.
pub fn run_config(
    base: &Config,
    sampler: &str,
    seed: u64,
    budget: usize,
    batch: usize,
    dir: &Path,
) -> Config {
    let mut c = base.clone();
    c.store_path = dir.join("bench.db");
    c.seed = seed;
    c.schedule.batch_size = batch;
    c.schedule.queue_depth = batch;
    c.model.retrain_every = batch;
    c.targets.clear();
    match sampler {
        "diffuse" => c.model.kind = ProposerKind::Diffuse,
        "diffuse-scratch" => {
            c.model.kind = ProposerKind::Diffuse;
            c.model.full_retrain_every = 1;
        }
        "random" => {
            c.model.kind = ProposerKind::SobolRandom;
            c.model.initial_design = 0;
        }
        "sobol" => {
            c.model.kind = ProposerKind::SobolRandom;
            c.model.initial_design = budget;
        }
        other => panic!("not an own sampler: {other}"),
    }
    c
}

/// How often a run reports its progress on stderr: an EDA flow's run takes hours, an
/// analytical one seconds (and then says nothing until it ends).
const PROGRESS_EVERY: Duration = Duration::from_secs(30);

/// Run an own sampler to `budget` evaluations (fewer if the space runs out), reporting
/// progress as `label` at most every [`PROGRESS_EVERY`]. Returns the evaluations and the
/// seconds spent in fits.
pub fn run_own(
    config: &Config,
    budget: usize,
    label: &str,
) -> Result<(Vec<Evaluation>, f64), BenchError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let evaluator = config
        .evaluator
        .build()
        .map_err(|e| BenchError::Setup(format!("the evaluator cannot start: {e}")))?;
    rt.block_on(async {
        let db = Db::new(Store::open(&config.store_path)?);
        let cfg = Arc::new(config.clone());
        crate::daemon::prepare_store(&db, &cfg).await?;
        let (cancel, events) = (Cancel::new(), Events::new());
        let mut seconds: Vec<(usize, f64)> = Vec::new();
        let mut done = db.call(|s| s.result_count()).await? as usize;
        let (started, mut reported) = (Instant::now(), Instant::now());
        while done < budget {
            let queued_before = db.call(|s| s.queued_count()).await?;
            let t = Instant::now();
            crate::daemon::top_up(&db, &cfg).await?;
            let spent = t.elapsed().as_secs_f64();
            let queued = db.call(|s| s.queued_count()).await?;
            let proposed = queued.saturating_sub(queued_before).max(1);
            seconds.push((done, spent / proposed as f64));
            match crate::runners::claim_and_run(
                &db,
                &cfg,
                evaluator.clone(),
                "bench",
                &cancel,
                &events,
            )
            .await?
            {
                Some(Dispatched::Ran(..)) => {}
                _ => break,
            }
            let c = cfg.clone();
            db.call(move |s| {
                let targets = crate::daemon::sync_targets(s, &c)?;
                ingest_pass(s, &c, &targets).map(|_| ())
            })
            .await?;
            let now = db.call(|s| s.result_count()).await? as usize;
            if now == done {
                break; // nothing came back: the space is exhausted
            }
            done = now;
            if reported.elapsed() >= PROGRESS_EVERY && done < budget {
                eprintln!(
                    "  {label}: {done}/{budget} evaluations after {:.0} s",
                    started.elapsed().as_secs_f64()
                );
                reported = Instant::now();
            }
        }
        let objectives = config.objectives.clone();
        let (order, ok, failed, train_seconds) = db
            .call(move |s| {
                Ok((
                    s.result_order()?,
                    s.ok_results(&objectives)?,
                    s.failed_designs()?,
                    s.total_train_seconds()?,
                ))
            })
            .await?;
        let mut ok = ok
            .into_iter()
            .map(|r| (r.result, r))
            .collect::<std::collections::HashMap<_, _>>();
        let mut failed = failed.into_iter();
        let per_result = |i: usize| {
            seconds
                .iter()
                .rev()
                .find(|(at, _)| *at <= i)
                .map_or(0.0, |(_, s)| *s)
        };
        let evaluations = order
            .into_iter()
            .take(budget)
            .enumerate()
            .map(|(i, (id, is_ok))| match ok.remove(&id).filter(|_| is_ok) {
                Some(r) => Evaluation {
                    params: r.design,
                    values: Some(r.values),
                    feasible: r.feasible,
                    propose_seconds: per_result(i),
                },
                None => Evaluation {
                    params: failed.next().map(|(_, d, _)| d).unwrap_or_default(),
                    values: None,
                    feasible: false,
                    propose_seconds: per_result(i),
                },
            })
            .collect::<Vec<_>>();
        Ok((evaluations, train_seconds))
    })
    .map_err(BenchError::Store)
}

/// Read a trace: one JSON object per evaluation with `params`, `propose_seconds`, and either
/// `metrics` (or null; the peer harness, `benchmarks/peers/run.py`) or `values` and `feasible`
/// (our own runs' traces).
pub fn read_trace(config: &Config, path: &Path) -> Result<Vec<Evaluation>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = Vec::new();
    for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| format!("{}: {e}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        let bad = |what: String| format!("{}:{}: {what}", path.display(), n + 1);
        let v: serde_json::Value =
            serde_json::from_str(&line).map_err(|e| bad(format!("not JSON: {e}")))?;
        let params = config
            .space
            .design_from_json(&v["params"])
            .map_err(|e| bad(format!("params: {e}")))?;
        // A peer trace names its metrics; our own traces list the objectives' values.
        let metrics = v["metrics"].as_object();
        let values = match metrics {
            Some(m) => config
                .objectives
                .iter()
                .map(|o| {
                    m.get(&o.name)
                        .and_then(|x| x.as_f64())
                        .filter(|x| x.is_finite())
                })
                .collect::<Option<Vec<f64>>>(),
            None => v["values"].as_array().and_then(|a| {
                a.iter()
                    .map(|x| x.as_f64().filter(|x| x.is_finite()))
                    .collect::<Option<Vec<f64>>>()
                    .filter(|a| a.len() == config.objectives.len())
            }),
        };
        let feasible = values.is_some()
            && match metrics {
                Some(m) => {
                    let mut metrics = crate::space::Metrics::default();
                    for (k, x) in m {
                        if let Some(x) = x.as_f64() {
                            metrics.insert(k, x);
                        }
                    }
                    config.outcome_feasible(&metrics)
                }
                None => v["feasible"].as_bool().unwrap_or(false),
            };
        out.push(Evaluation {
            params,
            values,
            feasible,
            propose_seconds: v["propose_seconds"].as_f64().unwrap_or(0.0),
        });
    }
    Ok(out)
}
