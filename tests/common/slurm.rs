//! A real single-node Slurm for a test: munged, slurmctld and slurmd in a temp dir.
//!
//! `SlurmCluster::start()` writes a munge key and a `slurm.conf` into a fresh temp dir, starts
//! a private `munged`, then `slurmctld -D -f CONF` and `slurmd -D -f CONF` as children of the
//! test process, and waits until `sinfo` shows the node `idle`. Drop cancels what is still
//! queued, stops the three daemons by their pids, waits for them, and kills any process left
//! behind in the temp dir (orphaned `slurmstepd`s after `kill_slurmd`).
//!
//! Isolation: every cluster is independent, so tests may start clusters concurrently (cargo's
//! test threads, and several test binaries at once). Each has its own temp dir (state, spool,
//! pid and log files), its own munge key and munge socket (named in `AuthInfo=socket=…`, which
//! daemons and clients both read from the conf), its own `ClusterName` and its own pair of TCP
//! ports, chosen free at start (see `pick_port`). There is no global lock and nothing in
//! `/etc/slurm`, `/etc/munge` or `/run` is used. A client needs only `SLURM_CONF` (`env()`).
//!
//! Needs root (slurmd runs jobs as their submitter; the conf says `SlurmUser=root`) and the
//! Debian packages `slurm-wlm` and `munge` (`.ci/apt-packages.txt`). `start()` returns `None`,
//! with the reason printed, only when one of the binaries is missing.
//!
//! Settings worth knowing, all in `slurm_conf` below: accounting storage is off (`sacct` says
//! "Slurm accounting storage is disabled"), `SlurmdTimeout=5` so a killed slurmd is seen as
//! `NOT_RESPONDING` and then `DOWN` within about half a minute, `MinJobAge=300` so finished jobs
//! stay visible to `squeue -t all` / `scontrol show job` for five minutes, `KillWait=2` and
//! `ReturnToService=2` (a node that was DOWN for not responding returns when slurmd registers).

use std::collections::HashSet;
use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::net::TcpListener;
use std::os::unix::fs::{PermissionsExt, chown};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// How long `start()` and `restart_slurmd()` wait for the node to become usable.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);
/// How long Drop waits for a daemon after SIGTERM before SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// Lines of each log that `log_tail()` returns.
const TAIL_LINES: usize = 25;
/// `start()` picks new ports and tries again this often when a port was taken meanwhile.
const START_ATTEMPTS: u32 = 3;

/// Daemons (in /usr/sbin) and clients (in /usr/bin) the fixture and its tests run.
const BINARIES: [&str; 9] = [
    "munged",
    "slurmctld",
    "slurmd",
    "sinfo",
    "sbatch",
    "squeue",
    "scontrol",
    "scancel",
    "sacct",
];

/// A running single-node Slurm; stopped on Drop.
pub struct SlurmCluster {
    dir: tempfile::TempDir,
    conf: PathBuf,
    node: String,
    cpus: u32,
    bins: Bins,
    munged: Option<Child>,
    slurmctld: Option<Child>,
    slurmd: Option<Child>,
}

#[derive(Clone)]
struct Bins {
    dirs: Vec<PathBuf>,
}

impl Bins {
    fn find(name: &str) -> Option<PathBuf> {
        let path = std::env::var_os("PATH").unwrap_or_default();
        std::env::split_paths(&path)
            .chain(["/usr/sbin", "/sbin", "/usr/bin", "/usr/local/sbin"].map(PathBuf::from))
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    }

