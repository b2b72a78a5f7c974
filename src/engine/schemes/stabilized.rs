//! Stabilized explicit Runge–Kutta on the whole right-hand side (no splitting): RKC, the
//! damped Chebyshev method of Sommeijer, Shampine & Verwer (1997), the default; or RKL2,
//! Runge–Kutta–Legendre (Meyer, Balsara & Aslam 2014). Both are second order with s
//! stages whose stability interval on the negative real axis grows like s² (RKC ≈ 0.65 s²,
//! RKL2 ≈ 0.5 s²), so stiff diffusion and fast decay cost √(stiffness) stages, not
//! stiffness steps. The state is compensated (hi + lo), the stages are deviations, and
//! every step carries an embedded error estimate (see `shaders/kernels/rkc.wgsl`).
//!
//! Buffers: the state hi in set 0 (it stays there: steps commit in place), its low part in
//! set 1, then scratch A, B, C (the stage rotation, and the power iteration's vectors
//! between steps) and F0, F1 (the slopes, swapped at each accepted step).

use super::Encoding;
use crate::engine::gpu::Gpu;
use crate::engine::kernels::{Kernel, Kernels};
use crate::engine::layout::{self, RunFlags};
use crate::engine::problem::Scheme;
use crate::engine::resources::Resources;
use crate::engine::uniforms::StepUniform;
use crate::error::Result;

/// Scratch sets the stabilized schemes use (A, B, C, F0, F1).
pub const SCRATCH: usize = 5;
/// RKC's damping (Sommeijer et al.: ε = 2/13 keeps the stability polynomial ≤ 1 − ε/3 away
/// from the origin, so stiff modes are damped, not just bounded).
const DAMPING: f64 = 2.0 / 13.0;

/// One stabilized step as the finish kernel sees it.
#[derive(Debug, Clone)]
pub struct StepSpec {
    /// Start time and step (h), stage count.
    pub t: f64,
    pub tau: f64,
    pub stages: u32,
    /// Per species, the share of its absolute tolerance this step may spend: τ over the
    /// time its errors persist (capped at 1) — so local errors add up to about the
    /// tolerance at the end (error per unit step).
    pub share: Vec<f64>,
    /// A bound on |∂R/∂Y| (1/h): with it the kernel bounds the f32 rounding noise in the
    /// estimate, which no step size can reduce.
    pub reaction_rate: f64,
}

/// Which stabilized method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Rkc,
    Rkl2,
}

impl Family {
    pub fn of(scheme: Scheme) -> Option<Family> {
        match scheme {
            Scheme::Rkc => Some(Family::Rkc),
            Scheme::Rkl2 => Some(Family::Rkl2),
            Scheme::Euler => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Family::Rkc => "RKC (damped Runge–Kutta–Chebyshev)",
            Family::Rkl2 => "RKL2 (Runge–Kutta–Legendre)",
        }
    }

    /// The stability interval [−β, 0] of `s` stages: stable when τ·ρ(∂F/∂Y) ≤ β.
    pub fn beta(self, s: u32) -> f64 {
        match self {
            Family::Rkl2 => {
                let s = s as f64;
                (s * s + s - 2.0) / 2.0
            }
            Family::Rkc => {
                let (w0, w1) = rkc_w(s);
                (1.0 + w0) / w1
            }
        }
    }

    /// Per stage j = 1..=s: (μ, ν, μ̃, γ̃, c) in
    /// Y_j = μ Y_{j−1} + ν Y_{j−2} + (1 − μ − ν) Y_0 + μ̃ τ F(Y_{j−1}) + γ̃ τ F(Y_0),
    /// with c_j the stage's time as a fraction of the step (c_s = 1).
    pub fn coefficients(self, s: u32) -> Vec<[f64; 5]> {
        let four: Vec<[f64; 4]> = match self {
            Family::Rkl2 => rkl2_coefficients(s),
            Family::Rkc => rkc_coefficients(s),
        };
        let mut c = vec![0.0f64; s as usize + 1];
        let mut out = Vec::with_capacity(s as usize);
        for (j, [mu, nu, mt, gt]) in four.into_iter().enumerate() {
            let j = j + 1;
            let c2 = if j >= 2 { c[j - 2] } else { 0.0 };
            c[j] = mu * c[j - 1] + nu * c2 + mt + gt;
            out.push([mu, nu, mt, gt, c[j]]);
        }
        out
    }
}

