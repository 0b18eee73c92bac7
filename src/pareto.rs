//! Pareto dominance and exact hypervolume, everything in minimization form.
//!
//! A set of `n` points in `m` objectives is one flat, row-major slice of length `n·m`: point `i`
//! is `points[i*m..(i+1)*m]`. Callers negate maximized objectives first. The hypervolume of a set
//! `P` with respect to a reference point `r` is the Lebesgue measure
//! `HV(P; r) = λ(⋃_{p ∈ P} [p_1, r_1) × … × [p_m, r_m))`, and a point takes part only when it is
//! strictly inside the reference (`p_j < r_j` for every `j`); the others are ignored, as the
//! engine and the batch selection of the reference implementation drop them.
//!
//! | `m` | `nondominated` | `hypervolume` |
//! |---|---|---|
//! | 1 | `O(n log n)` | `O(n)` |
//! | 2 | sort + sweep, `O(n log n)` | sort + sweep, `O(n log n)` |
//! | 3 | sweep over a 2-D staircase (Kung, Luccio & Preparata 1975), `O(n log n)` | dimension sweep (Fonseca, Paquete & López-Ibáñez 2006; Beume et al. 2009), `O(n log n)` |
//! | ≥ 4 | sort + check against the front, `O(n·k)` for a front of `k` | slices along the last axis, each grown by one exclusive `(m−1)`-D contribution: `O(k²·m)` scans for a front of `k`, plus one small `(m−1)`-D hypervolume per point |
//!
//! Every dimension is exact. `m ≥ 5` recurses through the slicing method (While, Hingston,
//! Barone & Huband 2006), whose cost grows quickly with `m`: correct, but meant for fronts of a
//! few hundred points.
//!
//! Coordinates must not be NaN: nothing panics, but the answers are then unspecified. `-0.0` and
//! `0.0` are the same value. Every function panics when the slice lengths do not fit `m`.

use std::cmp::Ordering;
use std::collections::BTreeMap;

/// `a` dominates `b`: `a_j ≤ b_j` for every `j` and `a_j < b_j` for some `j`.
pub fn dominates(a: &[f64], b: &[f64]) -> bool {
    assert_eq!(a.len(), b.len(), "points of different dimensions");
    weakly_dominates(a, b) && a.iter().zip(b).any(|(x, y)| x < y)
}

/// Indices of the non-dominated points of `points` (`n × m`, row-major), in input order.
///
/// Of several equal points only the first is kept (moocore's `is_nondominated` with
/// `keep_weakly = False`), so the result is a set of distinct points: point `i` is kept when no
/// point dominates it and no earlier point equals it.
///
/// The points are sorted lexicographically (ties by index), so everything that dominates a point,
/// or equals it earlier, comes before it; a point is then kept when no kept point weakly
/// dominates it. For `m = 2` that check is one running minimum of `f2`, for `m = 3` a query on the
/// 2-D staircase of the kept points' `(f2, f3)` (Kung, Luccio & Preparata 1975), both
/// `O(n log n)`; for `m ≥ 4` (and 1) a scan of the kept front, `O(n·k)`.
pub fn nondominated(points: &[f64], m: usize) -> Vec<usize> {
    nondominated_rows(&rows(points, m))
}

/// The hypervolume `HV(P; r)` of `points` (`n × m`, row-major) over `reference` (length `m`),
/// exact for every `m` (see the module table for the algorithms). Points not strictly inside
/// the reference are ignored; an empty set has volume 0.
pub fn hypervolume(points: &[f64], m: usize, reference: &[f64]) -> f64 {
    hv(inside_rows(points, m, reference), reference)
}

