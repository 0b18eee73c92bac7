//! diffuse-dse: design-space exploration of DNN accelerators.
//!
//! A long-running daemon pulls QoR results from a SQLite store, refits its proposer, keeps a
//! queue of proposals, and runs them in scheduled batches on an evaluator.

pub mod config;
pub mod evaluators;
pub mod pareto;
pub mod perf;
pub mod process;
pub mod qor;
pub mod space;
pub mod workloads;
