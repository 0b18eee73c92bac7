//! Fuzzing of every parser that reads outside input (issue 14): the config (`Config::load`
//! with its drop-ins), QoR reports (`parse_metrics_json`, `read_metrics_file`), results files
//! (`read_results_file`, and on through the store's inbox), cron lines (`Cron::parse`),
//! designs from JSON (`Space::design_from_json`), typed values (`Param::parse_text`) and
//! expressions (`Expr::parse`).
//!
//! Each property runs `PROPTEST_CASES` cases (proptest's default, 256, unless a property says
//! otherwise), so the normal suite stays quick; a long campaign is the same file with more
//! cases, see docs/fuzzing.md:
//!
//! ```text
//! PROPTEST_CASES=20000 cargo test --release --test fuzz
//! ```
//!
//! Inputs are (a) arbitrary bytes and strings, (b) valid inputs with random character- and
//! line-level edits, and (c) structure-aware edits that keep the syntax valid and change the
//! meaning (interesting numbers such as `i64::MAX`, `2^62`, `1e308`, `nan`; swapped parameter
//! kinds; random keys; extra parameters and targets). Every call runs under a deadline on a
//! thread of its own, so a hang fails the case instead of the suite, and a panic is reported
//! with the input that caused it (shrunk by proptest).
//!
//! Bugs found are kept as `#[ignore = "bug: …"]` tests at the end, with minimized inputs.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::sync::mpsc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use diffuse_dse::config::{Config, ConfigError, Cron, Zone};
use diffuse_dse::ingest::{ingest_pass, read_results_file};
use diffuse_dse::qor::{parse_metrics_json, read_metrics_file};
use diffuse_dse::space::expr::{Expr, Operand};
use diffuse_dse::space::{Kind, Space, Value};
use diffuse_dse::store::{InboxRow, InboxStatus, Store};
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::test_runner::TestCaseError;

/// The demo config: a valid config to mutate.
const DEMO: &str = include_str!("../src/cli/demo.toml");

/// A small valid config: one parameter, no constraints, so that an added parameter is often
/// the only thing that can be wrong and the valid branch gets exercised.
const MINIMAL: &str = "[space]\n\
[[space.params]]\n\
name = \"x\"\n\
layer = \"hw\"\n\
kind = \"int\"\n\
low = 0\n\
high = 8\n\
[[objectives]]\n\
name = \"f1\"\n\
direction = \"min\"\n\
[evaluator]\n\
name = \"synthetic\"\n";

/// How long one parse may take before it counts as a hang. Generous: a valid config with
/// constraints draws 100,000 designs to check the space is not empty, in a debug build, on
/// two busy cores.
const DEADLINE: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------

/// proptest's config: `PROPTEST_CASES` (default 256) cases, or `cases` when the variable is
/// not set; a fixed seed unless `PROPTEST_RNG_SEED` is set (so the suite is reproducible and a
/// campaign picks its own); no regression files (minimized failures become `#[test]`s below);
/// shrinking bounded in time, so a hang found by the campaign does not shrink for hours.
fn config_with(cases: Option<u32>) -> ProptestConfig {
    let mut c = ProptestConfig::default();
    if std::env::var_os("PROPTEST_RNG_SEED").is_none() {
        c.rng_seed = proptest::test_runner::RngSeed::Fixed(0x05ee_dd5e);
    }
    if let Some(n) = cases
        && std::env::var_os("PROPTEST_CASES").is_none()
    {
        c.cases = n;
    }
    c.failure_persistence = None;
    c.max_shrink_time = 120_000;
    c
}

/// A panic's message.
fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(a non-text panic)".into())
}

thread_local! {
    /// Where the last panic on this thread happened (`file:line:col`).
    static PANIC_AT: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// A panic hook that records where a panic happened, and stays quiet on the fuzzing threads
/// (their panics are reported as failing cases, with the input).
fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let at = info
                .location()
                .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()));
            PANIC_AT.with(|p| *p.borrow_mut() = at);
            let fuzzing = std::thread::current()
                .name()
                .is_some_and(|n| n.starts_with("fuzz: "));
            if !fuzzing {
                default(info);
            }
        }));
    });
}

/// Run `f` on a thread of its own: a panic or a hang past [`DEADLINE`] fails the case. A hung
/// thread is left behind (it cannot be stopped), which is fine for a failing run.
fn run<T: Send + 'static>(
    what: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, TestCaseError> {
    install_panic_hook();
    let (tx, rx) = mpsc::channel();
    let handle = std::thread::Builder::new()
        .name(format!("fuzz: {what}"))
        .spawn(move || {
            let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|p| {
                let at = PANIC_AT.with(|a| a.borrow_mut().take()).unwrap_or_default();
                (panic_text(&*p), at)
            });
            let _ = tx.send(out);
        })
        .expect("spawn a thread");
    match rx.recv_timeout(DEADLINE) {
        Ok(Ok(v)) => {
            let _ = handle.join();
            Ok(v)
        }
        Ok(Err((message, at))) => Err(TestCaseError::fail(format!(
            "{what} panicked at {at}: {message}"
        ))),
        Err(_) => Err(TestCaseError::fail(format!(
            "{what} did not return within {DEADLINE:?} (a hang)"
        ))),
    }
}

// ---------------------------------------------------------------------------------------
// Config files
// ---------------------------------------------------------------------------------------

/// A config written into a fresh temp dir as `config.toml` (bytes as given), with optional
/// drop-in target files.
struct Written {
    _dir: tempfile::TempDir,
    file: PathBuf,
    /// Every file the config reads, with its text (lossy for bytes that are not UTF-8).
    texts: Vec<(PathBuf, String)>,
}

fn write_config(bytes: &[u8], drop_ins: &[(&str, &[u8])]) -> Written {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.toml");
    std::fs::write(&file, bytes).unwrap();
    let mut texts = vec![(file.clone(), String::from_utf8_lossy(bytes).into_owned())];
    if !drop_ins.is_empty() {
        let d = dir.path().join("targets.d");
        std::fs::create_dir(&d).unwrap();
        for (name, text) in drop_ins {
            let p = d.join(name);
            std::fs::write(&p, text).unwrap();
            texts.push((p, String::from_utf8_lossy(text).into_owned()));
        }
    }
    Written {
        _dir: dir,
        file,
        texts,
    }
}

fn load(w: &Written) -> Result<Result<Config, ConfigError>, TestCaseError> {
    let file = w.file.clone();
    run("Config::load", move || Config::load(file))
}

/// Whether `(line, column)` (both from 1) stands inside `text` or just past the end of a line.
fn within(text: &str, line: usize, column: usize) -> bool {
    let Some(l) = text.split('\n').nth(line.wrapping_sub(1)) else {
        return false;
    };
    column >= 1 && column <= l.chars().count() + 1
}

