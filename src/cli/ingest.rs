//! `diffuse-dse ingest FILE`: put results from a CSV or JSON file into the store.

use std::path::PathBuf;

use super::{CmdResult, ConfigArg, Failure};
use crate::ingest::{ingest_pass, read_results_file};
use crate::store::Store;

/// Read results (CSV with parameter and metric columns, a JSON array, or JSON lines) into the
/// store's inbox and validate them at once. Bad rows are rejected with their reason and
/// listed; good rows are kept either way.
#[derive(clap::Args, Debug)]
pub struct IngestCmd {
    #[command(flatten)]
    pub config: ConfigArg,
    /// The results file.
    pub file: PathBuf,
}

impl IngestCmd {
    pub fn run(self) -> CmdResult {
        let config = self.config.load()?;
        let rows = read_results_file(&self.file, &config).map_err(Failure::usage)?;
        let mut store = Store::open(&config.store_path)?;
        crate::daemon::sync_store(&mut store, &config, false)?;
        let n = store.insert_inbox(&rows)?;
        let targets = crate::daemon::sync_targets(&mut store, &config)?;
        let summary = ingest_pass(&mut store, &config, &targets)?;
        for (id, reason) in &summary.rejected {
            eprintln!("{}: inbox row {id} rejected: {reason}", self.file.display());
        }
        eprintln!(
            "{}: {n} rows read, {} accepted, {} rejected{}",
            self.file.display(),
            summary.accepted,
            summary.rejected.len(),
            summary.front.map_or(String::new(), |(size, _)| format!(
                "; the front has {size} designs"
            ))
        );
        Ok(())
    }
}
