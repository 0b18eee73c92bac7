//! The networks, in dfdx: the denoiser `ε_θ(x_t, t, c)` and the batched MLP ensembles of the
//! QoR predictor and the feasibility classifier (PORTING §2.5, §2.7).
//!
//! dfdx 0.13 fixes layer widths at compile time, so every network is built at the maximum
//! widths [`D_MAX`] (encoded parameters) and [`M_MAX`] (objectives). Smaller spaces are padded
//! with zeros and their losses masked to the real columns; a space wider than the maxima is
//! rejected by the config check ([`super::check_widths`]).

use dfdx::nn::modules::{LayerNorm1D, Linear};
use dfdx::nn::{Module, ModuleVisitor, TensorCollection, TensorOptions};
use dfdx::prelude::*;

/// The widest encoded design the networks take (a categorical counts one column per choice).
pub const D_MAX: usize = 48;
/// The most objectives the networks condition on and predict.
pub const M_MAX: usize = 4;
/// Width of the denoiser's hidden layers.
pub const HIDDEN: usize = 128;
/// Width of the sinusoidal time embedding.
pub const TIME_DIM: usize = 32;
/// Members of each ensemble.
pub const MEMBERS: usize = 5;
/// Width of the ensembles' hidden layers.
pub const PRED_HIDDEN: usize = 64;

/// A batch of rows of width `W`, on the CPU, with tape `T`.
pub type Rows<const W: usize, T = NoneTape> = Tensor<(usize, Const<W>), f32, Cpu, T>;

/// `silu(x) = x·σ(x)`; dfdx 0.13 has no SiLU layer.
pub fn silu<S: Shape, T: Tape<f32, Cpu> + Merge<T>>(
    x: Tensor<S, f32, Cpu, T>,
) -> Tensor<S, f32, Cpu, T> {
    let s = x.with_empty_tape().sigmoid();
    x * s
}

/// `Lin(H,H)(SiLU(Lin(IN,H)(v)))`: the time and condition embeddings.
#[derive(Clone, Debug)]
pub struct Embed<const IN: usize, E: Dtype, D: Storage<E>> {
    pub l1: Linear<IN, HIDDEN, E, D>,
    pub l2: Linear<HIDDEN, HIDDEN, E, D>,
}

/// `h + Lin(2H,H)(SiLU(Lin(H,2H)(LayerNorm(h))))`.
#[derive(Clone, Debug)]
pub struct Block<E: Dtype, D: Storage<E>> {
    pub norm: LayerNorm1D<HIDDEN, E, D>,
    pub up: Linear<HIDDEN, { 2 * HIDDEN }, E, D>,
    pub down: Linear<{ 2 * HIDDEN }, HIDDEN, E, D>,
}

/// `Lin(H,d)(SiLU(LayerNorm(h)))`, zero-initialized so a fresh net predicts ε = 0.
#[derive(Clone, Debug)]
pub struct Head<E: Dtype, D: Storage<E>> {
    pub norm: LayerNorm1D<HIDDEN, E, D>,
    pub out: Linear<HIDDEN, D_MAX, E, D>,
}

/// The condition embedding with its learned null vector (used when the condition is dropped,
/// for classifier-free guidance).
#[derive(Clone, Debug)]
pub struct Cond<E: Dtype, D: Storage<E>> {
    pub embed: Embed<M_MAX, E, D>,
    pub null: Tensor<Rank1<HIDDEN>, E, D>,
}

/// The residual-MLP denoiser:
/// `h = Lin(d,H)(x_t) + temb(t) + (keep ? cemb(c) : null)`, two [`Block`]s, then the [`Head`].
#[derive(Clone, Debug)]
pub struct Denoiser<E: Dtype, D: Storage<E>> {
    pub inp: Linear<D_MAX, HIDDEN, E, D>,
    pub time: Embed<TIME_DIM, E, D>,
    pub cond: Cond<E, D>,
    pub block0: Block<E, D>,
    pub block1: Block<E, D>,
    pub head: Head<E, D>,
}

/// `TensorCollection` for a struct whose fields are all modules: lets dfdx walk its tensors
/// (gradients, optimizers, initialization, checkpoints).
macro_rules! modules {
    ($ty:ident $(<$c:ident>)? { $($field:ident),+ }) => {
        impl$(<const $c: usize>)? TensorCollection<f32, Cpu> for $ty<$($c,)? f32, Cpu> {
            type To<E2: Dtype, D2: Device<E2>> = $ty<$($c,)? E2, D2>;
            fn iter_tensors<V: ModuleVisitor<Self, f32, Cpu>>(
                visitor: &mut V,
            ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
                visitor.visit_fields(
                    ($(Self::module(stringify!($field), |s| &s.$field, |s| &mut s.$field),)+),
                    |($($field,)+)| $ty { $($field),+ },
                )
            }
        }
    };
}

