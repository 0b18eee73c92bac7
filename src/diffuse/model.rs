//! The learned part of DiffuSE behind a trait of our own (fit, sample, predict, save, load),
//! so the tensor backend can change without touching the sampler; [`DfdxModel`] is the dfdx
//! implementation.
//!
//! Three networks, all trained on the rows of a [`TrainSet`]:
//! - the denoiser `ε_θ(x_t, t, c)` of a conditional DDPM over encoded designs `x`, conditioned
//!   on their QoR `c` (q scale), with condition dropout for classifier-free guidance;
//! - a QoR predictor, an ensemble of MLPs on bootstrap weights of the rows;
//! - a feasibility classifier, the same ensemble with one logit, on labelled rows.
//!
//! Sampling is DDIM (η = 0) with classifier-free guidance `ε = ε_u + w(ε_c − ε_u)` and
//! predictor guidance `ε ← ε − s·√(1−ᾱ_t)·∇_{x̂0} log p(c | x̂0)/√ᾱ_t`, where
//! `log p(c|x) = −Σ_j relu(μ_j(x) − c_j)²/(2σ²) + log P(feasible | x)` (PORTING §2.6–2.7).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

use dfdx::nn::{RecursiveWalker, TensorCollection, TensorVisitor, ViewTensorName, ViewTensorRef};
use dfdx::optim::Adam;
use dfdx::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal, weighted::WeightedIndex};

use super::nets::{
    D_MAX, Denoiser, DenoiserInputs, Ensemble, HIDDEN, M_MAX, MEMBERS, MemberRows, Rows, TIME_DIM,
};
use super::schedule::{STEPS, alpha_bar, ddim_times, time_embedding};
use super::settings::Settings;

/// Rows to learn from. `x` and `c` are row-major and zero-padded to `D_MAX` and `M_MAX`.
#[derive(Clone, Debug, Default)]
pub struct TrainSet {
    /// The real encoded width and number of objectives.
    pub d: usize,
    pub m: usize,
    /// Encoded designs of the rows with QoR, `n × D_MAX`.
    pub x: Vec<f32>,
    /// Their QoR on the q scale, `n × M_MAX`.
    pub c: Vec<f32>,
    /// Row weights for the denoiser and the predictor (pretraining rows weigh less).
    pub weights: Vec<f64>,
    /// Labelled rows for the feasibility classifier: encoded designs and 1 (feasible) or 0.
    pub labelled_x: Vec<f32>,
    pub labels: Vec<f32>,
}

impl TrainSet {
    pub fn rows(&self) -> usize {
        self.weights.len()
    }
}

/// Losses at the end of a fit.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct FitLoss {
    pub denoiser: f64,
    pub predictor: f64,
    pub classifier: Option<f64>,
}

/// Why a checkpoint could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("the checkpoint is not a diffuse-dse safetensors file: {0}")]
    Format(String),
    #[error("the checkpoint was made for a different space (width {found}, expected {expected})")]
    Width { found: String, expected: String },
}

/// A conditional generative model of designs given QoR, with a QoR predictor.
pub trait InverseModel: Send {
    /// Train on `data`. `warm` starts from the current weights, with `Some(new_share)`, the
    /// share of `data`'s results that are new since the last fit (see [`warm_steps`]); `None`
    /// trains from scratch. Stops early, keeping what it has, when `cancel` is set.
    fn fit(
        &mut self,
        data: &TrainSet,
        warm: Option<f64>,
        seed: u64,
        cancel: &AtomicBool,
    ) -> FitLoss;

    /// Whether the model has been fitted (or loaded).
    fn is_fitted(&self) -> bool;

    /// One guided sample per condition (`n × M_MAX`, q scale); returns `n × D_MAX` vectors
    /// in `[-1.05, 1.05]`.
    fn sample(&self, conditions: &[f32], seed: u64) -> Vec<f32>;

    /// Each member's predicted QoR (q scale) for each row of `x` (`n × D_MAX`):
    /// `[member][row][objective]`.
    fn predict(&self, x: &[f32]) -> Vec<Vec<Vec<f64>>>;

    /// The predicted probability that each row is feasible; `None` before the classifier has
    /// seen both labels.
    fn p_feasible(&self, x: &[f32]) -> Option<Vec<f64>>;

    /// The weights and `meta`, as the bytes of a safetensors file.
    fn save(&self, meta: HashMap<String, String>) -> Vec<u8>;

    /// Restore weights saved by [`InverseModel::save`]; returns the stored `meta`.
    fn load(&mut self, bytes: &[u8]) -> Result<HashMap<String, String>, ModelError>;
}

