//! The reference front a run is measured against: the analytical Gemmini model's exact front
//! over the discrete grid, walked in Rust, merged with every design any run found.
//!
//! The full Gemmini space has billions of grid points and a float parameter, so the walk holds
//! some parameters at their defaults (`fixed`, and every float) and enumerates the rest. It
//! splits them into the parameters some constraint names (the hardware shape and memories)
//! and the free ones (the EDA knobs): the constrained sub-grid is checked once per point, and
//! each feasible point is crossed with every free combination by copying fields into a
//! [`GemminiConfig`], with no [`Design`] built per evaluation.

use std::collections::BTreeSet;
use std::time::Instant;

use crate::config::Config;
use crate::evaluators::EvaluatorConfig;
use crate::evaluators::gemmini_model::{FIELDS, GemminiConfig, GemminiModel, METRICS};
use crate::pareto::{hypervolume, nondominated};
use crate::space::{Design, Kind, Param};

/// A reference front in minimization form, with its reference point and hypervolume.
#[derive(Clone, Debug)]
pub struct ReferenceFront {
    pub points: Vec<Vec<f64>>,
    pub reference: Vec<f64>,
    pub hv: f64,
    /// Grid points evaluated, and how long the walk took.
    pub enumerated: u64,
    pub seconds: f64,
    /// How it was made, for the report.
    pub note: String,
}

impl ReferenceFront {
    /// Add designs found by runs (minimized values) and keep the non-dominated set.
    pub fn merge(&mut self, found: impl IntoIterator<Item = Vec<f64>>) {
        let before = self.points.len();
        self.points.extend(found);
        self.points = front_of(&self.points, self.reference.len());
        self.hv = hv_of(&self.points, &self.reference);
        let added = self.points.len() as i64 - before as i64;
        self.note = format!(
            "{}; merged with the designs the runs found ({added:+} points)",
            self.note
        );
    }
}

fn front_of(points: &[Vec<f64>], m: usize) -> Vec<Vec<f64>> {
    let flat: Vec<f64> = points.iter().flatten().copied().collect();
    nondominated(&flat, m)
        .into_iter()
        .map(|i| points[i].clone())
        .collect()
}

fn hv_of(points: &[Vec<f64>], reference: &[f64]) -> f64 {
    let flat: Vec<f64> = points.iter().flatten().copied().collect();
    hypervolume(&flat, reference.len(), reference)
}

/// Every combination of the given parameters' choices (floats at their default), as designs
/// holding only those parameters.
fn grid(params: &[&Param]) -> Vec<Design> {
    let mut out = vec![Design::default()];
    for p in params {
        let values = match p.kind {
            Kind::Float { .. } => vec![p.default.clone()],
            _ => p.choices.clone(),
        };
        out = out
            .into_iter()
            .flat_map(|d| {
                values.iter().map(move |v| {
                    let mut d = d.clone();
                    d.set(&p.name, v.clone());
                    d
                })
            })
            .collect();
    }
    out
}

/// The exact front of the gemmini-model evaluator over the config's grid, with `fixed`
/// parameters (and every float) at their defaults. Needs every objective to have a `ref`.
pub fn gemmini_exact(config: &Config, fixed: &[String]) -> Result<ReferenceFront, String> {
    let EvaluatorConfig::GemminiModel { settings, base_dir } = &config.evaluator else {
        return Err(format!(
            "an exact reference front needs the gemmini-model evaluator; this config uses {}",
            config.evaluator.name()
        ));
    };
    let reference: Vec<f64> = config
        .objectives
        .iter()
        .map(|o| {
            o.reference.map(|r| o.minimized(r)).ok_or_else(|| {
                format!(
                    "objective {} has no ref: the benchmark needs a fixed reference point",
                    o.name
                )
            })
        })
        .collect::<Result<_, _>>()?;
    let model = GemminiModel::new(settings, base_dir).map_err(|e| e.to_string())?;
    let columns: Vec<(usize, f64)> = config
        .objectives
        .iter()
        .map(|o| {
            let j = METRICS.iter().position(|m| *m == o.name).ok_or_else(|| {
                format!(
                    "objective {} is not a gemmini-model metric ({})",
                    o.name,
                    METRICS.join(", ")
                )
            })?;
            Ok((j, o.direction.sign()))
        })
        .collect::<Result<_, String>>()?;
    for f in fixed {
        if config.space.param(f).is_none() {
            return Err(format!("--fix {f}: no such parameter in the space"));
        }
    }
    let constrained: BTreeSet<String> = config
        .space
        .constraints
        .iter()
        .flat_map(|c| c.expr.names())
        .collect();
    let walked: Vec<&Param> = config
        .space
        .params
        .iter()
        .filter(|p| !fixed.contains(&p.name))
        .collect();
    let (outer, inner): (Vec<&Param>, Vec<&Param>) = walked
        .into_iter()
        .partition(|p| constrained.contains(&p.name));
    let defaults = config.space.default_design();
    let started = Instant::now();
    let outer_designs: Vec<GemminiConfig> = grid(&outer)
        .into_iter()
        .map(|d| {
            let mut full = defaults.clone();
            full.0.extend(d.0);
            full
        })
        .filter(|d| config.space.feasible(d))
        .map(|d| GemminiConfig::from_design(&d).map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()?;
    let inner_designs: Vec<GemminiConfig> = grid(&inner)
        .into_iter()
        .map(|d| GemminiConfig::from_design(&d).map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()?;
    let inner_fields: Vec<usize> = inner
        .iter()
        .filter_map(|p| FIELDS.iter().position(|f| *f == p.name))
        .collect();
    let m = reference.len();
    let outcome = !config.outcome_constraints.is_empty();
    let mut candidates: Vec<Vec<f64>> = Vec::new();
    let mut enumerated = 0u64;
    let mut flat = Vec::with_capacity(inner_designs.len() * m);
    for base in &outer_designs {
        flat.clear();
        let mut cfg = *base;
        for patch in &inner_designs {
            for &f in &inner_fields {
                cfg.copy_field(patch, f);
            }
            let values = model.evaluate(&cfg).values();
            enumerated += 1;
            if outcome {
                let mut metrics = crate::space::Metrics::default();
                for (name, v) in METRICS.iter().zip(values) {
                    metrics.insert(name, v);
                }
                if !config.outcome_feasible(&metrics) {
                    continue;
                }
            }
            flat.extend(columns.iter().map(|&(j, sign)| sign * values[j]));
        }
        candidates.extend(
            nondominated(&flat, m)
                .into_iter()
                .map(|i| flat[i * m..(i + 1) * m].to_vec()),
        );
    }
    let points = front_of(&candidates, m);
    let seconds = started.elapsed().as_secs_f64();
    let hv = hv_of(&points, &reference);
    let held: Vec<String> = config
        .space
        .params
        .iter()
        .filter(|p| fixed.contains(&p.name) || matches!(p.kind, Kind::Float { .. }))
        .map(|p| format!("{}={}", p.name, p.default))
        .collect();
    Ok(ReferenceFront {
        note: format!(
            "exact front of the gemmini-model grid ({enumerated} designs; held at defaults: {})",
            if held.is_empty() {
                "none".into()
            } else {
                held.join(", ")
            }
        ),
        points,
        reference,
        hv,
        enumerated,
        seconds,
    })
}
