//! Step records: the small uniforms each dispatch reads through a dynamic offset (time,
//! dt, per-plane coefficients, a selector). One buffer per simulation; the first
//! [`SERVICE`] slots are fixed (record g selects metric group g, at the current time), the
//! rest are filled per submit by a [`RecordBatch`]: `push` returns the offset to bind, and
//! the batch is uploaded just before its commands are submitted. All slot arithmetic is here.

use super::gpu::Gpu;
use super::uniforms::StepUniform;
use crate::error::{Error, Result};

/// Fixed slots at the start of the buffer: one per metric group (4 metrics each).
pub const SERVICE: usize = crate::model::MAX_METRICS / 4;
/// Records one submit may use (sizes the buffer).
pub const MAX_RECORDS: usize = 4096;

pub struct Records {
    pub buffer: wgpu::Buffer,
    /// Bytes between records (the device's uniform offset alignment).
    stride: u64,
}

/// The records of one submit, in order.
pub struct RecordBatch {
    bytes: Vec<u8>,
    stride: usize,
    count: usize,
}

impl Records {
    pub fn new(gpu: &Gpu, label: &str) -> Records {
        let align = gpu.limits.min_uniform_buffer_offset_alignment as u64;
        let stride = (std::mem::size_of::<StepUniform>() as u64).div_ceil(align) * align;
        let buffer = gpu.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(&format!("exoderm.{label}.steps")),
            size: stride * (SERVICE + MAX_RECORDS) as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        Records { buffer, stride }
    }

    /// Offset of service record `g`.
    pub fn service(&self, g: usize) -> u32 {
        (self.stride * g as u64) as u32
    }

    /// Rewrites the service records for time `t`.
    pub fn write_service(&self, gpu: &Gpu, t: f64) {
        let mut bytes = vec![0u8; self.stride as usize * SERVICE];
        for g in 0..SERVICE {
            let rec = StepUniform {
                t: t as f32,
                sel: g as u32,
                ..bytemuck::Zeroable::zeroed()
            };
            bytes[g * self.stride as usize..][..std::mem::size_of::<StepUniform>()]
                .copy_from_slice(bytemuck::bytes_of(&rec));
        }
        gpu.queue.write_buffer(&self.buffer, 0, &bytes);
    }

    pub fn batch(&self) -> RecordBatch {
        RecordBatch {
            bytes: vec![],
            stride: self.stride as usize,
            count: 0,
        }
    }

    /// Uploads `batch` (before the submit whose commands use it).
    pub fn upload(&self, gpu: &Gpu, batch: &RecordBatch) {
        if !batch.bytes.is_empty() {
            gpu.queue
                .write_buffer(&self.buffer, self.stride * SERVICE as u64, &batch.bytes);
        }
    }
}

impl RecordBatch {
    /// Appends a record; returns the dynamic offset that binds it.
    pub fn push(&mut self, rec: &StepUniform) -> Result<u32> {
        if self.count == MAX_RECORDS {
            return Err(Error::Internal(format!(
                "more than {MAX_RECORDS} step records in one submit"
            )));
        }
        let at = self.count * self.stride;
        self.bytes.resize(at + self.stride, 0);
        self.bytes[at..at + std::mem::size_of::<StepUniform>()]
            .copy_from_slice(bytemuck::bytes_of(rec));
        self.count += 1;
        Ok(((SERVICE + self.count - 1) * self.stride) as u32)
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}
