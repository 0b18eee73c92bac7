//! Reliability (issue 14), the daemon and local-runner part: the real binary SIGKILLed at
//! random points, evaluations that die or hang, bad result rows, and a store that is newer,
//! read-only, on a full disk or locked by someone else.
//!
//! Markers, so CI and a reader can pick them out by name:
//! * `slow_…`: runs for tens of seconds (the SIGKILL loop, the 5 s busy timeout).
//! * `root_…`: needs root for `chattr +i` or `mount -t tmpfs` (root bypasses file modes, so
//!   `chmod` proves nothing here). When the system refuses, the test prints
//!   `SKIPPED <test>: <reason>` (past the harness's capture) and returns.
//!
//! Tests named for a bug the suite found (a lock that stopped the daemon, a crash that left a
//! batch open, …) pin its fix.
//!
//! `RELIABILITY_SEED=N` replays the SIGKILL test with another seed (it prints the one it used).

mod common;

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{Fixture, bin, replace_section, stderr, stdout};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rusqlite::Connection;
use sha2::{Digest, Sha256};

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// A batch every second, small batches, a fast poll: everything happens often.
const FAST: &str =
    "[schedule]\ncron = \"* * * * * *\"\nbatch_size = 4\nqueue_depth = 8\npoll_s = 0.1\n";
/// A schedule that does not fire during a test.
const NEVER: &str =
    "[schedule]\ncron = \"0 0 3 1 1 *\"\nbatch_size = 8\nqueue_depth = 8\npoll_s = 0.1\n";

/// The parameters of the demo space, in config order.
const VT: [&str; 5] = ["RVT", "RVT+LVT", "LVT", "LVT+SLVT", "SLVT"];
const DATAFLOW: [&str; 3] = ["OS", "WS", "BOTH"];

/// Design number `i` of the demo space (distinct for `i < 10_800`, all legal): a 16×16 mesh
/// with every combination of clock, Vt flavour, dataflow and bank counts.
fn design(i: usize) -> serde_json::Value {
    assert!(i < 10_800, "design {i} would repeat");
    let sp_banks = [1, 2, 4, 8, 16][(i / 540) % 5];
    let acc_banks = [1, 2, 4, 8][(i / 2700) % 4];
    serde_json::json!({
        "mesh_rows": 16, "mesh_cols": 16, "tile_rows": 1, "tile_cols": 1,
        "dataflow": DATAFLOW[(i / 180) % 3],
        "sp_capacity_kib": 256, "sp_banks": sp_banks,
        "acc_capacity_kib": 64, "acc_banks": acc_banks,
        "clock_ps": 250 + 50 * (i % 36) as i64,
        "vt_flavour": VT[(i / 36) % 5],
    })
}

