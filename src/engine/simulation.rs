//! A running simulation: fields on the GPU, advanced in batches of many dispatches per
//! submit, checked for blow-ups between batches, read back only when asked.
//!
//! One `Simulation` can hold several *runs* that share a [`BatchKey`](super::BatchKey)
//! but not their numbers (params, seed, what events do): each run is one z-slice of every
//! buffer, so a sweep of small runs fills the GPU with one dispatch per step instead of one
//! tiny dispatch per run. A single run is the batch of one.
//!
//! The concerns live in their own types: [`Core`] (device, pipelines, buffers, scheme,
//! quasi-steady solver, the current set), [`Controller`] (step plans), [`StepDoubling`]
//! (adaptive control), `monitor` (the check between batches), `events` (interventions).

use std::time::Instant;

use super::adaptive::StepDoubling;
pub use super::checkpoint::{Checkpoint, Counters};
use super::controller::ErrorControl;
use super::controller::{self, Controller};
use super::events::{self, Depositor};
use super::gpu::Gpu;
use super::kernels::{Kernel, Kernels, Needs};
use super::monitor::{self, Checked};
use super::plan::StepPlan;
use super::problem::{Action, Amounts, Problem};
use super::quasi_steady::{CHECK_EVERY, QsPace, QsSolver};
use super::resources::{self, Current, Resources};
pub use super::runs::Runs;
use super::schemes::Family;
use super::schemes::{Encoding, Stepper};
use super::stepping::Core;
use crate::error::{Blowup, Error, Result};
use crate::model::expr::MAX_BATCH;

pub struct Simulation {
    core: Core,
    runs: Runs,
    ctl: Controller,
    /// Euler's step doubling, when asked for.
    doubling: Option<StepDoubling>,
    /// The stabilized schemes' error control.
    rk: Option<ErrorControl>,
    /// The deposit kernel, built on the first event or brush stroke.
    depositor: Option<Depositor>,
}

impl Simulation {
    /// Uploads one problem's fields and builds its pipelines on a borrowed device.
    pub fn new(gpu: &Gpu, problem: &Problem) -> Result<Simulation> {
        Simulation::build(gpu, std::slice::from_ref(problem), QsPace::EveryAdvance)
    }

    /// One run, paced for an interactive caller: with [`QsPace::Deferred`] even the initial
    /// quasi-steady solve is left to the first `advance`/`settle_qs` calls, so building
    /// the simulation never waits for thousands of sweeps.
    pub fn paced(gpu: &Gpu, problem: &Problem, pace: QsPace) -> Result<Simulation> {
        Simulation::build(gpu, std::slice::from_ref(problem), pace)
    }

    /// Several runs in one simulation; they must share a [`BatchKey`](super::BatchKey).
    pub fn batch(gpu: &Gpu, problems: &[Problem]) -> Result<Simulation> {
        Simulation::build(gpu, problems, QsPace::EveryAdvance)
    }

