//! GPU objects built once per simulation: the field sets (every species of every run in one
//! buffer per set, four species to a vec4 plane), the aux buffer (flag blocks, metric
//! values; see `layout`), the uniforms (grid, per-run params) and the main bind groups.
//!
//! **Which set is current** follows one rule: between passes the state is in
//! `sets[current]` ([`Current`]); a pass that writes a new state into the other set flips
//! it, and a pass that writes in place (deposits, quasi-steady sweeps, the RKL2 reaction
//! pass, which lands back on its step's start) leaves it.

use super::gpu::Gpu;
use super::kernels::Kernels;
use super::layout;
use super::problem::{Grid, Problem};
use super::records::Records;
use super::uniforms::{GridUniform, RunUniform};
use crate::error::{Error, Field, Result};
use crate::model::Model;

/// Which ping-pong set holds the state (0 or 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Current(usize);

impl Current {
    pub fn index(self) -> usize {
        self.0
    }
    pub fn other(self) -> usize {
        1 - self.0
    }
    pub fn flip(&mut self) {
        self.0 = 1 - self.0;
    }
    pub fn set(&mut self, set: usize) {
        self.0 = set & 1;
    }
}

/// Bytes of one plane (a vec4<f32> per cell) for `runs` batched runs.
pub fn plane_bytes(grid: &Grid, runs: usize) -> u64 {
    grid.cells() * 16 * runs as u64
}

/// Bytes of one field set: every plane of every run.
pub fn set_bytes(model: &Model, grid: &Grid, runs: usize) -> u64 {
    plane_bytes(grid, runs) * model.planes() as u64
}

/// Refuses, with the numbers and the fix, a grid that the device cannot hold.
pub fn check_limits(
    model: &Model,
    grid: &Grid,
    runs: usize,
    limits: &wgpu::Limits,
    adapter: &str,
) -> Result<()> {
    let set = set_bytes(model, grid, runs);
    let aux = layout::flag_bytes(runs)
        + if model.metrics.is_empty() {
            0
        } else {
            plane_bytes(grid, runs)
        };
    let max = limits
        .max_storage_buffer_binding_size
        .min(limits.max_buffer_size);
    let need = set.max(aux);
    if need > max {
        let per_cell = 16 * runs as u64 * (model.planes() as u64).max(1);
        let max_cells = (max - layout::flag_bytes(runs)) / per_cell;
        let side = (max_cells as f64).sqrt().floor() as u64;
        let planes = model.planes() as u64;
        let needs = if planes <= 1 {
            format!(
                "needs {} MiB per field plane (4 species × 4 bytes per cell)",
                need >> 20
            )
        } else {
            format!(
                "needs {} MiB per field plane × {planes} planes = {} MiB in one buffer",
                plane_bytes(grid, runs) >> 20,
                need >> 20
            )
        };
        return Err(Error::Problem {
            field: Field::GridSize,
            message: format!(
                "a {}×{} grid{} of {} species {needs}, but {adapter} allows at most {} MiB per storage buffer",
                grid.nx,
                grid.ny,
                if runs > 1 {
                    format!(" × {runs} batched runs")
                } else {
                    String::new()
                },
                model.species.len(),
                max >> 20
            ),
            fix: format!(
                "use at most {max_cells} cells (e.g. size = [{side}, {side}]), fewer batched runs, or a GPU with larger buffer limits"
            ),
        });
    }
    Ok(())
}

/// The field sets and the aux buffer.
pub struct Fields {
    pub planes: usize,
    /// Cells of one run.
    pub cells: u64,
    pub runs: usize,
    /// The two ping-pong sets.
    pub sets: [wgpu::Buffer; 2],
    /// Extra sets for multi-stage schemes and step doubling.
    pub scratch: Vec<wgpu::Buffer>,
    /// Flag blocks of every run, then (with metrics) one vec4 per cell of every run.
    pub aux: wgpu::Buffer,
}

