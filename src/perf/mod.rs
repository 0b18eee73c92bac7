//! Cycles and memory traffic of a DNN workload on a Gemmini-class accelerator, shared by the
//! analytical model and the ASAP7 flow (reference: perf/performance.py:87-121 at 9201a62).
//!
//! Per layer, with the tabulated terms of [`layer_costs`], the exposed fill/drain
//! `f = matmul_cycles(DIM block) − DIM` of [`array`](mod@array) and `x = 1/bw` cycles per byte:
//!
//! ```text
//! bw   = min(dma_bus_bits/8, dram_gbps·period_ps/1000)     bytes per cycle
//! OS:  cycles = stream + tiles·f + dram·x                   single-buffered: DMA serializes
//! WS:  cycles = max(stream + tiles·f, dram·x) + prologue·x  double-buffered: DMA overlaps
//! BOTH: per layer WS if cycles_WS <= cycles_OS else OS      (as Gemmini's software can)
//! ```
//!
//! The workload's cycles are the sum over layers, utilization is `MACs/(cycles·DIM²)`, and the
//! byte counters are those of the chosen dataflow. Bank counts do not enter (there is no
//! bank-conflict model). [`PerfModel::run_layers`] gives the same sum layer by layer
//! (`docs/cycle-model.md` compares it with SCALE-Sim).

pub mod array;
pub mod layer_costs;
pub mod memo;
pub mod tiling;

pub use array::{ArrayShape, BlockDataflow, exposed_fill_cycles, matmul_cycles};
pub use layer_costs::{LayerCostTable, LayerTerms, MemoryKey};
pub use tiling::{Tiles, tiled_matmul_auto};

use crate::workloads::Workload;

/// The dataflows a design can be built for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dataflow {
    Os,
    Ws,
    /// Both datapaths; the software picks the faster one per layer.
    Both,
}

impl Dataflow {
    pub const ALL: [Dataflow; 3] = [Dataflow::Os, Dataflow::Ws, Dataflow::Both];

    /// The name used in configs and results: `OS`, `WS` or `BOTH`.
    pub fn as_str(self) -> &'static str {
        match self {
            Dataflow::Os => "OS",
            Dataflow::Ws => "WS",
            Dataflow::Both => "BOTH",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == name)
    }
}

/// The hardware parameters the performance model reads.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PerfConfig {
    pub shape: ArrayShape,
    pub dataflow: Dataflow,
    pub input_bits: u32,
    pub acc_bits: u32,
    pub sp_capacity_kib: u32,
    pub acc_capacity_kib: u32,
    pub dma_bus_bits: u32,
}

impl PerfConfig {
    pub fn memory_key(&self) -> MemoryKey {
        MemoryKey {
            dim: self.shape.dim(),
            input_bits: self.input_bits,
            acc_bits: self.acc_bits,
            sp_capacity_kib: self.sp_capacity_kib,
            acc_capacity_kib: self.acc_capacity_kib,
        }
    }
}

/// A workload's run on one configuration.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PerfResult {
    /// Clock cycles per inference.
    pub cycles: f64,
    /// Multiply-accumulates per inference.
    pub macs: f64,
    /// `macs/(cycles·DIM²)`, in `[0, 1]`.
    pub utilization: f64,
    /// Bytes moved between DRAM and the scratchpad/accumulator.
    pub dram_bytes: f64,
    pub sp_read_bytes: f64,
    pub sp_write_bytes: f64,
    pub acc_read_bytes: f64,
    pub acc_write_bytes: f64,
}

/// The performance model of one workload at one DRAM bandwidth, with its table of layer terms.
#[derive(Debug)]
pub struct PerfModel {
    table: LayerCostTable,
    macs: f64,
    dram_gbps: f64,
}

impl PerfModel {
    pub fn new(workload: &'static Workload, dram_gbps: f64) -> Self {
        Self {
            table: LayerCostTable::new(workload),
            macs: workload.macs() as f64,
            dram_gbps,
        }
    }

