//! The technology coefficients of the model (reference: gemmini_model/technology.py:36-47 and
//! coefficients*.json at 9201a62).
//!
//! `data/calibration/coefficients.json` is the reference implementation's fit (37 ResNet-50
//! flow rows at DIM 4–8, the reference's path terms; `docs/gemmini-model.md`), the embedded
//! default on which every benchmark ran; `coefficients-asap7-134.json` is the path-structured
//! fit to 134 flow rows at DIM 4–32 (`docs/asap7-flow.md`, "Calibration"), which a
//! `coefficients` setting selects, and `coefficients-asap7-72.json` the same model's fit to the
//! first 72 of them, which the tests of the path terms use; `coefficients_prior.json` holds the
//! first-principles values every calibration starts from. The default and the prior are
//! embedded.

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
    // Two sets of path terms add up: the reference's (`add_ps_per_log2bit`, `stage_ps`,
    // `hop_ps`, `flatten_delay_gain`, `retime_delay_gain`, one `vt_delay` per flavour) and the
    // path-structured ones fitted to the flow (issue 13; `#[serde(default)]`, 0 or absent in
    // the reference's files, which therefore give the reference model, the default). The
    // 72-row fit (`coefficients-asap7-72.json`) sets the reference terms to 0.
    /// The register's clock-to-output and setup, on every path.
    pub reg_ps: f64,
    /// The multiplier, per input bit.
    pub mul_ps_per_bit: f64,
    pub add_ps_per_log2bit: f64,
    /// The accumulator adder mapped for area (a ripple), per accumulator bit.
    #[serde(default)]
    pub add_ps_per_bit: f64,
    /// Delay of one more PE row in a tile's combinational chain (WS and BOTH).
    pub stage_ps: f64,
    /// Delay of one more PE hop in a tile (OS rows, and columns for every dataflow).
    pub hop_ps: f64,
    /// One more PE row of a WS or BOTH tile's partial-sum chain, per accumulator bit, in a
    /// flattened tile (ABC overlaps the carries of the chained adders).
    #[serde(default)]
    pub stage_ps_per_bit: f64,
    /// The same with the hierarchy kept: every PE's adder ripples on its own.
    #[serde(default)]
    pub stage_hier_ps_per_bit: f64,
    pub mux_ps: f64,
    /// The tile's input registers drive every PE of their row (and, OS and BOTH, of their
    /// column): per operand bit driven.
    #[serde(default)]
    pub fanin_ps_per_bit: f64,
    pub fanout_ps: f64,
    pub delay_strategy_delay: f64,
    /// The fastest synthesis result as a fraction of the relaxed path, per ABC script.
    pub min_delay_frac_area: f64,
    pub min_delay_frac_delay: f64,
    pub flatten_delay_gain: f64,
    pub retime_delay_gain: f64,
    /// Retiming's growth of the input fan-in term.
    #[serde(default)]
    pub retime_fanin_gain: f64,
    /// Retiming's periphery path (`dretime` leaves one register driving the skew rows), per
    /// `DIM·input_bits`.
    #[serde(default)]
    pub retime_periph_ps_per_bit: f64,
    pub sram_path_ps: f64,
    pub periph_ps: f64,
    /// Per flavour; with `mixed_fast_share`, only the pure flavours' entries are read.
    pub vt_delay: [f64; 5],
    /// The faster flavour's share `w` of a mixed flavour's delay, `slow^(1−w)·fast^w`, under
    /// the area and the delay script; absent, `vt_delay` gives the mixed flavours too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mixed_fast_share: Option<[f64; 2]>,
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
    /// The embedded default: the reference implementation's fit.
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

/// The 72-row fit, whose path-structured terms the default (the reference's fit) leaves at 0.
#[cfg(test)]
const ASAP7_FIT: &str = include_str!("../../../data/calibration/coefficients-asap7-72.json");

#[cfg(test)]
impl Coefficients {
    /// `data/calibration/coefficients-asap7-72.json`, for the tests of the path terms.
    pub(crate) fn asap7_fit() -> Self {
        Self::parse(ASAP7_FIT).expect("coefficients-asap7-72.json parses")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_files_parse() {
        let (shipped, prior) = (Coefficients::shipped(), Coefficients::prior());
        assert!(shipped.source.contains("37 flow rows"));
        assert_eq!(shipped.vt_delay[4], 0.778_865_790_283_040_8);
        assert_eq!(
            (shipped.add_ps_per_bit, shipped.mixed_fast_share),
            (0.0, None)
        );
        assert_eq!(prior.reg_ps, 100.0);
        let fit = Coefficients::asap7_fit();
        assert!(fit.source.contains("72 asap7 flow rows"));
        // slower to faster: RVT, LVT, SLVT; a mixed flavour leans to its slower cells under the
        // area script
        assert!(fit.vt_delay[0] > fit.vt_delay[2] && fit.vt_delay[2] > fit.vt_delay[4]);
        let [area, delay] = fit.mixed_fast_share.unwrap();
        assert!((0.0..=1.0).contains(&area) && (0.0..=1.0).contains(&delay) && area < delay);
    }

    #[test]
    fn unknown_and_missing_keys_are_errors() {
        let text = ASAP7_FIT.replacen("\"fanin_ps_per_bit\"", "\"fanin_ps_per_bits\"", 1);
        assert!(
            Coefficients::parse(&text)
                .unwrap_err()
                .to_string()
                .contains("fanin_ps_per_bits")
        );
    }
}