    fn build(gpu: &Gpu, problems: &[Problem], pace: QsPace) -> Result<Simulation> {
        let Some(first) = problems.first() else {
            return Err(Error::Internal(
                "a simulation needs at least one run".into(),
            ));
        };
        if problems.len() > MAX_BATCH {
            return Err(Error::Internal(format!(
                "at most {MAX_BATCH} runs per batch"
            )));
        }
        let key = first.batch_key();
        if problems.iter().any(|p| p.batch_key() != key) {
            return Err(Error::Internal(
                "runs in one batch must share a batch key (equations, grid, clock, numerics)"
                    .into(),
            ));
        }
        let runs = problems.len();
        resources::check_limits(&first.model, &first.grid, runs, &gpu.limits, &gpu.name)?;
        let stabilized = Family::of(first.numerics.scheme).is_some();
        let adaptive = first.numerics.tolerance.is_some() && !stabilized;
        let kernels = Kernels::new(
            gpu,
            &first.model,
            &Needs::of(&first.model, stabilized, adaptive),
            runs > 1,
        )?;
        // The stabilized schemes' stage rotation and slopes; step doubling keeps a saved
        // state and a full-step result.
        let scratch = if stabilized {
            super::schemes::stabilized::SCRATCH
        } else if adaptive {
            2
        } else {
            0
        };
        let res = Resources::new(gpu, &kernels, problems, scratch)?;
        let stepper = Stepper::new(gpu, &res, &kernels, first);
        let rates = stabilized.then(|| [&res.fields.scratch[3], &res.fields.scratch[4]]);
        let qs = QsSolver::new(gpu, &res, &kernels, first, pace, rates);
        let core = Core {
            gpu: gpu.clone(),
            kernels,
            res,
            stepper,
            qs,
            current: Current::default(),
        };
        let doubling = adaptive
            .then(|| {
                first
                    .numerics
                    .tolerance
                    .map(|tol| StepDoubling::new(&core, tol))
            })
            .flatten();
        let mut sim = Simulation {
            ctl: Controller::new(first, runs)?,
            core,
            runs: Runs {
                problems: problems.to_vec(),
                failed: vec![None; runs],
                counters: Counters::default(),
                time: 0.0,
                atol: problems.iter().map(|p| p.atol(&[])).collect(),
                decay: vec![0.0; first.model.species.len()],
            },
            doubling,
            rk: None,
            depositor: None,
        };
        sim.initialise()?;
        Ok(sim)
    }

    fn live(&self) -> Vec<bool> {
        self.runs.live()
    }

    /// Evaluates the initial conditions on the GPU into set 0 and plans the step from them.
    fn initialise(&mut self) -> Result<()> {
        let c = &mut self.core;
        c.res.records.write_service(&c.gpu, 0.0);
        let mut e = Encoding::new(&c.gpu, &c.res, "init");
        // "From set 1" writes set 0.
        let init = c.kernels.get(Kernel::Init)?;
        e.pass(
            &c.res,
            "exoderm.init",
            &[(init, &c.res.from[1], c.res.records.service(0))],
        );
        c.current.set(0);
        self.apply_due(&mut e, 0.0)?;
        e.submit(&self.core.gpu, &self.core.res);
        self.settle_initial_qs()?;
        let c = &self.core;
        let checked = monitor::check_now(&c.gpu, &c.res, &c.kernels, c.current, 0.0)?;
        for (r, ch) in checked.iter().enumerate() {
            let p = &self.runs.problems[r];
            if ch.nan | ch.runaway != 0 {
                return Err(monitor::initial_not_finite(p, ch));
            }
            self.ctl.plans[r] = StepPlan::for_problem(p, ch.rate, ch.soft)?;
            for (d, &c) in self.runs.decay.iter_mut().zip(&ch.decay) {
                *d = d.max(c);
            }
        }
        self.ctl.combine(&self.live());
        if Family::of(self.runs.problems[0].numerics.scheme).is_some() {
            // The error control, with tolerances from each species' initial extent.
            let mut rk = ErrorControl::new(self.ctl.plan.dt);
            super::stabilized_driver::retune(&self.core, &mut self.runs, &mut rk, &checked);
            self.rk = Some(rk);
        }
        Ok(())
    }

    fn settle_initial_qs(&mut self) -> Result<()> {
        match self.core.qs.as_mut() {
            Some(qs) if qs.pace == QsPace::Deferred => qs.owe(),
            _ => self.converge_qs()?,
        }
        Ok(())
    }

    /// Advances to `until` (h), calling `progress(time)` after every batch. A run that blows
    /// up is stopped (see [`Simulation::run_error`]); the others go on. Returns an error when
    /// no run is left (for a single run: its blow-up). Scheduled events apply when the clock
    /// reaches them. Under [`QsPace::Deferred`] it may return early, after a block of
    /// quasi-steady sweeps.
    pub fn advance(&mut self, until: f64, progress: &mut dyn FnMut(f64)) -> Result<()> {
        let started = Instant::now();
        let result = self.advance_through_events(until, progress);
        self.runs.counters.seconds += started.elapsed().as_secs_f64();
        result
    }

