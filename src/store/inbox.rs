//! The result inbox: where results arrive from anyone, and their validation into `results`.
//!
//! Batch jobs, `diffuse-dse ingest`, the local runner and the users' own flows (plain `INSERT`s)
//! all write `inbox` rows; [`Store::process_inbox`] takes the `NEW` ones in id order and either
//! moves each into `results` (`ACCEPTED`) or leaves it with `REJECTED` and the reason. Rows are
//! never deleted.

use rusqlite::{Transaction, params};

use crate::space::{Design, Metrics};

use super::validate::{Outcome, new_rows, validate};
use super::{DesignId, InboxId, ProposalId, Store, StoreError};

/// How many inbox rows one transaction validates: a crash rolls back at most this many, and
/// other writers wait at most one chunk.
const CHUNK: usize = 1_000;

/// What the store needs to know about the problem to validate a result.
pub trait ResultRules {
    /// Metrics every OK result must report.
    fn required_metrics(&self) -> &[String];
    /// Decodes and checks a design given as parameter values (a JSON object); the error says
    /// which parameter is wrong.
    fn check_design(&self, params: &serde_json::Value) -> Result<Design, String>;
    /// Whether an OK result meets the problem's constraints.
    fn feasible(&self, metrics: &Metrics) -> bool;
}

/// How an evaluation ended, as `inbox.status` spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InboxStatus {
    /// Metrics were measured.
    Ok,
    /// The evaluation failed; `error` says why.
    Failed,
}

impl InboxStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            InboxStatus::Ok => "ok",
            InboxStatus::Failed => "failed",
        }
    }
}

/// One result to write into the inbox. It names its design by `proposal_id`, `design_id` or
/// `params` (the first given wins).
#[derive(Clone, Debug, PartialEq)]
pub struct InboxRow {
    pub proposal_id: Option<ProposalId>,
    pub design_id: Option<DesignId>,
    /// Parameter values, a JSON object.
    pub params: Option<serde_json::Value>,
    /// Metric values, a JSON object (flat or `{"metrics": {…}}`, as `crate::qor` reads it).
    pub metrics: Option<serde_json::Value>,
    pub status: InboxStatus,
    pub error: Option<String>,
    pub evaluator: Option<String>,
    pub runtime_s: Option<f64>,
    /// Who wrote it: `local`, `ingest`, `slurm`, …
    pub source: String,
}

impl InboxRow {
    /// A failed evaluation of `proposal`: a FAILED result with `error` once ingested.
    pub fn failed(proposal: ProposalId, error: String, source: &str) -> Self {
        InboxRow {
            proposal_id: Some(proposal),
            design_id: None,
            params: None,
            metrics: None,
            status: InboxStatus::Failed,
            error: Some(error),
            evaluator: None,
            runtime_s: None,
            source: source.to_string(),
        }
    }
}

/// What one `process_inbox` call did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IngestReport {
    /// Rows moved into `results` (OK and FAILED).
    pub accepted: usize,
    /// Rows rejected, with the reason stored in `inbox.reason`.
    pub rejected: Vec<(InboxId, String)>,
    /// New OK results: the front and the model have something new.
    pub new_ok_results: usize,
}

impl Store {
    /// Writes result rows into the inbox in one transaction; returns how many.
    pub fn insert_inbox(&mut self, rows: &[InboxRow]) -> Result<usize, StoreError> {
        self.write(|tx| {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO inbox (proposal_id, design_id, params, metrics, status, error,
                                    evaluator, runtime_s, source)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?;
            for row in rows {
                stmt.execute(params![
                    row.proposal_id,
                    row.design_id,
                    row.params.as_ref().map(|v| v.to_string()),
                    row.metrics.as_ref().map(|v| v.to_string()),
                    row.status.as_str(),
                    row.error,
                    row.evaluator,
                    row.runtime_s,
                    row.source,
                ])?;
            }
            Ok(rows.len())
        })
    }

