//! Reading a config file and its drop-ins, and turning every problem into `file:line:col`.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::raw::{RawConfig, RawEvaluator, RawTarget, RawTargetFile, S};
use super::{
    Bound, Config, Cron, DROP_IN_DIR, ModelConfig, Problem, ProposerKind, ScheduleConfig,
    SourceStamp, Target, Zone, space_check,
};
use crate::evaluators::EvaluatorConfig;
use crate::space::{Direction, Objective};
use crate::text::one_line;

/// One problem, located: `file:line:column: field: message`.
#[derive(Clone, Debug, PartialEq)]
pub struct Located {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    pub field: String,
    pub message: String,
}

impl fmt::Display for Located {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}: {}",
            self.file.display(),
            self.line,
            self.column,
            one_line(&self.field),
            one_line(&self.message)
        )
    }
}

/// Why a config cannot be used. Displayed as one line per problem.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}: cannot read the config file: {source}. Check the path (or pass --config FILE).", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}", lines(.0))]
    Invalid(Vec<Located>),
}

fn lines(problems: &[Located]) -> String {
    problems
        .iter()
        .map(Located::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// `(line, column)`, both from 1, of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

fn locate(file: &Path, text: &str, problems: Vec<Problem>) -> Vec<Located> {
    problems
        .into_iter()
        .map(|p| {
            let (line, column) = p.span.map_or((1, 1), |s| line_col(text, s.start));
            Located {
                file: file.to_path_buf(),
                line,
                column,
                field: p.field,
                message: p.message,
            }
        })
        .collect()
}

/// The dotted key path of the value at `offset`, from the table headers before it and the
/// key on its line (`space.params[3].hihg`), for parse errors that name no field.
fn key_path_at(text: &str, offset: usize) -> String {
    let offset = offset.min(text.len());
    let mut table = String::new();
    let mut counts: std::collections::HashMap<String, usize> = Default::default();
    for line in text[..offset].lines() {
        let t = line.trim();
        if let Some(name) = t.strip_prefix("[[").and_then(|r| r.split("]]").next()) {
            let name = name.trim().to_string();
            let n = counts.entry(name.clone()).or_insert(0);
            table = format!("{name}[{n}]");
            *n += 1;
        } else if let Some(name) = t.strip_prefix('[').and_then(|r| r.split(']').next()) {
            table = name.trim().to_string();
        }
    }
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next().unwrap_or("");
    let key = line
        .split('=')
        .next()
        .filter(|_| line.contains('='))
        .map(str::trim)
        .unwrap_or("");
    match (table.is_empty(), key.is_empty() || key.starts_with('[')) {
        (true, true) => "(top level)".into(),
        (true, false) => key.into(),
        (false, true) => table,
        (false, false) => format!("{table}.{key}"),
    }
}

fn parse<T: serde::de::DeserializeOwned>(file: &Path, text: &str) -> Result<T, ConfigError> {
    toml::from_str(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        let (line, column) = line_col(text, span.start);
        let message = e.message().trim().replace('\n', " ");
        let hint = if message.starts_with("unknown field") {
            " Remove or rename the key (keys are listed in config.example.toml)."
        } else {
            ""
        };
        ConfigError::Invalid(vec![Located {
            file: file.to_path_buf(),
            line,
            column,
            field: key_path_at(text, span.start),
            message: format!("{message}.{hint}").replace("..", "."),
        }])
    })
}

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// The config file, the drop-in folder and each drop-in `*.toml`, sorted.
pub fn source_stamps(file: &Path) -> Vec<SourceStamp> {
    let mut out = vec![SourceStamp::of(file.to_path_buf())];
    let dir = drop_in_dir(file);
    out.push(SourceStamp::of(dir.clone()));
    out.extend(drop_in_files(&dir).into_iter().map(SourceStamp::of));
    out
}

fn drop_in_dir(file: &Path) -> PathBuf {
    file.parent().unwrap_or(Path::new(".")).join(DROP_IN_DIR)
}

fn drop_in_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml") && p.is_file())
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// Where relative state paths (the store, the runs folder) resolve: systemd's
/// `$STATE_DIRECTORY` when the daemon runs as a service, else the config file's folder.
fn state_base(config_dir: &Path) -> PathBuf {
    std::env::var_os("STATE_DIRECTORY")
        .map(|s| PathBuf::from(s.to_string_lossy().split(':').next().unwrap_or_default()))
        .filter(|p| p.is_absolute())
        .unwrap_or_else(|| config_dir.to_path_buf())
}

pub fn load(file: PathBuf) -> Result<Config, ConfigError> {
    let file = std::path::absolute(&file).unwrap_or(file);
    let sources = source_stamps(&file);
    let text = read(&file)?;
    let raw: RawConfig = parse(&file, &text)?;
    let dir = file.parent().unwrap_or(Path::new("/")).to_path_buf();
    let mut problems = Vec::new();
    let mut located = Vec::new();

    let space = space_check::space(&raw.space, &mut problems);
    let objectives = objectives(&raw, &mut problems);
    let outcome_constraints = space_check::expressions(
        &raw.outcome_constraints,
        "outcome_constraints",
        None,
        &mut problems,
    );
    let evaluator = evaluator(raw.evaluator.as_ref(), &dir, space.as_ref(), &mut problems);
    if let Some(ev) = &evaluator {
        check_metrics(ev, &objectives, &raw, &mut problems);
    }
    let mut targets = Vec::new();
    let object_names: BTreeSet<String> = objectives.iter().map(|o| o.name.clone()).collect();
    for (i, t) in raw.targets.iter().enumerate() {
        if let Some(t) = target(
            t,
            &format!("targets[{i}]"),
            &object_names,
            &file,
            &mut problems,
        ) {
            targets.push(t);
        }
    }
    let schedule = schedule(&raw, &mut problems);
    let runner =
        super::runner::runner(raw.runner.as_ref(), &state_base(&dir), &file, &mut problems);
    let model = model(
        &raw,
        space.as_ref().map_or(0, |s| s.params.len()),
        &dir,
        &mut problems,
    );
    if let (ProposerKind::Diffuse, Some(space)) = (model.kind, space.as_ref())
        && let Err(message) = crate::diffuse::check_widths(space, objectives.len())
    {
        let span = raw
            .model
            .as_ref()
            .and_then(|m| m.kind.as_ref())
            .map(|k| k.span());
        problems.push(Problem::new("model.kind", span, message));
    }
    let seed = match &raw.seed {
        Some(s) if *s.get_ref() < 0 => {
            problems.push(Problem::new(
                "seed",
                Some(s.span()),
                format!("must be a whole number >= 0. Got {}.", s.get_ref()),
            ));
            0
        }
        Some(s) => *s.get_ref() as u64,
        None => 0,
    };
    let log_level = raw.log.as_ref().and_then(|l| l.level.as_ref()).and_then(|l| {
        let ok = tracing_subscriber::EnvFilter::try_new(l.get_ref()).is_ok();
        if !ok {
            problems.push(Problem::new(
                "log.level",
                Some(l.span()),
                format!("expected a level (error, warn, info, debug, trace) or a RUST_LOG filter. Got {:?}.", l.get_ref()),
            ));
        }
        ok.then(|| l.get_ref().clone())
    });
    let store_path = raw
        .store
        .as_ref()
        .and_then(|s| s.path.as_ref())
        .map(|p| state_base(&dir).join(p.get_ref()))
        .unwrap_or_else(|| state_base(&dir).join("diffuse-dse.db"));
    located.extend(locate(&file, &text, problems));

    // Drop-in targets, each file located against its own text.
    for path in drop_in_files(&drop_in_dir(&file)) {
        let text = match read(&path) {
            Ok(t) => t,
            Err(e) => {
                located.push(Located {
                    file: path.clone(),
                    line: 1,
                    column: 1,
                    field: "(file)".into(),
                    message: e.to_string(),
                });
                continue;
            }
        };
        match parse::<RawTargetFile>(&path, &text) {
            Err(ConfigError::Invalid(mut l)) => located.append(&mut l),
            Err(e) => return Err(e),
            Ok(raw) => {
                let mut problems = Vec::new();
                for (i, t) in raw.targets.iter().enumerate() {
                    if let Some(t) = target(
                        t,
                        &format!("targets[{i}]"),
                        &object_names,
                        &path,
                        &mut problems,
                    ) {
                        targets.push(t);
                    }
                }
                located.extend(locate(&path, &text, problems));
            }
        }
    }
    let mut names = std::collections::HashMap::new();
    for t in &targets {
        if let Some(first) = names.insert(t.name.clone(), t.file.clone()) {
            located.push(Located {
                file: t.file.clone(),
                line: 1,
                column: 1,
                field: "targets.name".into(),
                message: format!(
                    "duplicate target name '{}' (also in {}); target names must be unique.",
                    t.name,
                    first.display()
                ),
            });
        }
    }
    if !located.is_empty() {
        located.sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
        return Err(ConfigError::Invalid(located));
    }
    Ok(Config {
        file,
        seed,
        store_path,
        log_level,
        space: space.expect("no problems means a space"),
        objectives,
        outcome_constraints,
        targets,
        schedule: schedule.expect("no problems means a schedule"),
        runner,
        evaluator: evaluator.expect("no problems means an evaluator"),
        model,
        sources,
    })
}

fn objectives(raw: &RawConfig, problems: &mut Vec<Problem>) -> Vec<Objective> {
    if raw.objectives.is_empty() {
        problems.push(Problem::new(
            "objectives",
            Some(raw.space.span()),
            "expected at least one [[objectives]] entry with name and direction. Got none.",
        ));
    }
    let mut out: Vec<Objective> = Vec::new();
    for (i, o) in raw.objectives.iter().enumerate() {
        let field = format!("objectives[{i}]");
        let r = o.get_ref();
        if !space_check::identifier(&r.name, &format!("{field}.name"), problems) {
            continue;
        }
        let direction = match r.direction.get_ref().as_str() {
            "min" => Direction::Min,
            "max" => Direction::Max,
            other => {
                problems.push(Problem::new(
                    format!("{field}.direction"),
                    Some(r.direction.span()),
                    format!("expected \"min\" or \"max\". Got {other:?}."),
                ));
                continue;
            }
        };
        if out.iter().any(|x| x.name == *r.name.get_ref()) {
            problems.push(Problem::new(
                format!("{field}.name"),
                Some(r.name.span()),
                format!(
                    "duplicate objective '{}'; each metric is optimized once.",
                    r.name.get_ref()
                ),
            ));
            continue;
        }
        if let Some(rf) = &r.reference
            && !rf.get_ref().is_finite()
        {
            problems.push(Problem::new(
                format!("{field}.ref"),
                Some(rf.span()),
                format!("expected a finite number. Got {}.", rf.get_ref()),
            ));
            continue;
        }
        out.push(Objective {
            name: r.name.get_ref().clone(),
            direction,
            unit: r.unit.clone().unwrap_or_default(),
            reference: r.reference.as_ref().map(|x| *x.get_ref()),
        });
    }
    if out.len() > 4 {
        problems.push(Problem::new(
            "objectives",
            Some(raw.objectives[4].span()),
            format!(
                "at most 4 objectives are supported (exact hypervolume). Got {}.",
                out.len()
            ),
        ));
    }
    out
}

fn evaluator(
    raw: Option<&RawEvaluator>,
    dir: &Path,
    space: Option<&crate::space::Space>,
    problems: &mut Vec<Problem>,
) -> Option<EvaluatorConfig> {
    let name = raw.and_then(|r| r.name.as_ref());
    let (name_text, span) = name.map_or(("gemmini-model", None), |n| {
        (n.get_ref().as_str(), Some(n.span()))
    });
    match name_text {
        "gemmini-model" => {
            EvaluatorConfig::gemmini(raw.and_then(|r| r.gemmini_model.clone()), dir, problems)
        }
        "synthetic" => Some(EvaluatorConfig::Synthetic),
        "asap7" => EvaluatorConfig::asap7(raw.and_then(|r| r.asap7.clone()), dir, problems),
        "command" => {
            let params = space.map(|s| s.names()).unwrap_or_default();
            EvaluatorConfig::command(raw.and_then(|r| r.command.clone()), dir, &params, problems)
        }
        other => {
            problems.push(Problem::new(
                "evaluator.name",
                span,
                format!("expected one of gemmini-model, synthetic, command, asap7. Got {other:?}."),
            ));
            None
        }
    }
}

fn check_metrics(
    ev: &EvaluatorConfig,
    objectives: &[Objective],
    raw: &RawConfig,
    problems: &mut Vec<Problem>,
) {
    let known = ev.metrics();
    if known.is_empty() {
        return;
    }
    for (o, r) in objectives.iter().zip(&raw.objectives) {
        if !known.contains(&o.name) {
            problems.push(Problem::new(
                "objectives.name",
                Some(r.get_ref().name.span()),
                format!(
                    "'{}' is not a metric of the {} evaluator (it reports: {}).",
                    o.name,
                    ev.name(),
                    known.join(", ")
                ),
            ));
        }
    }
    for (i, c) in raw.outcome_constraints.iter().enumerate() {
        if let Ok(expr) = crate::space::expr::Expr::parse(c.get_ref())
            && let Some(unknown) = expr.names().into_iter().find(|n| !known.contains(n))
        {
            problems.push(Problem::new(
                format!("outcome_constraints[{i}]"),
                Some(c.span()),
                format!(
                    "'{unknown}' is not a metric of the {} evaluator (it reports: {}).",
                    ev.name(),
                    known.join(", ")
                ),
            ));
        }
    }
}

fn target(
    t: &S<RawTarget>,
    field: &str,
    objectives: &BTreeSet<String>,
    file: &Path,
    problems: &mut Vec<Problem>,
) -> Option<Target> {
    let r = t.get_ref();
    let before = problems.len();
    if r.name.get_ref().trim().is_empty() || r.name.get_ref().len() > 100 {
        problems.push(Problem::new(
            format!("{field}.name"),
            Some(r.name.span()),
            "expected a non-empty name of at most 100 characters.",
        ));
    }
    if r.goals.is_empty() && r.bounds.is_empty() {
        problems.push(Problem::new(
            field.to_string(),
            Some(r.name.span()),
            "a target needs goals (e.g. goals = { power_mw = 50 }) and/or bounds (e.g. bounds = { area_mm2 = { max = 0.3 } }).",
        ));
    }
    let known = || objectives.iter().cloned().collect::<Vec<_>>().join(", ");
    let mut goals = std::collections::BTreeMap::new();
    for (name, v) in &r.goals {
        if !objectives.contains(name) {
            problems.push(Problem::new(
                format!("{field}.goals.{name}"),
                Some(v.span()),
                format!("is not an objective (objectives: {}).", known()),
            ));
        } else if !v.get_ref().is_finite() {
            problems.push(Problem::new(
                format!("{field}.goals.{name}"),
                Some(v.span()),
                format!("expected a finite number. Got {}.", v.get_ref()),
            ));
        } else {
            goals.insert(name.clone(), *v.get_ref());
        }
    }
    let mut bounds = std::collections::BTreeMap::new();
    for (name, b) in &r.bounds {
        let (min, max) = (b.get_ref().min, b.get_ref().max);
        if !objectives.contains(name) {
            problems.push(Problem::new(
                format!("{field}.bounds.{name}"),
                Some(b.span()),
                format!("is not an objective (objectives: {}).", known()),
            ));
        } else if min.is_none() && max.is_none() {
            problems.push(Problem::new(
                format!("{field}.bounds.{name}"),
                Some(b.span()),
                "expected min and/or max, e.g. { max = 0.3 }.",
            ));
        } else if min.zip(max).is_some_and(|(a, b)| a > b)
            || min.is_some_and(|x| !x.is_finite())
            || max.is_some_and(|x| !x.is_finite())
        {
            problems.push(Problem::new(
                format!("{field}.bounds.{name}"),
                Some(b.span()),
                format!("expected finite numbers with min <= max. Got min {min:?}, max {max:?}."),
            ));
        } else {
            bounds.insert(name.clone(), Bound { min, max });
        }
    }
    (problems.len() == before).then(|| Target {
        name: r.name.get_ref().trim().to_string(),
        description: r.description.clone().unwrap_or_default(),
        goals,
        bounds,
        file: file.to_path_buf(),
    })
}

pub(super) fn positive(
    v: Option<&S<i64>>,
    field: &str,
    default: usize,
    max: usize,
    problems: &mut Vec<Problem>,
) -> usize {
    match v {
        None => default,
        Some(s) if *s.get_ref() >= 1 && (*s.get_ref() as u64) <= max as u64 => {
            *s.get_ref() as usize
        }
        Some(s) => {
            problems.push(Problem::new(
                field,
                Some(s.span()),
                format!(
                    "expected a whole number from 1 to {max}. Got {}.",
                    s.get_ref()
                ),
            ));
            default
        }
    }
}

pub(super) fn seconds(
    v: Option<&S<f64>>,
    field: &str,
    default: f64,
    problems: &mut Vec<Problem>,
) -> Duration {
    match v {
        None => Duration::from_secs_f64(default),
        Some(s) if s.get_ref().is_finite() && *s.get_ref() > 0.0 && *s.get_ref() < 1e9 => {
            Duration::from_secs_f64(*s.get_ref())
        }
        Some(s) => {
            problems.push(Problem::new(
                field,
                Some(s.span()),
                format!("expected a number of seconds > 0. Got {}.", s.get_ref()),
            ));
            Duration::from_secs_f64(default)
        }
    }
}

fn schedule(raw: &RawConfig, problems: &mut Vec<Problem>) -> Option<ScheduleConfig> {
    let s = raw.schedule.as_ref();
    let zone = match s.and_then(|s| s.timezone.as_ref()) {
        None => Zone::Local,
        Some(z) => match z.get_ref().to_ascii_lowercase().as_str() {
            "utc" => Zone::Utc,
            "local" => Zone::Local,
            _ => {
                problems.push(Problem::new(
                    "schedule.timezone",
                    Some(z.span()),
                    format!("expected \"local\" or \"UTC\". Got {:?}.", z.get_ref()),
                ));
                Zone::Local
            }
        },
    };
    let cron = match s.and_then(|s| s.cron.as_ref()) {
        None => Cron::parse("0 22 * * *", zone).ok(),
        Some(c) => match Cron::parse(c.get_ref(), zone) {
            Ok(c) => Some(c),
            Err(e) => {
                problems.push(Problem::new(
                    "schedule.cron",
                    Some(c.span()),
                    format!("{e}."),
                ));
                None
            }
        },
    };
    let batch_size = positive(
        s.and_then(|s| s.batch_size.as_ref()),
        "schedule.batch_size",
        8,
        100_000,
        problems,
    );
    let queue_depth = positive(
        s.and_then(|s| s.queue_depth.as_ref()),
        "schedule.queue_depth",
        2 * batch_size,
        1_000_000,
        problems,
    );
    let poll = seconds(
        s.and_then(|s| s.poll_s.as_ref()),
        "schedule.poll_s",
        5.0,
        problems,
    );
    Some(ScheduleConfig {
        cron: cron?,
        batch_size,
        queue_depth,
        poll,
    })
}

fn model(raw: &RawConfig, n_params: usize, dir: &Path, problems: &mut Vec<Problem>) -> ModelConfig {
    let m = raw.model.as_ref();
    let kind = match m.and_then(|m| m.kind.as_ref()) {
        None => ProposerKind::Diffuse,
        Some(k) if k.get_ref() == "diffuse" => ProposerKind::Diffuse,
        Some(k) if k.get_ref() == "sobol-random" => ProposerKind::SobolRandom,
        Some(k) => {
            problems.push(Problem::new(
                "model.kind",
                Some(k.span()),
                format!(
                    "expected \"diffuse\" or \"sobol-random\". Got {:?}.",
                    k.get_ref()
                ),
            ));
            ProposerKind::SobolRandom
        }
    };
    let diffuse = match m.and_then(|m| m.diffuse.as_ref()) {
        None => crate::diffuse::Settings::default(),
        Some(d) => {
            for (field, message) in d.get_ref().problems() {
                problems.push(Problem::new(
                    format!("model.diffuse.{field}"),
                    Some(d.span()),
                    message,
                ));
            }
            d.get_ref().clone()
        }
    };
    let pretrain = m.and_then(|m| m.pretrain.as_ref()).map(|p| {
        let found = p.get_ref().problems();
        let ok = found.is_empty();
        for (field, message) in found {
            problems.push(Problem::new(format!("model.pretrain.{field}"), Some(p.span()), message));
        }
        if let Some(path) = p.get_ref().store_in(dir).filter(|path| ok && !path.exists()) {
            problems.push(Problem::new(
                "model.pretrain.store",
                Some(p.span()),
                format!("{} does not exist: give the path of another diffuse-dse store (relative to this file).", path.display()),
            ));
        }
        p.get_ref().clone()
    });
    ModelConfig {
        kind,
        initial_design: positive(
            m.and_then(|m| m.initial_design.as_ref()),
            "model.initial_design",
            n_params.max(10),
            100_000,
            problems,
        ),
        retrain_every: positive(
            m.and_then(|m| m.retrain_every.as_ref()),
            "model.retrain_every",
            8,
            1_000_000,
            problems,
        ),
        full_retrain_every: positive(
            m.and_then(|m| m.full_retrain_every.as_ref()),
            "model.full_retrain_every",
            10,
            1_000_000,
            problems,
        ),
        diffuse,
        pretrain,
    }
}
