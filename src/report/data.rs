//! What the report shows, read from the store with plain queries over its tables (not the
//! views, which a store that no daemon has opened yet lacks).
//!
//! Everything is gathered into one JSON value that the page's script draws from; the shapes are
//! documented on each field of [`ReportData`].

use std::collections::HashMap;

use rusqlite::types::Value as Sql;
use serde::Serialize;
use serde_json::{Value as Json, json};

use crate::space::{Direction, Objective};
use crate::store::{ParamInfo, Store, StoreError};

use super::history::{self, BatchPoint};

/// How much of a large store goes into the page.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// At most this many OK results in the design table, the scatter plots and the parallel
    /// coordinates: the front and the ranked designs always, then the newest.
    pub max_designs: usize,
    /// At most this many failures listed one by one (all of them are counted by reason).
    pub max_failures: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_designs: 5000,
            max_failures: 500,
        }
    }
}

/// An objective as the page sees it: `assumed` when the store did not record the objectives
/// (no daemon has synced its views) and the metric names were taken from the results, to be
/// minimized.
#[derive(Clone, Debug, Serialize)]
pub struct PageObjective {
    pub name: String,
    pub direction: Direction,
    pub unit: String,
    pub reference: Option<f64>,
    pub assumed: bool,
}

/// A parameter as the page sees it; `layer` is `None` when the store predates the recorded
/// parameter info.
#[derive(Clone, Debug, Serialize)]
pub struct PageParam {
    pub name: String,
    pub layer: Option<&'static str>,
    pub kind: Option<String>,
    pub unit: String,
    pub choices: Vec<Json>,
}

/// Everything the page draws, serialized into it as JSON.
#[derive(Debug, Serialize)]
pub struct ReportData {
    pub store: String,
    pub generated_at: String,
    pub diffuse_dse_version: &'static str,
    pub space_hash: Option<String>,
    pub objectives: Vec<PageObjective>,
    pub params: Vec<PageParam>,
    /// Whether every parameter's layer (hw or eda) is known.
    pub layers_known: bool,
    /// `{designs, feasible, front, ok, failed, rejected, proposals: {STATE: n}}`: the whole
    /// store's counts, whatever `results` holds.
    pub counts: Json,
    /// OK results that made it into the page, each `{id, design_id, feasible, on_front,
    /// evaluator, runtime_s, source, created_at, batch, origin, target, model_version,
    /// metrics: {name: value}, params: {name: value}}`.
    pub results: Vec<Json>,
    /// How many OK results the store holds (`results` may hold fewer).
    pub results_total: usize,
    /// The hypervolume reference point (raw values, one per objective) used for `batches`.
    pub hv_reference: Option<Vec<f64>>,
    /// The hypervolume of every feasible result so far.
    pub hv_final: Option<f64>,
    /// Per batch, oldest first: its outcome and the front's hypervolume after it.
    pub batches: Vec<BatchPoint>,
    /// Active targets, each `{name, source, spec, best: [{rank, score, result_id}]}`.
    pub targets: Vec<Json>,
    /// Proposer checkpoints, oldest first.
    pub models: Vec<Json>,
    /// `{total, by_reason: [{kind, reason, n}], latest: [...]}`.
    pub failures: Json,
}

/// A SQLite value as JSON: numbers stay numbers, blobs become their size.
fn json_of(v: &Sql) -> Json {
    match v {
        Sql::Null => Json::Null,
        Sql::Integer(i) => json!(i),
        Sql::Real(x) => serde_json::Number::from_f64(*x).map_or(Json::Null, Json::Number),
        Sql::Text(s) => json!(s),
        Sql::Blob(b) => json!(format!("{} bytes", b.len())),
    }
}

/// Rows of `sql` as JSON objects keyed by column name.
fn objects(store: &Store, sql: &str) -> Result<Vec<serde_json::Map<String, Json>>, StoreError> {
    let (columns, rows) = store.select(sql, &[])?;
    Ok(rows
        .iter()
        .map(|r| {
            columns
                .iter()
                .zip(r)
                .map(|(c, v)| (c.clone(), json_of(v)))
                .collect()
        })
        .collect())
}

