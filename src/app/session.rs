//! What the app is running: a scenario, its live simulation and, in compare mode, a second
//! one that differs by one parameter — same seed, same clock. Each frame does at most a
//! frame's budget of engine work (pieces no longer than about one step: steps sized from
//! each side's measured rate, quasi-steady solves in short blocks), so the window stays
//! responsive whatever the model, grid or speed.

use std::sync::Arc;
use std::time::Instant;

use eframe::egui_wgpu::RenderState;

use super::delta::DeltaView;
use super::live::Live;
use super::undo::Undo;
use crate::error::Result;
pub use crate::scenario::Difference;
use crate::scenario::{Action, Event, Scenario};

/// Wall time per frame the simulation may use (the rest is drawing and input).
pub const FRAME_BUDGET_S: f64 = 0.030;
/// Wall time between metric readings while playing.
const METRICS_EVERY_S: f64 = 0.25;

pub struct Session {
    /// The scenario as loaded (reset starts it again). Shared, so the panels can hold it
    /// while they change the app, without copying the model's tables every frame.
    pub scenario: Arc<Scenario>,
    /// Where it came from: a preset name or a file path.
    pub name: String,
    pub a: Live,
    pub b: Option<Live>,
    pub difference: Option<Difference>,
    pub playing: bool,
    /// Simulated hours per wall-clock second wanted.
    pub speed: f64,
    /// The clock both sides step towards (h); moved on by `speed` once both are there.
    target: f64,
    /// Simulated hours per wall second lately (smoothed), and the last frame's stepping
    /// seconds.
    pub achieved: f64,
    /// Whether the last frame moved the clock.
    pub moved: bool,
    pub step_seconds: f64,
    last_metrics: Instant,
    /// The end was reached once (play then goes on past it).
    pub ended: bool,
    /// Brush strokes that can be taken back.
    pub undo: Undo,
    /// B − A in compare mode.
    pub delta: Option<DeltaView>,
}

impl Session {
    pub fn new(rs: &RenderState, scenario: Scenario, name: &str) -> Result<Session> {
        let a = Live::new(rs, &scenario, "A")?;
        let speed = default_speed(&scenario);
        Ok(Session {
            scenario: Arc::new(scenario),
            name: name.into(),
            a,
            b: None,
            difference: None,
            playing: false,
            speed,
            target: 0.0,
            achieved: 0.0,
            moved: false,
            step_seconds: 0.0,
            last_metrics: Instant::now(),
            ended: false,
            undo: Undo::default(),
            delta: None,
        })
    }

    /// The clock shown: the side furthest behind (both sides reach each target before the
    /// clock moves on, so they are never more than one frame's work apart).
    pub fn time(&self) -> f64 {
        // A side that blew up keeps its last time; the clock follows the ones still running.
        let running = self
            .lives()
            .filter(|l| l.stopped.is_none())
            .map(|l| l.sim.time())
            .fold(f64::INFINITY, f64::min);
        if running.is_finite() {
            running
        } else {
            self.a.sim.time()
        }
    }

    /// Whether every running side has reached the target clock.
    pub fn caught_up(&self) -> bool {
        self.lives()
            .all(|l| l.stopped.is_some() || reached(l.sim.time(), self.target))
    }

    /// Side 0 (A) or 1 (B, in compare mode).
    pub fn live(&self, side: usize) -> Option<&Live> {
        if side == 0 {
            Some(&self.a)
        } else {
            self.b.as_ref()
        }
    }

    pub fn lives(&self) -> impl Iterator<Item = &Live> {
        std::iter::once(&self.a).chain(self.b.as_ref())
    }

    pub fn lives_mut(&mut self) -> impl Iterator<Item = &mut Live> {
        std::iter::once(&mut self.a).chain(self.b.as_mut())
    }

    /// The difference the scenario suggests (its `[view] compare`), else doubling the first
    /// parameter.
    pub fn default_difference(&self) -> Option<Difference> {
        self.scenario.default_difference()
    }

    /// Turns compare mode on with `diff`: both sides restart from the beginning (same seed,
    /// same clock); side B is the scenario plus a parameter event at time 0.
    pub fn start_compare(&mut self, rs: &RenderState, diff: Difference) -> Result<()> {
        let b_scenario = with_events(
            &self.scenario,
            &[Event {
                at: 0.0,
                action: Action::Param {
                    param: diff.param,
                    value: diff.value,
                },
            }],
        )?;
        let a = Live::new(rs, &self.scenario, &diff.a)?;
        let b = Live::new(rs, &b_scenario, &diff.b)?;
        self.replace(rs, a, Some(b));
        self.difference = Some(diff);
        Ok(())
    }

    pub fn stop_compare(&mut self, rs: &RenderState) -> Result<()> {
        let a = Live::new(rs, &self.scenario, "A")?;
        self.replace(rs, a, None);
        self.difference = None;
        Ok(())
    }

    /// Back to time 0 (compare mode kept); `replay` keeps the interventions made so far and
    /// schedules them again, so the same session plays out the same way.
    pub fn reset(&mut self, rs: &RenderState, replay: bool) -> Result<()> {
        let log = |l: &Live| if replay { l.log.clone() } else { vec![] };
        let a_s = with_events(&self.scenario, &log(&self.a))?;
        let a = Live::new(rs, &a_s, &self.a.label)?;
        let b = match (&self.b, &self.difference) {
            (Some(b), Some(d)) => {
                let mut events = vec![Event {
                    at: 0.0,
                    action: Action::Param {
                        param: d.param,
                        value: d.value,
                    },
                }];
                events.extend(log(b));
                Some(Live::new(
                    rs,
                    &with_events(&self.scenario, &events)?,
                    &b.label,
                )?)
            }
            _ => None,
        };
        self.replace(rs, a, b);
        Ok(())
    }

