//! Fixtures for the store's tests: a temporary store, small designs, and rules for them.

use serde_json::json;
use tempfile::TempDir;

use crate::space::{Design, Direction, Metrics, Objective, Value};

use super::{InboxRow, InboxStatus, ProposalId, ResultRules, Store};

/// A new store in a temporary folder (kept alive by the returned guard).
pub(crate) fn temp_store() -> (TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store.db")).unwrap();
    (dir, store)
}

/// Design number `i` of a two-parameter space: `x` an int, `kind` a string.
pub(crate) fn design(i: i64) -> Design {
    let mut d = Design::default();
    d.set("x", Value::Int(i));
    d.set(
        "kind",
        Value::Str(if i % 2 == 0 { "even" } else { "odd" }.into()),
    );
    d
}

/// Two objectives: `a` minimized, `b` maximized.
pub(crate) fn objectives() -> Vec<Objective> {
    vec![
        Objective {
            name: "a".into(),
            direction: Direction::Min,
            unit: "ms".into(),
            reference: None,
        },
        Objective {
            name: "b".into(),
            direction: Direction::Max,
            unit: "".into(),
            reference: None,
        },
    ]
}

/// Rules for the fixtures: `a` and `b` required, a design is an object with an integer `x`,
/// and a result is feasible when `a < 100`.
pub(crate) struct Rules {
    required: Vec<String>,
}

impl Rules {
    pub(crate) fn new() -> Self {
        Rules {
            required: vec!["a".into(), "b".into()],
        }
    }
}

impl ResultRules for Rules {
    fn required_metrics(&self) -> &[String] {
        &self.required
    }

    fn check_design(&self, params: &serde_json::Value) -> Result<Design, String> {
        let design: Design = serde_json::from_value(params.clone()).map_err(|e| e.to_string())?;
        match design.get("x") {
            Some(Value::Int(_)) => Ok(design),
            _ => Err("x must be an integer".into()),
        }
    }

    fn feasible(&self, metrics: &Metrics) -> bool {
        metrics.get("a").is_some_and(|a| a < 100.0)
    }
}

/// An OK inbox row for a proposal with metrics `a`, `b`.
pub(crate) fn ok_row(proposal: ProposalId, a: f64, b: f64) -> InboxRow {
    InboxRow {
        proposal_id: Some(proposal),
        design_id: None,
        params: None,
        metrics: Some(json!({ "a": a, "b": b })),
        status: InboxStatus::Ok,
        error: None,
        evaluator: Some("test".into()),
        runtime_s: Some(1.5),
        source: "test".into(),
    }
}
