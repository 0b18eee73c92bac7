//! DiffuSE (arXiv 2503.23945) as the daemon's proposer: a conditional diffusion model learns
//! the inverse, one-to-many map from QoR to designs; a QoR predictor's gradient steers its
//! samples; the conditions are points of the Pareto front pushed beyond it, and the users'
//! own targets. The reference algorithm is PORTING §2; the modules follow its parts:
//!
//! - [`settings`]: every knob, `[model.diffuse]`;
//! - [`scale`]: the q (conditioning) and h (hypervolume) scales of the QoR;
//! - [`nets`], [`schedule`], [`model`]: the networks, the noise schedule, training and guided
//!   DDIM sampling behind the [`model::InverseModel`] trait;
//! - [`targets`]: front targets by hypervolume contribution, and user targets;
//! - [`select`]: greedy batch selection by predicted hypervolume improvement.

pub mod model;
pub mod nets;
pub mod pretrain;
pub mod scale;
pub mod schedule;
pub mod select;
pub mod settings;
pub mod targets;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::AtomicBool;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::config::{Config, Target};
use crate::pareto::nondominated;
use crate::proposer::{Fit, History, Proposal, Proposals, Proposer, SobolRandom};
use crate::space::encoding::Encoder;
use crate::space::legalize::Legalizer;
use crate::space::{Design, DesignHash, Objective, Space};
use crate::store::TargetId;
use model::{DfdxModel, InverseModel, TrainSet};
use nets::{D_MAX, M_MAX};
use scale::Scale;
pub use settings::Settings;

/// Why a space cannot be modelled: it is wider than the compile-time network widths.
pub fn check_widths(space: &Space, objectives: usize) -> Result<(), String> {
    let d = Encoder::new(space).width();
    if d > D_MAX {
        return Err(format!(
            "the space encodes to {d} model inputs (a categorical counts one per choice); DiffuSE's networks take at most {D_MAX}. Remove parameters or choices, or use model.kind = \"sobol-random\"."
        ));
    }
    if objectives > M_MAX {
        return Err(format!(
            "{objectives} objectives; DiffuSE's networks condition on at most {M_MAX}. Move the rest to outcome constraints."
        ));
    }
    Ok(())
}

/// The pretraining rows the config asks for (none without `[model.pretrain]`); a source that
/// cannot be read is logged and skipped, so the daemon still runs.
pub fn pretrain_for(config: &Config) -> Pretrain {
    let Some(settings) = &config.model.pretrain else {
        return Pretrain::default();
    };
    match pretrain::load(config, settings, mix(config.seed, PRETRAIN, 0)) {
        Ok(p) => {
            tracing::info!(
                rows = p.rows.len(),
                share = p.share,
                "pretraining rows loaded"
            );
            p
        }
        Err(e) => {
            tracing::warn!(error = %e, "no pretraining: the source cannot be read");
            Pretrain::default()
        }
    }
}

/// Pretraining rows (designs with raw objective values) and the share of the row weight they
/// get in every fit.
#[derive(Clone, Debug, Default)]
pub struct Pretrain {
    pub rows: Vec<(Design, Vec<f64>)>,
    pub share: f64,
}

/// SplitMix64: independent seeds for each purpose and each state of the store, so a
/// restarted daemon draws what an uninterrupted one would have.
fn mix(seed: u64, purpose: u64, counter: u64) -> u64 {
    let mut z = seed ^ purpose.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ counter.rotate_left(32);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

const FIT: u64 = 1;
const PROPOSE: u64 = 2;
const POOL: u64 = 3;
const PRETRAIN: u64 = 4;

/// Where a candidate came from (stored as the proposal's `origin`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Origin {
    Diffusion,
    Local,
    Pool,
}

impl Origin {
    fn as_str(self) -> &'static str {
        match self {
            Origin::Diffusion => "diffusion",
            Origin::Local => "local",
            Origin::Pool => "pool",
        }
    }
}

/// The DiffuSE proposer.
pub struct DiffuSE {
    space: Space,
    objectives: Vec<Objective>,
    settings: Settings,
    seed: u64,
    initial: usize,
    full_retrain_every: usize,
    retrain_every: usize,
    /// The initial design and the fallback when the model has too little to go on.
    startup: SobolRandom,
    encoder: Encoder,
    legalizer: Option<Legalizer>,
    model: Box<dyn InverseModel>,
    scale: Option<Scale>,
    /// Warm fits since the last full one.
    warm_fits: usize,
    /// Results (with QoR) the last fit saw: a warm fit's steps scale with the share new since.
    fit_results: usize,
    pretrain: Pretrain,
}