impl Fields {
    pub fn new(gpu: &Gpu, model: &Model, grid: &Grid, runs: usize, scratch: usize) -> Fields {
        let usage = wgpu::BufferUsages::STORAGE
            | wgpu::BufferUsages::COPY_SRC
            | wgpu::BufferUsages::COPY_DST;
        let size = set_bytes(model, grid, runs);
        let make = |label: String, size: u64| {
            gpu.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(&label),
                size,
                usage,
                mapped_at_creation: false,
            })
        };
        let name = &model.name;
        let aux_size = layout::flag_bytes(runs)
            + if model.metrics.is_empty() {
                0
            } else {
                plane_bytes(grid, runs)
            };
        Fields {
            planes: model.planes(),
            cells: grid.cells(),
            runs,
            sets: [0, 1].map(|s| make(format!("exoderm.{name}.field.set{s}"), size)),
            scratch: (0..scratch)
                .map(|s| make(format!("exoderm.{name}.field.scratch{s}"), size))
                .collect(),
            aux: make(format!("exoderm.{name}.aux"), aux_size),
        }
    }

    /// Bytes of one run's slice of one plane.
    fn slice_bytes(&self) -> u64 {
        self.cells * 16
    }

    /// Byte offset of run `run`'s slice of plane `k`.
    fn slice_offset(&self, k: usize, run: usize) -> u64 {
        (k as u64 * self.runs as u64 + run as u64) * self.slice_bytes()
    }

    /// Run `run`'s slice of every plane of `buf`, as raw bytes (for checkpoints).
    pub fn read_raw(&self, gpu: &Gpu, buf: &wgpu::Buffer, run: usize) -> Result<Vec<Vec<u8>>> {
        (0..self.planes)
            .map(|k| gpu.read_buffer(buf, self.slice_offset(k, run), self.slice_bytes()))
            .collect()
    }

    /// Run `run`'s species from `buf`, de-interleaved: one Vec per species (row-major,
    /// row 0 at y min).
    pub fn read_species(
        &self,
        gpu: &Gpu,
        buf: &wgpu::Buffer,
        run: usize,
        nspecies: usize,
    ) -> Result<Vec<Vec<f32>>> {
        let mut out = vec![Vec::with_capacity(self.cells as usize); nspecies];
        for (k, bytes) in self.read_raw(gpu, buf, run)?.iter().enumerate() {
            let vals: &[f32] = bytemuck::cast_slice(bytes);
            for (m, column) in out.iter_mut().enumerate().skip(4 * k).take(4) {
                column.extend(vals.iter().skip(m - 4 * k).step_by(4));
            }
        }
        Ok(out)
    }

    /// Overwrites run `run`'s slice of every plane of `buf` (from a checkpoint).
    pub fn write_raw(
        &self,
        gpu: &Gpu,
        buf: &wgpu::Buffer,
        run: usize,
        planes: &[Vec<u8>],
    ) -> Result<()> {
        if planes.len() != self.planes
            || planes.iter().any(|p| p.len() as u64 != self.slice_bytes())
        {
            return Err(Error::Internal(
                "checkpoint planes do not match the simulation".into(),
            ));
        }
        for (k, data) in planes.iter().enumerate() {
            gpu.queue.write_buffer(buf, self.slice_offset(k, run), data);
        }
        Ok(())
    }
}

/// Everything built once: fields, uniforms, records, the flag readback buffer and the main
/// bind groups.
pub struct Resources {
    pub fields: Fields,
    pub grid_buf: wgpu::Buffer,
    pub runs_buf: wgpu::Buffer,
    pub records: Records,
    pub flags_staging: wgpu::Buffer,
    /// Main layout, "from set s": reads `sets[s]` (binding 3), writes `sets[1 − s]` (4).
    pub from: [wgpu::BindGroup; 2],
    pub grid: Grid,
}

