//! Pipelines, declared once as data: one bind-group layout shared by every kernel of a
//! model, shader modules assembled by `codegen` and validated by naga before the driver sees
//! them, and the compute pipelines. Labels read `exoderm.<model>.<kernel>`.

use std::borrow::Cow;

use super::codegen;
use super::uniforms::{GridUniform, RunUniform, StepUniform};
use crate::error::{Error, Result};
use crate::model::Model;

pub struct Kernels {
    pub layout: wgpu::BindGroupLayout,
    pub init: wgpu::ComputePipeline,
    pub step: wgpu::ComputePipeline,
    pub check: wgpu::ComputePipeline,
    pub metrics: Option<wgpu::ComputePipeline>,
    /// RKL2 stage kernels (one per plane) and their layout, and the IMEX reaction kernel;
    /// built only for the `rkl2` scheme.
    pub rkl2: Option<Rkl2Kernels>,
    /// Step-doubling error estimate (adaptive step control).
    pub error: wgpu::ComputePipeline,
    /// Red-black SOR sweep of the quasi-steady species, when the model has any.
    pub qs: Option<wgpu::ComputePipeline>,
}

pub struct Rkl2Kernels {
    pub layout: wgpu::BindGroupLayout,
    pub stages: Vec<wgpu::ComputePipeline>,
    pub react: wgpu::ComputePipeline,
}

/// The WGSL sources of a model's modules, validated: (label, source).
pub fn sources(model: &Model) -> Result<Vec<(&'static str, String)>> {
    sources_for(model, true)
}

/// The modules for a simulation of one run (`batched = false`) or of several.
pub fn sources_for(model: &Model, batched: bool) -> Result<Vec<(&'static str, String)>> {
    let mut out = vec![
        ("step", codegen::step_module_for(model, batched)),
        ("check", codegen::check_module(model)),
        ("sts", codegen::sts_module(model)),
        ("react", codegen::react_module(model)),
        ("error", codegen::error_module(model)),
    ];
    if model.species.iter().any(|s| s.quasi_steady) {
        out.push(("qs", codegen::qs_module(model)));
    }
    if !model.metrics.is_empty() {
        out.push(("metrics", codegen::metrics_module(model)));
    }
    for (label, src) in &out {
        codegen::validate(&format!("exoderm.{}.{label}", model.name), src)?;
    }
    Ok(out)
}

fn layout_entries(planes: usize) -> Vec<wgpu::BindGroupLayoutEntry> {
    let uniform = |binding: u32, dynamic: bool, size: usize| wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Uniform,
            has_dynamic_offset: dynamic,
            min_binding_size: wgpu::BufferSize::new(size as u64),
        },
        count: None,
    };
    let storage = |binding: u32, read_only: bool| {
        buffer_entry(binding, wgpu::BufferBindingType::Storage { read_only })
    };
    let mut e = vec![
        uniform(0, false, std::mem::size_of::<GridUniform>()),
        uniform(1, true, std::mem::size_of::<StepUniform>()),
        uniform(
            2,
            false,
            std::mem::size_of::<RunUniform>() * crate::model::expr::MAX_BATCH,
        ),
    ];
    e.extend((0..planes).map(|k| storage(codegen::src_binding(k), true)));
    e.extend((0..planes).map(|k| storage(codegen::dst_binding(planes, k), false)));
    e.push(storage(codegen::aux_binding(planes), false));
    e
}

/// The RKL2 stage layout: grid, step record, runs, then Y0, Y(j−1), Y(j−2) read and Yj written.
fn sts_layout_entries() -> Vec<wgpu::BindGroupLayoutEntry> {
    let mut e = layout_entries(0);
    e.pop(); // no aux
    for b in 3..7 {
        e.push(buffer_entry(
            b,
            wgpu::BufferBindingType::Storage { read_only: b < 6 },
        ));
    }
    e
}

/// A compute-stage buffer binding without dynamic offset or minimum size (the deposit and
/// view layouts; the step layout adds its own sizes).
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
    pub fn new(device: &wgpu::Device, model: &Model, rkl2: bool, batched: bool) -> Result<Kernels> {
        let sources = sources_for(model, batched)?;
        let planes = model.planes();
        let name = &model.name;
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some(&format!("exoderm.{name}.layout")),
            entries: &layout_entries(planes),
        });
        let pl = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some(&format!("exoderm.{name}.pipeline_layout")),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let mut modules = std::collections::HashMap::new();
        for (label, src) in &sources {
            let m = device.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(&format!("exoderm.{name}.{label}")),
                source: wgpu::ShaderSource::Wgsl(Cow::Borrowed(src)),
            });
            modules.insert(*label, m);
        }
        let pipeline = |module: &str, entry: &str| {
            device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(&format!("exoderm.{name}.{entry}")),
                layout: Some(&pl),
                module: &modules[module],
                entry_point: Some(entry),
                compilation_options: Default::default(),
                cache: None,
            })
        };
        let rkl2 = rkl2.then(|| {
            let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                label: Some(&format!("exoderm.{name}.sts_layout")),
                entries: &sts_layout_entries(),
            });
            let sl = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                label: Some(&format!("exoderm.{name}.sts_pipeline_layout")),
                bind_group_layouts: &[Some(&layout)],
                immediate_size: 0,
            });
            let stages = (0..planes)
                .map(|k| {
                    device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                        label: Some(&format!("exoderm.{name}.sts{k}")),
                        layout: Some(&sl),
                        module: &modules["sts"],
                        entry_point: Some(&format!("xd_sts_main{k}")),
                        compilation_options: Default::default(),
                        cache: None,
                    })
                })
                .collect();
            Rkl2Kernels {
                layout,
                stages,
                react: pipeline("react", "xd_react_main"),
            }
        });
        let kernels = Kernels {
            error: pipeline("error", "xd_error_main"),
            qs: modules
                .contains_key("qs")
                .then(|| pipeline("qs", "xd_qs_main")),
            rkl2,
            init: pipeline("step", "xd_init_main"),
            step: pipeline("step", "xd_step_main"),
            check: pipeline("check", "xd_check_main"),
            metrics: modules
                .contains_key("metrics")
                .then(|| pipeline("metrics", "xd_metric_main")),
            layout,
        };
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(Error::Gpu {
                during: format!("building the {name} pipelines"),
                message: e.to_string(),
            });
        }
        Ok(kernels)
    }
}
