//! `diffuse-dse status`: the queue, the model, the next batch and the front, at a glance.

use serde_json::json;

use super::{CmdResult, ConfigArg};
use crate::store::{ProposalState, Store};

/// Print counts per proposal state, the model version, the next batch time, the front size
/// and its hypervolume.
#[derive(clap::Args, Debug)]
pub struct StatusCmd {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

impl StatusCmd {
    pub fn run(self) -> CmdResult {
        let config = self.config.load()?;
        let store = Store::open_read_only(&config.store_path)?;
        let counts = store.state_counts()?;
        let model = store.latest_model()?;
        let front: Vec<Vec<f64>> = store
            .front_points(&config.objectives)?
            .into_iter()
            .map(|p| p.values)
            .collect();
        let hv = crate::front::hypervolume(&config.objectives, &front);
        let next = config.schedule.cron.next_after(chrono::Utc::now());
        let results = store.result_counts()?;
        let paused = crate::runners::breaker::paused(&store)?;
        let count = |s: ProposalState| counts.get(&s).copied().unwrap_or(0);
        let states = ProposalState::ALL;
        if self.json {
            let v = json!({
                "store": config.store_path,
                "proposals": states.iter().map(|s| (s.as_str().to_string(), json!(count(*s)))).collect::<serde_json::Map<_, _>>(),
                "results": { "ok": results.ok, "failed": results.failed, "rejected": results.rejected },
                "model": model.as_ref().map(|m| json!({"version": m.version.0, "kind": m.model.kind, "n_results": m.model.n_results, "created_at": m.created_at})),
                "next_batch": next.map(|t| t.to_rfc3339()),
                "front": { "size": front.len(), "hypervolume": hv },
                "runner": config.runner.kind.name(),
                "dispatch_paused": paused,
            });
            println!(
                "{}",
                serde_json::to_string_pretty(&v).expect("status serializes")
            );
            return Ok(());
        }
        println!("store       {}", config.store_path.display());
        println!(
            "proposals   {}",
            states
                .iter()
                .map(|s| format!("{} {}", s.as_str().to_lowercase(), count(*s)))
                .collect::<Vec<_>>()
                .join(", ")
        );
        println!(
            "results     {} ok, {} failed, {} rejected rows",
            results.ok, results.failed, results.rejected
        );
        match &model {
            Some(m) => println!(
                "model       v{} ({}, fitted on {} results, {})",
                m.version.0, m.model.kind, m.model.n_results, m.created_at
            ),
            None => println!("model       none yet"),
        }
        match next {
            Some(t) => println!(
                "next batch  {} ({}, '{}', {} designs)",
                t.with_timezone(&chrono::Local)
                    .format("%Y-%m-%d %H:%M:%S %Z"),
                humanize((t - chrono::Utc::now()).num_seconds()),
                config.schedule.cron.text,
                config.schedule.batch_size
            ),
            None => println!("next batch  never (the schedule does not fire again)"),
        }
        match &paused {
            Some(reason) => println!("dispatch    PAUSED by the failure breaker: {reason}"),
            None => println!("dispatch    {} runner, running", config.runner.kind.name()),
        }
        match hv {
            Some(hv) => println!("front       {} designs, hypervolume {hv:.6e}", front.len()),
            None => println!("front       empty (no feasible result yet)"),
        }
        Ok(())
    }
}

fn humanize(secs: i64) -> String {
    match secs {
        s if s < 60 => format!("in {s} s"),
        s if s < 3600 => format!("in {} min", s / 60),
        s => format!("in {} h {} min", s / 3600, (s % 3600) / 60),
    }
}
