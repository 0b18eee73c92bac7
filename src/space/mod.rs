//! The design space: parameters of the hardware generator and the EDA flow, the constraints
//! between them, the objectives, and how designs are drawn from it.

mod design_space;
pub mod encoding;
pub mod expr;
pub mod legalize;
mod objective;
mod param;
pub mod sampling;
mod value;

pub use design_space::{Constraint, DesignError, Space};
pub use objective::{Direction, Objective};
pub use param::{Kind, Layer, Param};
pub use value::{Design, DesignHash, Metrics, Value};
