//! `diffuse-dse space`: the config's design space and objectives, for people or (with
//! `--json`) for another tool, so that the peers in `benchmarks/peers/` read them from the
//! binary instead of parsing the TOML a second time.

use super::{CmdResult, ConfigArg};
use crate::space::{Kind, Param};

/// Print the parameters (kind, legal values, default), the constraints and the objectives.
#[derive(clap::Args, Debug)]
pub struct SpaceCmd {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Print one JSON object: `{"name", "params": [{"name", "layer", "kind", "choices"` (or
    /// `"low", "high", "log"` for a float) `, "default"}], "constraints", "objectives":
    /// [{"name", "direction", "unit", "ref"}], "seed", "initial_design", "batch_size"}`.
    #[arg(long)]
    pub json: bool,
}

impl SpaceCmd {
    pub fn run(self) -> CmdResult {
        let config = self.config.load()?;
        let space = &config.space;
        if self.json {
            let v = serde_json::json!({
                "name": space.name,
                "params": space.params.iter().map(param_json).collect::<Vec<_>>(),
                "constraints": space.constraints.iter().map(|c| c.expr.text()).collect::<Vec<_>>(),
                "objectives": config.objectives.iter().map(|o| serde_json::json!({
                    "name": o.name,
                    "direction": o.direction.as_str(),
                    "unit": o.unit,
                    "ref": o.reference,
                })).collect::<Vec<_>>(),
                "seed": config.seed,
                "initial_design": config.model.initial_design,
                "batch_size": config.schedule.batch_size,
            });
            println!("{v}");
            return Ok(());
        }
        println!("space {} ({} grid points)", space.name, space.grid_size());
        for p in &space.params {
            println!(
                "  {:<18} {:<3} {:<11} {} (default {})",
                p.name,
                p.layer.as_str(),
                p.kind.name(),
                p.describe_values(),
                p.default
            );
        }
        for c in &space.constraints {
            println!("  subject to {}", c.expr.text());
        }
        for o in &config.objectives {
            let reference = o.reference.map_or(String::new(), |r| format!(", ref {r}"));
            println!("  {} {}{reference}", o.direction.as_str(), o.name);
        }
        Ok(())
    }
}

fn param_json(p: &Param) -> serde_json::Value {
    let mut v = serde_json::json!({
        "name": p.name,
        "layer": p.layer.as_str(),
        "kind": p.kind.name(),
        "default": p.default,
    });
    let o = v.as_object_mut().expect("an object");
    if let Kind::Float { low, high, log } = p.kind {
        o.insert("low".into(), low.into());
        o.insert("high".into(), high.into());
        o.insert("log".into(), log.into());
    } else {
        o.insert(
            "choices".into(),
            serde_json::to_value(&p.choices).expect("values serialize"),
        );
    }
    v
}
