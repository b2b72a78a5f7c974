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

/// Error-controlled stepping of the stabilized schemes: each step's embedded error estimate
/// (scaled per species by atol + rtol·|Y|) is taken per unit step — multiplied by the run's
/// length over the step — so the local errors of a run add up to about rtol at its end
/// and the end error falls in proportion to the tolerance; a PI controller (Gustafsson
/// 1991) sizes the next step from it, growing it back as the dynamics slow down.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ErrorControl {
    /// The next step to try (h).
    pub dt: f64,
    /// The last accepted step's error (the PI controller's memory).
    pub e_prev: f64,
    /// The spectral radius of ∂F/∂Y (1/h) the stage counts are chosen for.
    pub rho: f64,
    /// A bound on the reactions' Jacobian (1/h), measured with ρ: sets the error
    /// estimate's f32 noise floor.
    #[serde(default)]
    pub reaction_rate: f64,
    /// The fastest advection across a cell face (cells per hour, 1/h), measured with ρ:
    /// steps stay within [`ADVECTION_CFL`] / this.
    #[serde(default)]
    pub advect_rate: f64,
    /// Accepted steps since ρ was measured; `None`: measure before the next step.
    pub since_rho: Option<u32>,
    /// Consecutive rejections.
    pub rejects: u32,
    /// Which slope buffer holds F0, and whether it is F(Y) of the current state.
    pub f: usize,
    pub fsal: bool,
    /// Per run, what each species has done so far, over the grid and over time: its error
    /// scale ([`Seen::scale`](super::problem::Seen::scale)) — never shrinking, so a transient
    /// that has died away does not hold its remnant to the same absolute accuracy.
    #[serde(default)]
    pub seen: Vec<Vec<Option<super::problem::Seen>>>,
    /// Per species, how long its errors persist (h): the run's length, or 1/its slowest
    /// own decay where it decays everywhere (the largest over the runs).
    #[serde(default)]
    pub memory: Vec<f64>,
    /// The error a step must stay below (≥ 1): raised where f32 rounding in the estimate
    /// exceeds what the tolerance asks for (see `stabilized_driver`), and relaxed back.
    #[serde(default = "one")]
    pub floor: f64,
    /// The largest floor of the run, for run.json.
    #[serde(default = "one")]
    pub floor_max: f64,
    /// The last rejection (start, step, error), to tell rounding noise from truncation.
    #[serde(default)]
    pub last_reject: Option<(f64, f64, f64)>,
    /// The species whose error set the last step.
    pub limited_by: String,
    /// A step (and stage count) forced with no error or stability control, for numerical
    /// experiments ([`Simulation::force_step_unchecked`](super::Simulation::force_step_unchecked)).
    #[serde(default)]
    pub forced: Option<(f64, Option<u32>)>,
}

/// The most a floor is raised: f32 rounding of the estimate beyond a thousand times the
/// tolerance (rtol ≥ 1e-6) is not rounding but a real error.
const MAX_FLOOR: f64 = 1e3;
/// Per accepted step, a raised floor falls back towards 1 by this factor.
const FLOOR_RELAX: f64 = 0.98;

fn one() -> f64 {
    1.0
}

/// What a run's error control measured against, for reports.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Tolerances {
    /// Each species' absolute tolerance at the end (its units).
    pub atol: Vec<f64>,
    /// How long each species' errors persist (h): the run, or 1/its slowest own decay.
    pub memory_h: Vec<f64>,
    /// The largest factor by which f32 rounding in the error estimate raised the
    /// tolerance (1: never).
    pub raised_by: f64,
}

/// The most cells advection may cross in one step. Upwinded fluxes in a stabilized
/// Runge–Kutta step are stable below about one; half leaves room for the velocity to grow
/// between measurements (the error control catches the rest).
pub const ADVECTION_CFL: f64 = 0.5;

/// Steps between spectral-radius measurements (the power iteration costs ~10 products).
pub const RHO_EVERY: u32 = 25;
const SAFETY: f64 = 0.9;
/// The controlled error scales as τ² (an O(τ³) estimate per unit step): PI exponents 0.7/2
/// and 0.4/2.
const ALPHA: f64 = 0.35;
const BETA: f64 = 0.2;

