//! Tests of the Slurm test harness (`tests/common/slurm.rs`) against a real single-node Slurm:
//! an array job completes, scancel ends a job, and a killed slurmd makes the node go DOWN and
//! come back. They print the states Slurm reports (`cargo test --test slurm_harness --
//! --nocapture`); docs/slurm-test-harness.md records them. Skipped (with a message) only where
//! slurm-wlm and munge are not installed.

mod common;

use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use common::slurm::{SlurmCluster, field};

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Run a Slurm client with the cluster's env; panics (with the logs) if it fails.
fn client(c: &SlurmCluster, program: &str, args: &[&str]) -> String {
    let o = c.command(program).args(args).output().unwrap();
    assert!(
        o.status.success(),
        "{program} {args:?} failed ({}): {}\n{}",
        o.status,
        text(&o),
        c.log_tail()
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Write a job script into the cluster's dir.
fn script(c: &SlurmCluster, name: &str, body: &str) -> String {
    let p = c.dir().join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{body}")).unwrap();
    p.display().to_string()
}

/// `sbatch --parsable --chdir=DIR --output=DIR/… EXTRA… SCRIPT`; the job id.
fn sbatch(c: &SlurmCluster, extra: &[&str], script: &str) -> String {
    let dir = c.dir().display().to_string();
    let chdir = format!("--chdir={dir}");
    let output = format!("--output={dir}/slurm-%A_%a.out");
    let mut args = vec!["--parsable", &chdir, &output];
    args.extend_from_slice(extra);
    args.push(script);
    let out = client(c, "sbatch", &args);
    // --parsable prints "ID" or "ID;CLUSTER".
    let id = out.trim().split(';').next().unwrap().to_string();
    assert!(id.parse::<u64>().is_ok(), "sbatch printed {out:?}");
    id
}

/// `squeue -h -t all -j ID -o %T`: the job's state while the controller knows it.
fn squeue_state(c: &SlurmCluster, id: &str) -> String {
    client(c, "squeue", &["-h", "-t", "all", "-j", id, "-o", "%T"])
        .trim()
        .to_string()
}

/// `JobState`, `Reason`, `Restarts` and `ExitCode` from `scontrol -o show job ID`.
fn job_summary(c: &SlurmCluster, id: &str) -> String {
    let line = c.scontrol_show("job", id).unwrap_or_default();
    ["JobState", "Reason", "Restarts", "ExitCode"]
        .iter()
        .filter_map(|k| field(&line, k).map(|v| format!("{k}={v}")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Poll `f` every 250 ms until it returns `Some`; panic with the logs after `timeout`.
fn wait_for<T>(
    c: &SlurmCluster,
    timeout: Duration,
    what: &str,
    mut f: impl FnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}\n{}",
            c.log_tail()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Prints each observation that differs from the previous one, with the time since `start`.
struct Transitions {
    start: Instant,
    seen: Vec<String>,
}

impl Transitions {
    fn new() -> Self {
        Self {
            start: Instant::now(),
            seen: Vec::new(),
        }
    }

    fn observe(&mut self, s: String) {
        if self.seen.last() != Some(&s) {
            eprintln!("  +{:5.1}s {s}", self.start.elapsed().as_secs_f64());
            self.seen.push(s);
        }
    }
}

/// Whether a process is gone (or a zombie waiting to be reaped).
fn process_gone(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z')),
    }
}

fn read_pid(dir: &Path, name: &str) -> Option<String> {
    let s = std::fs::read_to_string(dir.join(name)).ok()?;
    let s = s.trim().to_string();
    (!s.is_empty()).then_some(s)
}

#[test]
fn array_job_of_four_tasks_throttled_to_two_completes() {
    let t0 = Instant::now();
    let Some(c) = SlurmCluster::start() else {
        return;
    };
    eprintln!("cluster up in {:.1}s", t0.elapsed().as_secs_f64());
    let dir = c.dir().to_path_buf();
    let body = format!(
        "echo \"$SLURM_ARRAY_TASK_ID\" > {}/task.$SLURM_ARRAY_TASK_ID\n",
        dir.display()
    );
    let s = script(&c, "array.sh", &body);
    let t1 = Instant::now();
    let id = sbatch(&c, &["--array=0-3%2"], &s);
    let mut tr = Transitions::new();
    // -r: one line per task, also for tasks still pending as one record ("1_[2-3]").
    let final_states = wait_for(&c, Duration::from_secs(60), "4 COMPLETED tasks", || {
        let out = client(
            &c,
            "squeue",
            &["-h", "-r", "-t", "all", "-j", &id, "-o", "%i %T"],
        );
        let mut lines: Vec<&str> = out.lines().collect();
        lines.sort();
        tr.observe(lines.join(", "));
        (lines.len() == 4 && lines.iter().all(|l| l.ends_with(" COMPLETED")))
            .then(|| lines.join(", "))
    });
    eprintln!(
        "array job {id} completed in {:.1}s: {final_states}",
        t1.elapsed().as_secs_f64()
    );
    for i in 0..4 {
        let got = std::fs::read_to_string(dir.join(format!("task.{i}"))).unwrap();
        assert_eq!(got.trim(), i.to_string());
    }
    // scontrol: one line per task, each JobState=COMPLETED with its ArrayTaskId.
    let show = c.scontrol_show("job", &id).unwrap();
    let mut tasks: Vec<String> = show
        .lines()
        .map(|l| {
            format!(
                "ArrayTaskId={} JobState={} ExitCode={}",
                field(l, "ArrayTaskId").unwrap(),
                field(l, "JobState").unwrap(),
                field(l, "ExitCode").unwrap()
            )
        })
        .collect();
    tasks.sort();
    eprintln!("scontrol -o show job {id}: {tasks:?}");
    assert_eq!(tasks.len(), 4);
    assert!(tasks.iter().all(|t| t.contains("JobState=COMPLETED")));
    assert!(tasks.iter().all(|t| t.contains("ExitCode=0:0")));

    // Accounting storage is off: the runner can't use sacct.
    let o = c.command("sacct").args(["-j", &id]).output().unwrap();
    let said = text(&o);
    eprintln!("sacct -j {id}: exit {} {:?}", o.status, said.trim());
    assert!(!o.status.success());
    assert!(said.contains("accounting storage is disabled"), "{said}");
}

#[test]
fn scancel_ends_a_running_job() {
    let Some(c) = SlurmCluster::start() else {
        return;
    };
    let s = script(&c, "sleep.sh", "echo $$ > sleep.pid\nexec sleep 60\n");
    let id = sbatch(&c, &[], &s);
    wait_for(&c, Duration::from_secs(30), "job RUNNING", || {
        (squeue_state(&c, &id) == "RUNNING").then_some(())
    });
    let pid = wait_for(&c, Duration::from_secs(10), "sleep.pid", || {
        read_pid(c.dir(), "sleep.pid")
    });
    eprintln!("before scancel: {}", job_summary(&c, &id));
    let t = Instant::now();
    client(&c, "scancel", &[&id]);
    let mut tr = Transitions::new();
    wait_for(&c, Duration::from_secs(30), "job CANCELLED", || {
        let st = squeue_state(&c, &id);
        tr.observe(format!("squeue: {st} | scontrol: {}", job_summary(&c, &id)));
        (st == "CANCELLED").then_some(())
    });
    eprintln!("CANCELLED {:.1}s after scancel", t.elapsed().as_secs_f64());
    let line = c.scontrol_show("job", &id).unwrap();
    assert_eq!(field(&line, "JobState"), Some("CANCELLED"), "{line}");
    // The default squeue (pending and running jobs only) no longer lists it.
    assert_eq!(
        client(&c, "squeue", &["-h", "-j", &id, "-o", "%T"]).trim(),
        ""
    );
    wait_for(
        &c,
        Duration::from_secs(10),
        "the job's sleep to end",
        || process_gone(&pid).then_some(()),
    );
}

#[test]
fn killed_slurmd_marks_the_node_down_and_a_restart_returns_it() {
    let Some(mut c) = SlurmCluster::start() else {
        return;
    };
    let node = c.node().to_string();
    // B can't be requeued, so a node failure ends it; A (the default, Requeue=1) is requeued.
    let sb = script(&c, "b.sh", "echo $$ > b.pid\nexec sleep 60\n");
    let b = sbatch(&c, &["--no-requeue"], &sb);
    let a = (c.cpus() >= 2).then(|| {
        let sa = script(&c, "a.sh", "echo $$ > a.pid\nexec sleep 60\n");
        sbatch(&c, &[], &sa)
    });
    let jobs: Vec<&str> = [Some(b.as_str()), a.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    wait_for(&c, Duration::from_secs(30), "jobs RUNNING", || {
        jobs.iter()
            .all(|j| squeue_state(&c, j) == "RUNNING")
            .then_some(())
    });
    let pids: Vec<String> = ["b.pid", "a.pid"]
        .iter()
        .take(jobs.len())
        .map(|f| wait_for(&c, Duration::from_secs(10), f, || read_pid(c.dir(), f)))
        .collect();

    eprintln!("killing slurmd with jobs B={b} (--no-requeue) A={a:?} running");
    let t = Instant::now();
    c.kill_slurmd();
    let mut tr = Transitions::new();
    let observe = |c: &SlurmCluster, tr: &mut Transitions| {
        let node_line = c.scontrol_show("node", &node).unwrap_or_default();
        let reason = node_line
            .split_once("Reason=")
            .map_or("", |(_, r)| r.split(" [").next().unwrap_or(r).trim());
        let mut s = format!(
            "sinfo={} State={} Reason={reason:?} | B: {}",
            c.sinfo_state().unwrap_or_default(),
            field(&node_line, "State").unwrap_or(""),
            job_summary(c, &b)
        );
        if let Some(a) = &a {
            s += &format!(" | A: {}", job_summary(c, a));
        }
        tr.observe(s);
    };
    wait_for(
        &c,
        Duration::from_secs(120),
        "node DOWN, B NODE_FAIL",
        || {
            observe(&c, &mut tr);
            let state = c.node_state().unwrap_or_default();
            let b_done = job_summary(&c, &b).contains("JobState=NODE_FAIL");
            let a_requeued = a
                .as_ref()
                .is_none_or(|a| job_summary(&c, a).contains("Restarts=1"));
            (state.contains("DOWN") && b_done && a_requeued).then_some(())
        },
    );
    eprintln!("node DOWN {:.1}s after the kill", t.elapsed().as_secs_f64());
    assert!(
        tr.seen.iter().any(|s| s.contains("NOT_RESPONDING")),
        "{:?}",
        tr.seen
    );
    assert_eq!(c.node_state().as_deref(), Some("DOWN+NOT_RESPONDING"));
    let bs = job_summary(&c, &b);
    assert!(bs.contains("JobState=NODE_FAIL"), "{bs}");
    assert_eq!(squeue_state(&c, &b), "NODE_FAIL");
    if let Some(a) = &a {
        let s = job_summary(&c, a);
        assert!(
            s.contains("JobState=PENDING") && s.contains("Restarts=1"),
            "{s}"
        );
    }
    // The jobs' processes outlive slurmd (its slurmstepds are separate processes).
    assert!(pids.iter().all(|p| !process_gone(p)));

    let t = Instant::now();
    c.restart_slurmd();
    eprintln!(
        "slurmd restarted; node usable after {:.1}s",
        t.elapsed().as_secs_f64()
    );
    observe(&c, &mut tr);
    let state = c.node_state().unwrap();
    assert!(
        !state.contains("DOWN") && !state.contains("NOT_RESPONDING"),
        "{state}"
    );
    // On registering, slurmd reports the stale steps and the controller has them killed.
    wait_for(&c, Duration::from_secs(30), "orphaned jobs killed", || {
        pids.iter().all(|p| process_gone(p)).then_some(())
    });
    observe(&c, &mut tr);
}
