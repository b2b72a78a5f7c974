//! `exoderm run`: one scenario, no window. Advances output time by output time, writing
//! metrics.csv, NPY fields, PNG snapshots, run.json and (optionally) checkpoints into the
//! output folder. [`RunWriter`] is shared with sweeps, which write many runs from one batch.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::json;

use crate::engine::Problem;
use crate::engine::plan::StepPlan;
use crate::engine::{Counters, GpuContext, Simulation};
use crate::error::{Error, Result};
use crate::model::Model;
use crate::output::checkpoint::{self, WriterState};
use crate::output::{self, npy, snapshot};
use crate::scenario::{OutputSpec, Scenario};

pub struct RunOptions {
    pub out: PathBuf,
    /// No progress bar (for logs and batch jobs).
    pub quiet: bool,
    /// Write a checkpoint at the first output time after every this many hours.
    pub checkpoint_every: Option<f64>,
    /// `--movie`: an animated GIF of one species.
    pub movie: Option<MovieSpec>,
}

/// `--movie NAME [--movie-every T]`: frames at every output, or every `every` hours.
#[derive(Debug, Clone)]
pub struct MovieSpec {
    pub species: usize,
    pub every: Option<f64>,
}

/// A movie being made: frames wait in `.movie/` as NPY until the run's range is known.
struct Movie {
    spec: MovieSpec,
    times: Vec<f64>,
    seen: [f64; 2],
}

/// Where a movie's frames wait, inside the run folder (removed once the GIF is written).
const MOVIE_FRAMES: &str = ".movie";

/// What a finished run reports (also written to run.json).
#[derive(Debug, Clone)]
pub struct RunReport {
    /// `[crossings]`: (name, first time in its unit or None, unit).
    pub crossings: Vec<(String, Option<f64>, String)>,
    pub outputs: usize,
    pub steps: u64,
    pub dispatches: u64,
    pub wall_seconds: f64,
    pub cell_updates_per_second: f64,
}

/// File names inside a run folder.
pub use crate::output::{RUN_JSON, SCENARIO_FILE};
pub const CHECKPOINT_FILE: &str = "checkpoint.bin";

/// Mean, min, max and total (integral, value × mm²) of one field, in f64.
pub fn field_stats(field: &[f32], cell_area: f64) -> [f64; 4] {
    let (mut sum, mut lo, mut hi) = (0.0f64, f64::INFINITY, f64::NEG_INFINITY);
    for &v in field {
        let v = v as f64;
        sum += v;
        lo = lo.min(v);
        hi = hi.max(v);
    }
    [sum / field.len() as f64, lo, hi, sum * cell_area]
}

/// The metrics.csv header of a model's runs.
pub fn csv_header(model: &Model) -> String {
    let mut cols = vec!["t_h".to_string()];
    for sp in &model.species {
        for stat in ["mean", "min", "max", "total"] {
            cols.push(format!("{}_{stat}", sp.name));
        }
    }
    cols.extend(model.metric_names());
    cols.join(",")
}

/// Writes one run's folder.
pub struct RunWriter {
    pub dir: PathBuf,
    /// What was run (its model, grid, numerics and parameter values at the start).
    pub problem: Problem,
    pub output: OutputSpec,
    pub state: WriterState,
    movie: Option<Movie>,
}

/// How a run went, for run.json.
pub struct RunInfo<'a> {
    pub adapter: &'a wgpu::AdapterInfo,
    pub plan: &'a StepPlan,
    pub counters: Counters,
    pub simulated_h: f64,
    pub wall_seconds: f64,
    pub status: String,
    /// Runs batched with this one (1 = alone).
    pub batched_with: usize,
    /// Each species' fastest own decay rate at the start (1/h).
    pub decay: &'a [f64],
    /// What the error control measured against (stabilized schemes).
    pub tolerances: Option<crate::engine::controller::Tolerances>,
}

impl RunWriter {
    /// Creates the folder and saves the scenario text (`source`) beside the outputs.
    pub fn create(
        dir: &Path,
        problem: &Problem,
        output: &OutputSpec,
        source: &str,
    ) -> Result<RunWriter> {
        std::fs::create_dir_all(dir.join("fields"))
            .map_err(|e| Error::io("cannot create output folder", dir, e))?;
        output::write_atomic(&dir.join(SCENARIO_FILE), source.as_bytes())?;
        Ok(RunWriter {
            dir: dir.to_path_buf(),
            problem: problem.clone(),
            output: output.clone(),
            state: WriterState {
                csv: csv_header(&problem.model) + "\n",
                seen: vec![[f64::INFINITY, f64::NEG_INFINITY]; problem.model.species.len()],
                outputs: 0,
                tracker: Default::default(),
                times: vec![],
            },
            movie: None,
        })
    }

