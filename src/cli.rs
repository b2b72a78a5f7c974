//! Command-line arguments (clap) and the typed commands they validate into: each
//! subcommand's raw arguments become one [`Command`] variant whose values are already
//! checked (times parsed, scenarios loaded, shards resolved), and each variant runs in its
//! own function.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use exoderm::batch::{Shard, Sweep};
use exoderm::{GpuContext, Scenario, bench, presets, run};

#[derive(Parser)]
#[command(
    name = "exoderm",
    version,
    about = "GPU reaction-diffusion simulator of skin healing, ageing and exosome treatment"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Args>,
}

#[derive(Subcommand)]
enum Args {
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
        /// Run both sides of the scenario's `[view] compare` into DIR/a and DIR/b, with one
        /// plot of both and the read-out ("50% closed: ... sooner").
        #[arg(long)]
        compare: bool,
        /// Write an animated GIF of this species (DIR/NAME.gif), annotated like the snapshots.
        #[arg(long, value_name = "SPECIES")]
        movie: Option<String>,
        /// Movie frames every such interval (e.g. "6 h") instead of at the outputs.
        #[arg(long, value_name = "TIME", requires = "movie")]
        movie_every: Option<String>,
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
    Check {
        scenario: String,
        /// Also write the generated WGSL modules into this folder (for writing models).
        #[arg(long, value_name = "DIR")]
        shaders: Option<PathBuf>,
    },
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
        /// Also time what each tissue capability costs (varying D, taxis, drift, maps,
        /// 32 species) on the first size.
        #[arg(long)]
        capabilities: bool,
    },
}

pub fn parse() -> Cli {
    Cli::parse()
}

/// A validated command.
pub enum Command {
    /// Print the help (a headless build without a subcommand).
    #[cfg(not(feature = "gui"))]
    Help,
    #[cfg(feature = "gui")]
    Gui(exoderm::app::GuiOptions),
    Run {
        scenario: Box<Scenario>,
        /// `--compare`: both sides of the scenario's comparison.
        compare: bool,
        opts: run::RunOptions,
    },
    Resume {
        dir: PathBuf,
        quiet: bool,
        checkpoint_every: Option<f64>,
    },
    Sweep {
        sweep: Box<Sweep>,
        out: PathBuf,
        shard: Shard,
        batch: Option<usize>,
        quiet: bool,
    },
    Merge {
        dir: PathBuf,
    },
    Check {
        scenario: Box<Scenario>,
        shaders: Option<PathBuf>,
    },
    Presets,
    Bench {
        sizes: Vec<u32>,
        seconds: f64,
        json: bool,
        sweep: bool,
        capabilities: bool,
    },
}

fn time_arg(flag: &str, text: &str) -> anyhow::Result<f64> {
    exoderm::units::parse(text, exoderm::units::Dimension::Time)
        .map_err(|e| anyhow::anyhow!("{flag}: {e}"))
}

