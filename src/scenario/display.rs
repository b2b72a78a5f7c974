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
use crate::model::{Dose, DoseMode, Expr, Model};
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

/// The skin view's roles resolved for drawing: each role's species (index into the fields)
/// and the value that means "full" (its range top): epidermis, scab, inflammation, collagen.
#[derive(Debug, Clone, Copy)]
pub struct SkinRoles {
    pub species: [Option<usize>; 4],
    pub full: [f32; 4],
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
            Action::Dose { dose } => {
                let d = &model.doses[*dose];
                let key = match d.mode {
                    DoseMode::Set => "set",
                    DoseMode::Add => "add",
                    DoseMode::Total => "total",
                };
                out += &format!(
                    "where = {:?}\n{key} = {{ {} = {:?} }}\n",
                    d.region.source, model.species[d.species].name, d.amount.source
                );
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

    /// The `[[event]]`s, repeats expanded, in time order; doses that need the GPU's
    /// expressions are added to the model's `doses`.
    pub(super) fn events(
        &self,
        raw: &RawScenario,
        model: &mut Model,
        end: f64,
        grid: &crate::engine::Grid,
    ) -> Result<Vec<Event>> {
        let mut events = Vec::with_capacity(raw.event.len());
        for (i, e) in raw.event.iter().enumerate() {
            let field = format!("event[{i}]");
            let e = e.get_ref();
            let actions = self.event(&field, e, model, grid)?;
            for at in self.repeats(&field, e, end)? {
                events.extend(actions.iter().map(|a| Event {
                    at,
                    action: a.clone(),
                }));
            }
        }
        // Stable: events at one time apply in file order.
        events.sort_by(|a, b| a.at.total_cmp(&b.at));
        Ok(events)
    }

    /// The times of an event: `at`, then every `every` until `count` times or `until`
    /// (the run's end when neither is given).
    fn repeats(&self, field: &str, e: &RawEvent, end: f64) -> Result<Vec<f64>> {
        let at = self.quantity(&format!("{field}.at"), &e.at, Dimension::Time)?;
        if at < 0.0 {
            return Err(Error::scenario(
                self.at(format!("{field}.at"), &e.at),
                "an event cannot happen before the start",
                "write a time ≥ 0, e.g. at = \"2 d\"",
            ));
        }
        let Some(every) = &e.every else {
            if let Some(c) = &e.count {
                return Err(Error::scenario(
                    self.at(format!("{field}.count"), c),
                    "`count` repeats an event, which needs `every`",
                    "add e.g. every = \"3 w\"",
                ));
            }
            return Ok(vec![at]);
        };
        let step = self.quantity(&format!("{field}.every"), every, Dimension::Time)?;
        if step <= 0.0 {
            return Err(Error::scenario(
                self.at(format!("{field}.every"), every),
                "`every` must be a positive time",
                "write e.g. every = \"3 w\"",
            ));
        }
        let until = match &e.until {
            Some(u) => self.quantity(&format!("{field}.until"), u, Dimension::Time)?,
            None if e.count.is_some() => f64::INFINITY,
            None => end,
        };
        let count = match &e.count {
            Some(c) if *c.get_ref() >= 1 && *c.get_ref() <= 100_000 => *c.get_ref() as usize,
            Some(c) => {
                return Err(Error::scenario(
                    self.at(format!("{field}.count"), c),
                    "`count` must be from 1 to 100000",
                    "write e.g. count = 3",
                ));
            }
            None => usize::MAX,
        };
        let mut times = vec![];
        let mut k = 0usize;
        while times.len() < count {
            let t = at + k as f64 * step;
            if t > until + crate::engine::events::eps(until) || times.len() >= 100_000 {
                break;
            }
            times.push(t);
            k += 1;
        }
        Ok(times)
    }

    /// What one `[[event]]` does, each time it happens.
    fn event(
        &self,
        field: &str,
        e: &RawEvent,
        model: &mut Model,
        grid: &crate::engine::Grid,
    ) -> Result<Vec<Action>> {
        let dosing = !e.set.is_empty()
            || !e.add.is_empty()
            || !e.total.is_empty()
            || e.center.is_some()
            || e.rectangle.is_some()
            || e.line.is_some()
            || e.region.is_some();
        match (&e.param, dosing) {
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
                Ok(vec![Action::Param {
                    param,
                    value: *value.get_ref(),
                }])
            }
            (None, true) => self.dose(field, e, model, grid),
            _ => Err(Error::scenario(
                self.at(format!("{field}.at"), &e.at),
                "an event is either a dose (a region and set/add/total amounts) or a parameter change (param, value), not both or neither",
                "write e.g. { at = \"2 d\", center = [0, 0], radius = \"1 mm\", add = { exo = 1.0 } } or { at = \"2 d\", param = \"r\", value = 0.2 }",
            )),
        }
    }

