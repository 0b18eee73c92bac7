//! The `command` evaluator: the users' own flow (an OpenROAD run, a commercial tool) run as a
//! child process per design.
//!
//! ```toml
//! [evaluator.command]
//! argv = ["./flow.sh", "--dim={dim}", "--qor={output}", "{design_json}"]
//! metrics = ["latency_ms", "power_mw", "area_mm2"]   # required in every report
//! output = "qor.json"        # the report file; when absent the report is read from stdout
//! timeout_s = 3600           # the default
//! env = { PDK = "/opt/asap7", RUN = "{workdir}" }
//! cwd = "flow"               # the evaluation's folder when absent
//! ```
//!
//! The command is an argv list, never a shell string, so a value such as `$(rm -rf /)`
//! reaches it verbatim. Placeholders in `argv`, `output`, `env` values and `cwd`:
//!
//! * `{NAME}`: the value of design parameter NAME, as [`Value`]'s `Display` writes it;
//! * `{workdir}`: the evaluation's own folder;
//! * `{design_json}`: `design.json` in that folder, the design as a JSON object;
//! * `{output}`: the report file's path (in `argv` and `env` only, and only when `output` is
//!   set);
//! * `{{` and `}}`: literal braces.
//!
//! The program (`argv[0]`) is found once, at start-up, so it takes no placeholders: a name
//! with a `/` is relative to the config's folder, any other name is looked up in `PATH`. A
//! relative `cwd` is taken from the config's folder, a relative `output` from the command's
//! working directory. The evaluation's folder ends up holding `design.json`, `command.json`
//! (the exact argv, cwd and env, to rerun it by hand), `stdout.log` and `stderr.log`. The
//! report is read with [`crate::qor`]: every metric must be a finite number, and the declared
//! `metrics` must all be there.
//!
//! [`Value`]: crate::space::Value

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::{EvalContext, EvalError, Evaluator};
use crate::config::Problem;
use crate::process::{self, Invocation, ProcessError};
use crate::qor;
use crate::space::{Design, Metrics};

/// The time limit when `timeout_s` is not given: one hour.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3600);

const WORKDIR: &str = "workdir";
const DESIGN_JSON: &str = "design_json";
const OUTPUT: &str = "output";
/// The placeholders every evaluation defines besides the design's parameters.
const BUILT_INS: [&str; 3] = [WORKDIR, DESIGN_JSON, OUTPUT];

/// How much of the end of `stderr.log` is read to find its last line.
const STDERR_TAIL_BYTES: u64 = 4096;
/// How long the quoted stderr line of a failure may get.
const STDERR_LINE_CHARS: usize = 300;

/// The `[evaluator.command]` table as written; [`CommandSettings::validate`] checks it
/// against the space's parameters, [`CommandEvaluator::new`] turns it into an evaluator.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandSettings {
    /// The program and its arguments, each a template.
    pub argv: Spanned<Vec<Spanned<String>>>,
    /// The metrics every report must hold.
    #[serde(default)]
    pub metrics: Vec<String>,
    /// The report file the command writes (a template); stdout is the report when absent.
    pub output: Option<Spanned<String>>,
    /// Seconds before the command's process group is killed; 3600 when absent.
    pub timeout_s: Option<Spanned<f64>>,
    /// Variables set for the command, on top of the daemon's environment (templates).
    #[serde(default)]
    pub env: BTreeMap<String, Spanned<String>>,
    /// The command's working directory (a template); the evaluation's folder when absent.
    pub cwd: Option<Spanned<String>>,
}

/// Which setting a template belongs to, which decides the placeholders it may use.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Role<'a> {
    Program,
    Arg,
    Output,
    /// The value of the variable named here.
    Env(&'a str),
    Cwd,
}

/// One template-valued setting, with its field path for problems.
struct Field<'a> {
    path: String,
    text: &'a Spanned<String>,
    role: Role<'a>,
}

