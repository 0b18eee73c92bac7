//! The model's view of a design: a vector in `[-1, 1]^d` (PORTING §1.4).
//!
//! Columns follow parameter order. A discrete ordered parameter (int, pow2, ordinal) with `n`
//! choices maps its index `i` to `x = 2i/(n-1) - 1` (0 when `n = 1`), so pow2 is log-scaled;
//! a float maps `2(v-low)/(high-low) - 1`, on `ln v` when log; a categorical is one-hot
//! with ±1 (+1 for the chosen value, −1 elsewhere). Decoding clips to `[-1, 1]`, rounds the
//! index half to even (numpy's `rint`, as the reference), and takes the first maximum of a
//! one-hot block. Decoding does not repair constraints: that is [`super::legalize`]'s job.

use super::{Design, Kind, Param, Space, Value};

/// Encodes designs of one space. Cheap to build; holds the column layout.
#[derive(Clone, Debug)]
pub struct Encoder {
    params: Vec<Param>,
    /// Each parameter's first column and width.
    columns: Vec<(usize, usize)>,
    width: usize,
}

impl Encoder {
    pub fn new(space: &Space) -> Self {
        let mut columns = Vec::with_capacity(space.params.len());
        let mut width = 0;
        for p in &space.params {
            let w = match p.kind {
                Kind::Categorical => p.choices.len(),
                _ => 1,
            };
            columns.push((width, w));
            width += w;
        }
        Self {
            params: space.params.clone(),
            columns,
            width,
        }
    }

    /// The encoded width `d`.
    pub fn width(&self) -> usize {
        self.width
    }

    /// The design as a vector in `[-1, 1]^d`. A value that is not legal for its parameter
    /// (only possible for designs that bypassed [`Space::check`]) encodes as 0.
    pub fn encode(&self, design: &Design) -> Vec<f32> {
        let mut x = vec![0.0f32; self.width];
        for (p, &(start, w)) in self.params.iter().zip(&self.columns) {
            let Some(v) = design.get(&p.name) else {
                continue;
            };
            match p.kind {
                Kind::Float { low, high, log } => {
                    let Some(v) = v.as_f64() else { continue };
                    let (v, lo, hi) = if log {
                        (v.ln(), low.ln(), high.ln())
                    } else {
                        (v, low, high)
                    };
                    x[start] = if hi > lo {
                        (2.0 * (v - lo) / (hi - lo) - 1.0) as f32
                    } else {
                        0.0
                    };
                }
                Kind::Categorical => {
                    x[start..start + w].fill(-1.0);
                    if let Some(i) = p.index_of(v) {
                        x[start + i] = 1.0;
                    }
                }
                _ => {
                    let n = p.choices.len();
                    if let (Some(i), true) = (p.index_of(v), n > 1) {
                        x[start] = (2.0 * i as f64 / (n - 1) as f64 - 1.0) as f32;
                    }
                }
            }
        }
        x
    }

    /// The design a vector stands for (the vector may lie outside `[-1, 1]`: it is clipped).
    pub fn decode(&self, x: &[f32]) -> Design {
        let mut d = Design::default();
        for (p, &(start, w)) in self.params.iter().zip(&self.columns) {
            let value = match p.kind {
                Kind::Float { low, high, log } => {
                    let u = (f64::from(x[start]).clamp(-1.0, 1.0) + 1.0) / 2.0;
                    Value::Float(if log {
                        (low.ln() + u * (high.ln() - low.ln()))
                            .exp()
                            .clamp(low, high)
                    } else {
                        (low + u * (high - low)).clamp(low, high)
                    })
                }
                Kind::Categorical => {
                    let block = &x[start..start + w];
                    // The first maximum on ties, as numpy's argmax.
                    let mut best = 0;
                    for (i, &v) in block.iter().enumerate() {
                        if v > block[best] {
                            best = i;
                        }
                    }
                    p.choices[best].clone()
                }
                _ => {
                    let n = p.choices.len();
                    let u = (f64::from(x[start]).clamp(-1.0, 1.0) + 1.0) / 2.0;
                    let i = (u * (n - 1) as f64).round_ties_even() as usize;
                    p.choices[i.min(n - 1)].clone()
                }
            };
            d.set(&p.name, value);
        }
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::space::Layer;

    fn param(name: &str, kind: Kind, choices: Vec<Value>) -> Param {
        Param {
            name: name.into(),
            layer: Layer::Hw,
            default: choices.first().cloned().unwrap_or(Value::Float(1.0)),
            kind,
            choices,
            unit: String::new(),
            description: String::new(),
        }
    }

    fn space() -> Space {
        Space::new(
            "t".into(),
            vec![
                param(
                    "dim",
                    Kind::Pow2 { low: 4, high: 32 },
                    [4, 8, 16, 32].map(Value::Int).to_vec(),
                ),
                param(
                    "flow",
                    Kind::Categorical,
                    ["OS", "WS", "BOTH"].map(|s| Value::Str(s.into())).to_vec(),
                ),
                param(
                    "clock",
                    Kind::Float {
                        low: 100.0,
                        high: 10_000.0,
                        log: true,
                    },
                    vec![],
                ),
            ],
            vec![],
        )
    }

    #[test]
    fn encodes_by_index_one_hot_and_log() {
        let e = Encoder::new(&space());
        assert_eq!(e.width(), 5);
        let mut d = Design::default();
        d.set("dim", Value::Int(8));
        d.set("flow", Value::Str("BOTH".into()));
        d.set("clock", Value::Float(1000.0));
        let x = e.encode(&d);
        assert!((x[0] - (-1.0 / 3.0)).abs() < 1e-6, "{x:?}");
        assert_eq!(&x[1..4], &[-1.0, -1.0, 1.0]);
        assert!(
            x[4].abs() < 1e-6,
            "log midpoint of 100..10000 is 1000: {x:?}"
        );
        let back = e.decode(&x);
        assert_eq!(back.get("dim"), Some(&Value::Int(8)));
        assert_eq!(back.get("flow"), Some(&Value::Str("BOTH".into())));
        assert!((back.f64("clock").unwrap() - 1000.0).abs() < 1e-6);
    }

    #[test]
    fn decode_clips_rounds_half_to_even_and_takes_the_first_maximum() {
        let e = Encoder::new(&space());
        // u = 0.5 → i = 1.5 → 2 (even); a block of ties → the first choice; far outside → clipped.
        let d = e.decode(&[0.0, 0.3, 0.3, 0.3, 7.0]);
        assert_eq!(d.get("dim"), Some(&Value::Int(16)));
        assert_eq!(d.get("flow"), Some(&Value::Str("OS".into())));
        assert_eq!(d.f64("clock"), Some(10_000.0));
        let d = e.decode(&[-1.0 / 6.0 * 2.0, 0.0, 0.0, 0.0, 0.0]);
        // u = 1/3 → i = 1.0 → 8.
        assert_eq!(d.get("dim"), Some(&Value::Int(8)));
    }
}
