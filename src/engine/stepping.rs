//! What every step needs on the GPU, owned together: the device, pipelines, buffers, the
//! time scheme, the quasi-steady solver and which set is current. The simulation decides
//! when and how far to step; this encodes the steps.

use super::checkpoint::Counters;
use super::gpu::Gpu;
use super::kernels::Kernels;
use super::plan::StepPlan;
use super::problem::Problem;
use super::quasi_steady::{self, QsSolver};
use super::resources::{Current, Resources};
use super::schemes::{Encoding, Env, Stepper};
use crate::error::Result;

pub struct Core {
    pub gpu: Gpu,
    pub kernels: Kernels,
    pub res: Resources,
    pub stepper: Stepper,
    pub qs: Option<QsSolver>,
    pub current: Current,
}

impl Core {
    /// Records one step takes: the scheme's, and two (red, black) for the quasi-steady
    /// sweeps after it.
    pub fn records_per_step(&self, plan: &StepPlan) -> usize {
        self.stepper.records_per_step(plan) + if self.qs.is_some() { 2 } else { 0 }
    }

    /// Encodes `n` steps of `dt` from `t0`; with quasi-steady species, each step is followed
    /// by a few SOR sweeps of their solve at the step's end.
    pub fn encode_steps(
        &mut self,
        e: &mut Encoding,
        plan: &StepPlan,
        problem: &Problem,
        t0: f64,
        n: u64,
        dt: f64,
    ) -> Result<()> {
        let env = Env {
            gpu: &self.gpu,
            res: &self.res,
            kernels: &self.kernels,
            plan,
            problem,
        };
        let Some(qs) = &mut self.qs else {
            return self.stepper.encode(&env, e, &mut self.current, t0, n, dt);
        };
        for k in 0..n {
            let t = t0 + k as f64 * dt;
            self.stepper.encode(&env, e, &mut self.current, t, 1, dt)?;
            qs.encode(
                &self.res,
                &self.kernels,
                e,
                self.current,
                t + dt,
                quasi_steady::SWEEPS_PER_STEP,
            )?;
        }
        qs.add_debt(n);
        Ok(())
    }

    /// Quasi-steady work at time `t`: one deferred block (`converge` false) or sweeps to
    /// convergence. Returns whether the solve is converged (trivially without such species).
    pub fn qs_step(
        &mut self,
        t: f64,
        live: &[bool],
        converge: bool,
        counters: &mut Counters,
    ) -> Result<bool> {
        let Some(qs) = self.qs.as_mut() else {
            return Ok(true);
        };
        let (gpu, res, kernels) = (&self.gpu, &self.res, &self.kernels);
        if converge {
            counters.dispatches += qs.converge(gpu, res, kernels, self.current, t, live)?;
            return Ok(true);
        }
        let sweeps = qs.deferred_block();
        let (done, d) = qs.block(gpu, res, kernels, self.current, t, sweeps, live)?;
        counters.dispatches += d;
        Ok(done)
    }
}
