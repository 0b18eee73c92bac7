//! Pretraining (PORTING §2.9): rows from another store, or from a cheap evaluator on uniform
//! feasible draws, mixed into every fit at a fixed share of the row weight, so the first
//! model-based proposals come after 4 real results instead of the whole initial design.

use std::path::{Path, PathBuf};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;

use super::Pretrain;
use crate::config::Config;
use crate::evaluators::{Cancel, EvalContext, EvaluatorConfig, gemmini_model};
use crate::store::Store;

/// `[model.pretrain]`: exactly one of `store` and `evaluator`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PretrainSettings {
    /// Another diffuse-dse store with the same objectives (relative to the config file).
    pub store: Option<PathBuf>,
    /// A cheap evaluator to run on uniform feasible draws: "gemmini-model" (with the config's
    /// `[evaluator.gemmini-model]` settings, or its defaults) or "synthetic".
    pub evaluator: Option<String>,
    /// Uniform draws for the evaluator (the feasible ones are evaluated). Default 4096.
    #[serde(default = "default_samples")]
    pub samples: usize,
    /// Share of every fit's row weight on the pretraining rows. Default 0.3.
    #[serde(default = "default_share")]
    pub share: f64,
}

fn default_samples() -> usize {
    4096
}

fn default_share() -> f64 {
    0.3
}

impl PretrainSettings {
    /// The settings' problems as `(field, message)`.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        match (&self.store, &self.evaluator) {
            (Some(_), Some(_)) | (None, None) => out.push((
                "store",
                "give exactly one of store = \"other.db\" and evaluator = \"gemmini-model\""
                    .to_string(),
            )),
            (None, Some(e)) if e != "gemmini-model" && e != "synthetic" => out.push((
                "evaluator",
                format!("expected \"gemmini-model\" or \"synthetic\". Got {e:?}."),
            )),
            _ => {}
        }
        if !(self.share > 0.0 && self.share < 1.0) {
            out.push((
                "share",
                format!("must lie strictly between 0 and 1; got {}.", self.share),
            ));
        }
        if self.samples == 0 || self.samples > 1_000_000 {
            out.push((
                "samples",
                format!("expected 1 to 1000000; got {}.", self.samples),
            ));
        }
        out
    }

    /// The store path, relative to the config file's folder.
    pub fn store_in(&self, dir: &Path) -> Option<PathBuf> {
        self.store.as_ref().map(|p| dir.join(p))
    }
}

/// Read or make the pretraining rows. Designs that are not legal in this space, and rows
/// missing an objective or with a non-finite value, are skipped.
pub fn load(config: &Config, settings: &PretrainSettings, seed: u64) -> Result<Pretrain, String> {
    let dir = config.file.parent().unwrap_or(Path::new("/"));
    let rows = if let Some(path) = settings.store_in(dir) {
        let store = Store::open_read_only(&path).map_err(|e| format!("pretraining store: {e}"))?;
        store
            .ok_results(&config.objectives)
            .map_err(|e| format!("pretraining store {}: {e}", path.display()))?
            .into_iter()
            .filter(|r| r.values.iter().all(|v| v.is_finite()))
            .filter_map(|r| Some((config.space.check(&r.design).ok()?, r.values)))
            .collect()
    } else {
        let evaluator = match settings.evaluator.as_deref() {
            Some("synthetic") => EvaluatorConfig::Synthetic,
            _ => match &config.evaluator {
                g @ EvaluatorConfig::GemminiModel { .. } => g.clone(),
                _ => EvaluatorConfig::GemminiModel {
                    settings: gemmini_model::GemminiSettings::default(),
                    base_dir: dir.to_path_buf(),
                },
            },
        };
        let evaluator = evaluator
            .build()
            .map_err(|e| format!("pretraining evaluator: {e}"))?;
        let ctx = EvalContext {
            workdir: std::env::temp_dir(),
            timeout: config.runner.timeout,
            cancel: Cancel::new(),
        };
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..settings.samples)
            .map(|_| config.space.sample(&mut rng))
            .filter(|d| config.space.feasible(d))
            .filter_map(|d| {
                let m = evaluator.evaluate(&d, &ctx).ok()?;
                Some((d, config.objective_values(&m)?))
            })
            .collect()
    };
    Ok(Pretrain {
        rows,
        share: settings.share,
    })
}
