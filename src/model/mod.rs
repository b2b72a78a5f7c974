//! The biology, as data: species, parameters, reaction terms and metrics.
//!
//! A [`Model`] is what the engine compiles to WGSL. Built-in models (one file each) and custom
//! models written in a scenario file end up in the same shape, so the engine, the CLI and the
//! GUI never special-case a model. Every expression keeps the [`Location`] it was written at,
//! so a WGSL error can point back to the scenario line (or the built-in's source).

pub mod derived;
pub mod eval;
pub mod expr;
mod fisher;
mod gray_scott;
mod heat;

use serde::Serialize;

use crate::error::Location;

/// The most species a model may have: eight vec4<f32> planes, all packed into one buffer
/// per set (so the storage bindings per stage stay within the portable 8), and one bit each
/// in the u32 masks of the checks.
pub const MAX_SPECIES: usize = 32;
/// Parameters live in the per-run storage block (64 vec4s).
pub const MAX_PARAMS: usize = 256;
/// Model-defined metrics, reduced from one vec4 plane per 4 metrics.
pub const MAX_METRICS: usize = 16;

/// A WGSL f32 expression and where it was written.
#[derive(Debug, Clone, Serialize)]
pub struct Expr {
    pub source: String,
    #[serde(skip)]
    pub at: Location,
}

impl Expr {
    pub fn new(source: impl Into<String>, at: Location) -> Self {
        Expr {
            source: source.into(),
            at,
        }
    }

    /// An expression defined in exoderm's own source (a built-in model).
    pub fn builtin(model: &str, field: impl Into<String>, source: impl Into<String>) -> Self {
        Expr::new(
            source,
            Location {
                file: format!("built-in model `{model}` (src/model/{model}.rs)"),
                line: None,
                field: field.into(),
            },
        )
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Species {
    pub name: String,
    /// mm²/h (0 when `diffusion_expr` is set).
    pub diffusion: f64,
    /// Diffusion that varies: an f32 expression of x, y, t, the species and params (mm²/h),
    /// evaluated at cell centres and combined at each face by the harmonic mean.
    #[serde(default)]
    pub diffusion_expr: Option<Expr>,
    /// Movement up other species' gradients (chemotaxis, haptotaxis).
    #[serde(default)]
    pub taxis: Vec<Taxis>,
    /// A drift velocity [vx, vy] (mm/h), expressions of x, y, t, the species and params.
    #[serde(default)]
    pub velocity: Option<[Expr; 2]>,
    /// f32 expression of x, y (mm), t (h), `noise` (uniform in [0,1) per cell) and params.
    pub initial: Expr,
    /// Value held on `fixed` sides; defaults to `initial` evaluated at the current t.
    pub boundary_value: Option<Expr>,
    /// Inward flux (value × mm/h) on `flux` sides; f32 expression of x, y, t, params.
    pub boundary_flux: Option<Expr>,
    /// Exchange rate (mm/h) on `robin` sides.
    pub exchange_rate: Option<Expr>,
    /// Outside value on `robin` sides; defaults to `boundary_value`, else `initial` at t.
    pub outside: Option<Expr>,
    /// Rate of change per hour from reactions; `None` means pure diffusion.
    pub reaction: Option<Expr>,
    /// Display units of the concentration (free text, e.g. "cells/mm^2").
    pub units: String,
    /// Colour-map range for snapshots; `None` takes the run's own min/max.
    pub range: Option<[f64; 2]>,
    pub description: String,
    /// Solved each step as D ∇²c + R = 0 (fast species such as oxygen or short-lived
    /// cytokines) instead of being stepped in time.
    #[serde(default)]
    pub quasi_steady: bool,
    /// The absolute error the stabilized schemes allow in this species (its units);
    /// `None`: [time] atol, else rtol × its scale.
    #[serde(default)]
    pub atol: Option<f64>,
}

impl Species {
    /// Stepped in time (diffusion limits, rate probe, sub-steps apply).
    pub fn is_dynamic(&self) -> bool {
        !self.quasi_steady
    }

    /// Moves by more than constant diffusion (a diffusion expression): only the
    /// stabilized schemes' flux-form right-hand side handles it.
    pub fn has_variable_transport(&self) -> bool {
        self.diffusion_expr.is_some() || self.advects()
    }

    /// Carried by a velocity (taxis or drift): upwinded fluxes.
    pub fn advects(&self) -> bool {
        !self.taxis.is_empty() || self.velocity.is_some()
    }
}

/// Taxis up the gradient of `up`: flux = chi × (this species) × ∇up, upwinded.
#[derive(Debug, Clone, Serialize)]
pub struct Taxis {
    pub up: String,
    /// Sensitivity (mm²/h per unit of `up`): an expression of x, y, t, species, params.
    pub chi: Expr,
}

#[derive(Debug, Clone, Serialize)]
pub struct Param {
    pub name: String,
    pub value: f64,
    /// Sensible slider/sweep range.
    pub range: Option<[f64; 2]>,
    pub units: String,
    /// Meaning, and what goes wrong at the extremes.
    pub doc: String,
    /// Where the number comes from (a `../shared/science/SOURCES.md` section, a paper).
    pub source: String,
}

/// How a metric's per-cell values are reduced over the domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Reduce {
    /// Sum × cell area (units × mm²): e.g. the area where a condition holds.
    Integral,
    Mean,
    Min,
    Max,
}

impl Reduce {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "integral" => Reduce::Integral,
            "mean" => Reduce::Mean,
            "min" => Reduce::Min,
            "max" => Reduce::Max,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Metric {
    pub name: String,
    /// f32 expression of the species, x, y, t and params, evaluated per cell.
    pub expr: Expr,
    pub reduce: Reduce,
    /// Only the cells where this bool expression holds (`where = "bed > 0.5"`).
    #[serde(default)]
    pub region: Option<Expr>,
}

/// A named sub-expression (`[define]`), visible by name in every expression that can see
/// what it uses: one that uses species (directly or through another define) only where
/// species are visible.
#[derive(Debug, Clone, Serialize)]
pub struct Define {
    pub name: String,
    pub expr: Expr,
    /// Uses a species, directly or through another define.
    pub uses_species: bool,
}

/// A picture read once — a wound outline, a layered section, a treatment pattern — spread
/// over the whole domain and visible by name in every expression (as the value at the cell
/// holding the point), without using a species slot.
#[derive(Debug, Clone, Serialize)]
pub struct Map {
    pub name: String,
    /// Where it came from, for reports.
    pub source: String,
    pub width: usize,
    pub height: usize,
    /// Row-major, row 0 at the top of the picture (y max); already scaled.
    #[serde(skip)]
    pub values: std::sync::Arc<Vec<f32>>,
}

/// How a dose's amount lands in its region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DoseMode {
    /// The species takes the amount (per cell).
    Set,
    /// The amount (per cell) is added.
    Add,
    /// The amount is a total (units × mm²) spread evenly over the region's area, so a dose
    /// is a dose whatever the wound's size.
    Total,
}

/// A dose of one species in a region, both expressions evaluated on the GPU with each
/// run's own params and the state at the time (a param change reaches the dose, and a
/// region such as "only the open wound" follows the tissue).
#[derive(Debug, Clone, Serialize)]
pub struct Dose {
    /// Where it was written, e.g. "event[2].add.exo".
    pub label: String,
    pub species: usize,
    pub mode: DoseMode,
    /// A WGSL bool expression of x, y, t, species, params, maps and defines.
    pub region: Expr,
    /// An f32 expression of the same.
    pub amount: Expr,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Model {
    /// `heat`, `fisher`, ... for built-ins; `custom` for a scenario's own equations.
    pub name: String,
    pub description: String,
    pub species: Vec<Species>,
    pub params: Vec<Param>,
    pub metrics: Vec<Metric>,
    /// In dependency order: each uses only those before it.
    pub defines: Vec<Define>,
    pub maps: Vec<Map>,
    /// What `Action::Dose` events apply (index into this list).
    pub doses: Vec<Dose>,
    /// Metrics computed from the others (columns after `metrics`).
    pub derived: Vec<derived::Derived>,
    /// First times a metric reaches a value (run.json).
    pub crossings: Vec<derived::Crossing>,
    /// Units of a metric (`units = "mm²"`), by name: the y-axis of its plot.
    pub metric_units: std::collections::BTreeMap<String, String>,
}

impl Model {
    /// Vec4 planes needed to hold the species.
    pub fn planes(&self) -> usize {
        self.species.len().div_ceil(4)
    }