    /// `advance`, stopping at each event time on the way to apply it.
    fn advance_through_events(&mut self, until: f64, progress: &mut dyn FnMut(f64)) -> Result<()> {
        loop {
            let next = events::next_time(&self.runs.problems, self.runs.time, until);
            let stop = next.unwrap_or(until).min(until);
            if !self.advance_inner(stop, progress)? {
                return Ok(());
            }
            if let Some(t) = next {
                let mut e = Encoding::new(&self.core.gpu, &self.core.res, "events");
                self.apply_due(&mut e, t)?;
                e.submit(&self.core.gpu, &self.core.res);
                self.owe_qs();
                self.recheck()?;
            }
            if stop >= until - events::eps(until) {
                return Ok(());
            }
        }
    }

    /// Applies every run's events scheduled at `t`, deposits and doses encoded into `e` (in
    /// list order; param changes are written before `e` is submitted, so a dose at the same
    /// time sees the new value).
    fn apply_due(&mut self, e: &mut Encoding, t: f64) -> Result<()> {
        for run in 0..self.runs.problems.len() {
            let due: Vec<Action> = events::due(&self.runs.problems[run], t)
                .map(|e| e.action.clone())
                .collect();
            for action in due {
                match action {
                    Action::Deposit {
                        center,
                        radius,
                        amounts,
                    } => self.encode_deposit(&mut e.enc, run, center, radius, &amounts),
                    Action::Param { param, value } => self.set_param(run, param, value)?,
                    Action::Dose { dose } => self.encode_dose(e, run, dose, t)?,
                }
            }
        }
        Ok(())
    }

    /// Dose `dose` of the model into run `run` at time `t`: a `total` dose counts its
    /// region's cells first, then every dose is applied where its region holds.
    fn encode_dose(&mut self, e: &mut Encoding, run: usize, dose: usize, t: f64) -> Result<()> {
        let c = &self.core;
        let d = c.kernels.get(Kernel::DoseApply)?;
        let sets = &c.res.fields.sets;
        let group = c.res.group(
            &c.gpu,
            &c.kernels.dose_layout,
            &[
                (3, &sets[c.current.index()]),
                (4, &sets[c.current.other()]),
                (5, &c.res.fields.aux),
            ],
            "dose",
        );
        let rec = super::uniforms::StepUniform {
            t: t as f32,
            sel: dose as u32,
            pad0: run as u32,
            ..bytemuck::Zeroable::zeroed()
        };
        let offset = e.records.push(&rec)?;
        let total = self.runs.problems[run]
            .model
            .doses
            .get(dose)
            .ok_or_else(|| Error::Internal(format!("no dose #{dose}")))?
            .mode
            == crate::model::DoseMode::Total;
        if total {
            let word = (super::layout::FLAG_WORDS * run as u64
                + super::layout::word::DOSE_CELLS as u64)
                * 4;
            e.enc.clear_buffer(&c.res.fields.aux, word, Some(4));
            let count = c.kernels.get(Kernel::DoseCount)?;
            e.pass(&c.res, "exoderm.dose.count", &[(count, &group, offset)]);
        }
        e.pass(&c.res, "exoderm.dose", &[(d, &group, offset)]);
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
        let c = &self.core;
        let depositor = self
            .depositor
            .get_or_insert_with(|| Depositor::new(&c.gpu.device));
        depositor.encode(
            &c.gpu,
            enc,
            [
                &c.res.fields.sets[c.current.index()],
                &c.res.fields.sets[c.current.other()],
            ],
            &self.runs.problems[run].grid,
            c.res.fields.runs,
            run,
            center,
            radius,
            amounts,
        );
    }

    /// A deposit now (a brush stroke): inside the circle (centre, radius in mm) of run
    /// `run`, `set` amounts replace the values and `add` amounts are added. Record it as an
    /// [`Event`](super::Event) to replay it.
    pub fn deposit(
        &mut self,
        run: usize,
        center: [f64; 2],
        radius: f64,
        amounts: &Amounts,
    ) -> Result<()> {
        let mut enc = self.core.gpu.encoder("brush");
        self.encode_deposit(&mut enc, run, center, radius, amounts);
        self.core.gpu.queue.submit([enc.finish()]);
        self.owe_qs();
        self.recheck()
    }