/// A JSON text column parsed (a design's parameters); anything unreadable becomes `{}`.
fn parsed(v: Option<Json>) -> Json {
    match v {
        Some(Json::String(s)) => serde_json::from_str(&s).unwrap_or_else(|_| json!({})),
        _ => json!({}),
    }
}

/// The objectives the store recorded, else its metric names (assumed minimized).
fn objectives(store: &Store) -> Result<Vec<PageObjective>, StoreError> {
    if let Some(objectives) = store.objectives()?.filter(|o| !o.is_empty()) {
        return Ok(objectives
            .into_iter()
            .map(|o| PageObjective {
                name: o.name,
                direction: o.direction,
                unit: o.unit,
                reference: o.reference,
                assumed: false,
            })
            .collect());
    }
    let (_, rows) = store.select(
        "SELECT DISTINCT metric FROM result_values ORDER BY metric",
        &[],
    )?;
    Ok(rows
        .into_iter()
        .filter_map(|r| match r.into_iter().next() {
            Some(Sql::Text(name)) => Some(PageObjective {
                name,
                direction: Direction::Min,
                unit: String::new(),
                reference: None,
                assumed: true,
            }),
            _ => None,
        })
        .collect())
}

/// The parameters with their layers where the store recorded them, else the names the views
/// decode, else the keys of the stored designs.
fn params(store: &Store) -> Result<Vec<PageParam>, StoreError> {
    if let Some(info) = store.param_info()? {
        return Ok(info.into_iter().map(page_param).collect());
    }
    let names = match store.view_params()? {
        Some(names) => names,
        None => {
            let (_, rows) = store.select(
                "SELECT DISTINCT j.key FROM designs d, json_each(d.params) j ORDER BY j.key",
                &[],
            )?;
            rows.into_iter()
                .filter_map(|r| match r.into_iter().next() {
                    Some(Sql::Text(s)) => Some(s),
                    _ => None,
                })
                .collect()
        }
    };
    Ok(names
        .into_iter()
        .map(|name| PageParam {
            name,
            layer: None,
            kind: None,
            unit: String::new(),
            choices: Vec::new(),
        })
        .collect())
}

fn page_param(p: ParamInfo) -> PageParam {
    PageParam {
        name: p.name,
        layer: Some(p.layer.as_str()),
        kind: Some(p.kind),
        unit: p.unit,
        choices: p
            .choices
            .iter()
            .map(|c| serde_json::to_value(c).unwrap_or(Json::Null))
            .collect(),
    }
}

fn counts(store: &Store) -> Result<Json, StoreError> {
    let c = store.result_counts()?;
    let proposals: serde_json::Map<String, Json> = store
        .state_counts()?
        .into_iter()
        .map(|(s, n)| (s.as_str().to_string(), json!(n)))
        .collect();
    let (names, row) = store.select(
        "SELECT (SELECT count(*) FROM designs) AS designs,
                (SELECT count(*) FROM results WHERE status = 'OK' AND feasible = 1) AS feasible,
                (SELECT count(*) FROM results WHERE on_front = 1) AS front",
        &[],
    )?;
    let get = |name: &str| {
        names
            .iter()
            .position(|n| n == name)
            .and_then(|i| row.first().map(|r| json_of(&r[i])))
            .unwrap_or(Json::Null)
    };
    Ok(json!({
        "designs": get("designs"),
        "feasible": get("feasible"),
        "front": get("front"),
        "ok": c.ok,
        "failed": c.failed,
        "rejected": c.rejected,
        "proposals": proposals,
    }))
}

