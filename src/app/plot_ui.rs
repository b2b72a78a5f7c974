//! Live time series of the model's metrics (both sides in compare mode), with a derived
//! "closure %" when the scenario names its wound-area metric, and CSV export.

use eframe::egui;
use egui_plot::{Legend, Line, LineStyle, Plot, PlotPoints};

use super::ExoApp;
use super::live::History;

/// Which series the plot shows: a metric, or closure % (100 × (1 − area / first area)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Series {
    Metric(usize),
    Closure(usize),
}

/// `series` over time as (time in `unit_h` hours, value) points.
pub fn points(h: &History, series: Series, unit_h: f64) -> Vec<[f64; 2]> {
    let first = |m: usize| h.rows.first().and_then(|r| r.get(m)).copied();
    h.times
        .iter()
        .zip(&h.rows)
        .filter_map(|(t, row)| {
            let y = match series {
                Series::Metric(m) => *row.get(m)?,
                Series::Closure(m) => {
                    let a0 = first(m)?;
                    if a0 <= 0.0 {
                        return None;
                    }
                    100.0 * (1.0 - row.get(m)? / a0)
                }
            };
            Some([t / unit_h, y])
        })
        .collect()
}

/// When `pts` first reaches `level` going up (linear between samples), in the points' unit.
pub fn first_reach(pts: &[[f64; 2]], level: f64) -> Option<f64> {
    if pts.first()?[1] >= level {
        return Some(pts[0][0]);
    }
    pts.windows(2).find_map(|w| {
        let ([t0, y0], [t1, y1]) = (w[0], w[1]);
        (y0 < level && y1 >= level).then(|| t0 + (t1 - t0) * (level - y0) / (y1 - y0))
    })
}

/// The classroom read-out under the plot: for closure, when each side reached 50% and 90%
/// and how much sooner B did; for any series in compare mode, B − A now.
pub fn comparison_text(sides: &[(String, Vec<[f64; 2]>)], closure: bool, unit: &str) -> String {
    let mut parts = vec![];
    if closure {
        for level in [50.0, 90.0] {
            let times: Vec<Option<f64>> =
                sides.iter().map(|(_, p)| first_reach(p, level)).collect();
            let each: Vec<String> = sides
                .iter()
                .zip(&times)
                .map(|((label, _), t)| match t {
                    Some(t) => format!("{label} {t:.2} {unit}"),
                    None => format!("{label} not yet"),
                })
                .collect();
            let mut text = format!("{level:.0}% closed: {}", each.join(", "));
            if let [Some(a), Some(b)] = times[..] {
                let d = a - b;
                text += &format!(
                    " — {} {:.2} {unit} {}",
                    sides[1].0,
                    d.abs(),
                    if d >= 0.0 { "sooner" } else { "later" }
                );
            }
            parts.push(text);
        }
    }
    if let [(label_a, a), (label_b, b)] = sides
        && let (Some([_, ya]), Some([_, yb])) = (a.last(), b.last())
    {
        parts.push(format!("{label_b} − {label_a} now: {:+.4}", yb - ya));
    }
    parts.join(" · ")
}

pub fn plot_panel_ui(app: &mut ExoApp, ui: &mut egui::Ui) {
    let s = &app.session.scenario;
    let names: Vec<String> = s.model.metric_names();
    if names.is_empty() {
        return;
    }
    let closure = s.display.closure_of;
    let unit = s.display.time_unit;
    let id = ui.make_persistent_id("plot_series");
    let default = closure.map(Series::Closure).unwrap_or(Series::Metric(0));
    let mut series: Series = ui.data(|d| d.get_temp(id)).unwrap_or(default);
    egui::Panel::bottom("plot")
        .resizable(true)
        .default_size(190.0)
        .show(ui, |ui| {
            // Wrapped: long labels (two sides, the presentation scale) must not widen the
            // panel past the window and push the plot's legend off screen.
            ui.horizontal_wrapped(|ui| {
                let label = |s: Series| match s {
                    Series::Metric(m) => names[m].clone(),
                    Series::Closure(m) => format!("closure % ({})", names[m]),
                };
                egui::ComboBox::new("series", "plotted")
                    .selected_text(label(series))
                    .show_ui(ui, |ui| {
                        if let Some(m) = closure {
                            ui.selectable_value(
                                &mut series,
                                Series::Closure(m),
                                label(Series::Closure(m)),
                            );
                        }
                        for m in 0..names.len() {
                            ui.selectable_value(
                                &mut series,
                                Series::Metric(m),
                                label(Series::Metric(m)),
                            );
                        }
                    });
                for l in app.session.lives() {
                    if let Some([_, v]) = points(&l.history, series, unit.hours()).last() {
                        ui.label(format!("{}: {v:.4}", l.label));
                    }
                }
                if ui
                    .button("Export CSV")
                    .on_hover_text("the metric series of every side")
                    .clicked()
                {
                    app.queue(super::Command::ExportCsv);
                }
            });
            let lives: Vec<(String, Vec<[f64; 2]>)> = app
                .session
                .lives()
                .map(|l| (l.label.clone(), points(&l.history, series, unit.hours())))
                .collect();
            let text = comparison_text(&lives, matches!(series, Series::Closure(_)), unit.symbol());
            if !text.is_empty() {
                ui.label(text);
            }
            Plot::new("metrics")
                .legend(Legend::default())
                .x_axis_label(format!("time ({})", unit.symbol()))
                .show(ui, |plot| {
                    for (k, (label, pts)) in lives.into_iter().enumerate() {
                        let mut line = Line::new(label, PlotPoints::from(pts));
                        if k == 1 {
                            line = line.style(LineStyle::dashed_loose());
                        }
                        plot.line(line);
                    }
                });
        });
    ui.data_mut(|d| d.insert_temp(id, series));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn milestones_are_interpolated_and_compared() {
        let a = vec![[0.0, 0.0], [2.0, 40.0], [4.0, 60.0], [6.0, 95.0]];
        let b = vec![[0.0, 0.0], [2.0, 50.0], [4.0, 90.0], [6.0, 100.0]];
        assert_eq!(first_reach(&a, 50.0), Some(3.0));
        assert_eq!(first_reach(&a, 90.0), Some(4.0 + 2.0 * 30.0 / 35.0));
        assert_eq!(first_reach(&a, 99.0), None);
        let text = comparison_text(&[("A".into(), a), ("gel".into(), b)], true, "d");
        assert!(
            text.contains("50% closed: A 3.00 d, gel 2.00 d — gel 1.00 d sooner"),
            "{text}"
        );
        assert!(text.contains("gel − A now: +5.0000"), "{text}");
        let one = comparison_text(&[("A".into(), vec![[0.0, 10.0]])], true, "d");
        assert_eq!(one, "50% closed: A not yet · 90% closed: A not yet");
    }
}
