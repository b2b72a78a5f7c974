//! A running simulation: fields on the GPU, advanced in batches of many dispatches per
//! submit, checked for blow-ups between batches, read back only when asked.
//!
//! One `Simulation` can hold several *runs* that share a model's equations, grid and clock
//! but not its numbers (params, diffusion coefficients, seed): each run is one z-slice of
//! every buffer, so a sweep of small runs fills the GPU with one dispatch per step instead of
//! one tiny dispatch per run. A single run is the batch of one.

mod adaptive;
mod interventions;
mod quasi_steady;
mod rkl2;

use std::time::Instant;

use rkl2::{Rkl2Groups, rkl2_buffers};

use serde::{Deserialize, Serialize};

use super::codegen::{self, WORKGROUP};
use super::fields::{self, Planes};
use super::pipeline::Kernels;
use super::stepper::{MAX_RECORDS, StepPlan};
use super::uniforms::{GridUniform, RunUniform, StepUniform};
use crate::error::{Error, Result};
use crate::model::expr::MAX_BATCH;
use crate::scenario::Scenario;
use crate::units::format_time;

/// Records 0..SERVICE are for the check/metrics dispatches (record g computes metric group g).
const SERVICE: usize = 4;

/// Steps between error estimates under adaptive step control (after each probed step).
const ADAPTIVE_BATCH: u64 = 15;

/// SOR sweeps of the quasi-steady species after every step (warm-started; the solve is
/// finished to tolerance at the end of each batch).
const QS_SWEEPS_PER_STEP: usize = 4;
/// Sweeps between convergence checks, and the most before giving up.
const QS_BLOCK: usize = 32;
const QS_MAX_SWEEPS: usize = 200_000;
/// Sweeps without progress, within 10× the tolerance, that count as reaching f32's floor.
const QS_STALL_SWEEPS: usize = 128;

/// When the quasi-steady species are iterated to tolerance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QsPace {
    /// At the end of every `advance` and of every batch inside it (batch runs: every output
    /// is converged).
    #[default]
    EveryAdvance,
    /// Interactive: after every [`ADAPTIVE_BATCH`] steps, as in a batch run, but one short
    /// block of sweeps per `advance` call (which then does not step), so no call takes
    /// much longer than a step. The app uses it to keep frames short.
    Deferred,
}

/// Work done so far, for progress and throughput reports.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Counters {
    /// Main steps taken.
    pub steps: u64,
    /// Full-grid kernel dispatches (steps + sub-steps), each over every batched run.
    pub dispatches: u64,
    /// Wall time spent stepping (s).
    pub seconds: f64,
    /// Adaptive step control: steps accepted and rejected by the error estimate.
    #[serde(default)]
    pub accepted: u64,
    #[serde(default)]
    pub rejected: u64,
}

/// Everything needed to continue one run exactly where it was (see `output::checkpoint`).
#[derive(Debug, Clone)]
pub struct Checkpoint {
    pub time: f64,
    /// The step the error estimate allows (adaptive control; infinite otherwise).
    pub error_dt: f64,
    /// The measured quasi-steady coupling that sets the SOR ω (1 without such species).
    pub qs_coupling: f64,
    pub plan: StepPlan,
    pub counters: Counters,
    /// Raw vec4 planes of the run (cells × 16 bytes each).
    pub planes: Vec<Vec<u8>>,
}

/// Runs can share one `Simulation` when this key is equal: same generated shaders, grid,
/// times and diffusion coefficients. Only params and seeds may differ; equal diffusion keeps
/// the shared step equal to each run's own when diffusion limits it, so batching does not
/// change results.
pub fn batch_key(s: &Scenario) -> String {
    let g = &s.grid;
    let d: Vec<u64> = s
        .model
        .species
        .iter()
        .map(|sp| sp.diffusion.to_bits())
        .collect();
    format!(
        "{}\n{}x{} {:?} {:?}\n{} {} {:?}\n{d:?}",
        codegen::step_module(&s.model)
            + &codegen::check_module(&s.model)
            + &codegen::metrics_module(&s.model),
        g.nx,
        g.ny,
        g.extent,
        g.boundary,
        s.time.end,
        s.time.output_every,
        s.time.dt
    )
}

/// A labelled compute pass without timestamps.
fn compute_pass<'e>(enc: &'e mut wgpu::CommandEncoder, label: &str) -> wgpu::ComputePass<'e> {
    enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
        label: Some(label),
        timestamp_writes: None,
    })
}

