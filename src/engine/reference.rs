//! The f64 CPU twin of the step kernel: same finite-volume stencil, same boundary rules,
//! same forward-Euler update, written independently of the WGSL. Tests run both and compare.
//! Slow and simple on purpose.

use super::problem::{Boundary, Grid};

pub struct Reference<'a> {
    pub nx: usize,
    pub ny: usize,
    pub dx: f64,
    pub dy: f64,
    pub x0: f64,
    pub y0: f64,
    pub boundary: [Boundary; 4],
    /// mm²/h per species.
    pub diffusion: Vec<f64>,
    /// `fields[s][j * nx + i]`.
    pub fields: Vec<Vec<f64>>,
    /// Reaction rates: (species values, out).
    pub react: &'a dyn Fn(&[f64], &mut [f64]),
    /// Side data at a face: (species, x, y, t) -> [held value (fixed), inward flux (flux),
    /// exchange rate and outside value (robin)].
    pub face: &'a dyn Fn(usize, f64, f64, f64) -> [f64; 4],
}

impl<'a> Reference<'a> {
    pub fn new(
        grid: &Grid,
        diffusion: Vec<f64>,
        fields: Vec<Vec<f64>>,
        react: &'a dyn Fn(&[f64], &mut [f64]),
        face: &'a dyn Fn(usize, f64, f64, f64) -> [f64; 4],
    ) -> Self {
        let o = grid.origin();
        Reference {
            nx: grid.nx as usize,
            ny: grid.ny as usize,
            dx: grid.dx(),
            dy: grid.dy(),
            x0: o[0],
            y0: o[1],
            boundary: grid.boundary,
            diffusion,
            fields,
            react,
            face,
        }
    }

    /// The value across side `side` (0 left, 1 right, 2 bottom, 3 top) of cell (i, j).
    fn ghost(&self, s: usize, i: usize, j: usize, side: usize, t: f64) -> f64 {
        self.ghost_in(&self.fields[s], s, i, j, side, t)
    }

    /// Like `ghost`, for species `s`'s values `f` (a stage of a multi-stage scheme).
    fn ghost_in(&self, f: &[f64], s: usize, i: usize, j: usize, side: usize, t: f64) -> f64 {
        let c = f[j * self.nx + i];
        let x = self.x0 + (i as f64 + 0.5) * self.dx;
        let y = self.y0 + (j as f64 + 0.5) * self.dy;
        match self.boundary[side] {
            Boundary::NoFlux => c,
            Boundary::Periodic => match side {
                0 => f[j * self.nx + self.nx - 1],
                1 => f[j * self.nx],
                2 => f[(self.ny - 1) * self.nx + i],
                _ => f[i],
            },
            Boundary::Fixed | Boundary::Flux | Boundary::Robin => {
                let (fx, fy, h) = match side {
                    0 => (self.x0, y, self.dx),
                    1 => (self.x0 + self.nx as f64 * self.dx, y, self.dx),
                    2 => (x, self.y0, self.dy),
                    _ => (x, self.y0 + self.ny as f64 * self.dy, self.dy),
                };
                let [value, flux, rate, outside] = (self.face)(s, fx, fy, t);
                let d = self.diffusion[s];
                match self.boundary[side] {
                    Boundary::Fixed => 2.0 * value - c,
                    _ if d <= 0.0 => c,
                    Boundary::Flux => c + flux * h / d,
                    _ => (c * (d / h - 0.5 * rate) + rate * outside) / (d / h + 0.5 * rate),
                }
            }
        }
    }