modules!(Embed<IN> { l1, l2 });
modules!(Block { norm, up, down });
modules!(Head { norm, out });
modules!(Denoiser {
    inp,
    time,
    cond,
    block0,
    block1,
    head
});

impl TensorCollection<f32, Cpu> for Cond<f32, Cpu> {
    type To<E2: Dtype, D2: Device<E2>> = Cond<E2, D2>;
    fn iter_tensors<V: ModuleVisitor<Self, f32, Cpu>>(
        visitor: &mut V,
    ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            (
                Self::module("embed", |s| &s.embed, |s| &mut s.embed),
                Self::tensor(
                    "null",
                    |s| &s.null,
                    |s| &mut s.null,
                    TensorOptions::reset_to_zeros(),
                ),
            ),
            |(embed, null)| Cond { embed, null },
        )
    }
}

impl<const IN: usize> Embed<IN, f32, Cpu> {
    fn forward<T: Tape<f32, Cpu> + Merge<T>>(&self, v: Rows<IN, T>) -> Rows<HIDDEN, T> {
        self.l2.forward(silu(self.l1.forward(v)))
    }
}

impl Block<f32, Cpu> {
    fn forward<T: Tape<f32, Cpu> + Merge<T>>(&self, h: Rows<HIDDEN, T>) -> Rows<HIDDEN, T> {
        let branch = self.down.forward(silu(
            self.up.forward(self.norm.forward(h.with_empty_tape())),
        ));
        h + branch
    }
}

/// The inputs of one denoiser pass besides `x_t`, built once per batch.
pub struct DenoiserInputs {
    /// `sin_emb(t)` for each row.
    pub time: Rows<TIME_DIM>,
    /// The condition of each row, zero-padded to `M_MAX`.
    pub cond: Rows<M_MAX>,
    /// 1 where the condition is kept, 0 where it is replaced by the null embedding.
    pub keep: Tensor<(usize,), f32, Cpu>,
}

impl Denoiser<f32, Cpu> {
    /// A fresh denoiser: Linear layers `U(±1/√fan_in)` from the device's generator, LayerNorm
    /// at γ = 1, β = 0, the null condition and the output layer at zero.
    pub fn build(dev: &Cpu) -> Self {
        let mut net = <Self as dfdx::nn::BuildModule<Cpu, f32>>::build(dev);
        net.head.out.weight.fill_with_zeros();
        net.head.out.bias.fill_with_zeros();
        net
    }

    /// `ε_θ(x_t, t, c, keep)` for a batch of rows.
    pub fn forward<T: Tape<f32, Cpu> + Merge<T> + Merge<NoneTape>>(
        &self,
        x: Rows<D_MAX, T>,
        inputs: &DenoiserInputs,
    ) -> Rows<D_MAX, T> {
        let temb = self.time_embedding(inputs.time.retaped::<T>());
        let cemb = self.condition_embedding(inputs.cond.retaped::<T>(), &inputs.keep);
        self.forward_embedded(x, temb, cemb)
    }

    /// `temb(t)`, from the rows' `sin_emb(t)`.
    pub fn time_embedding<T: Tape<f32, Cpu> + Merge<T>>(
        &self,
        time: Rows<TIME_DIM, T>,
    ) -> Rows<HIDDEN, T> {
        self.time.forward(time)
    }

    /// `keep ? cemb(c) : null` for each row.
    pub fn condition_embedding<T: Tape<f32, Cpu> + Merge<T> + Merge<NoneTape>>(
        &self,
        cond: Rows<M_MAX, T>,
        keep: &Tensor<(usize,), f32, Cpu>,
    ) -> Rows<HIDDEN, T> {
        let shape = (cond.shape().0, Const::<HIDDEN>);
        let cemb = self.cond.embed.forward(cond);
        let keep = keep.clone().broadcast_like(&shape);
        let drop = keep.clone().negate() + 1.0;
        cemb * keep + self.cond.null.retaped::<T>().broadcast_like(&shape) * drop
    }

    /// `ε_θ` from the embeddings: `h = Lin(d,H)(x_t) + temb + cemb`, the blocks, the head.
    /// Sampling computes the embeddings once (the condition is the same at every step, the
    /// time the same in every row) and calls this at each step.
    pub fn forward_embedded<T: Tape<f32, Cpu> + Merge<T>>(
        &self,
        x: Rows<D_MAX, T>,
        temb: Rows<HIDDEN, T>,
        cemb: Rows<HIDDEN, T>,
    ) -> Rows<D_MAX, T> {
        let h = self.inp.forward(x) + temb + cemb;
        let h = self.block1.forward(self.block0.forward(h));
        self.head.out.forward(silu(self.head.norm.forward(h)))
    }
}

