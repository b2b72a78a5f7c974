//! Quasi-steady species: not stepped in time but solved as D∇²c + R = 0 by warm-started
//! red-black SOR sweeps on the GPU — a few after every step, and to a scaled-residual
//! tolerance once per batch (or, interactively, in short blocks spread over frames).

use super::gpu::Gpu;
use super::kernels::{Kernel, Kernels};
use super::layout::{self, RunFlags};
use super::problem::Problem;
use super::resources::{Current, Resources};
use super::schemes::Encoding;
use super::uniforms::StepUniform;
use crate::error::{Error, Result};
use crate::units::format_time;

/// SOR sweeps after every step (warm-started; the solve is finished to tolerance at the end
/// of each batch).
pub const SWEEPS_PER_STEP: usize = 4;
/// Sweeps between convergence checks, and the most before giving up.
const BLOCK: usize = 32;
const MAX_SWEEPS: usize = 200_000;
/// Sweeps without progress, within 10× the tolerance, that count as reaching f32's floor.
const STALL_SWEEPS: usize = 128;
/// Steps between convergence checks under [`QsPace::Deferred`] (as a batch run's batches).
pub const CHECK_EVERY: u64 = 15;

/// When the quasi-steady species are iterated to tolerance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QsPace {
    /// At the end of every `advance` and of every batch inside it (batch runs: every output
    /// is converged).
    #[default]
    EveryAdvance,
    /// Interactive: after every [`CHECK_EVERY`] steps, as in a batch run, but one short
    /// block of sweeps per `advance` call (which then does not step), so no call takes
    /// much longer than a step. The app uses it to keep frames short.
    Deferred,
}

/// The solver's state between sweeps.
pub struct QsSolver {
    pub pace: QsPace,
    /// `groups[set][rate]`: sweeps the state in `set`, keeping rates in rate buffer `rate`.
    groups: [[wgpu::BindGroup; 2]; 2],
    /// While a step's solve is under way, its rate buffer and 1/τ (0: keep no rate).
    rate: (usize, f64),
    tolerance: f64,
    /// Largest share of the diagonal that couples to neighbours, measured by the last
    /// convergence check (1 until measured; < 1 where the species decays).
    pub coupling: f64,
    /// Scaled residual of the last checked sweep.
    change: f64,
    /// Steps since the solve was last converged, and sweeps spent since.
    debt: u64,
    sweeps: usize,
    /// The best residual so far and the sweeps since it last improved by 10%.
    best: f64,
    stall: usize,
    longest_side: u32,
    cells: u64,
    names: Vec<String>,
}

