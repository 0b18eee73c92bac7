//! One design parameter: its kind, its legal values, and how values are drawn from it.

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::Value;

/// Which layer of the stack a parameter belongs to: the hardware generator or the EDA flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layer {
    Hw,
    Eda,
}

impl Layer {
    pub fn as_str(self) -> &'static str {
        match self {
            Layer::Hw => "hw",
            Layer::Eda => "eda",
        }
    }
}

/// The kinds of parameter, after the reference (PORTING §1.1).
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    /// `low..=high` in steps of `step`.
    Int { low: i64, high: i64, step: i64 },
    /// The powers of two from `low` to `high`.
    Pow2 { low: i64, high: i64 },
    /// An ordered list (e.g. Vt flavours from slow to fast).
    Ordinal,
    /// An unordered list.
    Categorical,
    /// The interval `[low, high]`, sampled on a log scale when `log`.
    Float { low: f64, high: f64, log: bool },
}

impl Kind {
    pub fn name(&self) -> &'static str {
        match self {
            Kind::Int { .. } => "int",
            Kind::Pow2 { .. } => "pow2",
            Kind::Ordinal => "ordinal",
            Kind::Categorical => "categorical",
            Kind::Float { .. } => "float",
        }
    }
}

/// A validated parameter. Discrete kinds carry their legal values in order in `choices`.
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    pub name: String,
    pub layer: Layer,
    pub kind: Kind,
    /// The legal values in order; empty for a float parameter.
    pub choices: Vec<Value>,
    /// The baseline design's value (Gemmini's default), or the middle value when none is given.
    pub default: Value,
    pub unit: String,
    pub description: String,
}

impl Param {
    /// The number of legal values; `None` for a float parameter.
    pub fn cardinality(&self) -> Option<usize> {
        match self.kind {
            Kind::Float { .. } => None,
            _ => Some(self.choices.len()),
        }
    }

    /// The legal value that `value` stands for, or `None` if it is not legal.
    ///
    /// Values compare by kind: an int parameter takes `8` and `8.0`, a float parameter takes
    /// any number in range, and a list parameter takes an exact member (numbers compare by
    /// value, so `8.0` finds `8`; `true` never finds `1`).
    pub fn normalize(&self, value: &Value) -> Option<Value> {
        match &self.kind {
            Kind::Float { low, high, .. } => {
                let x = value.as_f64()?;
                (x >= *low && x <= *high).then_some(Value::Float(x))
            }
            Kind::Int { .. } | Kind::Pow2 { .. } => {
                let i = value.as_i64()?;
                self.choices.iter().find(|c| c.as_i64() == Some(i)).cloned()
            }
            Kind::Ordinal | Kind::Categorical => self
                .choices
                .iter()
                .find(|c| {
                    **c == *value
                        || matches!((c.as_f64(), value.as_f64()), (Some(a), Some(b)) if a == b)
                })
                .cloned(),
        }
    }

    /// Position of a legal value in `choices`.
    pub fn index_of(&self, value: &Value) -> Option<usize> {
        let v = self.normalize(value)?;
        self.choices.iter().position(|c| *c == v)
    }

    /// Parse a value typed by a person (`--set clock_ps=800`): a number for a float, else the
    /// choice whose text matches, ignoring case.
    pub fn parse_text(&self, text: &str) -> Result<Value, String> {
        let text = text.trim();
        if let Kind::Float { .. } = self.kind {
            return text
                .parse::<f64>()
                .ok()
                .and_then(|x| self.normalize(&Value::Float(x)))
                .ok_or_else(|| format!("expected a number in {}", self.describe_values()));
        }
        self.choices
            .iter()
            .find(|c| c.to_string().eq_ignore_ascii_case(text))
            .cloned()
            .ok_or_else(|| format!("expected one of {}", self.describe_values()))
    }

