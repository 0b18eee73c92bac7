//! The flow of one design: generate, synthesize, time, cache, compose (reference:
//! evaluators/asap7/flow.py at 9201a62, PORTING §4.2, §4.4, §4.5).
//!
//! Hierarchical mode maps two units and composes the array from them:
//!
//! * the *slice*: `gem_tile_h` (a tile between registers), with `gem_tile` kept as its own
//!   module. Its register-to-register path is the mesh's;
//! * the *periphery*: `gem_periph` (skew, de-skew, output registers, accumulator adders, DMA).
//!
//! ```text
//! a_bits = tr·input_bits + 1;  bd_bits = tc·(b_bits + d_bits)
//! mesh_bits = R(C−1)·a_bits + (R−1)C·bd_bits;  per_bit = 1/(2(a_bits + bd_bits))
//! X = R·C·X_tile + (X_harness − X_tile)·per_bit·mesh_bits + X_periph
//!     for area, cells, leakage and power at each activity
//! crit = max(crit_harness, crit_periph)
//! ```
//!
//! (the harness's registers per bit, times the register bits the mesh really has between
//! tiles). Flat mode maps `gem_top` whole, for spot checks. Both units run at once, one Yosys
//! each. Every unit's result is cached in `<cache_dir>/results/<unit>-<key>.json`, the key the
//! SHA-256 of its Verilog text, the EDA knobs, the scripts, the liberty files' SHA-256 and both
//! tools' versions; a hit runs no tool.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::generator::Shape;
use super::opensta::{self, TopReport};
use super::pdk::{self, Liberty, Pdk};
use super::tool::Tool;
use super::yosys::{self, SynthOptions};
use crate::evaluators::gemmini_model::VtFlavour;
use crate::evaluators::{Cancel, EvalError};

/// Bumped when the flow changes what a unit's result means.
const FLOW_VERSION: u32 = 4;

/// A synthesis unit: the top Yosys maps, modules kept apart, the tops OpenSTA times and the
/// modules its Verilog holds.
#[derive(Clone, Copy, Debug)]
pub struct Unit {
    pub name: &'static str,
    pub top: &'static str,
    pub keep: &'static [&'static str],
    pub sta_tops: &'static [&'static str],
    pub modules: &'static [&'static str],
}

pub const SLICE: Unit = Unit {
    name: "slice",
    top: "gem_tile_h",
    keep: &["gem_tile"],
    sta_tops: &["gem_tile", "gem_tile_h"],
    modules: &["gem_pe", "gem_tile", "gem_tile_h"],
};
pub const PERIPH: Unit = Unit {
    name: "periph",
    top: "gem_periph",
    keep: &[],
    sta_tops: &["gem_periph"],
    modules: &["gem_periph"],
};
pub const TOP: Unit = Unit {
    name: "top",
    top: "gem_top",
    keep: &[],
    sta_tops: &["gem_top"],
    modules: &["gem_pe", "gem_tile", "gem_mesh", "gem_periph", "gem_top"],
};

/// The QoR of one timed top.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TopQor {
    pub area_um2: f64,
    pub cells: f64,
    pub crit_ps: f64,
    pub wns_ps: f64,
    /// Total power (mW) at each of [`opensta::ACTIVITIES`], at the target clock.
    pub power_mw: [f64; 2],
    pub leakage_mw: f64,
}

/// One unit's result, as cached.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UnitResult {
    pub unit: String,
    pub key: String,
    pub tops: BTreeMap<String, TopQor>,
    /// Wall-clock seconds of the tool runs that made it.
    pub tool_seconds: f64,
}

/// The composed logic QoR of a design.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Logic {
    pub area_um2: f64,
    pub cells: f64,
    pub crit_ps: f64,
    pub wns_ps: f64,
    pub leakage_mw: f64,
    pub power_mw: [f64; 2],
    /// Whether every unit came from the cache.
    pub cached: bool,
}

/// The tools and folders of the flow.
#[derive(Clone, Debug)]
pub struct Flow {
    pub pdk: Pdk,
    pub cache_dir: PathBuf,
    pub yosys: Tool,
    pub sta: Tool,
    /// The most one tool run may take.
    pub tool_timeout: Duration,
}

