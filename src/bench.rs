//! `exoderm bench`: throughput per scheme and grid size, as cell-updates/s (one update = one
//! right-hand-side evaluation and update of a cell: an Euler step, an RKC stage) and as
//! effective bandwidth (the planes each kernel must read and write) next to the device's own
//! buffer-copy bandwidth measured in the same run. The default scheme is timed as it runs,
//! error control, its per-step readback and the compensated state included; forward Euler
//! (one fused kernel, plain f32 state) beside it shows what those cost.

use std::time::Instant;

use serde::Serialize;

use crate::engine::{GpuContext, Problem, Simulation};
use crate::error::{Error, Result};
use crate::scenario::Scenario;

#[derive(Debug, Clone, Serialize)]
pub struct BenchRow {
    pub model: String,
    /// `rkc` (the default) or `euler`.
    pub scheme: String,
    pub species: usize,
    pub nx: u32,
    pub ny: u32,
    /// Full-grid updates timed.
    pub steps: u64,
    pub seconds: f64,
    pub cell_updates_per_s: f64,
    /// Bytes that must move per dispatch × dispatches / s: per cell and plane, an Euler
    /// step reads and writes 16 B once; an RKC stage reads the state's hi and lo parts, the
    /// two previous stages and the first slope, and writes one (6 × 16 B).
    pub effective_gb_per_s: f64,
    /// effective / copy bandwidth.
    pub fraction_of_copy: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub adapter: String,
    pub copy_gb_per_s: f64,
    pub copy_bytes: u64,
    pub rows: Vec<BenchRow>,
    /// Sizes left out, with the reason.
    pub skipped: Vec<String>,
    pub sweep: Option<SweepBench>,
}

/// A sweep of many small runs: batched into one simulation vs one simulation per run.
#[derive(Debug, Clone, Serialize)]
pub struct SweepBench {
    pub runs: usize,
    pub n: u32,
    pub steps_per_run: u64,
    pub batched_runs_per_s: f64,
    pub one_at_a_time_runs_per_s: f64,
}

/// `runs` Fisher runs at n² (r varied), each `steps` steps plus a metrics read: the whole
/// life of a run (pipelines, upload, stepping, reduction), batched and one at a time. Forward
/// Euler, so every run takes exactly `steps` steps either way and only batching differs.
pub fn sweep_bench(ctx: &GpuContext, runs: usize, n: u32, steps: u64) -> Result<SweepBench> {
    let problems: Vec<Problem> = (0..runs)
        .map(|i| {
            let text = format!(
                "[model]\nbuiltin = \"fisher\"\n[grid]\nsize = [{n}, {n}]\nextent = [\"{n} mm\", \"{n} mm\"]\n[time]\nend = \"1 h\"\nscheme = \"euler\"\n[params]\nr = {}\nx_front = 0.0\n",
                0.5 + i as f64 / runs as f64
            );
            Scenario::parse(&text, "bench sweep").map(|s| s.problem())
        })
        .collect::<Result<_>>()?;
    let life = |batch: &[Problem]| -> Result<()> {
        let mut sim = Simulation::batch(ctx, batch)?;
        let dt = sim.plan().dt;
        sim.advance(steps as f64 * dt, &mut |_| {})?;
        sim.read_metrics_all()?;
        Ok(())
    };
    life(&problems[..1])?; // warm-up
    let t = Instant::now();
    life(&problems)?;
    let batched = runs as f64 / t.elapsed().as_secs_f64();
    let t = Instant::now();
    for p in &problems {
        life(std::slice::from_ref(p))?;
    }
    let single = runs as f64 / t.elapsed().as_secs_f64();
    Ok(SweepBench {
        runs,
        n,
        steps_per_run: steps,
        batched_runs_per_s: batched,
        one_at_a_time_runs_per_s: single,
    })
}

/// The schemes timed, with the planes (vec4 × 16 B per cell) one dispatch reads and writes.
pub const SCHEMES: [(&str, f64); 2] = [("rkc", 6.0), ("euler", 2.0)];

