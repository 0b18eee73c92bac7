//! The ASAP7 PDK folder: where it is, which liberty files a Vt flavour reads, and the merged,
//! decompressed liberty file the tools are given.
//!
//! ASAP7 is the open 7 nm predictive PDK of Arizona State University and ARM. The flow needs
//! the standard cells `stdcells/asap7sc7p5t_{SIMPLE,INVBUF,SEQ,AO,OA}_{RVT,LVT,SLVT}_TT_nldm_*.lib.gz`
//! and the SRAM bank macros `sram/srambank_*.{lib,lef}.gz`. The PDK's files are read where
//! they are and never copied into the repository.
//!
//! Yosys 0.23 (Debian) takes one liberty file per `abc` and `dfflibmap` call, and the five cell
//! groups do not share one header (the SEQ group names its table templates differently). So
//! the flow writes, per flavour, one merged file into its cache: the first group's header,
//! every table template of the other groups that header lacks, then all the cells. OpenSTA
//! reads the same file. The merged file is named after the SHA-256 of the compressed inputs,
//! which is also what enters the flow's cache key.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::evaluators::gemmini_model::VtFlavour;
use crate::evaluators::{Cancel, EvalError};
use crate::process::{self, Invocation};

/// The variable that names the PDK folder when the settings do not.
pub const PDK_ENV: &str = "DIFFUSE_ASAP7_PDK";

/// The standard-cell groups, in the order they are merged.
pub const GROUPS: [&str; 5] = ["SIMPLE", "INVBUF", "SEQ", "AO", "OA"];

/// What to tell a user whose PDK is missing.
pub const HOWTO: &str = "ASAP7 is the open 7 nm predictive PDK (ASU/ARM, BSD-3). Get the standard cells from \
https://github.com/The-OpenROAD-Project/asap7sc7p5t_28 (LIB/NLDM, as *.lib.gz) and the SRAM macros from \
https://github.com/The-OpenROAD-Project/asap7_sram_0p0 (generated/LIB and generated/LEF, as *.gz), laid out as \
<pdk>/stdcells/*.lib.gz and <pdk>/sram/srambank_*.{lib,lef}.gz, and point evaluator.asap7.pdk (or $DIFFUSE_ASAP7_PDK) \
at that folder";

/// The single-Vt libraries of a flavour: `RVT+LVT` reads both.
pub fn vts(flavour: VtFlavour) -> &'static [&'static str] {
    match flavour {
        VtFlavour::Rvt => &["RVT"],
        VtFlavour::RvtLvt => &["RVT", "LVT"],
        VtFlavour::Lvt => &["LVT"],
        VtFlavour::LvtSlvt => &["LVT", "SLVT"],
        VtFlavour::Slvt => &["SLVT"],
    }
}

/// The cell-name suffix of a single Vt: `BUFx2_ASAP7_75t_R`.
pub fn cell_suffix(vt: &str) -> &'static str {
    match vt {
        "RVT" => "R",
        "LVT" => "L",
        _ => "SL",
    }
}

/// A checked PDK folder.
#[derive(Clone, Debug)]
pub struct Pdk {
    pub dir: PathBuf,
}

impl Pdk {
    /// The folder `dir`, checked to hold RVT standard cells and SRAM macros.
    ///
    /// Errors: [`EvalError::Setup`] saying what is missing and where ASAP7 comes from.
    pub fn open(dir: &Path) -> Result<Self, EvalError> {
        if !dir.is_dir() {
            return Err(EvalError::Setup(format!(
                "asap7: the PDK folder {} does not exist. {HOWTO}.",
                dir.display()
            )));
        }
        let pdk = Self {
            dir: dir.to_path_buf(),
        };
        pdk.stdcells(VtFlavour::Rvt)?;
        let srams = list(&dir.join("sram"), "srambank_", ".lib.gz");
        if srams.is_empty() {
            return Err(EvalError::Setup(format!(
                "asap7: the PDK folder {} has no sram/srambank_*.lib.gz SRAM macros. {HOWTO}.",
                dir.display()
            )));
        }
        Ok(pdk)
    }

