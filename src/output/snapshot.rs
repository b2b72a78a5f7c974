//! Colour-mapped PNG snapshots of one species. y grows upwards on screen (row 0 of the field,
//! y min, is the bottom row of the image), as in a plot.

use crate::error::{Error, Result};

/// RGB pixels of `field` (nx × ny, row 0 at y min) mapped through `colormap` over `range`.
/// NaN shows magenta, so a broken value is never mistaken for a low one.
pub fn render(field: &[f32], nx: usize, ny: usize, range: [f64; 2], colormap: &str) -> Vec<u8> {
    let g = crate::colormap::gradient(colormap);
    let span = (range[1] - range[0]).max(f64::MIN_POSITIVE);
    let mut rgb = Vec::with_capacity(nx * ny * 3);
    for row in (0..ny).rev() {
        for &v in &field[row * nx..(row + 1) * nx] {
            if v.is_nan() {
                rgb.extend_from_slice(&[255, 0, 255]);
                continue;
            }
            let c = g.eval_continuous(((v as f64 - range[0]) / span).clamp(0.0, 1.0));
            rgb.extend_from_slice(&[c.r, c.g, c.b]);
        }
    }
    rgb
}

pub fn encode_png(rgb: &[u8], width: usize, height: usize) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, width as u32, height as u32);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc
            .write_header()
            .map_err(|e| Error::Internal(format!("png header: {e}")))?;
        w.write_image_data(rgb)
            .map_err(|e| Error::Internal(format!("png data: {e}")))?;
    }
    Ok(out)
}
