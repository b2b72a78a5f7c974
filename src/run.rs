//! `exoderm run`: one scenario, no window. Advances output time by output time, writing
//! metrics.csv, NPY fields, PNG snapshots and run.json into the output folder.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::json;

use crate::engine::{GpuContext, Simulation};
use crate::error::{Error, Result};
use crate::output::{self, npy, snapshot};
use crate::scenario::Scenario;

pub struct RunOptions {
    pub out: PathBuf,
    /// No progress bar (for logs and batch jobs).
    pub quiet: bool,
}

/// What a finished run reports (also written to run.json).
#[derive(Debug, Clone)]
pub struct RunReport {
    pub outputs: usize,
    pub steps: u64,
    pub dispatches: u64,
    pub wall_seconds: f64,
    pub cell_updates_per_second: f64,
}

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

/// The output times: 0, every `output_every`, and `end`.
pub fn output_times(s: &Scenario) -> Vec<f64> {
    let n = (s.time.end / s.time.output_every * (1.0 - 1e-12)).ceil() as usize;
    (0..=n)
        .map(|k| (k as f64 * s.time.output_every).min(s.time.end))
        .collect()
}

pub fn csv_header(s: &Scenario) -> String {
    let mut cols = vec!["t_h".to_string()];
    for sp in &s.model.species {
        for stat in ["mean", "min", "max", "total"] {
            cols.push(format!("{}_{stat}", sp.name));
        }
    }
    cols.extend(s.model.metrics.iter().map(|m| m.name.clone()));
    cols.join(",")
}

struct Writer<'a> {
    dir: &'a Path,
    scenario: &'a Scenario,
    csv: String,
    /// Per species: min and max over all outputs (for the PNG range).
    seen: Vec<[f64; 2]>,
    outputs: usize,
}

impl Writer<'_> {
    fn observe(&mut self, sim: &Simulation) -> Result<()> {
        let s = self.scenario;
        let fields = sim.read_fields()?;
        let metrics = sim.read_metrics()?;
        let k = self.outputs;
        let mut row = vec![format!("{:?}", sim.time())];
        for (i, (sp, f)) in s.model.species.iter().zip(&fields).enumerate() {
            let st = field_stats(f, s.grid.cell_area());
            row.extend(st.iter().map(|v| format!("{v:?}")));
            self.seen[i] = [self.seen[i][0].min(st[1]), self.seen[i][1].max(st[2])];
            if s.output.npy {
                let path = self.dir.join("fields").join(format!("{}_{k}.npy", sp.name));
                output::write_atomic(
                    &path,
                    &npy::encode_f32(f, s.grid.ny as usize, s.grid.nx as usize),
                )?;
            }
            if s.output.png && (sp.range.is_some() || !s.output.npy) {
                let range = sp.range.unwrap_or(self.seen[i]);
                self.png(&sp.name, k, f, range)?;
            }
        }
        row.extend(metrics.iter().map(|v| format!("{v:?}")));
        self.csv.push_str(&row.join(","));
        self.csv.push('\n');
        output::write_atomic(&self.dir.join("metrics.csv"), self.csv.as_bytes())?;
        self.outputs += 1;
        Ok(())
    }

    fn png(&self, name: &str, k: usize, field: &[f32], range: [f64; 2]) -> Result<()> {
        let (nx, ny) = (
            self.scenario.grid.nx as usize,
            self.scenario.grid.ny as usize,
        );
        let range = if range[1] > range[0] {
            range
        } else {
            [range[0], range[0] + 1.0]
        };
        let png = snapshot::encode_png(
            &snapshot::render(field, nx, ny, range, &self.scenario.output.colormap),
            nx,
            ny,
        )?;
        output::write_atomic(&self.dir.join(format!("{name}_{k}.png")), &png)
    }

    /// Snapshots of species without a declared range, over the whole run's range, from the
    /// NPY files already on disk.
    fn finish_pngs(&self) -> Result<()> {
        let s = self.scenario;
        if !(s.output.png && s.output.npy) {
            return Ok(());
        }
        for (i, sp) in s
            .model
            .species
            .iter()
            .enumerate()
            .filter(|(_, sp)| sp.range.is_none())
        {
            for k in 0..self.outputs {
                let path = self.dir.join("fields").join(format!("{}_{k}.npy", sp.name));
                let bytes =
                    std::fs::read(&path).map_err(|e| Error::io("cannot re-read", &path, e))?;
                let (_, data) = npy::decode_f32(&bytes).ok_or_else(|| {
                    Error::Internal(format!("{} is not an npy we wrote", path.display()))
                })?;
                self.png(&sp.name, k, &data, self.seen[i])?;
            }
        }
        Ok(())
    }
}