/// Where a unit's run of one design lives: its folder and its files, named after the unit.
pub struct UnitFiles {
    pub dir: PathBuf,
    pub key: String,
}

impl Flow {
    /// The cache key of `unit` for `shape` and `opts`, and the unit's Verilog.
    pub fn key(
        &self,
        unit: &Unit,
        shape: &Shape,
        opts: &SynthOptions,
    ) -> Result<(String, String), EvalError> {
        let verilog = shape.verilog(unit.modules);
        let flavour = flavour(opts)?;
        let (hashes, names) = Liberty::fingerprint(&self.pdk, flavour)?;
        let data = serde_json::json!({
            "flow": FLOW_VERSION,
            "unit": unit.name,
            "verilog": verilog,
            "eda": opts,
            "liberty": names.iter().zip(&hashes).map(|(n, h)| format!("{n}:{h}")).collect::<Vec<_>>(),
            "scripts": [yosys_templates(), opensta::SCRIPT],
            "yosys": self.yosys.version,
            "sta": self.sta.version,
        });
        let key = pdk::hex(&Sha256::digest(data.to_string().as_bytes()))[..24].to_string();
        Ok((key, verilog))
    }

    fn cache_file(&self, unit: &Unit, key: &str) -> PathBuf {
        self.cache_dir
            .join("results")
            .join(format!("{}-{key}.json", unit.name))
    }