    /// The compressed liberty files of `flavour`: the five groups of each of its Vts.
    pub fn stdcells(&self, flavour: VtFlavour) -> Result<Vec<PathBuf>, EvalError> {
        let dir = self.dir.join("stdcells");
        let mut out = Vec::new();
        for vt in vts(flavour) {
            for group in GROUPS {
                let found = list(
                    &dir,
                    &format!("asap7sc7p5t_{group}_{vt}_TT_nldm_"),
                    ".lib.gz",
                );
                let Some(last) = found.last() else {
                    return Err(EvalError::Setup(format!(
                        "asap7: the PDK folder {} has no stdcells/asap7sc7p5t_{group}_{vt}_TT_nldm_*.lib.gz. {HOWTO}.",
                        self.dir.display()
                    )));
                };
                out.push(last.clone());
            }
        }
        Ok(out)
    }
}

/// The files of `dir` named `prefix…suffix`, sorted.
pub fn list(dir: &Path, prefix: &str, suffix: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix) && n.ends_with(suffix))
        })
        .collect();
    out.sort();
    out
}

/// The SHA-256 (hex) of a file, remembered per (path, size, mtime) for the life of the process.
pub fn file_sha256(path: &Path) -> Result<String, EvalError> {
    /// (path, size, mtime in ns) of a file whose hash is known.
    type Seen = (PathBuf, u64, i128);
    static KNOWN: OnceLock<Mutex<HashMap<Seen, String>>> = OnceLock::new();
    let meta = fs::metadata(path)
        .map_err(|e| EvalError::Setup(format!("asap7: cannot read {}: {e}", path.display())))?;
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as i128);
    let key = (path.to_path_buf(), meta.len(), mtime);
    let known = KNOWN.get_or_init(Default::default);
    if let Some(h) = known.lock().expect("hash table").get(&key) {
        return Ok(h.clone());
    }
    let bytes = fs::read(path)
        .map_err(|e| EvalError::Setup(format!("asap7: cannot read {}: {e}", path.display())))?;
    let hash = hex(&Sha256::digest(&bytes));
    known.lock().expect("hash table").insert(key, hash.clone());
    Ok(hash)
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Decompress `gz` with the system's `gzip -dc` (the crate carries no inflater), into `out`.
pub fn gunzip(gz: &Path, out: &Path) -> Result<(), EvalError> {
    let mut inv = Invocation::new("gzip", Duration::from_secs(300));
    inv.args = vec!["-dc".into(), gz.display().to_string()];
    inv.stdout_log = Some(out.to_path_buf());
    let outcome = process::run(&inv, &Cancel::new()).map_err(|e| {
        EvalError::Setup(format!(
            "asap7: cannot run gzip to read {}: {e} (install gzip)",
            gz.display()
        ))
    })?;
    if !outcome.success() {
        return Err(EvalError::Setup(format!(
            "asap7: gzip -dc {} ended with {}: {}",
            gz.display(),
            outcome.status_text(),
            String::from_utf8_lossy(&outcome.stderr).trim()
        )));
    }
    Ok(())
}

/// Write `text` to `path` through a temporary file and a rename, so a reader never sees half.
pub fn write_atomic(path: &Path, text: &[u8]) -> Result<(), EvalError> {
    let fail = |e: std::io::Error| {
        EvalError::Failed(format!("asap7: cannot write {}: {e}", path.display()))
    };
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(fail)?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    fs::write(&tmp, text).map_err(fail)?;
    fs::rename(&tmp, path).map_err(fail)
}

/// The liberty data of one flavour, ready for the tools.
#[derive(Clone, Debug)]
pub struct Liberty {
    /// The merged, decompressed liberty file (every cell of the flavour).
    pub merged: PathBuf,
    /// The SEQ groups alone, merged: all `dfflibmap` needs, a thirtieth of the size.
    pub seq: PathBuf,
    /// The SHA-256 of each compressed input, in merge order (for the cache key).
    pub hashes: Vec<String>,
    /// The names of the compressed inputs.
    pub names: Vec<String>,
    /// Each cell's area (µm²).
    pub areas: BTreeMap<String, f64>,
    /// The driving cell for the inputs: `BUFx2_ASAP7_75t_<suffix>` of the first Vt.
    pub drive_cell: String,
    /// The tie cells of the first Vt.
    pub tiehi: String,
    pub tielo: String,
}

