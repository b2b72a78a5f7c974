//! Pictures of a running simulation, made on the GPU: a species through a colour map (range
//! fixed, or found by a GPU reduction), or the realistic skin view, written from the field
//! planes into an rgba8unorm texture that a window samples directly — nothing is read back
//! per frame. A [`Probe`] brings back a few numbers (the range, the values at one cell)
//! without waiting: it is polled, never blocked on.

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use bytemuck::{Pod, Zeroable};
use eframe::wgpu;

use crate::engine::Simulation;
use crate::engine::kernels::buffer_entry;
use crate::scenario::Skin;

pub const VIEW_WGSL: &str = include_str!("../../shaders/view.wgsl");

/// Mirrors `View` in shaders/view.wgsl — keep in sync (a test checks sizes and offsets).
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub struct ViewUniform {
    pub nx: u32,
    pub ny: u32,
    pub run: u32,
    pub species: u32,
    pub auto_range: u32,
    pub runs: u32,
    pub lo: f32,
    pub hi: f32,
    pub skin: [i32; 4],
    pub skin_full: [f32; 4],
    pub cell: [f32; 2],
    pub pad1: [f32; 2],
}

/// What to draw.
#[derive(Debug, Clone, PartialEq)]
pub enum Look {
    /// One species; `range` None = the field's own min..max, found on the GPU.
    Colormap {
        species: usize,
        colormap: String,
        range: Option<[f32; 2]>,
    },
    /// The model's skin roles as tissue.
    Skin(Skin),
}

/// The view's GPU objects for one simulation (rebuilt with it).
pub struct FieldView {
    pub texture: wgpu::Texture,
    /// The texture as the window samples it.
    pub sample_view: wgpu::TextureView,
    uniform: wgpu::Buffer,
    lut: wgpu::Buffer,
    lut_name: String,
    range: wgpu::Buffer,
    /// Bind groups reading the simulation's state set 0 and set 1.
    groups: [wgpu::BindGroup; 2],
    reduce: wgpu::ComputePipeline,
    colormap: wgpu::ComputePipeline,
    skin: wgpu::ComputePipeline,
    reduce_delta: wgpu::ComputePipeline,
    difference: wgpu::ComputePipeline,
    /// For the difference view's bind groups, made per frame (they name two simulations).
    layout: wgpu::BindGroupLayout,
    storage_view: wgpu::TextureView,
    size: [u32; 2],
}