    /// Makes a movie of `spec.species` (frames from the next output or `movie_frame` on).
    pub fn with_movie(mut self, spec: Option<MovieSpec>) -> RunWriter {
        self.movie = spec.map(|spec| Movie {
            spec,
            times: vec![],
            seen: [f64::INFINITY, f64::NEG_INFINITY],
        });
        self
    }

    /// The times (h) a movie wants frames at between outputs, up to `end`.
    pub fn movie_times(&self, end: f64) -> Vec<f64> {
        match self.movie.as_ref().and_then(|m| m.spec.every) {
            Some(every) if every > 0.0 => {
                let n = (end / every * (1.0 + 1e-9)).floor() as usize;
                (1..=n).map(|k| k as f64 * every).collect()
            }
            _ => vec![],
        }
    }

    /// Whether the movie takes its frames at the outputs (no `--movie-every`).
    fn movie_at_outputs(&self) -> bool {
        self.movie.as_ref().is_some_and(|m| m.spec.every.is_none())
    }

    pub fn movie_species(&self) -> Option<usize> {
        self.movie.as_ref().map(|m| m.spec.species)
    }

    /// Saves one movie frame (the movie's species at `time`).
    pub fn movie_frame(&mut self, time: f64, field: &[f32]) -> Result<()> {
        let (nx, ny) = (self.problem.grid.nx as usize, self.problem.grid.ny as usize);
        let Some(m) = self.movie.as_mut() else {
            return Ok(());
        };
        let k = m.times.len();
        let path = self.dir.join(MOVIE_FRAMES).join(format!("{k:06}.npy"));
        output::write_atomic(&path, &npy::encode_f32(field, ny, nx))?;
        m.times.push(time);
        for &v in field {
            let v = v as f64;
            if v.is_finite() {
                m.seen = [m.seen[0].min(v), m.seen[1].max(v)];
            }
        }
        Ok(())
    }

    /// A writer for a scenario's run.
    pub fn for_scenario(dir: &Path, scenario: &Scenario) -> Result<RunWriter> {
        RunWriter::create(dir, &scenario.problem(), &scenario.output, &scenario.source)
    }

    /// Writes output number `state.outputs`: NPY fields, a metrics row, declared-range PNGs.
    pub fn observe(&mut self, time: f64, fields: &[Vec<f32>], metrics: &[f64]) -> Result<()> {
        let k = self.state.outputs;
        self.state.times.push(time);
        let (s, out) = (&self.problem, &self.output);
        let mut row = vec![format!("{time:?}")];
        for (i, (sp, f)) in s.model.species.iter().zip(fields).enumerate() {
            let st = field_stats(f, s.grid.cell_area());
            row.extend(st.iter().map(|v| format!("{v:?}")));
            let seen = &mut self.state.seen[i];
            *seen = [seen[0].min(st[1]), seen[1].max(st[2])];
            if out.npy {
                let path = self.dir.join("fields").join(format!("{}_{k}.npy", sp.name));
                output::write_atomic(
                    &path,
                    &npy::encode_f32(f, s.grid.ny as usize, s.grid.nx as usize),
                )?;
            }
            if out.png && (sp.range.is_some() || !out.npy) {
                let range = sp.range.unwrap_or(self.state.seen[i]);
                self.png(&sp.name, k, f, range)?;
            }
        }
        if out.png
            && out.annotate
            && let Some(roles) = &out.context.skin
        {
            let (nx, ny) = (s.grid.nx as usize, s.grid.ny as usize);
            let rgb = output::skin::render(fields, nx, ny, roles);
            let png = output::annotate::render_picture(
                &rgb,
                nx,
                ny,
                &self.labels("skin view", "", time, [0.0, 1.0]),
            )?;
            output::write_atomic(&self.dir.join(format!("skin_{k}.png")), &png)?;
        }
        if self.movie_at_outputs()
            && let Some(sp) = self.movie_species()
        {
            self.movie_frame(time, &fields[sp])?;
        }
        let s = &self.problem;
        let metrics = self.state.tracker.row(&s.model, time, metrics);
        row.extend(metrics.iter().map(|v| format!("{v:?}")));
        self.state.csv.push_str(&row.join(","));
        self.state.csv.push('\n');
        output::write_atomic(&self.dir.join("metrics.csv"), self.state.csv.as_bytes())?;
        self.state.outputs += 1;
        Ok(())
    }

