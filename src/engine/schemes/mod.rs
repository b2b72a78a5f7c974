//! Time schemes, one type each: [`Euler`] (forward Euler, fast species sub-stepped) and
//! [`Rkl2`] (RKL2 super-time-stepped diffusion, then IMEX reactions). A scheme encodes
//! `n` steps of `dt` into an [`Encoding`] and leaves the state where [`Current`] says;
//! the step controller (`controller.rs`) decides `dt`, the simulation submits.

mod euler;
mod rkl2;

pub use euler::Euler;
pub use rkl2::{Rkl2, rkl2_coefficients};

use super::gpu::{Gpu, compute_pass};
use super::kernels::Kernels;
use super::plan::StepPlan;
use super::problem::{Problem, Scheme};
use super::records::RecordBatch;
use super::resources::{Current, Resources};
use crate::error::Result;

/// Commands and step records of one submit, and the full-grid dispatches they hold.
pub struct Encoding {
    pub enc: wgpu::CommandEncoder,
    pub records: RecordBatch,
    pub dispatches: u64,
}

impl Encoding {
    pub fn new(gpu: &Gpu, res: &Resources, label: &str) -> Encoding {
        Encoding {
            enc: gpu.encoder(label),
            records: res.records.batch(),
            dispatches: 0,
        }
    }

    /// Uploads the records and submits the commands.
    pub fn submit(self, gpu: &Gpu, res: &Resources) {
        res.records.upload(gpu, &self.records);
        gpu.queue.submit([self.enc.finish()]);
    }

    /// One labelled pass of `dispatches` (pipeline, bind group, dynamic offset), each over
    /// the whole grid of every run.
    pub fn pass(
        &mut self,
        res: &Resources,
        label: &str,
        dispatches: &[(&wgpu::ComputePipeline, &wgpu::BindGroup, u32)],
    ) {
        self.pass_sized(res, label, dispatches, res.workgroups());
    }

    /// [`Encoding::pass`] with `workgroups` of its own (kernels that map threads otherwise).
    pub fn pass_sized(
        &mut self,
        _res: &Resources,
        label: &str,
        dispatches: &[(&wgpu::ComputePipeline, &wgpu::BindGroup, u32)],
        (x, y, z): (u32, u32, u32),
    ) {
        let mut pass = compute_pass(&mut self.enc, label);
        for (pipeline, group, offset) in dispatches {
            pass.set_pipeline(pipeline);
            pass.set_bind_group(0, *group, &[*offset]);
            pass.dispatch_workgroups(x, y, z);
        }
    }
}

/// What a scheme reads while encoding.
pub struct Env<'a> {
    pub gpu: &'a Gpu,
    pub res: &'a Resources,
    pub kernels: &'a Kernels,
    pub plan: &'a StepPlan,
    /// The batch's first run (a single run folds its D into the records).
    pub problem: &'a Problem,
}

/// The scheme a simulation steps with.
pub enum Stepper {
    Euler(Euler),
    Rkl2(Rkl2),
}

impl Stepper {
    pub fn new(
        gpu: &Gpu,
        res: &Resources,
        kernels: &Kernels,
        problem: &Problem,
    ) -> Result<Stepper> {
        Ok(match problem.numerics.scheme {
            Scheme::Explicit => Stepper::Euler(Euler),
            Scheme::Rkl2 => Stepper::Rkl2(Rkl2::new(gpu, res, kernels)?),
        })
    }

    /// Encodes `n` steps of `dt` from `t0`.
    pub fn encode(
        &self,
        env: &Env,
        e: &mut Encoding,
        current: &mut Current,
        t0: f64,
        n: u64,
        dt: f64,
    ) -> Result<()> {
        match self {
            Stepper::Euler(s) => s.encode(env, e, current, t0, n, dt),
            Stepper::Rkl2(s) => s.encode(env, e, current, t0, n, dt),
        }
    }

    /// Step records one step takes.
    pub fn records_per_step(&self, plan: &StepPlan) -> usize {
        match self {
            Stepper::Euler(_) if plan.substeps > 1 => plan.substeps as usize + 1,
            Stepper::Euler(_) => 1,
            Stepper::Rkl2(_) => plan.stages as usize + 1,
        }
    }
}
