//! Quality figures of one run against a reference front (PORTING §6.1), all in minimization
//! form against the task's reference point `r`:
//!
//! - `HV_n = HV(A_n; r)/HV(Z; r)`, where `A_n` are the feasible designs among the first `n`
//!   evaluations and `Z` the reference front;
//! - `IGD+_n = mean_{z∈Z} min_{a∈A_n} √(Σ_j max(a'_j − z'_j, 0)²)` on
//!   `x' = (x − ideal)/(r − ideal)`, `ideal = min Z`;
//! - evaluations to `f·HV(Z)`: the first `n` with `HV_n ≥ f − 1e-12`;
//! - PPA improvement over the default design `d` (in `report`): `PPA(d)/min_a PPA(a) − 1`,
//!   with `PPA` the product of the (minimized) objectives.

use crate::pareto::{hypervolume, nondominated};

/// One evaluation of a run, in order: minimized objective values, or `None` (failed or
/// infeasible: it counts as spent but adds nothing).
pub type Trace = Vec<Option<Vec<f64>>>;

/// `HV_n` for every `n = 1..=trace.len()`.
pub fn hv_curve(trace: &Trace, reference: &[f64], hv_ref: f64) -> Vec<f64> {
    let m = reference.len();
    let mut front: Vec<f64> = Vec::new();
    let mut out = Vec::with_capacity(trace.len());
    let mut hv = 0.0;
    for y in trace {
        if let Some(y) = y {
            front.extend(y);
            let keep = nondominated(&front, m);
            front = keep
                .iter()
                .flat_map(|&i| front[i * m..(i + 1) * m].to_vec())
                .collect();
            hv = hypervolume(&front, m, reference);
        }
        out.push(hv / hv_ref);
    }
    out
}

/// The first evaluation count at which the curve reaches `f`; `None` if never.
pub fn evals_to(curve: &[f64], f: f64) -> Option<usize> {
    curve.iter().position(|&h| h >= f - 1e-12).map(|i| i + 1)
}

/// IGD+ of the feasible designs among the first `n` evaluations.
pub fn igd_plus(trace: &Trace, n: usize, front: &[Vec<f64>], reference: &[f64]) -> f64 {
    let m = reference.len();
    let ideal: Vec<f64> = (0..m)
        .map(|j| front.iter().map(|z| z[j]).fold(f64::INFINITY, f64::min))
        .collect();
    let norm = |x: &[f64]| -> Vec<f64> {
        (0..m)
            .map(|j| (x[j] - ideal[j]) / (reference[j] - ideal[j]).max(1e-12))
            .collect()
    };
    let found: Vec<Vec<f64>> = trace.iter().take(n).flatten().map(|a| norm(a)).collect();
    if found.is_empty() {
        return f64::INFINITY;
    }
    let total: f64 = front
        .iter()
        .map(|z| {
            let z = norm(z);
            found
                .iter()
                .map(|a| {
                    a.iter()
                        .zip(&z)
                        .map(|(a, z)| (a - z).max(0.0).powi(2))
                        .sum::<f64>()
                        .sqrt()
                })
                .fold(f64::INFINITY, f64::min)
        })
        .sum();
    total / front.len() as f64
}

/// The median and the 25th and 75th percentiles (linear interpolation) of finite values;
/// `None` for an empty list.
pub fn quartiles(values: &[f64]) -> Option<(f64, f64, f64)> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let at = |p: f64| {
        let x = p * (v.len() - 1) as f64;
        let (lo, hi) = (x.floor() as usize, x.ceil() as usize);
        v[lo] + (v[hi] - v[lo]) * (x - lo as f64)
    };
    Some((at(0.5), at(0.25), at(0.75)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curve_counts_failures_and_reaches_one_on_the_reference_front() {
        let reference = [1.0, 1.0];
        let front = vec![vec![0.2, 0.5], vec![0.5, 0.2]];
        let flat: Vec<f64> = front.iter().flatten().copied().collect();
        let hv_ref = hypervolume(&flat, 2, &reference);
        let trace: Trace = vec![
            None,
            Some(vec![0.5, 0.5]),
            Some(vec![0.2, 0.5]),
            Some(vec![0.5, 0.2]),
        ];
        let curve = hv_curve(&trace, &reference, hv_ref);
        assert_eq!(curve[0], 0.0);
        assert!((curve[3] - 1.0).abs() < 1e-12);
        assert!(curve.windows(2).all(|w| w[1] >= w[0]));
        assert_eq!(evals_to(&curve, 1.0), Some(4));
        assert_eq!(evals_to(&curve[..2], 0.9), None);
        assert_eq!(igd_plus(&trace, 4, &front, &reference), 0.0);
        assert!(igd_plus(&trace, 2, &front, &reference) > 0.0);
        assert_eq!(
            quartiles(&[3.0, 1.0, 2.0, f64::INFINITY]),
            Some((2.0, 1.5, 2.5))
        );
    }
}
