//! Validating the `[space]` section into a [`Space`].

use std::collections::{BTreeSet, HashMap};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::Problem;
use super::raw::{RawParam, RawSpace, RawValue, S};
use crate::space::expr::{self, Expr};
use crate::space::{Constraint, Kind, Layer, Param, Space, Value};

/// The most parameters a space may have (one Sobol dimension each).
pub const MAX_PARAMS: usize = 64;

/// Draws used to check that a constrained space is not empty (the reference drew 100,000).
const EMPTINESS_DRAWS: usize = 100_000;

fn value(raw: &RawValue) -> Value {
    match raw {
        RawValue::Bool(b) => Value::Bool(*b),
        RawValue::Int(i) => Value::Int(*i),
        RawValue::Float(x) => Value::Float(*x),
        RawValue::Str(s) => Value::Str(s.clone()),
    }
}

fn type_name(raw: &RawValue) -> &'static str {
    match raw {
        RawValue::Bool(_) => "a boolean",
        RawValue::Int(_) => "an integer",
        RawValue::Float(_) => "a float",
        RawValue::Str(_) => "a string",
    }
}

/// Check an identifier used as a parameter or objective name.
pub fn identifier(name: &S<String>, field: &str, problems: &mut Vec<Problem>) -> bool {
    let ok =
        expr::is_identifier(name.get_ref()) && !expr::RESERVED.contains(&name.get_ref().as_str());
    if !ok {
        problems.push(Problem::new(
            field,
            Some(name.span()),
            format!(
                "expected a name of letters, digits and '_' that does not start with a digit and is not one of {}. Got {:?}.",
                expr::RESERVED.join(" "),
                name.get_ref()
            ),
        ));
    }
    ok
}

pub fn space(raw: &S<RawSpace>, problems: &mut Vec<Problem>) -> Option<Space> {
    let r = raw.get_ref();
    let before = problems.len();
    if r.params.is_empty() {
        problems.push(Problem::new(
            "space.params",
            Some(raw.span()),
            "expected at least one parameter ([[space.params]] with name, layer and kind). Got none.",
        ));
    }
    if r.params.len() > MAX_PARAMS {
        problems.push(Problem::new(
            "space.params",
            Some(raw.span()),
            format!(
                "at most {MAX_PARAMS} parameters are supported. Got {}.",
                r.params.len()
            ),
        ));
    }
    let mut params = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, p) in r.params.iter().enumerate() {
        let field = format!("space.params[{i}]");
        if let Some(param) = param(p.get_ref(), &field, problems) {
            if let Some(j) = seen.get(&param.name) {
                problems.push(Problem::new(
                    format!("{field}.name"),
                    Some(p.get_ref().name.span()),
                    format!("duplicate parameter name '{}' (also space.params[{j}]); names must be unique.", param.name),
                ));
            } else {
                seen.insert(param.name.clone(), i);
                params.push(param);
            }
        }
    }
    let names: BTreeSet<String> = params.iter().map(|p| p.name.clone()).collect();
    let constraints = expressions(&r.constraints, "space.constraints", Some(&names), problems);
    if problems.len() > before {
        return None;
    }
    let name = r
        .name
        .as_ref()
        .map(|n| n.get_ref().clone())
        .unwrap_or_else(|| "space".into());
    let mut space = Space::new(name, params, constraints);
    space.description = r.description.clone().unwrap_or_default();
    let default = space.default_design();
    if let Err(e) = space.broken_constraint(&default) {
        problems.push(Problem::new(
            "space.params[].default",
            Some(raw.span()),
            format!("the default design must satisfy the constraints: {e}. Change the defaults or the constraint."),
        ));
        return None;
    }
    Some(space).filter(|s| not_empty(s, raw, problems))
}

