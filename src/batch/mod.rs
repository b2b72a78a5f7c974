//! Headless batches: parameter sweeps that fill a GPU (runs sharing equations and grid are
//! advanced together, one z-slice each), shard across a cluster's job array, and resume
//! after any kill (finished runs are kept; every file is written atomically, run.json last).

pub mod sample;
pub mod summary;
pub mod sweep;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use std::sync::Arc;

use crate::engine::{BatchKey, GpuContext, Simulation};
use crate::error::{Blowup, Error, Location, Result};
use crate::run::{RunInfo, RunWriter, is_complete};
pub use sweep::{RunInput, RunSpec, Sweep};

/// Why one run of a sweep failed: it blew up (its own reason), or its batch or its
/// outputs failed (one error, shared by every run it hit).
#[derive(Debug, Clone)]
pub enum RunFailure {
    Stopped(Blowup),
    Failed(Arc<Error>),
}

impl std::fmt::Display for RunFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunFailure::Stopped(b) => b.fmt(f),
            RunFailure::Failed(e) => e.fmt(f),
        }
    }
}

/// This process's share of a sweep: runs whose index % count == index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// From `--shard i/n`, else from the job-array environment: Slurm
    /// (`SLURM_ARRAY_TASK_ID`, `SLURM_ARRAY_TASK_COUNT`, `SLURM_ARRAY_TASK_MIN`) or a
    /// Kubernetes Indexed Job (`JOB_COMPLETION_INDEX` with `EXODERM_SHARD_COUNT`); else 0/1.
    pub fn resolve(flag: Option<&str>, env: &dyn Fn(&str) -> Option<String>) -> Result<Shard> {
        let bad = |what: &str, msg: String, fix: &str| {
            Error::scenario(
                Location {
                    file: what.into(),
                    line: None,
                    field: "shard".into(),
                },
                msg,
                fix,
            )
        };
        if let Some(f) = flag {
            let parsed = f.split_once('/').and_then(|(i, n)| {
                Some((
                    i.trim().parse::<usize>().ok()?,
                    n.trim().parse::<usize>().ok()?,
                ))
            });
            return match parsed {
                Some((index, count)) if count >= 1 && index < count => Ok(Shard { index, count }),
                _ => Err(bad(
                    "--shard",
                    format!("`{f}` is not a shard i/n with 0 <= i < n"),
                    "write e.g. --shard 0/4",
                )),
            };
        }
        let num = |k: &str| env(k).and_then(|v| v.trim().parse::<usize>().ok());
        if let (Some(id), Some(count)) = (num("SLURM_ARRAY_TASK_ID"), num("SLURM_ARRAY_TASK_COUNT"))
        {
            let index = id.checked_sub(num("SLURM_ARRAY_TASK_MIN").unwrap_or(0));
            return match index {
                Some(index) if index < count => Ok(Shard { index, count }),
                _ => Err(bad(
                    "SLURM_ARRAY_TASK_ID",
                    format!("task {id} is outside an array of {count}"),
                    "submit with --array=0-(N-1) (or set SLURM_ARRAY_TASK_MIN)",
                )),
            };
        }
        if let Some(index) = num("JOB_COMPLETION_INDEX") {
            let Some(count) = num("EXODERM_SHARD_COUNT") else {
                return Err(bad(
                    "JOB_COMPLETION_INDEX",
                    "an Indexed Job sets JOB_COMPLETION_INDEX but not the number of shards".into(),
                    "set EXODERM_SHARD_COUNT to the Job's `completions` (see the README's manifest)",
                ));
            };
            return if index < count {
                Ok(Shard { index, count })
            } else {
                Err(bad(
                    "JOB_COMPLETION_INDEX",
                    format!("index {index} >= EXODERM_SHARD_COUNT {count}"),
                    "make EXODERM_SHARD_COUNT equal to completions",
                ))
            };
        }
        Ok(Shard { index: 0, count: 1 })
    }
}

pub struct SweepOptions {
    pub out: PathBuf,
    pub shard: Shard,
    pub quiet: bool,
    /// Most runs per GPU batch (overrides the sweep file's `batch`; 1 = one at a time).
    pub batch: Option<usize>,
}

#[derive(Debug, Default)]
pub struct SweepReport {
    /// Runs this shard ran now.
    pub ran: usize,
    /// Runs of this shard found complete on disk and skipped.
    pub skipped: usize,
    /// (run id, why) of the runs that failed now.
    pub failed: Vec<(String, RunFailure)>,
    /// Over the whole sweep, after this shard: complete, failed, not yet run.
    pub totals: (usize, usize, usize),
}

pub const SWEEP_JSON: &str = "sweep.json";