/// The dfdx model (CPU, f32).
pub struct DfdxModel {
    settings: Settings,
    d: usize,
    m: usize,
    dev: Cpu,
    denoiser: Option<Denoiser<f32, Cpu>>,
    regressor: Option<Ensemble<M_MAX, f32, Cpu>>,
    /// The predictor's standardization, recomputed at every fit.
    y_mean: [f32; M_MAX],
    y_std: [f32; M_MAX],
    classifier: Option<Ensemble<1, f32, Cpu>>,
    alpha_bar: Vec<f32>,
}

impl DfdxModel {
    /// An unfitted model for designs of encoded width `d` with `m` objectives (both within
    /// the networks' maxima: the config check guarantees it).
    pub fn new(settings: Settings, d: usize, m: usize) -> Self {
        assert!(
            d <= D_MAX && m <= M_MAX && m > 0,
            "width {d}×{m} exceeds the networks"
        );
        Self {
            settings,
            d,
            m,
            dev: Cpu::default(),
            denoiser: None,
            regressor: None,
            y_mean: [0.0; M_MAX],
            y_std: [1.0; M_MAX],
            classifier: None,
            alpha_bar: alpha_bar(),
        }
    }

    /// `∇_x log p(c | x)` for each row, with the predictor (and the classifier once fitted).
    fn guide_gradient(&self, x0: &[f32], c: &[f32]) -> Option<Vec<f32>> {
        let reg = self.regressor.as_ref()?;
        let n = x0.len() / D_MAX;
        let x: Rows<D_MAX> = self.dev.tensor_from_vec(x0.to_vec(), (n, Const));
        let shape = (n, Const::<M_MAX>);
        let mean = self.dev.tensor(self.y_mean).broadcast_like(&shape);
        let std = self.dev.tensor(self.y_std).broadcast_like(&shape);
        let obj_mask: Vec<f32> = (0..M_MAX)
            .map(|j| f32::from(u8::from(j < self.m)))
            .collect();
        let obj_mask = self
            .dev
            .tensor_from_vec(obj_mask, (Const::<M_MAX>,))
            .broadcast_like(&shape);
        let target: Rows<M_MAX> = self.dev.tensor_from_vec(c.to_vec(), shape);
        let sigma = self.settings.guide_sigma as f32;
        let pred = reg.forward(x.leaky_trace()).mean::<_, Axis<0>>() * std + mean;
        let hinge = ((pred - target).relu() * obj_mask)
            .square()
            .sum::<Rank0, _>()
            * (-1.0 / (2.0 * sigma * sigma));
        let grads = match &self.classifier {
            Some(cls) => {
                let logits = cls.forward(x.leaky_trace());
                (hinge + log_mean_sigmoid(logits).sum::<Rank0, _>()).backward()
            }
            None => hinge.backward(),
        };
        Some(grads.get(&x).as_vec())
    }

    /// [`InverseModel::sample`] with the rows split into `chunks` parts, each denoised on its
    /// own thread with single-threaded kernels. Rows never interact while sampling, and a
    /// row's arithmetic is the same in any part, so the samples do not depend on `chunks`.
    fn sample_in_chunks(&self, conditions: &[f32], seed: u64, chunks: usize) -> Vec<f32> {
        let n = conditions.len() / M_MAX;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut x = vec![0f32; n * D_MAX];
        for r in 0..n {
            for j in 0..self.d {
                x[r * D_MAX + j] = StandardNormal.sample(&mut rng);
            }
        }
        let rows = n.div_ceil(chunks.max(1)).max(1);
        std::thread::scope(|scope| {
            let workers: Vec<_> = x
                .chunks_mut(rows * D_MAX)
                .zip(conditions.chunks(rows * M_MAX))
                .map(|(x, c)| scope.spawn(move || on_one_thread(|| self.denoise(x, c))))
                .collect();
            for w in workers {
                w.join().expect("a sampling thread does not panic");
            }
        });
        x
    }

