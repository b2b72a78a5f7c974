//! The f64 CPU twin of the schemes: the same finite-volume stencil and boundary rules, the
//! forward-Euler and stabilized Runge–Kutta updates, and RK4 as a high-accuracy reference,
//! written independently of the WGSL. Tests run both and compare. Slow and simple on
//! purpose.

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
    /// Diffusion that varies: (species, x, y, t, every species' value) -> D (mm²/h) at a
    /// cell centre, faces taking the harmonic mean; `None`: the constants above.
    pub dcell: Option<&'a DCell<'a>>,
    /// Advection: (species, x, y, t, every species' value) -> (drift [vx, vy] in mm/h,
    /// taxis terms (attractant index, sensitivity χ)) at a cell centre; faces take the
    /// means, fluxes are upwinded with the van Leer limited face value.
    pub advect: Option<&'a Advect<'a>>,
    /// Reactions that depend on position and time: (x, y, t, species values, out); when
    /// set, used instead of `react`.
    pub react_at: Option<&'a ReactAt<'a>>,
    /// Species solved as D∇²c + R = 0 at every stage (Newton, a direct banded solve per
    /// iteration) instead of stepped; their rows of the right-hand side are zero.
    pub quasi_steady: Vec<bool>,
    /// Per quasi-steady species: the linear diffusion operator as a dense matrix (probed
    /// once from the stencil, so every boundary rule is included) and its bandwidth.
    qs_operator: Vec<std::cell::OnceCell<QsOperator>>,
}

/// See [`Reference::dcell`].
pub type DCell<'a> = dyn Fn(usize, f64, f64, f64, &[f64]) -> f64 + 'a;

/// A quasi-steady species' diffusion operator: the dense matrix (row-major), its constant
/// part (what a zero field gives: held or flux sides) and its bandwidth.
type QsOperator = (Vec<f64>, Vec<f64>, usize);

/// See [`Reference::react_at`].
pub type ReactAt<'a> = dyn Fn(f64, f64, f64, &[f64], &mut [f64]) + 'a;

/// See [`Reference::advect`].
pub type Advect<'a> = dyn Fn(usize, f64, f64, f64, &[f64]) -> ([f64; 2], Vec<(usize, f64)>) + 'a;

