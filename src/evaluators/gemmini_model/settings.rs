//! The `[evaluator.gemmini-model]` settings (reference: gemmini_model/evaluator.py:29-45).

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::Coefficients;
use crate::config::Problem;
use crate::workloads::WORKLOADS;

const FIELD: &str = "evaluator.gemmini-model";

/// `workload` (one of [`WORKLOADS`]), `dram_gbps` (DRAM bandwidth, GB/s) and `coefficients` (a
/// coefficients JSON file; the embedded reference fit when absent).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GemminiSettings {
    pub workload: String,
    pub dram_gbps: f64,
    pub coefficients: Option<PathBuf>,
}

impl Default for GemminiSettings {
    fn default() -> Self {
        Self {
            workload: "resnet50".to_string(),
            dram_gbps: 16.0,
            coefficients: None,
        }
    }
}

impl GemminiSettings {
    /// The problems of these settings, with a relative `coefficients` path taken from the
    /// working directory. See [`Self::validate_in`].
    pub fn validate(&self) -> Vec<Problem> {
        self.validate_in(Path::new("."))
    }

    /// The problems of these settings: an unknown workload (naming the shipped ones), a
    /// `dram_gbps` that is not a finite number > 0, a `coefficients` file (relative to
    /// `base_dir`) that is missing or does not parse.
    pub fn validate_in(&self, base_dir: &Path) -> Vec<Problem> {
        let mut problems = Vec::new();
        if !WORKLOADS.contains(&self.workload.as_str()) {
            problems.push(Problem::new(
                format!("{FIELD}.workload"),
                None,
                format!(
                    "must be one of {}. Got '{}'.",
                    WORKLOADS.join(", "),
                    self.workload
                ),
            ));
        }
        if !(self.dram_gbps.is_finite() && self.dram_gbps > 0.0) {
            problems.push(Problem::new(
                format!("{FIELD}.dram_gbps"),
                None,
                format!(
                    "must be a finite number > 0 (GB/s). Got {}.",
                    self.dram_gbps
                ),
            ));
        }
        if let Err(message) = self.load_coefficients(base_dir) {
            problems.push(Problem::new(format!("{FIELD}.coefficients"), None, message));
        }
        problems
    }

    /// The coefficients these settings name (the shipped ones when none), a relative path
    /// taken from `base_dir`.
    pub fn load_coefficients(&self, base_dir: &Path) -> Result<Coefficients, String> {
        match &self.coefficients {
            None => Ok(Coefficients::shipped()),
            Some(path) => Coefficients::from_file(&base_dir.join(path)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_toml() {
        assert_eq!(
            toml::from_str::<GemminiSettings>("").unwrap(),
            GemminiSettings::default()
        );
        let s: GemminiSettings =
            toml::from_str("workload = \"bert-base\"\ndram_gbps = 8.0").unwrap();
        assert_eq!((s.workload.as_str(), s.dram_gbps), ("bert-base", 8.0));
        let err = toml::from_str::<GemminiSettings>("dram_gb = 8.0")
            .unwrap_err()
            .to_string();
        assert!(err.contains("dram_gb"), "{err}");
        assert!(GemminiSettings::default().validate().is_empty());
    }

    #[test]
    fn problems_name_the_field_and_value() {
        let s = GemminiSettings {
            workload: "vgg".into(),
            dram_gbps: 0.0,
            coefficients: Some(PathBuf::from("no/such/coefficients.json")),
        };
        let problems = s.validate();
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "evaluator.gemmini-model.workload",
                "evaluator.gemmini-model.dram_gbps",
                "evaluator.gemmini-model.coefficients"
            ]
        );
        assert!(
            problems[0]
                .message
                .contains("resnet50, mobilenetv2, bert-base")
                && problems[0].message.contains("'vgg'")
        );
        assert!(problems[2].message.contains("no/such/coefficients.json"));
    }

    #[test]
    fn a_relative_coefficients_path_is_taken_from_the_base_dir() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("c.json"),
            include_str!("../../../data/calibration/coefficients_prior.json"),
        )
        .unwrap();
        std::fs::write(dir.path().join("bad.json"), "{}").unwrap();
        let with = |p: &str| GemminiSettings {
            coefficients: Some(PathBuf::from(p)),
            ..GemminiSettings::default()
        };
        assert_eq!(
            with("c.json").load_coefficients(dir.path()).unwrap(),
            Coefficients::prior()
        );
        assert!(
            with("bad.json").validate_in(dir.path())[0]
                .message
                .contains("not a coefficients file")
        );
    }
}
