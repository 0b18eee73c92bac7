//! Per-layer cost terms of a tiled GEMM on Gemmini, tabulated per memory configuration
//! (reference: perf/layer_costs.py:48-141 at 9201a62).
//!
//! For one layer (`groups` GEMMs `M × K × N`, `count` repeats), `DIM × DIM` blocks `Ib, Jb, Kb`,
//! the tiling of [`tiled_matmul_auto`] (`n_i, n_j, n_k` tiles of `ti × tj × tk` blocks),
//! `b = input_bits/8` and `ab = acc_bits/8` bytes, every term below is scaled by
//! `mult = groups·count`:
//!
//! ```text
//! rows_tile = ti·DIM, depth_tile = tk·DIM
//! last_rows = M − (n_i−1)·rows_tile,  last_depth = K − (n_k−1)·depth_tile
//! stream_WS = Jb·Kb·((n_i−1)·max(rows_tile, DIM) + max(last_rows, DIM))
//! stream_OS = Ib·Jb·((n_k−1)·max(depth_tile, DIM) + max(last_depth, DIM))
//! tiles     = n_i·n_j·n_k                       (each exposes one fill/drain, added later)
//! a_pass    = min(M·K, a_elems)
//! dram      = b·(a_pass·n_j + K·N·n_i + M·N)    (A reloaded per j tile, B per i tile, C once)
//! prologue  = b·(tm·tk' + tk'·tn + tm·tn)       (first A, B tile and last C tile: not hidden)
//!             tm = min(rows_tile, M), tn = min(tj·DIM, N), tk' = min(depth_tile, K)
//! sp_write  = b·(a_pass·n_j + K·N·n_i)
//! sp_read   = b·(M·K·Jb + K·N·(WS ? n_i : Ib))
//! acc_write = acc_read = ab·M·N·(WS ? Kb : n_k)
//! ```
//!
//! Memory configurations are keyed by `(DIM, input_bits, acc_bits, sp_kib, acc_kib)`; the
//! example space has at most 480 of them, so a table filled on first use makes every later call
//! an index lookup.

use super::array::BlockDataflow;
use super::memo::Memo;
use super::tiling::tiled_matmul_auto;
use crate::workloads::{Layer, Workload};

/// What the layer terms depend on: the array width and the two memories.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MemoryKey {
    pub dim: u64,
    pub input_bits: u32,
    pub acc_bits: u32,
    pub sp_capacity_kib: u32,
    pub acc_capacity_kib: u32,
}

impl MemoryKey {
    /// Scratchpad rows of `DIM` inputs: `sp_kib·8192 / (DIM·input_bits)` (floor).
    pub fn sp_rows(&self) -> u64 {
        u64::from(self.sp_capacity_kib) * 8192 / (self.dim * u64::from(self.input_bits))
    }

    /// Accumulator rows of `DIM` partial sums: `acc_kib·8192 / (DIM·acc_bits)` (floor).
    pub fn acc_rows(&self) -> u64 {
        u64::from(self.acc_capacity_kib) * 8192 / (self.dim * u64::from(self.acc_bits))
    }
}

/// The terms of one layer under one dataflow (cycles and bytes, already `× groups·count`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LayerTerms {
    pub stream: f64,
    pub tiles: f64,
    pub dram: f64,
    pub prologue: f64,
    pub sp_read: f64,
    pub sp_write: f64,
    pub acc_read: f64,
    pub acc_write: f64,
}

