//! Views for people with `sqlite3`: one column per objective and per decoded parameter.
//!
//! The columns depend on the config, so the daemon recreates the views at start
//! ([`Store::sync_views`]) and records the objectives in `meta`, where `status` and `best` read
//! them back.

use std::collections::HashSet;

use crate::space::Objective;

use super::{Store, StoreError, meta_set};

/// The meta key holding the objectives (a JSON array) the views were made for.
const OBJECTIVES_KEY: &str = "objectives";
/// The meta key holding the parameter names (a JSON array) the views decode.
const PARAMS_KEY: &str = "params";

/// The fixed columns of `results_wide` (and `best_designs`, which adds `target`, `rank`,
/// `score`), which no objective or parameter may shadow.
const FIXED_COLUMNS: [&str; 11] = [
    "result_id", "design_id", "hash", "feasible", "on_front", "evaluator", "runtime_s",
    "created_at", "target", "rank", "score",
];

/// `name` as a SQL identifier: `"name"`, with inner quotes doubled.
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `text` as a SQL string literal: `'text'`, with inner quotes doubled.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The `CREATE VIEW` statements, in dependency order.
fn view_sql(objectives: &[Objective], params: &[String]) -> Vec<String> {
    let objective_columns: String = objectives
        .iter()
        .map(|o| {
            format!(
                "\n    (SELECT v.value FROM result_values v WHERE v.result_id = r.id AND v.metric = {}) AS {},",
                literal(&o.name),
                ident(&o.name)
            )
        })
        .collect();
    let param_columns: String = params
        .iter()
        .map(|p| format!(",\n    json_extract(d.params, {}) AS {}", literal(&format!("$.{}", ident(p))), ident(p)))
        .collect();
    let order = objectives.first().map_or("result_id".to_string(), |o| ident(&o.name));
    vec![
        format!(
            "CREATE VIEW results_wide AS\nSELECT r.id AS result_id, r.design_id, d.hash,{objective_columns}
    r.feasible, r.on_front, r.evaluator, r.runtime_s, r.created_at{param_columns}
FROM results r JOIN designs d ON d.id = r.design_id
WHERE r.status = 'OK'"
        ),
        format!("CREATE VIEW pareto_front AS\nSELECT * FROM results_wide WHERE on_front = 1 ORDER BY {order}"),
        "CREATE VIEW best_designs AS
SELECT t.name AS target, tr.rank, tr.score, w.*
FROM target_ranks tr
JOIN targets t ON t.id = tr.target_id AND t.active = 1
JOIN results_wide w ON w.result_id = tr.result_id
ORDER BY t.name, tr.rank"
            .to_string(),
        "CREATE VIEW queue AS
SELECT p.id, p.state, p.origin, t.name AS target, p.model_version, p.batch_id, p.job_id,
       p.attempts, p.reason, p.created_at, p.updated_at, p.design_id, d.params
FROM proposals p JOIN designs d ON d.id = p.design_id
LEFT JOIN targets t ON t.id = p.target_id
ORDER BY p.id"
            .to_string(),
        "CREATE VIEW failures AS
SELECT 'result' AS kind, r.id, r.design_id, r.proposal_id, r.evaluator, r.source,
       r.error AS reason, r.created_at AS at, d.params
FROM results r JOIN designs d ON d.id = r.design_id
WHERE r.status = 'FAILED'
UNION ALL
SELECT 'inbox', i.id, i.design_id, i.proposal_id, i.evaluator, i.source,
       i.reason, coalesce(i.processed_at, i.received_at), i.params
FROM inbox i
WHERE i.state = 'REJECTED'
ORDER BY at"
            .to_string(),
    ]
}

/// The views `sync_views` creates, dropped before they are made again.
const VIEWS: [&str; 5] = ["results_wide", "pareto_front", "best_designs", "queue", "failures"];

impl Store {
    /// Drops and recreates, in one transaction, the views `results_wide`, `pareto_front`,
    /// `best_designs`, `queue` and `failures` for these objectives and parameters, and records
    /// both in `meta`. A name that would appear twice in `results_wide` or `best_designs` is
    /// refused with [`StoreError::DuplicateColumn`].
    pub fn sync_views(&mut self, objectives: &[Objective], params: &[String]) -> Result<(), StoreError> {
        let mut seen: HashSet<&str> = FIXED_COLUMNS.into_iter().collect();
        let names = objectives.iter().map(|o| o.name.as_str()).chain(params.iter().map(String::as_str));
        for name in names {
            if !seen.insert(name) {
                let view = if ["target", "rank", "score"].contains(&name) { "best_designs" } else { "results_wide" };
                return Err(StoreError::DuplicateColumn { path: self.path.clone(), view, column: name.to_string() });
            }
        }
        let objectives_json = serde_json::to_string(objectives).expect("objectives serialize");
        let params_json = serde_json::to_string(params).expect("names serialize");
        self.write(|tx| {
            for view in VIEWS {
                tx.execute_batch(&format!("DROP VIEW IF EXISTS {view}"))?;
            }
            for sql in view_sql(objectives, params) {
                tx.execute_batch(&sql)?;
            }
            meta_set(tx, OBJECTIVES_KEY, &objectives_json)?;
            meta_set(tx, PARAMS_KEY, &params_json)
        })
    }

    /// The objectives the views were last made for; `None` before the first `sync_views`.
    pub fn objectives(&self) -> Result<Option<Vec<Objective>>, StoreError> {
        let Some(text) = self.meta_get(OBJECTIVES_KEY)? else {
            return Ok(None);
        };
        serde_json::from_str(&text).map(Some).map_err(|e| StoreError::Corrupt {
            path: self.path.clone(),
            what: format!("meta {OBJECTIVES_KEY:?} is not a list of objectives: {e}"),
        })
    }
}
