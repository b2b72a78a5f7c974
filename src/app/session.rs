//! What the app is running: a scenario, its live simulation and, in compare mode, a second
//! one that differs by one parameter — same seed, same clock. The clock is paced so that
//! stepping takes at most a frame's budget: the window stays responsive whatever the speed.

use std::time::Instant;

use eframe::egui_wgpu::RenderState;

use super::live::Live;
use crate::error::Result;
use crate::scenario::{Action, Event, Scenario};

/// Wall time per frame the simulation may use (the rest is drawing and input).
pub const FRAME_BUDGET_S: f64 = 0.030;
/// Wall time between metric readings while playing.
const METRICS_EVERY_S: f64 = 0.25;

/// Side B's one difference from side A.
#[derive(Debug, Clone, PartialEq)]
pub struct Difference {
    pub param: String,
    pub value: f64,
    pub a: String,
    pub b: String,
}

pub struct Session {
    /// The scenario as loaded (reset starts it again).
    pub scenario: Scenario,
    /// Where it came from: a preset name or a file path.
    pub name: String,
    pub a: Live,
    pub b: Option<Live>,
    pub difference: Option<Difference>,
    pub playing: bool,
    /// Simulated hours per wall-clock second wanted.
    pub speed: f64,
    /// Simulated hours per wall-clock second of stepping, measured (paces the budget).
    rate: Option<f64>,
    /// What the last frame achieved: simulated hours per wall second, and stepping seconds.
    pub achieved: f64,
    pub step_seconds: f64,
    last_metrics: Instant,
    /// The end was reached once (play then goes on past it).
    pub ended: bool,
}

impl Session {
    pub fn new(rs: &RenderState, scenario: Scenario, name: &str) -> Result<Session> {
        let a = Live::new(rs, &scenario, "A")?;
        let speed = default_speed(&scenario);
        Ok(Session {
            scenario,
            name: name.into(),
            a,
            b: None,
            difference: None,
            playing: false,
            speed,
            rate: None,
            achieved: 0.0,
            step_seconds: 0.0,
            last_metrics: Instant::now(),
            ended: false,
        })
    }

    pub fn time(&self) -> f64 {
        self.a.sim.time()
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
        let s = &self.scenario;
        if let Some(c) = &s.display.compare {
            return Some(Difference {
                param: c.param.clone(),
                value: c.value,
                a: c.a.clone(),
                b: c.b.clone(),
            });
        }
        s.model.params.first().map(|p| Difference {
            param: p.name.clone(),
            value: p.value * 2.0,
            a: format!("{} = {}", p.name, p.value),
            b: format!("{} = {}", p.name, p.value * 2.0),
        })
    }

    /// Turns compare mode on with `diff`: both sides restart from the beginning (same seed,
    /// same clock); side B is the scenario plus a parameter event at time 0.
    pub fn start_compare(&mut self, rs: &RenderState, diff: Difference) -> Result<()> {
        let b_scenario = with_events(
            &self.scenario,
            &[Event {
                at: 0.0,
                action: Action::Param {
                    name: diff.param.clone(),
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
                        name: d.param.clone(),
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
        self.a = a;
        self.b = b;
        self.ended = false;
        self.rate = None;
    }

    /// Steps for this frame: `wall_dt` seconds passed since the last one. Advances by
    /// speed × wall_dt simulated hours, but no more than fits the frame budget at the
    /// measured rate.
    pub fn tick(&mut self, wall_dt: f64) {
        if !self.playing {
            self.achieved = 0.0;
            self.step_seconds = 0.0;
            return;
        }
        let end = self.scenario.time.end;
        let want = self.speed * wall_dt.clamp(0.0, 0.1);
        // At least one engine step per frame (unless less is wanted): a step's fixed costs
        // (quasi-steady solves, checks) must not shrink the pace to nothing.
        let step = self.a.sim.plan().dt;
        let fits = self
            .rate
            .map(|r| r * FRAME_BUDGET_S)
            .unwrap_or(step)
            .max(if step.is_finite() { step } else { 0.0 });
        let mut until = self.time() + want.min(fits).max(1e-12);
        if !self.ended && until >= end {
            until = end;
        }
        self.advance_to(until, wall_dt);
        if !self.ended && self.time() >= end * (1.0 - 1e-12) {
            self.ended = true;
            self.playing = false;
        }
        if self.last_metrics.elapsed().as_secs_f64() >= METRICS_EVERY_S {
            self.record_metrics();
        }
    }

    /// One step of the engine's current plan (the single-step button).
    pub fn single_step(&mut self) {
        let dt = self.a.sim.plan().dt;
        let dt = if dt.is_finite() {
            dt
        } else {
            self.scenario.time.output_every
        };
        self.advance_to(self.time() + dt, 0.0);
        self.record_metrics();
    }

    fn advance_to(&mut self, until: f64, wall_dt: f64) {
        let t0 = self.time();
        let started = Instant::now();
        for l in self.lives_mut() {
            l.advance(until);
        }
        let secs = started.elapsed().as_secs_f64();
        let done = self.time() - t0;
        if done > 0.0 && secs > 0.0 {
            let r = done / secs;
            self.rate = Some(match self.rate {
                Some(old) => 0.7 * old + 0.3 * r,
                None => r,
            });
        }
        self.step_seconds = secs;
        self.achieved = if wall_dt > 0.0 { done / wall_dt } else { 0.0 };
        if self.lives().all(|l| l.stopped.is_some()) {
            self.playing = false;
        }
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

/// A scenario's own speed: its whole run in about 20 s.
pub fn default_speed(s: &Scenario) -> f64 {
    s.time.end / 20.0
}

/// The scenario re-parsed with `events` appended as `[[event]]` tables.
pub fn with_events(s: &Scenario, events: &[Event]) -> Result<Scenario> {
    if events.is_empty() {
        return Ok(s.clone());
    }
    let mut text = s.source.clone();
    for e in events {
        text += &e.to_toml(&s.model);
    }
    Scenario::parse(&text, &s.file)
}
