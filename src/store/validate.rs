//! The validation of one inbox row: resolve its design, check its metrics and the duplicate
//! rules, and insert its result.

use rusqlite::types::Value as SqlValue;
use rusqlite::{OptionalExtension, Transaction, params};

use crate::space::Metrics;

use super::inbox::{InboxStatus, ResultRules};
use super::proposals::transition;
use super::{DesignId, InboxId, ProposalId, ProposalState, ResultId, upsert_design};

/// What became of one row.
pub(super) enum Outcome {
    /// Moved into `results`; `ok` when it is an OK result.
    Accepted { result: ResultId, ok: bool },
    /// Left in the inbox with this reason.
    Rejected(String),
}

/// Why one row can't be accepted, or a SQL error that stops the chunk.
enum Reject {
    Because(String),
    Sql(rusqlite::Error),
}

impl From<rusqlite::Error> for Reject {
    fn from(e: rusqlite::Error) -> Self {
        Reject::Sql(e)
    }
}

fn because<T>(reason: impl Into<String>) -> Result<T, Reject> {
    Err(Reject::Because(reason.into()))
}

/// An inbox row as stored. Columns are read untyped: users write them with plain SQL, and a
/// text where a number belongs must reject the row, not stop the ingest.
pub(super) struct Raw {
    pub id: InboxId,
    proposal_id: SqlValue,
    design_id: SqlValue,
    params: SqlValue,
    metrics: SqlValue,
    status: SqlValue,
    error: Option<String>,
    evaluator: Option<String>,
    runtime_s: SqlValue,
    source: String,
}

/// The next `n` NEW rows, oldest first.
pub(super) fn new_rows(tx: &Transaction<'_>, n: usize) -> rusqlite::Result<Vec<Raw>> {
    tx.prepare_cached(
        "SELECT id, proposal_id, design_id, params, metrics, status, error, evaluator,
                runtime_s, source
         FROM inbox WHERE state = 'NEW' ORDER BY id LIMIT ?1",
    )?
    .query_map([n as i64], |r| {
        Ok(Raw {
            id: r.get(0)?,
            proposal_id: r.get(1)?,
            design_id: r.get(2)?,
            params: r.get(3)?,
            metrics: r.get(4)?,
            status: r.get(5)?,
            error: text(r.get(6)?),
            evaluator: text(r.get(7)?),
            runtime_s: r.get(8)?,
            source: text(r.get(9)?).unwrap_or_else(|| "sql".into()),
        })
    })?
    .collect()
}

/// Validates one row and, if it passes, inserts its result and moves its proposal.
pub(super) fn validate(
    tx: &Transaction<'_>,
    rules: &dyn ResultRules,
    raw: &Raw,
) -> rusqlite::Result<Outcome> {
    match ingest(tx, rules, raw) {
        Ok((result, ok)) => Ok(Outcome::Accepted { result, ok }),
        Err(Reject::Because(reason)) => Ok(Outcome::Rejected(reason)),
        Err(Reject::Sql(e)) => Err(e),
    }
}

/// Validates one row and inserts its result; returns the result and whether it is OK.
fn ingest(
    tx: &Transaction<'_>,
    rules: &dyn ResultRules,
    raw: &Raw,
) -> Result<(ResultId, bool), Reject> {
    let status = match &raw.status {
        SqlValue::Text(s) if s.eq_ignore_ascii_case("ok") => InboxStatus::Ok,
        SqlValue::Text(s) if s.eq_ignore_ascii_case("failed") => InboxStatus::Failed,
        other => {
            return because(format!(
                "status must be 'ok' or 'failed', got {}",
                show(other)
            ));
        }
    };
    let runtime_s = match raw.runtime_s {
        SqlValue::Null => None,
        SqlValue::Integer(i) => Some(i as f64),
        SqlValue::Real(x) if x.is_finite() => Some(x),
        ref other => {
            return because(format!(
                "runtime_s must be a number of seconds, got {}",
                show(other)
            ));
        }
    };
    let (design, proposal) = resolve(tx, rules, raw)?;
    if let Some((proposal, _)) = proposal {
        let earlier: Option<ResultId> = tx
            .prepare_cached("SELECT id FROM results WHERE proposal_id = ?1")?
            .query_row([proposal], |r| r.get(0))
            .optional()?;
        if let Some(earlier) = earlier {
            return because(format!("duplicate of result {earlier}"));
        }
    }
    let metrics = match status {
        InboxStatus::Ok => {
            let SqlValue::Text(text) = &raw.metrics else {
                return because(format!(
                    "metrics must be JSON text, got {}",
                    show(&raw.metrics)
                ));
            };
            let metrics = crate::qor::parse_metrics_json(text, rules.required_metrics())
                .map_err(|e| Reject::Because(format!("bad metrics: {e}")))?;
            if let Some(earlier) = same_ok_result(tx, design, &metrics)? {
                return because(format!("duplicate of result {earlier}"));
            }
            Some(metrics)
        }
        InboxStatus::Failed => None,
    };
    let error = match status {
        InboxStatus::Ok => None,
        InboxStatus::Failed => Some(
            raw.error
                .as_deref()
                .unwrap_or("failed (no error text given)"),
        ),
    };
    let result: ResultId = tx
        .prepare_cached(
            "INSERT INTO results (design_id, proposal_id, status, evaluator, runtime_s, error,
                                  source, feasible)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING id",
        )?
        .query_row(
            params![
                design,
                proposal.map(|p| p.0),
                if metrics.is_some() { "OK" } else { "FAILED" },
                raw.evaluator,
                runtime_s,
                error,
                raw.source,
                metrics.as_ref().map(|m| rules.feasible(m)),
            ],
            |r| r.get(0),
        )?;
    if let Some(metrics) = &metrics {
        let mut value = tx.prepare_cached(
            "INSERT INTO result_values (result_id, metric, value) VALUES (?1, ?2, ?3)",
        )?;
        for (name, x) in &metrics.0 {
            value.execute(params![result, name, x])?;
        }
    }
    if let Some((proposal, state)) = proposal {
        let (next, reason) = match (state, &metrics) {
            (ProposalState::Queued, _) => (
                ProposalState::Cancelled,
                Some(format!("evaluated elsewhere: result {result}")),
            ),
            (_, Some(_)) => (ProposalState::Done, None),
            (_, None) => (ProposalState::Failed, error.map(str::to_string)),
        };
        if state.is_live() {
            transition(tx, &[proposal], next, reason.as_deref())?;
        }
    }
    Ok((result, metrics.is_some()))
}

