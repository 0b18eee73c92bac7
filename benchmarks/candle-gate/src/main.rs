//! DiffuSE's denoiser, one training step (128 rows, Adam) and one sampling pass (1,024 rows:
//! 8 conditions × 64 samples × the conditioned and unconditioned halves of classifier-free
//! guidance), in dfdx 0.13 and in candle 0.9.
//!
//! dfdx runs the crate's own `Denoiser`. The candle network is the same architecture
//! (`h = Lin(x) + temb(t) + cemb(c)`, two residual blocks
//! `h + Lin(2H,H)(SiLU(Lin(H,2H)(LN h)))`, head `Lin(H,d)(SiLU(LN h))`). Its LayerNorm is
//! written from tensor ops for training, because candle-nn's fused `layer_norm` has no backward
//! pass (`apply_op3_no_bwd`: gradients would stop there); sampling needs no gradient through the
//! denoiser, so its pass uses the fused kernel.

use std::time::Instant;

use candle_core::{DType, Device, Module, Tensor};
use candle_nn::{AdamW, Init, Linear, Optimizer as _, ParamsAdamW, VarBuilder, VarMap, linear};
use dfdx::optim::{Adam, Optimizer as _};
use dfdx::prelude::*;
use diffuse_dse::diffuse::nets::{D_MAX, Denoiser, DenoiserInputs, HIDDEN, M_MAX, Rows, TIME_DIM};

/// Rows per training step (the default `batch_rows`).
const TRAIN_ROWS: usize = 128;
/// Rows per sampling pass.
const SAMPLE_ROWS: usize = 1024;

type CResult<T> = candle_core::Result<T>;

/// LayerNorm with γ and β; `fused` picks candle-nn's kernel (no backward pass).
struct Norm {
    gamma: Tensor,
    beta: Tensor,
}

impl Norm {
    fn new(vb: VarBuilder) -> CResult<Self> {
        Ok(Self {
            gamma: vb.get_with_hints(HIDDEN, "gamma", Init::Const(1.0))?,
            beta: vb.get_with_hints(HIDDEN, "beta", Init::Const(0.0))?,
        })
    }

    fn forward(&self, x: &Tensor, fused: bool) -> CResult<Tensor> {
        if fused {
            return candle_nn::ops::layer_norm(x, &self.gamma, &self.beta, 1e-5);
        }
        let centred = x.broadcast_sub(&x.mean_keepdim(1)?)?;
        let var = centred.sqr()?.mean_keepdim(1)?;
        centred
            .broadcast_div(&(var + 1e-5)?.sqrt()?)?
            .broadcast_mul(&self.gamma)?
            .broadcast_add(&self.beta)
    }
}

struct Embed {
    l1: Linear,
    l2: Linear,
}

impl Embed {
    fn new(vb: VarBuilder, input: usize) -> CResult<Self> {
        Ok(Self {
            l1: linear(input, HIDDEN, vb.pp("l1"))?,
            l2: linear(HIDDEN, HIDDEN, vb.pp("l2"))?,
        })
    }

    fn forward(&self, x: &Tensor) -> CResult<Tensor> {
        self.l2.forward(&self.l1.forward(x)?.silu()?)
    }
}

struct Block {
    norm: Norm,
    up: Linear,
    down: Linear,
}

impl Block {
    fn new(vb: VarBuilder) -> CResult<Self> {
        Ok(Self {
            norm: Norm::new(vb.pp("norm"))?,
            up: linear(HIDDEN, 2 * HIDDEN, vb.pp("up"))?,
            down: linear(2 * HIDDEN, HIDDEN, vb.pp("down"))?,
        })
    }

    fn forward(&self, h: &Tensor, fused: bool) -> CResult<Tensor> {
        let branch = self
            .down
            .forward(&self.up.forward(&self.norm.forward(h, fused)?)?.silu()?)?;
        h + branch
    }
}

struct CandleDenoiser {
    inp: Linear,
    time: Embed,
    cond: Embed,
    null: Tensor,
    block0: Block,
    block1: Block,
    head_norm: Norm,
    out: Linear,
}

impl CandleDenoiser {
    fn new(vb: VarBuilder) -> CResult<Self> {
        Ok(Self {
            inp: linear(D_MAX, HIDDEN, vb.pp("inp"))?,
            time: Embed::new(vb.pp("time"), TIME_DIM)?,
            cond: Embed::new(vb.pp("cond"), M_MAX)?,
            null: vb.get_with_hints(HIDDEN, "null", Init::Const(0.0))?,
            block0: Block::new(vb.pp("block0"))?,
            block1: Block::new(vb.pp("block1"))?,
            head_norm: Norm::new(vb.pp("head_norm"))?,
            out: linear(HIDDEN, D_MAX, vb.pp("out"))?,
        })
    }

