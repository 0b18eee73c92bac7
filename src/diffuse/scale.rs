//! The common QoR scales (PORTING §2.4).
//!
//! The conditioning and prediction scale `q`: per objective, `z = sign·(ln y)` when the values
//! are positive and span a ratio of 10 to 1e6 (else `z = sign·y`), then
//! `q = (z − min z)/max(max z − min z, 1e-12)`, so 0 is the best value seen and 1 the worst.
//! The hypervolume scale `h = (sign·y − min)/max(range, 1e-12)` stays linear.

use serde::{Deserialize, Serialize};

use crate::space::Objective;

/// One objective's affine maps, fitted on the results so far.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Axis {
    pub sign: f64,
    pub log: bool,
    /// `min z` and `max(max z − min z, 1e-12)` of the q scale.
    pub q_min: f64,
    pub q_span: f64,
    /// The same for the linear h scale (`sign·y`).
    pub h_min: f64,
    pub h_span: f64,
}

/// The scales of every objective.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scale {
    pub axes: Vec<Axis>,
}

impl Scale {
    /// Fit on raw objective rows (each row one value per objective; at least one row).
    pub fn fit(objectives: &[Objective], rows: &[Vec<f64>]) -> Self {
        let axes = objectives
            .iter()
            .enumerate()
            .map(|(j, o)| {
                let sign = o.direction.sign();
                let col: Vec<f64> = rows.iter().map(|r| r[j]).collect();
                let (lo, hi) = bounds(col.iter().copied());
                let log = lo > 0.0 && (10.0..=1e6).contains(&(hi / lo));
                let z = |y: f64| sign * if log { y.ln() } else { y };
                let (q_min, q_max) = bounds(col.iter().map(|&y| z(y)));
                let (h_min, h_max) = bounds(col.iter().map(|&y| sign * y));
                Axis {
                    sign,
                    log,
                    q_min,
                    q_span: (q_max - q_min).max(1e-12),
                    h_min,
                    h_span: (h_max - h_min).max(1e-12),
                }
            })
            .collect();
        Self { axes }
    }

    /// Raw values → q.
    pub fn to_q(&self, y: &[f64]) -> Vec<f64> {
        (0..self.axes.len()).map(|j| self.q_of(j, y[j])).collect()
    }

    /// One objective's raw value → q.
    pub fn q_of(&self, j: usize, y: f64) -> f64 {
        let a = &self.axes[j];
        let z = a.sign
            * if a.log {
                y.max(f64::MIN_POSITIVE).ln()
            } else {
                y
            };
        (z - a.q_min) / a.q_span
    }

    /// q → raw values (exp clipped to ±700 for logged objectives).
    pub fn from_q(&self, q: &[f64]) -> Vec<f64> {
        self.axes
            .iter()
            .zip(q)
            .map(|(a, &q)| {
                let z = a.sign * (q * a.q_span + a.q_min);
                if a.log {
                    z.clamp(-700.0, 700.0).exp()
                } else {
                    z
                }
            })
            .collect()
    }

    /// Raw values → h (the minimized, linear hypervolume scale).
    pub fn to_h(&self, y: &[f64]) -> Vec<f64> {
        self.axes
            .iter()
            .zip(y)
            .map(|(a, &y)| (a.sign * y - a.h_min) / a.h_span)
            .collect()
    }

    /// h → raw values.
    pub fn from_h(&self, h: &[f64]) -> Vec<f64> {
        self.axes
            .iter()
            .zip(h)
            .map(|(a, &h)| a.sign * (h * a.h_span + a.h_min))
            .collect()
    }

    /// The hypervolume reference on the h scale: each objective's `ref` mapped, 1.1 where
    /// none is given.
    pub fn h_reference(&self, objectives: &[Objective]) -> Vec<f64> {
        self.axes
            .iter()
            .zip(objectives)
            .map(|(a, o)| {
                o.reference
                    .map_or(1.1, |r| (a.sign * r - a.h_min) / a.h_span)
            })
            .collect()
    }
}

fn bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::space::Direction;

    fn objective(name: &str, direction: Direction) -> Objective {
        Objective {
            name: name.into(),
            direction,
            unit: String::new(),
            reference: None,
        }
    }

    #[test]
    fn q_is_zero_at_the_best_and_one_at_the_worst_and_inverts() {
        let objs = [
            objective("latency", Direction::Min),
            objective("tops", Direction::Max),
        ];
        let rows = vec![vec![1.0, 5.0], vec![100.0, 7.0], vec![10.0, 6.0]];
        let s = Scale::fit(&objs, &rows);
        assert!(s.axes[0].log && !s.axes[1].log);
        assert_eq!(s.to_q(&rows[0]), vec![0.0, 1.0]);
        assert_eq!(s.to_q(&rows[1]), vec![1.0, 0.0]);
        let q = s.to_q(&rows[2]);
        assert!((q[0] - 0.5).abs() < 1e-12 && (q[1] - 0.5).abs() < 1e-12);
        let back = s.from_q(&q);
        assert!((back[0] - 10.0).abs() < 1e-9 && (back[1] - 6.0).abs() < 1e-9);
        assert_eq!(s.to_h(&rows[1]), vec![1.0, 0.0]);
    }
}