/// Metrics as the inbox wants them.
fn metrics(latency: f64, power: f64, area: f64) -> String {
    format!(r#"{{"latency_ms": {latency}, "power_mw": {power}, "area_mm2": {area}}}"#)
}

/// Replace `find` in the fixture's config (it must be there).
fn edit_config(fx: &Fixture, find: &str, replace: &str) {
    let text = std::fs::read_to_string(fx.config_path()).unwrap();
    assert!(text.contains(find), "the config has {find:?}");
    fx.write("config.toml", &text.replacen(find, replace, 1));
}

/// Move the store to `rel` (relative to the config's folder); returns its path.
fn move_store(fx: &Fixture, rel: &str) -> PathBuf {
    edit_config(fx, "path = \"demo.db\"", &format!("path = \"{rel}\""));
    fx.path(rel)
}

/// Use the `command` evaluator: `flow.sh` (executable, in the config's folder) with
/// `{clock_ps}` as its argument, and `runner` as the `[runner]` section.
fn use_command(fx: &Fixture, script: &str, timeout_s: f64, runner: &str) {
    fx.use_flow(
        script,
        r#"["./flow.sh", "{clock_ps}"]"#,
        &format!("timeout_s = {timeout_s}\n"),
    );
    let text = std::fs::read_to_string(fx.config_path()).unwrap();
    fx.write("config.toml", &replace_section(&text, "[runner]", runner));
}

/// A connection to a store file with a generous busy timeout.
fn open(path: &Path) -> Connection {
    let c = Connection::open(path).unwrap();
    c.busy_timeout(Duration::from_secs(10)).unwrap();
    c
}

fn count(c: &Connection, sql: &str) -> i64 {
    c.query_row(sql, [], |r| r.get(0))
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

fn integrity(path: &Path) -> String {
    let c = open(path);
    let rows: Vec<String> = c
        .prepare("PRAGMA integrity_check")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let fk = count(&c, "SELECT count(*) FROM pragma_foreign_key_check");
    assert_eq!(fk, 0, "foreign keys of {} hold", path.display());
    rows.join("; ")
}

/// Every result with its values, one line each, oldest first (derived columns such as
/// `on_front` left out: a new result may change them legitimately).
fn results_dump(path: &Path) -> Vec<String> {
    let c = open(path);
    let mut stmt = c
        .prepare(
            "SELECT r.id || '|' || r.design_id || '|' || ifnull(r.proposal_id, '-') || '|' ||
                    r.status || '|' || ifnull(r.error, '-') || '|' || ifnull(r.feasible, '-') || '|' ||
                    r.source || '|' || ifnull(r.evaluator, '-') || '|' ||
                    ifnull((SELECT group_concat(m, ';') FROM
                              (SELECT metric || '=' || printf('%.17g', value) AS m
                               FROM result_values v WHERE v.result_id = r.id ORDER BY metric)), '-')
             FROM results r ORDER BY r.id",
        )
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn checksum(lines: &[String]) -> String {
    let mut h = Sha256::new();
    for l in lines {
        h.update(l.as_bytes());
        h.update(b"\n");
    }
    h.finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The counts that must not go down, and the results' checksum.
#[derive(Debug, PartialEq)]
struct Snapshot {
    designs: i64,
    proposals: i64,
    results: i64,
    values: i64,
    inbox: i64,
    dump: Vec<String>,
}

impl Snapshot {
    fn take(path: &Path) -> Self {
        let c = open(path);
        Snapshot {
            designs: count(&c, "SELECT count(*) FROM designs"),
            proposals: count(&c, "SELECT count(*) FROM proposals"),
            results: count(&c, "SELECT count(*) FROM results"),
            values: count(&c, "SELECT count(*) FROM result_values"),
            inbox: count(&c, "SELECT count(*) FROM inbox"),
            dump: results_dump(path),
        }
    }

    /// Everything in `self` is still in `later`, unchanged.
    fn kept_in(&self, later: &Snapshot, what: &str) {
        assert!(
            later.designs >= self.designs
                && later.proposals >= self.proposals
                && later.results >= self.results
                && later.values >= self.values
                && later.inbox >= self.inbox,
            "{what}: nothing may disappear: before {:?}, after {:?}",
            (
                self.designs,
                self.proposals,
                self.results,
                self.values,
                self.inbox
            ),
            (
                later.designs,
                later.proposals,
                later.results,
                later.values,
                later.inbox
            ),
        );
        let n = self.dump.len();
        assert_eq!(
            checksum(&later.dump[..n]),
            checksum(&self.dump),
            "{what}: the results stored before are unchanged"
        );
        assert_eq!(later.dump[..n], self.dump[..], "{what}");
    }
}

/// Poll `done` every 20 ms; panic with `what` after `secs`.
fn wait_for(what: &str, secs: f64, mut done: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !done() {
        assert!(
            t0.elapsed() < Duration::from_secs_f64(secs),
            "timed out after {secs} s waiting for {what}"
        );
        thread::sleep(Duration::from_millis(20));
    }
}

/// Say that (part of) a test was skipped and why. Written to stderr directly, past the test
/// harness's capture, so the line shows in a plain `cargo test` run too.
fn skip(test: &str, reason: &str) {
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {reason}");
}

/// A daemon child process with its stderr in a file; killed if the test ends first.
struct Daemon {
    child: Child,
    log: PathBuf,
}

impl Daemon {
    fn start(fx: &Fixture, log: &str) -> Self {
        let log = fx.path(log);
        let child = bin()
            .args(["daemon", "--config", fx.config_path().to_str().unwrap()])
            .current_dir(fx.dir.path())
            .stdout(Stdio::null())
            .stderr(File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Daemon { child, log }
    }

    fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(self.child.id() as i32, sig) };
    }

    /// SIGKILL and reap.
    fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    fn wait_timeout(&mut self, limit: Duration) -> Option<ExitStatus> {
        let t0 = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if t0.elapsed() > limit {
                return None;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM; the daemon must exit within 20 s. Returns its status and log.
    fn stop(mut self) -> (ExitStatus, String) {
        self.signal(libc::SIGTERM);
        let status = self
            .wait_timeout(Duration::from_secs(20))
            .expect("the daemon stops within 20 s of SIGTERM");
        (status, self.log())
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A command that must fail cleanly: not a panic, not a signal.
fn assert_clean_failure(out: &std::process::Output, what: &str) -> String {
    let err = stderr(out);
    assert!(
        !err.contains("panicked"),
        "{what}: no panic, got stderr {err}"
    );
    assert!(
        out.status.code().is_some_and(|c| c != 0 && c != 101),
        "{what}: exits with an error status, got {:?}: {err}",
        out.status
    );
    err
}

/// Run the binary with `args` (the config is added) in the fixture's folder.
fn cli(fx: &Fixture, args: &[&str]) -> std::process::Output {
    let cfg = fx.config_path();
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--config", cfg.to_str().unwrap()]);
    bin().args(all).current_dir(fx.dir.path()).output().unwrap()
}

/// Run `ingest` on a file holding `[]`: no new rows, but the NEW inbox rows written with SQL
/// are validated, and each rejection is printed.
fn ingest_inbox(fx: &Fixture) -> std::process::Output {
    std::fs::write(fx.path("empty.json"), "[]").unwrap();
    let cfg = fx.config_path();
    bin()
        .args([
            "ingest",
            "--config",
            cfg.to_str().unwrap(),
            fx.path("empty.json").to_str().unwrap(),
        ])
        .current_dir(fx.dir.path())
        .output()
        .unwrap()
}

/// A store with real results: two manual batches of the analytical model.
fn populated(fx: &Fixture) {
    for _ in 0..2 {
        let out = cli(fx, &["batch", "run"]);
        assert!(out.status.success(), "batch run: {}", stderr(&out));
    }
}

/// `chattr +i PATH` while alive, `chattr -i` on drop.
struct Immutable(PathBuf);

impl Immutable {
    /// `None` (with the reason) when the file system or the user can't.
    fn set(path: &Path) -> Result<Self, String> {
        let out = Command::new("chattr")
            .arg("+i")
            .arg(path)
            .output()
            .map_err(|e| format!("chattr not available: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "chattr +i {} failed: {}",
                path.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        let guard = Immutable(path.to_path_buf());
        // Root ignores file modes; the immutable flag must stop even root.
        let probe = if path.is_dir() {
            File::create(path.join(".probe")).is_err()
        } else {
            std::fs::OpenOptions::new().append(true).open(path).is_err()
        };
        if !probe {
            return Err("chattr +i did not stop writes".into());
        }
        Ok(guard)
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = Command::new("chattr").arg("-i").arg(&self.0).status();
    }
}

/// A tmpfs mounted at a folder while alive, unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, options: &str) -> Result<Self, String> {
        std::fs::create_dir_all(at).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(at)
            .output()
            .map_err(|e| format!("mount not available: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "mount -t tmpfs -o {options} failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(Tmpfs(at.to_path_buf()))
    }

    fn remount(&self, options: &str) {
        let out = Command::new("mount")
            .args(["-o", &format!("remount,{options}")])
            .arg(&self.0)
            .output()
            .unwrap();
        assert!(out.status.success(), "remount {options}: {out:?}");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let ok = Command::new("umount")
            .arg(&self.0)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
}

/// The byte content of a file, for "left untouched".
fn bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

// ---------------------------------------------------------------------------------------
// 1. SIGKILL at random points
// ---------------------------------------------------------------------------------------

/// What the SQL writer thread wrote: one row per design number, tagged in `evaluator`.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Row {
    Good { latency: f64 },
    NaN,
    IllegalParam,
    UnknownProposal,
}

impl Row {
    fn expected_reason(self) -> Option<&'static str> {
        match self {
            Row::Good { .. } => None,
            Row::NaN => Some("metric 'power_mw' is \"NaN\""),
            Row::IllegalParam => Some("invalid design: clock_ps = 275 is not legal"),
            Row::UnknownProposal => Some("unknown design: no proposal 987654321"),
        }
    }
}

/// A user's flow writing result rows with plain SQL, at random intervals, into the store
/// that the daemon (killed over and over) ingests.
struct Writer {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<Vec<(String, Row)>>,
}

impl Writer {
    fn spawn(path: PathBuf, seed: u64) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = thread::spawn(move || {
            let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
            // Wait for the daemon to create and migrate the store.
            let c = loop {
                if path.exists() {
                    let c = open(&path);
                    if c.query_row("SELECT count(*) FROM inbox", [], |r| r.get::<_, i64>(0))
                        .is_ok()
                    {
                        break c;
                    }
                }
                assert!(!flag.load(Ordering::SeqCst), "the store never appeared");
                thread::sleep(Duration::from_millis(20));
            };
            let mut written = Vec::new();
            let mut i = 0;
            while !flag.load(Ordering::SeqCst) {
                let tag = format!("writer-{i}");
                let row = match i % 10 {
                    3 => Row::NaN,
                    6 => Row::IllegalParam,
                    9 => Row::UnknownProposal,
                    _ => Row::Good {
                        latency: 5.0 + i as f64 / 1000.0,
                    },
                };
                let mut params = design(i);
                let (proposal, metrics_text) = match row {
                    Row::Good { latency } => {
                        (None, metrics(latency, 200.0 - i as f64 / 100.0, 0.2))
                    }
                    Row::NaN => (
                        None,
                        r#"{"latency_ms": 1.0, "power_mw": "NaN", "area_mm2": 0.1}"#.to_string(),
                    ),
                    Row::IllegalParam => {
                        params["clock_ps"] = 275.into();
                        (None, metrics(1.0, 1.0, 0.1))
                    }
                    Row::UnknownProposal => (Some(987_654_321_i64), metrics(1.0, 1.0, 0.1)),
                };
                let params_text = proposal.is_none().then(|| params.to_string());
                // A statement either commits or fails whole; retry until it commits.
                let mut tries = 0;
                loop {
                    match c.execute(
                        "INSERT INTO inbox (proposal_id, params, metrics, evaluator, source)
                         VALUES (?1, ?2, ?3, ?4, 'writer')",
                        rusqlite::params![proposal, params_text, metrics_text, tag],
                    ) {
                        Ok(_) => break,
                        Err(e) => {
                            tries += 1;
                            assert!(tries < 200, "the writer could not insert: {e}");
                            thread::sleep(Duration::from_millis(25));
                        }
                    }
                }
                written.push((tag, row));
                i += 1;
                thread::sleep(Duration::from_millis(rng.random_range(5..40)));
            }
            written
        });
        Writer { stop, handle }
    }

    fn finish(self) -> Vec<(String, Row)> {
        self.stop.store(true, Ordering::SeqCst);
        self.handle.join().expect("the writer thread did not panic")
    }
}

/// Sleep until `offset_ms` past the next whole second of the wall clock (when a
/// `* * * * * *` schedule fires).
fn sleep_past_next_second(offset_ms: u64) {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let into = now.subsec_millis() as u64;
    thread::sleep(Duration::from_millis(1000 - into + offset_ms));
}

/// SIGKILL the real daemon at least 30 times at random points (seeded), restarting it each
/// time, while another thread writes result rows with plain SQL; then one clean run and
/// SIGTERM. Kills are aimed at three windows: the start (recovery, first ingest, refit,
/// proposing), just after a whole second (the batch: claim, evaluations, inbox writes) and
/// anywhere (cycles ingesting the writer's rows). Afterwards nothing is lost, doubled or stuck.
#[test]
fn slow_sigkill_at_random_points_loses_and_doubles_nothing() {
    const MIN_KILLS: usize = 30;
    const MAX_KILLS: usize = 60;
    let seed = std::env::var("RELIABILITY_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(14);
    eprintln!("sigkill test: seed {seed} (RELIABILITY_SEED=N replays another)");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let fx = Fixture::new(FAST);
    let text = std::fs::read_to_string(fx.config_path()).unwrap();
    fx.write(
        "config.toml",
        &format!("{text}\n[model]\nretrain_every = 4\n"),
    );
    let store = fx.store_path();
    let writer = Writer::spawn(store.clone(), seed);

    let t0 = Instant::now();
    let mut kills = 0;
    // Kills that found proposals in flight (a batch cut short), NEW inbox rows (ingest
    // pending), and kills during the first 400 ms of a run (start-up work).
    let (mut in_batch, mut in_ingest, mut at_start) = (0, 0, 0);
    let mut recovered_runs = 0;
    while kills < MIN_KILLS
        || ((in_batch < 3 || in_ingest < 3) && kills < MAX_KILLS && t0.elapsed().as_secs() < 40)
    {
        let daemon = Daemon::start(&fx, &format!("run-{kills}.log"));
        match rng.random_range(0..3) {
            0 => {
                at_start += 1;
                thread::sleep(Duration::from_millis(rng.random_range(0..400)));
            }
            1 => {
                thread::sleep(Duration::from_millis(150));
                // The batch runs in the first ~5 ms after the second.
                sleep_past_next_second(rng.random_range(0..6));
            }
            _ => thread::sleep(Duration::from_millis(rng.random_range(0..2500))),
        }
        let log = daemon.log.clone();
        daemon.kill9();
        kills += 1;
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        assert!(!text.contains("panicked"), "run {kills}: {text}");
        if text.contains("requeued proposals left DISPATCHED or RUNNING") {
            recovered_runs += 1;
        }
        if let Some(c) = store.exists().then(|| open(&store)) {
            let flying = c
                .query_row(
                    "SELECT count(*) FROM proposals WHERE state IN ('DISPATCHED', 'RUNNING')",
                    [],
                    |r| r.get::<_, i64>(0),
                )
                .unwrap_or(0);
            let new = c
                .query_row("SELECT count(*) FROM inbox WHERE state = 'NEW'", [], |r| {
                    r.get::<_, i64>(0)
                })
                .unwrap_or(0);
            in_batch += usize::from(flying > 0);
            in_ingest += usize::from(new > 0);
        }
    }
    let written = writer.finish();
    eprintln!(
        "sigkill test: {kills} kills in {:.1} s ({at_start} aimed at start-up, {in_batch} with proposals in flight, \
         {in_ingest} with inbox rows pending, {recovered_runs} runs that requeued a killed batch); {} rows written with SQL",
        t0.elapsed().as_secs_f64(),
        written.len()
    );
    assert!(kills >= MIN_KILLS);
    assert!(
        in_batch >= 1 && in_ingest >= 1,
        "kills landed during batches ({in_batch}) and with ingest pending ({in_ingest})"
    );

    // One last clean run: it ingests what is left, runs a batch, and stops on SIGTERM.
    let c = open(&store);
    let done_before = count(&c, "SELECT count(*) FROM batches WHERE state = 'DONE'");
    let daemon = Daemon::start(&fx, "final.log");
    wait_for(
        "the last run to ingest every row and run a batch",
        30.0,
        || {
            count(&c, "SELECT count(*) FROM inbox WHERE state = 'NEW'") == 0
                && count(&c, "SELECT count(*) FROM batches WHERE state = 'DONE'") > done_before
        },
    );
    let (status, log) = daemon.stop();
    assert_eq!(status.code(), Some(0), "a clean stop: {log}");

    // Every row the writer wrote was accepted or rejected exactly once, as it deserved.
    let mut by_tag: HashMap<String, (String, Option<String>, Option<i64>)> = HashMap::new();
    let mut stmt = c
        .prepare("SELECT evaluator, state, reason, result_id FROM inbox WHERE source = 'writer'")
        .unwrap();
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?, r.get(3)?))))
        .unwrap();
    for row in rows {
        let (tag, v): (String, _) = row.unwrap();
        assert!(
            by_tag.insert(tag.clone(), v).is_none(),
            "{tag} is in the inbox once"
        );
    }
    assert_eq!(
        by_tag.len(),
        written.len(),
        "every written row is in the inbox"
    );
    for (tag, row) in &written {
        let (state, reason, result) = &by_tag[tag];
        match row.expected_reason() {
            None => {
                assert_eq!(state, "ACCEPTED", "{tag}: {reason:?}");
                let Row::Good { latency } = row else {
                    unreachable!()
                };
                let stored: f64 = c
                    .query_row(
                        "SELECT value FROM result_values WHERE result_id = ?1 AND metric = 'latency_ms'",
                        [result.expect("an accepted row names its result")],
                        |r| r.get(0),
                    )
                    .unwrap();
                assert_eq!(stored, *latency, "{tag}: its metrics were stored whole");
            }
            Some(want) => {
                assert_eq!(state, "REJECTED", "{tag}");
                let reason = reason.as_deref().unwrap_or("");
                assert!(
                    reason.contains(want),
                    "{tag}: {reason:?} should say {want:?}"
                );
            }
        }
    }

    let zero = |what: &str, sql: &str| assert_eq!(count(&c, sql), 0, "{what}: {sql}");
    let one = |what: &str, sql: &str| assert_eq!(count(&c, sql), 1, "{what}: {sql}");
    zero(
        "no inbox row left NEW",
        "SELECT count(*) FROM inbox WHERE state = 'NEW'",
    );
    one(
        "every accepted inbox row has its own result",
        "SELECT count(*) = count(DISTINCT result_id) AND count(result_id) = count(*)
         FROM inbox WHERE state = 'ACCEPTED'",
    );
    one(
        "results and accepted rows match one to one",
        "SELECT (SELECT count(*) FROM results) = (SELECT count(*) FROM inbox WHERE state = 'ACCEPTED')",
    );
    zero(
        "every result came from an accepted inbox row",
        "SELECT count(*) FROM results r WHERE NOT EXISTS
           (SELECT 1 FROM inbox i WHERE i.result_id = r.id AND i.state = 'ACCEPTED')",
    );
    one(
        "no duplicate results per proposal",
        "SELECT count(*) = count(DISTINCT proposal_id) FROM results WHERE proposal_id IS NOT NULL",
    );
    one(
        "results without a proposal are for distinct designs",
        "SELECT count(*) = count(DISTINCT design_id) FROM results WHERE proposal_id IS NULL",
    );
    zero(
        "no proposal stuck in flight",
        "SELECT count(*) FROM proposals WHERE state IN ('DISPATCHED', 'RUNNING')",
    );
    zero(
        "no design live twice",
        "SELECT count(*) FROM (SELECT design_id FROM proposals
           WHERE state IN ('QUEUED', 'DISPATCHED', 'RUNNING') GROUP BY design_id HAVING count(*) > 1)",
    );
    zero(
        "every DONE proposal has exactly one result",
        "SELECT count(*) FROM proposals p WHERE p.state = 'DONE'
           AND (SELECT count(*) FROM results r WHERE r.proposal_id = p.id) <> 1",
    );
    zero(
        "every OK result has every objective",
        "SELECT count(*) FROM results r WHERE r.status = 'OK' AND
           (SELECT count(*) FROM result_values v WHERE v.result_id = r.id
             AND v.metric IN ('latency_ms', 'power_mw', 'area_mm2')) <> 3",
    );
    assert!(count(&c, "SELECT count(*) FROM proposals WHERE state = 'DONE'") > 0);
    assert_eq!(integrity(&store), "ok");

    // A batch cut short is closed at the next start, and a result written just before a kill
    // finishes its own proposal (both also tested on their own below).
    zero(
        "batches left RUNNING",
        "SELECT count(*) FROM batches WHERE state = 'RUNNING'",
    );
    zero(
        "proposals cancelled although their own batch's result was accepted",
        "SELECT count(*) FROM proposals p JOIN results r ON r.proposal_id = p.id
         WHERE p.state = 'CANCELLED' AND r.source = 'batch'",
    );
    eprintln!("sigkill test: {:.1} s in all", t0.elapsed().as_secs_f64());
}

/// What a SIGKILL between a batch's inbox write and the next ingest leaves on disk: the
/// proposal RUNNING in a RUNNING batch, its result NEW in the inbox. Returns the proposal.
fn killed_after_the_result_was_written(fx: &Fixture) -> i64 {
    let daemon = Daemon::start(fx, "fill.log");
    wait_for("the queue to fill", 20.0, || {
        fx.try_count("SELECT count(*) FROM proposals WHERE state = 'QUEUED'")
            .is_some_and(|n| n >= 2)
    });
    daemon.kill9();
    let c = fx.sql();
    let proposal: i64 = c
        .query_row(
            "SELECT min(id) FROM proposals WHERE state = 'QUEUED'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    c.execute_batch(&format!(
        "BEGIN;
         INSERT INTO batches (runner, state, size, trigger) VALUES ('local', 'RUNNING', 1, 'cron');
         UPDATE proposals SET state = 'RUNNING', attempts = 1, batch_id = last_insert_rowid()
           WHERE id = {proposal};
         INSERT INTO inbox (proposal_id, metrics, evaluator, runtime_s, source)
           VALUES ({proposal}, '{}', 'gemmini-model', 0.001, 'batch');
         COMMIT;",
        metrics(30.0, 90.0, 0.3)
    ))
    .unwrap();
    proposal
}

/// After a SIGKILL mid-batch, the next start requeues the batch's proposals but leaves the
/// batch row RUNNING for ever (docs/schema.md: INTERRUPTED is for a batch stopped early whose
/// unfinished proposals were requeued).
#[test]
fn a_batch_cut_short_by_sigkill_is_closed_at_the_next_start() {
    let fx = Fixture::new(NEVER);
    let proposal = killed_after_the_result_was_written(&fx);
    let batch: i64 = fx.count(&format!(
        "SELECT batch_id FROM proposals WHERE id = {proposal}"
    ));
    let daemon = Daemon::start(&fx, "restart.log");
    wait_for("the restart to ingest the row", 20.0, || {
        fx.count("SELECT count(*) FROM inbox WHERE state = 'NEW'") == 0
    });
    let (status, log) = daemon.stop();
    assert_eq!(status.code(), Some(0), "{log}");
    let state: String = fx
        .sql()
        .query_row("SELECT state FROM batches WHERE id = ?1", [batch], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(
        state, "INTERRUPTED",
        "batch {batch}, whose daemon was killed, is closed"
    );
}

/// A batch wrote its result to the inbox, then the daemon was SIGKILLed before the next
/// ingest. At restart, `sync_store` requeues the RUNNING proposal first and only then ingests
/// the row, which finds the proposal QUEUED and CANCELS it "evaluated elsewhere", although it
/// is the proposal's own result. It should be DONE.
#[test]
fn a_result_written_just_before_a_sigkill_finishes_its_proposal() {
    let fx = Fixture::new(NEVER);
    let proposal = killed_after_the_result_was_written(&fx);
    let daemon = Daemon::start(&fx, "restart.log");
    wait_for("the restart to ingest the row", 20.0, || {
        fx.count("SELECT count(*) FROM inbox WHERE state = 'NEW'") == 0
    });
    let (status, log) = daemon.stop();
    assert_eq!(status.code(), Some(0), "{log}");
    let (state, reason): (String, Option<String>) = fx
        .sql()
        .query_row(
            "SELECT state, reason FROM proposals WHERE id = ?1",
            [proposal],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(
        fx.count(&format!(
            "SELECT count(*) FROM results WHERE proposal_id = {proposal}"
        )),
        1,
        "its result was accepted"
    );
    assert_eq!(
        state, "DONE",
        "proposal {proposal} got its own batch's result: {reason:?}"
    );
}

// ---------------------------------------------------------------------------------------
// 2. Lost work: killed, hung, failing evaluations
// ---------------------------------------------------------------------------------------

/// One flow whose behaviour the test picks by writing the file `mode` next to it.
const MODAL_FLOW: &str = r#"#!/bin/sh
mode=$(cat "$(dirname "$0")/mode")
case "$mode" in
  selfkill) kill -KILL $$ ;;
  hang) exec sleep 60 ;;
  victim) echo $$ > pid; exec sleep 60 ;;
  exit3) echo "flow: no licence left for synthesis" >&2; exit 3 ;;
