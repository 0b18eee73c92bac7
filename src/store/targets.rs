//! Conditioning targets with their ranked results, and proposer checkpoints.

use rusqlite::{OptionalExtension, params};

use super::{ModelVersion, ResultId, Store, StoreError, TargetId};

/// A target as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct TargetRow {
    pub id: TargetId,
    pub name: String,
    /// `config` (from the config files) or `auto` (chosen from the front).
    pub source: String,
    /// The target's definition, as the config gave it.
    pub spec: serde_json::Value,
}

/// A proposer checkpoint to record.
#[derive(Clone, Debug, PartialEq)]
pub struct NewModel {
    /// The checkpoint this one was fine-tuned from.
    pub parent: Option<ModelVersion>,
    /// The proposer: `diffuse`, `sobol`, …
    pub kind: String,
    /// The fingerprint of the space it was trained on.
    pub space_hash: String,
    /// How many results it was trained on.
    pub n_results: u64,
    pub loss: Option<f64>,
    pub train_seconds: Option<f64>,
    /// The model's parameters; `None` for proposers without weights.
    pub weights: Option<Vec<u8>>,
}

/// A stored checkpoint.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelRow {
    pub version: ModelVersion,
    pub model: NewModel,
    pub created_at: String,
}

impl Store {
    /// Makes the `config` targets match `targets` (name, spec) in one transaction: new names
    /// are inserted, a changed spec is updated, a returning name is set active again, and the
    /// config targets no longer listed are set inactive (never deleted: their ranks and the
    /// proposals conditioned on them keep their meaning). Returns each name with its id.
    pub fn sync_targets(
        &mut self,
        targets: &[(String, serde_json::Value)],
    ) -> Result<Vec<(String, TargetId)>, StoreError> {
        self.write(|tx| {
            let mut upsert = tx.prepare(
                "INSERT INTO targets (name, source, spec) VALUES (?1, 'config', ?2)
                 ON CONFLICT(name) DO UPDATE SET source = 'config', active = 1, spec = excluded.spec,
                     updated_at = CASE WHEN spec = excluded.spec AND active = 1 THEN updated_at
                                       ELSE strftime('%Y-%m-%dT%H:%M:%fZ', 'now') END
                 RETURNING id",
            )?;
            let ids = targets
                .iter()
                .map(|(name, spec)| {
                    let id: TargetId = upsert.query_row(params![name, spec.to_string()], |r| r.get(0))?;
                    Ok((name.clone(), id))
                })
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let listed: Vec<i64> = ids.iter().map(|(_, id)| id.0).collect();
            tx.execute(
                "UPDATE targets SET active = 0, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
                 WHERE source = 'config' AND active = 1
                   AND id NOT IN (SELECT value FROM json_each(?1))",
                [serde_json::to_string(&listed).expect("ids serialize")],
            )?;
            Ok(ids)
        })
    }

