//! Scratchpad and accumulator banks built from ASAP7 SRAM macros (reference:
//! gemmini_model/sram.py:42-65 at 9201a62; table `data/calibration/sram_macros.csv`, derived
//! once from the PDK's LIB/LEF files: words, width, area, read/write energy per access, clock
//! to output access time).
//!
//! A bank of `bank_rows = max(ceil(cap_kib·8192/banks/row_bits), 1)` rows of `row_bits` bits is
//! tiled with `cols × depth` copies of one macro (`words × width`): `cols = ceil(row_bits/width)`
//! side by side and `depth = ceil(bank_rows/words)` stacked, choosing the macro of least
//! `cols·depth·area + 1e-9·cols·depth` (the first on ties). One row access fires the `cols`
//! macros of one slice. The model never calls a memory infeasible (the flow does, for banks
//! that hold no whole number of rows).

use std::sync::OnceLock;

use crate::perf::memo::Memo;

const CSV: &str = include_str!("../../../data/calibration/sram_macros.csv");

/// One ASAP7 SRAM bank macro.
#[derive(Clone, Debug, PartialEq)]
pub struct SramMacro {
    pub name: String,
    pub words: f64,
    pub width_bits: f64,
    pub area_um2: f64,
    pub read_pj: f64,
    pub write_pj: f64,
    pub access_ps: f64,
}

/// The shipped macro table, in file order (the order breaks area ties).
pub fn macros() -> &'static [SramMacro] {
    static MACROS: OnceLock<Vec<SramMacro>> = OnceLock::new();
    MACROS.get_or_init(|| parse_macros(CSV).unwrap_or_else(|e| panic!("sram_macros.csv: {e}")))
}

fn parse_macros(text: &str) -> Result<Vec<SramMacro>, String> {
    let mut lines = text.lines();
    let header = lines.next().ok_or("empty file")?;
    if header != "macro,words,width_bits,area_um2,read_pj,write_pj,access_ps" {
        return Err(format!("unexpected header {header:?}"));
    }
    let macros: Vec<SramMacro> = lines
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let (name, numbers) = line
                .split_once(',')
                .ok_or_else(|| format!("{line:?}: expected 7 cells"))?;
            let numbers: Vec<f64> = numbers
                .split(',')
                .map(str::parse)
                .collect::<Result<_, _>>()
                .map_err(|e| format!("{line:?}: {e}"))?;
            let [words, width_bits, area_um2, read_pj, write_pj, access_ps] = numbers[..] else {
                return Err(format!("{line:?}: expected 7 cells"));
            };
            Ok(SramMacro {
                name: name.to_string(),
                words,
                width_bits,
                area_um2,
                read_pj,
                write_pj,
                access_ps,
            })
        })
        .collect::<Result<_, _>>()?;
    if macros.is_empty() {
        return Err("no macros".to_string());
    }
    Ok(macros)
}

/// All banks of one memory, built from the chosen macro.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Banks {
    /// Macros in all banks: `banks·cols·depth`.
    pub macros: f64,
    /// Area of all banks: `banks·cols·depth·macro_area`.
    pub area_um2: f64,
    /// Energy of one row read or write: `cols·macro_pj`.
    pub read_pj: f64,
    pub write_pj: f64,
    /// The macro's clock-to-output time.
    pub access_ps: f64,
}

impl Banks {
    /// `banks` banks holding `capacity_kib` in rows of `row_bits` bits. The choice is made once
    /// per process for each memory shape: the search over the table would otherwise cost more
    /// than the rest of the model.
    pub fn new(capacity_kib: u32, banks: u32, row_bits: u64) -> Self {
        static CHOSEN: Memo<(u32, u32, u64), Banks> = Memo::new();
        CHOSEN.with(
            &(capacity_kib, banks, row_bits),
            |&(c, b, r)| Self::choose(c, b, r as f64),
            |banks| *banks,
        )
    }

    fn choose(capacity_kib: u32, banks: u32, row_bits: f64) -> Self {
        let n_banks = f64::from(banks);
        let bank_rows = (f64::from(capacity_kib) * 8192.0 / n_banks / row_bits)
            .ceil()
            .max(1.0);
        let tiling = |m: &SramMacro| {
            (
                (row_bits / m.width_bits).ceil(),
                (bank_rows / m.words).ceil(),
            )
        };
        let (mut best, mut best_score) = (&macros()[0], f64::INFINITY);
        for m in macros() {
            let (cols, depth) = tiling(m);
            let score = cols * depth * m.area_um2 + 1e-9 * cols * depth;
            if score < best_score {
                (best, best_score) = (m, score);
            }
        }
        let (cols, depth) = tiling(best);
        Self {
            macros: n_banks * cols * depth,
            area_um2: n_banks * (cols * depth * best.area_um2),
            read_pj: cols * best.read_pj,
            write_pj: cols * best.write_pj,
            access_ps: best.access_ps,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_36_macros_of_equal_energy() {
        let t = macros();
        assert_eq!(t.len(), 36);
        assert!(
            t.iter()
                .all(|m| m.read_pj == 1.815855 && m.write_pj == 0.186927)
        );
        assert_eq!(t[0].name, "srambank_64x4x16_6t122");
    }

    #[test]
    fn the_least_area_tiling_is_chosen() {
        // 256 KiB in 4 banks of 128-bit rows is 4096 rows per bank: two 64-bit-wide, 1024-word
        // macros side by side, four deep, per bank.
        let sp = Banks::new(256, 4, 128);
        let want = macros()
            .iter()
            .find(|m| m.name == "srambank_256x4x64_6t122")
            .unwrap();
        assert_eq!((sp.macros, sp.access_ps), (4.0 * 2.0 * 4.0, want.access_ps));
        assert_eq!(sp.read_pj, 2.0 * want.read_pj);
        assert_eq!(Banks::new(256, 4, 128), sp);
    }

    #[test]
    fn a_bad_table_is_reported() {
        assert!(
            parse_macros("macro,words\n")
                .unwrap_err()
                .contains("header")
        );
        let bad = "macro,words,width_bits,area_um2,read_pj,write_pj,access_ps\nm,1,2,3\n";
        assert!(parse_macros(bad).unwrap_err().contains("7 cells"));
    }
}
