//! Scenario files: TOML in, a validated [`Scenario`] out — units resolved, the model built
//! (a built-in with overrides, or the file's own equations) and every expression checked.
//! Every error names the file, the line, the field and the fix.

mod display;
pub mod maps;
mod raw;

pub use crate::engine::problem::{
    Action, Amounts, Boundary, Event, Grid, Numerics, Problem, Scheme,
};
pub use display::{Brush, Compare, Display, Explain, Skin, SkinRoles, TimeUnit, colormap_name};

use std::path::Path;
use std::sync::Arc;

use serde::Serialize;
use toml::Spanned;

use crate::error::{Error, Field, Location, Result};
use crate::model::{
    self, Define, Expr, MAX_METRICS, MAX_PARAMS, MAX_SPECIES, Metric, Model, Param, Reduce, Species,
};
use crate::units::{self, Dimension};
use raw::RawScenario;

/// Reads a boundary rule as written (with its aliases).
fn parse_boundary(s: &str) -> Option<Boundary> {
    Some(match s {
        "no-flux" | "noflux" | "neumann" => Boundary::NoFlux,
        "periodic" => Boundary::Periodic,
        "fixed" | "dirichlet" => Boundary::Fixed,
        "flux" => Boundary::Flux,
        "robin" | "exchange" => Boundary::Robin,
        _ => return None,
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct OutputSpec {
    pub png: bool,
    pub npy: bool,
    pub colormap: String,
    /// Snapshots with title, time, colour bar and scale bar (`[output] annotate`, default
    /// on); off: one pixel per cell, for image analysis.
    pub annotate: bool,
    /// What annotated snapshots are titled and which time unit they read.
    pub title: String,
    pub time_unit: display::TimeUnit,
    /// metrics.png (`[output] plots`, default on).
    pub plots: bool,
    /// index.html, the run's report (`[output] report`, default on).
    pub report: bool,
    /// What the plots and the report take from the scenario's view and model file.
    #[serde(skip)]
    pub context: ReportContext,
}

/// What a run's pictures and report say beyond the numbers.
#[derive(Debug, Clone, Default)]
pub struct ReportContext {
    pub explain: Option<Explain>,
    /// The metric whose fall is "closure %" (`[view] closure_of`).
    pub closure_of: Option<usize>,
    /// Each parameter's value in the model it builds on (None: the scenario's own).
    pub defaults: Vec<Option<f64>>,
    /// `[view.skin]`: the realistic skin view, drawn headless as `skin_<k>.png`.
    pub skin: Option<SkinRoles>,
    pub file: String,
}

pub use crate::colormap::COLORMAPS;

/// The default relative tolerance of the error-controlled schemes: about 0.1% error at the
/// end of a run, relative to each species' scale (see the README's numerics section).
pub const DEFAULT_RTOL: f64 = 1e-3;
/// The tightest relative tolerance accepted (f32 evaluates the right-hand side to about
/// 1e-7 relative).
pub const MIN_RTOL: f64 = 1e-6;

/// Where the fields that engine errors can name were written.
#[derive(Debug, Clone)]
pub struct Locations {
    pub grid_size: Location,
    /// `[time] dt` (the file itself when no dt was forced).
    pub time_dt: Location,
}

#[derive(Debug, Clone, Serialize)]
pub struct Scenario {
    /// The file it came from (or `preset:NAME`).
    pub file: String,
    pub seed: u32,
    pub grid: Grid,
    pub time: Numerics,
    pub model: Arc<Model>,
    pub output: OutputSpec,
    /// How the app shows it: classroom text, first species, brushes, skin view.
    pub display: Display,
    /// Scheduled interventions, in time order.
    pub events: Vec<Event>,
    /// The TOML text it was parsed from (saved beside a run's outputs, so it can resume).
    #[serde(skip)]
    pub source: String,
    #[serde(skip)]
    pub at: Locations,
}

/// Side B's one difference from side A in a comparison: parameter `param` (model order)
/// is `value`; `a` and `b` label the sides.
#[derive(Debug, Clone, PartialEq)]
pub struct Difference {
    pub param: usize,
    pub value: f64,
    pub a: String,
    pub b: String,
}

impl Scenario {
    /// The comparison the scenario suggests (its `[view] compare`), else doubling the first
    /// parameter; the app and `exoderm run --compare` both start from it.
    pub fn default_difference(&self) -> Option<Difference> {
        if let Some(c) = &self.display.compare
            && let Some(param) = self.model.param_index(&c.param)
        {
            return Some(Difference {
                param,
                value: c.value,
                a: c.a.clone(),
                b: c.b.clone(),
            });
        }
        self.model.params.first().map(|p| Difference {
            param: 0,
            value: p.value * 2.0,
            a: format!("{} = {}", p.name, p.value),
            b: format!("{} = {}", p.name, p.value * 2.0),
        })
    }

    /// The scenario re-parsed with `events` appended as `[[event]]` tables (so a saved
    /// copy reproduces it).
    pub fn with_events(&self, events: &[Event]) -> Result<Scenario> {
        if events.is_empty() {
            return Ok(self.clone());
        }
        let mut text = self.source.clone();
        for e in events {
            text += &e.to_toml(&self.model);
        }
        Scenario::parse(&text, &self.file)
    }

    /// Side B of a comparison: this scenario with `d`'s parameter set at time 0.
    pub fn side_b(&self, d: &Difference) -> Result<Scenario> {
        self.with_events(&[Event {
            at: 0.0,
            action: Action::Param {
                param: d.param,
                value: d.value,
            },
        }])
    }

    /// Reads and validates a scenario file.
    pub fn load(path: &Path) -> Result<Scenario> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io("cannot read scenario", path, e))?;
        Scenario::parse(&text, &path.display().to_string())
    }

    /// Validates scenario text; `file` names it in error messages.
    pub fn parse(text: &str, file: &str) -> Result<Scenario> {
        let ctx = Ctx { file, text };
        let raw: RawScenario = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| ctx.line(s.start));
            let msg = e.message().trim().to_string();
            Error::scenario(
                Location {
                    file: file.into(),
                    line,
                    field: "(file)".into(),
                },
                msg,
                "see assets/examples/*.toml for the scenario format (keys: model, seed, grid, time, species, reactions, params, define, maps, metrics, output, explain, view, event)",
            )
        })?;
        ctx.build(raw)
    }

    /// The engine's input for this scenario (the model is shared, not copied).
    pub fn problem(&self) -> Problem {
        Problem {
            model: self.model.clone(),
            params: self.model.params.iter().map(|p| p.value).collect(),
            diffusion: self.model.species.iter().map(|s| s.diffusion).collect(),
            grid: self.grid.clone(),
            numerics: self.time.clone(),
            seed: self.seed,
            events: self.events.clone(),
        }
    }

    /// Where `field` was written in this scenario's file.
    pub fn location(&self, field: &Field) -> Location {
        let species = |name: &str, f: &dyn Fn(&crate::model::Species) -> Option<Location>| {
            self.model
                .species
                .iter()
                .find(|s| s.name == name)
                .and_then(f)
                .unwrap_or_else(|| Location {
                    file: self.file.clone(),
                    line: None,
                    field: field.to_string(),
                })
        };
        match field {
            Field::GridSize => self.at.grid_size.clone(),
            Field::TimeDt => self.at.time_dt.clone(),
            Field::Initial(s) => species(s, &|sp| Some(sp.initial.at.clone())),
            Field::Reaction(s) => species(s, &|sp| sp.reaction.as_ref().map(|r| r.at.clone())),
            Field::Diffusion(s) => {
                species(s, &|sp| sp.diffusion_expr.as_ref().map(|d| d.at.clone()))
            }
        }
    }

    /// An engine error about one of the problem's fields, pointed at where the field was
    /// written (other errors pass through).
    pub fn locate(&self, e: Error) -> Error {
        match e {
            Error::Problem {
                field,
                message,
                fix,
            } => Error::Scenario {
                at: self.location(&field),
                message,
                fix,
            },
            other => other,
        }
    }
}

