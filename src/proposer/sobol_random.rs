//! The model-free proposer: a scrambled Sobol initial design, then uniform feasible designs.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::{Fit, History, Proposal, Proposals, Proposer};
use crate::space::sampling::{random_feasible, sobol_design};
use crate::space::{Design, Space};

/// Serves the first `initial` designs of a scrambled Sobol design over the space (those not
/// yet in the store), then uniform feasible draws. Its random state is derived from the seed
/// and the number of designs in the store, so a restarted daemon continues where it was.
///
/// It has no model, so a user target only tags proposals: each starved target gets one of the
/// batch's designs, in turn. DiffuSE conditions its samples on the target instead.
pub struct SobolRandom {
    space: Space,
    initial: usize,
    seed: u64,
    /// The Sobol design, computed once (it depends only on the space, the size and the seed).
    sobol: Option<Vec<Design>>,
}

impl SobolRandom {
    pub fn new(space: Space, initial: usize, seed: u64) -> Self {
        Self {
            space,
            initial,
            seed,
            sobol: None,
        }
    }
}

impl Proposer for SobolRandom {
    fn kind(&self) -> &'static str {
        "sobol-random"
    }

    fn fit(&mut self, _history: &History) -> Fit {
        Fit::default()
    }

    fn propose(&mut self, history: &History, n: usize) -> Proposals {
        let n = n.max(history.starved_targets.len());
        let (space, initial, seed) = (&self.space, self.initial, self.seed);
        let sobol = self
            .sobol
            .get_or_insert_with(|| sobol_design(space, initial, seed, &Default::default()));
        let mut proposals: Vec<Proposal> = sobol
            .iter()
            .filter(|d| !history.seen.contains(&d.hash()))
            .take(n)
            .map(|d| Proposal {
                design: d.clone(),
                origin: "sobol",
                target: None,
            })
            .collect();
        let mut exhausted = false;
        if proposals.len() < n {
            let mut seen = history.seen.clone();
            seen.extend(proposals.iter().map(|p| p.design.hash()));
            // A stream per store size: the same store gives the same draws.
            let stream = self.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ seen.len() as u64;
            let mut rng = ChaCha8Rng::seed_from_u64(stream);
            let want = n - proposals.len();
            let more = random_feasible(&self.space, want, &mut rng, &seen);
            exhausted = more.len() < want;
            proposals.extend(more.into_iter().map(|design| Proposal {
                design,
                origin: "random",
                target: None,
            }));
        }
        for (p, target) in proposals.iter_mut().rev().zip(&history.starved_targets) {
            p.target = Some(*target);
        }
        Proposals {
            proposals,
            exhausted,
        }
    }
}
