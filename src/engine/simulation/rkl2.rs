//! The RKL2 scheme: super-time-stepped diffusion (one dispatch per plane and stage, stages
//! rotating through three buffers), then the IMEX reaction pass back into set 0.

use super::*;

/// Bind groups of the RKL2 scheme: per plane, the five stage patterns of
/// [`rkl2_buffers`]; per rotation buffer holding the last stage, the reaction pass.
pub(super) struct Rkl2Groups {
    pub(super) stages: Vec<Vec<wgpu::BindGroup>>,
    pub(super) react: Vec<wgpu::BindGroup>,
}

/// Stage pattern for RKL2 stage j (1-based): 0 for j = 1, 1 for j = 2, then 2 + j % 3.
pub(super) fn rkl2_combo(j: u32) -> usize {
    match j {
        1 => 0,
        2 => 1,
        _ => 2 + (j % 3) as usize,
    }
}

/// For a stage pattern: (Y(j−1), Y(j−2), Yj) as rotation indices (A = 0, B = 1, C = 2);
/// `None` is Y0.
pub(super) fn rkl2_buffers(combo: usize) -> (Option<usize>, Option<usize>, usize) {
    match combo {
        0 => (None, None, 0),
        1 => (Some(0), None, 1),
        // Stage j ≥ 3 writes rotation (j − 1) % 3 from (j − 2) % 3 and (j − 3) % 3.
        c => {
            let m = c - 2; // j % 3
            let out = (m + 2) % 3; // (j − 1) % 3
            (Some((m + 1) % 3), Some(m), out)
        }
    }
}

/// Which rotation buffer holds the result of an `s`-stage RKL2 step.
pub(super) fn rkl2_final(s: u32) -> usize {
    rkl2_buffers(rkl2_combo(s)).2
}

impl Simulation {
    /// RKL2 steps: per step, `s` super-time-stepping stages of the diffusion (each plane its
    /// own dispatch), then the IMEX reaction pass back into set 0. Returns the dispatches.
    pub(super) fn encode_rkl2(
        &mut self,
        enc: &mut wgpu::CommandEncoder,
        first: usize,
        n: u64,
        dt: f64,
    ) -> Result<usize> {
        let (Some(rk), Some(groups)) = (&self.kernels.rkl2, &self.rkl2_groups) else {
            return Err(Error::Internal("RKL2 plan without RKL2 kernels".into()));
        };
        if self.current != 0 {
            return Err(Error::Internal("RKL2 keeps its state in set 0".into()));
        }
        let s = self.plan.stages;
        let coefs = crate::engine::stepper::rkl2_coefficients(s);
        let grid = &self.scenarios[0].grid;
        let h = [
            (1.0 / (grid.dx() * grid.dx())) as f32,
            (1.0 / (grid.dy() * grid.dy())) as f32,
            0.0,
            0.0,
        ];
        let per_step = s as usize + 1;
        let mut bytes = vec![0u8; self.stride as usize * per_step * n as usize];
        for k in 0..n as usize {
            let t = (self.time + k as f64 * dt) as f32;
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
                self.write_record(&mut bytes, k * per_step + j, &rec);
            }
            self.write_record(
                &mut bytes,
                k * per_step + s as usize,
                &StepUniform {
                    t,
                    react_dt: dt as f32,
                    ..bytemuck::Zeroable::zeroed()
                },
            );
        }
        self.upload_records(first, &bytes);
        let (x, y, z) = self.workgroups();
        let mut pass = compute_pass(enc, "exoderm.rkl2");
        let mut dispatches = 0;
        for k in 0..n as usize {
            for j in 1..=s {
                let offset =
                    (self.stride * (SERVICE + first + k * per_step + j as usize - 1) as u64) as u32;
                for (plane, pipeline) in rk.stages.iter().enumerate() {
                    pass.set_pipeline(pipeline);
                    pass.set_bind_group(0, &groups.stages[plane][rkl2_combo(j)], &[offset]);
                    pass.dispatch_workgroups(x, y, z);
                }
                dispatches += 1;
            }
            let offset =
                (self.stride * (SERVICE + first + k * per_step + s as usize) as u64) as u32;
            pass.set_pipeline(&rk.react);
            pass.set_bind_group(0, &groups.react[rkl2_final(s)], &[offset]);
            pass.dispatch_workgroups(x, y, z);
            dispatches += 1;
        }
        Ok(dispatches)
    }
}
