//! Where the daemon's time comes from. Tests pause tokio's clock and read the same time here.

use chrono::{DateTime, Utc};

/// The wall clock, or a clock that starts at a fixed time and advances with tokio's (possibly
/// paused) clock, so schedules can be tested with `tokio::time::pause()` and `advance()`.
#[derive(Clone, Debug, Default)]
pub enum Clock {
    #[default]
    System,
    Tokio {
        start: DateTime<Utc>,
        origin: tokio::time::Instant,
    },
}

impl Clock {
    /// A clock reading `start` now, advancing with tokio's clock.
    pub fn starting_at(start: DateTime<Utc>) -> Self {
        Clock::Tokio {
            start,
            origin: tokio::time::Instant::now(),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Clock::System => Utc::now(),
            Clock::Tokio { start, origin } => {
                *start
                    + chrono::Duration::from_std(origin.elapsed()).unwrap_or(chrono::Duration::MAX)
            }
        }
    }
}
