//! `diffuse-dse batch run`: run one batch now, in the foreground, with a progress bar.

use super::progress::Progress;
use super::{CmdResult, ConfigArg, Failure, logging, runtime};
use crate::db::Db;
use crate::evaluators::Cancel;
use crate::events::{Event, Events};
use crate::ingest::ingest_pass;
use crate::runners::Dispatched;
use crate::store::Store;

#[derive(clap::Subcommand, Debug)]
pub enum BatchCmd {
    /// Claim up to batch_size queued proposals and evaluate them now (Ctrl-C stops the
    /// evaluations and queues their proposals again). Queues proposals first if none are.
    Run {
        #[command(flatten)]
        config: ConfigArg,
    },
}

impl BatchCmd {
    pub fn run(self) -> CmdResult {
        let BatchCmd::Run { config } = self;
        let config = config.load()?;
        logging::init(config.log_level.as_deref().or(Some("warn")));
        let evaluator = config.evaluator.build().map_err(Failure::usage)?;
        let cancel = Cancel::new();
        {
            let cancel = cancel.clone();
            ctrlc::set_handler(move || {
                eprintln!("\nstopping: killing the running evaluations; their proposals go back to the queue");
                cancel.cancel();
            })
            .map_err(|e| Failure::runtime(format!("cannot install the Ctrl-C handler: {e}")))?;
        }
        runtime().block_on(async {
            let store = Store::open(&config.store_path)?;
            let db = Db::new(store);
            let cfg = std::sync::Arc::new(config.clone());
            crate::daemon::prepare_store(&db, &cfg).await?;
            crate::daemon::top_up(&db, &cfg).await?;
            let events = Events::new();
            let mut rx = events.subscribe();
            let n = config.schedule.batch_size;
            let shown = tokio::spawn(async move {
                let mut bar: Option<Progress> = None;
                while let Ok(e) = rx.recv().await {
                    match e {
                        Event::BatchStarted { batch, size } => bar = Some(Progress::new(format!("batch {}", batch.0), size.min(n))),
                        Event::Evaluated { ok, error, .. } => {
                            if let Some(b) = bar.as_mut() {
                                b.step(ok, error.as_deref());
                            }
                        }
                        Event::BatchFinished { .. } => break,
                        _ => {}
                    }
                }
            });
            let outcome = crate::runners::claim_and_run(&db, &config, evaluator, "manual", &cancel, &events).await?;
            let _ = shown.await;
            let (batch, report) = match outcome {
                None => {
                    eprintln!("nothing is queued and the proposer found no new design: the space is exhausted.");
                    return Ok(());
                }
                Some(Dispatched::Submitted { batch, job_id, size }) => {
                    eprintln!(
                        "batch {}: {size} proposals submitted to {} as job {job_id}; the daemon brings the results back from {}",
                        batch.0,
                        config.runner.kind.name(),
                        crate::runners::batch_dir::batch_dir(&config.runner.runs_dir, batch).display()
                    );
                    return Ok(());
                }
                Some(Dispatched::Ran(batch, report)) => (batch, report),
            };
            let c = cfg.clone();
            let summary = db
                .call(move |s| {
                    let targets = crate::daemon::sync_targets(s, &c)?;
                    ingest_pass(s, &c, &targets)
                })
                .await?;
            for (id, reason) in &summary.rejected {
                eprintln!("inbox row {id} rejected: {reason}");
            }
            eprintln!(
                "batch {}: {} done, {} failed, {} queued again{}",
                batch.0,
                report.done,
                report.failed,
                report.requeued,
                summary.front.map_or(String::new(), |(size, hv)| format!(
                    "; front {size} designs, hypervolume {:.6e}",
                    hv.unwrap_or(0.0)
                ))
            );
            if report.requeued > 0 {
                return Err(Failure { code: 130, message: "interrupted".into() });
            }
            Ok::<(), Failure>(())
        })
    }
}