/// RKL2 stage coefficients for `s` stages: per stage j = 1..=s, (μ, ν, μ̃, γ̃) in
/// Yj = μ Y(j−1) + ν Y(j−2) + (1 − μ − ν) Y0 + μ̃ τ L(Y(j−1)) + γ̃ τ L(Y0).
/// Where power iteration linearises F: the plane holding F(Y), the time, and the size ε
/// of the perturbation (in state units).
#[derive(Debug, Clone, Copy)]
pub struct PowerStart {
    pub plane: usize,
    pub t: f64,
    pub eps: f64,
}

pub fn rkl2_coefficients(s: u32) -> Vec<[f64; 4]> {
    let sf = s as f64;
    let w1 = 4.0 / (sf * sf + sf - 2.0);
    let b = |j: u32| -> f64 {
        if j <= 2 {
            1.0 / 3.0
        } else {
            let j = j as f64;
            (j * j + j - 2.0) / (2.0 * j * (j + 1.0))
        }
    };
    let mut out = vec![[1.0, 0.0, b(1) * w1, 0.0]];
    for j in 2..=s {
        let jf = j as f64;
        let mu = (2.0 * jf - 1.0) / jf * b(j) / b(j - 1);
        let nu = -(jf - 1.0) / jf * b(j) / b(j - 2);
        let mut_ = mu * w1;
        let gamma = -(1.0 - b(j - 1)) * mut_;
        out.push([mu, nu, mut_, gamma]);
    }
    out
}

/// Chebyshev T_j, T_j', T_j'' at w for j = 0..=s.
fn chebyshev(s: u32, w: f64) -> Vec<[f64; 3]> {
    let mut t = vec![[1.0, 0.0, 0.0], [w, 1.0, 0.0]];
    for j in 2..=s as usize {
        let (a, b) = (t[j - 1], t[j - 2]);
        t.push([
            2.0 * w * a[0] - b[0],
            2.0 * a[0] + 2.0 * w * a[1] - b[1],
            4.0 * a[1] + 2.0 * w * a[2] - b[2],
        ]);
    }
    t
}

/// RKC's w0 = 1 + ε/s² and w1 = T_s'(w0) / T_s''(w0).
fn rkc_w(s: u32) -> (f64, f64) {
    let w0 = 1.0 + DAMPING / (s as f64 * s as f64);
    let t = chebyshev(s, w0)[s as usize];
    (w0, t[1] / t[2])
}

/// RKC stage coefficients (Sommeijer, Shampine & Verwer 1997, eq. 2.5): (μ, ν, μ̃, γ̃).
fn rkc_coefficients(s: u32) -> Vec<[f64; 4]> {
    let (w0, w1) = rkc_w(s);
    let t = chebyshev(s, w0);
    let b = |j: usize| -> f64 {
        let j = j.max(2);
        t[j][2] / (t[j][1] * t[j][1])
    };
    let mut out = vec![[1.0, 0.0, b(1) * w1, 0.0]];
    for j in 2..=s as usize {
        let mu = 2.0 * w0 * b(j) / b(j - 1);
        let nu = -b(j) / b(j - 2);
        let mt = 2.0 * w1 * b(j) / b(j - 1);
        let a_prev = 1.0 - b(j - 1) * t[j - 1][0];
        out.push([mu, nu, mt, -a_prev * mt]);
    }
    out
}

/// Stage pattern for stage j (1-based): 0 for j = 1, 1 for j = 2, then 2 + j % 3.
fn combo(j: u32) -> usize {
    match j {
        1 => 0,
        2 => 1,
        _ => 2 + (j % 3) as usize,
    }
}

/// For a stage pattern: (E_{j−1}, E_{j−2}, E_j) as rotation indices (A = 0, B = 1, C = 2);
/// `None` is E_0 = lo.
fn buffers(combo: usize) -> (Option<usize>, Option<usize>, usize) {
    match combo {
        0 => (None, None, 0),
        1 => (Some(0), None, 1),
        c => {
            let m = c - 2; // j % 3
            (Some((m + 1) % 3), Some(m), (m + 2) % 3)
        }
    }
}

/// Which rotation buffer holds E_s.
fn last(s: u32) -> usize {
    buffers(combo(s)).2
}

