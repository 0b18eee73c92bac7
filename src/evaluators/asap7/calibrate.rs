//! Calibration of the analytical model (`gemmini-model`) against the flow's results
//! (reference: gemmini_model/calibration.py:34-39, 140-190 at 9201a62, PORTING §3.8).
//!
//! * Fit: the coefficients of [`FIT`] (33 numbers, the arrays entry by entry; the mixed
//!   flavours' `vt_delay` entries, unused with `mixed_fast_share`, stay at the prior) are
//!   scaled by `exp(θ)` from the first-principles prior. `θ` minimizes `Σ (log model − log flow)²` over
//!   area, power, latency and the minimum period (`1e6/fmax_mhz`, the model's `t_cp`) of the
//!   training rows plus `ridge·|θ|²` (a pull toward the prior, as data are few), by
//!   Levenberg–Marquardt with a forward-difference Jacobian (step 1e-3 in `θ`), the
//!   replacement of the reference's `scipy.optimize.least_squares`. The period term keeps the
//!   fit off the flat region of `period = max(clock, t_cp)`, where latency and power do not see
//!   the delay coefficients.
//! * The SRAM energy is not fitted: the model's macro table is the flow's (`sram_energy_scale`
//!   stays at the prior's 1).
//! * Error: the rows are split once, seeded, 75 / 25; the held-out rows give the median
//!   absolute percentage error and Kendall's τ-b per metric. The coefficients to ship are then
//!   refitted on all rows.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::evaluators::gemmini_model::{Coefficients, GemminiConfig, GemminiModel};

/// The metrics fitted and reported.
pub const TARGETS: [&str; 3] = ["area_mm2", "power_mw", "latency_ms"];

/// The coefficients the fit scales (list-valued ones entry by entry).
pub const FIT: [&str; 24] = [
    "fa_area_um2",
    "dff_area_um2",
    "ctrl_area_um2",
    "sram_area_scale",
    "delay_strategy_area",
    "pressure_area",
    "reg_ps",
    "mul_ps_per_bit",
    "add_ps_per_bit",
    "stage_ps_per_bit",
    "stage_hier_ps_per_bit",
    "mux_ps",
    "fanin_ps_per_bit",
    "periph_ps",
    "retime_fanin_gain",
    "retime_periph_ps_per_bit",
    "delay_strategy_delay",
    "min_delay_frac_area",
    "min_delay_frac_delay",
    "vt_delay",
    "mixed_fast_share",
    "vt_leak_pw_per_um2",
    "mac_fj_per_fa",
    "reg_clock_fj",
];

/// One flow result: the configuration and its measured targets.
#[derive(Clone, Debug)]
pub struct Row {
    pub cfg: GemminiConfig,
    /// The values of [`TARGETS`].
    pub measured: [f64; 3],
    /// The flow's minimum period, `1e6/fmax_mhz` (ps), when it reports one.
    pub min_period_ps: Option<f64>,
}

/// `coef` with the [`FIT`] entries scaled by `exp(θ)`.
pub fn apply(coef: &Coefficients, theta: &[f64]) -> Coefficients {
    let mut value = serde_json::to_value(coef).expect("coefficients serialize");
    let mut i = 0;
    for name in FIT {
        match &mut value[name] {
            serde_json::Value::Array(items) => {
                for item in items {
                    *item = (item.as_f64().expect("a number") * theta[i].exp()).into();
                    i += 1;
                }
            }
            item => {
                *item = (item.as_f64().expect("a number") * theta[i].exp()).into();
                i += 1;
            }
        }
    }
    serde_json::from_value(value).expect("scaled coefficients parse")
}

/// How many numbers [`FIT`] scales.
pub fn n_theta(coef: &Coefficients) -> usize {
    let value = serde_json::to_value(coef).expect("coefficients serialize");
    FIT.iter()
        .map(|n| value[n].as_array().map_or(1, Vec::len))
        .sum()
}

/// The model's targets for `rows` under `coef`.
pub fn predict(model: &GemminiModel, coef: &Coefficients, rows: &[Row]) -> Vec<[f64; 3]> {
    rows.iter()
        .map(|r| {
            let q = model.evaluate_with(&r.cfg, coef);
            [q.area_mm2, q.power_mw, q.latency_ms]
        })
        .collect()
}

/// The fitted coefficients of `rows`, starting from `prior`.
pub fn fit(model: &GemminiModel, prior: &Coefficients, rows: &[Row], ridge: f64) -> Coefficients {
    let n = n_theta(prior);
    let residuals = |theta: &[f64]| -> Vec<f64> {
        let coef = apply(prior, theta);
        let ln = |v: f64| v.max(1e-30).ln();
        let mut out = Vec::with_capacity(rows.len() * 4 + n);
        for r in rows {
            let q = model.evaluate_with(&r.cfg, &coef);
            for (m, y) in [q.area_mm2, q.power_mw, q.latency_ms]
                .iter()
                .zip(r.measured)
            {
                out.push(ln(*m) - ln(y));
            }
            if let Some(p) = r.min_period_ps {
                out.push(ln(q.tech.critical_path_ps) - ln(p));
            }
        }
        out.extend(theta.iter().map(|t| ridge.sqrt() * t));
        out
    };
    let theta = levenberg_marquardt(residuals, vec![0.0; n], 200);
    let mut fitted = apply(prior, &theta);
    fitted.source = format!(
        "least-squares fit to {} asap7 flow rows ({}), ridge {ridge}",
        rows.len(),
        model.workload().name
    );
    fitted
}