    /// The active targets, by name.
    pub fn active_targets(&self) -> Result<Vec<TargetRow>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT id, name, source, spec FROM targets WHERE active = 1 ORDER BY name",
            )?;
            stmt.query_map([], |r| {
                let spec: String = r.get(3)?;
                Ok(TargetRow {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    source: r.get(2)?,
                    spec: serde_json::from_str(&spec).map_err(|e| {
                        rusqlite::Error::FromSqlConversionFailure(
                            3,
                            rusqlite::types::Type::Text,
                            e.into(),
                        )
                    })?,
                })
            })?
            .collect()
        })
    }

    /// Replaces a target's ranking in one transaction: rank 1 is the lowest score (ties by
    /// result id).
    pub fn replace_target_ranks(
        &mut self,
        target: TargetId,
        scores: &[(ResultId, f64)],
    ) -> Result<(), StoreError> {
        let mut sorted = scores.to_vec();
        sorted.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        self.write(|tx| {
            tx.execute("DELETE FROM target_ranks WHERE target_id = ?1", [target])?;
            let mut insert = tx.prepare(
                "INSERT INTO target_ranks (target_id, result_id, rank, score) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for (i, (result, score)) in sorted.iter().enumerate() {
                insert.execute(params![target, result, i as i64 + 1, score])?;
            }
            Ok(())
        })
    }

    /// Records a checkpoint; returns its version.
    pub fn insert_model(&mut self, model: &NewModel) -> Result<ModelVersion, StoreError> {
        self.write(|tx| {
            tx.query_row(
                "INSERT INTO models (parent, kind, space_hash, n_results, loss, train_seconds, weights)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING version",
                params![
                    model.parent,
                    model.kind,
                    model.space_hash,
                    model.n_results as i64,
                    model.loss,
                    model.train_seconds,
                    model.weights
                ],
                |r| r.get(0),
            )
        })
    }

    /// Seconds spent in every fit so far (the `train_seconds` of every model row).
    pub fn total_train_seconds(&self) -> Result<f64, StoreError> {
        self.read(|c| {
            c.query_row(
                "SELECT coalesce(sum(train_seconds), 0.0) FROM models",
                [],
                |r| r.get(0),
            )
        })
    }

    /// The newest checkpoint, weights included.
    pub fn latest_model(&self) -> Result<Option<ModelRow>, StoreError> {
        self.read(|c| {
            c.query_row(
                "SELECT version, parent, kind, space_hash, n_results, loss, train_seconds, weights,
                        created_at
                 FROM models ORDER BY version DESC LIMIT 1",
                [],
                |r| {
                    Ok(ModelRow {
                        version: r.get(0)?,
                        model: NewModel {
                            parent: r.get(1)?,
                            kind: r.get(2)?,
                            space_hash: r.get(3)?,
                            n_results: r.get::<_, i64>(4)? as u64,
                            loss: r.get(5)?,
                            train_seconds: r.get(6)?,
                            weights: r.get(7)?,
                        },
                        created_at: r.get(8)?,
                    })
                },
            )
            .optional()
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::store::testing::temp_store;

    #[test]
    fn sync_inserts_updates_and_deactivates_but_never_deletes() {
        let (_dir, mut store) = temp_store();
        let ids = store
            .sync_targets(&[
                ("fast".into(), json!({"latency_ms": 10})),
                ("small".into(), json!({"area_mm2": 0.3})),
            ])
            .unwrap();
        let names: Vec<String> = store
            .active_targets()
            .unwrap()
            .into_iter()
            .map(|t| t.name)
            .collect();
        assert_eq!(names, ["fast", "small"]);
        let again = store
            .sync_targets(&[("fast".into(), json!({"latency_ms": 5}))])
            .unwrap();
        assert_eq!(again[0], ids[0]);
        let active = store.active_targets().unwrap();
        assert_eq!(active.len(), 1);
        assert_eq!(active[0].spec, json!({"latency_ms": 5}));
        assert_eq!(
            store
                .sync_targets(
                    &ids.iter()
                        .map(|(n, _)| (n.clone(), json!({})))
                        .collect::<Vec<_>>()
                )
                .unwrap(),
            ids
        );
        let total: i64 = store
            .conn
            .query_row("SELECT count(*) FROM targets", [], |r| r.get(0))
            .unwrap();
        assert_eq!(total, 2);
    }

    #[test]
    fn ranks_go_by_score_and_are_replaced() {
        let (_dir, mut store) = temp_store();
        let target = store.sync_targets(&[("t".into(), json!({}))]).unwrap()[0].1;
        let design = store
            .upsert_design(&crate::store::testing::design(1))
            .unwrap();
        for _ in 0..3 {
            store
                .conn
                .execute(
                    "INSERT INTO results (design_id, status, source) VALUES (?1, 'OK', 't')",
                    [design],
                )
                .unwrap();
        }
        store
            .replace_target_ranks(
                target,
                &[(ResultId(1), 0.5), (ResultId(2), 0.1), (ResultId(3), 0.5)],
            )
            .unwrap();
        let ranks = |store: &Store| -> Vec<(i64, i64)> {
            store
                .conn
                .prepare("SELECT result_id, rank FROM target_ranks ORDER BY rank")
                .unwrap()
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .map(Result::unwrap)
                .collect()
        };
        assert_eq!(ranks(&store), [(2, 1), (1, 2), (3, 3)]);
        store
            .replace_target_ranks(target, &[(ResultId(3), 1.0)])
            .unwrap();
        assert_eq!(ranks(&store), [(3, 1)]);
    }

    #[test]
    fn models_round_trip_with_weights() {
        let (_dir, mut store) = temp_store();
        assert_eq!(store.latest_model().unwrap(), None);
        let first = NewModel {
            parent: None,
            kind: "sobol".into(),
            space_hash: "abc".into(),
            n_results: 0,
            loss: None,
            train_seconds: None,
            weights: None,
        };
        let v1 = store.insert_model(&first).unwrap();
        let second = NewModel {
            parent: Some(v1),
            kind: "diffuse".into(),
            n_results: 40,
            loss: Some(0.25),
            weights: Some(vec![1, 2, 3]),
            ..first
        };
        let v2 = store.insert_model(&second).unwrap();
        let latest = store.latest_model().unwrap().unwrap();
        assert_eq!((latest.version, latest.model), (v2, second));
    }
}