pub struct Simulation {
    device: wgpu::Device,
    queue: wgpu::Queue,
    /// One per run.
    scenarios: Vec<Scenario>,
    kernels: Kernels,
    planes: Planes,
    records: wgpu::Buffer,
    runs_buf: wgpu::Buffer,
    stride: u64,
    bind_groups: [wgpu::BindGroup; 2],
    rkl2_groups: Option<Rkl2Groups>,
    /// Step-doubling error pass: current state (set c) against the full-step copy.
    error_groups: Option<[wgpu::BindGroup; 2]>,
    /// The step the error estimate allows (infinite without adaptive control).
    error_dt: f64,
    /// Relative change of the last quasi-steady sweep.
    qs_change: f64,
    /// Largest share of the quasi-steady diagonal that couples to neighbours, measured by
    /// the last convergence check (1 until measured; < 1 where the species decays).
    qs_coupling: f64,
    /// How quasi-steady solves are finished (see [`QsPace`]).
    qs_pace: QsPace,
    /// Steps taken since the quasi-steady solve was last converged, and sweeps spent since.
    qs_debt: u64,
    qs_sweeps: usize,
    /// The solve's best residual so far and the sweeps since it last improved by 10%.
    qs_best: f64,
    qs_stall: usize,
    flags_staging: wgpu::Buffer,
    /// Which ping-pong set holds the current state.
    current: usize,
    time: f64,
    /// Each run's own plan, and the one the batch steps with.
    plans: Vec<StepPlan>,
    plan: StepPlan,
    /// Why each run stopped, if it did (the error's text).
    failed: Vec<Option<String>>,
    counters: Counters,
    /// The deposit kernel, built on the first event or brush stroke.
    depositor: Option<super::events::Depositor>,
}

impl Simulation {
    /// Uploads one scenario's fields and builds its pipelines on a borrowed device.
    /// `limits` and `adapter` are the device's, for a clear refusal of oversized grids.
    pub fn new(
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        limits: &wgpu::Limits,
        adapter: &str,
        scenario: &Scenario,
    ) -> Result<Simulation> {
        Simulation::paced(
            device,
            queue,
            limits,
            adapter,
            scenario,
            QsPace::EveryAdvance,
        )
    }

    /// One run, paced for an interactive caller: with [`QsPace::Deferred`] even the initial
    /// quasi-steady solve is left to the first `advance`/`settle_qs` calls, so building
    /// the simulation never waits for thousands of sweeps.
    pub fn paced(
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        limits: &wgpu::Limits,
        adapter: &str,
        scenario: &Scenario,
        pace: QsPace,
    ) -> Result<Simulation> {
        Simulation::build(
            device,
            queue,
            limits,
            adapter,
            std::slice::from_ref(scenario),
            pace,
        )
    }

    /// Several runs in one simulation; they must share a [`batch_key`].
    pub fn batch(
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        limits: &wgpu::Limits,
        adapter: &str,
        scenarios: &[Scenario],
    ) -> Result<Simulation> {
        Simulation::build(
            device,
            queue,
            limits,
            adapter,
            scenarios,
            QsPace::EveryAdvance,
        )
    }

