//! Deposits: set or add species inside a circle, on the GPU, in place. One mechanism for
//! scheduled `[[event]]`s (cutting a wound, a dose of exosomes at day 3) and the app's
//! brushes, so a stroke painted live replays bit for bit in `exoderm run`.

use std::borrow::Cow;

use bytemuck::{Pod, Zeroable};

use crate::scenario::{Amounts, Grid};

pub const DEPOSIT_WGSL: &str = include_str!("../../shaders/deposit.wgsl");

/// Mirrors `Deposit` in shaders/deposit.wgsl — keep in sync (a test checks the size).
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub struct DepositUniform {
    pub nx: u32,
    pub ny: u32,
    pub run: u32,
    pub comp: u32,
    pub mode: u32,
    pub radius: f32,
    pub value: f32,
    pub pad0: u32,
    pub origin: [f32; 2],
    pub cell: [f32; 2],
    pub center: [f32; 2],
    pub pad1: [f32; 2],
}

/// The deposit pipeline, built on first use.
pub struct Depositor {
    layout: wgpu::BindGroupLayout,
    pipeline: wgpu::ComputePipeline,
}

impl Depositor {
    pub fn new(device: &wgpu::Device) -> Depositor {
        let entry = super::pipeline::buffer_entry;
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("exoderm.deposit.layout"),
            entries: &[
                entry(0, wgpu::BufferBindingType::Uniform),
                entry(1, wgpu::BufferBindingType::Storage { read_only: false }),
            ],
        });
        let pl = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("exoderm.deposit.pipeline_layout"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("exoderm.deposit"),
            source: wgpu::ShaderSource::Wgsl(Cow::Borrowed(DEPOSIT_WGSL)),
        });
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some("exoderm.deposit"),
            layout: Some(&pl),
            module: &module,
            entry_point: Some("deposit"),
            compilation_options: Default::default(),
            cache: None,
        });
        Depositor { layout, pipeline }
    }

    /// Encodes the deposit of `amounts` in a circle into run `run` of `planes` (the current
    /// set). `set` amounts go first, then `add`. A radius below half a cell still reaches
    /// the cell under the centre.
    #[allow(clippy::too_many_arguments)]
    pub fn encode(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        enc: &mut wgpu::CommandEncoder,
        planes: &[wgpu::Buffer],
        grid: &Grid,
        run: usize,
        center: [f64; 2],
        radius: f64,
        amounts: &Amounts,
    ) {
        let origin = grid.origin();
        let radius = radius.max(0.5 * grid.dx().max(grid.dy()) * 1.0001);
        let ops = amounts
            .set
            .iter()
            .map(|&(s, v)| (s, v, 0u32))
            .chain(amounts.add.iter().map(|&(s, v)| (s, v, 1u32)));
        for (species, value, mode) in ops {
            let u = DepositUniform {
                nx: grid.nx,
                ny: grid.ny,
                run: run as u32,
                comp: (species % 4) as u32,
                mode,
                radius: radius as f32,
                value: value as f32,
                pad0: 0,
                origin: [origin[0] as f32, origin[1] as f32],
                cell: [grid.dx() as f32, grid.dy() as f32],
                center: [center[0] as f32, center[1] as f32],
                pad1: [0.0; 2],
            };
            let buf = device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("exoderm.deposit.uniform"),
                size: std::mem::size_of::<DepositUniform>() as u64,
                usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            queue.write_buffer(&buf, 0, bytemuck::bytes_of(&u));
            let group = device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("exoderm.deposit.group"),
                layout: &self.layout,
                entries: &[
                    wgpu::BindGroupEntry {
                        binding: 0,
                        resource: buf.as_entire_binding(),
                    },
                    wgpu::BindGroupEntry {
                        binding: 1,
                        resource: planes[species / 4].as_entire_binding(),
                    },
                ],
            });
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("exoderm.deposit"),
                timestamp_writes: None,
            });
            pass.set_pipeline(&self.pipeline);
            pass.set_bind_group(0, &group, &[]);
            pass.dispatch_workgroups(grid.nx.div_ceil(16), grid.ny.div_ceil(16), 1);
        }
    }
}
