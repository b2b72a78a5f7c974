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
use super::controller::{self, Controller};
use super::events::{self, Depositor};
use super::gpu::Gpu;
use super::kernels::{Kernel, Kernels, Needs};
use super::monitor::{self, Checked};
use super::plan::StepPlan;
use super::problem::{Action, Amounts, Problem, Scheme};
use super::quasi_steady::{CHECK_EVERY, QsPace, QsSolver};
use super::resources::{self, Current, Resources};
use super::schemes::{Encoding, Stepper};
use super::stepping::Core;
use crate::error::{Blowup, Error, Result};
use crate::model::expr::MAX_BATCH;

pub struct Simulation {
    core: Core,
    /// One per run.
    problems: Vec<Problem>,
    ctl: Controller,
    doubling: Option<StepDoubling>,
    time: f64,
    /// Why each run stopped, if it did.
    failed: Vec<Option<Blowup>>,
    counters: Counters,
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
        let rkl2 = first.numerics.scheme == Scheme::Rkl2;
        let adaptive = first.numerics.tolerance.is_some();
        let kernels = Kernels::new(
            gpu,
            &first.model,
            &Needs::of(&first.model, rkl2, adaptive),
            runs > 1,
        )?;
        // RKL2 stages rotate through 2 extra sets; step doubling keeps a saved state and a
        // full-step result in the last 2.
        let scratch = if rkl2 { 2 } else { 0 } + if adaptive { 2 } else { 0 };
        let res = Resources::new(gpu, &kernels, problems, scratch)?;
        let stepper = Stepper::new(gpu, &res, &kernels, first)?;
        let core = Core {
            gpu: gpu.clone(),
            kernels,
            res,
            stepper,
            qs: QsSolver::new(first, runs, pace),
            current: Current::default(),
        };
        let doubling = first
            .numerics
            .tolerance
            .map(|tol| StepDoubling::new(&core, tol));
        let mut sim = Simulation {
            ctl: Controller::new(first, runs)?,
            core,
            problems: problems.to_vec(),
            doubling,
            time: 0.0,
            failed: vec![None; runs],
            counters: Counters::default(),
            depositor: None,
        };
        sim.initialise()?;
        Ok(sim)
    }

    fn live(&self) -> Vec<bool> {
        self.failed.iter().map(Option::is_none).collect()
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
        self.apply_due(&mut e.enc, 0.0)?;
        e.submit(&self.core.gpu, &self.core.res);
        self.settle_initial_qs()?;
        let c = &self.core;
        let checked = monitor::check_now(&c.gpu, &c.res, &c.kernels, c.current, 0.0)?;
        for (r, ch) in checked.iter().enumerate() {
            let p = &self.problems[r];
            if ch.nan | ch.runaway != 0 {
                return Err(monitor::initial_not_finite(p, ch));
            }
            self.ctl.plans[r] = StepPlan::for_problem(p, ch.rate, ch.soft)?;
        }
        self.ctl.combine(&self.live());
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
        self.counters.seconds += started.elapsed().as_secs_f64();
        result
    }

    /// `advance`, stopping at each event time on the way to apply it.
    fn advance_through_events(&mut self, until: f64, progress: &mut dyn FnMut(f64)) -> Result<()> {
        loop {
            let next = events::next_time(&self.problems, self.time, until);
            let stop = next.unwrap_or(until).min(until);
            if !self.advance_inner(stop, progress)? {
                return Ok(());
            }
            if let Some(t) = next {
                let mut enc = self.core.gpu.encoder("events");
                self.apply_due(&mut enc, t)?;
                self.core.gpu.queue.submit([enc.finish()]);
                self.owe_qs();
                self.recheck()?;
            }
            if stop >= until - events::eps(until) {
                return Ok(());
            }
        }
    }

    /// Applies every run's events scheduled at `t`, deposits encoded into `enc`.
    fn apply_due(&mut self, enc: &mut wgpu::CommandEncoder, t: f64) -> Result<()> {
        for run in 0..self.problems.len() {
            let due: Vec<Action> = events::due(&self.problems[run], t)
                .map(|e| e.action.clone())
                .collect();
            for action in due {
                match action {
                    Action::Deposit {
                        center,
                        radius,
                        amounts,
                    } => self.encode_deposit(enc, run, center, radius, &amounts),
                    Action::Param { param, value } => self.set_param(run, param, value)?,
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
        let c = &self.core;
        let depositor = self
            .depositor
            .get_or_insert_with(|| Depositor::new(&c.gpu.device));
        depositor.encode(
            &c.gpu,
            enc,
            &c.res.fields.sets[c.current.index()],
            &self.problems[run].grid,
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
        let c = &self.core;
        let checked = monitor::check_now(&c.gpu, &c.res, &c.kernels, c.current, self.time)?;
        let t = self.time;
        self.process_checks(&checked, t)
    }

    /// Steps to `until`; returns whether it got there (with [`QsPace::Deferred`] it may stop
    /// early, after a block of quasi-steady sweeps).
    fn advance_inner(&mut self, until: f64, progress: &mut dyn FnMut(f64)) -> Result<bool> {
        let reached = |t: f64| until - t <= 1e-12 * until.abs().max(1.0);
        while !reached(self.time) {
            if self.failed.iter().all(Option::is_some) {
                break;
            }
            if self.core.qs.as_ref().is_some_and(QsSolver::due) && !self.qs_block()? {
                return Ok(false);
            }
            let t_before = self.time;
            if let Some(doubling) = &self.doubling {
                let live = self.live();
                let probe = doubling.step(
                    &mut self.core,
                    &mut self.ctl,
                    &self.problems[0],
                    self.time,
                    until,
                    &live,
                )?;
                self.time = probe.time;
                self.counters.steps += probe.steps;
                self.counters.dispatches += probe.dispatches;
                self.counters.accepted += probe.accepted;
                self.counters.rejected += probe.rejected;
            }
            let mut e = Encoding::new(&self.core.gpu, &self.core.res, "steps");
            if !reached(self.time) {
                let (n_total, dt) = self.ctl.split(until - self.time);
                // Error estimates and quasi-steady convergence checks come once per batch.
                let batch = if self.doubling.is_some() || self.core.qs.is_some() {
                    CHECK_EVERY
                } else {
                    let cells = self.core.res.fields.cells * self.core.res.fields.runs as u64;
                    controller::batch_steps(cells, self.core.records_per_step(&self.ctl.plan))
                };
                let k = n_total.min(batch);
                let plan = self.ctl.plan.clone();
                self.core
                    .encode_steps(&mut e, &plan, &self.problems[0], self.time, k, dt)?;
                self.counters.steps += k;
                self.time = if k == n_total {
                    until
                } else {
                    self.time + k as f64 * dt
                };
            }
            self.counters.dispatches += e.dispatches;
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
            let checked = monitor::check_now(&c.gpu, &c.res, &c.kernels, c.current, self.time)?;
            self.process_checks(&checked, t_before)?;
            progress(self.time);
        }
        if self.failed.iter().all(Option::is_some) {
            let first = self.failed.iter().flatten().next().cloned();
            return Err(match first {
                Some(b) if self.problems.len() == 1 => b.into(),
                Some(first) => Error::AllStopped {
                    runs: self.problems.len(),
                    first: Box::new(first),
                },
                None => Error::Internal("no run left but none failed".into()),
            });
        }
        Ok(true)
    }

    /// Acts on a check: stops runs that blew up, replans runs whose reactions sped up.
    fn process_checks(&mut self, checked: &[Checked], t_before: f64) -> Result<()> {
        let mut replan = false;
        for (run, c) in checked.iter().enumerate() {
            if self.failed[run].is_some() {
                continue;
            }
            let p = &self.problems[run];
            if c.nan | c.runaway != 0 {
                let b = monitor::blowup(p, c, t_before, self.time);
                if self.problems.len() == 1 {
                    self.failed[run] = Some(b.clone());
                    return Err(b.into());
                }
                self.failed[run] = Some(b);
                replan = true;
            } else if (c.rate > self.ctl.plans[run].reaction_rate * 1.0001
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
                let left = p.numerics.end - self.time;
                let zeno = left / plan.dt > 1e9;
                self.ctl.plans[run] = plan;
                if zeno {
                    let b = monitor::zeno(p, c.rate, left, t_before, self.time);
                    if self.problems.len() == 1 {
                        self.failed[run] = Some(b.clone());
                        return Err(b.into());
                    }
                    self.failed[run] = Some(b);
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
            .qs_step(self.time, &live, false, &mut self.counters)
    }

    fn converge_qs(&mut self) -> Result<()> {
        let live = self.live();
        self.core
            .qs_step(self.time, &live, true, &mut self.counters)
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

    /// Why run `run` stopped, if it did.
    pub fn run_error(&self, run: usize) -> Option<&Blowup> {
        self.failed.get(run).and_then(Option::as_ref)
    }

    /// Run `run`'s fields, one Vec per species (row-major, nx × ny, row 0 at y min).
    pub fn read_fields_of(&self, run: usize) -> Result<Vec<Vec<f32>>> {
        let c = &self.core;
        c.res.fields.read_species(
            &c.gpu,
            &c.res.fields.sets[c.current.index()],
            run,
            self.problems[0].model.species.len(),
        )
    }

    /// The (first) run's fields.
    pub fn read_fields(&self) -> Result<Vec<Vec<f32>>> {
        self.read_fields_of(0)
    }

    /// The model's metrics of every run at the current time, reduced in f64 from per-cell
    /// GPU values.
    pub fn read_metrics_all(&self) -> Result<Vec<Vec<f64>>> {
        super::metrics::read_all(&self.core, &self.problems[0], self.time)
    }

    /// The (first) run's metrics.
    pub fn read_metrics(&self) -> Result<Vec<f64>> {
        Ok(self.read_metrics_all()?.swap_remove(0))
    }

    /// A checkpoint of run `run` (taken between `advance` calls).
    pub fn checkpoint(&self, run: usize) -> Result<Checkpoint> {
        let c = &self.core;
        Ok(Checkpoint {
            time: self.time,
            error_dt: self.ctl.error_dt,
            qs_coupling: c.qs.as_ref().map_or(1.0, |q| q.coupling),
            plan: self.ctl.plans[run].clone(),
            counters: self.counters,
            planes: c
                .res
                .fields
                .read_raw(&c.gpu, &c.res.fields.sets[c.current.index()], run)?,
        })
    }

    /// Continues a single-run simulation from `ckpt`: fields, clock, step plan and counters,
    /// so the rest of the run is the same, bit for bit, as if it had never stopped.
    pub fn restore(&mut self, ckpt: &Checkpoint) -> Result<()> {
        if self.problems.len() != 1 {
            return Err(Error::Internal(
                "restore is for single-run simulations".into(),
            ));
        }
        let c = &mut self.core;
        c.res.fields.write_raw(
            &c.gpu,
            &c.res.fields.sets[c.current.index()],
            0,
            &ckpt.planes,
        )?;
        self.time = ckpt.time;
        self.ctl.error_dt = ckpt.error_dt;
        if let Some(qs) = c.qs.as_mut() {
            qs.coupling = ckpt.qs_coupling;
        }
        // A blow-up after the checkpoint is undone with it; an interactive run re-converges
        // its quasi-steady species before stepping on (a batch run converges every batch).
        self.failed[0] = None;
        self.owe_qs();
        self.ctl.plans[0] = ckpt.plan.clone();
        self.ctl.plan = ckpt.plan.clone();
        self.counters = ckpt.counters;
        // Deposits before the checkpoint are in its fields; parameter changes are not:
        // replay them, in order, so the run goes on with the values it had.
        let changes: Vec<(usize, f64)> = self.problems[0]
            .events
            .iter()
            .filter(|e| e.at <= self.time + events::eps(self.time))
            .filter_map(|e| match e.action {
                Action::Param { param, value } => Some((param, value)),
                Action::Deposit { .. } => None,
            })
            .collect();
        for (param, value) in changes {
            self.set_param(0, param, value)?;
        }
        Ok(())
    }

    /// Steps with `dt` from now on, with no stability check at all: for numerical
    /// experiments (measuring where a scheme goes unstable), never for results.
    /// `stages` sets the RKL2 stage count (rkl2 scheme only).
    pub fn force_step_unchecked(&mut self, dt: f64, stages: Option<u32>) {
        self.ctl.force(dt, stages);
    }

    /// Changes parameter `param` (an index into the model's params) of run `run` from now
    /// on (the app's sliders, scheduled events).
    pub fn set_param(&mut self, run: usize, param: usize, value: f64) -> Result<()> {
        let p = self
            .problems
            .get_mut(run)
            .ok_or_else(|| Error::Internal(format!("no run {run}")))?;
        let slot = p
            .params
            .get_mut(param)
            .ok_or_else(|| Error::Internal(format!("no param #{param}")))?;
        *slot = value;
        self.core.res.write_run(&self.core.gpu, run, p);
        Ok(())
    }

    pub fn runs(&self) -> usize {
        self.problems.len()
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
        self.time
    }
    /// The plan the batch steps with.
    pub fn plan(&self) -> &StepPlan {
        &self.ctl.plan
    }
    pub fn counters(&self) -> Counters {
        self.counters
    }
    /// The (first) run's problem, with its parameter values as they are now.
    pub fn problem(&self) -> &Problem {
        &self.problems[0]
    }
    pub fn problem_of(&self, run: usize) -> &Problem {
        &self.problems[run]
    }
}
