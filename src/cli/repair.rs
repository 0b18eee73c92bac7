//! `diffuse-dse repair`: our repair rule for another tool's proposals. A design that breaks a
//! constraint is replaced by the nearest design of a seeded feasible pool (see
//! [`crate::space::legalize`]); a feasible one passes unchanged.

use std::io::{BufRead, Write};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::evaluate::over_default;
use super::{CmdResult, ConfigArg, Failure};
use crate::space::legalize::Legalizer;

/// Read designs as JSON lines on stdin (parameters left out take their default) and write
/// `{"line": N, "design": {…}, "repaired": bool}` per line, or `{"line": N, "error": "…"}` for
/// a line that is not a design of the space (bad JSON, an unknown name, an illegal value).
#[derive(clap::Args, Debug)]
pub struct RepairCmd {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Seed of the feasible pool.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Uniform draws per round of the feasible pool (as `model.diffuse.feasible_pool_size`).
    #[arg(long, default_value_t = 8192)]
    pub pool: usize,
}

impl RepairCmd {
    pub fn run(self) -> CmdResult {
        if self.pool == 0 {
            return Err(Failure::usage("--pool 0: expected at least 1 draw."));
        }
        let config = self.config.load()?;
        let space = &config.space;
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let legalizer = Legalizer::new(space, self.pool, &mut rng).ok_or_else(|| {
            Failure::usage(format!(
                "no feasible design in {} uniform draws: check space.constraints in {}, or raise --pool.",
                8 * self.pool,
                config.file.display()
            ))
        })?;
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        for (n, line) in std::io::stdin().lock().lines().enumerate() {
            let line = line.map_err(|e| Failure::runtime(format!("stdin: {e}")))?;
            if line.trim().is_empty() {
                continue;
            }
            let design = over_default(&config, &line)
                .and_then(|v| space.values_from_json(&v).map_err(|e| e.to_string()));
            let reply = match design {
                Err(error) => serde_json::json!({"line": n + 1, "error": error}),
                Ok(design) => {
                    let legal = legalizer.repair(&design);
                    serde_json::json!({"line": n + 1, "design": legal.design, "repaired": legal.repaired})
                }
            };
            writeln!(out, "{reply}")
                .and_then(|()| out.flush())
                .map_err(|e| Failure::runtime(format!("stdout: {e}")))?;
        }
        Ok(())
    }
}
