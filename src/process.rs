//! Running child processes (placeholder: being written).
