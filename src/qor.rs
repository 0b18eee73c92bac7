//! QoR reports: metric names mapped to finite numbers, parsed from JSON and checked.
//!
//! One format for every source of metrics: the `command` evaluator's output file or stdout,
//! `diffuse-dse ingest`, and the result files that cluster jobs write. A report is a JSON
//! object, either flat, `{"latency_ms": 26.5, "power_mw": 117.7}`, or wrapped,
//! `{"metrics": {"latency_ms": 26.5}, "design_hash": "…"}`, so that a file can carry notes of
//! its own (a design hash, tool versions) beside the metrics. A report is wrapped exactly when
//! its `metrics` member is an object; then only that member is read, and the other top-level
//! members are ignored (neither checked nor returned).
//!
//! Every metric must be a finite number, not only the required ones (the reference's rule in
//! `check_metrics`): a flow that prints `"n/a"` for one value has failed somewhere, and saying
//! so beats storing a hole. Negative values are fine here (`wns_ps` is negative, and so may be
//! a maximized objective); callers judge values per objective.

use crate::text::one_line;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use crate::space::Metrics;

/// The largest report accepted (1 MiB); anything bigger is garbage, not QoR.
pub const MAX_REPORT_BYTES: usize = 1 << 20;

/// How long a rendering of a bad value or name may get in a message.
const SHORT_CHARS: usize = 60;

/// How many reported names a "missing metric" message lists before it summarizes.
const LISTED_NAMES: usize = 20;

/// Why a report gives no metrics. Each message is one line that names the problem.
#[derive(Debug, thiserror::Error)]
pub enum QorError {
    #[error("the report is empty")]
    Empty,
    #[error("the report is {size} bytes, over the 1 MiB limit ({MAX_REPORT_BYTES} bytes)")]
    TooLarge { size: u64 },
    /// The JSON stops in the middle of a value; serde_json's text gives line and column.
    #[error("the report is truncated: {0}")]
    Truncated(String),
    /// Not JSON at all; serde_json's text gives line and column.
    #[error("the report is not JSON: {0}")]
    NotJson(String),
    #[error("the report is {found}, expected a JSON object of metric names to numbers")]
    NotObject { found: &'static str },
    /// A string, boolean, null, array or object where a number belongs; `value` is a short
    /// JSON rendering of it.
    #[error(
        "metric '{}' is {}, expected a finite number",
        one_line(name),
        one_line(value)
    )]
    NotNumber { name: String, value: String },
    #[error("metric '{}' is {value}, expected a finite number", one_line(name))]
    NotFinite { name: String, value: f64 },
    #[error("the report lacks {} (it has: {})", one_line(&missing.join(", ")), list_names(reported))]
    Missing {
        missing: Vec<String>,
        reported: Vec<String>,
    },
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
}

/// The metrics in a JSON report (flat or wrapped, see the module docs), all finite numbers,
/// including every name in `required`.
pub fn parse_metrics_json(text: &str, required: &[String]) -> Result<Metrics, QorError> {
    if text.len() > MAX_REPORT_BYTES {
        return Err(QorError::TooLarge {
            size: text.len() as u64,
        });
    }
    if text.trim().is_empty() {
        return Err(QorError::Empty);
    }
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        if e.is_eof() {
            QorError::Truncated(e.to_string())
        } else {
            QorError::NotJson(e.to_string())
        }
    })?;
    let serde_json::Value::Object(mut object) = value else {
        return Err(QorError::NotObject {
            found: json_kind(&value),
        });
    };
    let members = match object.remove("metrics") {
        Some(serde_json::Value::Object(inner)) => inner,
        Some(flat) => {
            object.insert("metrics".into(), flat);
            object
        }
        None => object,
    };
    let mut metrics = Metrics::default();
    for (name, value) in members {
        match value.as_f64() {
            Some(x) => metrics.insert(&name, x),
            None => {
                return Err(QorError::NotNumber {
                    name: short(&name, SHORT_CHARS),
                    value: short(&value.to_string(), SHORT_CHARS),
                });
            }
        }
    }
    check_metrics(&metrics, required)?;
    Ok(metrics)
}

