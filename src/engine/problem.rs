//! The engine's own input: what to simulate (a [`Model`], a [`Grid`], the [`Numerics`], a
//! seed, per-run parameter values and scheduled [`Event`]s), with no scenario text,
//! classroom explanation, brush, view or output option in it. The scenario layer builds a
//! `Problem` from a file; tests and sweeps may build or edit one directly.
//!
//! A [`BatchKey`] says which problems can share one simulation: it is derived, field by
//! field, from everything that shapes the kernels or the step sequence, with exhaustive
//! destructuring so that a new field cannot be forgotten (it fails to compile until the key
//! takes a position on it).

use std::sync::Arc;

use serde::Serialize;

use crate::model::Model;

/// What happens at one side of the domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Boundary {
    /// Zero normal gradient: nothing crosses the side.
    NoFlux,
    /// The opposite side is the neighbour.
    Periodic,
    /// The value on the side's face is held (the species' `boundary_value`, else `initial`).
    Fixed,
    /// A given inward flux crosses the side (the species' `boundary_flux`, value × mm/h;
    /// 0 when absent, i.e. no flux).
    Flux,
    /// Exchange with an outside value at a rate: inward flux = `exchange_rate` × (`outside`
    /// − value on the face), e.g. the skin surface taking oxygen from the air.
    Robin,
}

impl Boundary {
    /// Code shared with WGSL (`common.wgsl`: keep in sync).
    pub fn code(self) -> u32 {
        match self {
            Boundary::NoFlux => 0,
            Boundary::Periodic => 1,
            Boundary::Fixed => 2,
            Boundary::Flux => 3,
            Boundary::Robin => 4,
        }
    }

    /// Whether the side holds or exchanges a value (tightens the explicit step limit).
    pub fn holds_value(self) -> bool {
        matches!(self, Boundary::Fixed | Boundary::Robin)
    }
}

/// A uniform grid of finite-volume cells; the origin is at the domain's centre.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Grid {
    pub nx: u32,
    pub ny: u32,
    /// Domain size in mm.
    pub extent: [f64; 2],
    /// left (x min), right (x max), bottom (y min), top (y max).
    pub boundary: [Boundary; 4],
}

impl Grid {
    pub fn cells(&self) -> u64 {
        self.nx as u64 * self.ny as u64
    }
    pub fn dx(&self) -> f64 {
        self.extent[0] / self.nx as f64
    }
    pub fn dy(&self) -> f64 {
        self.extent[1] / self.ny as f64
    }
    /// Lower-left corner (mm).
    pub fn origin(&self) -> [f64; 2] {
        [-self.extent[0] / 2.0, -self.extent[1] / 2.0]
    }
    pub fn cell_area(&self) -> f64 {
        self.dx() * self.dy()
    }
}

/// How a step is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    /// Forward Euler for everything in one fused kernel; the step obeys the explicit
    /// diffusion limit (fast species sub-stepped).
    Explicit,
    /// Diffusion by second-order Runge–Kutta–Legendre super-time-stepping (RKL2, stage count
    /// from the stiffness), then the reactions pointwise linearly-implicit in their own
    /// decay (IMEX): neither fast diffusion nor fast decay limits the step.
    Rkl2,
}

/// How to step in time, in engine units (hours).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Numerics {
    pub end: f64,
    /// Hours between outputs.
    pub output_every: f64,
    /// A forced time step; `None` lets the engine choose a stable one.
    pub dt: Option<f64>,
    pub scheme: Scheme,
    /// Relative error allowed per step; `Some` turns on adaptive step control.
    pub tolerance: Option<f64>,
    /// Quasi-steady solves stop when their scaled residual max |D∇²q + R| / (diag · max |q|)
    /// is below this.
    pub qs_tolerance: f64,
}

/// Species amounts a deposit sets or adds (species index, value).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Amounts {
    pub set: Vec<(usize, f64)>,
    pub add: Vec<(usize, f64)>,
}

/// What an event does.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Action {
    /// Inside the circle (centre and radius in mm) set / add species amounts.
    Deposit {
        center: [f64; 2],
        radius: f64,
        amounts: Amounts,
    },
    /// Parameter `param` (an index into the model's params) takes a new value from then on.
    Param { param: usize, value: f64 },
}

/// An intervention at a time (h), applied when the clock reaches `at` (at 0: right after
/// the initial conditions). "Applied" is simply `at <= time`, so a checkpoint needs no
/// extra state to resume with the same events.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    pub at: f64,
    pub action: Action,
}