/// Runs this shard's part of `sweep` into `opts.out`, then rewrites the summary from
/// everything on disk (so the last shard to finish leaves the whole summary).
pub fn run_sweep(ctx: &GpuContext, sweep: &Sweep, opts: &SweepOptions) -> Result<SweepReport> {
    let out = &opts.out;
    std::fs::create_dir_all(out.join("runs")).map_err(|e| Error::io("cannot create", out, e))?;
    let doc = serde_json::to_string_pretty(sweep).map_err(|e| Error::Internal(e.to_string()))?;
    crate::output::write_atomic(&out.join(SWEEP_JSON), doc.as_bytes())?;

    // The whole sweep cut into GPU batches, the same way whatever the shard: runs sharing a
    // batch key, in sweep order, `size` at a time. A shard takes whole batches, so results
    // do not depend on sharding, and a resumed batch reruns with the same companions.
    let size = opts
        .batch
        .unwrap_or(sweep.batch)
        .clamp(1, crate::model::expr::MAX_BATCH);
    if sweep.inputs.len() != sweep.runs.len() {
        return Err(Error::Internal(
            "a sweep must be expanded (Sweep::parse) before it runs".into(),
        ));
    }
    let mut groups: BTreeMap<BatchKey, Vec<usize>> = BTreeMap::new();
    let mut order = vec![];
    for (i, input) in sweep.inputs.iter().enumerate() {
        let key = input.problem.batch_key();
        if !groups.contains_key(&key) {
            order.push(key.clone());
        }
        groups.entry(key).or_default().push(i);
    }
    // Batches are also cut to what one simulation can hold on this device.
    let chunks: Vec<&[usize]> = order
        .iter()
        .flat_map(|k| {
            let runs = &groups[k];
            let fit = fitting_batch(ctx, &sweep.inputs[runs[0]].problem, size);
            runs.chunks(fit)
        })
        .collect();
    let mine: Vec<&[usize]> = chunks
        .into_iter()
        .enumerate()
        .filter(|(c, _)| c % opts.shard.count == opts.shard.index)
        .map(|(_, c)| c)
        .collect();
    let pending: Vec<Vec<bool>> = mine
        .iter()
        .map(|c| {
            c.iter()
                .map(|&r| !is_complete(&out.join("runs").join(&sweep.runs[r].id)))
                .collect()
        })
        .collect();
    let todo: usize = pending.iter().flatten().filter(|p| **p).count();
    let mut report = SweepReport {
        skipped: pending.iter().flatten().filter(|p| !**p).count(),
        ..Default::default()
    };

    let multi = indicatif::MultiProgress::with_draw_target(if opts.quiet {
        indicatif::ProgressDrawTarget::hidden()
    } else {
        indicatif::ProgressDrawTarget::stderr()
    });
    let overall = multi.add(indicatif::ProgressBar::new(todo as u64));
    if let Ok(s) = indicatif::ProgressStyle::with_template(
        "runs {pos}/{len} {bar:30.green/white} elapsed {elapsed} eta {eta}  {msg}",
    ) {
        overall.set_style(s);
    }
    if opts.quiet {
        eprintln!(
            "sweep {}: shard {}/{}: {todo} runs to do, {} already complete",
            sweep.file, opts.shard.index, opts.shard.count, report.skipped
        );
    }
    for (chunk, pending) in mine.iter().zip(&pending) {
        if !pending.iter().any(|p| *p) {
            continue;
        }
        let batch_bar = multi.add(indicatif::ProgressBar::new(10_000));
        if let Ok(s) = indicatif::ProgressStyle::with_template(
            "  batch of {msg} {bar:30.cyan/blue} {percent:>3}%",
        ) {
            batch_bar.set_style(s);
        }
        batch_bar.set_message(format!(
            "{} (runs {}..{})",
            chunk.len(),
            sweep.runs[chunk[0]].id,
            sweep.runs[chunk[chunk.len() - 1]].id
        ));
        let results = run_batch(ctx, sweep, chunk, pending, out, &batch_bar);
        batch_bar.finish_and_clear();
        multi.remove(&batch_bar);
        for ((&r, res), _) in chunk.iter().zip(results).zip(pending).filter(|(_, p)| **p) {
            let spec = &sweep.runs[r];
            report.ran += 1;
            overall.inc(1);
            match res {
                Ok(()) => {
                    if opts.quiet {
                        eprintln!("run {} completed", spec.id);
                    }
                    crate::run::hold_if(&format!("runs={}", report.ran));
                }
                // Logs (--quiet) get one line per run as it ends; with progress bars the
                // caller lists the failures at the end instead.
                Err(why) => {
                    if opts.quiet {
                        eprintln!(
                            "run {} failed: {}",
                            spec.id,
                            why.to_string().lines().next().unwrap_or("")
                        );
                    }
                    report.failed.push((spec.id.clone(), why));
                }
            }
        }
    }
    overall.finish_and_clear();
    report.totals = summary::write(sweep, out)?;
    Ok(report)
}