impl DiffuSE {
    /// A proposer for the config's space (its widths were checked by the config loader).
    pub fn new(config: &Config, pretrain: Pretrain) -> Self {
        let encoder = Encoder::new(&config.space);
        let settings = config.model.diffuse.clone();
        let initial = if pretrain.rows.is_empty() {
            config.model.initial_design
        } else {
            config.model.initial_design.min(4)
        };
        Self {
            model: Box::new(DfdxModel::new(
                settings.clone(),
                encoder.width(),
                config.objectives.len(),
            )),
            space: config.space.clone(),
            objectives: config.objectives.clone(),
            settings,
            seed: config.seed,
            initial,
            full_retrain_every: config.model.full_retrain_every,
            retrain_every: config.model.retrain_every,
            startup: SobolRandom::new(config.space.clone(), initial, config.seed),
            encoder,
            legalizer: None,
            scale: None,
            warm_fits: 0,
            fit_results: 0,
            pretrain,
        }
    }

    fn padded(&self, design: &Design) -> [f32; D_MAX] {
        let mut row = [0f32; D_MAX];
        let x = self.encoder.encode(design);
        row[..x.len()].copy_from_slice(&x);
        row
    }

    fn legalizer(&mut self) -> Option<&Legalizer> {
        if self.legalizer.is_none() {
            let mut rng = ChaCha8Rng::seed_from_u64(mix(self.seed, POOL, 0));
            self.legalizer =
                Legalizer::new(&self.space, self.settings.feasible_pool_size, &mut rng);
        }
        self.legalizer.as_ref()
    }

    /// The rows of one fit: real results at weight `(1 − share)/n`, pretraining rows at
    /// `share/n_pre` with their q values clipped to `[-2, 3]`; labels for the classifier from
    /// the real results only (feasible 1, outcome violation or failure 0).
    fn train_set(&self, history: &History, scale: &Scale) -> TrainSet {
        let mut data = TrainSet {
            d: self.encoder.width(),
            m: self.objectives.len(),
            ..Default::default()
        };
        let n = history.ok.len() as f64;
        let pre = &self.pretrain.rows;
        let share = if pre.is_empty() {
            0.0
        } else {
            self.pretrain.share
        };
        let push = |design: &Design, q: Vec<f64>, w: f64, data: &mut TrainSet| {
            data.x.extend(self.padded(design));
            let mut c = [0f32; M_MAX];
            for (c, q) in c.iter_mut().zip(q) {
                *c = q as f32;
            }
            data.c.extend(c);
            data.weights.push(w);
        };
        for (design, y, _) in &history.ok {
            push(design, scale.to_q(y), (1.0 - share) / n, &mut data);
        }
        for (design, y) in pre {
            let q = scale
                .to_q(y)
                .into_iter()
                .map(|v| v.clamp(-2.0, 3.0))
                .collect();
            push(design, q, share / pre.len() as f64, &mut data);
        }
        for (design, _, feasible) in &history.ok {
            data.labelled_x.extend(self.padded(design));
            data.labels.push(f32::from(u8::from(*feasible)));
        }
        for design in &history.failed {
            data.labelled_x.extend(self.padded(design));
            data.labels.push(0.0);
        }
        data
    }

    fn meta(&self) -> HashMap<String, String> {
        HashMap::from([
            (
                "scale".to_string(),
                serde_json::to_string(&self.scale).expect("a scale serializes"),
            ),
            ("warm_fits".to_string(), self.warm_fits.to_string()),
            ("fit_results".to_string(), self.fit_results.to_string()),
            ("space".to_string(), self.space.fingerprint()),
        ])
    }

