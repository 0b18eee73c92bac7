//! The design space.
pub mod expr;
mod value;
pub use value::{Design, DesignHash, Metrics, Value};
