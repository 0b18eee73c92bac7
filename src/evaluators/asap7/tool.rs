//! The invocation of one EDA tool, shared by [`super::yosys`] and [`super::opensta`]: find the
//! binary, read its version (part of every cache key), run it in its own process group with a
//! time limit ([`crate::process`]), and keep its log in the unit's folder.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use crate::evaluators::{Cancel, EvalError};
use crate::process::{self, Invocation, ProcessError};

/// How long `TOOL -V` may take.
const VERSION_TIMEOUT: Duration = Duration::from_secs(60);

/// One installed tool.
#[derive(Clone, Debug)]
pub struct Tool {
    /// The name the user knows it by (`yosys`, `sta`).
    pub name: String,
    /// Its absolute path.
    pub path: PathBuf,
    /// Its version line, e.g. `Yosys 0.23 (git sha1 7ce5011c24b)`.
    pub version: String,
}

impl Tool {
    /// Find `program` (a name on `PATH` or a path) and read its version with `version_args`.
    ///
    /// Errors: [`EvalError::Setup`] naming the program and `install`, the way to get it.
    pub fn find(program: &str, version_args: &[&str], install: &str) -> Result<Self, EvalError> {
        let path = process::locate(Path::new(program)).map_err(|_| {
            EvalError::Setup(format!(
                "asap7: the tool '{program}' was not found on PATH. Install it: {install}."
            ))
        })?;
        let version = version_of(&path, version_args)?;
        Ok(Self {
            name: program.to_string(),
            path,
            version,
        })
    }

    /// Run the tool with `args` in `cwd`; stdout goes to `cwd/<stem>.log`, stderr to
    /// `cwd/<stem>.err.log`. A non-zero exit is [`EvalError::Failed`] quoting the log's last
    /// line; the time limit and `cancel` map to [`EvalError::Timeout`] and
    /// [`EvalError::Cancelled`].
    pub fn run(
        &self,
        args: &[String],
        cwd: &Path,
        stem: &str,
        timeout: Duration,
        cancel: &Cancel,
    ) -> Result<(), EvalError> {
        let log = cwd.join(format!("{stem}.log"));
        let mut inv = Invocation::new(&self.path, timeout);
        inv.args = args.to_vec();
        inv.cwd = Some(cwd.to_path_buf());
        inv.stdout_log = Some(log.clone());
        inv.stderr_log = Some(cwd.join(format!("{stem}.err.log")));
        let outcome = process::run(&inv, cancel).map_err(|e| match e {
            ProcessError::TimedOut(limit) => EvalError::Timeout(limit),
            ProcessError::Cancelled => EvalError::Cancelled,
            ProcessError::NotFound { .. } | ProcessError::Spawn { .. } => {
                EvalError::Setup(format!("asap7: {}: {e}", self.name))
            }
            other => EvalError::Failed(format!("asap7: {}: {other}", self.name)),
        })?;
        if !outcome.success() {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let err =
                std::fs::read_to_string(cwd.join(format!("{stem}.err.log"))).unwrap_or_default();
            let last = last_error_line(&text)
                .or_else(|| last_error_line(&err))
                .unwrap_or("(no output)");
            return Err(EvalError::Failed(format!(
                "asap7: {} ({stem}) ended with {}: {last} (log: {})",
                self.name,
                outcome.status_text(),
                log.display()
            )));
        }
        Ok(())
    }
}

/// The last line that says ERROR, else the last non-empty line.
fn last_error_line(text: &str) -> Option<&str> {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    lines
        .iter()
        .rev()
        .find(|l| l.to_ascii_lowercase().contains("error"))
        .or(lines.last())
        .copied()
}

/// The tool's version line: its output's last non-empty line, remembered per binary for the
/// life of the process.
fn version_of(path: &Path, args: &[&str]) -> Result<String, EvalError> {
    static KNOWN: OnceLock<Mutex<HashMap<PathBuf, String>>> = OnceLock::new();
    let known = KNOWN.get_or_init(Default::default);
    if let Some(v) = known.lock().expect("version table").get(path) {
        return Ok(v.clone());
    }
    let mut inv = Invocation::new(path, VERSION_TIMEOUT);
    inv.args = args.iter().map(|a| a.to_string()).collect();
    let out = process::run(&inv, &Cancel::new()).map_err(|e| {
        EvalError::Setup(format!(
            "asap7: cannot read the version of {}: {e}",
            path.display()
        ))
    })?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let version = text
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .unwrap_or("unknown")
        .to_string();
    known
        .lock()
        .expect("version table")
        .insert(path.to_path_buf(), version.clone());
    Ok(version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_tool_names_what_to_install() {
        let err = Tool::find("no-such-yosys-here", &["-V"], "apt-get install yosys").unwrap_err();
        assert!(
            matches!(&err, EvalError::Setup(m) if m.contains("'no-such-yosys-here'") && m.contains("apt-get install yosys")),
            "{err}"
        );
    }

    #[test]
    fn the_error_line_is_preferred() {
        assert_eq!(last_error_line("a\nERROR: bad\nEnd\n"), Some("ERROR: bad"));
        assert_eq!(last_error_line("a\n\nlast\n"), Some("last"));
        assert_eq!(last_error_line(""), None);
    }
}