impl Field<'_> {
    fn problem(&self, message: impl Into<String>) -> Problem {
        Problem::new(&self.path, Some(self.text.span()), message)
    }

    fn template(&self) -> Result<Template, Problem> {
        Template::parse(self.text.get_ref()).map_err(|message| self.problem(message))
    }

    /// The program's name: `argv[0]` with its braces unescaped; no placeholders, not empty.
    fn program_name(&self, template: &Template) -> Result<String, Problem> {
        let name = template.render(&BTreeMap::new()).map_err(|_| {
            self.problem(format!(
                "the program cannot hold placeholders: it is found once, at start-up. Got {:?}.",
                self.text.get_ref()
            ))
        })?;
        if name.is_empty() {
            return Err(self.problem("the program must not be empty"));
        }
        Ok(name)
    }
}

impl CommandSettings {
    /// The metrics every report must hold (the `metrics` list; empty when not given).
    pub fn declared_metrics(&self) -> Vec<String> {
        self.metrics.clone()
    }

    /// Every problem in these settings for a space with parameters `param_names`: an empty
    /// argv, a brace out of place, an unknown placeholder, a bad timeout, a parameter named
    /// like a built-in placeholder.
    pub fn validate(&self, param_names: &[String]) -> Vec<Problem> {
        let mut problems: Vec<Problem> = self.empty_argv().into_iter().collect();
        for field in self.fields() {
            let template = match field.template() {
                Ok(template) => template,
                Err(problem) => {
                    problems.push(problem);
                    continue;
                }
            };
            if field.role == Role::Program {
                problems.extend(field.program_name(&template).err());
                continue;
            }
            let known = self.known_placeholders(field.role, param_names);
            for name in template.slots().filter(|name| !known.contains(name)) {
                problems.push(field.problem(unknown_placeholder(name, &field, &known)));
            }
        }
        problems.extend(self.timeout().err());
        for name in param_names
            .iter()
            .filter(|name| BUILT_INS.contains(&name.as_str()))
        {
            problems.push(Problem::new(
                "evaluator.command",
                None,
                format!(
                    "parameter '{name}' has the name of the built-in placeholder {{{name}}}, \
                     so {{{name}}} could not mean it; rename the parameter"
                ),
            ));
        }
        problems
    }

    fn empty_argv(&self) -> Option<Problem> {
        self.argv.get_ref().is_empty().then(|| {
            Problem::new(
                "evaluator.command.argv",
                Some(self.argv.span()),
                r#"must list the program and its arguments, e.g. ["./flow.sh", "{workdir}"]. Got []."#,
            )
        })
    }

    /// The template-valued settings, in the order they are written in the docs.
    fn fields(&self) -> impl Iterator<Item = Field<'_>> {
        let argv = self
            .argv
            .get_ref()
            .iter()
            .enumerate()
            .map(|(i, text)| Field {
                path: format!("evaluator.command.argv[{i}]"),
                text,
                role: if i == 0 { Role::Program } else { Role::Arg },
            });
        let output = self.output.iter().map(|text| Field {
            path: "evaluator.command.output".into(),
            text,
            role: Role::Output,
        });
        let env = self.env.iter().map(|(name, text)| Field {
            path: format!("evaluator.command.env.{name}"),
            text,
            role: Role::Env(name),
        });
        let cwd = self.cwd.iter().map(|text| Field {
            path: "evaluator.command.cwd".into(),
            text,
            role: Role::Cwd,
        });
        argv.chain(output).chain(env).chain(cwd)
    }

    /// The placeholders a template in `role` may use.
    fn known_placeholders<'a>(&self, role: Role<'_>, param_names: &'a [String]) -> Vec<&'a str> {
        if role == Role::Program {
            return Vec::new();
        }
        let mut known: Vec<&str> = param_names.iter().map(String::as_str).collect();
        known.extend([WORKDIR, DESIGN_JSON]);
        if matches!(role, Role::Arg | Role::Env(_)) && self.output.is_some() {
            known.push(OUTPUT);
        }
        known
    }

    fn timeout(&self) -> Result<Duration, Problem> {
        let Some(timeout) = &self.timeout_s else {
            return Ok(DEFAULT_TIMEOUT);
        };
        let seconds = *timeout.get_ref();
        Duration::try_from_secs_f64(seconds)
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| {
                Problem::new(
                    "evaluator.command.timeout_s",
                    Some(timeout.span()),
                    format!("must be a number of seconds > 0. Got {seconds}."),
                )
            })
    }
}

