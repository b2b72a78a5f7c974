//! What a user can do, as data: the panels, keyboard shortcuts and pointer handlers emit
//! [`Command`]s, and [`ExoApp::apply`] carries each out in one place and shows its error —
//! so every action has one implementation, whichever control it came from (and tests drive
//! the app exactly as a user does).

use std::path::PathBuf;

use eframe::egui;

use super::capture::{self, Recorder};
use super::{ExoApp, Shot, Side, Tool};
use crate::scenario::Amounts;

/// A user action.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Play (true) or pause.
    Play(bool),
    /// One engine step.
    Step,
    /// Take back the last brush stroke.
    Undo,
    /// Back to the start; `replay` schedules the interventions made so far again.
    Reset {
        replay: bool,
    },
    /// Simulated hours per wall-clock second.
    SetSpeed(f64),
    /// Compare mode on or off (on: with the difference being edited).
    Compare(bool),
    /// Restart both sides with the difference being edited.
    RestartCompare,
    /// Side B's difference, as edited in the panel (used when compare starts).
    SetDifference {
        param: usize,
        value: f64,
    },
    /// A scenario file path or preset name.
    Open(String),
    /// Scenario text (a dropped file's contents); `label` names it in messages.
    OpenText {
        text: String,
        label: String,
    },
    /// A brush dab at domain point `at` (mm) on `side`.
    Paint {
        at: [f64; 2],
        side: Side,
    },
    /// The pointer was released: the next dab starts a new stroke.
    EndStroke,
    /// Parameter `param` (model order) takes `value` on side A (and B unless it is B's
    /// difference).
    SetParam {
        param: usize,
        value: f64,
    },
    /// The species the colour view shows.
    ShowSpecies(usize),
    /// Where screenshots, recordings and saved states go.
    SetCaptureDir(String),
    Screenshot,
    ToggleRecording,
    SaveState,
    ExportCsv,
    DismissError,
}

impl ExoApp {
    /// Carries out `cmd`; a failure is shown in the error banner (the running simulation
    /// is unaffected).
    pub fn apply(&mut self, cmd: Command) {
        if let Err(e) = self.try_apply(cmd) {
            self.messages.error = Some(e.to_string());
        }
    }

    /// Queues `cmd` to be applied after this frame's panels (so a panel never changes the
    /// session it is drawing).
    pub(super) fn queue(&mut self, cmd: Command) {
        self.commands.push(cmd);
    }

    /// Applies what the panels queued this frame, in order.
    pub(super) fn apply_queued(&mut self) {
        for cmd in std::mem::take(&mut self.commands) {
            self.apply(cmd);
        }
    }

    fn try_apply(&mut self, cmd: Command) -> anyhow::Result<()> {
        match cmd {
            Command::Play(on) => self.session.set_playing(on),
            Command::Step => self.session.single_step(),
            Command::Undo => {
                self.session.undo_stroke()?;
                self.notify("undid the last brush stroke");
            }
            Command::Reset { replay } => self.session.reset(&self.rs, replay)?,
            Command::SetSpeed(s) => self.session.speed = s.max(1e-12),
            Command::Compare(on) => {
                if on != self.session.b.is_some() {
                    self.toggle_compare()?;
                }
            }
            Command::RestartCompare => {
                if self.session.b.is_some() {
                    self.toggle_compare()?;
                }
                self.toggle_compare()?;
            }
            Command::SetDifference { param, value } => {
                self.ui.diff_param = param;
                self.ui.diff_value = value;
            }
            Command::Open(name) => self.switch_to(crate::presets::load(&name), &name)?,
            Command::OpenText { text, label } => {
                self.switch_to(crate::Scenario::parse(&text, &label), &label)?
            }
            Command::Paint { at, side } => self.paint(at, side)?,
            Command::EndStroke => self.session.undo.end_stroke(),
            Command::SetParam { param, value } => self.set_param(param, value)?,
            Command::ShowSpecies(s) => self.show_species(s),
            Command::SetCaptureDir(d) => self.settings.capture_dir = d,
            Command::Screenshot => {
                let path = capture::stamped(&self.settings.capture_dir, "exoderm", ".png");
                self.request_shot(Shot::Save(path));
            }
            Command::ToggleRecording => self.toggle_recording()?,
            Command::SaveState => self.save_state()?,
            Command::ExportCsv => self.export_csv()?,
            Command::DismissError => self.messages.error = None,
        }
        Ok(())
    }

    /// Replaces the running session with `scenario`, or keeps it and says why not.
    fn switch_to(
        &mut self,
        scenario: crate::Result<crate::Scenario>,
        label: &str,
    ) -> anyhow::Result<()> {
        let new = scenario.and_then(|s| super::session::Session::new(&self.rs, s, label))?;
        for l in self.session.lives() {
            l.release(&self.rs);
        }
        self.session = new;
        self.messages.error = None;
        self.adopt_session();
        Ok(())
    }

    fn toggle_compare(&mut self) -> anyhow::Result<()> {
        if self.session.b.is_some() {
            return Ok(self.session.stop_compare(&self.rs)?);
        }
        let model = &self.session.scenario.model;
        let Some(p) = model.params.get(self.ui.diff_param) else {
            anyhow::bail!("this model has no parameters to compare");
        };
        let d = match self.session.default_difference() {
            Some(d) if d.param == self.ui.diff_param && d.value == self.ui.diff_value => d,
            _ => super::session::Difference {
                param: self.ui.diff_param,
                value: self.ui.diff_value,
                a: format!("{} as in the scenario", p.name),
                b: format!("{} = {}", p.name, self.ui.diff_value),
            },
        };
        Ok(self.session.start_compare(&self.rs, d)?)
    }

