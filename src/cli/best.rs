//! `diffuse-dse best`: the best designs, from the `pareto_front` and `best_designs` views.

use super::table::{Format, Rows};
use super::{CmdResult, ConfigArg, Failure};
use crate::store::Store;

/// Print the Pareto front, or the ranking for one target. Reads the same views a user would
/// query with `sqlite3`.
#[derive(clap::Args, Debug)]
pub struct BestCmd {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Rank for this target (a `[[targets]]` name) instead of printing the front.
    #[arg(long)]
    pub target: Option<String>,
    /// At most this many designs.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    #[command(flatten)]
    pub format: Format,
}

impl BestCmd {
    pub fn run(self) -> CmdResult {
        let config = self.config.load()?;
        let store = Store::open_read_only(&config.store_path)?;
        let limit = self.limit as i64;
        let rows = match &self.target {
            None => {
                let first = &config.objectives[0].name;
                store.select(
                    &format!("SELECT * FROM pareto_front ORDER BY \"{first}\" LIMIT ?1"),
                    &[&limit],
                )?
            }
            Some(name) => {
                if !config.targets.iter().any(|t| &t.name == name) {
                    let known: Vec<&str> = config.targets.iter().map(|t| t.name.as_str()).collect();
                    return Err(Failure::usage(format!(
                        "--target {name}: no such target in {} (targets: {}).",
                        config.file.display(),
                        if known.is_empty() {
                            "none".to_string()
                        } else {
                            known.join(", ")
                        }
                    )));
                }
                store.select(
                    "SELECT * FROM best_designs WHERE target = ?1 ORDER BY rank LIMIT ?2",
                    &[name as &dyn rusqlite::ToSql, &limit],
                )?
            }
        };
        let rows = Rows {
            columns: rows.0,
            rows: rows.1,
        };
        if rows.rows.is_empty() && !self.format.json {
            eprintln!(
                "No feasible result yet{}: the front is empty.",
                self.target
                    .as_ref()
                    .map_or(String::new(), |t| format!(" for target '{t}'"))
            );
            return Ok(());
        }
        self.format.print(&rows);
        Ok(())
    }
}
