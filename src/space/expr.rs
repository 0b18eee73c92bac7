//! The constraint expression language (placeholder: being written).