/// Rebuilds summary.csv/json and the plots from a sweep folder (after sharded runs).
pub fn merge(dir: &Path) -> Result<(usize, usize, usize)> {
    let path = dir.join(SWEEP_JSON);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Error::io("cannot read (is this a sweep folder?)", &path, e))?;
    let sweep: Sweep = serde_json::from_str(&text).map_err(|e| {
        Error::io(
            "cannot use (a corrupt sweep.json; run the sweep command again to rewrite it)",
            &path,
            std::io::Error::new(std::io::ErrorKind::InvalidData, e),
        )
    })?;
    summary::write(&sweep, dir)
}

/// The most runs of `problem`'s shape (up to `wanted`) whose buffers fit the device.
fn fitting_batch(ctx: &GpuContext, problem: &crate::engine::Problem, wanted: usize) -> usize {
    let mut n = wanted.max(1);
    while n > 1
        && crate::engine::resources::check_limits(
            &problem.model,
            &problem.grid,
            n,
            &ctx.limits,
            &ctx.name,
        )
        .is_err()
    {
        n = n.div_ceil(2);
    }
    n
}

/// Runs one GPU batch (indices into the sweep's runs), writing the runs marked `write`
/// (the others are complete already but run again so the batch, and its shared step, is
/// the same); per run, Ok or why it failed.
fn run_batch(
    ctx: &GpuContext,
    sweep: &Sweep,
    runs: &[usize],
    write: &[bool],
    out: &Path,
    bar: &indicatif::ProgressBar,
) -> Vec<std::result::Result<(), RunFailure>> {
    let started = std::time::Instant::now();
    let all = |e: Error| vec![Err(RunFailure::Failed(Arc::new(e))); runs.len()];
    let problems: Vec<_> = runs
        .iter()
        .map(|&r| sweep.inputs[r].problem.clone())
        .collect();
    let mut sim = match Simulation::batch(ctx, &problems) {
        Ok(s) => s,
        Err(e) => return all(e),
    };
    let mut writers: Vec<Option<RunWriter>> = vec![];
    for (&r, &w) in runs.iter().zip(write) {
        if !w {
            writers.push(None);
            continue;
        }
        let (spec, input) = (&sweep.runs[r], &sweep.inputs[r]);
        match RunWriter::create(
            &out.join("runs").join(&spec.id),
            &input.problem,
            &input.output,
            &spec.scenario,
        ) {
            Ok(w) => writers.push(Some(w)),
            Err(e) => return all(e),
        }
    }
    let mut errors: Vec<Option<RunFailure>> = vec![None; runs.len()];
    let end = problems[0].numerics.end;
    let observe = |sim: &Simulation,
                   writers: &mut Vec<Option<RunWriter>>,
                   errors: &mut Vec<Option<RunFailure>>| {
        let metrics = match sim.read_metrics_all() {
            Ok(m) => m,
            Err(e) => {
                let e = Arc::new(e);
                for err in errors.iter_mut().filter(|e| e.is_none()) {
                    *err = Some(RunFailure::Failed(e.clone()));
                }
                return;
            }
        };
        for (run, w) in writers.iter_mut().enumerate() {
            let Some(w) = w else { continue };
            if errors[run].is_none()
                && let Some(b) = sim.run_error(run)
            {
                errors[run] = Some(RunFailure::Stopped(b.clone()));
            }
            if errors[run].is_some() {
                continue;
            }
            let res = sim
                .read_fields_of(run)
                .and_then(|f| w.observe(sim.time(), &f, &metrics[run]));
            if let Err(e) = res {
                errors[run] = Some(RunFailure::Failed(Arc::new(e)));
            }
        }
    };
    observe(&sim, &mut writers, &mut errors);
    for &t in &problems[0].output_times()[1..] {
        let res = sim.advance(t, &mut |now| bar.set_position((now / end * 1e4) as u64));
        if let Err(e) = res {
            let e = Arc::new(e);
            for (run, err) in errors.iter_mut().enumerate() {
                if err.is_none() {
                    *err = Some(match sim.run_error(run) {
                        Some(b) => RunFailure::Stopped(b.clone()),
                        None => RunFailure::Failed(e.clone()),
                    });
                }
            }
            break;
        }
        observe(&sim, &mut writers, &mut errors);
    }
    let wall = started.elapsed().as_secs_f64();
    writers
        .iter()
        .zip(errors)
        .enumerate()
        .map(|(r, (w, err))| {
            let Some(w) = w else { return Ok(()) };
            let status = match &err {
                Some(e) => format!("failed: {e}"),
                None => "completed".into(),
            };
            let info = RunInfo {
                adapter: &ctx.info,
                plan: sim.plan(),
                counters: sim.counters(),
                simulated_h: sim.time(),
                wall_seconds: wall,
                status,
                batched_with: runs.len(),
                decay: sim.species_decay(),
                tolerances: sim.tolerances(r),
            };
            let finished = w.finish(&info);
            match (err, finished) {
                (Some(e), _) => Err(e),
                (None, Err(e)) => Err(RunFailure::Failed(Arc::new(e))),
                (None, Ok(())) => Ok(()),
            }
        })
        .collect()
}
