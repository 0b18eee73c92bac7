//! Greedy batch selection by predicted hypervolume improvement, with diversity and with
//! pending designs counted as believers (PORTING §2.8).
//!
//! On the minimized hypervolume scale `h`, with front `P` (plus the believers' predictions):
//! - `HVI(y|P) = HV(P ∪ {y}) − HV(P)` (0 when `y` is outside the reference or dominated);
//! - `eps(y|P) = min_i max_j (y_j − P_ij)`, how far `y` is from entering the front.
//!
//! Candidates are screened by `−HVI(opt|P)·p_feas` then `eps(opt|P)` (`opt = mean − β·std`
//! over the ensemble), and `q` are picked one at a time: the best expected HVI over the members
//! `(1/E) Σ_e HVI(f_e(x)|P)·p_feas·div`, else the best optimistic HVI, else the smallest
//! `eps + (1 − div) + (1 − p_feas)`. Each pick joins `P` at its mean prediction and damps the
//! candidates near it: `div ← div·(1 − exp(−‖x − x_pick‖²/(2ρ²)))`.

use crate::pareto::hvi;

/// One scored candidate.
#[derive(Clone, Debug)]
pub struct Scored<'a> {
    /// The encoded design (for the diversity kernel).
    pub x: &'a [f32],
    /// Each member's prediction on the h scale.
    pub members: Vec<Vec<f64>>,
    pub p_feasible: f64,
}

fn mean_std(members: &[Vec<f64>]) -> (Vec<f64>, Vec<f64>) {
    let e = members.len() as f64;
    let m = members[0].len();
    let mean: Vec<f64> = (0..m)
        .map(|j| members.iter().map(|r| r[j]).sum::<f64>() / e)
        .collect();
    let std = (0..m)
        .map(|j| {
            (members
                .iter()
                .map(|r| (r[j] - mean[j]).powi(2))
                .sum::<f64>()
                / e)
                .sqrt()
        })
        .collect();
    (mean, std)
}

/// `min_i max_j (y_j − P_ij)`; `-inf` for an empty front (any point enters it).
fn eps(y: &[f64], front: &[f64], m: usize) -> f64 {
    if front.is_empty() {
        return f64::NEG_INFINITY;
    }
    front
        .chunks_exact(m)
        .map(|p| {
            y.iter()
                .zip(p)
                .map(|(a, b)| a - b)
                .fold(f64::NEG_INFINITY, f64::max)
        })
        .fold(f64::INFINITY, f64::min)
}

