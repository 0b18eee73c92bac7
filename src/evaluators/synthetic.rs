//! The synthetic test problem (placeholder: being written).