    fn png(&self, name: &str, k: usize, field: &[f32], range: [f64; 2]) -> Result<()> {
        let (nx, ny) = (self.problem.grid.nx as usize, self.problem.grid.ny as usize);
        let range = if range[1] > range[0] {
            range
        } else {
            [range[0], range[0] + 1.0]
        };
        let png = if self.output.annotate {
            let t = self.state.times.get(k).copied().unwrap_or(0.0);
            let (w, h, rgb) = self.frame(name, t, field, range)?;
            snapshot::encode_png(&rgb, w, h)?
        } else {
            snapshot::encode_png(
                &snapshot::render(field, nx, ny, range, &self.output.colormap),
                nx,
                ny,
            )?
        };
        output::write_atomic(&self.dir.join(format!("{name}_{k}.png")), &png)
    }

    /// The annotated picture of species `name` at `t` (h): (width, height, RGB).
    fn frame(
        &self,
        name: &str,
        t: f64,
        field: &[f32],
        range: [f64; 2],
    ) -> Result<(usize, usize, Vec<u8>)> {
        let s = &self.problem;
        let range = if range[1] > range[0] {
            range
        } else {
            [range[0], range[0] + 1.0]
        };
        let units = s
            .model
            .species
            .iter()
            .find(|sp| sp.name == name)
            .map_or("", |sp| sp.units.as_str());
        crate::output::annotate::render_rgb(
            field,
            s.grid.nx as usize,
            s.grid.ny as usize,
            &self.labels(name, units, t, range),
        )
    }

