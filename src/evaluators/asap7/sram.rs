//! Scratchpad and accumulator banks composed from the PDK's ASAP7 SRAM bank macros (reference:
//! evaluators/asap7/sram.py:87-128 at 9201a62, PORTING §4.3).
//!
//! A macro `srambank_{R}x4x{W}_6t122` holds `4R` words of `W` bits. Its data come from the PDK:
//!
//! ```text
//! area_um2  = W·H of the LEF's SIZE
//! access_ps = 1000·(max(cell_rise, cell_fall)[row 3, col 2] of bus(dataout)
//!                   + max over setup_rising arcs of rise_constraint[row 3, col 2])     ns → ps
//! read_pj   = Σ rise_power + fall_power [row 3, col 2] of pin(clk)'s VDD internal_power when "!write"
//! write_pj  = the same when "write"
//! ```
//!
//! A bank of `depth = floor(bytes·8/width)` whole rows of `width` bits is a grid of
//! `cols = ceil(width/W)` macros side by side and `rows = ceil(depth/4R)` deep; the macro of
//! least `cols·rows·area` wins, ties going to fewer macros. One row access fires one depth
//! slice: `cols` macros.

use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::pdk::{self, Pdk};
use crate::evaluators::EvalError;

/// One SRAM macro.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Macro {
    pub name: String,
    pub words: u64,
    pub bits: u64,
    pub area_um2: f64,
    pub access_ps: f64,
    pub read_pj: f64,
    pub write_pj: f64,
}

/// A bank of `cols × rows` macros of one kind.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Bank {
    pub macro_name: String,
    pub cols: u64,
    pub rows: u64,
    pub depth: u64,
    pub width: u64,
    pub area_um2: f64,
    pub access_ps: f64,
    /// Energy of one row read (one depth slice of `cols` macros).
    pub read_pj: f64,
    pub write_pj: f64,
}

/// The smallest-area bank of `capacity_bytes` with rows of `width` bits; `None` when the
/// capacity holds less than one row (the design is infeasible).
pub fn compose_bank(macros: &[Macro], capacity_bytes: u64, width: u64) -> Option<Bank> {
    let bits = capacity_bytes * 8;
    if bits < width || width == 0 {
        return None;
    }
    let depth = bits / width;
    macros
        .iter()
        .map(|m| {
            let cols = width.div_ceil(m.bits);
            let rows = depth.div_ceil(m.words);
            Bank {
                macro_name: m.name.clone(),
                cols,
                rows,
                depth,
                width,
                area_um2: (cols * rows) as f64 * m.area_um2,
                access_ps: m.access_ps,
                read_pj: cols as f64 * m.read_pj,
                write_pj: cols as f64 * m.write_pj,
            }
        })
        .min_by(|a, b| {
            a.area_um2
                .total_cmp(&b.area_um2)
                .then((a.cols * a.rows).cmp(&(b.cols * b.rows)))
        })
}

/// Every macro of the PDK's `sram/` folder, parsed once and then read from
/// `cache_dir/sram/macros-<hash of the file names and sizes>.json`.
pub fn load_macros(pdk: &Pdk, cache_dir: &Path) -> Result<Vec<Macro>, EvalError> {
    let dir = pdk.dir.join("sram");
    let libs = pdk::list(&dir, "srambank_", "_6t122.lib.gz");
    let mut fingerprint = Sha256::new();
    for p in &libs {
        let size = std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        fingerprint.update(format!("{}:{size};", p.display()).as_bytes());
    }
    let tag = pdk::hex(&fingerprint.finalize())[..16].to_string();
    let table = cache_dir.join("sram").join(format!("macros-{tag}.json"));
    if let Some(macros) = std::fs::read_to_string(&table)
        .ok()
        .and_then(|t| serde_json::from_str::<Vec<Macro>>(&t).ok())
    {
        return Ok(macros);
    }
    let tmp = cache_dir
        .join("sram")
        .join(format!("tmp-{}", std::process::id()));
    std::fs::create_dir_all(&tmp)
        .map_err(|e| EvalError::Failed(format!("asap7: cannot create {}: {e}", tmp.display())))?;
    let mut out = Vec::new();
    for lib in &libs {
        let file = lib.file_name().unwrap_or_default().to_string_lossy();
        let name = file.trim_end_matches(".lib.gz").to_string();
        let Some((words, bits)) = macro_shape(&name) else {
            continue;
        };
        let lef = dir.join(format!("{name}.lef.gz"));
        if !lef.is_file() {
            return Err(EvalError::Setup(format!(
                "asap7: {} has {file} but no {name}.lef.gz for its size. {}.",
                dir.display(),
                pdk::HOWTO
            )));
        }
        let read = |gz: &Path, ext: &str| -> Result<String, EvalError> {
            let plain = tmp.join(format!("{name}.{ext}"));
            pdk::gunzip(gz, &plain)?;
            std::fs::read_to_string(&plain)
                .map_err(|e| EvalError::Setup(format!("asap7: {}: {e}", gz.display())))
        };
        let lib_text = read(lib, "lib")?;
        let lef_text = read(&lef, "lef")?;
        let bad = |what: &str| EvalError::Setup(format!("asap7: {file}: {what}"));
        let area_um2 = lef_area(&lef_text).ok_or_else(|| bad("its LEF has no SIZE W BY H"))?;
        let root = parse(&lib_text).map_err(|e| bad(&e))?;
        let (access_ps, read_pj, write_pj) =
            macro_figures(&root).ok_or_else(|| bad("no dataout timing or clk power"))?;
        out.push(Macro {
            name,
            words,
            bits,
            area_um2,
            access_ps,
            read_pj,
            write_pj,
        });
    }
    let _ = std::fs::remove_dir_all(&tmp);
    if out.is_empty() {
        return Err(EvalError::Setup(format!(
            "asap7: no srambank_*_6t122.lib.gz SRAM macros in {}. {}.",
            dir.display(),
            pdk::HOWTO
        )));
    }
    pdk::write_atomic(
        &table,
        serde_json::to_string_pretty(&out)
            .expect("macros serialize")
            .as_bytes(),
    )?;
    Ok(out)
}

