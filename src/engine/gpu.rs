//! The device the engine borrows, and the few ways it talks to it: labelled encoders and
//! compute passes, and readbacks that wait with a timeout (a failed map or a hung driver
//! ends in an error, never a spin).

use std::time::Duration;

use crate::error::{Error, Result};

/// A borrowed device: the CLI opens its own headless one ([`super::GpuContext`]), the app
/// lends eframe's. Cloning is cheap (wgpu handles are reference-counted).
#[derive(Clone)]
pub struct Gpu {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    /// The device's limits, for a clear refusal of oversized grids.
    pub limits: wgpu::Limits,
    /// "NAME (BACKEND, TYPE)", for messages and run.json.
    pub name: String,
}

/// How long one wait for the GPU may take before it counts as hung. Generous: one batch of a
/// large grid on a CPU driver takes tens of seconds. `EXODERM_GPU_TIMEOUT_S` overrides it.
pub fn timeout() -> Duration {
    let secs = std::env::var("EXODERM_GPU_TIMEOUT_S")
        .ok()
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|s| *s > 0.0)
        .unwrap_or(600.0);
    Duration::from_secs_f64(secs)
}

impl Gpu {
    pub fn encoder(&self, label: &str) -> wgpu::CommandEncoder {
        self.device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some(&format!("exoderm.{label}")),
            })
    }

    /// Blocks until the GPU has finished all submitted work, or the timeout passes.
    pub fn wait(&self) -> Result<()> {
        wait(&self.device)
    }

    /// Copies `size` bytes at `offset` of `buf` into host memory and waits for them.
    pub fn read_buffer(&self, buf: &wgpu::Buffer, offset: u64, size: u64) -> Result<Vec<u8>> {
        let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("exoderm.readback"),
            size,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut enc = self.encoder("readback");
        enc.copy_buffer_to_buffer(buf, offset, &staging, 0, size);
        self.queue.submit([enc.finish()]);
        map_and_read(&self.device, &staging)
    }
}

/// A labelled compute pass without timestamps.
pub fn compute_pass<'e>(enc: &'e mut wgpu::CommandEncoder, label: &str) -> wgpu::ComputePass<'e> {
    enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
        label: Some(label),
        timestamp_writes: None,
    })
}

/// Maps a MAP_READ buffer, waits (with the timeout), and returns its bytes.
pub fn map_and_read(device: &wgpu::Device, staging: &wgpu::Buffer) -> Result<Vec<u8>> {
    let (tx, rx) = std::sync::mpsc::channel();
    staging.map_async(wgpu::MapMode::Read, .., move |r| {
        let _ = tx.send(r);
    });
    wait(device)?;
    let mapped = rx.recv_timeout(timeout()).map_err(|_| Error::Gpu {
        during: "reading results back".into(),
        message: "the buffer map never completed".into(),
    })?;
    mapped.map_err(|e| Error::Gpu {
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

/// Blocks until the GPU has finished all submitted work, or [`timeout`] passes.
pub fn wait(device: &wgpu::Device) -> Result<()> {
    let limit = timeout();
    device
        .poll(wgpu::PollType::Wait {
            submission_index: None,
            timeout: Some(limit),
        })
        .map(|_| ())
        .map_err(|e| Error::Gpu {
            during: "waiting for the GPU".into(),
            message: match e {
                wgpu::PollError::Timeout => format!(
                    "no answer within {:.0} s (a hung driver, or a batch far larger than this device handles; EXODERM_GPU_TIMEOUT_S sets the limit)",
                    limit.as_secs_f64()
                ),
                other => other.to_string(),
            },
        })
}
