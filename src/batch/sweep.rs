//! Sweep files: a base scenario, the axes to vary (any dotted path into the scenario: a
//! param, a species field, the grid size, the seed, a future treatment option), a design
//! (full grid, random, Latin hypercube) and replicates. Expanded to a deterministic list of
//! runs, every one validated as a scenario before anything runs.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::sample::{self, Rng};
use crate::engine::Problem;
use crate::error::{Error, Location, Result};
use crate::model::Model;
use crate::scenario::{OutputSpec, Scenario};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSweep {
    base: Spanned<String>,
    design: Option<Spanned<String>>,
    samples: Option<Spanned<i64>>,
    replicates: Option<Spanned<i64>>,
    seed: Option<Spanned<i64>>,
    batch: Option<Spanned<i64>>,
    #[serde(default)]
    axis: Vec<Spanned<RawAxis>>,
    #[serde(default)]
    summary: BTreeMap<String, Spanned<RawSummary>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAxis {
    name: Spanned<String>,
    values: Option<Spanned<Vec<toml::Value>>>,
    range: Option<Spanned<Vec<f64>>>,
    count: Option<Spanned<i64>>,
    scale: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSummary {
    column: String,
    crosses: Option<f64>,
    stat: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Design {
    Grid,
    Random,
    Lhs,
}

/// How one summary metric is computed from a run's metrics.csv column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SummaryKind {
    /// First time the column reaches the value (from either side), interpolated; empty if never.
    Crosses(f64),
    Max,
    Min,
    Mean,
    /// Time integral (trapezoid rule), column units × h.
    Integral,
    Final,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SummaryMetric {
    pub name: String,
    pub column: String,
    pub kind: SummaryKind,
}

/// One run of the sweep.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunSpec {
    /// Folder name under `runs/`: the run's index, zero-padded.
    pub id: String,
    pub index: usize,
    pub point: usize,
    pub replicate: usize,
    pub seed: u32,
    /// One value per axis, in axis order.
    pub values: Vec<toml::Value>,
    /// The run's scenario text (base + the point's values + its seed).
    pub scenario: String,
}

/// A run as validated: what the engine runs and how its outputs are written. Runs that
/// differ only in numbers (params, diffusion, seed) share one model.
#[derive(Debug, Clone)]
pub struct RunInput {
    pub problem: Problem,
    pub output: OutputSpec,
}

/// An expanded sweep: what `sweep.json` holds, so shards and `--merge` agree.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Sweep {
    pub file: String,
    pub design: Design,
    pub replicates: usize,
    pub seed: u64,
    pub batch: usize,
    pub axes: Vec<String>,
    pub summary: Vec<SummaryMetric>,
    pub runs: Vec<RunSpec>,
    /// Each run, parsed and validated once at expansion (not in sweep.json: a merge needs
    /// only the summary).
    #[serde(skip)]
    pub inputs: Vec<RunInput>,
}

/// Most runs a sweep may expand to.
pub const MAX_RUNS: usize = 1_000_000;

struct Ctx<'a> {
    file: &'a str,
    text: &'a str,
}

impl Ctx<'_> {
    fn at<T>(&self, field: impl Into<String>, s: &Spanned<T>) -> Location {
        Location {
            file: self.file.into(),
            line: Some(crate::scenario::line_at(self.text, s.span().start)),
            field: field.into(),
        }
    }
}

