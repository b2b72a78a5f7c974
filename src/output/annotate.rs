//! Annotated snapshots: a field at a readable size with what a reader needs to use the
//! picture on its own — the scenario's title, the species and the time in the scenario's
//! unit, a colour bar with the range and units, and a scale bar in mm (µm for small
//! domains). Text in egui's own font, embedded in the binary, so the pictures are the same
//! on every machine; colours from `colormap`, as the app's.

use plotters::prelude::*;

use crate::error::{Error, Result};

/// What is written around the field.
pub struct Labels<'a> {
    pub title: &'a str,
    pub species: &'a str,
    pub units: &'a str,
    /// e.g. "t = 3.50 d".
    pub time: String,
    /// Domain size (mm).
    pub extent: [f64; 2],
    pub colormap: &'a str,
    pub range: [f64; 2],
}

/// Longest side of the field on the picture (pixels).
pub const FIELD_PX: u32 = 480;
const MARGIN: u32 = 16;
const TOP: u32 = 56;
const BOTTOM: u32 = 44;
const BAR_W: u32 = 22;
const BAR_LABELS: u32 = 110;

/// About how wide `text` is at `size` px in the embedded font (spaces doubled, see
/// [`spaced`]), so the picture is widened rather than a label cut off.
fn text_width(text: &str, size: f64) -> u32 {
    let chars = text.chars().count() + text.matches(' ').count();
    (chars as f64 * 0.55 * size).ceil() as u32
}

/// The layout for a field over `extent` titled `title`, with `units` beside the colour
/// bar: (image width, height, field rectangle (x, y, w, h), colour-bar rectangle).
pub fn layout(extent: [f64; 2], title: &str, units: &str) -> (u32, u32, [u32; 4], [u32; 4]) {
    let aspect = extent[0] / extent[1];
    let (fw, fh) = if aspect >= 1.0 {
        (
            FIELD_PX,
            ((FIELD_PX as f64 / aspect).round() as u32).max(40),
        )
    } else {
        (
            ((FIELD_PX as f64 * aspect).round() as u32).max(40),
            FIELD_PX,
        )
    };
    let field = [MARGIN, TOP, fw, fh];
    let bar = [MARGIN + fw + 14, TOP, BAR_W, fh];
    let w = (bar[0] + BAR_W + BAR_LABELS.max(14 + text_width(units, 13.0)))
        .max(2 * MARGIN + text_width(title, 18.0));
    let h = TOP + fh + BOTTOM;
    (w, h, field, bar)
}

/// A round length for the scale bar, about a quarter of `width` (mm): (mm, label).
pub fn scale_bar(width: f64) -> (f64, String) {
    let target = width / 4.0;
    let p = 10f64.powf(target.log10().floor());
    let len = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * p)
        .filter(|l| *l <= target * 1.5)
        .fold(p, f64::max);
    let label = if len < 1.0 {
        format!("{} µm", trim(len * 1000.0))
    } else {
        format!("{} mm", trim(len))
    };
    (len, label)
}

