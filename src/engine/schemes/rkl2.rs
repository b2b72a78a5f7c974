//! RKL2 (Meyer, Balsara & Aslam 2014): the diffusion by second-order Runge–Kutta–Legendre
//! super-time-stepping — `s` stages, each one dispatch over every plane, rotating through
//! three buffers — then the IMEX reaction pass (reactions linearly implicit in their own
//! decay) writes the result back over the step's start, so [`Current`] does not change.
//! Y0 is the current set; the rotation is A = the other set, B and C the first two
//! scratch sets.

use super::{Encoding, Env};
use crate::engine::gpu::Gpu;
use crate::engine::kernels::{Kernel, Kernels};
use crate::engine::resources::{Current, Resources};
use crate::engine::uniforms::StepUniform;
use crate::error::Result;

/// RKL2 stage coefficients for `s` stages: per stage j = 1..=s, (μ, ν, μ̃, γ̃) in
/// Yj = μ Y(j−1) + ν Y(j−2) + (1 − μ − ν) Y0 + μ̃ τ L(Y(j−1)) + γ̃ τ L(Y0).
pub fn rkl2_coefficients(s: u32) -> Vec<[f64; 4]> {
    let sf = s as f64;
    let w1 = 4.0 / (sf * sf + sf - 2.0);
    let b = |j: u32| -> f64 {
        if j <= 2 {
            1.0 / 3.0
        } else {
            let j = j as f64;
            (j * j + j - 2.0) / (2.0 * j * (j + 1.0))
        }
    };
    let mut out = vec![[1.0, 0.0, b(1) * w1, 0.0]];
    for j in 2..=s {
        let jf = j as f64;
        let mu = (2.0 * jf - 1.0) / jf * b(j) / b(j - 1);
        let nu = -(jf - 1.0) / jf * b(j) / b(j - 2);
        let mut_ = mu * w1;
        let gamma = -(1.0 - b(j - 1)) * mut_;
        out.push([mu, nu, mut_, gamma]);
    }
    out
}

/// Stage pattern for stage j (1-based): 0 for j = 1, 1 for j = 2, then 2 + j % 3.
fn combo(j: u32) -> usize {
    match j {
        1 => 0,
        2 => 1,
        _ => 2 + (j % 3) as usize,
    }
}

/// For a stage pattern: (Y(j−1), Y(j−2), Yj) as rotation indices (A = 0, B = 1, C = 2);
/// `None` is Y0.
fn buffers(combo: usize) -> (Option<usize>, Option<usize>, usize) {
    match combo {
        0 => (None, None, 0),
        1 => (Some(0), None, 1),
        // Stage j ≥ 3 writes rotation (j − 1) % 3 from (j − 2) % 3 and (j − 3) % 3.
        c => {
            let m = c - 2; // j % 3
            (Some((m + 1) % 3), Some(m), (m + 2) % 3)
        }
    }
}

/// Which rotation buffer holds the result of an `s`-stage step.
fn last(s: u32) -> usize {
    buffers(combo(s)).2
}

pub struct Rkl2 {
    /// `stages[p][combo]`: stage bind groups when Y0 is set p.
    stages: [Vec<wgpu::BindGroup>; 2],
    /// `react[p][i]`: reads rotation i, writes set p.
    react: [Vec<wgpu::BindGroup>; 2],
}

impl Rkl2 {
    pub fn new(gpu: &Gpu, res: &Resources, kernels: &Kernels) -> Result<Rkl2> {
        let f = &res.fields;
        let make = |p: usize| {
            let rot = [&f.sets[1 - p], &f.scratch[0], &f.scratch[1]];
            let y0 = &f.sets[p];
            let stages = (0..5)
                .map(|c| {
                    let (y1, y2, yj) = buffers(c);
                    let pick = |i: Option<usize>| i.map_or(y0, |i| rot[i]);
                    let mut entries = res.uniform_entries();
                    for (b, buf) in [(3, y0), (4, pick(y1)), (5, pick(y2)), (6, rot[yj])] {
                        entries.push(wgpu::BindGroupEntry {
                            binding: b,
                            resource: buf.as_entire_binding(),
                        });
                    }
                    gpu.device.create_bind_group(&wgpu::BindGroupDescriptor {
                        label: Some(&format!("exoderm.bind.sts{p}.{c}")),
                        layout: &kernels.stage_layout,
                        entries: &entries,
                    })
                })
                .collect();
            let react = rot
                .iter()
                .enumerate()
                .map(|(i, src)| res.main_group(gpu, kernels, src, y0, &format!("react{p}.{i}")))
                .collect();
            (stages, react)
        };
        let (s0, r0) = make(0);
        let (s1, r1) = make(1);
        Ok(Rkl2 {
            stages: [s0, s1],
            react: [r0, r1],
        })
    }

    /// Per step, `s` stages of the diffusion, then the IMEX reaction pass.
    pub fn encode(
        &self,
        env: &Env,
        e: &mut Encoding,
        current: &mut Current,
        t0: f64,
        n: u64,
        dt: f64,
    ) -> Result<()> {
        let s = env.plan.stages;
        let coefs = rkl2_coefficients(s);
        let grid = &env.res.grid;
        let h = [
            (1.0 / (grid.dx() * grid.dx())) as f32,
            (1.0 / (grid.dy() * grid.dy())) as f32,
            0.0,
            0.0,
        ];
        let (stage, react) = (
            env.kernels.get(Kernel::Stage)?,
            env.kernels.get(Kernel::React)?,
        );
        let p = current.index();
        let mut dispatches = vec![];
        for k in 0..n {
            let t = (t0 + k as f64 * dt) as f32;
            for (j, c) in coefs.iter().enumerate() {
                let mut rec = StepUniform {
                    t,
                    ..bytemuck::Zeroable::zeroed()
                };
                rec.cx[0] = [
                    c[0] as f32,
                    c[1] as f32,
                    (c[2] * dt) as f32,
                    (c[3] * dt) as f32,
                ];
                rec.cy[0] = h;
                let offset = e.records.push(&rec)?;
                dispatches.push((stage, &self.stages[p][combo(j as u32 + 1)], offset));
            }
            let offset = e.records.push(&StepUniform {
                t,
                react_dt: dt as f32,
                ..bytemuck::Zeroable::zeroed()
            })?;
            dispatches.push((react, &self.react[p][last(s)], offset));
        }
        e.dispatches += dispatches.len() as u64;
        e.pass(env.res, "exoderm.rkl2", &dispatches);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every stage reads the two previous stages and never overwrites what a later stage
    /// still needs, for every stage count the planner uses.
    #[test]
    fn the_rotation_keeps_what_later_stages_read() {
        for s in 2..=crate::engine::plan::MAX_STAGES {
            // Which stage each rotation buffer holds (None: not written yet).
            let mut holds = [None::<u32>; 3];
            for j in 1..=s {
                let (y1, y2, yj) = buffers(combo(j));
                let stage_of = |b: Option<usize>| b.map_or(Some(0), |i| holds[i]);
                assert_eq!(stage_of(y1), Some(j - 1), "s = {s}, stage {j}: Y(j-1)");
                if j >= 2 {
                    assert_eq!(
                        stage_of(y2),
                        Some(j.saturating_sub(2)),
                        "s = {s}, stage {j}: Y(j-2)"
                    );
                }
                holds[yj] = Some(j);
            }
            assert_eq!(holds[last(s)], Some(s), "s = {s}: the result");
        }
    }
}