/// The row's design, and the proposal the result belongs to with its state: the named one, or
/// else the design's live proposal if it has one.
fn resolve(
    tx: &Transaction<'_>,
    rules: &dyn ResultRules,
    raw: &Raw,
) -> Result<(DesignId, Option<(ProposalId, ProposalState)>), Reject> {
    if let Some(id) = integer(&raw.proposal_id, "proposal_id")? {
        let found: Option<(DesignId, ProposalState)> = tx
            .prepare_cached("SELECT design_id, state FROM proposals WHERE id = ?1")?
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let Some((design, state)) = found else {
            return because(format!("unknown design: no proposal {id}"));
        };
        if let Some(named) = integer(&raw.design_id, "design_id")?.filter(|&d| d != design.0) {
            return because(format!(
                "proposal {id} is design {design}, but the row says design {named}"
            ));
        }
        return Ok((design, Some((ProposalId(id), state))));
    }
    let design = if let Some(id) = integer(&raw.design_id, "design_id")? {
        let found: Option<DesignId> = tx
            .prepare_cached("SELECT id FROM designs WHERE id = ?1")?
            .query_row([id], |r| r.get(0))
            .optional()?;
        found.ok_or_else(|| Reject::Because(format!("unknown design: no design {id}")))?
    } else if let SqlValue::Text(text) = &raw.params {
        let params: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| Reject::Because(format!("params are not JSON: {e}")))?;
        let design = rules
            .check_design(&params)
            .map_err(|e| Reject::Because(format!("invalid design: {e}")))?;
        upsert_design(tx, &design)?
    } else if raw.params == SqlValue::Null {
        return because("unknown design: the row gives no proposal_id, design_id or params");
    } else {
        return because(format!(
            "params must be a JSON object, got {}",
            show(&raw.params)
        ));
    };
    let live = tx
        .prepare_cached(
            "SELECT id, state FROM proposals
             WHERE design_id = ?1 AND state IN ('QUEUED', 'DISPATCHED', 'RUNNING')",
        )?
        .query_row([design], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    Ok((design, live))
}

/// An OK result of `design` whose metrics equal `metrics` exactly.
fn same_ok_result(
    tx: &Transaction<'_>,
    design: DesignId,
    metrics: &Metrics,
) -> rusqlite::Result<Option<ResultId>> {
    let mut results = tx.prepare_cached(
        "SELECT id FROM results WHERE design_id = ?1 AND status = 'OK' ORDER BY id",
    )?;
    let ids: Vec<ResultId> = results
        .query_map([design], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut values =
        tx.prepare_cached("SELECT metric, value FROM result_values WHERE result_id = ?1")?;
    for id in ids {
        let earlier = Metrics(
            values
                .query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?,
        );
        if &earlier == metrics {
            return Ok(Some(id));
        }
    }
    Ok(None)
}

/// A column that must be an integer id or NULL.
fn integer(value: &SqlValue, column: &str) -> Result<Option<i64>, Reject> {
    match value {
        SqlValue::Null => Ok(None),
        SqlValue::Integer(i) => Ok(Some(*i)),
        other => because(format!(
            "{column} must be an integer id, got {}",
            show(other)
        )),
    }
}

/// A free-text column: its text, or whatever else a user stored there, shown as SQL.
fn text(value: SqlValue) -> Option<String> {
    match value {
        SqlValue::Null => None,
        SqlValue::Text(s) => Some(s),
        other => Some(show(&other)),
    }
}

/// A stored value as a short SQL literal, for a reason text.
fn show(value: &SqlValue) -> String {
    match value {
        SqlValue::Null => "NULL".into(),
        SqlValue::Integer(i) => i.to_string(),
        SqlValue::Real(x) => x.to_string(),
        SqlValue::Text(s) => format!("'{}'", s.chars().take(60).collect::<String>()),
        SqlValue::Blob(b) => format!("a blob of {} bytes", b.len()),
    }
}
