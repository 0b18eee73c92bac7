//! Ingest: moving result rows from the store's inbox into validated results, and reading
//! result files (CSV or JSON) into the inbox for `diffuse-dse ingest`.

use std::path::Path;

use crate::config::{Config, Target};
use crate::space::{Design, Metrics};
use crate::store::{InboxRow, InboxStatus, ResultRules, Store, StoreError, TargetId};

/// The validation rules a config implies: its space, its required metrics, its outcome
/// constraints.
pub struct ConfigRules<'a> {
    config: &'a Config,
    required: Vec<String>,
}

impl<'a> ConfigRules<'a> {
    pub fn new(config: &'a Config) -> Self {
        Self {
            config,
            required: config.required_metrics(),
        }
    }
}

impl ResultRules for ConfigRules<'_> {
    fn required_metrics(&self) -> &[String] {
        &self.required
    }

    fn check_design(&self, params: &serde_json::Value) -> Result<Design, String> {
        self.config
            .space
            .design_from_json(params)
            .map_err(|e| e.to_string())
    }

    fn feasible(&self, metrics: &Metrics) -> bool {
        self.config.outcome_feasible(metrics)
    }
}

/// What one ingest pass did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IngestSummary {
    pub accepted: usize,
    pub rejected: Vec<(i64, String)>,
    /// The front after the pass (only recomputed when results were accepted).
    pub front: Option<(usize, Option<f64>)>,
}

/// Process every NEW inbox row, then refresh the front and the target ranks if anything was
/// accepted. Blocking.
pub fn ingest_pass(
    store: &mut Store,
    config: &Config,
    targets: &[(TargetId, Target)],
) -> Result<IngestSummary, StoreError> {
    let rules = ConfigRules::new(config);
    let mut summary = IngestSummary::default();
    loop {
        let report = store.process_inbox(&rules, 1000)?;
        let n = report.accepted + report.rejected.len();
        summary.accepted += report.accepted;
        summary.rejected.extend(
            report
                .rejected
                .into_iter()
                .map(|(id, reason)| (id.0, reason)),
        );
        if n < 1000 {
            break;
        }
    }
    if summary.accepted > 0 {
        summary.front = Some(crate::front::refresh(store, config, targets)?);
    }
    Ok(summary)
}

/// Why a results file cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct FileError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

/// Read a results file into inbox rows. JSON: an array of objects, or one object per line,
/// each `{"params": {...}, "metrics": {...}}` (or `proposal_id` / `design_id` instead of
/// `params`, and `status`/`error` for a failed run). CSV: a header with parameter names and
/// metric names (other columns `status`, `error`, `runtime_s`, `proposal_id` are understood).
/// Rows are not validated here: the inbox does that, and rejects bad rows with the reason.
pub fn read_results_file(path: &Path, config: &Config) -> Result<Vec<InboxRow>, FileError> {
    let file = path.display().to_string();
    let fail = |line: usize, message: String| FileError {
        file: file.clone(),
        line,
        message,
    };
    let text =
        std::fs::read_to_string(path).map_err(|e| fail(0, format!("cannot read the file: {e}")))?;
    let is_json = path
        .extension()
        .is_some_and(|e| e == "json" || e == "jsonl")
        || text.trim_start().starts_with(['[', '{']);
    let source = format!(
        "ingest:{}",
        path.file_name()
            .map_or(file.clone(), |n| n.to_string_lossy().into_owned())
    );
    if is_json {
        // (line, element of a JSON array, value): an array's elements are named by their
        // number, at the array's line.
        let values: Vec<(usize, Option<usize>, serde_json::Value)> =
            if text.trim_start().starts_with('[') {
                let all: Vec<serde_json::Value> = serde_json::from_str(&text).map_err(|e| {
                    fail(e.line(), format!("not a JSON array of result objects: {e}"))
                })?;
                let line = text[..text.len() - text.trim_start().len()]
                    .matches('\n')
                    .count()
                    + 1;
                all.into_iter()
                    .enumerate()
                    .map(|(i, v)| (line, Some(i + 1), v))
                    .collect()
            } else {
                let mut out = Vec::new();
                for (i, line) in text
                    .lines()
                    .enumerate()
                    .filter(|(_, l)| !l.trim().is_empty())
                {
                    let v = serde_json::from_str(line)
                        .map_err(|e| fail(i + 1, format!("not a JSON object: {e}")))?;
                    out.push((i + 1, None, v));
                }
                out
            };
        values
            .into_iter()
            .map(|(line, element, v)| {
                json_row(v, &source).map_err(|m| match element {
                    Some(n) => fail(line, format!("element {n} of the array: {m}")),
                    None => fail(line, m),
                })
            })
            .collect()
    } else {
        csv_rows(&text, config, &source).map_err(|(line, m)| fail(line, m))
    }
}

