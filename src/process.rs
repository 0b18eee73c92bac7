//! Running a child process safely: argv only, its own process group, a time limit, logs.
//!
//! Every external tool goes through [`run`]: the `command` evaluator now, and the Yosys,
//! OpenSTA and `sbatch` runners. The rules, and why:
//!
//! * **argv only, never a shell**, so a parameter value such as `$(rm -rf /)` reaches the tool
//!   as the bytes it is.
//! * **Its own process group** (`setpgid(0, 0)` in the child), so that one `killpg` reaches
//!   the tool and everything it started (a flow script's `yosys &`, a `make -j`).
//! * **SIGKILL to the whole group** on timeout, on cancel, when the run is abandoned by a panic
//!   (a guard's `Drop`), and also once the leader has exited: leftovers of a finished tool have
//!   no one left to time them out, and they would keep a captured pipe open forever. The group
//!   is killed while the leader is still an unreaped zombie, so its id cannot have been reused.
//! * **stdin is `/dev/null`**, so a tool that prompts fails instead of hanging.
//! * stdout and stderr go to **log files** when given, else they are captured into memory up to
//!   [`CAPTURE_LIMIT`] bytes each, so garbage output cannot flood the daemon's memory.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::evaluators::Cancel;

/// The most bytes of stdout (and of stderr) kept in memory when they are not logged to files.
pub const CAPTURE_LIMIT: usize = 1 << 20;

/// The longest wait between two looks at the child, its deadline and the cancel flag. Looks
/// start 1 ms apart and back off to this, so short tools return at once and long ones cost
/// nothing.
const MAX_TICK: Duration = Duration::from_millis(50);

/// One run of a program: what to run, where, and for how long.
#[derive(Clone, Debug)]
pub struct Invocation {
    /// A name looked up on `PATH`, or a path (anything with a `/`; a relative one is taken
    /// from this process's working directory, not from `cwd`).
    pub program: PathBuf,
    /// The arguments, passed verbatim.
    pub args: Vec<String>,
    /// The child's working directory; this process's own when `None`.
    pub cwd: Option<PathBuf>,
    /// Variables set on top of this process's environment.
    pub env: Vec<(String, String)>,
    /// Where stdout goes (created or truncated); captured into [`Outcome::stdout`] when `None`.
    pub stdout_log: Option<PathBuf>,
    /// Where stderr goes (created or truncated); captured into [`Outcome::stderr`] when `None`.
    pub stderr_log: Option<PathBuf>,
    /// The wall-clock limit, after which the process group is killed.
    pub timeout: Duration,
}

impl Invocation {
    /// `program` with no arguments, in this process's directory, output captured.
    pub fn new(program: impl Into<PathBuf>, timeout: Duration) -> Self {
        Self {
            program: program.into(),
            args: Vec::new(),
            cwd: None,
            env: Vec::new(),
            stdout_log: None,
            stderr_log: None,
            timeout,
        }
    }
}

/// How a run that finished by itself ended. A non-zero exit is an outcome, not an error: what
/// it means is the caller's call.
#[derive(Debug)]
pub struct Outcome {
    pub status: ExitStatus,
    /// The captured stdout; empty when it went to a log file.
    pub stdout: Vec<u8>,
    /// The captured stderr; empty when it went to a log file.
    pub stderr: Vec<u8>,
    /// Whether captured output went past [`CAPTURE_LIMIT`] and its tail was dropped.
    pub truncated: bool,
    pub elapsed: Duration,
}

impl Outcome {
    pub fn success(&self) -> bool {
        self.status.success()
    }

    /// The status in words: `exit status 3` or `killed by signal 11`.
    pub fn status_text(&self) -> String {
        match (self.status.code(), self.status.signal()) {
            (Some(code), _) => format!("exit status {code}"),
            (None, Some(signal)) => format!("killed by signal {signal}"),
            (None, None) => self.status.to_string(),
        }
    }
}

/// Why a run has no [`Outcome`].
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// The program is not installed, or the path names no executable file.
    #[error("program '{program}' was not found: {hint}")]
    NotFound { program: String, hint: String },
    /// The program exists but could not be started (a bad `#!` line, a missing `cwd`).
    #[error("cannot start '{program}': {source}")]
    Spawn { program: String, source: io::Error },
    /// A log file could not be created.
    #[error("cannot create the log file {}: {source}", path.display())]
    Log { path: PathBuf, source: io::Error },
    /// Waiting for the child failed; it has been killed.
    #[error("lost track of the child process: {0}")]
    Wait(io::Error),
    /// The run went past its time limit; the process group was killed.
    #[error("timed out after {0:?}")]
    TimedOut(Duration),
    /// The cancel flag was raised; the process group was killed.
    #[error("cancelled")]
    Cancelled,
}