    /// Some species' transport varies in space, time or state.
    pub fn has_variable_transport(&self) -> bool {
        self.species.iter().any(Species::has_variable_transport)
    }

    /// Some species is carried by a velocity.
    pub fn advects(&self) -> bool {
        self.species.iter().any(Species::advects)
    }

    pub fn species_index(&self, name: &str) -> Option<usize> {
        self.species.iter().position(|s| s.name == name)
    }

    pub fn species_names(&self) -> Vec<&str> {
        self.species.iter().map(|s| s.name.as_str()).collect()
    }
    /// Every metrics column: the GPU's, then the derived ones.
    pub fn metric_names(&self) -> Vec<String> {
        self.metrics
            .iter()
            .map(|m| m.name.clone())
            .chain(self.derived.iter().map(|d| d.name().to_string()))
            .collect()
    }

    pub fn map_index(&self, name: &str) -> Option<usize> {
        self.maps.iter().position(|m| m.name == name)
    }

    pub fn define_index(&self, name: &str) -> Option<usize> {
        self.defines.iter().position(|d| d.name == name)
    }

    pub fn param_index(&self, name: &str) -> Option<usize> {
        self.params.iter().position(|p| p.name == name)
    }
}

/// The built-in models' names, for messages and `exoderm presets`.
pub const BUILTINS: &[&str] = &["heat", "fisher", "gray_scott"];

/// The built-in model called `name`, with its default parameters and initial condition.
pub fn builtin(name: &str) -> Option<Model> {
    match name {
        "heat" => Some(heat::model()),
        "fisher" => Some(fisher::model()),
        "gray_scott" => Some(gray_scott::model()),
        _ => None,
    }
}

/// A reaction term in f64: (species values, params, rates out).
pub type ReactionF64 = fn(&[f64], &[f64], &mut [f64]);

/// f64 twins of the built-in reaction terms, written by hand in Rust (not generated from the
/// WGSL), so tests can check the GPU path against an independent implementation.
/// `c` holds the species values in model order, `p` the parameters in model order.
pub fn builtin_reaction_f64(name: &str) -> Option<ReactionF64> {
    match name {
        "heat" => Some(heat::react_f64),
        "fisher" => Some(fisher::react_f64),
        "gray_scott" => Some(gray_scott::react_f64),
        _ => None,
    }
}

pub(crate) fn param(
    name: &str,
    value: f64,
    range: [f64; 2],
    units: &str,
    doc: &str,
    source: &str,
) -> Param {
    Param {
        name: name.into(),
        value,
        range: Some(range),
        units: units.into(),
        doc: doc.into(),
        source: source.into(),
    }
}
