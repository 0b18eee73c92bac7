//! Validated results: the Pareto front and the points the status command and the proposer read.

use rusqlite::{Connection, params_from_iter};

use crate::space::{Design, Objective};

use super::types::design_column;
use super::{DesignId, ResultId, Store, StoreError};

/// An OK result's values of the objectives asked for, raw (not sign-flipped), in their order.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    pub result: ResultId,
    pub design: DesignId,
    pub values: Vec<f64>,
}

/// An OK result with its design, for the proposer's training data.
#[derive(Clone, Debug, PartialEq)]
pub struct OkResult {
    pub result: ResultId,
    pub design_id: DesignId,
    pub design: Design,
    /// The objectives' raw values, in the order asked for.
    pub values: Vec<f64>,
    pub feasible: bool,
}

/// An OK result with every metric it holds: what `replay` and `calibrate` read.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredResult {
    pub result: ResultId,
    pub design_id: DesignId,
    pub design: Design,
    /// The evaluator that produced it, as recorded.
    pub evaluator: Option<String>,
    pub runtime_s: Option<f64>,
    pub metrics: std::collections::BTreeMap<String, f64>,
}

/// Which OK results a points query returns.
#[derive(Clone, Copy)]
enum Which {
    All,
    Feasible,
    Front,
}

/// The query for OK results with one value column per objective (`v0.value, v1.value, …`,
/// metric names bound as `?1, ?2, …`) after `r.id, r.design_id, r.feasible, d.params`. A result
/// that lacks one of the objectives is left out.
fn points_sql(m: usize, which: Which) -> String {
    let values: Vec<String> = (0..m).map(|i| format!("v{i}.value")).collect();
    let joins: String = (0..m)
        .map(|i| {
            format!(
                " JOIN result_values v{i} ON v{i}.result_id = r.id AND v{i}.metric = ?{}",
                i + 1
            )
        })
        .collect();
    let filter = match which {
        Which::All => "",
        Which::Feasible => " AND r.feasible = 1",
        Which::Front => " AND r.on_front = 1",
    };
    format!(
        "SELECT r.id, r.design_id, r.feasible, d.params{}{} FROM results r
         JOIN designs d ON d.id = r.design_id{joins}
         WHERE r.status = 'OK'{filter} ORDER BY r.id",
        if m == 0 { "" } else { ", " },
        values.join(", ")
    )
}