/// Every line of the error is `FILE:LINE:COL: field: message` with a file the config reads
/// and LINE:COL inside it; a read error only for a file that is not UTF-8.
fn check_error(err: &ConfigError, w: &Written) -> Result<(), TestCaseError> {
    let shown = err.to_string();
    match err {
        ConfigError::Read { path, .. } => {
            let bytes = std::fs::read(path).unwrap_or_default();
            prop_assert!(
                std::str::from_utf8(&bytes).is_err(),
                "a read error for a readable UTF-8 file: {shown}"
            );
            return Ok(());
        }
        ConfigError::Invalid(problems) => {
            prop_assert!(!problems.is_empty(), "an Invalid error with no problem");
            let lines: Vec<&str> = shown.split('\n').collect();
            prop_assert_eq!(
                lines.len(),
                problems.len(),
                "one line per problem, got:\n{}",
                shown
            );
            for p in problems {
                let text = w.texts.iter().find(|(f, _)| *f == p.file);
                prop_assert!(text.is_some(), "a problem in an unknown file: {}", p);
                let (_, text) = text.unwrap();
                prop_assert!(
                    within(text, p.line, p.column),
                    "{}:{} is outside the file ({} lines): {}",
                    p.line,
                    p.column,
                    text.split('\n').count(),
                    p
                );
                prop_assert!(!p.field.is_empty(), "no field: {}", p);
            }
        }
    }
    for line in shown.split('\n') {
        let rest = w
            .texts
            .iter()
            .find_map(|(f, _)| line.strip_prefix(&format!("{}:", f.display())));
        prop_assert!(rest.is_some(), "a line that names no file: {:?}", line);
        let mut parts = rest.unwrap().splitn(3, ':');
        let (l, c, tail) = (parts.next(), parts.next(), parts.next());
        let ok = l.is_some_and(|l| l.parse::<usize>().is_ok())
            && c.is_some_and(|c| c.parse::<usize>().is_ok())
            && tail
                .and_then(|t| t.strip_prefix(' '))
                .and_then(|t| t.split_once(": "))
                .is_some_and(|(field, _)| !field.is_empty());
        prop_assert!(ok, "not FILE:LINE:COL: field: message: {:?}", line);
    }
    Ok(())
}

/// What a loaded config holds, comparable (a `Config` has no `PartialEq`, and its `Space`
/// keeps a `HashMap` whose `Debug` order differs from one load to the next).
fn summary(c: &Config) -> String {
    format!(
        "{} {:?} {:?} {} {:?} {:?} {:?} {:?} {} {} {} {:?} {:?} {} {:?} {:?} {} {} {}",
        c.seed,
        c.store_path,
        c.log_level,
        c.space.name,
        c.space.params,
        c.space
            .constraints
            .iter()
            .map(|k| k.expr.text().to_string())
            .collect::<Vec<_>>(),
        c.objectives,
        c.outcome_constraints
            .iter()
            .map(|k| k.expr.text().to_string())
            .collect::<Vec<_>>(),
        c.schedule.cron.text,
        c.schedule.batch_size,
        c.schedule.queue_depth,
        c.schedule.poll,
        c.runner.timeout,
        c.runner.parallel,
        c.runner.runs_dir,
        c.evaluator,
        c.model.initial_design,
        c.model.retrain_every,
        c.model.full_retrain_every,
    ) + &format!("{:?}", c.targets)
}

/// What must hold of a valid config: the default design is legal and feasible, and every
/// value the samplers can produce is legal.
fn check_ok(c: &Config) -> Result<(), TestCaseError> {
    let space = &c.space;
    let default = space.default_design();
    prop_assert_eq!(
        space.check(&default),
        Ok(default.clone()),
        "the default design of a valid config is illegal or infeasible"
    );
    prop_assert!(space.feasible(&default));
    for p in &space.params {
        for u in [0.0, 0.25, 0.5, 0.999_999_999] {
            let v = p.at_unit(u);
            prop_assert!(
                p.normalize(&v).is_some(),
                "{}.at_unit({}) = {} is not a legal value ({:?})",
                p.name,
                u,
                v,
                p.kind
            );
        }
    }
    prop_assert!(!c.objectives.is_empty());
    prop_assert!(c.schedule.cron.next_after(Utc::now()).is_some());
    Ok(())
}

/// The whole check of one config text: load, check the error or the config, load again and
/// compare.
fn check_config(bytes: &[u8], drop_ins: &[(&str, &[u8])]) -> Result<(), TestCaseError> {
    let w = write_config(bytes, drop_ins);
    let first = load(&w)?;
    match &first {
        Err(e) => check_error(e, &w)?,
        Ok(c) => check_ok(c)?,
    }
    let second = load(&w)?;
    match (&first, &second) {
        (Err(a), Err(b)) => prop_assert_eq!(a.to_string(), b.to_string(), "not deterministic"),
        (Ok(a), Ok(b)) => prop_assert_eq!(summary(a), summary(b), "not deterministic"),
        _ => prop_assert!(false, "one load Ok, the other not: {:?}", second.err()),
    }
    Ok(())
}

// --- (b) character- and line-level edits ---------------------------------------------------

#[derive(Clone, Debug)]
enum Edit {
    Insert(Index, char),
    Delete(Index),
    Replace(Index, char),
    DupLine(Index),
    DropLine(Index),
    SwapLines(Index, Index),
    /// A byte that is not UTF-8.
    BadByte(Index),
}

fn toml_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => select(vec![
            '[', ']', '{', '}', '=', ',', '.', '"', '\'', '#', '\n', ' ', '-', '+', '_', 'e', '0',
            '1', '9', 'a', '\\', '\t', ':', 'T', 'Z', '\r'
        ]),
        1 => any::<char>(),
    ]
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        3 => (any::<Index>(), toml_char()).prop_map(|(i, c)| Edit::Insert(i, c)),
        3 => any::<Index>().prop_map(Edit::Delete),
        3 => (any::<Index>(), toml_char()).prop_map(|(i, c)| Edit::Replace(i, c)),
        2 => any::<Index>().prop_map(Edit::DupLine),
        2 => any::<Index>().prop_map(Edit::DropLine),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Edit::SwapLines(a, b)),
        1 => any::<Index>().prop_map(Edit::BadByte),
    ]
}

