//! A running simulation: fields on the GPU, advanced in batches of many dispatches per
//! submit, checked for blow-ups between batches, read back only when asked.

use std::time::Instant;

use super::codegen::WORKGROUP;
use super::fields::{self, Planes};
use super::pipeline::Kernels;
use super::stepper::{MAX_RECORDS, StepPlan};
use super::uniforms::{GridUniform, ParamsUniform, StepUniform};
use crate::error::{Error, Result};
use crate::scenario::Scenario;
use crate::units::format_time;

/// Records 0..SERVICE are for the check/metrics dispatches (record g computes metric group g).
const SERVICE: usize = 4;

/// What one batch of steps did, for progress and throughput reports.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counters {
    /// Main steps taken.
    pub steps: u64,
    /// Full-grid kernel dispatches (steps + sub-steps).
    pub dispatches: u64,
    /// Wall time spent stepping (s).
    pub seconds: f64,
}

pub struct Simulation {
    device: wgpu::Device,
    queue: wgpu::Queue,
    scenario: Scenario,
    kernels: Kernels,
    planes: Planes,
    records: wgpu::Buffer,
    stride: u64,
    bind_groups: [wgpu::BindGroup; 2],
    flags_staging: wgpu::Buffer,
    /// Which ping-pong set holds the current state.
    current: usize,
    time: f64,
    plan: StepPlan,
    counters: Counters,
}

