//! Pipelines, declared once as data ([`PIPELINES`]): which module and entry point, which
//! bind-group layout, and when a simulation needs it. Modules are assembled by `codegen`
//! and validated by naga before the driver sees them. Labels read `exoderm.<model>.<entry>`.

use std::borrow::Cow;
use std::collections::HashMap;

use super::codegen;
use super::gpu::Gpu;
use super::uniforms::{GridUniform, StepUniform};
use crate::error::{Error, Result};
use crate::model::Model;

/// What a simulation needs beyond the basics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Needs {
    /// A stabilized Runge–Kutta scheme (RKC, RKL2).
    pub stabilized: bool,
    /// Euler's step doubling.
    pub adaptive: bool,
    pub quasi_steady: bool,
    pub metrics: bool,
    pub doses: bool,
}

impl Needs {
    pub fn of(model: &Model, stabilized: bool, adaptive: bool) -> Needs {
        Needs {
            stabilized,
            adaptive,
            quasi_steady: model.species.iter().any(|s| s.quasi_steady),
            metrics: !model.metrics.is_empty(),
            doses: !model.doses.is_empty(),
        }
    }
}

/// Which bind-group layout a pipeline uses (after 0 grid, 1 step record, 2 runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// 3 source (read), 4 destination, 5 aux.
    Main,
    /// The stabilized schemes: 3 hi, 4 lo, 5 x, 6 y, 7 f (read), 8 out, 9 aux.
    Rk,
    /// Committing a step: 3 hi, 4 lo (read-write), 5 E_s (read).
    Commit,
    /// Quasi-steady sweeps: 4 state, 5 aux, 6 the stabilized scheme's rate slots.
    Qs,
    /// Doses: 3 state, 4 its low part, 5 aux (all read-write).
    Dose,
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
    (Kernel::Qs, "qs", "xd_qs_main", Layout::Qs, |n| {
        n.quasi_steady
    }),
    (Kernel::RkF0, "rkc", "xd_rkc_f0", Layout::Rk, |n| {
        n.stabilized
    }),
    (Kernel::RkStage, "rkc", "xd_rkc_stage", Layout::Rk, |n| {
        n.stabilized
    }),
    (Kernel::RkFinish, "rkc", "xd_rkc_finish", Layout::Rk, |n| {
        n.stabilized
    }),
    (Kernel::RkJv, "rkc", "xd_rkc_jv", Layout::Rk, |n| {
        n.stabilized
    }),
    (Kernel::RkJvInit, "rkc", "xd_rkc_jv_init", Layout::Rk, |n| {
        n.stabilized
    }),
    (
        Kernel::RkCommit,
        "commit",
        "xd_rkc_commit",
        Layout::Commit,
        |n| n.stabilized,
    ),
    (
        Kernel::DoseCount,
        "dose",
        "xd_dose_count",
        Layout::Dose,
        |n| n.doses,
    ),
    (
        Kernel::DoseApply,
        "dose",
        "xd_dose_apply",
        Layout::Dose,
        |n| n.doses,
    ),
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
    /// Stabilized RK: F0 = F(hi + lo).
    RkF0,
    /// Stabilized RK: one stage.
    RkStage,
    /// Stabilized RK: F1, the error estimate and the blow-up masks.
    RkFinish,
    /// Stabilized RK: one product J·v of the power iteration.
    RkJv,
    /// Stabilized RK: the power iteration's start vector.
    RkJvInit,
    /// Stabilized RK: accept a step (TwoSum into hi, lo).
    RkCommit,
    /// A `total` dose: count its region's cells.
    DoseCount,
    /// Apply a dose.
    DoseApply,
}

pub struct Kernels {
    pub main_layout: wgpu::BindGroupLayout,
    pub rk_layout: wgpu::BindGroupLayout,
    pub commit_layout: wgpu::BindGroupLayout,
    pub qs_layout: wgpu::BindGroupLayout,
    pub dose_layout: wgpu::BindGroupLayout,
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
    ];
    let storage =
        |b: u32, read_only: bool| buffer_entry(b, wgpu::BufferBindingType::Storage { read_only });
    // The runs' params and the maps (see model::expr::PARAMS_DECL).
    e.push(storage(2, true));
    match layout {
        Layout::Main => e.extend([storage(3, true), storage(4, false), storage(5, false)]),
        Layout::Rk => {
            e.extend((3..8).map(|b| storage(b, true)));
            e.extend([storage(8, false), storage(9, false)]);
        }
        Layout::Commit => e.extend([storage(3, false), storage(4, false), storage(5, true)]),
        Layout::Qs => e.extend([storage(4, false), storage(5, false), storage(6, false)]),
        Layout::Dose => e.extend([storage(3, false), storage(4, false), storage(5, false)]),
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
        let (rk_layout, rk_pl) = make_layout(Layout::Rk, "rk_layout");
        let (commit_layout, commit_pl) = make_layout(Layout::Commit, "commit_layout");
        let (qs_layout, qs_pl) = make_layout(Layout::Qs, "qs_layout");
        let (dose_layout, dose_pl) = make_layout(Layout::Dose, "dose_layout");
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
                    Layout::Rk => &rk_pl,
                    Layout::Commit => &commit_pl,
                    Layout::Qs => &qs_pl,
                    Layout::Dose => &dose_pl,
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
            rk_layout,
            commit_layout,
            qs_layout,
            dose_layout,
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
