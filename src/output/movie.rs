//! Animated GIFs: the one encoder behind `exoderm run --movie` and the app's recorder. A GIF
//! is written under a `.part` name and renamed into place once its trailer is out, so a
//! half-written movie never looks whole.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

pub struct GifWriter {
    path: PathBuf,
    encoder: Option<gif::Encoder<BufWriter<File>>>,
    size: [usize; 2],
    frames: usize,
}

impl GifWriter {
    pub fn new(path: PathBuf) -> GifWriter {
        GifWriter {
            path,
            encoder: None,
            size: [0, 0],
            frames: 0,
        }
    }

    pub fn frames(&self) -> usize {
        self.frames
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Adds a `w` × `h` RGBA frame shown for `delay_cs` hundredths of a second. The movie
    /// keeps the size of its first frame (later ones are cropped or padded with black).
    pub fn push_rgba(&mut self, w: usize, h: usize, rgba: &[u8], delay_cs: u16) -> Result<()> {
        if self.encoder.is_none() {
            self.size = [w, h];
            let part = part_path(&self.path);
            let file = File::create(&part).map_err(|e| Error::io("cannot create", &part, e))?;
            let mut enc = gif::Encoder::new(BufWriter::new(file), w as u16, h as u16, &[])
                .map_err(|e| gif_error(&self.path, e))?;
            enc.set_repeat(gif::Repeat::Infinite)
                .map_err(|e| gif_error(&self.path, e))?;
            self.encoder = Some(enc);
        }
        let [gw, gh] = self.size;
        let mut px = vec![0u8; gw * gh * 4];
        for y in 0..gh.min(h) {
            let n = gw.min(w) * 4;
            px[y * gw * 4..y * gw * 4 + n].copy_from_slice(&rgba[y * w * 4..y * w * 4 + n]);
        }
        let mut frame = gif::Frame::from_rgba_speed(gw as u16, gh as u16, &mut px, 20);
        frame.delay = delay_cs;
        if let Some(enc) = self.encoder.as_mut() {
            enc.write_frame(&frame)
                .map_err(|e| gif_error(&self.path, e))?;
        }
        self.frames += 1;
        Ok(())
    }

    /// Adds an RGB frame (see [`GifWriter::push_rgba`]).
    pub fn push_rgb(&mut self, w: usize, h: usize, rgb: &[u8], delay_cs: u16) -> Result<()> {
        let rgba: Vec<u8> = rgb
            .chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect();
        self.push_rgba(w, h, &rgba, delay_cs)
    }

    /// Writes the trailer and moves the movie into place; with no frame, writes nothing.
    pub fn finish(self) -> Result<PathBuf> {
        if let Some(enc) = self.encoder {
            let mut w = enc.into_inner().map_err(|e| gif_error(&self.path, e))?;
            std::io::Write::flush(&mut w).map_err(|e| gif_error(&self.path, e))?;
            w.get_ref()
                .sync_all()
                .map_err(|e| gif_error(&self.path, e))?;
            drop(w);
            let part = part_path(&self.path);
            std::fs::rename(&part, &self.path).map_err(|e| Error::io("cannot rename", &part, e))?;
        }
        Ok(self.path)
    }
}

fn part_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".part");
    PathBuf::from(p)
}

/// The GIF encoder fails only on the file it writes: the user's I/O, with its path.
fn gif_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::io(
        "cannot write the GIF",
        path,
        std::io::Error::other(e.to_string()),
    )
}
