//! The `exoderm` binary: parses arguments, runs one command, prints the whole error chain
//! once and exits non-zero on failure.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use exoderm::{GpuContext, Scenario, bench, presets, run};

#[derive(Parser)]
#[command(
    name = "exoderm",
    version,
    about = "GPU reaction-diffusion simulator of skin healing, ageing and exosome treatment"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Open the desktop app (the default with no command): watch, paint, compare, record.
    #[cfg(feature = "gui")]
    Gui {
        /// A scenario file or shipped preset name (default: the last one, else the epidermal wound).
        scenario: Option<String>,
        /// Start playing at once.
        #[arg(long)]
        play: bool,
        /// Start side by side with the scenario's suggested difference.
        #[arg(long)]
        compare: bool,
        /// With --compare: show the difference B − A as a third view.
        #[arg(long, requires = "compare")]
        delta: bool,
        /// Presentation mode: large text, fewer controls.
        #[arg(long)]
        present: bool,
        /// Close after this many seconds (demos, smoke tests).
        #[arg(long, value_name = "SECONDS")]
        exit_after: Option<f64>,
        /// With --exit-after: save a PNG screenshot of the window just before closing.
        #[arg(long, value_name = "PATH", requires = "exit_after")]
        screenshot: Option<PathBuf>,
    },
    /// Run a scenario headless (no window), writing metrics, fields, snapshots and run.json.
    Run {
        /// A scenario file, or the name of a shipped one (see `exoderm presets`).
        #[arg(required_unless_present = "resume")]
        scenario: Option<String>,
        /// Output folder.
        #[arg(long, short, required_unless_present = "resume")]
        out: Option<PathBuf>,
        /// Continue the run in this folder from its last checkpoint (bit-identical results).
        #[arg(long, conflicts_with_all = ["scenario", "out"])]
        resume: Option<PathBuf>,
        /// Write a checkpoint at the first output time after every such interval (e.g. "2 d").
        #[arg(long)]
        checkpoint_every: Option<String>,
        /// No progress bar.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Run a parameter sweep (grid / random / Latin hypercube, replicates), resumable and shardable.
    Sweep {
        /// The sweep file.
        #[arg(required_unless_present = "merge")]
        sweep: Option<PathBuf>,
        /// Output folder (runs/<id>/, summary.csv, summary.json, plots/).
        #[arg(long, short, required_unless_present = "merge")]
        out: Option<PathBuf>,
        /// Run only share i of n (0-based), e.g. 2/8; default: from SLURM_ARRAY_TASK_ID/COUNT or JOB_COMPLETION_INDEX.
        #[arg(long)]
        shard: Option<String>,
        /// Most runs advanced together on the GPU (1 = one at a time).
        #[arg(long)]
        batch: Option<usize>,
        /// Rebuild the summary of a (sharded) sweep folder without running anything.
        #[arg(long, conflicts_with_all = ["sweep", "out", "shard", "batch"])]
        merge: Option<PathBuf>,
        /// No progress bars: one line per run instead (for logs).
        #[arg(long, short)]
        quiet: bool,
    },
    /// Validate a scenario (units, names, every expression, the generated shaders) without running it.
    Check { scenario: String },
    /// List the scenarios shipped under assets/.
    Presets,
    /// Measure step throughput (cell-updates/s, effective GB/s vs the device's copy bandwidth).
    Bench {
        /// Grid sizes (n for n×n).
        #[arg(long, value_delimiter = ',', default_values_t = [256u32, 512, 1024, 2048, 4096, 8192])]
        sizes: Vec<u32>,
        /// Seconds per measurement.
        #[arg(long, default_value_t = 1.0)]
        seconds: f64,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Skip the 64-run sweep measurement (batched vs one at a time).
        #[arg(long)]
        no_sweep: bool,
    },
}

fn load(name: &str) -> anyhow::Result<Scenario> {
    Ok(presets::load(name)?)
}

fn main() -> ExitCode {
    match real_main() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            for cause in e.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::FAILURE
        }
    }
}