esac
echo "{\"latency_ms\": $1, \"power_mw\": 50, \"area_mm2\": 0.1}"
"#;

/// Every FAILED proposal: (id, reason, its result's error).
fn failed(path: &Path) -> Vec<(i64, String, String)> {
    let c = open(path);
    let mut stmt = c
        .prepare(
            "SELECT p.id, ifnull(p.reason, ''), ifnull(r.error, '<no result>') FROM proposals p
             LEFT JOIN results r ON r.proposal_id = p.id AND r.status = 'FAILED'
             WHERE p.state = 'FAILED' ORDER BY p.id",
        )
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// The `failures` view's reasons for FAILED results.
fn failure_view(path: &Path) -> Vec<String> {
    let c = open(path);
    let mut stmt = c
        .prepare("SELECT reason FROM failures WHERE kind = 'result' ORDER BY id")
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Through `batch run` (the local runner the daemon uses): an evaluation that SIGKILLs
/// itself is retried while attempts are left and then FAILED naming signal 9; one that hangs
/// past `timeout_s` is FAILED "timed out"; one that exits 3 is FAILED with its exit status and
/// last stderr line. Each reason is in `proposals.reason`, `results.error` and `failures`.
#[test]
fn lost_work_killed_hung_and_failing_evaluations_end_failed_with_the_reason() {
    let fx = Fixture::new(
        "[schedule]\ncron = \"0 0 3 1 1 *\"\nbatch_size = 2\nqueue_depth = 6\npoll_s = 0.1\n",
    );
    use_command(
        &fx,
        MODAL_FLOW,
        1.0,
        "[runner]\nkind = \"local\"\nparallel = 2\ntimeout_s = 30\nmax_attempts = 2\n",
    );
    let store = fx.store_path();
    let batch = |mode: &str| {
        std::fs::write(fx.path("mode"), mode).unwrap();
        let t0 = Instant::now();
        let out = cli(&fx, &["batch", "run"]);
        let err = stderr(&out);
        assert!(!err.contains("panicked"), "{mode}: {err}");
        assert_eq!(out.status.code(), Some(0), "{mode}: {err}");
        eprintln!(
            "lost work: batch run ({mode}) took {:.1} s",
            t0.elapsed().as_secs_f64()
        );
        err
    };

    // Killed by a signal: the work is lost, not judged: queued again once, then FAILED.
    let err = batch("selfkill");
    assert!(
        err.contains("2 queued again") || err.contains("0 failed"),
        "{err}"
    );
    let c = open(&store);
    let retried: Vec<(i64, String, i64)> = c
        .prepare("SELECT id, reason, attempts FROM proposals WHERE state = 'QUEUED' AND reason IS NOT NULL ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(retried.len(), 2, "both lost evaluations are queued again");
    for (id, reason, attempts) in &retried {
        assert!(
            reason.contains("signal 9") && reason.contains("queued again"),
            "proposal {id}: {reason}"
        );
        assert_eq!(*attempts, 1, "proposal {id}");
    }
    batch("selfkill");
    let after_kill = failed(&store);
    assert_eq!(after_kill.len(), 2, "{after_kill:?}");
    for (id, reason, error) in &after_kill {
        assert!(retried.iter().any(|r| r.0 == *id), "the same proposals");
        assert!(
            reason.contains("killed by signal 9") && reason.contains("after 2 attempts"),
            "proposal {id}: {reason}"
        );
        assert_eq!(reason, error, "proposal {id}: results.error says the same");
    }

    // Hung past timeout_s = 1: killed and FAILED "timed out".
    batch("hang");
    let all = failed(&store);
    let hung: Vec<_> = all.iter().filter(|f| !after_kill.contains(f)).collect();
    assert_eq!(hung.len(), 2, "{all:?}");
    for (id, reason, error) in &hung {
        assert!(
            reason.contains("timed out after 1s"),
            "proposal {id}: {reason}"
        );
        assert_eq!(reason, error);
    }

    // A non-zero exit: FAILED with the status and the last stderr line.
    batch("exit3");
    let all = failed(&store);
    assert_eq!(all.len(), 6, "{all:?}");
    let exited: Vec<_> = all[4..].to_vec();
    for (id, reason, _) in &exited {
        assert!(
            reason.contains("exit status 3") && reason.contains("no licence left"),
            "proposal {id}: {reason}"
        );
    }

    let view = failure_view(&store);
    assert_eq!(view.len(), 6, "{view:?}");
    for (_, reason, _) in &all {
        assert!(view.contains(reason), "{reason} is in the failures view");
    }
    assert_eq!(
        count(
            &c,
            "SELECT count(*) FROM proposals WHERE state IN ('DISPATCHED', 'RUNNING')"
        ),
        0
    );
    assert_eq!(
        count(&c, "SELECT count(*) FROM inbox WHERE state <> 'ACCEPTED'"),
        0,
        "every failure was recorded as a result"
    );
    assert_eq!(integrity(&store), "ok");
}

/// Under the daemon: an evaluation killed by someone else (SIGKILL to its process, as the
/// OOM killer would) is retried and then FAILED, naming the signal; the daemon carries on
/// and stops cleanly.
#[test]
fn lost_work_an_evaluation_killed_from_outside_under_the_daemon_ends_failed() {
    let fx = Fixture::new(
        "[schedule]\ncron = \"* * * * * *\"\nbatch_size = 2\nqueue_depth = 4\npoll_s = 0.1\n",
    );
    use_command(
        &fx,
        MODAL_FLOW,
        30.0,
        "[runner]\nkind = \"local\"\nparallel = 2\ntimeout_s = 60\nmax_attempts = 2\n",
    );
    std::fs::write(fx.path("mode"), "victim").unwrap();
    let daemon = Daemon::start(&fx, "daemon.log");
    let mut killed: Vec<PathBuf> = Vec::new();
    let runs = fx.path("runs");
    wait_for("two evaluations killed twice to end FAILED", 40.0, || {
        for pid_file in pid_files(&runs) {
            if killed.contains(&pid_file) {
                continue;
            }
            let Some(pid) = std::fs::read_to_string(&pid_file)
                .ok()
                .and_then(|s| s.trim().parse::<i32>().ok())
            else {
                continue; // being written
            };
            // SAFETY: kill(2); the pid is our flow script's (it exec'd sleep), still running.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            killed.push(pid_file);
        }
        fx.try_count("SELECT count(*) FROM proposals WHERE state = 'FAILED'")
            .is_some_and(|n| n >= 2)
    });
    let (status, log) = daemon.stop();
    assert_eq!(status.code(), Some(0), "{log}");
    let store = fx.store_path();
    let all = failed(&store);
    assert!(all.len() >= 2, "{all:?}");
    for (id, reason, error) in &all {
        assert!(
            reason.contains("killed by signal 9") && reason.contains("after 2 attempts"),
            "proposal {id}: {reason}"
        );
        assert_eq!(reason, error);
    }
    let view = failure_view(&store);
    assert!(view.iter().all(|r| r.contains("signal 9")), "{view:?}");
    assert_eq!(
        fx.count("SELECT count(*) FROM proposals WHERE state IN ('DISPATCHED', 'RUNNING')"),
        0,
        "the evaluations still running at SIGTERM were requeued"
    );
    assert_eq!(integrity(&store), "ok");
}

/// Every `pid` file under the runs folder.
fn pid_files(runs: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(batches) = std::fs::read_dir(runs) else {
        return out;
    };
    for b in batches.flatten() {
        let Ok(proposals) = std::fs::read_dir(b.path()) else {
            continue;
        };
        for p in proposals.flatten() {
            let f = p.path().join("pid");
            if f.is_file() {
                out.push(f);
            }
        }
    }
    out.sort();
    out
}

// ---------------------------------------------------------------------------------------
// 3. Bad inputs
// ---------------------------------------------------------------------------------------

/// One inbox row written with plain SQL, and the reason it must be rejected with.
struct BadRow {
    what: &'static str,
    want: &'static str,
    proposal: rusqlite::types::Value,
    design: Option<i64>,
    params: Option<String>,
    metrics: Option<String>,
    status: &'static str,
}

impl BadRow {
    fn new(what: &'static str, want: &'static str) -> Self {
        BadRow {
            what,
            want,
            proposal: rusqlite::types::Value::Null,
            design: None,
            params: None,
            metrics: None,
            status: "ok",
        }
    }
    fn proposal(self, proposal: rusqlite::types::Value) -> Self {
        BadRow { proposal, ..self }
    }
    fn design(self, id: i64) -> Self {
        BadRow {
            design: Some(id),
            ..self
        }
    }
    fn params(self, params: serde_json::Value) -> Self {
        self.params_text(&params.to_string())
    }
    fn params_text(self, text: &str) -> Self {
        BadRow {
            params: Some(text.to_string()),
            ..self
        }
    }
    fn metrics(self, text: Option<&str>) -> Self {
        BadRow {
            metrics: text.map(str::to_string),
            ..self
        }
    }
    fn status(self, status: &'static str) -> Self {
        BadRow { status, ..self }
    }
}

/// Rows written with plain SQL, each wrong in its own way, are each rejected with a reason
/// naming the problem, printed by `ingest` and kept in the inbox; what was stored before is
/// unchanged. A negative latency is accepted: `src/qor.rs` allows negative values for every
/// metric (callers are to judge per objective, and nothing does), so it even takes over the
/// front; the test pins that down so a change is a decision.
#[test]
fn bad_rows_are_rejected_with_their_reason_and_nothing_stored_is_lost() {
    let fx = Fixture::new(NEVER);
    populated(&fx);
    let store = fx.store_path();
    let before = Snapshot::take(&store);
    assert!(before.results >= 16, "{before:?}");
    let c = open(&store);
    let done: i64 = count(&c, "SELECT min(proposal_id) FROM results");
    let front_before = count(&c, "SELECT count(*) FROM pareto_front");
    let p = |i: usize| design(i).to_string();
    let mut illegal = design(1);
    illegal["clock_ps"] = 275.into();
    let mut unknown_param = design(2);
    unknown_param["speed"] = 8.into();
    let mut missing_param = design(3);
    missing_param.as_object_mut().unwrap().remove("vt_flavour");
    use rusqlite::types::Value::{Integer, Text};

    let mut cases: Vec<BadRow> = [
        (
            10,
            r#"{"latency_ms": "NaN", "power_mw": 1, "area_mm2": 0.1}"#,
            "NaN as a string",
            "metric 'latency_ms' is \"NaN\", expected a finite number",
        ),
        (
            11,
            r#"{"latency_ms": 1, "power_mw": "Infinity", "area_mm2": 0.1}"#,
            "Infinity as a string",
            "metric 'power_mw' is \"Infinity\"",
        ),
        (
            12,
            r#"{"latency_ms": Infinity, "power_mw": 1, "area_mm2": 0.1}"#,
            "Infinity bare",
            "the report is not JSON",
        ),
        (
            13,
            r#"{"latency_ms": 1e999, "power_mw": 1, "area_mm2": 0.1}"#,
            "a number past f64",
            "number out of range",
        ),
        (
            14,
            r#"{"latency_ms": null, "power_mw": 1, "area_mm2": 0.1}"#,
            "a null metric",
            "metric 'latency_ms' is null",
        ),
        (
            15,
            r#"{"latency_ms": 1, "power_mw": 1}"#,
            "a missing metric",
            "the report lacks area_mm2",
        ),
        (16, "{{{ garbage", "garbage JSON", "the report is not JSON"),
        (
            17,
            r#"{"latency_ms": 1, "power_mw":"#,
            "truncated JSON",
            "the report is truncated",
        ),
        (18, "[1, 2, 3]", "an array", "the report is an array"),
        (19, "\"fast\"", "a string", "the report is a string"),
    ]
    .into_iter()
    .map(|(i, m, what, want)| BadRow::new(what, want).params(design(i)).metrics(Some(m)))
    .collect();
    let ok = metrics(10.0, 50.0, 0.1);
    cases.extend([
        BadRow::new("no metrics", "metrics must be JSON text, got NULL").params(design(20)),
        BadRow::new(
            "a bad status",
            "status must be 'ok' or 'failed', got 'maybe'",
        )
        .params(design(21))
        .metrics(Some(&ok))
        .status("maybe"),
        BadRow::new("an unknown proposal", "unknown design: no proposal 999999")
            .proposal(Integer(999_999))
            .metrics(Some(&ok)),
        BadRow::new("an unknown design", "unknown design: no design 999999")
            .design(999_999)
            .metrics(Some(&ok)),
        BadRow::new(
            "no design at all",
            "the row gives no proposal_id, design_id or params",
        )
        .metrics(Some(&ok)),
        BadRow::new(
            "a text proposal id",
            "proposal_id must be an integer id, got 'seven'",
        )
        .proposal(Text("seven".into()))
        .metrics(Some(&ok)),
        BadRow::new(
            "an illegal value",
            "invalid design: clock_ps = 275 is not legal",
        )
        .params(illegal)
        .metrics(Some(&ok)),
        BadRow::new(
            "an unknown parameter",
            "invalid design: 'speed' is not a parameter",
        )
        .params(unknown_param)
        .metrics(Some(&ok)),
        BadRow::new(
            "a missing parameter",
            "invalid design: parameter 'vt_flavour' is missing",
        )
        .params(missing_param)
        .metrics(Some(&ok)),
        BadRow::new("params not JSON", "params are not JSON")
            .params_text("{mesh_rows: 16")
            .metrics(Some(&ok)),
        BadRow::new(
            "params not an object",
            "invalid design: params = [16,16] is not legal",
        )
        .params(serde_json::json!([16, 16]))
        .metrics(Some(&ok)),
        BadRow::new("a second result for a done proposal", "duplicate of result")
            .proposal(Integer(done))
            .metrics(Some(&metrics(1.0, 1.0, 0.01))),
        BadRow::new("a failed run of a done proposal", "duplicate of result")
            .proposal(Integer(done))
            .status("failed"),
    ]);
    for row in &cases {
        c.execute(
            "INSERT INTO inbox (proposal_id, design_id, params, metrics, status, evaluator, source)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'bad-rows')",
            rusqlite::params![
                row.proposal,
                row.design,
                row.params,
                row.metrics,
                row.status,
                row.what
            ],
        )
        .unwrap();
    }
    // The negative latency, for a legal new design.
    c.execute(
        "INSERT INTO inbox (params, metrics, evaluator, source) VALUES (?1, ?2, 'negative latency', 'bad-rows')",
        rusqlite::params![p(30), metrics(-3.5, 40.0, 0.1)],
    )
    .unwrap();

    let out = ingest_inbox(&fx);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains(&format!(
            "0 rows read, 1 accepted, {} rejected",
            cases.len()
        )),
        "{err}"
    );
    for BadRow { what, want, .. } in &cases {
        let (id, state, reason): (i64, String, Option<String>) = c
            .query_row(
                "SELECT id, state, reason FROM inbox WHERE source = 'bad-rows' AND evaluator = ?1",
                [what],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        let reason = reason.unwrap_or_default();
        assert_eq!(state, "REJECTED", "{what}");
        assert!(
            reason.contains(want),
            "{what}: {reason:?} should say {want:?}"
        );
        assert_eq!(reason.lines().count(), 1, "{what}: one line: {reason:?}");
        assert!(
            err.contains(&format!("inbox row {id} rejected: {reason}")),
            "{what}: ingest prints it: {err}"
        );
    }
    let view = count(
        &c,
        "SELECT count(*) FROM failures WHERE kind = 'inbox' AND source = 'bad-rows'",
    );
    assert_eq!(
        view,
        cases.len() as i64,
        "every rejection is in the failures view"
    );

    let (state, on_front): (String, Option<i64>) = c
        .query_row(
            "SELECT i.state, r.on_front FROM inbox i LEFT JOIN results r ON r.id = i.result_id
             WHERE i.evaluator = 'negative latency'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(state, "ACCEPTED", "qor.rs allows negative metric values");
    eprintln!(
        "bad rows: a negative latency_ms (-3.5) for a min objective is ACCEPTED, on_front = {on_front:?}; \
         the front is now {} designs (was {})",
        count(&c, "SELECT count(*) FROM pareto_front"),
        front_before
    );

    let after = Snapshot::take(&store);
    before.kept_in(&after, "bad rows");
    eprintln!(
        "bad rows: the designs table grew by {} (1 accepted row): a rejected row with legal \
         params still records its design, which the proposer then counts as seen",
        after.designs - before.designs
    );
    assert_eq!(
        after.results,
        before.results + 1,
        "only the negative latency was added"
    );
    assert_eq!(
        after.proposals, before.proposals,
        "no proposal was touched into existence"
    );
    assert_eq!(integrity(&store), "ok");
}

/// Result files that can't be read give one clear `file:line: message` and exit 2 before
/// anything is written; a CSV with NaN/inf values keeps its good rows and rejects the others.
#[test]
fn bad_result_files_give_one_message_and_change_nothing() {
    let fx = Fixture::new(NEVER);
    populated(&fx);
    let store = fx.store_path();
    let before = Snapshot::take(&store);
    let good = format!(
        r#"{{"params": {}, "metrics": {}}}"#,
        design(40),
        metrics(20.0, 30.0, 0.2)
    );
    let files: &[(&str, String, &str)] = &[
        (
            "garbage.json",
            "{{{ not json".into(),
            "garbage.json:1: not a JSON object",
        ),
        (
            "lines.jsonl",
            format!("{good}\n[1, 2]\n"),
            "lines.jsonl:2: expected a JSON object with params and metrics",
        ),
        (
            "array.json",
            format!("[{good}, 7]"),
            "array.json:1: element 2 of the array: expected a JSON object with params and metrics",
        ),
        (
            "truncated.json",
            format!("[{good},"),
            "truncated.json:1: not a JSON array of result objects",
        ),
        ("empty.csv", "".into(), "empty.csv:1: the file is empty"),
        (
            "ragged.csv",
            "clock_ps,latency_ms\n1000,1.0,extra\n".into(),
            "ragged.csv:2: expected 2 fields as in the header, got 3",
        ),
        (
            "status.json",
            r#"[{"proposal_id": 1, "status": "perhaps"}]"#.to_string(),
            "status must be \"ok\" or \"failed\"",
        ),
    ];
    for (name, text, want) in files {
        fx.write(name, text);
        let cfg = fx.config_path();
        let out = bin()
            .args([
                "ingest",
                "--config",
                cfg.to_str().unwrap(),
                fx.path(name).to_str().unwrap(),
            ])
            .current_dir(fx.dir.path())
            .output()
            .unwrap();
        let err = assert_clean_failure(&out, name);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(err.contains(want), "{name}: {err:?} should say {want:?}");
        assert_eq!(err.trim().lines().count(), 1, "{name}: one message: {err}");
        assert_eq!(
            Snapshot::take(&store),
            before,
            "{name}: nothing was written"
        );
    }

    // A CSV mixing good rows with NaN and inf ones.
    let d = |i: usize| {
        let v = design(i);
        format!(
            "{},{},{},{},{},{},{},{},{},{},{}",
            v["mesh_rows"],
            v["mesh_cols"],
            v["tile_rows"],
            v["tile_cols"],
            v["dataflow"].as_str().unwrap(),
            v["sp_capacity_kib"],
            v["sp_banks"],
            v["acc_capacity_kib"],
            v["acc_banks"],
            v["clock_ps"],
            v["vt_flavour"].as_str().unwrap()
        )
    };
    let header = "mesh_rows,mesh_cols,tile_rows,tile_cols,dataflow,sp_capacity_kib,sp_banks,acc_capacity_kib,acc_banks,clock_ps,vt_flavour,latency_ms,power_mw,area_mm2";
    let csv = format!(
        "{header}\n{},20,30,0.2\n{},NaN,30,0.2\n{},20,inf,0.2\n{},20,-inf,0.2\n{},20,,0.2\n",
        d(41),
        d(42),
        d(43),
        d(44),
        d(45)
    );
    fx.write("mixed.csv", &csv);
    let cfg = fx.config_path();
    let out = bin()
        .args([
            "ingest",
            "--config",
            cfg.to_str().unwrap(),
            fx.path("mixed.csv").to_str().unwrap(),
        ])
        .current_dir(fx.dir.path())
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("5 rows read, 1 accepted, 4 rejected"), "{err}");
    for want in [
        "metric 'latency_ms' is \"NaN\"",
        "metric 'power_mw' is \"inf\"",
        "metric 'power_mw' is \"-inf\"",
        "the report lacks power_mw",
    ] {
        assert!(err.contains(want), "{want:?} in {err}");
    }
    let after = Snapshot::take(&store);
    before.kept_in(&after, "mixed csv");
    assert_eq!(after.results, before.results + 1);
    assert_eq!(integrity(&store), "ok");
}

/// A store migrated by a newer diffuse-dse (`user_version = 99`): `status`, `daemon`, `ingest`
/// and `batch run` exit 2 naming the file and saying to upgrade, and the file is
/// byte-identical afterwards.
#[test]
fn a_store_from_a_newer_version_is_refused_and_left_byte_identical() {
    let fx = Fixture::new(NEVER);
    populated(&fx);
    let store = fx.store_path();
    open(&store)
        .execute_batch("PRAGMA user_version = 99;")
        .unwrap();
    assert!(
        !fx.path("demo.db-wal").exists(),
        "the WAL was checkpointed away at close"
    );
    let before = bytes(&store);
    std::fs::write(fx.path("empty.json"), "[]").unwrap();
    let empty = fx.path("empty.json");
    for args in [
        vec!["status"],
        vec!["status", "--json"],
        vec!["best"],
        vec!["daemon"],
        vec!["ingest", empty.to_str().unwrap()],
        vec!["batch", "run"],
    ] {
        let out = cli(&fx, &args);
        let err = assert_clean_failure(&out, &args.join(" "));
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(&store.display().to_string())
                && err.contains("schema version 99")
                && err.contains("upgrade diffuse-dse"),
            "{args:?}: {err}"
        );
        assert!(stdout(&out).is_empty(), "{args:?}: nothing on stdout");
        assert_eq!(
            bytes(&store),
            before,
            "{args:?}: the file is byte-identical"
        );
    }
    let v: i64 = open(&store)
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, 99);
}

/// Root: a store file made immutable (`chattr +i`; root ignores `chmod`). Writers (`daemon`,
/// `ingest`, `batch run`) exit 2 with "read-only" and the file's name; `status` still reads
/// it; the file is byte-identical afterwards.
#[test]
fn root_a_read_only_store_file_is_refused_by_writers_and_left_untouched() {
    let fx = Fixture::new(NEVER);
    populated(&fx);
    let store = fx.store_path();
    let before = bytes(&store);
    let guard = match Immutable::set(&store) {
        Ok(g) => g,
        Err(reason) => return skip("root_a_read_only_store_file", &reason),
    };
    std::fs::write(fx.path("empty.json"), "[]").unwrap();
    let empty = fx.path("empty.json");
    for args in [
        vec!["daemon"],
        vec!["ingest", empty.to_str().unwrap()],
        vec!["batch", "run"],
    ] {
        let out = cli(&fx, &args);
        let err = assert_clean_failure(&out, &args.join(" "));
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(&format!("store {} is read-only", store.display())),
            "{args:?}: {err}"
        );
    }
    let out = cli(&fx, &["status"]);
    assert!(
        out.status.success(),
        "status reads a read-only file: {}",
        stderr(&out)
    );
    drop(guard);
    assert_eq!(bytes(&store), before, "the file is byte-identical");
    assert_eq!(integrity(&store), "ok");
}