    /// A dab at domain point `p` (mm) on `side`, with the current tool.
    fn paint(&mut self, p: [f64; 2], side: Side) -> anyhow::Result<()> {
        let s = &self.session.scenario;
        let amounts = match &self.ui.tool {
            Tool::Pan => return Ok(()),
            Tool::Brush(i) => {
                let Some(b) = s.display.brushes.get(*i) else {
                    return Ok(());
                };
                let k = self.settings.brush_amount;
                Amounts {
                    set: b.amounts.set.iter().map(|&(s, v)| (s, v * k)).collect(),
                    add: b.amounts.add.iter().map(|&(s, v)| (s, v * k)).collect(),
                }
            }
            Tool::SetSpecies(sp) => Amounts {
                set: vec![(*sp, self.ui.set_value)],
                add: vec![],
            },
        };
        let radius = self.settings.brush_radius * s.grid.extent[0];
        let on = [side != Side::B, side != Side::A && self.session.b.is_some()];
        let session = &mut self.session;
        for (k, on) in on.into_iter().enumerate() {
            let live = match (k, session.b.as_mut()) {
                (0, _) => &mut session.a,
                (_, Some(b)) => b,
                _ => continue,
            };
            if on {
                session
                    .undo
                    .before_paint(k, live)
                    .and_then(|()| live.paint(p, radius, &amounts))?;
            }
        }
        Ok(())
    }

    /// Changes parameter `param` on side A, and on B unless it is B's difference.
    fn set_param(&mut self, param: usize, value: f64) -> anyhow::Result<()> {
        let diff = self.session.difference.as_ref().map(|d| d.param);
        self.session.a.set_param(param, value)?;
        if let Some(b) = self.session.b.as_mut()
            && diff != Some(param)
        {
            b.set_param(param, value)?;
        }
        Ok(())
    }

    fn toggle_recording(&mut self) -> anyhow::Result<()> {
        match self.capture.recorder.take() {
            Some(r) => {
                let p = r.finish()?;
                self.notify(format!("recording saved: {}", p.display()));
            }
            None => {
                let dir = &self.settings.capture_dir;
                let r = if self.settings.record_gif {
                    std::fs::create_dir_all(dir)
                        .map_err(|e| {
                            crate::Error::io("cannot create", std::path::Path::new(dir), e)
                        })
                        .map(|_| Recorder::gif(capture::stamped(dir, "exoderm", ".gif")))
                } else {
                    Recorder::pngs(capture::stamped(dir, "exoderm", ""))
                };
                self.capture.recorder = Some(r?);
            }
        }
        Ok(())
    }

    /// Saves each side as a run folder `exoderm run --resume DIR` continues: the scenario
    /// with the interventions so far (side B's difference included), the state now (metrics
    /// row, NPY fields) and a checkpoint. In compare mode the folder names carry the labels.
    fn save_state(&mut self) -> anyhow::Result<()> {
        let compare = self.session.b.is_some();
        let capture_dir = self.settings.capture_dir.clone();
        let mut saved = vec![];
        let session = &mut self.session;
        for live in std::iter::once(&mut session.a).chain(session.b.as_mut()) {
            let prefix = if compare {
                let label: String = live
                    .label
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                    .collect();
                format!("exoderm-state-{label}")
            } else {
                "exoderm-state".into()
            };
            let dir: PathBuf = capture::stamped(&capture_dir, &prefix, "");
            super::save_state(live, &dir)?;
            saved.push(dir.display().to_string());
        }
        self.notify(format!(
            "saved: continue with `exoderm run --resume {}`",
            saved.join("` / `")
        ));
        Ok(())
    }

    /// Every side's metric series as CSV files in the capture folder.
    fn export_csv(&mut self) -> anyhow::Result<()> {
        let dir = self.settings.capture_dir.clone();
        let names: Vec<String> = self.session.scenario.model.metric_names();
        let result = (|| -> crate::Result<Vec<String>> {
            std::fs::create_dir_all(&dir)
                .map_err(|e| crate::Error::io("cannot create", std::path::Path::new(&dir), e))?;
            let mut written = vec![];
            for l in self.session.lives() {
                let path = capture::stamped(
                    &dir,
                    &format!("metrics-{}", l.label.replace(['/', ' '], "_")),
                    ".csv",
                );
                crate::output::write_atomic(&path, l.history.to_csv(&names).as_bytes())?;
                written.push(path.display().to_string());
            }
            Ok(written)
        })();
        let w = result?;
        self.notify(format!("metrics saved: {}", w.join(", ")));
        Ok(())
    }

    /// Shows species `s` in the colour view, over its declared range when it has one.
    fn show_species(&mut self, s: usize) {
        let Some(sp) = self.session.scenario.model.species.get(s) else {
            return;
        };
        self.ui.species = s;
        self.ui.fixed_range = sp.range.is_some();
        if let Some(r) = sp.range {
            self.ui.range = [r[0] as f32, r[1] as f32];
        }
    }

    fn request_shot(&mut self, purpose: Shot) {
        let Some(ctx) = self.ctx.clone() else {
            return;
        };
        self.capture.request(&ctx, purpose);
    }
}

/// The keyboard shortcut for Undo.
pub fn undo_shortcut() -> egui::KeyboardShortcut {
    egui::KeyboardShortcut::new(egui::Modifiers::COMMAND, egui::Key::Z)
}