fn trim(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn number(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v.abs() >= 1e4 || v.abs() < 1e-2 {
        format!("{v:.2e}")
    } else {
        trim((v * 1e3).round() / 1e3)
    }
}

/// Each space doubled: plotters' glyph layout gives a space about half its width (the
/// font has no en space to use instead).
pub(crate) fn spaced(s: &str) -> String {
    s.replace(' ', "  ")
}

pub(crate) fn draw_err<E: std::error::Error + Send + Sync>(e: DrawingAreaErrorKind<E>) -> Error {
    Error::Internal(format!("snapshot: {e}"))
}

/// The annotated snapshot as PNG bytes. `field` is nx × ny, row 0 at y min (drawn at the
/// bottom); NaN shows magenta.
pub fn render(field: &[f32], nx: usize, ny: usize, l: &Labels) -> Result<Vec<u8>> {
    let (w, h, rgb) = render_rgb(field, nx, ny, l)?;
    super::snapshot::encode_png(&rgb, w, h)
}

/// The annotated snapshot as (width, height, RGB pixels), e.g. a movie frame.
pub fn render_rgb(
    field: &[f32],
    nx: usize,
    ny: usize,
    l: &Labels,
) -> Result<(usize, usize, Vec<u8>)> {
    compose(Cells::Field(field), nx, ny, l)
}

/// A picture of the cells already coloured (the skin view: nx × ny RGB, row 0 at y min)
/// with the same title, time and scale bar, and no colour bar.
pub fn render_picture(rgb: &[u8], nx: usize, ny: usize, l: &Labels) -> Result<Vec<u8>> {
    let (w, h, px) = compose(Cells::Rgb(rgb), nx, ny, l)?;
    super::snapshot::encode_png(&px, w, h)
}

/// What fills the field's rectangle.
enum Cells<'a> {
    Field(&'a [f32]),
    Rgb(&'a [u8]),
}

fn compose(cells: Cells, nx: usize, ny: usize, l: &Labels) -> Result<(usize, usize, Vec<u8>)> {
    super::register_font();
    let with_bar = matches!(cells, Cells::Field(_));
    let (w, h, [fx, fy, fw, fh], [bx, by, bw, bh]) = layout(l.extent, l.title, l.units);
    let mut rgb = vec![255u8; (w * h * 3) as usize];
    let g = crate::colormap::gradient(l.colormap);
    let span = (l.range[1] - l.range[0]).max(f64::MIN_POSITIVE);
    let colour = |v: f64| {
        if v.is_nan() {
            [255, 0, 255]
        } else {
            let c = g.eval_continuous(((v - l.range[0]) / span).clamp(0.0, 1.0));
            [c.r, c.g, c.b]
        }
    };
    let mut put = |x: u32, y: u32, c: [u8; 3]| {
        let i = ((y * w + x) * 3) as usize;
        rgb[i..i + 3].copy_from_slice(&c);
    };
    // The field, nearest cell per pixel (cells stay visible as cells when enlarged).
    for py in 0..fh {
        let row = ny - 1 - ((py as usize * ny) / fh as usize).min(ny - 1);
        for px in 0..fw {
            let col = ((px as usize * nx) / fw as usize).min(nx - 1);
            let c = match cells {
                Cells::Field(field) => colour(field[row * nx + col] as f64),
                Cells::Rgb(rgb) => {
                    let i = (row * nx + col) * 3;
                    [rgb[i], rgb[i + 1], rgb[i + 2]]
                }
            };
            put(fx + px, fy + py, c);
        }
    }
    // The colour bar: the top of the range at the top.
    for py in (0..bh).filter(|_| with_bar) {
        let f = 1.0 - (py as f64 + 0.5) / bh as f64;
        let c = colour(l.range[0] + f * span);
        for px in 0..bw {
            put(bx + px, by + py, c);
        }
    }
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        let font = |size: f64| ("sans-serif", size).into_font().color(&BLACK);
        let (fx, fy, fw, fh) = (fx as i32, fy as i32, fw as i32, fh as i32);
        root.draw(&Text::new(spaced(l.title), (MARGIN as i32, 8), font(18.0)))
            .map_err(draw_err)?;
        root.draw(&Text::new(
            spaced(&format!("{}   {}", l.species, l.time)),
            (MARGIN as i32, 32),
            font(16.0),
        ))
        .map_err(draw_err)?;
        let frame = |x: i32, y: i32, w: i32, h: i32| {
            Rectangle::new([(x - 1, y - 1), (x + w, y + h)], BLACK.stroke_width(1))
        };
        root.draw(&frame(fx, fy, fw, fh)).map_err(draw_err)?;
        let (bx, by, bw, bh) = (bx as i32, by as i32, bw as i32, bh as i32);
        if with_bar {
            root.draw(&frame(bx, by, bw, bh)).map_err(draw_err)?;
        }
        // Ticks: top, middle, bottom of the range; the units beside them.
        for (f, v) in [
            (0.0, l.range[1]),
            (0.5, 0.5 * (l.range[0] + l.range[1])),
            (1.0, l.range[0]),
        ]
        .into_iter()
        .filter(|_| with_bar)
        {
            let y = by + (f * (bh - 1) as f64) as i32;
            root.draw(&PathElement::new(
                vec![(bx + bw, y), (bx + bw + 4, y)],
                BLACK,
            ))
            .map_err(draw_err)?;
            root.draw(&Text::new(number(v), (bx + bw + 7, y - 7), font(14.0)))
                .map_err(draw_err)?;
        }
        if with_bar && !l.units.is_empty() {
            root.draw(&Text::new(
                spaced(l.units),
                (bx + bw + 7, by + bh / 2 + 12),
                font(13.0),
            ))
            .map_err(draw_err)?;
        }
        // Scale bar under the field's left corner.
        let (len, label) = scale_bar(l.extent[0]);
        let px = ((len / l.extent[0]) * fw as f64).round() as i32;
        let y = fy + fh + 14;
        root.draw(&Rectangle::new([(fx, y), (fx + px, y + 5)], BLACK.filled()))
            .map_err(draw_err)?;
        root.draw(&Text::new(spaced(&label), (fx + px + 8, y - 5), font(14.0)))
            .map_err(draw_err)?;
        root.present().map_err(draw_err)?;
    }
    Ok((w as usize, h as usize, rgb))
}

#[cfg(test)]
mod tests {
    #[test]
    fn scale_bars_are_round_and_in_the_right_unit() {
        assert_eq!(super::scale_bar(4.0), (1.0, "1 mm".to_string()));
        assert_eq!(super::scale_bar(40.0), (10.0, "10 mm".to_string()));
        assert_eq!(super::scale_bar(0.5).1, "100 µm");
        assert_eq!(super::scale_bar(3.0).1, "1 mm");
        assert_eq!(super::scale_bar(0.04).1, "10 µm");
    }
}
