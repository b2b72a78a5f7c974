//! Choosing the time step. The user never has to: the step comes from the explicit
//! stability limits of diffusion (per species) and of the reactions (a Jacobian estimate
//! measured on the GPU), and species that diffuse ≥10× faster than the slowest take
//! diffusion sub-steps instead of dragging every species down to their step.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::model::Model;
use crate::scenario::{Boundary, Grid};

/// Fraction of the diffusion stability limit used when exoderm chooses the step.
pub const DIFFUSION_SAFETY: f64 = 0.9;
/// dt × (reaction rate) used when exoderm chooses the step (forward Euler is stable to 2).
pub const REACTION_FRACTION: f64 = 0.5;
/// A species is "fast" when its D is at least this multiple of the smallest positive D.
pub const FAST_RATIO: f64 = 10.0;
/// Most dispatch records one batch may use (sizes the step-uniform buffer).
pub const MAX_RECORDS: usize = 4096;

/// The largest stable forward-Euler step for diffusion coefficient `d` on `grid`: the
/// 5-point Laplacian's spectral radius is at most 4/dx² + 4/dy², so dt·D·(4/dx² + 4/dy²) ≤ 2.
/// A `fixed` side adds one face to the edge cells' diagonal (ghost = 2g − c); keeping the
/// update monotone there (no undershoot below the held value) needs 1/dx² more.
pub fn diffusion_limit(d: f64, grid: &Grid) -> f64 {
    if d <= 0.0 {
        return f64::INFINITY;
    }
    // Robin sides add at most what a fixed side adds to the edge cells' diagonal.
    let held = |b: Boundary| matches!(b, Boundary::Fixed | Boundary::Robin);
    let fixed_x = held(grid.boundary[0]) || held(grid.boundary[1]);
    let fixed_y = held(grid.boundary[2]) || held(grid.boundary[3]);
    let ax = (2.0 + if fixed_x { 1.0 } else { 0.0 }) / (grid.dx() * grid.dx());
    let ay = (2.0 + if fixed_y { 1.0 } else { 0.0 }) / (grid.dy() * grid.dy());
    1.0 / (d * (ax + ay))
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct StepPlan {
    /// Largest main step (h); each output interval is split into equal steps ≤ this.
    pub dt: f64,
    /// Diffusion sub-steps per main step for the fast species (1 = none).
    pub substeps: u32,
    /// Species that take the sub-steps.
    pub fast: Vec<String>,
    /// Which constraint sets `dt`.
    pub limited_by: String,
    /// Reaction-rate estimate (1/h): largest row sum of |∂R/∂c| seen so far.
    pub reaction_rate: f64,
    /// The scheme in words, for run.json.
    pub scheme: String,
    /// RKL2 stages per step for the diffusion (0: explicit scheme).
    #[serde(default)]
    pub stages: u32,
    /// The part of the reaction rate an IMEX step must still resolve (growth and couplings).
    #[serde(default)]
    pub soft_rate: f64,
}

/// Most RKL2 stages per step (stable to (s² + s − 2)/4 ≈ 10⁴ explicit steps).
pub const MAX_STAGES: u32 = 200;

/// How many explicit-limit steps one RKL2 step of `s` stages may span (Meyer, Balsara &
/// Aslam 2014): dt ≤ dt_explicit · (s² + s − 2) / 4.
pub fn rkl2_gain(s: u32) -> f64 {
    let s = s as f64;
    (s * s + s - 2.0) / 4.0
}

/// RKL2 stage coefficients for `s` stages: per stage j = 1..=s, (μ, ν, μ̃, γ̃) in
/// Yj = μ Y(j−1) + ν Y(j−2) + (1 − μ − ν) Y0 + μ̃ τ L(Y(j−1)) + γ̃ τ L(Y0).
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

impl StepPlan {
    /// The plan for `s` given the measured reaction rates (full and IMEX-soft, 1/h).
    pub fn for_scenario(
        s: &crate::scenario::Scenario,
        rate: f64,
        soft_rate: f64,
    ) -> Result<StepPlan> {
        match s.time.scheme {
            crate::scenario::Scheme::Explicit => {
                let mut p = StepPlan::new(&s.model, &s.grid, s.time.dt, &s.time.dt_at, rate)?;
                p.soft_rate = soft_rate;
                Ok(p)
            }
            crate::scenario::Scheme::Rkl2 => StepPlan::rkl2(s, rate, soft_rate),
        }
    }

    /// RKL2 diffusion + IMEX reactions: the step is set by the reactions' growth and
    /// couplings (not by decay) and the output interval; diffusion takes as many stages as
    /// that step needs.
    pub fn rkl2(s: &crate::scenario::Scenario, rate: f64, soft_rate: f64) -> Result<StepPlan> {
        let d_max = s
            .model
            .species
            .iter()
            .filter(|sp| sp.is_dynamic())
            .map(|sp| sp.diffusion)
            .fold(0.0, f64::max);
        let explicit = diffusion_limit(d_max, &s.grid);
        let react = if soft_rate > 0.0 {
            REACTION_FRACTION / soft_rate
        } else {
            f64::INFINITY
        };
        let (mut dt, mut limited_by) = match s.time.dt {
            Some(dt) => {
                if dt * soft_rate > 2.0 {
                    return Err(Error::scenario(
                        s.time.dt_at.clone(),
                        format!(
                            "dt = {} is unstable: the reactions grow or couple at up to {soft_rate:.3e} per hour",
                            crate::units::format_time(dt)
                        ),
                        "remove `dt` to let exoderm choose a stable step",
                    ));
                }
                (dt, "forced by [time] dt".to_string())
            }
            None if react < s.time.output_every => (
                react,
                format!(
                    "reaction growth/coupling rate {soft_rate:.3e}/h (dt·rate = {REACTION_FRACTION})"
                ),
            ),
            None => (s.time.output_every, "the output interval".to_string()),
        };
        let most = DIFFUSION_SAFETY * explicit * rkl2_gain(MAX_STAGES);
        if dt > most {
            if s.time.dt.is_some() {
                return Err(Error::scenario(
                    s.time.dt_at.clone(),
                    format!(
                        "dt = {} would need more than {MAX_STAGES} RKL2 stages",
                        crate::units::format_time(dt)
                    ),
                    format!("use dt ≤ {most:.6e} h or remove `dt`"),
                ));
            }
            dt = most;
            limited_by = format!("{MAX_STAGES} RKL2 stages");
        }
        let mut stages = 2;
        while stages < MAX_STAGES && dt > DIFFUSION_SAFETY * explicit * rkl2_gain(stages) {
            stages += 1;
        }
        Ok(StepPlan {
            dt,
            substeps: 1,
            fast: vec![],
            limited_by,
            reaction_rate: rate,
            scheme: format!(
                "RKL2 super-time-stepping for diffusion ({stages} stages per step), then reactions linearly implicit in their own decay (IMEX, Lie splitting)"
            ),
            stages,
            soft_rate,
        })
    }

    /// Explicit scheme. `forced`: the scenario's `[time] dt`. `rate`: the reaction-rate estimate (1/h).
    pub fn new(
        model: &Model,
        grid: &Grid,
        forced: Option<f64>,
        forced_at: &crate::error::Location,
        rate: f64,
    ) -> Result<StepPlan> {
        let d_min = model
            .species
            .iter()
            .filter(|s| s.is_dynamic())
            .map(|s| s.diffusion)
            .filter(|&d| d > 0.0)
            .fold(f64::INFINITY, f64::min);
        let is_fast = |d: f64| d_min.is_finite() && d >= FAST_RATIO * d_min;
        let (slow_limit, slow_name) = model
            .species
            .iter()
            .filter(|s| s.is_dynamic() && !is_fast(s.diffusion))
            .map(|s| (diffusion_limit(s.diffusion, grid), s.name.clone()))
            .fold((f64::INFINITY, String::new()), |a, b| {
                if b.0 < a.0 { b } else { a }
            });
        let react_limit = if rate > 0.0 {
            REACTION_FRACTION / rate
        } else {
            f64::INFINITY
        };

        let (dt, limited_by) = match forced {
            Some(dt) => {
                if dt > slow_limit {
                    return Err(Error::scenario(
                        forced_at.clone(),
                        format!(
                            "dt = {} is unstable: diffusion of `{slow_name}` on this grid needs dt ≤ {} (dx = {:.4} mm, dy = {:.4} mm)",
                            crate::units::format_time(dt),
                            crate::units::format_time(slow_limit),
                            grid.dx(),
                            grid.dy()
                        ),
                        format!(
                            "remove `dt` to let exoderm choose a stable step, or use dt ≤ {slow_limit:.6e} h"
                        ),
                    ));
                }
                if dt * rate > 2.0 {
                    return Err(Error::scenario(
                        forced_at.clone(),
                        format!(
                            "dt = {} is unstable: the reactions change at up to {rate:.3e} per hour, which needs dt ≤ {}",
                            crate::units::format_time(dt),
                            crate::units::format_time(2.0 / rate)
                        ),
                        "remove `dt` to let exoderm choose a stable step".to_string(),
                    ));
                }
                (dt, "forced by [time] dt".to_string())
            }
            None => {
                let diff = DIFFUSION_SAFETY * slow_limit;
                if diff.is_infinite() && react_limit.is_infinite() {
                    // Nothing moves and nothing reacts: any step is exact; keep outputs cheap.
                    (
                        f64::INFINITY,
                        "nothing (no diffusion or reaction)".to_string(),
                    )
                } else if diff <= react_limit {
                    (
                        diff,
                        format!(
                            "diffusion of `{slow_name}` ({:.0}% of the explicit limit)",
                            DIFFUSION_SAFETY * 100.0
                        ),
                    )
                } else {
                    (
                        react_limit,
                        format!("reaction rate {rate:.3e}/h (dt·rate = {REACTION_FRACTION})"),
                    )
                }
            }
        };

        // Fast species: as many diffusion sub-steps as their own limit needs.
        let mut substeps = 1u32;
        let mut fast = vec![];
        for s in model
            .species
            .iter()
            .filter(|s| s.is_dynamic() && is_fast(s.diffusion))
        {
            let lim = DIFFUSION_SAFETY * diffusion_limit(s.diffusion, grid);
            if dt.is_finite() && dt > lim {
                let m = (dt / lim).ceil();
                if m as usize + 1 > MAX_RECORDS {
                    return Err(Error::scenario(
                        forced_at.clone(),
                        format!(
                            "species `{}` diffuses so much faster than the others that it would need {m} sub-steps per step",
                            s.name
                        ),
                        "reduce the spread of diffusion coefficients, coarsen the grid, or force a smaller [time] dt",
                    ));
                }
                substeps = substeps.max(m as u32);
            }
            fast.push(s.name.clone());
        }
        if substeps == 1 {
            fast.clear();
        }
        Ok(StepPlan {
            dt,
            substeps,
            scheme: scheme(&fast, substeps),
            fast,
            limited_by,
            reaction_rate: rate,
            stages: 0,
            soft_rate: 0.0,
        })
    }

    /// The plan a batch of runs shares: the smallest step any needs, the most sub-steps, and
    /// every species any run sub-steps.
    pub fn combine(plans: &[&StepPlan]) -> Option<StepPlan> {
        let first = plans.iter().min_by(|a, b| a.dt.total_cmp(&b.dt))?;
        let mut fast: Vec<String> = vec![];
        for p in plans {
            for f in &p.fast {
                if !fast.contains(f) {
                    fast.push(f.clone());
                }
            }
        }
        let substeps = plans.iter().map(|p| p.substeps).max().unwrap_or(1);
        Some(StepPlan {
            dt: first.dt,
            substeps,
            scheme: if first.stages > 0 {
                first.scheme.clone()
            } else {
                scheme(&fast, substeps)
            },
            fast,
            limited_by: first.limited_by.clone(),
            reaction_rate: plans.iter().map(|p| p.reaction_rate).fold(0.0, f64::max),
            stages: plans.iter().map(|p| p.stages).max().unwrap_or(0),
            soft_rate: plans.iter().map(|p| p.soft_rate).fold(0.0, f64::max),
        })
    }
}

fn scheme(fast: &[String], substeps: u32) -> String {
    if fast.is_empty() {
        "forward Euler, 5-point Laplacian (finite volumes), all species together".to_string()
    } else {
        format!(
            "forward Euler, 5-point Laplacian; {} take {substeps} diffusion sub-steps per step (Lie splitting), the others one",
            fast.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Scenario;

    fn scenario(extra: &str) -> Scenario {
        let text = format!(
            "[grid]\nsize = [100, 50]\nextent = [\"10 mm\", \"5 mm\"]\n[time]\nend = \"1 h\"\n{extra}\n\
             [[species]]\nname = \"a\"\ndiffusion = 0.1\ninitial = \"0.0\"\n\
             [[species]]\nname = \"o2\"\ndiffusion = 5.0\ninitial = \"1.0\"\n"
        );
        Scenario::parse(&text, "test.toml").unwrap()
    }

    #[test]
    fn fast_species_are_substepped() {
        let s = scenario("");
        let plan = StepPlan::new(&s.model, &s.grid, None, &s.time.dt_at, 0.0).unwrap();
        let dx2 = 0.01;
        let limit_a = 1.0 / (0.1 * (2.0 / dx2 + 2.0 / dx2));
        assert!((plan.dt - 0.9 * limit_a).abs() < 1e-12, "{plan:?}");
        assert_eq!(plan.fast, vec!["o2".to_string()]);
        // o2 is 50x faster: needs ceil(50) sub-steps.
        assert!((50..=51).contains(&plan.substeps), "{plan:?}");
    }

    #[test]
    fn unstable_forced_dt_is_rejected_with_the_limit() {
        let s = scenario("dt = \"1 h\"");
        let e = StepPlan::new(&s.model, &s.grid, s.time.dt, &s.time.dt_at, 0.0)
            .unwrap_err()
            .to_string();
        assert!(e.contains("test.toml:6: `time.dt`"), "{e}");
        assert!(e.contains("diffusion of `a`"), "{e}");
        assert!(e.contains("remove `dt`"), "{e}");
    }

    #[test]
    fn reaction_rate_limits_the_step() {
        let s = scenario("");
        let plan = StepPlan::new(&s.model, &s.grid, None, &s.time.dt_at, 1000.0).unwrap();
        assert_eq!(plan.dt, 0.5 / 1000.0);
        assert!(plan.limited_by.contains("reaction"));
    }
}