/// The exclusive contribution of each point, as moocore's `hv_contributions` defines it:
/// `HVC_i = HV(F; r) − HV(F \ {p_i}; r)` over `F`, the points inside the reference that no
/// other point dominates. So a dominated point contributes 0 and does not count for the others
/// (it does not shrink the contribution of the point that dominates it), a point outside the
/// reference contributes 0, and each copy of a repeated point contributes 0 (the other copy
/// covers it). Checked against moocore's values in `tests/hypervolume.rs`.
///
/// Each contribution is the part of the box `[p_i, r)` that no other point covers: the volume
/// of the box shrunk to `p_i`'s neighbours minus the hypervolume of the few points inside it.
/// The cost is dominated by the `n` scans of the others, `O(n²·m)`: about 0.1–0.2 s for 3,000
/// mutually non-dominated points in 3-D, far less for the fronts of a few hundred it is used on.
pub fn contributions(points: &[f64], m: usize, reference: &[f64]) -> Vec<f64> {
    check_reference(m, reference);
    let rows = rows(points, m);
    let inside_ref: Vec<usize> = (0..rows.len())
        .filter(|&i| inside(rows[i], reference))
        .collect();
    let inner: Vec<usize> = inside_ref
        .iter()
        .copied()
        .filter(|&i| !inside_ref.iter().any(|&j| dominates(rows[j], rows[i])))
        .collect();
    let mut out = vec![0.0; rows.len()];
    for &i in &inner {
        let others = inner.iter().filter(|&&j| j != i).map(|&j| rows[j]);
        out[i] = exclusive(rows[i], others, reference);
    }
    out
}

/// The hypervolume improvement of adding `point` to `set` (`k × m`, row-major):
/// `HVI(y | P) = HV(P_in ∪ {y}; r) − HV(P_in; r)`, with `P_in` the points of `P` strictly inside
/// `r`. It is 0 when `y` is not strictly inside `r` or is weakly dominated by a point of `P_in`
/// (the reference's `hypervolume_improvement`, selection.py), and never negative.
///
/// It is computed as in [`contributions`], as the part of `[y, r)` that `P_in` leaves uncovered:
/// an `O(k·m)` scan plus a hypervolume of the few points near `y`.
pub fn hvi(point: &[f64], set: &[f64], m: usize, reference: &[f64]) -> f64 {
    assert_eq!(point.len(), m, "the point must have m = {m} coordinates");
    if !inside(point, reference) {
        return 0.0;
    }
    exclusive(point, inside_rows(set, m, reference).into_iter(), reference)
}

fn weakly_dominates(a: &[f64], b: &[f64]) -> bool {
    a.iter().zip(b).all(|(x, y)| x <= y)
}

fn inside(p: &[f64], reference: &[f64]) -> bool {
    p.iter().zip(reference).all(|(x, r)| x < r)
}

/// A total order on coordinates in which `-0.0 == 0.0` (adding `0.0` turns `-0.0` into `0.0`).
fn cmp(a: f64, b: f64) -> Ordering {
    (a + 0.0).total_cmp(&(b + 0.0))
}

fn by_last(a: &&[f64], b: &&[f64]) -> Ordering {
    cmp(a[a.len() - 1], b[b.len() - 1])
}

fn lexicographic(a: &[f64], b: &[f64]) -> Ordering {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| cmp(x, y))
        .find(|o| o.is_ne())
        .unwrap_or(Ordering::Equal)
}

fn rows(points: &[f64], m: usize) -> Vec<&[f64]> {
    assert!(
        m > 0 && points.len().is_multiple_of(m),
        "{} coordinates do not make rows of m = {m}",
        points.len()
    );
    points.chunks_exact(m).collect()
}

fn check_reference(m: usize, reference: &[f64]) {
    assert_eq!(
        reference.len(),
        m,
        "the reference must have m = {m} coordinates"
    );
}

fn inside_rows<'a>(points: &'a [f64], m: usize, reference: &[f64]) -> Vec<&'a [f64]> {
    check_reference(m, reference);
    let mut rows = rows(points, m);
    rows.retain(|p| inside(p, reference));
    rows
}