/// Minimize `|r(x)|²` from `x0` by Levenberg–Marquardt (Marquardt's diagonal scaling), with a
/// forward-difference Jacobian; at most `max_iter` accepted steps.
pub fn levenberg_marquardt(
    r: impl Fn(&[f64]) -> Vec<f64>,
    x0: Vec<f64>,
    max_iter: usize,
) -> Vec<f64> {
    const STEP: f64 = 1e-3;
    let ss = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>();
    let mut x = x0;
    let mut res = r(&x);
    let mut cost = ss(&res);
    let mut lambda = 1e-3;
    let n = x.len();
    for _ in 0..max_iter {
        // J: m × n
        let cols: Vec<Vec<f64>> = (0..n)
            .map(|j| {
                let mut xp = x.clone();
                xp[j] += STEP;
                r(&xp)
                    .iter()
                    .zip(&res)
                    .map(|(a, b)| (a - b) / STEP)
                    .collect()
            })
            .collect();
        let mut jtj = vec![vec![0.0; n]; n];
        let mut jtr = vec![0.0; n];
        for i in 0..n {
            jtr[i] = cols[i].iter().zip(&res).map(|(a, b)| a * b).sum();
            for k in i..n {
                let v: f64 = cols[i].iter().zip(&cols[k]).map(|(a, b)| a * b).sum();
                jtj[i][k] = v;
                jtj[k][i] = v;
            }
        }
        let mut improved = false;
        while lambda < 1e10 {
            let mut a = jtj.clone();
            for (i, row) in a.iter_mut().enumerate() {
                row[i] += lambda * jtj[i][i].max(1e-12);
            }
            let b: Vec<f64> = jtr.iter().map(|g| -g).collect();
            let Some(delta) = solve(a, b) else {
                lambda *= 4.0;
                continue;
            };
            let xn: Vec<f64> = x.iter().zip(&delta).map(|(a, d)| a + d).collect();
            let rn = r(&xn);
            let cn = ss(&rn);
            if cn.is_finite() && cn < cost {
                let gain = (cost - cn) / cost.max(1e-300);
                x = xn;
                res = rn;
                cost = cn;
                lambda = (lambda / 3.0).max(1e-12);
                improved = gain > 1e-12;
                break;
            }
            lambda *= 4.0;
        }
        if !improved {
            break;
        }
    }
    x
}

/// `a·x = b` by Gaussian elimination with partial pivoting; `None` when singular.
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let n = b.len();
    for c in 0..n {
        let p = (c..n).max_by(|&i, &j| a[i][c].abs().total_cmp(&a[j][c].abs()))?;
        if a[p][c].abs() < 1e-300 {
            return None;
        }
        a.swap(c, p);
        b.swap(c, p);
        let (upper, lower) = a.split_at_mut(c + 1);
        let pivot = &upper[c];
        for (i, row) in lower.iter_mut().enumerate() {
            let f = row[c] / pivot[c];
            for (x, p) in row[c..].iter_mut().zip(&pivot[c..]) {
                *x -= f * p;
            }
            b[c + 1 + i] -= f * b[c];
        }
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let s: f64 = (i + 1..n).map(|k| a[i][k] * x[k]).sum();
        x[i] = (b[i] - s) / a[i][i];
    }
    x.iter().all(|v| v.is_finite()).then_some(x)
}

/// Kendall's τ-b of two equally long samples (`NaN` with fewer than 2 pairs' worth of data).
pub fn kendall_tau(x: &[f64], y: &[f64]) -> f64 {
    let (mut concordant, mut discordant, mut tied_x, mut tied_y, mut pairs) =
        (0i64, 0i64, 0i64, 0i64, 0i64);
    for i in 0..x.len() {
        for j in i + 1..x.len() {
            pairs += 1;
            let dx = (x[i] - x[j]).partial_cmp(&0.0).map_or(0, |o| o as i64);
            let dy = (y[i] - y[j]).partial_cmp(&0.0).map_or(0, |o| o as i64);
            if dx == 0 {
                tied_x += 1;
            }
            if dy == 0 {
                tied_y += 1;
            }
            match dx * dy {
                1 => concordant += 1,
                -1 => discordant += 1,
                _ => {}
            }
        }
    }
    let denom = (((pairs - tied_x) * (pairs - tied_y)) as f64).sqrt();
    if x.len() < 3 || denom == 0.0 {
        return f64::NAN;
    }
    (concordant - discordant) as f64 / denom
}