    /// Run the DDIM steps on rows `x` (noise on entry, samples on return) under their
    /// `conditions`.
    fn denoise(&self, x: &mut [f32], conditions: &[f32]) {
        let net = self.denoiser.as_ref().expect("sample after fit");
        let s = &self.settings;
        let n = conditions.len() / M_MAX;
        // Both halves of each pass: conditioned rows, then the same rows unconditioned. Their
        // condition embedding is the same at every step, and each step's time embedding the
        // same in every row: both are computed once, outside the steps.
        let cond = self
            .dev
            .tensor_from_vec(conditions.repeat(2), (2 * n, Const));
        let keep: Vec<f32> = (0..2 * n).map(|r| f32::from(u8::from(r < n))).collect();
        let keep = self.dev.tensor_from_vec(keep, (2 * n,));
        let cemb = net.condition_embedding(cond, &keep);
        let times = ddim_times(s.ddim_steps);
        let mut sin = vec![0f32; times.len() * TIME_DIM];
        for (k, &t) in times.iter().enumerate() {
            time_embedding(
                t as f32 / STEPS as f32,
                &mut sin[k * TIME_DIM..(k + 1) * TIME_DIM],
            );
        }
        let temb = net
            .time_embedding(self.dev.tensor_from_vec(sin, (times.len(), Const)))
            .as_vec();
        let (w, scale) = (s.cfg_weight as f32, s.guide_scale as f32);
        for (k, &t) in times.iter().enumerate() {
            let temb_k = temb[k * HIDDEN..(k + 1) * HIDDEN].repeat(2 * n);
            let temb_k = self.dev.tensor_from_vec(temb_k, (2 * n, Const));
            let both = self.dev.tensor_from_vec(x.repeat(2), (2 * n, Const));
            let out = net.forward_embedded(both, temb_k, cemb.clone()).as_vec();
            let (ec, eu) = out.split_at(n * D_MAX);
            let mut eps: Vec<f32> = eu.iter().zip(ec).map(|(u, c)| u + w * (c - u)).collect();
            let a = self.alpha_bar[t];
            let (sa, sn) = (a.sqrt(), (1.0 - a).sqrt());
            let x0_of = |x: &[f32], eps: &[f32]| -> Vec<f32> {
                x.iter()
                    .zip(eps)
                    .map(|(x, e)| ((x - sn * e) / sa).clamp(-1.05, 1.05))
                    .collect()
            };
            if scale > 0.0 {
                let x0 = x0_of(x, &eps);
                if let Some(g) = self.guide_gradient(&x0, conditions) {
                    for (e, g) in eps.iter_mut().zip(g) {
                        *e -= scale * sn * g / sa;
                    }
                }
            }
            let mut x0 = x0_of(x, &eps);
            for r in 0..n {
                x0[r * D_MAX + self.d..(r + 1) * D_MAX].fill(0.0);
            }
            match times.get(k + 1) {
                None => x.copy_from_slice(&x0),
                Some(&prev) => {
                    let ap = self.alpha_bar[prev];
                    for (xi, x0i) in x.iter_mut().zip(&x0) {
                        let e = (*xi - sa * x0i) / sn;
                        *xi = ap.sqrt() * x0i + (1.0 - ap).sqrt() * e;
                    }
                }
            }
        }
    }
}

/// Run `f` inside a one-thread rayon pool, so dfdx's matrix products (gemm, which splits a
/// product over `rayon::current_num_threads()`) run inline on that thread. Sampling keeps
/// every core busy with its own rows; a second level of threads would only add hand-offs.
fn on_one_thread<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("a one-thread pool starts")
        .install(f)
}

/// `log((1/E) Σ_e σ(g_e))` per row, summed over rows' single output: the log of the members'
/// mean probability, as `logsumexp_e(log σ(g_e)) − ln E`, with `log σ(g) = −softplus(−g)`.
fn log_mean_sigmoid<T: Tape<f32, Cpu> + Merge<T>>(
    logits: MemberRows<1, T>,
) -> Tensor<(usize, Const<1>), f32, Cpu, T> {
    // softplus(−g) = ln(1 + e^{−g}), with g clamped so e^{−g} stays finite.
    let log_sig = ((logits.clamp(-30.0, 30.0).negate().exp() + 1.0).ln()).negate();
    log_sig.logsumexp::<_, Axis<0>>() - (MEMBERS as f32).ln()
}

/// The learning rate at `step` of `steps`: `lr0` over the first half, then linear to 10 %.
fn lr_at(step: usize, steps: usize, lr0: f64) -> f64 {
    let frac = step as f64 / steps.max(1) as f64;
    if frac < 0.5 {
        lr0
    } else {
        lr0 * (1.0 - 1.8 * (frac - 0.5))
    }
}

/// Row counts of one bootstrap resample per member, as weights `counts/n`: `MEMBERS × n`.
fn bootstrap(weights: &[f64], rng: &mut ChaCha8Rng) -> Vec<f32> {
    let n = weights.len();
    let pick = WeightedIndex::new(weights).expect("row weights are positive");
    let mut counts = vec![0f32; MEMBERS * n];
    for e in 0..MEMBERS {
        for _ in 0..n {
            counts[e * n + pick.sample(rng)] += 1.0 / n as f32;
        }
    }
    counts
}

