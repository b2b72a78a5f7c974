//! Forward Euler: per step, `m` diffusion-only sub-steps of the fast species (Lie
//! splitting), then the main step (every other species' diffusion and all reactions, one
//! fused kernel). The teaching scheme, and the default for models without stiffness.

use super::{Encoding, Env};
use crate::engine::kernels::Kernel;
use crate::engine::resources::Current;
use crate::engine::uniforms::{MAX_PLANES, StepUniform};
use crate::error::Result;

pub struct Euler;

type Coefficients = ([[f32; 4]; MAX_PLANES], [[f32; 4]; MAX_PLANES]);

impl Euler {
    /// dt/dx², dt/dy² of the species in this pass (the fast ones in sub-steps, the others
    /// in the main step); a single run's D is folded in (its kernel reads none).
    fn coefficients(env: &Env, fast_pass: bool, h: f64) -> Coefficients {
        let (mut cx, mut cy) = ([[0f32; 4]; MAX_PLANES], [[0f32; 4]; MAX_PLANES]);
        let grid = &env.res.grid;
        let fold = env.res.fields.runs == 1;
        for (s, sp) in env.problem.model.species.iter().enumerate() {
            if sp.is_dynamic() && env.plan.fast.contains(&sp.name) == fast_pass {
                let d = if fold { env.problem.diffusion[s] } else { 1.0 };
                cx[s / 4][s % 4] = (d * h / (grid.dx() * grid.dx())) as f32;
                cy[s / 4][s % 4] = (d * h / (grid.dy() * grid.dy())) as f32;
            }
        }
        (cx, cy)
    }

    pub fn encode(
        &self,
        env: &Env,
        e: &mut Encoding,
        current: &mut Current,
        t0: f64,
        n: u64,
        dt: f64,
    ) -> Result<()> {
        let m = env.plan.substeps as usize;
        let (sub_cx, sub_cy) = Self::coefficients(env, true, dt / m as f64);
        let (main_cx, main_cy) = Self::coefficients(env, false, dt);
        let step = env.kernels.get(Kernel::Step)?;
        let mut dispatches = vec![];
        for k in 0..n {
            let t = (t0 + k as f64 * dt) as f32;
            let subs = if m > 1 { m } else { 0 };
            for i in 0..=subs {
                let main = i == subs;
                let rec = StepUniform {
                    t,
                    react_dt: if main { dt as f32 } else { 0.0 },
                    sel: 0,
                    pad0: 0,
                    cx: if main { main_cx } else { sub_cx },
                    cy: if main { main_cy } else { sub_cy },
                };
                let offset = e.records.push(&rec)?;
                dispatches.push((step, &env.res.from[current.index()], offset));
                current.flip();
            }
        }
        e.dispatches += dispatches.len() as u64;
        e.pass(env.res, "exoderm.steps", &dispatches);
        Ok(())
    }
}