    pub fn workload(&self) -> &'static Workload {
        self.table.workload()
    }

    /// The table of layer terms (filled as configurations are run).
    pub fn table(&self) -> &LayerCostTable {
        &self.table
    }

    /// Runs the workload on `cfg` clocked at `period_ps` (the period sets the DRAM bytes per
    /// cycle). Allocates only the first time a memory configuration is seen.
    pub fn run(&self, cfg: &PerfConfig, period_ps: f64) -> PerfResult {
        let fill = exposed_fill_cycles(cfg.shape) as f64;
        let x = 1.0 / self.bytes_per_cycle(cfg, period_ps);
        let mut out = PerfResult {
            macs: self.macs,
            ..PerfResult::default()
        };
        self.table.with_terms(&cfg.memory_key(), |terms| {
            for pair in terms {
                let (_, t, cycles) = choose(pair, cfg.dataflow, fill, x);
                out.cycles += cycles;
                out.dram_bytes += t.dram;
                out.sp_read_bytes += t.sp_read;
                out.sp_write_bytes += t.sp_write;
                out.acc_read_bytes += t.acc_read;
                out.acc_write_bytes += t.acc_write;
            }
        });
        let dim = cfg.shape.dim() as f64;
        out.utilization = self.macs / (out.cycles * dim * dim);
        out
    }

    /// [`run`](Self::run) layer by layer, in the workload's order: each layer's dataflow,
    /// cycles and terms. The cycles sum to `run(cfg, period_ps).cycles`.
    pub fn run_layers(&self, cfg: &PerfConfig, period_ps: f64) -> Vec<LayerRun> {
        let fill = exposed_fill_cycles(cfg.shape) as f64;
        let bytes_per_cycle = self.bytes_per_cycle(cfg, period_ps);
        let x = 1.0 / bytes_per_cycle;
        self.table.with_terms(&cfg.memory_key(), |terms| {
            terms
                .iter()
                .map(|pair| {
                    let (dataflow, terms, cycles) = choose(pair, cfg.dataflow, fill, x);
                    LayerRun {
                        dataflow,
                        cycles,
                        array_cycles: terms.stream + terms.tiles * fill,
                        fill_cycles: fill,
                        bytes_per_cycle,
                        terms,
                    }
                })
                .collect()
        })
    }

    /// DRAM bytes per cycle: `min(dma_bus_bits/8, dram_gbps·period_ps/1000)`.
    pub fn bytes_per_cycle(&self, cfg: &PerfConfig, period_ps: f64) -> f64 {
        (f64::from(cfg.dma_bus_bits) / 8.0).min(self.dram_gbps * period_ps / 1000.0)
    }
}

/// One layer's part of a run (all of its `groups·count` GEMMs).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LayerRun {
    /// The dataflow the layer runs with (`BOTH` picks the faster).
    pub dataflow: BlockDataflow,
    /// The layer's cycles, DRAM included: the formula of the module doc.
    pub cycles: f64,
    /// The array's part alone, `stream + tiles·f`, as if DRAM were free.
    pub array_cycles: f64,
    /// `f = DIM + R + C − 1`, exposed once per tile.
    pub fill_cycles: f64,
    pub bytes_per_cycle: f64,
    /// The terms of the chosen dataflow.
    pub terms: LayerTerms,
}