impl Simulation {
    /// Uploads the scenario's fields and builds its pipelines on a borrowed device.
    /// `limits` and `adapter` are the device's, for a clear refusal of oversized grids.
    pub fn new(
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        limits: &wgpu::Limits,
        adapter: &str,
        scenario: &Scenario,
    ) -> Result<Simulation> {
        let model = &scenario.model;
        fields::check_limits(model, &scenario.grid, limits, adapter)?;
        let kernels = Kernels::new(device, model)?;
        let scope = device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let planes = Planes::new(device, model, &scenario.grid);
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
        let grid_u = GridUniform::new(&scenario.grid, scenario.seed, model.species.len());
        let grid_buf = uniform("grid", bytemuck::bytes_of(&grid_u));
        let mut params = ParamsUniform {
            p: [0.0; crate::model::MAX_PARAMS],
        };
        for (i, p) in model.params.iter().enumerate() {
            params.p[i] = p.value as f32;
        }
        let params_buf = uniform("params", bytemuck::bytes_of(&params));
        let align = limits.min_uniform_buffer_offset_alignment as u64;
        let stride = (std::mem::size_of::<StepUniform>() as u64).div_ceil(align) * align;
        let records = uniform(
            "steps",
            &vec![0u8; (stride as usize) * (SERVICE + MAX_RECORDS)],
        );
        let bind_group = |src: usize| {
            let mut entries = vec![
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
                    resource: params_buf.as_entire_binding(),
                },
            ];
            let n = planes.planes;
            for k in 0..n {
                entries.push(wgpu::BindGroupEntry {
                    binding: super::codegen::src_binding(k),
                    resource: planes.sets[src][k].as_entire_binding(),
                });
                entries.push(wgpu::BindGroupEntry {
                    binding: super::codegen::dst_binding(n, k),
                    resource: planes.sets[1 - src][k].as_entire_binding(),
                });
            }
            entries.push(wgpu::BindGroupEntry {
                binding: super::codegen::aux_binding(n),
                resource: planes.aux.as_entire_binding(),
            });
            device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some(&format!("exoderm.{}.bind.src{src}", model.name)),
                layout: &kernels.layout,
                entries: &entries,
            })
        };
        let bind_groups = [bind_group(0), bind_group(1)];
        let flags_staging = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("exoderm.flags.readback"),
            size: 16,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(Error::Gpu {
                during: "allocating the fields".into(),
                message: e.to_string(),
            });
        }
        let placeholder = StepPlan::new(model, &scenario.grid, None, &scenario.time.dt_at, 0.0)?;
        let mut sim = Simulation {
            device: device.clone(),
            queue: queue.clone(),
            scenario: scenario.clone(),
            kernels,
            planes,
            records,
            stride,
            bind_groups,
            flags_staging,
            current: 0,
            time: 0.0,
            plan: placeholder,
            counters: Counters::default(),
        };
        sim.initialise()?;
        Ok(sim)
    }

    /// Evaluates the initial conditions on the GPU into set 0 and plans the step from them.
    fn initialise(&mut self) -> Result<()> {
        self.write_service_records();
        let mut enc = self.encoder("init");
        {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("exoderm.init"),
                timestamp_writes: None,
            });
            pass.set_pipeline(&self.kernels.init);
            // Bind group 1 reads set 1 and writes set 0.
            pass.set_bind_group(0, &self.bind_groups[1], &[0]);
            let (x, y) = self.workgroups();
            pass.dispatch_workgroups(x, y, 1);
        }
        self.current = 0;
        self.encode_check(&mut enc);
        self.queue.submit([enc.finish()]);
        let (bad, big, rate) = self.read_flags()?;
        if bad | big != 0 {
            let s = self.species_of(bad | big);
            let sp = &self.scenario.model.species[s];
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
        self.plan = StepPlan::new(
            &self.scenario.model,
            &self.scenario.grid,
            self.scenario.time.dt,
            &self.scenario.time.dt_at,
            rate,
        )?;
        Ok(())
    }

    fn encoder(&self, label: &str) -> wgpu::CommandEncoder {
        self.device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some(&format!("exoderm.{label}")),
            })
    }

    fn workgroups(&self) -> (u32, u32) {
        (
            self.scenario.grid.nx.div_ceil(WORKGROUP.0),
            self.scenario.grid.ny.div_ceil(WORKGROUP.1),
        )
    }

    fn write_service_records(&self) {
        let mut bytes = vec![0u8; self.stride as usize * SERVICE];
        for g in 0..SERVICE {
            let r = StepUniform {
                t: self.time as f32,
                sel: g as u32,
                ..bytemuck::Zeroable::zeroed()
            };
            bytes[g * self.stride as usize..][..std::mem::size_of::<StepUniform>()]
                .copy_from_slice(bytemuck::bytes_of(&r));
        }
        self.queue.write_buffer(&self.records, 0, &bytes);
    }

    /// Clears the flags, checks the current state, and queues the flags' readback.
    fn encode_check(&self, enc: &mut wgpu::CommandEncoder) {
        enc.clear_buffer(&self.planes.aux, 0, Some(16));
        {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("exoderm.check"),
                timestamp_writes: None,
            });
            pass.set_pipeline(&self.kernels.check);
            pass.set_bind_group(0, &self.bind_groups[self.current], &[0]);
            let (x, y) = self.workgroups();
            pass.dispatch_workgroups(x, y, 1);
        }
        enc.copy_buffer_to_buffer(&self.planes.aux, 0, &self.flags_staging, 0, 16);
    }

    /// (NaN/Inf mask, runaway mask, reaction-rate estimate).
    fn read_flags(&self) -> Result<(u32, u32, f64)> {
        let bytes = fields::map_and_read(&self.device, &self.flags_staging)?;
        let w: &[u32] = bytemuck::cast_slice(&bytes);
        Ok((w[0], w[1], f32::from_bits(w[2]) as f64))
    }

    fn species_of(&self, mask: u32) -> usize {
        mask.trailing_zeros() as usize
    }

    /// Main steps per batch (and per blow-up check): ~64 M cell-updates, 8..1024 steps.
    /// Depends only on the grid and the plan, so a run is the same on every machine.
    fn batch_steps(&self) -> u64 {
        let by_cells = ((1u64 << 26) / self.scenario.grid.cells()).clamp(8, 1024);
        let by_records = (MAX_RECORDS as u64 / (self.plan.substeps as u64 + 1)).max(1);
        by_cells.min(by_records)
    }

    /// Advances to `until` (h), calling `progress(time)` after every batch.
    pub fn advance(&mut self, until: f64, progress: &mut dyn FnMut(f64)) -> Result<()> {
        let started = Instant::now();
        let model = &self.scenario.model;
        let grid = &self.scenario.grid;
        while until - self.time > 1e-12 * until.abs().max(1.0) {
            let remaining = until - self.time;
            let n_total = if self.plan.dt.is_finite() {
                (remaining / self.plan.dt * (1.0 - 1e-12)).ceil().max(1.0) as u64
            } else {
                1
            };
            let dt = remaining / n_total as f64;
            let n = n_total.min(self.batch_steps());

            // Step records: m diffusion-only sub-steps of the fast species, then the main step.
            let m = self.plan.substeps as usize;
            let coefs = |fast_pass: bool, h: f64| {
                let (mut cx, mut cy) = ([[0f32; 4]; 4], [[0f32; 4]; 4]);
                for (s, sp) in model.species.iter().enumerate() {
                    let is_fast = self.plan.fast.contains(&sp.name);
                    if is_fast == fast_pass {
                        cx[s / 4][s % 4] = (sp.diffusion * h / (grid.dx() * grid.dx())) as f32;
                        cy[s / 4][s % 4] = (sp.diffusion * h / (grid.dy() * grid.dy())) as f32;
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
                        let rec = StepUniform {
                            t,
                            react_dt: 0.0,
                            sel: 0,
                            pad0: 0,
                            cx: sub_cx,
                            cy: sub_cy,
                        };
                        bytes[r * self.stride as usize..][..std::mem::size_of::<StepUniform>()]
                            .copy_from_slice(bytemuck::bytes_of(&rec));
                        r += 1;
                    }
                }
                let rec = StepUniform {
                    t,
                    react_dt: dt as f32,
                    sel: 0,
                    pad0: 0,
                    cx: main_cx,
                    cy: main_cy,
                };
                bytes[r * self.stride as usize..][..std::mem::size_of::<StepUniform>()]
                    .copy_from_slice(bytemuck::bytes_of(&rec));
                r += 1;
            }
            self.queue
                .write_buffer(&self.records, self.stride * SERVICE as u64, &bytes);
            let t_before = self.time;
            self.time = if n == n_total {
                until
            } else {
                self.time + n as f64 * dt
            };
            self.write_service_records();

            let mut enc = self.encoder("steps");
            {
                let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some("exoderm.steps"),
                    timestamp_writes: None,
                });
                pass.set_pipeline(&self.kernels.step);
                let (x, y) = self.workgroups();
                for i in 0..r {
                    let offset = (self.stride * (SERVICE + i) as u64) as u32;
                    pass.set_bind_group(0, &self.bind_groups[self.current], &[offset]);
                    pass.dispatch_workgroups(x, y, 1);
                    self.current = 1 - self.current;
                }
            }
            self.encode_check(&mut enc);
            self.queue.submit([enc.finish()]);
            let (bad, big, rate) = self.read_flags()?;
            self.counters.steps += n;
            self.counters.dispatches += r as u64;
            if bad | big != 0 {
                let s = self.species_of(bad | big);
                let name = &model.species[s].name;
                let cause = if self.scenario.time.dt.is_some() {
                    "the forced [time] dt may be too large for these reactions: remove it and let exoderm choose".to_string()
                } else if model.species[s].reaction.is_some() {
                    format!(
                        "the reaction term of `{name}` (reactions.{name}) grows without bound — is a limiting term (e.g. `* (1.0 - {name})`) or a decay missing, or a parameter far outside its range?"
                    )
                } else {
                    format!(
                        "a reaction elsewhere feeds `{name}` without bound, or a boundary value is NaN"
                    )
                };
                return Err(Error::Blowup {
                    species: name.clone(),
                    what: if bad & (1 << s) != 0 {
                        "NaN or infinite".into()
                    } else {
                        "larger than 1e30".into()
                    },
                    from: format_time(t_before),
                    to: format_time(self.time),
                    cause,
                });
            }
            // The reactions got faster than planned for: take smaller steps from here on.
            if rate > self.plan.reaction_rate * 1.0001 && rate.is_finite() {
                self.plan = StepPlan::new(
                    model,
                    grid,
                    self.scenario.time.dt,
                    &self.scenario.time.dt_at,
                    rate,
                )?;
                // A step collapsing towards zero is a blow-up in slow motion (Zeno): say so
                // instead of running for ever.
                let left = self.scenario.time.end - self.time;
                if left / self.plan.dt > 1e9 {
                    let reacting: Vec<&str> = model
                        .species
                        .iter()
                        .filter(|s| s.reaction.is_some())
                        .map(|s| s.name.as_str())
                        .collect();
                    let fields: Vec<String> =
                        reacting.iter().map(|n| format!("reactions.{n}")).collect();
                    return Err(Error::Blowup {
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
                    });
                }
            }
            progress(self.time);
        }
        self.counters.seconds += started.elapsed().as_secs_f64();
        Ok(())
    }

    /// The current fields, one Vec per species (row-major, nx × ny, row 0 at y min).
    pub fn read_fields(&self) -> Result<Vec<Vec<f32>>> {
        self.planes.read_species(
            &self.device,
            &self.queue,
            self.current,
            self.scenario.model.species.len(),
        )
    }

    /// The model's metrics at the current time, reduced in f64 from per-cell GPU values.
    pub fn read_metrics(&self) -> Result<Vec<f64>> {
        let model = &self.scenario.model;
        let Some(pipeline) = &self.kernels.metrics else {
            return Ok(vec![]);
        };
        self.write_service_records();
        let cells = self.planes.cells;
        let area = self.scenario.grid.cell_area();
        let mut out = vec![0.0; model.metrics.len()];
        for g in 0..model.metrics.len().div_ceil(4) {
            let mut enc = self.encoder("metrics");
            {
                let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some("exoderm.metrics"),
                    timestamp_writes: None,
                });
                pass.set_pipeline(pipeline);
                pass.set_bind_group(
                    0,
                    &self.bind_groups[self.current],
                    &[(self.stride * g as u64) as u32],
                );
                let (x, y) = self.workgroups();
                pass.dispatch_workgroups(x, y, 1);
            }
            self.queue.submit([enc.finish()]);
            let bytes =
                fields::read_buffer(&self.device, &self.queue, &self.planes.aux, 16, cells * 16)?;
            let vals: &[f32] = bytemuck::cast_slice(&bytes);
            for c in 0..4 {
                let Some(metric) = model.metrics.get(4 * g + c) else {
                    break;
                };
                let it = vals.iter().skip(c).step_by(4).map(|&v| v as f64);
                out[4 * g + c] = match metric.reduce {
                    crate::model::Reduce::Integral => it.sum::<f64>() * area,
                    crate::model::Reduce::Mean => it.sum::<f64>() / cells as f64,
                    crate::model::Reduce::Min => it.fold(f64::INFINITY, f64::min),
                    crate::model::Reduce::Max => it.fold(f64::NEG_INFINITY, f64::max),
                };
            }
        }
        Ok(out)
    }

    pub fn time(&self) -> f64 {
        self.time
    }
    pub fn plan(&self) -> &StepPlan {
        &self.plan
    }
    pub fn counters(&self) -> Counters {
        self.counters
    }
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }
}