impl FieldView {
    pub fn new(device: &wgpu::Device, sim: &Simulation) -> FieldView {
        let grid = &sim.problem().grid;
        let size = [grid.nx, grid.ny];
        let texture = device.create_texture(&wgpu::TextureDescriptor {
            label: Some("exoderm.view.texture"),
            size: wgpu::Extent3d {
                width: size[0],
                height: size[1],
                depth_or_array_layers: 1,
            },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: wgpu::TextureFormat::Rgba8Unorm,
            usage: wgpu::TextureUsages::STORAGE_BINDING
                | wgpu::TextureUsages::TEXTURE_BINDING
                | wgpu::TextureUsages::COPY_SRC,
            view_formats: &[],
        });
        let storage_view = texture.create_view(&Default::default());
        let sample_view = texture.create_view(&Default::default());
        let buffer = |label: &str, size: u64, usage: wgpu::BufferUsages| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size,
                usage: usage | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            })
        };
        let uniform = buffer(
            "exoderm.view.uniform",
            std::mem::size_of::<ViewUniform>() as u64,
            wgpu::BufferUsages::UNIFORM,
        );
        let lut = buffer("exoderm.view.lut", 1024, wgpu::BufferUsages::STORAGE);
        let range = buffer(
            "exoderm.view.range",
            16,
            wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        );
        use wgpu::BufferBindingType::{Storage, Uniform};
        let mut entries = vec![
            buffer_entry(0, Uniform),
            buffer_entry(1, Storage { read_only: true }),
            buffer_entry(2, Storage { read_only: false }),
            buffer_entry(3, Storage { read_only: true }),
            buffer_entry(4, Storage { read_only: true }),
        ];
        entries.push(wgpu::BindGroupLayoutEntry {
            binding: 5,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::StorageTexture {
                access: wgpu::StorageTextureAccess::WriteOnly,
                format: wgpu::TextureFormat::Rgba8Unorm,
                view_dimension: wgpu::TextureViewDimension::D2,
            },
            count: None,
        });
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("exoderm.view.layout"),
            entries: &entries,
        });
        let group = |set: usize| {
            let state = sim.state_sets()[set];
            let mut e = vec![
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: uniform.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: lut.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: range.as_entire_binding(),
                },
            ];
            for binding in [3, 4] {
                e.push(wgpu::BindGroupEntry {
                    binding,
                    resource: state.as_entire_binding(),
                });
            }
            e.push(wgpu::BindGroupEntry {
                binding: 5,
                resource: wgpu::BindingResource::TextureView(&storage_view),
            });
            device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some(&format!("exoderm.view.set{set}")),
                layout: &layout,
                entries: &e,
            })
        };
        let groups = [group(0), group(1)];
        let pl = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("exoderm.view.pipeline_layout"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("exoderm.view"),
            source: wgpu::ShaderSource::Wgsl(Cow::Borrowed(VIEW_WGSL)),
        });
        let pipeline = |entry: &str| {
            device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(&format!("exoderm.view.{entry}")),
                layout: Some(&pl),
                module: &module,
                entry_point: Some(entry),
                compilation_options: Default::default(),
                cache: None,
            })
        };
        FieldView {
            sample_view,
            uniform,
            lut,
            lut_name: String::new(),
            range,
            groups,
            reduce: pipeline("reduce_range"),
            colormap: pipeline("colormap"),
            skin: pipeline("skin"),
            reduce_delta: pipeline("reduce_delta"),
            difference: pipeline("difference"),
            layout,
            storage_view,
            size,
            texture,
        }
    }

    pub fn size(&self) -> [u32; 2] {
        self.size
    }

    /// Encodes the picture of run `run` as it is now.
    pub fn encode(
        &mut self,
        queue: &wgpu::Queue,
        enc: &mut wgpu::CommandEncoder,
        sim: &Simulation,
        run: usize,
        look: &Look,
    ) {
        let grid = &sim.problem().grid;
        let species = &sim.problem().model.species;
        let full = |s: Option<usize>| -> (i32, f32) {
            match s {
                Some(s) => (
                    s as i32,
                    species[s].range.map(|r| r[1] as f32).unwrap_or(1.0),
                ),
                None => (-1, 1.0),
            }
        };
        let mut u = ViewUniform {
            nx: grid.nx,
            ny: grid.ny,
            run: run as u32,
            species: 0,
            auto_range: 1,
            runs: sim.runs() as u32,
            lo: 0.0,
            hi: 1.0,
            skin: [-1; 4],
            skin_full: [1.0; 4],
            cell: [grid.dx() as f32, grid.dy() as f32],
            pad1: [0.0; 2],
        };
        let pipeline = match look {
            Look::Colormap {
                species,
                colormap,
                range,
            } => {
                u.species = *species as u32;
                if let Some([lo, hi]) = range {
                    u.auto_range = 0;
                    u.lo = *lo;
                    u.hi = *hi;
                }
                if *colormap != self.lut_name {
                    queue.write_buffer(
                        &self.lut,
                        0,
                        bytemuck::cast_slice(&crate::colormap::lut(colormap)),
                    );
                    self.lut_name = colormap.clone();
                }
                &self.colormap
            }
            Look::Skin(skin) => {
                for (k, role) in [skin.epidermis, skin.scab, skin.inflammation, skin.collagen]
                    .into_iter()
                    .enumerate()
                {
                    (u.skin[k], u.skin_full[k]) = full(role);
                }
                u.species = skin.epidermis.unwrap_or(0) as u32;
                &self.skin
            }
        };
        queue.write_buffer(&self.uniform, 0, bytemuck::bytes_of(&u));
        let group = &self.groups[sim.current_set()];
        let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("exoderm.view"),
            timestamp_writes: None,
        });
        pass.set_bind_group(0, group, &[]);
        pass.set_pipeline(&self.reduce);
        pass.dispatch_workgroups(1, 1, 1);
        pass.set_pipeline(pipeline);
        pass.dispatch_workgroups(grid.nx.div_ceil(16), grid.ny.div_ceil(16), 1);
    }
}

