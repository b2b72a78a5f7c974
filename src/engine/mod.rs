//! How to simulate, knowing nothing of biology or UI: a [`Model`](crate::model::Model)
//! becomes WGSL (`codegen`), pipelines (`pipeline`), GPU fields (`fields`) and a time-stepped
//! [`Simulation`] (`simulation`, with the step chosen by `stepper`).

pub mod codegen;
pub mod context;
pub mod events;
pub mod fields;
pub mod pipeline;
pub mod reference;
pub mod render;
pub mod simulation;
pub mod stepper;
pub mod uniforms;

pub use context::GpuContext;
pub use simulation::{QsPace, Simulation};
