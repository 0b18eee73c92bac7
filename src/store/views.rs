//! Views for people with `sqlite3`: one column per objective and per decoded parameter.
//!
//! The columns depend on the config, so the daemon recreates the views at start
//! ([`Store::sync_views`]) and records the objectives in `meta`, where `status` and `best` read
//! them back.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::space::{Direction, Layer, Objective, Param, Value};

use super::{Store, StoreError, meta_set};

/// The meta key holding the objectives (a JSON array) the views were made for.
const OBJECTIVES_KEY: &str = "objectives";
/// The meta key holding the parameter names (a JSON array) the views decode.
const PARAMS_KEY: &str = "params";

/// The meta key holding each parameter's layer, kind, unit and legal values (a JSON array of
/// [`ParamInfo`]), for readers without the config (`diffuse-dse report`). Added after schema
/// version 1 as a plain `meta` row: stores written before it simply lack the key.
const PARAM_INFO_KEY: &str = "param_info";

/// What a reader without the config needs to know about a parameter: which layer of the stack
/// it tunes (hardware generator or EDA flow), its kind, its unit, and its legal values in order
/// (empty for a float parameter).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ParamInfo {
    pub name: String,
    pub layer: Layer,
    pub kind: String,
    #[serde(default)]
    pub unit: String,
    #[serde(default)]
    pub choices: Vec<Value>,
}

impl From<&Param> for ParamInfo {
    fn from(p: &Param) -> Self {
        ParamInfo {
            name: p.name.clone(),
            layer: p.layer,
            kind: p.kind.name().to_string(),
            unit: p.unit.clone(),
            choices: p.choices.clone(),
        }
    }
}

