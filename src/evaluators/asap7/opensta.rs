//! OpenSTA: static timing (worst slack) and power of the mapped netlists (script
//! `scripts/sta.tcl`; reference: evaluators/asap7/opensta.py at 9201a62).
//!
//! Install: `apt-get install opensta`. Docs: <https://github.com/The-OpenROAD-Project/OpenSTA>
//! (`report_checks`, `set_power_activity`, `report_power`). The script prints tagged lines
//! `QOR <top> <key> <value>`, parsed here, and writes the full `<top>.timing.rpt` and
//! `<top>.power.<activity>.rpt` reports beside them.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use super::tool::Tool;
use crate::evaluators::{Cancel, EvalError};

pub const SCRIPT: &str = include_str!("scripts/sta.tcl");

/// What to install when no OpenSTA is found.
pub const INSTALL: &str = "apt-get install opensta";

/// The toggle rates (transitions per clock period) at which power is measured; the flow
/// interpolates between them.
pub const ACTIVITIES: [f64; 2] = [0.0, 0.5];

/// The OpenSTA binary (`sta`, or the setting's).
pub fn find(program: &str) -> Result<Tool, EvalError> {
    Tool::find(program, &["-version"], INSTALL)
}

/// Timing and power of one top.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TopReport {
    pub wns_ps: f64,
    pub cells: f64,
    /// Total power (W) at each of [`ACTIVITIES`].
    pub power_w: [f64; 2],
    /// Leakage (W) at activity 0.
    pub leakage_w: f64,
}

/// The `sta_vars.tcl` the script sources.
pub fn vars(
    libs: &[String],
    netlist: &str,
    tops: &[&str],
    clock_ps: f64,
    drive_cell: &str,
) -> String {
    format!(
        "set libs {{{}}}\nset netlist {netlist}\nset tops {{{}}}\nset clock_ps {clock_ps}\nset activities {{{} {}}}\nset drive_cell {drive_cell}\n",
        libs.join(" "),
        tops.join(" "),
        activity(ACTIVITIES[0]),
        activity(ACTIVITIES[1]),
    )
}

/// An activity as the script prints it (`0.0`, `0.5`).
fn activity(a: f64) -> String {
    format!("{a:.1}")
}

/// Run `sta.tcl` (already written with its `sta_vars.tcl` in `workdir`) and parse its report.
pub fn analyze(
    tool: &Tool,
    workdir: &Path,
    stem: &str,
    tops: &[&str],
    timeout: Duration,
    cancel: &Cancel,
) -> Result<BTreeMap<String, TopReport>, EvalError> {
    let log = format!("{stem}.sta");
    tool.run(
        &["-no_splash".into(), "-exit".into(), "sta.tcl".into()],
        workdir,
        &log,
        timeout,
        cancel,
    )?;
    let path = workdir.join(format!("{log}.log"));
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    parse(&text, tops)
        .map_err(|e| EvalError::Failed(format!("asap7: OpenSTA {e}; see {}", path.display())))
}

/// The `QOR top key value` lines of `text`, for every one of `tops`.
pub fn parse(text: &str, tops: &[&str]) -> Result<BTreeMap<String, TopReport>, String> {
    let mut seen: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if let ["QOR", top, key, value] = words[..] {
            let v: f64 = value
                .parse()
                .map_err(|_| format!("reported {key} = {value:?} for {top}"))?;
            seen.entry(top.to_string())
                .or_default()
                .insert(key.to_string(), v);
        }
    }
    let mut out = BTreeMap::new();
    for top in tops {
        let m = seen
            .get(*top)
            .ok_or_else(|| format!("gave no timing or power for {top}"))?;
        let get = |k: &str| {
            m.get(k)
                .copied()
                .filter(|v| v.is_finite())
                .ok_or_else(|| format!("gave no finite {k} for {top}"))
        };
        let a0 = activity(ACTIVITIES[0]);
        let a1 = activity(ACTIVITIES[1]);
        out.insert(
            top.to_string(),
            TopReport {
                wns_ps: get("wns_ps")?,
                cells: get("cells")?,
                power_w: [
                    get(&format!("power_w@{a0}"))?,
                    get(&format!("power_w@{a1}"))?,
                ],
                leakage_w: get(&format!("leakage_w@{a0}"))?,
            },
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tagged_lines_are_parsed_and_gaps_named() {
        let text = "noise\nQOR t wns_ps -720.5\nQOR t cells 1437\nQOR t power_w@0.0 2e-4\nQOR t leakage_w@0.0 3e-7\nQOR t power_w@0.5 6e-4\n";
        let r = &parse(text, &["t"]).unwrap()["t"];
        assert_eq!(
            (r.wns_ps, r.cells, r.power_w, r.leakage_w),
            (-720.5, 1437.0, [2e-4, 6e-4], 3e-7)
        );
        assert!(parse(text, &["u"]).unwrap_err().contains("for u"));
        assert!(
            parse("QOR t wns_ps INF\n", &["t"])
                .unwrap_err()
                .contains("wns_ps")
        );
        assert!(
            vars(&["a.lib".into()], "n.v", &["x", "y"], 1000.0, "B").contains("set tops {x y}")
        );
    }
}
