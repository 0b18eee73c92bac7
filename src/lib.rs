//! diffuse-dse: design-space exploration of DNN accelerators.
//!
//! A long-running daemon ([`daemon`]) pulls QoR results from a SQLite [`store`], refits its
//! [`proposer`], keeps a queue of proposals, and runs them in scheduled batches ([`runners`])
//! on an [`evaluators`] backend: the analytical Gemmini model by default. The [`config`] file
//! says what to explore ([`space`]), what to optimize and which targets users care about;
//! [`report`] renders a store as one self-contained HTML page.

pub mod bench;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod db;
pub mod diffuse;
pub mod evaluators;
pub mod events;
pub mod front;
pub mod ingest;
pub mod pareto;
pub mod perf;
pub mod process;
pub mod proposer;
pub mod qor;
pub mod report;
pub mod runners;
pub mod space;
pub mod store;
pub mod text;
pub mod workloads;
