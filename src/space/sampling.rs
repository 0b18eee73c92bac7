//! Drawing designs: the scrambled Sobol initial design, uniform feasible draws, and, for
//! small spaces, exhaustive enumeration.
//!
//! Every function takes its seed or generator from the caller, and skips designs whose hash
//! is in `seen` (every design already in the store), so the same seed and the same store give
//! the same designs.

use std::collections::HashSet;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::{Design, DesignHash, Space};

/// Spaces with at most this many grid points (and no float) can be enumerated when random
/// draws stop finding new feasible designs.
pub const ENUMERATION_LIMIT: f64 = 2_000_000.0;

/// The first `n` feasible, unseen designs of an Owen-scrambled Sobol sequence (Burley 2020)
/// over the unit cube, one dimension per parameter, mapped by [`Space::at_unit`].
///
/// As in the reference (`sampler.py:320-351`), `2^m` points are drawn with
/// `m = ⌈log2(max(2, 8n))⌉`; infeasible and duplicate points are dropped and the first `n`
/// kept. A shortfall is filled with uniform feasible draws from a generator seeded by `seed`.
pub fn sobol_design(space: &Space, n: usize, seed: u64, seen: &HashSet<DesignHash>) -> Vec<Design> {
    let m = (8 * n).max(2).next_power_of_two();
    let scramble = (seed ^ (seed >> 32)) as u32;
    let mut taken: HashSet<DesignHash> = seen.clone();
    let mut out = Vec::with_capacity(n);
    let mut u = vec![0.0; space.params.len()];
    for i in 0..m as u32 {
        if out.len() == n {
            break;
        }
        for (d, x) in u.iter_mut().enumerate() {
            *x = f64::from(sobol_burley::sample(i, d as u32, scramble));
        }
        let design = space.at_unit(&u);
        if space.feasible(&design) && taken.insert(design.hash()) {
            out.push(design);
        }
    }
    if out.len() < n {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let more = random_feasible(space, n - out.len(), &mut rng, &taken);
        out.extend(more);
    }
    out
}

/// Up to `n` distinct feasible designs not in `seen`, drawn uniformly.
///
/// Random draws stop after `1000 + 200·n` tries. If the space is small enough to enumerate,
/// the shortfall is then filled from the enumerated feasible designs (in grid order, starting
/// at a random offset), so a nearly exhausted space still yields what it has left and the
/// call never loops. Fewer than `n` designs back means the space has no more.
pub fn random_feasible(
    space: &Space,
    n: usize,
    rng: &mut ChaCha8Rng,
    seen: &HashSet<DesignHash>,
) -> Vec<Design> {
    let mut taken: HashSet<DesignHash> = HashSet::new();
    let mut out = Vec::with_capacity(n);
    let tries = 1000 + 200 * n;
    for _ in 0..tries {
        if out.len() == n {
            return out;
        }
        let design = space.sample(rng);
        let hash = design.hash();
        if !seen.contains(&hash) && space.feasible(&design) && taken.insert(hash) {
            out.push(design);
        }
    }
    if space.is_discrete() && space.grid_size() <= ENUMERATION_LIMIT {
        let all = enumerate_feasible(space);
        if !all.is_empty() {
            let start = rand::Rng::random_range(rng, 0..all.len());
            for design in all[start..].iter().chain(&all[..start]) {
                if out.len() == n {
                    break;
                }
                let hash = design.hash();
                if !seen.contains(&hash) && taken.insert(hash) {
                    out.push(design.clone());
                }
            }
        }
    }
    out
}

/// Every feasible design of a discrete space, in grid order (the last parameter fastest).
pub fn enumerate_feasible(space: &Space) -> Vec<Design> {
    let sizes: Vec<usize> = space.params.iter().map(|p| p.choices.len()).collect();
    if sizes.contains(&0) {
        return Vec::new();
    }
    let mut idx = vec![0usize; sizes.len()];
    let mut out = Vec::new();
    loop {
        let design = Design(
            space
                .params
                .iter()
                .zip(&idx)
                .map(|(p, &i)| (p.name.clone(), p.choices[i].clone()))
                .collect(),
        );
        if space.feasible(&design) {
            out.push(design);
        }
        // Odometer increment, last digit fastest.
        let mut d = sizes.len();
        loop {
            if d == 0 {
                return out;
            }
            d -= 1;
            idx[d] += 1;
            if idx[d] < sizes[d] {
                break;
            }
            idx[d] = 0;
        }
    }
}
