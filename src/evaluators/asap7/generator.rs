//! Synthesizable Verilog of a Gemmini-class systolic-array datapath, rendered from the
//! templates in `rtl/` (reference: evaluators/asap7/generator.py at 9201a62, PORTING §4.1).
//!
//! Modules (fixed names, widths baked in, so one netlist holds one design):
//!
//! * `gem_pe` (`rtl/pe_{os,ws,both}.v`): one multiply-accumulate PE. OS keeps an accumulator
//!   `c` and a drain register `o`; WS keeps a weight `w` and adds the partial sum from above;
//!   BOTH shares `c` as accumulator or weight, with the muxes of both, as Gemmini's PE does.
//! * `gem_tile` (`rtl/tile.v`): `tile_rows × tile_cols` PEs chained combinationally.
//! * `gem_tile_h` (`rtl/tile_h.v`): a tile between registers, the unit the hierarchical flow
//!   maps and times once.
//! * `gem_mesh` (`rtl/mesh.v`): `mesh_rows × mesh_cols` tiles, a register on every signal
//!   between tiles (the WS preload chain skips them).
//! * `gem_periph` (`rtl/periph.v`): input skew, output register and de-skew, accumulator
//!   adders, DMA packer and slicer.
//! * `gem_top` (`rtl/top.v`): periphery plus mesh; the SRAM macros sit outside its ports.
//!
//! The structure is written with `generate` loops in the templates; Rust only substitutes the
//! `${NAME}` widths. The rendered text is part of the flow's cache key, so rendering is
//! deterministic. The block interface takes the cycles [`crate::perf::matmul_cycles`] counts
//! (checked by the iverilog test in `tests/asap7.rs`).

use std::collections::BTreeMap;

use crate::evaluators::gemmini_model::GemminiConfig;
use crate::perf::Dataflow;

const PE_OS: &str = include_str!("rtl/pe_os.v");
const PE_WS: &str = include_str!("rtl/pe_ws.v");
const PE_BOTH: &str = include_str!("rtl/pe_both.v");
const TILE: &str = include_str!("rtl/tile.v");
const TILE_H: &str = include_str!("rtl/tile_h.v");
const MESH: &str = include_str!("rtl/mesh.v");
const PERIPH: &str = include_str!("rtl/periph.v");
const TOP: &str = include_str!("rtl/top.v");

/// The module names, in the order a complete design lists them.
pub const MODULES: [&str; 6] = [
    "gem_pe",
    "gem_tile",
    "gem_tile_h",
    "gem_mesh",
    "gem_periph",
    "gem_top",
];

/// The generator's parameters of one design (names as in the Gemmini space).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    pub mesh_rows: u32,
    pub mesh_cols: u32,
    pub tile_rows: u32,
    pub tile_cols: u32,
    pub dataflow: Dataflow,
    pub input_bits: u32,
    pub acc_bits: u32,
    pub dma_bus_bits: u32,
}

impl Shape {
    /// The shape of a Gemmini configuration; an error (the design is infeasible) when the
    /// generator cannot build it: a PE array that is not square, `acc_bits < input_bits`.
    pub fn of(cfg: &GemminiConfig) -> Result<Self, String> {
        let s = Self {
            mesh_rows: cfg.mesh_rows,
            mesh_cols: cfg.mesh_cols,
            tile_rows: cfg.tile_rows,
            tile_cols: cfg.tile_cols,
            dataflow: cfg.dataflow,
            input_bits: cfg.input_bits,
            acc_bits: cfg.acc_bits,
            dma_bus_bits: cfg.dma_bus_bits,
        };
        s.check()?;
        Ok(s)
    }

    /// Why the generator cannot build this shape, if it cannot.
    pub fn check(&self) -> Result<(), String> {
        let all = [
            ("mesh_rows", self.mesh_rows),
            ("mesh_cols", self.mesh_cols),
            ("tile_rows", self.tile_rows),
            ("tile_cols", self.tile_cols),
            ("input_bits", self.input_bits),
            ("acc_bits", self.acc_bits),
            ("dma_bus_bits", self.dma_bus_bits),
        ];
        if let Some((name, v)) = all.iter().find(|(_, v)| *v < 1) {
            return Err(format!("{name} must be >= 1; got {v}"));
        }
        if self.mesh_rows * self.tile_rows != self.mesh_cols * self.tile_cols {
            return Err(format!(
                "the PE array must be square: mesh_rows·tile_rows = {} but mesh_cols·tile_cols = {}",
                self.mesh_rows * self.tile_rows,
                self.mesh_cols * self.tile_cols
            ));
        }
        if self.acc_bits < self.input_bits {
            return Err(format!(
                "acc_bits ({}) must be >= input_bits ({})",
                self.acc_bits, self.input_bits
            ));
        }
        Ok(())
    }

    /// `DIM = mesh_rows·tile_rows`.
    pub fn dim(&self) -> u32 {
        self.mesh_rows * self.tile_rows
    }

    /// Width of the vertical `b` bus: the operand in OS, the partial sum in WS and BOTH.
    pub fn b_bits(&self) -> u32 {
        if self.dataflow == Dataflow::Os {
            self.input_bits
        } else {
            self.acc_bits
        }
    }

