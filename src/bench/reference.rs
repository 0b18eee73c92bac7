//! The reference front a run is measured against: the analytical Gemmini model's exact front
//! over the discrete grid, walked in Rust, merged with every design any run found. An EDA
//! flow has no exact front; its reference is the union of the runs' fronts.
//!
//! The full Gemmini space has billions of grid points and a float parameter, so the walk holds
//! some parameters at their defaults (`fixed`, and every float) and enumerates the rest. It
//! splits them into the parameters some constraint names (the hardware shape and memories)
//! and the free ones (the EDA knobs): the constrained sub-grid is checked once per point, and
//! each feasible point is crossed with every free combination by copying fields into a
//! [`GemminiConfig`], with no [`Design`] built per evaluation.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Instant;

use crate::config::Config;
use crate::evaluators::gemmini_model::{FIELDS, GemminiConfig, GemminiModel, METRICS};
use crate::evaluators::{Cancel, EvalContext, EvaluatorConfig, gemmini_model};
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
        let (before, hv_before) = (self.points.len(), self.hv);
        self.points.extend(found);
        self.points = front_of(&self.points, self.reference.len());
        self.hv = hv_of(&self.points, &self.reference);
        if before > 0 {
            self.note = format!(
                "{} ({before} points, HV {hv_before:.6e}), merged with every design the runs found",
                self.note
            );
        }
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

/// The front a benchmark measures against: the exact front ([`exact`]) for an analytical
/// evaluator; for any other (an EDA flow, whose front nobody can enumerate) an empty front
/// that [`ReferenceFront::merge`] fills with every design the runs found, so HV is normalized
/// by the union of the runs' fronts.
pub fn for_bench(config: &Config, held: &Design) -> Result<ReferenceFront, String> {
    if matches!(
        config.evaluator,
        EvaluatorConfig::GemminiModel { .. } | EvaluatorConfig::Synthetic
    ) {
        return exact(config, held);
    }
    Ok(ReferenceFront {
        points: Vec::new(),
        reference: reference_point(config)?,
        hv: 0.0,
        enumerated: 0,
        seconds: 0.0,
        note: format!(
            "no exact front: the {} evaluator is not analytical, so the reference is the union of the runs' fronts",
            config.evaluator.name()
        ),
    })
}

/// Every objective's `ref`, in minimization form; the benchmark needs a fixed one.
fn reference_point(config: &Config) -> Result<Vec<f64>, String> {
    config
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
        .collect()
}

/// The exact front of an analytical evaluator over the config's grid, with the `held`
/// parameters at their given values and every other float at its default. Needs every
/// objective to have a `ref`. The gemmini-model evaluator takes the fast walk; `synthetic`
/// goes design by design (its grid is small).
pub fn exact(config: &Config, held: &Design) -> Result<ReferenceFront, String> {
    for name in held.0.keys() {
        if config.space.param(name).is_none() {
            return Err(format!("--fix {name}: no such parameter in the space"));
        }
    }
    let reference = reference_point(config)?;
    let mut base = config.space.default_design();
    base.0.extend(held.0.clone());
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
        .filter(|p| !held.0.contains_key(&p.name))
        .collect();
    let (outer, inner): (Vec<&Param>, Vec<&Param>) = walked
        .into_iter()
        .partition(|p| constrained.contains(&p.name));
    let started = Instant::now();
    let outer_designs: Vec<Design> = grid(&outer)
        .into_iter()
        .map(|d| {
            let mut full = base.clone();
            full.0.extend(d.0);
            full
        })
        .filter(|d| config.space.feasible(d))
        .collect();
    let inner_designs = grid(&inner);
    let (candidates, enumerated) = match &config.evaluator {
        EvaluatorConfig::GemminiModel { settings, base_dir } => gemmini_walk(
            config,
            settings,
            base_dir,
            &outer_designs,
            &inner_designs,
            &inner,
        )?,
        EvaluatorConfig::Synthetic => generic_walk(config, &outer_designs, &inner_designs)?,
        other => {
            return Err(format!(
                "an exact reference front needs an analytical evaluator (gemmini-model or synthetic); this config uses {}",
                other.name()
            ));
        }
    };
    let m = reference.len();
    let points = front_of(&candidates, m);
    let seconds = started.elapsed().as_secs_f64();
    let hv = hv_of(&points, &reference);
    let held: Vec<String> = config
        .space
        .params
        .iter()
        .filter(|p| held.0.contains_key(&p.name) || matches!(p.kind, Kind::Float { .. }))
        .map(|p| format!("{}={}", p.name, base.get(&p.name).unwrap_or(&p.default)))
        .collect();
    Ok(ReferenceFront {
        note: format!(
            "exact front of the {} grid ({enumerated} designs; held: {})",
            config.evaluator.name(),
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

/// Minimized objective values of a design's metrics, if every objective is there and the
/// outcome constraints hold.
fn minimized(config: &Config, metrics: &crate::space::Metrics) -> Option<Vec<f64>> {
    if !config.outcome_feasible(metrics) {
        return None;
    }
    let values = config.objective_values(metrics)?;
    Some(
        config
            .objectives
            .iter()
            .zip(values)
            .map(|(o, y)| o.minimized(y))
            .collect(),
    )
}

/// Design by design through the evaluator: the non-dominated points and the count.
fn generic_walk(
    config: &Config,
    outer: &[Design],
    inner: &[Design],
) -> Result<(Vec<Vec<f64>>, u64), String> {
    let evaluator = config.evaluator.build().map_err(|e| e.to_string())?;
    let ctx = EvalContext {
        workdir: std::env::temp_dir(),
        timeout: config.runner.timeout,
        cancel: Cancel::new(),
    };
    let m = config.objectives.len();
    let mut flat = Vec::new();
    let mut n = 0u64;
    for o in outer {
        for i in inner {
            let mut d = o.clone();
            d.0.extend(i.0.clone());
            n += 1;
            if let Some(y) = evaluator
                .evaluate(&d, &ctx)
                .ok()
                .and_then(|m| minimized(config, &m))
            {
                flat.extend(y);
            }
        }
    }
    let points = nondominated(&flat, m)
        .into_iter()
        .map(|i| flat[i * m..(i + 1) * m].to_vec())
        .collect();
    Ok((points, n))
}

/// The gemmini-model walk: each feasible outer design crossed with every inner combination by
/// copying fields into a [`GemminiConfig`].
fn gemmini_walk(
    config: &Config,
    settings: &gemmini_model::GemminiSettings,
    base_dir: &Path,
    outer: &[Design],
    inner: &[Design],
    inner_params: &[&Param],
) -> Result<(Vec<Vec<f64>>, u64), String> {
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
    let outer_designs: Vec<GemminiConfig> = outer
        .iter()
        .map(|d| GemminiConfig::from_design(d).map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()?;
    let inner_designs: Vec<GemminiConfig> = inner
        .iter()
        .map(|d| GemminiConfig::from_design(d).map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()?;
    let inner_fields: Vec<usize> = inner_params
        .iter()
        .filter_map(|p| FIELDS.iter().position(|f| *f == p.name))
        .collect();
    let m = config.objectives.len();
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
    Ok((candidates, enumerated))
}