/// The 1-based line of byte `offset` in `text` (for spans from the TOML parser).
pub fn line_at(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

struct Ctx<'a> {
    file: &'a str,
    text: &'a str,
}

impl Ctx<'_> {
    fn line(&self, offset: usize) -> usize {
        line_at(self.text, offset)
    }

    fn at<T>(&self, field: impl Into<String>, spanned: &Spanned<T>) -> Location {
        Location {
            file: self.file.into(),
            line: Some(self.line(spanned.span().start)),
            field: field.into(),
        }
    }

    fn at_file(&self, field: impl Into<String>) -> Location {
        Location {
            file: self.file.into(),
            line: None,
            field: field.into(),
        }
    }

    fn quantity(&self, field: &str, v: &Spanned<toml::Value>, dim: Dimension) -> Result<f64> {
        let at = self.at(field, v);
        let value = match v.get_ref() {
            toml::Value::Integer(i) => *i as f64,
            toml::Value::Float(f) => *f,
            toml::Value::String(s) => units::parse(s, dim)
                .map_err(|e| Error::scenario(at.clone(), e.0, "write a number with a unit"))?,
            other => {
                return Err(Error::scenario(
                    at,
                    format!(
                        "expected a number or a quantity string, found {}",
                        other.type_str()
                    ),
                    "write e.g. \"2 h\", \"0.5 mm\" or \"0.2 mm^2/h\"",
                ));
            }
        };
        if !value.is_finite() {
            return Err(Error::scenario(
                at,
                "the value is not finite",
                "write a finite number",
            ));
        }
        Ok(value)
    }

    fn build(&self, raw: RawScenario) -> Result<Scenario> {
        // A built-in model shipped as a scenario file: parsed on its own (its errors point
        // into it), then this file overrides and adds to it.
        let base = self.base_scenario(&raw)?;
        // In file order: the grid and time sections come first in every example.
        let (grid, grid_size) = match (&raw.grid, &base) {
            (None, Some(b)) => (b.grid.clone(), b.at.grid_size.clone()),
            _ => self.grid(&raw)?,
        };
        let (time, time_dt) = match (&raw.time, &base) {
            (None, Some(b)) => (b.time.clone(), b.at.time_dt.clone()),
            _ => self.time(&raw)?,
        };
        let base_params: Vec<(String, f64)> = match &base {
            Some(b) => b
                .model
                .params
                .iter()
                .map(|p| (p.name.clone(), p.value))
                .collect(),
            None => raw
                .model
                .as_ref()
                .and_then(|m| m.get_ref().builtin.as_ref())
                .and_then(|b| model::builtin(b.get_ref()))
                .map(|m| m.params.iter().map(|p| (p.name.clone(), p.value)).collect())
                .unwrap_or_default(),
        };
        let mut model = match &base {
            Some(b) => {
                let mut m = (*b.model).clone();
                if let Some(rm) = raw.model.as_ref().map(|m| m.get_ref()) {
                    if let Some(n) = &rm.name {
                        m.name = n.clone();
                    }
                    if let Some(d) = &rm.description {
                        m.description = d.clone();
                    }
                }
                m
            }
            None => self.base_model(&raw)?,
        };
        self.apply_species(&raw, &mut model)?;
        self.apply_reactions(&raw, &mut model)?;
        self.apply_params(&raw, &mut model)?;
        self.apply_maps(&raw, &mut model, &grid)?;
        self.apply_defines(&raw, &mut model)?;
        self.apply_metrics(&raw, &mut model)?;
        if model.species.is_empty() {
            return Err(Error::scenario(
                self.at_file("species"),
                "the model has no species",
                "add a [[species]] table with name, diffusion and initial, or set [model] builtin = \"fisher\"",
            ));
        }
        let events = self.events(&raw, &mut model, time.end, &grid)?;
        model::expr::check_model(&model)?;
        let seed = match &raw.seed {
            None => 0,
            Some(s) => u32::try_from(*s.get_ref()).map_err(|_| {
                Error::scenario(
                    self.at("seed", s),
                    "seed must be a whole number from 0 to 4294967295",
                    "write e.g. seed = 42",
                )
            })?,
        };
        let mut output = self.output(&raw)?;
        let mut display = self.display(&raw, &model, time.end)?;
        let mut events = events;
        if let Some(b) = &base {
            // The model file's view and classroom text unless this file has its own; its
            // events (e.g. the wound's cut) first.
            if raw.view.is_none() {
                let explain = display.explain.take();
                display = b.display.clone();
                display.explain = explain.or(display.explain.take());
            }
            if raw.explain.is_none() && display.explain.is_none() {
                display.explain = b.display.explain.clone();
            }
            let mut all = b.events.clone();
            all.append(&mut events);
            all.sort_by(|a, b| a.at.total_cmp(&b.at));
            events = all;
        }
        output.title = display
            .explain
            .as_ref()
            .map_or_else(|| model.name.clone(), |e| e.title.clone());
        output.time_unit = display.time_unit;
        output.context = ReportContext {
            explain: display.explain.clone(),
            closure_of: display.closure_of,
            defaults: model
                .params
                .iter()
                .map(|p| base_params.iter().find(|(n, _)| *n == p.name).map(|b| b.1))
                .collect(),
            file: self.file.to_string(),
            skin: display.skin.map(|sk| {
                let roles = [sk.epidermis, sk.scab, sk.inflammation, sk.collagen];
                SkinRoles {
                    species: roles,
                    full: roles.map(|r| {
                        r.and_then(|s| model.species[s].range)
                            .map_or(1.0, |range| range[1] as f32)
                    }),
                }
            }),
        };
        let scenario = Scenario {
            file: self.file.into(),
            seed,
            grid,
            time,
            model: Arc::new(model),
            output,
            display,
            events,
            source: self.text.into(),
            at: Locations { grid_size, time_dt },
        };
        // What the step plan can refuse without a GPU (a forced dt beyond the diffusion
        // limit, too many sub-steps or stages) is refused here, with the line.
        crate::engine::plan::check(&scenario.problem()).map_err(|e| scenario.locate(e))?;
        Ok(scenario)
    }

    fn unknown_builtin(&self, b: &Spanned<String>) -> Error {
        Error::scenario(
            self.at("model.builtin", b),
            format!("there is no built-in model `{}`", b.get_ref()),
            format!(
                "use one of: {}; or leave `builtin` out and write your own [[species]] and [reactions]",
                crate::presets::builtin_names().join(", ")
            ),
        )
    }

    /// The built-in model file `[model] builtin` names, parsed, if it is one.
    fn base_scenario(&self, raw: &RawScenario) -> Result<Option<Scenario>> {
        let Some(b) = raw
            .model
            .as_ref()
            .and_then(|m| m.get_ref().builtin.as_ref())
        else {
            return Ok(None);
        };
        let Some((path, text)) = crate::presets::model_file(b.get_ref()) else {
            if model::builtin(b.get_ref()).is_none() {
                return Err(self.unknown_builtin(b));
            }
            return Ok(None);
        };
        if self.file == path {
            return Err(Error::scenario(
                self.at("model.builtin", b),
                format!("the built-in model `{}` names itself", b.get_ref()),
                "a model file builds on a code model (heat, fisher, gray_scott) or on none",
            ));
        }
        Scenario::parse(text, path).map(Some)
    }

    fn base_model(&self, raw: &RawScenario) -> Result<Model> {
        let rm = raw.model.as_ref().map(|m| m.get_ref());
        let mut model = match rm.and_then(|m| m.builtin.as_ref()) {
            Some(b) => model::builtin(b.get_ref()).ok_or_else(|| self.unknown_builtin(b))?,
            None => Model {
                name: "custom".into(),
                description: String::new(),
                species: vec![],
                params: vec![],
                metrics: vec![],
                // No defines, maps, doses or derived metrics.
                ..Default::default()
            },
        };
        if let Some(m) = rm {
            if let Some(n) = &m.name {
                model.name = n.clone();
            }
            if let Some(d) = &m.description {
                model.description = d.clone();
            }
        }
        Ok(model)
    }

    fn apply_species(&self, raw: &RawScenario, model: &mut Model) -> Result<()> {
        // A code model (with its f64 twin) keeps its species; a model file may gain more.
        let builtin = raw
            .model
            .as_ref()
            .and_then(|m| m.get_ref().builtin.as_ref())
            .is_some_and(|b| model::builtin(b.get_ref()).is_some());
        // Every species name, the model's and the file's (taxis may point at a later one).
        let mut species_names: Vec<String> = model.species.iter().map(|s| s.name.clone()).collect();
        for rs in &raw.species {
            let n = rs.get_ref().name.get_ref();
            if !species_names.contains(n) {
                species_names.push(n.clone());
            }
        }
        for (i, rs) in raw.species.iter().enumerate() {
            let rs = rs.get_ref();
            let name = rs.name.get_ref().clone();
            let field = |f: &str| format!("species[{i}].{f}");
            let name_at = self.at(field("name"), &rs.name);
            model::expr::check_name(&name, &name_at)?;
            let idx = match model.species_index(&name) {
                Some(idx) => idx,
                None if builtin => {
                    let names: Vec<_> = model.species.iter().map(|s| s.name.as_str()).collect();
                    return Err(Error::scenario(
                        name_at,
                        format!(
                            "the built-in model `{}` has no species `{name}`",
                            model.name
                        ),
                        format!(
                            "override one of its species ({}), or drop [model] builtin to write a custom model",
                            names.join(", ")
                        ),
                    ));
                }
                None => {
                    if model.species.len() == MAX_SPECIES {
                        return Err(Error::scenario(
                            name_at,
                            format!("more than {MAX_SPECIES} species"),
                            "merge or drop species",
                        ));
                    }
                    let Some(initial) = &rs.initial else {
                        return Err(Error::scenario(
                            name_at,
                            format!("species `{name}` has no `initial`"),
                            "add e.g. initial = \"0.0\" (any WGSL expression of x, y, t, noise and params)",
                        ));
                    };
                    model.species.push(Species {
                        name: name.clone(),
                        diffusion: 0.0,
                        initial: Expr::new(
                            initial.get_ref().clone(),
                            self.at(field("initial"), initial),
                        ),
                        boundary_value: None,
                        boundary_flux: None,
                        exchange_rate: None,
                        outside: None,
                        reaction: None,
                        units: "a.u.".into(),
                        range: None,
                        description: String::new(),
                        quasi_steady: false,
                        diffusion_expr: None,
                        taxis: vec![],
                        velocity: None,
                        atol: None,
                    });
                    model.species.len() - 1
                }
            };
            if raw.species[..i]
                .iter()
                .any(|o| o.get_ref().name.get_ref() == &name)
            {
                return Err(Error::scenario(
                    name_at,
                    format!("species `{name}` is defined twice"),
                    "keep one [[species]] table per name",
                ));
            }
            let s = &mut model.species[idx];
            if let Some(d) = &rs.diffusion {
                // A string that is not "<number> <unit>" is an expression: diffusion that
                // varies with x, y, t, the species and params.
                if let toml::Value::String(text) = d.get_ref()
                    && !looks_like_quantity(text)
                {
                    s.diffusion = 0.0;
                    s.diffusion_expr =
                        Some(Expr::new(text.clone(), self.at(field("diffusion"), d)));
                } else {
                    s.diffusion_expr = None;
                    let v = self.quantity(&field("diffusion"), d, Dimension::Diffusion)?;
                    if v < 0.0 {
                        return Err(Error::scenario(
                            self.at(field("diffusion"), d),
                            format!("diffusion of `{name}` is negative ({v} mm^2/h)"),
                            "diffusion must be >= 0; use 0 for a species that does not move (e.g. collagen)",
                        ));
                    }
                    s.diffusion = v;
                }
            }
            if let Some(init) = &rs.initial {
                s.initial = Expr::new(init.get_ref().clone(), self.at(field("initial"), init));
            }
            for (raw, slot, name) in [
                (&rs.boundary_value, &mut s.boundary_value, "boundary_value"),
                (&rs.boundary_flux, &mut s.boundary_flux, "boundary_flux"),
                (&rs.exchange_rate, &mut s.exchange_rate, "exchange_rate"),
                (&rs.outside, &mut s.outside, "outside"),
            ] {
                if let Some(b) = raw {
                    *slot = Some(Expr::new(b.get_ref().clone(), self.at(field(name), b)));
                }
            }
            if let Some(tx) = &rs.taxis {
                let at = self.at(field("taxis"), tx);
                let fix = "write taxis = { up = \"c\", chi = \"chi0\" } (flux = chi × this species × ∇c), or a list of such tables";
                let tables: Vec<&toml::value::Table> = match tx.get_ref() {
                    toml::Value::Table(t) => vec![t],
                    toml::Value::Array(a) => a
                        .iter()
                        .map(|v| v.as_table())
                        .collect::<Option<Vec<_>>>()
                        .ok_or_else(|| Error::scenario(at.clone(), "taxis must be tables", fix))?,
                    _ => return Err(Error::scenario(at, "taxis must be a table", fix)),
                };
                s.taxis.clear();
                for (m, t) in tables.into_iter().enumerate() {
                    if let Some(k) = t.keys().find(|k| *k != "up" && *k != "chi") {
                        return Err(Error::scenario(
                            at.clone(),
                            format!("unknown taxis key `{k}`"),
                            fix,
                        ));
                    }
                    let text = |key: &str| {
                        t.get(key).and_then(|v| v.as_str()).ok_or_else(|| {
                            Error::scenario(
                                at.clone(),
                                format!("taxis[{m}] needs `{key}` as a string"),
                                fix,
                            )
                        })
                    };
                    let (up, chi) = (text("up")?, text("chi")?);
                    let known = species_names.iter().any(|n| n == up);
                    if !known || up == name {
                        return Err(Error::scenario(
                            at.clone(),
                            if known {
                                format!("`{name}` cannot move up its own gradient")
                            } else {
                                format!("taxis toward `{up}`, which is not a species")
                            },
                            format!(
                                "`up` names the attractant, another species: one of {}",
                                species_names.join(", ")
                            ),
                        ));
                    }
                    s.taxis.push(model::Taxis {
                        up: up.to_string(),
                        chi: Expr::new(chi, at.clone()),
                    });
                }
            }
            if let Some(v) = &rs.velocity {
                let [vx, vy] = v.get_ref().as_slice() else {
                    return Err(Error::scenario(
                        self.at(field("velocity"), v),
                        format!("velocity of `{name}` needs two components"),
                        "write velocity = [\"vx\", \"vy\"] (expressions in mm/h)",
                    ));
                };
                s.velocity = Some([
                    Expr::new(vx.get_ref().clone(), self.at(field("velocity[0]"), vx)),
                    Expr::new(vy.get_ref().clone(), self.at(field("velocity[1]"), vy)),
                ]);
            }
            if let Some(q) = rs.quasi_steady {
                s.quasi_steady = q;
            }
            if let Some(a) = &rs.atol {
                if !(*a.get_ref() > 0.0 && a.get_ref().is_finite()) {
                    return Err(Error::scenario(
                        self.at(field("atol"), a),
                        format!("atol of `{name}` must be a positive number"),
                        "write e.g. atol = 1e-4 (in the species' own units)",
                    ));
                }
                s.atol = Some(*a.get_ref());
            }
            if let Some(u) = &rs.units {
                s.units = u.clone();
            }
            if let Some(d) = &rs.description {
                s.description = d.clone();
            }
            if let Some(r) = &rs.range {
                s.range = Some(self.range(&field("range"), r)?);
            }
        }
        Ok(())
    }

    fn range(&self, field: &str, r: &Spanned<Vec<f64>>) -> Result<[f64; 2]> {
        match r.get_ref().as_slice() {
            [lo, hi] if lo < hi && lo.is_finite() && hi.is_finite() => Ok([*lo, *hi]),
            _ => Err(Error::scenario(
                self.at(field, r),
                "a range must be two finite numbers [low, high] with low < high",
                "write e.g. range = [0.0, 1.0]",
            )),
        }
    }

    fn apply_reactions(&self, raw: &RawScenario, model: &mut Model) -> Result<()> {
        for (name, expr) in &raw.reactions {
            let field = format!("reactions.{}", name.get_ref());
            let Some(idx) = model.species_index(name.get_ref()) else {
                let names: Vec<_> = model.species.iter().map(|s| s.name.as_str()).collect();
                return Err(Error::scenario(
                    self.at(&field, name),
                    format!("`{}` is not a species", name.get_ref()),
                    format!(
                        "reactions are keyed by species name; the species are: {}",
                        names.join(", ")
                    ),
                ));
            };
            model.species[idx].reaction =
                Some(Expr::new(expr.get_ref().clone(), self.at(&field, expr)));
        }
        Ok(())
    }

    fn apply_params(&self, raw: &RawScenario, model: &mut Model) -> Result<()> {
        for (name, v) in &raw.params {
            let n = name.get_ref();
            let field = format!("params.{n}");
            let at = self.at(&field, v);
            model::expr::check_name(n, &self.at(&field, name))?;
            if model.species_index(n).is_some() {
                return Err(Error::scenario(
                    at,
                    format!("`{n}` is both a species and a param"),
                    "rename the param",
                ));
            }
            // A number, or a quantity with a unit ("0.5 /d", "30 min") converted once to
            // exoderm's units (mm, h) so no expression needs a hand-written `/ 24.0`.
            let mut dim = None;
            let mut number = |v: &toml::Value, what: &str| -> Result<f64> {
                match v {
                    toml::Value::Integer(i) => Ok(*i as f64),
                    toml::Value::Float(f) if f.is_finite() => Ok(*f),
                    toml::Value::String(text) => {
                        let (value, d) = units::parse_any(text).map_err(|e| {
                            Error::scenario(
                                at.clone(),
                                format!("{what}: {}", e.0),
                                format!("write e.g. {n} = 1.0 or {n} = \"0.5 /d\""),
                            )
                        })?;
                        if let Some(d) = d {
                            if dim.is_some_and(|seen| seen != d) {
                                return Err(Error::scenario(
                                    at.clone(),
                                    format!(
                                        "{what}: \"{text}\" is not in the same kind of unit as the rest of param `{n}`"
                                    ),
                                    "give value and range in units of one kind (e.g. all times or all rates)",
                                ));
                            }
                            dim = Some(d);
                        }
                        if value.is_finite() {
                            Ok(value)
                        } else {
                            Err(Error::scenario(
                                at.clone(),
                                format!("{what} must be finite"),
                                format!("write e.g. {n} = 1.0"),
                            ))
                        }
                    }
                    _ => Err(Error::scenario(
                        at.clone(),
                        format!("{what} must be a finite number or a quantity string"),
                        format!("write e.g. {n} = 1.0 or {n} = \"0.5 /d\""),
                    )),
                }
            };
            let mut p = model
                .param_index(n)
                .map(|i| model.params[i].clone())
                .unwrap_or(Param {
                    name: n.clone(),
                    value: 0.0,
                    range: None,
                    units: String::new(),
                    doc: String::new(),
                    source: "scenario file".into(),
                });
            match v.get_ref() {
                toml::Value::Table(t) => {
                    for (k, val) in t {
                        match k.as_str() {
                            "value" => p.value = number(val, "`value`")?,
                            "range" => {
                                let arr = val
                                    .as_array()
                                    .map(|a| {
                                        a.iter()
                                            .map(|x| number(x, "`range`"))
                                            .collect::<Result<Vec<_>>>()
                                    })
                                    .transpose()?;
                                match arr.as_deref() {
                                    Some([lo, hi]) if lo < hi => p.range = Some([*lo, *hi]),
                                    _ => {
                                        return Err(Error::scenario(
                                            at,
                                            "`range` must be [low, high] with low < high",
                                            "write e.g. range = [0.0, 2.0]",
                                        ));
                                    }
                                }
                            }
                            "units" | "doc" | "source" => {
                                let s = val
                                    .as_str()
                                    .ok_or_else(|| {
                                        Error::scenario(
                                            at.clone(),
                                            format!("`{k}` must be a string"),
                                            "quote it",
                                        )
                                    })?
                                    .to_string();
                                match k.as_str() {
                                    "units" => p.units = s,
                                    "doc" => p.doc = s,
                                    _ => p.source = s,
                                }
                            }
                            other => {
                                return Err(Error::scenario(
                                    at,
                                    format!("unknown key `{other}` in param `{n}`"),
                                    "a param is a number or a table with value, range, units, doc, source",
                                ));
                            }
                        }
                    }
                    if !t.contains_key("value") && model.param_index(n).is_none() {
                        return Err(Error::scenario(
                            at,
                            format!("param `{n}` has no `value`"),
                            format!("add value = ..., e.g. {n} = {{ value = 1.0 }}"),
                        ));
                    }
                }
                other => p.value = number(other, &format!("param `{n}`"))?,
            }
            if let Some(d) = dim {
                p.units = d.internal().to_string();
            }
            match model.param_index(n) {
                Some(i) => model.params[i] = p,
                None => {
                    if model.params.len() == MAX_PARAMS {
                        return Err(Error::scenario(
                            at,
                            format!("more than {MAX_PARAMS} params"),
                            "drop unused params",
                        ));
                    }
                    model.params.push(p);
                }
            }
        }
        Ok(())
    }

    /// `[maps]`: pictures and arrays read once (see `maps`), by name.
    fn apply_maps(
        &self,
        raw: &RawScenario,
        model: &mut Model,
        grid: &crate::engine::Grid,
    ) -> Result<()> {
        for (name, v) in &raw.maps {
            let n = name.get_ref();
            let field = format!("maps.{n}");
            let at = self.at(&field, v);
            model::expr::check_name(n, &self.at(&field, name))?;
            if model.species_index(n).is_some() || model.param_index(n).is_some() {
                return Err(Error::scenario(
                    self.at(&field, name),
                    format!("`{n}` is both a map and a species or param"),
                    "rename the map",
                ));
            }
            let fix = "write name = \"picture.png\" (or .npy), or name = { file = \"picture.png\", range = [0.0, 1.0] }";
            let (file, range) = match v.get_ref() {
                toml::Value::String(f) => (f.clone(), None),
                toml::Value::Table(t) => {
                    if let Some(k) = t.keys().find(|k| *k != "file" && *k != "range") {
                        return Err(Error::scenario(at, format!("unknown map key `{k}`"), fix));
                    }
                    let Some(f) = t.get("file").and_then(|f| f.as_str()) else {
                        return Err(Error::scenario(at, "the map has no `file`", fix));
                    };
                    let range = match t.get("range") {
                        None => None,
                        Some(r) => {
                            let nums: Option<Vec<f64>> = r.as_array().and_then(|a| {
                                a.iter()
                                    .map(|x| x.as_float().or(x.as_integer().map(|i| i as f64)))
                                    .collect()
                            });
                            match nums.as_deref() {
                                Some(&[lo, hi]) if lo.is_finite() && hi.is_finite() => {
                                    Some([lo, hi])
                                }
                                _ => {
                                    return Err(Error::scenario(
                                        at,
                                        "a map's range must be two numbers [black, white]",
                                        fix,
                                    ));
                                }
                            }
                        }
                    };
                    (f.to_string(), range)
                }
                _ => return Err(Error::scenario(at, "a map is a file name or a table", fix)),
            };
            let map = maps::load(n, self.file, &file, range).map_err(|e| {
                Error::scenario(
                    at.clone(),
                    e,
                    "give a path relative to the scenario file, to a .png or a 2-D .npy",
                )
            })?;
            // A picture is spread over the whole domain: a different shape would stretch it.
            let picture = map.width as f64 / map.height as f64;
            let domain = grid.extent[0] / grid.extent[1];
            if (picture / domain - 1.0).abs() > 0.02 {
                return Err(Error::scenario(
                    at,
                    format!(
                        "`{file}` is {}×{} pixels (aspect {picture:.3}), but the domain is {} mm × {} mm (aspect {domain:.3}); it would be stretched",
                        map.width, map.height, grid.extent[0], grid.extent[1]
                    ),
                    "crop or pad the picture to the domain's shape, or change [grid] extent",
                ));
            }
            match model.map_index(n) {
                Some(i) => model.maps[i] = map,
                None => model.maps.push(map),
            }
        }
        Ok(())
    }

    /// `[define]`: named sub-expressions, put in dependency order (a cycle is an error that
    /// names it), each marked if it uses species (directly or through another define).
    fn apply_defines(&self, raw: &RawScenario, model: &mut Model) -> Result<()> {
        let mut defs: Vec<Define> = model.defines.clone();
        for (name, e) in &raw.define {
            let n = name.get_ref();
            let field = format!("define.{n}");
            model::expr::check_name(n, &self.at(&field, name))?;
            let clash = if model.species_index(n).is_some() {
                Some("a species")
            } else if model.param_index(n).is_some() {
                Some("a param")
            } else if model.map_index(n).is_some() {
                Some("a map")
            } else {
                None
            };
            if let Some(what) = clash {
                return Err(Error::scenario(
                    self.at(&field, name),
                    format!("`{n}` is both {what} and a define"),
                    "rename the define",
                ));
            }
            let d = Define {
                name: n.clone(),
                expr: Expr::new(e.get_ref().clone(), self.at(&field, e)),
                uses_species: false,
            };
            match defs.iter().position(|x| &x.name == n) {
                Some(i) => defs[i] = d,
                None => defs.push(d),
            }
        }
        // Depth-first topological order; `path` is the chain being visited.
        let deps: Vec<Vec<usize>> = defs
            .iter()
            .map(|d| {
                model::expr::identifiers(&d.expr.source)
                    .into_iter()
                    .filter_map(|n| defs.iter().position(|x| x.name == n))
                    .collect()
            })
            .collect();
        let mut order = vec![];
        let mut state = vec![0u8; defs.len()]; // 0 new, 1 on the path, 2 done
        fn visit(
            d: usize,
            deps: &[Vec<usize>],
            state: &mut [u8],
            path: &mut Vec<usize>,
            order: &mut Vec<usize>,
        ) -> std::result::Result<(), Vec<usize>> {
            match state[d] {
                2 => return Ok(()),
                1 => {
                    let from = path.iter().position(|&p| p == d).unwrap_or(0);
                    let mut cycle = path[from..].to_vec();
                    cycle.push(d);
                    return Err(cycle);
                }
                _ => {}
            }
            state[d] = 1;
            path.push(d);
            for &e in &deps[d] {
                visit(e, deps, state, path, order)?;
            }
            path.pop();
            state[d] = 2;
            order.push(d);
            Ok(())
        }
        for d in 0..defs.len() {
            visit(d, &deps, &mut state, &mut vec![], &mut order).map_err(|cycle| {
                let names: Vec<&str> = cycle.iter().map(|&i| defs[i].name.as_str()).collect();
                Error::scenario(
                    defs[cycle[0]].expr.at.clone(),
                    format!("the defines use each other in a circle: {}", names.join(" → ")),
                    "write one of them without the others (a define may use only defines that do not use it back)",
                )
            })?;
        }
        let mut sorted: Vec<Define> = Vec::with_capacity(defs.len());
        for &i in &order {
            let mut d = defs[i].clone();
            d.uses_species = model::expr::identifiers(&d.expr.source)
                .into_iter()
                .any(|n| {
                    model.species_index(n).is_some()
                        || sorted.iter().any(|s| s.name == n && s.uses_species)
                });
            sorted.push(d);
        }
        model.defines = sorted;
        Ok(())
    }

    /// `[metrics]`: per-cell expressions reduced on the GPU (optionally over a region), and
    /// metrics derived from them on the CPU (formulas, time integrals); then `[crossings]`.
    fn apply_metrics(&self, raw: &RawScenario, model: &mut Model) -> Result<()> {
        let fix = "write name = \"expression\" (integrated over the domain), name = { expr = \"...\", reduce = \"integral\" | \"mean\" | \"min\" | \"max\", where = \"...\", units = \"mm²\" }, name = { derived = \"100.0 * (1.0 - a / initial(a))\", units = \"%\" } or name = { time_integral = \"a\" }";
        // Derived metrics may use any GPU metric and the derived ones before them (in
        // file order, which a TOML table does not keep: so by their position in the text).
        let mut entries: Vec<_> = raw.metrics.iter().collect();
        entries.sort_by_key(|(n, _)| n.span().start);
        let mut derived: Vec<(&Spanned<String>, &Spanned<toml::Value>)> = vec![];
        for (name, v) in entries {
            let n = name.get_ref();
            let field = format!("metrics.{n}");
            let at = self.at(&field, v);
            model::expr::check_name(n, &self.at(&field, name))?;
            if let toml::Value::Table(t) = v.get_ref()
                && let Some(u) = t.get("units")
            {
                let u = u.as_str().ok_or_else(|| {
                    Error::scenario(
                        at.clone(),
                        format!("metric `{n}`: `units` must be a string"),
                        fix,
                    )
                })?;
                model.metric_units.insert(n.clone(), u.to_string());
            }
            if let toml::Value::Table(t) = v.get_ref()
                && (t.contains_key("derived") || t.contains_key("time_integral"))
            {
                derived.push((name, v));
                continue;
            }
            let (expr, reduce, region) = match v.get_ref() {
                toml::Value::String(s) => (s.clone(), Reduce::Integral, None),
                toml::Value::Table(t) => {
                    if let Some(k) = t
                        .keys()
                        .find(|k| !["expr", "reduce", "where", "units"].contains(&k.as_str()))
                    {
                        return Err(Error::scenario(
                            at,
                            format!("unknown key `{k}` in metric `{n}`"),
                            fix,
                        ));
                    }
                    let expr = t.get("expr").and_then(|e| e.as_str()).ok_or_else(|| {
                        Error::scenario(
                            at.clone(),
                            format!("metric `{n}` has no `expr` string"),
                            fix,
                        )
                    })?;
                    let reduce = match t.get("reduce") {
                        None => Reduce::Integral,
                        Some(r) => r.as_str().and_then(Reduce::parse).ok_or_else(|| {
                            Error::scenario(
                                at.clone(),
                                format!("metric `{n}`: unknown `reduce`"),
                                fix,
                            )
                        })?,
                    };
                    let region = match t.get("where") {
                        None => None,
                        Some(w) => Some(Expr::new(
                            w.as_str()
                                .ok_or_else(|| {
                                    Error::scenario(
                                        at.clone(),
                                        format!("metric `{n}`: `where` must be a string"),
                                        fix,
                                    )
                                })?
                                .to_string(),
                            at.clone(),
                        )),
                    };
                    (expr.to_string(), reduce, region)
                }
                _ => {
                    return Err(Error::scenario(
                        at,
                        format!("metric `{n}` must be a string or a table"),
                        fix,
                    ));
                }
            };
            let metric = Metric {
                name: n.clone(),
                expr: Expr::new(expr, at.clone()),
                reduce,
                region,
            };
            match model.metrics.iter().position(|m| &m.name == n) {
                Some(i) => model.metrics[i] = metric,
                None => {
                    if model.metrics.len() == MAX_METRICS {
                        return Err(Error::scenario(
                            at,
                            format!("more than {MAX_METRICS} metrics"),
                            "drop some metrics",
                        ));
                    }
                    model.metrics.push(metric);
                }
            }
        }
        for (name, v) in derived {
            let n = name.get_ref();
            let at = self.at(format!("metrics.{n}"), v);
            let t = v.get_ref().as_table().expect("a table (checked above)");
            // One key only: `derived` or `time_integral` (checked above that one is there).
            let kind = if t.contains_key("derived") {
                "derived"
            } else {
                "time_integral"
            };
            if let Some(k) = t.keys().find(|k| *k != kind && *k != "units") {
                return Err(Error::scenario(
                    at,
                    format!("metric `{n}`: `{k}` does not go with `derived`/`time_integral`"),
                    fix,
                ));
            }
            let names = model.metric_names();
            if names.contains(n) {
                return Err(Error::scenario(
                    at,
                    format!("metric `{n}` is defined twice"),
                    "rename one",
                ));
            }
            let column = |c: &str| names.iter().position(|x| x == c);
            let d = if let Some(f) = t.get("derived") {
                let source = f.as_str().unwrap_or_default().to_string();
                let node = model::derived::parse(&source, &column).map_err(|e| {
                    Error::scenario(
                        at.clone(),
                        format!("metric `{n}`: {e} in `{source}`"),
                        format!("metrics defined so far: {}", names.join(", ")),
                    )
                })?;
                model::derived::Derived::Formula {
                    name: n.clone(),
                    source,
                    node,
                }
            } else {
                let of = t
                    .get("time_integral")
                    .and_then(|x| x.as_str())
                    .unwrap_or_default();
                let of = column(of).ok_or_else(|| {
                    Error::scenario(
                        at.clone(),
                        format!("metric `{n}`: `{of}` is not a metric defined before this one"),
                        format!("metrics defined so far: {}", names.join(", ")),
                    )
                })?;
                model::derived::Derived::TimeIntegral {
                    name: n.clone(),
                    of,
                }
            };
            model.derived.push(d);
        }
        self.apply_crossings(raw, model)
    }

    /// `[crossings]`: `t50_closure_d = { metric = "closure_pct", reaches = 50.0, unit = "d" }`.
    fn apply_crossings(&self, raw: &RawScenario, model: &mut Model) -> Result<()> {
        let fix = "write name = { metric = \"closure_pct\", reaches = 50.0, unit = \"d\" } (unit: h, d, w or y)";
        for (name, v) in &raw.crossings {
            let n = name.get_ref();
            let at = self.at(format!("crossings.{n}"), v);
            model::expr::check_name(n, &self.at(format!("crossings.{n}"), name))?;
            let t = v
                .get_ref()
                .as_table()
                .ok_or_else(|| Error::scenario(at.clone(), "a crossing is a table", fix))?;
            if let Some(k) = t
                .keys()
                .find(|k| !["metric", "reaches", "unit"].contains(&k.as_str()))
            {
                return Err(Error::scenario(at, format!("unknown key `{k}`"), fix));
            }
            let names = model.metric_names();
            let metric = t.get("metric").and_then(|m| m.as_str()).unwrap_or_default();
            let Some(col) = names.iter().position(|x| x == metric) else {
                return Err(Error::scenario(
                    at,
                    format!("`{metric}` is not a metric"),
                    format!("the metrics: {}", names.join(", ")),
                ));
            };
            let value = t
                .get("reaches")
                .and_then(|r| r.as_float().or(r.as_integer().map(|i| i as f64)))
                .filter(|v| v.is_finite())
                .ok_or_else(|| Error::scenario(at.clone(), "`reaches` must be a number", fix))?;
            let unit = t.get("unit").and_then(|u| u.as_str()).unwrap_or("h");
            let unit_h = match unit {
                "h" => 1.0,
                "d" => 24.0,
                "w" => 168.0,
                "y" => 8766.0,
                _ => {
                    return Err(Error::scenario(at, format!("unknown unit `{unit}`"), fix));
                }
            };
            model.crossings.push(model::derived::Crossing {
                name: n.clone(),
                metric: col,
                value,
                unit_h,
                unit: unit.into(),
            });
        }
        Ok(())
    }

    fn grid(&self, raw: &RawScenario) -> Result<(Grid, Location)> {
        let Some(g) = &raw.grid else {
            return Err(Error::scenario(
                self.at_file("grid"),
                "the scenario has no [grid]",
                "add [grid] with size = [nx, ny] and extent = [\"20 mm\", \"20 mm\"]",
            ));
        };
        let g = g.get_ref();
        let size_at = self.at("grid.size", &g.size);
        let (nx, ny) = match g.size.get_ref().as_slice() {
            [nx, ny] if (2..=65536).contains(nx) && (2..=65536).contains(ny) => {
                (*nx as u32, *ny as u32)
            }
            _ => {
                return Err(Error::scenario(
                    size_at,
                    "grid.size must be two cell counts [nx, ny], each from 2 to 65536",
                    "write e.g. size = [256, 256]",
                ));
            }
        };
        let ext_at = self.at("grid.extent", &g.extent);
        let ext = g.extent.get_ref();
        if ext.len() != 2 {
            return Err(Error::scenario(
                ext_at,
                "grid.extent must be two lengths [width, height]",
                "write e.g. extent = [\"20 mm\", \"20 mm\"]",
            ));
        }
        let mut extent = [0.0; 2];
        for (k, v) in ext.iter().enumerate() {
            let spanned = Spanned::new(g.extent.span(), v.clone());
            extent[k] = self.quantity("grid.extent", &spanned, Dimension::Length)?;
            if extent[k] <= 0.0 {
                return Err(Error::scenario(
                    ext_at.clone(),
                    "grid.extent must be positive",
                    "write e.g. extent = [\"20 mm\", \"20 mm\"]",
                ));
            }
        }
        let boundary = match &g.boundary {
            None => [Boundary::NoFlux; 4],
            Some(b) => self.boundary(b)?,
        };
        Ok((
            Grid {
                nx,
                ny,
                extent,
                boundary,
            },
            size_at,
        ))
    }

    fn boundary(&self, b: &Spanned<toml::Value>) -> Result<[Boundary; 4]> {
        let at = self.at("grid.boundary", b);
        let fix = "write boundary = \"no-flux\" | \"periodic\" | \"fixed\" | \"flux\" | \"robin\", or per side: boundary = { left = \"fixed\", right = \"fixed\", bottom = \"no-flux\", top = \"no-flux\" }";
        let one = |s: &str, side: &str| {
            parse_boundary(s).ok_or_else(|| {
                Error::scenario(at.clone(), format!("unknown boundary `{s}`{side}"), fix)
            })
        };
        let sides = match b.get_ref() {
            toml::Value::String(s) => [one(s, "")?; 4],
            toml::Value::Table(t) => {
                if let Some(k) = t
                    .keys()
                    .find(|k| !["left", "right", "bottom", "top"].contains(&k.as_str()))
                {
                    return Err(Error::scenario(
                        at,
                        format!("unknown side `{k}`"),
                        "the sides are left (x min), right (x max), bottom (y min), top (y max)",
                    ));
                }
                let mut out = [Boundary::NoFlux; 4];
                for (i, side) in ["left", "right", "bottom", "top"].iter().enumerate() {
                    if let Some(v) = t.get(*side) {
                        let s = v.as_str().ok_or_else(|| {
                            Error::scenario(
                                at.clone(),
                                format!("side `{side}` must be a string"),
                                fix,
                            )
                        })?;
                        out[i] = one(s, &format!(" for side `{side}`"))?;
                    }
                }
                out
            }
            _ => {
                return Err(Error::scenario(
                    at,
                    "grid.boundary must be a string or a table of sides",
                    fix,
                ));
            }
        };
        for (a, b, axis) in [(0, 1, "left/right"), (2, 3, "bottom/top")] {
            if (sides[a] == Boundary::Periodic) != (sides[b] == Boundary::Periodic) {
                return Err(Error::scenario(
                    at,
                    format!(
                        "periodic boundaries come in pairs, but only one of {axis} is periodic"
                    ),
                    format!("make both {axis} sides periodic, or neither"),
                ));
            }
        }
        Ok(sides)
    }

    fn time(&self, raw: &RawScenario) -> Result<(Numerics, Location)> {
        let Some(t) = &raw.time else {
            return Err(Error::scenario(
                self.at_file("time"),
                "the scenario has no [time]",
                "add [time] with end = \"20 h\" and output_every = \"2 h\"",
            ));
        };
        let t = t.get_ref();
        let end = self.quantity("time.end", &t.end, Dimension::Time)?;
        if end <= 0.0 {
            return Err(Error::scenario(
                self.at("time.end", &t.end),
                "time.end must be positive",
                "write e.g. end = \"20 h\"",
            ));
        }
        let output_every = match &t.output_every {
            None => end / 10.0,
            Some(o) => {
                let v = self.quantity("time.output_every", o, Dimension::Time)?;
                if v <= 0.0 || v > end {
                    return Err(Error::scenario(
                        self.at("time.output_every", o),
                        "time.output_every must be positive and at most time.end",
                        "write e.g. output_every = \"2 h\"",
                    ));
                }
                if end / v > 100_000.0 {
                    return Err(Error::scenario(
                        self.at("time.output_every", o),
                        "more than 100000 outputs",
                        "write a larger output_every",
                    ));
                }
                v
            }
        };
        let (dt, dt_at) = match &t.dt {
            None => (None, self.at_file("time.dt")),
            Some(d) => {
                let v = self.quantity("time.dt", d, Dimension::Time)?;
                if v <= 0.0 {
                    return Err(Error::scenario(
                        self.at("time.dt", d),
                        "time.dt must be positive",
                        "remove dt to let exoderm choose a stable step",
                    ));
                }
                (Some(v), self.at("time.dt", d))
            }
        };
        let scheme = match t.scheme.as_ref().map(|s| s.get_ref().as_str()) {
            None | Some("auto") | Some("rkc") => Scheme::Rkc,
            Some("rkl2") | Some("imex") | Some("sts") => Scheme::Rkl2,
            Some("euler") | Some("explicit") => Scheme::Euler,
            Some(other) => {
                let s = t.scheme.as_ref().expect("matched Some");
                return Err(Error::scenario(
                    self.at("time.scheme", s),
                    format!("unknown scheme `{other}`"),
                    "leave `scheme` out (the default, RKC with error control), or use \"rkl2\" (RKL2 stages) or \"euler\" (forward Euler, for teaching)",
                ));
            }
        };
        let positive_below_one = |v: &Option<Spanned<f64>>, field: &str| -> Result<Option<f64>> {
            match v {
                None => Ok(None),
                Some(v) if *v.get_ref() > 0.0 && *v.get_ref() < 1.0 => Ok(Some(*v.get_ref())),
                Some(v) => Err(Error::scenario(
                    self.at(format!("time.{field}"), v),
                    format!("time.{field} must be between 0 and 1 (a relative error)"),
                    format!("write e.g. {field} = 1e-3"),
                )),
            }
        };
        let tolerance = positive_below_one(&t.tolerance, "tolerance")?;
        let rtol_given = positive_below_one(&t.rtol, "rtol")?;
        // f32 evaluates the right-hand side to about 1e-7 of each value: a tighter
        // tolerance would measure rounding, not the scheme.
        if scheme != Scheme::Euler
            && let Some((v, name)) = [(&t.rtol, "rtol"), (&t.tolerance, "tolerance")]
                .into_iter()
                .find_map(|(v, n)| {
                    v.as_ref()
                        .filter(|v| *v.get_ref() < MIN_RTOL)
                        .map(|v| (v, n))
                })
        {
            return Err(Error::scenario(
                self.at(format!("time.{name}"), v),
                format!(
                    "time.{name} = {:e} is below what f32 arithmetic resolves ({MIN_RTOL:e})",
                    v.get_ref()
                ),
                format!(
                    "use {name} ≥ {MIN_RTOL:e}; for tighter results refine the grid (the O(dx²) error is usually larger)"
                ),
            ));
        }
        if let (Some(_), Some(r)) = (&tolerance, &t.rtol) {
            return Err(Error::scenario(
                self.at("time.rtol", r),
                "`tolerance` and `rtol` say the same thing",
                "keep one of them",
            ));
        }
        let euler = scheme == Scheme::Euler;
        if (tolerance.is_some() || rtol_given.is_some()) && dt.is_some() {
            let v = t.tolerance.as_ref().or(t.rtol.as_ref()).expect("checked");
            return Err(Error::scenario(
                self.at("time.tolerance", v),
                "a tolerance (error-controlled steps) and a forced `dt` exclude each other",
                "keep one of them",
            ));
        }
        if euler && rtol_given.is_some() {
            return Err(Error::scenario(
                self.at("time.rtol", t.rtol.as_ref().expect("checked")),
                "forward Euler takes fixed steps: `rtol` is for the default (error-controlled) schemes",
                "remove `scheme = \"euler\"`, or use `tolerance` for Euler's step doubling",
            ));
        }
        // For the stabilized schemes `tolerance` is rtol; for Euler, its step doubling.
        let rtol = rtol_given
            .or(if euler { None } else { tolerance })
            .unwrap_or(DEFAULT_RTOL);
        let tolerance = if euler { tolerance } else { None };
        let atol = match &t.atol {
            None => None,
            Some(v) if *v.get_ref() > 0.0 && v.get_ref().is_finite() => Some(*v.get_ref()),
            Some(v) => {
                return Err(Error::scenario(
                    self.at("time.atol", v),
                    "time.atol must be a positive number",
                    "write e.g. atol = 1e-6 (in each species' units), or leave it out",
                ));
            }
        };
        let qs_tolerance = match &t.qs_tolerance {
            None => 1e-6,
            Some(v) if *v.get_ref() >= 5e-8 && *v.get_ref() < 1.0 => *v.get_ref(),
            Some(v) => {
                return Err(Error::scenario(
                    self.at("time.qs_tolerance", v),
                    "time.qs_tolerance must be from 5e-8 (near the f32 floor) to below 1",
                    "write e.g. qs_tolerance = 1e-6",
                ));
            }
        };
        Ok((
            Numerics {
                end,
                output_every,
                dt,
                scheme,
                tolerance,
                rtol,
                atol,
                qs_tolerance,
            },
            dt_at,
        ))
    }

    fn output(&self, raw: &RawScenario) -> Result<OutputSpec> {
        let mut out = OutputSpec {
            png: true,
            npy: true,
            colormap: "viridis".into(),
            annotate: true,
            title: String::new(),
            time_unit: display::TimeUnit::Hours,
            plots: true,
            report: true,
            context: ReportContext::default(),
        };
        if let Some(o) = &raw.output {
            let o = o.get_ref();
            out.png = o.png.unwrap_or(true);
            out.npy = o.npy.unwrap_or(true);
            out.annotate = o.annotate.unwrap_or(true);
            out.plots = o.plots.unwrap_or(true);
            out.report = o.report.unwrap_or(true);
            if let Some(c) = &o.colormap {
                if !COLORMAPS.contains(&c.get_ref().as_str()) {
                    return Err(Error::scenario(
                        self.at("output.colormap", c),
                        format!("unknown colour map `{}`", c.get_ref()),
                        format!("use one of: {}", COLORMAPS.join(", ")),
                    ));
                }
                out.colormap = c.get_ref().clone();
            }
        }
        Ok(out)
    }
}

/// "0.2 mm^2/h", "6.6 um^2/s", "0.1": a number, then at most a unit (letters, digits, ^, /,
/// spaces). Anything else in a diffusion field ("D0 * (1.0 - n)") is an expression.
fn looks_like_quantity(text: &str) -> bool {
    let t = text.trim();
    let b = t.as_bytes();
    let mut i = 0;
    while i < b.len()
        && (b[i].is_ascii_digit()
            || b[i] == b'.'
            || ((b[i] == b'-' || b[i] == b'+') && (i == 0 || matches!(b[i - 1], b'e' | b'E')))
            || (matches!(b[i], b'e' | b'E')
                && i > 0
                && b.get(i + 1)
                    .is_some_and(|n| n.is_ascii_digit() || *n == b'-' || *n == b'+')))
    {
        i += 1;
    }
    t[..i].parse::<f64>().is_ok()
        && t[i..]
            .chars()
            .all(|c| c.is_alphanumeric() || " ^/²µμ.-".contains(c))
}