    fn build(
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        limits: &wgpu::Limits,
        adapter: &str,
        scenarios: &[Scenario],
        pace: QsPace,
    ) -> Result<Simulation> {
        let Some(first) = scenarios.first() else {
            return Err(Error::Internal(
                "a simulation needs at least one run".into(),
            ));
        };
        if scenarios.len() > MAX_BATCH {
            return Err(Error::Internal(format!(
                "at most {MAX_BATCH} runs per batch"
            )));
        }
        let key = batch_key(first);
        if scenarios.iter().any(|s| batch_key(s) != key) {
            return Err(Error::Internal(
                "runs in one batch must share equations, grid and times".into(),
            ));
        }
        let runs = scenarios.len();
        let model = &first.model;
        fields::check_limits(model, &first.grid, runs, limits, adapter)?;
        let rkl2 = first.time.scheme == crate::scenario::Scheme::Rkl2;
        let kernels = Kernels::new(device, model, rkl2, runs > 1)?;
        let scope = device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let adaptive = first.time.tolerance.is_some();
        // RKL2 stages rotate through 2 extra sets; step doubling keeps a saved state and a
        // full-step result in the last 2.
        let scratch = if rkl2 { 2 } else { 0 } + if adaptive { 2 } else { 0 };
        let planes = Planes::new(device, model, &first.grid, runs, scratch);
        let uniform = |label: &str, bytes: &[u8]| {
            let buf = device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(&format!("exoderm.{}.{label}", model.name)),
                size: bytes.len() as u64,
                usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            queue.write_buffer(&buf, 0, bytes);
            buf
        };
        let grid_buf = uniform(
            "grid",
            bytemuck::bytes_of(&GridUniform::new(&first.grid, runs, model.species.len())),
        );
        let mut run_data = vec![bytemuck::Zeroable::zeroed(); MAX_BATCH];
        for (r, s) in scenarios.iter().enumerate() {
            run_data[r] = RunUniform::new(s);
        }
        let runs_buf = uniform("runs", bytemuck::cast_slice::<RunUniform, u8>(&run_data));
        let align = limits.min_uniform_buffer_offset_alignment as u64;
        let stride = (std::mem::size_of::<StepUniform>() as u64).div_ceil(align) * align;
        let records = uniform(
            "steps",
            &vec![0u8; (stride as usize) * (SERVICE + MAX_RECORDS)],
        );
        let uniforms = || {
            vec![
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: grid_buf.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                        buffer: &records,
                        offset: 0,
                        size: wgpu::BufferSize::new(std::mem::size_of::<StepUniform>() as u64),
                    }),
                },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: runs_buf.as_entire_binding(),
                },
            ]
        };
        // The main layout: source planes, destination planes, aux.
        let main_bg = |src: &[wgpu::Buffer], dst: &[wgpu::Buffer], label: &str| {
            let n = planes.planes;
            let mut entries = uniforms();
            for k in 0..n {
                entries.push(wgpu::BindGroupEntry {
                    binding: codegen::src_binding(k),
                    resource: src[k].as_entire_binding(),
                });
                entries.push(wgpu::BindGroupEntry {
                    binding: codegen::dst_binding(n, k),
                    resource: dst[k].as_entire_binding(),
                });
            }
            entries.push(wgpu::BindGroupEntry {
                binding: codegen::aux_binding(n),
                resource: planes.aux.as_entire_binding(),
            });
            device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some(&format!("exoderm.{}.bind.{label}", model.name)),
                layout: &kernels.layout,
                entries: &entries,
            })
        };
        let bind_group = |src: usize| {
            main_bg(
                &planes.sets[src],
                &planes.sets[1 - src],
                &format!("src{src}"),
            )
        };
        // RKL2: stages rotate through A (set 1), B, C (scratch); Y0 is set 0; the reaction pass
        // reads the last stage and writes set 0.
        let rkl2_groups = kernels.rkl2.as_ref().map(|rk| {
            let rot = [&planes.sets[1], &planes.scratch[0], &planes.scratch[1]];
            let y0 = &planes.sets[0];
            let react: Vec<wgpu::BindGroup> = rot
                .iter()
                .enumerate()
                .map(|(i, src)| main_bg(src, y0, &format!("react{i}")))
                .collect();
            let stages: Vec<Vec<wgpu::BindGroup>> = (0..planes.planes)
                .map(|k| {
                    (0..5)
                        .map(|combo| {
                            let (y1, y2, yj) = rkl2_buffers(combo);
                            let pick = |i: Option<usize>| match i {
                                None => &y0[k],
                                Some(i) => &rot[i][k],
                            };
                            let mut entries = uniforms();
                            for (b, buf) in
                                [(3, &y0[k]), (4, pick(y1)), (5, pick(y2)), (6, &rot[yj][k])]
                            {
                                entries.push(wgpu::BindGroupEntry {
                                    binding: b,
                                    resource: buf.as_entire_binding(),
                                });
                            }
                            device.create_bind_group(&wgpu::BindGroupDescriptor {
                                label: Some(&format!("exoderm.{}.bind.sts{k}.{combo}", model.name)),
                                layout: &rk.layout,
                                entries: &entries,
                            })
                        })
                        .collect()
                })
                .collect();
            Rkl2Groups { stages, react }
        });
        let bind_groups = [bind_group(0), bind_group(1)];
        let error_groups = adaptive.then(|| {
            let x = &planes.scratch[planes.scratch.len() - 1];
            [
                main_bg(&planes.sets[0], x, "error0"),
                main_bg(&planes.sets[1], x, "error1"),
            ]
        });
        let flags_staging = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("exoderm.flags.readback"),
            size: fields::FLAG_WORDS * 4 * runs as u64,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(Error::Gpu {
                during: "allocating the fields".into(),
                message: e.to_string(),
            });
        }
        let placeholder = StepPlan::new(model, &first.grid, None, &first.time.dt_at, 0.0)?;
        let mut sim = Simulation {
            device: device.clone(),
            queue: queue.clone(),
            scenarios: scenarios.to_vec(),
            kernels,
            planes,
            records,
            runs_buf,
            stride,
            bind_groups,
            rkl2_groups,
            error_groups,
            error_dt: f64::INFINITY,
            qs_change: 0.0,
            qs_coupling: 1.0,
            qs_pace: pace,
            qs_debt: 0,
            qs_sweeps: 0,
            qs_best: f64::INFINITY,
            qs_stall: 0,
            flags_staging,
            current: 0,
            time: 0.0,
            plans: vec![placeholder.clone(); runs],
            plan: placeholder,
            failed: (0..runs).map(|_| None).collect(),
            counters: Counters::default(),
            depositor: None,
        };
        sim.initialise()?;
        Ok(sim)
    }

    /// Evaluates the initial conditions on the GPU into set 0 and plans the step from them.
    fn initialise(&mut self) -> Result<()> {
        self.write_service_records();
        let mut enc = self.encoder("init");
        {
            let mut pass = compute_pass(&mut enc, "exoderm.init");
            pass.set_pipeline(&self.kernels.init);
            // Bind group 1 reads set 1 and writes set 0.
            pass.set_bind_group(0, &self.bind_groups[1], &[0]);
            let (x, y, z) = self.workgroups();
            pass.dispatch_workgroups(x, y, z);
        }
        self.current = 0;
        self.apply_due(&mut enc, 0.0)?;
        self.queue.submit([enc.finish()]);
        match self.qs_pace {
            QsPace::EveryAdvance => self.converge_qs()?,
            QsPace::Deferred => self.owe_qs(),
        }
        let mut enc = self.encoder("init.check");
        self.encode_check(&mut enc);
        self.queue.submit([enc.finish()]);
        for (r, (bad, big, rate, soft)) in self.read_flags()?.into_iter().enumerate() {
            let s = &self.scenarios[r];
            if bad | big != 0 {
                let sp = &s.model.species[(bad | big).trailing_zeros() as usize];
                return Err(Error::scenario(
                    sp.initial.at.clone(),
                    format!(
                        "the initial value of `{}` is {} somewhere on the grid",
                        sp.name,
                        if bad != 0 {
                            "NaN or infinite"
                        } else {
                            "beyond ±1e30"
                        }
                    ),
                    "check the expression for divisions by zero, log/sqrt of negatives or overflow within the grid's extent",
                ));
            }
            self.plans[r] = StepPlan::for_scenario(s, rate, soft)?;
        }
        self.combine_plans();
        Ok(())
    }

    fn combine_plans(&mut self) {
        let live: Vec<&StepPlan> = self
            .plans
            .iter()
            .zip(&self.failed)
            .filter(|(_, f)| f.is_none())
            .map(|(p, _)| p)
            .collect();
        if let Some(p) = StepPlan::combine(&live) {
            self.plan = p;
        }
    }

    fn encoder(&self, label: &str) -> wgpu::CommandEncoder {
        self.device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some(&format!("exoderm.{label}")),
            })
    }

    fn workgroups(&self) -> (u32, u32, u32) {
        let g = &self.scenarios[0].grid;
        (
            g.nx.div_ceil(WORKGROUP.0),
            g.ny.div_ceil(WORKGROUP.1),
            self.planes.runs as u32,
        )
    }

    fn write_record(&self, bytes: &mut [u8], index: usize, rec: &StepUniform) {
        bytes[index * self.stride as usize..][..std::mem::size_of::<StepUniform>()]
            .copy_from_slice(bytemuck::bytes_of(rec));
    }

    /// Uploads step records to slots `SERVICE + first ..` (before the submit that uses them).
    fn upload_records(&self, first: usize, bytes: &[u8]) {
        self.queue
            .write_buffer(&self.records, self.stride * (SERVICE + first) as u64, bytes);
    }

    fn write_service_records(&self) {
        let mut bytes = vec![0u8; self.stride as usize * SERVICE];
        for g in 0..SERVICE {
            let rec = StepUniform {
                t: self.time as f32,
                sel: g as u32,
                ..bytemuck::Zeroable::zeroed()
            };
            self.write_record(&mut bytes, g, &rec);
        }
        self.queue.write_buffer(&self.records, 0, &bytes);
    }

    /// Clears the flags, checks the current state, and queues the flags' readback.
    fn encode_check(&self, enc: &mut wgpu::CommandEncoder) {
        let flag_bytes = fields::FLAG_WORDS * 4 * self.planes.runs as u64;
        enc.clear_buffer(&self.planes.aux, 0, Some(flag_bytes));
        {
            let mut pass = compute_pass(enc, "exoderm.check");
            pass.set_pipeline(&self.kernels.check);
            pass.set_bind_group(0, &self.bind_groups[self.current], &[0]);
            let (x, y, z) = self.workgroups();
            pass.dispatch_workgroups(x, y, z);
        }
        enc.copy_buffer_to_buffer(&self.planes.aux, 0, &self.flags_staging, 0, flag_bytes);
    }

    /// Per run: (NaN/Inf mask, runaway mask, reaction-rate estimate).
    fn read_flags(&self) -> Result<Vec<(u32, u32, f64, f64)>> {
        let bytes = fields::map_and_read(&self.device, &self.flags_staging)?;
        let w: &[u32] = bytemuck::cast_slice(&bytes);
        Ok(w.chunks_exact(fields::FLAG_WORDS as usize)
            .map(|c| {
                (
                    c[0],
                    c[1],
                    f32::from_bits(c[2]) as f64,
                    f32::from_bits(c[3]) as f64,
                )
            })
            .collect())
    }

    /// Main steps per batch (and per blow-up check): ~64 M cell-updates, 8..1024 steps.
    /// Depends only on the grid, the batch and the plan, so a run repeats exactly.
    fn batch_steps(&self) -> u64 {
        let cells = self.scenarios[0].grid.cells() * self.planes.runs as u64;
        let by_cells = ((1u64 << 26) / cells).clamp(8, 1024);
        let by_records = (MAX_RECORDS as u64 / self.records_per_step() as u64).max(1);
        by_cells.min(by_records)
    }

    /// Explicit steps: per step, m diffusion-only sub-steps of the fast species, then the main
    /// step (all diffusion and reactions, one fused kernel). Returns the dispatches.
    fn encode_explicit(
        &mut self,
        enc: &mut wgpu::CommandEncoder,
        first: usize,
        n: u64,
        dt: f64,
        species: &[crate::model::Species],
        grid: &crate::scenario::Grid,
    ) -> usize {
        let m = self.plan.substeps as usize;
        // A single run's kernel has no D of its own (codegen::step_module_for): fold it in here.
        let fold = |s: usize| {
            if self.planes.runs == 1 {
                self.scenarios[0].model.species[s].diffusion
            } else {
                1.0
            }
        };
        let coefs = |fast_pass: bool, h: f64| {
            let (mut cx, mut cy) = ([[0f32; 4]; 4], [[0f32; 4]; 4]);
            for (s, sp) in species.iter().enumerate() {
                if sp.is_dynamic() && self.plan.fast.contains(&sp.name) == fast_pass {
                    cx[s / 4][s % 4] = (fold(s) * h / (grid.dx() * grid.dx())) as f32;
                    cy[s / 4][s % 4] = (fold(s) * h / (grid.dy() * grid.dy())) as f32;
                }
            }
            (cx, cy)
        };
        let (sub_cx, sub_cy) = coefs(true, dt / m as f64);
        let (main_cx, main_cy) = coefs(false, dt);
        let per_step = if m > 1 { m + 1 } else { 1 };
        let mut bytes = vec![0u8; self.stride as usize * per_step * n as usize];
        let mut r = 0usize;
        for k in 0..n {
            let t = (self.time + k as f64 * dt) as f32;
            if m > 1 {
                for _ in 0..m {
                    self.write_record(
                        &mut bytes,
                        r,
                        &StepUniform {
                            t,
                            react_dt: 0.0,
                            sel: 0,
                            pad0: 0,
                            cx: sub_cx,
                            cy: sub_cy,
                        },
                    );
                    r += 1;
                }
            }
            self.write_record(
                &mut bytes,
                r,
                &StepUniform {
                    t,
                    react_dt: dt as f32,
                    sel: 0,
                    pad0: 0,
                    cx: main_cx,
                    cy: main_cy,
                },
            );
            r += 1;
        }
        self.upload_records(first, &bytes);
        let mut pass = compute_pass(enc, "exoderm.steps");
        pass.set_pipeline(&self.kernels.step);
        let (x, y, z) = self.workgroups();
        for i in 0..r {
            let offset = (self.stride * (SERVICE + first + i) as u64) as u32;
            pass.set_bind_group(0, &self.bind_groups[self.current], &[offset]);
            pass.dispatch_workgroups(x, y, z);
            self.current = 1 - self.current;
        }
        r
    }

    fn live_runs(&self) -> usize {
        self.failed.iter().filter(|f| f.is_none()).count()
    }

    /// Advances to `until` (h), calling `progress(time)` after every batch. A run that blows
    /// up is stopped (see [`Simulation::run_error`]); the others go on. Returns an error when
    /// no run is left (for a single run: its blow-up).
    /// Scheduled events apply when the clock reaches them.
    pub fn advance(&mut self, until: f64, progress: &mut dyn FnMut(f64)) -> Result<()> {
        let started = Instant::now();
        let result = self.advance_through_events(until, progress);
        self.counters.seconds += started.elapsed().as_secs_f64();
        result
    }

    /// Records (dispatch uniforms) one step takes.
    fn records_per_step(&self) -> usize {
        let scheme = if self.plan.stages > 0 {
            self.plan.stages as usize + 1
        } else if self.plan.substeps > 1 {
            self.plan.substeps as usize + 1
        } else {
            1
        };
        // Quasi-steady sweeps after each step take two more (red, black).
        scheme + if self.kernels.qs.is_some() { 2 } else { 0 }
    }

    /// Encodes `n` steps of `dt` from the current time, their records from `first` on; with
    /// quasi-steady species, each step is followed by a few SOR sweeps of their solve.
    fn encode_steps(
        &mut self,
        enc: &mut wgpu::CommandEncoder,
        first: usize,
        n: u64,
        dt: f64,
    ) -> Result<usize> {
        if self.kernels.qs.is_none() {
            return self.encode_scheme(enc, first, n, dt);
        }
        let per = self.records_per_step();
        let t0 = self.time;
        let mut r = 0;
        for k in 0..n as usize {
            self.time = t0 + k as f64 * dt;
            let base = first + k * per;
            r += self.encode_scheme(enc, base, 1, dt)?;
            self.time = t0 + (k + 1) as f64 * dt;
            r += self.encode_qs(enc, base + per - 2, QS_SWEEPS_PER_STEP);
        }
        self.time = t0;
        self.qs_debt += n;
        Ok(r)
    }

    /// The scheme's own encoder (no quasi-steady sweeps).
    fn encode_scheme(
        &mut self,
        enc: &mut wgpu::CommandEncoder,
        first: usize,
        n: u64,
        dt: f64,
    ) -> Result<usize> {
        if self.plan.stages > 0 {
            self.encode_rkl2(enc, first, n, dt)
        } else {
            let (grid, species) = (
                self.scenarios[0].grid.clone(),
                self.scenarios[0].model.species.clone(),
            );
            Ok(self.encode_explicit(enc, first, n, dt, &species, &grid))
        }
    }

    /// The step the batch may take: the stability plan's, and under adaptive control no more
    /// than the error estimate allows.
    fn step_cap(&self) -> f64 {
        self.plan.dt.min(self.error_dt)
    }

    /// Steps to `until`; returns whether it got there (with [`QsPace::Deferred`] it may stop
    /// early, after a block of quasi-steady sweeps).
    fn advance_inner(&mut self, until: f64, progress: &mut dyn FnMut(f64)) -> Result<bool> {
        let reached = |sim: &Simulation| until - sim.time <= 1e-12 * until.abs().max(1.0);
        while !reached(self) {
            if self.live_runs() == 0 {
                break;
            }
            if self.qs_pace == QsPace::Deferred
                && self.qs_debt >= ADAPTIVE_BATCH
                && !self.qs_block(self.deferred_block())?
            {
                return Ok(false);
            }
            let t_before = self.time;
            let mut enc = self.encoder("steps");
            let mut r = 0;
            let mut n = 0;
            if let Some(tol) = self.scenarios[0].time.tolerance {
                let (steps, dispatches, e) = self.adaptive_step(until, tol)?;
                n += steps;
                r += dispatches;
                enc = e;
            }
            if !reached(self) {
                let remaining = until - self.time;
                let cap = self.step_cap();
                let n_total = if cap.is_finite() {
                    (remaining / cap * (1.0 - 1e-12)).ceil().max(1.0) as u64
                } else {
                    1
                };
                let dt = remaining / n_total as f64;
                // Error estimates and quasi-steady convergence checks come once per batch.
                let batch =
                    if self.scenarios[0].time.tolerance.is_some() || self.kernels.qs.is_some() {
                        ADAPTIVE_BATCH
                    } else {
                        self.batch_steps()
                    };
                let k = n_total.min(batch);
                r += self.encode_steps(&mut enc, 0, k, dt)?;
                n += k;
                self.time = if k == n_total {
                    until
                } else {
                    self.time + k as f64 * dt
                };
            }
            self.queue.submit([enc.finish()]);
            if self.qs_pace == QsPace::EveryAdvance {
                self.converge_qs()?;
            }
            self.write_service_records();
            let mut enc = self.encoder("check");
            self.encode_check(&mut enc);
            self.queue.submit([enc.finish()]);
            let flags = self.read_flags()?;
            self.counters.steps += n;
            self.counters.dispatches += r as u64;
            self.process_flags(flags, t_before)?;
            progress(self.time);
        }
        if self.live_runs() == 0 {
            let first = self
                .failed
                .iter()
                .flatten()
                .next()
                .cloned()
                .unwrap_or_default();
            return Err(Error::Stopped(if self.planes.runs == 1 {
                first
            } else {
                format!(
                    "all {} runs in the batch stopped; the first: {first}",
                    self.planes.runs
                )
            }));
        }
        Ok(true)
    }

    /// Acts on a batch's flags: stops runs that blew up, replans runs whose reactions sped up.
    fn process_flags(&mut self, flags: Vec<(u32, u32, f64, f64)>, t_before: f64) -> Result<()> {
        let mut replan = false;
        for (run, (bad, big, rate, soft)) in flags.into_iter().enumerate() {
            if self.failed[run].is_some() {
                continue;
            }
            if bad | big != 0 {
                let e = self.blowup(run, bad, big, t_before);
                self.failed[run] = Some(e.to_string());
                if self.planes.runs == 1 {
                    return Err(e);
                }
                replan = true;
            } else if (rate > self.plans[run].reaction_rate * 1.0001
                || soft > self.plans[run].soft_rate * 1.0001)
                && rate.is_finite()
                && soft.is_finite()
            {
                // The reactions got faster than planned for: smaller steps from here on.
                let s = &self.scenarios[run];
                let p = &self.plans[run];
                self.plans[run] =
                    StepPlan::for_scenario(s, rate.max(p.reaction_rate), soft.max(p.soft_rate))?;
                replan = true;
                let left = s.time.end - self.time;
                if left / self.plans[run].dt > 1e9 {
                    let e = self.zeno(run, rate, left, t_before);
                    self.failed[run] = Some(e.to_string());
                    if self.planes.runs == 1 {
                        return Err(e);
                    }
                }
            }
        }
        if replan {
            self.combine_plans();
        }
        Ok(())
    }

    fn blowup(&self, run: usize, bad: u32, big: u32, t_before: f64) -> Error {
        let s = &self.scenarios[run];
        let i = (bad | big).trailing_zeros() as usize;
        let name = &s.model.species[i].name;
        let cause = if s.time.dt.is_some() {
            "the forced [time] dt may be too large for these reactions: remove it and let exoderm choose".to_string()
        } else if s.model.species[i].reaction.is_some() {
            format!(
                "the reaction term of `{name}` (reactions.{name}) grows without bound — is a limiting term (e.g. `* (1.0 - {name})`) or a decay missing, or a parameter far outside its range?"
            )
        } else {
            format!("a reaction elsewhere feeds `{name}` without bound, or a boundary value is NaN")
        };
        Error::Blowup {
            species: name.clone(),
            what: if bad & (1 << i) != 0 {
                "NaN or infinite".into()
            } else {
                "larger than 1e30".into()
            },
            from: format_time(t_before),
            to: format_time(self.time),
            cause,
        }
    }

    /// A step collapsing towards zero is a blow-up in slow motion (Zeno): say so instead of
    /// running for ever.
    fn zeno(&self, run: usize, rate: f64, left: f64, t_before: f64) -> Error {
        let model = &self.scenarios[run].model;
        let reacting: Vec<&str> = model
            .species
            .iter()
            .filter(|s| s.reaction.is_some())
            .map(|s| s.name.as_str())
            .collect();
        let fields: Vec<String> = reacting.iter().map(|n| format!("reactions.{n}")).collect();
        Error::Blowup {
            species: reacting.join("`/`"),
            what: format!(
                "so fast-reacting (rate {rate:.3e}/h) that the remaining {} would need over 10^9 steps",
                format_time(left)
            ),
            from: format_time(t_before),
            to: format_time(self.time),
            cause: format!(
                "a reaction term running away ({}) — a missing limiting term or a parameter far outside its range",
                fields.join(", ")
            ),
        }
    }

    /// Why run `run` stopped, if it did.
    pub fn run_error(&self, run: usize) -> Option<&str> {
        self.failed.get(run).and_then(|f| f.as_deref())
    }

    /// Run `run`'s fields, one Vec per species (row-major, nx × ny, row 0 at y min).
    pub fn read_fields_of(&self, run: usize) -> Result<Vec<Vec<f32>>> {
        self.planes.read_species(
            &self.device,
            &self.queue,
            self.current,
            run,
            self.scenarios[0].model.species.len(),
        )
    }

    /// The (first) run's fields.
    pub fn read_fields(&self) -> Result<Vec<Vec<f32>>> {
        self.read_fields_of(0)
    }

    /// The model's metrics of every run at the current time, reduced in f64 from per-cell
    /// GPU values.
    pub fn read_metrics_all(&self) -> Result<Vec<Vec<f64>>> {
        let model = &self.scenarios[0].model;
        let runs = self.planes.runs;
        let Some(pipeline) = &self.kernels.metrics else {
            return Ok(vec![vec![]; runs]);
        };
        self.write_service_records();
        let cells = self.planes.cells;
        let area = self.scenarios[0].grid.cell_area();
        let mut out = vec![vec![0.0; model.metrics.len()]; runs];
        for g in 0..model.metrics.len().div_ceil(4) {
            let mut enc = self.encoder("metrics");
            {
                let mut pass = compute_pass(&mut enc, "exoderm.metrics");
                pass.set_pipeline(pipeline);
                pass.set_bind_group(
                    0,
                    &self.bind_groups[self.current],
                    &[(self.stride * g as u64) as u32],
                );
                let (x, y, z) = self.workgroups();
                pass.dispatch_workgroups(x, y, z);
            }
            self.queue.submit([enc.finish()]);
            let bytes = fields::read_buffer(
                &self.device,
                &self.queue,
                &self.planes.aux,
                fields::FLAG_WORDS * 4 * runs as u64,
                cells * 16 * runs as u64,
            )?;
            let all: &[f32] = bytemuck::cast_slice(&bytes);
            for (run, vals) in all.chunks_exact(cells as usize * 4).enumerate() {
                for c in 0..4 {
                    let Some(metric) = model.metrics.get(4 * g + c) else {
                        break;
                    };
                    let it = vals.iter().skip(c).step_by(4).map(|&v| v as f64);
                    out[run][4 * g + c] = match metric.reduce {
                        crate::model::Reduce::Integral => it.sum::<f64>() * area,
                        crate::model::Reduce::Mean => it.sum::<f64>() / cells as f64,
                        crate::model::Reduce::Min => it.fold(f64::INFINITY, f64::min),
                        crate::model::Reduce::Max => it.fold(f64::NEG_INFINITY, f64::max),
                    };
                }
            }
        }
        Ok(out)
    }

    /// The (first) run's metrics.
    pub fn read_metrics(&self) -> Result<Vec<f64>> {
        Ok(self.read_metrics_all()?.swap_remove(0))
    }

    /// A checkpoint of run `run` (taken between `advance` calls).
    pub fn checkpoint(&self, run: usize) -> Result<Checkpoint> {
        Ok(Checkpoint {
            time: self.time,
            error_dt: self.error_dt,
            qs_coupling: self.qs_coupling,
            plan: self.plans[run].clone(),
            counters: self.counters,
            planes: self
                .planes
                .read_raw(&self.device, &self.queue, self.current, run)?,
        })
    }

    /// Continues a single-run simulation from `ckpt`: fields, clock, step plan and counters,
    /// so the rest of the run is the same, bit for bit, as if it had never stopped.
    pub fn restore(&mut self, ckpt: &Checkpoint) -> Result<()> {
        if self.planes.runs != 1 {
            return Err(Error::Internal(
                "restore is for single-run simulations".into(),
            ));
        }
        self.planes
            .write_raw(&self.queue, self.current, 0, &ckpt.planes)?;
        self.time = ckpt.time;
        self.error_dt = ckpt.error_dt;
        self.qs_coupling = ckpt.qs_coupling;
        // A blow-up after the checkpoint is undone with it; an interactive run re-converges
        // its quasi-steady species before stepping on (a batch run converges every batch).
        self.failed[0] = None;
        self.owe_qs();
        self.plans[0] = ckpt.plan.clone();
        self.plan = ckpt.plan.clone();
        self.counters = ckpt.counters;
        Ok(())
    }

    /// Steps with `dt` from now on, with no stability check at all: for numerical
    /// experiments (measuring where a scheme goes unstable), never for results.
    /// `stages` sets the RKL2 stage count (rkl2 scheme only).
    pub fn force_step_unchecked(&mut self, dt: f64, stages: Option<u32>) {
        for p in self.plans.iter_mut().chain(std::iter::once(&mut self.plan)) {
            p.dt = dt;
            p.limited_by = "forced, unchecked (numerical experiment)".into();
            if let Some(s) = stages.filter(|_| p.stages > 0) {
                p.stages = s.max(2);
            }
        }
    }

    /// Changes one parameter of run `run` from now on (GUI sliders, interventions).
    pub fn set_param(&mut self, run: usize, name: &str, value: f64) -> Result<()> {
        let i = self.scenarios[run]
            .model
            .param_index(name)
            .ok_or_else(|| Error::Internal(format!("no param `{name}`")))?;
        self.scenarios[run].model.params[i].value = value;
        let data = RunUniform::new(&self.scenarios[run]);
        self.queue.write_buffer(
            &self.runs_buf,
            (run * std::mem::size_of::<RunUniform>()) as u64,
            bytemuck::bytes_of(&data),
        );
        Ok(())
    }

    pub fn runs(&self) -> usize {
        self.planes.runs
    }
    /// Which ping-pong set holds the current state (for views that read the planes).
    pub fn current_set(&self) -> usize {
        self.current
    }
    /// The field planes of ping-pong set `set` (0 or 1).
    pub fn planes_of_set(&self, set: usize) -> &[wgpu::Buffer] {
        &self.planes.sets[set]
    }
    pub fn time(&self) -> f64 {
        self.time
    }
    /// The plan the batch steps with.
    pub fn plan(&self) -> &StepPlan {
        &self.plan
    }
    pub fn counters(&self) -> Counters {
        self.counters
    }
    pub fn scenario(&self) -> &Scenario {
        &self.scenarios[0]
    }
    pub fn scenario_of(&self, run: usize) -> &Scenario {
        &self.scenarios[run]
    }
}
