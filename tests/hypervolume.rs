//! `pareto` against moocore: hypervolume, exclusive contributions and the non-dominated
//! filter on the seeded vectors that `scripts/hv_vectors.py` made with moocore (2 to 4
//! objectives, random and integer-grid sets with ties and duplicates).

use diffuse_dse::pareto::{contributions, hypervolume, nondominated};

#[derive(serde::Deserialize)]
struct Vectors {
    moocore: String,
    cases: Vec<Case>,
}

#[derive(serde::Deserialize)]
struct Case {
    m: usize,
    points: Vec<Vec<f64>>,
    reference: Vec<f64>,
    hypervolume: f64,
    contributions: Vec<f64>,
    nondominated: Vec<bool>,
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * b.abs().max(1.0)
}

#[test]
fn hypervolume_contributions_and_front_match_moocore() {
    let text = include_str!("data/hv_vectors.json");
    let v: Vectors = serde_json::from_str(text).unwrap();
    assert!(v.cases.len() >= 24, "vectors from moocore {}", v.moocore);
    for (k, c) in v.cases.iter().enumerate() {
        let flat: Vec<f64> = c.points.iter().flatten().copied().collect();
        let hv = hypervolume(&flat, c.m, &c.reference);
        assert!(
            close(hv, c.hypervolume),
            "case {k} (m {}): {hv} vs moocore {}",
            c.m,
            c.hypervolume
        );
        let contrib = contributions(&flat, c.m, &c.reference);
        for (i, (a, b)) in contrib.iter().zip(&c.contributions).enumerate() {
            assert!(
                close(*a, *b),
                "case {k} point {i}: contribution {a} vs moocore {b}"
            );
        }
        let front = nondominated(&flat, c.m);
        let mask: Vec<bool> = (0..c.points.len()).map(|i| front.contains(&i)).collect();
        assert_eq!(mask, c.nondominated, "case {k}: the non-dominated set");
    }
}
