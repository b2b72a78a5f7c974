//! exoderm's integration tests, compiled as one binary. GPU tests run for real (lavapipe in
//! CI, with EXODERM_REQUIRE_GPU=1 so a missing adapter fails instead of skipping).

mod common;

mod ageing;
mod analytic;
mod checkpoint;
mod cli;
mod dosing;
mod events;
mod fuzz;
#[cfg(feature = "gui")]
mod gui;
mod metrics;
mod numerics;
mod pictures;
mod reference;
mod scenario_errors;
mod shaders;
mod stiff;
mod sweep;
mod tissue;
#[cfg(feature = "gui")]
mod views;
mod wound;
