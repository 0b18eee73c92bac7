//! Pareto dominance and exact hypervolume (placeholder: being written).
