//! Writing results: every file goes to a temporary name beside its target and is renamed into
//! place, so an interrupted run never leaves a half-written file that looks whole.

pub mod annotate;
pub mod checkpoint;
pub mod movie;
pub mod npy;
pub mod plots;
pub mod report;
pub mod series;
pub mod skin;
pub mod snapshot;

use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};

/// A run folder's saved scenario and its summary (the report links to both).
pub const SCENARIO_FILE: &str = "scenario.toml";
pub const RUN_JSON: &str = "run.json";

/// egui's own default font as plotters' "sans-serif": ships with the binary, so pictures
/// need no system fonts and come out the same everywhere.
pub(crate) fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = plotters::style::register_font(
            "sans-serif",
            plotters::style::FontStyle::Normal,
            epaint_default_fonts::UBUNTU_LIGHT,
        );
    });
}

/// Writes `bytes` to `path` atomically (temp file in the same folder, fsync, rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io("cannot create folder", dir, e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io("cannot write", path, e)
    })?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io("cannot move into place", path, e))
}
