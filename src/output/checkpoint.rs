//! Checkpoint files: one file, written atomically, holding the simulation state of one run
//! (fields as raw f32 planes, clock, step plan, counters) and the writer's state (the metrics
//! rows so far), so `exoderm run --resume` continues bit for bit.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::engine::controller::ErrorControl;
use crate::engine::plan::StepPlan;
use crate::engine::{Checkpoint, Counters};
use crate::error::{Error, Result};

const MAGIC: &[u8] = b"EXODERM-CHECKPOINT-1\n";

/// What the run's writer had written up to the checkpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WriterState {
    pub csv: String,
    pub seen: Vec<[f64; 2]>,
    pub outputs: usize,
    /// The derived metrics' memory (first row, last sample, integrals, crossings).
    #[serde(default)]
    pub tracker: crate::model::derived::Tracker,
    /// The time (h) of each output so far, for the snapshots' labels.
    #[serde(default)]
    pub times: Vec<f64>,
}

#[derive(Serialize, Deserialize)]
struct Header {
    time: f64,
    /// `None` for an infinite step cap (JSON has no infinity).
    #[serde(default)]
    error_dt: Option<f64>,
    #[serde(default = "one")]
    qs_coupling: f64,
    plan: StepPlan,
    counters: Counters,
    writer: WriterState,
    plane_bytes: Vec<u64>,
    /// The stabilized schemes' error control (absent for Euler and older checkpoints).
    #[serde(default)]
    control: Option<ErrorControl>,
}

/// Checkpoints from before the measured coupling: the unmeasured value.
fn one() -> f64 {
    1.0
}

pub fn save(path: &Path, ckpt: &Checkpoint, writer: &WriterState) -> Result<()> {
    let header = Header {
        time: ckpt.time,
        error_dt: ckpt.error_dt.is_finite().then_some(ckpt.error_dt),
        qs_coupling: ckpt.qs_coupling,
        plan: ckpt.plan.clone(),
        counters: ckpt.counters,
        writer: writer.clone(),
        plane_bytes: ckpt.planes.iter().map(|p| p.len() as u64).collect(),
        control: ckpt.control.clone(),
    };
    let json = serde_json::to_vec(&header)
        .map_err(|e| Error::Internal(format!("checkpoint header: {e}")))?;
    let mut bytes = Vec::with_capacity(
        MAGIC.len() + 8 + json.len() + ckpt.planes.iter().map(Vec::len).sum::<usize>(),
    );
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&(json.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&json);
    for p in &ckpt.planes {
        bytes.extend_from_slice(p);
    }
    super::write_atomic(path, &bytes)
}

pub fn load(path: &Path) -> Result<(Checkpoint, WriterState)> {
    let bytes = std::fs::read(path).map_err(|e| Error::io("cannot read checkpoint", path, e))?;
    let bad = |why: &str| Error::Io {
        action: "cannot use checkpoint",
        path: path.into(),
        source: std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{why}; delete it to start the run afresh"),
        ),
    };
    let rest = bytes
        .strip_prefix(MAGIC)
        .ok_or_else(|| bad("not an exoderm checkpoint"))?;
    let len = u64::from_le_bytes(
        rest.get(..8)
            .ok_or_else(|| bad("truncated"))?
            .try_into()
            .map_err(|_| bad("truncated"))?,
    ) as usize;
    let header: Header = serde_json::from_slice(
        rest.get(8..8 + len)
            .ok_or_else(|| bad("truncated header"))?,
    )
    .map_err(|_| bad("corrupt header"))?;
    let mut data = &rest[8 + len..];
    let mut planes = vec![];
    for &n in &header.plane_bytes {
        let n = n as usize;
        if data.len() < n {
            return Err(bad("truncated fields"));
        }
        planes.push(data[..n].to_vec());
        data = &data[n..];
    }
    Ok((
        Checkpoint {
            time: header.time,
            error_dt: header.error_dt.unwrap_or(f64::INFINITY),
            qs_coupling: header.qs_coupling,
            plan: header.plan,
            counters: header.counters,
            planes,
            control: header.control,
        },
        header.writer,
    ))
}
