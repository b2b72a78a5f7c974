//! Maps onto the grid: each picture spread over the whole domain, sampled bilinearly at the
//! cell centres (pixel centres sit at the picture's own cell centres; beyond the outermost
//! ones the edge value holds), packed four maps to a vec4 plane after the runs' block of
//! the runs buffer (`model::expr::PARAMS_DECL`). The shaders read the value of the cell that
//! holds a point (`xd_map`).

use super::problem::Grid;
use crate::model::{Map, Model};

/// `map` resampled onto `grid`: row-major, row 0 at y min (the fields' order).
pub fn resample(map: &Map, grid: &Grid) -> Vec<f32> {
    let (w, h) = (map.width, map.height);
    let mut out = Vec::with_capacity((grid.nx * grid.ny) as usize);
    for j in 0..grid.ny as usize {
        // Picture rows run top (y max) to bottom.
        let v = ((grid.ny as usize - 1 - j) as f64 + 0.5) / grid.ny as f64 * h as f64 - 0.5;
        for i in 0..grid.nx as usize {
            let u = (i as f64 + 0.5) / grid.nx as f64 * w as f64 - 0.5;
            out.push(bilinear(&map.values, w, h, u, v));
        }
    }
    out
}

fn bilinear(values: &[f32], w: usize, h: usize, u: f64, v: f64) -> f32 {
    let u = u.clamp(0.0, (w - 1) as f64);
    let v = v.clamp(0.0, (h - 1) as f64);
    let (c0, r0) = (u.floor() as usize, v.floor() as usize);
    let (c1, r1) = ((c0 + 1).min(w - 1), (r0 + 1).min(h - 1));
    let (fu, fv) = (u - c0 as f64, v - r0 as f64);
    let at = |c: usize, r: usize| values[r * w + c] as f64;
    let top = at(c0, r0) * (1.0 - fu) + at(c1, r0) * fu;
    let bottom = at(c0, r1) * (1.0 - fu) + at(c1, r1) * fu;
    (top * (1.0 - fv) + bottom * fv) as f32
}

/// Every map of `model` on `grid`, four to a vec4 plane: plane m/4, component m%4.
pub fn planes(model: &Model, grid: &Grid) -> Vec<[f32; 4]> {
    let cells = (grid.nx * grid.ny) as usize;
    let mut out = vec![[0.0f32; 4]; model.maps.len().div_ceil(4) * cells];
    for (m, map) in model.maps.iter().enumerate() {
        for (c, v) in resample(map, grid).into_iter().enumerate() {
            out[(m / 4) * cells + c][m % 4] = v;
        }
    }
    out
}

/// The WGSL reader: map `m`'s value at the cell holding (x, y) (clamped to the grid).
pub const WGSL: &str = "fn xd_map(m: u32, x: f32, y: f32) -> f32 {\n\
    let i = u32(clamp(floor((x - xd_grid.x0) / xd_grid.dx), 0.0, f32(xd_grid.nx - 1u)));\n\
    let j = u32(clamp(floor((y - xd_grid.y0) / xd_grid.dy), 0.0, f32(xd_grid.ny - 1u)));\n\
    return xd_runs.maps[(m / 4u) * xd_grid.nx * xd_grid.ny + j * xd_grid.nx + i][m % 4u];\n\
}\n";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::problem::Boundary;

    #[test]
    fn a_picture_lands_the_right_way_up_and_interpolates() {
        // 2×2 picture: top row 0, 1; bottom row 2, 3.
        let map = Map {
            name: "m".into(),
            source: String::new(),
            width: 2,
            height: 2,
            values: std::sync::Arc::new(vec![0.0, 1.0, 2.0, 3.0]),
        };
        let grid = Grid {
            nx: 4,
            ny: 4,
            extent: [4.0, 4.0],
            boundary: [Boundary::NoFlux; 4],
        };
        let g = resample(&map, &grid);
        // Row 0 is y min: the picture's bottom row; corners hold the edge pixels.
        assert_eq!(g[0], 2.0);
        assert_eq!(g[3], 3.0);
        assert_eq!(g[12], 0.0);
        assert_eq!(g[15], 1.0);
        // Cell 1 of the bottom row is a quarter of the way between pixel centres.
        assert!((g[1] - 2.25).abs() < 1e-6, "{}", g[1]);
    }
}
