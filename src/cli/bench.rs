//! `diffuse-dse bench`: samplers side by side on the config's evaluator, over seeds.

use std::path::PathBuf;

use super::{CmdResult, ConfigArg, Failure, logging};
use crate::bench::{self, Plan};
use crate::evaluators::{Cancel, EvalContext};

/// Run DiffuSE, random and Sobol through the daemon's cycle (and peers through
/// benchmarks/peers), measure them against the exact reference front, and write summary.md,
/// summary.csv, runs.csv, reference.csv, hv.svg and the traces into OUT.
#[derive(clap::Args, Debug)]
pub struct BenchCmd {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Samplers, comma-separated: diffuse, diffuse-scratch, random, sobol (run here) and tpe,
    /// nsga2, gp, qlognehvi (run by the peer harness).
    #[arg(long, value_delimiter = ',', default_value = "diffuse,random,sobol")]
    pub samplers: Vec<String>,
    /// Seeds 0..N.
    #[arg(long, default_value_t = 10)]
    pub seeds: u64,
    /// Evaluations per run.
    #[arg(long, default_value_t = 200)]
    pub budget: usize,
    /// Proposals per batch.
    #[arg(long, default_value_t = 8)]
    pub batch: usize,
    /// Parameters the exact reference walk holds, comma-separated: `NAME` at its default or
    /// `NAME=VALUE` (floats not named are held at their defaults; names this space lacks are
    /// skipped).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "sp_banks,acc_banks,retime,max_fanout,flatten"
    )]
    pub fix: Vec<String>,
    /// The output folder.
    #[arg(short, long)]
    pub out: PathBuf,
    /// Read the traces of an earlier run's output folder for the (sampler, seed) pairs it has,
    /// instead of running them again.
    #[arg(long)]
    pub reuse: Option<PathBuf>,
    /// The peer harness folder.
    #[arg(long, default_value = "benchmarks/peers")]
    pub peers_dir: PathBuf,
}

const PEERS: [&str; 4] = ["tpe", "nsga2", "gp", "qlognehvi"];

impl BenchCmd {
    pub fn run(self) -> CmdResult {
        let config = self.config.load()?;
        logging::init(Some("warn"));
        for s in &self.samplers {
            if !bench::run::OWN.contains(&s.as_str()) && !PEERS.contains(&s.as_str()) {
                return Err(Failure::usage(format!(
                    "--samplers: unknown sampler {s:?}; expected {} or {}",
                    bench::run::OWN.join(", "),
                    PEERS.join(", ")
                )));
            }
        }
        if self.budget == 0 || self.batch == 0 || self.seeds == 0 {
            return Err(Failure::usage(
                "--budget, --batch and --seeds must be at least 1",
            ));
        }
        let mut held = crate::space::Design::default();
        for entry in &self.fix {
            let (name, value) = entry
                .split_once('=')
                .map_or((entry.as_str(), None), |(n, v)| (n, Some(v)));
            let Some(param) = config.space.param(name) else {
                if value.is_some() {
                    return Err(Failure::usage(format!(
                        "--fix {entry}: no parameter {name:?} in the space"
                    )));
                }
                continue; // a default name this space does not have
            };
            let value = match value {
                None => param.default.clone(),
                Some(v) => param
                    .parse_text(v)
                    .map_err(|e| Failure::usage(format!("--fix {entry}: {e}")))?,
            };
            held.set(name, value);
        }
        std::fs::create_dir_all(&self.out)
            .map_err(|e| Failure::usage(format!("-o {}: {e}", self.out.display())))?;
        eprintln!("reference front: building it…");
        let mut reference = bench::reference::for_bench(&config, &held).map_err(Failure::usage)?;
        if reference.enumerated > 0 {
            eprintln!(
                "reference front: {} points from {} designs in {:.1} s",
                reference.points.len(),
                reference.enumerated,
                reference.seconds
            );
        } else {
            eprintln!("reference front: {}", reference.note);
        }
        let plan = Plan {
            samplers: self.samplers.clone(),
            seeds: (0..self.seeds).collect(),
            budget: self.budget,
            batch: self.batch,
            out: self.out.clone(),
            reuse: self.reuse.clone(),
            peers_dir: self.peers_dir.clone(),
            binary: std::env::current_exe().unwrap_or_else(|_| "diffuse-dse".into()),
        };
        let runs = bench::run_plan(&config, &plan).map_err(|e| Failure::usage(e.to_string()))?;
        reference.merge(runs.iter().flat_map(|r| r.trace(&config)).flatten());
        let evaluator = config.evaluator.build().map_err(Failure::usage)?;
        let ctx = EvalContext {
            workdir: self.out.clone(),
            timeout: config.runner.timeout,
            cancel: Cancel::new(),
        };
        let default = evaluator
            .evaluate(&config.space.default_design(), &ctx)
            .ok()
            .and_then(|m| config.objective_values(&m));
        let command: Vec<String> = std::env::args().collect();
        let md = bench::write_outputs(
            &config,
            &plan,
            &reference,
            &runs,
            default.as_deref(),
            &command.join(" "),
            &bench::machine(),
        )
        .map_err(|e| Failure::usage(e.to_string()))?;
        println!("{md}");
        Ok(())
    }
}