/// The 2-species model (Gray–Scott) or an 8-species linear chain, on an n×n periodic grid,
/// with `scheme` (`rkc`, `euler`).
pub fn bench_scenario(species: usize, n: u32, scheme: &str) -> Result<Scenario> {
    let grid = format!(
        "[grid]\nsize = [{n}, {n}]\nextent = [\"{n} mm\", \"{n} mm\"]\nboundary = \"periodic\"\n[time]\nend = \"100 h\"\nscheme = \"{scheme}\"\n"
    );
    let text = if species == 2 {
        format!("[model]\nbuiltin = \"gray_scott\"\n{grid}")
    } else {
        let mut t = format!("[model]\nname = \"chain{species}\"\n{grid}[params]\nk = 0.1\n");
        for s in 0..species {
            t.push_str(&format!(
                "[[species]]\nname = \"s{s}\"\ndiffusion = {}\ninitial = \"noise\"\n",
                0.1 + 0.01 * s as f64
            ));
        }
        t.push_str("[reactions]\n");
        for s in 0..species {
            let prev = if s == 0 { species - 1 } else { s - 1 };
            t.push_str(&format!("s{s} = \"k * (s{prev} - s{s})\"\n"));
        }
        t
    };
    Scenario::parse(&text, "bench")
}

/// Buffer-to-buffer copy bandwidth (bytes read + written per second).
fn copy_bandwidth(ctx: &GpuContext) -> Result<(f64, u64)> {
    let size = (256u64 << 20).min(ctx.limits.max_buffer_size / 2) & !255;
    let make = |label| {
        ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size,
            usage: wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    };
    let (a, b) = (make("exoderm.bench.copy.a"), make("exoderm.bench.copy.b"));
    let run = |reps: u32| -> Result<f64> {
        let t = Instant::now();
        let mut enc = ctx.device.create_command_encoder(&Default::default());
        for _ in 0..reps {
            enc.copy_buffer_to_buffer(&a, 0, &b, 0, size);
        }
        ctx.queue.submit([enc.finish()]);
        ctx.wait()?;
        Ok(t.elapsed().as_secs_f64())
    };
    run(1)?;
    let mut reps = 2u32;
    loop {
        let s = run(reps)?;
        if s > 0.3 || reps >= 1 << 14 {
            return Ok((2.0 * size as f64 * reps as f64 / s, size));
        }
        reps *= 4;
    }
}

/// Times each (model, size); `target_s` is the wall time aimed at per measurement.
pub fn bench(
    ctx: &GpuContext,
    sizes: &[u32],
    species: &[usize],
    target_s: f64,
) -> Result<BenchReport> {
    let (copy, copy_bytes) = copy_bandwidth(ctx)?;
    let mut rows = vec![];
    let mut skipped = vec![];
    for (scheme, planes_moved) in SCHEMES {
        for &nsp in species {
            for &n in sizes {
                let sc = bench_scenario(nsp, n, scheme)?;
                match measure(ctx, &sc, scheme, nsp, planes_moved, target_s, copy)? {
                    Ok(row) => rows.push(row),
                    Err(why) => skipped.push(format!("{nsp} species at {n}²: {why}")),
                }
            }
        }
    }
    Ok(BenchReport {
        adapter: ctx.describe(),
        copy_gb_per_s: copy / 1e9,
        copy_bytes,
        rows,
        skipped,
        sweep: None,
    })
}

/// One measurement: `Ok(Err(why))` where the device cannot hold the problem.
fn measure(
    ctx: &GpuContext,
    sc: &Scenario,
    scheme: &str,
    nsp: usize,
    planes_moved: f64,
    target_s: f64,
    copy: f64,
) -> Result<std::result::Result<BenchRow, String>> {
    let mut sim = match Simulation::new(ctx, &sc.problem()) {
        Ok(s) => s,
        Err(Error::Problem { message, .. }) => return Ok(Err(message)),
        Err(e) => return Err(e),
    };
    // Warm up (pipeline compile, first touches, the error control settling), then advance
    // in calls that double in length (16 steps first) until the target time is spent: long
    // calls submit many dispatches at once, as a run does.
    let step = sim.plan().dt.min(sc.time.end / 1e4);
    sim.advance(sim.time() + 16.0 * step, &mut |_| {})?;
    let before = sim.counters();
    let mut span = 16.0 * sim.plan().dt.min(sc.time.end / 1e4);
    while sim.counters().seconds - before.seconds < target_s && sim.time() < sc.time.end {
        let t = (sim.time() + span).min(sc.time.end);
        sim.advance(t, &mut |_| {})?;
        span *= 2.0;
    }
    let after = sim.counters();
    let (d, secs) = (
        after.dispatches - before.dispatches,
        after.seconds - before.seconds,
    );
    let cells = sc.grid.cells() as f64;
    let bytes = sc.model.planes() as f64 * planes_moved * 16.0 * cells;
    let gbs = d as f64 * bytes / secs / 1e9;
    Ok(Ok(BenchRow {
        model: sc.model.name.clone(),
        scheme: scheme.into(),
        species: nsp,
        nx: sc.grid.nx,
        ny: sc.grid.ny,
        steps: d,
        seconds: secs,
        cell_updates_per_s: d as f64 * cells / secs,
        effective_gb_per_s: gbs,
        fraction_of_copy: gbs * 1e9 / copy,
    }))
}

