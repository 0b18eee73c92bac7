//! Cluster runners through the real daemon, with stand-in LSF tools (`bsub`, `bjobs`) that
//! run each array task as a local process: submission, result files, lost work and retries,
//! and values with shell metacharacters reaching argv verbatim. The real Slurm tests are in
//! `tests/slurm.rs`.

mod common;

use std::time::Duration;

use common::{Fixture, replace_section, run_until};

/// A stand-in `bsub`: records its argv, then runs tasks 1..N of `-J name[1-N]%K` one after
/// another in a session of its own (the daemon kills whatever a scheduler command leaves in
/// its process group) with `LSB_JOBINDEX` set, keeping `INDEX STATE` files that the
/// stand-in `bjobs` prints. While `$STUB/fail` exists, tasks are not run and end `EXIT` (as
/// when a node kills them before they write anything).
const BSUB: &str = r#"#!/bin/sh
stub=$(dirname "$0")
if [ "$1" = "--run" ]; then
  # The stand-in's "daemon": runs the tasks of job $2 ($3 tasks, script $4) one by one.
  id=$2; n=$3; script=$4
  : > "$stub/jobs/$id/started"
  i=1
  while [ "$i" -le "$n" ]; do
    if [ -e "$stub/fail" ]; then
      echo "$i EXIT" > "$stub/jobs/$id/$i"
    else
      echo "$i RUN" > "$stub/jobs/$id/$i"
      [ -e "$stub/slow" ] && sleep 1
      if LSB_JOBINDEX=$i "$script" > "$stub/jobs/$id/$i.out" 2>&1; then st=DONE; else st=EXIT; fi
      echo "$i $st" > "$stub/jobs/$id/$i"
    fi
    i=$((i+1))
  done
  exit 0
fi
id=$(( $(cat "$stub/next" 2>/dev/null || echo 100) + 1 ))
echo "$id" > "$stub/next"
printf '%s\n' "$@" > "$stub/argv-$id"
for last; do :; done
spec=$(printf '%s\n' "$@" | grep '\[1-')
n=$(echo "$spec" | sed 's/.*\[1-\([0-9]*\)\].*/\1/')
mkdir -p "$stub/jobs/$id"
i=1; while [ "$i" -le "$n" ]; do echo "$i PEND" > "$stub/jobs/$id/$i"; i=$((i+1)); done
# Like a real scheduler, the work outlives the submit command (its own session).
setsid "$0" --run "$id" "$n" "$last" > /dev/null 2>&1 < /dev/null &
# Return only once the runner is in its own session: the daemon kills what a scheduler
# command leaves in its process group when it exits.
while [ ! -e "$stub/jobs/$id/started" ]; do sleep 0.01; done
echo "Job <$id> is submitted to queue <normal>."
"#;

const BJOBS: &str = r#"#!/bin/sh
stub=$(dirname "$0")
for id; do :; done
if [ ! -d "$stub/jobs/$id" ]; then echo "Job <$id> is not found" >&2; exit 255; fi
cat "$stub/jobs/$id"/[0-9]* | grep -v '^$' | sort -n
"#;

