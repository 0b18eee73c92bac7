//! The current Pareto front: flags and per-target ranks in the store, and its hypervolume.

use crate::config::Config;
use crate::pareto;
use crate::space::Objective;
use crate::store::{Store, StoreError, TargetId};

/// The hypervolume reference point in minimization form: `sign·ref` where the objective has
/// a `ref`, else `worst + 0.1·max(range, |worst|·1e-3, 1e-12)` over `points` (the reference's
/// rule, `engine/pareto.py:27-42`). `points` are raw values, one row per design.
pub fn reference_point(objectives: &[Objective], points: &[Vec<f64>]) -> Vec<f64> {
    objectives
        .iter()
        .enumerate()
        .map(|(j, o)| match o.reference {
            Some(r) => o.minimized(r),
            None => {
                let vals = points.iter().map(|p| o.minimized(p[j]));
                let (lo, hi) = vals.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                    (a.min(v), b.max(v))
                });
                if !hi.is_finite() {
                    return 1.0;
                }
                hi + 0.1 * (hi - lo).max(hi.abs() * 1e-3).max(1e-12)
            }
        })
        .collect()
}

/// The exact hypervolume of `points` (raw values) against [`reference_point`]; `None` when
/// there are no points. Points outside the reference box add nothing.
pub fn hypervolume(objectives: &[Objective], points: &[Vec<f64>]) -> Option<f64> {
    if points.is_empty() {
        return None;
    }
    let m = objectives.len();
    let reference = reference_point(objectives, points);
    let flat: Vec<f64> = points
        .iter()
        .flat_map(|p| objectives.iter().zip(p).map(|(o, &v)| o.minimized(v)))
        .collect();
    Some(pareto::hypervolume(&flat, m, &reference))
}

/// After new results: recompute the front flags and every active target's ranking, in the
/// store. Returns the front's size and hypervolume.
pub fn refresh(
    store: &mut Store,
    config: &Config,
    targets: &[(TargetId, crate::config::Target)],
) -> Result<(usize, Option<f64>), StoreError> {
    store.refresh_front(&config.objectives)?;
    let feasible = store.feasible_points(&config.objectives)?;
    for (id, target) in targets {
        let scores: Vec<_> = feasible
            .iter()
            .filter_map(|p| {
                target
                    .score(&config.objectives, &p.values)
                    .map(|s| (p.result, s))
            })
            .collect();
        store.replace_target_ranks(*id, &scores)?;
    }
    let front: Vec<Vec<f64>> = store
        .front_points(&config.objectives)?
        .into_iter()
        .map(|p| p.values)
        .collect();
    Ok((front.len(), hypervolume(&config.objectives, &front)))
}
