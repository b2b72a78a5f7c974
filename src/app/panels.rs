//! The controls around the field views: the top bar (time, compare, share), the side panel
//! (scenario, explanation, view, brushes, parameters) and the status line.

use eframe::egui::{self, Color32, RichText};

use super::settings::ViewMode;
use super::{Command, ExoApp, Side, Tool};
use crate::colormap::COLORMAPS;

/// Clock text in the scenario's natural unit.
pub fn clock(app: &ExoApp, hours: f64) -> String {
    let u = app.session.scenario.display.time_unit;
    format!("{:.2} {}", hours / u.hours(), u.symbol())
}

pub fn top_ui(app: &mut ExoApp, ui: &mut egui::Ui) {
    egui::Panel::top("top").show(ui, |ui| {
        ui.horizontal_wrapped(|ui| {
            let playing = app.session.playing;
            if ui
                .button(if playing { "Pause" } else { "Play" })
                .on_hover_text("Space")
                .clicked()
                || ui.input(|i| i.key_pressed(egui::Key::Space))
            {
                app.queue(Command::Play(!playing));
            }
            if ui.button("Step").on_hover_text("one time step").clicked() {
                app.queue(Command::Step);
            }
            let undo_key = super::command::undo_shortcut();
            if ui
                .add_enabled(app.session.undo.can_undo(), egui::Button::new("Undo"))
                .on_hover_text(format!(
                    "take back the last brush stroke ({}): the painted side goes back to just before it",
                    ui.ctx().format_shortcut(&undo_key)
                ))
                .clicked()
                || ui.input_mut(|i| i.consume_shortcut(&undo_key))
            {
                app.queue(Command::Undo);
            }
            if ui
                .button("Reset")
                .on_hover_text("back to the start; your interventions are dropped")
                .clicked()
            {
                app.queue(Command::Reset { replay: false });
            }
            if !app.settings.presentation
                && ui
                    .button("Replay")
                    .on_hover_text("back to the start with your brush strokes and parameter changes scheduled at the times you made them")
                    .clicked()
            {
                app.queue(Command::Reset { replay: true });
            }
            let unit = app.session.scenario.display.time_unit;
            let mut speed = app.session.speed / unit.hours();
            ui.label("speed");
            if ui
                .add(
                    egui::Slider::new(&mut speed, 1e-4..=1e3)
                        .logarithmic(true)
                        .suffix(format!(" {}/s", unit.symbol())),
                )
                .on_hover_text("simulated time per second; the app takes no more than a frame's worth of GPU time per frame, so the window stays responsive")
                .changed()
            {
                app.queue(Command::SetSpeed(speed * unit.hours()));
            }
            let t = app.session.time();
            ui.label(
                RichText::new(format!(
                    "t = {} / {}",
                    clock(app, t),
                    clock(app, app.session.scenario.time.end)
                ))
                .strong()
                .monospace(),
            );
            ui.separator();
            let mut compare = app.session.b.is_some();
            if ui
                .checkbox(&mut compare, "Compare")
                .on_hover_text("two simulations side by side, same seed and clock, one parameter different")
                .changed()
            {
                app.queue(Command::Compare(compare));
            }
            ui.checkbox(&mut app.settings.presentation, "Present")
                .on_hover_text("large text, fewer controls (F11: full screen)");
            if ui.input(|i| i.key_pressed(egui::Key::F11)) {
                let full = ui.input(|i| i.viewport().fullscreen.unwrap_or(false));
                ui.ctx()
                    .send_viewport_cmd(egui::ViewportCommand::Fullscreen(!full));
            }
            ui.separator();
            if ui.button("Screenshot").on_hover_text("the window as a PNG").clicked() {
                app.queue(Command::Screenshot);
            }
            let rec = match app.recording() {
                Some(r) => format!("Stop recording ({} frames)", r.frames()),
                None => "Record".into(),
            };
            if ui
                .button(rec)
                .on_hover_text("record the view while playing (GIF or PNG sequence, see Settings)")
                .clicked()
            {
                app.queue(Command::ToggleRecording);
            }
            if !app.settings.presentation
                && ui
                    .button("Save state")
                    .on_hover_text("save the scenario, your interventions and a checkpoint: `exoderm run --resume DIR` continues it headless")
                    .clicked()
            {
                app.queue(Command::SaveState);
            }
        });
        if let Some(e) = app.messages.error.clone() {
            ui.horizontal(|ui| {
                ui.colored_label(Color32::from_rgb(230, 80, 80), format!("Error: {e}"));
                if ui.small_button("dismiss").clicked() {
                    app.queue(Command::DismissError);
                }
            });
        }
        if let Some(n) = app.notice() {
            ui.colored_label(Color32::from_rgb(90, 190, 120), n);
        }
    });
}

