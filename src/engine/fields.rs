//! Field storage on the GPU: the species packed four to a vec4<f32> plane, one storage
//! buffer per plane, two sets for ping-pong; plus a small aux buffer (check flags, metric
//! values). Readback happens only when asked (output times).

use crate::error::{Error, Result};
use crate::model::Model;
use crate::scenario::Grid;

pub struct Planes {
    pub planes: usize,
    /// Cells of one run.
    pub cells: u64,
    pub runs: usize,
    /// `sets[s][k]`: plane `k` of ping-pong set `s`.
    pub sets: [Vec<wgpu::Buffer>; 2],
    /// Extra sets for multi-stage schemes.
    pub scratch: Vec<Vec<wgpu::Buffer>>,
    /// First `runs` × 16 bytes: check flags (4 u32 per run); then one vec4 per cell of every
    /// run for a metrics group.
    pub aux: wgpu::Buffer,
}

/// u32 words of check/error flags per run at the start of the aux buffer: 0 NaN mask,
/// 1 runaway mask, 2 reaction rate, 3 soft rate, 32 + s error of species s, 48 + s its max.
pub const FLAG_WORDS: u64 = 64;

/// Bytes of one plane (a vec4<f32> per cell) for `runs` batched runs.
pub fn plane_bytes(grid: &Grid, runs: usize) -> u64 {
    grid.cells() * 16 * runs as u64
}

/// Refuses, with the numbers and the fix, a grid that the adapter cannot hold.
pub fn check_limits(
    model: &Model,
    grid: &Grid,
    runs: usize,
    limits: &wgpu::Limits,
    adapter: &str,
) -> Result<()> {
    let planes = model.planes();
    let bytes = plane_bytes(grid, runs)
        + if model.metrics.is_empty() {
            0
        } else {
            FLAG_WORDS * 4 * runs as u64
        };
    let max = limits
        .max_storage_buffer_binding_size
        .min(limits.max_buffer_size);
    if bytes > max {
        let max_cells = (max - FLAG_WORDS * 4 * runs as u64) / 16 / runs as u64;
        let side = (max_cells as f64).sqrt().floor() as u64;
        return Err(Error::scenario(
            grid.size_at.clone(),
            format!(
                "a {}×{} grid{} needs {} MiB per field plane (4 species × 4 bytes per cell), but {adapter} allows at most {} MiB per storage buffer",
                grid.nx,
                grid.ny,
                if runs > 1 {
                    format!(" × {runs} batched runs")
                } else {
                    String::new()
                },
                bytes >> 20,
                max >> 20
            ),
            format!(
                "use at most {max_cells} cells (e.g. size = [{side}, {side}]), or run on a GPU with larger buffer limits"
            ),
        ));
    }
    let needed = 2 * planes as u32 + 1;
    if needed > limits.max_storage_buffers_per_shader_stage {
        return Err(Error::scenario(
            grid.size_at.clone(),
            format!(
                "{} species need {needed} storage buffers per shader stage, but {adapter} allows {}",
                model.species.len(),
                limits.max_storage_buffers_per_shader_stage
            ),
            "use at most 12 species on this adapter",
        ));
    }
    Ok(())
}