    fn point(&self, f: &str, span: std::ops::Range<usize>, v: &[toml::Value]) -> Result<[f64; 2]> {
        let [a, b] = v else {
            return Err(Error::scenario(
                self.at(f, &Spanned::new(span, ())),
                "a point needs two coordinates (x, y)",
                "write e.g. [\"1 mm\", \"-0.5 mm\"] (the origin is the domain's centre)",
            ));
        };
        let mut out = [0.0; 2];
        for (k, v) in [a, b].into_iter().enumerate() {
            out[k] = self.quantity(f, &Spanned::new(span.clone(), v.clone()), Dimension::Length)?;
        }
        Ok(out)
    }

    /// A dose: its region (one shape, or `where`, or both: a shape restricted by `where`)
    /// and amounts. A circle with number amounts stays a plain deposit (drawn by the app,
    /// replayed like a brush); everything else becomes GPU doses of the model.
    fn dose(
        &self,
        field: &str,
        e: &RawEvent,
        model: &mut Model,
        grid: &crate::engine::Grid,
    ) -> Result<Vec<Action>> {
        let at_field = format!("{field}.at");
        let shapes = [
            e.center.is_some() || e.radius.is_some(),
            e.rectangle.is_some(),
            e.line.is_some(),
        ]
        .iter()
        .filter(|&&s| s)
        .count();
        if shapes > 1 {
            return Err(Error::scenario(
                self.at(&at_field, &e.at),
                "a dose has one shape: a circle (center, radius), a rectangle or a line",
                "keep one shape; restrict it further with `where`",
            ));
        }
        if e.set.is_empty() && e.add.is_empty() && e.total.is_empty() {
            return Err(Error::scenario(
                self.at(&at_field, &e.at),
                "a dose needs `set`, `add` or `total` amounts",
                "write e.g. add = { exo = 1.0 } or total = { exo = \"2e9\" }",
            ));
        }
        // Shapes reach at least the cell under them (half a cell's diagonal, with a margin).
        let reach = 0.5 * grid.dx().hypot(grid.dy()) * 1.0001;
        let num = |v: f64| format!("{v:?}");
        let mut region: Option<String> = None;
        let mut circle = None;
        if e.center.is_some() || e.radius.is_some() {
            let center = match &e.center {
                None => [0.0, 0.0],
                Some(c) => self.point(&format!("{field}.center"), c.span(), c.get_ref())?,
            };
            let Some(r) = &e.radius else {
                return Err(Error::scenario(
                    self.at(&at_field, &e.at),
                    "a circle needs a `radius`",
                    "add e.g. radius = \"0.5 mm\"",
                ));
            };
            let radius = self.quantity(&format!("{field}.radius"), r, Dimension::Length)?;
            if radius <= 0.0 {
                return Err(Error::scenario(
                    self.at(format!("{field}.radius"), r),
                    "the radius must be positive",
                    "write e.g. radius = \"0.5 mm\"",
                ));
            }
            circle = Some((center, radius));
            // As the plain deposit: a radius below half a cell still reaches the centre cell.
            let r = radius.max(0.5 * grid.dx().max(grid.dy()) * 1.0001);
            region = Some(format!(
                "distance(vec2<f32>(x, y), vec2<f32>({}, {})) <= {}",
                num(center[0]),
                num(center[1]),
                num(r)
            ));
        }
        if let Some(rect) = &e.rectangle {
            let f = format!("{field}.rectangle");
            let v = rect.get_ref();
            if v.len() != 4 {
                return Err(Error::scenario(
                    self.at(&f, rect),
                    "a rectangle needs four numbers [x0, y0, x1, y1]",
                    "write e.g. rectangle = [\"-1 mm\", \"-0.5 mm\", \"1 mm\", \"0.5 mm\"]",
                ));
            }
            let a = self.point(&f, rect.span(), &v[..2])?;
            let b = self.point(&f, rect.span(), &v[2..])?;
            // At least one cell wide each way.
            let span = |lo: f64, hi: f64, h: f64| {
                let (c, half) = (
                    0.5 * (lo + hi),
                    (0.5 * (hi - lo).abs()).max(0.5 * h * 1.0001),
                );
                (c - half, c + half)
            };
            let (x0, x1) = span(a[0], b[0], grid.dx());
            let (y0, y1) = span(a[1], b[1], grid.dy());
            region = Some(format!(
                "x >= {} && x <= {} && y >= {} && y <= {}",
                num(x0),
                num(x1),
                num(y0),
                num(y1)
            ));
        }
        if let Some(line) = &e.line {
            let f = format!("{field}.line");
            let v = line.get_ref();
            if v.len() != 2 {
                return Err(Error::scenario(
                    self.at(&f, line),
                    "a line needs two points [[xa, ya], [xb, yb]]",
                    "write e.g. line = [[\"-2 mm\", \"0 mm\"], [\"2 mm\", \"0 mm\"]]",
                ));
            }
            let a = self.point(&f, line.span(), &v[0])?;
            let b = self.point(&f, line.span(), &v[1])?;
            let width = match &e.width {
                Some(w) => self.quantity(&format!("{field}.width"), w, Dimension::Length)?,
                None => 0.0,
            };
            let half = (0.5 * width).max(reach);
            let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
            let len2 = (dx * dx + dy * dy).max(1e-30);
            region = Some(format!(
                "distance(vec2<f32>(x, y), vec2<f32>({ax}, {ay}) + clamp(((x - {ax}) * {dx} + (y - {ay}) * {dy}) / {len2}, 0.0, 1.0) * vec2<f32>({dx}, {dy})) <= {half}",
                ax = num(a[0]),
                ay = num(a[1]),
                dx = num(dx),
                dy = num(dy),
                len2 = num(len2),
                half = num(half)
            ));
        }
        let region_at = match &e.region {
            Some(w) => self.at(format!("{field}.where"), w),
            None => self.at(&at_field, &e.at),
        };
        if let Some(w) = &e.region {
            region = Some(match region {
                Some(r) => format!("({r}) && ({})", w.get_ref()),
                None => w.get_ref().clone(),
            });
        }
        let Some(region) = region else {
            return Err(Error::scenario(
                self.at(&at_field, &e.at),
                "a dose needs a region",
                "give center and radius, a rectangle, a line, or where = \"...\" (e.g. where = \"wound > 0.5\")",
            ));
        };
        let number = |v: &toml::Value| match v {
            toml::Value::Float(f) => Some(*f),
            toml::Value::Integer(i) => Some(*i as f64),
            _ => None,
        };
        let plain = e.total.is_empty()
            && e.region.is_none()
            && e.set
                .values()
                .chain(e.add.values())
                .all(|v| number(v.get_ref()).is_some());
        if let (Some((center, radius)), true) = (circle, plain) {
            let mut amounts = Amounts::default();
            for (key, raw, list) in [
                ("set", &e.set, &mut amounts.set),
                ("add", &e.add, &mut amounts.add),
            ] {
                for (name, value) in raw {
                    let f = format!("{field}.{key}.{}", name.get_ref());
                    let s = self.species_ref(model, &f, name)?;
                    let v = number(value.get_ref()).unwrap_or(f64::NAN);
                    if !v.is_finite() {
                        return Err(Error::scenario(
                            self.at(f, value),
                            "the amount is not finite",
                            "write a finite number",
                        ));
                    }
                    list.push((s, v));
                }
            }
            return Ok(vec![Action::Deposit {
                center,
                radius,
                amounts,
            }]);
        }
        let mut actions = vec![];
        for (key, mode, raw) in [
            ("set", DoseMode::Set, &e.set),
            ("add", DoseMode::Add, &e.add),
            ("total", DoseMode::Total, &e.total),
        ] {
            for (name, value) in raw {
                let f = format!("{field}.{key}.{}", name.get_ref());
                let species = self.species_ref(model, &f, name)?;
                let amount = match value.get_ref() {
                    toml::Value::String(text) => text.clone(),
                    v => match number(v) {
                        Some(x) if x.is_finite() => num(x),
                        _ => {
                            return Err(Error::scenario(
                                self.at(&f, value),
                                "an amount is a number or an expression",
                                "write e.g. 1.0 or \"dose0 * wound\"",
                            ));
                        }
                    },
                };
                model.doses.push(Dose {
                    label: f.clone(),
                    species,
                    mode,
                    region: Expr::new(region.clone(), region_at.clone()),
                    amount: Expr::new(amount, self.at(&f, value)),
                });
                actions.push(Action::Dose {
                    dose: model.doses.len() - 1,
                });
            }
        }
        Ok(actions)
    }
}
