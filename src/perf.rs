//! Gemmini cycle and traffic model (placeholder: being written).