    /// What an annotated picture of `name` at `t` (h) says around the field.
    fn labels<'a>(
        &'a self,
        name: &'a str,
        units: &'a str,
        t: f64,
        range: [f64; 2],
    ) -> output::annotate::Labels<'a> {
        let unit = self.output.time_unit;
        output::annotate::Labels {
            title: &self.output.title,
            species: name,
            units,
            time: format!("t = {:.2} {}", t / unit.hours(), unit.symbol()),
            extent: self.problem.grid.extent,
            colormap: &self.output.colormap,
            range,
        }
    }

    /// Snapshots of species without a declared range, over the whole run's range, from the
    /// NPY files already on disk.
    fn finish_pngs(&self) -> Result<()> {
        let s = &self.problem;
        if !(self.output.png && self.output.npy) {
            return Ok(());
        }
        for (i, sp) in s
            .model
            .species
            .iter()
            .enumerate()
            .filter(|(_, sp)| sp.range.is_none())
        {
            for k in 0..self.state.outputs {
                let path = self.dir.join("fields").join(format!("{}_{k}.npy", sp.name));
                self.png(&sp.name, k, &reread(&path)?, self.state.seen[i])?;
            }
        }
        Ok(())
    }

    /// Renders the remaining snapshots and writes run.json (last, so a complete run.json
    /// means a complete run). Returns the snapshot error, if any.
    pub fn finish(&self, info: &RunInfo) -> Result<()> {
        let pngs = self
            .finish_pngs()
            .and_then(|()| self.finish_movie())
            .and_then(|()| self.finish_plot());
        let status = match &pngs {
            Err(e) if info.status == "completed" => format!("failed: {e}"),
            _ => info.status.clone(),
        };
        let s = &self.problem;
        let plan = info.plan;
        let c = info.counters;
        let cells = s.grid.cells() as f64 * info.batched_with as f64;
        let doc = json!({
            "exoderm_version": env!("CARGO_PKG_VERSION"),
            "status": status,
            "adapter": {
                "name": info.adapter.name,
                "backend": format!("{:?}", info.adapter.backend),
                "device_type": format!("{:?}", info.adapter.device_type),
                "driver": info.adapter.driver,
                "driver_info": info.adapter.driver_info,
            },
            "grid": {
                "nx": s.grid.nx, "ny": s.grid.ny,
                "extent_mm": s.grid.extent,
                "dx_mm": s.grid.dx(), "dy_mm": s.grid.dy(),
                "boundary": { "left": s.grid.boundary[0], "right": s.grid.boundary[1], "bottom": s.grid.boundary[2], "top": s.grid.boundary[3] },
            },
            "time_step": {
                "dt_max_h": if plan.dt.is_finite() { json!(plan.dt) } else { json!(null) },
                "dt_mean_h": if c.steps > 0 { json!(info.simulated_h / c.steps as f64) } else { json!(null) },
                "limited_by": plan.limited_by,
                "substeps": plan.substeps,
                "substepped_species": plan.fast,
                "reaction_rate_per_h": plan.reaction_rate,
                "scheme": plan.scheme,
                "per_species": per_species(s, plan, info.decay),
            },
            "error_control": if crate::engine::schemes::Family::of(s.numerics.scheme).is_some() {
                json!({
                    "rtol": s.numerics.rtol,
                    "atol": s.numerics.atol,
                    "per": "unit step: local errors add up to about atol over the time they persist; each species' atol is rtol × the range it has taken (see README)",
                    "atol_at_end": info.tolerances.as_ref().map(|t| &t.atol),
                    "errors_persist_h": info.tolerances.as_ref().map(|t| &t.memory_h),
                    "raised_by_rounding": info.tolerances.as_ref().map(|t| t.raised_by),
                    "accepted_steps": c.accepted,
                    "rejected_steps": c.rejected,
                })
            } else {
                match s.numerics.tolerance {
                    Some(tol) => json!({ "step_doubling_tolerance": tol, "accepted_steps": c.accepted, "rejected_steps": c.rejected }),
                    None => json!(null),
                }
            },
            "steps": c.steps,
            "dispatches": c.dispatches,
            "batched_runs": info.batched_with,
            "outputs": self.state.outputs,
            "simulated_h": info.simulated_h,
            "wall_time_s": info.wall_seconds,
            "cell_updates_per_s": if c.seconds > 0.0 { c.dispatches as f64 * cells / c.seconds } else { 0.0 },
            "crossings": self.crossings().into_iter().map(|(n, t, _)| (n, json!(t))).collect::<serde_json::Map<_, _>>(),
            "params": s.model.params.iter().zip(&s.params).map(|(p, v)| (p.name.clone(), json!(v))).collect::<serde_json::Map<_, _>>(),
            "seed": s.seed,
            "scenario": s,
            "output": self.output,
        });
        let text = serde_json::to_string_pretty(&doc)
            .map_err(|e| Error::Internal(format!("run.json: {e}")))?;
        output::write_atomic(&self.dir.join(RUN_JSON), text.as_bytes())?;
        pngs?;
        if self.output.report {
            output::report::write_run(
                &self.dir,
                s,
                &self.output,
                self.state.outputs,
                &self.crossings(),
            )?;
        }
        Ok(())
    }

    /// The movie's GIF, `<species>.gif`, from its saved frames, on the range the species
    /// declares or else the one it took over the frames.
    fn finish_movie(&self) -> Result<()> {
        let Some(m) = &self.movie else {
            return Ok(());
        };
        let frames = self.dir.join(MOVIE_FRAMES);
        let sp = &self.problem.model.species[m.spec.species];
        let range = sp.range.unwrap_or(m.seen);
        let mut gif = output::movie::GifWriter::new(self.dir.join(format!("{}.gif", sp.name)));
        // About 8 s for the whole run, at 2 to 12 frames per second.
        let delay = (800 / m.times.len().max(1)).clamp(8, 50) as u16;
        for (k, &t) in m.times.iter().enumerate() {
            let path = frames.join(format!("{k:06}.npy"));
            let rgb = self.frame(&sp.name, t, &reread(&path)?, range)?;
            gif.push_rgb(rgb.0, rgb.1, &rgb.2, delay)?;
        }
        gif.finish()?;
        std::fs::remove_dir_all(&frames).map_err(|e| Error::io("cannot remove", &frames, e))
    }

    /// metrics.png: the run's metrics and species means over time.
    fn finish_plot(&self) -> Result<()> {
        if !self.output.plots || self.state.outputs == 0 {
            return Ok(());
        }
        let Some(table) = output::series::Table::parse(&self.state.csv) else {
            return Ok(());
        };
        let panels = output::plots::panels(
            &self.problem.model,
            self.output.context.closure_of,
            self.output.time_unit,
            &[output::plots::Side {
                label: "",
                table: &table,
            }],
        );
        let png = output::plots::render(&self.output.title, self.output.time_unit, &panels)?;
        output::write_atomic(&self.dir.join("metrics.png"), &png)
    }
}

impl RunWriter {
    /// Each `[crossings]` entry: (name, first time in its unit or None, unit).
    pub fn crossings(&self) -> Vec<(String, Option<f64>, String)> {
        self.state.tracker.crossings(&self.problem.model)
    }
}

