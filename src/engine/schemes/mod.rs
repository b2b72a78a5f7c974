//! Time schemes, one type each: [`Euler`] (forward Euler, fast species sub-stepped; fixed
//! steps, for teaching) and [`Stabilized`] (RKC or RKL2 on the whole right-hand side, with
//! an embedded error estimate; the default). A scheme encodes its steps into an
//! [`Encoding`] and leaves the state where [`Current`] says; the controller decides the
//! step, the simulation submits.

mod euler;
pub mod stabilized;

pub use euler::Euler;
pub use stabilized::{Family, Stabilized, rkl2_coefficients};

use super::gpu::{Gpu, compute_pass};
use super::kernels::Kernels;
use super::plan::StepPlan;
use super::problem::Problem;
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
    Stabilized(Stabilized),
}

impl Stepper {
    pub fn new(gpu: &Gpu, res: &Resources, kernels: &Kernels, problem: &Problem) -> Stepper {
        match Family::of(problem.numerics.scheme) {
            None => Stepper::Euler(Euler),
            Some(f) => Stepper::Stabilized(Stabilized::new(gpu, res, kernels, f)),
        }
    }

    /// Encodes `n` fixed steps of `dt` from `t0` (Euler; the stabilized schemes are
    /// driven step by step through [`Stabilized`]).
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
            Stepper::Stabilized(_) => Err(crate::error::Error::Internal(
                "stabilized steps are encoded one at a time".into(),
            )),
        }
    }

    /// Step records one step takes.
    pub fn records_per_step(&self, plan: &StepPlan) -> usize {
        match self {
            Stepper::Euler(_) if plan.substeps > 1 => plan.substeps as usize + 1,
            Stepper::Euler(_) => 1,
            Stepper::Stabilized(_) => plan.stages as usize + 2,
        }
    }
}
