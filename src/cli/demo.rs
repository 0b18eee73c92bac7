//! `diffuse-dse demo`: the whole loop on the analytical model, in a few seconds.

use std::path::PathBuf;

use super::{CmdResult, Failure, logging, runtime};
use crate::config::Config;
use crate::daemon::Options;
use crate::events::Event;
use crate::store::Store;

/// Write a demo config (the analytical Gemmini model, a batch every 2 s) into a folder, run
/// the real daemon loop for a few scheduled batches, then print the front and the `sqlite3`
/// command that queries it.
#[derive(clap::Args, Debug)]
pub struct DemoCmd {
    /// Scheduled batches to run before stopping.
    #[arg(long, default_value_t = 5)]
    pub batches: usize,
    /// The folder for the config and the store (default: a new folder under the temp dir).
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

const DEMO_CONFIG: &str = include_str!("demo.toml");

impl DemoCmd {
    pub fn run(self) -> CmdResult {
        let dir = self.dir.clone().unwrap_or_else(|| {
            std::env::temp_dir().join(format!("diffuse-dse-demo-{}", std::process::id()))
        });
        std::fs::create_dir_all(&dir)
            .map_err(|e| Failure::runtime(format!("cannot create {}: {e}", dir.display())))?;
        let file = dir.join("config.toml");
        std::fs::write(&file, DEMO_CONFIG)
            .map_err(|e| Failure::runtime(format!("cannot write {}: {e}", file.display())))?;
        let config = Config::load(&file)?;
        logging::init(config.log_level.as_deref());
        let store_path = config.store_path.clone();
        eprintln!(
            "demo: {} ({} parameters, evaluator {}), a batch of {} every 2 s, {} batches. Config and store in {}",
            config.space.name,
            config.space.params.len(),
            config.evaluator.name(),
            config.schedule.batch_size,
            self.batches,
            dir.display()
        );
        let objectives = config.objectives.clone();
        let options = Options::default();
        let mut rx = options.events.subscribe();
        let batches = self.batches;
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        runtime().block_on(async move {
            let watcher = tokio::spawn(async move {
                let mut finished = 0;
                let mut stop = Some(stop_tx);
                while let Ok(e) = rx.recv().await {
                    match e {
                        Event::BatchStarted { batch, size } => {
                            eprintln!("batch {}: evaluating {size} designs", batch.0)
                        }
                        Event::BatchFinished {
                            batch,
                            done,
                            failed,
                            ..
                        } => {
                            eprintln!("batch {}: {done} done, {failed} failed", batch.0);
                        }
                        Event::Front { size, hypervolume } => {
                            eprintln!(
                                "        front: {size} designs, hypervolume {:.1}",
                                hypervolume.unwrap_or(0.0)
                            );
                            finished += 1;
                            if finished >= batches
                                && let Some(tx) = stop.take()
                            {
                                let _ = tx.send(());
                            }
                        }
                        _ => {}
                    }
                }
            });
            let shutdown = async {
                tokio::select! {
                    _ = stop_rx => {}
                    _ = crate::daemon::shutdown_signal() => {}
                }
            };
            let result = crate::daemon::run_with(config, shutdown, options).await;
            watcher.abort();
            result.map_err(Failure::runtime)
        })?;
        let store = Store::open_read_only(&store_path)?;
        let (columns, rows) = store.select(
            &format!(
                "SELECT result_id, {} , mesh_rows, mesh_cols, tile_rows, dataflow, clock_ps, vt_flavour FROM pareto_front ORDER BY latency_ms LIMIT 15",
                objectives.iter().map(|o| format!("\"{}\"", o.name)).collect::<Vec<_>>().join(", ")
            ),
            &[],
        )?;
        println!("\nThe Pareto front (best 15 by latency):\n");
        println!("{}", super::table::Rows { columns, rows }.table());
        println!(
            "\nQuery it yourself:\n  sqlite3 -header -column {} 'SELECT * FROM pareto_front'",
            store_path.display()
        );
        println!(
            "  sqlite3 -header -column {} \"SELECT * FROM best_designs WHERE target = 'edge' LIMIT 5\"",
            store_path.display()
        );
        Ok(())
    }
}