/// The GPU side of a stabilized scheme: bind groups, built once.
pub struct Stabilized {
    pub family: Family,
    /// `stage[p][combo]`, F0 = F_p.
    stage: [Vec<wgpu::BindGroup>; 2],
    /// `finish[p][r]`: E_s in rotation r, F0 = F_p, writes F_{1−p}.
    finish: [Vec<wgpu::BindGroup>; 2],
    /// `commit[r]`: E_s in rotation r.
    commit: Vec<wgpu::BindGroup>,
    /// `f0[p]`: writes F_p from hi + lo.
    f0: [wgpu::BindGroup; 2],
    /// `jv[p][d]`: F0 = F_p; d = 0: v = A → w = B, d = 1: v = B → w = A.
    jv: [[wgpu::BindGroup; 2]; 2],
    /// Writes the power iteration's start vector into A.
    jv_init: wgpu::BindGroup,
}

impl Stabilized {
    pub fn new(gpu: &Gpu, res: &Resources, kernels: &Kernels, family: Family) -> Stabilized {
        let f = &res.fields;
        let (hi, lo) = (&f.sets[0], &f.sets[1]);
        let rot = [&f.scratch[0], &f.scratch[1], &f.scratch[2]];
        let fs = [&f.scratch[3], &f.scratch[4]];
        let group = |label: &str, [x, y, fb, out]: [&wgpu::Buffer; 4]| {
            res.group(
                gpu,
                &kernels.rk_layout,
                &[
                    (3, hi),
                    (4, lo),
                    (5, x),
                    (6, y),
                    (7, fb),
                    (8, out),
                    (9, &f.aux),
                ],
                &format!("rk.{label}"),
            )
        };
        let pick = |i: Option<usize>| i.map_or(lo, |i| rot[i]);
        let stage = [0, 1].map(|p| {
            (0..5)
                .map(|c| {
                    let (x, y, out) = buffers(c);
                    group(
                        &format!("stage{p}.{c}"),
                        [pick(x), pick(y), fs[p], rot[out]],
                    )
                })
                .collect()
        });
        let finish = [0, 1].map(|p| {
            (0..3)
                .map(|r| group(&format!("finish{p}.{r}"), [rot[r], lo, fs[p], fs[1 - p]]))
                .collect()
        });
        let commit = (0..3)
            .map(|r| {
                res.group(
                    gpu,
                    &kernels.commit_layout,
                    &[(3, hi), (4, lo), (5, rot[r])],
                    &format!("rk.commit{r}"),
                )
            })
            .collect();
        let f0 = [0, 1].map(|p| group(&format!("f0.{p}"), [lo, lo, fs[1 - p], fs[p]]));
        let jv = [0, 1].map(|p| {
            [
                group(&format!("jv{p}.0"), [rot[0], lo, fs[p], rot[1]]),
                group(&format!("jv{p}.1"), [rot[1], lo, fs[p], rot[0]]),
            ]
        });
        let jv_init = group("jv_init", [lo, lo, fs[0], rot[0]]);
        Stabilized {
            family,
            stage,
            finish,
            commit,
            f0,
            jv,
            jv_init,
        }
    }

    /// Encodes F_p = F(hi + lo) at time `t`.
    pub fn encode_f0(
        &self,
        res: &Resources,
        kernels: &Kernels,
        e: &mut Encoding,
        p: usize,
        t: f64,
    ) -> Result<()> {
        let rec = e.records.push(&StepUniform {
            t: t as f32,
            ..bytemuck::Zeroable::zeroed()
        })?;
        e.dispatches += 1;
        e.pass(
            res,
            "exoderm.rk.f0",
            &[(kernels.get(Kernel::RkF0)?, &self.f0[p], rec)],
        );
        Ok(())
    }

