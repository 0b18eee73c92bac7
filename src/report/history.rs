//! The front's hypervolume after every batch: how the search progressed.
//!
//! After batch `b`, the set is every feasible OK result with an id at most the newest result
//! of batches `1..=b` (results arrive in id order, so results ingested by hand in between
//! count too). Its non-dominated subset's exact hypervolume (`crate::pareto::hypervolume`, in
//! minimization form `sign · value`) is taken against one reference point for the whole
//! history: [`crate::front::reference_point`] over the final front, the same point
//! `diffuse-dse status` uses, so the last value equals the hypervolume `status` prints. An
//! earlier front's points outside that box add nothing.

use serde::Serialize;
use serde_json::{Map, Value as Json};

use crate::pareto;
use crate::space::Objective;

/// One batch and the front after it.
#[derive(Clone, Debug, Serialize)]
pub struct BatchPoint {
    pub id: i64,
    pub runner: Json,
    pub state: Json,
    pub size: Json,
    pub trigger: Json,
    pub started_at: Json,
    pub finished_at: Json,
    /// Proposals of this batch that ended DONE, and FAILED or LOST.
    pub done: Json,
    pub failed: Json,
    /// Feasible results that joined the set with this batch.
    pub new_feasible: usize,
    /// The non-dominated set's size and hypervolume after this batch (`None` without
    /// objectives).
    pub front_size: usize,
    pub hv: Option<f64>,
}

/// The history, with the reference it was measured against.
pub struct HvHistory {
    pub reference: Option<Vec<f64>>,
    pub final_hv: Option<f64>,
    pub batches: Vec<BatchPoint>,
}

/// `points` as row-major minimization-form values (`n × m`).
fn minimized(objectives: &[Objective], points: &[&[f64]]) -> Vec<f64> {
    points
        .iter()
        .flat_map(|p| {
            objectives
                .iter()
                .zip(p.iter())
                .map(|(o, &v)| o.minimized(v))
        })
        .collect()
}

/// The history over `feasible` (result id, raw objective values; sorted by id) for `batches`
/// (rows with `id`, `last_result` and the batch's columns, oldest first).
pub fn per_batch(
    objectives: &[Objective],
    feasible: &[(i64, Vec<f64>)],
    batches: &[Map<String, Json>],
) -> HvHistory {
    let m = objectives.len();
    let field = |b: &Map<String, Json>, k: &str| b.get(k).cloned().unwrap_or(Json::Null);
    let reference = (m > 0 && !feasible.is_empty()).then(|| {
        let all: Vec<&[f64]> = feasible.iter().map(|(_, v)| v.as_slice()).collect();
        let front: Vec<Vec<f64>> = pareto::nondominated(&minimized(objectives, &all), m)
            .into_iter()
            .map(|i| feasible[i].1.clone())
            .collect();
        crate::front::reference_point(objectives, &front)
    });
    let volume = |front: &[&[f64]]| -> Option<f64> {
        let r = reference.as_ref()?;
        Some(pareto::hypervolume(&minimized(objectives, front), m, r))
    };

    let mut front: Vec<&[f64]> = Vec::new();
    let mut taken = 0;
    let mut cutoff = i64::MIN;
    let mut out = Vec::with_capacity(batches.len());
    for b in batches {
        if let Some(last) = b.get("last_result").and_then(Json::as_i64) {
            cutoff = cutoff.max(last);
        }
        let start = taken;
        while taken < feasible.len() && feasible[taken].0 <= cutoff {
            front.push(&feasible[taken].1);
            taken += 1;
        }
        if m > 0 && taken > start {
            let keep = pareto::nondominated(&minimized(objectives, &front), m);
            front = keep.into_iter().map(|i| front[i]).collect();
        }
        out.push(BatchPoint {
            id: b.get("id").and_then(Json::as_i64).unwrap_or_default(),
            runner: field(b, "runner"),
            state: field(b, "state"),
            size: field(b, "size"),
            trigger: field(b, "trigger"),
            started_at: field(b, "started_at"),
            finished_at: field(b, "finished_at"),
            done: field(b, "done"),
            failed: field(b, "failed"),
            new_feasible: taken - start,
            front_size: front.len(),
            hv: if front.is_empty() {
                reference.as_ref().map(|_| 0.0)
            } else {
                volume(&front)
            },
        });
    }
    let final_hv = reference.as_ref().and_then(|_| {
        let all: Vec<&[f64]> = feasible.iter().map(|(_, v)| v.as_slice()).collect();
        let keep = pareto::nondominated(&minimized(objectives, &all), m);
        volume(&keep.into_iter().map(|i| all[i]).collect::<Vec<_>>())
    });
    HvHistory {
        reference,
        final_hv,
        batches: out,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::space::Direction;

    fn objective(name: &str, direction: Direction, reference: f64) -> Objective {
        Objective {
            name: name.into(),
            direction,
            unit: String::new(),
            reference: Some(reference),
        }
    }

    fn batch(id: i64, last: Option<i64>) -> Map<String, Json> {
        json!({"id": id, "last_result": last})
            .as_object()
            .unwrap()
            .clone()
    }

    /// Two objectives, min `a` and max `b`, reference (10, 0): boxes computed by hand.
    #[test]
    fn hypervolume_grows_batch_by_batch_against_one_reference() {
        let objectives = [
            objective("a", Direction::Min, 10.0),
            objective("b", Direction::Max, 0.0),
        ];
        let feasible = vec![
            (1, vec![5.0, 5.0]), // box 5 × 5 = 25
            (2, vec![8.0, 2.0]), // dominated by result 1
            (4, vec![2.0, 3.0]), // adds (5-2) × 3 = 9
        ];
        let batches = [batch(1, Some(2)), batch(2, None), batch(3, Some(4))];
        let h = per_batch(&objectives, &feasible, &batches);
        assert_eq!(h.reference, Some(vec![10.0, 0.0]));
        let hv: Vec<Option<f64>> = h.batches.iter().map(|b| b.hv).collect();
        assert_eq!(hv, [Some(25.0), Some(25.0), Some(34.0)]);
        let sizes: Vec<usize> = h.batches.iter().map(|b| b.front_size).collect();
        assert_eq!(sizes, [1, 1, 2]);
        let new: Vec<usize> = h.batches.iter().map(|b| b.new_feasible).collect();
        assert_eq!(new, [2, 0, 1]);
        assert_eq!(h.final_hv, Some(34.0));
    }

    #[test]
    fn no_results_or_no_objectives_give_no_hypervolume() {
        let h = per_batch(&[], &[], &[batch(1, None)]);
        assert_eq!(h.reference, None);
        assert_eq!(h.final_hv, None);
        assert_eq!(h.batches[0].hv, None);
        let objectives = [objective("a", Direction::Min, 1.0)];
        let h = per_batch(&objectives, &[], &[batch(1, None)]);
        assert_eq!(h.batches[0].hv, None);
    }
}