/// What each tissue capability costs (issue #12): the 2-species chain under RKC at n×n,
/// plain and with one capability added — diffusion that varies, taxis, a drift, a map read
/// in the reactions — and the chain at 8 and 32 species (cost per species and plane).
pub fn capability_bench(ctx: &GpuContext, n: u32, target_s: f64) -> Result<Vec<BenchRow>> {
    let (copy, _) = copy_bandwidth(ctx)?;
    let dir = std::env::temp_dir().join(format!("exoderm-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| Error::io("cannot create", &dir, e))?;
    let map: Vec<f32> = (0..(n * n) as usize)
        .map(|i| (i % n as usize) as f32 / n as f32)
        .collect();
    let map_path = dir.join("bench_map.npy");
    std::fs::write(
        &map_path,
        crate::output::npy::encode_f32(&map, n as usize, n as usize),
    )
    .map_err(|e| Error::io("cannot write", &map_path, e))?;
    // Each variant: its name and how it edits the chain's scenario text.
    type Edit = fn(String) -> String;
    let chain = |name: &str, edit: Edit| -> Result<Scenario> {
        let sc = bench_scenario(3, n, "rkc")?;
        let text = edit(sc.source.replace("chain3", name));
        Scenario::parse(&text, &dir.join("bench.toml").display().to_string())
    };
    let variants: Vec<(&str, Edit)> = vec![
        ("chain3", |t| t),
        ("+var-D", |t| {
            t.replacen(
                "diffusion = 0.1\n",
                "diffusion = \"0.1 * (1.0 + 0.5 * s1)\"\n",
                1,
            )
        }),
        ("+taxis", |t| {
            t.replacen(
                "diffusion = 0.1\n",
                "diffusion = 0.1\ntaxis = { up = \"s1\", chi = \"0.05\" }\n",
                1,
            )
        }),
        ("+drift", |t| {
            t.replacen(
                "diffusion = 0.1\n",
                "diffusion = 0.1\nvelocity = [\"0.05\", \"0.0\"]\n",
                1,
            )
        }),
        ("+map", |t| {
            t.replace("[params]\n", "[maps]\nbed = \"bench_map.npy\"\n[params]\n")
                .replace("s0 = \"k * (", "s0 = \"bed * k * (")
        }),
    ];
    let mut rows = vec![];
    for (name, edit) in &variants {
        let sc = chain(name, *edit)?;
        if let Ok(row) = measure(ctx, &sc, "rkc", 3, 6.0, target_s, copy)? {
            rows.push(row);
        }
    }
    for nsp in [8, 32] {
        let sc = bench_scenario(nsp, n, "rkc")?;
        if let Ok(row) = measure(ctx, &sc, "rkc", nsp, 6.0, target_s, copy)? {
            rows.push(row);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(rows)
}

/// The report as a table for people.
pub fn table(r: &BenchReport) -> String {
    let mut s = format!(
        "adapter: {}\ndevice copy bandwidth: {:.1} GB/s (read + write, {} MiB buffer)\n\n{:<12} {:<6} {:>7} {:>11} {:>8} {:>16} {:>10} {:>9}\n",
        r.adapter,
        r.copy_gb_per_s,
        r.copy_bytes >> 20,
        "model",
        "scheme",
        "species",
        "grid",
        "dispatch",
        "cell-updates/s",
        "GB/s",
        "of copy"
    );
    for row in &r.rows {
        s.push_str(&format!(
            "{:<12} {:<6} {:>7} {:>11} {:>8} {:>16.3e} {:>10.2} {:>8.0}%\n",
            row.model,
            row.scheme,
            row.species,
            format!("{}x{}", row.nx, row.ny),
            row.steps,
            row.cell_updates_per_s,
            row.effective_gb_per_s,
            100.0 * row.fraction_of_copy
        ));
    }
    for k in &r.skipped {
        s.push_str(&format!("skipped: {k}\n"));
    }
    if let Some(w) = &r.sweep {
        s.push_str(&format!(
            "\nsweep of {} runs at {}x{} ({} steps each): batched {:.2} runs/s, one at a time {:.2} runs/s ({:.1}x)\n",
            w.runs,
            w.n,
            w.n,
            w.steps_per_run,
            w.batched_runs_per_s,
            w.one_at_a_time_runs_per_s,
            w.batched_runs_per_s / w.one_at_a_time_runs_per_s
        ));
    }
    s
}