/// Everything the engine needs to simulate one run.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    /// Equations, shared between the runs of a sweep (the per-run numbers live below).
    pub model: Arc<Model>,
    /// The value of each of the model's params, in model order.
    pub params: Vec<f64>,
    /// Each species' diffusion coefficient (mm²/h), in model order.
    pub diffusion: Vec<f64>,
    pub grid: Grid,
    pub numerics: Numerics,
    /// For `noise` in initial conditions.
    pub seed: u32,
    /// In time order (events at one time apply in list order).
    pub events: Vec<Event>,
}

impl Problem {
    /// A problem with the model's own parameter values and diffusion coefficients.
    pub fn new(model: Arc<Model>, grid: Grid, numerics: Numerics, seed: u32) -> Problem {
        Problem {
            params: model.params.iter().map(|p| p.value).collect(),
            diffusion: model.species.iter().map(|s| s.diffusion).collect(),
            model,
            grid,
            numerics,
            seed,
            events: vec![],
        }
    }

    /// The output times: 0, every `output_every`, and `end`.
    pub fn output_times(&self) -> Vec<f64> {
        let t = &self.numerics;
        let n = (t.end / t.output_every * (1.0 - 1e-12)).ceil() as usize;
        (0..=n)
            .map(|k| (k as f64 * t.output_every).min(t.end))
            .collect()
    }

    /// The key runs must share to be batched into one simulation.
    pub fn batch_key(&self) -> BatchKey {
        BatchKey::of(self)
    }
}

/// Runs can share one simulation when their keys are equal: the same kernels (equations,
/// boundary rules, which species are quasi-steady), grid, clock (end, outputs, event times)
/// and numerics (scheme, forced step, tolerances), and the same diffusion coefficients, so
/// the shared step equals each run's own whenever diffusion (or a forced dt) sets it. Only
/// parameter values, seeds and what events do may differ.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BatchKey {
    /// The model's equations and kernel-shaping choices, as text (params excluded).
    equations: String,
    grid: (u32, u32, [u64; 2], [u32; 4]),
    numerics: (u64, u64, Option<u64>, u32, Option<u64>, u64),
    diffusion: Vec<u64>,
    event_times: Vec<u64>,
}

impl BatchKey {
    fn of(p: &Problem) -> BatchKey {
        let Problem {
            model,
            params: _,
            diffusion,
            grid,
            numerics,
            seed: _,
            events,
        } = p;
        let Grid {
            nx,
            ny,
            extent,
            boundary,
        } = grid;
        let Numerics {
            end,
            output_every,
            dt,
            scheme,
            tolerance,
            qs_tolerance,
        } = numerics;
        let mut times: Vec<u64> = events.iter().map(|e| e.at.to_bits()).collect();
        times.dedup();
        BatchKey {
            equations: equations(model),
            grid: (
                *nx,
                *ny,
                extent.map(f64::to_bits),
                boundary.map(Boundary::code),
            ),
            numerics: (
                end.to_bits(),
                output_every.to_bits(),
                dt.map(f64::to_bits),
                *scheme as u32,
                tolerance.map(f64::to_bits),
                qs_tolerance.to_bits(),
            ),
            diffusion: diffusion.iter().map(|d| d.to_bits()).collect(),
            event_times: times,
        }
    }
}

/// Everything in a model that shapes the generated kernels, as one string.
fn equations(model: &Model) -> String {
    use std::fmt::Write;
    let Model {
        name,
        description: _,
        species,
        params,
        metrics,
    } = model;
    let mut out = format!("{name}\n");
    for s in species {
        let crate::model::Species {
            name,
            diffusion: _,
            initial,
            boundary_value,
            boundary_flux,
            exchange_rate,
            outside,
            reaction,
            units: _,
            range: _,
            description: _,
            quasi_steady,
        } = s;
        let src = |e: &Option<crate::model::Expr>| e.as_ref().map(|e| e.source.clone());
        let _ = writeln!(
            out,
            "species {name} qs={quasi_steady} init={:?} bval={:?} flux={:?} rate={:?} out={:?} react={:?}",
            initial.source,
            src(boundary_value),
            src(boundary_flux),
            src(exchange_rate),
            src(outside),
            src(reaction),
        );
    }
    for p in params {
        let _ = writeln!(out, "param {}", p.name);
    }
    for m in metrics {
        let _ = writeln!(out, "metric {} {:?} {:?}", m.name, m.reduce, m.expr.source);
    }
    out
}
