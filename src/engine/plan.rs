//! The step plan: how large a step may be and why (the explicit diffusion limit, the
//! measured reaction rate, a forced dt, RKL2's stage count), and how batched runs share one.

use serde::Serialize;

use super::problem::{Grid, Problem};
use super::schemes::Family;
use crate::error::{Error, Field, Result};
use crate::model::Model;

/// Fraction of the diffusion stability limit used when exoderm chooses the step.
pub const DIFFUSION_SAFETY: f64 = 0.9;
/// dt × (reaction rate) used when exoderm chooses the step (forward Euler is stable to 2).
pub const REACTION_FRACTION: f64 = 0.5;
/// A species is "fast" when its D is at least this multiple of the smallest positive D.
pub const FAST_RATIO: f64 = 10.0;

/// The largest stable forward-Euler step for diffusion coefficient `d` on `grid`: the
/// 5-point Laplacian's spectral radius is at most 4/dx² + 4/dy², so dt·D·(4/dx² + 4/dy²) ≤ 2.
/// A `fixed` side adds one face to the edge cells' diagonal (ghost = 2g − c); keeping the
/// update monotone there (no undershoot below the held value) needs 1/dx² more.
pub fn diffusion_limit(d: f64, grid: &Grid) -> f64 {
    if d <= 0.0 {
        return f64::INFINITY;
    }
    // Robin sides add at most what a fixed side adds to the edge cells' diagonal.
    let fixed_x = grid.boundary[0].holds_value() || grid.boundary[1].holds_value();
    let fixed_y = grid.boundary[2].holds_value() || grid.boundary[3].holds_value();
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

/// How many explicit-limit steps one RKL2 step of `s` stages may span (Meyer, Balsara &
/// Aslam 2014): dt ≤ dt_explicit · (s² + s − 2) / 4.
pub fn rkl2_gain(s: u32) -> f64 {
    let s = s as f64;
    (s * s + s - 2.0) / 4.0
}

/// Most stages per stabilized step (RKC: stable to dt·ρ ≈ 0.65·200² ≈ 2.6·10⁴).
pub const MAX_STAGES: u32 = 200;

/// An upper bound on the diffusion part of ∂F/∂Y's spectral radius (1/h): the largest
/// D (4/dx² + 4/dy²) of a stepped species, one more face on held sides.
pub fn diffusion_radius(p: &Problem) -> f64 {
    p.model
        .species
        .iter()
        .zip(&p.diffusion)
        .filter(|(s, _)| s.is_dynamic())
        .map(|(_, &d)| 2.0 / diffusion_limit(d, &p.grid))
        .filter(|r| r.is_finite())
        .fold(0.0, f64::max)
}

impl StepPlan {
    /// The plan for `p` given the measured reaction rates (Gershgorin bound and its
    /// IMEX-soft part, 1/h): Euler's stability plan, or the stabilized schemes' first step.
    pub fn for_problem(p: &Problem, rate: f64, soft_rate: f64) -> Result<StepPlan> {
        // Variable transport lives in the flux-form right-hand side of the stabilized
        // schemes only: the teaching Euler step and the quasi-steady solve take one D.
        let explicit = Family::of(p.numerics.scheme).is_none();
        if let Some(s) = p
            .model
            .species
            .iter()
            .find(|s| s.has_variable_transport() && (explicit || s.quasi_steady))
        {
            let (why, fix) = if s.quasi_steady {
                (
                    "a quasi-steady species",
                    "give it a constant diffusion, or make it stepped (quasi_steady = false)",
                )
            } else {
                (
                    "scheme `euler`",
                    "use scheme = \"rkc\" (the default) or \"rkl2\", or a constant diffusion",
                )
            };
            return Err(Error::Problem {
                field: Field::Diffusion(s.name.clone()),
                message: format!(
                    "`{}` has diffusion that varies, which {why} cannot take",
                    s.name
                ),
                fix: fix.into(),
            });
        }
        match Family::of(p.numerics.scheme) {
            None => {
                let mut plan =
                    StepPlan::explicit(&p.model, &p.diffusion, &p.grid, p.numerics.dt, rate)?;
                plan.soft_rate = soft_rate;
                Ok(plan)
            }
            Some(family) => {
                // Before the first error estimate: a small step the controller grows (×5 a
                // step) or a forced one; stages from the diffusion bound until ρ is measured.
                let dt = p
                    .numerics
                    .dt
                    .unwrap_or(1e-3 * p.numerics.output_every.min(p.numerics.end));
                let mut plan = StepPlan::stabilized(p, family, diffusion_radius(p), dt)?;
                plan.reaction_rate = rate;
                plan.soft_rate = soft_rate;
                Ok(plan)
            }
        }
    }

    /// A stabilized step of `dt` given the spectral radius `rho` (1/h) of ∂F/∂Y: the fewest
    /// stages whose stability interval covers dt·ρ (with 10% to spare), or, past
    /// [`MAX_STAGES`], the step those allow.
    pub fn stabilized(p: &Problem, family: Family, rho: f64, dt: f64) -> Result<StepPlan> {
        let need = dt * rho / DIFFUSION_SAFETY;
        let mut stages = 2;
        while stages < MAX_STAGES && family.beta(stages) < need {
            stages += 1;
        }
        let (mut dt, mut limited_by) = (dt, "the error estimate".to_string());
        if family.beta(stages) < need {
            let most = DIFFUSION_SAFETY * family.beta(MAX_STAGES) / rho;
            if p.numerics.dt.is_some() {
                return Err(Error::Problem {
                    field: Field::TimeDt,
                    message: format!(
                        "dt = {} would need more than {MAX_STAGES} stages at a stiffness of {rho:.3e}/h",
                        crate::units::format_time(dt)
                    ),
                    fix: format!("use dt ≤ {most:.6e} h, or remove `dt` to let exoderm choose"),
                });
            }
            dt = most;
            limited_by = format!("{MAX_STAGES} stages (stiffness {rho:.3e}/h)");
        } else if p.numerics.dt.is_some() {
            limited_by = "forced by [time] dt".into();
        }
        Ok(StepPlan {
            dt,
            substeps: 1,
            fast: vec![],
            limited_by,
            reaction_rate: 0.0,
            scheme: format!(
                "{}, {stages} stages per step, on the whole right-hand side (diffusion and reactions together, second order); compensated f32 state; error-controlled steps",
                family.name()
            ),
            stages,
            soft_rate: 0.0,
        })
    }

    /// Explicit scheme. `diffusion`: each species' D (mm²/h). `forced`: `[time] dt`.
    /// `rate`: the reaction-rate estimate (1/h).
    pub fn explicit(
        model: &Model,
        diffusion: &[f64],
        grid: &Grid,
        forced: Option<f64>,
        rate: f64,
    ) -> Result<StepPlan> {
        let dynamic = || {
            model
                .species
                .iter()
                .zip(diffusion)
                .filter(|(s, _)| s.is_dynamic())
                .map(|(s, &d)| (s, d))
        };
        let d_min = dynamic()
            .map(|(_, d)| d)
            .filter(|&d| d > 0.0)
            .fold(f64::INFINITY, f64::min);
        let is_fast = |d: f64| d_min.is_finite() && d >= FAST_RATIO * d_min;
        let (slow_limit, slow_name) = dynamic()
            .filter(|(_, d)| !is_fast(*d))
            .map(|(s, d)| (diffusion_limit(d, grid), s.name.clone()))
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
                check_forced(dt, slow_limit, &slow_name, rate, grid)?;
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
        for (s, d) in dynamic().filter(|(_, d)| is_fast(*d)) {
            let lim = DIFFUSION_SAFETY * diffusion_limit(d, grid);
            if dt.is_finite() && dt > lim {
                let m = (dt / lim).ceil();
                if m as usize + 1 > super::records::MAX_RECORDS {
                    return Err(Error::Problem {
                        field: Field::Diffusion(s.name.clone()),
                        message: format!(
                            "species `{}` diffuses so much faster than the others that it would need {m} sub-steps per step",
                            s.name
                        ),
                        fix: "reduce the spread of diffusion coefficients, coarsen the grid, or force a smaller [time] dt".into(),
                    });
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

/// Refuses a forced explicit step beyond the slowest species' diffusion limit or the
/// reactions' (`rate`, 1/h).
fn check_forced(dt: f64, slow_limit: f64, slow_name: &str, rate: f64, grid: &Grid) -> Result<()> {
    if dt > slow_limit {
        return Err(Error::Problem {
            field: Field::TimeDt,
            message: format!(
                "dt = {} is unstable: diffusion of `{slow_name}` on this grid needs dt ≤ {} (dx = {:.4} mm, dy = {:.4} mm)",
                crate::units::format_time(dt),
                crate::units::format_time(slow_limit),
                grid.dx(),
                grid.dy()
            ),
            fix: format!(
                "remove `dt` to let exoderm choose a stable step, or use dt ≤ {slow_limit:.6e} h"
            ),
        });
    }
    if dt * rate > 2.0 {
        return Err(Error::Problem {
            field: Field::TimeDt,
            message: format!(
                "dt = {} is unstable: the reactions change at up to {rate:.3e} per hour, which needs dt ≤ {}",
                crate::units::format_time(dt),
                crate::units::format_time(2.0 / rate)
            ),
            fix: "remove `dt` to let exoderm choose a stable step".into(),
        });
    }
    Ok(())
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

/// The checks a plan makes before any GPU work (a forced dt against the diffusion limit,
/// sub-step and stage counts): what scenario validation runs, so such mistakes are reported
/// with their file and line before anything starts.
pub fn check(p: &Problem) -> Result<()> {
    StepPlan::for_problem(p, 0.0, 0.0).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::problem::{Boundary, Numerics};
    use crate::model::{Expr, Species};

    fn problem(forced: Option<f64>) -> Problem {
        let species = |name: &str, d: f64| Species {
            name: name.into(),
            diffusion: d,
            initial: Expr::builtin("test", "initial", "0.0"),
            boundary_value: None,
            boundary_flux: None,
            exchange_rate: None,
            outside: None,
            reaction: None,
            units: String::new(),
            range: None,
            description: String::new(),
            quasi_steady: false,
            diffusion_expr: None,
            taxis: vec![],
            velocity: None,
            atol: None,
        };
        let model = Model {
            name: "test".into(),
            description: String::new(),
            species: vec![species("a", 0.1), species("o2", 5.0)],
            params: vec![],
            metrics: vec![],
            // No defines, maps, doses or derived metrics.
            ..Default::default()
        };
        let grid = Grid {
            nx: 100,
            ny: 50,
            extent: [10.0, 5.0],
            boundary: [Boundary::NoFlux; 4],
        };
        let numerics = Numerics {
            end: 1.0,
            output_every: 0.1,
            dt: forced,
            scheme: crate::engine::problem::Scheme::Euler,
            tolerance: None,
            rtol: 1e-3,
            atol: None,
            qs_tolerance: 1e-6,
        };
        Problem::new(std::sync::Arc::new(model), grid, numerics, 0)
    }

    fn explicit(p: &Problem, rate: f64) -> Result<StepPlan> {
        StepPlan::explicit(&p.model, &p.diffusion, &p.grid, p.numerics.dt, rate)
    }

    #[test]
    fn fast_species_are_substepped() {
        let plan = explicit(&problem(None), 0.0).unwrap();
        let dx2 = 0.01;
        let limit_a = 1.0 / (0.1 * (2.0 / dx2 + 2.0 / dx2));
        assert!((plan.dt - 0.9 * limit_a).abs() < 1e-12, "{plan:?}");
        assert_eq!(plan.fast, vec!["o2".to_string()]);
        // o2 is 50x faster: needs ceil(50) sub-steps.
        assert!((50..=51).contains(&plan.substeps), "{plan:?}");
    }

    #[test]
    fn unstable_forced_dt_is_rejected_with_the_limit() {
        let Err(Error::Problem {
            field,
            message,
            fix,
        }) = check(&problem(Some(1.0)))
        else {
            panic!("a 1 h step is far beyond the diffusion limit")
        };
        assert_eq!(field, Field::TimeDt);
        assert!(message.contains("diffusion of `a`"), "{message}");
        assert!(fix.contains("remove `dt`"), "{fix}");
    }

    #[test]
    fn reaction_rate_limits_the_step() {
        let plan = explicit(&problem(None), 1000.0).unwrap();
        assert_eq!(plan.dt, 0.5 / 1000.0);
        assert!(plan.limited_by.contains("reaction"));
    }
}