impl Liberty {
    /// The hashes and names of `flavour`'s inputs, without preparing anything (a cache
    /// lookup needs only these).
    pub fn fingerprint(
        pdk: &Pdk,
        flavour: VtFlavour,
    ) -> Result<(Vec<String>, Vec<String>), EvalError> {
        let inputs = pdk.stdcells(flavour)?;
        let hashes = inputs
            .iter()
            .map(|p| file_sha256(p))
            .collect::<Result<Vec<_>, _>>()?;
        let names = inputs
            .iter()
            .map(|p| {
                p.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        Ok((hashes, names))
    }

    /// The merged file of `flavour` under `cache_dir/liberty/`, written on first use.
    pub fn prepare(pdk: &Pdk, flavour: VtFlavour, cache_dir: &Path) -> Result<Self, EvalError> {
        static LOCK: Mutex<()> = Mutex::new(());
        let (hashes, names) = Self::fingerprint(pdk, flavour)?;
        let tag = hex(&Sha256::digest(hashes.join(",").as_bytes()))[..16].to_string();
        let dir = cache_dir.join("liberty");
        let stem = format!("asap7_{}_{tag}", flavour.as_str().replace('+', "_"));
        let merged = dir.join(format!("{stem}.lib"));
        let seq = dir.join(format!("{stem}.seq.lib"));
        let areas_file = dir.join(format!("{stem}.areas.json"));
        let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
        if !(merged.is_file() && seq.is_file() && areas_file.is_file()) {
            let inputs = pdk.stdcells(flavour)?;
            let tmp = tempfile_in(&dir)?;
            let mut texts = Vec::new();
            for (i, gz) in inputs.iter().enumerate() {
                let out = tmp.join(format!("{i}.lib"));
                gunzip(gz, &out)?;
                texts.push(fs::read_to_string(&out).map_err(|e| {
                    EvalError::Setup(format!("asap7: {} is not text: {e}", gz.display()))
                })?);
            }
            let _ = fs::remove_dir_all(&tmp);
            let seq_group = GROUPS
                .iter()
                .position(|g| *g == "SEQ")
                .expect("a SEQ group");
            let seq_texts: Vec<String> = texts
                .iter()
                .skip(seq_group)
                .step_by(GROUPS.len())
                .cloned()
                .collect();
            write_atomic(&seq, merge(&seq_texts)?.as_bytes())?;
            let text = merge(&texts)?;
            let areas = cell_areas(&text);
            write_atomic(&merged, text.as_bytes())?;
            write_atomic(
                &areas_file,
                serde_json::to_string(&areas)
                    .expect("areas serialize")
                    .as_bytes(),
            )?;
        }
        let areas: BTreeMap<String, f64> = fs::read_to_string(&areas_file)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .ok_or_else(|| {
                EvalError::Failed(format!("asap7: cannot read {}", areas_file.display()))
            })?;
        let suffix = cell_suffix(vts(flavour)[0]);
        Ok(Self {
            merged,
            seq,
            hashes,
            names,
            areas,
            drive_cell: format!("BUFx2_ASAP7_75t_{suffix}"),
            tiehi: format!("TIEHIx1_ASAP7_75t_{suffix}"),
            tielo: format!("TIELOx1_ASAP7_75t_{suffix}"),
        })
    }
}

/// A fresh folder under `dir` for temporary files.
fn tempfile_in(dir: &Path) -> Result<PathBuf, EvalError> {
    let tmp = dir.join(format!(
        "tmp-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    fs::create_dir_all(&tmp)
        .map_err(|e| EvalError::Failed(format!("asap7: cannot create {}: {e}", tmp.display())))?;
    Ok(tmp)
}

/// One liberty library of several: the first one's header, the table templates of the others
/// that it lacks, then every cell, under one closing brace.
pub fn merge(texts: &[String]) -> Result<String, EvalError> {
    let mut out = String::new();
    let mut templates: Vec<String> = Vec::new();
    for (i, text) in texts.iter().enumerate() {
        let start = first_cell(text).ok_or_else(|| {
            EvalError::Setup("asap7: a standard-cell liberty file holds no cell".into())
        })?;
        let (header, rest) = text.split_at(start);
        let end = rest.trim_end().rfind('}').ok_or_else(|| {
            EvalError::Setup(
                "asap7: a standard-cell liberty file does not close its library".into(),
            )
        })?;
        let blocks = template_blocks(header);
        if i == 0 {
            out.push_str(header);
            templates = blocks.into_iter().map(|(name, _)| name).collect();
        } else {
            for (name, block) in blocks {
                if !templates.contains(&name) {
                    out.push_str(block);
                    out.push('\n');
                    templates.push(name);
                }
            }
        }
        out.push_str(&rest[..end]);
    }
    out.push_str("}\n");
    Ok(out)
}

/// Where the first `cell (` group starts (at its line's start).
fn first_cell(text: &str) -> Option<usize> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if line.trim_start().starts_with("cell (") || line.trim_start().starts_with("cell(") {
            return Some(offset);
        }
        offset += line.len();
    }
    None
}

/// The `lu_table_template (NAME) { … }` and `power_lut_template (NAME) { … }` groups of a
/// header, by name, each with its text (from its line's start to its closing brace).
fn template_blocks(header: &str) -> Vec<(String, &str)> {
    let mut out = Vec::new();
    let mut offset = 0;
    let lines: Vec<&str> = header.split_inclusive('\n').collect();
    let mut i = 0;
    while i < lines.len() {
        let t = lines[i].trim_start();
        if t.starts_with("lu_table_template") || t.starts_with("power_lut_template") {
            let name = t
                .split_once('(')
                .and_then(|(_, r)| r.split_once(')'))
                .map(|(n, _)| n.trim().to_string())
                .unwrap_or_default();
            let start = offset;
            let mut depth = 0i32;
            loop {
                let line = lines[i];
                depth += line.matches('{').count() as i32 - line.matches('}').count() as i32;
                offset += line.len();
                i += 1;
                if depth <= 0 || i >= lines.len() {
                    break;
                }
            }
            out.push((name, header[start..offset].trim_end()));
            continue;
        }
        offset += lines[i].len();
        i += 1;
    }
    out
}

/// Each `cell (NAME)`'s first `area : X;`.
pub fn cell_areas(text: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let t = line.trim_start();
        if let Some(rest) = t.strip_prefix("cell (").or_else(|| t.strip_prefix("cell(")) {
            current = rest
                .split_once(')')
                .map(|(n, _)| n.trim().trim_matches('"').to_string());
        } else if let Some(rest) = t.strip_prefix("area") {
            let value = rest
                .trim_start()
                .strip_prefix(':')
                .map(|v| v.trim().trim_end_matches(';').trim());
            if let (Some(name), Some(Ok(v))) = (current.take(), value.map(str::parse::<f64>)) {
                out.insert(name, v);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "library (a) {\n  time_unit : \"1ps\";\n  lu_table_template (t1) {\n    variable_1 : x;\n  }\n  cell (X1) {\n    area : 0.5;\n  }\n}\n";
    const B: &str = "library (b) {\n  lu_table_template (t1) {\n    variable_1 : x;\n  }\n  power_lut_template (t2) {\n    variable_1 : y;\n  }\n  cell (Y1) {\n    area : 1.25;\n    pin (A) { }\n  }\n}\n";

    #[test]
    fn merging_keeps_one_header_every_template_and_every_cell() {
        let merged = merge(&[A.to_string(), B.to_string()]).unwrap();
        assert_eq!(merged.matches("library (").count(), 1);
        assert_eq!(merged.matches("lu_table_template (t1)").count(), 1);
        assert_eq!(merged.matches("power_lut_template (t2)").count(), 1);
        assert!(
            merged.find("power_lut_template (t2)").unwrap() < merged.find("cell (Y1)").unwrap()
        );
        assert_eq!(merged.matches('{').count(), merged.matches('}').count());
        let areas = cell_areas(&merged);
        assert_eq!(areas.get("X1"), Some(&0.5));
        assert_eq!(areas.get("Y1"), Some(&1.25));
    }

    #[test]
    fn a_missing_folder_is_a_setup_error_that_says_where_asap7_comes_from() {
        let err = Pdk::open(Path::new("/no/such/pdk")).unwrap_err();
        assert!(
            matches!(&err, EvalError::Setup(m) if m.contains("/no/such/pdk") && m.contains("asap7sc7p5t_28")),
            "{err}"
        );
    }
}