pub fn status_ui(app: &mut ExoApp, ui: &mut egui::Ui) {
    egui::Panel::bottom("status").show(ui, |ui| {
        ui.horizontal_wrapped(|ui| {
            let s = &app.session;
            let plan = s.a.sim.plan();
            let cells = s.scenario.grid.cells() as f64 * s.lives().count() as f64;
            let steps_per_s = if s.step_seconds > 0.0 && plan.dt.is_finite() {
                s.achieved / plan.dt
            } else {
                0.0
            };
            let unit = s.scenario.display.time_unit;
            ui.small(format!(
                "frame {:.1} ms · stepping {:.1} ms · {:.3} {}/s · {:.2e} cell-updates/s · steps {} · dt {} ({}) · {}×{} · {}",
                app.stats.ms,
                s.step_seconds * 1e3,
                s.achieved / unit.hours(),
                unit.symbol(),
                steps_per_s * cells,
                s.a.sim.counters().steps,
                crate::units::format_time(plan.dt),
                plan.limited_by,
                s.scenario.grid.nx,
                s.scenario.grid.ny,
                app.render_state().adapter.get_info().name,
            ));
            // The quasi-steady solve can take many frames on a fine grid (at the start, or
            // after a pause): say so, rather than look frozen.
            if let Some(l) = s
                .lives()
                .find(|l| !l.sim.qs_settled() && l.sim.qs_change() > s.scenario.time.qs_tolerance)
                && !s.moved
            {
                let names: Vec<&str> = s
                    .scenario
                    .model
                    .species
                    .iter()
                    .filter(|sp| sp.quasi_steady)
                    .map(|sp| sp.name.as_str())
                    .collect();
                ui.small(format!(
                    "· solving quasi-steady {}: residual {:.1e}, tolerance {:.0e}",
                    names.join(", "),
                    l.sim.qs_change(),
                    s.scenario.time.qs_tolerance
                ))
                .on_hover_text("these species are re-solved to tolerance every few steps; on a CPU driver with a fine grid that takes a while");
            }
        });
    });
}

pub fn side_ui(app: &mut ExoApp, ui: &mut egui::Ui) {
    egui::Panel::left("side")
        .resizable(true)
        .default_size(330.0)
        .show(ui, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| {
                if !app.settings.presentation {
                    scenario_ui(app, ui);
                }
                explain_ui(app, ui);
                if !app.settings.presentation {
                    view_ui(app, ui);
                }
                brush_ui(app, ui);
                if !app.settings.presentation {
                    compare_ui(app, ui);
                    params_ui(app, ui);
                    settings_ui(app, ui);
                }
            });
        });
}

fn scenario_ui(app: &mut ExoApp, ui: &mut egui::Ui) {
    ui.heading("Scenario");
    let current = app.session.name.clone();
    let mut pick = None;
    egui::ComboBox::new("preset", "preset")
        .width(240.0)
        .selected_text(crate::presets::short_name(&current))
        .show_ui(ui, |ui| {
            for (path, _) in crate::presets::classroom() {
                let name = crate::presets::short_name(path);
                if ui.selectable_label(current == name, name).clicked() {
                    pick = Some(name.to_string());
                }
            }
            ui.separator();
            for (path, _) in crate::presets::SCENARIOS
                .iter()
                .filter(|(p, _)| p.starts_with("assets/examples/"))
            {
                let name = crate::presets::short_name(path);
                if ui
                    .selectable_label(current == name, format!("{name} (example)"))
                    .clicked()
                {
                    pick = Some(name.to_string());
                }
            }
        });
    ui.horizontal(|ui| {
        let edit = ui.add(
            egui::TextEdit::singleline(&mut app.ui.open_path)
                .hint_text("path/to/scenario.toml")
                .desired_width(220.0),
        );
        let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if (ui.button("Open").clicked() || enter) && !app.ui.open_path.trim().is_empty() {
            pick = Some(app.ui.open_path.trim().to_string());
        }
    });
    ui.weak("or drop a scenario file on the window");
    if let Some(p) = pick {
        app.queue(Command::Open(p));
    }
    ui.separator();
}

fn explain_ui(app: &mut ExoApp, ui: &mut egui::Ui) {
    let s = &app.session.scenario;
    let fallback;
    let e = match &s.display.explain {
        Some(e) => e,
        None => {
            fallback = crate::scenario::Explain {
                title: s.model.name.clone(),
                what: s.model.description.clone(),
                ..Default::default()
            };
            &fallback
        }
    };
    // A wrapping heading (a collapsing header would not wrap, and a long title at the
    // presentation scale would widen the panel over the views).
    ui.add(egui::Label::new(RichText::new(&e.title).heading()).wrap());
    for (head, text) in [
        ("What you see", &e.what),
        ("Try", &e.try_),
        ("Watch for", &e.watch),
    ] {
        if !text.is_empty() {
            ui.label(RichText::new(head).strong());
            ui.label(text);
        }
    }
    if !e.source.is_empty() {
        ui.label(
            RichText::new(format!("Source: {}", e.source))
                .small()
                .weak(),
        );
    }
    ui.separator();
}

