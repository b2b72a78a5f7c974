//! Quasi-steady species: solved at every step as D∇²c + R = 0 by warm-started red-black
//! SOR sweeps on the GPU, iterated to a scaled-residual tolerance once per batch.

use super::*;

impl Simulation {
    /// Relaxation factor of the red-black SOR sweeps, 2 / (1 + √(1 − ρ²)) with ρ the Jacobi
    /// radius: for the 5-point Laplacian on this grid, the slowest mode varies along the
    /// longer side only (no-flux/periodic sides admit a constant mode along the other), so
    /// ρ = cos(π / longest side); decay shrinks it by the measured coupling share of the
    /// diagonal (the largest over the grid, so ρ is not underestimated: an ω above the
    /// optimum costs a little, one below it a lot). A growth factor decaying in minutes
    /// on a fine grid converges ~3× faster than with the pure-Laplacian ω.
    pub(super) fn sor_omega(&self) -> f64 {
        let g = &self.scenarios[0].grid;
        let rho = (std::f64::consts::PI / g.nx.max(g.ny) as f64).cos() * self.qs_coupling;
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
        // One colour at a time: half the columns (see codegen::qs_module).
        let (_, y, z) = self.workgroups();
        let x = self.scenarios[0]
            .grid
            .nx
            .div_ceil(2)
            .div_ceil(super::WORKGROUP.0);
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
        while !self.qs_block(QS_BLOCK)? {}
        Ok(())
    }

    /// One block of `sweeps` sweeps, then the residual check. Returns whether the solve has
    /// converged (trivially so without quasi-steady species); an error when it will not.
    pub(super) fn qs_block(&mut self, sweeps: usize) -> Result<bool> {
        if self.kernels.qs.is_none() {
            self.qs_debt = 0;
            return Ok(true);
        }
        let tol = self.scenarios[0].time.qs_tolerance;
        let flag_bytes = fields::FLAG_WORDS * 4 * self.planes.runs as u64;
        let mut enc = self.encoder("qs.converge");
        self.counters.dispatches += self.encode_qs(&mut enc, 0, sweeps - 1) as u64;
        enc.clear_buffer(&self.planes.aux, 0, Some(flag_bytes));
        self.counters.dispatches += self.encode_qs(&mut enc, 2, 1) as u64;
        enc.copy_buffer_to_buffer(&self.planes.aux, 0, &self.flags_staging, 0, flag_bytes);
        self.queue.submit([enc.finish()]);
        self.qs_sweeps += sweeps;
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
        let coupling = w
            .chunks_exact(fields::FLAG_WORDS as usize)
            .enumerate()
            .filter(|(run, _)| self.failed[*run].is_none())
            .map(|(_, f)| f32::from_bits(f[6]) as f64)
            .fold(0.0, f64::max);
        if coupling > 0.0 && coupling <= 1.0 {
            self.qs_coupling = coupling;
        }
        // Near f32's floor (a few 1e-7: rounding in the residual of values ~1) the residual
        // wanders instead of falling; within 10× the tolerance, no 10% gain over 128 sweeps
        // means the floor is reached, and that is as converged as f32 gets.
        if worst < 10.0 * tol {
            if worst < 0.9 * self.qs_best {
                self.qs_best = worst;
                self.qs_stall = 0;
            } else {
                self.qs_stall += sweeps;
            }
        }
        if worst <= tol || self.qs_stall >= QS_STALL_SWEEPS {
            self.qs_debt = 0;
            self.qs_sweeps = 0;
            self.qs_best = f64::INFINITY;
            self.qs_stall = 0;
            return Ok(true);
        }
        if self.qs_sweeps >= QS_MAX_SWEEPS || worst.is_nan() {
            let names: Vec<&str> = self.scenarios[0]
                .model
                .species
                .iter()
                .filter(|s| s.quasi_steady)
                .map(|s| s.name.as_str())
                .collect();
            return Err(Error::Stopped(format!(
                "the quasi-steady solve for `{}` did not converge at t = {} ({} sweeps, scaled residual {worst:.2e} > qs_tolerance {tol:.1e}); \
                 is its decay (−∂R/∂c) positive and its reaction bounded? A quasi-steady species needs a steady state to exist",
                names.join("`, `"),
                format_time(self.time),
                self.qs_sweeps,
            )));
        }
        Ok(false)
    }

    /// Sweeps per block under [`QsPace::Deferred`]: about 2^18 cell-sweeps (a few ms on a
    /// CPU Vulkan driver), 2 to [`QS_BLOCK`].
    pub(super) fn deferred_block(&self) -> usize {
        let cells = self.scenarios[0].grid.cells() * self.planes.runs as u64;
        ((1u64 << 18) / cells.max(1)).clamp(2, QS_BLOCK as u64) as usize
    }

    /// Interactively (after the initial conditions, an intervention or a restore): the
    /// quasi-steady species must answer to the new state before the next step (and while
    /// paused). Batch runs converge every batch anyway.
    pub(super) fn owe_qs(&mut self) {
        if self.qs_pace == QsPace::Deferred && self.kernels.qs.is_some() {
            self.qs_debt = self.qs_debt.max(ADAPTIVE_BATCH);
        }
    }

    /// Chooses when quasi-steady solves are finished (batch runs: [`QsPace::EveryAdvance`]).
    pub fn set_qs_pace(&mut self, pace: QsPace) {
        self.qs_pace = pace;
    }

    /// Whether the quasi-steady solve is converged now (always, without such species).
    pub fn qs_settled(&self) -> bool {
        self.qs_debt == 0
    }

    /// Under [`QsPace::Deferred`], one block of sweeps towards a converged quasi-steady solve
    /// if one is owed; returns whether the state is converged (call until it is before
    /// reading results that must be exact, or use [`Simulation::finish_qs`]).
    pub fn settle_qs(&mut self) -> Result<bool> {
        if self.qs_debt == 0 {
            return Ok(true);
        }
        self.qs_block(self.deferred_block())
    }

    /// Converges the quasi-steady solve now if it is owed (before a checkpoint).
    pub fn finish_qs(&mut self) -> Result<()> {
        if self.qs_debt > 0 {
            self.converge_qs()?;
        }
        Ok(())
    }

    /// The scaled residual of the last quasi-steady sweep, for reports and tests.
    pub fn qs_change(&self) -> f64 {
        self.qs_change
    }
}