    /// Encodes one step of `tau` with `s` stages from `t` (F0 = F_p), then its finish: F_{1−p},
    /// the error estimate and the blow-up masks into the flags (cleared first).
    pub fn encode_step(
        &self,
        res: &Resources,
        kernels: &Kernels,
        e: &mut Encoding,
        p: usize,
        step: &StepSpec,
    ) -> Result<()> {
        let (t, tau, s) = (step.t, step.tau, step.stages);
        let (stage, finish) = (
            kernels.get(Kernel::RkStage)?,
            kernels.get(Kernel::RkFinish)?,
        );
        let mut dispatches = vec![];
        let mut c_prev = 0.0;
        for (j, [mu, nu, mt, gt, c]) in self.family.coefficients(s).into_iter().enumerate() {
            let j = j as u32 + 1;
            let mut rec = StepUniform {
                t: (t + c_prev * tau) as f32,
                sel: j,
                ..bytemuck::Zeroable::zeroed()
            };
            rec.cx[0] = [mu as f32, nu as f32, (mt * tau) as f32, (gt * tau) as f32];
            rec.cy[0] = [(c * tau) as f32, 0.0, 0.0, 0.0];
            let off = e.records.push(&rec)?;
            dispatches.push((stage, &self.stage[p][combo(j)], off));
            c_prev = c;
        }
        let mut rec = StepUniform {
            t: (t + tau) as f32,
            ..bytemuck::Zeroable::zeroed()
        };
        rec.cx[0] = [tau as f32, 0.0, 0.0, step.reaction_rate as f32];
        for (i, share) in step.share.iter().enumerate() {
            rec.cy[i / 4][i % 4] = *share as f32;
        }
        let off = e.records.push(&rec)?;
        dispatches.push((finish, &self.finish[p][last(s)], off));
        let runs = res.fields.runs;
        e.enc
            .clear_buffer(&res.fields.aux, 0, Some(layout::flag_bytes(runs)));
        e.dispatches += dispatches.len() as u64;
        e.pass(res, "exoderm.rk.step", &dispatches);
        e.enc.copy_buffer_to_buffer(
            &res.fields.aux,
            0,
            &res.flags_staging,
            0,
            layout::flag_bytes(runs),
        );
        Ok(())
    }

    /// Encodes the commit of an accepted `s`-stage step.
    pub fn encode_commit(
        &self,
        res: &Resources,
        kernels: &Kernels,
        e: &mut Encoding,
        s: u32,
    ) -> Result<()> {
        let mut one: StepUniform = bytemuck::Zeroable::zeroed();
        one.cx[0][0] = 1.0;
        let rec = e.records.push(&one)?;
        e.dispatches += 1;
        e.pass(
            res,
            "exoderm.rk.commit",
            &[(kernels.get(Kernel::RkCommit)?, &self.commit[last(s)], rec)],
        );
        Ok(())
    }

    /// The spectral radius of ∂F/∂Y at the current state (F0 = F_p, valid), per run, by
    /// power iteration on J·v ≈ (F(Y + εv) − F(Y))/ε from a fixed start vector: until the
    /// estimate settles within 2% in the `live` runs, at most `MAX` products. Returns (ρ per
    /// run, dispatches); stopped runs (whose state may be anything) are left out of the
    /// shared scaling.
    pub fn spectral_radius(
        &self,
        gpu: &Gpu,
        res: &Resources,
        kernels: &Kernels,
        at: PowerStart,
        live: &[bool],
    ) -> Result<(Vec<f64>, u64)> {
        const MAX: usize = 40;
        let PowerStart { plane: p, t, eps } = at;
        let runs = res.fields.runs;
        let jv = kernels.get(Kernel::RkJv)?;
        let mut e = Encoding::new(gpu, res, "rk.power");
        let rec = e.records.push(&bytemuck::Zeroable::zeroed())?;
        e.pass(
            res,
            "exoderm.rk.jv_init",
            &[(kernels.get(Kernel::RkJvInit)?, &self.jv_init, rec)],
        );
        e.submit(gpu, res);
        let mut dispatches = 1;
        // v is kept unnormalized; the kernel perturbs by ε·σ·v, so it applies J to u = σ·v.
        // One σ for the batch (1 / the largest ‖w‖∞); `norm[r]` = ‖σ v_r‖∞. The start
        // vector's entries are within [−1, 1], its ∞-norm about 1.
        let mut sigma = 1.0f64;
        let mut norm = vec![1.0f64; runs];
        let mut rho = vec![0.0f64; runs];
        for k in 0..MAX {
            let mut e = Encoding::new(gpu, res, "rk.power");
            let mut rec = StepUniform {
                t: t as f32,
                ..bytemuck::Zeroable::zeroed()
            };
            rec.cx[0] = [(eps * sigma) as f32, (1.0 / eps) as f32, 0.0, 0.0];
            let off = e.records.push(&rec)?;
            e.enc
                .clear_buffer(&res.fields.aux, 0, Some(layout::flag_bytes(runs)));
            e.pass(res, "exoderm.rk.jv", &[(jv, &self.jv[p][k % 2], off)]);
            e.enc.copy_buffer_to_buffer(
                &res.fields.aux,
                0,
                &res.flags_staging,
                0,
                layout::flag_bytes(runs),
            );
            e.submit(gpu, res);
            dispatches += 1;
            let bytes = crate::engine::gpu::map_and_read(&gpu.device, &res.flags_staging)?;
            let power: Vec<f64> = RunFlags::split(bytemuck::cast_slice(&bytes))
                .map(|f| f.power())
                .collect();
            let mut settled = k >= 2;
            for r in 0..runs {
                let est = if norm[r] > 0.0 {
                    power[r] / norm[r]
                } else {
                    0.0
                };
                if live[r] {
                    settled &= (est - rho[r]).abs() <= 0.02 * est.max(f64::MIN_POSITIVE);
                }
                rho[r] = est;
            }
            if settled {
                break;
            }
            let m = power
                .iter()
                .zip(live)
                .filter(|(_, l)| **l)
                .fold(0.0, |m, (p, _)| f64::max(m, *p));
            if !(m > 0.0 && m.is_finite()) {
                break;
            }
            sigma = 1.0 / m;
            for r in 0..runs {
                norm[r] = power[r] * sigma;
            }
        }
        Ok((rho, dispatches))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every stage reads the two previous stages and never overwrites what a later stage
    /// still needs, for every stage count the planner uses.
    #[test]
    fn the_rotation_keeps_what_later_stages_read() {
        for s in 2..=crate::engine::plan::MAX_STAGES {
            // Which stage each rotation buffer holds (None: not written yet).
            let mut holds = [None::<u32>; 3];
            for j in 1..=s {
                let (y1, y2, yj) = buffers(combo(j));
                let stage_of = |b: Option<usize>| b.map_or(Some(0), |i| holds[i]);
                assert_eq!(stage_of(y1), Some(j - 1), "s = {s}, stage {j}: Y(j-1)");
                if j >= 2 {
                    assert_eq!(
                        stage_of(y2),
                        Some(j.saturating_sub(2)),
                        "s = {s}, stage {j}: Y(j-2)"
                    );
                }
                holds[yj] = Some(j);
            }
            assert_eq!(holds[last(s)], Some(s), "s = {s}: the result");
        }
    }
}

#[cfg(test)]
mod coefficient_tests {
    use super::*;