    /// Width of the `d` chain: the OS drain (acc), the WS preload (input), BOTH shared (acc).
    pub fn d_bits(&self) -> u32 {
        if self.dataflow == Dataflow::Ws {
            self.input_bits
        } else {
            self.acc_bits
        }
    }

    /// The values the templates' `${NAME}` placeholders take.
    fn vars(&self) -> BTreeMap<&'static str, u32> {
        let dim = self.dim();
        let row = dim * self.input_bits;
        let arow = dim * self.acc_bits;
        let dma = self.dma_bus_bits;
        let beats = row.div_ceil(dma);
        let rbeats = arow.div_ceil(dma);
        let df = match self.dataflow {
            Dataflow::Os => 0,
            Dataflow::Ws => 1,
            Dataflow::Both => 2,
        };
        BTreeMap::from([
            ("R", self.mesh_rows),
            ("C", self.mesh_cols),
            ("TR", self.tile_rows),
            ("TC", self.tile_cols),
            ("DIM", dim),
            ("IB", self.input_bits),
            ("AB", self.acc_bits),
            ("BW", self.b_bits()),
            ("DW", self.d_bits()),
            ("DF", df),
            ("DMA", dma),
            ("ROW", row),
            ("AROW", arow),
            ("BEATS", beats),
            ("CW", bit_length(beats - 1).max(1)),
            ("RBEATS", rbeats),
            ("RW", bit_length(rbeats - 1).max(1)),
        ])
    }

    /// The source of one module (one of [`MODULES`]).
    pub fn module(&self, name: &str) -> String {
        let template = match name {
            "gem_pe" => match self.dataflow {
                Dataflow::Os => PE_OS,
                Dataflow::Ws => PE_WS,
                Dataflow::Both => PE_BOTH,
            },
            "gem_tile" => TILE,
            "gem_tile_h" => TILE_H,
            "gem_mesh" => MESH,
            "gem_periph" => PERIPH,
            "gem_top" => TOP,
            other => panic!("no module {other}"),
        };
        render(template, &self.vars())
    }

    /// The named modules' sources, concatenated under a header naming the shape.
    pub fn verilog(&self, modules: &[&str]) -> String {
        let mut out = format!("// generated by diffuse-dse (asap7 evaluator): {self:?}\n");
        for m in modules {
            out.push_str(&self.module(m));
        }
        out
    }
}

/// The number of bits `v` needs (`0` for `0`).
fn bit_length(v: u32) -> u32 {
    32 - v.leading_zeros()
}

/// `template` with every `${NAME}` replaced by `vars[NAME]`. Panics on a name `vars` lacks:
/// the templates are part of the program, so that is a bug, caught by the tests.
pub fn render<V: std::fmt::Display>(template: &str, vars: &BTreeMap<&str, V>) -> String {
    let mut out = String::with_capacity(template.len() + 256);
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').expect("a closed ${NAME} in a template");
        let name = &after[..end];
        let value = vars
            .get(name)
            .unwrap_or_else(|| panic!("template placeholder ${{{name}}} has no value"));
        out.push_str(&value.to_string());
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(dataflow: Dataflow) -> Shape {
        Shape::of(&GemminiConfig {
            dataflow,
            ..GemminiConfig::default()
        })
        .unwrap()
    }

    #[test]
    fn every_module_renders_without_placeholders_left() {
        for df in Dataflow::ALL {
            let s = shape(df);
            let text = s.verilog(&MODULES);
            assert!(!text.contains("${"), "{df:?}");
            for m in MODULES {
                assert!(text.contains(&format!("module {m} (")), "{m}");
            }
        }
        // 16 × 8 = 128 bits, written as ${ROW}-1
        assert!(
            shape(Dataflow::Both)
                .module("gem_periph")
                .contains("input [128-1:0] sp_rdata_a")
        );
    }

    #[test]
    fn widths_follow_the_dataflow() {
        assert_eq!(
            (shape(Dataflow::Os).b_bits(), shape(Dataflow::Os).d_bits()),
            (8, 32)
        );
        assert_eq!(
            (shape(Dataflow::Ws).b_bits(), shape(Dataflow::Ws).d_bits()),
            (32, 8)
        );
        let v = shape(Dataflow::Both).vars();
        assert_eq!((v["BEATS"], v["CW"], v["RBEATS"], v["RW"]), (1, 1, 4, 2));
    }

    #[test]
    fn shapes_the_generator_cannot_build_are_refused() {
        let cfg = GemminiConfig {
            mesh_cols: 8,
            ..GemminiConfig::default()
        };
        assert!(Shape::of(&cfg).unwrap_err().contains("square"));
        let cfg = GemminiConfig {
            input_bits: 16,
            acc_bits: 8,
            ..GemminiConfig::default()
        };
        assert!(Shape::of(&cfg).unwrap_err().contains("acc_bits"));
    }

    #[test]
    fn rendering_substitutes_and_is_deterministic() {
        let vars = BTreeMap::from([("A", 3), ("BC", 14)]);
        assert_eq!(render("x${A}y${BC}-${A}", &vars), "x3y14-3");
        assert_eq!(
            shape(Dataflow::Os).verilog(&MODULES),
            shape(Dataflow::Os).verilog(&MODULES)
        );
    }
}
