//! What a run's state is made of between `advance` calls: the work counters and the
//! checkpoint that continues a run bit for bit (serialised by `output::checkpoint`).

use serde::{Deserialize, Serialize};

use super::plan::StepPlan;

/// Work done so far, for progress and throughput reports.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Counters {
    /// Main steps taken.
    pub steps: u64,
    /// Full-grid kernel dispatches (steps + sub-steps), each over every batched run.
    pub dispatches: u64,
    /// Wall time spent stepping (s).
    pub seconds: f64,
    /// Adaptive step control: steps accepted and rejected by the error estimate.
    #[serde(default)]
    pub accepted: u64,
    #[serde(default)]
    pub rejected: u64,
}

/// Everything needed to continue one run exactly where it was (see `output::checkpoint`).
#[derive(Debug, Clone)]
pub struct Checkpoint {
    pub time: f64,
    /// The step the error estimate allows (adaptive control; infinite otherwise).
    pub error_dt: f64,
    /// The measured quasi-steady coupling that sets the SOR ω (1 without such species).
    pub qs_coupling: f64,
    pub plan: StepPlan,
    pub counters: Counters,
    /// Raw vec4 planes of the run (cells × 16 bytes each): the state, then — stabilized
    /// schemes — its low part and the slope F0.
    pub planes: Vec<Vec<u8>>,
    /// The stabilized schemes' error control (step, PI memory, stiffness).
    pub control: Option<super::controller::ErrorControl>,
}
