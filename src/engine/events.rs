//! Interventions: deposits (set or add species inside a circle, on the GPU, in place) and
//! parameter changes, applied between steps. One mechanism for scheduled events (cutting a
//! wound, a dose of exosomes at day 3) and the app's brushes, so a stroke painted live
//! replays bit for bit in `exoderm run`. An event at time t is applied as soon as the clock
//! reaches t, so "applied" is simply `at <= time` and a checkpoint needs no extra state.

use std::borrow::Cow;

use super::gpu::Gpu;
use super::kernels::buffer_entry;
use super::problem::{Amounts, Event, Grid, Problem};
use super::uniforms::DepositUniform;

pub const DEPOSIT_WGSL: &str = include_str!("../../shaders/deposit.wgsl");

/// Time tolerance for "the clock has reached the event".
pub fn eps(t: f64) -> f64 {
    1e-9 * t.abs().max(1.0)
}

/// The first event time of any run after `now` and no later than `until`, if any.
pub fn next_time(problems: &[Problem], now: f64, until: f64) -> Option<f64> {
    let e = eps(until);
    problems
        .iter()
        .flat_map(|p| p.events.iter().map(|ev| ev.at))
        .filter(|&t| t > now + e && t <= until + e)
        .min_by(f64::total_cmp)
}

/// Run `p`'s events scheduled at `t`, in list order.
pub fn due(p: &Problem, t: f64) -> impl Iterator<Item = &Event> {
    let e = eps(t);
    p.events.iter().filter(move |ev| (ev.at - t).abs() <= e)
}

/// The deposit pipeline, built on first use.
pub struct Depositor {
    layout: wgpu::BindGroupLayout,
    pipeline: wgpu::ComputePipeline,
}

impl Depositor {
    pub fn new(device: &wgpu::Device) -> Depositor {
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("exoderm.deposit.layout"),
            entries: &[
                buffer_entry(0, wgpu::BufferBindingType::Uniform),
                buffer_entry(1, wgpu::BufferBindingType::Storage { read_only: false }),
                buffer_entry(2, wgpu::BufferBindingType::Storage { read_only: false }),
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

    /// Encodes the deposit of `amounts` in a circle into run `run` of `state` (the current
    /// set of a simulation of `runs` runs; `low`, the other set, is the state's low part
    /// under the stabilized schemes). `set` amounts go first, then `add`. A radius below
    /// half a cell still reaches the cell under the centre.
    #[allow(clippy::too_many_arguments)]
    pub fn encode(
        &self,
        gpu: &Gpu,
        enc: &mut wgpu::CommandEncoder,
        [state, low]: [&wgpu::Buffer; 2],
        grid: &Grid,
        runs: usize,
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
                plane: (species / 4) as u32,
                origin: [origin[0] as f32, origin[1] as f32],
                cell: [grid.dx() as f32, grid.dy() as f32],
                center: [center[0] as f32, center[1] as f32],
                runs: runs as u32,
                pad0: 0,
            };
            let buf = gpu.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("exoderm.deposit.uniform"),
                size: std::mem::size_of::<DepositUniform>() as u64,
                usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            gpu.queue.write_buffer(&buf, 0, bytemuck::bytes_of(&u));
            let group = gpu.device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("exoderm.deposit.group"),
                layout: &self.layout,
                entries: &[
                    wgpu::BindGroupEntry {
                        binding: 0,
                        resource: buf.as_entire_binding(),
                    },
                    wgpu::BindGroupEntry {
                        binding: 1,
                        resource: state.as_entire_binding(),
                    },
                    wgpu::BindGroupEntry {
                        binding: 2,
                        resource: low.as_entire_binding(),
                    },
                ],
            });
            let mut pass = super::gpu::compute_pass(enc, "exoderm.deposit");
            pass.set_pipeline(&self.pipeline);
            pass.set_bind_group(0, &group, &[]);
            pass.dispatch_workgroups(grid.nx.div_ceil(16), grid.ny.div_ceil(16), 1);
        }
    }
}
