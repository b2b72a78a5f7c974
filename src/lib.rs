//! exoderm: a GPU reaction-diffusion simulator of skin wound healing, ageing and exosome
//! treatment.
//!
//! ```text
//! scenario TOML ──Scenario::parse──▶ Scenario (units resolved, Model built, every expression
//!                                     checked by naga, forced steps checked; file:line errors)
//!        │ .problem()
//!        ▼
//! Problem (model, grid, numerics, seed, events) ── the engine's only input
//!        │
//!        ▼
//! Simulation::new(&gpu, &problem) ── codegen ▶ WGSL ▶ pipelines; fields initialised on the GPU
//!        │
//!        ▼
//! sim.advance(until)   many dispatches per submit, blow-up check + rate probe per batch
//!        │
//!        ▼
//! read_fields / read_metrics at output times ──▶ output::* (CSV, NPY, PNG, run.json)
//! ```
//!
//! The engine borrows a device ([`engine::Gpu`]): the CLI opens a headless one
//! ([`engine::GpuContext`]), the app lends eframe's. Nothing under `engine/`, `model/` or
//! `scenario/` knows about windows, and the engine knows no scenario text: an engine error
//! about a field ([`error::Field`]) is pointed at its line by [`Scenario::locate`].

#[cfg(feature = "gui")]
pub mod app;
pub mod batch;
pub mod bench;
pub mod colormap;
pub mod compare;
pub mod engine;
pub mod error;
pub mod model;
pub mod output;
pub mod presets;
pub mod run;
pub mod scenario;
pub mod units;

pub use engine::{Gpu, GpuContext, Problem, Simulation};
pub use error::{Error, Result};
pub use scenario::Scenario;
