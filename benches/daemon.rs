//! Daemon benchmarks: `diffuse-dse status` on a store of 100,000 results, and the idle
//! daemon's CPU and memory.
//!
//! Run with `cargo bench --bench daemon`. Figures go in `docs/daemon.md`.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use diffuse_dse::config::Config;
use diffuse_dse::ingest::ingest_pass;
use diffuse_dse::space::Value;
use diffuse_dse::store::{InboxRow, InboxStatus, Store};
use rand::{Rng, SeedableRng};

const CONFIG: &str = include_str!("../src/cli/demo.toml");

/// Fill the store with `n` OK results of random feasible designs (random metrics).
fn fill(config: &Config, n: usize) {
    let mut store = Store::open(&config.store_path).unwrap();
    store
        .sync_views(&config.objectives, &config.space.names())
        .unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let mut rows = Vec::with_capacity(n);
    while rows.len() < n {
        let mut d = config.space.sample(&mut rng);
        // Distinct designs: the clock takes any whole picosecond value in this benchmark's rows.
        d.set("clock_ps", Value::Int(250 + 50 * rng.random_range(0..36)));
        if !config.space.feasible(&d) {
            continue;
        }
        let m = serde_json::json!({
            "latency_ms": rng.random_range(5.0..500.0),
            "power_mw": rng.random_range(5.0..250.0),
            "area_mm2": rng.random_range(0.01..0.8),
        });
        rows.push(InboxRow {
            proposal_id: None,
            design_id: None,
            params: Some(serde_json::to_value(&d).unwrap()),
            metrics: Some(m),
            status: InboxStatus::Ok,
            error: None,
            evaluator: Some("bench".into()),
            runtime_s: None,
            source: "bench".into(),
        });
    }
    store.insert_inbox(&rows).unwrap();
    let targets = diffuse_dse::daemon::sync_targets(&mut store, config).unwrap();
    let s = ingest_pass(&mut store, config, &targets).unwrap();
    eprintln!(
        "store: {} results accepted, {} rejected (duplicate designs)",
        s.accepted,
        s.rejected.len()
    );
}

fn status_timing(dir: &Path) {
    let config = Config::load(dir.join("config.toml")).unwrap();
    fill(&config, 100_000);
    let bin = env!("CARGO_BIN_EXE_diffuse-dse");
    let mut times = Vec::new();
    for _ in 0..7 {
        let t = Instant::now();
        let out = Command::new(bin)
            .args(["status", "--config"])
            .arg(dir.join("config.toml"))
            .output()
            .unwrap();
        times.push(t.elapsed());
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    times.sort();
    println!(
        "status on a 100,000-result store: median {:.1} ms (min {:.1}, max {:.1}) over 7 runs; goal < 200 ms",
        times[3].as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3,
        times[6].as_secs_f64() * 1e3
    );
}

/// utime + stime of a process, in clock ticks, and its resident set in kB.
fn cpu_and_rss(pid: u32) -> (u64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let rss = status
        .lines()
        .find(|l| l.starts_with("VmRSS"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap()
        .parse()
        .unwrap();
    (ticks, rss)
}

fn idle(dir: &Path, seconds: u64) {
    let bin = env!("CARGO_BIN_EXE_diffuse-dse");
    let mut child = Command::new(bin)
        .args(["daemon", "--config"])
        .arg(dir.join("config.toml"))
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(3));
    let (t0, _) = cpu_and_rss(child.id());
    let start = Instant::now();
    std::thread::sleep(Duration::from_secs(seconds));
    let (t1, rss) = cpu_and_rss(child.id());
    let wall = start.elapsed().as_secs_f64();
    let hz = 100.0; // USER_HZ on Linux
    println!(
        "idle daemon (store of 100,000 results, poll every 5 s, no batch due): {:.2} % of one core over {wall:.0} s, RSS {:.1} MB; goal < 1 % and < 50 MB",
        (t1 - t0) as f64 / hz / wall * 100.0,
        rss as f64 / 1024.0
    );
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let _ = child.wait();
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let text = CONFIG
        .replace("cron = \"*/2 * * * * *\"", "cron = \"0 0 3 1 1 *\"")
        .replace("poll_s = 0.5", "poll_s = 5");
    std::fs::write(dir.path().join("config.toml"), text).unwrap();
    println!("machine: {}", diffuse_dse::bench::machine());
    println!("command: cargo bench --bench daemon");
    status_timing(dir.path());
    let seconds = std::env::args()
        .skip_while(|a| a != "--idle-s")
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    idle(dir.path(), seconds);
}