    /// Validates up to `limit` `NEW` inbox rows, oldest first, one transaction per chunk of
    /// [`CHUNK`] rows (a crash mid-chunk rolls the whole chunk back).
    ///
    /// For each row: the design is resolved (a proposal's design; an existing design id; or
    /// `params`, checked by `rules` and inserted), else it is rejected as `unknown design`. An OK
    /// row's metrics must parse (`crate::qor::parse_metrics_json`: a JSON object of finite
    /// numbers with every required metric). A second result for a proposal, or an OK result whose
    /// metrics equal an existing OK result of the same design, is rejected as `duplicate of
    /// result N`. An accepted row becomes a `results` row (with `result_values` and `feasible`);
    /// its proposal, named or the design's live one, moves `DISPATCHED | RUNNING → DONE | FAILED`,
    /// or `QUEUED → CANCELLED` (evaluated elsewhere), and stays as it is otherwise.
    pub fn process_inbox(
        &mut self,
        rules: &dyn ResultRules,
        limit: usize,
    ) -> Result<IngestReport, StoreError> {
        let mut report = IngestReport::default();
        let mut left = limit;
        while left > 0 {
            let n = self.write(|tx| process_chunk(tx, rules, left.min(CHUNK), &mut report))?;
            if n == 0 {
                break;
            }
            left -= n;
        }
        Ok(report)
    }
}

