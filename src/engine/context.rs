//! The GPU device. The engine only ever *borrows* a device and queue: the CLI opens its own
//! headless one here, the GUI lends eframe's.

use crate::error::{Error, Result};

/// An owned headless device, with what users need to know about it.
pub struct GpuContext {
    /// The device as the engine borrows it.
    pub gpu: super::Gpu,
    pub info: wgpu::AdapterInfo,
}

impl GpuContext {
    /// Opens the best adapter: `EXODERM_ADAPTER` (a case-insensitive part of the adapter's
    /// name) picks one by name, `WGPU_BACKEND` (vulkan, gl, metal, dx12) restricts backends;
    /// otherwise a discrete GPU beats an integrated one beats a CPU (lavapipe).
    pub fn headless() -> Result<GpuContext> {
        pollster::block_on(Self::open())
    }

    async fn open() -> Result<GpuContext> {
        let instance =
            wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle().with_env());
        let adapters = instance.enumerate_adapters(wgpu::Backends::all()).await;

        if adapters.is_empty() {
            return Err(Error::NoAdapter {
                details: "wgpu enumerated no adapters on any backend".into(),
            });
        }
        let wanted = std::env::var("EXODERM_ADAPTER")
            .ok()
            .filter(|s| !s.is_empty());
        let chosen = match &wanted {
            Some(w) => {
                let w = w.to_lowercase();
                let names: Vec<String> = adapters.iter().map(|a| describe(&a.get_info())).collect();
                adapters
                    .into_iter()
                    .find(|a| a.get_info().name.to_lowercase().contains(&w))
                    .ok_or_else(|| Error::NoAdapter {
                        details: format!(
                            "EXODERM_ADAPTER={w} matches none of: {}",
                            names.join("; ")
                        ),
                    })?
            }
            None => {
                let rank = |a: &wgpu::Adapter| {
                    let info = a.get_info();
                    let ty = match info.device_type {
                        wgpu::DeviceType::DiscreteGpu => 0,
                        wgpu::DeviceType::IntegratedGpu => 1,
                        wgpu::DeviceType::VirtualGpu => 2,
                        wgpu::DeviceType::Other => 3,
                        wgpu::DeviceType::Cpu => 4,
                    };
                    // Compute shaders are most complete on Vulkan/Metal/DX12.
                    let backend = match info.backend {
                        wgpu::Backend::Vulkan | wgpu::Backend::Metal | wgpu::Backend::Dx12 => 0,
                        _ => 1,
                    };
                    (ty, backend)
                };
                let mut adapters = adapters;
                adapters.sort_by_key(rank);
                adapters
                    .into_iter()
                    .next()
                    .ok_or_else(|| Error::Internal("adapter list emptied".into()))?
            }
        };
        let info = chosen.get_info();
        // Ask for everything the adapter offers: large grids need its full buffer limits.
        let limits = chosen.limits();
        let (device, queue) = chosen
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("exoderm.device"),
                required_features: wgpu::Features::empty(),
                required_limits: limits.clone(),
                experimental_features: wgpu::ExperimentalFeatures::disabled(),
                memory_hints: wgpu::MemoryHints::Performance,
                trace: wgpu::Trace::Off,
            })
            .await
            .map_err(|e| Error::NoAdapter {
                details: format!("{} was found but refused a device: {e}", describe(&info)),
            })?;
        Ok(GpuContext {
            gpu: super::Gpu {
                device,
                queue,
                limits,
                name: describe(&info),
            },
            info,
        })
    }

    pub fn describe(&self) -> String {
        self.gpu.name.clone()
    }
}

/// "NAME (BACKEND, TYPE)" for logs and run.json.
pub fn describe(info: &wgpu::AdapterInfo) -> String {
    format!("{} ({:?}, {:?})", info.name, info.backend, info.device_type)
}

/// A context lends its device the way the engine borrows it.
impl std::ops::Deref for GpuContext {
    type Target = super::Gpu;
    fn deref(&self) -> &super::Gpu {
        &self.gpu
    }
}
