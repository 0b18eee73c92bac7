//! DiffuSE's settings, `[model.diffuse]` in the config. The defaults are the reference's
//! (PORTING §2.1); every field may be left out.

use serde::Deserialize;

/// Every knob of the sampler. Counts are steps or rows; scales are on the q scale.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Target push toward the ideal point, γ.
    pub target_push: f64,
    /// Extra push in every objective, δ.
    pub target_margin: f64,
    /// Jitter added to each target, σ_t.
    pub target_jitter: f64,
    /// Diffusion samples per target.
    pub candidates_per_target: usize,
    /// Perturbations of front designs.
    pub local_candidates: usize,
    /// Designs drawn from the feasible pool.
    pub random_candidates: usize,
    /// Standard deviation of a local perturbation in the encoded space.
    pub local_scale: f64,
    /// Uniform draws per round when the feasible pool is built.
    pub feasible_pool_size: usize,
    /// Denoiser steps of a cold fit, and the fewest of a warm fit (which runs
    /// `max(warm_steps, ⌈train_steps·s⌉)`, `s` the share of results new since the last fit).
    pub train_steps: usize,
    pub warm_steps: usize,
    pub lr: f64,
    /// Rows per denoiser step.
    pub batch_rows: usize,
    /// Condition dropout (classifier-free guidance) and the guidance weight w.
    pub cond_dropout: f64,
    pub cfg_weight: f64,
    /// DDIM steps when sampling.
    pub ddim_steps: usize,
    /// Predictor guidance scale s and the likelihood's σ.
    pub guide_scale: f64,
    pub guide_sigma: f64,
    /// Predictor and classifier steps, cold and warm (the fewest, scaled like the denoiser's),
    /// with their AdamW settings.
    pub predictor_steps: usize,
    pub predictor_warm_steps: usize,
    pub predictor_lr: f64,
    pub weight_decay: f64,
    /// Candidates kept for exact scoring after the screen.
    pub n_screen: usize,
    /// Diversity radius ρ in the encoded space.
    pub diversity_radius: f64,
    /// Candidates below this predicted feasibility are dropped when enough remain.
    pub min_feasibility: f64,
    /// Optimism β in `mean − β·std` for the screen.
    pub optimism: f64,
    /// Share of each batch conditioned on Pareto-front targets; the rest goes to the users'
    /// targets (when there are any).
    pub pareto_share: f64,
    /// Results needed before the model is used; fewer give random feasible designs.
    pub min_observations: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            target_push: 0.2,
            target_margin: 0.1,
            target_jitter: 0.03,
            candidates_per_target: 64,
            local_candidates: 256,
            random_candidates: 256,
            local_scale: 0.15,
            feasible_pool_size: 8192,
            train_steps: 800,
            warm_steps: 80,
            lr: 2e-3,
            batch_rows: 128,
            cond_dropout: 0.15,
            cfg_weight: 2.0,
            ddim_steps: 20,
            guide_scale: 1.0,
            guide_sigma: 0.1,
            predictor_steps: 300,
            predictor_warm_steps: 30,
            predictor_lr: 5e-3,
            weight_decay: 1e-3,
            n_screen: 128,
            diversity_radius: 0.25,
            min_feasibility: 0.2,
            optimism: 0.0,
            pareto_share: 0.75,
            min_observations: 4,
        }
    }
}

impl Settings {
    /// The settings' problems as `(field, message)`, empty when all are valid.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let mut unit = |field: &'static str, v: f64| {
            if !(0.0..=1.0).contains(&v) {
                out.push((field, format!("must lie in [0, 1]; got {v}.")));
            }
        };
        unit("pareto_share", self.pareto_share);
        unit("cond_dropout", self.cond_dropout);
        unit("min_feasibility", self.min_feasibility);
        unit("target_push", self.target_push);
        for (field, v) in [
            ("train_steps", self.train_steps),
            ("batch_rows", self.batch_rows),
            ("ddim_steps", self.ddim_steps),
            ("predictor_steps", self.predictor_steps),
            ("candidates_per_target", self.candidates_per_target),
            ("feasible_pool_size", self.feasible_pool_size),
            ("n_screen", self.n_screen),
        ] {
            if v == 0 {
                out.push((field, "must be at least 1.".to_string()));
            }
        }
        for (field, v) in [
            ("lr", self.lr),
            ("predictor_lr", self.predictor_lr),
            ("guide_sigma", self.guide_sigma),
            ("diversity_radius", self.diversity_radius),
        ] {
            if !(v > 0.0 && v.is_finite()) {
                out.push((field, format!("must be a positive number; got {v}.")));
            }
        }
        for (field, v) in [
            ("target_margin", self.target_margin),
            ("target_jitter", self.target_jitter),
            ("local_scale", self.local_scale),
            ("cfg_weight", self.cfg_weight),
            ("guide_scale", self.guide_scale),
            ("weight_decay", self.weight_decay),
            ("optimism", self.optimism),
        ] {
            if !(v >= 0.0 && v.is_finite()) {
                out.push((field, format!("must be a number ≥ 0; got {v}.")));
            }
        }
        out
    }
}
