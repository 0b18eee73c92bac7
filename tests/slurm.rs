//! The Slurm runner against a real single-node Slurm (started by `common::slurm`): a batch
//! of 16 through `sbatch --array` and back into the store, a cancelled job, and a lost node.
//! Needs `slurm-wlm` and `munge` (installed by `.ci/apt-packages.txt`) and root; skipped with
//! a printed reason only when the binaries are missing.

mod common;

use common::slurm::SlurmCluster;
use common::{Fixture, replace_section, run_until};

/// A fixture whose runner is this cluster's Slurm. `flow`: `None` for the analytical model,
/// or a shell command run as the user's flow (to keep tasks running).
fn slurm_fixture(cluster: &SlurmCluster, batch_size: usize, flow: Option<&str>) -> Fixture {
    let fx = Fixture::new(&format!(
        "[schedule]\ncron = \"* * * * * *\"\nbatch_size = {batch_size}\nqueue_depth = {batch_size}\npoll_s = 0.3\n"
    ));
    let env: Vec<String> = cluster
        .env()
        .into_iter()
        .map(|(k, v)| format!("{k} = \"{v}\""))
        .collect();
    let runner = format!(
        "[runner]\nkind = \"slurm\"\nparallel = 4\ntimeout_s = 120\nmax_attempts = 2\nlost_after_s = 1\n\
         task_binary = \"{}\"\n[runner.slurm]\nenv = {{ {} }}\n",
        env!("CARGO_BIN_EXE_diffuse-dse"),
        env.join(", ")
    );
    let text = replace_section(
        &std::fs::read_to_string(fx.config_path()).unwrap(),
        "[runner]",
        &runner,
    );
    fx.write("config.toml", &text);
    if let Some(flow) = flow {
        fx.use_flow(
            &format!("#!/bin/sh\n{flow}\necho '{{\"latency_ms\": 1, \"power_mw\": 2, \"area_mm2\": 0.1}}'\n"),
            r#"["./flow.sh"]"#,
            "",
        );
    }
    fx
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_of_16_goes_through_sbatch_and_back_into_the_store() {
    let Some(cluster) = SlurmCluster::start() else {
        return;
    };
    let fx = slurm_fixture(&cluster, 16, None);
    run_until(&fx, 120, |fx| {
        fx.try_count("SELECT count(*) FROM results WHERE status = 'OK' AND source = 'slurm'")
            .unwrap_or(0)
            >= 16
    })
    .await;
    let (size, job_id, state): (i64, String, String) = fx
        .sql()
        .query_row(
            "SELECT size, job_id, state FROM batches WHERE id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!((size, state.as_str()), (16, "DONE"));
    assert!(job_id.chars().all(|c| c.is_ascii_digit()), "{job_id}");
    // Every proposal of the batch has exactly one result, from its qor.json.
    assert_eq!(
        fx.count("SELECT count(*) FROM proposals WHERE batch_id = 1 AND state = 'DONE'"),
        16
    );
    assert_eq!(fx.count("SELECT count(*) FROM results r JOIN proposals p ON p.id = r.proposal_id WHERE p.batch_id = 1"), 16);
    assert!(fx.path("runs/batch-1/manifest.tsv").exists());
    let job = cluster.scontrol_show("job", &job_id).unwrap_or_default();
    assert!(job.contains("COMPLETED"), "{job}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_job_is_retried_with_slurms_reason() {
    let Some(cluster) = SlurmCluster::start() else {
        return;
    };
    let fx = slurm_fixture(&cluster, 2, Some("sleep 60"));
    run_until(&fx, 60, |fx| {
        fx.try_count("SELECT count(*) FROM proposals WHERE state = 'RUNNING'")
            .unwrap_or(0)
            >= 2
    })
    .await;
    let job_id: String = fx
        .sql()
        .query_row("SELECT job_id FROM batches WHERE id = 1", [], |r| r.get(0))
        .unwrap();
    let out = cluster.command("scancel").arg(&job_id).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    run_until(&fx, 60, |fx| {
        fx.try_count("SELECT count(*) FROM proposals WHERE reason LIKE '%ended CANCELLED without a result file; queued again%'").unwrap_or(0) >= 2
    })
    .await;
    // Nothing was counted as failed while the job ran, and the retry kept the attempt count.
    assert_eq!(
        fx.count("SELECT count(*) FROM results WHERE status = 'FAILED'"),
        0
    );
    assert!(fx.count("SELECT min(attempts) FROM proposals WHERE reason LIKE '%CANCELLED%'") >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn work_on_a_lost_node_is_retried() {
    let Some(mut cluster) = SlurmCluster::start() else {
        return;
    };
    let fx = slurm_fixture(&cluster, 2, Some("sleep 120"));
    run_until(&fx, 60, |fx| {
        fx.try_count("SELECT count(*) FROM proposals WHERE state = 'RUNNING'")
            .unwrap_or(0)
            >= 2
    })
    .await;
    cluster.kill_slurmd();
    // Slurm declares the node DOWN after SlurmdTimeout (about 26 s here); the tasks end
    // NODE_FAIL and the watcher queues them again.
    run_until(&fx, 120, |fx| {
        fx.try_count("SELECT count(*) FROM proposals WHERE reason LIKE '%lost (NODE_FAIL)%'")
            .unwrap_or(0)
            >= 2
    })
    .await;
    cluster.restart_slurmd();
    assert_eq!(
        fx.count("SELECT count(*) FROM results WHERE status = 'FAILED'"),
        0,
        "lost work is not a failed design"
    );
}
