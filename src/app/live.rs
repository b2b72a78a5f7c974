//! One live simulation in the app: the engine's `Simulation` on eframe's device, its views
//! (colour map and skin, GPU textures registered once with egui_wgpu), a non-blocking probe
//! for the legend and the hover read-out, the metric history for the plots and the log of
//! what the user did to it (brush strokes, parameter changes) as replayable events.

use eframe::egui_wgpu::RenderState;
use eframe::{egui, wgpu};

use super::view::{FieldView, Look, Probe, ProbeResult};
use crate::engine::{QsPace, Simulation};
use crate::error::Result;
use crate::scenario::{Action, Amounts, Event, Scenario};

/// Metric values over time, plus "closure %" when the scenario names the metric.
#[derive(Debug, Default, Clone)]
pub struct History {
    pub times: Vec<f64>,
    /// One row per time, one value per metric.
    pub rows: Vec<Vec<f64>>,
}

impl History {
    /// CSV: `t_h`, then every metric.
    pub fn to_csv(&self, names: &[String]) -> String {
        let mut out = String::from("t_h");
        for n in names {
            out += ",";
            out += n;
        }
        out.push('\n');
        for (t, row) in self.times.iter().zip(&self.rows) {
            out += &format!("{t:?}");
            for v in row {
                out += &format!(",{v:?}");
            }
            out.push('\n');
        }
        out
    }
}

pub struct Live {
    /// What this side runs (its interventions so far are in `log`).
    pub scenario: Scenario,
    pub label: String,
    pub sim: Simulation,
    color: FieldView,
    skin: Option<FieldView>,
    pub color_tex: egui::TextureId,
    pub skin_tex: Option<egui::TextureId>,
    probe: Probe,
    /// The last numbers the probe brought back.
    pub probed: ProbeResult,
    pub history: History,
    /// The derived metrics' memory (see model::derived).
    pub tracker: crate::model::derived::Tracker,
    /// Interventions made live, as events at the time they happened.
    pub log: Vec<Event>,
    /// Why the run stopped (blow-up), if it did.
    pub stopped: Option<String>,
    /// Measured engine speed, to size each frame's steps.
    pace: Pace,
}

/// Simulated hours per second of engine work, averaged with a decay over recent pieces
/// (quasi-steady blocks that advance no time count as time spent).
#[derive(Debug, Default, Clone, Copy)]
struct Pace {
    hours: f64,
    seconds: f64,
}

impl Pace {
    fn observe(&mut self, hours: f64, seconds: f64) {
        self.hours = 0.8 * self.hours + hours;
        self.seconds = 0.8 * self.seconds + seconds;
    }

    /// 0 until measured (the caller then takes one step).
    fn rate(&self) -> f64 {
        if self.seconds > 0.0 {
            self.hours / self.seconds
        } else {
            0.0
        }
    }
}

impl Live {
    pub fn new(rs: &RenderState, scenario: &Scenario, label: &str) -> Result<Live> {
        let sim = Simulation::paced(&super::gpu(rs), &scenario.problem(), QsPace::Deferred)
            .map_err(|e| scenario.locate(e))?;
        let color = FieldView::new(&rs.device, &sim);
        let skin = scenario
            .display
            .skin
            .map(|_| FieldView::new(&rs.device, &sim));
        let mut renderer = rs.renderer.write();
        let color_tex = renderer.register_native_texture(
            &rs.device,
            &color.sample_view,
            wgpu::FilterMode::Nearest,
        );
        let skin_tex = skin.as_ref().map(|v| {
            renderer.register_native_texture(&rs.device, &v.sample_view, wgpu::FilterMode::Linear)
        });
        drop(renderer);
        let probe = Probe::new(&rs.device, &sim);
        let mut live = Live {
            scenario: scenario.clone(),
            label: label.into(),
            sim,
            color,
            skin,
            color_tex,
            skin_tex,
            probe,
            probed: ProbeResult::default(),
            history: History::default(),
            tracker: Default::default(),
            log: vec![],
            stopped: None,
            pace: Pace::default(),
        };
        if live.sim.qs_settled() {
            live.record_metrics()?;
        }
        Ok(live)
    }

    /// Frees the textures registered with egui (the GPU objects drop with `self`).
    pub fn release(&self, rs: &RenderState) {
        let mut renderer = rs.renderer.write();
        renderer.free_texture(&self.color_tex);
        if let Some(t) = self.skin_tex {
            renderer.free_texture(&t);
        }
    }