/// Steps of a warm fit: the cold count scaled by the share of results that are new since the
/// last fit, and at least `floor`: `min(cold, max(floor, ⌈cold·new_share⌉))`. Early refits,
/// where each batch is a large part of the data, fine-tune longer; late ones, where a batch
/// adds a few percent, cost `floor` steps.
pub fn warm_steps(floor: usize, cold: usize, new_share: f64) -> usize {
    let scaled = (cold as f64 * new_share.clamp(0.0, 1.0)).ceil() as usize;
    floor.max(scaled).min(cold)
}

/// Train the denoiser for `steps` Adam steps (PORTING §2.6); returns the last loss.
fn train_denoiser(
    net: &mut Denoiser<f32, Cpu>,
    data: &TrainSet,
    settings: &Settings,
    steps: usize,
    alpha_bar: &[f32],
    rng: &mut ChaCha8Rng,
    cancel: &AtomicBool,
) -> f64 {
    let dev = Cpu::default();
    let b = settings.batch_rows;
    let mut grads = net.alloc_grads();
    let mut opt = Adam::new(
        &*net,
        AdamConfig {
            lr: settings.lr,
            betas: [0.9, 0.999],
            eps: 1e-8,
            weight_decay: None,
        },
    );
    let pick = WeightedIndex::new(&data.weights).expect("row weights are positive");
    let mask_row: Vec<f32> = (0..D_MAX)
        .map(|j| f32::from(u8::from(j < data.d)))
        .collect();
    let mask = dev.tensor_from_vec(mask_row.repeat(b), (b, Const::<D_MAX>));
    let scale = 1.0 / (b * data.d) as f32;
    let mut last = f64::NAN;
    for step in 0..steps {
        if cancel.load(Ordering::Relaxed) {
            break;
        }
        opt.cfg.lr = lr_at(step, steps, settings.lr);
        let mut xt = vec![0f32; b * D_MAX];
        let mut eps = vec![0f32; b * D_MAX];
        let mut time = vec![0f32; b * TIME_DIM];
        let mut cond = vec![0f32; b * M_MAX];
        let mut keep = vec![0f32; b];
        for r in 0..b {
            let i = pick.sample(rng);
            let t = rng.random_range(0..STEPS);
            let (sa, sn) = (alpha_bar[t].sqrt(), (1.0 - alpha_bar[t]).sqrt());
            for j in 0..data.d {
                let e: f32 = StandardNormal.sample(rng);
                eps[r * D_MAX + j] = e;
                xt[r * D_MAX + j] = sa * data.x[i * D_MAX + j] + sn * e;
            }
            time_embedding(
                t as f32 / STEPS as f32,
                &mut time[r * TIME_DIM..(r + 1) * TIME_DIM],
            );
            cond[r * M_MAX..(r + 1) * M_MAX].copy_from_slice(&data.c[i * M_MAX..(i + 1) * M_MAX]);
            keep[r] = f32::from(u8::from(rng.random::<f64>() > settings.cond_dropout));
        }
        let inputs = DenoiserInputs {
            time: dev.tensor_from_vec(time, (b, Const)),
            cond: dev.tensor_from_vec(cond, (b, Const)),
            keep: dev.tensor_from_vec(keep, (b,)),
        };
        let x: Rows<D_MAX> = dev.tensor_from_vec(xt, (b, Const));
        let target: Rows<D_MAX> = dev.tensor_from_vec(eps, (b, Const));
        let out = net.forward(x.traced(grads), &inputs);
        let loss = ((out - target) * mask.clone()).square().sum::<Rank0, _>() * scale;
        last = f64::from(loss.array());
        grads = loss.backward();
        opt.update(net, &grads)
            .expect("every denoiser tensor gets a gradient");
        net.zero_grads(&mut grads);
    }
    last
}

