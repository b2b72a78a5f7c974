//! Interventions: scheduled `[[event]]`s and live brush strokes, applied between steps.
//! An event at time t is applied as soon as the clock reaches t (at 0: right after the
//! initial conditions), so "applied" is simply `at <= time` — a checkpoint needs no extra
//! state to resume with the same events.

use super::Simulation;
use crate::engine::events::Depositor;
use crate::error::Result;
use crate::scenario::{Action, Amounts};

impl Simulation {
    /// Time tolerance for "the clock has reached the event".
    fn event_eps(t: f64) -> f64 {
        1e-9 * t.abs().max(1.0)
    }

    /// `advance`, stopping at each event time on the way to apply it. Returns early (without
    /// reaching `until`) only under [`QsPace::Deferred`](super::QsPace).
    pub(super) fn advance_through_events(
        &mut self,
        until: f64,
        progress: &mut dyn FnMut(f64),
    ) -> Result<()> {
        loop {
            let eps = Self::event_eps(until);
            let next = self
                .scenarios
                .iter()
                .flat_map(|s| s.events.iter().map(|e| e.at))
                .filter(|&t| t > self.time + eps && t <= until + eps)
                .fold(f64::INFINITY, f64::min);
            let stop = next.min(until);
            if !self.advance_inner(stop, progress)? {
                return Ok(());
            }
            if next.is_finite() {
                let mut enc = self.encoder("events");
                self.apply_due(&mut enc, next)?;
                self.queue.submit([enc.finish()]);
                self.owe_qs();
                self.recheck()?;
            }
            if stop >= until - eps {
                return Ok(());
            }
        }
    }

    /// Applies every run's events scheduled at `t`, deposits encoded into `enc`.
    pub(super) fn apply_due(&mut self, enc: &mut wgpu::CommandEncoder, t: f64) -> Result<()> {
        let eps = Self::event_eps(t);
        for run in 0..self.scenarios.len() {
            let due: Vec<Action> = self.scenarios[run]
                .events
                .iter()
                .filter(|e| (e.at - t).abs() <= eps)
                .map(|e| e.action.clone())
                .collect();
            for action in due {
                match action {
                    Action::Deposit {
                        center,
                        radius,
                        amounts,
                    } => self.encode_deposit(enc, run, center, radius, &amounts),
                    Action::Param { name, value } => self.set_param(run, &name, value)?,
                }
            }
        }
        Ok(())
    }

    fn encode_deposit(
        &mut self,
        enc: &mut wgpu::CommandEncoder,
        run: usize,
        center: [f64; 2],
        radius: f64,
        amounts: &Amounts,
    ) {
        let depositor = self
            .depositor
            .get_or_insert_with(|| Depositor::new(&self.device));
        depositor.encode(
            &self.device,
            &self.queue,
            enc,
            &self.planes.sets[self.current],
            &self.scenarios[run].grid,
            run,
            center,
            radius,
            amounts,
        );
    }

    /// A deposit now (a brush stroke): inside the circle (centre, radius in mm) of run
    /// `run`, `set` amounts replace the values and `add` amounts are added. Record it as an
    /// [`Event`](crate::scenario::Event) to replay it.
    pub fn deposit(
        &mut self,
        run: usize,
        center: [f64; 2],
        radius: f64,
        amounts: &Amounts,
    ) -> Result<()> {
        let mut enc = self.encoder("brush");
        self.encode_deposit(&mut enc, run, center, radius, amounts);
        self.queue.submit([enc.finish()]);
        self.owe_qs();
        self.recheck()
    }

    /// After an intervention: the blow-up check and the reaction-rate probe at once, so a
    /// deposit that makes the reactions stiffer shrinks the step before the next one.
    fn recheck(&mut self) -> Result<()> {
        self.write_service_records();
        let mut enc = self.encoder("check");
        self.encode_check(&mut enc);
        self.queue.submit([enc.finish()]);
        let flags = self.read_flags()?;
        let t = self.time;
        self.process_flags(flags, t)
    }
}
