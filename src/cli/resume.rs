//! `diffuse-dse resume`: lift the failure breaker's pause on dispatch.

use super::{CmdResult, ConfigArg};
use crate::runners::breaker;
use crate::store::Store;

/// Let batches be dispatched again after the failure breaker paused them.
#[derive(clap::Args, Debug)]
pub struct ResumeCmd {
    #[command(flatten)]
    pub config: ConfigArg,
}

impl ResumeCmd {
    pub fn run(self) -> CmdResult {
        let config = self.config.load()?;
        let mut store = Store::open(&config.store_path)?;
        match breaker::reset(&mut store)? {
            Some(reason) => eprintln!("dispatch resumed (it was paused: {reason})"),
            None => eprintln!("dispatch was not paused"),
        }
        Ok(())
    }
}