fn apply_edits(text: &str, edits: &[Edit]) -> Vec<u8> {
    let mut chars: Vec<char> = text.chars().collect();
    let mut bad: Option<usize> = None;
    for e in edits {
        match e {
            Edit::Insert(i, c) => {
                let at = i.index(chars.len() + 1);
                chars.insert(at, *c);
            }
            Edit::Delete(i) if !chars.is_empty() => {
                chars.remove(i.index(chars.len()));
            }
            Edit::Replace(i, c) if !chars.is_empty() => {
                let at = i.index(chars.len());
                chars[at] = *c;
            }
            Edit::DupLine(i) | Edit::DropLine(i) | Edit::SwapLines(i, _) => {
                let s: String = chars.iter().collect();
                let mut lines: Vec<&str> = s.split('\n').collect();
                let a = i.index(lines.len());
                match e {
                    Edit::DupLine(_) => lines.insert(a, lines[a]),
                    Edit::DropLine(_) => {
                        lines.remove(a);
                    }
                    Edit::SwapLines(_, j) => {
                        let b = j.index(lines.len());
                        lines.swap(a, b);
                    }
                    _ => unreachable!(),
                }
                chars = lines.join("\n").chars().collect();
            }
            Edit::BadByte(i) => bad = Some(i.index(chars.len() + 1)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for (k, c) in chars.iter().enumerate() {
        if bad == Some(k) {
            out.push(0xff);
        }
        out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
    }
    if bad == Some(chars.len()) {
        out.push(0xfe);
    }
    out
}

// --- (c) structure-aware edits -------------------------------------------------------------

/// Whole numbers that break things: the edges of `i64`, powers of two up to 2^62, 2^53, the
/// 10,000,000-value limit of an int parameter.
fn interesting_int() -> impl Strategy<Value = i64> {
    prop_oneof![
        3 => -3_i64..=40,
        2 => (0_u32..63).prop_map(|k| 1_i64 << k),
        2 => select(vec![
            i64::MAX,
            i64::MIN,
            i64::MAX - 1,
            i64::MIN + 1,
            1 << 62,
            (1 << 62) + 1,
            -(1 << 62),
            1 << 53,
            (1 << 53) + 1,
            9_999_999,
            10_000_000,
            4_294_967_296,
            -1,
            0,
        ]),
        1 => any::<i64>(),
    ]
}

fn interesting_float() -> impl Strategy<Value = f64> {
    prop_oneof![
        3 => -10.0_f64..1000.0,
        2 => select(vec![
            f64::MAX,
            f64::MIN,
            1e308,
            -1e308,
            f64::MIN_POSITIVE,
            5e-324,
            -0.0,
            0.0,
            1e-300,
            1e300,
            0.1,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ]),
        1 => any::<f64>(),
    ]
}

fn toml_float(x: f64) -> String {
    if x.is_nan() {
        "nan".into()
    } else if x.is_infinite() {
        if x > 0.0 { "inf" } else { "-inf" }.into()
    } else {
        format!("{x:?}")
    }
}

fn words() -> Vec<&'static str> {
    vec![
        "",
        "NaN",
        "nan",
        "inf",
        "-inf",
        "1e999",
        "0",
        "-1",
        "8.0",
        "OS",
        "WS",
        "BOTH",
        "RVT",
        "hw",
        "eda",
        "int",
        "pow2",
        "float",
        "ordinal",
        "categorical",
        "min",
        "max",
        "local",
        "UTC",
        "utc",
        "sobol-random",
        "synthetic",
        "command",
        "gemmini-model",
        "resnet50",
        "latency_ms",
        "power_mw",
        "area_mm2",
        "mesh_rows",
        "clock_ps",
        "a\nb",
        "x\r\ny",
        "\u{0}",
        "é",
        " ",
        "*/2 * * * * *",
        "0 22 * * *",
        "and",
        "True",
        "debug",
        "{mesh_rows}",
    ]
}

fn string_content() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => select(words()).prop_map(String::from),
        2 => "[ -~]{0,16}",
        1 => any::<String>(),
    ]
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn names() -> Vec<&'static str> {
    vec![
        "mesh_rows",
        "mesh_cols",
        "tile_rows",
        "tile_cols",
        "dataflow",
        "sp_capacity_kib",
        "sp_banks",
        "acc_capacity_kib",
        "acc_banks",
        "clock_ps",
        "vt_flavour",
        "latency_ms",
        "power_mw",
        "area_mm2",
        "energy_mj",
        "x",
        "and",
    ]
}

/// Constraint-like text: comparisons of names and numbers, or random symbols.
fn expression() -> impl Strategy<Value = String> {
    let op = select(vec!["<", "<=", ">", ">=", "==", "!="]);
    let arith = select(vec!["+", "-", "*", "/", "//", "%", "**"]);
    prop_oneof![
        (select(names()), op.clone(), interesting_int())
            .prop_map(|(a, o, b)| format!("{a} {o} {b}")),
        (
            select(names()),
            arith,
            select(names()),
            op,
            interesting_float()
        )
            .prop_map(|(a, x, b, o, c)| format!("{a} {x} {b} {o} {}", toml_float(c))),
        "[a-z_0-9 ()+*/%<>=!.,'-]{0,30}",
        any::<String>(),
    ]
}

fn scalar() -> BoxedStrategy<String> {
    prop_oneof![
        3 => interesting_int().prop_map(|i| i.to_string()),
        2 => interesting_float().prop_map(toml_float),
        3 => string_content().prop_map(|s| toml_string(&s)),
        1 => any::<bool>().prop_map(|b| b.to_string()),
        1 => Just("1979-05-27T07:32:00Z".to_string()),
    ]
    .boxed()
}

fn keys() -> Vec<&'static str> {
    vec![
        "name",
        "layer",
        "kind",
        "low",
        "high",
        "step",
        "log",
        "values",
        "default",
        "unit",
        "description",
        "ref",
        "direction",
        "goals",
        "bounds",
        "cron",
        "timezone",
        "batch_size",
        "queue_depth",
        "poll_s",
        "parallel",
        "timeout_s",
        "runs_dir",
        "initial_design",
        "retrain_every",
        "full_retrain_every",
        "seed",
        "path",
        "level",
        "workload",
        "dram_gbps",
        "coefficients",
        "argv",
        "metrics",
        "output",
        "env",
        "cwd",
        "outcome_constraints",
        "constraints",
        "zzz",
        "\"a b\"",
        "\"x\\ny\"",
    ]
}

fn toml_value() -> BoxedStrategy<String> {
    prop_oneof![
        8 => scalar(),
        1 => vec(scalar(), 0..4).prop_map(|v| format!("[{}]", v.join(", "))),
        1 => vec((select(keys()), scalar()), 0..3).prop_map(|kv| {
            let kv: Vec<String> = kv.iter().map(|(k, v)| format!("{k} = {v}")).collect();
            format!("{{ {} }}", kv.join(", "))
        }),
    ]
    .boxed()
}

/// A number for `low`/`high`/`default`: mostly an int or a float, sometimes anything.
fn number_text() -> BoxedStrategy<String> {
    prop_oneof![
        3 => interesting_int().prop_map(|i| i.to_string()),
        2 => interesting_float().prop_map(toml_float),
        1 => toml_value(),
    ]
    .boxed()
}