    /// Proposals from the model: conditions, candidates, scores, then the batch.
    fn propose_with_model(&mut self, history: &History, n: usize) -> Proposals {
        let scale = self.scale.clone().expect("a fitted model has a scale");
        let s = self.settings.clone();
        let m = self.objectives.len();
        let mut rng = ChaCha8Rng::seed_from_u64(mix(self.seed, PROPOSE, history.seen.len() as u64));

        // The front on the h scale, among feasible results (all results when none is).
        let feasible: Vec<usize> = (0..history.ok.len()).filter(|&i| history.ok[i].2).collect();
        let rows = if feasible.is_empty() {
            (0..history.ok.len()).collect()
        } else {
            feasible
        };
        let h: Vec<Vec<f64>> = rows.iter().map(|&i| scale.to_h(&history.ok[i].1)).collect();
        let flat: Vec<f64> = h.iter().flatten().copied().collect();
        let front_rows: Vec<usize> = nondominated(&flat, m)
            .into_iter()
            .map(|k| rows[k])
            .collect();
        let front_h: Vec<f64> = front_rows
            .iter()
            .flat_map(|&i| scale.to_h(&history.ok[i].1))
            .collect();
        let front_q: Vec<Vec<f64>> = front_rows
            .iter()
            .map(|&i| scale.to_q(&history.ok[i].1))
            .collect();
        let mut reference = scale.h_reference(&self.objectives);
        for (j, r) in reference.iter_mut().enumerate() {
            let low = front_h
                .chunks_exact(m)
                .map(|p| p[j])
                .fold(f64::INFINITY, f64::min);
            if *r <= low {
                *r = 1.1;
            }
        }
        let ideal: Vec<f64> = (0..m)
            .map(|j| front_q.iter().map(|q| q[j]).fold(f64::INFINITY, f64::min))
            .collect();

        // How the batch splits between the front and the users' targets.
        let n_user = if history.targets.is_empty() {
            0
        } else {
            let share = ((n as f64) * (1.0 - s.pareto_share)).round() as usize;
            share.max(history.starved_targets.len()).min(n)
        };
        let n_front = n - n_user;
        let user_slots = user_slot_order(&history.targets, &history.starved_targets, n_user);

        // Conditions: front points pushed beyond the front, then the user targets.
        let mut conditions: Vec<Vec<f64>> = Vec::new();
        if n_front > 0 {
            for i in targets::pick_front_points(&front_h, m, &reference, n_front, &mut rng) {
                conditions.push(targets::push(
                    &front_q[i],
                    &ideal,
                    s.target_push,
                    s.target_margin,
                    s.target_jitter,
                    &mut rng,
                ));
            }
        }
        for &slot in &user_slots {
            let target = &history.targets[slot].1;
            let anchor = best_for_target(target, &self.objectives, history)
                .map_or_else(|| ideal.clone(), |y| scale.to_q(&y));
            conditions.push(targets::user_condition(
                target,
                &self.objectives,
                &scale,
                &anchor,
            ));
        }

        // Candidates: one diffusion sample per (condition, repeat), local perturbations of
        // front designs, and pool designs; all legalized.
        let mut cond_rows = Vec::with_capacity(conditions.len() * s.candidates_per_target * M_MAX);
        for c in &conditions {
            let mut row = [0f32; M_MAX];
            for (r, v) in row.iter_mut().zip(c) {
                *r = *v as f32;
            }
            for _ in 0..s.candidates_per_target {
                cond_rows.extend(row);
            }
        }
        let samples = self.model.sample(&cond_rows, rng.random());
        let mut raw: Vec<(Vec<f32>, Origin)> = samples
            .chunks_exact(D_MAX)
            .map(|x| (x[..self.encoder.width()].to_vec(), Origin::Diffusion))
            .collect();
        for _ in 0..s.local_candidates {
            let i = front_rows[rng.random_range(0..front_rows.len())];
            let x = self.encoder.encode(&history.ok[i].0);
            let x = x
                .into_iter()
                .map(|v| {
                    let e: f64 = StandardNormal.sample(&mut rng);
                    (f64::from(v) + s.local_scale * e).clamp(-1.0, 1.0) as f32
                })
                .collect();
            raw.push((x, Origin::Local));
        }
        if self.legalizer().is_none() {
            return self.startup.propose(history, n);
        }
        let legalizer = self.legalizer.as_ref().expect("built just above");
        for _ in 0..s.random_candidates {
            let d = &legalizer.pool()[rng.random_range(0..legalizer.pool().len())];
            raw.push((self.encoder.encode(d), Origin::Pool));
        }
        let mut taken: HashSet<DesignHash> = history.seen.clone();
        let mut cands: Vec<(Design, Origin)> = Vec::new();
        for (x, origin) in &raw {
            let legal = legalizer.legalize(x);
            if taken.insert(legal.design.hash()) {
                cands.push((legal.design, *origin));
            }
        }

        // Scores: the members' predictions on the h scale, and the feasibility.
        let xs: Vec<f32> = cands.iter().flat_map(|(d, _)| self.padded(d)).collect();
        let (preds, p_feas) = self.predict_h(&scale, &xs, cands.len());
        let mut keep: Vec<usize> = (0..cands.len()).collect();
        if keep
            .iter()
            .filter(|&&i| p_feas[i] >= s.min_feasibility)
            .count()
            >= n
        {
            keep.retain(|&i| p_feas[i] >= s.min_feasibility);
        }
        let encoded: Vec<Vec<f32>> = cands.iter().map(|(d, _)| self.encoder.encode(d)).collect();
        let mut front_and_believers = front_h.clone();
        if !history.pending.is_empty() {
            let px: Vec<f32> = history
                .pending
                .iter()
                .flat_map(|d| self.padded(d))
                .collect();
            let (bp, _) = self.predict_h(&scale, &px, history.pending.len());
            for i in 0..history.pending.len() {
                for j in 0..m {
                    let mean = bp.iter().map(|e| e[i][j]).sum::<f64>() / bp.len() as f64;
                    front_and_believers.push(mean);
                }
            }
        }
        let scored: Vec<select::Scored<'_>> = keep
            .iter()
            .map(|&i| select::Scored {
                x: &encoded[i],
                members: preds.iter().map(|e| e[i].clone()).collect(),
                p_feasible: p_feas[i],
            })
            .collect();
        let picked_front = select::select_batch(
            &scored,
            &front_and_believers,
            &reference,
            n_front,
            s.optimism,
            s.n_screen,
            s.diversity_radius,
        );
        let mut chosen: Vec<usize> = picked_front.iter().map(|&k| keep[k]).collect();
        let mut proposals: Vec<Proposal> = chosen
            .iter()
            .map(|&i| Proposal {
                design: cands[i].0.clone(),
                origin: cands[i].1.as_str(),
                target: None,
            })
            .collect();

        // User slots: the candidate with the best predicted score for the slot's target.
        for &slot in &user_slots {
            let (id, target) = &history.targets[slot];
            let best = keep
                .iter()
                .copied()
                .filter(|i| !chosen.contains(i))
                .filter_map(|i| {
                    let mean: Vec<f64> = (0..m)
                        .map(|j| preds.iter().map(|e| e[i][j]).sum::<f64>() / preds.len() as f64)
                        .collect();
                    let raw = scale.from_h(&mean);
                    let score = target.score(&self.objectives, &raw)?;
                    Some((score + (1.0 - p_feas[i]), i))
                })
                .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)))
                .map(|(_, i)| i)
                .or_else(|| keep.iter().copied().find(|i| !chosen.contains(i)));
            if let Some(i) = best {
                chosen.push(i);
                proposals.push(Proposal {
                    design: cands[i].0.clone(),
                    origin: cands[i].1.as_str(),
                    target: Some(*id),
                });
            }
        }

        // Too few candidates (a small or nearly exhausted space): fill with unseen designs.
        let mut exhausted = false;
        if proposals.len() < n {
            let mut h = history.clone();
            h.seen.extend(proposals.iter().map(|p| p.design.hash()));
            h.starved_targets.clear();
            let more = self.startup.propose(&h, n - proposals.len());
            exhausted = more.exhausted;
            proposals.extend(more.proposals);
        }
        Proposals {
            proposals,
            exhausted,
        }
    }

    /// Each member's prediction for `n` padded rows on the h scale, and the feasibility.
    fn predict_h(&self, scale: &Scale, xs: &[f32], n: usize) -> (Vec<Vec<Vec<f64>>>, Vec<f64>) {
        if n == 0 {
            return (vec![Vec::new(); nets::MEMBERS], Vec::new());
        }
        let preds = self
            .model
            .predict(xs)
            .into_iter()
            .map(|member| {
                member
                    .into_iter()
                    .map(|q| scale.to_h(&scale.from_q(&q)))
                    .collect()
            })
            .collect();
        let p = self.model.p_feasible(xs).unwrap_or_else(|| vec![1.0; n]);
        (preds, p)
    }
}

