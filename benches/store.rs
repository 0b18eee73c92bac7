//! Store throughput: how fast results are ingested, and how fast the status command's reads are
//! on a store of 100,000 results.
//!
//! Run with `cargo bench --bench store` (figures in `docs/schema.md`, "Performance").
//! Targets: ingest ≥ 10,000 results/s; status reads < 200 ms.

use std::time::{Duration, Instant};

use diffuse_dse::space::{Design, Direction, Metrics, Objective, Value};
use diffuse_dse::store::{InboxRow, InboxStatus, NewProposal, ResultRules, Store};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;

const N: usize = 100_000;

/// The Gemmini space's three objectives, all minimized.
fn objectives() -> Vec<Objective> {
    let objective = |name: &str, unit: &str, reference| Objective {
        name: name.into(),
        direction: Direction::Min,
        unit: unit.into(),
        reference: Some(reference),
    };
    vec![
        objective("latency_ms", "ms", 600.0),
        objective("power_mw", "mW", 250.0),
        objective("area_mm2", "mm2", 0.8),
    ]
}

struct Rules {
    required: Vec<String>,
}

impl ResultRules for Rules {
    fn required_metrics(&self) -> &[String] {
        &self.required
    }
    fn check_design(&self, params: &serde_json::Value) -> Result<Design, String> {
        serde_json::from_value(params.clone()).map_err(|e| e.to_string())
    }
    fn feasible(&self, metrics: &Metrics) -> bool {
        metrics.get("area_mm2").is_some_and(|a| a < 0.8)
    }
}

/// Design `i` of a Gemmini-like space (distinct for every `i`).
fn design(i: usize) -> Design {
    let mut d = Design::default();
    d.set("mesh_rows", Value::Int(1 << (i % 6)));
    d.set("mesh_cols", Value::Int(1 << (i % 6)));
    d.set("dataflow", Value::Str(["OS", "WS", "BOTH"][i % 3].into()));
    d.set("sp_capacity_kib", Value::Int(32 << (i % 6)));
    d.set("clock_ps", Value::Int(250 + 50 * (i % 36) as i64));
    d.set(
        "abc_delay_ratio",
        Value::Float(0.5 + (i as f64) / (2.0 * N as f64)),
    );
    d
}

/// Metrics on a trade-off surface: faster designs are bigger and hungrier.
fn metrics(rng: &mut ChaCha8Rng) -> serde_json::Value {
    let (u, v): (f64, f64) = (rng.random(), rng.random());
    json!({
        "latency_ms": 5.0 + 500.0 * u,
        "power_mw": 10.0 + 200.0 * v,
        "area_mm2": 0.05 + 0.6 * (1.0 - u) * (1.0 - v) + 0.05 * rng.random::<f64>(),
    })
}

fn main() {
    println!("command: cargo bench --bench store");
    println!("machine: {}", diffuse_dse::bench::machine());
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join("store.db");
    let mut store = Store::open(&path).expect("a new store");
    let objectives = objectives();
    let rules = Rules {
        required: objectives.iter().map(|o| o.name.clone()).collect(),
    };
    let mut rng = ChaCha8Rng::seed_from_u64(1);

    // (a) Ingest: 100,000 proposals out in one batch, their results written to the inbox as
    // the local runner writes them, then validated into results.
    let new: Vec<NewProposal> = (0..N)
        .map(|i| NewProposal {
            design: design(i),
            origin: "bench".into(),
            model_version: None,
            target: None,
        })
        .collect();
    let t = Instant::now();
    let ids = store.enqueue(&new).expect("enqueue").ids;
    let enqueue = t.elapsed();
    let t = Instant::now();
    store
        .claim_batch(N, "local", "bench")
        .expect("claim")
        .expect("a batch");
    let claim = t.elapsed();
    let rows: Vec<InboxRow> = ids
        .iter()
        .map(|&p| InboxRow {
            proposal_id: Some(p),
            design_id: None,
            params: None,
            metrics: Some(metrics(&mut rng)),
            status: InboxStatus::Ok,
            error: None,
            evaluator: Some("gemmini-model".into()),
            runtime_s: Some(0.01),
            source: "local".into(),
        })
        .collect();
    let t = Instant::now();
    store.insert_inbox(&rows).expect("insert_inbox");
    let insert = t.elapsed();
    let t = Instant::now();
    let report = store
        .process_inbox(&rules, usize::MAX)
        .expect("process_inbox");
    let process = t.elapsed();
    assert_eq!(report.new_ok_results, N, "every row is accepted");
    let rate = |d: Duration| N as f64 / d.as_secs_f64();
    println!(
        "enqueue {N} proposals: {enqueue:.2?} ({:.0}/s)",
        rate(enqueue)
    );
    println!("claim {N} in one batch: {claim:.2?}");
    println!(
        "insert_inbox {N} rows: {insert:.2?} ({:.0} rows/s)",
        rate(insert)
    );
    println!(
        "process_inbox {N} rows: {process:.2?} ({:.0} results/s; target >= 10000/s)",
        rate(process)
    );

    // (b) The status command's reads on the 100,000-result store: open read-only, count the
    // states, read the front, count it.
    let t = Instant::now();
    let front = store.refresh_front(&objectives).expect("refresh_front");
    println!(
        "refresh_front over {N} results: {:.2?} (front of {front})",
        t.elapsed()
    );
    drop(store);
    let mut times = Vec::new();
    for _ in 0..7 {
        let t = Instant::now();
        let status = Store::open_read_only(&path).expect("read-only open");
        let counts = status.state_counts().expect("state_counts");
        let points = status.front_points(&objectives).expect("front_points");
        let size = status.front_size().expect("front_size");
        times.push(t.elapsed());
        assert_eq!(
            (points.len(), size as usize, counts.values().sum::<u64>()),
            (front, front, N as u64)
        );
    }
    times.sort();
    println!(
        "status reads (open + state_counts + front_points + front_size), 7 runs: median {:.2?}, best {:.2?} (target < 200 ms)",
        times[3], times[0]
    );
    let size = std::fs::metadata(&path).map_or(0, |m| m.len());
    println!("store file: {:.1} MiB", size as f64 / (1 << 20) as f64);
}