/// Train an ensemble full-batch with AdamW on bootstrap weights (PORTING §2.7). `loss` maps the
/// members' outputs to a per-member, per-row loss `(MEMBERS, n)`.
fn train_ensemble<const O: usize>(
    net: &mut Ensemble<O, f32, Cpu>,
    x: &[f32],
    counts: &[f32],
    settings: &Settings,
    steps: usize,
    cancel: &AtomicBool,
    loss: impl Fn(
        MemberRows<O, OwnedTape<f32, Cpu>>,
    ) -> Tensor<(Const<MEMBERS>, usize), f32, Cpu, OwnedTape<f32, Cpu>>,
) -> f64 {
    let dev = Cpu::default();
    let n = x.len() / D_MAX;
    let x: Rows<D_MAX> = dev.tensor_from_vec(x.to_vec(), (n, Const));
    let counts = dev.tensor_from_vec(counts.to_vec(), (Const::<MEMBERS>, n));
    let mut grads = net.alloc_grads();
    let mut opt = Adam::new(
        &*net,
        AdamConfig {
            lr: settings.predictor_lr,
            betas: [0.9, 0.999],
            eps: 1e-8,
            weight_decay: Some(WeightDecay::Decoupled(settings.weight_decay)),
        },
    );
    let mut last = f64::NAN;
    for _ in 0..steps {
        if cancel.load(Ordering::Relaxed) {
            break;
        }
        let out = net.forward(x.clone().traced(grads));
        let l = (loss(out) * counts.clone()).sum::<Rank0, _>();
        last = f64::from(l.array());
        grads = l.backward();
        opt.update(net, &grads)
            .expect("every ensemble tensor gets a gradient");
        net.zero_grads(&mut grads);
    }
    last
}

impl InverseModel for DfdxModel {
    fn fit(
        &mut self,
        data: &TrainSet,
        warm: Option<f64>,
        seed: u64,
        cancel: &AtomicBool,
    ) -> FitLoss {
        assert!(data.rows() > 0, "a fit needs rows");
        let s = &self.settings;
        let warm = warm.filter(|_| self.denoiser.is_some() && self.regressor.is_some());
        let (steps, psteps) = match warm {
            Some(new_share) => (
                warm_steps(s.warm_steps, s.train_steps, new_share),
                warm_steps(s.predictor_warm_steps, s.predictor_steps, new_share),
            ),
            None => (s.train_steps, s.predictor_steps),
        };
        let warm = warm.is_some();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let dev_seed: u64 = rng.random();
        let dev = Cpu::seed_from_u64(dev_seed);
        let mut denoiser = match (&self.denoiser, warm) {
            (Some(d), true) => d.clone(),
            _ => Denoiser::build(&dev),
        };
        let mut regressor = match (&self.regressor, warm) {
            (Some(r), true) => r.clone(),
            _ => Ensemble::build(&dev),
        };
        let mut classifier = match (&self.classifier, warm) {
            (Some(c), true) => c.clone(),
            _ => Ensemble::build(&dev),
        };
        // Standardize the predictor's targets per objective (std ≥ 1e-6).
        let n = data.rows();
        let (mut y_mean, mut y_std) = ([0f32; M_MAX], [1f32; M_MAX]);
        for j in 0..self.m {
            let col: Vec<f64> = (0..n).map(|i| f64::from(data.c[i * M_MAX + j])).collect();
            let mu = col.iter().sum::<f64>() / n as f64;
            let var = col.iter().map(|v| (v - mu).powi(2)).sum::<f64>() / n as f64;
            y_mean[j] = mu as f32;
            y_std[j] = var.sqrt().max(1e-6) as f32;
        }
        let y: Vec<f32> = (0..n * M_MAX)
            .map(|k| {
                let j = k % M_MAX;
                if j < self.m {
                    (data.c[k] - y_mean[j]) / y_std[j]
                } else {
                    0.0
                }
            })
            .collect();
        let mut den_rng = ChaCha8Rng::seed_from_u64(rng.random());
        let reg_counts = bootstrap(&data.weights, &mut rng);
        let has_both = data.labels.contains(&0.0) && data.labels.contains(&1.0);
        let cls_counts = has_both.then(|| bootstrap(&vec![1.0; data.labels.len()], &mut rng));
        let m = self.m as f32;
        let alpha_bar = self.alpha_bar.clone();
        // The denoiser on this thread; the predictor and the classifier on another, in
        // parallel (each network trains on its own thread, with its own optimizer).
        let (denoiser_loss, (predictor_loss, classifier_loss)) = std::thread::scope(|scope| {
            let other = scope.spawn(|| {
                let dev = Cpu::default();
                let yt: Rows<M_MAX> = dev.tensor_from_vec(y, (n, Const));
                let obj_mask: Vec<f32> = (0..M_MAX)
                    .map(|j| f32::from(u8::from(j < self.m)))
                    .collect();
                let obj_mask = dev.tensor_from_vec(obj_mask, (Const::<M_MAX>,));
                let shape = (Const::<MEMBERS>, n, Const::<M_MAX>);
                let p = train_ensemble(
                    &mut regressor,
                    &data.x,
                    &reg_counts,
                    s,
                    psteps,
                    cancel,
                    |out| {
                        ((out - yt.clone().broadcast_like(&shape))
                            * obj_mask.clone().broadcast_like(&shape))
                        .square()
                        .sum::<_, Axis<2>>()
                            / m
                    },
                );
                let c = cls_counts.as_ref().map(|counts| {
                    let nl = data.labels.len();
                    let labels: Tensor<(usize, Const<1>), f32, Cpu> =
                        dev.tensor_from_vec(data.labels.clone(), (nl, Const));
                    let shape = (Const::<MEMBERS>, nl, Const::<1>);
                    train_ensemble(
                        &mut classifier,
                        &data.labelled_x,
                        counts,
                        s,
                        psteps,
                        cancel,
                        |out| {
                            out.bce_with_logits(labels.clone().broadcast_like(&shape))
                                .sum::<_, Axis<2>>()
                        },
                    )
                });
                (p, c)
            });
            let d = train_denoiser(
                &mut denoiser,
                data,
                s,
                steps,
                &alpha_bar,
                &mut den_rng,
                cancel,
            );
            (
                d,
                other.join().expect("the ensemble trainer does not panic"),
            )
        });
        self.denoiser = Some(denoiser);
        self.regressor = Some(regressor);
        self.y_mean = y_mean;
        self.y_std = y_std;
        if classifier_loss.is_some() {
            self.classifier = Some(classifier);
        }
        self.dev = dev;
        FitLoss {
            denoiser: denoiser_loss,
            predictor: predictor_loss,
            classifier: classifier_loss,
        }
    }

