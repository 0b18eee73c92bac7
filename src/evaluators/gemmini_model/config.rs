//! One Gemmini design point: the 19 parameters of the example space (PORTING §1.3), read from
//! a [`Design`] with Gemmini's `defaultConfig` for whatever the design leaves out (as the
//! reference's DEFAULTS did).

use crate::evaluators::EvalError;
use crate::perf::{ArrayShape, Dataflow, PerfConfig};
use crate::space::{Design, Value};

/// The threshold-voltage mix the cells are drawn from, slowest and least leaky first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VtFlavour {
    Rvt,
    RvtLvt,
    Lvt,
    LvtSlvt,
    Slvt,
}

impl VtFlavour {
    pub const ALL: [VtFlavour; 5] = [
        VtFlavour::Rvt,
        VtFlavour::RvtLvt,
        VtFlavour::Lvt,
        VtFlavour::LvtSlvt,
        VtFlavour::Slvt,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            VtFlavour::Rvt => "RVT",
            VtFlavour::RvtLvt => "RVT+LVT",
            VtFlavour::Lvt => "LVT",
            VtFlavour::LvtSlvt => "LVT+SLVT",
            VtFlavour::Slvt => "SLVT",
        }
    }

    /// The position in [`Self::ALL`], which indexes the per-Vt coefficient arrays.
    pub fn index(self) -> usize {
        self as usize
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == name)
    }
}

/// The ABC script synthesis runs: area-oriented or delay-oriented.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SynthStrategy {
    Area,
    Delay,
}

impl SynthStrategy {
    pub fn as_str(self) -> &'static str {
        match self {
            SynthStrategy::Area => "area",
            SynthStrategy::Delay => "delay",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [SynthStrategy::Area, SynthStrategy::Delay]
            .into_iter()
            .find(|s| s.as_str() == name)
    }
}

/// The hardware (`mesh_rows` … `dma_bus_bits`) and EDA (`clock_ps` … `max_fanout`) parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GemminiConfig {
    pub mesh_rows: u32,
    pub mesh_cols: u32,
    pub tile_rows: u32,
    pub tile_cols: u32,
    pub dataflow: Dataflow,
    pub input_bits: u32,
    pub acc_bits: u32,
    pub sp_capacity_kib: u32,
    pub sp_banks: u32,
    pub acc_capacity_kib: u32,
    pub acc_banks: u32,
    pub dma_bus_bits: u32,
    pub clock_ps: f64,
    pub vt_flavour: VtFlavour,
    pub synth_strategy: SynthStrategy,
    pub abc_delay_ratio: f64,
    pub flatten: bool,
    pub retime: bool,
    pub max_fanout: u32,
}

impl Default for GemminiConfig {
    /// Gemmini's `defaultConfig`: a 16×16 mesh of 1×1 tiles, both dataflows, int8 inputs and
    /// int32 accumulators, 256 KiB scratchpad in 4 banks, 64 KiB accumulator in 2, a 128-bit
    /// DMA bus; 1 ns clock, RVT cells, the area script, flattened, not retimed, fanout 32.
    fn default() -> Self {
        Self {
            mesh_rows: 16,
            mesh_cols: 16,
            tile_rows: 1,
            tile_cols: 1,
            dataflow: Dataflow::Both,
            input_bits: 8,
            acc_bits: 32,
            sp_capacity_kib: 256,
            sp_banks: 4,
            acc_capacity_kib: 64,
            acc_banks: 2,
            dma_bus_bits: 128,
            clock_ps: 1000.0,
            vt_flavour: VtFlavour::Rvt,
            synth_strategy: SynthStrategy::Area,
            abc_delay_ratio: 1.0,
            flatten: true,
            retime: false,
            max_fanout: 32,
        }
    }
}

/// The largest integer parameter accepted: it keeps every product of the model exact.
const MAX_INT: i64 = 1 << 16;

/// The parameters [`GemminiConfig::from_design`] reads, in field order.
pub const FIELDS: [&str; 19] = [
    "mesh_rows",
    "mesh_cols",
    "tile_rows",
    "tile_cols",
    "dataflow",
    "input_bits",
    "acc_bits",
    "sp_capacity_kib",
    "sp_banks",
    "acc_capacity_kib",
    "acc_banks",
    "dma_bus_bits",
    "clock_ps",
    "vt_flavour",
    "synth_strategy",
    "abc_delay_ratio",
    "flatten",
    "retime",
    "max_fanout",
];

