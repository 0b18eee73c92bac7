//! The noise schedule and the DDIM time grid (PORTING §2.6).

use super::nets::TIME_DIM;

/// The number of diffusion steps `T`.
pub const STEPS: usize = 200;

/// The cosine schedule of Nichol & Dhariwal (2021), in f64 then cast to f32:
/// `f(i) = cos(((i/T) + 0.008)/1.008 · π/2)²`, `β_i = min(1 − f(i+1)/f(i), 0.999)`,
/// `ᾱ = cumprod(1 − β)`, indexed `t = 0..T-1` (t = 0 is the least noisy).
pub fn alpha_bar() -> Vec<f32> {
    let t = STEPS as f64;
    let f = |i: f64| {
        (((i / t) + 0.008) / 1.008 * std::f64::consts::FRAC_PI_2)
            .cos()
            .powi(2)
    };
    let mut acc = 1.0f64;
    (0..STEPS)
        .map(|i| {
            let beta = (1.0 - f(i as f64 + 1.0) / f(i as f64)).min(0.999);
            acc *= 1.0 - beta;
            acc as f32
        })
        .collect()
}

/// `k` sampling times from `T-1` down to 0: `linspace(T-1, 0, k)` rounded half to even and
/// deduplicated (k = 20 gives 199, 189, 178, …, 10, 0).
pub fn ddim_times(k: usize) -> Vec<usize> {
    let last = (STEPS - 1) as f64;
    let mut out: Vec<usize> = (0..k)
        .map(|i| {
            let x = if k == 1 {
                last
            } else {
                last - last * i as f64 / (k - 1) as f64
            };
            x.round_ties_even() as usize
        })
        .collect();
    out.dedup();
    out
}

/// The sinusoidal embedding of `t = step/T ∈ [0, 1)`:
/// `[sin(1000·t·w_k), cos(1000·t·w_k)]` for `k < 16`, `w_k = exp(−ln(10000)·k/16)`.
pub fn time_embedding(t: f32, out: &mut [f32]) {
    let half = TIME_DIM / 2;
    for k in 0..half {
        let w = (-(10000f32.ln()) * k as f32 / half as f32).exp();
        let a = 1000.0 * t * w;
        out[k] = a.sin();
        out[half + k] = a.cos();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_matches_the_reference_values() {
        let a = alpha_bar();
        assert!((a[0] - 0.99975).abs() < 1e-5, "{}", a[0]);
        assert!((a[99] - 0.494).abs() < 1e-3, "{}", a[99]);
        assert!(a[199] < 1e-6 && a[199] > 0.0, "{}", a[199]);
        assert!(a.windows(2).all(|w| w[1] < w[0]));
    }

    #[test]
    fn ddim_grid_is_the_reference_grid() {
        assert_eq!(
            ddim_times(20),
            [
                199, 189, 178, 168, 157, 147, 136, 126, 115, 105, 94, 84, 73, 63, 52, 42, 31, 21,
                10, 0
            ]
        );
    }
}
