//! The `synthetic` evaluator: a mixed-variable, 3-objective, DTLZ2-like test problem
//! (`examples/synthetic/config.toml`), evaluated in microseconds.
//!
//! The position variables `a` (int 0..=20) and `b` (ordinal in `[0, 1]`) give `x1 = a / 20` and
//! `x2 = b`. The distance variables `c` (float), `d` (int 0..=10) and `e` (float in
//! `[0.001, 1]`, log scale) are measured against an optimum `(oc, od, oe)` that the categorical
//! `kind` chooses, and `kind` adds a fixed offset:
//!
//! `g = (c − oc)² + (d/10 − od)² + (ℓ(e) − ℓ(oe))² + offset[kind]`, with
//! `ℓ(e) = log10(e)/3 + 1` (which maps `0.001..1` to `0..1`).
//!
//! | kind | `(oc, od, oe)` | offset |
//! |---|---|---|
//! | ridge | (0.5, 0.5, 0.1) | 0 |
//! | bowl | (0.3, 0.7, 0.03) | 0.08 |
//! | step | (0.7, 0.2, 0.3) | 0.2 |
//!
//! The objectives, all minimized, are those of DTLZ2 (Deb, Thiele, Laumanns & Zitzler 2005):
//! `f1 = (1 + g) cos(x1 π/2) cos(x2 π/2)`, `f2 = (1 + g) cos(x1 π/2) sin(x2 π/2)`,
//! `f3 = (1 + g) sin(x1 π/2)`. The Pareto front is the positive octant of the unit sphere, reached
//! only with `kind = ridge`, `c = 0.5`, `d = 5` and `e = 0.1`.
//!
//! A port of `evaluators/synthetic.py` at 9201a62, in the same floating-point order. The
//! reference gave an unknown `kind` `g = 0` silently; here it is an error, as is `e ≤ 0`.

use std::f64::consts::PI;

use super::{EvalContext, EvalError, Evaluator};
use crate::space::{Design, Metrics, Value};

/// The metrics it reports, in the order of [`objectives`].
pub const METRICS: [&str; 3] = ["f1", "f2", "f3"];

/// Per `kind`: its name, the optimum `(oc, od, oe)` and the offset added to `g`.
const KINDS: [(&str, [f64; 3], f64); 3] = [
    ("ridge", [0.5, 0.5, 0.1], 0.0),
    ("bowl", [0.3, 0.7, 0.03], 0.08),
    ("step", [0.7, 0.2, 0.3], 0.2),
];

/// The DTLZ2-like test problem; see the module documentation.
pub struct Synthetic;

impl Evaluator for Synthetic {
    fn name(&self) -> &str {
        "synthetic"
    }

    fn metrics(&self) -> Vec<String> {
        METRICS.map(String::from).to_vec()
    }

    fn evaluate(&self, design: &Design, _ctx: &EvalContext) -> Result<Metrics, EvalError> {
        let mut metrics = Metrics::default();
        for (name, value) in METRICS.into_iter().zip(objectives(design)?) {
            metrics.insert(name, value);
        }
        Ok(metrics)
    }
}

/// `[f1, f2, f3]` of a design, or `EvalError::Failed` naming a parameter that is missing, of
/// the wrong type or out of the formula's domain.
pub fn objectives(design: &Design) -> Result<[f64; 3], EvalError> {
    let x1 = number(design, "a")? / 20.0;
    let x2 = number(design, "b")?;
    let value = parameter(design, "kind")?;
    let kind = value
        .as_str()
        .ok_or_else(|| wrong_type("kind", value, "a string"))?;
    let (_, [oc, od, oe], offset) = KINDS
        .into_iter()
        .find(|(name, ..)| *name == kind)
        .ok_or_else(|| {
            EvalError::Failed(format!(
                "synthetic: parameter `kind` must be one of ridge, bowl, step; got `{kind}`"
            ))
        })?;
    let c = number(design, "c")?;
    let d = number(design, "d")? / 10.0;
    let e = number(design, "e")?;
    if e.is_nan() || e <= 0.0 {
        return Err(EvalError::Failed(format!(
            "synthetic: parameter `e` must be > 0 (it is on a log scale); got {e}"
        )));
    }
    let log_scale = |x: f64| x.log10() / 3.0 + 1.0;
    let square = |x: f64| x * x;
    let g = square(c - oc) + square(d - od) + square(log_scale(e) - log_scale(oe)) + offset;
    let r = 1.0 + g;
    let (h1, h2) = (x1 * PI / 2.0, x2 * PI / 2.0);
    Ok([
        r * h1.cos() * h2.cos(),
        r * h1.cos() * h2.sin(),
        r * h1.sin(),
    ])
}

