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

pub fn plot_panel_ui(app: &mut ExoApp, ui: &mut egui::Ui) {
    let s = &app.session.scenario;
    let names: Vec<String> = s.model.metrics.iter().map(|m| m.name.clone()).collect();
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
            ui.horizontal(|ui| {
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
                    export(app, &names);
                }
            });
            let lives: Vec<(String, Vec<[f64; 2]>)> = app
                .session
                .lives()
                .map(|l| (l.label.clone(), points(&l.history, series, unit.hours())))
                .collect();
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

fn export(app: &mut ExoApp, names: &[String]) {
    let dir = app.settings.capture_dir.clone();
    let result = (|| -> crate::Result<Vec<String>> {
        std::fs::create_dir_all(&dir)
            .map_err(|e| crate::Error::io("cannot create", std::path::Path::new(&dir), e))?;
        let mut written = vec![];
        for l in app.session.lives() {
            let path = super::capture::stamped(
                &dir,
                &format!("metrics-{}", l.label.replace(['/', ' '], "_")),
                ".csv",
            );
            crate::output::write_atomic(&path, l.history.to_csv(names).as_bytes())?;
            written.push(path.display().to_string());
        }
        Ok(written)
    })();
    match result {
        Ok(w) => app.notify(format!("metrics saved: {}", w.join(", "))),
        Err(e) => app.error = Some(e.to_string()),
    }
}
