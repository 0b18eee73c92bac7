//! DiffuSE: a conditional diffusion model of designs given QoR, steered by a QoR predictor.
pub mod model;
pub mod nets;
pub mod scale;
pub mod schedule;
pub mod settings;
