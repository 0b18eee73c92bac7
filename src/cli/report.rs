//! `diffuse-dse report`: write one self-contained HTML page about a store.

use std::path::PathBuf;

use super::{CmdResult, Failure};
use crate::report::{Limits, build};
use crate::store::{Store, StoreError};

/// Read a store (read-only: a running daemon is not disturbed) and write an HTML report with
/// the Pareto front, the hypervolume per batch, the best designs per target, parallel
/// coordinates, the model history, the failures and a sortable design table. The page needs no
/// network: open it from a file anywhere.
#[derive(clap::Args, Debug)]
pub struct ReportCmd {
    /// The store: the daemon's SQLite file (`[store] path` in the config).
    #[arg(long)]
    pub store: PathBuf,
    /// The HTML file to write (replaced if it exists).
    #[arg(long, short = 'o')]
    pub output: PathBuf,
    /// At most this many designs in the plots and the table: the front and the best per target
    /// always, then the newest. Keeps the page quick to open for a large store.
    #[arg(long, default_value_t = 5000)]
    pub max_designs: usize,
}

impl ReportCmd {
    pub fn run(self) -> CmdResult {
        eprintln!("report: reading {}", self.store.display());
        let store = Store::open_read_only(&self.store).map_err(not_a_store)?;
        let limits = Limits {
            max_designs: self.max_designs,
            ..Limits::default()
        };
        let (data, html) = build(&store, limits)?;
        write_atomically(&self.output, &html)?;
        eprintln!(
            "report: wrote {} ({} KiB): {} of {} results, {} batches, {} model versions, {} failures",
            self.output.display(),
            html.len().div_ceil(1024),
            data.results.len(),
            data.results_total,
            data.batches.len(),
            data.models.len(),
            data.failures["total"]
        );
        Ok(())
    }
}

/// A SQLite file that never had diffuse-dse's schema (`user_version` 0: an empty file, or
/// another program's database) is "not a diffuse-dse store", not a store to migrate.
fn not_a_store(e: StoreError) -> Failure {
    match e {
        StoreError::NotMigrated { path, found: 0, .. } => Failure::usage(format!(
            "{} is not a diffuse-dse store (a SQLite file without its schema); give the daemon's store file ([store] path in the config)",
            path.display()
        )),
        e => Failure::usage(e),
    }
}

/// Writes `text` to a temporary file beside `path`, then renames it over `path`, so a reader
/// never sees half a page.
fn write_atomically(path: &std::path::Path, text: &str) -> Result<(), Failure> {
    let name = path
        .file_name()
        .ok_or_else(|| Failure::usage(format!("-o {}: expected a file name", path.display())))?;
    let tmp = path.with_file_name(format!(".{}.tmp", name.to_string_lossy()));
    let fail = |e: std::io::Error| Failure::usage(format!("cannot write {}: {e}", path.display()));
    std::fs::write(&tmp, text).map_err(fail)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        fail(e)
    })
}