/// [`parse_metrics_json`] on a file, refusing one over [`MAX_REPORT_BYTES`] before reading it.
/// Bytes that are not UTF-8 become U+FFFD, which the JSON parser then points at.
pub fn read_metrics_file(path: &Path, required: &[String]) -> Result<Metrics, QorError> {
    let unreadable = |source| QorError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(unreadable)?;
    let size = file.metadata().map_err(unreadable)?.len();
    if size > MAX_REPORT_BYTES as u64 {
        return Err(QorError::TooLarge { size });
    }
    // One byte past the limit, so a file that grows while it is read is still caught.
    let mut bytes = Vec::new();
    file.take(MAX_REPORT_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    parse_metrics_json(&String::from_utf8_lossy(&bytes), required)
}

/// Check metrics that arrive as numbers already (CSV or SQL rows): every value finite, every
/// name in `required` present.
pub fn check_metrics(metrics: &Metrics, required: &[String]) -> Result<(), QorError> {
    if let Some((name, &value)) = metrics.0.iter().find(|(_, v)| !v.is_finite()) {
        return Err(QorError::NotFinite {
            name: short(name, SHORT_CHARS),
            value,
        });
    }
    let missing: Vec<String> = required
        .iter()
        .filter(|m| metrics.get(m).is_none())
        .cloned()
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(QorError::Missing {
            missing,
            reported: metrics.0.keys().cloned().collect(),
        })
    }
}

/// What a JSON value is, for "the report is …".
fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// `text` cut to `max_chars` characters, so garbage cannot flood a message (also used for
/// the stderr line that the `command` evaluator quotes).
pub(crate) fn short(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        None => text.to_string(),
        Some((cut, _)) => format!("{}… ({} characters)", &text[..cut], text.chars().count()),
    }
}

