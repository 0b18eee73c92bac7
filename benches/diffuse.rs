//! DiffuSE speed at 500 results: a fit from scratch (denoiser, predictor and feasibility
//! classifier), a warm refit, and a proposal of a batch of 8 (targets, guided DDIM sampling,
//! legalization, selection).
//!
//! The setting is the reference's `benchmarks/diffuse_speed.py` (commit 9201a62): uniform
//! feasible designs of the synthetic problem with their objectives, every 25th one failed so the
//! classifier trains too. `benchmarks/speed-vs-reference.sh` runs this and the reference one
//! after the other. Run with `cargo bench --bench diffuse [-- --config FILE]`; figures go in
//! `docs/diffuse.md`.

use std::time::Instant;

use diffuse_dse::config::Config;
use diffuse_dse::evaluators::{Cancel, EvalContext};
use diffuse_dse::proposer::{History, from_config};
use rand::SeedableRng;

const RESULTS: usize = 500;
const REPEATS: usize = 3;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let config_path = args
        .iter()
        .position(|a| a == "--config")
        .and_then(|i| args.get(i + 1))
        .map_or_else(
            || {
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("examples/synthetic/config.toml")
            },
            std::path::PathBuf::from,
        );
    let dir = tempfile::tempdir().expect("a temp dir");
    let config = Config::load(&config_path).expect("a valid config");
    let evaluator = config.evaluator.build().expect("the evaluator starts");
    let ctx = EvalContext {
        workdir: dir.path().to_path_buf(),
        timeout: std::time::Duration::from_secs(60),
        cancel: Cancel::new(),
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "command: cargo bench --bench diffuse -- --config {}",
        config_path.display()
    );
    println!("machine: {}", diffuse_dse::bench::machine());
    println!(
        "DiffuSE at {RESULTS} results ({}), batch of 8, {threads} cores",
        config.space.name
    );
    let (mut cold_s, mut warm_s, mut propose_s) = (Vec::new(), Vec::new(), Vec::new());
    for repeat in 0..REPEATS {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(repeat as u64);
        let mut history = History::default();
        let designs = diffuse_dse::space::sampling::random_feasible(
            &config.space,
            RESULTS,
            &mut rng,
            &Default::default(),
        );
        for (i, d) in designs.into_iter().enumerate() {
            history.seen.insert(d.hash());
            if i % 25 == 0 {
                history.failed.push(d);
                continue;
            }
            let m = evaluator
                .evaluate(&d, &ctx)
                .expect("the evaluator evaluates");
            let y = config
                .objective_values(&m)
                .expect("every objective, finite");
            let ok = config.outcome_feasible(&m);
            history.ok.push((d, y, ok));
        }
        let mut config = config.clone();
        config.seed = repeat as u64;
        let mut proposer = from_config(&config);
        assert_eq!(proposer.kind(), "diffuse");
        let t = Instant::now();
        let cold = proposer.fit(&history);
        cold_s.push(t.elapsed().as_secs_f64());
        assert!(!cold.warm && cold.weights.is_some());
        let t = Instant::now();
        let warm = proposer.fit(&history);
        warm_s.push(t.elapsed().as_secs_f64());
        assert!(warm.warm);
        let t = Instant::now();
        let p = proposer.propose(&history, 8);
        propose_s.push(t.elapsed().as_secs_f64());
        assert_eq!(p.proposals.len(), 8);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!("| step (median of {REPEATS}) | seconds | goal |");
    println!("|---|---|---|");
    println!("| fit from scratch | {:.2} | ≤ 3 |", median(&mut cold_s));
    println!("| warm refit | {:.2} | ≤ 0.5 |", median(&mut warm_s));
    println!("| propose 8 | {:.3} | ≤ 0.2 |", median(&mut propose_s));
}