    /// `keep` is `(rows, 1)`: 1 keeps the condition, 0 uses the null embedding.
    fn forward(
        &self,
        x: &Tensor,
        t: &Tensor,
        c: &Tensor,
        keep: &Tensor,
        fused: bool,
    ) -> CResult<Tensor> {
        let cemb = (self.cond.forward(c)?.broadcast_mul(keep)?
            + self.null.unsqueeze(0)?.broadcast_mul(&(1.0 - keep)?)?)?;
        let h = ((self.inp.forward(x)? + self.time.forward(t)?)? + cemb)?;
        let h = self
            .block1
            .forward(&self.block0.forward(&h, fused)?, fused)?;
        self.out
            .forward(&self.head_norm.forward(&h, fused)?.silu()?)
    }
}

/// Seconds per (training step, sampling pass) in candle.
fn candle(steps: usize) -> CResult<(f64, f64)> {
    let dev = Device::Cpu;
    let vars = VarMap::new();
    let net = CandleDenoiser::new(VarBuilder::from_varmap(&vars, DType::F32, &dev))?;
    let params = ParamsAdamW {
        lr: 2e-3,
        weight_decay: 0.0,
        ..Default::default()
    };
    let mut opt = AdamW::new(vars.all_vars(), params)?;
    let rows = |n: usize, w: usize| Tensor::randn(0f32, 1.0, (n, w), &dev);
    let start = Instant::now();
    for _ in 0..steps {
        let keep = Tensor::ones((TRAIN_ROWS, 1), DType::F32, &dev)?;
        let out = net.forward(
            &rows(TRAIN_ROWS, D_MAX)?,
            &rows(TRAIN_ROWS, TIME_DIM)?,
            &rows(TRAIN_ROWS, M_MAX)?,
            &keep,
            false,
        )?;
        let loss = (out - rows(TRAIN_ROWS, D_MAX)?)?.sqr()?.mean_all()?;
        opt.backward_step(&loss)?;
        loss.to_scalar::<f32>()?;
    }
    let train = start.elapsed().as_secs_f64() / steps as f64;
    let (x, t, c) = (
        rows(SAMPLE_ROWS, D_MAX)?,
        rows(SAMPLE_ROWS, TIME_DIM)?,
        rows(SAMPLE_ROWS, M_MAX)?,
    );
    let keep = Tensor::ones((SAMPLE_ROWS, 1), DType::F32, &dev)?;
    let start = Instant::now();
    for _ in 0..steps {
        net.forward(&x, &t, &c, &keep, true)?
            .sum_all()?
            .to_scalar::<f32>()?;
    }
    Ok((train, start.elapsed().as_secs_f64() / steps as f64))
}

/// Seconds per (training step, sampling pass) in dfdx, with the crate's own network.
fn dfdx(steps: usize) -> (f64, f64) {
    let dev = Cpu::default();
    let mut net = Denoiser::<f32, Cpu>::build(&dev);
    let mut grads = net.alloc_grads();
    let config = AdamConfig {
        lr: 2e-3,
        betas: [0.9, 0.999],
        eps: 1e-8,
        weight_decay: None,
    };
    let mut opt = Adam::new(&net, config);
    let inputs = |n: usize| DenoiserInputs {
        time: dev.sample_normal_like(&(n, Const)),
        cond: dev.sample_normal_like(&(n, Const)),
        keep: dev.ones_like(&(n,)),
    };
    let start = Instant::now();
    for _ in 0..steps {
        let x: Rows<D_MAX> = dev.sample_normal_like(&(TRAIN_ROWS, Const));
        let eps: Rows<D_MAX> = dev.sample_normal_like(&(TRAIN_ROWS, Const));
        let out = net.forward(x.traced(grads), &inputs(TRAIN_ROWS));
        let loss = (out - eps).square().mean::<Rank0, _>();
        loss.array();
        grads = loss.backward();
        opt.update(&mut net, &grads)
            .expect("every tensor gets a gradient");
        net.zero_grads(&mut grads);
    }
    let train = start.elapsed().as_secs_f64() / steps as f64;
    let x: Rows<D_MAX> = dev.sample_normal_like(&(SAMPLE_ROWS, Const));
    let sample_inputs = inputs(SAMPLE_ROWS);
    let start = Instant::now();
    for _ in 0..steps {
        net.forward(x.clone(), &sample_inputs)
            .sum::<Rank0, _>()
            .array();
    }
    (train, start.elapsed().as_secs_f64() / steps as f64)
}

fn main() {
    let steps = 200;
    println!(
        "DiffuSE denoiser: ms per training step ({TRAIN_ROWS} rows) and per sampling pass ({SAMPLE_ROWS} rows)"
    );
    println!("machine: {}", diffuse_dse::bench::machine());
    dfdx(10);
    candle(10).expect("candle runs");
    for round in 1..=3 {
        let (dt, ds) = dfdx(steps);
        let (ct, cs) = candle(steps).expect("candle runs");
        println!(
            "round {round}: train dfdx {:.2} ms, candle {:.2} ms ({:.2}x); sample dfdx {:.2} ms, candle {:.2} ms ({:.2}x)",
            dt * 1e3,
            ct * 1e3,
            ct / dt,
            ds * 1e3,
            cs * 1e3,
            cs / ds
        );
    }
}
