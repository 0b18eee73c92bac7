//! `diffuse-dse daemon`: run the daemon in the foreground (systemd runs it this way).

use super::{CmdResult, ConfigArg, Failure, logging, runtime};

/// Run the daemon until SIGINT or SIGTERM; SIGHUP reloads the config.
#[derive(clap::Args, Debug)]
pub struct DaemonCmd {
    #[command(flatten)]
    pub config: ConfigArg,
}

impl DaemonCmd {
    pub fn run(self) -> CmdResult {
        let config = self.config.load()?;
        logging::init(config.log_level.as_deref());
        runtime()
            .block_on(crate::daemon::run(config, crate::daemon::shutdown_signal()))
            .map_err(|e| match e {
                crate::daemon::DaemonError::TaskFailed(_) => Failure::runtime(e),
                e => Failure::usage(e),
            })
    }
}
