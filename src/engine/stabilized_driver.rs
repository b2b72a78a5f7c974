//! Driving the stabilized schemes (RKC, RKL2) step by step: before a step, F0 and the
//! spectral radius are made current; each step is encoded with its stage count, its error
//! estimate read back (one small readback per step), and the step accepted — committed
//! with the next one's work in the same submit — or rejected and retried smaller. A run
//! whose state goes NaN or runs away is retried at a quarter of the step, and stops when
//! that does not help; a step collapsing towards zero is a blow-up in slow motion.

use super::controller::ErrorControl;
use super::layout::RunFlags;
use super::monitor::{self, Checked};
use super::plan::{StepPlan, diffusion_limit, diffusion_radius};
use super::problem::Seen;
use super::quasi_steady::{QsPace, QsSolver};
use super::runs::Runs;
use super::schemes::stabilized::{PowerStart, StepSpec};
use super::schemes::{Encoding, Stabilized, Stepper};
use super::stepping::Core;
use crate::error::{Error, Result};

/// Consecutive non-finite retries after which a run stops.
const NAN_RETRIES: u32 = 6;
/// A Jacobian this stiff (1/h) is a state running away, not dynamics to resolve.
const RUNAWAY_RATE: f64 = 1e20;

fn stabilized(core: &Core) -> Result<&Stabilized> {
    match &core.stepper {
        Stepper::Stabilized(s) => Ok(s),
        Stepper::Euler(_) => Err(Error::Internal("not a stabilized scheme".into())),
    }
}