    fn locate() -> Result<Self, String> {
        let mut dirs = Vec::new();
        let mut missing = Vec::new();
        for name in BINARIES {
            match Self::find(name) {
                Some(p) => {
                    let d = p.parent().unwrap().to_path_buf();
                    if !dirs.contains(&d) {
                        dirs.push(d);
                    }
                }
                None => missing.push(name),
            }
        }
        if missing.is_empty() {
            Ok(Self { dirs })
        } else {
            Err(format!(
                "not found: {} (apt-get install -y slurm-wlm munge)",
                missing.join(", ")
            ))
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dirs
            .iter()
            .map(|d| d.join(name))
            .find(|p| p.is_file())
            .or_else(|| Self::find(name))
            .unwrap_or_else(|| PathBuf::from(name))
    }
}

/// Why one start attempt failed.
enum StartError {
    /// A daemon could not bind its port (another process took it after we picked it).
    PortTaken(String),
    Fatal(String),
}

impl SlurmCluster {
    /// Start a cluster, or `None` (with the reason on stderr) when Slurm or munge is not
    /// installed. Panics, with the daemons' log tails, if it is installed but doesn't come up.
    pub fn start() -> Option<Self> {
        let bins = match Bins::locate() {
            Ok(b) => b,
            Err(why) => {
                eprintln!("SlurmCluster: skipping, {why}");
                return None;
            }
        };
        assert!(
            unsafe { libc::geteuid() } == 0,
            "SlurmCluster needs root (SlurmUser=root, slurmd runs jobs as their submitter); \
             slurm-wlm and munge are installed, so this is not skipped"
        );
        let mut last = String::new();
        for attempt in 1..=START_ATTEMPTS {
            match Self::try_start(bins.clone()) {
                Ok(c) => return Some(c),
                Err(StartError::PortTaken(logs)) => {
                    eprintln!("SlurmCluster: port taken meanwhile (attempt {attempt}), retrying");
                    last = logs;
                }
                Err(StartError::Fatal(msg)) => panic!("{msg}"),
            }
        }
        panic!("SlurmCluster: ports kept being taken; last logs:\n{last}");
    }

    fn try_start(bins: Bins) -> Result<Self, StartError> {
        let dir = tempfile::Builder::new()
            .prefix("slurm-")
            .tempdir()
            .map_err(|e| StartError::Fatal(format!("SlurmCluster: temp dir: {e}")))?;
        // munged (as the munge user) must traverse the dir to reach its socket.
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        for sub in ["state", "spool", "log", "run", "munge"] {
            fs::create_dir(dir.path().join(sub)).unwrap();
        }
        let node = short_hostname();
        let node_line = node_line(&bins, &node);
        let cpus = field(&node_line, "CPUs")
            .and_then(|v| v.parse().ok())
            .unwrap_or(1);
        let ctld_port = pick_port();
        let slurmd_port = pick_port();
        let conf = dir.path().join("slurm.conf");
        let mut cluster = Self {
            conf,
            node,
            cpus,
            bins,
            munged: None,
            slurmctld: None,
            slurmd: None,
            dir,
        };
        let socket = cluster.start_munged()?;
        let text = slurm_conf(
            cluster.dir.path(),
            &cluster.node,
            &node_line,
            &socket,
            ctld_port,
            slurmd_port,
        );
        fs::write(&cluster.conf, text).unwrap();
        cluster.slurmctld = Some(cluster.spawn_daemon("slurmctld"));
        cluster.slurmd = Some(cluster.spawn_daemon("slurmd"));
        cluster.wait_until_usable(STARTUP_TIMEOUT, "start")?;
        Ok(cluster)
    }