/// Where `name` is: a name without `/` is looked up in `PATH` (empty entries are skipped
/// rather than meaning `.`); anything with a `/` is taken as a path. Only executable regular
/// files count.
pub fn find_program(name: impl AsRef<Path>) -> Option<PathBuf> {
    let name = name.as_ref();
    if name.as_os_str().is_empty() {
        return None;
    }
    if has_slash(name.as_os_str()) {
        return is_executable(name).then(|| name.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

/// [`find_program`], as an absolute path, or [`ProcessError::NotFound`] with a hint that
/// fits how the program was named.
pub fn locate(program: &Path) -> Result<PathBuf, ProcessError> {
    let found = find_program(program).ok_or_else(|| {
        let hint = if has_slash(program.as_os_str()) {
            "no executable file at that path (check it, or `chmod +x` it)"
        } else {
            "it is not on PATH (install it, or give its full path)"
        };
        ProcessError::NotFound {
            program: program.display().to_string(),
            hint: hint.into(),
        }
    })?;
    std::path::absolute(&found).map_err(|source| ProcessError::Spawn {
        program: program.display().to_string(),
        source,
    })
}

fn has_slash(name: &OsStr) -> bool {
    name.as_bytes().contains(&b'/')
}

fn is_executable(path: &Path) -> bool {
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Run `inv` to its end, its time limit, or `cancel`, whichever comes first. Returns the
/// outcome of a run that ended by itself, whatever its exit status. Blocks the calling thread.
pub fn run(inv: &Invocation, cancel: &Cancel) -> Result<Outcome, ProcessError> {
    if cancel.is_cancelled() {
        return Err(ProcessError::Cancelled);
    }
    let program = locate(&inv.program)?;
    let mut command = Command::new(&program);
    command
        .args(&inv.args)
        .envs(inv.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(sink(inv.stdout_log.as_deref())?)
        .stderr(sink(inv.stderr_log.as_deref())?)
        .process_group(0);
    if let Some(dir) = &inv.cwd {
        command.current_dir(dir);
    }

    let start = Instant::now();
    let mut child = command.spawn().map_err(|source| ProcessError::Spawn {
        program: inv.program.display().to_string(),
        source,
    })?;
    let mut captures = [
        Capture::new(child.stdout.take()),
        Capture::new(child.stderr.take()),
    ];
    let group = Group {
        child,
        reaped: false,
    };

    let mut tick = Duration::from_millis(1);
    loop {
        let left = inv.timeout.saturating_sub(start.elapsed());
        pump(&mut captures, tick.min(left));
        if group.has_exited().map_err(ProcessError::Wait)? {
            break;
        }
        if cancel.is_cancelled() {
            return Err(ProcessError::Cancelled);
        }
        if start.elapsed() >= inv.timeout {
            return Err(ProcessError::TimedOut(inv.timeout));
        }
        tick = (tick * 2).min(MAX_TICK);
    }
    let status = group.finish().map_err(ProcessError::Wait)?;
    let elapsed = start.elapsed();
    // The leader is gone and the rest of its group killed: what is left in the pipes is all
    // there will be.
    for capture in &mut captures {
        capture.read_available();
    }
    let [stdout, stderr] = captures;
    Ok(Outcome {
        status,
        truncated: stdout.truncated || stderr.truncated,
        stdout: stdout.data,
        stderr: stderr.data,
        elapsed,
    })
}

/// A log file when one is given, else a pipe to capture.
fn sink(log: Option<&Path>) -> Result<Stdio, ProcessError> {
    match log {
        Some(path) => File::create(path)
            .map(Stdio::from)
            .map_err(|source| ProcessError::Log {
                path: path.to_path_buf(),
                source,
            }),
        None => Ok(Stdio::piped()),
    }
}

/// The child and its process group. Dropping it before [`Group::finish`] (an early return or
/// a panic) kills the whole group and reaps the leader, so nothing outlives an abandoned run.
struct Group {
    child: Child,
    reaped: bool,
}

impl Group {
    /// Whether the leader has exited, without reaping it (`WNOWAIT`): while it is an unreaped
    /// zombie its pid, which is the group's id, cannot be handed to another process.
    fn has_exited(&self) -> io::Result<bool> {
        // SAFETY: `siginfo_t` is plain data; zeroed is a valid value for `waitid` to fill.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        loop {
            // SAFETY: `info` is a valid, writable `siginfo_t`; the pid is our own child's.
            let rc = unsafe {
                libc::waitid(
                    libc::P_PID,
                    self.child.id(),
                    &mut info,
                    libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
                )
            };
            if rc == 0 {
                // SAFETY: after a successful `waitid` the pid field is set (0 if none exited).
                return Ok(unsafe { info.si_pid() } != 0);
            }
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(err);
            }
        }
    }

    /// SIGKILL to every process in the group. Errors are ignored: an empty group is the goal.
    fn kill(&self) {
        // The pid fits: Linux pids are below 2^22.
        // SAFETY: `killpg` has no memory-safety preconditions.
        unsafe { libc::killpg(self.child.id() as libc::pid_t, libc::SIGKILL) };
    }

    /// Kill what is left of the group and reap the leader.
    fn finish(mut self) -> io::Result<ExitStatus> {
        self.kill();
        self.reaped = true;
        self.child.wait()
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        if !self.reaped {
            self.kill();
            let _ = self.child.wait();
        }
    }
}

/// One captured output stream: a non-blocking pipe, read as data arrives.
struct Capture {
    /// `None` when the stream is logged to a file, or the pipe reached its end.
    pipe: Option<File>,
    data: Vec<u8>,
    truncated: bool,
}

impl Capture {
    fn new(pipe: Option<impl Into<OwnedFd>>) -> Self {
        let pipe = pipe.map(|p| File::from(p.into()));
        if let Some(file) = &pipe {
            let fd = file.as_raw_fd();
            // SAFETY: `fd` is an open descriptor owned by `file`; F_GETFL/F_SETFL touch only
            // its flags. Our read end alone becomes non-blocking, not the child's write end.
            unsafe {
                libc::fcntl(
                    fd,
                    libc::F_SETFL,
                    libc::fcntl(fd, libc::F_GETFL) | libc::O_NONBLOCK,
                )
            };
        }
        Self {
            pipe,
            data: Vec::new(),
            truncated: false,
        }
    }

    /// Read whatever the pipe holds now, keeping up to [`CAPTURE_LIMIT`] bytes and dropping
    /// the rest (the pipe is still drained, so the child never blocks on a full pipe).
    fn read_available(&mut self) {
        let Some(pipe) = &mut self.pipe else { return };
        let mut buf = [0u8; 64 * 1024];
        loop {
            match pipe.read(&mut buf) {
                Ok(0) => {
                    self.pipe = None;
                    break;
                }
                Ok(n) => {
                    let keep = n.min(CAPTURE_LIMIT - self.data.len());
                    self.data.extend_from_slice(&buf[..keep]);
                    self.truncated |= keep < n;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                // A broken capture must not hang the run: treat it as the end of the stream.
                Err(_) => {
                    self.pipe = None;
                    break;
                }
            }
        }
    }
}

/// Wait up to `wait` for captured output (or just sleep when nothing is captured), then read
/// what has arrived.
fn pump(captures: &mut [Capture], wait: Duration) {
    let mut fds: Vec<libc::pollfd> = captures
        .iter()
        .filter_map(|c| c.pipe.as_ref())
        .map(|pipe| libc::pollfd {
            fd: pipe.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    if fds.is_empty() {
        std::thread::sleep(wait);
        return;
    }
    let millis = wait.as_millis().min(i32::MAX as u128) as libc::c_int;
    // SAFETY: `fds` is a valid array of `fds.len()` pollfd structs for the duration of the call.
    unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, millis) };
    for capture in captures {
        capture.read_available();
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Whether `pid` is still a live process (a zombie counts as gone: it runs nothing, and
    /// PID 1 in a container may never reap it).
    fn is_running(pid: i32) -> bool {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            return false;
        };
        let state = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.trim_start().chars().next());
        !matches!(state, Some('Z' | 'X') | None)
    }

    /// Whether `pid` is gone within a second (SIGKILL is delivered asynchronously).
    pub(crate) fn gone_soon(pid: i32) -> bool {
        let deadline = Instant::now() + Duration::from_secs(1);
        while is_running(pid) {
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        true
    }

    /// The pid a script wrote to `path`, waiting briefly for it to appear.
    pub(crate) fn read_pid(path: &Path) -> i32 {
        let deadline = Instant::now() + Duration::from_secs(1);
        loop {
            if let Some(pid) = std::fs::read_to_string(path)
                .ok()
                .and_then(|t| t.trim().parse().ok())
            {
                return pid;
            }
            assert!(Instant::now() < deadline, "no pid in {}", path.display());
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn sh(script: &str, timeout: Duration) -> Invocation {
        let mut inv = Invocation::new("/bin/sh", timeout);
        inv.args = vec!["-c".into(), script.into()];
        inv
    }

    #[test]
    fn captures_output_and_exit_status() {
        let mut inv = sh(
            "printf \"$GREETING\"; echo oops >&2; exit 3",
            Duration::from_secs(5),
        );
        inv.env.push(("GREETING".into(), "hello".into()));
        let out = run(&inv, &Cancel::new()).unwrap();
        assert_eq!(out.stdout, b"hello");
        assert_eq!(out.stderr, b"oops\n");
        assert!(!out.success());
        assert_eq!(out.status_text(), "exit status 3");
        assert!(!out.truncated);
    }

    #[test]
    fn stdin_is_null_and_cwd_is_applied() {
        let dir = tempfile::tempdir().unwrap();
        let mut inv = sh("cat; pwd", Duration::from_secs(5));
        inv.cwd = Some(dir.path().to_path_buf());
        let out = run(&inv, &Cancel::new()).unwrap();
        let pwd = std::fs::canonicalize(dir.path()).unwrap();
        assert_eq!(
            String::from_utf8(out.stdout).unwrap().trim(),
            pwd.to_str().unwrap()
        );
    }

    #[test]
    fn logs_go_to_files() {
        let dir = tempfile::tempdir().unwrap();
        let mut inv = sh("echo out; echo err >&2", Duration::from_secs(5));
        inv.stdout_log = Some(dir.path().join("stdout.log"));
        inv.stderr_log = Some(dir.path().join("stderr.log"));
        let out = run(&inv, &Cancel::new()).unwrap();
        assert!(out.success() && out.stdout.is_empty() && out.stderr.is_empty());
        assert_eq!(
            std::fs::read_to_string(dir.path().join("stdout.log")).unwrap(),
            "out\n"
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("stderr.log")).unwrap(),
            "err\n"
        );
    }

    #[test]
    fn capture_is_capped() {
        // 2 MiB of zeros; the child must not block on the pipe once the cap is reached.
        let inv = sh("head -c 2097152 /dev/zero", Duration::from_secs(5));
        let out = run(&inv, &Cancel::new()).unwrap();
        assert!(out.success());
        assert_eq!(out.stdout.len(), CAPTURE_LIMIT);
        assert!(out.truncated);
    }

    #[test]
    fn timeout_kills_the_whole_group() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("grandchild.pid");
        let script = format!("sleep 30 & echo $! > '{}'; sleep 30", pid_file.display());
        let started = Instant::now();
        let err = run(&sh(&script, Duration::from_millis(300)), &Cancel::new()).unwrap_err();
        assert!(
            matches!(err, ProcessError::TimedOut(d) if d == Duration::from_millis(300)),
            "{err}"
        );
        assert!(started.elapsed() < Duration::from_secs(2));
        assert!(
            gone_soon(read_pid(&pid_file)),
            "the background sleep survived"
        );
    }

    #[test]
    fn leftovers_of_a_finished_tool_are_killed() {
        // The background sleep holds the captured stdout open: without the group kill, the
        // run would wait for it.
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("leftover.pid");
        let script = format!("sleep 30 & echo $! > '{}'; echo done", pid_file.display());
        let started = Instant::now();
        let out = run(&sh(&script, Duration::from_secs(10)), &Cancel::new()).unwrap();
        assert_eq!(out.stdout, b"done\n");
        assert!(started.elapsed() < Duration::from_secs(2));
        assert!(gone_soon(read_pid(&pid_file)));
    }

    #[test]
    fn cancel_kills_the_group() {
        let cancel = Cancel::new();
        let flag = cancel.clone();
        let canceller = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            flag.cancel();
        });
        let started = Instant::now();
        let err = run(&sh("sleep 30", Duration::from_secs(30)), &cancel).unwrap_err();
        canceller.join().unwrap();
        assert!(matches!(err, ProcessError::Cancelled), "{err}");
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn an_abandoned_group_is_killed_on_drop() {
        let child = Command::new("/bin/sh")
            .args(["-c", "sleep 30"])
            .process_group(0)
            .spawn()
            .unwrap();
        let pid = child.id() as i32;
        let outcome = std::panic::catch_unwind(move || {
            let _group = Group {
                child,
                reaped: false,
            };
            panic!("abandon the run");
        });
        assert!(outcome.is_err());
        assert!(gone_soon(pid));
    }

    #[test]
    fn missing_programs_are_named_with_a_hint() {
        let err = run(
            &Invocation::new("no-such-tool-xyz", Duration::from_secs(1)),
            &Cancel::new(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "program 'no-such-tool-xyz' was not found: it is not on PATH (install it, or give its full path)"
        );
        let err = locate(Path::new("./no/such/tool")).unwrap_err();
        assert!(
            err.to_string().contains("no executable file at that path"),
            "{err}"
        );
    }

    #[test]
    fn find_program_searches_path_and_accepts_paths() {
        assert!(find_program("sh").is_some_and(|p| p.is_absolute()));
        assert_eq!(find_program("/bin/sh"), Some(PathBuf::from("/bin/sh")));
        assert_eq!(find_program(""), None);
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("tool");
        std::fs::write(&script, "#!/bin/sh\n").unwrap();
        assert_eq!(find_program(&script), None, "not executable yet");
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(find_program(&script), Some(script.clone()));
        assert_eq!(
            find_program(dir.path()),
            None,
            "a directory is not a program"
        );
    }
}
