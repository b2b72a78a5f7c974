//! `metrics.png`: a run's metrics over time, one panel per group — closure % with its 50%
//! and 90% marks when the scenario names its wound-area metric, the model's metrics grouped
//! by their units, and each species' domain mean grouped by the species' units. Both sides
//! of a compare run go on the same panels (B dashed), as in the app's plot.

use plotters::prelude::*;

use super::annotate::{draw_err, spaced};
use super::series::{Series, Table, first_reach, points};
use crate::error::Result;
use crate::model::Model;
use crate::scenario::TimeUnit;

/// One side of a run (a compare run has two): its label and its metrics.csv.
pub struct Side<'a> {
    pub label: &'a str,
    pub table: &'a Table,
}

/// A curve on a panel: colour index, side (B is dashed) and points (time unit, value).
pub struct Curve {
    pub label: String,
    pub colour: usize,
    pub side: usize,
    pub pts: Vec<[f64; 2]>,
}

pub struct Panel {
    pub title: String,
    pub ylabel: String,
    pub curves: Vec<Curve>,
    /// Closure %: draws the 50% and 90% lines and where each side crossed them.
    pub closure: bool,
}

/// The panels of `sides` (each side's metrics.csv has `model`'s columns).
pub fn panels(
    model: &Model,
    closure_of: Option<usize>,
    unit: TimeUnit,
    sides: &[Side],
) -> Vec<Panel> {
    let first_metric = 1 + 4 * model.species.len();
    let names = model.metric_names();
    let label = |name: &str, side: &Side| {
        if sides.len() > 1 {
            format!("{name} ({})", side.label)
        } else {
            name.to_string()
        }
    };
    // Each side's times and full rows, once; a series is a column of them.
    let rows: Vec<(Vec<f64>, &[Vec<f64>])> = sides
        .iter()
        .map(|side| (side.table.times(), side.table.rows.as_slice()))
        .collect();
    let series = |k: usize, s: Series, first: usize| {
        let (times, all) = &rows[k];
        let shift = |m: usize| m + first;
        let s = match s {
            Series::Metric(m) => Series::Metric(shift(m)),
            Series::Closure(m) => Series::Closure(shift(m)),
        };
        points(times, all, s, unit.hours())
    };
    let mut out = vec![];
    if let Some(m) = closure_of {
        out.push(Panel {
            title: format!("closure (from {})", names[m]),
            ylabel: "%".into(),
            curves: sides
                .iter()
                .enumerate()
                .map(|(k, side)| Curve {
                    label: side.label.to_string(),
                    colour: k,
                    side: k,
                    pts: series(k, Series::Closure(m), first_metric),
                })
                .collect(),
            closure: true,
        });
    }
    // Model metrics sharing units on one panel, then species means likewise (first-seen
    // order); one without units gets a panel of its own (no common scale to assume).
    // (kind, units, [(name, column)])
    type Group = (String, String, Vec<(String, usize)>);
    let mut groups: Vec<Group> = vec![];
    let mut add = |kind: &str, units: &str, name: &str, column: usize| {
        let shared = !units.is_empty();
        match groups
            .iter_mut()
            .find(|g| shared && g.0 == kind && g.1 == units)
        {
            Some(g) => g.2.push((name.to_string(), column)),
            None => groups.push((kind.into(), units.into(), vec![(name.to_string(), column)])),
        }
    };
    for (m, name) in names.iter().enumerate() {
        let units = model.metric_units.get(name).map_or("", |u| u.as_str());
        add("", units, name, first_metric + m);
    }
    for (i, sp) in model.species.iter().enumerate() {
        add("mean over the domain", &sp.units, &sp.name, 1 + 4 * i);
    }
    for (kind, units, members) in groups {
        let names: Vec<&str> = members.iter().map(|m| m.0.as_str()).collect();
        let title = match (kind.is_empty(), names.len()) {
            (true, 1) => names[0].to_string(),
            (true, _) => format!("metrics in {units}"),
            (false, 1) => format!("{}: {kind}", names[0]),
            (false, _) => format!("{kind}: {}", names.join(", ")),
        };
        let mut curves = vec![];
        for (c, (name, column)) in members.iter().enumerate() {
            for (k, side) in sides.iter().enumerate() {
                curves.push(Curve {
                    label: label(name, side),
                    colour: c,
                    side: k,
                    pts: series(k, Series::Metric(0), *column),
                });
            }
        }
        out.push(Panel {
            title,
            ylabel: if units.is_empty() {
                "value".into()
            } else {
                units
            },
            curves,
            closure: false,
        });
    }
    out
}

/// Panel size (pixels) and the most curves that get a legend.
const PANEL: (u32, u32) = (560, 340);
const LEGEND_MAX: usize = 10;

