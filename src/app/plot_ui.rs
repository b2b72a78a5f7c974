//! Live time series of the model's metrics (both sides in compare mode), with a derived
//! "closure %" when the scenario names its wound-area metric, and CSV export.

use eframe::egui;
use egui_plot::{Legend, Line, LineStyle, Plot, PlotPoints};

use super::ExoApp;
use crate::output::series::{Series, comparison_text, points};

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
                    if let Some([_, v]) =
                        points(&l.history.times, &l.history.rows, series, unit.hours()).last()
                    {
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
                .map(|l| {
                    (
                        l.label.clone(),
                        points(&l.history.times, &l.history.rows, series, unit.hours()),
                    )
                })
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