impl Command {
    /// Checks the arguments and loads what they name, before any GPU work.
    pub fn from_args(cli: Cli) -> anyhow::Result<Command> {
        #[cfg(feature = "gui")]
        let args = cli.command.unwrap_or(Args::Gui {
            scenario: None,
            play: false,
            compare: false,
            delta: false,
            present: false,
            exit_after: None,
            screenshot: None,
        });
        #[cfg(not(feature = "gui"))]
        let Some(args) = cli.command else {
            return Ok(Command::Help);
        };
        Ok(match args {
            #[cfg(feature = "gui")]
            Args::Gui {
                scenario,
                play,
                compare,
                delta,
                present,
                exit_after,
                screenshot,
            } => Command::Gui(exoderm::app::GuiOptions {
                scenario,
                exit_after,
                screenshot,
                presentation: present,
                play,
                compare,
                delta,
            }),
            Args::Run {
                scenario,
                out,
                resume,
                checkpoint_every,
                quiet,
                compare,
                movie,
                movie_every,
            } => {
                if resume.is_some() && (compare || movie.is_some()) {
                    anyhow::bail!(
                        "--resume continues a run as it was started; --compare and --movie go with SCENARIO --out DIR"
                    );
                }
                let every = checkpoint_every
                    .map(|c| time_arg("--checkpoint-every", &c))
                    .transpose()?;
                match (resume, scenario, out) {
                    (Some(dir), _, _) => Command::Resume {
                        dir,
                        quiet,
                        checkpoint_every: every,
                    },
                    (None, Some(scenario), Some(out)) => {
                        let scenario = presets::load(&scenario)?;
                        let movie = match movie {
                            None => None,
                            Some(name) => Some(run::MovieSpec {
                                species: scenario.model.species_index(&name).ok_or_else(|| {
                                    anyhow::anyhow!(
                                        "--movie {name}: {} has no species `{name}`; it has {}",
                                        scenario.file,
                                        scenario
                                            .model
                                            .species
                                            .iter()
                                            .map(|s| s.name.as_str())
                                            .collect::<Vec<_>>()
                                            .join(", ")
                                    )
                                })?,
                                every: movie_every
                                    .map(|t| time_arg("--movie-every", &t))
                                    .transpose()?,
                            }),
                        };
                        Command::Run {
                            scenario: Box::new(scenario),
                            compare,
                            opts: run::RunOptions {
                                out,
                                quiet,
                                checkpoint_every: every,
                                movie,
                            },
                        }
                    }
                    _ => {
                        anyhow::bail!("`exoderm run` needs SCENARIO and --out DIR, or --resume DIR")
                    }
                }
            }
            Args::Sweep {
                sweep,
                out,
                shard,
                batch,
                merge,
                quiet,
            } => match (merge, sweep, out) {
                (Some(dir), _, _) => Command::Merge { dir },
                (None, Some(sweep), Some(out)) => Command::Sweep {
                    sweep: Box::new(Sweep::load(&sweep)?),
                    out,
                    shard: Shard::resolve(shard.as_deref(), &|k| std::env::var(k).ok())?,
                    batch,
                    quiet,
                },
                _ => anyhow::bail!("`exoderm sweep` needs SWEEP and --out DIR, or --merge DIR"),
            },
            Args::Check { scenario, shaders } => Command::Check {
                scenario: Box::new(presets::load(&scenario)?),
                shaders,
            },
            Args::Presets => Command::Presets,
            Args::Bench {
                sizes,
                seconds,
                json,
                no_sweep,
                capabilities,
            } => Command::Bench {
                sizes,
                seconds,
                json,
                sweep: !no_sweep,
                capabilities,
            },
        })
    }

    pub fn execute(self) -> anyhow::Result<()> {
        match self {
            #[cfg(not(feature = "gui"))]
            Command::Help => help(),
            #[cfg(feature = "gui")]
            Command::Gui(opts) => exoderm::app::run(opts),
            Command::Run {
                scenario,
                compare,
                opts,
            } => run_scenario(&scenario, compare, &opts),
            Command::Resume {
                dir,
                quiet,
                checkpoint_every,
            } => resume(&dir, quiet, checkpoint_every),
            Command::Sweep {
                sweep,
                out,
                shard,
                batch,
                quiet,
            } => sweep_cmd(&sweep, out, shard, batch, quiet),
            Command::Merge { dir } => {
                let (complete, failed, missing) = exoderm::batch::merge(&dir)?;
                println!(
                    "merged {}: {complete} complete, {failed} failed, {missing} not run yet",
                    dir.display()
                );
                Ok(())
            }
            Command::Check { scenario, shaders } => check(&scenario, shaders.as_deref()),
            Command::Presets => list_presets(),
            Command::Bench {
                sizes,
                seconds,
                json,
                sweep,
                capabilities,
            } => bench_cmd(&sizes, seconds, json, sweep, capabilities),
        }
    }
}

#[cfg(not(feature = "gui"))]
fn help() -> anyhow::Result<()> {
    use clap::CommandFactory;
    Cli::command().print_help()?;
    println!("\nTry: exoderm run assets/examples/fisher.toml --out runs/fisher");
    Ok(())
}

fn report_done(report: &run::RunReport, out: &std::path::Path) {
    eprintln!(
        "done: {} outputs, {} steps in {:.2} s ({:.3e} cell-updates/s) -> {}",
        report.outputs,
        report.steps,
        report.wall_seconds,
        report.cell_updates_per_second,
        out.display()
    );
    // The numbers people quote, one line.
    if !report.crossings.is_empty() {
        eprintln!(
            "{}",
            exoderm::output::report::crossings_text(&report.crossings)
        );
    }
}