impl Resources {
    pub fn new(
        gpu: &Gpu,
        kernels: &Kernels,
        problems: &[Problem],
        scratch: usize,
    ) -> Result<Resources> {
        let first = &problems[0];
        let (model, grid, runs) = (&first.model, &first.grid, problems.len());
        let scope = gpu.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let fields = Fields::new(gpu, model, grid, runs, scratch);
        let uniform = |label: &str, bytes: &[u8]| {
            let buf = gpu.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(&format!("exoderm.{}.{label}", model.name)),
                size: bytes.len() as u64,
                usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            gpu.queue.write_buffer(&buf, 0, bytes);
            buf
        };
        let grid_buf = uniform("grid", bytemuck::bytes_of(&GridUniform::new(grid, runs)));
        let mut run_data = vec![bytemuck::Zeroable::zeroed(); crate::model::expr::MAX_BATCH];
        for (r, p) in problems.iter().enumerate() {
            run_data[r] = RunUniform::new(p, &p.atol(&[]));
        }
        // The runs' block, then the maps resampled onto the grid (at least one vec4: a
        // runtime-sized array may not be empty).
        let mut runs_bytes = bytemuck::cast_slice::<RunUniform, u8>(&run_data).to_vec();
        let maps = super::maps::planes(model, grid);
        runs_bytes.extend_from_slice(bytemuck::cast_slice(&maps));
        if maps.is_empty() {
            runs_bytes.extend_from_slice(&[0u8; 16]);
        }
        let runs_buf = gpu.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(&format!("exoderm.{}.runs_and_maps", model.name)),
            size: runs_bytes.len() as u64,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        gpu.queue.write_buffer(&runs_buf, 0, &runs_bytes);
        let records = Records::new(gpu, &model.name);
        let flags_staging = gpu.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("exoderm.flags.readback"),
            size: layout::flag_bytes(runs),
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(Error::Gpu {
                during: "allocating the fields".into(),
                message: e.to_string(),
            });
        }
        let from = [0, 1].map(|s| {
            bind_main(
                gpu,
                kernels,
                [&grid_buf, &records.buffer, &runs_buf],
                [&fields.sets[s], &fields.sets[1 - s], &fields.aux],
                &format!("from{s}"),
            )
        });
        Ok(Resources {
            from,
            fields,
            grid_buf,
            runs_buf,
            records,
            flags_staging,
            grid: grid.clone(),
        })
    }

    /// A bind group of `layout` with the uniforms every layout starts with (grid, step
    /// record, per-run params) and `storage` as (binding, buffer) pairs.
    pub fn group(
        &self,
        gpu: &Gpu,
        layout: &wgpu::BindGroupLayout,
        storage: &[(u32, &wgpu::Buffer)],
        label: &str,
    ) -> wgpu::BindGroup {
        bind_group(
            gpu,
            layout,
            [&self.grid_buf, &self.records.buffer, &self.runs_buf],
            storage,
            label,
        )
    }

    /// A main-layout bind group reading `src`, writing `dst`, with the aux buffer.
    pub fn main_group(
        &self,
        gpu: &Gpu,
        kernels: &Kernels,
        src: &wgpu::Buffer,
        dst: &wgpu::Buffer,
        label: &str,
    ) -> wgpu::BindGroup {
        bind_main(
            gpu,
            kernels,
            [&self.grid_buf, &self.records.buffer, &self.runs_buf],
            [src, dst, &self.fields.aux],
            label,
        )
    }

    /// Workgroups covering every cell of every run.
    pub fn workgroups(&self) -> (u32, u32, u32) {
        let (wx, wy) = super::codegen::WORKGROUP;
        (
            self.grid.nx.div_ceil(wx),
            self.grid.ny.div_ceil(wy),
            self.fields.runs as u32,
        )
    }

    /// Rewrites run `run`'s params, diffusion coefficients, tolerances and seed.
    pub fn write_run(&self, gpu: &Gpu, run: usize, p: &Problem, atol: &[f64]) {
        gpu.queue.write_buffer(
            &self.runs_buf,
            (run * std::mem::size_of::<RunUniform>()) as u64,
            bytemuck::bytes_of(&RunUniform::new(p, atol)),
        );
    }

    /// Copies every plane of `from` into `to`.
    pub fn copy_set(enc: &mut wgpu::CommandEncoder, from: &wgpu::Buffer, to: &wgpu::Buffer) {
        enc.copy_buffer_to_buffer(from, 0, to, 0, from.size());
    }
}

/// Bindings 0..3 of every layout: the grid, one step record (dynamic offset), the runs.
fn uniform_entries<'a>(
    [grid, records, runs]: [&'a wgpu::Buffer; 3],
) -> Vec<wgpu::BindGroupEntry<'a>> {
    vec![
        wgpu::BindGroupEntry {
            binding: 0,
            resource: grid.as_entire_binding(),
        },
        wgpu::BindGroupEntry {
            binding: 1,
            resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                buffer: records,
                offset: 0,
                size: wgpu::BufferSize::new(
                    std::mem::size_of::<super::uniforms::StepUniform>() as u64
                ),
            }),
        },
        wgpu::BindGroupEntry {
            binding: 2,
            resource: runs.as_entire_binding(),
        },
    ]
}

/// A main-layout bind group: uniforms, then 3 source, 4 destination, 5 aux.
fn bind_main(
    gpu: &Gpu,
    kernels: &Kernels,
    uniforms: [&wgpu::Buffer; 3],
    [src, dst, aux]: [&wgpu::Buffer; 3],
    label: &str,
) -> wgpu::BindGroup {
    bind_group(
        gpu,
        &kernels.main_layout,
        uniforms,
        &[(3, src), (4, dst), (5, aux)],
        label,
    )
}

/// A bind group of `layout`: the uniforms (bindings 0..3), then `storage` as (binding,
/// buffer) pairs; labelled `exoderm.bind.LABEL`.
pub fn bind_group(
    gpu: &Gpu,
    layout: &wgpu::BindGroupLayout,
    uniforms: [&wgpu::Buffer; 3],
    storage: &[(u32, &wgpu::Buffer)],
    label: &str,
) -> wgpu::BindGroup {
    let mut entries = uniform_entries(uniforms);
    entries.extend(storage.iter().map(|&(binding, buf)| wgpu::BindGroupEntry {
        binding,
        resource: buf.as_entire_binding(),
    }));
    gpu.device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some(&format!("exoderm.bind.{label}")),
        layout,
        entries: &entries,
    })
}
