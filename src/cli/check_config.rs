//! `diffuse-dse check-config FILE`: report every problem of a config, or say it is fine.

use std::path::PathBuf;

use super::CmdResult;
use crate::config::Config;

/// Check a config file and its drop-in targets; print every problem as
/// `file:line:column: field: message` and exit 2, or print a summary and exit 0.
#[derive(clap::Args, Debug)]
pub struct CheckConfigCmd {
    /// The config file to check.
    pub file: PathBuf,
}

impl CheckConfigCmd {
    pub fn run(self) -> CmdResult {
        let config = Config::load(&self.file)?;
        let s = &config.space;
        println!(
            "{}: ok. Space '{}': {} parameters ({} hw, {} eda), {} constraints, {:.3e} grid points; {} objectives; {} targets; evaluator {}; batches at '{}' ({} designs each).",
            config.file.display(),
            s.name,
            s.params.len(),
            s.params
                .iter()
                .filter(|p| p.layer == crate::space::Layer::Hw)
                .count(),
            s.params
                .iter()
                .filter(|p| p.layer == crate::space::Layer::Eda)
                .count(),
            s.constraints.len(),
            s.grid_size(),
            config.objectives.len(),
            config.targets.len(),
            config.evaluator.name(),
            config.schedule.cron.text,
            config.schedule.batch_size,
        );
        Ok(())
    }
}
