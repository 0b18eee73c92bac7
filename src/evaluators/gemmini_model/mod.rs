//! The `gemmini-model` evaluator: a fast analytical PPA model of a Gemmini-class accelerator
//! on ASAP7 (reference: gemmini_model/model.py:40-77 at 9201a62; PORTING §3).
//!
//! The technology side ([`technology`], [`sram`]) is closed-form with [`Coefficients`] fitted
//! to the ASAP7 flow; the cycles come from [`crate::perf`], shared with the flow. They combine
//! as:
//!
//! ```text
//! period_ps  = max(clock_ps, t_cp)                    the clock that runs
//! cycles     = perf(config, workload, period_ps).cycles
//! latency_ms = cycles·period_ps·1e-9
//! power_mw   = (u·DIM²·e_mac + e_clk)/period_ps       fJ/ps = mW; u = utilization
//!              + P_leak + Σ bytes·pJ_per_byte/(cycles·period_ps·1e-3)   pJ/ns = mW
//! energy_mj  = power_mw·latency_ms·1e-3
//! area_mm2   = (A_logic + A_sram)·1e-6
//! fmax_mhz   = 1e6/t_cp;  wns_ps = clock_ps − t_cp    (slack, > 0 when met, as the flow reports)
//! ```
//!
//! DRAM power is outside the accelerator and not counted.

mod coefficients;
mod config;
mod settings;
pub mod sram;
pub mod technology;

use std::path::Path;

pub use coefficients::Coefficients;
pub use config::{FIELDS, GemminiConfig, SynthStrategy, VtFlavour};
pub use settings::GemminiSettings;
pub use technology::Technology;

use crate::evaluators::{EvalContext, EvalError, Evaluator};
pub use crate::perf::Dataflow;
use crate::perf::{PerfModel, PerfResult};
use crate::space::{Design, Metrics};
use crate::workloads::Workload;

/// The QoR metrics, the same as the ASAP7 flow's.
pub const METRICS: [&str; 7] = [
    "latency_ms",
    "power_mw",
    "area_mm2",
    "energy_mj",
    "fmax_mhz",
    "wns_ps",
    "cell_count",
];

/// The model's answer for one configuration: the seven metrics and what they came from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GemminiQor {
    pub latency_ms: f64,
    pub power_mw: f64,
    pub area_mm2: f64,
    pub energy_mj: f64,
    pub fmax_mhz: f64,
    pub wns_ps: f64,
    pub cell_count: f64,
    /// The period that runs: `max(clock_ps, t_cp)`.
    pub period_ps: f64,
    pub tech: Technology,
    /// Cycles and traffic at `period_ps`.
    pub perf: PerfResult,
}

impl GemminiQor {
    /// The metrics in the order of [`METRICS`].
    pub fn values(&self) -> [f64; 7] {
        [
            self.latency_ms,
            self.power_mw,
            self.area_mm2,
            self.energy_mj,
            self.fmax_mhz,
            self.wns_ps,
            self.cell_count,
        ]
    }
}

/// The analytical model for one workload, DRAM bandwidth and set of coefficients.
#[derive(Debug)]
pub struct GemminiModel {
    coefficients: Coefficients,
    perf: PerfModel,
}

impl GemminiModel {
    /// The model of `settings`; a relative `coefficients` path is taken from `base_dir`.
    ///
    /// Errors: [`EvalError::Setup`] for an unknown workload, a bad `dram_gbps` or a
    /// coefficients file that cannot be read.
    pub fn new(settings: &GemminiSettings, base_dir: &Path) -> Result<Self, EvalError> {
        let problems = settings.validate_in(base_dir);
        if let Some(p) = problems.first() {
            return Err(EvalError::Setup(format!("{}: {}", p.field, p.message)));
        }
        let coefficients = settings
            .load_coefficients(base_dir)
            .map_err(EvalError::Setup)?;
        let workload =
            Workload::load(&settings.workload).map_err(|e| EvalError::Setup(e.to_string()))?;
        Ok(Self::with_coefficients(
            workload,
            settings.dram_gbps,
            coefficients,
        ))
    }

    /// The model of `workload` at `dram_gbps` with the given coefficients (a calibration fit
    /// builds one per trial set).
    pub fn with_coefficients(
        workload: &'static Workload,
        dram_gbps: f64,
        coefficients: Coefficients,
    ) -> Self {
        Self {
            coefficients,
            perf: PerfModel::new(workload, dram_gbps),
        }
    }

    pub fn coefficients(&self) -> &Coefficients {
        &self.coefficients
    }

