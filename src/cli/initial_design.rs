//! `diffuse-dse initial-design`: the scrambled Sobol initial design that DiffuSE and
//! sobol-random start from, as JSON lines, so that another tool (a peer optimizer in
//! `benchmarks/peers/`) can start from the same designs.

use std::io::Write;

use super::{CmdResult, ConfigArg, Failure};
use crate::space::sampling::sobol_design;

/// Print the first N feasible designs of the seeded Sobol sequence, one JSON object per line.
#[derive(clap::Args, Debug)]
pub struct InitialDesignCmd {
    #[command(flatten)]
    pub config: ConfigArg,
    /// How many designs (default: the config's `model.initial_design`).
    #[arg(long)]
    pub n: Option<usize>,
    /// The scrambling seed (default: the config's `seed`).
    #[arg(long)]
    pub seed: Option<u64>,
}

impl InitialDesignCmd {
    pub fn run(self) -> CmdResult {
        let config = self.config.load()?;
        let n = self.n.unwrap_or(config.model.initial_design);
        let seed = self.seed.unwrap_or(config.seed);
        let designs = sobol_design(&config.space, n, seed, &Default::default());
        if designs.len() < n {
            eprintln!(
                "the space has only {} feasible designs; asked for {n}.",
                designs.len()
            );
        }
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        for design in &designs {
            writeln!(out, "{}", design.to_json())
                .map_err(|e| Failure::runtime(format!("stdout: {e}")))?;
        }
        Ok(())
    }
}