fn view_ui(app: &mut ExoApp, ui: &mut egui::Ui) {
    ui.heading("View");
    let species: Vec<String> = app
        .session
        .scenario
        .model
        .species
        .iter()
        .map(|s| s.name.clone())
        .collect();
    let mut pick = app.ui.species;
    egui::ComboBox::from_label("species")
        .selected_text(&species[pick])
        .show_ui(ui, |ui| {
            for (k, name) in species.iter().enumerate() {
                let sp = &app.session.scenario.model.species[k];
                ui.selectable_value(&mut pick, k, name)
                    .on_hover_text(&sp.description);
            }
        });
    if pick != app.ui.species {
        app.queue(Command::ShowSpecies(pick));
    }
    if app.session.scenario.display.skin.is_some() {
        ui.horizontal(|ui| {
            ui.selectable_value(&mut app.settings.view_mode, ViewMode::Colormap, "colour");
            ui.selectable_value(&mut app.settings.view_mode, ViewMode::Skin, "skin");
            ui.selectable_value(&mut app.settings.view_mode, ViewMode::Both, "both");
        });
    }
    if app.session.b.is_some() {
        ui.checkbox(&mut app.settings.show_delta, "show B − A")
            .on_hover_text("the difference between the two sides, on a diverging map centred on zero (red: B lower, blue: B higher): where the one difference acts, and by how much");
    }
    let shown = app
        .settings
        .colormap
        .clone()
        .unwrap_or_else(|| app.session.scenario.display.colormap.clone());
    egui::ComboBox::from_label("colour map")
        .selected_text(&shown)
        .show_ui(ui, |ui| {
            for c in COLORMAPS {
                if ui.selectable_label(shown == *c, *c).clicked() {
                    app.settings.colormap = Some(c.to_string());
                }
            }
        });
    ui.horizontal(|ui| {
        let fixed = ui
            .checkbox(&mut app.ui.fixed_range, "fixed range")
            .on_hover_text("colour over this range (the species' own from the scenario, or yours); off: over the field's current min..max, which shows small differences but re-stretches as the field changes");
        if app.ui.fixed_range {
            let speed = ((app.ui.range[1] - app.ui.range[0]).abs() * 0.01).max(1e-6);
            ui.add(egui::DragValue::new(&mut app.ui.range[0]).speed(speed))
                .labelled_by(fixed.id);
            let to = ui.label("to");
            ui.add(egui::DragValue::new(&mut app.ui.range[1]).speed(speed))
                .labelled_by(to.id);
        }
    });
    ui.weak("scroll to zoom, right-drag to pan, double-click to reset");
    if ui.input(|i| {
        i.pointer
            .button_double_clicked(egui::PointerButton::Primary)
    }) {
        app.ui.zoom = 1.0;
        app.ui.center = egui::vec2(0.5, 0.5);
    }
    ui.separator();
}

fn brush_ui(app: &mut ExoApp, ui: &mut egui::Ui) {
    ui.heading("Brush");
    let scenario = app.session.scenario.clone();
    let (brushes, species) = (&scenario.display.brushes, &scenario.model.species);
    ui.radio_value(&mut app.ui.tool, Tool::Pan, "pan / zoom only");
    for (k, b) in brushes.iter().enumerate() {
        let r = ui.radio_value(&mut app.ui.tool, Tool::Brush(k), &b.name);
        if !b.doc.is_empty() {
            r.on_hover_text(&b.doc);
        }
    }
    ui.horizontal(|ui| {
        let set = matches!(app.ui.tool, Tool::SetSpecies(_));
        if ui.radio(set, "set").clicked() && !set {
            app.ui.tool = Tool::SetSpecies(app.ui.species);
        }
        if let Tool::SetSpecies(sp) = &mut app.ui.tool {
            egui::ComboBox::new("set_species", "to")
                .selected_text(&species[*sp].name)
                .width(80.0)
                .show_ui(ui, |ui| {
                    for (k, s) in species.iter().enumerate() {
                        ui.selectable_value(sp, k, &s.name);
                    }
                });
            let label = ui.label("value");
            ui.add(egui::DragValue::new(&mut app.ui.set_value).speed(0.01))
                .labelled_by(label.id);
        } else {
            ui.label("any species to a value");
        }
    });
    let width = app.session.scenario.grid.extent[0];
    let mut radius_mm = app.settings.brush_radius * width;
    if ui
        .add(
            egui::Slider::new(&mut radius_mm, width * 0.005..=width * 0.5)
                .logarithmic(true)
                .text("radius")
                .suffix(" mm"),
        )
        .changed()
    {
        app.settings.brush_radius = radius_mm / width;
    }
    ui.add(
        egui::Slider::new(&mut app.settings.brush_amount, 0.05..=5.0)
            .logarithmic(true)
            .text("amount ×"),
    )
    .on_hover_text("scales the brush's amounts");
    if app.session.b.is_some() {
        ui.horizontal(|ui| {
            ui.label("apply to");
            ui.selectable_value(&mut app.ui.side, Side::A, "A");
            ui.selectable_value(&mut app.ui.side, Side::B, "B");
            ui.selectable_value(&mut app.ui.side, Side::Both, "both");
        });
    }
    let strokes = app.session.a.log.len();
    if strokes > 0 {
        ui.weak(format!(
            "{strokes} intervention(s) recorded — Save state or Replay keeps them"
        ));
    }
    ui.separator();
}