    /// After an intervention: the blow-up check and the reaction-rate probe at once, so a
    /// deposit that makes the reactions stiffer shrinks the step before the next one.
    fn recheck(&mut self) -> Result<()> {
        self.state_changed();
        let c = &self.core;
        let checked = monitor::check_now(&c.gpu, &c.res, &c.kernels, c.current, self.runs.time)?;
        let t = self.runs.time;
        self.process_checks(&checked, t)
    }

    /// Steps to `until`; returns whether it got there (with [`QsPace::Deferred`] it may stop
    /// early, after a block of quasi-steady sweeps).
    fn advance_inner(&mut self, until: f64, progress: &mut dyn FnMut(f64)) -> Result<bool> {
        if let Some(rk) = self.rk.as_mut() {
            let reached = super::stabilized_driver::advance(
                &mut self.core,
                &mut self.runs,
                rk,
                &mut self.ctl.plan,
                until,
                progress,
            )?;
            return self.all_stopped().map(|()| reached);
        }
        let reached = |t: f64| until - t <= 1e-12 * until.abs().max(1.0);
        while !reached(self.runs.time) {
            if self.runs.failed.iter().all(Option::is_some) {
                break;
            }
            if self.core.qs.as_ref().is_some_and(QsSolver::due) && !self.qs_block()? {
                return Ok(false);
            }
            let t_before = self.runs.time;
            if let Some(doubling) = &self.doubling {
                let live = self.live();
                let probe = doubling.step(
                    &mut self.core,
                    &mut self.ctl,
                    &self.runs.problems[0],
                    self.runs.time,
                    until,
                    &live,
                )?;
                self.runs.time = probe.time;
                self.runs.counters.steps += probe.steps;
                self.runs.counters.dispatches += probe.dispatches;
                self.runs.counters.accepted += probe.accepted;
                self.runs.counters.rejected += probe.rejected;
            }
            let mut e = Encoding::new(&self.core.gpu, &self.core.res, "steps");
            if !reached(self.runs.time) {
                let (n_total, dt) = self.ctl.split(until - self.runs.time);
                // Error estimates and quasi-steady convergence checks come once per batch.
                let batch = if self.doubling.is_some() || self.core.qs.is_some() {
                    CHECK_EVERY
                } else {
                    let cells = self.core.res.fields.cells * self.core.res.fields.runs as u64;
                    controller::batch_steps(cells, self.core.records_per_step(&self.ctl.plan))
                };
                let k = n_total.min(batch);
                let plan = self.ctl.plan.clone();
                self.core.encode_steps(
                    &mut e,
                    &plan,
                    &self.runs.problems[0],
                    self.runs.time,
                    k,
                    dt,
                )?;
                self.runs.counters.steps += k;
                self.runs.time = if k == n_total {
                    until
                } else {
                    self.runs.time + k as f64 * dt
                };
            }
            self.runs.counters.dispatches += e.dispatches;
            e.submit(&self.core.gpu, &self.core.res);
            if self
                .core
                .qs
                .as_ref()
                .is_some_and(|q| q.pace == QsPace::EveryAdvance)
            {
                self.converge_qs()?;
            }
            let c = &self.core;
            let checked =
                monitor::check_now(&c.gpu, &c.res, &c.kernels, c.current, self.runs.time)?;
            self.process_checks(&checked, t_before)?;
            progress(self.runs.time);
        }
        self.all_stopped()?;
        Ok(true)
    }

    /// An error when no run is left (a single run: its blow-up).
    fn all_stopped(&self) -> Result<()> {
        if self.runs.all_failed() {
            let first = self.runs.failed.iter().flatten().next().cloned();
            return Err(match first {
                Some(b) if self.runs.problems.len() == 1 => b.into(),
                Some(first) => Error::AllStopped {
                    runs: self.runs.problems.len(),
                    first: Box::new(first),
                },
                None => Error::Internal("no run left but none failed".into()),
            });
        }
        Ok(())
    }