/// The fixed columns of `results_wide` (and `best_designs`, which adds `target`, `rank`,
/// `score`), which no objective or parameter may shadow.
const FIXED_COLUMNS: [&str; 11] = [
    "result_id",
    "design_id",
    "hash",
    "feasible",
    "on_front",
    "evaluator",
    "runtime_s",
    "created_at",
    "target",
    "rank",
    "score",
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
        .map(|p| {
            format!(
                ",\n    json_extract(d.params, {}) AS {}",
                literal(&format!("$.{}", ident(p))),
                ident(p)
            )
        })
        .collect();
    // Best first in the first objective.
    let order = objectives
        .first()
        .map_or("result_id".to_string(), |o| match o.direction {
            Direction::Min => ident(&o.name),
            Direction::Max => format!("{} DESC", ident(&o.name)),
        });
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
const VIEWS: [&str; 5] = [
    "results_wide",
    "pareto_front",
    "best_designs",
    "queue",
    "failures",
];

impl Store {
    /// Drops and recreates, in one transaction, the views `results_wide`, `pareto_front`,
    /// `best_designs`, `queue` and `failures` for these objectives and parameters, and records
    /// both in `meta`. A name that would appear twice in `results_wide` or `best_designs` is
    /// refused with [`StoreError::DuplicateColumn`].
    pub fn sync_views(
        &mut self,
        objectives: &[Objective],
        params: &[String],
    ) -> Result<(), StoreError> {
        let mut seen: HashSet<&str> = FIXED_COLUMNS.into_iter().collect();
        let names = objectives
            .iter()
            .map(|o| o.name.as_str())
            .chain(params.iter().map(String::as_str));
        for name in names {
            if !seen.insert(name) {
                let view = if ["target", "rank", "score"].contains(&name) {
                    "best_designs"
                } else {
                    "results_wide"
                };
                return Err(StoreError::DuplicateColumn {
                    path: self.path.clone(),
                    view,
                    column: name.to_string(),
                });
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

    /// Records each parameter's layer, kind, unit and legal values in `meta`, so that a reader
    /// without the config (the report) can tell hardware from EDA parameters.
    pub fn record_param_info(&mut self, params: &[Param]) -> Result<(), StoreError> {
        let info: Vec<ParamInfo> = params.iter().map(ParamInfo::from).collect();
        let text = serde_json::to_string(&info).expect("parameter info serializes");
        self.meta_set(PARAM_INFO_KEY, &text)
    }

    /// The parameters as last recorded by [`Store::record_param_info`]; `None` for a store no
    /// daemon of this version has opened yet.
    pub fn param_info(&self) -> Result<Option<Vec<ParamInfo>>, StoreError> {
        let Some(text) = self.meta_get(PARAM_INFO_KEY)? else {
            return Ok(None);
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| StoreError::Corrupt {
                path: self.path.clone(),
                what: format!("meta {PARAM_INFO_KEY:?} is not a list of parameters: {e}"),
            })
    }

    /// The parameter names the views decode (meta `params`); `None` before the first
    /// `sync_views`.
    pub fn view_params(&self) -> Result<Option<Vec<String>>, StoreError> {
        let Some(text) = self.meta_get(PARAMS_KEY)? else {
            return Ok(None);
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| StoreError::Corrupt {
                path: self.path.clone(),
                what: format!("meta {PARAMS_KEY:?} is not a list of names: {e}"),
            })
    }

    /// The objectives the views were last made for; `None` before the first `sync_views`.
    pub fn objectives(&self) -> Result<Option<Vec<Objective>>, StoreError> {
        let Some(text) = self.meta_get(OBJECTIVES_KEY)? else {
            return Ok(None);
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| StoreError::Corrupt {
                path: self.path.clone(),
                what: format!("meta {OBJECTIVES_KEY:?} is not a list of objectives: {e}"),
            })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::store::testing::{Rules, objectives, temp_store};
    use crate::store::{InboxRow, InboxStatus, ResultId};

    fn columns(store: &Store, view: &str) -> Vec<String> {
        let stmt = store
            .conn
            .prepare(&format!("SELECT * FROM {view}"))
            .unwrap();
        stmt.column_names()
            .into_iter()
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn views_have_objective_and_parameter_columns() {
        let (dir, mut store) = temp_store();
        let objectives = objectives();
        let params = vec!["x".to_string(), "kind".to_string()];
        store.sync_views(&objectives, &params).unwrap();
        store.sync_views(&objectives, &params).unwrap();
        assert_eq!(store.objectives().unwrap(), Some(objectives.clone()));

        let row = |x: i64, a: f64, status| InboxRow {
            proposal_id: None,
            design_id: None,
            params: Some(json!({"x": x, "kind": "k"})),
            metrics: Some(json!({"a": a, "b": 1.0})),
            status,
            error: Some("flow failed".into()),
            evaluator: Some("test".into()),
            runtime_s: None,
            source: "test".into(),
        };
        store
            .insert_inbox(&[
                row(1, 5.0, InboxStatus::Ok),
                row(2, 3.0, InboxStatus::Ok),
                row(3, 1.0, InboxStatus::Failed),
            ])
            .unwrap();
        store
            .conn
            .execute("INSERT INTO inbox (metrics) VALUES ('{}')", [])
            .unwrap();
        store.process_inbox(&Rules::new(), 100).unwrap();
        store.refresh_front(&objectives).unwrap();
        let target = store.sync_targets(&[("t".into(), json!({}))]).unwrap()[0].1;
        store
            .replace_target_ranks(target, &[(ResultId(1), 2.0), (ResultId(2), 1.0)])
            .unwrap();

        let wide = [
            "result_id",
            "design_id",
            "hash",
            "a",
            "b",
            "feasible",
            "on_front",
            "evaluator",
            "runtime_s",
            "created_at",
            "x",
            "kind",
        ];
        assert_eq!(columns(&store, "results_wide"), wide);
        assert_eq!(columns(&store, "pareto_front"), wide);
        assert_eq!(
            columns(&store, "best_designs")[..4],
            ["target", "rank", "score", "result_id"]
        );
        assert_eq!(columns(&store, "queue")[..3], ["id", "state", "origin"]);
        assert_eq!(columns(&store, "failures")[..2], ["kind", "id"]);

        let front: Vec<(i64, f64, i64)> = store
            .conn
            .prepare("SELECT result_id, a, x FROM pareto_front")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(front, [(2, 3.0, 2)]);
        let best: Vec<(String, i64, i64)> = store
            .conn
            .prepare("SELECT target, rank, result_id FROM best_designs")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(best, [("t".into(), 1, 2), ("t".into(), 2, 1)]);
        let failures: Vec<(String, String)> = store
            .conn
            .prepare("SELECT kind, reason FROM failures")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(failures[0], ("result".into(), "flow failed".into()));
        assert_eq!(failures[1].0, "inbox");
        assert!(failures[1].1.starts_with("unknown design"), "{failures:?}");

        let sqlite3 = std::process::Command::new("sqlite3")
            .arg(dir.path().join("store.db"))
            .arg("SELECT result_id, a, x FROM pareto_front")
            .output();
        match sqlite3 {
            Ok(out) => {
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
                assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "2|3.0|2");
            }
            Err(e) => eprintln!("sqlite3 not run ({e}); skipped the command-line check"),
        }
    }

    #[test]
    fn param_info_round_trips_and_is_absent_in_older_stores() {
        let (_dir, mut store) = temp_store();
        assert_eq!(store.param_info().unwrap(), None);
        assert_eq!(store.view_params().unwrap(), None);
        let params = vec![
            Param {
                name: "mesh_rows".into(),
                layer: Layer::Hw,
                kind: crate::space::Kind::Pow2 { low: 1, high: 4 },
                choices: vec![Value::Int(1), Value::Int(2), Value::Int(4)],
                default: Value::Int(2),
                unit: String::new(),
                description: String::new(),
            },
            Param {
                name: "vt".into(),
                layer: Layer::Eda,
                kind: crate::space::Kind::Ordinal,
                choices: vec![Value::Str("RVT".into()), Value::Str("LVT".into())],
                default: Value::Str("RVT".into()),
                unit: String::new(),
                description: String::new(),
            },
        ];
        store.record_param_info(&params).unwrap();
        let info = store.param_info().unwrap().unwrap();
        assert_eq!(info.len(), 2);
        assert_eq!((info[0].layer, info[0].kind.as_str()), (Layer::Hw, "pow2"));
        assert_eq!(
            (info[1].layer, info[1].kind.as_str()),
            (Layer::Eda, "ordinal")
        );
        assert_eq!(info[1].choices, params[1].choices);
        store
            .sync_views(&objectives(), &["mesh_rows".into(), "vt".into()])
            .unwrap();
        assert_eq!(
            store.view_params().unwrap().unwrap(),
            ["mesh_rows".to_string(), "vt".to_string()]
        );
    }

    #[test]
    fn odd_names_are_quoted_and_clashes_refused() {
        let (_dir, mut store) = temp_store();
        let mut objectives = objectives();
        objectives[0].name = "lat\"ency 'ms'".into();
        store.sync_views(&objectives, &["a.b".into()]).unwrap();
        assert_eq!(columns(&store, "results_wide")[3], "lat\"ency 'ms'");
        let err = store.sync_views(&objectives, &["hash".into()]).unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::DuplicateColumn {
                    view: "results_wide",
                    ..
                }
            ),
            "{err}"
        );
        let err = store.sync_views(&objectives, &["rank".into()]).unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::DuplicateColumn {
                    view: "best_designs",
                    ..
                }
            ),
            "{err}"
        );
    }
}
