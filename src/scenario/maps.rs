//! `[maps]`: pictures (PNG) and arrays (.npy) read once, for expressions to use by name.
//!
//! ```toml
//! [maps]
//! wound = "wound.png"                                   # luminance 0..1
//! dermis = { file = "section.png", range = [0.0, 2.5] } # black → 0.0, white → 2.5
//! bed = "bed.npy"                                       # values as they are
//! ```
//! Paths are relative to the scenario file; shipped scenarios find theirs in the binary.
//! A PNG's top row is the domain's top (y max); colour is read as luminance (Rec. 709).
//! An .npy's row 0 is y min, as exoderm's own .npy outputs, so an output can be a map.

use std::path::Path;
use std::sync::Arc;

use crate::model::Map;

/// The largest picture side read (a map is resampled onto the grid anyway).
pub const MAX_SIDE: usize = 8192;

/// Reads `file` (relative to the scenario `scenario_file`) as map `name`; `range` maps a
/// PNG's black..white. Errors are phrased for the scenario message.
pub fn load(
    name: &str,
    scenario_file: &str,
    file: &str,
    range: Option<[f64; 2]>,
) -> Result<Map, String> {
    let bytes = read(scenario_file, file)?;
    let lower = file.to_ascii_lowercase();
    let (width, height, values) = if lower.ends_with(".png") {
        let [lo, hi] = range.unwrap_or([0.0, 1.0]);
        let (w, h, v) = png_luminance(&bytes)
            .map_err(|e| format!("`{file}` is not a PNG exoderm can read: {e}"))?;
        (
            w,
            h,
            v.into_iter()
                .map(|x| (lo + (hi - lo) * x as f64) as f32)
                .collect(),
        )
    } else if lower.ends_with(".npy") {
        if range.is_some() {
            return Err(format!(
                "`range` applies to PNG pictures; `{file}` holds values as they are"
            ));
        }
        let (w, h, v) =
            npy(&bytes).map_err(|e| format!("`{file}` is not an .npy exoderm can read: {e}"))?;
        (w, h, v)
    } else {
        return Err(format!("`{file}` is neither a .png nor an .npy"));
    };
    if width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE {
        return Err(format!(
            "`{file}` is {width}×{height}; a map must be between 1 and {MAX_SIDE} pixels on each side"
        ));
    }
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        return Err(format!(
            "`{file}` holds a value that is not finite (at row {}, column {})",
            i / width,
            i % width
        ));
    }
    Ok(Map {
        name: name.into(),
        source: file.into(),
        width,
        height,
        values: Arc::new(values),
    })
}

/// The file's bytes: on disk next to the scenario, else shipped in the binary.
fn read(scenario_file: &str, file: &str) -> Result<Vec<u8>, String> {
    let base = Path::new(scenario_file).parent().unwrap_or(Path::new(""));
    let path = base.join(file);
    match std::fs::read(&path) {
        Ok(b) => Ok(b),
        Err(e) => {
            let key = normalise(&path);
            crate::presets::FILES
                .iter()
                .find(|(p, _)| *p == key)
                .map(|(_, b)| b.to_vec())
                .ok_or_else(|| format!("cannot read map file `{}`: {e}", path.display()))
        }
    }
}

/// "assets/examples/../maps/x.png" → "assets/maps/x.png" (for the shipped files' table).
fn normalise(path: &Path) -> String {
    let mut parts: Vec<String> = vec![];
    for c in path.components() {
        match c {
            std::path::Component::ParentDir => {
                parts.pop();
            }
            std::path::Component::Normal(s) => parts.push(s.to_string_lossy().into_owned()),
            _ => {}
        }
    }
    parts.join("/")
}

/// (width, height, luminance in 0..1 row by row from the top).
fn png_luminance(bytes: &[u8]) -> Result<(usize, usize, Vec<f32>), String> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND);
    let mut reader = decoder.read_info().map_err(|e| e.to_string())?;
    let size = reader
        .output_buffer_size()
        .ok_or("the picture is too large")?;
    let mut buf = vec![0u8; size];
    let info = reader.next_frame(&mut buf).map_err(|e| e.to_string())?;
    let (w, h) = (info.width as usize, info.height as usize);
    if w > MAX_SIDE || h > MAX_SIDE {
        return Err(format!(
            "{w}×{h} is larger than {MAX_SIDE} pixels on a side"
        ));
    }
    let channels = info.color_type.samples();
    let wide = info.bit_depth == png::BitDepth::Sixteen;
    let sample = |i: usize| -> f32 {
        if wide {
            u16::from_be_bytes([buf[2 * i], buf[2 * i + 1]]) as f32 / 65535.0
        } else {
            buf[i] as f32 / 255.0
        }
    };
    let mut out = Vec::with_capacity(w * h);
    for p in 0..w * h {
        let base = p * channels;
        out.push(match channels {
            1 | 2 => sample(base),
            _ => 0.2126 * sample(base) + 0.7152 * sample(base + 1) + 0.0722 * sample(base + 2),
        });
    }
    Ok((w, h, out))
}

/// A 2-D little-endian .npy of f4, f8, u1, i4 or i8, C order: (width, height, values row by
/// row from the top — its last row, since an .npy's row 0 is y min).
fn npy(bytes: &[u8]) -> Result<(usize, usize, Vec<f32>), String> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err("no .npy magic number".into());
    }
    let (hl, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => return Err(format!("format version {v} is not supported")),
    };
    let header = bytes
        .get(start..start + hl)
        .and_then(|h| std::str::from_utf8(h).ok())
        .ok_or("the header is cut short")?;
    if header.contains("'fortran_order': True") {
        return Err("Fortran order; save with numpy.ascontiguousarray".into());
    }
    let descr = header
        .split("'descr':")
        .nth(1)
        .and_then(|r| r.split('\'').nth(1))
        .ok_or("no dtype in the header")?;
    let shape = header
        .split("'shape':")
        .nth(1)
        .and_then(|r| r.split('(').nth(1))
        .and_then(|r| r.split(')').next())
        .ok_or("no shape in the header")?;
    let dims: Vec<usize> = shape
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().parse().map_err(|_| format!("bad shape ({shape})")))
        .collect::<Result<_, _>>()?;
    let [ny, nx] = dims[..] else {
        return Err(format!("shape ({shape}) is not 2-D (rows, columns)"));
    };
    let data = &bytes[start + hl..];
    let (size, read): (usize, fn(&[u8]) -> f32) = match descr {
        "<f4" => (4, |b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        "<f8" => (8, |b| f64::from_le_bytes(b[..8].try_into().unwrap()) as f32),
        "|u1" => (1, |b| b[0] as f32),
        "<i4" => (4, |b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32),
        "<i8" => (8, |b| i64::from_le_bytes(b[..8].try_into().unwrap()) as f32),
        other => {
            return Err(format!(
                "dtype {other} is not supported (use float32/float64/uint8/int32/int64)"
            ));
        }
    };
    if data.len() < nx * ny * size {
        return Err(format!(
            "{} bytes of data for a {ny}×{nx} array",
            data.len()
        ));
    }
    let mut out = Vec::with_capacity(nx * ny);
    for r in (0..ny).rev() {
        for c in 0..nx {
            out.push(read(&data[(r * nx + c) * size..]));
        }
    }
    Ok((nx, ny, out))
}