const KINDS: [&str; 6] = ["int", "pow2", "float", "ordinal", "categorical", "bool"];

#[derive(Clone, Debug)]
struct NewParam {
    name: String,
    kind: &'static str,
    low: Option<String>,
    high: Option<String>,
    step: Option<String>,
    log: Option<bool>,
    values: Option<Vec<String>>,
    default: Option<String>,
}

fn new_param() -> impl Strategy<Value = NewParam> {
    (
        prop_oneof![8 => Just("extra".to_string()), 1 => string_content()],
        select(KINDS.to_vec()),
        proptest::option::weighted(0.9, number_text()),
        proptest::option::weighted(0.9, number_text()),
        proptest::option::of(interesting_int().prop_map(|i| i.to_string())),
        proptest::option::of(any::<bool>()),
        proptest::option::of(vec(scalar(), 0..5)),
        proptest::option::of(number_text()),
    )
        .prop_map(
            |(name, kind, low, high, step, log, values, default)| NewParam {
                name,
                kind,
                low,
                high,
                step,
                log,
                values,
                default,
            },
        )
}

#[derive(Clone, Debug)]
enum Tweak {
    /// Replace the value of the i-th `key = value` line.
    SetValue(Index, String),
    /// Set the i-th parameter's kind.
    SetKind(Index, &'static str),
    /// Replace the i-th constraint.
    SetConstraint(Index, String),
    /// Drop the i-th `key = value` line.
    DropKey(Index),
    /// Insert `key = value` after the i-th line.
    AddKey(Index, &'static str, String),
    /// Duplicate the i-th `[...]` block.
    DupBlock(Index),
    /// Drop the i-th `[...]` block.
    DropBlock(Index),
    /// Append a parameter.
    AddParam(NewParam),
    /// Append a target: name, goal or bound metric, value.
    AddTarget(String, &'static str, String, bool),
    /// Replace `[evaluator]` with another evaluator.
    Evaluator(usize),
    /// Replace the cron line.
    Cron(String),
}

fn cron_text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => vec(cron_field(), 5..=7).prop_map(|f| f.join(" ")),
        1 => vec(cron_field(), 0..9).prop_map(|f| f.join(" ")),
        1 => any::<String>(),
    ]
}

fn cron_field() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => select(vec![
            "*", "?", "0", "7", "1-5", "*/2", "*/0", "0/1", "5-1", "59", "60", "31", "30", "29",
            "2", "2", "12", "13", "Mon-Fri", "SUN", "JAN", "L", "1970", "2099", "2100", "2200",
            "3000", "1,2,3", "-", "/", ",", "", "4294967296", "18446744073709551616",
        ])
        .prop_map(String::from),
        1 => "[0-9*/,?-]{1,6}",
    ]
}

fn tweak() -> impl Strategy<Value = Tweak> {
    prop_oneof![
        6 => (any::<Index>(), toml_value()).prop_map(|(i, v)| Tweak::SetValue(i, v)),
        6 => (any::<Index>(), number_text()).prop_map(|(i, v)| Tweak::SetValue(i, v)),
        2 => (any::<Index>(), select(KINDS.to_vec())).prop_map(|(i, k)| Tweak::SetKind(i, k)),
        2 => (any::<Index>(), expression()).prop_map(|(i, e)| Tweak::SetConstraint(i, e)),
        2 => any::<Index>().prop_map(Tweak::DropKey),
        2 => (any::<Index>(), select(keys()), toml_value())
            .prop_map(|(i, k, v)| Tweak::AddKey(i, k, v)),
        1 => any::<Index>().prop_map(Tweak::DupBlock),
        1 => any::<Index>().prop_map(Tweak::DropBlock),
        3 => new_param().prop_map(Tweak::AddParam),
        2 => (
            string_content(),
            select(vec!["latency_ms", "power_mw", "area_mm2", "nope", "\"a\\nb\""]),
            number_text(),
            any::<bool>()
        )
            .prop_map(|(n, m, v, g)| Tweak::AddTarget(n, m, v, g)),
        1 => (0_usize..4).prop_map(Tweak::Evaluator),
        2 => cron_text().prop_map(Tweak::Cron),
    ]
}

fn is_key_line(l: &str) -> bool {
    let t = l.trim_start();
    !t.starts_with(['[', '#', '"', ']']) && t.contains('=')
}

fn apply_tweaks(base: &str, tweaks: &[Tweak]) -> String {
    let mut lines: Vec<String> = base.lines().map(String::from).collect();
    let pick = |lines: &Vec<String>, f: &dyn Fn(&str) -> bool, i: &Index| -> Option<usize> {
        let hits: Vec<usize> = (0..lines.len()).filter(|&k| f(&lines[k])).collect();
        (!hits.is_empty()).then(|| hits[i.index(hits.len())])
    };
    let blocks = |lines: &Vec<String>| -> Vec<(usize, usize)> {
        let starts: Vec<usize> = (0..lines.len())
            .filter(|&k| lines[k].starts_with('['))
            .collect();
        starts
            .iter()
            .enumerate()
            .map(|(j, &s)| (s, starts.get(j + 1).copied().unwrap_or(lines.len())))
            .collect()
    };
    for t in tweaks {
        match t {
            Tweak::SetValue(i, v) => {
                if let Some(k) = pick(&lines, &|l| is_key_line(l) && !l.ends_with('['), i) {
                    let key = lines[k].split('=').next().unwrap().to_string();
                    lines[k] = format!("{key}= {v}");
                }
            }
            Tweak::SetKind(i, kind) => {
                if let Some(k) = pick(&lines, &|l| l.starts_with("kind ="), i) {
                    lines[k] = format!("kind = \"{kind}\"");
                }
            }
            Tweak::SetConstraint(i, e) => {
                if let Some(k) = pick(&lines, &|l| l.starts_with("    \""), i) {
                    lines[k] = format!("    {},", toml_string(e));
                }
            }
            Tweak::DropKey(i) => {
                if let Some(k) = pick(&lines, &|l| is_key_line(l) && !l.ends_with('['), i) {
                    lines.remove(k);
                }
            }
            Tweak::AddKey(i, key, v) => {
                let at = i.index(lines.len() + 1);
                lines.insert(at, format!("{key} = {v}"));
            }
            Tweak::DupBlock(i) | Tweak::DropBlock(i) => {
                let b = blocks(&lines);
                if !b.is_empty() {
                    let (s, e) = b[i.index(b.len())];
                    if matches!(t, Tweak::DupBlock(_)) {
                        let copy: Vec<String> = lines[s..e].to_vec();
                        lines.splice(e..e, copy);
                    } else {
                        lines.drain(s..e);
                    }
                }
            }
            Tweak::AddParam(p) => {
                lines.push("[[space.params]]".into());
                lines.push(format!("name = {}", toml_string(&p.name)));
                lines.push("layer = \"hw\"".into());
                lines.push(format!("kind = \"{}\"", p.kind));
                for (key, v) in [
                    ("low", &p.low),
                    ("high", &p.high),
                    ("step", &p.step),
                    ("default", &p.default),
                ] {
                    if let Some(v) = v {
                        lines.push(format!("{key} = {v}"));
                    }
                }
                if let Some(log) = p.log {
                    lines.push(format!("log = {log}"));
                }
                if let Some(values) = &p.values {
                    lines.push(format!("values = [{}]", values.join(", ")));
                }
            }
            Tweak::AddTarget(name, metric, v, goal) => {
                lines.push("[[targets]]".into());
                lines.push(format!("name = {}", toml_string(name)));
                if *goal {
                    lines.push(format!("goals = {{ {metric} = {v} }}"));
                } else {
                    lines.push(format!("bounds = {{ {metric} = {{ max = {v} }} }}"));
                }
            }
            Tweak::Evaluator(n) => {
                if let Some(k) = lines.iter().position(|l| l == "[evaluator]") {
                    lines.truncate(k);
                    let alt = match n {
                        0 => "[evaluator]\nname = \"synthetic\"",
                        1 => {
                            "[evaluator]\nname = \"command\"\n[evaluator.command]\n\
                             argv = [\"/bin/true\", \"{design_json}\"]\n\
                             metrics = [\"latency_ms\", \"power_mw\", \"area_mm2\"]"
                        }
                        2 => {
                            "[evaluator]\nname = \"gemmini-model\"\n[evaluator.gemmini-model]\n\
                              workload = \"resnet50\"\ndram_gbps = -1"
                        }
                        _ => "[evaluator]\nname = \"nope\"",
                    };
                    lines.extend(alt.lines().map(String::from));
                }
            }
            Tweak::Cron(c) => {
                if let Some(k) = lines.iter().position(|l| l.starts_with("cron =")) {
                    lines[k] = format!("cron = {}", toml_string(c));
                }
            }
        }
    }
    lines.join("\n") + "\n"
}