fn json_row(v: serde_json::Value, source: &str) -> Result<InboxRow, String> {
    let serde_json::Value::Object(mut o) = v else {
        return Err("expected a JSON object with params and metrics".into());
    };
    let id =
        |o: &serde_json::Map<String, serde_json::Value>, k: &str| o.get(k).and_then(|v| v.as_i64());
    Ok(InboxRow {
        proposal_id: id(&o, "proposal_id").map(crate::store::ProposalId),
        design_id: id(&o, "design_id").map(crate::store::DesignId),
        params: o.remove("params"),
        metrics: o.remove("metrics"),
        status: status(o.get("status").and_then(|s| s.as_str()).unwrap_or("ok"))?,
        error: o.get("error").and_then(|s| s.as_str()).map(str::to_string),
        evaluator: o
            .get("evaluator")
            .and_then(|s| s.as_str())
            .map(str::to_string),
        runtime_s: o.get("runtime_s").and_then(|s| s.as_f64()),
        source: source.to_string(),
    })
}

fn status(text: &str) -> Result<InboxStatus, String> {
    match text.to_ascii_lowercase().as_str() {
        "ok" | "" => Ok(InboxStatus::Ok),
        "failed" | "fail" => Ok(InboxStatus::Failed),
        other => Err(format!(
            "status must be \"ok\" or \"failed\". Got {other:?}"
        )),
    }
}

/// Split one CSV line, with `"…"` quoting and `""` for a quote inside.
fn csv_fields(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out.into_iter().map(|f| f.trim().to_string()).collect()
}

fn csv_rows(text: &str, config: &Config, source: &str) -> Result<Vec<InboxRow>, (usize, String)> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let (_, header) = lines
        .next()
        .ok_or((1, "the file is empty; expected a CSV header".to_string()))?;
    let header = csv_fields(header);
    let mut rows = Vec::new();
    for (i, line) in lines {
        let fields = csv_fields(line);
        if fields.len() != header.len() {
            return Err((
                i + 1,
                format!(
                    "expected {} fields as in the header, got {}",
                    header.len(),
                    fields.len()
                ),
            ));
        }
        let mut params = serde_json::Map::new();
        let mut metrics = serde_json::Map::new();
        let mut row = InboxRow {
            proposal_id: None,
            design_id: None,
            params: None,
            metrics: None,
            status: InboxStatus::Ok,
            error: None,
            evaluator: None,
            runtime_s: None,
            source: source.to_string(),
        };
        for (h, f) in header.iter().zip(fields) {
            match h.as_str() {
                "status" => row.status = status(&f).map_err(|m| (i + 1, m))?,
                "error" => row.error = Some(f).filter(|s| !s.is_empty()),
                "evaluator" => row.evaluator = Some(f).filter(|s| !s.is_empty()),
                "runtime_s" => row.runtime_s = f.parse().ok(),
                "proposal_id" => row.proposal_id = f.parse().ok().map(crate::store::ProposalId),
                "design_id" => row.design_id = f.parse().ok().map(crate::store::DesignId),
                name => {
                    if let Some(p) = config.space.param(name) {
                        let v = p
                            .parse_text(&f)
                            .map(|v| serde_json::to_value(v).expect("values serialize"));
                        params.insert(name.to_string(), v.unwrap_or(serde_json::Value::String(f)));
                    } else if !f.is_empty() {
                        // A number, or the text as given, so the inbox can reject it with its reason.
                        let v = f
                            .parse::<f64>()
                            .ok()
                            .and_then(serde_json::Number::from_f64)
                            .map(serde_json::Value::Number);
                        metrics.insert(name.to_string(), v.unwrap_or(serde_json::Value::String(f)));
                    }
                }
            }
        }
        if !params.is_empty() {
            row.params = Some(serde_json::Value::Object(params));
        }
        if row.status == InboxStatus::Ok {
            row.metrics = Some(serde_json::Value::Object(metrics));
        }
        rows.push(row);
    }
    Ok(rows)
}
