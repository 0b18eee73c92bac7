//! DiffuSE speed at 500 results on the Gemmini space (the demo config, ResNet-50 on the
//! analytical model): a fit from scratch, a warm refit, and a proposal of a batch of 8.
//!
//! Run with `cargo bench --bench diffuse`. Figures go in `docs/diffuse.md`.

use std::time::Instant;

use diffuse_dse::config::Config;
use diffuse_dse::evaluators::{Cancel, EvalContext};
use diffuse_dse::proposer::{History, from_config};
use rand::SeedableRng;

const CONFIG: &str = include_str!("../src/cli/demo.toml");
const RESULTS: usize = 500;

fn main() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("bench.toml");
    std::fs::write(&path, CONFIG).expect("write the config");
    let config = Config::load(&path).expect("the demo config is valid");
    let evaluator = config.evaluator.build().expect("the model starts");
    let ctx = EvalContext {
        workdir: dir.path().to_path_buf(),
        timeout: std::time::Duration::from_secs(60),
        cancel: Cancel::new(),
    };
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let mut history = History::default();
    let designs = diffuse_dse::space::sampling::random_feasible(
        &config.space,
        RESULTS,
        &mut rng,
        &Default::default(),
    );
    for d in designs {
        let m = evaluator.evaluate(&d, &ctx).expect("the model evaluates");
        let y: Vec<f64> = config
            .objectives
            .iter()
            .map(|o| m.get(&o.name).expect("metric"))
            .collect();
        history.seen.insert(d.hash());
        let ok = config.outcome_feasible(&m);
        history.ok.push((d, y, ok));
    }
    let mut proposer = from_config(&config);
    assert_eq!(proposer.kind(), "diffuse");
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("DiffuSE at {RESULTS} results, Gemmini space (demo config), {threads} cores");
    let t = Instant::now();
    let cold = proposer.fit(&history);
    let cold_s = t.elapsed().as_secs_f64();
    assert!(!cold.warm);
    let t = Instant::now();
    let warm = proposer.fit(&history);
    let warm_s = t.elapsed().as_secs_f64();
    assert!(warm.warm);
    let mut propose_s = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let p = proposer.propose(&history, 8);
        propose_s.push(t.elapsed().as_secs_f64());
        assert_eq!(p.proposals.len(), 8);
    }
    propose_s.sort_by(f64::total_cmp);
    let weights = cold.weights.map_or(0, |w| w.len());
    println!("| step | seconds | goal |");
    println!("|---|---|---|");
    println!("| fit from scratch | {cold_s:.2} | ≤ 3 |");
    println!("| warm refit | {warm_s:.2} | ≤ 0.5 |");
    println!("| propose 8 (median of 3) | {:.3} | ≤ 0.2 |", propose_s[1]);
    println!(
        "checkpoint size: {} KiB; cold loss {:?}",
        weights / 1024,
        cold.loss
    );
}