/// The order in which user targets fill the batch's user slots: starved targets first, then
/// the others in turn.
fn user_slot_order(targets: &[(TargetId, Target)], starved: &[TargetId], n: usize) -> Vec<usize> {
    if targets.is_empty() {
        return Vec::new();
    }
    let mut order: Vec<usize> = (0..targets.len())
        .filter(|&i| starved.contains(&targets[i].0))
        .collect();
    order.extend((0..targets.len()).filter(|&i| !starved.contains(&targets[i].0)));
    order.into_iter().cycle().take(n).collect()
}

/// The raw objective values of the result that best meets a target (lowest score).
fn best_for_target(
    target: &Target,
    objectives: &[Objective],
    history: &History,
) -> Option<Vec<f64>> {
    history
        .ok
        .iter()
        .filter(|(_, _, feasible)| *feasible)
        .filter_map(|(_, y, _)| Some((target.score(objectives, y)?, y)))
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, y)| y.clone())
}

impl Proposer for DiffuSE {
    fn kind(&self) -> &'static str {
        "diffuse"
    }

    fn fit(&mut self, history: &History) -> Fit {
        // Nothing to learn from yet, or the next batch is still all initial design.
        let done = history.ok.len() + history.failed.len();
        if history.ok.len() < self.settings.min_observations.max(1)
            || done + self.retrain_every <= self.initial
        {
            return Fit::default();
        }
        let ys: Vec<Vec<f64>> = history.ok.iter().map(|(_, y, _)| y.clone()).collect();
        let scale = Scale::fit(&self.objectives, &ys);
        let data = self.train_set(history, &scale);
        let warm = self.model.is_fitted() && self.warm_fits + 1 < self.full_retrain_every;
        let results = history.ok.len();
        let new_share = results.saturating_sub(self.fit_results) as f64 / results as f64;
        let n_done = (history.ok.len() + history.failed.len()) as u64;
        let loss = self.model.fit(
            &data,
            warm.then_some(new_share),
            mix(self.seed, FIT, n_done),
            &AtomicBool::new(false),
        );
        self.warm_fits = if warm { self.warm_fits + 1 } else { 0 };
        self.fit_results = results;
        self.scale = Some(scale);
        tracing::debug!(?loss, warm, rows = data.rows(), "DiffuSE fit");
        Fit {
            loss: Some(loss.denoiser),
            weights: Some(self.model.save(self.meta())),
            warm,
        }
    }

    fn restore(&mut self, weights: &[u8]) -> Result<(), String> {
        let meta = self.model.load(weights).map_err(|e| e.to_string())?;
        if meta.get("space") != Some(&self.space.fingerprint()) {
            return Err("the checkpoint was made for another space".into());
        }
        let scale: Option<Scale> = meta
            .get("scale")
            .and_then(|s| serde_json::from_str(s).ok())
            .ok_or("the checkpoint has no QoR scale")?;
        self.scale = scale;
        self.warm_fits = meta
            .get("warm_fits")
            .and_then(|w| w.parse().ok())
            .unwrap_or(0);
        // A checkpoint without it (an older build) makes the next warm fit a long one.
        self.fit_results = meta
            .get("fit_results")
            .and_then(|w| w.parse().ok())
            .unwrap_or(0);
        Ok(())
    }

    fn propose(&mut self, history: &History, n: usize) -> Proposals {
        let n = n.max(history.starved_targets.len());
        if n == 0 {
            return Proposals::default();
        }
        let done = history.ok.len() + history.failed.len();
        let ready = self.model.is_fitted()
            && self.scale.is_some()
            && history.ok.len() >= self.settings.min_observations.max(1);
        if !ready {
            return self.startup.propose(history, n);
        }
        // The rest of the initial design first, then the model for the remaining slots.
        let sobol = self.initial.saturating_sub(done).min(n);
        if sobol == 0 {
            return self.propose_with_model(history, n);
        }
        let mut out = self.startup.propose(history, sobol);
        let mut h = history.clone();
        h.seen.extend(out.proposals.iter().map(|p| p.design.hash()));
        h.starved_targets.clear();
        let more = self.propose_with_model(&h, n - out.proposals.len());
        out.exhausted = more.exhausted;
        out.proposals.extend(more.proposals);
        out
    }
}