/// Why `{name}` cannot be used in `field`.
fn unknown_placeholder(name: &str, field: &Field<'_>, known: &[&str]) -> String {
    match (name, field.role) {
        (OUTPUT, Role::Output | Role::Cwd) => {
            "{output} cannot be used here: output and cwd decide where the output file is".into()
        }
        (OUTPUT, _) => "{output} needs evaluator.command.output, the file the command writes \
                        (without it the report is read from stdout)"
            .into(),
        _ => {
            let known: Vec<String> = known.iter().map(|k| format!("{{{k}}}")).collect();
            format!(
                "unknown placeholder {{{name}}} in {:?}; known here: {}",
                field.text.get_ref(),
                known.join(", ")
            )
        }
    }
}

/// A setting's text cut into literal text and `{NAME}` slots.
#[derive(Clone, Debug)]
struct Template {
    text: String,
    pieces: Vec<Piece>,
}

#[derive(Clone, Debug, PartialEq)]
enum Piece {
    Text(String),
    Slot(String),
}

impl Template {
    /// Split `text`; `{{` and `}}` are literal braces, and any other brace must belong to a
    /// non-empty `{NAME}`. The error says where the stray brace is.
    fn parse(text: &str) -> Result<Self, String> {
        let stray = |brace: char, at: usize| {
            format!(
                "{text:?} has an unmatched '{brace}' at character {}; write '{brace}{brace}' for a literal one",
                at + 1
            )
        };
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut chars = text.chars().enumerate().peekable();
        while let Some((at, c)) = chars.next() {
            match c {
                '{' if chars.next_if(|&(_, next)| next == '{').is_some() => literal.push('{'),
                '}' if chars.next_if(|&(_, next)| next == '}').is_some() => literal.push('}'),
                '{' => {
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some((_, '}')) => break,
                            Some((_, '{')) | None => return Err(stray('{', at)),
                            Some((_, c)) => name.push(c),
                        }
                    }
                    if name.trim().is_empty() {
                        return Err(format!(
                            "{text:?} has an empty placeholder at character {}; write '{{{{}}}}' for literal braces",
                            at + 1
                        ));
                    }
                    if !literal.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut literal)));
                    }
                    pieces.push(Piece::Slot(name));
                }
                '}' => return Err(stray('}', at)),
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            pieces.push(Piece::Text(literal));
        }
        Ok(Self {
            text: text.to_string(),
            pieces,
        })
    }

    fn slots(&self) -> impl Iterator<Item = &str> {
        self.pieces.iter().filter_map(|piece| match piece {
            Piece::Slot(name) => Some(name.as_str()),
            Piece::Text(_) => None,
        })
    }

    /// The text with every slot replaced by its value, verbatim; an error names a slot
    /// without a value.
    fn render(&self, values: &BTreeMap<&str, String>) -> Result<String, String> {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Slot(name) => out.push_str(values.get(name.as_str()).ok_or_else(|| {
                    format!(
                        "{:?} names {{{name}}}, which is neither a parameter of the design nor a built-in placeholder",
                        self.text
                    )
                })?),
            }
        }
        Ok(out)
    }
}

/// The `command` evaluator, ready to run: templates parsed, the program found, the timeout
/// checked.
#[derive(Debug)]
pub struct CommandEvaluator {
    program: PathBuf,
    args: Vec<Template>,
    output: Option<Template>,
    env: Vec<(String, Template)>,
    cwd: Option<Template>,
    /// The config's folder, which a relative `cwd` is taken from.
    base_dir: PathBuf,
    metrics: Vec<String>,
    timeout: Duration,
}