fn colour(i: usize) -> RGBColor {
    // Tableau 10: distinct in print and on a projector.
    const C: [(u8, u8, u8); 10] = [
        (31, 119, 180),
        (255, 127, 14),
        (44, 160, 44),
        (214, 39, 40),
        (148, 103, 189),
        (140, 86, 75),
        (227, 119, 194),
        (127, 127, 127),
        (188, 189, 34),
        (23, 190, 207),
    ];
    let (r, g, b) = C[i % C.len()];
    RGBColor(r, g, b)
}

/// metrics.png: `title` over the panels, two columns, time in `unit` on every x-axis.
pub fn render(title: &str, unit: TimeUnit, panels: &[Panel]) -> Result<Vec<u8>> {
    super::register_font();
    let cols = if panels.len() > 1 { 2 } else { 1 };
    let rows = panels.len().div_ceil(cols).max(1);
    let (w, h) = (PANEL.0 * cols as u32, 44 + PANEL.1 * rows as u32);
    let mut rgb = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        let body = root
            .titled(&spaced(title), ("sans-serif", 22))
            .map_err(draw_err)?;
        let areas = body.split_evenly((rows, cols));
        for (panel, area) in panels.iter().zip(&areas) {
            draw_panel(area, panel, unit)?;
        }
        root.present().map_err(draw_err)?;
    }
    super::snapshot::encode_png(&rgb, w as usize, h as usize)
}

fn range(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |a, v| {
            (a.0.min(v), a.1.max(v))
        });
    if lo > hi {
        return None;
    }
    let d = if hi > lo {
        0.05 * (hi - lo)
    } else {
        0.5 * lo.abs().max(1e-9)
    };
    Some((lo - d, hi + d))
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    p: &Panel,
    unit: TimeUnit,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let all = || p.curves.iter().flat_map(|c| c.pts.iter());
    let Some((x0, x1)) = range(all().map(|q| q[0])) else {
        return Ok(());
    };
    let (mut y0, mut y1) = range(all().map(|q| q[1])).unwrap_or((0.0, 1.0));
    if p.closure {
        (y0, y1) = (y0.min(0.0), y1.max(100.0));
    }
    let x0 = x0
        .max(0.0)
        .min(all().map(|q| q[0]).fold(f64::INFINITY, f64::min));
    let mut chart = ChartBuilder::on(area)
        .caption(spaced(&p.title), ("sans-serif", 17))
        .margin(10)
        .x_label_area_size(36)
        .y_label_area_size(64)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .x_desc(spaced(&format!("time ({})", unit.symbol())))
        .y_desc(spaced(&p.ylabel))
        .label_style(("sans-serif", 13))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(draw_err)?;
    if p.closure {
        for level in [50.0, 90.0] {
            chart
                .draw_series(DashedLineSeries::new(
                    [(x0, level), (x1, level)],
                    4,
                    4,
                    BLACK.mix(0.35).stroke_width(1),
                ))
                .map_err(draw_err)?;
        }
    }
    for c in &p.curves {
        let style = colour(c.colour).stroke_width(2);
        let pts: Vec<(f64, f64)> = c
            .pts
            .iter()
            .filter(|q| q[1].is_finite())
            .map(|q| (q[0], q[1]))
            .collect();
        let drawn = if c.side == 0 {
            chart.draw_series(LineSeries::new(pts, style))
        } else {
            chart.draw_series(DashedLineSeries::new(pts, 7, 4, style))
        }
        .map_err(draw_err)?;
        if p.curves.len() <= LEGEND_MAX {
            let legend_style = style;
            let dashed = c.side != 0;
            drawn.label(spaced(&c.label)).legend(move |(x, y)| {
                let end = if dashed { x + 8 } else { x + 18 };
                PathElement::new(vec![(x, y), (end, y)], legend_style)
            });
        }
        if p.closure {
            for level in [50.0, 90.0] {
                if let Some(t) = first_reach(&c.pts, level) {
                    let col = colour(c.colour);
                    let label = spaced(&format!("{t:.1} {}", unit.symbol()));
                    chart
                        .draw_series([EmptyElement::at((t, level))
                            + Circle::new((0, 0), 4, col.filled())
                            + Text::new(
                                label,
                                (6, -18),
                                ("sans-serif", 13).into_font().color(&col),
                            )])
                        .map_err(draw_err)?;
                }
            }
        }
    }
    if p.curves.len() <= LEGEND_MAX {
        chart
            .configure_series_labels()
            .position(if p.closure {
                SeriesLabelPosition::LowerRight
            } else {
                SeriesLabelPosition::UpperRight
            })
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .label_font(("sans-serif", 13))
            .draw()
            .map_err(draw_err)?;
    }
    Ok(())
}
