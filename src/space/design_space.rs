//! The design space: parameters and the constraints between them.

use std::collections::HashMap;

use rand::Rng;
use sha2::{Digest, Sha256};

use super::expr::{Expr, Operand};
use super::{Design, Kind, Param, Value};

/// A constraint between parameters, e.g. `sp_capacity_kib / sp_banks >= 8`.
#[derive(Clone, Debug)]
pub struct Constraint {
    pub expr: Expr,
}

/// Why a design is not a legal point of the space. The text names the parameter or the
/// constraint, so a person can fix their `--set` or their result row.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum DesignError {
    #[error("parameter '{0}' is missing")]
    Missing(String),
    #[error("'{0}' is not a parameter of this space (parameters: {1})")]
    Unknown(String, String),
    #[error("{name} = {value} is not legal: {expected}")]
    Illegal {
        name: String,
        value: String,
        expected: String,
    },
    #[error("the design breaks the constraint `{0}`")]
    Broken(String),
    #[error("the constraint `{text}` cannot be evaluated: {message}")]
    Unevaluable { text: String, message: String },
}

/// A validated design space. Parameters keep their config order, which is also the order of
/// the encoded columns and of the Sobol dimensions.
#[derive(Clone, Debug)]
pub struct Space {
    pub name: String,
    /// Free text for people.
    pub description: String,
    pub params: Vec<Param>,
    pub constraints: Vec<Constraint>,
    index: HashMap<String, usize>,
}

impl Space {
    pub fn new(name: String, params: Vec<Param>, constraints: Vec<Constraint>) -> Self {
        let index = params
            .iter()
            .enumerate()
            .map(|(i, p)| (p.name.clone(), i))
            .collect();
        Self {
            name,
            description: String::new(),
            params,
            constraints,
            index,
        }
    }

    pub fn param(&self, name: &str) -> Option<&Param> {
        self.index.get(name).map(|&i| &self.params[i])
    }

    pub fn names(&self) -> Vec<String> {
        self.params.iter().map(|p| p.name.clone()).collect()
    }

    /// The baseline design: every parameter at its default.
    pub fn default_design(&self) -> Design {
        Design(
            self.params
                .iter()
                .map(|p| (p.name.clone(), p.default.clone()))
                .collect(),
        )
    }

    /// The first constraint the design breaks, if any. Every parameter must be present.
    pub fn broken_constraint(&self, design: &Design) -> Result<(), DesignError> {
        let lookup = |name: &str| design.get(name).map(Operand::from);
        for c in &self.constraints {
            match c.expr.holds(&lookup) {
                Ok(true) => {}
                Ok(false) => return Err(DesignError::Broken(c.expr.text().to_string())),
                Err(e) => {
                    return Err(DesignError::Unevaluable {
                        text: c.expr.text().to_string(),
                        message: e.to_string(),
                    });
                }
            }
        }
        Ok(())
    }

    /// Whether every constraint holds (values are assumed legal).
    pub fn feasible(&self, design: &Design) -> bool {
        self.broken_constraint(design).is_ok()
    }

    /// Check a design from outside (a result row, `--set`, a user's INSERT): every parameter
    /// present with a legal value, no unknown names, every constraint holding. Returns the
    /// design with its values normalized (`8.0` → `8` for an int parameter).
    pub fn check(&self, design: &Design) -> Result<Design, DesignError> {
        let out = self.normalize(design)?;
        self.broken_constraint(&out)?;
        Ok(out)
    }

    /// [`Space::check`] without the constraints: every parameter present with a legal value and
    /// no unknown names, the values normalized. For a design that is to be repaired.
    pub fn normalize(&self, design: &Design) -> Result<Design, DesignError> {
        if let Some(name) = design.0.keys().find(|k| !self.index.contains_key(*k)) {
            return Err(DesignError::Unknown(name.clone(), self.names().join(", ")));
        }
        let mut out = Design::default();
        for p in &self.params {
            let value = design
                .get(&p.name)
                .ok_or_else(|| DesignError::Missing(p.name.clone()))?;
            let legal = p.normalize(value).ok_or_else(|| DesignError::Illegal {
                name: p.name.clone(),
                value: value.to_string(),
                expected: format!("expected {} ({})", p.describe_values(), p.kind.name()),
            })?;
            out.set(&p.name, legal);
        }
        Ok(out)
    }

    /// Decode a JSON object of parameter values (an inbox row, a CSV line) into a checked design.
    pub fn design_from_json(&self, params: &serde_json::Value) -> Result<Design, DesignError> {
        let design = self.values_from_json(params)?;
        self.broken_constraint(&design)?;
        Ok(design)
    }

    /// [`Space::design_from_json`] without the constraints (see [`Space::normalize`]).
    pub fn values_from_json(&self, params: &serde_json::Value) -> Result<Design, DesignError> {
        let design: Design =
            serde_json::from_value(params.clone()).map_err(|e| DesignError::Illegal {
                name: "params".into(),
                value: short(&params.to_string()),
                expected: format!("a JSON object of parameter values ({e})"),
            })?;
        self.normalize(&design)
    }

    /// One uniform draw over the parameter grid (not filtered by constraints).
    pub fn sample(&self, rng: &mut impl Rng) -> Design {
        Design(
            self.params
                .iter()
                .map(|p| (p.name.clone(), p.sample(rng)))
                .collect(),
        )
    }

    /// The design at a point `u ∈ [0, 1)^n` of the unit cube, one coordinate per parameter.
    pub fn at_unit(&self, u: &[f64]) -> Design {
        Design(
            self.params
                .iter()
                .zip(u)
                .map(|(p, &x)| (p.name.clone(), p.at_unit(x)))
                .collect(),
        )
    }

    /// The number of points of the discrete grid (floats excluded), as a float since it can
    /// exceed `u64` for large spaces.
    pub fn grid_size(&self) -> f64 {
        self.params
            .iter()
            .filter_map(Param::cardinality)
            .map(|n| n as f64)
            .product()
    }

    /// Whether the space has no float parameter, so its grid is every design there is.
    pub fn is_discrete(&self) -> bool {
        self.params
            .iter()
            .all(|p| !matches!(p.kind, Kind::Float { .. }))
    }

    /// A hash of what defines the space (parameter kinds and values, constraint texts): a
    /// store made for another space is told apart by it.
    pub fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        for p in &self.params {
            h.update(format!(
                "{}|{}|{:?}|{}\n",
                p.name,
                p.kind.name(),
                p.kind,
                values_text(&p.choices)
            ));
        }
        for c in &self.constraints {
            h.update(format!("c|{}\n", c.expr.text()));
        }
        h.finalize()
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

fn values_text(values: &[Value]) -> String {
    values
        .iter()
        .map(Value::canonical)
        .collect::<Vec<_>>()
        .join(",")
}

/// At most 80 characters of `text`, so a garbage row cannot flood a rejection reason.
fn short(text: &str) -> String {
    match text.char_indices().nth(80) {
        None => text.to_string(),
        Some((cut, _)) => format!("{}… ({} characters)", &text[..cut], text.chars().count()),
    }
}

#[cfg(test)]
mod tests {
    use super::short;

    #[test]
    fn short_cuts_on_a_character_boundary() {
        let text = "é".repeat(100);
        let cut = short(&text);
        assert!(
            cut.starts_with(&"é".repeat(80)) && cut.ends_with("(100 characters)"),
            "{cut}"
        );
        assert_eq!(short("abc"), "abc");
    }
}
