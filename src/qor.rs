//! Parsing and checking QoR reports (placeholder: being written).