impl FieldView {
    /// Encodes the difference B − A of `species` between two simulations of one scenario
    /// (compare mode) through `colormap` (a diverging one: zero in the middle); `range`
    /// None = ±the largest |B − A|, found on the GPU.
    #[allow(clippy::too_many_arguments)]
    pub fn encode_difference(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        enc: &mut wgpu::CommandEncoder,
        a: &Simulation,
        b: &Simulation,
        species: usize,
        colormap: &str,
        range: Option<[f32; 2]>,
    ) {
        let grid = &a.problem().grid;
        let [lo, hi] = range.unwrap_or([0.0, 1.0]);
        let u = ViewUniform {
            nx: grid.nx,
            ny: grid.ny,
            run: 0,
            species: species as u32,
            auto_range: range.is_none() as u32,
            runs: 1,
            lo,
            hi,
            skin: [-1; 4],
            skin_full: [1.0; 4],
            cell: [grid.dx() as f32, grid.dy() as f32],
            pad1: [0.0; 2],
        };
        queue.write_buffer(&self.uniform, 0, bytemuck::bytes_of(&u));
        if colormap != self.lut_name {
            queue.write_buffer(
                &self.lut,
                0,
                bytemuck::cast_slice(&crate::colormap::lut(colormap)),
            );
            self.lut_name = colormap.to_string();
        }
        let mut entries = vec![
            wgpu::BindGroupEntry {
                binding: 0,
                resource: self.uniform.as_entire_binding(),
            },
            wgpu::BindGroupEntry {
                binding: 1,
                resource: self.lut.as_entire_binding(),
            },
            wgpu::BindGroupEntry {
                binding: 2,
                resource: self.range.as_entire_binding(),
            },
        ];
        for (binding, sim) in [(3, a), (4, b)] {
            entries.push(wgpu::BindGroupEntry {
                binding,
                resource: sim.state().as_entire_binding(),
            });
        }
        entries.push(wgpu::BindGroupEntry {
            binding: 5,
            resource: wgpu::BindingResource::TextureView(&self.storage_view),
        });
        let group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("exoderm.view.difference"),
            layout: &self.layout,
            entries: &entries,
        });
        let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("exoderm.view.difference"),
            timestamp_writes: None,
        });
        pass.set_bind_group(0, &group, &[]);
        pass.set_pipeline(&self.reduce_delta);
        pass.dispatch_workgroups(1, 1, 1);
        pass.set_pipeline(&self.difference);
        pass.dispatch_workgroups(grid.nx.div_ceil(16), grid.ny.div_ceil(16), 1);
    }
}

/// Numbers brought back without blocking: the shown range and every species at one cell.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProbeResult {
    pub range: [f32; 2],
    /// Cell (i, j) the values are from, and the values (one per species).
    pub cell: Option<[u32; 2]>,
    pub values: Vec<f32>,
}

const IDLE: u8 = 0;
const PENDING: u8 = 1;
const READY: u8 = 2;
const FAILED: u8 = 3;

/// One small readback in flight at a time: `request` after encoding a view, `poll` on later
/// frames.
pub struct Probe {
    staging: wgpu::Buffer,
    state: Arc<AtomicU8>,
    cell: Option<[u32; 2]>,
    nspecies: usize,
    planes: u64,
}

