//! Logs: tracing-subscriber to stderr, one line per event, colours only on a terminal.

use std::io::IsTerminal;

/// Install the subscriber. The filter is `RUST_LOG` when set, else `level` (from the config's
/// `[log] level`), else `info`. Calling it twice is harmless.
pub fn init(level: Option<&str>) {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|f| tracing_subscriber::EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new(level.unwrap_or("info")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .try_init();
}