impl LayerTerms {
    /// The terms of `layer` under `dataflow` (WS is double-buffered, OS is not).
    pub fn new(key: &MemoryKey, dataflow: BlockDataflow, layer: &Layer) -> Self {
        let ws = dataflow == BlockDataflow::Ws;
        let (dim, m, n, k) = (key.dim, layer.m, layer.n, layer.k);
        let t = tiled_matmul_auto(dim, key.sp_rows(), key.acc_rows(), ws, m, n, k);
        let (ib, jb, kb) = (m.div_ceil(dim), n.div_ceil(dim), k.div_ceil(dim));
        let (rows_tile, depth_tile) = (t.tile_i * dim, t.tile_k * dim);
        // The last tile may be partial; with one tile it is the whole (possibly short) matrix.
        let last_rows = m - (t.n_i - 1) * rows_tile;
        let last_depth = k - (t.n_k - 1) * depth_tile;
        let stream = if ws {
            jb * kb * ((t.n_i - 1) * rows_tile.max(dim) + last_rows.max(dim))
        } else {
            ib * jb * ((t.n_k - 1) * depth_tile.max(dim) + last_depth.max(dim))
        };
        let a_pass = (m * k).min(layer.a_elems);
        let loads = a_pass * t.n_j + k * n * t.n_i;
        let (tm, tn, tk) = (rows_tile.min(m), (t.tile_j * dim).min(n), depth_tile.min(k));
        let sp_reads = m * k * jb + k * n * if ws { t.n_i } else { ib };
        let acc_passes = if ws { kb } else { t.n_k };
        let b = f64::from(key.input_bits) / 8.0;
        let ab = f64::from(key.acc_bits) / 8.0;
        let mult = layer.multiplicity() as f64;
        let acc_bytes = ab * (m * n * acc_passes) as f64 * mult;
        Self {
            stream: stream as f64 * mult,
            tiles: (t.n_i * t.n_j * t.n_k) as f64 * mult,
            dram: b * (loads + m * n) as f64 * mult,
            prologue: b * (tm * tk + tk * tn + tm * tn) as f64 * mult,
            sp_read: b * sp_reads as f64 * mult,
            sp_write: b * loads as f64 * mult,
            acc_read: acc_bytes,
            acc_write: acc_bytes,
        }
    }
}

/// One memory configuration's terms: per layer, `[OS, WS]`.
pub type KeyTerms = Box<[[LayerTerms; 2]]>;

/// The cost terms of every layer of one workload, one entry per memory configuration seen.
#[derive(Debug)]
pub struct LayerCostTable {
    workload: &'static Workload,
    entries: Memo<MemoryKey, KeyTerms>,
}

impl LayerCostTable {
    pub fn new(workload: &'static Workload) -> Self {
        Self {
            workload,
            entries: Memo::new(),
        }
    }

    pub fn workload(&self) -> &'static Workload {
        self.workload
    }

    /// Runs `f` on the terms of `key`, computing and keeping them on first use.
    pub fn with_terms<R>(&self, key: &MemoryKey, f: impl FnOnce(&[[LayerTerms; 2]]) -> R) -> R {
        let make = |key: &MemoryKey| -> KeyTerms {
            self.workload
                .layers
                .iter()
                .map(|layer| {
                    [BlockDataflow::Os, BlockDataflow::Ws].map(|df| LayerTerms::new(key, df, layer))
                })
                .collect()
        };
        self.entries.with(key, make, |terms| f(terms))
    }

    /// How many memory configurations have been tabulated.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default_key() -> MemoryKey {
        MemoryKey {
            dim: 16,
            input_bits: 8,
            acc_bits: 32,
            sp_capacity_kib: 256,
            acc_capacity_kib: 64,
        }
    }

    #[test]
    fn rows_of_the_default_memories() {
        assert_eq!(
            (default_key().sp_rows(), default_key().acc_rows()),
            (16384, 1024)
        );
    }

    #[test]
    fn a_gemm_that_fits_loads_each_operand_once() {
        let layer = Layer {
            name: "small".into(),
            kind: crate::workloads::LayerKind::Gemm,
            m: 32,
            n: 32,
            k: 32,
            groups: 1,
            count: 3,
            a_elems: 32 * 32,
        };
        let ws = LayerTerms::new(&default_key(), BlockDataflow::Ws, &layer);
        assert_eq!(ws.tiles, 3.0);
        assert_eq!(ws.dram, 3.0 * 3.0 * 1024.0);
        assert_eq!(ws.prologue, ws.dram);
        assert_eq!(ws.acc_write, 3.0 * 4.0 * 1024.0 * 2.0);
    }

    #[test]
    fn the_table_keeps_each_key_once() {
        let table = LayerCostTable::new(Workload::load("bert-base").unwrap());
        let a = table.with_terms(&default_key(), |t| t.to_vec());
        let b = table.with_terms(&default_key(), |t| t.to_vec());
        assert_eq!((a, table.len()), (b, 1));
    }
}