/// Reads the whole report's data from `store`.
pub fn collect(store: &Store, limits: Limits) -> Result<ReportData, StoreError> {
    let objectives = objectives(store)?;
    let params = params(store)?;
    let layers_known = !params.is_empty() && params.iter().all(|p| p.layer.is_some());

    let rows = objects(
        store,
        "SELECT r.id, r.design_id, r.feasible, r.on_front, r.evaluator, r.runtime_s, r.source,
                r.created_at, p.batch_id AS batch, p.origin, t.name AS target, p.model_version,
                d.params
         FROM results r JOIN designs d ON d.id = r.design_id
         LEFT JOIN proposals p ON p.id = r.proposal_id
         LEFT JOIN targets t ON t.id = p.target_id
         WHERE r.status = 'OK' ORDER BY r.id",
    )?;
    let mut metrics: HashMap<i64, serde_json::Map<String, Json>> = HashMap::new();
    let (_, values) = store.select(
        "SELECT v.result_id, v.metric, v.value FROM result_values v ORDER BY v.result_id",
        &[],
    )?;
    for v in values {
        if let [Sql::Integer(id), Sql::Text(name), value] = &v[..] {
            metrics
                .entry(*id)
                .or_default()
                .insert(name.clone(), json_of(value));
        }
    }

    let batches = objects(
        store,
        "SELECT b.id, b.runner, b.state, b.size, b.trigger, b.started_at, b.finished_at,
                count(p.id) FILTER (WHERE p.state = 'DONE') AS done,
                count(p.id) FILTER (WHERE p.state IN ('FAILED', 'LOST')) AS failed,
                (SELECT max(r.id) FROM results r JOIN proposals q ON q.id = r.proposal_id
                 WHERE q.batch_id = b.id) AS last_result
         FROM batches b LEFT JOIN proposals p ON p.batch_id = b.id
         GROUP BY b.id ORDER BY b.id",
    )?;
    // Without recorded objectives every metric stands in for one: a hypervolume over all of
    // them means nothing and, exact in many dimensions, could take very long. Skip it.
    let recorded = objectives.iter().all(|o| !o.assumed);
    let model_objectives: Vec<Objective> = objectives
        .iter()
        .filter(|_| recorded)
        .map(|o| Objective {
            name: o.name.clone(),
            direction: o.direction,
            unit: o.unit.clone(),
            reference: o.reference,
        })
        .collect();
    let feasible: Vec<(i64, Vec<f64>)> = rows
        .iter()
        .filter(|r| r.get("feasible").and_then(Json::as_i64) == Some(1))
        .filter_map(|r| {
            let id = r.get("id")?.as_i64()?;
            let m = metrics.get(&id)?;
            let values = model_objectives
                .iter()
                .map(|o| m.get(&o.name).and_then(Json::as_f64))
                .collect::<Option<Vec<f64>>>()?;
            Some((id, values))
        })
        .collect();
    let hv = history::per_batch(&model_objectives, &feasible, &batches);

    // Which results go into the page: the front and the ranked ones first, then the newest.
    let (targets, ranked) = targets(store)?;
    let results_total = rows.len();
    let keep = |r: &serde_json::Map<String, Json>| {
        r.get("on_front").and_then(Json::as_i64) == Some(1)
            || r.get("id")
                .and_then(Json::as_i64)
                .is_some_and(|id| ranked.contains(&id))
    };
    let mut chosen: Vec<usize> = (0..rows.len()).filter(|&i| keep(&rows[i])).collect();
    let room = limits.max_designs.saturating_sub(chosen.len());
    chosen.extend(
        (0..rows.len())
            .rev()
            .filter(|&i| !keep(&rows[i]))
            .take(room),
    );
    chosen.sort_unstable();
    let results = chosen
        .into_iter()
        .map(|i| {
            let mut r = rows[i].clone();
            let id = r.get("id").and_then(Json::as_i64).unwrap_or_default();
            let p = parsed(r.remove("params"));
            r.insert("params".into(), p);
            r.insert(
                "metrics".into(),
                Json::Object(metrics.remove(&id).unwrap_or_default()),
            );
            Json::Object(r)
        })
        .collect();

    Ok(ReportData {
        store: store.path().display().to_string(),
        generated_at: chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        diffuse_dse_version: env!("CARGO_PKG_VERSION"),
        space_hash: store.space_fingerprint()?,
        objectives,
        params,
        layers_known,
        counts: counts(store)?,
        results,
        results_total,
        hv_reference: hv.reference,
        hv_final: hv.final_hv,
        batches: hv.batches,
        targets,
        models: models(store)?,
        failures: failures(store, limits.max_failures)?,
    })
}