fn lsf_fixture(batch_size: usize, max_attempts: u32) -> Fixture {
    let fx = Fixture::new(&format!(
        "[schedule]\ncron = \"* * * * * *\"\nbatch_size = {batch_size}\nqueue_depth = {batch_size}\npoll_s = 0.2\n"
    ));
    let stub = fx.path("stub");
    for (name, text) in [("bsub", BSUB), ("bjobs", BJOBS)] {
        fx.write_script(&format!("stub/{name}"), text);
    }
    let text = std::fs::read_to_string(fx.config_path()).unwrap();
    let runner = format!(
        "[runner]\nkind = \"lsf\"\nparallel = 2\ntimeout_s = 60\nmax_attempts = {max_attempts}\nlost_after_s = 0.5\n\
         task_binary = \"{}\"\n[runner.lsf]\nbin_dir = \"{}\"\nsubmit_args = [\"-q\", \"night\"]\n",
        env!("CARGO_BIN_EXE_diffuse-dse"),
        stub.display()
    );
    fx.write("config.toml", &replace_section(&text, "[runner]", &runner));
    fx
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lsf_batches_come_back_through_result_files() {
    let fx = lsf_fixture(4, 3);
    run_until(&fx, 60, |fx| {
        fx.try_count("SELECT count(*) FROM results WHERE status = 'OK'")
            .unwrap_or(0)
            >= 8
    })
    .await;
    // Each result came from a qor.json written by `run-task` on the "farm".
    assert!(fx.count("SELECT count(*) FROM results WHERE source = 'lsf'") >= 8);
    assert_eq!(
        fx.count("SELECT count(*) FROM results WHERE proposal_id IS NOT NULL"),
        fx.count("SELECT count(DISTINCT proposal_id) FROM results WHERE proposal_id IS NOT NULL")
    );
    // The job ids are stored with the dispatch.
    assert_eq!(
        fx.count("SELECT count(*) FROM batches WHERE runner = 'lsf' AND job_id IS NULL"),
        0
    );
    assert!(fx.count("SELECT count(*) FROM batches WHERE runner = 'lsf' AND state = 'DONE'") >= 2);
    let argv = std::fs::read_to_string(fx.path("stub/argv-101")).unwrap();
    assert!(argv.lines().any(|l| l == "dse-batch-1[1-4]%2"), "{argv}");
    assert!(
        argv.contains("-q\nnight\n"),
        "submit_args pass through: {argv}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_tasks_are_retried_then_failed_with_the_reason() {
    let fx = lsf_fixture(2, 2);
    // Every task ends EXIT without running.
    std::fs::write(fx.path("stub/fail"), "").unwrap();
    run_until(&fx, 60, |fx| {
        fx.try_count("SELECT count(*) FROM proposals WHERE state = 'FAILED'")
            .unwrap_or(0)
            >= 1
    })
    .await;
    let (attempts, reason): (i64, String) = fx
        .sql()
        .query_row("SELECT p.attempts, r.error FROM proposals p JOIN results r ON r.proposal_id = p.id WHERE p.state = 'FAILED' ORDER BY p.id LIMIT 1", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    assert_eq!(attempts, 2, "retried once, then failed");
    assert!(
        reason.contains("ended EXIT without a result file") && reason.contains("after 2 attempts"),
        "{reason}"
    );
    assert_eq!(fx.count("SELECT count(*) FROM proposals WHERE state IN ('DISPATCHED', 'RUNNING') AND batch_id IS NULL"), 0);
}

/// A value with shell metacharacters reaches the user's flow as one argv entry, through the
/// cluster runner, the job script and `run-task`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shell_metacharacters_reach_argv_verbatim_through_a_cluster_batch() {
    let fx = lsf_fixture(2, 1);
    let nasty = r#"$(touch pwned); `id` && echo "x" | cat > y; 'q'"#;
    let text = std::fs::read_to_string(fx.config_path()).unwrap();
    let text = text.replace(
        "[[space.params]]\nname = \"mesh_rows\"",
        &format!("[[space.params]]\nname = \"tag\"\nlayer = \"eda\"\nkind = \"categorical\"\nvalues = [{}]\n[[space.params]]\nname = \"mesh_rows\"", toml::Value::String(nasty.into())),
    );
    fx.write("config.toml", &text);
    fx.use_flow(
        "#!/bin/sh\nprintf '%s' \"$1\" > \"$2/argv1\"\necho '{\"latency_ms\": 1, \"power_mw\": 2, \"area_mm2\": 0.1}'\n",
        r#"["./flow.sh", "{tag}", "{workdir}"]"#,
        "",
    );
    run_until(&fx, 60, |fx| {
        fx.try_count("SELECT count(*) FROM results WHERE status = 'OK'")
            .unwrap_or(0)
            >= 2
    })
    .await;
    let dirs: Vec<String> = fx.sql().prepare("SELECT 'runs/batch-' || batch_id || '/proposal-' || id FROM proposals WHERE state = 'DONE'").unwrap()
        .query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
    for d in &dirs {
        assert_eq!(
            std::fs::read_to_string(fx.path(d).join("argv1")).unwrap(),
            nasty
        );
    }
    assert!(!fx.path("pwned").exists() && !fx.path("stub/pwned").exists());
}

/// When most of a batch fails, dispatch pauses, `status` says so, and `resume` lifts it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_failure_breaker_pauses_dispatch_until_resume() {
    let fx = lsf_fixture(4, 1);
    std::fs::write(fx.path("stub/fail"), "").unwrap();
    run_until(&fx, 60, |fx| {
        diffuse_dse::store::Store::open_read_only(fx.store_path())
            .ok()
            .and_then(|s| diffuse_dse::runners::breaker::paused(&s).ok().flatten())
            .is_some()
    })
    .await;
    // A restarted daemon sees the pause too: three more fire times dispatch nothing.
    let batches = fx.count("SELECT count(*) FROM batches");
    let t0 = std::time::Instant::now();
    run_until(&fx, 60, |_| t0.elapsed() > Duration::from_secs(3)).await;
    assert_eq!(
        fx.count("SELECT count(*) FROM batches"),
        batches,
        "no batch while paused"
    );
    assert!(fx.count("SELECT count(*) FROM proposals WHERE state = 'FAILED'") >= 4);

    let cfg = fx.config_path();
    let out = common::run(
        &["status", "--config", cfg.to_str().unwrap()],
        fx.dir.path(),
    );
    let text = common::stdout(&out);
    assert!(
        text.contains("PAUSED by the failure breaker") && text.contains("of 4 evaluations fail"),
        "{text}"
    );
    let out = common::run(
        &["resume", "--config", cfg.to_str().unwrap()],
        fx.dir.path(),
    );
    assert!(
        common::stderr(&out).contains("dispatch resumed"),
        "{}",
        common::stderr(&out)
    );
    let out = common::run(
        &["status", "--config", cfg.to_str().unwrap()],
        fx.dir.path(),
    );
    assert!(
        common::stdout(&out).contains("lsf runner, running"),
        "{}",
        common::stdout(&out)
    );
}

/// A stand-in for "another scheduler": `qsub FIRST LAST SCRIPT` runs the tasks (in a session
/// of their own) with `TASK_ID` set and prints a job id on its last line; `qstat ID` prints
/// `INDEX STATE` lines.
const QSUB: &str = r#"#!/bin/sh
stub=$(dirname "$0")
if [ "$1" = "--run" ]; then
  dir=$2; i=$3
  : > "$dir/started"
  while [ "$i" -le "$4" ]; do
    echo "$i RUNNING" > "$dir/$i.state"
    if TASK_ID=$i "$5" > "$dir/$i.log" 2>&1; then st=DONE; else st=FAILED; fi
    echo "$i $st" > "$dir/$i.state"
    i=$((i+1))
  done
  exit 0
fi
id="job.$(date +%s%N)"
mkdir -p "$stub/jobs/$id"
i=$1; while [ "$i" -le "$2" ]; do echo "$i PENDING" > "$stub/jobs/$id/$i.state"; i=$((i+1)); done
setsid "$0" --run "$stub/jobs/$id" "$1" "$2" "$3" > /dev/null 2>&1 < /dev/null &
while [ ! -e "$stub/jobs/$id/started" ]; do sleep 0.01; done
echo "submitted"
echo "$id"
"#;

const QSTAT: &str = "#!/bin/sh\ncat \"$(dirname \"$0\")/jobs/$1\"/*.state 2>/dev/null\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_runner_submits_through_templates() {
    let fx = lsf_fixture(4, 3);
    for (name, text) in [("qsub", QSUB), ("qstat", QSTAT)] {
        fx.write_script(&format!("stub/{name}"), text);
    }
    let text = std::fs::read_to_string(fx.config_path()).unwrap();
    // A batch every 3 s: the stand-in runs tasks one after another, so faster batches pile up.
    let text = text.replace("cron = \"* * * * * *\"", "cron = \"*/3 * * * * *\"");
    let text = text.replace("kind = \"lsf\"", "kind = \"command\"").replace(
        "[runner.lsf]",
        "[runner.command]\nsubmit = [\"./stub/qsub\", \"{first}\", \"{last}\", \"{script}\"]\n\
         status = [\"./stub/qstat\", \"{job_id}\"]\nindex_env = \"TASK_ID\"\nindex_base = 1\n[runner.lsf]",
    );
    fx.write("config.toml", &text);
    run_until(&fx, 60, |fx| {
        fx.try_count("SELECT count(*) FROM results WHERE status = 'OK' AND source = 'command'")
            .unwrap_or(0)
            >= 4
    })
    .await;
    let job: String = fx
        .sql()
        .query_row("SELECT job_id FROM batches WHERE id = 1", [], |r| r.get(0))
        .unwrap();
    assert!(
        job.starts_with("job."),
        "the last stdout line is the job id: {job}"
    );
}