/// A drop-in target file: valid, edited, or random.
fn drop_in() -> impl Strategy<Value = Vec<u8>> {
    let valid = "[[targets]]\nname = \"small\"\ngoals = { area_mm2 = 0.1 }\n\
                 bounds = { power_mw = { min = 1.0, max = 90 } }\n";
    prop_oneof![
        2 => vec(edit(), 0..6).prop_map(move |e| apply_edits(valid, &e)),
        2 => vec(tweak(), 1..4).prop_map(move |t| apply_tweaks(valid, &t).into_bytes()),
        1 => any::<String>().prop_map(String::into_bytes),
        1 => vec(any::<u8>(), 0..64),
    ]
}

proptest! {
    #![proptest_config(config_with(None))]

    /// (a) Arbitrary bytes as the config file.
    #[test]
    fn config_arbitrary_bytes(bytes in vec(any::<u8>(), 0..512)) {
        check_config(&bytes, &[])?;
    }

    /// (a) Arbitrary TOML-looking text as the config file.
    #[test]
    fn config_arbitrary_tomlish_text(
        text in "([a-z_.]{1,8} ?= ?([0-9.e+-]{1,6}|\"[ -~]{0,6}\"|\\[[0-9, ]{0,6}\\]|true|nan|inf)\n|\\[{1,2}[a-z.]{1,12}\\]{1,2}\n|#[ -~]{0,8}\n|[ -~]{0,10}\n){0,12}"
    ) {
        check_config(text.as_bytes(), &[])?;
    }

    /// (b) The demo config with character- and line-level edits.
    #[test]
    fn config_demo_with_byte_edits(edits in vec(edit(), 1..8)) {
        check_config(&apply_edits(DEMO, &edits), &[])?;
    }

    /// (c) The demo config with structure-aware edits.
    #[test]
    fn config_demo_with_structured_edits(tweaks in vec(tweak(), 1..5)) {
        check_config(apply_tweaks(DEMO, &tweaks).as_bytes(), &[])?;
    }

    /// (c) A minimal config with a new parameter of random kind and bounds, and maybe a
    /// constraint on it.
    #[test]
    fn config_minimal_with_a_new_param(
        p in new_param(),
        constraint in proptest::option::of(expression()),
        tweaks in vec(tweak(), 0..2),
    ) {
        let mut text = MINIMAL.to_string();
        if let Some(c) = constraint {
            text = text.replace("[space]\n", &format!("[space]\nconstraints = [{}]\n", toml_string(&c)));
        }
        let text = apply_tweaks(&text, &[Tweak::AddParam(p)]);
        check_config(apply_tweaks(&text, &tweaks).as_bytes(), &[])?;
    }

    /// Drop-in target files: each located against its own text.
    #[test]
    fn config_drop_ins(a in drop_in(), b in drop_in(), main_edits in vec(tweak(), 0..2)) {
        let main = apply_tweaks(DEMO, &main_edits);
        check_config(main.as_bytes(), &[("a.toml", &a), ("b.toml", &b)])?;
    }
}

// ---------------------------------------------------------------------------------------
// QoR reports and results files
// ---------------------------------------------------------------------------------------

/// The demo config, loaded once, in a temp dir that lives as long as the test binary.
static DEMO_CONFIG: LazyLock<Config> = LazyLock::new(|| {
    let dir = tempfile::tempdir().unwrap().keep();
    let file = dir.join("config.toml");
    std::fs::write(&file, DEMO).unwrap();
    Config::load(file).unwrap()
});

fn required() -> Vec<String> {
    DEMO_CONFIG.required_metrics()
}

/// A JSON token text for a metric value: finite numbers, out-of-range and non-JSON numbers,
/// and things that are not numbers.
fn metric_token() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => interesting_float()
            .prop_filter_map("finite", |x| serde_json::Number::from_f64(x).map(|n| n.to_string())),
        2 => select(vec![
            "NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1e308", "\"n/a\"", "\"1.5\"",
            "null", "true", "[1]", "{\"x\": 1}", "-0", "1E+2", "0x10", "01", "1.", ".5",
            "123456789012345678901234567890", "-9223372036854775809", "18446744073709551616",
        ])
        .prop_map(String::from),
        1 => interesting_int().prop_map(|i| i.to_string()),
    ]
}

fn metric_name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => select(vec!["latency_ms", "power_mw", "area_mm2", "metrics", "wns_ps", ""])
            .prop_map(String::from),
        1 => "[ -~]{0,8}",
    ]
}