/// Runs `scenario` to its end on `ctx`, writing everything into `opts.out`.
pub fn run(ctx: &GpuContext, scenario: &Scenario, opts: &RunOptions) -> Result<RunReport> {
    let started = Instant::now();
    let dir = opts.out.as_path();
    std::fs::create_dir_all(dir.join("fields"))
        .map_err(|e| Error::io("cannot create output folder", dir, e))?;
    let mut sim = Simulation::new(
        &ctx.device,
        &ctx.queue,
        &ctx.limits,
        &ctx.describe(),
        scenario,
    )?;
    let times = output_times(scenario);
    let mut w = Writer {
        dir,
        scenario,
        csv: csv_header(scenario) + "\n",
        seen: vec![[f64::INFINITY, f64::NEG_INFINITY]; scenario.model.species.len()],
        outputs: 0,
    };
    let bar = progress_bar(opts.quiet, scenario.time.end);
    let result = (|| -> Result<()> {
        w.observe(&sim)?;
        for &t in &times[1..] {
            sim.advance(t, &mut |now| {
                bar.set_position((now / scenario.time.end * 1e4) as u64)
            })?;
            bar.set_message(crate::units::format_time(t));
            w.observe(&sim)?;
        }
        Ok(())
    })();
    bar.finish_and_clear();
    let pngs = w.finish_pngs();
    let c = sim.counters();
    let report = RunReport {
        outputs: w.outputs,
        steps: c.steps,
        dispatches: c.dispatches,
        wall_seconds: started.elapsed().as_secs_f64(),
        cell_updates_per_second: if c.seconds > 0.0 {
            c.dispatches as f64 * scenario.grid.cells() as f64 / c.seconds
        } else {
            0.0
        },
    };
    let status = match (&result, &pngs) {
        (Err(e), _) | (Ok(()), Err(e)) => format!("failed: {e}"),
        _ => "completed".to_string(),
    };
    write_run_json(dir, ctx, &sim, &report, &status)?;
    result?;
    pngs?;
    Ok(report)
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

fn write_run_json(
    dir: &Path,
    ctx: &GpuContext,
    sim: &Simulation,
    r: &RunReport,
    status: &str,
) -> Result<()> {
    let s = sim.scenario();
    let plan = sim.plan();
    let doc = json!({
        "exoderm_version": env!("CARGO_PKG_VERSION"),
        "status": status,
        "adapter": {
            "name": ctx.info.name,
            "backend": format!("{:?}", ctx.info.backend),
            "device_type": format!("{:?}", ctx.info.device_type),
            "driver": ctx.info.driver,
            "driver_info": ctx.info.driver_info,
        },
        "grid": {
            "nx": s.grid.nx, "ny": s.grid.ny,
            "extent_mm": s.grid.extent,
            "dx_mm": s.grid.dx(), "dy_mm": s.grid.dy(),
            "boundary": { "left": s.grid.boundary[0], "right": s.grid.boundary[1], "bottom": s.grid.boundary[2], "top": s.grid.boundary[3] },
        },
        "time_step": {
            "dt_max_h": if plan.dt.is_finite() { json!(plan.dt) } else { json!(null) },
            "dt_mean_h": if r.steps > 0 { json!(sim.time() / r.steps as f64) } else { json!(null) },
            "limited_by": plan.limited_by,
            "substeps": plan.substeps,
            "substepped_species": plan.fast,
            "reaction_rate_per_h": plan.reaction_rate,
            "scheme": plan.scheme,
            "per_species": s.model.species.iter().map(|sp| json!({
                "name": sp.name,
                "diffusion_mm2_per_h": sp.diffusion,
                "diffusion_substeps": if plan.fast.contains(&sp.name) { plan.substeps } else { 1 },
            })).collect::<Vec<_>>(),
        },
        "steps": r.steps,
        "dispatches": r.dispatches,
        "outputs": r.outputs,
        "simulated_h": sim.time(),
        "wall_time_s": r.wall_seconds,
        "cell_updates_per_s": r.cell_updates_per_second,
        "scenario": s,
    });
    let text = serde_json::to_string_pretty(&doc)
        .map_err(|e| Error::Internal(format!("run.json: {e}")))?;
    output::write_atomic(&dir.join("run.json"), text.as_bytes())
}