    fn is_fitted(&self) -> bool {
        self.denoiser.is_some() && self.regressor.is_some()
    }

    fn sample(&self, conditions: &[f32], seed: u64) -> Vec<f32> {
        let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
        self.sample_in_chunks(conditions, seed, cores)
    }

    fn predict(&self, x: &[f32]) -> Vec<Vec<Vec<f64>>> {
        let reg = self.regressor.as_ref().expect("predict after fit");
        let n = x.len() / D_MAX;
        let xt: Rows<D_MAX> = self.dev.tensor_from_vec(x.to_vec(), (n, Const));
        let out = reg.forward(xt).as_vec();
        (0..MEMBERS)
            .map(|e| {
                (0..n)
                    .map(|i| {
                        (0..self.m)
                            .map(|j| {
                                let v = out[(e * n + i) * M_MAX + j];
                                f64::from(v * self.y_std[j] + self.y_mean[j])
                            })
                            .collect()
                    })
                    .collect()
            })
            .collect()
    }

    fn p_feasible(&self, x: &[f32]) -> Option<Vec<f64>> {
        let cls = self.classifier.as_ref()?;
        let n = x.len() / D_MAX;
        let xt: Rows<D_MAX> = self.dev.tensor_from_vec(x.to_vec(), (n, Const));
        let p = cls.forward(xt).sigmoid().mean::<_, Axis<0>>().as_vec();
        Some(p.into_iter().map(f64::from).collect())
    }

