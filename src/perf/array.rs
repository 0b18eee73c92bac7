//! Cycle count of one GEMM block on the generated Gemmini-style systolic array.
//!
//! The array is `DIM × DIM` PEs (`DIM = mesh_rows·tile_rows = mesh_cols·tile_cols`), built from
//! `mesh_rows × mesh_cols` tiles. Inside a tile the PEs are chained combinationally; between
//! tiles every signal crosses one pipeline register. The generator skews the inputs of tile row
//! `i` by `i` cycles and de-skews the outputs of tile column `j` by `mesh_cols − 1 − j` cycles,
//! as Gemmini's `MeshWithDelays` does. The counts are exact for that RTL (reference:
//! perf/array.py:23-73 at 9201a62, checked against an RTL simulation there).

/// The array's shape: `mesh_rows × mesh_cols` tiles of `tile_rows × tile_cols` PEs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArrayShape {
    pub mesh_rows: u32,
    pub mesh_cols: u32,
    pub tile_rows: u32,
    pub tile_cols: u32,
}

impl ArrayShape {
    /// `DIM = mesh_rows·tile_rows`, the side of the (square) PE array.
    pub fn dim(&self) -> u64 {
        u64::from(self.mesh_rows) * u64::from(self.tile_rows)
    }

    /// The pipeline registers a value crosses from the first to the last tile, plus the output
    /// register: `R + C − 1`.
    fn fill_cycles(&self) -> u64 {
        u64::from(self.mesh_rows) + u64::from(self.mesh_cols) - 1
    }
}

/// The dataflow one block runs with (a `BOTH` design picks one of these per layer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockDataflow {
    /// Output-stationary: every PE accumulates its own `C[i][j]`.
    Os,
    /// Weight-stationary: `B` is preloaded, `A` rows stream through, partial sums flow down.
    Ws,
}

/// Cycles from the first input to the last output of `C[m × n] = A[m × k]·B[k × n]`, with
/// `m, n <= DIM`, `R = mesh_rows`, `C = mesh_cols`:
///
/// * OS: `k + DIM + R + C − 1`: `k` cycles of streaming, the fill to the last tile, then the
///   drain of `DIM` rows through the output register and the de-skew (independent of `m`, `n`).
/// * WS: `k + ceil(k/DIM)·(m + R + C − 1)`: one preload cycle per row of `B`, then `m` rows of
///   `A` per pass, `ceil(k/DIM)` passes whose partial sums the accumulator adds.
///
/// `n` never changes the count (unused columns compute on zeros).
pub fn matmul_cycles(shape: ArrayShape, dataflow: BlockDataflow, m: u64, k: u64) -> u64 {
    let dim = shape.dim();
    match dataflow {
        BlockDataflow::Os => k + dim + shape.fill_cycles(),
        BlockDataflow::Ws => k + k.div_ceil(dim) * (m + shape.fill_cycles()),
    }
}

/// The fill and drain a tile exposes when blocks run back to back:
/// `f = matmul_cycles(m = n = k = DIM) − DIM`, which is `DIM + R + C − 1` for both dataflows
/// (reference: perf/performance.py:93-94).
pub fn exposed_fill_cycles(shape: ArrayShape) -> u64 {
    let dim = shape.dim();
    matmul_cycles(shape, BlockDataflow::Ws, dim, dim) - dim
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHAPES: [ArrayShape; 3] = [
        ArrayShape {
            mesh_rows: 16,
            mesh_cols: 16,
            tile_rows: 1,
            tile_cols: 1,
        },
        ArrayShape {
            mesh_rows: 2,
            mesh_cols: 4,
            tile_rows: 2,
            tile_cols: 1,
        },
        ArrayShape {
            mesh_rows: 8,
            mesh_cols: 2,
            tile_rows: 1,
            tile_cols: 4,
        },
    ];

    #[test]
    fn counts_follow_the_formulas() {
        let s = SHAPES[1];
        assert_eq!(matmul_cycles(s, BlockDataflow::Os, 4, 10), 10 + 4 + 5);
        assert_eq!(matmul_cycles(s, BlockDataflow::Ws, 3, 10), 10 + 3 * (3 + 5));
    }

    #[test]
    fn both_dataflows_expose_the_same_fill() {
        for s in SHAPES {
            let dim = s.dim();
            let os = matmul_cycles(s, BlockDataflow::Os, dim, dim) - dim;
            assert_eq!(exposed_fill_cycles(s), os);
            assert_eq!(os, dim + u64::from(s.mesh_rows + s.mesh_cols) - 1);
        }
    }
}