/// Pick up to `q` candidates (indices into `candidates`). `front` is the current front and
/// the believers, row-major with `m` columns, on the h scale.
pub fn select_batch(
    candidates: &[Scored<'_>],
    front: &[f64],
    reference: &[f64],
    q: usize,
    optimism: f64,
    n_screen: usize,
    radius: f64,
) -> Vec<usize> {
    let m = reference.len();
    if candidates.is_empty() || q == 0 {
        return Vec::new();
    }
    let mut front = front.to_vec();
    let stats: Vec<(Vec<f64>, Vec<f64>)> =
        candidates.iter().map(|c| mean_std(&c.members)).collect();
    let opt = |i: usize| -> Vec<f64> {
        let (mean, std) = &stats[i];
        mean.iter()
            .zip(std)
            .map(|(a, s)| a - optimism * s)
            .collect()
    };
    // Screen.
    let mut order: Vec<(f64, f64, usize)> = (0..candidates.len())
        .map(|i| {
            let o = opt(i);
            let gain = hvi(&o, &front, m, reference) * candidates[i].p_feasible;
            (-gain, eps(&o, &front, m), i)
        })
        .collect();
    order.sort_by(|a, b| {
        a.0.total_cmp(&b.0)
            .then(a.1.total_cmp(&b.1))
            .then(a.2.cmp(&b.2))
    });
    let pool: Vec<usize> = order.iter().take(n_screen.max(q)).map(|o| o.2).collect();
    let mut div = vec![1.0f64; pool.len()];
    let mut picked = Vec::with_capacity(q);
    let two_r2 = 2.0 * radius * radius;
    for _ in 0..q {
        let expected: Vec<f64> = pool
            .iter()
            .zip(&div)
            .map(|(&i, &d)| {
                if d <= 0.0 {
                    return f64::NEG_INFINITY;
                }
                let c = &candidates[i];
                let mean_hvi = c
                    .members
                    .iter()
                    .map(|y| hvi(y, &front, m, reference))
                    .sum::<f64>()
                    / c.members.len() as f64;
                mean_hvi * c.p_feasible * d
            })
            .collect();
        let argmax = |v: &[f64]| {
            let mut best = 0;
            for (k, x) in v.iter().enumerate() {
                if *x > v[best] {
                    best = k;
                }
            }
            best
        };
        let k = argmax(&expected);
        let best = if expected[k] > 0.0 {
            k
        } else {
            let optimistic: Vec<f64> = pool
                .iter()
                .zip(&div)
                .map(|(&i, &d)| {
                    if d <= 0.0 {
                        return f64::NEG_INFINITY;
                    }
                    hvi(&opt(i), &front, m, reference) * candidates[i].p_feasible * d
                })
                .collect();
            let k = argmax(&optimistic);
            if optimistic[k] > 0.0 {
                k
            } else {
                let keys: Vec<f64> = pool
                    .iter()
                    .zip(&div)
                    .map(|(&i, &d)| {
                        if d <= 0.0 {
                            f64::INFINITY
                        } else {
                            eps(&opt(i), &front, m) + (1.0 - d) + (1.0 - candidates[i].p_feasible)
                        }
                    })
                    .collect();
                let mut best = None;
                for (k, &key) in keys.iter().enumerate() {
                    if key.is_finite() && best.is_none_or(|b: usize| key < keys[b]) {
                        best = Some(k);
                    }
                }
                match best {
                    Some(k) => k,
                    None => break,
                }
            }
        };
        let chosen = pool[best];
        picked.push(chosen);
        front.extend(&stats[chosen].0);
        let xb = candidates[chosen].x;
        for (k, &i) in pool.iter().enumerate() {
            let d2: f64 = candidates[i]
                .x
                .iter()
                .zip(xb)
                .map(|(a, b)| f64::from(a - b).powi(2))
                .sum();
            div[k] *= 1.0 - (-d2 / two_r2).exp();
        }
        div[best] = 0.0;
    }
    picked
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand<'a>(x: &'a [f32], y: [f64; 2]) -> Scored<'a> {
        Scored {
            x,
            members: vec![y.to_vec(); 3],
            p_feasible: 1.0,
        }
    }

    #[test]
    fn picks_the_largest_improvement_then_spreads_out() {
        let front = [0.5, 0.5];
        let reference = [1.0, 1.0];
        let (xa, xb, xc, xd) = ([0.0f32, 0.0], [0.01, 0.0], [1.0, 1.0], [-1.0, 1.0]);
        let cands = [
            cand(&xa, [0.1, 0.1]),   // dominates the front: the largest gain
            cand(&xb, [0.11, 0.12]), // nearly as good, but next to the first pick
            cand(&xc, [0.2, 0.6]),
            cand(&xd, [0.9, 0.9]), // dominated
        ];
        let picked = select_batch(&cands, &front, &reference, 3, 0.0, 128, 0.25);
        assert_eq!(picked[0], 0);
        assert_eq!(
            picked[1], 2,
            "the near twin is damped by diversity: {picked:?}"
        );
        assert_eq!(picked.len(), 3);
        assert!(!picked[..2].contains(&3));
    }

    #[test]
    fn falls_back_to_the_closest_to_the_front_when_nothing_improves() {
        let front = [0.1, 0.1];
        let reference = [1.0, 1.0];
        let (xa, xb) = ([0.0f32], [1.0f32]);
        let cands = [cand(&xa, [0.5, 0.5]), cand(&xb, [0.2, 0.2])];
        assert_eq!(
            select_batch(&cands, &front, &reference, 1, 0.0, 128, 0.25),
            vec![1]
        );
    }
}