/// Steps `runs` to `until`; returns whether it got there (a deferred quasi-steady solve may
/// stop it early).
pub fn advance(
    core: &mut Core,
    runs: &mut Runs,
    rk: &mut ErrorControl,
    plan: &mut StepPlan,
    until: f64,
    progress: &mut dyn FnMut(f64),
) -> Result<bool> {
    let reached = |t: f64| until - t <= 1e-12 * until.abs().max(1.0);
    let mut nan_tries = vec![0u32; runs.len()];
    while !reached(runs.time) && !runs.all_failed() {
        if core.qs.as_ref().is_some_and(QsSolver::due) {
            let live = runs.live();
            if !core.qs_step(runs.time, &live, false, &mut runs.counters)? {
                return Ok(false);
            }
        }
        prepare(core, runs, rk)?;
        let t0 = runs.time;
        let p = &runs.problems[0];
        let family = stabilized(core)?.family;
        let forced = rk.forced.map(|(dt, _)| dt).or(p.numerics.dt);
        let mut step = StepPlan::stabilized(p, family, rk.rho, rk.step_towards(t0, until, forced))?;
        if let Some((_, Some(s))) = rk.forced {
            step.stages = s.max(2);
        }
        let (dt, s) = (step.dt, step.stages);
        let mut e = Encoding::new(&core.gpu, &core.res, "rk.step");
        let spec = StepSpec {
            t: t0,
            tau: dt,
            stages: s,
            share: rk.memory.iter().map(|m| (dt / m).min(1.0)).collect(),
            reaction_rate: rk.reaction_rate,
        };
        stabilized(core)?.encode_step(&core.res, &core.kernels, &mut e, rk.f, &spec)?;
        runs.counters.dispatches += e.dispatches;
        e.submit(&core.gpu, &core.res);
        let bytes = super::gpu::map_and_read(&core.gpu.device, &core.res.flags_staging)?;
        let words: &[u32] = bytemuck::cast_slice(&bytes);
        let outcome = judge(runs, words);
        if let Some(bad) = outcome.non_finite {
            // A state that is not finite: retry much smaller; a run that stays so stops.
            runs.counters.rejected += 1;
            rk.reject(dt, f64::INFINITY);
            for (r, flags) in bad {
                nan_tries[r] += 1;
                if nan_tries[r] >= NAN_RETRIES || dt <= 1e-12 * until.abs().max(1.0) {
                    stop_run(runs, r, &flags, t0, t0 + dt)?;
                    rk.run_stopped();
                }
            }
            continue;
        }
        let forced_any = forced.is_some();
        if !forced_any && !rk.passes(t0, dt, outcome.error) {
            runs.counters.rejected += 1;
            rk.reject(dt, outcome.error / rk.floor);
            // (Over the rest of the run, not to `until`: an interactive caller asks for a
            // sliver at a time.)
            let left = (runs.problems[0].numerics.end - t0).max(until - t0);
            if rk.dt <= 1e-9 * left {
                // Zeno: the steps collapse; the runs with the largest error stop. The state
                // now tells why: a species whose values are all tiny (next to its declared
                // range, or 1) cannot be running away — its tolerance stalled the steps.
                let checked =
                    monitor::check_now(&core.gpu, &core.res, &core.kernels, core.current, t0)?;
                runs.counters.dispatches += 1;
                let s = runs.problems[0].model.species_index(&outcome.limiting);
                for r in outcome.worst_runs {
                    let rate = rk.reaction_rate;
                    let tiny = s.is_some_and(|s| {
                        let sp = &runs.problems[r].model.species[s];
                        let top = sp.range.map_or(1.0, |[lo, hi]| lo.abs().max(hi.abs()));
                        checked
                            .get(r)
                            .and_then(|c| c.extent.get(s).copied().flatten())
                            .is_some_and(|(lo, hi)| {
                                lo.abs().max(hi.abs()) < 1e-6 * top.max(f64::MIN_POSITIVE)
                            })
                    });
                    let b = if tiny {
                        monitor::tolerance_stall(
                            &runs.problems[r],
                            &outcome.limiting,
                            left,
                            t0,
                            t0 + dt,
                        )
                    } else {
                        monitor::zeno(&runs.problems[r], rate, left, t0, t0 + dt)
                    };
                    runs.failed[r] = Some(b.clone());
                    if runs.len() == 1 {
                        return Err(b.into());
                    }
                }
                rk.run_stopped();
            }
            continue;
        }
        // Accepted: commit, flip the slopes (F1 is F at the new state).
        let mut e = Encoding::new(&core.gpu, &core.res, "rk.commit");
        stabilized(core)?.encode_commit(&core.res, &core.kernels, &mut e, s)?;
        runs.counters.dispatches += e.dispatches;
        e.submit(&core.gpu, &core.res);
        rk.f = 1 - rk.f;
        runs.time = if dt >= (until - t0) * (1.0 - 1e-12) || reached(t0 + dt) {
            until
        } else {
            t0 + dt
        };
        runs.counters.steps += 1;
        runs.counters.accepted += 1;
        rk.accept(dt, outcome.error / rk.floor);
        widen(core, runs, rk, &outcome.extent);
        rk.limited_by = outcome.limiting.clone();
        nan_tries.iter_mut().for_each(|n| *n = 0);
        step.limited_by = if forced_any {
            "forced by [time] dt".into()
        } else {
            format!("the error estimate (largest in `{}`)", outcome.limiting)
        };
        // The plan reports the step the controller takes next (the one just taken may have
        // been cut short to land on `until`), so "one step" means a natural step.
        if !forced_any {
            step.dt = rk.dt;
        }
        step.reaction_rate = rk.reaction_rate;
        *plan = step;
        after_step(core, runs, rk, dt)?;
        progress(runs.time);
    }
    Ok(reached(runs.time))
}

/// What a step's flags say.
struct Outcome {
    /// The largest error per unit step over the live runs (≤ 1: accept).
    error: f64,
    /// The species that set it.
    limiting: String,
    /// The live runs with the largest error.
    worst_runs: Vec<usize>,
    /// Live runs whose new state is NaN, infinite or beyond ±1e30, with their masks.
    non_finite: Option<Vec<(usize, Checked)>>,
    /// Per run, each species' (smallest, largest) value and largest speed at the step's end.
    extent: Vec<Vec<Option<(f64, f64, f64)>>>,
}

