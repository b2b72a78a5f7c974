//! What a scenario says about being *shown* and *acted on*: the classroom text
//! (`[explain]`), how the app presents it (`[view]`: first species, colour map, clock unit,
//! skin view, brushes, the default side-by-side difference) and scheduled interventions
//! (`[[event]]`). Brushes and events share one shape — a circle of `set`/`add` amounts — so
//! a stroke painted in the app is saved back as an event that `exoderm run` replays.

use serde::Serialize;
use toml::Spanned;

use super::raw::{RawAmounts, RawEvent, RawScenario, RawView};
use super::{Action, Amounts, Ctx, Event};
use crate::error::{Error, Result};
use crate::model::Model;
use crate::units::Dimension;

/// Classroom text: what you are looking at, what to try, what to watch for.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Explain {
    pub title: String,
    pub what: String,
    pub try_: String,
    pub watch: String,
    pub source: String,
}

/// The unit the clock is shown in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum TimeUnit {
    Hours,
    Days,
    Years,
}

impl TimeUnit {
    pub fn hours(self) -> f64 {
        match self {
            TimeUnit::Hours => 1.0,
            TimeUnit::Days => 24.0,
            TimeUnit::Years => 24.0 * 365.25,
        }
    }
    pub fn symbol(self) -> &'static str {
        match self {
            TimeUnit::Hours => "h",
            TimeUnit::Days => "d",
            TimeUnit::Years => "y",
        }
    }
    /// The natural unit for a run of `end` hours: days past two days, years past two years.
    pub fn natural(end: f64) -> TimeUnit {
        if end >= 2.0 * 24.0 * 365.25 {
            TimeUnit::Years
        } else if end >= 48.0 {
            TimeUnit::Days
        } else {
            TimeUnit::Hours
        }
    }
}

/// Species that drive the realistic skin view (indices into the model's species).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Skin {
    /// 0 = open wound bed, top of the species' range = intact epidermis.
    pub epidermis: Option<usize>,
    pub scab: Option<usize>,
    /// Reddens the skin (erythema).
    pub inflammation: Option<usize>,
    /// Dermal collagen: low shows thin, wrinkled skin; high a pale scar.
    pub collagen: Option<usize>,
}

/// A named brush the model offers (scalpel, exosomes, hydrogel...).
#[derive(Debug, Clone, Serialize)]
pub struct Brush {
    pub name: String,
    pub doc: String,
    pub amounts: Amounts,
}

/// The side-by-side default: side B sets `param` to `value`.
#[derive(Debug, Clone, Serialize)]
pub struct Compare {
    pub param: String,
    pub value: f64,
    pub a: String,
    pub b: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Display {
    pub explain: Option<Explain>,
    /// Species shown first.
    pub species: usize,
    pub colormap: String,
    pub time_unit: TimeUnit,
    /// A metric whose fall from its first value is shown as "closure %".
    pub closure_of: Option<usize>,
    pub compare: Option<Compare>,
    pub skin: Option<Skin>,
    pub brushes: Vec<Brush>,
}

/// Colour-map names and their aliases (`diverging`, `grey`).
pub fn colormap_name(name: &str) -> Option<&'static str> {
    crate::colormap::canonical(name)
}

impl Event {
    /// The `[[event]]` table that reproduces this event (appended to a saved scenario).
    pub fn to_toml(&self, model: &Model) -> String {
        let mut out = format!("\n[[event]]\nat = \"{} h\"\n", self.at);
        match &self.action {
            Action::Deposit {
                center,
                radius,
                amounts,
            } => {
                out += &format!(
                    "center = [\"{} mm\", \"{} mm\"]\nradius = \"{} mm\"\n",
                    center[0], center[1], radius
                );
                for (key, list) in [("set", &amounts.set), ("add", &amounts.add)] {
                    if list.is_empty() {
                        continue;
                    }
                    let items: Vec<String> = list
                        .iter()
                        .map(|(s, v)| format!("{} = {v:?}", model.species[*s].name))
                        .collect();
                    out += &format!("{key} = {{ {} }}\n", items.join(", "));
                }
            }
            Action::Param { param, value } => {
                let name = &model.params[*param].name;
                out += &format!("param = \"{name}\"\nvalue = {value:?}\n");
            }
        }
        out
    }
}