impl GemminiConfig {
    /// Copy one field (an index into [`FIELDS`]) from `from`: lets a grid walk combine a
    /// hardware configuration with EDA settings without going through a [`Design`] each time.
    pub fn copy_field(&mut self, from: &Self, field: usize) {
        match field {
            0 => self.mesh_rows = from.mesh_rows,
            1 => self.mesh_cols = from.mesh_cols,
            2 => self.tile_rows = from.tile_rows,
            3 => self.tile_cols = from.tile_cols,
            4 => self.dataflow = from.dataflow,
            5 => self.input_bits = from.input_bits,
            6 => self.acc_bits = from.acc_bits,
            7 => self.sp_capacity_kib = from.sp_capacity_kib,
            8 => self.sp_banks = from.sp_banks,
            9 => self.acc_capacity_kib = from.acc_capacity_kib,
            10 => self.acc_banks = from.acc_banks,
            11 => self.dma_bus_bits = from.dma_bus_bits,
            12 => self.clock_ps = from.clock_ps,
            13 => self.vt_flavour = from.vt_flavour,
            14 => self.synth_strategy = from.synth_strategy,
            15 => self.abc_delay_ratio = from.abc_delay_ratio,
            16 => self.flatten = from.flatten,
            17 => self.retime = from.retime,
            18 => self.max_fanout = from.max_fanout,
            _ => panic!("GemminiConfig has {} fields, not {field}", FIELDS.len()),
        }
    }

    /// Reads the parameters of `design`; a missing one takes its default. Integers may be given
    /// as whole floats; flags as booleans (or the strings `true`/`false`).
    ///
    /// Errors: a present value of the wrong type or out of range (integers in `1..=65536`,
    /// `clock_ps` and `abc_delay_ratio` finite and `> 0`, names from their lists) is
    /// [`EvalError::Failed`] naming the parameter and the value.
    pub fn from_design(design: &Design) -> Result<Self, EvalError> {
        let d = Self::default();
        let int = |name: &str, default: u32| {
            read(
                design,
                name,
                default,
                |v| {
                    v.as_i64()
                        .filter(|i| (1..=MAX_INT).contains(i))
                        .map(|i| i as u32)
                },
                "an integer in 1..=65536",
            )
        };
        let positive = |name: &str, default: f64| {
            read(
                design,
                name,
                default,
                |v| v.as_f64().filter(|x| x.is_finite() && *x > 0.0),
                "a finite number > 0",
            )
        };
        let flag =
            |name: &str, default: bool| read(design, name, default, as_flag, "true or false");
        Ok(Self {
            mesh_rows: int("mesh_rows", d.mesh_rows)?,
            mesh_cols: int("mesh_cols", d.mesh_cols)?,
            tile_rows: int("tile_rows", d.tile_rows)?,
            tile_cols: int("tile_cols", d.tile_cols)?,
            dataflow: read(
                design,
                "dataflow",
                d.dataflow,
                |v| v.as_str().and_then(Dataflow::from_name),
                "one of OS, WS, BOTH",
            )?,
            input_bits: int("input_bits", d.input_bits)?,
            acc_bits: int("acc_bits", d.acc_bits)?,
            sp_capacity_kib: int("sp_capacity_kib", d.sp_capacity_kib)?,
            sp_banks: int("sp_banks", d.sp_banks)?,
            acc_capacity_kib: int("acc_capacity_kib", d.acc_capacity_kib)?,
            acc_banks: int("acc_banks", d.acc_banks)?,
            dma_bus_bits: int("dma_bus_bits", d.dma_bus_bits)?,
            clock_ps: positive("clock_ps", d.clock_ps)?,
            vt_flavour: read(
                design,
                "vt_flavour",
                d.vt_flavour,
                |v| v.as_str().and_then(VtFlavour::from_name),
                "one of RVT, RVT+LVT, LVT, LVT+SLVT, SLVT",
            )?,
            synth_strategy: read(
                design,
                "synth_strategy",
                d.synth_strategy,
                |v| v.as_str().and_then(SynthStrategy::from_name),
                "area or delay",
            )?,
            abc_delay_ratio: positive("abc_delay_ratio", d.abc_delay_ratio)?,
            flatten: flag("flatten", d.flatten)?,
            retime: flag("retime", d.retime)?,
            max_fanout: int("max_fanout", d.max_fanout)?,
        })
    }