fn nondominated_rows(rows: &[&[f64]]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_unstable_by(|&i, &j| lexicographic(rows[i], rows[j]).then(i.cmp(&j)));
    let mut kept: Vec<usize> = match rows.first().map_or(0, |p| p.len()) {
        2 => {
            let mut lowest: Option<f64> = None;
            order
                .into_iter()
                .filter(|&i| {
                    let y = rows[i][1];
                    let keep = lowest.is_none_or(|low| y < low);
                    if keep {
                        lowest = Some(y);
                    }
                    keep
                })
                .collect()
        }
        3 => {
            // Only dominance is asked of the staircase here; the areas it returns are unused.
            let mut stairs = Staircase::new([f64::INFINITY; 2]);
            order
                .into_iter()
                .filter(|&i| stairs.insert(rows[i][1], rows[i][2]).is_some())
                .collect()
        }
        _ => {
            let mut front: Vec<usize> = Vec::new();
            for i in order {
                if !front.iter().any(|&k| weakly_dominates(rows[k], rows[i])) {
                    front.push(i);
                }
            }
            front
        }
    };
    kept.sort_unstable();
    kept
}

/// `HV(P; r)` of points all strictly inside `reference`.
fn hv(mut pts: Vec<&[f64]>, reference: &[f64]) -> f64 {
    let m = reference.len();
    if m == 1 {
        return pts.iter().map(|p| reference[0] - p[0]).fold(0.0, f64::max);
    }
    if m >= 4 {
        pts = nondominated_rows(&pts)
            .into_iter()
            .map(|i| pts[i])
            .collect();
    }
    pts.sort_unstable_by(by_last);
    match m {
        2 => {
            // Sweep up in `f2`: a point left of all before it adds `[p1, left) × [p2, r2)`.
            let (mut left, mut area) = (reference[0], 0.0);
            for p in pts {
                if p[0] < left {
                    area += (left - p[0]) * (reference[1] - p[1]);
                    left = p[0];
                }
            }
            area
        }
        3 => {
            // Sweep up in `f3`; the staircase holds the dominated area of the slice at `z`.
            let mut stairs = Staircase::new([reference[0], reference[1]]);
            let (mut area, mut volume) = (0.0, 0.0);
            for (i, p) in pts.iter().enumerate() {
                area += stairs.insert(p[0], p[1]).unwrap_or(0.0);
                let next = pts.get(i + 1).map_or(reference[2], |q| q[2]);
                volume += area * (next - p[2]);
            }
            volume
        }
        _ => {
            // Slices along the last axis: between the `i`-th and the next last coordinate the
            // section is the `(m−1)`-D hypervolume of the points below, grown by each point's
            // exclusive `(m−1)`-D contribution (While, Hingston, Barone & Huband 2006).
            let (low, last) = reference.split_at(m - 1);
            let mut below: Vec<&[f64]> = Vec::with_capacity(pts.len());
            let (mut section, mut volume) = (0.0, 0.0);
            for (i, p) in pts.iter().enumerate() {
                let q = &p[..m - 1];
                section += exclusive(q, below.iter().copied(), low);
                below.push(q);
                let next = pts.get(i + 1).map_or(last[0], |q| q[m - 1]);
                volume += section * (next - p[m - 1]);
            }
            volume
        }
    }
}

/// `HV(P ∪ {p}; r) − HV(P; r)` for `others` = `P`, all strictly inside `reference`: the part of
/// the box `[p, r)` that `P` leaves uncovered, never less than 0.
///
/// The box first shrinks to `[p, u)`: a point `q` that exceeds `p` in one coordinate `j` only
/// covers all of the box beyond `q_j`, so `u_j = min(r_j, q_j over such q)`, and a point that
/// exceeds `p` nowhere weakly dominates it (the answer is 0). Only points strictly inside `u`
/// cover anything else, and they cover `HV({max(q, p) : q < u}; u)`, so
/// `HVI = λ([p, u)) − HV({max(q, p) : q < u}; u)`. On a front the shrunken box holds a handful
/// of neighbours, so the cost is the `O(k·m)` scan of the `k` others.
fn exclusive<'a>(
    p: &[f64],
    others: impl Iterator<Item = &'a [f64]> + Clone,
    reference: &[f64],
) -> f64 {
    let mut upper = reference.to_vec();
    for q in others.clone() {
        let (mut worse, mut count) = (0, 0);
        for (j, (a, b)) in q.iter().zip(p).enumerate() {
            if a > b {
                (worse, count) = (j, count + 1);
            }
        }
        match count {
            0 => return 0.0,
            1 => upper[worse] = upper[worse].min(q[worse]),
            _ => {}
        }
    }
    let mut clipped = Vec::new();
    for q in others.filter(|q| inside(q, &upper)) {
        clipped.extend(q.iter().zip(p).map(|(a, b)| a.max(*b)));
    }
    let full: f64 = upper.iter().zip(p).map(|(u, a)| u - a).product();
    (full - hv(rows(&clipped, p.len()), &upper)).max(0.0)
}

