//! Shared test fixtures: a config in a temp dir, and the binary.
#![allow(dead_code)]

pub mod slurm;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The demo config (the analytical Gemmini model on a small space), with DiffuSE's test
/// settings (the reference's `FAST`: fewer steps and candidates, the same algorithm), so the
/// daemon tests spend seconds, not minutes, in each refit.
pub const BASE: &str = concat!(
    include_str!("../../src/cli/demo.toml"),
    "\n[model.diffuse]\ntrain_steps = 150\nwarm_steps = 50\npredictor_steps = 100\n",
    "predictor_warm_steps = 40\ncandidates_per_target = 16\nlocal_candidates = 64\n",
    "random_candidates = 64\nfeasible_pool_size = 2048\nn_screen = 32\n",
);

pub struct Fixture {
    pub dir: tempfile::TempDir,
}

impl Fixture {
    /// A temp dir with `config.toml` = the demo config, its `[schedule]` replaced by `schedule`.
    pub fn new(schedule: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let text = replace_section(BASE, "[schedule]", schedule);
        std::fs::write(dir.path().join("config.toml"), text).unwrap();
        Self { dir }
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("config.toml")
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn store_path(&self) -> PathBuf {
        self.dir.path().join("demo.db")
    }

    pub fn write(&self, name: &str, text: &str) {
        let p = self.dir.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        // Write then rename, as editors do, so a reader never sees half a file.
        let tmp = p.with_extension("tmp~");
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(tmp, p).unwrap();
    }

    /// Write an executable script into the fixture's folder.
    pub fn write_script(&self, name: &str, text: &str) {
        self.write(name, text);
        std::fs::set_permissions(
            self.path(name),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
    }

    /// Make `script`, written as `flow.sh`, the evaluator: the `command` evaluator runs it with
    /// `argv` (a TOML array) and reads the demo's three objectives from its stdout; `extra`
    /// adds keys (such as `timeout_s = 30`) to `[evaluator.command]`.
    pub fn use_flow(&self, script: &str, argv: &str, extra: &str) {
        self.write_script("flow.sh", script);
        let text = std::fs::read_to_string(self.config_path()).unwrap();
        let text = replace_section(
            &text,
            "[evaluator.gemmini-model]",
            &format!("[evaluator.command]\nargv = {argv}\nmetrics = [\"latency_ms\", \"power_mw\", \"area_mm2\"]\n{extra}"),
        )
        .replace("name = \"gemmini-model\"", "name = \"command\"");
        self.write("config.toml", &text);
    }

    pub fn load(&self) -> diffuse_dse::config::Config {
        diffuse_dse::config::Config::load(self.config_path()).unwrap()
    }

    pub fn sql(&self) -> rusqlite::Connection {
        let c = rusqlite::Connection::open(self.store_path()).unwrap();
        c.busy_timeout(std::time::Duration::from_secs(10)).unwrap();
        c
    }

    pub fn count(&self, sql: &str) -> i64 {
        self.sql().query_row(sql, [], |r| r.get(0)).unwrap()
    }

    /// `count`, or `None` while the store is not there or not migrated yet.
    pub fn try_count(&self, sql: &str) -> Option<i64> {
        if !self.store_path().exists() {
            return None;
        }
        self.sql().query_row(sql, [], |r| r.get(0)).ok()
    }
}

/// Replace a `[section]` (up to the next `[` header at line start) with `text`.
pub fn replace_section(base: &str, header: &str, text: &str) -> String {
    let start = base
        .find(&format!("\n{header}\n"))
        .expect("section present")
        + 1;
    let rest = &base[start + header.len() + 1..];
    let end = rest
        .find("\n[")
        .map_or(base.len(), |i| start + header.len() + 1 + i + 1);
    format!("{}{}\n{}", &base[..start], text.trim_end(), &base[end..])
}

pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_diffuse-dse"));
    c.env_remove("RUST_LOG")
        .env_remove("DIFFUSE_DSE_CONFIG")
        .env_remove("STATE_DIRECTORY");
    c
}

pub fn run(args: &[&str], cwd: &Path) -> Output {
    bin().args(args).current_dir(cwd).output().unwrap()
}

/// [`run`] with `input` written to the command's stdin.
pub fn run_with_stdin(args: &[&str], cwd: &Path, input: &str) -> Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = bin()
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Run the daemon in-process until `done(fx)` holds, failing after `secs` seconds with the
/// proposals' states and reasons.
pub async fn run_until(fx: &Fixture, secs: u64, done: impl Fn(&Fixture) -> bool) {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let daemon = tokio::spawn(diffuse_dse::daemon::run_with(
        fx.load(),
        async { stopped.await.unwrap() },
        diffuse_dse::daemon::Options::default(),
    ));
    let t0 = std::time::Instant::now();
    while !done(fx) {
        if t0.elapsed() > std::time::Duration::from_secs(secs) {
            let states: String = fx
                .sql()
                .query_row("SELECT group_concat(state || ': ' || coalesce(reason, ''), ' | ') FROM proposals", [], |r| r.get(0))
                .unwrap();
            panic!("timed out; proposals: {states}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    stop.send(()).unwrap();
    daemon.await.unwrap().unwrap();
}