    /// Both families: the stage times end at c_s = 1 (the recurrence reproduces y' = 1),
    /// the stability polynomial is first order exact in z and second order (|P(z) − e^z| =
    /// O(z³)), and stays within [−1, 1] on [−β, 0].
    #[test]
    fn stabilized_coefficients_are_second_order_and_stable_on_their_interval() {
        for family in [Family::Rkc, Family::Rkl2] {
            for s in [2u32, 3, 5, 8, 17, 60, 200] {
                let coef = family.coefficients(s);
                let c_s = coef.last().unwrap()[4];
                assert!((c_s - 1.0).abs() < 1e-9, "{family:?} s={s}: c_s = {c_s}");
                // The stability polynomial P(z): the scheme applied to y' = z y, y0 = 1.
                let p = |z: f64| {
                    let (mut y2, mut y1) = (1.0, 1.0);
                    for &[mu, nu, mt, gt, _] in &coef {
                        let yj = mu * y1 + nu * y2 + (1.0 - mu - nu) + mt * z * y1 + gt * z;
                        y2 = y1;
                        y1 = yj;
                    }
                    y1
                };
                for z in [-1e-3, -2e-3] {
                    let err = (p(z) - z.exp()).abs();
                    assert!(
                        err < 2.0 * z.abs().powi(3),
                        "{family:?} s={s}: P({z}) off by {err:e}"
                    );
                }
                let beta = family.beta(s);
                let worst = (0..=2000)
                    .map(|k| p(-beta * k as f64 / 2000.0).abs())
                    .fold(0.0, f64::max);
                assert!(
                    worst <= 1.0 + 1e-9,
                    "{family:?} s={s}: |P| = {worst} on [−β, 0]"
                );
                // β is a bound close to the true edge: RKC's (1 + w0)/w1 is conservative
                // for odd s (its edge is up to 18% further at s = 3), within 1% for large s.
                let beyond = (1..=200)
                    .map(|k| p(-beta * (1.0 + 0.2 * k as f64 / 200.0)).abs())
                    .fold(0.0, f64::max);
                assert!(
                    beyond > 1.0,
                    "{family:?} s={s}: unstable within 20% beyond β"
                );
            }
        }
        // RKC's interval grows as ≈ 0.65 s², RKL2's as ≈ 0.5 s².
        assert!((Family::Rkc.beta(100) / 1e4 - 0.65).abs() < 0.02);
        assert!((Family::Rkl2.beta(100) / 1e4 - 0.5).abs() < 0.02);
    }
}