fn real_main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    #[cfg(feature = "gui")]
    let command = cli.command.unwrap_or(Command::Gui {
        scenario: None,
        play: false,
        compare: false,
        delta: false,
        present: false,
        exit_after: None,
        screenshot: None,
    });
    #[cfg(not(feature = "gui"))]
    let Some(command) = cli.command else {
        use clap::CommandFactory;
        Cli::command().print_help()?;
        println!("\nTry: exoderm run assets/examples/fisher.toml --out runs/fisher");
        return Ok(());
    };
    match command {
        #[cfg(feature = "gui")]
        Command::Gui {
            scenario,
            play,
            compare,
            delta,
            present,
            exit_after,
            screenshot,
        } => {
            exoderm::app::run(exoderm::app::GuiOptions {
                scenario,
                exit_after,
                screenshot,
                presentation: present,
                play,
                compare,
                delta,
            })?;
        }
        Command::Run {
            scenario,
            out,
            resume,
            checkpoint_every,
            quiet,
        } => {
            let every = checkpoint_every
                .map(|c| {
                    exoderm::units::parse(&c, exoderm::units::Dimension::Time)
                        .map_err(|e| anyhow::anyhow!("--checkpoint-every: {e}"))
                })
                .transpose()?;
            let ctx = GpuContext::headless()?;
            let (report, out) = match resume {
                Some(dir) => {
                    if exoderm::run::is_complete(&dir) {
                        eprintln!(
                            "exoderm: {} is already complete; nothing to do",
                            dir.display()
                        );
                        return Ok(());
                    }
                    (
                        exoderm::run::resume(&ctx, &dir, quiet, every)
                            .with_context(|| format!("resuming {}", dir.display()))?,
                        dir,
                    )
                }
                None => {
                    let sc = load(scenario.as_deref().unwrap_or_default())?;
                    let out = out.unwrap_or_default();
                    if !quiet {
                        eprintln!(
                            "exoderm: {} on {} — {}×{} cells, to {}",
                            sc.file,
                            ctx.describe(),
                            sc.grid.nx,
                            sc.grid.ny,
                            exoderm::units::format_time(sc.time.end)
                        );
                    }
                    let opts = run::RunOptions {
                        out: out.clone(),
                        quiet,
                        checkpoint_every: every,
                    };
                    (
                        run::run(&ctx, &sc, &opts)
                            .with_context(|| format!("running {}", sc.file))?,
                        out,
                    )
                }
            };
            if !quiet {
                eprintln!(
                    "done: {} outputs, {} steps in {:.2} s ({:.3e} cell-updates/s) -> {}",
                    report.outputs,
                    report.steps,
                    report.wall_seconds,
                    report.cell_updates_per_second,
                    out.display()
                );
            }
        }
        Command::Sweep {
            sweep,
            out,
            shard,
            batch,
            merge,
            quiet,
        } => {
            if let Some(dir) = merge {
                let (complete, failed, missing) = exoderm::batch::merge(&dir)?;
                println!(
                    "merged {}: {complete} complete, {failed} failed, {missing} not run yet",
                    dir.display()
                );
                return Ok(());
            }
            let spec = exoderm::batch::Sweep::load(&sweep.unwrap_or_default())?;
            let shard =
                exoderm::batch::Shard::resolve(shard.as_deref(), &|k| std::env::var(k).ok())?;
            let ctx = GpuContext::headless()?;
            let out = out.unwrap_or_default();
            if !quiet {
                eprintln!(
                    "exoderm sweep: {} runs ({:?} design, {} replicates), shard {}/{}, on {}",
                    spec.runs.len(),
                    spec.design,
                    spec.replicates,
                    shard.index,
                    shard.count,
                    ctx.describe()
                );
            }
            let report = exoderm::batch::run_sweep(
                &ctx,
                &spec,
                &exoderm::batch::SweepOptions {
                    out: out.clone(),
                    shard,
                    quiet,
                    batch,
                },
            )?;
            let (complete, failed, missing) = report.totals;
            eprintln!(
                "shard {}/{}: ran {}, skipped {} already complete; sweep: {complete} complete, {failed} failed, {missing} not run yet -> {}",
                shard.index,
                shard.count,
                report.ran,
                report.skipped,
                out.join("summary.csv").display()
            );
            if !report.failed.is_empty() {
                eprintln!("failed runs:");
                for (id, e) in &report.failed {
                    eprintln!("  {id}: {}", e.lines().next().unwrap_or(""));
                }
                anyhow::bail!(
                    "{} of {} runs failed (see summary.csv and runs/<id>/run.json)",
                    report.failed.len(),
                    report.ran
                );
            }
        }
        Command::Check { scenario } => {
            let sc = load(&scenario)?;
            exoderm::engine::pipeline::sources(&sc.model)?;
            let mem =
                exoderm::engine::fields::plane_bytes(&sc.grid, 1) * 2 * sc.model.planes() as u64;
            println!(
                "ok: {} — model `{}`, {} species, {} params, {} metrics, {}×{} cells ({:.4} × {:.4} mm), {} MiB of fields, to {}",
                sc.file,
                sc.model.name,
                sc.model.species.len(),
                sc.model.params.len(),
                sc.model.metrics.len(),
                sc.grid.nx,
                sc.grid.ny,
                sc.grid.dx(),
                sc.grid.dy(),
                mem >> 20,
                exoderm::units::format_time(sc.time.end)
            );
            match GpuContext::headless() {
                Ok(ctx) => {
                    exoderm::engine::fields::check_limits(
                        &sc.model,
                        &sc.grid,
                        1,
                        &ctx.limits,
                        &ctx.describe(),
                    )?;
                    println!("ok: fits {}", ctx.describe());
                }
                Err(e) => println!("note: adapter limits not checked: {e}"),
            }
        }
        Command::Presets => {
            for (path, text) in presets::SCENARIOS {
                let sc = Scenario::parse(text, path)?;
                let about = if sc.model.description.is_empty() {
                    sc.model.name.clone()
                } else {
                    sc.model.description.clone()
                };
                println!(
                    "{:<12} {path}\n             {about}",
                    presets::short_name(path)
                );
            }
        }
        Command::Bench {
            sizes,
            seconds,
            json,
            no_sweep,
        } => {
            let ctx = GpuContext::headless()?;
            let mut report = bench::bench(&ctx, &sizes, &[2, 8], seconds)?;
            if !no_sweep {
                report.sweep = Some(bench::sweep_bench(&ctx, 64, 128, 200)?);
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", bench::table(&report));
            }
        }
    }
    Ok(())
}