fn parameter<'a>(design: &'a Design, name: &str) -> Result<&'a Value, EvalError> {
    design.get(name).ok_or_else(|| {
        EvalError::Failed(format!("synthetic: the design has no parameter `{name}`"))
    })
}

fn number(design: &Design, name: &str) -> Result<f64, EvalError> {
    let value = parameter(design, name)?;
    value
        .as_f64()
        .ok_or_else(|| wrong_type(name, value, "a number"))
}

fn wrong_type(name: &str, value: &Value, expected: &str) -> EvalError {
    EvalError::Failed(format!(
        "synthetic: parameter `{name}` must be {expected}; got `{value}`"
    ))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::evaluators::Cancel;

    fn design(a: i64, b: f64, kind: &str, c: f64, d: i64, e: f64) -> Design {
        let mut design = Design::default();
        design.set("a", Value::Int(a));
        design.set("b", Value::Float(b));
        design.set("kind", Value::Str(kind.into()));
        design.set("c", Value::Float(c));
        design.set("d", Value::Int(d));
        design.set("e", Value::Float(e));
        design
    }

    fn context() -> EvalContext {
        EvalContext {
            workdir: std::env::temp_dir(),
            timeout: Duration::from_secs(1),
            cancel: Cancel::new(),
        }
    }

    fn assert_close(got: [f64; 3], want: [f64; 3]) {
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() <= 1e-12, "got {got:?}, want {want:?}");
        }
    }

    #[test]
    fn the_ridge_optimum_lies_on_the_unit_sphere() {
        for (a, b) in [(0, 0.0), (10, 0.25), (12, 1.0), (20, 0.6), (7, 0.9)] {
            let f = objectives(&design(a, b, "ridge", 0.5, 5, 0.1)).unwrap();
            let norm = f.iter().map(|x| x * x).sum::<f64>().sqrt();
            assert!((norm - 1.0).abs() < 1e-12, "a = {a}, b = {b}: |f| = {norm}");
            assert!(f.iter().all(|&x| x > -1e-15));
        }
        assert_close(
            objectives(&design(0, 0.0, "ridge", 0.5, 5, 0.1)).unwrap(),
            [1.0, 0.0, 0.0],
        );
    }

    #[test]
    fn values_from_the_reference_formula() {
        // bowl: g = 0.2² + 0.4² + (ℓ(0.01) − ℓ(0.03))² + 0.08 = 0.04 + 0.16 + 0.0252939 + 0.08.
        let f = objectives(&design(10, 0.25, "bowl", 0.1, 3, 0.01)).unwrap();
        assert_close(
            f,
            [0.8527243043727033, 0.35320997183633684, 0.9229821360527711],
        );
        // step: g = 0.2² + 0.5² + (ℓ(1) − ℓ(0.3))² + 0.2 = 0.04 + 0.25 + 0.0303780 + 0.2.
        let f = objectives(&design(4, 0.5, "step", 0.9, 7, 1.0)).unwrap();
        assert_close(
            f,
            [1.0224519562420233, 1.0224519562420233, 0.46982264613193525],
        );
    }

    #[test]
    fn evaluate_reports_the_three_metrics() {
        let evaluator = Synthetic;
        assert_eq!(evaluator.name(), "synthetic");
        assert_eq!(evaluator.metrics(), ["f1", "f2", "f3"]);
        let metrics = evaluator
            .evaluate(&design(20, 0.0, "ridge", 0.5, 5, 0.1), &context())
            .unwrap();
        assert_eq!(metrics.0.len(), 3);
        assert!((metrics.get("f3").unwrap() - 1.0).abs() < 1e-15);
    }

    #[test]
    fn a_missing_or_mistyped_parameter_is_named() {
        let failure = |d: &Design| match objectives(d) {
            Err(EvalError::Failed(msg)) => msg,
            other => panic!("expected a failure, got {other:?}"),
        };
        let mut d = design(10, 0.5, "ridge", 0.5, 5, 0.1);
        d.0.remove("c");
        assert!(failure(&d).contains("no parameter `c`"));
        let mut d = design(10, 0.5, "ridge", 0.5, 5, 0.1);
        d.set("a", Value::Str("ten".into()));
        assert!(failure(&d).contains("`a` must be a number; got `ten`"));
        d = design(10, 0.5, "ridge", 0.5, 5, 0.1);
        d.set("kind", Value::Int(1));
        assert!(failure(&d).contains("`kind` must be a string"));
        assert!(failure(&design(10, 0.5, "torus", 0.5, 5, 0.1)).contains("got `torus`"));
        assert!(failure(&design(10, 0.5, "ridge", 0.5, 5, 0.0)).contains("`e` must be > 0"));
    }
}