impl Sweep {
    pub fn load(path: &Path) -> Result<Sweep> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io("cannot read sweep file", path, e))?;
        Sweep::parse(
            &text,
            &path.display().to_string(),
            path.parent().unwrap_or(Path::new(".")),
        )
    }

    /// `dir` is where a relative `base` is looked up.
    pub fn parse(text: &str, file: &str, dir: &Path) -> Result<Sweep> {
        let ctx = Ctx { file, text };
        let raw: RawSweep = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| crate::scenario::line_at(text, s.start));
            Error::scenario(
                Location { file: file.into(), line, field: "(sweep file)".into() },
                e.message().trim().to_string(),
                "a sweep file has base, design, samples, replicates, seed, batch, [[axis]] tables and a [summary] table; see the README",
            )
        })?;

        // The base scenario: a path relative to the sweep file, or a shipped scenario's name.
        let base_path = dir.join(raw.base.get_ref());
        let base_at = ctx.at("base", &raw.base);
        let (base_text, base_file) = if base_path.exists() {
            let t = std::fs::read_to_string(&base_path)
                .map_err(|e| Error::io("cannot read base scenario", &base_path, e))?;
            (t, base_path.display().to_string())
        } else if let Some((p, t)) = crate::presets::find(raw.base.get_ref()) {
            (t.to_string(), p.to_string())
        } else {
            return Err(Error::scenario(
                base_at,
                format!("no scenario file `{}`", base_path.display()),
                "give a path relative to the sweep file, or a shipped scenario's name (exoderm presets)",
            ));
        };
        let base = Scenario::parse(&base_text, &base_file)?;
        let base_doc: toml::Table = toml::from_str(&base_text)
            .map_err(|e| Error::Internal(format!("base reparse: {e}")))?;

        let design = match raw.design.as_ref().map(|d| d.get_ref().as_str()) {
            None | Some("grid") => Design::Grid,
            Some("random") => Design::Random,
            Some("lhs") | Some("latin-hypercube") => Design::Lhs,
            Some(other) => {
                return Err(Error::scenario(
                    ctx.at("design", raw.design.as_ref().unwrap_or(&raw.base)),
                    format!("unknown design `{other}`"),
                    "use design = \"grid\", \"random\" or \"lhs\"",
                ));
            }
        };
        let positive = |v: &Option<Spanned<i64>>, field: &str, default: i64| -> Result<usize> {
            match v {
                None => Ok(default as usize),
                Some(s) if *s.get_ref() >= 1 => Ok(*s.get_ref() as usize),
                Some(s) => Err(Error::scenario(
                    ctx.at(field, s),
                    format!("`{field}` must be at least 1"),
                    format!("write e.g. {field} = {default}"),
                )),
            }
        };
        let replicates = positive(&raw.replicates, "replicates", 1)?;
        let batch = positive(&raw.batch, "batch", 64)?.min(crate::model::expr::MAX_BATCH);
        let samples = match design {
            Design::Grid => None,
            _ => Some(positive(&raw.samples, "samples", 0).and_then(|n| {
                if n == 0 {
                    Err(Error::scenario(
                        ctx.at("design", raw.design.as_ref().unwrap_or(&raw.base)),
                        "random and lhs designs need `samples`",
                        "add e.g. samples = 16",
                    ))
                } else {
                    Ok(n)
                }
            })?),
        };
        let seed = raw.seed.as_ref().map(|s| *s.get_ref()).unwrap_or(0) as u64;

        // Axes.
        if raw.axis.is_empty() && replicates == 1 {
            return Err(Error::scenario(
                ctx.at("base", &raw.base),
                "the sweep has no [[axis]] and one replicate: nothing to vary",
                "add [[axis]] tables (name = \"params.r\", values = [...]) or replicates = N",
            ));
        }
        let mut axes: Vec<(String, AxisValues)> = vec![];
        for (i, a) in raw.axis.iter().enumerate() {
            let a = a.get_ref();
            let name = a.name.get_ref().clone();
            let field = format!("axis[{i}]");
            check_axis_name(&name, &base, &ctx.at(format!("{field}.name"), &a.name))?;
            let values = match (&a.values, &a.range) {
                (Some(v), None) => {
                    if v.get_ref().is_empty() {
                        return Err(Error::scenario(
                            ctx.at(format!("{field}.values"), v),
                            format!("axis `{name}` has no values"),
                            "list at least one value, e.g. values = [0.5, 1.0]",
                        ));
                    }
                    if name == "grid.size" {
                        for val in v.get_ref() {
                            let ok = val.as_array().is_some_and(|a| {
                                a.len() == 2
                                    && a.iter().all(|x| x.as_integer().is_some_and(|n| n >= 2))
                            });
                            if !ok {
                                return Err(Error::scenario(
                                    ctx.at(format!("{field}.values"), v),
                                    format!("grid.size value {val} is not [nx, ny]"),
                                    "write values = [[64, 64], [128, 128]]",
                                ));
                            }
                        }
                    }
                    AxisValues::List(v.get_ref().clone())
                }
                (None, Some(r)) => {
                    let [lo, hi] = r.get_ref()[..] else {
                        return Err(Error::scenario(
                            ctx.at(format!("{field}.range"), r),
                            "a range is [low, high]",
                            "write e.g. range = [0.1, 2.0]",
                        ));
                    };
                    if lo >= hi || lo.is_nan() || hi.is_nan() || !lo.is_finite() || !hi.is_finite()
                    {
                        return Err(Error::scenario(
                            ctx.at(format!("{field}.range"), r),
                            format!("axis `{name}` has an empty range [{lo}, {hi}]"),
                            "write range = [low, high] with low < high",
                        ));
                    }
                    if name == "grid.size" || name == "seed" {
                        return Err(Error::scenario(
                            ctx.at(format!("{field}.range"), r),
                            format!("`{name}` takes a list of values, not a range"),
                            "write values = [...]",
                        ));
                    }
                    let log = match a.scale.as_ref().map(|s| s.get_ref().as_str()) {
                        None | Some("linear") => false,
                        Some("log") => {
                            if lo <= 0.0 {
                                return Err(Error::scenario(
                                    ctx.at(format!("{field}.range"), r),
                                    "a log-scale range must be positive",
                                    "use scale = \"linear\" or a positive range",
                                ));
                            }
                            true
                        }
                        Some(s) => {
                            return Err(Error::scenario(
                                ctx.at(
                                    format!("{field}.scale"),
                                    a.scale.as_ref().unwrap_or(&a.name),
                                ),
                                format!("unknown scale `{s}`"),
                                "use scale = \"linear\" or \"log\"",
                            ));
                        }
                    };
                    let count = match &a.count {
                        Some(c) if *c.get_ref() >= 1 => Some(*c.get_ref() as usize),
                        Some(c) => {
                            return Err(Error::scenario(
                                ctx.at(format!("{field}.count"), c),
                                "`count` must be at least 1",
                                "write e.g. count = 5",
                            ));
                        }
                        None if design == Design::Grid => {
                            return Err(Error::scenario(
                                ctx.at(format!("{field}.range"), r),
                                format!("a grid design needs `count` for the range of `{name}`"),
                                "add e.g. count = 5, or list values = [...]",
                            ));
                        }
                        None => None,
                    };
                    AxisValues::Range { lo, hi, log, count }
                }
                _ => {
                    return Err(Error::scenario(
                        ctx.at(format!("{field}.name"), &a.name),
                        format!("axis `{name}` needs either `values` or `range`"),
                        "write values = [...] or range = [low, high]",
                    ));
                }
            };
            if axes.iter().any(|(n, _)| *n == name) {
                return Err(Error::scenario(
                    ctx.at(format!("{field}.name"), &a.name),
                    format!("axis `{name}` appears twice"),
                    "merge the two axes",
                ));
            }
            axes.push((name, values));
        }

        // Summary metrics, checked against the base's metrics.csv columns.
        let columns: Vec<String> = crate::run::csv_header(&base.model)
            .split(',')
            .map(String::from)
            .collect();
        let mut summary = vec![];
        for (name, s) in &raw.summary {
            let at = ctx.at(format!("summary.{name}"), s);
            let r = s.get_ref();
            if !columns.contains(&r.column) || r.column == "t_h" {
                return Err(Error::scenario(
                    at,
                    format!("no metrics column `{}`", r.column),
                    format!("use one of: {}", columns[1..].join(", ")),
                ));
            }
            let kind = match (r.crosses, r.stat.as_deref()) {
                (Some(v), None) => SummaryKind::Crosses(v),
                (None, Some("max")) => SummaryKind::Max,
                (None, Some("min")) => SummaryKind::Min,
                (None, Some("mean")) => SummaryKind::Mean,
                (None, Some("integral")) => SummaryKind::Integral,
                (None, Some("final")) => SummaryKind::Final,
                _ => {
                    return Err(Error::scenario(
                        at,
                        format!("summary `{name}` needs one of `crosses = value` or `stat`"),
                        "write { column = \"...\", crosses = 50.0 } or { column = \"...\", stat = \"max\" | \"min\" | \"mean\" | \"integral\" | \"final\" }",
                    ));
                }
            };
            summary.push(SummaryMetric {
                name: name.clone(),
                column: r.column.clone(),
                kind,
            });
        }

        // Design points: one value per axis.
        let mut rng = Rng::new(seed);
        let points: Vec<Vec<toml::Value>> = match design {
            Design::Grid => {
                let lists: Vec<Vec<toml::Value>> =
                    axes.iter().map(|(_, v)| v.grid_values()).collect();
                let total: usize = lists.iter().map(Vec::len).product();
                if total * replicates > MAX_RUNS {
                    return Err(Error::scenario(
                        ctx.at("base", &raw.base),
                        format!("the sweep expands to {} runs", total * replicates),
                        format!("keep it under {MAX_RUNS}, e.g. with design = \"lhs\""),
                    ));
                }
                let mut pts = vec![vec![]];
                for list in &lists {
                    pts = pts
                        .into_iter()
                        .flat_map(|p: Vec<toml::Value>| {
                            list.iter().map(move |v| {
                                let mut q = p.clone();
                                q.push(v.clone());
                                q
                            })
                        })
                        .collect();
                }
                pts
            }
            Design::Random | Design::Lhs => {
                let n = samples.unwrap_or(1);
                let unit = if design == Design::Random {
                    sample::random(n, axes.len(), &mut rng)
                } else {
                    sample::latin_hypercube(n, axes.len(), &mut rng)
                };
                unit.into_iter()
                    .map(|u| axes.iter().zip(u).map(|((_, v), x)| v.at(x)).collect())
                    .collect()
            }
        };

        let width = (points.len() * replicates).to_string().len().max(4);
        let mut runs = vec![];
        let mut inputs = vec![];
        let mut models = ModelCache::default();
        for (p, values) in points.iter().enumerate() {
            for rep in 0..replicates {
                let index = p * replicates + rep;
                let id = format!("{index:0width$}");
                let mut doc = base_doc.clone();
                let mut base_seed = seed;
                for ((name, _), v) in axes.iter().zip(values) {
                    if name == "seed" {
                        base_seed = v.as_integer().unwrap_or(0) as u64;
                    }
                    set_path(&mut doc, name, v.clone());
                }
                let run_seed = (base_seed + rep as u64) as u32;
                doc.insert("seed".into(), toml::Value::Integer(run_seed as i64));
                let text = toml::to_string(&doc)
                    .map_err(|e| Error::Internal(format!("sweep run {id}: {e}")))?;
                let label = format!(
                    "{file} run {id} ({})",
                    axes.iter()
                        .zip(values)
                        .map(|((n, _), v)| format!("{n} = {v}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                let sc = Scenario::parse(&text, &label)?;
                let mut problem = sc.problem();
                problem.model = models.share(problem.model);
                inputs.push(RunInput {
                    problem,
                    output: sc.output,
                });
                runs.push(RunSpec {
                    id,
                    index,
                    point: p,
                    replicate: rep,
                    seed: run_seed,
                    values: values.clone(),
                    scenario: text,
                });
            }
        }
        Ok(Sweep {
            file: file.into(),
            design,
            replicates,
            seed,
            batch,
            axes: axes.into_iter().map(|(n, _)| n).collect(),
            summary,
            runs,
            inputs,
        })
    }
}

/// Models seen so far, so that runs whose equations and metadata agree share one (their
/// parameter values and diffusion coefficients live in each run's `Problem`).
#[derive(Default)]
struct ModelCache {
    seen: std::collections::HashMap<String, std::sync::Arc<Model>>,
}

impl ModelCache {
    fn share(&mut self, model: std::sync::Arc<Model>) -> std::sync::Arc<Model> {
        let mut shape = (*model).clone();
        for p in &mut shape.params {
            p.value = 0.0;
        }
        for s in &mut shape.species {
            s.diffusion = 0.0;
        }
        let key = serde_json::to_string(&shape).unwrap_or_default();
        self.seen.entry(key).or_insert(model).clone()
    }
}

enum AxisValues {
    List(Vec<toml::Value>),
    Range {
        lo: f64,
        hi: f64,
        log: bool,
        count: Option<usize>,
    },
}

impl AxisValues {
    fn grid_values(&self) -> Vec<toml::Value> {
        match self {
            AxisValues::List(v) => v.clone(),
            AxisValues::Range { count, .. } => {
                let n = count.unwrap_or(1);
                (0..n)
                    .map(|i| {
                        self.at(if n == 1 {
                            0.0
                        } else {
                            i as f64 / (n - 1) as f64
                        })
                    })
                    .collect()
            }
        }
    }

    /// The value at unit coordinate `u` in [0, 1].
    fn at(&self, u: f64) -> toml::Value {
        match self {
            AxisValues::List(v) => v[((u * v.len() as f64) as usize).min(v.len() - 1)].clone(),
            AxisValues::Range { lo, hi, log, .. } => toml::Value::Float(if *log {
                (lo.ln() + u * (hi.ln() - lo.ln())).exp()
            } else {
                lo + u * (hi - lo)
            }),
        }
    }
}

/// Axis names that must name something in the base scenario (a misspelt param would
/// otherwise silently become a new, unused one).
fn check_axis_name(name: &str, base: &Scenario, at: &Location) -> Result<()> {
    let parts: Vec<&str> = name.split('.').collect();
    match parts.as_slice() {
        ["params", p] if base.model.param_index(p).is_none() => {
            let names: Vec<_> = base.model.params.iter().map(|p| p.name.as_str()).collect();
            return Err(Error::scenario(
                at.clone(),
                format!("unknown parameter `{p}`: the base model has no such param"),
                format!("vary one of: {}", names.join(", ")),
            ));
        }
        ["params", _] => {}
        ["species", s, f] => {
            if base.model.species_index(s).is_none() {
                let names: Vec<_> = base.model.species.iter().map(|s| s.name.as_str()).collect();
                return Err(Error::scenario(
                    at.clone(),
                    format!("unknown species `{s}`"),
                    format!("vary a field of one of: {}", names.join(", ")),
                ));
            }
            if !["diffusion", "initial", "boundary_value", "range", "units"].contains(f) {
                return Err(Error::scenario(
                    at.clone(),
                    format!("species field `{f}` cannot be varied"),
                    "vary species.NAME.diffusion, .initial or .boundary_value",
                ));
            }
        }
        ["species", ..] | ["params", ..] => {
            return Err(Error::scenario(
                at.clone(),
                format!("`{name}` is not a valid path"),
                "write params.NAME or species.NAME.FIELD",
            ));
        }
        [] | [""] => {
            return Err(Error::scenario(
                at.clone(),
                "empty axis name",
                "write e.g. name = \"params.r\"",
            ));
        }
        _ => {}
    }
    Ok(())
}

/// Sets a dotted path in a scenario document. `species.NAME.FIELD` addresses the
/// `[[species]]` entry with that name (creating an override entry for built-in models);
/// `params.NAME` keeps a table param's metadata and sets its `value`.
fn set_path(doc: &mut toml::Table, path: &str, value: toml::Value) {
    let parts: Vec<&str> = path.split('.').collect();
    match parts.as_slice() {
        ["species", name, field] => {
            let arr = doc
                .entry("species")
                .or_insert_with(|| toml::Value::Array(vec![]));
            if let toml::Value::Array(list) = arr {
                let pos = list
                    .iter()
                    .position(|e| e.get("name").and_then(|n| n.as_str()) == Some(name));
                let entry = match pos {
                    Some(i) => &mut list[i],
                    None => {
                        let mut t = toml::Table::new();
                        t.insert("name".into(), toml::Value::String((*name).into()));
                        list.push(toml::Value::Table(t));
                        list.last_mut().expect("just pushed")
                    }
                };
                if let toml::Value::Table(t) = entry {
                    t.insert((*field).into(), value);
                }
            }
        }
        ["params", name] => {
            let params = doc
                .entry("params")
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if let toml::Value::Table(t) = params {
                match t.get_mut(*name) {
                    Some(toml::Value::Table(p)) => {
                        p.insert("value".into(), value);
                    }
                    _ => {
                        t.insert((*name).into(), value);
                    }
                }
            }
        }
        _ => {
            let mut table = doc;
            for key in &parts[..parts.len() - 1] {
                let next = table
                    .entry(*key)
                    .or_insert_with(|| toml::Value::Table(toml::Table::new()));
                let toml::Value::Table(t) = next else { return };
                table = t;
            }
            table.insert(parts[parts.len() - 1].into(), value);
        }
    }
}