/// A QoR report: a flat or wrapped object of metric tokens (not always valid JSON).
fn report_text() -> impl Strategy<Value = String> {
    (
        btree_map(metric_name(), metric_token(), 0..6),
        any::<bool>(),
    )
        .prop_map(|(m, wrapped)| {
            let body: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{}: {v}", serde_json::Value::String(k.clone())))
                .collect();
            let flat = format!("{{{}}}", body.join(", "));
            if wrapped {
                format!("{{\"metrics\": {flat}, \"design_hash\": \"abc\"}}")
            } else {
                flat
            }
        })
}

fn check_metrics_result(
    got: &Result<diffuse_dse::space::Metrics, diffuse_dse::qor::QorError>,
    required: &[String],
) -> Result<(), TestCaseError> {
    match got {
        Ok(m) => {
            for (name, v) in &m.0 {
                prop_assert!(v.is_finite(), "metric {} = {} accepted", name, v);
            }
            for r in required {
                prop_assert!(m.get(r).is_some(), "required metric {} missing", r);
            }
        }
        Err(e) => {
            let shown = e.to_string();
            prop_assert!(
                !shown.contains('\n'),
                "a message of more than one line: {shown:?}"
            );
            prop_assert!(
                shown.chars().count() < 2000,
                "a message of {} characters",
                shown.len()
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config_with(None))]

    #[test]
    fn qor_arbitrary_text(text in any::<String>(), req in any::<bool>()) {
        let required = if req { required() } else { vec![] };
        let got = {
            let (t, r) = (text.clone(), required.clone());
            run("parse_metrics_json", move || parse_metrics_json(&t, &r))?
        };
        check_metrics_result(&got, &required)?;
    }

    #[test]
    fn qor_reports_and_edits(text in report_text(), edits in vec(edit(), 0..4), req in any::<bool>()) {
        let required = if req { required() } else { vec![] };
        let bytes = apply_edits(&text, &edits);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("qor.json");
        std::fs::write(&path, &bytes).unwrap();
        let r = required.clone();
        let from_file = run("read_metrics_file", move || read_metrics_file(&path, &r))?;
        check_metrics_result(&from_file, &required)?;
        if let Ok(text) = std::str::from_utf8(&bytes) {
            let got = parse_metrics_json(text, &required);
            check_metrics_result(&got, &required)?;
            prop_assert_eq!(got.is_ok(), from_file.is_ok());
        }
    }
}

/// A cell for a results file: a legal value of the column's parameter, a metric, or junk.
fn cell_token() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => metric_token().prop_map(|t| t.trim_matches('"').to_string()),
        1 => select(vec![
            "", "NaN", "nan", "inf", "-inf", "1e999", "abc", "\"x,y\"", "\"a\"\"b\"", "OS", "os",
            "8.0", "16", "ok", "failed", "FAILED", "maybe", "\"", ",",
        ])
        .prop_map(String::from),
    ]
}

/// A valid results file for the demo space, as CSV or JSON lines, with some cells replaced.
#[derive(Clone, Debug)]
struct ResultsFile {
    name: &'static str,
    text: String,
}

fn results_file() -> impl Strategy<Value = ResultsFile> {
    let space = &DEMO_CONFIG.space;
    let params: Vec<(String, usize)> = space
        .params
        .iter()
        .map(|p| (p.name.clone(), p.choices.len().max(1)))
        .collect();
    let row = (
        vec(any::<Index>(), params.len()),
        vec(0.0_f64..1000.0, 3),
        vec((any::<Index>(), cell_token()), 0..3),
        prop_oneof![3 => Just("ok"), 1 => Just("failed"), 1 => Just("Ok"), 1 => Just("bad")],
    );
    (vec(row, 0..5), 0_usize..4, vec(edit(), 0..3)).prop_map(move |(rows, form, edits)| {
        let space = &DEMO_CONFIG.space;
        let metrics = ["latency_ms", "power_mw", "area_mm2"];
        let mut header: Vec<String> = params.iter().map(|(n, _)| n.clone()).collect();
        header.extend(metrics.iter().map(|m| m.to_string()));
        header.push("status".into());
        let mut table: Vec<Vec<String>> = rows
            .iter()
            .map(|(choice, values, junk, status)| {
                let mut cells: Vec<String> = space
                    .params
                    .iter()
                    .zip(choice)
                    .map(|(p, i)| p.choices[i.index(p.choices.len())].to_string())
                    .collect();
                cells.extend(values.iter().map(|v| v.to_string()));
                cells.push(status.to_string());
                for (i, token) in junk {
                    let at = i.index(cells.len());
                    cells[at] = token.clone();
                }
                cells
            })
            .collect();
        let text = if form == 0 {
            let mut out = header.join(",") + "\n";
            for cells in &mut table {
                out += &(cells.join(",") + "\n");
            }
            out
        } else {
            let objects: Vec<String> = table
                .iter()
                .map(|cells| {
                    let mut params = serde_json::Map::new();
                    let mut ms = Vec::new();
                    for (h, c) in header.iter().zip(cells) {
                        if metrics.contains(&h.as_str()) {
                            // Tokens as JSON text, so that non-JSON numbers get in too.
                            let token = if c.is_empty() {
                                "null".to_string()
                            } else {
                                c.clone()
                            };
                            ms.push(format!("{}: {token}", serde_json::Value::String(h.clone())));
                        } else if h != "status" {
                            let v = c
                                .parse::<i64>()
                                .map(serde_json::Value::from)
                                .unwrap_or_else(|_| serde_json::Value::String(c.clone()));
                            params.insert(h.clone(), v);
                        }
                    }
                    format!(
                        "{{\"params\": {}, \"metrics\": {{{}}}, \"status\": {}}}",
                        serde_json::Value::Object(params),
                        ms.join(", "),
                        serde_json::Value::String(cells.last().cloned().unwrap_or_default())
                    )
                })
                .collect();
            if form == 1 {
                format!("[{}]", objects.join(",\n"))
            } else {
                objects.join("\n")
            }
        };
        let text = String::from_utf8_lossy(&apply_edits(&text, &edits)).into_owned();
        let name = match form {
            0 => "results.csv",
            1 => "results.json",
            2 => "results.jsonl",
            _ => "results.txt",
        };
        ResultsFile { name, text }
    })
}

/// Read a results file; check the error's line, or that each row's metrics, as the inbox
/// reads them, are finite and complete, and each row's design, when it checks, is legal.
fn check_results(file: &ResultsFile) -> Result<Option<Vec<InboxRow>>, TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(file.name);
    std::fs::write(&path, &file.text).unwrap();
    let got = {
        let path = path.clone();
        run("read_results_file", move || {
            read_results_file(&path, &DEMO_CONFIG)
        })?
    };
    let required = required();
    match got {
        Err(e) => {
            let lines = file.text.split('\n').count();
            prop_assert!(
                e.line >= 1 && e.line <= lines,
                "line {} of a file of {} lines: {}",
                e.line,
                lines,
                e
            );
            prop_assert!(
                !e.message.contains('\n'),
                "a message of more than one line: {e}"
            );
            Ok(None)
        }
        Ok(rows) => {
            for row in &rows {
                let csv =
                    file.name.ends_with(".csv") && !file.text.trim_start().starts_with(['[', '{']);
                if csv && row.status == InboxStatus::Ok {
                    prop_assert!(row.metrics.is_some(), "an OK row without metrics: {row:?}");
                }
                if let Some(m) = &row.metrics {
                    let parsed = parse_metrics_json(&m.to_string(), &required);
                    check_metrics_result(&parsed, &required)?;
                }
                if let Some(p) = &row.params {
                    check_design(&DEMO_CONFIG.space, p)?;
                }
            }
            Ok(Some(rows))
        }
    }
}

