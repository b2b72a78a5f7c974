//! How to simulate, knowing no biology, no UI and no scenario text. The input is a
//! [`Problem`] (model, grid, numerics, seed, events), built outside the engine; the output
//! is fields and metrics read back on request.
//!
//! ```text
//! Problem ──codegen──▶ WGSL (common + model part + kernel templates) ──kernels──▶ pipelines
//!    │                                                                    │
//!    └──resources──▶ field sets, aux, records, bind groups (built once) ◀─┘
//!                          │
//! Simulation::advance ─────┤ controller (step plan) · schemes (Euler | RKL2) · quasi_steady
//!                          │ adaptive (step doubling) · monitor (blow-up, rate probe)
//!                          │ events (deposits, parameter changes)
//!                          ▼
//!               read_fields / read_metrics / checkpoint
//! ```

pub mod adaptive;
pub mod checkpoint;
pub mod codegen;
pub mod context;
pub mod controller;
pub mod events;
pub mod gpu;
pub mod kernels;
pub mod layout;
pub mod maps;
pub mod metrics;
pub mod monitor;
pub mod plan;
pub mod problem;
pub mod quasi_steady;
pub mod records;
pub mod reference;
pub mod resources;
pub mod runs;
pub mod schemes;
pub mod simulation;
pub mod stabilized_driver;
pub mod stepping;
pub mod uniforms;

pub use context::GpuContext;
pub use gpu::Gpu;
pub use problem::{Action, Amounts, BatchKey, Boundary, Event, Grid, Numerics, Problem, Scheme};
pub use quasi_steady::QsPace;
pub use simulation::{Checkpoint, Counters, Simulation};