/// A coordinate as an ordered map key (the order of [`cmp`]).
#[derive(Clone, Copy, Debug)]
struct Key(f64);

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for Key {}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Key {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp(self.0, other.0)
    }
}

/// The mutually non-dominated points `(x, y)` of a 2-D sweep, kept in a balanced tree by
/// ascending `x` (so descending `y`), with the area they dominate inside `corner`.
struct Staircase {
    steps: BTreeMap<Key, f64>,
    corner: [f64; 2],
}

impl Staircase {
    fn new(corner: [f64; 2]) -> Self {
        Self {
            steps: BTreeMap::new(),
            corner,
        }
    }

    /// Adds `(x, y)`: `None` (and no change) when a step weakly dominates it; otherwise it
    /// removes the steps it weakly dominates and returns the area it adds inside `corner`,
    /// `∫_x^{corner_x} max(0, h(t) − y) dt` with `h` the staircase's height before the insertion.
    /// `O((1 + removed) log n)`.
    fn insert(&mut self, x: f64, y: f64) -> Option<f64> {
        let key = Key(x);
        // The last step at or left of `x` is the lowest of them.
        if self
            .steps
            .range(..=key)
            .next_back()
            .is_some_and(|(_, &sy)| sy <= y)
        {
            return None;
        }
        let mut top = self
            .steps
            .range(..key)
            .next_back()
            .map_or(self.corner[1], |(_, &sy)| sy);
        let (mut left, mut gain) = (x, 0.0);
        loop {
            let next = self.steps.range(key..).next().map(|(&k, &sy)| (k, sy));
            let right = next.map_or(self.corner[0], |(k, _)| k.0);
            gain += (right - left) * (top - y);
            match next {
                Some((k, sy)) if sy >= y => {
                    self.steps.remove(&k);
                    (left, top) = (k.0, sy);
                }
                _ => break,
            }
        }
        self.steps.insert(key, y);
        Some(gain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// `n × m` random points: small integers (ties, duplicates, points on and past the
    /// reference 4) or uniform reals in `[0, 1)`.
    fn random_set(rng: &mut ChaCha8Rng, n: usize, m: usize, integers: bool) -> Vec<f64> {
        (0..n * m)
            .map(|_| {
                if integers {
                    rng.random_range(0..6) as f64
                } else {
                    rng.random::<f64>()
                }
            })
            .collect()
    }

    /// The cases of the property tests: `(points, m, reference)`, seeded.
    fn cases(m: usize, count: usize, max_n: usize) -> Vec<(Vec<f64>, Vec<f64>)> {
        let mut rng = ChaCha8Rng::seed_from_u64(m as u64);
        (0..count)
            .map(|k| {
                let integers = k % 2 == 0;
                let n = rng.random_range(0..=max_n);
                let reference = vec![if integers { 4.0 } else { 1.0 }; m];
                (random_set(&mut rng, n, m, integers), reference)
            })
            .collect()
    }

    /// The volume of the grid cells, on the coordinates of the points and the reference, whose
    /// lower corner some point strictly inside the reference weakly dominates.
    fn brute_force_hv(points: &[f64], m: usize, reference: &[f64]) -> f64 {
        let inside = inside_rows(points, m, reference);
        let axes: Vec<Vec<f64>> = (0..m)
            .map(|j| {
                let mut axis: Vec<f64> =
                    inside.iter().map(|p| p[j]).chain([reference[j]]).collect();
                axis.sort_by(f64::total_cmp);
                axis.dedup();
                axis
            })
            .collect();
        if axes.iter().any(|a| a.len() < 2) {
            return 0.0;
        }
        let (mut cell, mut total) = (vec![0; m], 0.0);
        loop {
            let lower: Vec<f64> = (0..m).map(|j| axes[j][cell[j]]).collect();
            if inside.iter().any(|p| weakly_dominates(p, &lower)) {
                total += (0..m)
                    .map(|j| axes[j][cell[j] + 1] - axes[j][cell[j]])
                    .product::<f64>();
            }
            let Some(j) = (0..m).find(|&j| cell[j] + 2 < axes[j].len()) else {
                return total;
            };
            cell[j] += 1;
            cell[..j].iter_mut().for_each(|c| *c = 0);
        }
    }

    fn without(points: &[f64], m: usize, i: usize) -> Vec<f64> {
        [&points[..i * m], &points[(i + 1) * m..]].concat()
    }

    fn assert_close(got: f64, want: f64, what: &str) {
        assert!(
            (got - want).abs() <= 1e-9 * want.abs().max(1.0),
            "{what}: got {got}, want {want}"
        );
    }

    #[test]
    fn dominance_is_strict_somewhere() {
        assert!(dominates(&[1.0, 2.0], &[1.0, 3.0]));
        assert!(!dominates(&[1.0, 2.0], &[1.0, 2.0]));
        assert!(!dominates(&[1.0, 3.0], &[2.0, 2.0]));
        assert!(dominates(&[-0.0, 0.0], &[0.0, 1.0]));
    }

    #[test]
    fn nondominated_keeps_the_first_copy_in_input_order() {
        let points = [
            3.0, 1.0, 1.0, 3.0, 2.0, 2.0, 1.0, 3.0, 2.0, 3.0, 3.0, 1.0, 0.5, 4.0,
        ];
        assert_eq!(nondominated(&points, 2), vec![0, 1, 2, 6]);
        let points3 = [
            1.0, 1.0, 1.0, 0.0, 2.0, 2.0, 1.0, 1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 0.0, 2.0,
        ];
        assert_eq!(nondominated(&points3, 3), vec![0, 1, 4]);
        assert_eq!(nondominated(&[2.0, 1.0, 1.0, 3.0], 1), vec![1]);
        assert_eq!(nondominated(&[], 3), Vec::<usize>::new());
        assert_eq!(nondominated(&[0.0, 1.0, 5.0, -0.0, 1.0, 5.0], 3), vec![0]);
    }

    #[test]
    fn nondominated_matches_the_quadratic_filter() {
        for m in 1..=5 {
            for (points, _) in cases(m, 300, 40) {
                let rows: Vec<&[f64]> = points.chunks_exact(m).collect();
                let want: Vec<usize> = (0..rows.len())
                    .filter(|&i| {
                        (0..rows.len())
                            .all(|j| !(dominates(rows[j], rows[i]) || j < i && rows[j] == rows[i]))
                    })
                    .collect();
                assert_eq!(nondominated(&points, m), want, "m = {m}, points {points:?}");
            }
        }
    }

    #[test]
    fn hypervolume_by_hand() {
        assert_eq!(hypervolume(&[3.0, 1.0, 2.0, 6.0], 1, &[5.0]), 4.0);
        assert_eq!(
            hypervolume(&[1.0, 3.0, 2.0, 2.0, 3.0, 1.0], 2, &[4.0, 4.0]),
            6.0
        );
        // Three boxes of 6, pairwise overlaps of 2, a common cube of 1: 18 − 6 + 1.
        let three = [1.0, 2.0, 3.0, 2.0, 3.0, 1.0, 3.0, 1.0, 2.0];
        assert_eq!(hypervolume(&three, 3, &[4.0; 3]), 13.0);
        // Boxes of 8 and 2 that share the unit cube [1, 2)^4.
        let four = [0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.0];
        assert_eq!(hypervolume(&four, 4, &[2.0; 4]), 9.0);
        // On or past the reference: ignored.
        assert_eq!(hypervolume(&[1.0, 4.0, 5.0, 0.0], 2, &[4.0, 4.0]), 0.0);
        assert_eq!(hypervolume(&[], 3, &[1.0; 3]), 0.0);
        let five = [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0];
        assert_eq!(hypervolume(&five, 5, &[2.0; 5]), 17.0);
    }

    #[test]
    fn hypervolume_matches_the_grid_count() {
        for (m, max_n) in [(2, 12), (3, 10), (4, 8), (5, 5)] {
            for (points, reference) in cases(m, 300, max_n) {
                let want = brute_force_hv(&points, m, &reference);
                assert_close(
                    hypervolume(&points, m, &reference),
                    want,
                    &format!("m = {m}, {points:?}"),
                );
            }
        }
    }

    /// The points no other point dominates (copies kept), as `contributions` sees them.
    fn undominated(points: &[f64], m: usize) -> Vec<f64> {
        let rows: Vec<&[f64]> = points.chunks(m).collect();
        rows.iter()
            .filter(|p| !rows.iter().any(|q| dominates(q, p)))
            .flat_map(|p| p.iter().copied())
            .collect()
    }

    #[test]
    fn contributions_are_leave_one_out_differences_over_the_undominated_points() {
        for (m, max_n) in [(1, 8), (2, 20), (3, 16), (4, 10)] {
            for (points, reference) in cases(m, 200, max_n) {
                let front = undominated(&points, m);
                let all = hypervolume(&front, m, &reference);
                let rows: Vec<&[f64]> = points.chunks(m).collect();
                for (i, c) in contributions(&points, m, &reference)
                    .into_iter()
                    .enumerate()
                {
                    // Removing any copy of p_i from F is the same; a dominated point is not in F.
                    let k = front.chunks(m).position(|p| p == rows[i]);
                    let dominated = rows.iter().any(|q| dominates(q, rows[i]));
                    let want = match k.filter(|_| !dominated) {
                        Some(k) => all - hypervolume(&without(&front, m, k), m, &reference),
                        None => 0.0,
                    };
                    assert_close(c, want, &format!("m = {m}, point {i} of {points:?}"));
                }
            }
        }
    }

    #[test]
    fn a_dominated_point_does_not_shrink_its_dominators_contribution() {
        // moocore's rule: (2, 2) is dominated, so (1, 1) keeps its whole box.
        let points = [1.0, 1.0, 2.0, 2.0];
        assert_eq!(contributions(&points, 2, &[3.0, 3.0]), vec![4.0, 0.0]);
        let points = [1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 1.0, 1.0, 1.0];
        assert_eq!(contributions(&points, 3, &[3.0; 3]), vec![0.0, 0.0, 0.0]);
    }

    #[test]
    fn hvi_is_the_gain_of_adding_the_point() {
        for (m, max_n) in [(1, 8), (2, 20), (3, 16), (4, 10)] {
            let mut rng = ChaCha8Rng::seed_from_u64(100 + m as u64);
            for (set, reference) in cases(m, 200, max_n) {
                let integers = reference[0] == 4.0;
                let point = random_set(&mut rng, 1, m, integers);
                let mut joint = set.clone();
                joint.extend(&point);
                let want = hypervolume(&joint, m, &reference) - hypervolume(&set, m, &reference);
                assert_close(
                    hvi(&point, &set, m, &reference),
                    want.max(0.0),
                    &format!("{point:?} to {set:?}"),
                );
            }
        }
        assert_eq!(hvi(&[1.0, 1.0, 1.0], &[0.5, 1.0, 1.0], 3, &[2.0; 3]), 0.0);
        assert_eq!(hvi(&[1.0, 2.0, 1.0], &[], 3, &[2.0; 3]), 0.0);
        assert_eq!(hvi(&[1.0, 1.0, 1.0], &[0.0, 0.0, 5.0], 3, &[2.0; 3]), 1.0);
    }
}