    fn save(&self, mut meta: HashMap<String, String>) -> Vec<u8> {
        let mut w = Collect::default();
        if let Some(net) = &self.denoiser {
            walk(net, "denoiser.", &mut w);
        }
        if let Some(net) = &self.regressor {
            walk(net, "regressor.", &mut w);
        }
        if let Some(net) = &self.classifier {
            walk(net, "classifier.", &mut w);
        }
        meta.insert("format".into(), "diffuse-dse/diffuse-1".into());
        meta.insert("width".into(), format!("{}x{}", self.d, self.m));
        meta.insert(
            "y_mean".into(),
            serde_json::to_string(&self.y_mean).expect("floats"),
        );
        meta.insert(
            "y_std".into(),
            serde_json::to_string(&self.y_std).expect("floats"),
        );
        let views: Vec<(String, ::safetensors::tensor::TensorView<'_>)> = w
            .tensors
            .iter()
            .map(|(name, shape, bytes)| {
                let view = ::safetensors::tensor::TensorView::new(
                    ::safetensors::Dtype::F32,
                    shape.clone(),
                    bytes,
                )
                .expect("shape matches data");
                (name.clone(), view)
            })
            .collect();
        ::safetensors::tensor::serialize(views, &Some(meta)).expect("serializing to memory")
    }

    fn load(&mut self, bytes: &[u8]) -> Result<HashMap<String, String>, ModelError> {
        let bad = |e: &dyn std::fmt::Display| ModelError::Format(e.to_string());
        let (_, header) = ::safetensors::SafeTensors::read_metadata(bytes).map_err(|e| bad(&e))?;
        let meta = header.metadata().clone().unwrap_or_default();
        if meta.get("format").map(String::as_str) != Some("diffuse-dse/diffuse-1") {
            return Err(ModelError::Format("no diffuse-dse format tag".into()));
        }
        let expected = format!("{}x{}", self.d, self.m);
        if meta.get("width") != Some(&expected) {
            return Err(ModelError::Width {
                found: meta.get("width").cloned().unwrap_or_default(),
                expected,
            });
        }
        let floats = |k: &str| -> Result<[f32; M_MAX], ModelError> {
            serde_json::from_str(meta.get(k).map_or("", String::as_str)).map_err(|e| bad(&e))
        };
        let (y_mean, y_std) = (floats("y_mean")?, floats("y_std")?);
        let mut tensors = ::safetensors::SafeTensors::deserialize(bytes).map_err(|e| bad(&e))?;
        let has = |prefix: &str, t: &::safetensors::SafeTensors<'_>| {
            t.names().iter().any(|n| n.starts_with(prefix))
        };
        let mut denoiser = Denoiser::build(&self.dev);
        let mut regressor = Ensemble::build(&self.dev);
        let mut classifier = Ensemble::build(&self.dev);
        fill(&mut denoiser, "denoiser.", &mut tensors).map_err(ModelError::Format)?;
        fill(&mut regressor, "regressor.", &mut tensors).map_err(ModelError::Format)?;
        let with_classifier = has("classifier.", &tensors);
        if with_classifier {
            fill(&mut classifier, "classifier.", &mut tensors).map_err(ModelError::Format)?;
        }
        self.denoiser = Some(denoiser);
        self.regressor = Some(regressor);
        self.classifier = with_classifier.then_some(classifier);
        self.y_mean = y_mean;
        self.y_std = y_std;
        Ok(meta)
    }
}

/// Collects every tensor of a network as `(name, shape, little-endian f32 bytes)`.
#[derive(Default)]
struct Collect {
    tensors: Vec<(String, Vec<usize>, Vec<u8>)>,
}

impl TensorVisitor<f32, Cpu> for Collect {
    type Viewer = (ViewTensorRef, ViewTensorName);
    type Err = std::convert::Infallible;
    type E2 = f32;
    type D2 = Cpu;

    fn visit<S: Shape>(
        &mut self,
        _: dfdx::nn::TensorOptions<S, f32, Cpu>,
        (t, name): (&Tensor<S, f32, Cpu>, String),
    ) -> Result<Option<Tensor<S, f32, Cpu>>, Self::Err> {
        let bytes = t.as_vec().iter().flat_map(|v| v.to_le_bytes()).collect();
        self.tensors
            .push((name, t.shape().concrete().into_iter().collect(), bytes));
        Ok(None)
    }
}

fn walk<M: TensorCollection<f32, Cpu>>(net: &M, prefix: &str, w: &mut Collect) {
    let Ok(_) = M::iter_tensors(&mut RecursiveWalker {
        m: (net, prefix.to_string()),
        f: w,
    });
}