fn judge(runs: &Runs, words: &[u32]) -> Outcome {
    let species = &runs.problems[0].model.species;
    let live = runs.live();
    let mut out = Outcome {
        error: 0.0,
        limiting: String::new(),
        worst_runs: vec![],
        non_finite: None,
        extent: vec![],
    };
    let mut bad = vec![];
    for (r, f) in RunFlags::split(words).enumerate() {
        out.extent.push(
            (0..species.len())
                .map(|s| f.extent(s).map(|(lo, hi)| (lo, hi, f.speed(s))))
                .collect(),
        );
        if !live[r] {
            continue;
        }
        if f.nan() | f.runaway() != 0 {
            bad.push((
                r,
                Checked {
                    nan: f.nan(),
                    runaway: f.runaway(),
                    rate: 0.0,
                    soft: 0.0,
                    decay: vec![],
                    extent: vec![],
                    own: vec![],
                    dmax: 0.0,
                    vmax: 0.0,
                },
            ));
            continue;
        }
        for (s, sp) in species.iter().enumerate().filter(|(_, sp)| sp.is_dynamic()) {
            let e = f.scaled_error(s);
            if e > out.error {
                out.error = e;
                out.limiting = sp.name.clone();
                out.worst_runs = vec![r];
            } else if e == out.error && e > 0.0 {
                out.worst_runs.push(r);
            }
        }
    }
    if !bad.is_empty() {
        out.non_finite = Some(bad);
    }
    out
}

/// Stops run `r` (its state went non-finite between `from` and `to`).
fn stop_run(runs: &mut Runs, r: usize, flags: &Checked, from: f64, to: f64) -> Result<()> {
    let b = monitor::blowup(&runs.problems[r], flags, from, to);
    runs.failed[r] = Some(b.clone());
    if runs.len() == 1 {
        return Err(b.into());
    }
    Ok(())
}

/// Before a step: F0 of the current state, and the spectral radius when it is due.
fn prepare(core: &mut Core, runs: &mut Runs, rk: &mut ErrorControl) -> Result<()> {
    if !rk.fsal {
        let mut e = Encoding::new(&core.gpu, &core.res, "rk.f0");
        stabilized(core)?.encode_f0(&core.res, &core.kernels, &mut e, rk.f, runs.time)?;
        runs.counters.dispatches += e.dispatches;
        e.submit(&core.gpu, &core.res);
        rk.fsal = true;
    }
    if rk.since_rho.is_none() {
        // The perturbation: a thousandth of the largest species scale (atol = rtol·scale).
        let rtol = runs.problems[0].numerics.rtol;
        let scale = runs
            .atol
            .iter()
            .zip(runs.live())
            .filter(|(_, l)| *l)
            .flat_map(|(a, _)| a)
            .fold(0.0f64, |m, a| m.max(a / rtol));
        let (rho, d) = stabilized(core)?.spectral_radius(
            &core.gpu,
            &core.res,
            &core.kernels,
            PowerStart {
                plane: rk.f,
                t: runs.time,
                eps: 1e-3 * scale.max(f64::MIN_POSITIVE),
            },
            &runs.live(),
        )?;
        runs.counters.dispatches += d;
        let live = runs.live();
        // A run whose Jacobian is beyond any step (its state running away) stops here,
        // before it drags the batch's steps to nothing.
        for (r, &rho_r) in rho.iter().enumerate() {
            // NaN counts as runaway too.
            if live[r] && (rho_r.is_nan() || rho_r >= RUNAWAY_RATE) {
                let left = runs.problems[r].numerics.end - runs.time;
                let b = monitor::zeno(&runs.problems[r], rho_r, left, runs.time, runs.time);
                runs.failed[r] = Some(b.clone());
                if runs.len() == 1 {
                    return Err(b.into());
                }
                rk.run_stopped();
            }
        }
        let live = runs.live();
        let power = rho
            .iter()
            .zip(&live)
            .filter(|(_, l)| **l)
            .map(|(r, _)| *r)
            .fold(0.0, f64::max);
        // The reactions' Jacobian bound (the estimate's noise floor), the species'
        // extents (their tolerances) and the largest diffusion coefficient present.
        let checked =
            monitor::check_now(&core.gpu, &core.res, &core.kernels, core.current, runs.time)?;
        runs.counters.dispatches += 1;
        // The power iteration approaches ρ from below: 20% to spare; the diffusion part
        // is known (constant D exactly, variable D through the largest D present) and
        // bounds it from below.
        let dmax = largest_live(&checked, &live, |c| c.dmax);
        let varying = 2.0 / diffusion_limit(dmax, &runs.problems[0].grid);
        // Upwinded advection's eigenvalues fill a disc reaching 2·|v|/h along the real axis.
        rk.advect_rate = largest_live(&checked, &live, |c| c.vmax);
        rk.rho = (1.2 * power)
            .max(diffusion_radius(&runs.problems[0]))
            .max(if varying.is_finite() { varying } else { 0.0 })
            .max(2.0 * rk.advect_rate);
        retune(core, runs, rk, &checked);
        rk.since_rho = Some(0);
    }
    Ok(())
}