/// The median of `v` (`NaN` when empty).
pub fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The error of one metric on some rows.
#[derive(Clone, Debug, Serialize)]
pub struct Error {
    pub metric: String,
    pub mdape_pct: f64,
    pub kendall_tau: f64,
    pub n: usize,
}

/// MdAPE (%) and τ per target of `coef` on `rows`.
pub fn errors(model: &GemminiModel, coef: &Coefficients, rows: &[Row]) -> Vec<Error> {
    let pred = predict(model, coef, rows);
    TARGETS
        .iter()
        .enumerate()
        .map(|(k, m)| {
            let p: Vec<f64> = pred.iter().map(|v| v[k]).collect();
            let y: Vec<f64> = rows.iter().map(|r| r.measured[k]).collect();
            let ape = p
                .iter()
                .zip(&y)
                .map(|(a, b)| (a - b).abs() / b.abs() * 100.0)
                .collect();
            Error {
                metric: m.to_string(),
                mdape_pct: median(ape),
                kendall_tau: kendall_tau(&p, &y),
                n: rows.len(),
            }
        })
        .collect()
}

/// Seeded train and held-out row indices: `k = max(1, round(fraction·n))` held out (none
/// below 4 rows).
pub fn split(n: usize, seed: u64, fraction: f64) -> (Vec<usize>, Vec<usize>) {
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let k = if n >= 4 {
        ((n as f64 * fraction).round() as usize).max(1)
    } else {
        0
    };
    let (mut test, mut train) = (order[..k].to_vec(), order[k..].to_vec());
    test.sort_unstable();
    train.sort_unstable();
    (train, test)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workloads::Workload;

    #[test]
    fn tau_and_median_follow_their_definitions() {
        assert_eq!(kendall_tau(&[1.0, 2.0, 3.0], &[10.0, 20.0, 30.0]), 1.0);
        assert_eq!(kendall_tau(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]), -1.0);
        // one pair tied in x, five concordant: τ-b = 5/sqrt(5·6)
        let t = kendall_tau(&[1.0, 2.0, 2.0, 3.0], &[1.0, 3.0, 2.0, 4.0]);
        assert!((t - 5.0 / 30f64.sqrt()).abs() < 1e-12, "{t}");
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
        let (train, test) = split(8, 0, 0.25);
        assert_eq!((train.len(), test.len()), (6, 2));
    }

    #[test]
    fn levenberg_marquardt_solves_a_small_nonlinear_fit() {
        // y = a·exp(b·t) through exact points: a = 2, b = -0.5
        let t = [0.0, 1.0, 2.0, 3.0, 4.0];
        let r = |x: &[f64]| {
            t.iter()
                .map(|t| x[0] * (x[1] * t).exp() - 2.0 * (-0.5 * t).exp())
                .collect()
        };
        let x = levenberg_marquardt(r, vec![1.0, 0.0], 200);
        assert!(
            (x[0] - 2.0).abs() < 1e-4 && (x[1] + 0.5).abs() < 1e-4,
            "{x:?}"
        );
    }

    /// The fit recovers coefficients the data were made with: rows from the 72-row fit's
    /// coefficients (the model form the fit has), a fit from the prior, held-out error near zero.
    #[test]
    fn the_fit_recovers_a_known_model() {
        let model = GemminiModel::with_coefficients(
            Workload::load("resnet50").unwrap(),
            16.0,
            Coefficients::asap7_fit(),
        );
        let truth = Coefficients::asap7_fit();
        let mut rows = Vec::new();
        for (mesh, clock, vt) in [
            (4, 1000.0, 0),
            (8, 800.0, 1),
            (8, 1500.0, 2),
            (16, 1000.0, 3),
            (4, 600.0, 4),
            (16, 2000.0, 0),
        ] {
            let cfg = GemminiConfig {
                mesh_rows: mesh,
                mesh_cols: mesh,
                clock_ps: clock,
                vt_flavour: crate::evaluators::gemmini_model::VtFlavour::ALL[vt],
                ..GemminiConfig::default()
            };
            let q = model.evaluate_with(&cfg, &truth);
            rows.push(Row {
                cfg,
                measured: [q.area_mm2, q.power_mw, q.latency_ms],
                min_period_ps: Some(q.tech.critical_path_ps),
            });
        }
        let prior = Coefficients::prior();
        let before = errors(&model, &prior, &rows);
        let fitted = fit(&model, &prior, &rows, 1e-6);
        let after = errors(&model, &fitted, &rows);
        for (b, a) in before.iter().zip(&after) {
            assert!(
                a.mdape_pct < b.mdape_pct.max(1e-3) && a.mdape_pct < 2.0,
                "{b:?} → {a:?}"
            );
        }
        assert_eq!(n_theta(&prior), 33);
    }
}