    fn replace(&mut self, rs: &RenderState, a: Live, b: Option<Live>) {
        for l in self.lives() {
            l.release(rs);
        }
        if let Some(d) = self.delta.take() {
            d.release(rs);
        }
        self.delta = b.as_ref().map(|_| DeltaView::new(rs, &a.sim));
        self.a = a;
        self.b = b;
        self.ended = false;
        self.target = self.time();
        self.undo.clear();
    }

    /// Takes back the last brush stroke on the sides it painted (their state, log and
    /// metrics go back to just before it; a side that played on since catches up to the
    /// clock without the stroke).
    pub fn undo_stroke(&mut self) -> Result<()> {
        self.undo.undo([Some(&mut self.a), self.b.as_mut()])
    }

    /// This frame's engine work; `wall_dt` seconds passed since the last frame. While
    /// playing, the target clock moves on by speed × wall_dt once both sides have reached it;
    /// the sides then work towards it for at most [`FRAME_BUDGET_S`] (at least one piece, so
    /// a model slower than the budget still moves, one step a frame). Paused, the sides only
    /// finish what is owed: reaching the target and converging quasi-steady solves.
    pub fn tick(&mut self, wall_dt: f64) {
        let started = Instant::now();
        let t_start = self.time();
        let end = self.scenario.time.end;
        if self.playing && self.caught_up() {
            let want = self.speed * wall_dt.clamp(0.0, 0.1);
            let mut next = self.target.max(t_start) + want.max(1e-12);
            if !self.ended && next >= end {
                next = end;
            }
            self.target = next;
        }
        self.work(started);
        self.step_seconds = started.elapsed().as_secs_f64();
        self.moved = self.time() > t_start;
        // Smoothed over ~10 frames: a slow model alternates frames that step with frames that
        // only solve, and the read-out should not flicker between them.
        let now = if wall_dt > 0.0 {
            (self.time() - t_start).max(0.0) / wall_dt
        } else {
            0.0
        };
        self.achieved = if self.playing || self.moved {
            0.9 * self.achieved + 0.1 * now
        } else {
            0.0
        };
        if self.lives().all(|l| l.stopped.is_some()) {
            self.playing = false;
        }
        if !self.ended && self.caught_up() && reached(self.time(), end) {
            self.ended = true;
            self.playing = false;
        }
        if self.playing && self.last_metrics.elapsed().as_secs_f64() >= METRICS_EVERY_S {
            self.record_metrics();
        }
        // The first row waits for the initial quasi-steady solve.
        for l in self.lives_mut() {
            if l.history.times.is_empty()
                && l.sim.qs_settled()
                && let Err(e) = l.record_metrics()
            {
                l.stopped.get_or_insert(e.to_string());
            }
        }
    }

    /// Pieces of engine work until the budget is spent: the side furthest behind goes
    /// first, with a share of what is left.
    fn work(&mut self, started: Instant) {
        let mut worked = false;
        loop {
            let left = FRAME_BUDGET_S - started.elapsed().as_secs_f64();
            if worked && left <= 0.0 {
                return;
            }
            let target = self.target;
            // (side, its time) of the running sides short of the target.
            let behind: Vec<(usize, f64)> = self
                .lives()
                .enumerate()
                .filter(|(_, l)| l.stopped.is_none() && !reached(l.sim.time(), target))
                .map(|(i, l)| (i, l.sim.time()))
                .collect();
            let Some(&(side, _)) = behind.iter().min_by(|a, b| a.1.total_cmp(&b.1)) else {
                if !self.playing {
                    self.settle(started);
                }
                return;
            };
            let share = left.max(0.0) / behind.len() as f64;
            self.live_mut(side).advance_within(target, share);
            worked = true;
        }
    }

    /// Paused: short blocks of quasi-steady sweeps until every side is converged.
    fn settle(&mut self, started: Instant) {
        for l in self.lives_mut() {
            while started.elapsed().as_secs_f64() < FRAME_BUDGET_S && !l.settle() {}
        }
    }

    fn live_mut(&mut self, side: usize) -> &mut Live {
        match (side, self.b.as_mut()) {
            (1, Some(b)) => b,
            _ => &mut self.a,
        }
    }

    /// Play or pause. Pausing holds the clock where the side furthest ahead is (the other
    /// catches up within a frame or so), not at a target that may lie a frame further.
    pub fn set_playing(&mut self, on: bool) {
        if !on && self.playing {
            self.target = self
                .lives()
                .map(|l| l.sim.time())
                .fold(self.time(), f64::max);
        }
        self.playing = on;
    }

    /// One step of the engine's current plan (the single-step button), taken over the next
    /// frames like any other work.
    pub fn single_step(&mut self) {
        let dt = self.a.sim.plan().dt;
        let dt = if dt.is_finite() {
            dt
        } else {
            self.scenario.time.output_every
        };
        self.target = self.target.max(self.time()) + dt;
    }

    pub fn record_metrics(&mut self) {
        self.last_metrics = Instant::now();
        for l in self.lives_mut() {
            if let Err(e) = l.record_metrics() {
                l.stopped.get_or_insert(e.to_string());
            }
        }
    }
}

/// Whether clock `t` has reached `target` (up to rounding).
fn reached(t: f64, target: f64) -> bool {
    target - t <= 1e-12 * target.abs().max(1.0)
}

/// A scenario's own speed: its whole run in about 20 s.
pub fn default_speed(s: &Scenario) -> f64 {
    s.time.end / 20.0
}

/// The scenario re-parsed with `events` appended as `[[event]]` tables.
pub fn with_events(s: &Scenario, events: &[Event]) -> Result<Scenario> {
    s.with_events(events)
}
