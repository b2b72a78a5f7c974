//! Sharing what is on screen: a screenshot to PNG, a recording of the field view to an
//! animated GIF or a numbered PNG sequence. Frames come from eframe's screenshot of the
//! whole window (what the audience saw), cropped to the view.

use std::path::{Path, PathBuf};

use eframe::egui;

use crate::error::{Error, Result};
use crate::output::movie::GifWriter;

/// `rect` (points) of `image` (pixels at `ppp` pixels per point), clamped to the image.
pub fn crop(image: &egui::ColorImage, rect: egui::Rect, ppp: f32) -> egui::ColorImage {
    let [w, h] = image.size;
    let x0 = ((rect.min.x * ppp).round().max(0.0) as usize).min(w);
    let y0 = ((rect.min.y * ppp).round().max(0.0) as usize).min(h);
    let x1 = ((rect.max.x * ppp).round().max(0.0) as usize).clamp(x0, w);
    let y1 = ((rect.max.y * ppp).round().max(0.0) as usize).clamp(y0, h);
    let mut pixels = Vec::with_capacity((x1 - x0) * (y1 - y0));
    for y in y0..y1 {
        pixels.extend_from_slice(&image.pixels[y * w + x0..y * w + x1]);
    }
    egui::ColorImage::new([x1 - x0, y1 - y0], pixels)
}

fn rgba(image: &egui::ColorImage) -> Vec<u8> {
    image
        .pixels
        .iter()
        .flat_map(|c| c.to_srgba_unmultiplied())
        .collect()
}

/// Writes `image` as a PNG (atomically).
pub fn save_png(image: &egui::ColorImage, path: &Path) -> Result<()> {
    let [w, h] = image.size;
    let bytes = crate::output::snapshot::encode_png(&rgba_to_rgb(&rgba(image)), w, h)?;
    crate::output::write_atomic(path, &bytes)
}

fn rgba_to_rgb(rgba: &[u8]) -> Vec<u8> {
    rgba.chunks_exact(4)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect()
}

/// A recording in progress.
pub enum Recorder {
    Gif(GifWriter),
    Pngs { dir: PathBuf, frames: usize },
}

impl Recorder {
    pub fn gif(path: PathBuf) -> Recorder {
        Recorder::Gif(GifWriter::new(path))
    }

    pub fn pngs(dir: PathBuf) -> Result<Recorder> {
        std::fs::create_dir_all(&dir).map_err(|e| Error::io("cannot create", &dir, e))?;
        Ok(Recorder::Pngs { dir, frames: 0 })
    }

    pub fn frames(&self) -> usize {
        match self {
            Recorder::Gif(g) => g.frames(),
            Recorder::Pngs { frames, .. } => *frames,
        }
    }

    pub fn target(&self) -> &Path {
        match self {
            Recorder::Gif(g) => g.path(),
            Recorder::Pngs { dir, .. } => dir,
        }
    }

    /// Adds a frame; `delay_cs` is its display time in 1/100 s (GIF only). A GIF keeps the
    /// size of its first frame (later frames are cropped or padded to it).
    pub fn push(&mut self, image: &egui::ColorImage, delay_cs: u16) -> Result<()> {
        match self {
            Recorder::Pngs { dir, frames } => {
                save_png(image, &dir.join(format!("frame_{:05}.png", *frames)))?;
                *frames += 1;
                Ok(())
            }
            Recorder::Gif(g) => {
                let [w, h] = image.size;
                g.push_rgba(w, h, &rgba(image), delay_cs)
            }
        }
    }

    /// Finishes the file (a GIF appears under its name only when complete).
    pub fn finish(self) -> Result<PathBuf> {
        match self {
            Recorder::Gif(g) => g.finish(),
            Recorder::Pngs { dir, .. } => Ok(dir),
        }
    }
}

/// A file name that sorts by time: `PREFIX-YYYYmmdd-HHMMSS.EXT` (UTC).
pub fn stamped(dir: &str, prefix: &str, ext: &str) -> PathBuf {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (d, s) = (secs / 86400, secs % 86400);
    let (y, m, day) = civil_from_days(d as i64);
    let name = format!(
        "{prefix}-{y:04}{m:02}{day:02}-{:02}{:02}{:02}{ext}",
        s / 3600,
        s % 3600 / 60,
        s % 60
    );
    Path::new(dir).join(name)
}

/// Gregorian date of a day count since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(w: usize, h: usize, shade: u8) -> egui::ColorImage {
        let pixels = (0..w * h)
            .map(|k| egui::Color32::from_rgb(shade, (k % 251) as u8, (k / w) as u8))
            .collect();
        egui::ColorImage::new([w, h], pixels)
    }

    #[test]
    fn crop_takes_the_rect_in_pixels() {
        let img = image(40, 30, 7);
        let c = crop(
            &img,
            egui::Rect::from_min_max(egui::pos2(5.0, 4.0), egui::pos2(15.0, 9.0)),
            2.0,
        );
        assert_eq!(c.size, [20, 10]);
        assert_eq!(c.pixels[0], img.pixels[8 * 40 + 10]);
        assert_eq!(c.pixels[20 * 10 - 1], img.pixels[17 * 40 + 29]);
    }

    #[test]
    fn gif_recording_has_every_frame_and_appears_only_when_finished() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rec.gif");
        let mut r = Recorder::gif(path.clone());
        for k in 0..3 {
            r.push(&image(24, 16, 60 * k), 4).unwrap();
        }
        assert!(!path.exists(), "not in place before finish");
        assert_eq!(r.finish().unwrap(), path);
        let mut opts = gif::DecodeOptions::new();
        opts.set_color_output(gif::ColorOutput::RGBA);
        let mut dec = opts.read_info(std::fs::File::open(&path).unwrap()).unwrap();
        assert_eq!((dec.width(), dec.height()), (24, 16));
        let mut frames = 0;
        while let Some(f) = dec.read_next_frame().unwrap() {
            assert_eq!(f.delay, 4);
            frames += 1;
        }
        assert_eq!(frames, 3);
    }

    #[test]
    fn png_sequence_numbers_its_frames() {
        let dir = tempfile::tempdir().unwrap();
        let mut r = Recorder::pngs(dir.path().join("seq")).unwrap();
        r.push(&image(8, 8, 1), 4).unwrap();
        r.push(&image(8, 8, 2), 4).unwrap();
        assert_eq!(r.frames(), 2);
        assert!(dir.path().join("seq/frame_00001.png").exists());
    }

    #[test]
    fn civil_dates() {
        assert_eq!(super::civil_from_days(0), (1970, 1, 1));
        assert_eq!(super::civil_from_days(20_783), (2026, 11, 26));
    }
}