    /// One forward-Euler step of length `dt` from time `t`.
    pub fn step(&mut self, t: f64, dt: f64) {
        let ns = self.fields.len();
        let (nx, ny) = (self.nx, self.ny);
        let mut next = self.fields.clone();
        let mut c = vec![0.0; ns];
        let mut r = vec![0.0; ns];
        for j in 0..ny {
            for i in 0..nx {
                let idx = j * nx + i;
                for (s, cs) in c.iter_mut().enumerate() {
                    *cs = self.fields[s][idx];
                }
                (self.react)(&c, &mut r);
                for s in 0..ns {
                    let f = &self.fields[s];
                    let w = if i > 0 {
                        f[idx - 1]
                    } else {
                        self.ghost(s, i, j, 0, t)
                    };
                    let e = if i + 1 < nx {
                        f[idx + 1]
                    } else {
                        self.ghost(s, i, j, 1, t)
                    };
                    let so = if j > 0 {
                        f[idx - nx]
                    } else {
                        self.ghost(s, i, j, 2, t)
                    };
                    let no = if j + 1 < ny {
                        f[idx + nx]
                    } else {
                        self.ghost(s, i, j, 3, t)
                    };
                    let lap = (w + e - 2.0 * c[s]) / (self.dx * self.dx)
                        + (so + no - 2.0 * c[s]) / (self.dy * self.dy);
                    next[s][idx] = c[s] + dt * (self.diffusion[s] * lap + r[s]);
                }
            }
        }
        self.fields = next;
    }

    /// D·∇²f for species `s` (boundary rules applied to `f` itself).
    pub fn diffusion_of(&self, f: &[f64], s: usize, t: f64) -> Vec<f64> {
        let (nx, ny) = (self.nx, self.ny);
        let mut out = vec![0.0; f.len()];
        for j in 0..ny {
            for i in 0..nx {
                let idx = j * nx + i;
                let c = f[idx];
                let w = if i > 0 {
                    f[idx - 1]
                } else {
                    self.ghost_in(f, s, i, j, 0, t)
                };
                let e = if i + 1 < nx {
                    f[idx + 1]
                } else {
                    self.ghost_in(f, s, i, j, 1, t)
                };
                let so = if j > 0 {
                    f[idx - nx]
                } else {
                    self.ghost_in(f, s, i, j, 2, t)
                };
                let no = if j + 1 < ny {
                    f[idx + nx]
                } else {
                    self.ghost_in(f, s, i, j, 3, t)
                };
                out[idx] = self.diffusion[s]
                    * ((w + e - 2.0 * c) / (self.dx * self.dx)
                        + (so + no - 2.0 * c) / (self.dy * self.dy));
            }
        }
        out
    }

    /// One RKL2 step of `stages` stages for the diffusion, then the IMEX reaction pass —
    /// the CPU twin of the `rkl2` scheme.
    pub fn rkl2_step(&mut self, t: f64, dt: f64, stages: u32) {
        let coefs = super::schemes::rkl2_coefficients(stages);
        for s in 0..self.fields.len() {
            let y0 = self.fields[s].clone();
            let l0 = self.diffusion_of(&y0, s, t);
            let (mut y1, mut y2) = (y0.clone(), y0.clone());
            for c in &coefs {
                let l1 = self.diffusion_of(&y1, s, t);
                let yj: Vec<f64> = (0..y0.len())
                    .map(|i| {
                        c[0] * y1[i]
                            + c[1] * y2[i]
                            + (1.0 - c[0] - c[1]) * y0[i]
                            + c[2] * dt * l1[i]
                            + c[3] * dt * l0[i]
                    })
                    .collect();
                y2 = std::mem::replace(&mut y1, yj);
            }
            self.fields[s] = y1;
        }
        // Reactions, linearly implicit in each species' own decay.
        let ns = self.fields.len();
        let (mut c, mut r, mut r2) = (vec![0.0; ns], vec![0.0; ns], vec![0.0; ns]);
        for idx in 0..self.nx * self.ny {
            for (s, cs) in c.iter_mut().enumerate() {
                *cs = self.fields[s][idx];
            }
            (self.react)(&c, &mut r);
            for s in 0..ns {
                let h = (c[s].abs() * 1e-3).max(1e-6);
                let mut bumped = c.clone();
                bumped[s] += h;
                (self.react)(&bumped, &mut r2);
                let jac = (r2[s] - r[s]) / h;
                self.fields[s][idx] = c[s] + dt * r[s] / (1.0 + dt * (-jac).max(0.0));
            }
        }
    }
}
