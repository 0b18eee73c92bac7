//! The command line: one file per subcommand, each a small clap struct with a `run` method.
//!
//! Data goes to stdout, logs and messages to stderr. Bad input (a config, a flag, a file)
//! prints one clear message per problem and exits 2.

mod batch;
mod bench;
mod best;
mod calibrate;
mod check_config;
mod daemon;
mod demo;
mod evaluate;
mod ingest;
mod initial_design;
mod logging;
mod progress;
mod repair;
mod replay;
mod report;
mod resume;
mod run_task;
mod space;
mod status;
mod table;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// A failed command: what to print and the exit status.
#[derive(Debug)]
pub struct Failure {
    pub code: i32,
    pub message: String,
}

impl Failure {
    /// Bad input from the user (a config, a flag, a file): exit status 2.
    pub fn usage(message: impl ToString) -> Self {
        Self {
            code: 2,
            message: message.to_string(),
        }
    }
    /// Something went wrong while working: exit status 1.
    pub fn runtime(message: impl ToString) -> Self {
        Self {
            code: 1,
            message: message.to_string(),
        }
    }
}

impl From<crate::config::ConfigError> for Failure {
    fn from(e: crate::config::ConfigError) -> Self {
        Failure::usage(e)
    }
}

impl From<crate::store::StoreError> for Failure {
    fn from(e: crate::store::StoreError) -> Self {
        Failure::usage(e)
    }
}

pub type CmdResult = Result<(), Failure>;

/// The config file: `--config FILE`, else `$DIFFUSE_DSE_CONFIG`, else the service's
/// `/etc/diffuse-dse/config.toml`.
#[derive(clap::Args, Debug, Clone)]
pub struct ConfigArg {
    /// The config file.
    #[arg(
        long,
        short = 'c',
        env = "DIFFUSE_DSE_CONFIG",
        default_value = "/etc/diffuse-dse/config.toml"
    )]
    pub config: PathBuf,
}

impl ConfigArg {
    pub fn load(&self) -> Result<crate::config::Config, Failure> {
        Ok(crate::config::Config::load(&self.config)?)
    }
}

#[derive(Parser, Debug)]
#[command(name = "diffuse-dse", version, about = "Design-space exploration of DNN accelerators: a daemon that proposes designs, runs them in scheduled EDA batches and keeps every result in SQLite.", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    Daemon(daemon::DaemonCmd),
    CheckConfig(check_config::CheckConfigCmd),
    Ingest(ingest::IngestCmd),
    Evaluate(evaluate::EvaluateCmd),
    InitialDesign(initial_design::InitialDesignCmd),
    Repair(repair::RepairCmd),
    Space(space::SpaceCmd),
    Best(best::BestCmd),
    Status(status::StatusCmd),
    #[command(subcommand)]
    Batch(batch::BatchCmd),
    Demo(demo::DemoCmd),
    Bench(bench::BenchCmd),
    Resume(resume::ResumeCmd),
    Report(report::ReportCmd),
    Replay(replay::ReplayCmd),
    Calibrate(calibrate::CalibrateCmd),
    RunTask(run_task::RunTaskCmd),
}

/// Run the command line; returns the exit status.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    let result = match cli.command {
        Command::Daemon(c) => c.run(),
        Command::CheckConfig(c) => c.run(),
        Command::Ingest(c) => c.run(),
        Command::Evaluate(c) => c.run(),
        Command::InitialDesign(c) => c.run(),
        Command::Repair(c) => c.run(),
        Command::Space(c) => c.run(),
        Command::Best(c) => c.run(),
        Command::Status(c) => c.run(),
        Command::Batch(c) => c.run(),
        Command::Demo(c) => c.run(),
        Command::Bench(c) => c.run(),
        Command::Resume(c) => c.run(),
        Command::Report(c) => c.run(),
        Command::Replay(c) => c.run(),
        Command::Calibrate(c) => c.run(),
        Command::RunTask(c) => c.run(),
    };
    match result {
        Ok(()) => 0,
        Err(f) => {
            eprintln!("{}", f.message);
            f.code
        }
    }
}

/// A tokio runtime for a command that needs one.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime starts")
}