/// From a check of the current state: the reactions' Jacobian bound, and each species'
/// scale grown to its measured extent, with the absolute tolerances that follow written to
/// the runs' uniforms.
pub fn retune(core: &Core, runs: &mut Runs, rk: &mut ErrorControl, checked: &[Checked]) {
    let live = runs.live();
    rk.reaction_rate = checked
        .iter()
        .zip(&live)
        .filter(|(c, l)| **l && c.rate.is_finite())
        .fold(0.0, |m, (c, _)| m.max(c.rate));
    let species = runs.problems[0].model.species.len();
    // How long each species' errors persist: the run, or 1/its slowest own decay where it
    // decays everywhere in every run.
    let horizon = runs.problems[0].numerics.end;
    rk.memory = (0..species)
        .map(|s| {
            checked
                .iter()
                .zip(&live)
                .filter(|(_, l)| **l)
                .map(|(c, _)| match c.own.get(s).copied().flatten() {
                    Some(j) if j < 0.0 => (-1.0 / j).min(horizon),
                    _ => horizon,
                })
                .fold(0.0, f64::max)
        })
        .map(|m| if m > 0.0 { m } else { horizon })
        .collect();
    let extents: Vec<Vec<Option<(f64, f64, f64)>>> = checked
        .iter()
        .map(|ch| {
            (0..species)
                .map(|s| {
                    ch.extent
                        .get(s)
                        .copied()
                        .flatten()
                        .map(|(lo, hi)| (lo, hi, 0.0))
                })
                .collect()
        })
        .collect();
    widen(core, runs, rk, &extents);
}

/// (lowest, highest, fastest speed) of one species in one run, as a check or step saw it.
type SeenNow = (f64, f64, f64);

/// Widens what each run's species were seen to do by `now` (per run, per species: the
/// smallest and largest value and the largest speed now), and writes the absolute
/// tolerances that follow to the runs' uniforms where they changed.
fn widen(core: &Core, runs: &mut Runs, rk: &mut ErrorControl, now: &[Vec<Option<SeenNow>>]) {
    let species = runs.problems[0].model.species.len();
    rk.seen.resize(runs.len(), vec![None; species]);
    let live = runs.live();
    for (r, now) in now.iter().enumerate().filter(|(r, _)| live[*r]) {
        for (seen, now) in rk.seen[r].iter_mut().zip(now) {
            if let Some((lo, hi, speed)) = *now
                && lo.is_finite()
                && hi.is_finite()
                && speed.is_finite()
            {
                seen.get_or_insert(Seen { lo, hi, speed })
                    .widen(lo, hi, speed);
            }
        }
        let p = &runs.problems[r];
        let atol = p.atol(&rk.scales(r, p.numerics.rtol));
        if atol != runs.atol[r] {
            core.res.write_run(&core.gpu, r, p, &atol);
            runs.atol[r] = atol;
        }
    }
}

/// After an accepted step: the quasi-steady species are solved at the new time (their
/// rates tracked), and F0 refreshed with their solved values.
fn after_step(core: &mut Core, runs: &mut Runs, rk: &mut ErrorControl, dt: f64) -> Result<()> {
    let Some(qs) = core.qs.as_mut() else {
        return Ok(());
    };
    qs.track(rk.f, dt);
    qs.owe();
    if qs.pace == QsPace::Deferred {
        // The solve runs in blocks over the next calls; F0 is refreshed before the next step.
        rk.fsal = false;
        return Ok(());
    }
    let live = runs.live();
    core.qs_step(runs.time, &live, true, &mut runs.counters)?;
    rk.fsal = false;
    Ok(())
}

/// The largest of `f` over the runs still going.
fn largest_live(
    checked: &[monitor::Checked],
    live: &[bool],
    f: impl Fn(&monitor::Checked) -> f64,
) -> f64 {
    checked
        .iter()
        .zip(live)
        .filter(|(_, l)| **l)
        .fold(0.0, |m, (c, _)| m.max(f(c)))
}
