//! Gemmini's choice of tiling factors for one GEMM: `tiled_matmul_auto` in
//! `include/gemmini.h` of ucb-bar/gemmini-rocc-tests (reference: perf/tiling.py:88-106 at
//! 9201a62, the plain loop).
//!
//! A GEMM `C[M × N] = A[M × K]·B[K × N]` is cut into `DIM × DIM` blocks (`Ib, Jb, Kb` of them);
//! a tile is `ti × tj × tk` blocks and must fit `(ti·tk + tk·tj)·DIM <= S` scratchpad rows (for
//! `A` and `B`) and `ti·tj·DIM <= Acc` accumulator rows (for `C`), with `S`, `Acc` the rows
//! divided by `div` (2 when double-buffered, as Gemmini runs its weight-stationary matmuls; 1
//! for output-stationary). The start is `ti = tj = min(·, max(floor(sqrt(Acc/div/DIM)), 1))`,
//! `tk = min(Kb, max(S_total/2/div/DIM/max_ij, 1))`; then `tj`, `ti` and `tk` in turn grow by
//! one block while the tile still fits, until none grows.

/// Tiling factors in blocks (`tile_i, tile_j, tile_k`) and tile counts (`n_i, n_j, n_k`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tiles {
    pub tile_i: u64,
    pub tile_j: u64,
    pub tile_k: u64,
    pub n_i: u64,
    pub n_j: u64,
    pub n_k: u64,
}

/// The tiling of an `m × k × n` GEMM on a `dim`-wide array with `sp_rows` scratchpad rows and
/// `acc_rows` accumulator rows (each `dim` elements wide).
pub fn tiled_matmul_auto(
    dim: u64,
    sp_rows: u64,
    acc_rows: u64,
    double_buffered: bool,
    m: u64,
    n: u64,
    k: u64,
) -> Tiles {
    let div = if double_buffered { 2 } else { 1 };
    let (max_sp_rows, max_acc_rows) = (sp_rows / div, acc_rows / div);
    let (ib, jb, kb) = (m.div_ceil(dim), n.div_ceil(dim), k.div_ceil(dim));
    let max_ij = (acc_rows / div / dim).isqrt().max(1);
    let max_k = (sp_rows / 2 / div / dim / max_ij).max(1);
    let (mut ti, mut tj, mut tk) = (ib.min(max_ij), jb.min(max_ij), kb.min(max_k));
    let fits_sp = |i: u64, j: u64, kk: u64| (i * kk + kk * j) * dim <= max_sp_rows;
    let fits_acc = |i: u64, j: u64| i * j * dim <= max_acc_rows;
    loop {
        let mut grew = false;
        if fits_sp(ti, tj + 1, tk) && fits_acc(ti, tj + 1) && tj < jb {
            tj += 1;
            grew = true;
        }
        if fits_sp(ti + 1, tj, tk) && fits_acc(ti + 1, tj) && ti < ib {
            ti += 1;
            grew = true;
        }
        if fits_sp(ti, tj, tk + 1) && tk < kb {
            tk += 1;
            grew = true;
        }
        if !grew {
            break;
        }
    }
    Tiles {
        tile_i: ti,
        tile_j: tj,
        tile_k: tk,
        n_i: ib.div_ceil(ti),
        n_j: jb.div_ceil(tj),
        n_k: kb.div_ceil(tk),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// DIM 16, 256 KiB scratchpad and 64 KiB accumulator, int8/int32 (PORTING §3.3).
    #[test]
    fn golden_tilings_of_the_reference() {
        let sp_rows = 256 * 8192 / (16 * 8);
        let acc_rows = 64 * 8192 / (16 * 32);
        let ws = tiled_matmul_auto(16, sp_rows, acc_rows, true, 3136, 64, 576);
        assert_eq!((ws.tile_i, ws.tile_j, ws.tile_k), (8, 4, 36));
        let os = tiled_matmul_auto(16, sp_rows, acc_rows, false, 3136, 64, 576);
        assert_eq!((os.tile_i, os.tile_j, os.tile_k), (16, 4, 36));
        assert_eq!((os.n_i, os.n_j, os.n_k), (13, 1, 1));
    }

    #[test]
    fn tiles_fit_and_cover_the_gemm() {
        for (dim, sp_rows, acc_rows) in [(4, 8192, 1024), (8, 512, 256), (32, 64, 16)] {
            for db in [false, true] {
                let t = tiled_matmul_auto(dim, sp_rows, acc_rows, db, 100, 70, 300);
                let div = if db { 2 } else { 1 };
                assert!(t.n_i * t.tile_i * dim >= 100 && t.n_k * t.tile_k * dim >= 300);
                let minimal = t.tile_i == 1 && t.tile_j == 1 && t.tile_k == 1;
                assert!(
                    minimal || (t.tile_i * t.tile_k + t.tile_k * t.tile_j) * dim <= sp_rows / div
                );
            }
        }
    }
}