    /// Write the key and start munged on a private socket; returns the socket path.
    fn start_munged(&mut self) -> Result<PathBuf, StartError> {
        let mdir = self.dir.path().join("munge");
        let key = mdir.join("munge.key");
        let socket = mdir.join("munge.socket");
        let mut bytes = vec![0u8; 1024];
        fs::File::open("/dev/urandom")
            .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes))
            .unwrap();
        let mut f = fs::File::create(&key).unwrap();
        f.write_all(&bytes).unwrap();
        drop(f);
        fs::set_permissions(&key, fs::Permissions::from_mode(0o400)).unwrap();
        let mut cmd = Command::new(self.bins.path("munged"));
        cmd.arg("--foreground")
            .arg(format!("--socket={}", socket.display()))
            .arg(format!("--key-file={}", key.display()))
            .arg(format!("--pid-file={}", mdir.join("munged.pid").display()))
            .arg(format!("--log-file={}", mdir.join("munged.log").display()))
            .arg(format!(
                "--seed-file={}",
                mdir.join("munged.seed").display()
            ));
        match munge_user() {
            // The usual way: key and dir owned by munge, munged run as munge (0755 dir, as
            // munged wants "execute permissions for all" on the socket's dir).
            Some((uid, gid)) => {
                chown(&mdir, Some(uid), Some(gid)).unwrap();
                chown(&key, Some(uid), Some(gid)).unwrap();
                cmd.uid(uid).gid(gid);
            }
            // No munge user: root owns the key, and munged needs --force to run as root.
            None => {
                cmd.arg("--force");
            }
        }
        let out = fs::File::create(self.dir.path().join("log/munged.out")).unwrap();
        cmd.stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .current_dir(self.dir.path());
        self.munged = Some(cmd.spawn().map_err(|e| {
            StartError::Fatal(format!("SlurmCluster: spawning munged failed: {e}"))
        })?);
        let deadline = Instant::now() + Duration::from_secs(15);
        while !socket.exists() {
            if let Some(status) = self.munged.as_mut().unwrap().try_wait().unwrap() {
                return Err(StartError::Fatal(format!(
                    "SlurmCluster: munged exited ({status}) before creating {}\n{}",
                    socket.display(),
                    self.log_tail()
                )));
            }
            if Instant::now() > deadline {
                return Err(StartError::Fatal(format!(
                    "SlurmCluster: munged did not create {} within 15 s\n{}",
                    socket.display(),
                    self.log_tail()
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(socket)
    }

    /// `slurmctld -D -f CONF` or `slurmd -D -f CONF`, a child of this process, its stdout and
    /// stderr in `log/NAME.out`. The cwd is the temp dir, so `slurmstepd`s (forked by slurmd)
    /// inherit it and Drop can find orphans.
    fn spawn_daemon(&self, name: &str) -> Child {
        let out_path = self.dir.path().join(format!("log/{name}.out"));
        let out = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(out_path)
            .unwrap();
        let mut cmd = Command::new(self.bins.path(name));
        cmd.arg("-D")
            .arg("-f")
            .arg(&self.conf)
            .env("SLURM_CONF", &self.conf)
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out);
        // Jobs inherit slurmd's environment; don't leak a surrounding job's SLURM_* into them.
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("SLURM_") && k != "SLURM_CONF" {
                cmd.env_remove(k);
            }
        }
        cmd.spawn()
            .unwrap_or_else(|e| panic!("SlurmCluster: spawning {name} failed: {e}"))
    }

    /// Wait until the node is usable (`sinfo` state `idle`, or `mixed`/`allocated` when jobs
    /// survived a slurmd restart), watching for a daemon that exits.
    fn wait_until_usable(&mut self, timeout: Duration, what: &str) -> Result<(), StartError> {
        let deadline = Instant::now() + timeout;
        let mut last = String::new();
        loop {
            let mut exited = None;
            for (name, child) in [
                ("slurmctld", &mut self.slurmctld),
                ("slurmd", &mut self.slurmd),
            ] {
                if let Some(status) = child.as_mut().and_then(|c| c.try_wait().unwrap()) {
                    *child = None;
                    exited = Some((name, status));
                    break;
                }
            }
            if let Some((name, status)) = exited {
                let logs = self.log_tail();
                if logs.contains("Address already in use") {
                    return Err(StartError::PortTaken(logs));
                }
                return Err(StartError::Fatal(format!(
                    "SlurmCluster ({what}): {name} exited ({status}); logs:\n{logs}"
                )));
            }
            last = self.sinfo_state().unwrap_or(last);
            if ["idle", "mixed", "allocated"].contains(&last.as_str()) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(StartError::Fatal(format!(
                    "SlurmCluster ({what}): node {} not idle within {timeout:?} (last sinfo \
                     state: {last:?}); conf {}; logs:\n{}",
                    self.node,
                    self.conf.display(),
                    self.log_tail()
                )));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// `sinfo -h -N -n NODE -o %T`: e.g. `idle`, `allocated`, `down*` (`*` = not responding).
    pub fn sinfo_state(&self) -> Option<String> {
        let out = self
            .command("sinfo")
            .args(["-h", "-N", "-n", &self.node, "-o", "%T"])
            .output()
            .ok()?;
        let s = String::from_utf8_lossy(&out.stdout).trim().to_string();
        (out.status.success() && !s.is_empty()).then_some(s)
    }

    /// `State=` of `scontrol -o show node NODE`: e.g. `IDLE`, `ALLOCATED+NOT_RESPONDING`,
    /// `DOWN+NOT_RESPONDING`.
    pub fn node_state(&self) -> Option<String> {
        let line = self.scontrol_show("node", &self.node)?;
        field(&line, "State").map(str::to_string)
    }

    /// One-line `scontrol -o show KIND ID` output (one line per array task for an array job),
    /// or `None` when scontrol fails (e.g. "Invalid job id specified" once a job aged out).
    pub fn scontrol_show(&self, kind: &str, id: &str) -> Option<String> {
        let out = self
            .command("scontrol")
            .args(["-o", "show", kind, id])
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// A `Command` for a Slurm client (`sbatch`, `squeue`, …) with `env()` applied.
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new(self.bins.path(program));
        for (k, v) in self.env() {
            c.env(k, v);
        }
        c
    }

    /// The `slurm.conf` path.
    pub fn conf(&self) -> &Path {
        &self.conf
    }

    /// The cluster's temp dir; tests may put job scripts and outputs here (processes whose cwd
    /// is inside it are killed on Drop).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The node's name (this machine's short hostname).
    pub fn node(&self) -> &str {
        &self.node
    }

    /// The node's CPUs, as `slurmd -C` reported them.
    pub fn cpus(&self) -> u32 {
        self.cpus
    }

    /// The environment a Slurm client needs: `SLURM_CONF` (the munge socket is named in the
    /// conf's `AuthInfo`, which clients read too).
    pub fn env(&self) -> Vec<(String, String)> {
        vec![("SLURM_CONF".into(), self.conf.display().to_string())]
    }

    /// SIGKILL slurmd (a lost node); its slurmstepds and their jobs keep running, as on a node
    /// whose daemon died.
    pub fn kill_slurmd(&mut self) {
        if let Some(mut c) = self.slurmd.take() {
            unsafe { libc::kill(c.id() as libc::pid_t, libc::SIGKILL) };
            c.wait().unwrap();
        }
    }

    /// Start slurmd again and wait until it has registered and the node is usable.
    pub fn restart_slurmd(&mut self) {
        self.kill_slurmd();
        self.slurmd = Some(self.spawn_daemon("slurmd"));
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            if let Err(StartError::Fatal(m) | StartError::PortTaken(m)) = self.wait_until_usable(
                deadline.saturating_duration_since(Instant::now()),
                "restart",
            ) {
                panic!("{m}");
            }
            let state = self.node_state().unwrap_or_default();
            if !state.contains("NOT_RESPONDING") && !state.contains("DOWN") {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "SlurmCluster: node still {state} after restarting slurmd; logs:\n{}",
                self.log_tail()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The last lines of slurmctld's, slurmd's and munged's logs and captured outputs.
    pub fn log_tail(&self) -> String {
        let mut s = String::new();
        for name in [
            "log/slurmctld.log",
            "log/slurmd.log",
            "munge/munged.log",
            "log/slurmctld.out",
            "log/slurmd.out",
            "log/munged.out",
        ] {
            let p = self.dir.path().join(name);
            let Ok(text) = fs::read_to_string(&p) else {
                continue;
            };
            let lines: Vec<&str> = text.lines().collect();
            let from = lines.len().saturating_sub(TAIL_LINES);
            let _ = writeln!(s, "==> {} <==", p.display());
            for l in &lines[from..] {
                let _ = writeln!(s, "{l}");
            }
        }
        s
    }

    /// Cancel every job still known to the controller and wait (briefly) for them to end, so
    /// that slurmd takes their processes down before it stops.
    fn cancel_all(&self) {
        let Ok(out) = self
            .command("squeue")
            .args(["-h", "-o", "%i"])
            .stderr(Stdio::null())
            .output()
        else {
            return;
        };
        let ids: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .map(str::to_string)
            .collect();
        if ids.is_empty() {
            return;
        }
        let _ = self
            .command("scancel")
            .args(&ids)
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            let out = self
                .command("squeue")
                .args(["-h", "-o", "%i", "-t", "R,CG,S"])
                .stderr(Stdio::null())
                .output();
            if out.map_or(true, |o| o.stdout.is_empty()) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// SIGKILL every process (but this one) whose cwd is inside the temp dir: slurmstepds
    /// orphaned by `kill_slurmd`, and job processes started there.
    fn kill_strays(&self) {
        let me = std::process::id();
        let root = self.dir.path();
        for _round in 0..3 {
            let mut found = HashSet::new();
            let Ok(entries) = fs::read_dir("/proc") else {
                return;
            };
            for e in entries.flatten() {
                let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
                    continue;
                };
                if pid == me {
                    continue;
                }
                if fs::read_link(e.path().join("cwd")).is_ok_and(|cwd| cwd.starts_with(root)) {
                    unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
                    found.insert(pid);
                }
            }
            if found.is_empty() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for SlurmCluster {
    fn drop(&mut self) {
        if self.slurmctld.is_some() && self.slurmd.is_some() {
            self.cancel_all();
        }
        for child in [&mut self.slurmd, &mut self.slurmctld, &mut self.munged] {
            if let Some(c) = child.take() {
                stop(c);
            }
        }
        self.kill_strays();
    }
}

/// SIGTERM, wait up to STOP_TIMEOUT, then SIGKILL; always reaps.
fn stop(mut c: Child) {
    unsafe { libc::kill(c.id() as libc::pid_t, libc::SIGTERM) };
    let deadline = Instant::now() + STOP_TIMEOUT;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = c.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = c.kill();
    let _ = c.wait();
}

/// The conf: DESIGN.md's settings, every path in `dir`, fixed timeouts small for tests.
fn slurm_conf(
    dir: &Path,
    node: &str,
    node_line: &str,
    socket: &Path,
    ctld_port: u16,
    slurmd_port: u16,
) -> String {
    let d = dir.display();
    let name = dir
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_lowercase()
        .replace(|c: char| !c.is_ascii_alphanumeric(), "");
    format!(
        "# Written by tests/common/slurm.rs for one test; removed with its temp dir.
ClusterName={name}
SlurmctldHost={node}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={socket}
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
StateSaveLocation={d}/state
SlurmdSpoolDir={d}/spool
SlurmctldPidFile={d}/run/slurmctld.pid
SlurmdPidFile={d}/run/slurmd.pid
SlurmctldLogFile={d}/log/slurmctld.log
SlurmdLogFile={d}/log/slurmd.log
SlurmdTimeout=5
SlurmctldTimeout=10
InactiveLimit=0
MinJobAge=300
KillWait=2
{node_line} NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes={node} Default=YES MaxTime=INFINITE State=UP
",
        socket = socket.display()
    )
}

/// `NodeName=… CPUs=… Boards=… SocketsPerBoard=… CoresPerSocket=… ThreadsPerCore=…
/// RealMemory=…` for this machine: `slurmd -C`'s first line (exactly what slurmd will register,
/// so the node isn't drained for a mismatch), else CPUs and memory from std and /proc/meminfo.
fn node_line(bins: &Bins, node: &str) -> String {
    if let Ok(out) = Command::new(bins.path("slurmd")).arg("-C").output()
        && let Some(line) = String::from_utf8_lossy(&out.stdout)
            .lines()
            .find(|l| l.starts_with("NodeName="))
    {
        let rest = line.split_once(' ').map_or("", |(_, r)| r);
        return format!("NodeName={node} {rest}");
    }
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mem_mb = fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            let l = t.lines().find(|l| l.starts_with("MemTotal:"))?.to_string();
            l.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .map_or(1024, |kb| kb / 1024);
    format!("NodeName={node} CPUs={cpus} RealMemory={mem_mb}")
}

/// The value of `KEY=` in `scontrol -o` style text, up to the next space.
pub fn field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let pat = format!("{key}=");
    text.split_whitespace()
        .find_map(|tok| tok.strip_prefix(pat.as_str()))
}

/// `hostname -s`.
fn short_hostname() -> String {
    let mut buf = [0u8; 256];
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    assert_eq!(rc, 0, "gethostname failed");
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    let full = String::from_utf8_lossy(&buf[..end]).into_owned();
    full.split('.').next().unwrap_or("localhost").to_string()
}

/// The munge user's uid and gid, when we are root and it exists.
fn munge_user() -> Option<(u32, u32)> {
    if unsafe { libc::geteuid() } != 0 {
        return None;
    }
    let name = c"munge";
    let pw = unsafe { libc::getpwnam(name.as_ptr()) };
    if pw.is_null() {
        return None;
    }
    let pw = unsafe { &*pw };
    Some((pw.pw_uid, pw.pw_gid))
}

/// A free TCP port outside the defaults (6817/6818) and the ephemeral range, not yet handed
/// out by this process. Each process starts at an offset from its pid so that concurrently
/// running test binaries rarely try the same ports; a port bound by someone else between this
/// check and the daemon's bind makes `start()` retry with new ones.
fn pick_port() -> u16 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    static GIVEN: Mutex<Vec<u16>> = Mutex::new(Vec::new());
    const LOW: u32 = 20000;
    const SPAN: u32 = 10000;
    let base = (std::process::id() * 97) % SPAN;
    loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = (LOW + (base + n * 7) % SPAN) as u16;
        let mut given = GIVEN.lock().unwrap();
        if given.contains(&port) {
            continue;
        }
        if TcpListener::bind(("0.0.0.0", port)).is_ok() {
            given.push(port);
            return port;
        }
    }
}