    /// The state or the equations changed outside a step (an intervention, a parameter):
    /// the stabilized schemes need F0 again, and the stiffness may have moved.
    fn state_changed(&mut self) {
        if let Some(rk) = self.rk.as_mut() {
            rk.fsal = false;
            rk.since_rho = None;
        }
    }

    /// Acts on a check: stops runs that blew up, replans runs whose reactions sped up.
    fn process_checks(&mut self, checked: &[Checked], t_before: f64) -> Result<()> {
        let mut replan = false;
        for (run, c) in checked.iter().enumerate() {
            if self.runs.failed[run].is_some() {
                continue;
            }
            let p = &self.runs.problems[run];
            if c.nan | c.runaway != 0 {
                let b = monitor::blowup(p, c, t_before, self.runs.time);
                if self.runs.problems.len() == 1 {
                    self.runs.failed[run] = Some(b.clone());
                    return Err(b.into());
                }
                self.runs.failed[run] = Some(b);
                replan = true;
            } else if self.rk.is_none()
                && (c.rate > self.ctl.plans[run].reaction_rate * 1.0001
                    || c.soft > self.ctl.plans[run].soft_rate * 1.0001)
                && c.rate.is_finite()
                && c.soft.is_finite()
            {
                // The reactions got faster than planned for: smaller steps from here on.
                let old = &self.ctl.plans[run];
                let plan = StepPlan::for_problem(
                    p,
                    c.rate.max(old.reaction_rate),
                    c.soft.max(old.soft_rate),
                )?;
                replan = true;
                let left = p.numerics.end - self.runs.time;
                let zeno = left / plan.dt > 1e9;
                self.ctl.plans[run] = plan;
                if zeno {
                    let b = monitor::zeno(p, c.rate, left, t_before, self.runs.time);
                    if self.runs.problems.len() == 1 {
                        self.runs.failed[run] = Some(b.clone());
                        return Err(b.into());
                    }
                    self.runs.failed[run] = Some(b);
                }
            }
        }
        if replan {
            self.ctl.combine(&self.live());
        }
        Ok(())
    }

    /// One block of quasi-steady sweeps (deferred pacing); whether the solve converged.
    fn qs_block(&mut self) -> Result<bool> {
        let live = self.live();
        self.core
            .qs_step(self.runs.time, &live, false, &mut self.runs.counters)
    }

    fn converge_qs(&mut self) -> Result<()> {
        let live = self.live();
        self.core
            .qs_step(self.runs.time, &live, true, &mut self.runs.counters)
            .map(|_| ())
    }

    fn owe_qs(&mut self) {
        if let Some(qs) = self.core.qs.as_mut() {
            qs.owe();
        }
    }

    /// Chooses when quasi-steady solves are finished (batch runs: [`QsPace::EveryAdvance`]).
    pub fn set_qs_pace(&mut self, pace: QsPace) {
        if let Some(qs) = self.core.qs.as_mut() {
            qs.pace = pace;
        }
    }

    /// Whether the quasi-steady solve is converged now (always, without such species).
    pub fn qs_settled(&self) -> bool {
        self.core.qs.as_ref().is_none_or(QsSolver::settled)
    }

    /// Under [`QsPace::Deferred`], one block of sweeps towards a converged quasi-steady solve
    /// if one is owed; returns whether the state is converged (call until it is before
    /// reading results that must be exact, or use [`Simulation::finish_qs`]).
    pub fn settle_qs(&mut self) -> Result<bool> {
        if self.qs_settled() {
            return Ok(true);
        }
        self.qs_block()
    }

    /// Converges the quasi-steady solve now if it is owed (before a checkpoint).
    pub fn finish_qs(&mut self) -> Result<()> {
        if !self.qs_settled() {
            self.converge_qs()?;
        }
        Ok(())
    }