fn compare_ui(app: &mut ExoApp, ui: &mut egui::Ui) {
    ui.heading("Side by side");
    let scenario = app.session.scenario.clone();
    let params = &scenario.model.params;
    if params.is_empty() {
        ui.weak("this model has no parameters");
        return;
    }
    ui.horizontal(|ui| {
        let label = ui.label("B sets");
        let shown = params
            .get(app.ui.diff_param)
            .map_or("", |p| p.name.as_str());
        egui::ComboBox::new("diff_param", "=")
            .selected_text(shown)
            .width(90.0)
            .show_ui(ui, |ui| {
                for (k, p) in params.iter().enumerate() {
                    ui.selectable_value(&mut app.ui.diff_param, k, &p.name);
                }
            });
        ui.add(egui::DragValue::new(&mut app.ui.diff_value).speed(0.01))
            .labelled_by(label.id);
    });
    let label = if app.session.b.is_some() {
        "Restart both with this difference"
    } else {
        "Start side by side"
    };
    if ui.button(label).clicked() {
        app.queue(if app.session.b.is_some() {
            Command::RestartCompare
        } else {
            Command::Compare(true)
        });
    }
    ui.separator();
}

fn params_ui(app: &mut ExoApp, ui: &mut egui::Ui) {
    ui.heading("Parameters");
    // Names, units, ranges and docs are the scenario's; only the values move (side A's).
    let scenario = app.session.scenario.clone();
    let current: Vec<f64> = app.session.a.sim.problem().params.clone();
    let mut changes = vec![];
    egui::Grid::new("params").num_columns(3).show(ui, |ui| {
        for (k, (p, &now)) in scenario.model.params.iter().zip(&current).enumerate() {
            let mut v = now;
            let [lo, hi] = p.range.unwrap_or(if p.value > 0.0 {
                [p.value / 10.0, p.value * 10.0]
            } else if p.value < 0.0 {
                [p.value * 10.0, p.value / 10.0]
            } else {
                [-1.0, 1.0]
            });
            let mut tip = format!("{} [{}]", p.name, p.units);
            if !p.doc.is_empty() {
                tip += &format!("\n{}", p.doc);
            }
            tip += &format!("\ndefault {} · range {lo} … {hi}", p.value);
            if !p.source.is_empty() {
                tip += &format!("\nsource: {}", p.source);
            }
            let label = ui.label(&p.name).on_hover_text(&tip);
            let log = lo > 0.0 && hi / lo >= 20.0;
            let (lo, hi) = (lo.min(v), hi.max(v));
            if ui
                .add(
                    egui::Slider::new(&mut v, lo..=hi)
                        .logarithmic(log)
                        .suffix(format!(" {}", p.units)),
                )
                .labelled_by(label.id)
                .on_hover_text(&tip)
                .changed()
            {
                changes.push((k, v));
            }
            if ui
                .add_enabled(now != p.value, egui::Button::new("reset").small())
                .on_hover_text("back to the scenario's value")
                .clicked()
            {
                changes.push((k, p.value));
            }
            ui.end_row();
        }
    });
    for (param, value) in changes {
        app.queue(Command::SetParam { param, value });
    }
    ui.separator();
}

fn settings_ui(app: &mut ExoApp, ui: &mut egui::Ui) {
    egui::CollapsingHeader::new("Settings")
        .default_open(false)
        .show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.label("captures in");
                ui.text_edit_singleline(&mut app.settings.capture_dir);
            });
            ui.horizontal(|ui| {
                ui.label("record as");
                ui.selectable_value(&mut app.settings.record_gif, true, "GIF");
                ui.selectable_value(&mut app.settings.record_gif, false, "PNG sequence");
            });
            ui.checkbox(&mut app.settings.show_plot, "plot panel");
            ui.checkbox(
                &mut app.settings.show_explain,
                "explanation in presentation mode",
            );
        });
}
