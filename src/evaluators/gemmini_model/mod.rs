//! The analytical Gemmini model (placeholder: being written).