/// What each species is stepped with and why, for run.json: its scheme, diffusion, its
/// fastest own decay, and — where it relaxes far faster than the outputs are spaced — the
/// suggestion to solve it quasi-steady.
fn per_species(p: &Problem, plan: &StepPlan, decay: &[f64]) -> Vec<serde_json::Value> {
    let stabilized = crate::engine::schemes::Family::of(p.numerics.scheme).is_some();
    p.model
        .species
        .iter()
        .zip(&p.diffusion)
        .enumerate()
        .map(|(i, (sp, d))| {
            let rate = decay.get(i).copied().unwrap_or(0.0);
            let scheme = if sp.quasi_steady {
                format!(
                    "quasi-steady: D∇²c + R = 0 by red-black SOR after every step, scaled residual ≤ {:e}",
                    p.numerics.qs_tolerance
                )
            } else if stabilized {
                // Its own stiffness: what it would ask of an explicit step, which the
                // stages absorb instead.
                let diffusion = 2.0 / crate::engine::plan::diffusion_limit(*d, &p.grid);
                let diffusion = if diffusion.is_finite() { diffusion } else { 0.0 };
                format!(
                    "stepped with every other species by the default scheme ({} stages at the last step); its own stiffness {:.3e}/h (diffusion {diffusion:.3e}/h, fastest decay {rate:.3e}/h) would hold an explicit step to {}, the stages take it instead",
                    plan.stages,
                    diffusion.max(rate),
                    crate::units::format_time(2.0 / diffusion.max(rate).max(1e-300)),
                )
            } else if plan.fast.contains(&sp.name) {
                format!("forward Euler; diffusion in {} sub-steps", plan.substeps)
            } else {
                "forward Euler".to_string()
            };
            let fast = !sp.quasi_steady && rate * p.numerics.output_every > 1e3;
            json!({
                "name": sp.name,
                "diffusion_mm2_per_h": d,
                "diffusion_substeps": if plan.fast.contains(&sp.name) { plan.substeps } else { 1 },
                "scheme": scheme,
                "fastest_decay_per_h": rate,
                "suggestion": if fast {
                    json!(format!(
                        "`{}` relaxes in about {} — far faster than the {} between outputs: `quasi_steady = true` would solve it directly instead of taking its stiffness into every step",
                        sp.name,
                        crate::units::format_time(1.0 / rate),
                        crate::units::format_time(p.numerics.output_every)
                    ))
                } else {
                    json!(null)
                },
            })
        })
        .collect()
}

/// A field this run wrote earlier (an output or a movie frame), read back.
fn reread(path: &Path) -> Result<Vec<f32>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io("cannot re-read", path, e))?;
    npy::decode_f32(&bytes).map(|(_, data)| data).ok_or_else(|| {
        Error::io(
            "cannot use (changed or truncated since this run wrote it; run again into a fresh folder)",
            path,
            std::io::Error::new(std::io::ErrorKind::InvalidData, "not a float32 (ny, nx) npy"),
        )
    })
}

/// True when `dir` holds a finished run (its run.json says "completed").
pub fn is_complete(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join(RUN_JSON))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .is_some_and(|j| j["status"] == "completed")
}

/// Runs `scenario` to its end on `ctx`, writing everything into `opts.out`. With `resume`,
/// continues from the folder's checkpoint (if any) with identical results.
pub fn run(ctx: &GpuContext, scenario: &Scenario, opts: &RunOptions) -> Result<RunReport> {
    run_inner(ctx, scenario, opts, false)
}

/// Continues the run in `dir` from its last checkpoint (or from the start when it has none).
pub fn resume(
    ctx: &GpuContext,
    dir: &Path,
    quiet: bool,
    checkpoint_every: Option<f64>,
) -> Result<RunReport> {
    let path = dir.join(SCENARIO_FILE);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Error::io("cannot resume: no saved scenario", &path, e))?;
    let scenario = Scenario::parse(&text, &path.display().to_string())?;
    run_inner(
        ctx,
        &scenario,
        &RunOptions {
            out: dir.to_path_buf(),
            quiet,
            checkpoint_every,
            movie: None,
        },
        true,
    )
}

