//! Replaying a stored design's flow by hand: the RTL, the Yosys, ABC and OpenSTA scripts of its
//! units, a `run.sh` that re-runs the tools, and the check that the re-run gives the stored QoR
//! (`diffuse-dse replay DESIGN_ID DIR`, then `DIR/run.sh`).
//!
//! The folder holds `replay.json` (the config, the design, its stored metrics), one folder per
//! unit (`slice/` and `periph/`, or `top/`) with exactly the files the flow runs, and
//! `run.sh`, which runs Yosys and OpenSTA in each unit folder and ends with
//! `diffuse-dse replay --check DIR`: that reads the fresh reports, composes the QoR the same
//! way the evaluator does, and compares it with the stored values.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::Asap7Evaluator;
use super::flow::{self, UnitResult};
use super::generator::Shape;
use super::pdk::Liberty;
use super::yosys::{self, SynthOptions};
use super::{Asap7Qor, opensta};
use crate::evaluators::EvalError;
use crate::evaluators::gemmini_model::GemminiConfig;
use crate::space::Design;

/// The manifest of a replay folder.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Manifest {
    /// The config the design came from (absolute).
    pub config: PathBuf,
    pub design_id: i64,
    pub design: Design,
    /// The metrics the store holds for it.
    pub stored: BTreeMap<String, f64>,
}

/// Write the replay folder `dir` of `manifest`'s design; `exe` is the `diffuse-dse` binary
/// `run.sh` calls for the check.
pub fn write(
    ev: &Asap7Evaluator,
    manifest: &Manifest,
    dir: &Path,
    exe: &Path,
) -> Result<(), EvalError> {
    let cfg = GemminiConfig::from_design(&manifest.design)?;
    let shape = Shape::of(&cfg).map_err(EvalError::Infeasible)?;
    let opts = SynthOptions::of(&cfg);
    let mut lines = vec![
        "#!/bin/sh".to_string(),
        format!(
            "# Re-runs the asap7 flow of design {} by hand (written by diffuse-dse replay), then",
            manifest.design_id
        ),
        "# compares the QoR the fresh reports give with the stored QoR.".to_string(),
        "set -eu".to_string(),
        "cd \"$(dirname \"$0\")\"".to_string(),
    ];
    for unit in flow::units(ev.flat) {
        let (_, verilog) = ev.flow.key(unit, &shape, &opts)?;
        let lib = ev
            .flow
            .write_unit(unit, &verilog, &opts, &dir.join(unit.name))?;
        let name = unit.name;
        lines.push(format!(
            "# {name}: the liberty file is the flow's merged copy, {}",
            lib.merged.display()
        ));
        lines.push(format!(
            "(cd {name} && {} {name}.ys > {name}.yosys.log 2> {name}.yosys.err.log && {} -no_splash -exit sta.tcl > {name}.sta.log 2> {name}.sta.err.log)",
            quote(&ev.flow.yosys.path),
            quote(&ev.flow.sta.path)
        ));
    }
    lines.push(format!("exec {} replay --check .", quote(exe)));
    let write = |name: &str, text: String| {
        std::fs::write(dir.join(name), text).map_err(|e| {
            EvalError::Failed(format!("cannot write {}: {e}", dir.join(name).display()))
        })
    };
    write("run.sh", lines.join("\n") + "\n")?;
    std::fs::set_permissions(
        dir.join("run.sh"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .map_err(|e| EvalError::Failed(format!("cannot make run.sh executable: {e}")))?;
    write(
        "replay.json",
        serde_json::to_string_pretty(manifest).expect("a manifest serializes") + "\n",
    )
}

/// The QoR the reports in the replay folder `dir` give (after `run.sh` ran the tools).
pub fn replayed(
    ev: &Asap7Evaluator,
    manifest: &Manifest,
    dir: &Path,
) -> Result<Asap7Qor, EvalError> {
    let cfg = GemminiConfig::from_design(&manifest.design)?;
    let shape = Shape::of(&cfg).map_err(EvalError::Infeasible)?;
    let opts = SynthOptions::of(&cfg);
    let flavour = crate::evaluators::gemmini_model::VtFlavour::from_name(&opts.vt_flavour)
        .expect("a checked flavour");
    let lib = Liberty::prepare(&ev.flow.pdk, flavour, &ev.flow.cache_dir)?;
    let mut results: Vec<UnitResult> = Vec::new();
    for unit in flow::units(ev.flat) {
        let udir = dir.join(unit.name);
        let read = |name: String| {
            std::fs::read_to_string(udir.join(&name)).map_err(|e| {
                EvalError::Failed(format!(
                    "{}: {e} (run {} first)",
                    udir.join(&name).display(),
                    dir.join("run.sh").display()
                ))
            })
        };
        let stats = yosys::parse_stat(&read(format!("{}.stat.json", unit.name))?, &lib.areas)
            .map_err(EvalError::Failed)?;
        let timing = opensta::parse(&read(format!("{}.sta.log", unit.name))?, unit.sta_tops)
            .map_err(|e| EvalError::Failed(format!("OpenSTA {e}")))?;
        results.push(flow::unit_result(unit, &opts, "", &stats, &timing, 0.0));
    }
    // the same JSON round trip as the cache, so that equal reports give equal metrics
    let results: Vec<UnitResult> =
        serde_json::from_str(&serde_json::to_string(&results).expect("results serialize"))
            .expect("results parse");
    let logic = flow::logic_of(&shape, &opts, &results, false);
    let (sp, acc) = ev.banks(&cfg, &shape)?;
    Ok(ev.combine(&cfg, &logic, sp, acc, Instant::now()))
}

/// The relative difference of each stored metric from its replayed value (`None`: not replayed).
pub fn compare(
    stored: &BTreeMap<String, f64>,
    replayed: &BTreeMap<String, f64>,
) -> Vec<(String, f64, Option<f64>, f64)> {
    stored
        .iter()
        .map(|(name, s)| {
            let r = replayed.get(name).copied();
            let rel = r.map_or(f64::INFINITY, |r| (r - s).abs() / s.abs().max(1e-300));
            (name.clone(), *s, r, rel)
        })
        .collect()
}

/// `path` in single quotes for `sh`.
fn quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', "'\\''"))
}
