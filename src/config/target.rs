//! User targets: goals and bounds on objectives, from `[[targets]]` and `targets.d/*.toml`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use crate::space::Objective;

/// A limit on one objective's value.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Bound {
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// A user target. `goals` are the values the user wants to reach; `bounds` are limits a
/// design must meet to count for the target at all.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Target {
    pub name: String,
    pub description: String,
    pub goals: BTreeMap<String, f64>,
    pub bounds: BTreeMap<String, Bound>,
    /// The file the target came from (the config or a drop-in file).
    #[serde(skip)]
    pub file: PathBuf,
}

impl Target {
    /// The target as stored in the `targets` table (`spec`).
    pub fn spec_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("a target always serializes")
    }

    /// How far a result is from this target, lower is better; `None` when it breaks a bound.
    ///
    /// `score = Σ_goals max(0, sign_j·(y_j − g_j)) / max(|g_j|, ε)`: the relative shortfall
    /// from each goal in the objective's own direction (exceeding a goal costs nothing). Ties,
    /// such as several designs meeting every goal, are broken by `1e-6 · Σ_j sign_j·y_j /
    /// max(|g_j|, ε)` over the goal objectives (or over the bounded ones when there are no goals),
    /// so the better design ranks first.
    pub fn score(&self, objectives: &[Objective], values: &[f64]) -> Option<f64> {
        let mut shortfall = 0.0;
        let mut tie = 0.0;
        for (o, &y) in objectives.iter().zip(values) {
            if let Some(b) = self.bounds.get(&o.name)
                && (b.min.is_some_and(|m| y < m) || b.max.is_some_and(|m| y > m))
            {
                return None;
            }
            let scale_from = self.goals.get(&o.name).copied().or_else(|| {
                let b = self.bounds.get(&o.name)?;
                if self.goals.is_empty() {
                    b.max.or(b.min)
                } else {
                    None
                }
            });
            if let Some(g) = scale_from {
                let scale = g.abs().max(1e-12);
                if self.goals.contains_key(&o.name) {
                    shortfall += (o.minimized(y) - o.minimized(g)).max(0.0) / scale;
                }
                tie += o.minimized(y) / scale;
            }
        }
        Some(shortfall + 1e-6 * tie)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::space::Direction;

    fn obj(name: &str, direction: Direction) -> Objective {
        Objective {
            name: name.into(),
            direction,
            unit: String::new(),
            reference: None,
        }
    }

    #[test]
    fn score_counts_shortfall_in_the_objectives_direction() {
        let objectives = [
            obj("power_mw", Direction::Min),
            obj("fmax_mhz", Direction::Max),
        ];
        let t = Target {
            name: "t".into(),
            description: String::new(),
            goals: [
                ("power_mw".to_string(), 50.0),
                ("fmax_mhz".to_string(), 1000.0),
            ]
            .into(),
            bounds: BTreeMap::new(),
            file: PathBuf::new(),
        };
        let meets = t.score(&objectives, &[40.0, 1200.0]).unwrap();
        let short = t.score(&objectives, &[60.0, 900.0]).unwrap();
        assert!(
            meets < 0.0 + 1e-3 && short > 0.29 && short < 0.31,
            "{meets} {short}"
        );
        // Among designs that meet every goal, the better one ranks first.
        assert!(t.score(&objectives, &[30.0, 1200.0]).unwrap() < meets);
    }

    #[test]
    fn bounds_exclude() {
        let objectives = [obj("area_mm2", Direction::Min)];
        let t = Target {
            name: "small".into(),
            description: String::new(),
            goals: BTreeMap::new(),
            bounds: [(
                "area_mm2".to_string(),
                Bound {
                    min: None,
                    max: Some(0.2),
                },
            )]
            .into(),
            file: PathBuf::new(),
        };
        assert_eq!(t.score(&objectives, &[0.3]), None);
        assert!(t.score(&objectives, &[0.1]).unwrap() < t.score(&objectives, &[0.15]).unwrap());
    }
}