impl CommandEvaluator {
    /// Parse the templates and find the program (relative to `base_dir`, the config's folder,
    /// when its name has a `/`; in `PATH` otherwise). Placeholder names are checked by
    /// [`CommandSettings::validate`], which knows the parameters; a missing program, a stray
    /// brace or a bad timeout is an [`EvalError::Setup`] here.
    pub fn new(settings: CommandSettings, base_dir: &Path) -> Result<Self, EvalError> {
        let setup =
            |problem: Problem| EvalError::Setup(format!("{}: {}", problem.field, problem.message));
        if let Some(problem) = settings.empty_argv() {
            return Err(setup(problem));
        }
        let mut evaluator = Self {
            program: PathBuf::new(),
            args: Vec::new(),
            output: None,
            env: Vec::new(),
            cwd: None,
            base_dir: base_dir.to_path_buf(),
            metrics: settings.declared_metrics(),
            timeout: settings.timeout().map_err(setup)?,
        };
        for field in settings.fields() {
            let template = field.template().map_err(setup)?;
            match field.role {
                Role::Program => {
                    let name = field.program_name(&template).map_err(setup)?;
                    let path = if name.contains('/') {
                        base_dir.join(name)
                    } else {
                        PathBuf::from(name)
                    };
                    evaluator.program = process::locate(&path)
                        .map_err(|e| EvalError::Setup(format!("{}: {e}", field.path)))?;
                }
                Role::Arg => evaluator.args.push(template),
                Role::Output => evaluator.output = Some(template),
                Role::Env(name) => evaluator.env.push((name.to_string(), template)),
                Role::Cwd => evaluator.cwd = Some(template),
            }
        }
        Ok(evaluator)
    }
}

impl Evaluator for CommandEvaluator {
    fn name(&self) -> &str {
        "command"
    }

    fn metrics(&self) -> Vec<String> {
        self.metrics.clone()
    }

    /// Write `design.json`, run the command in its own process group for the shorter of
    /// `timeout_s` and `ctx.timeout`, and read its report.
    fn evaluate(&self, design: &Design, ctx: &EvalContext) -> Result<Metrics, EvalError> {
        let workdir = &ctx.workdir;
        let design_json = workdir.join("design.json");
        let stdout_log = workdir.join("stdout.log");
        let stderr_log = workdir.join("stderr.log");

        let mut values: BTreeMap<&str, String> = design
            .0
            .iter()
            .map(|(name, value)| (name.as_str(), value.to_string()))
            .collect();
        values.insert(WORKDIR, path_text(workdir));
        values.insert(DESIGN_JSON, path_text(&design_json));
        let render = |template: &Template, values: &BTreeMap<&str, String>| {
            template.render(values).map_err(EvalError::Setup)
        };
        let cwd = match &self.cwd {
            Some(template) => self.base_dir.join(render(template, &values)?),
            None => workdir.clone(),
        };
        let output = match &self.output {
            Some(template) => Some(cwd.join(render(template, &values)?)),
            None => None,
        };
        if let Some(path) = &output {
            values.insert(OUTPUT, path_text(path));
        }
        let args = self
            .args
            .iter()
            .map(|t| render(t, &values))
            .collect::<Result<Vec<_>, _>>()?;
        let env = self
            .env
            .iter()
            .map(|(name, t)| Ok((name.clone(), render(t, &values)?)))
            .collect::<Result<Vec<_>, EvalError>>()?;

        write_file(&design_json, &(design.to_json() + "\n"))?;
        let command = serde_json::json!({
            "program": path_text(&self.program),
            "args": args,
            "cwd": path_text(&cwd),
            "env": env.iter().cloned().collect::<BTreeMap<_, _>>(),
        });
        write_file(&workdir.join("command.json"), &format!("{command:#}\n"))?;
        if let Some(path) = &output {
            // A report left by an earlier run must not pass for this one's.
            match std::fs::remove_file(path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => {
                    return Err(EvalError::Failed(format!(
                        "cannot remove the old report {}: {e}",
                        path.display()
                    )));
                }
                _ => {}
            }
        }

        let invocation = Invocation {
            program: self.program.clone(),
            args,
            cwd: Some(cwd),
            env,
            stdout_log: Some(stdout_log.clone()),
            stderr_log: Some(stderr_log.clone()),
            timeout: self.timeout.min(ctx.timeout),
        };
        let outcome = process::run(&invocation, &ctx.cancel).map_err(|e| match e {
            ProcessError::TimedOut(limit) => EvalError::Timeout(limit),
            ProcessError::Cancelled => EvalError::Cancelled,
            ProcessError::NotFound { .. } | ProcessError::Spawn { .. } => {
                EvalError::Setup(e.to_string())
            }
            ProcessError::Log { .. } | ProcessError::Wait(_) => EvalError::Failed(e.to_string()),
        })?;
        if !outcome.success() {
            let mut reason = outcome.status_text();
            if let Some(line) = last_line(&stderr_log) {
                reason.push_str("; last stderr line: ");
                reason.push_str(&line);
            }
            // Killed by a signal (the OOM killer, an admin, a dying node): the work is lost,
            // not judged, so it is worth another attempt.
            let killed = std::os::unix::process::ExitStatusExt::signal(&outcome.status).is_some();
            return Err(if killed {
                EvalError::Lost(reason)
            } else {
                EvalError::Failed(reason)
            });
        }
        let (report, source) = match &output {
            Some(path) => (path.as_path(), "its output file"),
            None => (stdout_log.as_path(), "its stdout"),
        };
        qor::read_metrics_file(report, &self.metrics).map_err(|e| {
            EvalError::Failed(format!(
                "the command exited 0 but {source} is no usable QoR report: {e}"
            ))
        })
    }
}