impl QsSolver {
    /// A solver for `problem`'s quasi-steady species; `None` when it has none. `rates`:
    /// the stabilized scheme's two slope buffers, whose quasi-steady slots keep each
    /// species' rate (Euler keeps none).
    pub fn new(
        gpu: &Gpu,
        res: &Resources,
        kernels: &Kernels,
        problem: &Problem,
        pace: QsPace,
        rates: Option<[&wgpu::Buffer; 2]>,
    ) -> Option<QsSolver> {
        let runs = res.fields.runs;
        let names: Vec<String> = problem
            .model
            .species
            .iter()
            .filter(|s| s.quasi_steady)
            .map(|s| s.name.clone())
            .collect();
        if names.is_empty() {
            return None;
        }
        // Euler keeps no rates: a small buffer stands in (the kernel never writes it).
        let none = gpu.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("exoderm.qs.no_rate"),
            size: 16,
            usage: wgpu::BufferUsages::STORAGE,
            mapped_at_creation: false,
        });
        let rates = rates.unwrap_or([&none, &none]);
        let groups = [0, 1].map(|set| {
            [0, 1].map(|r| {
                res.group(
                    gpu,
                    &kernels.qs_layout,
                    &[
                        (4, &res.fields.sets[set]),
                        (5, &res.fields.aux),
                        (6, rates[r]),
                    ],
                    &format!("qs{set}.{r}"),
                )
            })
        });
        Some(QsSolver {
            pace,
            groups,
            rate: (0, 0.0),
            tolerance: problem.numerics.qs_tolerance,
            coupling: 1.0,
            change: 0.0,
            debt: 0,
            sweeps: 0,
            best: f64::INFINITY,
            stall: 0,
            longest_side: problem.grid.nx.max(problem.grid.ny),
            cells: problem.grid.cells() * runs as u64,
            names,
        })
    }

    /// From now until the solve converges, sweeps add their change / τ to the rates in
    /// buffer `rate` (a stabilized step of τ has just committed its predictor).
    pub fn track(&mut self, rate: usize, tau: f64) {
        self.rate = (rate, 1.0 / tau);
    }

    /// Relaxation factor 2 / (1 + √(1 − ρ²)) with ρ the Jacobi radius: for the 5-point
    /// Laplacian the slowest mode varies along the longer side only (no-flux/periodic sides
    /// admit a constant mode along the other), so ρ = cos(π / longest side); decay shrinks it
    /// by the measured coupling share of the diagonal (the largest over the grid, so ρ is not
    /// underestimated: an ω above the optimum costs a little, one below it a lot).
    pub fn omega(&self) -> f64 {
        let rho = (std::f64::consts::PI / self.longest_side as f64).cos() * self.coupling;
        2.0 / (1.0 + (1.0 - rho * rho).sqrt())
    }

    /// Encodes `sweeps` red-black sweeps at time `t`, in place on the current set.
    pub fn encode(
        &self,
        res: &Resources,
        kernels: &Kernels,
        e: &mut Encoding,
        current: Current,
        t: f64,
        sweeps: usize,
    ) -> Result<()> {
        let pipeline = kernels.get(Kernel::Qs)?;
        let mut offsets = [0u32; 2];
        for (colour, offset) in offsets.iter_mut().enumerate() {
            let mut rec = StepUniform {
                t: t as f32,
                react_dt: self.omega() as f32,
                sel: colour as u32,
                ..bytemuck::Zeroable::zeroed()
            };
            rec.cx[0][0] = self.rate.1 as f32;
            *offset = e.records.push(&rec)?;
        }
        let group = &self.groups[current.index()][self.rate.0];
        let dispatches: Vec<_> = (0..sweeps)
            .flat_map(|_| offsets.map(|o| (pipeline, group, o)))
            .collect();
        // One colour at a time: threads cover half the columns (see shaders/kernels/qs.wgsl).
        let (_, y, z) = res.workgroups();
        let x = res
            .grid
            .nx
            .div_ceil(2)
            .div_ceil(super::codegen::WORKGROUP.0);
        e.dispatches += dispatches.len() as u64;
        e.pass_sized(res, "exoderm.qs", &dispatches, (x, y, z));
        Ok(())
    }

    /// One block of `sweeps` sweeps, then the residual check. Returns whether the solve has
    /// converged; an error when it will not. `live[r]`: run r still runs.
    #[allow(clippy::too_many_arguments)]
    pub fn block(
        &mut self,
        gpu: &Gpu,
        res: &Resources,
        kernels: &Kernels,
        current: Current,
        t: f64,
        sweeps: usize,
        live: &[bool],
    ) -> Result<(bool, u64)> {
        let runs = res.fields.runs;
        let mut e = Encoding::new(gpu, res, "qs.converge");
        self.encode(res, kernels, &mut e, current, t, sweeps - 1)?;
        e.enc
            .clear_buffer(&res.fields.aux, 0, Some(layout::flag_bytes(runs)));
        self.encode(res, kernels, &mut e, current, t, 1)?;
        e.enc.copy_buffer_to_buffer(
            &res.fields.aux,
            0,
            &res.flags_staging,
            0,
            layout::flag_bytes(runs),
        );
        let dispatches = e.dispatches;
        e.submit(gpu, res);
        self.sweeps += sweeps;
        let bytes = super::gpu::map_and_read(&gpu.device, &res.flags_staging)?;
        let words: &[u32] = bytemuck::cast_slice(&bytes);
        let omega = self.omega();
        let flags: Vec<RunFlags> = RunFlags::split(words)
            .zip(live)
            .filter(|(_, l)| **l)
            .map(|(f, _)| f)
            .collect();
        let worst = flags
            .iter()
            .map(|f| {
                let (change, size) = (f.qs_change(), f.qs_size());
                if size > 0.0 {
                    change / omega / size
                } else if change > 0.0 {
                    f64::INFINITY
                } else {
                    0.0
                }
            })
            .fold(0.0, f64::max);
        self.change = worst;
        let coupling = flags.iter().map(|f| f.qs_coupling()).fold(0.0, f64::max);
        if coupling > 0.0 && coupling <= 1.0 {
            self.coupling = coupling;
        }
        let tol = self.tolerance;
        // Near f32's floor (a few 1e-7: rounding in the residual of values ~1) the residual
        // wanders instead of falling; within 10× the tolerance, no 10% gain over 128 sweeps
        // means the floor is reached, and that is as converged as f32 gets.
        if worst < 10.0 * tol {
            if worst < 0.9 * self.best {
                self.best = worst;
                self.stall = 0;
            } else {
                self.stall += sweeps;
            }
        }
        if worst <= tol || self.stall >= STALL_SWEEPS {
            self.debt = 0;
            self.rate.1 = 0.0;
            self.sweeps = 0;
            self.best = f64::INFINITY;
            self.stall = 0;
            return Ok((true, dispatches));
        }
        if self.sweeps >= MAX_SWEEPS || worst.is_nan() {
            return Err(Error::QuasiSteady {
                species: self.names.join("`, `"),
                at: format_time(t),
                sweeps: self.sweeps,
                residual: worst,
                tolerance: tol,
            });
        }
        Ok((false, dispatches))
    }

    /// Blocks until converged; returns the dispatches spent.
    pub fn converge(
        &mut self,
        gpu: &Gpu,
        res: &Resources,
        kernels: &Kernels,
        current: Current,
        t: f64,
        live: &[bool],
    ) -> Result<u64> {
        let mut spent = 0;
        // A short first block: after a step the warm start is usually close already.
        let mut sweeps = SWEEPS_PER_STEP;
        loop {
            let (done, d) = self.block(gpu, res, kernels, current, t, sweeps, live)?;
            sweeps = BLOCK;
            spent += d;
            if done {
                return Ok(spent);
            }
        }
    }

    /// Sweeps per block under [`QsPace::Deferred`]: about 2^18 cell-sweeps (a few ms on a
    /// CPU Vulkan driver), 2 to [`BLOCK`].
    pub fn deferred_block(&self) -> usize {
        ((1u64 << 18) / self.cells.max(1)).clamp(2, BLOCK as u64) as usize
    }

    /// Interactively (after the initial conditions, an intervention or a restore): the
    /// species must answer to the new state before the next step (and while paused).
    /// Batch runs converge every batch anyway.
    pub fn owe(&mut self) {
        if self.pace == QsPace::Deferred {
            self.debt = self.debt.max(CHECK_EVERY);
        }
    }

    /// Steps taken since the solve last converged.
    pub fn add_debt(&mut self, steps: u64) {
        self.debt += steps;
    }

    /// Whether a deferred solve is owed before the next step.
    pub fn due(&self) -> bool {
        self.pace == QsPace::Deferred && self.debt >= CHECK_EVERY
    }

    pub fn settled(&self) -> bool {
        self.debt == 0
    }

    /// The scaled residual of the last checked sweep.
    pub fn change(&self) -> f64 {
        self.change
    }
}
