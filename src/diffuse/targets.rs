//! Conditioning targets: points picked from the Pareto front by their hypervolume
//! contribution and pushed beyond it, and the users' own targets (PORTING §2.8).

use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal, weighted::WeightedIndex};

use super::scale::Scale;
use crate::config::Target;
use crate::pareto::contributions;
use crate::space::Objective;

/// `k` front rows (indices into `front_h`'s rows), drawn with replacement with probability
/// `π_i ∝ HVC_i + 0.1·mean(HVC) + 1e-12`, where `HVC_i` is the exclusive hypervolume
/// contribution of row `i` (0 outside the reference).
pub fn pick_front_points(
    front_h: &[f64],
    m: usize,
    reference: &[f64],
    k: usize,
    rng: &mut ChaCha8Rng,
) -> Vec<usize> {
    let hvc = contributions(front_h, m, reference);
    let mean = hvc.iter().sum::<f64>() / hvc.len().max(1) as f64;
    let weights: Vec<f64> = hvc.iter().map(|c| c + 0.1 * mean + 1e-12).collect();
    let pick = WeightedIndex::new(&weights).expect("positive weights");
    (0..k).map(|_| pick.sample(rng)).collect()
}

/// Push a front point `p` (q scale) beyond the front toward the ideal `u`:
/// `t = p − γ(p − u + δ·1) + σ_t·ε`, `ε ~ N(0, I)`.
pub fn push(
    p: &[f64],
    ideal: &[f64],
    push: f64,
    margin: f64,
    jitter: f64,
    rng: &mut ChaCha8Rng,
) -> Vec<f64> {
    p.iter()
        .zip(ideal)
        .map(|(&p, &u)| {
            let e: f64 = StandardNormal.sample(rng);
            p - push * (p - u + margin) + jitter * e
        })
        .collect()
}

/// The conditioning vector (q scale) of a user target.
///
/// It starts from `anchor`, the q values of the result that best meets the target (or the
/// ideal point when no result meets its bounds). Each objective with a goal is set to the
/// goal's q value; each objective with only a bound on its worse side (a `max` for a
/// minimized objective) is kept no worse than the bound. Values are clipped to `[-0.5, 1.5]`,
/// so an unreachable goal asks for "better than anything seen" without leaving the range the
/// model has learned.
pub fn user_condition(
    target: &Target,
    objectives: &[Objective],
    scale: &Scale,
    anchor: &[f64],
) -> Vec<f64> {
    objectives
        .iter()
        .enumerate()
        .map(|(j, o)| {
            let c = if let Some(&g) = target.goals.get(&o.name) {
                scale.q_of(j, g)
            } else if let Some(b) = target.bounds.get(&o.name) {
                let worse = if o.direction.sign() > 0.0 {
                    b.max
                } else {
                    b.min
                };
                worse.map_or(anchor[j], |w| anchor[j].min(scale.q_of(j, w)))
            } else {
                anchor[j]
            };
            c.clamp(-0.5, 1.5)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use std::collections::BTreeMap;

    use crate::config::Bound;
    use crate::space::Direction;

    #[test]
    fn the_point_with_the_largest_contribution_is_picked_most() {
        // (0.1, 0.9) and (0.9, 0.1) contribute little; (0.3, 0.3) most.
        let front = [0.1, 0.9, 0.3, 0.3, 0.9, 0.1];
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let picks = pick_front_points(&front, 2, &[1.0, 1.0], 1000, &mut rng);
        let middle = picks.iter().filter(|&&i| i == 1).count();
        assert!(middle > 600, "{middle}");
        let p = push(&[0.5, 0.5], &[0.0, 0.0], 0.2, 0.1, 0.0, &mut rng);
        assert!((p[0] - 0.38).abs() < 1e-12 && (p[1] - 0.38).abs() < 1e-12);
    }

    #[test]
    fn a_user_target_sets_goals_and_caps_bounds() {
        let objs: Vec<Objective> = ["latency", "power"]
            .iter()
            .map(|n| Objective {
                name: n.to_string(),
                direction: Direction::Min,
                unit: String::new(),
                reference: None,
            })
            .collect();
        let scale = Scale::fit(&objs, &[vec![1.0, 1.0], vec![3.0, 3.0]]);
        let target = Target {
            name: "edge".into(),
            description: String::new(),
            goals: BTreeMap::from([("latency".to_string(), 2.0)]),
            bounds: BTreeMap::from([(
                "power".to_string(),
                Bound {
                    min: None,
                    max: Some(1.5),
                },
            )]),
            file: Default::default(),
        };
        let c = user_condition(&target, &objs, &scale, &[0.9, 0.9]);
        assert!((c[0] - 0.5).abs() < 1e-12, "{c:?}");
        assert!((c[1] - 0.25).abs() < 1e-12, "{c:?}");
    }
}