/// A constrained space must have a feasible design other than its default: checked on
/// seeded uniform draws, so that a typo in a constraint is caught before a night is wasted.
fn not_empty(space: &Space, raw: &S<RawSpace>, problems: &mut Vec<Problem>) -> bool {
    if space.constraints.is_empty() {
        return true;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let default = space.default_design();
    let mut held = vec![0usize; space.constraints.len()];
    for _ in 0..EMPTINESS_DRAWS {
        let d = space.sample(&mut rng);
        let mut all = true;
        for (k, c) in space.constraints.iter().enumerate() {
            let lookup = |n: &str| d.get(n).map(crate::space::expr::Operand::from);
            if c.expr.holds(&lookup).unwrap_or(false) {
                held[k] += 1;
            } else {
                all = false;
            }
        }
        if all && d != default {
            return true;
        }
    }
    let never: Vec<&str> = space
        .constraints
        .iter()
        .zip(&held)
        .filter(|(_, n)| **n == 0)
        .map(|(c, _)| c.expr.text())
        .collect();
    problems.push(Problem::new(
        "space.constraints",
        Some(raw.span()),
        format!(
            "no feasible design besides the default was found in {EMPTINESS_DRAWS} seeded draws{}. Loosen the constraints.",
            if never.is_empty() { String::new() } else { format!("; never satisfied: {}", never.join("; ")) }
        ),
    ));
    false
}

/// Parse expression strings, checking the names they use against `names` when given.
pub fn expressions(
    items: &[S<String>],
    key: &str,
    names: Option<&BTreeSet<String>>,
    problems: &mut Vec<Problem>,
) -> Vec<Constraint> {
    let mut out = Vec::new();
    for (i, text) in items.iter().enumerate() {
        let field = format!("{key}[{i}]");
        match Expr::parse(text.get_ref()) {
            Err(e) => problems.push(Problem::new(
                field,
                Some(text.span()),
                format!("invalid expression {:?}: {e}.", text.get_ref()),
            )),
            Ok(expr) => {
                if let Some(names) = names
                    && let Some(unknown) = expr.names().into_iter().find(|n| !names.contains(n))
                {
                    problems.push(Problem::new(
                        field,
                        Some(text.span()),
                        format!(
                            "unknown name '{unknown}' in {:?}; expected parameter names: {}.",
                            text.get_ref(),
                            names.iter().cloned().collect::<Vec<_>>().join(", ")
                        ),
                    ));
                    continue;
                }
                out.push(Constraint { expr });
            }
        }
    }
    out
}

fn param(p: &RawParam, field: &str, problems: &mut Vec<Problem>) -> Option<Param> {
    let before = problems.len();
    identifier(&p.name, &format!("{field}.name"), problems);
    let layer = match p.layer.as_ref().map(|l| (l.get_ref().as_str(), l.span())) {
        Some(("hw", _)) => Layer::Hw,
        Some(("eda", _)) => Layer::Eda,
        Some((other, span)) => {
            problems.push(Problem::new(
                format!("{field}.layer"),
                Some(span),
                format!("expected \"hw\" (hardware generator) or \"eda\" (implementation flow). Got {other:?}."),
            ));
            Layer::Hw
        }
        None => {
            problems.push(Problem::new(
                format!("{field}.layer"),
                Some(p.name.span()),
                "is required: \"hw\" (hardware generator) or \"eda\" (implementation flow).",
            ));
            Layer::Hw
        }
    };
    let kind_text = p.kind.get_ref().as_str();
    let kind_span = p.kind.span();
    let allowed: &[&str] = match kind_text {
        "int" => &["low", "high", "step"],
        "pow2" => &["low", "high"],
        "ordinal" | "categorical" => &["values"],
        "float" => &["low", "high", "log"],
        other => {
            problems.push(Problem::new(
                format!("{field}.kind"),
                Some(kind_span),
                format!("expected one of int, pow2, ordinal, categorical, float. Got {other:?}."),
            ));
            return None;
        }
    };
    let given = [
        ("low", p.low.as_ref().map(|v| v.span())),
        ("high", p.high.as_ref().map(|v| v.span())),
        ("step", p.step.as_ref().map(|v| v.span())),
        ("log", p.log.as_ref().map(|v| v.span())),
        ("values", p.values.as_ref().map(|v| v.span())),
    ];
    for (key, span) in given {
        if let Some(span) = span
            && !allowed.contains(&key)
        {
            problems.push(Problem::new(
                format!("{field}.{key}"),
                Some(span),
                format!(
                    "is not a key of a {kind_text} parameter (it takes: {}).",
                    allowed.join(", ")
                ),
            ));
        }
    }
    let (kind, choices) = match kind_text {
        "int" | "pow2" => {
            let low = whole(
                p.low.as_ref(),
                &format!("{field}.low"),
                kind_span.clone(),
                problems,
            )?;
            let high = whole(
                p.high.as_ref(),
                &format!("{field}.high"),
                kind_span.clone(),
                problems,
            )?;
            if high.0 < low.0 {
                problems.push(Problem::new(
                    format!("{field}.high"),
                    Some(high.1),
                    format!(
                        "must be >= low ({}). Got {}: the range is empty.",
                        low.0, high.0
                    ),
                ));
                return None;
            }
            if kind_text == "int" {
                let step = p
                    .step
                    .as_ref()
                    .map(|s| (*s.get_ref(), s.span()))
                    .unwrap_or((1, kind_span.clone()));
                if step.0 < 1 {
                    problems.push(Problem::new(
                        format!("{field}.step"),
                        Some(step.1),
                        format!("must be a whole number >= 1. Got {}.", step.0),
                    ));
                    return None;
                }
                // i128: `high - low` of two i64 can overflow i64.
                let width = i128::from(high.0) - i128::from(low.0);
                if width % i128::from(step.0) != 0 {
                    problems.push(Problem::new(
                        format!("{field}.high"),
                        Some(high.1),
                        format!(
                            "high - low ({width}) must be a multiple of step ({}).",
                            step.0
                        ),
                    ));
                    return None;
                }
                if width / i128::from(step.0) >= 10_000_000 {
                    problems.push(Problem::new(
                        format!("{field}.high"),
                        Some(high.1),
                        "at most 10,000,000 values are supported; use a float parameter.",
                    ));
                    return None;
                }
                let choices = (low.0..=high.0)
                    .step_by(step.0 as usize)
                    .map(Value::Int)
                    .collect();
                (
                    Kind::Int {
                        low: low.0,
                        high: high.0,
                        step: step.0,
                    },
                    choices,
                )
            } else {
                for (key, (v, span)) in [("low", &low), ("high", &high)] {
                    if *v < 1 || v & (v - 1) != 0 {
                        problems.push(Problem::new(
                            format!("{field}.{key}"),
                            Some(span.clone()),
                            format!("must be a power of two >= 1. Got {v}."),
                        ));
                    }
                }
                if problems.len() > before {
                    return None;
                }
                let mut choices = Vec::new();
                let mut v = low.0;
                while v <= high.0 {
                    choices.push(Value::Int(v));
                    match v.checked_mul(2) {
                        Some(next) => v = next,
                        None => break,
                    }
                }
                (
                    Kind::Pow2 {
                        low: low.0,
                        high: high.0,
                    },
                    choices,
                )
            }
        }
        "float" => {
            let low = number(
                p.low.as_ref(),
                &format!("{field}.low"),
                kind_span.clone(),
                problems,
            )?;
            let high = number(
                p.high.as_ref(),
                &format!("{field}.high"),
                kind_span.clone(),
                problems,
            )?;
            let log = p.log.as_ref().map(|l| *l.get_ref()).unwrap_or(false);
            if high.0 <= low.0 {
                problems.push(Problem::new(
                    format!("{field}.high"),
                    Some(high.1),
                    format!(
                        "must be > low ({}). Got {}: the range is empty.",
                        low.0, high.0
                    ),
                ));
                return None;
            }
            if !(high.0 - low.0).is_finite() {
                problems.push(Problem::new(
                    format!("{field}.high"),
                    Some(high.1),
                    format!("the range [{}, {}] is wider than a float can hold; narrow it (or use log = true).", low.0, high.0),
                ));
                return None;
            }
            if log && low.0 <= 0.0 {
                problems.push(Problem::new(
                    format!("{field}.low"),
                    Some(low.1),
                    format!("must be > 0 when log is true. Got {}.", low.0),
                ));
                return None;
            }
            (
                Kind::Float {
                    low: low.0,
                    high: high.0,
                    log,
                },
                Vec::new(),
            )
        }
        _ => {
            let Some(values) = p.values.as_ref() else {
                problems.push(Problem::new(
                    format!("{field}.values"),
                    Some(kind_span),
                    format!("is required for a {kind_text} parameter: a non-empty list."),
                ));
                return None;
            };
            if values.get_ref().is_empty() {
                problems.push(Problem::new(
                    format!("{field}.values"),
                    Some(values.span()),
                    "expected at least one value. Got an empty list.",
                ));
                return None;
            }
            let mut choices: Vec<Value> = Vec::new();
            for (j, v) in values.get_ref().iter().enumerate() {
                let bad_type = kind_text == "ordinal" && matches!(v.get_ref(), RawValue::Bool(_));
                if bad_type {
                    problems.push(Problem::new(
                        format!("{field}.values[{j}]"),
                        Some(v.span()),
                        format!("expected numbers or strings (an ordinal is ordered; use categorical for true/false). Got {}.", type_name(v.get_ref())),
                    ));
                    continue;
                }
                let val = value(v.get_ref());
                if let Some(f) = val.as_f64().filter(|f| !f.is_finite()) {
                    problems.push(Problem::new(
                        format!("{field}.values[{j}]"),
                        Some(v.span()),
                        format!("expected a finite number. Got {f}."),
                    ));
                    continue;
                }
                if choices.contains(&val) {
                    problems.push(Problem::new(
                        format!("{field}.values[{j}]"),
                        Some(v.span()),
                        format!("duplicate value {val}; values must be unique."),
                    ));
                    continue;
                }
                choices.push(val);
            }
            (
                if kind_text == "ordinal" {
                    Kind::Ordinal
                } else {
                    Kind::Categorical
                },
                choices,
            )
        }
    };
    if problems.len() > before {
        return None;
    }
    let mut param = Param {
        name: p.name.get_ref().clone(),
        layer,
        kind,
        choices,
        default: Value::Bool(false),
        unit: p.unit.clone().unwrap_or_default(),
        description: p.description.clone().unwrap_or_default(),
    };
    param.default = match &p.default {
        None => param.middle(),
        Some(d) => match param.normalize(&value(d.get_ref())) {
            Some(v) => v,
            None => {
                problems.push(Problem::new(
                    format!("{field}.default"),
                    Some(d.span()),
                    format!(
                        "expected one of {}. Got {}.",
                        param.describe_values(),
                        value(d.get_ref())
                    ),
                ));
                return None;
            }
        },
    };
    Some(param)
}

fn whole(
    v: Option<&S<RawValue>>,
    field: &str,
    at: std::ops::Range<usize>,
    problems: &mut Vec<Problem>,
) -> Option<(i64, std::ops::Range<usize>)> {
    match v {
        None => {
            problems.push(Problem::new(
                field,
                Some(at),
                "is required: a whole number.",
            ));
            None
        }
        Some(s) => match s.get_ref() {
            RawValue::Int(i) => Some((*i, s.span())),
            other => {
                problems.push(Problem::new(
                    field,
                    Some(s.span()),
                    format!("expected a whole number. Got {}.", type_name(other)),
                ));
                None
            }
        },
    }
}

fn number(
    v: Option<&S<RawValue>>,
    field: &str,
    at: std::ops::Range<usize>,
    problems: &mut Vec<Problem>,
) -> Option<(f64, std::ops::Range<usize>)> {
    match v {
        None => {
            problems.push(Problem::new(field, Some(at), "is required: a number."));
            None
        }
        Some(s) => match value(s.get_ref()).as_f64() {
            Some(x) if x.is_finite() => Some((x, s.span())),
            _ => {
                problems.push(Problem::new(
                    field,
                    Some(s.span()),
                    format!("expected a finite number. Got {}.", value(s.get_ref())),
                ));
                None
            }
        },
    }
}
