//! `diffuse-dse replay DESIGN_ID DIR`: write the RTL, the tool scripts and a `run.sh` that
//! re-runs the asap7 flow of a stored design by hand; `replay --check DIR` (the last line of
//! `run.sh`) compares the QoR of the fresh reports with the stored one.

use std::path::{Path, PathBuf};

use super::{CmdResult, ConfigArg, Failure};
use crate::config::Config;
use crate::evaluators::EvaluatorConfig;
use crate::evaluators::asap7::Asap7Evaluator;
use crate::evaluators::asap7::replay::{self, Manifest};
use crate::store::{DesignId, Store};

/// The largest relative difference a replay may show and still reproduce the stored QoR
/// (the tools are deterministic: this only allows for the last bits of the arithmetic).
const TOLERANCE: f64 = 1e-9;

/// Write a folder that re-runs the asap7 flow of one stored design by hand.
#[derive(clap::Args, Debug)]
pub struct ReplayCmd {
    #[command(flatten)]
    pub config: ConfigArg,
    /// The design's id in the store (the `design_id` that `best` and `status` show).
    #[arg(required_unless_present = "check")]
    pub design_id: Option<i64>,
    /// The folder to write; created, and it must not exist yet or be empty.
    #[arg(required_unless_present = "check")]
    pub dir: Option<PathBuf>,
    /// Compare the QoR the reports in this replay folder give (after its run.sh ran) with the
    /// stored QoR; exits 1 when they differ.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["design_id", "dir"])]
    pub check: Option<PathBuf>,
}

impl ReplayCmd {
    pub fn run(self) -> CmdResult {
        match (&self.check, self.design_id, &self.dir) {
            (Some(dir), _, _) => check(dir),
            (None, Some(id), Some(dir)) => self.write(id, dir),
            _ => Err(Failure::usage(
                "replay: give DESIGN_ID DIR, or --check DIR.",
            )),
        }
    }

    fn write(&self, id: i64, dir: &Path) -> CmdResult {
        let config = self.config.load()?;
        let ev = evaluator(&config)?;
        let store = Store::open_read_only(&config.store_path)?;
        let design = store.design(DesignId(id))?.ok_or_else(|| {
            Failure::usage(format!(
                "replay: there is no design {id} in {}.",
                config.store_path.display()
            ))
        })?;
        let stored = store
            .stored_results()?
            .into_iter()
            .rfind(|r| r.design_id == DesignId(id))
            .ok_or_else(|| {
                Failure::usage(format!(
                    "replay: design {id} has no OK result in {} to reproduce.",
                    config.store_path.display()
                ))
            })?;
        if dir.exists()
            && std::fs::read_dir(dir)
                .map(|mut d| d.next().is_some())
                .unwrap_or(true)
        {
            return Err(Failure::usage(format!(
                "replay: {} exists and is not empty; give a new folder.",
                dir.display()
            )));
        }
        std::fs::create_dir_all(dir)
            .map_err(|e| Failure::runtime(format!("cannot create {}: {e}", dir.display())))?;
        let manifest = Manifest {
            config: std::path::absolute(&config.file).unwrap_or(config.file.clone()),
            design_id: id,
            design,
            stored: stored.metrics,
        };
        let exe = std::env::current_exe()
            .map_err(|e| Failure::runtime(format!("cannot find this program's path: {e}")))?;
        replay::write(&ev, &manifest, dir, &exe).map_err(|e| Failure::runtime(e.to_string()))?;
        println!("{}", dir.join("run.sh").display());
        eprintln!(
            "wrote the RTL and scripts of design {id} to {}; run {} to re-run the flow and compare",
            dir.display(),
            dir.join("run.sh").display()
        );
        Ok(())
    }
}

/// The asap7 evaluator of `config`, or a usage error naming the evaluator it has.
fn evaluator(config: &Config) -> Result<Asap7Evaluator, Failure> {
    match &config.evaluator {
        EvaluatorConfig::Asap7 { settings, base_dir } => {
            Asap7Evaluator::new(settings, base_dir).map_err(Failure::usage)
        }
        other => Err(Failure::usage(format!(
            "replay: {} uses the {} evaluator; replay needs [evaluator] name = \"asap7\".",
            config.file.display(),
            other.name()
        ))),
    }
}

fn check(dir: &Path) -> CmdResult {
    let path = dir.join("replay.json");
    let manifest: Manifest = std::fs::read_to_string(&path)
        .map_err(|e| e.to_string())
        .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
        .map_err(|e| Failure::usage(format!("replay --check: {}: {e}", path.display())))?;
    let config = Config::load(&manifest.config)?;
    let ev = evaluator(&config)?;
    let qor = replay::replayed(&ev, &manifest, dir).map_err(|e| Failure::runtime(e.to_string()))?;
    let rows = replay::compare(&manifest.stored, &qor.metrics);
    println!(
        "{:<12} {:>20} {:>20} {:>10}",
        "metric", "stored", "replayed", "rel_diff"
    );
    for (name, stored, replayed, rel) in &rows {
        let shown = replayed.map_or("-".to_string(), |r| format!("{r}"));
        println!("{name:<12} {stored:>20} {shown:>20} {rel:>10.2e}");
    }
    if rows.iter().all(|(_, _, _, rel)| *rel <= TOLERANCE) {
        eprintln!(
            "the replay of design {} reproduces the stored QoR",
            manifest.design_id
        );
        Ok(())
    } else {
        Err(Failure::runtime(format!(
            "the replay of design {} differs from the stored QoR (tolerance {TOLERANCE:e})",
            manifest.design_id
        )))
    }
}
