//! The technology coefficients of the model (reference: gemmini_model/technology.py:36-47 and
//! coefficients*.json at 9201a62).
//!
//! `data/calibration/coefficients.json` is the fit to the ASAP7 flow (37 ResNet-50 rows, see
//! `docs/gemmini-model.md`); `coefficients_prior.json` holds the first-principles values every
//! calibration starts from. Both are embedded; a `coefficients` setting can point at another file.

use std::path::Path;

use serde::{Deserialize, Serialize};

const SHIPPED: &str = include_str!("../../../data/calibration/coefficients.json");
const PRIOR: &str = include_str!("../../../data/calibration/coefficients_prior.json");

/// Every coefficient of the technology model. The per-Vt arrays follow
/// [`VtFlavour::ALL`](super::VtFlavour::ALL): RVT, RVT+LVT, LVT, LVT+SLVT, SLVT.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Coefficients {
    /// Where the values come from (a fit, or first principles).
    pub source: String,
    // --- area (µm²) -------------------------------------------------------------------
    /// Area of one full-adder equivalent.
    pub fa_area_um2: f64,
    /// Full-adder equivalents of a `b × b` multiplier, per `b²`.
    pub mul_fa_per_bit2: f64,
    /// Full-adder equivalents of an `a`-bit adder, per bit.
    pub add_fa_per_bit: f64,
    pub both_mux_um2_per_bit: f64,
    pub dff_area_um2: f64,
    pub ctrl_area_um2: f64,
    pub dma_area_um2_per_bit: f64,
    pub bank_area_um2_per_bit: f64,
    /// Buffering area at `max_fanout = 32`, as a fraction of the logic.
    pub buffer_area_frac: f64,
    pub delay_strategy_area: f64,
    pub flatten_area_gain: f64,
    pub retime_area: f64,
    /// Combinational area growth at full synthesis pressure.
    pub pressure_area: f64,
    pub mean_cell_area_um2: f64,
    pub sram_area_scale: f64,
    // --- delay (ps) -------------------------------------------------------------------
    pub reg_ps: f64,
    pub mul_ps_per_bit: f64,
    pub add_ps_per_log2bit: f64,
    /// Delay of one more PE row in a tile's combinational chain (WS and BOTH).
    pub stage_ps: f64,
    /// Delay of one more PE hop in a tile (OS rows, and columns for every dataflow).
    pub hop_ps: f64,
    pub mux_ps: f64,
    pub fanout_ps: f64,
    pub delay_strategy_delay: f64,
    /// The fastest synthesis result as a fraction of the relaxed path, per ABC script.
    pub min_delay_frac_area: f64,
    pub min_delay_frac_delay: f64,
    pub flatten_delay_gain: f64,
    pub retime_delay_gain: f64,
    pub sram_path_ps: f64,
    pub periph_ps: f64,
    pub vt_delay: [f64; 5],
    // --- power --------------------------------------------------------------------------
    pub vt_leak_pw_per_um2: [f64; 5],
    pub vt_energy: [f64; 5],
    pub mac_fj_per_fa: f64,
    pub reg_clock_fj: f64,
    pub ctrl_fj_per_cycle: f64,
    /// MAC energy growth at full synthesis pressure.
    pub pressure_energy: f64,
    pub sram_energy_scale: f64,
}

impl Coefficients {
    /// The shipped calibrated coefficients.
    pub fn shipped() -> Self {
        Self::parse(SHIPPED).expect("the embedded coefficients.json parses")
    }

    /// The first-principles coefficients (the start and ridge anchor of a calibration fit).
    pub fn prior() -> Self {
        Self::parse(PRIOR).expect("the embedded coefficients_prior.json parses")
    }

    pub fn parse(json: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(json)
    }

    /// Reads a coefficients file; the error names the file.
    pub fn from_file(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Self::parse(&text)
            .map_err(|e| format!("{} is not a coefficients file: {e}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_files_parse() {
        let (fit, prior) = (Coefficients::shipped(), Coefficients::prior());
        assert!(fit.source.contains("37 flow rows"));
        assert_eq!(fit.vt_delay[4], 0.778_865_790_283_040_8);
        assert_eq!(prior.reg_ps, 100.0);
    }

    #[test]
    fn unknown_and_missing_keys_are_errors() {
        let text = SHIPPED.replacen("\"hop_ps\"", "\"hops_ps\"", 1);
        assert!(
            Coefficients::parse(&text)
                .unwrap_err()
                .to_string()
                .contains("hops_ps")
        );
    }
}