/// The reported names for a message: the first [`LISTED_NAMES`], each cut short.
fn list_names(names: &[String]) -> String {
    if names.is_empty() {
        return "nothing".into();
    }
    let mut listed: Vec<String> = names
        .iter()
        .take(LISTED_NAMES)
        .map(|n| one_line(&short(n, SHORT_CHARS)))
        .collect();
    if names.len() > LISTED_NAMES {
        listed.push(format!("… ({} in all)", names.len()));
    }
    listed.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn error(text: &str) -> String {
        parse_metrics_json(text, &[]).unwrap_err().to_string()
    }

    #[test]
    fn flat_reports_keep_every_metric() {
        let m = parse_metrics_json(
            r#"{"latency_ms": 26.5, "cells": 304755, "wns_ps": -602.6}"#,
            &names(&["cells"]),
        )
        .unwrap();
        assert_eq!(m.get("latency_ms"), Some(26.5));
        assert_eq!(m.get("cells"), Some(304_755.0));
        assert_eq!(m.get("wns_ps"), Some(-602.6), "negative values are allowed");
    }

    #[test]
    fn wrapped_reports_read_only_the_metrics_member() {
        let text =
            r#"{"metrics": {"power_mw": 117.7}, "design_hash": "abc", "tools": {"yosys": "0.40"}}"#;
        let m = parse_metrics_json(text, &names(&["power_mw"])).unwrap();
        assert_eq!(m.0.len(), 1);
        assert_eq!(m.get("power_mw"), Some(117.7));
        // A `metrics` member that is a number is a metric like any other.
        let m = parse_metrics_json(r#"{"metrics": 3, "area_mm2": 0.13}"#, &[]).unwrap();
        assert_eq!(m.get("metrics"), Some(3.0));
    }

    #[test]
    fn non_numbers_are_named_with_their_value() {
        assert_eq!(
            error(r#"{"power_mw": "n/a"}"#),
            r#"metric 'power_mw' is "n/a", expected a finite number"#
        );
        assert_eq!(
            error(r#"{"ok": true}"#),
            "metric 'ok' is true, expected a finite number"
        );
        assert_eq!(
            error(r#"{"x": null}"#),
            "metric 'x' is null, expected a finite number"
        );
        assert_eq!(
            error(r#"{"x": "NaN"}"#),
            r#"metric 'x' is "NaN", expected a finite number"#
        );
        assert_eq!(
            error(r#"{"x": {"y": 1}}"#),
            r#"metric 'x' is {"y":1}, expected a finite number"#
        );
        assert!(error(r#"{"x": [1, 2]}"#).contains("is [1,2]"));
    }

    #[test]
    fn long_garbage_is_cut_short() {
        let text = format!(r#"{{"x": "{}"}}"#, "é".repeat(5000));
        let message = error(&text);
        assert!(message.len() < 200, "{message}");
        assert!(message.contains("… (5002 characters)"), "{message}");
    }

    #[test]
    fn bad_json_says_where() {
        assert_eq!(
            error("latency 3"),
            "the report is not JSON: expected value at line 1 column 1"
        );
        assert_eq!(
            error(r#"{"x": NaN}"#),
            "the report is not JSON: expected value at line 1 column 7"
        );
        assert!(
            error("{\"x\": 1,\n \"y\": ").starts_with("the report is truncated: EOF while parsing")
        );
        assert_eq!(error("  \n"), "the report is empty");
        assert_eq!(
            error("[1, 2]"),
            "the report is an array, expected a JSON object of metric names to numbers"
        );
    }

    #[test]
    fn missing_metrics_are_listed_with_what_was_reported() {
        let err = parse_metrics_json(
            r#"{"latency_ms": 1}"#,
            &names(&["latency_ms", "power_mw", "area_mm2"]),
        );
        assert_eq!(
            err.unwrap_err().to_string(),
            "the report lacks power_mw, area_mm2 (it has: latency_ms)"
        );
        let err = parse_metrics_json("{}", &names(&["power_mw"])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the report lacks power_mw (it has: nothing)"
        );
    }

    #[test]
    fn too_large_reports_are_refused() {
        let text = format!(r#"{{"x": 1, "pad": "{}"}}"#, " ".repeat(MAX_REPORT_BYTES));
        assert!(matches!(
            parse_metrics_json(&text, &[]),
            Err(QorError::TooLarge { .. })
        ));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("qor.json");
        std::fs::write(&path, &text).unwrap();
        let err = read_metrics_file(&path, &[]).unwrap_err();
        assert!(err.to_string().contains("over the 1 MiB limit"), "{err}");
    }

    #[test]
    fn files_are_read_and_a_missing_one_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("qor.json");
        let err = read_metrics_file(&path, &[]).unwrap_err();
        assert!(
            err.to_string()
                .starts_with(&format!("cannot read {}: ", path.display())),
            "{err}"
        );
        std::fs::write(&path, b"{\"x\": 2}\n").unwrap();
        assert_eq!(read_metrics_file(&path, &[]).unwrap().get("x"), Some(2.0));
        std::fs::write(&path, b"{\"x\": 2\xff}").unwrap();
        assert!(
            read_metrics_file(&path, &[])
                .unwrap_err()
                .to_string()
                .contains("not JSON")
        );
    }

    #[test]
    fn check_metrics_wants_finite_values_and_the_required_names() {
        let mut m = Metrics::default();
        m.insert("wns_ps", -602.6);
        assert!(check_metrics(&m, &names(&["wns_ps"])).is_ok());
        assert!(matches!(
            check_metrics(&m, &names(&["area_mm2"])),
            Err(QorError::Missing { .. })
        ));
        m.insert("power_mw", f64::NAN);
        let err = check_metrics(&m, &[]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "metric 'power_mw' is NaN, expected a finite number"
        );
        m.insert("power_mw", f64::INFINITY);
        assert_eq!(
            check_metrics(&m, &[]).unwrap_err().to_string(),
            "metric 'power_mw' is inf, expected a finite number"
        );
    }
}
