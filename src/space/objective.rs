//! Objectives: the QoR metrics to optimize, and their directions.

use serde::{Deserialize, Serialize};

/// Whether smaller or larger values of a metric are better.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Min,
    Max,
}

impl Direction {
    /// `+1` for min and `-1` for max, so that `sign · value` is always minimized.
    pub fn sign(self) -> f64 {
        match self {
            Direction::Min => 1.0,
            Direction::Max => -1.0,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Min => "min",
            Direction::Max => "max",
        }
    }
}

/// A QoR metric to optimize, e.g. `latency_ms`, minimized, with a hypervolume reference.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Objective {
    /// The metric's name as the evaluator reports it.
    pub name: String,
    pub direction: Direction,
    /// Free text for people, e.g. `ms`.
    pub unit: String,
    /// The worst acceptable value: the hypervolume reference point in this objective.
    pub reference: Option<f64>,
}

impl Objective {
    /// The value in minimization form: `sign · value`.
    pub fn minimized(&self, value: f64) -> f64 {
        self.direction.sign() * value
    }
}
