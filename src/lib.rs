//! exoderm: a GPU reaction-diffusion simulator of skin wound healing, ageing and exosome
//! treatment.
//!
//! ```text
//! scenario TOML ──Scenario::parse──▶ Scenario (units resolved, Model built, expressions
//!                                     checked by naga)
//!        │
//!        ▼
//! Simulation::new(&device, &queue, ..) ── codegen ▶ WGSL ▶ pipelines; fields initialised
//!        │                                               on the GPU from the expressions
//!        ▼
//! sim.advance(until)   many dispatches per submit, blow-up check + rate probe per batch
//!        │
//!        ▼
//! read_fields / read_metrics at output times ──▶ output::* (CSV, NPY, PNG, run.json)
//! ```
//!
//! The engine borrows a `wgpu::Device`: the CLI opens a headless one
//! ([`engine::GpuContext`]); nothing under `engine/`, `model/` or `scenario/` knows about
//! windows.

#[cfg(feature = "gui")]
pub mod app;
pub mod batch;
pub mod bench;
pub mod engine;
pub mod error;
pub mod model;
pub mod output;
pub mod presets;
pub mod run;
pub mod scenario;
pub mod units;

pub use engine::{GpuContext, Simulation};
pub use error::{Error, Result};
pub use scenario::Scenario;