    /// The array shape.
    pub fn shape(&self) -> ArrayShape {
        ArrayShape {
            mesh_rows: self.mesh_rows,
            mesh_cols: self.mesh_cols,
            tile_rows: self.tile_rows,
            tile_cols: self.tile_cols,
        }
    }

    /// `DIM = mesh_rows·tile_rows`.
    pub fn dim(&self) -> u64 {
        self.shape().dim()
    }

    /// What the performance model reads.
    pub fn perf_config(&self) -> PerfConfig {
        PerfConfig {
            shape: self.shape(),
            dataflow: self.dataflow,
            input_bits: self.input_bits,
            acc_bits: self.acc_bits,
            sp_capacity_kib: self.sp_capacity_kib,
            acc_capacity_kib: self.acc_capacity_kib,
            dma_bus_bits: self.dma_bus_bits,
        }
    }
}

fn as_flag(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::Str(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::Str(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// A value as a person wrote it: strings quoted, so that `'8'` and `8` read differently.
fn shown(value: &Value) -> String {
    match value {
        Value::Str(s) => format!("'{s}'"),
        other => other.to_string(),
    }
}

/// `design[name]` converted by `convert`, `default` when absent, an error naming the parameter,
/// the value and `expected` when present but not convertible.
fn read<T>(
    design: &Design,
    name: &str,
    default: T,
    convert: impl Fn(&Value) -> Option<T>,
    expected: &str,
) -> Result<T, EvalError> {
    match design.get(name) {
        None => Ok(default),
        Some(value) => convert(value).ok_or_else(|| {
            EvalError::Failed(format!(
                "gemmini-model: parameter {name} must be {expected}. Got {}.",
                shown(value)
            ))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn design(pairs: &[(&str, Value)]) -> Design {
        let mut d = Design::default();
        for (name, value) in pairs {
            d.set(name, value.clone());
        }
        d
    }

    #[test]
    fn an_empty_design_is_the_default() {
        assert_eq!(
            GemminiConfig::from_design(&Design::default()).unwrap(),
            GemminiConfig::default()
        );
    }

    #[test]
    fn values_are_read_and_whole_floats_accepted() {
        let d = design(&[
            ("mesh_rows", Value::Float(8.0)),
            ("dataflow", Value::Str("WS".into())),
            ("vt_flavour", Value::Str("LVT+SLVT".into())),
            ("clock_ps", Value::Int(750)),
            ("retime", Value::Bool(true)),
            ("flatten", Value::Str("False".into())),
        ]);
        let c = GemminiConfig::from_design(&d).unwrap();
        assert_eq!(
            (c.mesh_rows, c.dataflow, c.vt_flavour),
            (8, Dataflow::Ws, VtFlavour::LvtSlvt)
        );
        assert_eq!((c.clock_ps, c.retime, c.flatten), (750.0, true, false));
    }

    #[test]
    fn wrong_types_and_ranges_name_the_parameter_and_value() {
        for (name, value, needle) in [
            (
                "mesh_rows",
                Value::Float(2.5),
                "mesh_rows must be an integer in 1..=65536. Got 2.5.",
            ),
            (
                "tile_cols",
                Value::Int(0),
                "tile_cols must be an integer in 1..=65536. Got 0.",
            ),
            ("dataflow", Value::Str("RS".into()), "Got 'RS'."),
            ("clock_ps", Value::Float(f64::NAN), "clock_ps"),
            ("flatten", Value::Int(1), "flatten"),
            ("input_bits", Value::Str("8".into()), "Got '8'."),
        ] {
            let err = GemminiConfig::from_design(&design(&[(name, value)])).unwrap_err();
            assert!(
                matches!(&err, EvalError::Failed(m) if m.contains(needle)),
                "{err}"
            );
        }
    }
}