/// Root: the store's folder read-only, two ways. (1) `chattr +i` on the folder: SQLite can't
/// create the `-wal`/`-shm` files, and every command (even `status`, since a WAL store can't
/// be read without its `-shm`) exits 2 with "cannot open store …: … a folder you can write".
/// (2) A tmpfs remounted read-only: the writers exit 2 with "read-only". The file is
/// byte-identical afterwards both times.
#[test]
fn root_a_read_only_folder_is_refused_and_the_store_left_untouched() {
    let fx = Fixture::new(NEVER);
    let store = move_store(&fx, "state/demo.db");
    populated(&fx);
    let before = bytes(&store);
    std::fs::write(fx.path("empty.json"), "[]").unwrap();
    let empty = fx.path("empty.json");
    let commands = [
        vec!["daemon"],
        vec!["ingest", empty.to_str().unwrap()],
        vec!["batch", "run"],
        vec!["status"],
    ];
    let mut tried = 0;

    match Immutable::set(&fx.path("state")) {
        Err(reason) => skip("root_a_read_only_folder (chattr)", &reason),
        Ok(guard) => {
            tried += 1;
            for args in &commands {
                let out = cli(&fx, args);
                let err = assert_clean_failure(&out, &args.join(" "));
                assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
                assert!(
                    err.contains(&format!("cannot open store {}", store.display()))
                        && err.contains("a folder you can write"),
                    "{args:?}: {err}"
                );
            }
            drop(guard);
            assert_eq!(bytes(&store), before, "chattr: the file is byte-identical");
        }
    }

    let ro = fx.path("ro");
    match Tmpfs::mount(&ro, "size=16m") {
        Err(reason) => skip("root_a_read_only_folder (tmpfs)", &reason),
        Ok(mount) => {
            tried += 1;
            std::fs::copy(&store, ro.join("demo.db")).unwrap();
            edit_config(&fx, "path = \"state/demo.db\"", "path = \"ro/demo.db\"");
            mount.remount("ro");
            let on_ro = ro.join("demo.db");
            for args in &commands[..3] {
                let out = cli(&fx, args);
                let err = assert_clean_failure(&out, &args.join(" "));
                assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
                assert!(
                    err.contains(&on_ro.display().to_string())
                        && (err.contains("read-only") || err.contains("cannot open store")),
                    "{args:?}: {err}"
                );
            }
            assert_eq!(bytes(&on_ro), before, "tmpfs: the file is byte-identical");
        }
    }
    if tried == 0 {
        skip(
            "root_a_read_only_folder",
            "entirely: neither chattr nor mount works here",
        );
    }
}