/// One layer's dataflow, terms and cycles from its `[OS, WS]` terms, `f` and `x = 1/bw`.
fn choose(
    [os, ws]: &[LayerTerms; 2],
    dataflow: Dataflow,
    fill: f64,
    x: f64,
) -> (BlockDataflow, LayerTerms, f64) {
    let cycles_os = os.stream + os.tiles * fill + os.dram * x;
    let cycles_ws = (ws.stream + ws.tiles * fill).max(ws.dram * x) + ws.prologue * x;
    let use_ws = match dataflow {
        Dataflow::Os => false,
        Dataflow::Ws => true,
        Dataflow::Both => cycles_ws <= cycles_os,
    };
    if use_ws {
        (BlockDataflow::Ws, *ws, cycles_ws)
    } else {
        (BlockDataflow::Os, *os, cycles_os)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default_config(dataflow: Dataflow) -> PerfConfig {
        PerfConfig {
            shape: ArrayShape {
                mesh_rows: 16,
                mesh_cols: 16,
                tile_rows: 1,
                tile_cols: 1,
            },
            dataflow,
            input_bits: 8,
            acc_bits: 32,
            sp_capacity_kib: 256,
            acc_capacity_kib: 64,
            dma_bus_bits: 128,
        }
    }

    /// PORTING §3.9: the default configuration on ResNet-50 at the period it runs.
    #[test]
    fn golden_run_of_the_default_configuration() {
        let model = PerfModel::new(Workload::load("resnet50").unwrap(), 16.0);
        let r = model.run(&default_config(Dataflow::Both), 1_460.382_794_961_966_3);
        assert_eq!(r.cycles.round(), 16_550_543.0);
        assert!(
            (r.utilization - 0.965_127).abs() < 1e-6,
            "{}",
            r.utilization
        );
        assert_eq!(r.dram_bytes, 102_917_992.0);
        assert_eq!(
            (r.sp_read_bytes, r.sp_write_bytes),
            (316_102_016.0, 91_803_008.0)
        );
        assert_eq!(
            (r.acc_read_bytes, r.acc_write_bytes),
            (1_024_905_216.0, 1_024_905_216.0)
        );
    }

    /// The per-layer view sums to the run, and one layer's count follows the formula by hand.
    #[test]
    fn run_layers_sums_to_the_run_and_follows_the_formula() {
        let model = PerfModel::new(Workload::load("bert-base").unwrap(), 16.0);
        for df in Dataflow::ALL {
            let cfg = default_config(df);
            let layers = model.run_layers(&cfg, 1000.0);
            let total: f64 = layers.iter().map(|l| l.cycles).sum();
            assert_eq!(layers.len(), 6);
            assert!((total - model.run(&cfg, 1000.0).cycles).abs() < 1e-6 * total);
        }
        // attn_scores: 144 GEMMs M 128, K 64, N 128 on 16×16 WS (Ib = Jb = 8, Kb = 4), tiled
        // 5 × 6 × 4 blocks, so 2 × 2 × 1 tiles (the last i tile 48 rows):
        // stream = Jb·Kb·(80 + 48) = 4096, tiles·f = 4·(16 + 16 + 16 − 1) = 188,
        // DRAM = 128·64·2 + 64·128·2 + 128·128 = 49152 B = 3072 cycles at 16 B/cycle, hidden,
        // prologue = 80·64 + 64·96 + 80·96 = 18944 B = 1184 cycles, not.
        let key = default_config(Dataflow::Ws).memory_key();
        let t = tiled_matmul_auto(16, key.sp_rows(), key.acc_rows(), true, 128, 128, 64);
        assert_eq!(
            (t.tile_i, t.tile_j, t.tile_k, t.n_i, t.n_j, t.n_k),
            (5, 6, 4, 2, 2, 1)
        );
        let scores = model.run_layers(&default_config(Dataflow::Ws), 1000.0)[1];
        assert_eq!(scores.dataflow, BlockDataflow::Ws);
        assert_eq!((scores.fill_cycles, scores.bytes_per_cycle), (47.0, 16.0));
        assert_eq!(scores.array_cycles, 144.0 * (4096.0 + 188.0));
        assert_eq!(scores.terms.dram, 144.0 * 49152.0);
        assert_eq!(scores.cycles, 144.0 * (4096.0 + 188.0 + 1184.0));
    }

    #[test]
    fn both_is_never_slower_than_either_dataflow() {
        let model = PerfModel::new(Workload::load("mobilenetv2").unwrap(), 16.0);
        let run = |df| model.run(&default_config(df), 1000.0).cycles;
        assert!(run(Dataflow::Both) <= run(Dataflow::Os).min(run(Dataflow::Ws)));
        assert_eq!(model.table().len(), 1);
    }
}