    /// Encodes this frame's pictures and, when none is in flight, a probe of `cell`.
    /// Returns whether a probe was requested (call [`Live::after_submit`]).
    pub fn encode_views(
        &mut self,
        rs: &RenderState,
        enc: &mut wgpu::CommandEncoder,
        look: &Look,
        cell: Option<[u32; 2]>,
    ) -> bool {
        self.color.encode(&rs.queue, enc, &self.sim, 0, look);
        if let (Some(view), Some(skin)) = (&mut self.skin, self.scenario.display.skin) {
            view.encode(&rs.queue, enc, &self.sim, 0, &Look::Skin(skin));
        }
        self.probe.request(enc, &self.color, &self.sim, 0, cell)
    }

    pub fn after_submit(&mut self, requested: bool) {
        if requested {
            self.probe.submitted();
        }
    }

    /// Takes the probe's numbers if they arrived (never waits).
    pub fn poll_probe(&mut self, device: &wgpu::Device) {
        if let Some(r) = self.probe.poll(device) {
            self.probed = r;
        }
    }

    /// Reads the model's metrics now (a small blocking readback: call a few times a second,
    /// not every frame).
    pub fn record_metrics(&mut self) -> Result<()> {
        if self.scenario.model.metrics.is_empty() {
            return Ok(());
        }
        let t = self.sim.time();
        if self.history.times.last() == Some(&t) {
            return Ok(());
        }
        let m = self.sim.read_metrics()?;
        // With the derived metrics (closure %, time integrals) as the run writes them.
        let m = self.tracker.row(&self.scenario.model, t, &m);
        self.history.times.push(t);
        self.history.rows.push(m);
        Ok(())
    }

    /// Advances towards `target` (h) for about `seconds` of engine work (at least one
    /// piece: a step or a block of quasi-steady sweeps), unless stopped; a blow-up stops
    /// this run and is kept.
    pub fn advance_within(&mut self, target: f64, seconds: f64) {
        if self.stopped.is_some() {
            return;
        }
        let t0 = self.sim.time();
        let step = self.sim.plan().dt;
        let reach = (self.pace.rate() * seconds).max(if step.is_finite() {
            step
        } else {
            f64::INFINITY
        });
        let started = std::time::Instant::now();
        if let Err(e) = self.sim.advance((t0 + reach).min(target), &mut |_| {}) {
            self.stopped = Some(self.scenario.locate(e).to_string());
        }
        self.pace
            .observe(self.sim.time() - t0, started.elapsed().as_secs_f64());
    }

    /// One block of quasi-steady sweeps if the solve is owed; whether it is converged.
    pub fn settle(&mut self) -> bool {
        if self.stopped.is_some() {
            return true;
        }
        match self.sim.settle_qs() {
            Ok(done) => done,
            Err(e) => {
                self.stopped = Some(e.to_string());
                true
            }
        }
    }

    /// A brush stroke: deposits now and logs it as an event.
    pub fn paint(&mut self, center: [f64; 2], radius: f64, amounts: &Amounts) -> Result<()> {
        self.sim.deposit(0, center, radius, amounts)?;
        self.log.push(Event {
            at: self.sim.time(),
            action: Action::Deposit {
                center,
                radius,
                amounts: amounts.clone(),
            },
        });
        Ok(())
    }

    /// A change of parameter `param` (model order) from now on, logged as an event.
    pub fn set_param(&mut self, param: usize, value: f64) -> Result<()> {
        self.sim.set_param(0, param, value)?;
        let at = self.sim.time();
        // Dragging a slider sends many values: keep the last one per time.
        if let Some(Event {
            at: last_at,
            action: Action::Param { param: p, value: v },
        }) = self.log.last_mut()
            && *last_at == at
            && *p == param
        {
            *v = value;
            return Ok(());
        }
        self.log.push(Event {
            at,
            action: Action::Param { param, value },
        });
        Ok(())
    }

    /// The scenario text with this run's interventions appended as `[[event]]` tables: it
    /// replays them in `exoderm run` (and when resumed from a checkpoint, the ones before
    /// the checkpoint are already in its fields).
    pub fn scenario_with_log(&self) -> String {
        let s = &self.scenario;
        let mut text = s.source.clone();
        if !self.log.is_empty() {
            text += "\n# Interventions recorded in the exoderm app (brush strokes, parameter changes).\n";
            for e in &self.log {
                text += &e.to_toml(&s.model);
            }
        }
        text
    }
}