/// The active targets with their ten best designs, and the ids of every ranked result listed.
fn targets(store: &Store) -> Result<(Vec<Json>, std::collections::HashSet<i64>), StoreError> {
    let targets = objects(
        store,
        "SELECT id, name, source, spec FROM targets WHERE active = 1 ORDER BY name",
    )?;
    let ranks = objects(
        store,
        "SELECT tr.target_id, tr.rank, tr.score, tr.result_id FROM target_ranks tr
         JOIN targets t ON t.id = tr.target_id AND t.active = 1
         WHERE tr.rank <= 10 ORDER BY tr.target_id, tr.rank",
    )?;
    let mut ids = std::collections::HashSet::new();
    let out = targets
        .into_iter()
        .map(|mut t| {
            let id = t.get("id").cloned().unwrap_or(Json::Null);
            let best: Vec<Json> = ranks
                .iter()
                .filter(|r| r.get("target_id") == Some(&id))
                .map(|r| {
                    if let Some(rid) = r.get("result_id").and_then(Json::as_i64) {
                        ids.insert(rid);
                    }
                    json!({"rank": r["rank"], "score": r["score"], "result_id": r["result_id"]})
                })
                .collect();
            let spec = parsed(t.remove("spec"));
            t.insert("spec".into(), spec);
            t.insert("best".into(), Json::Array(best));
            Json::Object(t)
        })
        .collect();
    Ok((out, ids))
}

fn models(store: &Store) -> Result<Vec<Json>, StoreError> {
    Ok(objects(
        store,
        "SELECT version, parent, kind, n_results, loss, train_seconds,
                length(weights) AS weights_bytes, created_at
         FROM models ORDER BY version",
    )?
    .into_iter()
    .map(Json::Object)
    .collect())
}

/// Failed results, rejected inbox rows and lost proposals: counted by reason, and the newest
/// `max` listed.
fn failures(store: &Store, max: usize) -> Result<Json, StoreError> {
    let all = objects(
        store,
        "SELECT 'result' AS kind, r.id, r.design_id, r.proposal_id, r.evaluator, r.source,
                coalesce(r.error, '') AS reason, r.created_at AS at, d.params
         FROM results r JOIN designs d ON d.id = r.design_id WHERE r.status = 'FAILED'
         UNION ALL
         SELECT 'inbox', i.id, i.design_id, i.proposal_id, i.evaluator, i.source,
                coalesce(i.reason, ''), coalesce(i.processed_at, i.received_at), i.params
         FROM inbox i WHERE i.state = 'REJECTED'
         UNION ALL
         SELECT 'lost', p.id, p.design_id, p.id, NULL, p.origin, coalesce(p.reason, ''),
                p.updated_at, d.params
         FROM proposals p JOIN designs d ON d.id = p.design_id WHERE p.state = 'LOST'
         ORDER BY at DESC",
    )?;
    let mut by_reason: Vec<((String, String), usize)> = Vec::new();
    let mut index: HashMap<(String, String), usize> = HashMap::new();
    for f in &all {
        let kind = f["kind"].as_str().unwrap_or_default().to_string();
        let reason: String = f["reason"]
            .as_str()
            .unwrap_or_default()
            .chars()
            .take(300)
            .collect();
        let key = (kind, reason);
        match index.get(&key) {
            Some(&i) => by_reason[i].1 += 1,
            None => {
                index.insert(key.clone(), by_reason.len());
                by_reason.push((key, 1));
            }
        }
    }
    by_reason.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let total = all.len();
    let latest: Vec<Json> = all
        .into_iter()
        .take(max)
        .map(|mut f| {
            let p = parsed(f.remove("params"));
            f.insert("params".into(), p);
            Json::Object(f)
        })
        .collect();
    Ok(json!({
        "total": total,
        "by_reason": by_reason
            .into_iter()
            .map(|((kind, reason), n)| json!({"kind": kind, "reason": reason, "n": n}))
            .collect::<Vec<_>>(),
        "latest": latest,
    }))
}