impl Planes {
    /// `scratch`: extra plane sets for multi-stage schemes (RKL2 needs 2).
    pub fn new(
        device: &wgpu::Device,
        model: &Model,
        grid: &Grid,
        runs: usize,
        scratch: usize,
    ) -> Planes {
        let planes = model.planes();
        let size = plane_bytes(grid, runs);
        let usage = wgpu::BufferUsages::STORAGE
            | wgpu::BufferUsages::COPY_SRC
            | wgpu::BufferUsages::COPY_DST;
        let make_set = |s: usize| -> Vec<wgpu::Buffer> {
            (0..planes)
                .map(|k| {
                    device.create_buffer(&wgpu::BufferDescriptor {
                        label: Some(&format!("exoderm.{}.field.set{s}.plane{k}", model.name)),
                        size,
                        usage,
                        mapped_at_creation: false,
                    })
                })
                .collect()
        };
        let aux_size =
            FLAG_WORDS * 4 * runs as u64 + if model.metrics.is_empty() { 0 } else { size };
        let aux = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(&format!("exoderm.{}.aux", model.name)),
            size: aux_size,
            usage,
            mapped_at_creation: false,
        });
        Planes {
            planes,
            cells: grid.cells(),
            runs,
            sets: [make_set(0), make_set(1)],
            scratch: (0..scratch).map(|s| make_set(2 + s)).collect(),
            aux,
        }
    }

    /// Copies run `run`'s slice of every plane of `set` back, de-interleaved: one Vec per
    /// species (row-major, row 0 at y min).
    pub fn read_species(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        set: usize,
        run: usize,
        nspecies: usize,
    ) -> Result<Vec<Vec<f32>>> {
        let mut out = vec![Vec::with_capacity(self.cells as usize); nspecies];
        for (k, bytes) in self.read_raw(device, queue, set, run)?.iter().enumerate() {
            let vals: &[f32] = bytemuck::cast_slice(bytes);
            for (m, column) in out.iter_mut().enumerate().skip(4 * k).take(4) {
                column.extend(vals.iter().skip(m - 4 * k).step_by(4));
            }
        }
        Ok(out)
    }

    /// Run `run`'s slice of every plane of `set`, as raw bytes (for checkpoints).
    pub fn read_raw(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        set: usize,
        run: usize,
    ) -> Result<Vec<Vec<u8>>> {
        let bytes = self.cells * 16;
        self.sets[set]
            .iter()
            .map(|buf| read_buffer(device, queue, buf, run as u64 * bytes, bytes))
            .collect()
    }

    /// Overwrites run `run`'s slice of every plane of `set` (from a checkpoint).
    pub fn write_raw(
        &self,
        queue: &wgpu::Queue,
        set: usize,
        run: usize,
        planes: &[Vec<u8>],
    ) -> Result<()> {
        let bytes = self.cells * 16;
        if planes.len() != self.planes || planes.iter().any(|p| p.len() as u64 != bytes) {
            return Err(Error::Internal(
                "checkpoint planes do not match the simulation".into(),
            ));
        }
        for (buf, data) in self.sets[set].iter().zip(planes) {
            queue.write_buffer(buf, run as u64 * bytes, data);
        }
        Ok(())
    }
}

/// Copies `size` bytes at `offset` of `buf` into host memory and waits for them.
pub fn read_buffer(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    buf: &wgpu::Buffer,
    offset: u64,
    size: u64,
) -> Result<Vec<u8>> {
    let staging = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("exoderm.readback"),
        size,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let mut enc = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
        label: Some("exoderm.readback"),
    });
    enc.copy_buffer_to_buffer(buf, offset, &staging, 0, size);
    queue.submit([enc.finish()]);
    map_and_read(device, &staging)
}

/// Maps a MAP_READ buffer, waits, and returns its bytes.
pub fn map_and_read(device: &wgpu::Device, staging: &wgpu::Buffer) -> Result<Vec<u8>> {
    let (tx, rx) = std::sync::mpsc::channel();
    staging.map_async(wgpu::MapMode::Read, .., move |r| {
        let _ = tx.send(r);
    });
    wait(device)?;
    rx.recv()
        .map_err(|_| Error::Internal("map callback dropped".into()))?
        .map_err(|e| Error::Gpu {
            during: "reading results back".into(),
            message: e.to_string(),
        })?;
    let view = staging.get_mapped_range(..).map_err(|e| Error::Gpu {
        during: "reading results back".into(),
        message: e.to_string(),
    })?;
    let bytes = view.to_vec();
    drop(view);
    staging.unmap();
    Ok(bytes)
}

/// Blocks until the GPU has finished all submitted work.
pub fn wait(device: &wgpu::Device) -> Result<()> {
    device
        .poll(wgpu::PollType::wait_indefinitely())
        .map(|_| ())
        .map_err(|e| Error::Gpu {
            during: "waiting for the GPU".into(),
            message: e.to_string(),
        })
}
