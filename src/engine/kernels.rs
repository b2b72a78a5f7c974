//! Pipelines, declared once as data ([`PIPELINES`]): which module and entry point, which
//! bind-group layout, and when a simulation needs it. Modules are assembled by `codegen`
//! and validated by naga before the driver sees them. Labels read `exoderm.<model>.<entry>`.

use std::borrow::Cow;
use std::collections::HashMap;

use super::codegen;
use super::gpu::Gpu;
use super::uniforms::{GridUniform, RunUniform, StepUniform};
use crate::error::{Error, Result};
use crate::model::Model;

/// What a simulation needs beyond the basics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Needs {
    pub rkl2: bool,
    pub adaptive: bool,
    pub quasi_steady: bool,
    pub metrics: bool,
}

impl Needs {
    pub fn of(model: &Model, rkl2: bool, adaptive: bool) -> Needs {
        Needs {
            rkl2,
            adaptive,
            quasi_steady: model.species.iter().any(|s| s.quasi_steady),
            metrics: !model.metrics.is_empty(),
        }
    }
}

/// Which bind-group layout a pipeline uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// 0 grid, 1 step, 2 runs, 3 source (read), 4 destination, 5 aux.
    Main,
    /// 0 grid, 1 step, 2 runs, 3 Y0, 4 Y(j−1), 5 Y(j−2) (read), 6 Yj.
    Stage,
}

/// One pipeline: which kernel, module and entry point, its layout, and when it is needed.
type PipelineSpec = (
    Kernel,
    &'static str,
    &'static str,
    Layout,
    fn(&Needs) -> bool,
);

/// Every pipeline a simulation may build.
const PIPELINES: &[PipelineSpec] = &[
    (Kernel::Init, "step", "xd_init_main", Layout::Main, |_| true),
    (Kernel::Step, "step", "xd_step_main", Layout::Main, |_| true),
    (
        Kernel::Check,
        "check",
        "xd_check_main",
        Layout::Main,
        |_| true,
    ),
    (
        Kernel::Metrics,
        "metrics",
        "xd_metric_main",
        Layout::Main,
        |n| n.metrics,
    ),
    (Kernel::Error, "error", "xd_error_main", Layout::Main, |n| {
        n.adaptive
    }),
    (Kernel::Qs, "qs", "xd_qs_main", Layout::Main, |n| {
        n.quasi_steady
    }),
    (Kernel::React, "react", "xd_react_main", Layout::Main, |n| {
        n.rkl2
    }),
    (Kernel::Stage, "sts", "xd_sts_main", Layout::Stage, |n| {
        n.rkl2
    }),
];

/// The kernels a simulation may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kernel {
    /// Initial conditions into the destination set.
    Init,
    /// One forward-Euler step (or a diffusion-only sub-step).
    Step,
    /// Blow-up flags and the reaction-rate probe.
    Check,
    /// Per-cell metric values of one group.
    Metrics,
    /// Step doubling's error estimate.
    Error,
    /// One red-black SOR sweep of the quasi-steady species.
    Qs,
    /// RKL2's IMEX reaction pass.
    React,
    /// One RKL2 stage.
    Stage,
}

pub struct Kernels {
    pub main_layout: wgpu::BindGroupLayout,
    pub stage_layout: wgpu::BindGroupLayout,
    pipelines: HashMap<Kernel, wgpu::ComputePipeline>,
}

/// The WGSL modules a model's simulations may use, validated: (label, source).
pub fn sources(model: &Model) -> Result<Vec<(&'static str, String)>> {
    sources_for(model, true, &Needs::of(model, true, true))
}

