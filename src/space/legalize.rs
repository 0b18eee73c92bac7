//! Reject and replace: turn any vector the model emits into a legal design (PORTING §1.5).
//!
//! A pool of feasible designs is drawn once: up to 8 rounds of `pool_size` uniform draws,
//! each filtered by the constraints, stopping once at least `min(256, pool_size)` are feasible.
//! A decoded vector that meets every constraint is kept; one that breaks a constraint is
//! replaced wholesale by the pool design nearest in squared Euclidean distance, measured from
//! the raw vector (which may lie outside `[-1, 1]`) to the encoded pool, the first one on ties.
//! This repair copies every parameter of the pool design; it is not a minimal projection.

use rand::Rng;

use super::encoding::Encoder;
use super::{Design, Space};

/// A space's encoder with its feasible pool.
#[derive(Clone, Debug)]
pub struct Legalizer {
    pub encoder: Encoder,
    space: Space,
    pool: Vec<Design>,
    /// `pool[i]` encoded, row-major, `encoder.width()` columns.
    pool_x: Vec<f32>,
}

/// What [`Legalizer::legalize`] did to one vector.
#[derive(Clone, Debug, PartialEq)]
pub struct Legal {
    pub design: Design,
    /// The vector broke a constraint and a pool design replaced it.
    pub repaired: bool,
}

impl Legalizer {
    /// Draw the pool. `None` when no feasible design was found in `8·pool_size` draws.
    pub fn new(space: &Space, pool_size: usize, rng: &mut impl Rng) -> Option<Self> {
        let encoder = Encoder::new(space);
        let want = pool_size.min(256);
        let mut pool = Vec::new();
        for _ in 0..8 {
            pool.extend(
                (0..pool_size)
                    .map(|_| space.sample(rng))
                    .filter(|d| space.feasible(d)),
            );
            if pool.len() >= want {
                break;
            }
        }
        if pool.is_empty() {
            return None;
        }
        let pool_x = pool.iter().flat_map(|d| encoder.encode(d)).collect();
        Some(Self {
            encoder,
            space: space.clone(),
            pool,
            pool_x,
        })
    }

    /// The feasible designs of the pool (with repeats, as drawn).
    pub fn pool(&self) -> &[Design] {
        &self.pool
    }

    /// The pool design nearest to `x`.
    fn nearest(&self, x: &[f32]) -> &Design {
        let w = self.encoder.width();
        let mut best = (f32::INFINITY, 0);
        for (i, row) in self.pool_x.chunks_exact(w).enumerate() {
            let d: f32 = row.iter().zip(x).map(|(a, b)| (a - b) * (a - b)).sum();
            if d < best.0 {
                best = (d, i);
            }
        }
        &self.pool[best.1]
    }

    /// The legal design for a vector of the encoder's width.
    pub fn legalize(&self, x: &[f32]) -> Legal {
        let design = self.encoder.decode(x);
        if self.space.feasible(&design) {
            Legal {
                design,
                repaired: false,
            }
        } else {
            Legal {
                design: self.nearest(x).clone(),
                repaired: true,
            }
        }
    }

    /// The legal design for a design from elsewhere (another tool's proposal): kept when it
    /// meets the constraints, else replaced by the nearest pool design.
    /// The design is returned as given, not through the encoder, so a float keeps its exact value.
    pub fn repair(&self, design: &Design) -> Legal {
        if self.space.feasible(design) {
            Legal {
                design: design.clone(),
                repaired: false,
            }
        } else {
            Legal {
                design: self.nearest(&self.encoder.encode(design)).clone(),
                repaired: true,
            }
        }
    }
}