    pub fn workload(&self) -> &'static Workload {
        self.perf.workload()
    }

    /// The performance model (and its table of layer terms).
    pub fn perf(&self) -> &PerfModel {
        &self.perf
    }

    /// Every metric of `cfg`. Allocates only the first time a memory configuration is seen.
    pub fn evaluate(&self, cfg: &GemminiConfig) -> GemminiQor {
        self.evaluate_with(cfg, &self.coefficients)
    }

    /// Every metric of `cfg` with other coefficients: a calibration fit tries many sets on the
    /// same designs and reuses this model's table of layer terms.
    pub fn evaluate_with(&self, cfg: &GemminiConfig, coefficients: &Coefficients) -> GemminiQor {
        let tech = Technology::new(cfg, coefficients);
        let t_cp = tech.critical_path_ps;
        let period_ps = cfg.clock_ps.max(t_cp);
        let perf = self.perf.run(&cfg.perf_config(), period_ps);
        let latency_ns = perf.cycles * period_ps * 1e-3;
        let dim = cfg.dim() as f64;
        let logic_mw = (perf.utilization * dim * dim * tech.mac_fj + tech.cycle_fj) / period_ps;
        let sram_pj = perf.sp_read_bytes * tech.sp_read_pj_per_byte
            + perf.sp_write_bytes * tech.sp_write_pj_per_byte
            + perf.acc_read_bytes * tech.acc_read_pj_per_byte
            + perf.acc_write_bytes * tech.acc_write_pj_per_byte;
        let power_mw = logic_mw + tech.leakage_mw + sram_pj / latency_ns;
        let latency_ms = latency_ns * 1e-6;
        GemminiQor {
            latency_ms,
            power_mw,
            area_mm2: (tech.logic_area_um2 + tech.sram_area_um2) * 1e-6,
            energy_mj: power_mw * latency_ms * 1e-3,
            fmax_mhz: 1e6 / t_cp,
            wns_ps: cfg.clock_ps - t_cp,
            cell_count: tech.cell_count,
            period_ps,
            tech,
            perf,
        }
    }
}

impl Evaluator for GemminiModel {
    fn name(&self) -> &str {
        "gemmini-model"
    }

    fn metrics(&self) -> Vec<String> {
        METRICS.iter().map(|m| m.to_string()).collect()
    }

    fn evaluate(&self, design: &Design, _ctx: &EvalContext) -> Result<Metrics, EvalError> {
        let qor = GemminiModel::evaluate(self, &GemminiConfig::from_design(design)?);
        let mut metrics = Metrics::default();
        for (name, value) in METRICS.iter().zip(qor.values()) {
            metrics.insert(name, value);
        }
        Ok(metrics)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The model with the reference's coefficients (the golden values are the reference's).
    fn model(workload: &str) -> GemminiModel {
        GemminiModel::with_coefficients(
            Workload::load(workload).unwrap(),
            16.0,
            Coefficients::shipped(),
        )
    }

    fn close(got: f64, want: f64) -> bool {
        (got - want).abs() <= 1e-6 * want.abs()
    }

    /// PORTING §3.9: the default configuration on the three workloads, reference coefficients.
    #[test]
    fn golden_metrics_of_the_default_configuration() {
        let q = model("resnet50").evaluate(&GemminiConfig::default());
        let want = [
            24.170_128,
            103.335_563,
            0.124_054,
            2.497_634,
            684.751_973,
            -460.382_795,
            343_483.0,
        ];
        for ((name, got), want) in METRICS.iter().zip(q.values()).zip(want) {
            assert!(
                (got - want).abs() <= 5e-7 * want.abs().max(1.0),
                "{name}: {got} vs {want}"
            );
        }
        assert_eq!(q.perf.cycles.round(), 16_550_543.0);
        let bert = model("bert-base").evaluate(&GemminiConfig::default());
        assert!(
            close(bert.latency_ms, 65.524_42) && close(bert.power_mw, 103.803_086),
            "{bert:?}"
        );
        assert_eq!((bert.area_mm2, bert.wns_ps), (q.area_mm2, q.wns_ps));
        let mobilenet = model("mobilenetv2").evaluate(&GemminiConfig::default());
        assert!(
            close(mobilenet.latency_ms, 6.565_399) && close(mobilenet.power_mw, 64.301_693),
            "{mobilenet:?}"
        );
    }

    #[test]
    fn the_evaluator_reports_the_seven_metrics() {
        let m = model("resnet50");
        assert_eq!(
            (Evaluator::name(&m), m.metrics().len()),
            ("gemmini-model", 7)
        );
        let ctx = EvalContext {
            workdir: std::env::temp_dir(),
            timeout: std::time::Duration::from_secs(1),
            cancel: crate::evaluators::Cancel::new(),
        };
        let metrics = Evaluator::evaluate(&m, &Design::default(), &ctx).unwrap();
        assert_eq!(metrics.get("cell_count"), Some(343_483.0));
        let mut bad = Design::default();
        bad.set("vt_flavour", crate::space::Value::Str("HVT".into()));
        assert!(
            Evaluator::evaluate(&m, &bad, &ctx)
                .unwrap_err()
                .to_string()
                .contains("vt_flavour")
        );
    }

    #[test]
    fn bad_settings_are_setup_errors() {
        let settings = GemminiSettings {
            dram_gbps: -1.0,
            ..GemminiSettings::default()
        };
        let err = GemminiModel::new(&settings, Path::new(".")).unwrap_err();
        assert!(
            matches!(&err, EvalError::Setup(m) if m.contains("dram_gbps")),
            "{err}"
        );
    }
}