fn run_scenario(sc: &Scenario, compare: bool, opts: &run::RunOptions) -> anyhow::Result<()> {
    let ctx = GpuContext::headless()?;
    if !opts.quiet {
        eprintln!(
            "exoderm: {} on {} — {}×{} cells, to {}",
            sc.file,
            ctx.describe(),
            sc.grid.nx,
            sc.grid.ny,
            exoderm::units::format_time(sc.time.end)
        );
    }
    if compare {
        let c = exoderm::compare::run(&ctx, sc, opts)
            .with_context(|| format!("running both sides of {}", sc.file))?;
        if !opts.quiet {
            for (label, (r, side)) in c.labels.iter().zip(c.sides.iter().zip(["a", "b"])) {
                eprint!("{label}: ");
                report_done(r, &opts.out.join(side));
            }
        }
        // The read-out is the result: printed even with --quiet.
        println!("{}", c.readout);
        return Ok(());
    }
    let report = run::run(&ctx, sc, opts).with_context(|| format!("running {}", sc.file))?;
    if !opts.quiet {
        report_done(&report, &opts.out);
    }
    Ok(())
}

fn resume(dir: &std::path::Path, quiet: bool, every: Option<f64>) -> anyhow::Result<()> {
    if run::is_complete(dir) {
        eprintln!(
            "exoderm: {} is already complete; nothing to do",
            dir.display()
        );
        return Ok(());
    }
    let ctx = GpuContext::headless()?;
    let report = run::resume(&ctx, dir, quiet, every)
        .with_context(|| format!("resuming {}", dir.display()))?;
    if !quiet {
        report_done(&report, dir);
    }
    Ok(())
}

fn sweep_cmd(
    spec: &Sweep,
    out: PathBuf,
    shard: Shard,
    batch: Option<usize>,
    quiet: bool,
) -> anyhow::Result<()> {
    let ctx = GpuContext::headless()?;
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
        spec,
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
        // --quiet printed each failure as it happened.
        if !quiet {
            eprintln!("failed runs:");
            for (id, e) in &report.failed {
                eprintln!("  {id}: {}", e.to_string().lines().next().unwrap_or(""));
            }
        }
        anyhow::bail!(
            "{} of {} runs failed (see summary.csv and runs/<id>/run.json)",
            report.failed.len(),
            report.ran
        );
    }
    Ok(())
}

fn check(sc: &Scenario, shaders: Option<&std::path::Path>) -> anyhow::Result<()> {
    let sources = exoderm::engine::kernels::sources(&sc.model)?;
    if let Some(dir) = shaders {
        for (label, src) in &sources {
            exoderm::output::write_atomic(&dir.join(format!("{label}.wgsl")), src.as_bytes())?;
        }
        println!("wrote {} WGSL modules to {}", sources.len(), dir.display());
    }
    let mem = exoderm::engine::resources::set_bytes(&sc.model, &sc.grid, 1) * 2;
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
            exoderm::engine::resources::check_limits(
                &sc.model,
                &sc.grid,
                1,
                &ctx.limits,
                &ctx.describe(),
            )
            .map_err(|e| sc.locate(e))?;
            println!("ok: fits {}", ctx.describe());
        }
        Err(e) => println!("note: adapter limits not checked: {e}"),
    }
    Ok(())
}

fn list_presets() -> anyhow::Result<()> {
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
    Ok(())
}

fn bench_cmd(
    sizes: &[u32],
    seconds: f64,
    json: bool,
    sweep: bool,
    capabilities: bool,
) -> anyhow::Result<()> {
    let ctx = GpuContext::headless()?;
    let mut report = bench::bench(&ctx, sizes, &[2, 8], seconds)?;
    if capabilities && let Some(&n) = sizes.first() {
        report
            .rows
            .extend(bench::capability_bench(&ctx, n, seconds)?);
    }
    if sweep {
        report.sweep = Some(bench::sweep_bench(&ctx, 64, 128, 200)?);
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", bench::table(&report));
    }
    Ok(())
}