    /// A central legal value: `choices[(n-1)/2]`, or the (geometric, when log) mean of a float.
    pub fn middle(&self) -> Value {
        match self.kind {
            Kind::Float { low, high, log } => Value::Float(if log {
                // √(low·high), without overflowing the product.
                (low.ln() / 2.0 + high.ln() / 2.0).exp().clamp(low, high)
            } else {
                // Halves first: `low + high` overflows near f64::MAX.
                low / 2.0 + high / 2.0
            }),
            _ => self.choices[(self.choices.len() - 1) / 2].clone(),
        }
    }

    /// The value at `u ∈ [0, 1)` of the parameter's range: `choices[min(⌊u·n⌋, n-1)]`, or
    /// `low + u·(high-low)` for a float (in `ln` space when log). Sobol points map through this.
    pub fn at_unit(&self, u: f64) -> Value {
        match self.kind {
            Kind::Float { low, high, log } => Value::Float(if log {
                (low.ln() + u * (high.ln() - low.ln()))
                    .exp()
                    .clamp(low, high)
            } else {
                (low + u * (high - low)).clamp(low, high)
            }),
            _ => {
                let n = self.choices.len();
                self.choices[((u * n as f64) as usize).min(n - 1)].clone()
            }
        }
    }

    /// One uniform draw: a uniform index, or a uniform (log-uniform) float.
    pub fn sample(&self, rng: &mut impl Rng) -> Value {
        match self.kind {
            Kind::Float { .. } => self.at_unit(rng.random::<f64>()),
            _ => self.choices[rng.random_range(0..self.choices.len())].clone(),
        }
    }

    /// A short description of the legal values, e.g. `250..2000 step 50` or `OS, WS, BOTH`.
    pub fn describe_values(&self) -> String {
        match self.kind {
            Kind::Float { low, high, log } => {
                format!("[{low}, {high}]{}", if log { " log" } else { "" })
            }
            Kind::Int { low, high, step } if self.choices.len() > 6 => {
                if step == 1 {
                    format!("{low}..{high}")
                } else {
                    format!("{low}..{high} step {step}")
                }
            }
            _ => self
                .choices
                .iter()
                .map(Value::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(low: i64, high: i64, step: i64) -> Param {
        Param {
            name: "clock_ps".into(),
            layer: Layer::Eda,
            kind: Kind::Int { low, high, step },
            choices: (low..=high)
                .step_by(step as usize)
                .map(Value::Int)
                .collect(),
            default: Value::Int(low),
            unit: "ps".into(),
            description: String::new(),
        }
    }

    #[test]
    fn normalize_by_kind() {
        let p = int(250, 2000, 50);
        assert_eq!(p.normalize(&Value::Float(300.0)), Some(Value::Int(300)));
        assert_eq!(p.normalize(&Value::Int(275)), None);
        assert_eq!(p.normalize(&Value::Bool(true)), None);
        assert_eq!(p.describe_values(), "250..2000 step 50");
        assert_eq!(p.at_unit(0.0), Value::Int(250));
        assert_eq!(p.at_unit(0.999_999), Value::Int(2000));
        assert_eq!(p.middle(), Value::Int(1100));
    }

    #[test]
    fn parse_text_matches_choices_case_insensitively() {
        let p = Param {
            name: "flatten".into(),
            layer: Layer::Eda,
            kind: Kind::Categorical,
            choices: vec![Value::Bool(false), Value::Bool(true)],
            default: Value::Bool(true),
            unit: String::new(),
            description: String::new(),
        };
        assert_eq!(p.parse_text("TRUE"), Ok(Value::Bool(true)));
        assert_eq!(
            p.parse_text("yes"),
            Err("expected one of false, true".into())
        );
    }

    #[test]
    fn log_float_at_unit_is_geometric() {
        let p = Param {
            name: "e".into(),
            layer: Layer::Hw,
            kind: Kind::Float {
                low: 1e-3,
                high: 1.0,
                log: true,
            },
            choices: vec![],
            default: Value::Float(0.1),
            unit: String::new(),
            description: String::new(),
        };
        let Value::Float(mid) = p.at_unit(0.5) else {
            panic!()
        };
        assert!((mid - 10f64.powf(-1.5)).abs() < 1e-12);
        let Value::Float(middle) = p.middle() else {
            panic!()
        };
        assert!((middle - mid).abs() < 1e-12);
    }
}