    /// The scaled residual of the last quasi-steady sweep, for reports and tests.
    pub fn qs_change(&self) -> f64 {
        self.core.qs.as_ref().map_or(0.0, QsSolver::change)
    }

    /// What run `run`'s error control measured against (stabilized schemes only).
    pub fn tolerances(&self, run: usize) -> Option<super::controller::Tolerances> {
        let rk = self.rk.as_ref()?;
        Some(super::controller::Tolerances {
            atol: self.runs.atol.get(run)?.clone(),
            memory_h: rk.memory.clone(),
            raised_by: rk.floor_max,
        })
    }

    /// Why run `run` stopped, if it did.
    pub fn run_error(&self, run: usize) -> Option<&Blowup> {
        self.runs.failed.get(run).and_then(Option::as_ref)
    }

    /// Run `run`'s fields, one Vec per species (row-major, nx × ny, row 0 at y min).
    pub fn read_fields_of(&self, run: usize) -> Result<Vec<Vec<f32>>> {
        let c = &self.core;
        c.res.fields.read_species(
            &c.gpu,
            &c.res.fields.sets[c.current.index()],
            run,
            self.runs.problems[0].model.species.len(),
        )
    }

    /// The (first) run's fields.
    pub fn read_fields(&self) -> Result<Vec<Vec<f32>>> {
        self.read_fields_of(0)
    }

    /// The model's metrics of every run at the current time, reduced in f64 from per-cell
    /// GPU values.
    pub fn read_metrics_all(&self) -> Result<Vec<Vec<f64>>> {
        super::metrics::read_all(&self.core, &self.runs.problems[0], self.runs.time)
    }

    /// The (first) run's metrics.
    pub fn read_metrics(&self) -> Result<Vec<f64>> {
        Ok(self.read_metrics_all()?.swap_remove(0))
    }

    /// A checkpoint of run `run` (taken between `advance` calls).
    pub fn checkpoint(&self, run: usize) -> Result<Checkpoint> {
        let c = &self.core;
        let f = &c.res.fields;
        let mut planes = f.read_raw(&c.gpu, &f.sets[c.current.index()], run)?;
        if let Some(rk) = &self.rk {
            planes.extend(f.read_raw(&c.gpu, &f.sets[1], run)?);
            planes.extend(f.read_raw(&c.gpu, &f.scratch[3 + rk.f], run)?);
        }
        Ok(Checkpoint {
            time: self.runs.time,
            error_dt: self.ctl.error_dt,
            qs_coupling: c.qs.as_ref().map_or(1.0, |q| q.coupling),
            plan: if self.rk.is_some() {
                self.ctl.plan.clone()
            } else {
                self.ctl.plans[run].clone()
            },
            counters: self.runs.counters,
            planes,
            control: self.rk.clone(),
        })
    }