/// A daemon stopped (or crashed) while a cluster batch runs leaves its proposals to the farm:
/// the next daemon reconciles them with their result files and the scheduler, and submits
/// nothing again for them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_reconciles_cluster_work_without_resubmitting() {
    let fx = lsf_fixture(4, 3);
    std::fs::write(fx.path("stub/slow"), "").unwrap();
    run_until(&fx, 60, |fx| {
        fx.try_count("SELECT count(*) FROM batches").unwrap_or(0) >= 1
    })
    .await;
    // The daemon stopped with the batch out on the farm: nothing was requeued or failed.
    let live = fx.count(
        "SELECT count(*) FROM proposals WHERE batch_id = 1 AND state IN ('DISPATCHED', 'RUNNING')",
    );
    let done = fx.count("SELECT count(*) FROM proposals WHERE batch_id = 1 AND state = 'DONE'");
    assert_eq!(live + done, 4, "the batch is out or back, never requeued");
    // Meanwhile the farm finishes the tasks; the next daemon ingests them.
    std::fs::remove_file(fx.path("stub/slow")).unwrap();
    run_until(&fx, 60, |fx| {
        fx.try_count("SELECT count(*) FROM proposals WHERE batch_id = 1 AND state = 'DONE'")
            .unwrap_or(0)
            == 4
    })
    .await;
    assert_eq!(fx.count("SELECT count(*) FROM results r JOIN proposals p ON p.id = r.proposal_id WHERE p.batch_id = 1"), 4);
    assert_eq!(
        fx.count("SELECT max(attempts) FROM proposals WHERE batch_id = 1"),
        1,
        "no resubmission"
    );
}