impl Ctx<'_> {
    fn species_ref(&self, model: &Model, field: &str, name: &Spanned<String>) -> Result<usize> {
        model.species_index(name.get_ref()).ok_or_else(|| {
            Error::scenario(
                self.at(field, name),
                format!("there is no species `{}`", name.get_ref()),
                format!("use one of: {}", model.species_names().join(", ")),
            )
        })
    }

    fn amounts(
        &self,
        model: &Model,
        field: &str,
        set: &RawAmounts,
        add: &RawAmounts,
    ) -> Result<Amounts> {
        let mut out = Amounts::default();
        for (key, raw, list) in [("set", set, &mut out.set), ("add", add, &mut out.add)] {
            for (name, value) in raw {
                let f = format!("{field}.{key}.{}", name.get_ref());
                let s = self.species_ref(model, &f, name)?;
                if !value.get_ref().is_finite() {
                    return Err(Error::scenario(
                        self.at(f, value),
                        "the amount is not finite",
                        "write a finite number",
                    ));
                }
                list.push((s, *value.get_ref()));
            }
        }
        Ok(out)
    }

    pub(super) fn display(&self, raw: &RawScenario, model: &Model, end: f64) -> Result<Display> {
        let explain = raw.explain.as_ref().map(|e| {
            let e = e.get_ref();
            Explain {
                title: e.title.clone().unwrap_or_else(|| model.name.clone()),
                what: e.what.clone().unwrap_or_else(|| model.description.clone()),
                try_: e.try_.clone().unwrap_or_default(),
                watch: e.watch.clone().unwrap_or_default(),
                source: e.source.clone().unwrap_or_default(),
            }
        });
        let mut display = Display {
            explain,
            species: 0,
            colormap: "viridis".into(),
            time_unit: TimeUnit::natural(end),
            closure_of: None,
            compare: None,
            skin: None,
            brushes: vec![],
        };
        let Some(view) = &raw.view else {
            return Ok(display);
        };
        self.view(view.get_ref(), model, &mut display)?;
        Ok(display)
    }

    fn view(&self, view: &RawView, model: &Model, d: &mut Display) -> Result<()> {
        if let Some(s) = &view.species {
            d.species = self.species_ref(model, "view.species", s)?;
        }
        if let Some(c) = &view.colormap {
            d.colormap = colormap_name(c.get_ref())
                .ok_or_else(|| {
                    Error::scenario(
                        self.at("view.colormap", c),
                        format!("unknown colour map `{}`", c.get_ref()),
                        format!(
                            "use one of: {}, diverging, grey",
                            super::COLORMAPS.join(", ")
                        ),
                    )
                })?
                .into();
        }
        if let Some(u) = &view.time_unit {
            d.time_unit = match u.get_ref().as_str() {
                "h" | "hours" => TimeUnit::Hours,
                "d" | "days" => TimeUnit::Days,
                "y" | "years" => TimeUnit::Years,
                other => {
                    return Err(Error::scenario(
                        self.at("view.time_unit", u),
                        format!("unknown clock unit `{other}`"),
                        "use \"h\", \"d\" or \"y\"",
                    ));
                }
            };
        }
        if let Some(m) = &view.closure_of {
            d.closure_of = Some(
                model
                    .metrics
                    .iter()
                    .position(|x| &x.name == m.get_ref())
                    .ok_or_else(|| {
                        let names: Vec<&str> =
                            model.metrics.iter().map(|x| x.name.as_str()).collect();
                        Error::scenario(
                            self.at("view.closure_of", m),
                            format!("there is no metric `{}`", m.get_ref()),
                            format!("use one of the [metrics]: {}", names.join(", ")),
                        )
                    })?,
            );
        }
        if let Some(c) = &view.compare {
            let c = c.get_ref();
            if model.param_index(c.param.get_ref()).is_none() {
                let names: Vec<&str> = model.params.iter().map(|p| p.name.as_str()).collect();
                return Err(Error::scenario(
                    self.at("view.compare.param", &c.param),
                    format!("there is no parameter `{}`", c.param.get_ref()),
                    format!("use one of the [params]: {}", names.join(", ")),
                ));
            }
            d.compare = Some(Compare {
                param: c.param.get_ref().clone(),
                value: *c.value.get_ref(),
                a: c.a.clone().unwrap_or_else(|| "A".into()),
                b: c.b
                    .clone()
                    .unwrap_or_else(|| format!("B: {} = {}", c.param.get_ref(), c.value.get_ref())),
            });
        }
        if let Some(s) = &view.skin {
            let s = s.get_ref();
            let role = |name: &str, v: &Option<Spanned<String>>| -> Result<Option<usize>> {
                v.as_ref()
                    .map(|v| self.species_ref(model, &format!("view.skin.{name}"), v))
                    .transpose()
            };
            d.skin = Some(Skin {
                epidermis: role("epidermis", &s.epidermis)?,
                scab: role("scab", &s.scab)?,
                inflammation: role("inflammation", &s.inflammation)?,
                collagen: role("collagen", &s.collagen)?,
            });
        }
        for (i, b) in view.brush.iter().enumerate() {
            let b = b.get_ref();
            let field = format!("view.brush[{i}]");
            let amounts = self.amounts(model, &field, &b.set, &b.add)?;
            if amounts.set.is_empty() && amounts.add.is_empty() {
                return Err(Error::scenario(
                    self.at(format!("{field}.name"), &b.name),
                    format!("brush `{}` changes nothing", b.name.get_ref()),
                    "give it `set = { species = value }` and/or `add = { species = amount }`",
                ));
            }
            d.brushes.push(Brush {
                name: b.name.get_ref().clone(),
                doc: b.doc.clone().unwrap_or_default(),
                amounts,
            });
        }
        Ok(())
    }

    pub(super) fn events(&self, raw: &RawScenario, model: &Model) -> Result<Vec<Event>> {
        let mut events = Vec::with_capacity(raw.event.len());
        for (i, e) in raw.event.iter().enumerate() {
            events.push(self.event(&format!("event[{i}]"), e.get_ref(), model)?);
        }
        // Stable: events at one time apply in file order.
        events.sort_by(|a, b| a.at.total_cmp(&b.at));
        Ok(events)
    }

    fn event(&self, field: &str, e: &RawEvent, model: &Model) -> Result<Event> {
        let at = self.quantity(&format!("{field}.at"), &e.at, Dimension::Time)?;
        if at < 0.0 {
            return Err(Error::scenario(
                self.at(format!("{field}.at"), &e.at),
                "an event cannot happen before the start",
                "write a time ≥ 0, e.g. at = \"2 d\"",
            ));
        }
        let deposit = !e.set.is_empty() || !e.add.is_empty() || e.center.is_some();
        let action = match (&e.param, deposit) {
            (Some(p), false) => {
                let Some(param) = model.param_index(p.get_ref()) else {
                    let names: Vec<&str> = model.params.iter().map(|p| p.name.as_str()).collect();
                    return Err(Error::scenario(
                        self.at(format!("{field}.param"), p),
                        format!("there is no parameter `{}`", p.get_ref()),
                        format!("use one of the [params]: {}", names.join(", ")),
                    ));
                };
                let value = e.value.as_ref().ok_or_else(|| {
                    Error::scenario(
                        self.at(format!("{field}.param"), p),
                        "a parameter event needs a `value`",
                        format!("add value = ... (the new value of `{}`)", p.get_ref()),
                    )
                })?;
                Action::Param {
                    param,
                    value: *value.get_ref(),
                }
            }
            (None, true) => {
                let amounts = self.amounts(model, field, &e.set, &e.add)?;
                let center = match &e.center {
                    None => [0.0, 0.0],
                    Some(c) if c.get_ref().len() == 2 => {
                        let f = format!("{field}.center");
                        let mut out = [0.0; 2];
                        for (k, v) in c.get_ref().iter().enumerate() {
                            out[k] = self.quantity(
                                &f,
                                &Spanned::new(c.span(), v.clone()),
                                Dimension::Length,
                            )?;
                        }
                        out
                    }
                    Some(c) => {
                        return Err(Error::scenario(
                            self.at(format!("{field}.center"), c),
                            "center needs two coordinates (x, y)",
                            "write e.g. center = [\"1 mm\", \"-0.5 mm\"] (the origin is the domain's centre)",
                        ));
                    }
                };
                let radius = match &e.radius {
                    Some(r) => self.quantity(&format!("{field}.radius"), r, Dimension::Length)?,
                    None => {
                        return Err(Error::scenario(
                            self.at(format!("{field}.at"), &e.at),
                            "a deposit event needs a `radius`",
                            "add e.g. radius = \"0.5 mm\"",
                        ));
                    }
                };
                if radius <= 0.0 || (amounts.set.is_empty() && amounts.add.is_empty()) {
                    return Err(Error::scenario(
                        self.at(format!("{field}.at"), &e.at),
                        "a deposit event needs a positive radius and some `set` or `add` amounts",
                        "write e.g. radius = \"0.5 mm\" and add = { exo = 1.0 }",
                    ));
                }
                Action::Deposit {
                    center,
                    radius,
                    amounts,
                }
            }
            _ => {
                return Err(Error::scenario(
                    self.at(format!("{field}.at"), &e.at),
                    "an event is either a deposit (center, radius, set/add) or a parameter change (param, value), not both or neither",
                    "write e.g. { at = \"2 d\", center = [0, 0], radius = \"1 mm\", add = { exo = 1.0 } } or { at = \"2 d\", param = \"r\", value = 0.2 }",
                ));
            }
        };
        Ok(Event { at, action })
    }
}