impl ErrorControl {
    pub fn new(dt: f64) -> ErrorControl {
        ErrorControl {
            seen: vec![],
            memory: vec![],
            floor: 1.0,
            floor_max: 1.0,
            last_reject: None,
            dt,
            e_prev: 1.0,
            rho: 0.0,
            reaction_rate: 0.0,
            advect_rate: 0.0,
            since_rho: None,
            rejects: 0,
            f: 0,
            fsal: false,
            limited_by: String::new(),
            forced: None,
        }
    }

    /// Whether a step of `dt` from `t0` whose largest error is `e` (1 = the tolerance) is
    /// accepted. A truncation error per unit step falls like dt²; when a retry at a smaller
    /// step (small next to the reactions) did not even fall in proportion to it, what the estimate sees is f32 rounding
    /// (of the reactions, of boundary values), which no step removes: the step is accepted
    /// and the floor raised to that level (the tolerance asked for is below what f32 can
    /// deliver here; run.json reports it), then relaxed a little with every accepted step.
    pub fn passes(&mut self, t0: f64, dt: f64, e: f64) -> bool {
        if e <= self.floor {
            self.last_reject = None;
            self.floor = (self.floor * FLOOR_RELAX).max(1.0);
            return true;
        }
        // Only where steps are small next to the reactions' time scale (dt·|∂R/∂Y| ≤ 1):
        // a step too large for the dynamics has an error that saturates too.
        if let Some((t, d, e0)) = self.last_reject
            && t == t0
            && dt < d
            && dt * self.reaction_rate <= 1.0
            && e <= MAX_FLOOR
            && e > e0 * (dt / d)
        {
            self.floor = 1.25 * e;
            self.floor_max = self.floor_max.max(self.floor);
            self.last_reject = None;
            return true;
        }
        self.last_reject = Some((t0, dt, e));
        false
    }

    /// Run `r`'s species scales (0 where nothing was seen yet), at tolerance `rtol`.
    pub fn scales(&self, r: usize, rtol: f64) -> Vec<f64> {
        self.seen.get(r).map_or(vec![], |seen| {
            seen.iter()
                .enumerate()
                .map(|(s, x)| {
                    let memory = self.memory.get(s).copied().unwrap_or(0.0);
                    x.map_or(0.0, |x| x.scale(memory, rtol))
                })
                .collect()
        })
    }

    /// A run of the batch stopped: what it made the others share (its stiffness, its
    /// errors, a raised floor) is measured again without it.
    pub fn run_stopped(&mut self) {
        self.since_rho = None;
        self.floor = 1.0;
        self.last_reject = None;
        self.rejects = 0;
    }

    /// After an accepted step with error `e` (≤ 1): the next step.
    pub fn accept(&mut self, dt: f64, e: f64) {
        let e = e.max(1e-10);
        let factor = SAFETY * e.powf(-ALPHA) * self.e_prev.powf(BETA);
        self.dt = dt * factor.clamp(0.2, 5.0);
        self.e_prev = e;
        self.rejects = 0;
        self.since_rho = self.since_rho.map(|n| n + 1);
        if self.since_rho.is_some_and(|n| n >= RHO_EVERY) {
            self.since_rho = None;
        }
    }

    /// After a rejected step with error `e` (> 1, or ∞ for a non-finite state).
    pub fn reject(&mut self, dt: f64, e: f64) {
        let factor = if e.is_finite() {
            SAFETY * e.powf(-1.0 / 2.0)
        } else {
            0.25
        };
        self.dt = dt * factor.clamp(0.1, 0.9);
        self.rejects += 1;
        // Repeated rejections may mean the stiffness grew: measure it again.
        if self.rejects >= 2 {
            self.since_rho = None;
        }
    }

    /// The step to take towards `until` from `t`: the controller's, cut so the last steps
    /// before `until` are even (no sliver of a step at an output time).
    pub fn step_towards(&self, t: f64, until: f64, forced: Option<f64>) -> f64 {
        let left = until - t;
        let cfl = if self.advect_rate > 0.0 {
            ADVECTION_CFL / self.advect_rate
        } else {
            f64::INFINITY
        };
        let dt = forced.unwrap_or(self.dt.min(cfl));
        if dt >= left * (1.0 - 1e-12) {
            left
        } else if dt > 0.5 * left {
            0.5 * left
        } else {
            dt
        }
    }
}