impl<'a> Reference<'a> {
    pub fn new(
        grid: &Grid,
        diffusion: Vec<f64>,
        fields: Vec<Vec<f64>>,
        react: &'a dyn Fn(&[f64], &mut [f64]),
        face: &'a dyn Fn(usize, f64, f64, f64) -> [f64; 4],
    ) -> Self {
        let o = grid.origin();
        let ns = fields.len();
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
            dcell: None,
            advect: None,
            react_at: None,
            quasi_steady: vec![false; ns],
            qs_operator: (0..ns).map(|_| std::cell::OnceCell::new()).collect(),
        }
    }

    /// With reactions of position and time (see [`Reference::react_at`]).
    pub fn with_react_at(mut self, react: &'a ReactAt<'a>) -> Self {
        self.react_at = Some(react);
        self
    }

    /// With these species solved quasi-steadily (see [`Reference::quasi_steady`]); the
    /// current fields are brought onto the constraint at once.
    pub fn with_quasi_steady(mut self, flags: Vec<bool>, t: f64) -> Self {
        self.quasi_steady = flags;
        let mut y = std::mem::take(&mut self.fields);
        self.solve_quasi_steady(&mut y, t);
        self.fields = y;
        self
    }

    /// With advection (see [`Reference::advect`]).
    pub fn with_advection(mut self, advect: &'a Advect<'a>) -> Self {
        self.advect = Some(advect);
        self
    }

    /// With diffusion that varies (see [`Reference::dcell`]).
    pub fn with_dcell(mut self, dcell: &'a DCell<'a>) -> Self {
        self.dcell = Some(dcell);
        self
    }

    /// The value across side `side` (0 left, 1 right, 2 bottom, 3 top) of cell (i, j) of
    /// species `s`'s values `f`.
    #[allow(clippy::too_many_arguments)]
    fn ghost_in(
        &self,
        f: &[f64],
        s: usize,
        i: usize,
        j: usize,
        side: usize,
        t: f64,
        d: f64,
    ) -> f64 {
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
                match self.boundary[side] {
                    Boundary::Fixed => 2.0 * value - c,
                    _ if d <= 0.0 => c,
                    Boundary::Flux => c + flux * h / d,
                    _ => (c * (d / h - 0.5 * rate) + rate * outside) / (d / h + 0.5 * rate),
                }
            }
        }
    }

    /// F(Y) = ∇·(D∇Y) + R(Y) for every species at time `t` (boundary rules applied to `y`).
    pub fn rhs(&self, y: &[Vec<f64>], t: f64) -> Vec<Vec<f64>> {
        let ns = y.len();
        let dcells = self.dcell.map(|dc| {
            let mut out = vec![vec![0.0; self.nx * self.ny]; ns];
            let mut c = vec![0.0; ns];
            for j in 0..self.ny {
                for i in 0..self.nx {
                    let idx = j * self.nx + i;
                    for (s, cs) in c.iter_mut().enumerate() {
                        *cs = y[s][idx];
                    }
                    let (x, yy) = self.centre(i, j);
                    for (s, o) in out.iter_mut().enumerate() {
                        o[idx] = dc(s, x, yy, t, &c).max(0.0);
                    }
                }
            }
            out
        });
        let mut f: Vec<Vec<f64>> = (0..ns)
            .map(|s| self.transport_of(&y[s], s, t, dcells.as_ref().map(|d| &d[s][..])))
            .collect();
        if let Some(adv) = self.advect {
            self.add_advection(y, t, adv, &mut f);
        }
        let (mut c, mut r) = (vec![0.0; ns], vec![0.0; ns]);
        for idx in 0..self.nx * self.ny {
            for (s, cs) in c.iter_mut().enumerate() {
                *cs = y[s][idx];
            }
            self.react_cell(idx, t, &c, &mut r);
            for s in 0..ns {
                f[s][idx] += r[s];
            }
        }
        for (fs, &qs) in f.iter_mut().zip(&self.quasi_steady) {
            if qs {
                fs.fill(0.0);
            }
        }
        f
    }

    fn react_cell(&self, idx: usize, t: f64, c: &[f64], r: &mut [f64]) {
        match self.react_at {
            Some(react) => {
                let (x, y) = self.centre(idx % self.nx, idx / self.nx);
                react(x, y, t, c, r)
            }
            None => (self.react)(c, r),
        }
    }

    /// The right-hand side at a stage: the quasi-steady species solved first (in `y`).
    fn stage_rhs(&self, y: &mut [Vec<f64>], t: f64) -> Vec<Vec<f64>> {
        self.solve_quasi_steady(y, t);
        self.rhs(y, t)
    }

    /// Solves D∇²q + R(q, others) = 0 for every quasi-steady species q in `y`, the others
    /// held: Newton on the whole field, the Jacobian's reaction part by a finite difference
    /// per cell, each linear system by banded Gaussian elimination (diagonally dominant:
    /// no pivoting), to a residual of 1e-11 of the species' scale.
    pub fn solve_quasi_steady(&self, y: &mut [Vec<f64>], t: f64) {
        let n = self.nx * self.ny;
        let ns = y.len();
        for q in (0..ns).filter(|&q| self.quasi_steady[q]) {
            let (a, a0, bw) = self.qs_operator[q].get_or_init(|| {
                let zero = vec![0.0; n];
                let a0 = self.transport_of(&zero, q, t, None);
                let mut a = vec![0.0; n * n];
                let mut bw = 0;
                let mut e = zero.clone();
                for k in 0..n {
                    e[k] = 1.0;
                    let col = self.transport_of(&e, q, t, None);
                    e[k] = 0.0;
                    for (i, v) in col.iter().enumerate() {
                        let v = v - a0[i];
                        if v != 0.0 {
                            a[i * n + k] = v;
                            bw = bw.max(i.abs_diff(k));
                        }
                    }
                }
                (a, a0, bw)
            });
            let (mut c, mut r) = (vec![0.0; ns], vec![0.0; ns]);
            for _ in 0..50 {
                let (mut res, mut jac) = (a0.clone(), vec![0.0; n]);
                for idx in 0..n {
                    for (s, cs) in c.iter_mut().enumerate() {
                        *cs = y[s][idx];
                    }
                    self.react_cell(idx, t, &c, &mut r);
                    let r0 = r[q];
                    let h = 1e-6 * c[q].abs().max(1.0);
                    c[q] += h;
                    self.react_cell(idx, t, &c, &mut r);
                    jac[idx] = (r[q] - r0) / h;
                    res[idx] += r0;
                    for k in idx.saturating_sub(*bw)..(idx + bw + 1).min(n) {
                        res[idx] += a[idx * n + k] * y[q][k];
                    }
                }
                let scale = y[q].iter().fold(1.0f64, |m, v| m.max(v.abs()));
                let worst = res.iter().fold(0.0f64, |m, v| m.max(v.abs()));
                let diag = a.iter().step_by(n + 1).fold(0.0f64, |m, v| m.max(v.abs()));
                if worst <= 1e-11 * scale * diag.max(1.0) {
                    break;
                }
                // (A + diag J) δ = −res, banded elimination.
                let mut m = a.clone();
                for (idx, j) in jac.iter().enumerate() {
                    m[idx * n + idx] += j;
                }
                let mut b: Vec<f64> = res.iter().map(|v| -v).collect();
                for k in 0..n {
                    let end = (k + bw + 1).min(n);
                    for i in k + 1..end {
                        let l = m[i * n + k] / m[k * n + k];
                        if l == 0.0 {
                            continue;
                        }
                        for jj in k..end {
                            m[i * n + jj] -= l * m[k * n + jj];
                        }
                        b[i] -= l * b[k];
                    }
                }
                for k in (0..n).rev() {
                    let end = (k + bw + 1).min(n);
                    let mut sum = b[k];
                    for jj in k + 1..end {
                        sum -= m[k * n + jj] * b[jj];
                    }
                    b[k] = sum / m[k * n + k];
                }
                for (v, d) in y[q].iter_mut().zip(&b) {
                    *v += d;
                }
            }
        }
    }

    /// The cell (i + di, j + dj): wrapped across periodic sides, `None` beyond the others.
    fn offset(&self, i: usize, j: usize, di: i64, dj: i64) -> Option<(usize, usize)> {
        let (nx, ny) = (self.nx as i64, self.ny as i64);
        let (a, b) = (i as i64 + di, j as i64 + dj);
        let side_x = if a < 0 { 0 } else { 1 };
        let side_y = if b < 0 { 2 } else { 3 };
        if (a < 0 || a >= nx) && self.boundary[side_x] != Boundary::Periodic {
            return None;
        }
        if (b < 0 || b >= ny) && self.boundary[side_y] != Boundary::Periodic {
            return None;
        }
        Some((a.rem_euclid(nx) as usize, b.rem_euclid(ny) as usize))
    }

    /// −∇·(v Y) for every species, v the drift plus χ∇(attractant) at each face (means of
    /// the two cells' drift and χ), Y upwinded with the van Leer limited face value;
    /// nothing crosses non-periodic sides.
    fn add_advection(&self, y: &[Vec<f64>], t: f64, adv: &Advect, f: &mut [Vec<f64>]) {
        let ns = y.len();
        let (nx, ny) = (self.nx, self.ny);
        let state =
            |i: usize, j: usize| -> Vec<f64> { (0..ns).map(|s| y[s][j * nx + i]).collect() };
        let limited = |up: f64, down: f64, upup: f64| {
            let (d1, d0) = (down - up, up - upup);
            if d0 * d1 > 0.0 {
                up + d0 * d1 / (d0 + d1)
            } else {
                up
            }
        };
        for j in 0..ny {
            for i in 0..nx {
                let idx = j * nx + i;
                let (xa, ya) = self.centre(i, j);
                let ca = state(i, j);
                // (offset, axis, sign, h)
                for (di, dj, axis, sgn, h) in [
                    (-1i64, 0i64, 0usize, -1.0, self.dx),
                    (1, 0, 0, 1.0, self.dx),
                    (0, -1, 1, -1.0, self.dy),
                    (0, 1, 1, 1.0, self.dy),
                ] {
                    let Some((bi, bj)) = self.offset(i, j, di, dj) else {
                        continue;
                    };
                    let (xb, yb) = self.centre(bi, bj);
                    let cb = state(bi, bj);
                    // The cell behind this one, and the one beyond the neighbour.
                    let behind = self.offset(i, j, -di, -dj).map_or(idx, |(a, b)| b * nx + a);
                    let beyond = self
                        .offset(i, j, 2 * di, 2 * dj)
                        .map_or(bj * nx + bi, |(a, b)| b * nx + a);
                    for s in 0..ns {
                        let (va, ta) = adv(s, xa, ya, t, &ca);
                        let (vb, tb) = adv(s, xb, yb, t, &cb);
                        let mut v = sgn * 0.5 * (va[axis] + vb[axis]);
                        for ((up, chi_a), (_, chi_b)) in ta.iter().zip(&tb) {
                            v += 0.5 * (chi_a + chi_b) * (cb[*up] - ca[*up]) / h;
                        }
                        let flux = if v > 0.0 {
                            v * limited(ca[s], cb[s], y[s][behind])
                        } else {
                            v * limited(cb[s], ca[s], y[s][beyond])
                        };
                        f[s][idx] -= flux / h;
                    }
                }
            }
        }
    }

    fn centre(&self, i: usize, j: usize) -> (f64, f64) {
        (
            self.x0 + (i as f64 + 0.5) * self.dx,
            self.y0 + (j as f64 + 0.5) * self.dy,
        )
    }

    /// One forward-Euler step of length `dt` from time `t`.
    pub fn step(&mut self, t: f64, dt: f64) {
        let f = self.rhs(&self.fields, t);
        for (y, fs) in self.fields.iter_mut().zip(&f) {
            for (v, d) in y.iter_mut().zip(fs) {
                *v += dt * d;
            }
        }
    }

    /// One classic fourth-order Runge–Kutta step: with steps well below the explicit
    /// limit, the f64 reference the schemes are measured against.
    pub fn rk4_step(&mut self, t: f64, dt: f64) {
        let mut y0 = self.fields.clone();
        let k1 = self.stage_rhs(&mut y0, t);
        let axpy = |a: f64, k: &[Vec<f64>]| -> Vec<Vec<f64>> {
            y0.iter()
                .zip(k)
                .map(|(y, k)| y.iter().zip(k).map(|(y, k)| y + a * k).collect())
                .collect()
        };
        let k2 = self.stage_rhs(&mut axpy(0.5 * dt, &k1), t + 0.5 * dt);
        let k3 = self.stage_rhs(&mut axpy(0.5 * dt, &k2), t + 0.5 * dt);
        let k4 = self.stage_rhs(&mut axpy(dt, &k3), t + dt);
        for (s, y) in self.fields.iter_mut().enumerate() {
            for (i, v) in y.iter_mut().enumerate() {
                *v = y0[s][i] + dt / 6.0 * (k1[s][i] + 2.0 * k2[s][i] + 2.0 * k3[s][i] + k4[s][i]);
            }
        }
        let mut y = std::mem::take(&mut self.fields);
        self.solve_quasi_steady(&mut y, t + dt);
        self.fields = y;
    }

    /// One stabilized Runge–Kutta step with per-stage (μ, ν, μ̃, γ̃, c) — the CPU twin of
    /// the RKC / RKL2 schemes (in f64 there is nothing to compensate).
    pub fn stabilized_step(&mut self, t: f64, dt: f64, coefs: &[[f64; 5]]) {
        let y0 = self.fields.clone();
        let f0 = self.rhs(&y0, t);
        let (mut y2, mut y1) = (y0.clone(), y0.clone());
        let mut c_prev = 0.0;
        for (j, &[mu, nu, mt, gt, c]) in coefs.iter().enumerate() {
            let f1 = if j == 0 {
                f0.clone()
            } else {
                self.rhs(&y1, t + c_prev * dt)
            };
            let yj: Vec<Vec<f64>> = (0..y0.len())
                .map(|s| {
                    (0..y0[s].len())
                        .map(|i| {
                            mu * y1[s][i]
                                + nu * y2[s][i]
                                + (1.0 - mu - nu) * y0[s][i]
                                + mt * dt * f1[s][i]
                                + gt * dt * f0[s][i]
                        })
                        .collect()
                })
                .collect();
            y2 = std::mem::replace(&mut y1, yj);
            c_prev = c;
        }
        self.fields = y1;
    }

    /// D·∇²f for species `s` (boundary rules applied to `f` itself).
    pub fn diffusion_of(&self, f: &[f64], s: usize, t: f64) -> Vec<f64> {
        self.transport_of(f, s, t, None)
    }

    /// ∇·(D∇f) for species `s`: D the constant, or per cell (`dcell`, harmonic means at
    /// faces; at a non-periodic side the cell's own).
    fn transport_of(&self, f: &[f64], s: usize, t: f64, dcell: Option<&[f64]>) -> Vec<f64> {
        let (nx, ny) = (self.nx, self.ny);
        let harm = |a: f64, b: f64| {
            if a * b > 0.0 {
                2.0 * a * b / (a + b)
            } else {
                0.0
            }
        };
        let mut out = vec![0.0; f.len()];
        for j in 0..ny {
            for i in 0..nx {
                let idx = j * nx + i;
                let c = f[idx];
                // (neighbour index if inside or periodic, side) per face.
                let faces = [
                    (if i > 0 { Some(idx - 1) } else { None }, idx + nx - 1, 0),
                    (
                        if i + 1 < nx { Some(idx + 1) } else { None },
                        (idx + 1).wrapping_sub(nx),
                        1,
                    ),
                    (
                        if j > 0 { Some(idx - nx) } else { None },
                        idx + (ny - 1) * nx,
                        2,
                    ),
                    (if j + 1 < ny { Some(idx + nx) } else { None }, i, 3),
                ];
                let mut sum = 0.0;
                for (inside, wrap, side) in faces {
                    let periodic = self.boundary[side] == Boundary::Periodic;
                    let d = match dcell {
                        None => self.diffusion[s],
                        Some(dc) => match inside {
                            Some(n) => harm(dc[idx], dc[n]),
                            None if periodic => harm(dc[idx], dc[wrap]),
                            None => dc[idx],
                        },
                    };
                    let other = match inside {
                        Some(n) => f[n],
                        None => self.ghost_in(f, s, i, j, side, t, d),
                    };
                    let h2 = if side < 2 {
                        self.dx * self.dx
                    } else {
                        self.dy * self.dy
                    };
                    sum += d * (other - c) / h2;
                }
                out[idx] = sum;
            }
        }
        out
    }
}