/// The modules for a simulation with `needs`, of one run (`batched = false`) or several.
fn sources_for(model: &Model, batched: bool, needs: &Needs) -> Result<Vec<(&'static str, String)>> {
    let mut out: Vec<(&'static str, String)> = vec![];
    for (_, module, _, _, needed) in PIPELINES {
        if !needed(needs) || out.iter().any(|(l, _)| l == module) {
            continue;
        }
        let src = codegen::module(model, module, !batched)
            .ok_or_else(|| Error::Internal(format!("no kernel template `{module}`")))?;
        codegen::validate(&format!("exoderm.{}.{module}", model.name), &src)?;
        out.push((module, src));
    }
    Ok(out)
}

fn uniform(binding: u32, dynamic: bool, size: usize) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Uniform,
            has_dynamic_offset: dynamic,
            min_binding_size: wgpu::BufferSize::new(size as u64),
        },
        count: None,
    }
}

fn layout_entries(layout: Layout) -> Vec<wgpu::BindGroupLayoutEntry> {
    let mut e = vec![
        uniform(0, false, std::mem::size_of::<GridUniform>()),
        uniform(1, true, std::mem::size_of::<StepUniform>()),
        uniform(
            2,
            false,
            std::mem::size_of::<RunUniform>() * crate::model::expr::MAX_BATCH,
        ),
    ];
    let storage =
        |b: u32, read_only: bool| buffer_entry(b, wgpu::BufferBindingType::Storage { read_only });
    match layout {
        Layout::Main => e.extend([storage(3, true), storage(4, false), storage(5, false)]),
        Layout::Stage => e.extend([
            storage(3, true),
            storage(4, true),
            storage(5, true),
            storage(6, false),
        ]),
    }
    e
}

/// A compute-stage buffer binding without dynamic offset or minimum size.
pub fn buffer_entry(binding: u32, ty: wgpu::BufferBindingType) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty,
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

impl Kernels {
    pub fn new(gpu: &Gpu, model: &Model, needs: &Needs, batched: bool) -> Result<Kernels> {
        let sources = sources_for(model, batched, needs)?;
        let name = &model.name;
        let device = &gpu.device;
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let make_layout = |layout: Layout, label: &str| {
            let bgl = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                label: Some(&format!("exoderm.{name}.{label}")),
                entries: &layout_entries(layout),
            });
            let pl = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                label: Some(&format!("exoderm.{name}.{label}.pipeline")),
                bind_group_layouts: &[Some(&bgl)],
                immediate_size: 0,
            });
            (bgl, pl)
        };
        let (main_layout, main_pl) = make_layout(Layout::Main, "layout");
        let (stage_layout, stage_pl) = make_layout(Layout::Stage, "stage_layout");
        let modules: HashMap<&str, wgpu::ShaderModule> = sources
            .iter()
            .map(|(label, src)| {
                (
                    *label,
                    device.create_shader_module(wgpu::ShaderModuleDescriptor {
                        label: Some(&format!("exoderm.{name}.{label}")),
                        source: wgpu::ShaderSource::Wgsl(Cow::Borrowed(src)),
                    }),
                )
            })
            .collect();
        let mut pipelines = HashMap::new();
        for (kernel, module, entry, layout, needed) in PIPELINES {
            if !needed(needs) {
                continue;
            }
            let p = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(&format!("exoderm.{name}.{entry}")),
                layout: Some(match layout {
                    Layout::Main => &main_pl,
                    Layout::Stage => &stage_pl,
                }),
                module: &modules[module],
                entry_point: Some(entry),
                compilation_options: Default::default(),
                cache: None,
            });
            pipelines.insert(*kernel, p);
        }
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(Error::Gpu {
                during: format!("building the {name} pipelines"),
                message: e.to_string(),
            });
        }
        Ok(Kernels {
            main_layout,
            stage_layout,
            pipelines,
        })
    }

    /// The pipeline of `kernel`; an internal error if this simulation did not build it.
    pub fn get(&self, kernel: Kernel) -> Result<&wgpu::ComputePipeline> {
        self.pipelines
            .get(&kernel)
            .ok_or_else(|| Error::Internal(format!("the {kernel:?} kernel was not built")))
    }

    pub fn has(&self, kernel: Kernel) -> bool {
        self.pipelines.contains_key(&kernel)
    }
}