/// `srambank_128x4x74_6t122` → (512 words, 74 bits).
fn macro_shape(name: &str) -> Option<(u64, u64)> {
    let dims = name.strip_prefix("srambank_")?.strip_suffix("_6t122")?;
    let mut parts = dims.split('x');
    let rows: u64 = parts.next()?.parse().ok()?;
    let mux: u64 = parts.next()?.parse().ok()?;
    let bits: u64 = parts.next()?.parse().ok()?;
    Some((rows * mux, bits))
}

/// `SIZE W BY H` of a LEF, in µm².
fn lef_area(text: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words[..] {
            ["SIZE", w, "BY", h, ..] => Some(w.parse::<f64>().ok()? * h.parse::<f64>().ok()?),
            _ => None,
        }
    })
}

/// (access_ps, read_pj, write_pj) of a parsed SRAM library.
fn macro_figures(root: &Group) -> Option<(f64, f64, f64)> {
    let dout = root.find(&|g| g.name == "bus" && g.args.first().is_some_and(|a| a == "dataout"))?;
    let rise = dout.find(&|g| g.name == "cell_rise").and_then(Group::mid)?;
    let fall = dout.find(&|g| g.name == "cell_fall").and_then(Group::mid)?;
    let mut setup: f64 = 0.0;
    root.each(&mut |g| {
        if g.name == "timing"
            && g.attr("timing_type") == Some("setup_rising")
            && let Some(v) = g
                .find(&|c| c.name == "rise_constraint")
                .and_then(Group::mid)
        {
            setup = setup.max(v);
        }
    });
    let clk = root.find(&|g| g.name == "pin" && g.args.first().is_some_and(|a| a == "clk"))?;
    let energy = |when: &str| {
        clk.groups
            .iter()
            .filter(|g| {
                g.name == "internal_power"
                    && g.attr("when") == Some(when)
                    && g.attr("related_pg_pin") == Some("VDD")
            })
            .flat_map(|g| g.groups.iter())
            .filter(|t| t.name == "rise_power" || t.name == "fall_power")
            .filter_map(Group::mid)
            .sum::<f64>()
    };
    Some((
        1000.0 * (rise.max(fall) + setup),
        energy("!write"),
        energy("write"),
    ))
}

/// A liberty group: `name (args) { attributes and groups }`.
#[derive(Debug, Default)]
struct Group {
    name: String,
    args: Vec<String>,
    attrs: Vec<(String, Vec<String>)>,
    groups: Vec<Group>,
}

impl Group {
    /// The first value of simple or complex attribute `name`.
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.first())
            .map(String::as_str)
    }

    /// The first group, depth first (this one included), that `pred` accepts.
    fn find(&self, pred: &dyn Fn(&Group) -> bool) -> Option<&Group> {
        if pred(self) {
            return Some(self);
        }
        self.groups.iter().find_map(|g| g.find(pred))
    }

    fn each(&self, f: &mut dyn FnMut(&Group)) {
        f(self);
        for g in &self.groups {
            g.each(f);
        }
    }

    /// The mid entry of a table's `values`: row 3, column 2 (or the last there is).
    fn mid(&self) -> Option<f64> {
        let values = &self.attrs.iter().find(|(n, _)| n == "values")?.1;
        let row = values.get(2.min(values.len().checked_sub(1)?))?;
        let cells: Vec<f64> = row
            .split(',')
            .filter_map(|c| c.trim().parse().ok())
            .collect();
        cells.get(1.min(cells.len().checked_sub(1)?)).copied()
    }
}

/// Tokens of a liberty file: words, quoted strings and punctuation; comments and line
/// continuations dropped.
fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() || c == b'\\' {
            i += 1;
        } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
            i = text[i + 2..].find("*/").map_or(b.len(), |e| i + 2 + e + 2);
        } else if c == b'"' {
            let end = text[i + 1..].find('"').map_or(b.len(), |e| i + 1 + e);
            out.push(format!("\"{}", &text[i + 1..end]));
            i = end + 1;
        } else if b"(){}:;,".contains(&c) {
            out.push((c as char).to_string());
            i += 1;
        } else {
            let start = i;
            while i < b.len() && !b[i].is_ascii_whitespace() && !b"(){}:;,\"\\".contains(&b[i]) {
                i += 1;
            }
            out.push(text[start..i].to_string());
        }
    }
    out
}