/// Root: the store on a small tmpfs that fills up while the daemon runs batches. The daemon
/// logs "database or disk is full" and keeps running or exits cleanly (no panic, no signal);
/// `ingest` of rows that can't fit exits 2 with that message; once space is freed the store
/// passes integrity_check, nothing stored before is lost, and a restarted daemon works.
#[test]
fn root_a_full_disk_gives_a_clear_error_and_loses_nothing() {
    let fx = Fixture::new(FAST);
    let store = move_store(&fx, "state/demo.db");
    let mount = match Tmpfs::mount(&fx.path("state"), "size=8m") {
        Ok(m) => m,
        Err(reason) => return skip("root_a_full_disk", &reason),
    };
    let daemon = Daemon::start(&fx, "daemon.log");
    wait_for("a few batches", 20.0, || {
        store.exists()
            && open(&store)
                .query_row("SELECT count(*) FROM results", [], |r| r.get::<_, i64>(0))
                .is_ok_and(|n| n >= 8)
    });
    let before = Snapshot::take(&store);

    // Fill the file system to the last page.
    let filler = fx.path("state/filler");
    let mut f = File::create(&filler).unwrap();
    for chunk in [65_536, 4096, 512] {
        let buf = vec![0u8; chunk];
        while f.write_all(&buf).is_ok() {}
    }
    drop(f);
    let full_at = Instant::now();

    // Rows too big to fit anywhere: the whole insert fails, and says why.
    let note = "x".repeat(256 * 1024);
    let rows: Vec<String> = (0..40)
        .map(|i| {
            format!(
                r#"{{"params": {}, "metrics": {{"metrics": {}, "note": "{note}"}}}}"#,
                design(100 + i),
                metrics(9.0 + i as f64, 60.0, 0.2)
            )
        })
        .collect();
    fx.write("big.jsonl", &rows.join("\n"));
    let cfg = fx.config_path();
    let out = bin()
        .args([
            "ingest",
            "--config",
            cfg.to_str().unwrap(),
            fx.path("big.jsonl").to_str().unwrap(),
        ])
        .current_dir(fx.dir.path())
        .output()
        .unwrap();
    let err = assert_clean_failure(&out, "ingest on a full disk");
    assert!(
        err.contains(&store.display().to_string()) && err.contains("full"),
        "ingest names the store and the full disk: {err}"
    );
    eprintln!(
        "full disk: ingest exit {:?}: {}",
        out.status.code(),
        err.trim()
    );

    // The daemon meets the full disk at its next writes: it logs and exits cleanly, or goes on.
    let mut daemon = daemon;
    let exited = daemon.wait_timeout(Duration::from_secs(5));
    let log = daemon.log();
    assert!(!log.contains("panicked"), "{log}");
    match exited {
        Some(status) => {
            assert!(
                status.code().is_some(),
                "exited by itself, not by a signal: {status:?}"
            );
            assert!(log.contains("database or disk is full"), "{log}");
            eprintln!(
                "full disk: the daemon exited with {status} {:.1} s after the disk filled, logging: {}",
                full_at.elapsed().as_secs_f64(),
                log.lines()
                    .filter(|l| l.contains("ERROR"))
                    .collect::<Vec<_>>()
                    .join(" / ")
            );
        }
        None => eprintln!("full disk: the daemon kept running for 5 s on the full disk"),
    }

    std::fs::remove_file(&filler).unwrap();
    assert_eq!(integrity(&store), "ok", "after the disk filled");
    let mid = Snapshot::take(&store);
    before.kept_in(&mid, "full disk");

    // With space again, the daemon (restarted if it stopped) works and stops cleanly.
    let daemon = match exited {
        Some(_) => {
            drop(daemon);
            Daemon::start(&fx, "restart.log")
        }
        None => daemon,
    };
    let results = mid.results;
    wait_for("a batch after space was freed", 20.0, || {
        count(&open(&store), "SELECT count(*) FROM results") > results
    });
    let (status, log) = daemon.stop();
    assert_eq!(status.code(), Some(0), "{log}");
    let after = Snapshot::take(&store);
    mid.kept_in(&after, "after space was freed");
    let c = open(&store);
    assert_eq!(
        count(
            &c,
            "SELECT count(*) FROM proposals WHERE state IN ('DISPATCHED', 'RUNNING')"
        ),
        0
    );
    assert_eq!(
        count(&c, "SELECT count(*) FROM inbox WHERE state = 'NEW'"),
        0
    );
    assert_eq!(integrity(&store), "ok");
    drop(c);
    drop(mount);
}

