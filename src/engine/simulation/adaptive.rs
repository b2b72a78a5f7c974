//! Adaptive step control by step doubling: one step of dt against two of dt/2.

use super::*;

impl Simulation {
    /// Copies every plane of `from` into `to`.
    pub(super) fn copy_planes(
        enc: &mut wgpu::CommandEncoder,
        from: &[wgpu::Buffer],
        to: &[wgpu::Buffer],
    ) {
        for (a, b) in from.iter().zip(to) {
            enc.copy_buffer_to_buffer(a, 0, b, 0, a.size());
        }
    }

    /// Step doubling: one step of dt against two of dt/2 from the same state. Accepts the two
    /// half steps (the better answer) when the difference is within the tolerance, relative to
    /// each species' largest value; otherwise restores the state and retries with a smaller
    /// step. Either way the next step is sized from the estimate (first-order controller).
    /// Returns (steps, dispatches, the encoder to continue the batch in).
    pub(super) fn adaptive_step(
        &mut self,
        until: f64,
        tol: f64,
    ) -> Result<(u64, usize, wgpu::CommandEncoder)> {
        let n_scratch = self.planes.scratch.len();
        loop {
            let remaining = until - self.time;
            let cap = self.step_cap();
            let n_total = if cap.is_finite() {
                (remaining / cap * (1.0 - 1e-12)).ceil().max(1.0)
            } else {
                1.0
            };
            let dt = remaining / n_total;
            let orig = self.current;
            let mut enc = self.encoder("probe");
            Self::copy_planes(
                &mut enc,
                &self.planes.sets[orig],
                &self.planes.scratch[n_scratch - 2],
            );
            let per = self.records_per_step();
            let t0 = self.time;
            let mut r = self.encode_steps(&mut enc, 0, 1, dt)?;
            Self::copy_planes(
                &mut enc,
                &self.planes.sets[self.current],
                &self.planes.scratch[n_scratch - 1],
            );
            Self::copy_planes(
                &mut enc,
                &self.planes.scratch[n_scratch - 2],
                &self.planes.sets[orig],
            );
            self.current = orig;
            r += self.encode_steps(&mut enc, per, 2, dt / 2.0)?;
            let flag_bytes = fields::FLAG_WORDS * 4 * self.planes.runs as u64;
            enc.clear_buffer(&self.planes.aux, 0, Some(flag_bytes));
            {
                let groups = self
                    .error_groups
                    .as_ref()
                    .ok_or_else(|| Error::Internal("adaptive step without error kernels".into()))?;
                let mut pass = compute_pass(&mut enc, "exoderm.error");
                pass.set_pipeline(&self.kernels.error);
                pass.set_bind_group(0, &groups[self.current], &[0]);
                let (x, y, z) = self.workgroups();
                pass.dispatch_workgroups(x, y, z);
            }
            enc.copy_buffer_to_buffer(&self.planes.aux, 0, &self.flags_staging, 0, flag_bytes);
            self.queue.submit([enc.finish()]);
            let bytes = fields::map_and_read(&self.device, &self.flags_staging)?;
            let w: &[u32] = bytemuck::cast_slice(&bytes);
            let nspecies = self.scenarios[0].model.species.len();
            let mut err = 0.0f64;
            for (run, words) in w.chunks_exact(fields::FLAG_WORDS as usize).enumerate() {
                if self.failed[run].is_some() {
                    continue;
                }
                for s in (0..nspecies).filter(|&s| self.scenarios[0].model.species[s].is_dynamic())
                {
                    let (e, m) = (
                        f32::from_bits(words[32 + s]) as f64,
                        f32::from_bits(words[48 + s]) as f64,
                    );
                    let scaled = if m > 0.0 {
                        e / (tol * m)
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
            // First-order controller (both schemes are first order once split).
            let factor = if err > 0.0 {
                (0.9 / err.sqrt()).clamp(0.2, 2.0)
            } else {
                2.0
            };
            let floor = 1e-12 * self.scenarios[0].time.end.max(1.0);
            if err <= 1.0 || dt <= floor {
                self.counters.accepted += 1;
                self.error_dt = dt * factor;
                self.time = if n_total <= 1.0 { until } else { t0 + dt };
                return Ok((2, r, self.encoder("steps")));
            }
            self.counters.rejected += 1;
            self.error_dt = dt * factor.min(0.9);
            let mut enc = self.encoder("reject");
            Self::copy_planes(
                &mut enc,
                &self.planes.scratch[n_scratch - 2],
                &self.planes.sets[orig],
            );
            self.queue.submit([enc.finish()]);
            self.current = orig;
            self.counters.dispatches += r as u64;
        }
    }
}
