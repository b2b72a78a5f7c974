//! Adaptive step control by step doubling: one step of dt against two of dt/2 from the same
//! state. The two half steps (the better answer) are accepted when they differ from the
//! full step by less than the tolerance, relative to each species' largest value; otherwise
//! the state is restored and the step retried smaller. Either way the next step is sized
//! from the estimate (a first-order controller: both schemes are first order once split).
//!
//! Two scratch sets hold the saved state and the full step's result.

use super::controller::Controller;
use super::kernels::{Kernel, Kernels};
use super::layout::{self, RunFlags};
use super::problem::Problem;
use super::resources::Resources;
use super::schemes::Encoding;
use super::stepping::Core;
use crate::error::Result;

pub struct StepDoubling {
    tolerance: f64,
    /// Error pass reading set s (the two half steps) against the full step's copy.
    groups: [wgpu::BindGroup; 2],
}

/// One probe's outcome.
pub struct Probe {
    /// Main steps encoded (the two half steps of an accepted probe).
    pub steps: u64,
    pub dispatches: u64,
    pub accepted: u64,
    pub rejected: u64,
    /// The clock after the accepted probe.
    pub time: f64,
}

impl StepDoubling {
    pub fn new(core: &Core, tolerance: f64) -> StepDoubling {
        let (gpu, res, kernels) = (&core.gpu, &core.res, &core.kernels);
        let x = full_step(res);
        StepDoubling {
            tolerance,
            groups: [0, 1].map(|s| {
                res.main_group(gpu, kernels, &res.fields.sets[s], x, &format!("error{s}"))
            }),
        }
    }

    /// Probes from `time` towards `until` until a step is accepted. `live[r]`: run r still
    /// runs (stopped runs do not vote).
    pub fn step(
        &self,
        core: &mut Core,
        ctl: &mut Controller,
        problem: &Problem,
        time: f64,
        until: f64,
        live: &[bool],
    ) -> Result<Probe> {
        let mut out = Probe {
            steps: 0,
            dispatches: 0,
            accepted: 0,
            rejected: 0,
            time,
        };
        loop {
            let (n_total, dt) = ctl.split(until - time);
            let plan = ctl.plan.clone();
            let orig = core.current;
            let mut e = Encoding::new(&core.gpu, &core.res, "probe");
            Resources::copy_set(
                &mut e.enc,
                &core.res.fields.sets[orig.index()],
                saved_state(&core.res),
            );
            core.encode_steps(&mut e, &plan, problem, time, 1, dt)?;
            Resources::copy_set(
                &mut e.enc,
                &core.res.fields.sets[core.current.index()],
                full_step(&core.res),
            );
            Resources::copy_set(
                &mut e.enc,
                saved_state(&core.res),
                &core.res.fields.sets[orig.index()],
            );
            core.current = orig;
            core.encode_steps(&mut e, &plan, problem, time, 2, dt / 2.0)?;
            let runs = core.res.fields.runs;
            e.enc
                .clear_buffer(&core.res.fields.aux, 0, Some(layout::flag_bytes(runs)));
            let error = core.kernels.get(Kernel::Error)?;
            e.pass(
                &core.res,
                "exoderm.error",
                &[(error, &self.groups[core.current.index()], 0)],
            );
            e.enc.copy_buffer_to_buffer(
                &core.res.fields.aux,
                0,
                &core.res.flags_staging,
                0,
                layout::flag_bytes(runs),
            );
            let dispatches = e.dispatches;
            e.submit(&core.gpu, &core.res);
            let bytes = super::gpu::map_and_read(&core.gpu.device, &core.res.flags_staging)?;
            let err = self.scaled_error(bytemuck::cast_slice(&bytes), problem, live);
            let factor = if err > 0.0 {
                (0.9 / err.sqrt()).clamp(0.2, 2.0)
            } else {
                2.0
            };
            let floor = 1e-12 * problem.numerics.end.max(1.0);
            if err <= 1.0 || dt <= floor {
                out.accepted += 1;
                out.steps += 2;
                out.dispatches += dispatches;
                ctl.error_dt = dt * factor;
                out.time = if n_total <= 1 { until } else { time + dt };
                return Ok(out);
            }
            out.rejected += 1;
            out.dispatches += dispatches;
            ctl.error_dt = dt * factor.min(0.9);
            let mut e = Encoding::new(&core.gpu, &core.res, "reject");
            Resources::copy_set(
                &mut e.enc,
                saved_state(&core.res),
                &core.res.fields.sets[orig.index()],
            );
            e.submit(&core.gpu, &core.res);
            core.current = orig;
        }
    }
}

impl StepDoubling {
    /// The largest error of a stepped species over the live runs, relative to the
    /// tolerance times the species' largest value (∞ where the value is 0 but the error not,
    /// or where it is NaN).
    fn scaled_error(&self, words: &[u32], problem: &Problem, live: &[bool]) -> f64 {
        let species = &problem.model.species;
        let mut err = 0.0f64;
        for (f, _) in RunFlags::split(words).zip(live).filter(|(_, l)| **l) {
            for s in (0..species.len()).filter(|&s| species[s].is_dynamic()) {
                let (e, m) = f.error(s);
                let scaled = if m > 0.0 {
                    e / (self.tolerance * m)
                } else if e > 0.0 {
                    f64::INFINITY
                } else {
                    0.0
                };
                err = err.max(if scaled.is_nan() {
                    f64::INFINITY
                } else {
                    scaled
                });
            }
        }
        err
    }
}

/// The scratch set holding the state a probe started from.
fn saved_state(res: &Resources) -> &wgpu::Buffer {
    let s = &res.fields.scratch;
    &s[s.len() - 2]
}

/// The scratch set holding the full step's result.
fn full_step(res: &Resources) -> &wgpu::Buffer {
    let s = &res.fields.scratch;
    &s[s.len() - 1]
}

/// Whether `kernels` can run step doubling.
pub fn available(kernels: &Kernels) -> bool {
    kernels.has(Kernel::Error)
}