/// Validates the next `n` NEW rows; returns how many there were.
fn process_chunk(
    tx: &Transaction<'_>,
    rules: &dyn ResultRules,
    n: usize,
    report: &mut IngestReport,
) -> rusqlite::Result<usize> {
    let rows = new_rows(tx, n)?;
    let mut accept = tx.prepare_cached(
        "UPDATE inbox SET state = 'ACCEPTED', result_id = ?2, reason = NULL,
             processed_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?1",
    )?;
    let mut reject = tx.prepare_cached(
        "UPDATE inbox SET state = 'REJECTED', reason = ?2,
             processed_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?1",
    )?;
    for raw in &rows {
        match validate(tx, rules, raw)? {
            Outcome::Accepted { result, ok } => {
                accept.execute(params![raw.id, result])?;
                report.accepted += 1;
                report.new_ok_results += usize::from(ok);
            }
            Outcome::Rejected(reason) => {
                reject.execute(params![raw.id, reason])?;
                report.rejected.push((raw.id, reason));
            }
        }
    }
    Ok(rows.len())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::store::testing::{Rules, design, ok_row, temp_store};
    use crate::store::{NewProposal, ProposalState, Store};

    /// A store with `n` proposals for designs `0..n`, all dispatched.
    fn dispatched(n: i64) -> (tempfile::TempDir, Store, Vec<ProposalId>) {
        let (dir, mut store) = temp_store();
        let new: Vec<NewProposal> = (0..n)
            .map(|i| NewProposal {
                design: design(i),
                origin: "test".into(),
                model_version: None,
                target: None,
            })
            .collect();
        let ids = store.enqueue(&new).unwrap().ids;
        store.claim_batch(n as usize, "local", "test").unwrap();
        (dir, store, ids)
    }

    fn state(store: &Store, id: ProposalId) -> ProposalState {
        store
            .conn
            .query_row("SELECT state FROM proposals WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .unwrap()
    }

    fn with_metrics(proposal: ProposalId, metrics: serde_json::Value) -> InboxRow {
        InboxRow {
            metrics: Some(metrics),
            ..ok_row(proposal, 0.0, 0.0)
        }
    }

    #[test]
    fn an_ok_row_becomes_a_result_and_finishes_its_proposal() {
        let (_dir, mut store, ids) = dispatched(2);
        store
            .insert_inbox(&[ok_row(ids[0], 5.0, 2.0), ok_row(ids[1], 500.0, 1.0)])
            .unwrap();
        let report = store.process_inbox(&Rules::new(), 100).unwrap();
        assert_eq!(
            (
                report.accepted,
                report.new_ok_results,
                report.rejected.len()
            ),
            (2, 2, 0)
        );
        assert_eq!(state(&store, ids[0]), ProposalState::Done);
        let (feasible, values): (Vec<bool>, Vec<i64>) = (
            store
                .conn
                .prepare("SELECT feasible FROM results ORDER BY id")
                .unwrap()
                .query_map([], |r| r.get(0))
                .unwrap()
                .map(Result::unwrap)
                .collect(),
            store
                .conn
                .prepare("SELECT count(*) FROM result_values GROUP BY result_id")
                .unwrap()
                .query_map([], |r| r.get(0))
                .unwrap()
                .map(Result::unwrap)
                .collect(),
        );
        assert_eq!((feasible, values), (vec![true, false], vec![2, 2]));
        let inbox: (String, Option<i64>, bool) = store
            .conn
            .query_row(
                "SELECT state, result_id, processed_at IS NOT NULL FROM inbox WHERE id = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!(inbox, ("ACCEPTED".into(), Some(1), true));
        assert_eq!(
            store.process_inbox(&Rules::new(), 100).unwrap(),
            IngestReport::default()
        );
    }

    #[test]
    fn each_rejection_class_gives_its_reason_and_stays_in_the_inbox() {
        let (_dir, mut store, ids) = dispatched(8);
        let params = |v: serde_json::Value| InboxRow {
            proposal_id: None,
            params: Some(v),
            ..ok_row(ids[0], 1.0, 1.0)
        };
        let rows = vec![
            with_metrics(ids[0], json!({"a": 1.0})),
            with_metrics(ids[1], json!({"a": "NaN", "b": 1.0})),
            with_metrics(ids[2], json!({"a": null, "b": 1.0})),
            InboxRow {
                metrics: None,
                ..ok_row(ids[3], 0.0, 0.0)
            },
            ok_row(ProposalId(999), 1.0, 1.0),
            InboxRow {
                proposal_id: None,
                design_id: Some(DesignId(999)),
                ..ok_row(ids[0], 1.0, 1.0)
            },
            InboxRow {
                proposal_id: None,
                ..ok_row(ids[0], 1.0, 1.0)
            },
            params(json!({"x": "seven"})),
            ok_row(ids[4], 1.0, 1.0),
            ok_row(ids[4], 1.0, 2.0),
        ];
        store.insert_inbox(&rows).unwrap();
        store
            .conn
            .execute(
                "INSERT INTO inbox (proposal_id, metrics) VALUES (?1, '{{{ garbage')",
                [ids[5]],
            )
            .unwrap();
        store
            .conn
            .execute(
                "INSERT INTO inbox (proposal_id, metrics) VALUES ('abc', '{}')",
                [],
            )
            .unwrap();
        store
            .conn
            .execute(
                "INSERT INTO inbox (proposal_id, status, error) VALUES (?1, 'maybe', x'00')",
                [ids[6]],
            )
            .unwrap();
        let report = store.process_inbox(&Rules::new(), 100).unwrap();
        let reasons: Vec<String> = report.rejected.iter().map(|(_, r)| r.clone()).collect();
        let expect = [
            "bad metrics: the report lacks b",
            "metric 'a' is \"NaN\", expected a finite number",
            "metric 'a' is null, expected a finite number",
            "metrics must be JSON text, got NULL",
            "unknown design: no proposal 999",
            "unknown design: no design 999",
            "unknown design: the row gives no proposal_id, design_id or params",
            "invalid design: x must be an integer",
            "duplicate of result 1",
            "not JSON",
            "proposal_id must be an integer id, got 'abc'",
            "status must be 'ok' or 'failed', got 'maybe'",
        ];
        assert_eq!(reasons.len(), expect.len(), "{reasons:#?}");
        for (reason, want) in reasons.iter().zip(expect) {
            assert!(reason.contains(want), "{reason:?} should say {want:?}");
        }
        assert_eq!(report.accepted, 1);
        let stored: Vec<(String, String)> = store
            .conn
            .prepare("SELECT state, reason FROM inbox WHERE state = 'REJECTED' ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            stored.iter().map(|(_, r)| r.clone()).collect::<Vec<_>>(),
            reasons
        );
        assert_eq!(
            state(&store, ids[0]),
            ProposalState::Dispatched,
            "a rejected row moves nothing"
        );
    }

    #[test]
    fn results_by_design_or_params_find_the_live_proposal_and_skip_repeats() {
        let (_dir, mut store, ids) = dispatched(1);
        let queued = store
            .enqueue(&[NewProposal {
                design: design(7),
                origin: "t".into(),
                model_version: None,
                target: None,
            }])
            .unwrap()
            .ids[0];
        let by_params = |a: f64| InboxRow {
            proposal_id: None,
            params: Some(json!({"x": 7, "kind": "odd"})),
            ..ok_row(ids[0], a, 1.0)
        };
        store
            .insert_inbox(&[by_params(3.0), by_params(3.0), by_params(4.0)])
            .unwrap();
        store.conn.execute("INSERT INTO inbox (design_id, status, error) VALUES (1, 'failed', 'yosys crashed')", []).unwrap();
        let report = store.process_inbox(&Rules::new(), 100).unwrap();
        assert_eq!(
            report
                .rejected
                .iter()
                .map(|r| r.1.as_str())
                .collect::<Vec<_>>(),
            ["duplicate of result 1"]
        );
        assert_eq!(
            (report.accepted, report.new_ok_results),
            (3, 2),
            "a rerun with new values is kept"
        );
        assert_eq!(state(&store, queued), ProposalState::Cancelled);
        assert_eq!(state(&store, ids[0]), ProposalState::Failed);
        let (error, reason): (String, String) = store
            .conn
            .query_row(
                "SELECT r.error, p.reason FROM results r JOIN proposals p ON p.id = r.proposal_id WHERE r.status = 'FAILED'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(
            (error.as_str(), reason.as_str()),
            ("yosys crashed", "yosys crashed")
        );
        assert_eq!(store.failed_designs().unwrap().len(), 1);
    }

    /// A panic in the middle of a chunk (a crash) leaves the whole chunk as it was.
    #[test]
    fn a_crash_mid_chunk_rolls_the_chunk_back() {
        struct Crashing(Rules);
        impl ResultRules for Crashing {
            fn required_metrics(&self) -> &[String] {
                self.0.required_metrics()
            }
            fn check_design(&self, _: &serde_json::Value) -> Result<Design, String> {
                panic!("crash")
            }
            fn feasible(&self, m: &Metrics) -> bool {
                self.0.feasible(m)
            }
        }
        let (_dir, mut store, ids) = dispatched(2);
        let crash = InboxRow {
            proposal_id: None,
            params: Some(json!({"x": 1})),
            ..ok_row(ids[0], 1.0, 1.0)
        };
        store
            .insert_inbox(&[ok_row(ids[0], 1.0, 1.0), ok_row(ids[1], 2.0, 2.0), crash])
            .unwrap();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            store.process_inbox(&Crashing(Rules::new()), 100)
        }));
        assert!(outcome.is_err());
        let counts: (i64, i64) = store
            .conn
            .query_row("SELECT (SELECT count(*) FROM inbox WHERE state = 'NEW'), (SELECT count(*) FROM results)", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!(counts, (3, 0));
        assert_eq!(state(&store, ids[0]), ProposalState::Dispatched);
    }

    /// Another process writes inbox rows while the daemon's connection processes them.
    #[test]
    fn rows_inserted_during_processing_are_all_taken() {
        let (dir, mut store, ids) = dispatched(300);
        let path = dir.path().join("store.db");
        let writer = std::thread::spawn(move || {
            let mut other = Store::open(&path).unwrap();
            for chunk in ids.chunks(10) {
                let rows: Vec<InboxRow> =
                    chunk.iter().map(|&p| ok_row(p, p.0 as f64, 1.0)).collect();
                other.insert_inbox(&rows).unwrap();
            }
        });
        let mut accepted = 0;
        while accepted < 300 {
            let report = store.process_inbox(&Rules::new(), 64).unwrap();
            assert!(report.rejected.is_empty(), "{:?}", report.rejected);
            accepted += report.accepted;
        }
        writer.join().unwrap();
        assert_eq!(accepted, 300);
        assert_eq!(store.state_counts().unwrap()[&ProposalState::Done], 300);
    }
}