fn fill<M: TensorCollection<f32, Cpu>>(
    net: &mut M,
    prefix: &str,
    tensors: &mut ::safetensors::SafeTensors<'_>,
) -> Result<(), String> {
    M::iter_tensors(&mut RecursiveWalker {
        m: (net, prefix.to_string()),
        f: tensors,
    })
    .map(|_| ())
    .map_err(|e| format!("{prefix}: {e:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A toy inverse problem: x ∈ [-1,1]², one objective q = (x₀ + 1)/2.
    fn toy(n: usize) -> TrainSet {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut data = TrainSet {
            d: 2,
            m: 1,
            ..Default::default()
        };
        for i in 0..n {
            let (a, b): (f32, f32) = (rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0));
            let mut row = [0f32; D_MAX];
            row[0] = a;
            row[1] = b;
            data.x.extend(row);
            let mut c = [0f32; M_MAX];
            c[0] = (a + 1.0) / 2.0;
            data.c.extend(c);
            data.weights.push(1.0);
            data.labelled_x.extend(row);
            data.labels.push(f32::from(u8::from(i % 3 != 0 || a < 0.0)));
        }
        data
    }

    fn settings() -> Settings {
        Settings {
            train_steps: 300,
            predictor_steps: 100,
            ..Settings::default()
        }
    }

    #[test]
    fn samples_follow_their_condition_and_checkpoints_round_trip() {
        let data = toy(256);
        let mut model = DfdxModel::new(settings(), 2, 1);
        let loss = model.fit(&data, None, 7, &AtomicBool::new(false));
        assert!(loss.denoiser.is_finite() && loss.denoiser < 1.0, "{loss:?}");
        assert!(loss.classifier.is_some());
        let mut conds = vec![0f32; 64 * M_MAX];
        for r in 0..32 {
            conds[r * M_MAX] = 0.1; // x₀ ≈ −0.8
            conds[(32 + r) * M_MAX] = 0.9; // x₀ ≈ 0.8
        }
        let x = model.sample(&conds, 3);
        let mean = |rows: std::ops::Range<usize>| {
            rows.clone().map(|r| x[r * D_MAX]).sum::<f32>() / rows.len() as f32
        };
        let (low, high) = (mean(0..32), mean(32..64));
        assert!(low < -0.3 && high > 0.3, "low {low}, high {high}");
        assert!(x.iter().all(|v| v.abs() <= 1.05));
        assert!(
            x.chunks(D_MAX).all(|r| r[2..].iter().all(|&v| v == 0.0)),
            "padding stays 0"
        );
        // The same seed gives the same samples; a saved and loaded model gives them too.
        assert_eq!(model.sample(&conds, 3), x);
        let bytes = model.save(HashMap::from([("note".to_string(), "t".to_string())]));
        let mut back = DfdxModel::new(settings(), 2, 1);
        let meta = back.load(&bytes).expect("loads");
        assert_eq!(meta.get("note").map(String::as_str), Some("t"));
        assert_eq!(back.sample(&conds, 3), x);
        assert_eq!(
            back.predict(&data.x[..4 * D_MAX]),
            model.predict(&data.x[..4 * D_MAX])
        );
        assert_eq!(
            back.p_feasible(&data.x[..D_MAX]),
            model.p_feasible(&data.x[..D_MAX])
        );
        // Another space's width is refused.
        let mut other = DfdxModel::new(settings(), 3, 1);
        assert!(matches!(other.load(&bytes), Err(ModelError::Width { .. })));
        assert!(matches!(other.load(b"garbage"), Err(ModelError::Format(_))));
    }

    #[test]
    fn samples_do_not_depend_on_how_the_rows_are_split() {
        let data = toy(128);
        let mut model = DfdxModel::new(settings(), 2, 1);
        model.fit(&data, None, 5, &AtomicBool::new(false));
        let conds: Vec<f32> = (0..517 * M_MAX).map(|k| (k % 7) as f32 / 7.0).collect();
        let one = model.sample_in_chunks(&conds, 9, 1);
        assert_eq!(model.sample_in_chunks(&conds, 9, 2), one);
        assert_eq!(model.sample_in_chunks(&conds, 9, 5), one);
        // All rows in one pass on the shared pool, whose kernels split each product over
        // its threads, as sampling did before it split rows.
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let mut x = vec![0f32; 517 * D_MAX];
        for r in 0..517 {
            for j in 0..2 {
                x[r * D_MAX + j] = StandardNormal.sample(&mut rng);
            }
        }
        model.denoise(&mut x, &conds);
        assert_eq!(x, one);
    }

    #[test]
    fn a_warm_fit_scales_its_steps_by_the_new_share() {
        // 800 cold steps, floor 80: 8 new of 16 results → 400, of 200 → the floor.
        assert_eq!(warm_steps(80, 800, 8.0 / 16.0), 400);
        assert_eq!(warm_steps(80, 800, 8.0 / 24.0), 267);
        assert_eq!(warm_steps(80, 800, 8.0 / 200.0), 80);
        // Never more than a cold fit, whatever the share or the floor.
        assert_eq!(warm_steps(80, 800, 1.5), 800);
        assert_eq!(warm_steps(900, 800, 0.0), 800);
    }

    #[test]
    fn the_predictor_learns_the_objective() {
        let data = toy(200);
        let mut model = DfdxModel::new(settings(), 2, 1);
        model.fit(&data, None, 11, &AtomicBool::new(false));
        let pred = model.predict(&data.x);
        let mut err = 0.0;
        for i in 0..200 {
            let mean: f64 = pred.iter().map(|m| m[i][0]).sum::<f64>() / MEMBERS as f64;
            err += (mean - f64::from(data.c[i * M_MAX])).abs();
        }
        assert!(err / 200.0 < 0.05, "mean abs error {}", err / 200.0);
        // A warm fit starts from the weights it has and keeps them good.
        model.fit(&data, Some(0.1), 12, &AtomicBool::new(false));
        let again = model.predict(&data.x);
        assert!(again.iter().flatten().flatten().all(|v| v.is_finite()));
    }
}