/// The library group of a liberty file.
fn parse(text: &str) -> Result<Group, String> {
    let toks = tokens(text);
    let mut pos = 0;
    let mut root = Group::default();
    parse_body(&toks, &mut pos, &mut root)?;
    root.groups
        .into_iter()
        .next()
        .ok_or_else(|| "no library group".to_string())
}

fn unquote(t: &str) -> String {
    t.strip_prefix('"').unwrap_or(t).to_string()
}

/// Statements up to a `}` (consumed) or the end, into `group`.
fn parse_body(toks: &[String], pos: &mut usize, group: &mut Group) -> Result<(), String> {
    while *pos < toks.len() {
        let name = toks[*pos].clone();
        *pos += 1;
        match name.as_str() {
            "}" => return Ok(()),
            ";" => continue,
            _ => {}
        }
        match toks.get(*pos).map(String::as_str) {
            Some(":") => {
                *pos += 1;
                let mut value = Vec::new();
                while *pos < toks.len() && toks[*pos] != ";" && toks[*pos] != "}" {
                    value.push(unquote(&toks[*pos]));
                    *pos += 1;
                }
                if toks.get(*pos).map(String::as_str) == Some(";") {
                    *pos += 1;
                }
                group.attrs.push((name, vec![value.join(" ")]));
            }
            Some("(") => {
                *pos += 1;
                let mut args = Vec::new();
                while *pos < toks.len() && toks[*pos] != ")" {
                    if toks[*pos] != "," {
                        args.push(unquote(&toks[*pos]));
                    }
                    *pos += 1;
                }
                *pos += 1;
                if toks.get(*pos).map(String::as_str) == Some("{") {
                    *pos += 1;
                    let mut child = Group {
                        name,
                        args,
                        ..Group::default()
                    };
                    parse_body(toks, pos, &mut child)?;
                    group.groups.push(child);
                } else {
                    group.attrs.push((name, args));
                }
            }
            other => return Err(format!("unexpected {other:?} after {name:?}")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIB: &str = r#"/* c */ library (m) {
  time_unit : "1ns";
  cell (srambank_64x4x16_6t122) {
    pin (clk) {
      internal_power () {
        when : "!write";
        related_pg_pin : VDD;
        rise_power (t) { index_1 ("1, 2"); values ( \
          "0, 0", "0, 0", "0, 1.5" \
        ); }
        fall_power (t) { values ("0, 0.25"); }
      }
      internal_power () {
        when : "write";
        related_pg_pin : VDD;
        rise_power (t) { values ("0, 0.1"); }
      }
    }
    bus (dataout) {
      timing () {
        cell_rise (t) { values ("0, 0.1", "0, 0.12", "0, 0.13, 9"); }
        cell_fall (t) { values ("0, 0.1", "0, 0.12", "0, 0.125"); }
      }
    }
    pin (we) {
      timing () {
        timing_type : setup_rising;
        rise_constraint (t) { values ("0, 0.02"); }
      }
    }
  }
}"#;

    #[test]
    fn macro_figures_follow_the_definitions() {
        let root = parse(LIB).unwrap();
        let (access, read, write) = macro_figures(&root).unwrap();
        assert!((access - 150.0).abs() < 1e-9, "{access}");
        assert!((read - 1.75).abs() < 1e-12 && (write - 0.1).abs() < 1e-12);
        assert_eq!(macro_shape("srambank_128x4x74_6t122"), Some((512, 74)));
        assert_eq!(lef_area("MACRO x\n  SIZE 2.5 BY 4 ;\n"), Some(10.0));
    }

    #[test]
    fn banks_keep_whole_rows_and_pick_the_least_area() {
        let m = |name: &str, words, bits, area| Macro {
            name: name.into(),
            words,
            bits,
            area_um2: area,
            access_ps: 100.0,
            read_pj: 1.0,
            write_pj: 0.5,
        };
        let macros = [m("a", 256, 64, 1000.0), m("b", 512, 32, 900.0)];
        // 16 KiB of 256-bit rows: 512 rows; a: 4 cols × 2 deep = 8000; b: 8 × 1 = 7200
        let bank = compose_bank(&macros, 16 * 1024, 256).unwrap();
        assert_eq!(
            (bank.macro_name.as_str(), bank.cols, bank.rows),
            ("b", 8, 1)
        );
        assert_eq!((bank.read_pj, bank.area_um2), (8.0, 7200.0));
        // 24-bit-wide acc rows of 8·32 bits in 100 bytes: 3 whole rows
        assert_eq!(compose_bank(&macros, 100, 256).unwrap().depth, 3);
        assert!(compose_bank(&macros, 16, 256).is_none());
    }
}