/// Runs a points query, mapping each row with `f(row, values)`.
fn query_points<T>(
    c: &Connection,
    objectives: &[Objective],
    which: Which,
    mut f: impl FnMut(&rusqlite::Row<'_>, Vec<f64>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Vec<T>> {
    let m = objectives.len();
    let mut stmt = c.prepare_cached(&points_sql(m, which))?;
    let names = objectives.iter().map(|o| o.name.as_str());
    stmt.query_map(params_from_iter(names), |r| {
        let values = (0..m)
            .map(|i| r.get(4 + i))
            .collect::<rusqlite::Result<Vec<f64>>>()?;
        f(r, values)
    })?
    .collect()
}

fn point(r: &rusqlite::Row<'_>, values: Vec<f64>) -> rusqlite::Result<Point> {
    Ok(Point {
        result: r.get(0)?,
        design: r.get(1)?,
        values,
    })
}

impl Store {
    /// Recomputes `results.on_front` in one transaction: the feasible OK results that no other
    /// dominates in minimization form (`sign · value` per objective), one copy (the oldest) of
    /// equal points. Returns the size of the front.
    pub fn refresh_front(&mut self, objectives: &[Objective]) -> Result<usize, StoreError> {
        self.write(|tx| {
            tx.execute("UPDATE results SET on_front = 0 WHERE on_front = 1", [])?;
            if objectives.is_empty() {
                return Ok(0);
            }
            let points = query_points(tx, objectives, Which::Feasible, point)?;
            let flat: Vec<f64> = points
                .iter()
                .flat_map(|p| {
                    p.values
                        .iter()
                        .zip(objectives)
                        .map(|(&x, o)| o.minimized(x))
                })
                .collect();
            let front = crate::pareto::nondominated(&flat, objectives.len());
            let mut mark = tx.prepare_cached("UPDATE results SET on_front = 1 WHERE id = ?1")?;
            for &i in &front {
                mark.execute([points[i].result])?;
            }
            Ok(front.len())
        })
    }

    /// The results on the front (as of the last `refresh_front`), with their raw values.
    pub fn front_points(&self, objectives: &[Objective]) -> Result<Vec<Point>, StoreError> {
        self.read(|c| query_points(c, objectives, Which::Front, point))
    }

    /// Every feasible OK result, with its raw values.
    pub fn feasible_points(&self, objectives: &[Objective]) -> Result<Vec<Point>, StoreError> {
        self.read(|c| query_points(c, objectives, Which::Feasible, point))
    }

    /// The size of the front, without reading its values (the status command's count).
    pub fn front_size(&self) -> Result<u64, StoreError> {
        self.read(|c| {
            c.query_row("SELECT count(*) FROM results WHERE on_front = 1", [], |r| {
                r.get(0)
            })
        })
    }

    /// How many results there are, OK and FAILED.
    pub fn result_count(&self) -> Result<u64, StoreError> {
        self.read(|c| c.query_row("SELECT count(*) FROM results", [], |r| r.get(0)))
    }

    /// Every result's id and whether it is OK, in the order their designs were proposed (results
    /// of one batch finish in any order; their proposals' order is fixed), then the results
    /// without a proposal, oldest first.
    pub fn result_order(&self) -> Result<Vec<(ResultId, bool)>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT id, status = 'OK' FROM results ORDER BY proposal_id IS NULL, proposal_id, id",
            )?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect()
        })
    }

    /// Every OK result with its design, raw values and feasibility, oldest first: the
    /// proposer's training data. Results missing one of the objectives are left out.
    pub fn ok_results(&self, objectives: &[Objective]) -> Result<Vec<OkResult>, StoreError> {
        self.read(|c| {
            query_points(c, objectives, Which::All, |r, values| {
                Ok(OkResult {
                    result: r.get(0)?,
                    design_id: r.get(1)?,
                    feasible: r.get::<_, Option<bool>>(2)?.unwrap_or(false),
                    design: design_column(r, 3)?,
                    values,
                })
            })
        })
    }

    /// Every OK result with all its metrics, oldest first.
    pub fn stored_results(&self) -> Result<Vec<StoredResult>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT r.id, r.design_id, d.params, r.evaluator, r.runtime_s FROM results r
                 JOIN designs d ON d.id = r.design_id WHERE r.status = 'OK' ORDER BY r.id",
            )?;
            let mut rows: Vec<StoredResult> = stmt
                .query_map([], |r| {
                    Ok(StoredResult {
                        result: r.get(0)?,
                        design_id: r.get(1)?,
                        design: design_column(r, 2)?,
                        evaluator: r.get(3)?,
                        runtime_s: r.get(4)?,
                        metrics: Default::default(),
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            let mut values = c.prepare(
                "SELECT v.result_id, v.metric, v.value FROM result_values v
                 JOIN results r ON r.id = v.result_id WHERE r.status = 'OK'",
            )?;
            let mut by_result: std::collections::HashMap<
                ResultId,
                std::collections::BTreeMap<String, f64>,
            > = Default::default();
            for row in values.query_map([], |r| {
                Ok((
                    r.get::<_, ResultId>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, f64>(2)?,
                ))
            })? {
                let (id, metric, value) = row?;
                by_result.entry(id).or_default().insert(metric, value);
            }
            for row in &mut rows {
                row.metrics = by_result.remove(&row.result).unwrap_or_default();
            }
            Ok(rows)
        })
    }

    /// The designs whose evaluations failed and never succeeded, for the proposer to steer away
    /// from; with the latest error text.
    pub fn failed_designs(&self) -> Result<Vec<(DesignId, Design, String)>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT d.id, d.params,
                        (SELECT coalesce(f.error, '') FROM results f
                         WHERE f.design_id = d.id AND f.status = 'FAILED' ORDER BY f.id DESC LIMIT 1)
                 FROM designs d
                 WHERE EXISTS (SELECT 1 FROM results r WHERE r.design_id = d.id AND r.status = 'FAILED')
                   AND NOT EXISTS (SELECT 1 FROM results r WHERE r.design_id = d.id AND r.status = 'OK')
                 ORDER BY d.id",
            )?;
            stmt.query_map([], |r| Ok((r.get(0)?, design_column(r, 1)?, r.get(2)?)))?.collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use serde_json::json;

    use super::*;
    use crate::store::testing::{Rules, objectives, temp_store};
    use crate::store::{InboxRow, InboxStatus};

    /// Results on a coarse grid with a trade-off between `a` and `b` (many ties and copies), some infeasible (`a ≥ 100`) and some
    /// failed, checked against the quadratic definition of the front.
    #[test]
    fn refresh_front_matches_brute_force() {
        let (_dir, mut store) = temp_store();
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let rows: Vec<InboxRow> = (0..400)
            .map(|i| {
                let k = rng.random_range(0..12);
                (i, k, k + rng.random_range(0..3))
            })
            .map(|(i, k, b)| InboxRow {
                proposal_id: None,
                design_id: None,
                params: Some(json!({"x": i, "kind": "k"})),
                metrics: Some(json!({"a": k * 10, "b": b})),
                status: if i % 17 == 0 {
                    InboxStatus::Failed
                } else {
                    InboxStatus::Ok
                },
                error: None,
                evaluator: None,
                runtime_s: None,
                source: "test".into(),
            })
            .collect();
        store.insert_inbox(&rows).unwrap();
        store.process_inbox(&Rules::new(), usize::MAX).unwrap();
        let objectives = objectives();
        let size = store.refresh_front(&objectives).unwrap();

        let feasible = store.feasible_points(&objectives).unwrap();
        let all = store.ok_results(&objectives).unwrap();
        assert!(feasible.len() < all.len() && all.len() < 400);
        assert_eq!(all.iter().filter(|r| r.feasible).count(), feasible.len());
        let min: Vec<Vec<f64>> = feasible
            .iter()
            .map(|p| vec![p.values[0], -p.values[1]])
            .collect();
        let dominates = |q: &[f64], p: &[f64]| q.iter().zip(p).all(|(x, y)| x <= y) && q != p;
        let want: Vec<ResultId> = (0..feasible.len())
            .filter(|&i| {
                (0..feasible.len())
                    .all(|j| !(dominates(&min[j], &min[i]) || (j < i && min[j] == min[i])))
            })
            .map(|i| feasible[i].result)
            .collect();
        let got: Vec<ResultId> = store
            .front_points(&objectives)
            .unwrap()
            .iter()
            .map(|p| p.result)
            .collect();
        assert_eq!(got, want);
        assert!(size > 1);
        assert_eq!(size as u64, store.front_size().unwrap());
        assert_eq!(
            store.result_count().unwrap(),
            400 - store
                .conn
                .query_row(
                    "SELECT count(*) FROM inbox WHERE state = 'REJECTED'",
                    [],
                    |r| r.get::<_, u64>(0)
                )
                .unwrap()
        );

        // Fewer objectives, then none: the flags follow.
        assert!(store.refresh_front(&objectives[..1]).unwrap() <= size);
        assert_eq!(store.refresh_front(&[]).unwrap(), 0);
        assert_eq!(store.front_size().unwrap(), 0);
    }
}