    /// The cached result of `unit`, if there is one.
    pub fn cached(&self, unit: &Unit, key: &str) -> Option<UnitResult> {
        let text = std::fs::read_to_string(self.cache_file(unit, key)).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Write the Verilog and the scripts of `unit` into `dir` (what a replay re-runs by hand);
    /// returns the merged liberty used.
    pub fn write_unit(
        &self,
        unit: &Unit,
        verilog: &str,
        opts: &SynthOptions,
        dir: &Path,
    ) -> Result<Liberty, EvalError> {
        let lib = Liberty::prepare(&self.pdk, flavour(opts)?, &self.cache_dir)?;
        std::fs::create_dir_all(dir).map_err(|e| {
            EvalError::Failed(format!("asap7: cannot create {}: {e}", dir.display()))
        })?;
        let lib_path = lib.merged.display().to_string();
        let design = format!("{}.v", unit.name);
        let s = yosys::scripts(
            &design, unit.top, unit.keep, &lib, &lib_path, opts, unit.name,
        );
        let netlist = format!("{}.net.v", unit.name);
        let files = [
            (design.clone(), verilog.to_string()),
            (format!("{}.ys", unit.name), s.ys),
            (format!("{}.abc", unit.name), s.abc),
            ("sta.tcl".to_string(), opensta::SCRIPT.to_string()),
            (
                "sta_vars.tcl".to_string(),
                opensta::vars(
                    std::slice::from_ref(&lib_path),
                    &netlist,
                    unit.sta_tops,
                    opts.clock_ps,
                    &lib.drive_cell,
                ),
            ),
        ];
        for (name, text) in files {
            std::fs::write(dir.join(&name), text).map_err(|e| {
                EvalError::Failed(format!(
                    "asap7: cannot write {}: {e}",
                    dir.join(&name).display()
                ))
            })?;
        }
        Ok(lib)
    }

    /// The result of `unit`: from the cache, or from Yosys and OpenSTA run in `dir`.
    /// Returns it and whether it came from the cache.
    pub fn unit(
        &self,
        unit: &Unit,
        shape: &Shape,
        opts: &SynthOptions,
        dir: &Path,
        deadline: Instant,
        cancel: &Cancel,
    ) -> Result<(UnitResult, bool), EvalError> {
        let (key, verilog) = self.key(unit, shape, opts)?;
        if let Some(hit) = self.cached(unit, &key) {
            return Ok((hit, true));
        }
        let start = Instant::now();
        let lib = self.write_unit(unit, &verilog, opts, dir)?;
        let left = |now: Instant| {
            deadline
                .saturating_duration_since(now)
                .min(self.tool_timeout)
        };
        let stats = yosys::synthesize(
            &self.yosys,
            dir,
            unit.name,
            &lib,
            left(Instant::now()),
            cancel,
        )?;
        let timing = opensta::analyze(
            &self.sta,
            dir,
            unit.name,
            unit.sta_tops,
            left(Instant::now()),
            cancel,
        )?;
        let result = unit_result(
            unit,
            opts,
            &key,
            &stats,
            &timing,
            start.elapsed().as_secs_f64(),
        );
        let text = serde_json::to_string_pretty(&result).expect("a result serializes");
        pdk::write_atomic(&self.cache_file(unit, &key), text.as_bytes())?;
        // Use what the cache holds (JSON parsing may differ from the f64 in the last bit), so
        // that a fresh run and a later cache hit give bit-identical metrics.
        let result = serde_json::from_str(&text).expect("a result parses back");
        Ok((result, false))
    }

    /// The standard-cell logic of the design: composed from the slice and the periphery
    /// (hierarchical, run side by side) or mapped whole (flat). Runs in `workdir/<unit>/`.
    pub fn logic(
        &self,
        shape: &Shape,
        opts: &SynthOptions,
        flat: bool,
        workdir: &Path,
        deadline: Instant,
        cancel: &Cancel,
    ) -> Result<Logic, EvalError> {
        if flat {
            let (u, cached) =
                self.unit(&TOP, shape, opts, &workdir.join("top"), deadline, cancel)?;
            return Ok(logic_of(shape, opts, &[u], cached));
        }
        let (slice, periph) = std::thread::scope(|s| {
            let p = s.spawn(|| {
                self.unit(
                    &PERIPH,
                    shape,
                    opts,
                    &workdir.join("periph"),
                    deadline,
                    cancel,
                )
            });
            let sl = self.unit(
                &SLICE,
                shape,
                opts,
                &workdir.join("slice"),
                deadline,
                cancel,
            );
            (sl, p.join().expect("the periphery's thread does not panic"))
        });
        let ((slice, c1), (periph, c2)) = (slice?, periph?);
        Ok(compose(shape, opts, &slice, &periph, c1 && c2))
    }
}

/// A unit's result from its Yosys statistics and OpenSTA reports.
pub fn unit_result(
    unit: &Unit,
    opts: &SynthOptions,
    key: &str,
    stats: &BTreeMap<String, yosys::ModuleStat>,
    timing: &BTreeMap<String, TopReport>,
    seconds: f64,
) -> UnitResult {
    let mut tops = BTreeMap::new();
    for top in unit.sta_tops {
        let r = &timing[*top];
        tops.insert(
            top.to_string(),
            TopQor {
                area_um2: yosys::total(stats, top, true),
                cells: yosys::total(stats, top, false),
                crit_ps: opts.clock_ps - r.wns_ps,
                wns_ps: r.wns_ps,
                power_mw: [1e3 * r.power_w[0], 1e3 * r.power_w[1]],
                leakage_mw: 1e3 * r.leakage_w,
            },
        );
    }
    UnitResult {
        unit: unit.name.to_string(),
        key: key.to_string(),
        tops,
        tool_seconds: seconds,
    }
}

/// The units of a design: the slice and the periphery, or the whole top (flat).
pub fn units(flat: bool) -> &'static [Unit] {
    if flat { &[TOP] } else { &[SLICE, PERIPH] }
}

/// The logic of a design from its units' results (in the order of [`units`]).
pub fn logic_of(shape: &Shape, opts: &SynthOptions, results: &[UnitResult], cached: bool) -> Logic {
    match results {
        [top] => {
            let t = &top.tops["gem_top"];
            Logic {
                area_um2: t.area_um2,
                cells: t.cells,
                crit_ps: t.crit_ps,
                wns_ps: t.wns_ps,
                leakage_mw: t.leakage_mw,
                power_mw: t.power_mw,
                cached,
            }
        }
        [slice, periph] => compose(shape, opts, slice, periph, cached),
        _ => panic!("a design has one or two units"),
    }
}

