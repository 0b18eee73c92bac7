//! The config file: raw TOML, then a validated [`Config`].
mod problem;
pub use problem::Problem;
