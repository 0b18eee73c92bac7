//! Parameter values and decoded designs.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One legal value of a design parameter, as a person writes it in the config.
///
/// `8`, `8.0` and `true` are three different values (the reference told them apart the same
/// way), so equality never converts between the variants.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
}

impl Value {
    /// The value as a number: ints and floats; `None` for strings and booleans.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(x) => Some(*x),
            _ => None,
        }
    }

    /// The value as a whole number: ints, and floats that hold one exactly.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Float(x) if x.fract() == 0.0 && x.abs() < 9.0e15 => Some(*x as i64),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The canonical text used in hashes and CSV output; floats keep 10 significant digits so
    /// that a value read back from text hashes the same (the reference's `config_key` rule).
    pub fn canonical(&self) -> String {
        match self {
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(x) => format!("{:.9e}", x),
            Value::Str(s) => s.clone(),
        }
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Float(a), Value::Float(b)) => a == b,
            (Value::Str(a), Value::Str(b)) => a == b,
            _ => false,
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Str(s) => f.write_str(s),
        }
    }
}

/// A decoded design: every parameter's name mapped to a legal value.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Design(pub BTreeMap<String, Value>);

impl Design {
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }

    pub fn set(&mut self, name: &str, value: Value) {
        self.0.insert(name.to_string(), value);
    }

    /// A number parameter, or `None` when it is missing or not a number.
    pub fn f64(&self, name: &str) -> Option<f64> {
        self.get(name).and_then(Value::as_f64)
    }

    /// The design's identity in the store: the first 24 hex digits of SHA-256 over the
    /// canonical `name=value` lines, sorted by name.
    pub fn hash(&self) -> DesignHash {
        let mut h = Sha256::new();
        for (name, value) in &self.0 {
            h.update(name.as_bytes());
            h.update(b"=");
            h.update(value.canonical().as_bytes());
            h.update(b"\n");
        }
        let digest = h.finalize();
        DesignHash(digest.iter().take(12).map(|b| format!("{b:02x}")).collect())
    }

    /// The design as a JSON object, with values as JSON numbers, strings and booleans.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.0).expect("a design always serializes")
    }
}

/// The content hash that makes a design unique in the store.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DesignHash(pub String);

impl fmt::Display for DesignHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Metric values reported by an evaluator, by metric name.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Metrics(pub BTreeMap<String, f64>);

impl Metrics {
    pub fn get(&self, name: &str) -> Option<f64> {
        self.0.get(name).copied()
    }
    pub fn insert(&mut self, name: &str, value: f64) {
        self.0.insert(name.to_string(), value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ints_floats_and_bools_are_distinct_values() {
        assert_ne!(Value::Int(1), Value::Float(1.0));
        assert_ne!(Value::Int(1), Value::Bool(true));
        assert_eq!(Value::Str("OS".into()), Value::Str("OS".into()));
    }

    #[test]
    fn hash_is_stable_under_float_text_round_trip() {
        let mut a = Design::default();
        a.set("x", Value::Float(0.716_250_784_916_645_5));
        let mut b = Design::default();
        b.set("x", Value::Float(0.716_250_784_9));
        assert_eq!(a.hash(), b.hash());
        b.set("y", Value::Int(3));
        assert_ne!(a.hash(), b.hash());
    }

    #[test]
    fn json_values_are_natural() {
        let d: Design = serde_json::from_str(r#"{"a":8,"b":0.5,"c":"OS","d":true}"#).unwrap();
        assert_eq!(d.get("a"), Some(&Value::Int(8)));
        assert_eq!(d.get("b"), Some(&Value::Float(0.5)));
        assert_eq!(d.get("c"), Some(&Value::Str("OS".into())));
        assert_eq!(d.get("d"), Some(&Value::Bool(true)));
        assert_eq!(d.to_json(), r#"{"a":8,"b":0.5,"c":"OS","d":true}"#);
    }
}