/// Hold `BEGIN EXCLUSIVE` on `path` from another connection for `hold`, in a thread. With
/// `exclusive_mode`, the holder also takes `locking_mode=EXCLUSIVE`, which in WAL mode locks
/// readers out too.
fn hold_lock(path: &Path, hold: Duration, exclusive_mode: bool) -> JoinHandle<()> {
    let path = path.to_path_buf();
    let (tx, rx) = std::sync::mpsc::channel();
    let h = thread::spawn(move || {
        let c = Connection::open(&path).unwrap();
        if exclusive_mode {
            c.execute_batch("PRAGMA locking_mode = EXCLUSIVE;").unwrap();
        }
        c.execute_batch("BEGIN EXCLUSIVE;").unwrap();
        // A read, so the exclusive locking mode really holds the file.
        let _: i64 = c
            .query_row("SELECT count(*) FROM results", [], |r| r.get(0))
            .unwrap();
        tx.send(()).unwrap();
        thread::sleep(hold);
        c.execute_batch("ROLLBACK").unwrap();
    });
    rx.recv().unwrap();
    h
}

/// Another connection holds `BEGIN EXCLUSIVE` past the 5 s busy timeout: `ingest` and
/// `batch run` fail with a clear "locked" message and exit 2, no panic, nothing changed;
/// `status` still reads (WAL readers are not blocked), unless the holder also took
/// `locking_mode=EXCLUSIVE`, and then `status` says "locked" too.
#[test]
fn slow_a_locked_store_gives_the_cli_a_clear_locked_message() {
    let fx = Fixture::new(NEVER);
    populated(&fx);
    let store = fx.store_path();
    let before = Snapshot::take(&store);
    std::fs::write(fx.path("empty.json"), "[]").unwrap();
    let locked = |err: &str| {
        err.contains(&format!(
            "store {} is locked by another process past the busy timeout",
            store.display()
        ))
    };

    let holder = hold_lock(&store, Duration::from_secs(8), false);
    let t0 = Instant::now();
    let run = |args: Vec<String>| {
        let cfg = fx.config_path();
        let dir = fx.dir.path().to_path_buf();
        thread::spawn(move || {
            let mut all = args.clone();
            all.extend(["--config".to_string(), cfg.display().to_string()]);
            (args, bin().args(&all).current_dir(dir).output().unwrap())
        })
    };
    let writers = [
        run(vec![
            "ingest".into(),
            fx.path("empty.json").display().to_string(),
        ]),
        run(vec!["batch".into(), "run".into()]),
    ];
    let out = cli(&fx, &["status"]);
    assert!(
        out.status.success(),
        "WAL: status reads past a writer's lock: {}",
        stderr(&out)
    );
    for w in writers {
        let (args, out) = w.join().unwrap();
        let err = assert_clean_failure(&out, &args.join(" "));
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(locked(&err), "{args:?}: {err}");
        assert_eq!(
            err.trim().lines().count(),
            1,
            "{args:?}: one message: {err}"
        );
    }
    eprintln!(
        "locked cli: the writers gave up after {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    holder.join().unwrap();
    assert_eq!(Snapshot::take(&store), before, "nothing changed");

    // Held well past the 5 s busy timeout, so a slow start of `status` on a loaded machine
    // still meets the lock.
    let holder = hold_lock(&store, Duration::from_secs(15), true);
    let out = cli(&fx, &["status"]);
    let err = assert_clean_failure(&out, "status under an exclusive locking mode");
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(locked(&err), "{err}");
    holder.join().unwrap();
    let out = cli(&fx, &["status"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(integrity(&store), "ok");
}

/// Start a daemon on a fast schedule and wait for its first batches.
fn busy_daemon(fx: &Fixture) -> Daemon {
    let daemon = Daemon::start(fx, "daemon.log");
    wait_for("the first batches", 20.0, || {
        fx.try_count("SELECT count(*) FROM results")
            .is_some_and(|n| n >= 4)
    });
    daemon
}

/// A `sqlite3` session left inside `BEGIN EXCLUSIVE` for 7 s (past the 5 s busy timeout)
/// while the daemon runs batches. The daemon must wait it out (see
/// `the_daemon_survives_a_lock_past_the_busy_timeout`); in any case it must not panic, must say "locked" if it stops, must leave the store
/// intact with nothing lost and nothing in flight, and a restart must work.
#[test]
fn slow_a_lock_past_the_busy_timeout_breaks_nothing_in_the_daemon() {
    let fx = Fixture::new(FAST);
    let mut daemon = busy_daemon(&fx);
    let store = fx.store_path();
    let before = Snapshot::take(&store);
    let holder = hold_lock(&store, Duration::from_secs(7), false);
    holder.join().unwrap();
    let exited = daemon.wait_timeout(Duration::from_secs(3));
    let log = daemon.log();
    assert!(!log.contains("panicked"), "{log}");
    let daemon = match exited {
        Some(status) => {
            assert!(
                status.code().is_some(),
                "not killed by a signal: {status:?}"
            );
            assert!(
                log.contains("is locked by another process past the busy timeout"),
                "the daemon says why it stopped: {log}"
            );
            eprintln!(
                "locked daemon: the daemon STOPPED (exit {status}) after the lock, logging: {}",
                log.lines()
                    .filter(|l| l.contains("ERROR"))
                    .collect::<Vec<_>>()
                    .join(" / ")
            );
            drop(daemon);
            Daemon::start(&fx, "restart.log")
        }
        None => {
            eprintln!("locked daemon: the daemon survived the lock");
            daemon
        }
    };
    let mid = Snapshot::take(&store);
    before.kept_in(&mid, "after the lock");
    wait_for("a batch after the lock", 20.0, || {
        fx.count("SELECT count(*) FROM results") > mid.results
    });
    let (status, log) = daemon.stop();
    assert_eq!(status.code(), Some(0), "{log}");
    before.kept_in(&Snapshot::take(&store), "at the end");
    assert_eq!(
        fx.count("SELECT count(*) FROM proposals WHERE state IN ('DISPATCHED', 'RUNNING')"),
        0
    );
    assert_eq!(integrity(&store), "ok");
}

/// docs/schema.md: a long `BEGIN` "blocks the daemon's writes, which give up after 5 s";
/// the brief for the daemon is to log and retry. Today the cycle task's `Locked` error ends
/// the task, and `supervise` takes the whole daemon down.
#[test]
fn the_daemon_survives_a_lock_past_the_busy_timeout() {
    let fx = Fixture::new(FAST);
    let mut daemon = busy_daemon(&fx);
    let store = fx.store_path();
    hold_lock(&store, Duration::from_secs(7), false)
        .join()
        .unwrap();
    let exited = daemon.wait_timeout(Duration::from_secs(3));
    assert!(
        exited.is_none(),
        "the daemon is still running after the lock went away; it exited {exited:?}: {}",
        daemon.log()
    );
    let results = fx.count("SELECT count(*) FROM results");
    wait_for("a batch after the lock", 20.0, || {
        fx.count("SELECT count(*) FROM results") > results
    });
    let (status, log) = daemon.stop();
    assert_eq!(status.code(), Some(0), "{log}");
}

/// `supervise` says "a task that fails takes the daemon down with it (systemd restarts it,
/// `Restart=on-failure`)", but `run_with` then returns `Ok(())` and the process exits 0, so
/// systemd's `Restart=on-failure` (systemd/diffuse-dse.service) never restarts it. Triggered
/// here by a store whose inbox table was renamed under the running daemon (a fatal error no
/// retry policy can hide).
#[test]
fn a_daemon_stopped_by_a_failed_task_exits_non_zero() {
    let fx = Fixture::new(FAST);
    let mut daemon = busy_daemon(&fx);
    fx.sql()
        .execute_batch("ALTER TABLE inbox RENAME TO inbox_moved_away;")
        .unwrap();
    let status = daemon
        .wait_timeout(Duration::from_secs(10))
        .expect("the daemon stops when its store is broken under it");
    let log = daemon.log();
    assert!(log.contains("task failed"), "{log}");
    assert!(
        status.code().is_some_and(|c| c != 0),
        "a daemon that stopped on a failure exits non-zero, so systemd restarts it: {status:?}: {log}"
    );
}

/// The SQL writer's designs are legal and distinct (a check of the test itself).
#[test]
fn the_writers_designs_are_distinct_and_legal() {
    let fx = Fixture::new(NEVER);
    let config = fx.load();
    let mut seen = std::collections::HashSet::new();
    for i in (0..10_800).step_by(7) {
        let d = config
            .space
            .design_from_json(&design(i))
            .unwrap_or_else(|e| panic!("design {i}: {e}"));
        assert!(seen.insert(d.hash().0), "design {i} repeats");
    }
}
