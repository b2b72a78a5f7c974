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
    /// The default: RKC, damped Runge–Kutta–Chebyshev, second order on the whole
    /// right-hand side, stages from the measured stiffness, error-controlled steps.
    Rkc,
    /// The same machinery with Runge–Kutta–Legendre (RKL2) stages.
    Rkl2,
    /// Forward Euler for everything in one fused kernel (teaching); the step obeys the
    /// explicit diffusion limit (fast species sub-stepped), first order.
    Euler,
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
    /// Euler only: relative error allowed per step, by step doubling (`None`: fixed steps).
    pub tolerance: Option<f64>,
    /// Stabilized schemes: the relative error allowed per unit time over the run (so the
    /// error at the end is about `rtol` relative to each species' scale).
    pub rtol: f64,
    /// Stabilized schemes: the absolute error allowed, in each species' own units (`None`:
    /// rtol × the species' scale — its declared range, else its largest initial value).
    pub atol: Option<f64>,
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
    /// The model's dose `dose` (an index into `model.doses`), evaluated on the GPU.
    Dose { dose: usize },
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

    /// Each species' absolute tolerance for the stabilized schemes, in its own units: the
    /// species' `atol`, else `[time] atol`, else rtol × its scale `scale[s]` (what its errors
    /// are measured against: see [`species_scale`]), the scale no smaller than rtol × the top
    /// of its declared range; for a species not measured yet or zero everywhere, rtol × that
    /// top, else rtol.
    pub fn atol(&self, scale: &[f64]) -> Vec<f64> {
        self.model
            .species
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let declared = s.range.map_or(0.0, |[lo, hi]| lo.abs().max(hi.abs()));
                let measured = scale.get(i).copied().unwrap_or(0.0);
                let scale = [measured, declared, 1.0]
                    .into_iter()
                    .find(|v| *v > 0.0 && v.is_finite())
                    .unwrap_or(1.0)
                    // A declared range bounds how small the scale may get: a species made
                    // from nothing (a compartment down a chain) is otherwise held, in its
                    // first moments, to a fraction of its own tiny values — a tolerance no
                    // step meets.
                    .max(self.numerics.rtol * declared);
                s.atol
                    .or(self.numerics.atol)
                    .unwrap_or((self.numerics.rtol * scale).max(ATOL_FLOOR))
            })
            .collect()
    }

    /// The key runs must share to be batched into one simulation.
    pub fn batch_key(&self) -> BatchKey {
        BatchKey::of(self)
    }
}

/// The smallest default absolute tolerance (in any species' units). f32 keeps full
/// relative precision only down to 1.2e-38 (below: denormals, or zero where the driver
/// flushes them), so a species far down a chain of compartments, at 1e-33 while its
/// tolerance would be a fraction of that, could never pass and would stall the steps.
/// A tolerance given in the scenario (`atol`) is taken as written.
pub const ATOL_FLOOR: f64 = 1e-30;

/// What a species has been seen to do so far (over the grid and over time), from which its
/// error scale follows ([`Seen::scale`]).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, serde::Deserialize)]
pub struct Seen {
    /// Smallest and largest value.
    pub lo: f64,
    pub hi: f64,
    /// Largest |∂Y/∂t| (its units per h).
    pub speed: f64,
}

impl Seen {
    /// What a species' errors are measured against: the range of values it has taken —
    /// what a colour map of the run shows — or, where that is smaller, how far it could move
    /// at its largest speed over the time its errors persist (`memory`, h): in full up to
    /// its magnitude, and beyond it at `rtol` weight. A small pattern on a baseline at rest
    /// (a Turing mode seeded at 1e-4 of its steady state) is then resolved on its own scale;
    /// a field that is uniform but moving (decaying, drifting, relaxing after a change) is
    /// held to its magnitude; one made from nothing to its own growth, but not to the
    /// first moments of it (where that would demand steps without end).
    pub fn scale(&self, memory: f64, rtol: f64) -> f64 {
        let magnitude = self.lo.abs().max(self.hi.abs());
        let reach = memory * self.speed;
        (self.hi - self.lo)
            .max(reach.min(magnitude))
            .max(rtol * reach)
    }

    /// Widened by a new extent and speed.
    pub fn widen(&mut self, lo: f64, hi: f64, speed: f64) {
        self.lo = self.lo.min(lo);
        self.hi = self.hi.max(hi);
        self.speed = self.speed.max(speed);
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
    numerics: NumericsKey,
    diffusion: Vec<u64>,
    event_times: Vec<u64>,
}

/// [`Numerics`] as exact bits, so keys compare and hash without float quirks.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct NumericsKey {
    end: u64,
    output_every: u64,
    dt: Option<u64>,
    scheme: u32,
    tolerance: Option<u64>,
    rtol: u64,
    atol: Option<u64>,
    qs_tolerance: u64,
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
            rtol,
            atol,
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
            numerics: NumericsKey {
                end: end.to_bits(),
                output_every: output_every.to_bits(),
                dt: dt.map(f64::to_bits),
                scheme: *scheme as u32,
                tolerance: tolerance.map(f64::to_bits),
                rtol: rtol.to_bits(),
                atol: atol.map(f64::to_bits),
                qs_tolerance: qs_tolerance.to_bits(),
            },
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
        defines,
        maps,
        doses,
        // Computed on the CPU from each run's own rows: they do not shape the kernels.
        derived: _,
        crossings: _,
        metric_units: _,
    } = model;
    let mut out = format!("{name}\n");
    // A different picture is a different problem (its values are in the shared buffer).
    for m in maps {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        m.values.iter().for_each(|v| v.to_bits().hash(&mut h));
        let _ = writeln!(
            out,
            "map {} {}x{} {:x}",
            m.name,
            m.width,
            m.height,
            h.finish()
        );
    }
    for d in defines {
        let _ = writeln!(out, "define {} = {:?}", d.name, d.expr.source);
    }
    for s in species {
        let crate::model::Species {
            name,
            diffusion: _,
            diffusion_expr,
            taxis,
            velocity,
            initial,
            boundary_value,
            boundary_flux,
            exchange_rate,
            outside,
            reaction,
            units: _,
            range,
            description: _,
            quasi_steady,
            atol,
        } = s;
        let src = |e: &Option<crate::model::Expr>| e.as_ref().map(|e| e.source.clone());
        let _ = writeln!(
            out,
            "species {name} qs={quasi_steady} range={range:?} atol={atol:?} init={:?} bval={:?} flux={:?} rate={:?} out={:?} react={:?} diff={:?} taxis={:?} velocity={:?}",
            initial.source,
            src(boundary_value),
            src(boundary_flux),
            src(exchange_rate),
            src(outside),
            src(reaction),
            src(diffusion_expr),
            taxis
                .iter()
                .map(|t| (t.up.clone(), t.chi.source.clone()))
                .collect::<Vec<_>>(),
            velocity
                .as_ref()
                .map(|v| [v[0].source.clone(), v[1].source.clone()]),
        );
    }
    for p in params {
        let _ = writeln!(out, "param {}", p.name);
    }
    for d in doses {
        let _ = writeln!(
            out,
            "dose {} {} {:?} {:?} {:?}",
            d.label, d.species, d.mode, d.region.source, d.amount.source
        );
    }
    for m in metrics {
        let _ = writeln!(
            out,
            "metric {} {:?} {:?} {:?}",
            m.name,
            m.reduce,
            m.expr.source,
            m.region.as_ref().map(|r| &r.source)
        );
    }
    out
}
