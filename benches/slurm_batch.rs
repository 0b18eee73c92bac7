//! A 1,000-proposal batch through a real single-node Slurm: the time to dispatch it (claim,
//! manifest, `sbatch --array`, in one transaction), for Slurm to run it, and to ingest the
//! result files. Run with `cargo bench --bench slurm_batch [-- --n 1000]` as root with
//! slurm-wlm and munge installed; figures go in docs/scale-out.md.

#[path = "../tests/common/slurm.rs"]
#[allow(dead_code)]
mod slurm;

use std::sync::Arc;
use std::time::{Duration, Instant};

use diffuse_dse::config::Config;
use diffuse_dse::db::Db;
use diffuse_dse::evaluators::Cancel;
use diffuse_dse::events::Events;
use diffuse_dse::runners::{Dispatched, claim_and_run, scheduler, watch};
use diffuse_dse::store::Store;

const CONFIG: &str = include_str!("../src/cli/demo.toml");

fn main() {
    let n: usize = std::env::args()
        .skip_while(|a| a != "--n")
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    let Some(cluster) = slurm::SlurmCluster::start() else {
        eprintln!("slurm_batch: Slurm is not installed; nothing measured");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let env: Vec<String> = cluster
        .env()
        .into_iter()
        .map(|(k, v)| format!("{k} = \"{v}\""))
        .collect();
    let text = CONFIG
        .replace("batch_size = 8", &format!("batch_size = {n}"))
        .replace("queue_depth = 16", &format!("queue_depth = {n}"))
        .replace(
            "[runner]\nkind = \"local\"\nparallel = 2\ntimeout_s = 60\n",
            &format!(
                "[runner]\nkind = \"slurm\"\nparallel = {}\ntimeout_s = 60\nlost_after_s = 30\ntask_binary = \"{}\"\n[runner.slurm]\nenv = {{ {} }}\n",
                cluster.cpus(),
                env!("CARGO_BIN_EXE_diffuse-dse"),
                env.join(", ")
            ),
        );
    std::fs::write(dir.path().join("config.toml"), text).unwrap();
    let config = Arc::new(Config::load(dir.path().join("config.toml")).unwrap());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let db = Db::new(Store::open(&config.store_path).unwrap());
        diffuse_dse::daemon::prepare_store(&db, &config).await.unwrap();
        diffuse_dse::daemon::top_up(&db, &config).await.unwrap();
        let queued = db.call(|s| s.queued_count()).await.unwrap();
        let evaluator = config.evaluator.build().unwrap();
        let t = Instant::now();
        let d = claim_and_run(&db, &config, evaluator, "manual", &Cancel::new(), &Events::new()).await.unwrap();
        let dispatch = t.elapsed();
        let Some(Dispatched::Submitted { size, job_id, .. }) = d else { panic!("not submitted: {d:?}") };
        let sched = scheduler(&config.runner).unwrap();
        let mut gone = watch::GoneSince::new();
        let mut ingest = Duration::ZERO;
        let mut passes = 0;
        let mut results = 0;
        while results < size {
            let t = Instant::now();
            let r = watch::watch_pass(&db, &config, sched.clone(), &mut gone).await.unwrap();
            ingest += t.elapsed();
            passes += 1;
            results += r.results;
            assert!(r.retried + r.failed + r.lost == 0, "lost work in a benchmark: {r:?}");
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        let total = dispatch + Duration::from_secs(passes) + ingest;
        let ok = db.call(|s| s.result_counts()).await.unwrap().ok;
        println!("machine: {} cores; single-node Slurm ({} CPUs), job {job_id}", std::thread::available_parallelism().map_or(1, |n| n.get()), cluster.cpus());
        println!("command: cargo bench --bench slurm_batch -- --n {n}");
        println!("queued {queued}, dispatched {size} in one sbatch: {:.0} ms (claim + manifest + design files + sbatch, one transaction)", dispatch.as_secs_f64() * 1e3);
        println!("all {size} results back after about {:.0} s ({passes} watch passes, one per second)", total.as_secs_f64());
        println!("ingest (watch passes: result files, scheduler polls, inbox, validation): {:.2} s in all, {:.1} ms per result; {ok} OK results in the store", ingest.as_secs_f64(), ingest.as_secs_f64() * 1e3 / size as f64);
    });
}
