//! Quasi-steady species: solved at every step as D∇²c + R = 0 by warm-started red-black
//! SOR sweeps on the GPU, iterated to a scaled-residual tolerance once per batch.

use super::*;

impl Simulation {
    /// Relaxation factor of the red-black SOR sweeps: optimal for the 5-point Laplacian on
    /// this grid (decay and reactions only make the problem better conditioned).
    pub(super) fn sor_omega(&self) -> f64 {
        let g = &self.scenarios[0].grid;
        // The slowest mode varies along the longer side only (no-flux/periodic sides admit a
        // constant mode along the other), so the Jacobi radius is cos(π / longest side).
        let rho = (std::f64::consts::PI / g.nx.max(g.ny) as f64).cos();
        2.0 / (1.0 + (1.0 - rho * rho).sqrt())
    }

    /// `sweeps` red-black SOR sweeps of the quasi-steady species at the current time, in place
    /// on the current set; records `first` and `first + 1`. Returns the dispatches.
    pub(super) fn encode_qs(
        &mut self,
        enc: &mut wgpu::CommandEncoder,
        first: usize,
        sweeps: usize,
    ) -> usize {
        let Some(pipeline) = &self.kernels.qs else {
            return 0;
        };
        let mut bytes = vec![0u8; self.stride as usize * 2];
        for colour in 0..2 {
            let rec = StepUniform {
                t: self.time as f32,
                react_dt: self.sor_omega() as f32,
                sel: colour,
                ..bytemuck::Zeroable::zeroed()
            };
            self.write_record(&mut bytes, colour as usize, &rec);
        }
        self.upload_records(first, &bytes);
        let mut pass = compute_pass(enc, "exoderm.qs");
        pass.set_pipeline(pipeline);
        // Bind group (1 − current) writes the current set.
        let group = &self.bind_groups[1 - self.current];
        let (x, y, z) = self.workgroups();
        for _ in 0..sweeps {
            for colour in 0..2 {
                pass.set_bind_group(
                    0,
                    group,
                    &[(self.stride * (SERVICE + first + colour) as u64) as u32],
                );
                pass.dispatch_workgroups(x, y, z);
            }
        }
        2 * sweeps
    }

    /// Sweeps the quasi-steady species until the scaled residual of the last sweep,
    /// max |D∇²q + R| / (diagonal · max |q|) (= the largest update / ω), is below
    /// `qs_tolerance` in every run.
    pub(super) fn converge_qs(&mut self) -> Result<()> {
        if self.kernels.qs.is_none() {
            return Ok(());
        }
        let tol = self.scenarios[0].time.qs_tolerance;
        let flag_bytes = fields::FLAG_WORDS * 4 * self.planes.runs as u64;
        let mut sweeps = 0;
        loop {
            let mut enc = self.encoder("qs.converge");
            self.counters.dispatches += self.encode_qs(&mut enc, 0, QS_BLOCK - 1) as u64;
            enc.clear_buffer(&self.planes.aux, 0, Some(flag_bytes));
            self.counters.dispatches += self.encode_qs(&mut enc, 2, 1) as u64;
            enc.copy_buffer_to_buffer(&self.planes.aux, 0, &self.flags_staging, 0, flag_bytes);
            self.queue.submit([enc.finish()]);
            sweeps += QS_BLOCK;
            let bytes = fields::map_and_read(&self.device, &self.flags_staging)?;
            let w: &[u32] = bytemuck::cast_slice(&bytes);
            let omega = self.sor_omega();
            let worst = w
                .chunks_exact(fields::FLAG_WORDS as usize)
                .enumerate()
                .filter(|(run, _)| self.failed[*run].is_none())
                .map(|(_, f)| {
                    let (change, size) = (f32::from_bits(f[4]) as f64, f32::from_bits(f[5]) as f64);
                    if size > 0.0 {
                        change / omega / size
                    } else if change > 0.0 {
                        f64::INFINITY
                    } else {
                        0.0
                    }
                })
                .fold(0.0, f64::max);
            self.qs_change = worst;
            if worst <= tol {
                return Ok(());
            }
            if sweeps >= QS_MAX_SWEEPS || worst.is_nan() {
                let names: Vec<&str> = self.scenarios[0]
                    .model
                    .species
                    .iter()
                    .filter(|s| s.quasi_steady)
                    .map(|s| s.name.as_str())
                    .collect();
                return Err(Error::Stopped(format!(
                    "the quasi-steady solve for `{}` did not converge at t = {} ({sweeps} sweeps, scaled residual {worst:.2e} > qs_tolerance {tol:.1e}); \
                     is its decay (−∂R/∂c) positive and its reaction bounded? A quasi-steady species needs a steady state to exist",
                    names.join("`, `"),
                    format_time(self.time)
                )));
            }
        }
    }

    /// The scaled residual of the last quasi-steady sweep, for reports and tests.
    pub fn qs_change(&self) -> f64 {
        self.qs_change
    }
}
