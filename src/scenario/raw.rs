//! The scenario file exactly as written: serde structs that reject unknown keys and keep
//! spans, so validation can name the line of every mistake.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    pub model: Option<Spanned<RawModel>>,
    pub seed: Option<Spanned<i64>>,
    pub grid: Option<Spanned<RawGrid>>,
    pub time: Option<Spanned<RawTime>>,
    #[serde(default)]
    pub species: Vec<Spanned<RawSpecies>>,
    #[serde(default)]
    pub reactions: BTreeMap<Spanned<String>, Spanned<String>>,
    #[serde(default)]
    pub params: BTreeMap<Spanned<String>, Spanned<toml::Value>>,
    #[serde(default)]
    pub metrics: BTreeMap<Spanned<String>, Spanned<toml::Value>>,
    /// Named sub-expressions: `name = "expression"`.
    #[serde(default)]
    pub define: BTreeMap<Spanned<String>, Spanned<String>>,
    /// First times a metric reaches a value.
    #[serde(default)]
    pub crossings: BTreeMap<Spanned<String>, Spanned<toml::Value>>,
    /// Pictures and arrays by name: `name = "file.png"` or `{ file, range }`.
    #[serde(default)]
    pub maps: BTreeMap<Spanned<String>, Spanned<toml::Value>>,
    pub output: Option<Spanned<RawOutput>>,
    pub explain: Option<Spanned<RawExplain>>,
    pub view: Option<Spanned<RawView>>,
    #[serde(default)]
    pub event: Vec<Spanned<RawEvent>>,
}

/// Classroom text shown beside the view.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawExplain {
    pub title: Option<String>,
    pub what: Option<String>,
    #[serde(rename = "try")]
    pub try_: Option<String>,
    pub watch: Option<String>,
    pub source: Option<String>,
}

/// How the app shows the scenario.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawView {
    pub species: Option<Spanned<String>>,
    pub colormap: Option<Spanned<String>>,
    pub time_unit: Option<Spanned<String>>,
    pub closure_of: Option<Spanned<String>>,
    pub compare: Option<Spanned<RawCompare>>,
    pub skin: Option<Spanned<RawSkin>>,
    #[serde(default)]
    pub brush: Vec<Spanned<RawBrush>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCompare {
    pub param: Spanned<String>,
    pub value: Spanned<f64>,
    pub a: Option<String>,
    pub b: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSkin {
    pub epidermis: Option<Spanned<String>>,
    pub scab: Option<Spanned<String>>,
    pub inflammation: Option<Spanned<String>>,
    pub collagen: Option<Spanned<String>>,
}

/// Species values inside a circle: `set` replaces, `add` adds.
pub type RawAmounts = BTreeMap<Spanned<String>, Spanned<f64>>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBrush {
    pub name: Spanned<String>,
    pub doc: Option<String>,
    #[serde(default)]
    pub set: RawAmounts,
    #[serde(default)]
    pub add: RawAmounts,
}

/// Amounts by species: numbers, or expressions (strings).
pub type RawDoseAmounts = BTreeMap<Spanned<String>, Spanned<toml::Value>>;

/// A scheduled intervention: a dose in a region (circle, rectangle, line or an expression),
/// or a parameter change; once or repeated.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEvent {
    pub at: Spanned<toml::Value>,
    pub center: Option<Spanned<Vec<toml::Value>>>,
    pub radius: Option<Spanned<toml::Value>>,
    /// [x0, y0, x1, y1].
    pub rectangle: Option<Spanned<Vec<toml::Value>>>,
    /// [[xa, ya], [xb, yb]] with `width`.
    pub line: Option<Spanned<Vec<Vec<toml::Value>>>>,
    pub width: Option<Spanned<toml::Value>>,
    /// A region as a true/false expression.
    #[serde(rename = "where")]
    pub region: Option<Spanned<String>>,
    #[serde(default)]
    pub set: RawDoseAmounts,
    #[serde(default)]
    pub add: RawDoseAmounts,
    /// Totals (units × mm²) spread evenly over the region.
    #[serde(default)]
    pub total: RawDoseAmounts,
    pub param: Option<Spanned<String>>,
    pub value: Option<Spanned<f64>>,
    /// Repeats: every this long, `count` times in all, or until this time.
    pub every: Option<Spanned<toml::Value>>,
    pub count: Option<Spanned<i64>>,
    pub until: Option<Spanned<toml::Value>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawModel {
    pub builtin: Option<Spanned<String>>,
    pub name: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGrid {
    pub size: Spanned<Vec<i64>>,
    pub extent: Spanned<Vec<toml::Value>>,
    pub boundary: Option<Spanned<toml::Value>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTime {
    pub end: Spanned<toml::Value>,
    pub output_every: Option<Spanned<toml::Value>>,
    pub dt: Option<Spanned<toml::Value>>,
    pub scheme: Option<Spanned<String>>,
    pub tolerance: Option<Spanned<f64>>,
    pub rtol: Option<Spanned<f64>>,
    pub atol: Option<Spanned<f64>>,
    pub qs_tolerance: Option<Spanned<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSpecies {
    pub name: Spanned<String>,
    pub diffusion: Option<Spanned<toml::Value>>,
    pub initial: Option<Spanned<String>>,
    pub boundary_value: Option<Spanned<String>>,
    pub boundary_flux: Option<Spanned<String>>,
    pub exchange_rate: Option<Spanned<String>>,
    pub outside: Option<Spanned<String>>,
    pub quasi_steady: Option<bool>,
    pub units: Option<String>,
    pub range: Option<Spanned<Vec<f64>>>,
    pub description: Option<String>,
    pub atol: Option<Spanned<f64>>,
    /// Movement up the gradient of another species: one table { up, chi } or a list of
    /// them (read by hand: spans do not survive serde's untagged enums).
    pub taxis: Option<Spanned<toml::Value>>,
    /// A drift: [vx, vy] expressions (mm/h).
    pub velocity: Option<Spanned<Vec<Spanned<String>>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOutput {
    pub png: Option<bool>,
    pub npy: Option<bool>,
    pub annotate: Option<bool>,
    pub plots: Option<bool>,
    pub report: Option<bool>,
    pub colormap: Option<Spanned<String>>,
}