proptest! {
    #![proptest_config(config_with(None))]

    #[test]
    fn results_files_valid_and_edited(file in results_file()) {
        check_results(&file)?;
    }

    #[test]
    fn results_files_arbitrary_text(
        text in prop_oneof![any::<String>(), "([ -~]{0,12}[,\n\"{}\\[\\]]){0,10}"],
        form in 0_usize..4,
    ) {
        let name = ["results.csv", "results.json", "results.jsonl", "results.txt"][form];
        check_results(&ResultsFile { name, text })?;
    }
}

proptest! {
    // A store per case: fewer cases.
    #![proptest_config(config_with(Some(48)))]

    /// Through the inbox: every accepted OK result has finite values for every required
    /// metric, and every row is accepted or rejected.
    #[test]
    fn results_files_through_the_inbox(file in results_file()) {
        let Some(rows) = check_results(&file)? else { return Ok(()) };
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("fuzz.db");
        let n = rows.len();
        let (summary, values) = run("ingest", move || {
            let mut store = Store::open(&db).unwrap();
            store.insert_inbox(&rows).unwrap();
            let summary = ingest_pass(&mut store, &DEMO_CONFIG, &[]).unwrap();
            drop(store);
            let conn = rusqlite::Connection::open(&db).unwrap();
            let mut stmt = conn
                .prepare(
                    "SELECT r.id, v.metric, v.value FROM results r
                     LEFT JOIN result_values v ON v.result_id = r.id WHERE r.status = 'OK'",
                )
                .unwrap();
            let values: Vec<(i64, Option<String>, Option<f64>)> = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            (summary, values)
        })?;
        prop_assert_eq!(summary.accepted + summary.rejected.len(), n);
        let mut by_result: std::collections::BTreeMap<i64, Vec<String>> = Default::default();
        for (id, metric, value) in values {
            let names = by_result.entry(id).or_default();
            if let (Some(m), Some(v)) = (metric, value) {
                prop_assert!(v.is_finite(), "result {} stores {} = {}", id, m, v);
                names.push(m);
            }
        }
        for (id, names) in by_result {
            for r in required() {
                prop_assert!(names.contains(&r), "OK result {} lacks {}", id, r);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Cron lines
// ---------------------------------------------------------------------------------------

fn check_cron(text: String, zone: Zone, t: DateTime<Utc>) -> Result<(), TestCaseError> {
    let shown = text.clone();
    let parsed = run("Cron::parse", move || {
        Cron::parse(&text, zone).map(|c| {
            let now = Utc::now();
            (c.next_after(now).map(|n| (now, n)), c.next_after(t))
        })
    })?;
    if let Ok((at_now, at_t)) = parsed {
        prop_assert!(
            at_now.is_some(),
            "{:?} parses but never fires after now",
            shown
        );
        let (now, next) = at_now.unwrap();
        prop_assert!(next > now, "{:?}: next_after({}) = {}", shown, now, next);
        if let Some(next) = at_t {
            prop_assert!(next > t, "{:?}: next_after({}) = {}", shown, t, next);
        }
    }
    Ok(())
}

fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    // 1970 to 2200.
    (0_i64..7_258_118_400).prop_map(|s| Utc.timestamp_opt(s, 0).unwrap())
}

proptest! {
    #![proptest_config(config_with(None))]

    #[test]
    fn cron_arbitrary_text(text in any::<String>(), utc in any::<bool>(), t in instant()) {
        check_cron(text, if utc { Zone::Utc } else { Zone::Local }, t)?;
    }

    #[test]
    fn cron_like_text(text in cron_text(), utc in any::<bool>(), t in instant()) {
        check_cron(text, if utc { Zone::Utc } else { Zone::Local }, t)?;
    }
}

// ---------------------------------------------------------------------------------------
// Designs, typed values and expressions
// ---------------------------------------------------------------------------------------

fn check_design(space: &Space, params: &serde_json::Value) -> Result<(), TestCaseError> {
    let (s, p) = (space.clone(), params.clone());
    let got = run("design_from_json", move || s.design_from_json(&p))?;
    if let Ok(d) = got {
        prop_assert_eq!(
            space.check(&d),
            Ok(d.clone()),
            "a checked design does not check"
        );
        prop_assert_eq!(d.0.len(), space.params.len());
        for p in &space.params {
            let v = d.get(&p.name);
            prop_assert!(v.is_some(), "{} missing from {:?}", p.name, d);
            let v = v.unwrap();
            let legal = match p.kind {
                Kind::Float { low, high, .. } => {
                    matches!(v, Value::Float(x) if x.is_finite() && *x >= low && *x <= high)
                }
                _ => p.choices.contains(v),
            };
            prop_assert!(legal, "{} = {} is not legal", p.name, v);
        }
        prop_assert!(space.feasible(&d));
    }
    Ok(())
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        interesting_int().prop_map(serde_json::Value::from),
        interesting_float().prop_map(serde_json::Value::from),
        string_content().prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
            btree_map(string_content(), inner, 0..6)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A design of the demo space, as JSON, with values drawn from each parameter's choices or
/// near them (`8.0`, `"8"`, `true`, huge numbers), and sometimes a missing or extra name.
fn near_design() -> impl Strategy<Value = serde_json::Value> {
    let n = DEMO_CONFIG.space.params.len();
    (
        vec((any::<Index>(), 0_u8..10, interesting_float()), n),
        proptest::option::of(any::<Index>()),
        proptest::option::of((string_content(), json_value())),
    )
        .prop_map(|(picks, drop, extra)| {
            let space = &DEMO_CONFIG.space;
            let mut m = serde_json::Map::new();
            for (p, (i, how, x)) in space.params.iter().zip(picks) {
                let c = &p.choices[i.index(p.choices.len())];
                let v = match (how, c) {
                    (0, Value::Int(k)) => serde_json::Value::from(*k as f64),
                    (1, c) => serde_json::Value::String(c.to_string()),
                    (2, c) => serde_json::Value::String(c.to_string().to_lowercase()),
                    (3, _) => serde_json::Value::from(x),
                    (4, _) => serde_json::Value::Bool(true),
                    (5, Value::Int(k)) => serde_json::Value::from(k + 1),
                    _ => serde_json::to_value(c).unwrap(),
                };
                m.insert(p.name.clone(), v);
            }
            if let Some(i) = drop {
                let k = m.keys().nth(i.index(m.len())).cloned().unwrap();
                m.remove(&k);
            }
            if let Some((k, v)) = extra {
                m.insert(k, v);
            }
            serde_json::Value::Object(m)
        })
}

proptest! {
    #![proptest_config(config_with(None))]

    #[test]
    fn design_from_arbitrary_json(v in json_value()) {
        check_design(&DEMO_CONFIG.space, &v)?;
    }

    #[test]
    fn design_from_near_designs(v in near_design()) {
        check_design(&DEMO_CONFIG.space, &v)?;
    }

    #[test]
    fn param_parse_text(i in any::<Index>(), text in prop_oneof![
        string_content(),
        interesting_int().prop_map(|i| i.to_string()),
        interesting_float().prop_map(|x| x.to_string()),
    ]) {
        let space = &DEMO_CONFIG.space;
        let p = &space.params[i.index(space.params.len())];
        if let Ok(v) = p.parse_text(&text) {
            prop_assert_eq!(p.normalize(&v), Some(v.clone()), "{} parsed {:?} to an illegal {}", p.name, text, v);
        }
    }

    #[test]
    fn expressions_parse_and_evaluate(text in expression(), x in interesting_float()) {
        let got = run("Expr::parse", move || {
            Expr::parse(&text).map(|e| {
                let lookup = |n: &str| (!n.len().is_multiple_of(3)).then_some(Operand::Num(x));
                (e.text().to_string(), e.eval(&lookup).is_ok(), e.violation(&lookup).is_ok(), text)
            })
        })?;
        if let Ok((shown, _, _, text)) = got {
            prop_assert_eq!(shown.as_str(), text.trim());
        }
    }
}

// ---------------------------------------------------------------------------------------
// Fixed inputs: the shapes above, spelled out, so a regression is caught without luck
// ---------------------------------------------------------------------------------------

/// The demo config itself loads.
#[test]
fn demo_config_loads_and_checks() {
    let w = write_config(DEMO.as_bytes(), &[]);
    let c = Config::load(&w.file).unwrap();
    check_ok(&c).unwrap();
    assert!(
        Path::new(&c.store_path)
            .to_string_lossy()
            .ends_with("demo.db")
    );
}

// ---------------------------------------------------------------------------------------
// Bugs the properties found, minimized, pinning their fixes (docs/fuzzing.md lists them).
// ---------------------------------------------------------------------------------------

/// `MINIMAL` with `extra` appended (parameters, targets, a schedule).
fn minimal_with(extra: &str) -> String {
    format!("{MINIMAL}{extra}")
}

/// The full check of one config text.
fn strict_check(text: &str) {
    let r = check_config(text.as_bytes(), &[]);
    assert!(r.is_ok(), "{}\n--- config ---\n{text}", r.unwrap_err());
}

#[test]
fn minimal_config_loads_and_checks() {
    strict_check(MINIMAL);
}

#[test]
fn b1_cron_error_is_one_line() {
    strict_check(&minimal_with("[schedule]\ncron = \"* * * */0 *\"\n"));
}

#[test]
fn b2_target_metric_key_is_one_line() {
    strict_check(&minimal_with(
        "[[targets]]\nname = \"t\"\ngoals = { \"a\\nb\" = 1 }\n",
    ));
}

#[test]
fn b3_duplicate_target_name_is_one_line() {
    strict_check(&minimal_with(
        "[[targets]]\nname = \"a\\nb\"\ngoals = { f1 = 1 }\n\
         [[targets]]\nname = \"a\\nb\"\ngoals = { f1 = 1 }\n",
    ));
}

#[test]
fn b4_full_range_int_parameter() {
    strict_check(&minimal_with(
        "[[space.params]]\nname = \"extra\"\nlayer = \"hw\"\nkind = \"int\"\n\
         low = -9223372036854775808\nhigh = 9223372036854775807\n",
    ));
}

/// Found by CI's run of the suite after B4's fix: the message for a width that is no
/// multiple of the step still subtracted in `i64`.
#[test]
fn b4_full_range_int_parameter_with_a_step() {
    strict_check(&minimal_with(
        "[[space.params]]\nname = \"extra\"\nlayer = \"hw\"\nkind = \"int\"\n\
         low = -9223372036854775808\nhigh = 9223372036854775807\nstep = 2\n",
    ));
}

#[test]
fn b5_pow2_up_to_2_62() {
    strict_check(&minimal_with(
        "[[space.params]]\nname = \"extra\"\nlayer = \"hw\"\nkind = \"pow2\"\n\
         low = 1\nhigh = 4611686018427387904\n",
    ));
}

#[test]
fn b6_param_value_is_one_line() {
    strict_check(&minimal_with(
        "[[space.params]]\nname = \"extra\"\nlayer = \"hw\"\nkind = \"int\"\n\
         low = 0\nhigh = 4\ndefault = \"a\\nb\"\n",
    ));
}

#[test]
fn b7_qor_error_is_one_line() {
    let e = parse_metrics_json("{\"a\\nb\": 1}", &["x".to_string()]).unwrap_err();
    assert!(!e.to_string().contains('\n'), "{e:?}");
    let e = parse_metrics_json("{\"a\\nb\": null}", &[]).unwrap_err();
    assert!(!e.to_string().contains('\n'), "{e:?}");
}

#[test]
fn b8_float_middle_overflow() {
    strict_check(&minimal_with(
        "[[space.params]]\nname = \"extra\"\nlayer = \"hw\"\nkind = \"float\"\n\
         low = 1e308\nhigh = 1.7e308\n",
    ));
}

#[test]
fn b9_float_width_overflow() {
    strict_check(&minimal_with(
        "[[space.params]]\nname = \"extra\"\nlayer = \"hw\"\nkind = \"float\"\n\
         low = -1e308\nhigh = 1e308\n",
    ));
}

#[test]
fn b10_evaluator_setting_is_one_line() {
    strict_check(
        &MINIMAL
            .replace(
                "name = \"synthetic\"\n",
                "name = \"gemmini-model\"\n[evaluator.gemmini-model]\nworkload = \"a\\nb\"\n",
            )
            .replace("\"f1\"", "\"latency_ms\""),
    );
}

#[test]
fn b11_json_array_error_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("results.json");
    std::fs::write(&path, "[{\"status\": \"ok\"}, {\"status\": \"bad\"}]\n").unwrap();
    let e = read_results_file(&path, &DEMO_CONFIG).unwrap_err();
    assert_eq!(e.line, 1, "{e}");
}