/// `MEMBERS` independent MLPs `[D_MAX, 64, 64, O]` with SiLU between layers, evaluated as
/// batched matrix products (the reference's `BatchedMLP`). Weights and biases start at
/// `U(±1/√fan_in)`, drawn per member.
#[derive(Clone, Debug)]
pub struct Ensemble<const O: usize, E: Dtype, D: Storage<E>> {
    pub w1: Tensor<Rank3<MEMBERS, D_MAX, PRED_HIDDEN>, E, D>,
    pub b1: Tensor<Rank2<MEMBERS, PRED_HIDDEN>, E, D>,
    pub w2: Tensor<Rank3<MEMBERS, PRED_HIDDEN, PRED_HIDDEN>, E, D>,
    pub b2: Tensor<Rank2<MEMBERS, PRED_HIDDEN>, E, D>,
    pub w3: Tensor<Rank3<MEMBERS, PRED_HIDDEN, O>, E, D>,
    pub b3: Tensor<Rank2<MEMBERS, O>, E, D>,
}

/// `U(±1/√fan_in)` fills for the ensembles' tensors.
fn fan_in_uniform<S: Shape, const FAN_IN: usize>(
    t: &mut Tensor<S, f32, Cpu>,
) -> Result<(), CpuError> {
    let b = 1.0 / (FAN_IN as f32).sqrt();
    let u: Tensor<S, f32, Cpu> = t.device().sample_uniform_like(t.shape());
    *t = u * (2.0 * b) - b;
    Ok(())
}

impl<const O: usize> TensorCollection<f32, Cpu> for Ensemble<O, f32, Cpu> {
    type To<E2: Dtype, D2: Device<E2>> = Ensemble<O, E2, D2>;
    fn iter_tensors<V: ModuleVisitor<Self, f32, Cpu>>(
        visitor: &mut V,
    ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            (
                Self::tensor(
                    "w1",
                    |s| &s.w1,
                    |s| &mut s.w1,
                    TensorOptions::reset_with(fan_in_uniform::<_, D_MAX>),
                ),
                Self::tensor(
                    "b1",
                    |s| &s.b1,
                    |s| &mut s.b1,
                    TensorOptions::reset_with(fan_in_uniform::<_, D_MAX>),
                ),
                Self::tensor(
                    "w2",
                    |s| &s.w2,
                    |s| &mut s.w2,
                    TensorOptions::reset_with(fan_in_uniform::<_, PRED_HIDDEN>),
                ),
                Self::tensor(
                    "b2",
                    |s| &s.b2,
                    |s| &mut s.b2,
                    TensorOptions::reset_with(fan_in_uniform::<_, PRED_HIDDEN>),
                ),
                Self::tensor(
                    "w3",
                    |s| &s.w3,
                    |s| &mut s.w3,
                    TensorOptions::reset_with(fan_in_uniform::<_, PRED_HIDDEN>),
                ),
                Self::tensor(
                    "b3",
                    |s| &s.b3,
                    |s| &mut s.b3,
                    TensorOptions::reset_with(fan_in_uniform::<_, PRED_HIDDEN>),
                ),
            ),
            |(w1, b1, w2, b2, w3, b3)| Ensemble {
                w1,
                b1,
                w2,
                b2,
                w3,
                b3,
            },
        )
    }
}

/// Per-member outputs: `(member, row, output)`.
pub type MemberRows<const O: usize, T = NoneTape> =
    Tensor<(Const<MEMBERS>, usize, Const<O>), f32, Cpu, T>;

impl<const O: usize> Ensemble<O, f32, Cpu> {
    pub fn build(dev: &Cpu) -> Self {
        <Self as dfdx::nn::BuildModule<Cpu, f32>>::build(dev)
    }

    /// Every member's output for every row.
    pub fn forward<T: Tape<f32, Cpu> + Merge<T> + Merge<NoneTape>>(
        &self,
        x: Rows<D_MAX, T>,
    ) -> MemberRows<O, T> {
        let n = x.shape().0;
        let hidden = (Const::<MEMBERS>, n, Const::<PRED_HIDDEN>);
        let x = x.broadcast_like(&(Const::<MEMBERS>, n, Const::<D_MAX>));
        let h =
            silu(x.matmul(self.w1.retaped::<T>()) + self.b1.retaped::<T>().broadcast_like(&hidden));
        let h =
            silu(h.matmul(self.w2.retaped::<T>()) + self.b2.retaped::<T>().broadcast_like(&hidden));
        h.matmul(self.w3.retaped::<T>())
            + self
                .b3
                .retaped::<T>()
                .broadcast_like(&(Const::<MEMBERS>, n, Const::<O>))
    }
}