impl Probe {
    pub fn new(device: &wgpu::Device, sim: &Simulation) -> Probe {
        let planes = sim.problem().model.planes() as u64;
        Probe {
            staging: device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("exoderm.view.probe"),
                size: 16 + 16 * planes,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }),
            state: Arc::new(AtomicU8::new(IDLE)),
            cell: None,
            nspecies: sim.problem().model.species.len(),
            planes,
        }
    }

    /// Encodes the copies if no readback is in flight; returns whether it did (then call
    /// [`Probe::submitted`] after submitting `enc`).
    pub fn request(
        &mut self,
        enc: &mut wgpu::CommandEncoder,
        view: &FieldView,
        sim: &Simulation,
        run: usize,
        cell: Option<[u32; 2]>,
    ) -> bool {
        if self.state.load(Ordering::Acquire) != IDLE {
            return false;
        }
        enc.copy_buffer_to_buffer(&view.range, 0, &self.staging, 0, 16);
        if let Some([i, j]) = cell {
            let g = &sim.problem().grid;
            let plane = g.cells() * sim.runs() as u64;
            let idx = (run as u64 * g.cells()) + j as u64 * g.nx as u64 + i as u64;
            for k in 0..self.planes {
                enc.copy_buffer_to_buffer(
                    sim.state(),
                    (k * plane + idx) * 16,
                    &self.staging,
                    16 + 16 * k,
                    16,
                );
            }
        }
        self.cell = cell;
        self.state.store(PENDING, Ordering::Release);
        true
    }

    /// Starts the mapping (after the submit that holds the copies).
    pub fn submitted(&self) {
        let state = self.state.clone();
        self.staging.map_async(wgpu::MapMode::Read, .., move |r| {
            state.store(if r.is_ok() { READY } else { FAILED }, Ordering::Release);
        });
    }

    /// The result, once the GPU got there; never waits.
    pub fn poll(&mut self, device: &wgpu::Device) -> Option<ProbeResult> {
        let _ = device.poll(wgpu::PollType::Poll);
        match self.state.load(Ordering::Acquire) {
            READY => {}
            FAILED => {
                self.state.store(IDLE, Ordering::Release);
                return None;
            }
            _ => return None,
        }
        let out = self.staging.get_mapped_range(..).ok().map(|bytes| {
            let w: &[f32] = bytemuck::cast_slice(&bytes);
            ProbeResult {
                range: [w[0], w[1]],
                cell: self.cell,
                values: self
                    .cell
                    .map(|_| w[4..4 + self.nspecies].to_vec())
                    .unwrap_or_default(),
            }
        });
        self.staging.unmap();
        self.state.store(IDLE, Ordering::Release);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::ViewUniform;
    use crate::engine::uniforms::tests::check;

    #[test]
    fn view_uniform_layout_matches_wgsl() {
        use std::mem::{offset_of, size_of};
        check(
            super::VIEW_WGSL,
            "View",
            size_of::<ViewUniform>(),
            &[
                ("nx", offset_of!(ViewUniform, nx)),
                ("ny", offset_of!(ViewUniform, ny)),
                ("run", offset_of!(ViewUniform, run)),
                ("species", offset_of!(ViewUniform, species)),
                ("auto_range", offset_of!(ViewUniform, auto_range)),
                ("runs", offset_of!(ViewUniform, runs)),
                ("lo", offset_of!(ViewUniform, lo)),
                ("hi", offset_of!(ViewUniform, hi)),
                ("skin", offset_of!(ViewUniform, skin)),
                ("skin_full", offset_of!(ViewUniform, skin_full)),
                ("cell", offset_of!(ViewUniform, cell)),
                ("pad1", offset_of!(ViewUniform, pad1)),
            ],
        );
    }
}