/// The hierarchical composition of the module doc.
pub fn compose(
    shape: &Shape,
    opts: &SynthOptions,
    slice: &UnitResult,
    periph: &UnitResult,
    cached: bool,
) -> Logic {
    let tile = &slice.tops["gem_tile"];
    let harness = &slice.tops["gem_tile_h"];
    let per = &periph.tops["gem_periph"];
    let (r, c) = (f64::from(shape.mesh_rows), f64::from(shape.mesh_cols));
    let a_bits = f64::from(shape.tile_rows * shape.input_bits + 1);
    let bd_bits = f64::from(shape.tile_cols * (shape.b_bits() + shape.d_bits()));
    let mesh_bits = r * (c - 1.0) * a_bits + (r - 1.0) * c * bd_bits;
    let per_bit = 1.0 / (2.0 * (a_bits + bd_bits));
    let mix = |t: f64, h: f64, q: f64| r * c * t + (h - t) * per_bit * mesh_bits + q;
    let crit = harness.crit_ps.max(per.crit_ps);
    Logic {
        area_um2: mix(tile.area_um2, harness.area_um2, per.area_um2),
        cells: mix(tile.cells, harness.cells, per.cells),
        crit_ps: crit,
        wns_ps: opts.clock_ps - crit,
        leakage_mw: mix(tile.leakage_mw, harness.leakage_mw, per.leakage_mw),
        power_mw: [
            mix(tile.power_mw[0], harness.power_mw[0], per.power_mw[0]),
            mix(tile.power_mw[1], harness.power_mw[1], per.power_mw[1]),
        ],
        cached,
    }
}

fn flavour(opts: &SynthOptions) -> Result<VtFlavour, EvalError> {
    VtFlavour::from_name(&opts.vt_flavour).ok_or_else(|| {
        EvalError::Failed(format!("asap7: unknown vt_flavour {:?}", opts.vt_flavour))
    })
}

/// The Yosys-side script templates, for the cache key.
fn yosys_templates() -> String {
    [
        include_str!("scripts/synth.ys"),
        include_str!("scripts/abc_area.abc"),
        include_str!("scripts/abc_delay.abc"),
    ]
    .concat()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perf::Dataflow;

    fn top(area: f64, crit: f64) -> TopQor {
        TopQor {
            area_um2: area,
            cells: area,
            crit_ps: crit,
            wns_ps: 1000.0 - crit,
            power_mw: [area, 2.0 * area],
            leakage_mw: area / 10.0,
        }
    }

    #[test]
    fn composition_counts_tiles_boundary_registers_and_the_periphery() {
        let shape = Shape {
            mesh_rows: 2,
            mesh_cols: 2,
            tile_rows: 1,
            tile_cols: 1,
            dataflow: Dataflow::Os,
            input_bits: 8,
            acc_bits: 32,
            dma_bus_bits: 64,
        };
        let slice = UnitResult {
            unit: "slice".into(),
            key: String::new(),
            tops: BTreeMap::from([
                ("gem_tile".into(), top(100.0, 900.0)),
                ("gem_tile_h".into(), top(180.0, 950.0)),
            ]),
            tool_seconds: 0.0,
        };
        let periph = UnitResult {
            unit: "periph".into(),
            key: String::new(),
            tops: BTreeMap::from([("gem_periph".into(), top(50.0, 1200.0))]),
            tool_seconds: 0.0,
        };
        let opts = SynthOptions::of(&crate::evaluators::gemmini_model::GemminiConfig::default());
        let l = compose(&shape, &opts, &slice, &periph, false);
        // a_bits 9, bd_bits 8 + 32 = 40; mesh bits 2·1·9 + 1·2·40 = 98; per bit 1/98: so the
        // mesh holds exactly one harness's worth of boundary registers
        assert!(
            (l.area_um2 - (4.0 * 100.0 + 80.0 + 50.0)).abs() < 1e-9,
            "{}",
            l.area_um2
        );
        assert_eq!((l.crit_ps, l.wns_ps), (1200.0, -200.0));
    }
}