    /// Continues a single-run simulation from `ckpt`: fields, clock, step plan and counters,
    /// so the rest of the run is the same, bit for bit, as if it had never stopped.
    pub fn restore(&mut self, ckpt: &Checkpoint) -> Result<()> {
        if self.runs.problems.len() != 1 {
            return Err(Error::Internal(
                "restore is for single-run simulations".into(),
            ));
        }
        let c = &mut self.core;
        let f = &c.res.fields;
        let n = f.planes;
        match (&ckpt.control, self.rk.is_some()) {
            (Some(control), true) if ckpt.planes.len() == 3 * n => {
                f.write_raw(&c.gpu, &f.sets[0], 0, &ckpt.planes[..n])?;
                f.write_raw(&c.gpu, &f.sets[1], 0, &ckpt.planes[n..2 * n])?;
                f.write_raw(&c.gpu, &f.scratch[3 + control.f], 0, &ckpt.planes[2 * n..])?;
            }
            (None, false) => f.write_raw(&c.gpu, &f.sets[c.current.index()], 0, &ckpt.planes)?,
            _ => {
                return Err(Error::Internal(
                    "the checkpoint is of another time scheme".into(),
                ));
            }
        }
        self.runs.time = ckpt.time;
        self.ctl.error_dt = ckpt.error_dt;
        if let Some(qs) = c.qs.as_mut() {
            qs.coupling = ckpt.qs_coupling;
        }
        // A blow-up after the checkpoint is undone with it; an interactive run re-converges
        // its quasi-steady species before stepping on (a batch run converges every batch).
        self.runs.failed[0] = None;
        self.owe_qs();
        self.ctl.plans[0] = ckpt.plan.clone();
        self.ctl.plan = ckpt.plan.clone();
        self.runs.counters = ckpt.counters;
        // Deposits before the checkpoint are in its fields; parameter changes are not:
        // replay them, in order, so the run goes on with the values it had.
        let changes: Vec<(usize, f64)> = self.runs.problems[0]
            .events
            .iter()
            .filter(|e| e.at <= self.runs.time + events::eps(self.runs.time))
            .filter_map(|e| match e.action {
                Action::Param { param, value } => Some((param, value)),
                Action::Deposit { .. } | Action::Dose { .. } => None,
            })
            .collect();
        for (param, value) in changes {
            self.set_param(0, param, value)?;
        }
        // The error control as it was (replaying the changes must not mark it stale), with
        // the tolerances it had grown to.
        if let Some(control) = &ckpt.control {
            let p = &self.runs.problems[0];
            let atol = p.atol(&control.scales(0, p.numerics.rtol));
            self.core.res.write_run(&self.core.gpu, 0, p, &atol);
            self.runs.atol[0] = atol;
            self.rk = Some(control.clone());
        }
        Ok(())
    }

    /// Steps with `dt` from now on, with no stability check at all: for numerical
    /// experiments (measuring where a scheme goes unstable), never for results.
    /// `stages` sets the RKL2 stage count (rkl2 scheme only).
    pub fn force_step_unchecked(&mut self, dt: f64, stages: Option<u32>) {
        self.ctl.force(dt, stages);
        if let Some(rk) = self.rk.as_mut() {
            rk.forced = Some((dt, stages));
        }
    }

    /// Changes parameter `param` (an index into the model's params) of run `run` from now
    /// on (the app's sliders, scheduled events).
    pub fn set_param(&mut self, run: usize, param: usize, value: f64) -> Result<()> {
        let p = self
            .runs
            .problems
            .get_mut(run)
            .ok_or_else(|| Error::Internal(format!("no run {run}")))?;
        let slot = p
            .params
            .get_mut(param)
            .ok_or_else(|| Error::Internal(format!("no param #{param}")))?;
        *slot = value;
        self.core
            .res
            .write_run(&self.core.gpu, run, p, &self.runs.atol[run]);
        self.state_changed();
        Ok(())
    }

    pub fn runs(&self) -> usize {
        self.runs.problems.len()
    }
    /// The buffer holding the current state (every plane of every run; see
    /// `shaders/common.wgsl` for the layout), for views that read the fields in place.
    pub fn state(&self) -> &wgpu::Buffer {
        &self.core.res.fields.sets[self.core.current.index()]
    }
    /// Both ping-pong state sets (for views that bind each once) and which one is current.
    pub fn state_sets(&self) -> [&wgpu::Buffer; 2] {
        let s = &self.core.res.fields.sets;
        [&s[0], &s[1]]
    }
    pub fn current_set(&self) -> usize {
        self.core.current.index()
    }
    pub fn time(&self) -> f64 {
        self.runs.time
    }
    /// The plan the batch steps with.
    pub fn plan(&self) -> &StepPlan {
        &self.ctl.plan
    }
    pub fn counters(&self) -> Counters {
        self.runs.counters
    }
    /// Each species' fastest own decay rate at the start (1/h), for reports.
    pub fn species_decay(&self) -> &[f64] {
        &self.runs.decay
    }
    /// The (first) run's problem, with its parameter values as they are now.
    pub fn problem(&self) -> &Problem {
        &self.runs.problems[0]
    }
    pub fn problem_of(&self, run: usize) -> &Problem {
        &self.runs.problems[run]
    }
}
