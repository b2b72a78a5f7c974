//! The step controller: each run's [`StepPlan`], the one the batch steps with (the
//! smallest step any run needs), the cap an error estimate puts on it, and how an interval
//! is cut into equal steps so outputs land exactly on their times.

use super::plan::StepPlan;
use super::problem::Problem;
use crate::error::Result;

pub struct Controller {
    /// Each run's own plan.
    pub plans: Vec<StepPlan>,
    /// The plan the batch steps with.
    pub plan: StepPlan,
    /// The step the error estimate allows (infinite without adaptive control).
    pub error_dt: f64,
}

impl Controller {
    /// Plans from no rate measurement yet (the simulation replans once it has checked the
    /// initial state).
    pub fn new(first: &Problem, runs: usize) -> Result<Controller> {
        let placeholder =
            StepPlan::explicit(&first.model, &first.diffusion, &first.grid, None, 0.0)?;
        Ok(Controller {
            plans: vec![placeholder.clone(); runs],
            plan: placeholder,
            error_dt: f64::INFINITY,
        })
    }

    /// The shared plan from the plans of the runs still running (`live[r]`).
    pub fn combine(&mut self, live: &[bool]) {
        let plans: Vec<&StepPlan> = self
            .plans
            .iter()
            .zip(live)
            .filter(|(_, l)| **l)
            .map(|(p, _)| p)
            .collect();
        if let Some(p) = StepPlan::combine(&plans) {
            self.plan = p;
        }
    }

    /// The step the batch may take: the stability plan's, and under adaptive control no
    /// more than the error estimate allows.
    pub fn cap(&self) -> f64 {
        self.plan.dt.min(self.error_dt)
    }

    /// Steps with `dt` from now on, unchecked (numerical experiments); `stages` sets the
    /// RKL2 stage count.
    pub fn force(&mut self, dt: f64, stages: Option<u32>) {
        for p in self.plans.iter_mut().chain(std::iter::once(&mut self.plan)) {
            p.dt = dt;
            p.limited_by = "forced, unchecked (numerical experiment)".into();
            if let Some(s) = stages.filter(|_| p.stages > 0) {
                p.stages = s.max(2);
            }
        }
    }

    /// `remaining` hours cut into equal steps no longer than the cap: (steps, dt).
    pub fn split(&self, remaining: f64) -> (u64, f64) {
        let cap = self.cap();
        let n = if cap.is_finite() {
            (remaining / cap * (1.0 - 1e-12)).ceil().max(1.0) as u64
        } else {
            1
        };
        (n, remaining / n as f64)
    }
}

/// Main steps per batch (and per blow-up check): ~64 M cell-updates, 8..1024 steps, and no
/// more than the records of one submit hold. Depends only on the grid, the batch and the
/// plan, so a run repeats exactly.
pub fn batch_steps(cells: u64, records_per_step: usize) -> u64 {
    let by_cells = ((1u64 << 26) / cells.max(1)).clamp(8, 1024);
    let by_records = (super::records::MAX_RECORDS as u64 / records_per_step as u64).max(1);
    by_cells.min(by_records)
}