fn run_inner(
    ctx: &GpuContext,
    scenario: &Scenario,
    opts: &RunOptions,
    resume: bool,
) -> Result<RunReport> {
    let started = Instant::now();
    let dir = opts.out.as_path();
    let mut sim = Simulation::new(ctx, &scenario.problem()).map_err(|e| scenario.locate(e))?;
    let mut w = RunWriter::for_scenario(dir, scenario)?.with_movie(opts.movie.clone());
    let ckpt_path = dir.join(CHECKPOINT_FILE);
    let mut restored = false;
    if resume && ckpt_path.exists() {
        let (ckpt, state) = checkpoint::load(&ckpt_path)?;
        sim.restore(&ckpt)?;
        w.state = state;
        restored = true;
    }
    let times = scenario.problem().output_times();
    let bar = progress_bar(opts.quiet, scenario.time.end);
    let mut last_ckpt = sim.time();
    let result = (|| -> Result<()> {
        if !restored {
            w.observe(sim.time(), &sim.read_fields()?, &sim.read_metrics()?)?;
            // Frames at outputs come with `observe`; a `--movie-every` movie starts here.
            if opts.movie.as_ref().is_some_and(|m| m.every.is_some())
                && let Some(sp) = w.movie_species()
            {
                w.movie_frame(sim.time(), &sim.read_fields()?[sp])?;
            }
        }
        // A state saved from the app sits between output times: go on from the next one.
        // Movie frames between outputs (`--movie-every`) are stops of their own.
        let now = sim.time();
        let after = |t: f64| t > now + 1e-9 * t.abs().max(1.0);
        let mut stops: Vec<(f64, bool)> = times
            .iter()
            .skip(w.state.outputs)
            .filter(|&&t| after(t))
            .map(|&t| (t, true))
            .collect();
        for t in w.movie_times(scenario.time.end) {
            if after(t) && !stops.iter().any(|s| (s.0 - t).abs() <= 1e-9 * t.max(1.0)) {
                stops.push((t, false));
            }
        }
        stops.sort_by(|a, b| a.0.total_cmp(&b.0));
        let every_frame = opts.movie.as_ref().is_some_and(|m| m.every.is_some());
        for (t, is_output) in stops {
            sim.advance(t, &mut |now| {
                bar.set_position((now / scenario.time.end * 1e4) as u64)
            })?;
            bar.set_message(crate::units::format_time(t));
            let fields = sim.read_fields()?;
            if every_frame && let Some(sp) = w.movie_species() {
                w.movie_frame(sim.time(), &fields[sp])?;
            }
            if !is_output {
                continue;
            }
            w.observe(sim.time(), &fields, &sim.read_metrics()?)?;
            if let Some(every) = opts.checkpoint_every
                && sim.time() - last_ckpt >= every * (1.0 - 1e-9)
                && t < scenario.time.end
            {
                checkpoint::save(&ckpt_path, &sim.checkpoint(0)?, &w.state)?;
                last_ckpt = sim.time();
                hold_if("checkpoint");
            }
        }
        Ok(())
    })()
    .map_err(|e| scenario.locate(e));
    bar.finish_and_clear();
    let c = sim.counters();
    let status = match &result {
        Err(e) => format!("failed: {e}"),
        Ok(()) => "completed".to_string(),
    };
    let finished = w.finish(&RunInfo {
        adapter: &ctx.info,
        plan: sim.plan(),
        counters: c,
        simulated_h: sim.time(),
        wall_seconds: started.elapsed().as_secs_f64(),
        status,
        batched_with: 1,
        decay: sim.species_decay(),
        tolerances: sim.tolerances(0),
    });
    result?;
    finished?;
    Ok(RunReport {
        crossings: w.crossings(),
        outputs: w.state.outputs,
        steps: c.steps,
        dispatches: c.dispatches,
        wall_seconds: started.elapsed().as_secs_f64(),
        cell_updates_per_second: if c.seconds > 0.0 {
            c.dispatches as f64 * scenario.grid.cells() as f64 / c.seconds
        } else {
            0.0
        },
    })
}

/// For tests that kill a run at a point that does not depend on the machine's speed:
/// with `EXODERM_TEST_HOLD_AFTER` set to `point` (e.g. `checkpoint`, `runs=3`), the process
/// stops there and waits to be killed. Never set outside tests.
pub fn hold_if(point: &str) {
    if std::env::var("EXODERM_TEST_HOLD_AFTER").as_deref() == Ok(point) {
        loop {
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
    }
}

fn progress_bar(quiet: bool, end: f64) -> indicatif::ProgressBar {
    if quiet {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(10_000);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{bar:40.cyan/blue} {percent:>3}%  t = {msg}  elapsed {elapsed}  eta {eta}",
    ) {
        bar.set_style(style);
    }
    bar.set_message(format!("0 / {}", crate::units::format_time(end)));
    bar
}