/// A path as placeholder text (lossy for a path that is not UTF-8).
fn path_text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

fn write_file(path: &Path, text: &str) -> Result<(), EvalError> {
    std::fs::write(path, text)
        .map_err(|e| EvalError::Failed(format!("cannot write {}: {e}", path.display())))
}

/// The last non-blank line of a log, read from its tail only and cut short.
fn last_line(path: &Path) -> Option<String> {
    let mut file = File::open(path).ok()?;
    let size = file.metadata().ok()?.len();
    file.seek(SeekFrom::Start(size.saturating_sub(STDERR_TAIL_BYTES)))
        .ok()?;
    let mut tail = Vec::new();
    file.read_to_end(&mut tail).ok()?;
    let text = String::from_utf8_lossy(&tail);
    let line = text.lines().map(str::trim).rfind(|line| !line.is_empty())?;
    Some(qor::short(line, STDERR_LINE_CHARS))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;
    use std::time::Instant;

    use super::*;
    use crate::evaluators::Cancel;
    use crate::process::tests::{gone_soon, read_pid};
    use crate::space::Value;

    /// A config folder holding `flow.sh` (a test-written `/bin/sh` script; the evaluator
    /// itself never uses a shell) and an evaluation folder `eval/`.
    struct Flow {
        dir: tempfile::TempDir,
    }

    impl Flow {
        fn new(script: &str) -> Self {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("flow.sh");
            std::fs::write(&path, format!("#!/bin/sh\n{script}\n")).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
            std::fs::create_dir(dir.path().join("eval")).unwrap();
            Self { dir }
        }

        fn workdir(&self) -> PathBuf {
            self.dir.path().join("eval")
        }

        fn evaluator(&self, settings: &str) -> CommandEvaluator {
            let settings: CommandSettings = toml::from_str(settings).unwrap();
            assert_eq!(settings.validate(&["pe".into(), "tag".into()]), []);
            CommandEvaluator::new(settings, self.dir.path()).unwrap()
        }

        fn run(
            &self,
            settings: &str,
            design: &Design,
            cancel: &Cancel,
        ) -> Result<Metrics, EvalError> {
            let ctx = EvalContext {
                workdir: self.workdir(),
                timeout: Duration::from_secs(10),
                cancel: cancel.clone(),
            };
            self.evaluator(settings).evaluate(design, &ctx)
        }

        fn read(&self, name: &str) -> String {
            std::fs::read_to_string(self.workdir().join(name)).unwrap()
        }
    }

    fn design() -> Design {
        let mut design = Design::default();
        design.set("pe", Value::Int(16));
        design.set("tag", Value::Str("fast".into()));
        design
    }

    fn failure(result: Result<Metrics, EvalError>) -> String {
        match result {
            Err(EvalError::Failed(reason)) => reason,
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    #[test]
    fn metrics_on_stdout() {
        let flow = Flow::new(r#"printf '{"latency_ms": %s, "power_mw": 2.5}\n' "$1""#);
        let settings = r#"
            argv = ["./flow.sh", "{pe}"]
            metrics = ["latency_ms", "power_mw"]
        "#;
        let metrics = flow.run(settings, &design(), &Cancel::new()).unwrap();
        assert_eq!(metrics.get("latency_ms"), Some(16.0));
        assert_eq!(metrics.get("power_mw"), Some(2.5));
        assert_eq!(flow.read("design.json"), "{\"pe\":16,\"tag\":\"fast\"}\n");
        assert!(flow.read("command.json").contains("\"16\""));
    }

    #[test]
    fn metrics_in_a_file_with_env_and_design_json() {
        let flow = Flow::new(
            r#"cp "$2" seen-design.json; echo "$GREETING" > env.txt; echo '{"area_mm2": 0.13}' > "$1""#,
        );
        let settings = r#"
            argv = ["./flow.sh", "{output}", "{design_json}"]
            metrics = ["area_mm2"]
            output = "qor.json"
            env = { GREETING = "pe={pe} {{literal}}" }
        "#;
        let metrics = flow.run(settings, &design(), &Cancel::new()).unwrap();
        assert_eq!(metrics.get("area_mm2"), Some(0.13));
        // The command ran in the evaluation's folder, where the report and copies landed.
        assert_eq!(flow.read("seen-design.json"), flow.read("design.json"));
        assert_eq!(flow.read("env.txt"), "pe=16 {literal}\n");
    }

    #[test]
    fn shell_metacharacters_reach_argv_verbatim() {
        let flow = Flow::new(r#"printf '%s\n' "$@" > argv.txt; echo '{}'"#);
        let nasty = r#"$(rm -rf /); echo `id` "q" 'x' * > /tmp/x | &&"#;
        let mut design = design();
        design.set("tag", Value::Str(nasty.into()));
        flow.run(
            r#"argv = ["./flow.sh", "--tag={tag}", "{{pe}}"]"#,
            &design,
            &Cancel::new(),
        )
        .unwrap();
        assert_eq!(flow.read("argv.txt"), format!("--tag={nasty}\n{{pe}}\n"));
    }

    #[test]
    fn a_timeout_kills_the_process_group_with_its_grandchild() {
        let flow = Flow::new("sleep 30 & echo $! > grandchild.pid; sleep 30");
        let settings = r#"
            argv = ["./flow.sh"]
            timeout_s = 0.3
        "#;
        let started = Instant::now();
        let result = flow.run(settings, &design(), &Cancel::new());
        assert!(
            matches!(result, Err(EvalError::Timeout(d)) if d == Duration::from_millis(300)),
            "{result:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(2));
        assert!(
            gone_soon(read_pid(&flow.workdir().join("grandchild.pid"))),
            "the background sleep survived"
        );
    }

    #[test]
    fn cancel_stops_the_command() {
        let flow = Flow::new("sleep 30");
        let cancel = Cancel::new();
        let flag = cancel.clone();
        let canceller = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            flag.cancel();
        });
        let started = Instant::now();
        let result = flow.run(r#"argv = ["./flow.sh"]"#, &design(), &cancel);
        canceller.join().unwrap();
        assert!(matches!(result, Err(EvalError::Cancelled)), "{result:?}");
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn a_non_zero_exit_quotes_the_last_stderr_line() {
        let flow = Flow::new(
            "echo 'reading liberty' >&2; echo 'ERROR: no such cell' >&2; echo >&2; exit 3",
        );
        let reason = failure(flow.run(r#"argv = ["./flow.sh"]"#, &design(), &Cancel::new()));
        assert_eq!(
            reason,
            "exit status 3; last stderr line: ERROR: no such cell"
        );
        let flow = Flow::new("exit 1");
        assert_eq!(
            failure(flow.run(r#"argv = ["./flow.sh"]"#, &design(), &Cancel::new())),
            "exit status 1"
        );
    }

    #[test]
    fn garbage_and_missing_reports_fail_with_the_reason() {
        let flow = Flow::new("echo 'all done, QoR looks great'");
        let reason = failure(flow.run(r#"argv = ["./flow.sh"]"#, &design(), &Cancel::new()));
        assert!(reason.starts_with("the command exited 0 but its stdout is no usable QoR report: the report is not JSON"), "{reason}");

        let flow = Flow::new("echo hi");
        let settings = r#"
            argv = ["./flow.sh"]
            output = "qor.json"
        "#;
        let reason = failure(flow.run(settings, &design(), &Cancel::new()));
        assert!(
            reason.contains("its output file is no usable QoR report: cannot read"),
            "{reason}"
        );
    }

    #[test]
    fn a_missing_metric_is_named() {
        let flow = Flow::new(r#"echo '{"latency_ms": 1.5, "power_mw": "n/a"}'"#);
        let reason = failure(flow.run(r#"argv = ["./flow.sh"]"#, &design(), &Cancel::new()));
        assert!(
            reason.ends_with(r#"metric 'power_mw' is "n/a", expected a finite number"#),
            "{reason}"
        );

        let flow = Flow::new(r#"echo '{"latency_ms": 1.5}'"#);
        let settings = r#"
            argv = ["./flow.sh"]
            metrics = ["latency_ms", "area_mm2"]
        "#;
        let reason = failure(flow.run(settings, &design(), &Cancel::new()));
        assert!(
            reason.ends_with("the report lacks area_mm2 (it has: latency_ms)"),
            "{reason}"
        );
    }

    #[test]
    fn a_missing_program_is_a_setup_error() {
        let dir = tempfile::tempdir().unwrap();
        for (argv0, expected) in [
            ("./nope.sh", "no executable file at that path"),
            ("no-such-tool-xyz", "it is not on PATH"),
        ] {
            let settings: CommandSettings = toml::from_str(&format!("argv = [{argv0:?}]")).unwrap();
            match CommandEvaluator::new(settings, dir.path()) {
                Err(EvalError::Setup(message)) => {
                    assert!(
                        message.starts_with("evaluator.command.argv[0]: program '"),
                        "{message}"
                    );
                    assert!(message.contains(expected), "{message}");
                }
                other => panic!("expected a setup error, got {other:?}"),
            }
        }
    }

    #[test]
    fn validate_reports_each_problem_where_it_is() {
        let text = r#"argv = ["./flow.sh", "{workdir}", "--x={foo}", "{pe", "{output}"]
timeout_s = -1
cwd = "{output}"
env = { A = "}" }
"#;
        let settings: CommandSettings = toml::from_str(text).unwrap();
        let problems = settings.validate(&["pe".into()]);
        let found: Vec<(&str, &str, &str)> = problems
            .iter()
            .map(|p| {
                (
                    p.field.as_str(),
                    &text[p.span.clone().unwrap()],
                    p.message.as_str(),
                )
            })
            .collect();
        assert_eq!(
            found,
            [
                (
                    "evaluator.command.argv[2]",
                    r#""--x={foo}""#,
                    r#"unknown placeholder {foo} in "--x={foo}"; known here: {pe}, {workdir}, {design_json}"#
                ),
                (
                    "evaluator.command.argv[3]",
                    r#""{pe""#,
                    r#""{pe" has an unmatched '{' at character 1; write '{{' for a literal one"#
                ),
                (
                    "evaluator.command.argv[4]",
                    r#""{output}""#,
                    "{output} needs evaluator.command.output, the file the command writes (without it the report is read from stdout)"
                ),
                (
                    "evaluator.command.env.A",
                    r#""}""#,
                    r#""}" has an unmatched '}' at character 1; write '}}' for a literal one"#
                ),
                (
                    "evaluator.command.cwd",
                    r#""{output}""#,
                    "{output} cannot be used here: output and cwd decide where the output file is"
                ),
                (
                    "evaluator.command.timeout_s",
                    "-1",
                    "must be a number of seconds > 0. Got -1."
                ),
            ]
        );
    }

    #[test]
    fn validate_catches_an_empty_argv_a_placeholder_program_and_a_shadowing_parameter() {
        let settings: CommandSettings = toml::from_str("argv = []").unwrap();
        let problems = settings.validate(&[]);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].field, "evaluator.command.argv");
        assert!(problems[0].message.starts_with("must list the program"));

        let settings: CommandSettings =
            toml::from_str(r#"argv = ["{tool}/run.sh", "{x}"]"#).unwrap();
        let problems = settings.validate(&["tool".into(), "x".into(), "workdir".into()]);
        let messages: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert!(messages[0].starts_with("the program cannot hold placeholders"));
        assert!(
            messages[1].starts_with("parameter 'workdir' has the name of the built-in placeholder")
        );
    }

    #[test]
    fn unknown_settings_are_refused() {
        let err = toml::from_str::<CommandSettings>("argv = [\"x\"]\ntimeout = 3").unwrap_err();
        assert!(err.to_string().contains("unknown field `timeout`"), "{err}");
    }
}
