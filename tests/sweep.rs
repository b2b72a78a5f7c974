//! Sweeps: layout and summary, shards, job-array environments, kill and resume, batched vs
//! one at a time, and bad sweep files.

use std::path::Path;
use std::process::{Command, Output};

use exoderm::batch::{Shard, Sweep};

const BASE: &str = "[grid]\nsize = [48, 16]\nextent = [\"6 mm\", \"2 mm\"]\n[time]\nend = \"4 h\"\noutput_every = \"1 h\"\n\
    [[species]]\nname = \"u\"\ndiffusion = 0.1\ninitial = \"select(0.0, 1.0, x < -2.0) + 0.01 * noise\"\nrange = [0.0, 1.0]\n\
    [reactions]\nu = \"r * u * (1.0 - u)\"\n[params]\nr = 1.0\n[metrics]\ncovered = \"select(0.0, 1.0, u >= 0.5)\"\n";

const SWEEP_2X2X2: &str = "base = \"base.toml\"\ndesign = \"grid\"\nreplicates = 2\nseed = 10\n\
    [[axis]]\nname = \"params.r\"\nvalues = [0.5, 1.5]\n\
    [[axis]]\nname = \"species.u.diffusion\"\nrange = [0.05, 0.2]\ncount = 2\n\
    [summary]\nt_half = { column = \"covered\", crosses = 6.0 }\npeak = { column = \"u_max\", stat = \"max\" }\n\
    load = { column = \"u_total\", stat = \"integral\" }\n";

fn setup(sweep: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("base.toml"), BASE).unwrap();
    std::fs::write(dir.path().join("sweep.toml"), sweep).unwrap();
    std::fs::create_dir_all(dir.path().join("xdg")).unwrap();
    dir
}

fn cmd(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_exoderm"));
    c.args(args)
        .current_dir(dir)
        .env("XDG_RUNTIME_DIR", dir.join("xdg"));
    for k in [
        "SLURM_ARRAY_TASK_ID",
        "SLURM_ARRAY_TASK_COUNT",
        "SLURM_ARRAY_TASK_MIN",
        "JOB_COMPLETION_INDEX",
        "EXODERM_SHARD_COUNT",
    ] {
        c.env_remove(k);
    }
    c
}

fn ok(o: Output) -> Output {
    assert!(
        o.status.success(),
        "exoderm failed:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

fn read(p: impl AsRef<Path>) -> String {
    std::fs::read_to_string(p.as_ref()).unwrap_or_else(|e| panic!("{}: {e}", p.as_ref().display()))
}

fn runs_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir.join("runs"))
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

macro_rules! need_gpu {
    () => {
        if crate::common::gpu().is_none() {
            eprintln!("SKIPPED {}: no GPU adapter", module_path!());
            return;
        }
    };
}

#[test]
fn a_2x2x2_sweep_writes_runs_summary_and_plots() {
    need_gpu!();
    let d = setup(SWEEP_2X2X2);
    ok(cmd(
        d.path(),
        &["sweep", "sweep.toml", "--out", "out", "--quiet"],
    )
    .output()
    .unwrap());
    let out = d.path().join("out");
    assert_eq!(
        runs_in(&out),
        (0..8).map(|i| format!("{i:04}")).collect::<Vec<_>>()
    );
    for i in 0..8 {
        let rd = out.join(format!("runs/{i:04}"));
        assert!(exoderm::run::is_complete(&rd));
        assert_eq!(
            read(rd.join("metrics.csv")).lines().count(),
            6,
            "header + 5 outputs"
        );
        assert!(rd.join("fields/u_4.npy").exists());
    }
    let csv = read(out.join("summary.csv"));
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 9, "{csv}");
    let header: Vec<&str> = lines[0].split(',').collect();
    for col in [
        "id",
        "seed",
        "params.r",
        "species.u.diffusion",
        "status",
        "final_covered",
        "t_half",
        "peak",
        "load",
    ] {
        assert!(header.contains(&col), "summary lacks {col}: {}", lines[0]);
    }
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let seeds: Vec<&str> = lines[1..]
        .iter()
        .map(|l| l.split(',').nth(col("seed")).unwrap())
        .collect();
    assert_eq!(
        seeds,
        ["10", "11", "10", "11", "10", "11", "10", "11"],
        "replicates get distinct, recorded seeds"
    );
    // Replicates differ (noise), and r = 1.5 heals faster than r = 0.5.
    let field =
        |row: usize, c: &str| -> String { lines[row].split(',').nth(col(c)).unwrap().to_string() };
    assert_ne!(field(1, "final_u_total"), field(2, "final_u_total"));
    assert!(
        field(1, "t_half").is_empty(),
        "r = 0.5 never reaches 6 mm² covered in 4 h"
    );
    let t_half: f64 = field(5, "t_half").parse().unwrap();
    assert!(t_half > 1.0 && t_half < 4.0, "{t_half}");
    let j: serde_json::Value = serde_json::from_str(&read(out.join("summary.json"))).unwrap();
    assert_eq!(j["runs"].as_array().unwrap().len(), 8);
    // Plots: one per summary metric and axis, decodable, not blank.
    for p in [
        "t_half_vs_params.r.png",
        "load_vs_species.u.diffusion.png",
        "final_covered_vs_params.r.png",
    ] {
        let file =
            std::fs::File::open(out.join("plots").join(p)).unwrap_or_else(|e| panic!("{p}: {e}"));
        let mut r = png::Decoder::new(std::io::BufReader::new(file))
            .read_info()
            .unwrap();
        let mut buf = vec![0; r.output_buffer_size().unwrap()];
        let info = r.next_frame(&mut buf).unwrap();
        let colours: std::collections::BTreeSet<&[u8]> =
            buf[..info.buffer_size()].chunks(3).collect();
        assert!(colours.len() > 20, "{p} looks blank");
    }
    // The sweep's report: every summary plot embedded, a link to each run's report.
    let (links, embedded) = crate::common::check_links(&out, "index.html");
    let plots = std::fs::read_dir(out.join("plots")).unwrap().count();
    assert_eq!(embedded, plots);
    for i in 0..8 {
        assert!(
            links.contains(&format!("runs/{i:04}/index.html")),
            "{links:?}"
        );
    }
    crate::common::check_links(&out.join("runs/0003"), "index.html");
}

/// `exoderm sweep sweep.toml --out OUT --quiet --batch 2 EXTRA...`, not yet run.
fn sweep_in_twos(dir: &Path, out: &str, extra: &[&str]) -> Command {
    let mut args = vec![
        "sweep",
        "sweep.toml",
        "--out",
        out,
        "--quiet",
        "--batch",
        "2",
    ];
    args.extend_from_slice(extra);
    cmd(dir, &args)
}

#[test]
fn shards_together_equal_the_unsharded_sweep_and_env_vars_equal_the_flag() {
    need_gpu!();
    let d = setup(SWEEP_2X2X2);
    ok(sweep_in_twos(d.path(), "whole", &[]).output().unwrap());
    for i in 0..3 {
        ok(
            sweep_in_twos(d.path(), "sharded", &["--shard", &format!("{i}/3")])
                .output()
                .unwrap(),
        );
    }
    ok(cmd(d.path(), &["sweep", "--merge", "sharded"])
        .output()
        .unwrap());
    assert_eq!(
        read(d.path().join("whole/summary.csv")),
        read(d.path().join("sharded/summary.csv"))
    );

    // Slurm's variables and Kubernetes' index select the same runs as --shard 1/3.
    ok(sweep_in_twos(d.path(), "flag", &["--shard", "1/3"])
        .output()
        .unwrap());
    ok(sweep_in_twos(d.path(), "slurm", &[])
        .env("SLURM_ARRAY_TASK_ID", "1")
        .env("SLURM_ARRAY_TASK_COUNT", "3")
        .output()
        .unwrap());
    ok(sweep_in_twos(d.path(), "k8s", &[])
        .env("JOB_COMPLETION_INDEX", "1")
        .env("EXODERM_SHARD_COUNT", "3")
        .output()
        .unwrap());
    let flag = runs_in(&d.path().join("flag"));
    assert!(!flag.is_empty() && flag.len() < 8, "{flag:?}");
    assert_eq!(runs_in(&d.path().join("slurm")), flag);
    assert_eq!(runs_in(&d.path().join("k8s")), flag);
}

#[test]
fn shard_resolution() {
    let none = |_: &str| None;
    assert_eq!(
        Shard::resolve(Some("2/5"), &none).unwrap(),
        Shard { index: 2, count: 5 }
    );
    assert!(
        Shard::resolve(Some("5/5"), &none)
            .unwrap_err()
            .to_string()
            .contains("--shard")
    );
    assert_eq!(
        Shard::resolve(None, &none).unwrap(),
        Shard { index: 0, count: 1 }
    );
    let slurm = |k: &str| match k {
        "SLURM_ARRAY_TASK_ID" => Some("4".to_string()),
        "SLURM_ARRAY_TASK_COUNT" => Some("4".to_string()),
        "SLURM_ARRAY_TASK_MIN" => Some("1".to_string()),
        _ => None,
    };
    assert_eq!(
        Shard::resolve(None, &slurm).unwrap(),
        Shard { index: 3, count: 4 }
    );
    let k8s_missing = |k: &str| (k == "JOB_COMPLETION_INDEX").then(|| "0".to_string());
    assert!(
        Shard::resolve(None, &k8s_missing)
            .unwrap_err()
            .to_string()
            .contains("EXODERM_SHARD_COUNT")
    );
}

#[test]
fn a_killed_sweep_resumes_to_the_same_summary() {
    need_gpu!();
    let sweep = "base = \"base.toml\"\nreplicates = 3\nseed = 1\nbatch = 1\n[[axis]]\nname = \"params.r\"\nvalues = [0.5, 1.0, 1.5, 2.0]\n";
    let d = setup(sweep);
    let base = BASE
        .replace("size = [48, 16]", "size = [96, 32]")
        .replace("end = \"4 h\"", "end = \"12 h\"");
    std::fs::write(d.path().join("base.toml"), base).unwrap();
    ok(cmd(
        d.path(),
        &["sweep", "sweep.toml", "--out", "clean", "--quiet"],
    )
    .output()
    .unwrap());

    // The sweep holds once 3 runs are complete (a test hook), so a fast GPU cannot finish.
    let mut child = cmd(
        d.path(),
        &["sweep", "sweep.toml", "--out", "killed", "--quiet"],
    )
    .env("EXODERM_TEST_HOLD_AFTER", "runs=3")
    .stderr(std::process::Stdio::null())
    .spawn()
    .unwrap();
    let t0 = std::time::Instant::now();
    let complete = || {
        (0..12)
            .filter(|i| exoderm::run::is_complete(&d.path().join(format!("killed/runs/{i:04}"))))
            .count()
    };
    while complete() < 3 && t0.elapsed().as_secs() < 120 {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let before = complete();
    assert_eq!(before, 3, "killed while holding after 3 of 12 runs");
    let again = ok(cmd(
        d.path(),
        &["sweep", "sweep.toml", "--out", "killed", "--quiet"],
    )
    .output()
    .unwrap());
    let log = String::from_utf8_lossy(&again.stderr);
    assert!(
        log.contains(&format!("{} already complete", before))
            || log.contains(&format!("skipped {before}")),
        "{log}"
    );
    assert_eq!(
        read(d.path().join("clean/summary.csv")),
        read(d.path().join("killed/summary.csv"))
    );
}

#[test]
fn batched_and_one_at_a_time_agree() {
    need_gpu!();
    let sweep = "base = \"base.toml\"\ndesign = \"lhs\"\nsamples = 6\nreplicates = 2\nseed = 5\n[[axis]]\nname = \"params.r\"\nrange = [0.2, 2.0]\n[summary]\npeak = { column = \"u_total\", stat = \"max\" }\n";
    let d = setup(sweep);
    ok(cmd(
        d.path(),
        &["sweep", "sweep.toml", "--out", "batched", "--quiet"],
    )
    .output()
    .unwrap());
    ok(cmd(
        d.path(),
        &[
            "sweep",
            "sweep.toml",
            "--out",
            "single",
            "--quiet",
            "--batch",
            "1",
        ],
    )
    .output()
    .unwrap());
    let j: serde_json::Value =
        serde_json::from_str(&read(d.path().join("batched/runs/0000/run.json"))).unwrap();
    assert_eq!(j["batched_runs"], 12);
    let table = |p: &str| -> Vec<Vec<String>> {
        read(d.path().join(p).join("summary.csv"))
            .lines()
            .map(|l| l.split(',').map(String::from).collect())
            .collect()
    };
    let (a, b) = (table("batched"), table("single"));
    assert_eq!(a.len(), 13);
    assert_eq!(a[0], b[0]);
    for (ra, rb) in a.iter().zip(&b).skip(1) {
        for (x, y) in ra.iter().zip(rb) {
            match (x.parse::<f64>(), y.parse::<f64>()) {
                // A batch steps with the smallest step any of its runs needs, so each run
                // is at least as accurate as alone: the two agree within the tolerance
                // (rtol 1e-3; a run given another run's parameters would be off by far more).
                (Ok(x), Ok(y)) => assert!((x - y).abs() <= 1e-3 * x.abs().max(1.0), "{x} vs {y}"),
                _ => assert_eq!(x, y),
            }
        }
    }
}

fn sweep_err(sweep: &str) -> String {
    let d = setup(sweep);
    match Sweep::parse(sweep, "bad_sweep.toml", d.path()) {
        Ok(_) => panic!("should be rejected:\n{sweep}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_sweep_files_fail_before_any_run() {
    let axis = |body: &str| format!("base = \"base.toml\"\n[[axis]]\n{body}\n");
    let cases: Vec<(String, Vec<&str>)> = vec![
        (
            axis("name = \"params.rate\"\nvalues = [1.0]"),
            vec![
                "bad_sweep.toml:3",
                "axis[0].name",
                "unknown parameter `rate`",
                "vary one of: r",
            ],
        ),
        (
            axis("name = \"params.r\"\nvalues = []"),
            vec!["axis[0].values", "no values"],
        ),
        (
            axis("name = \"params.r\"\nrange = [2.0, 1.0]\ncount = 2"),
            vec!["axis[0].range", "empty range"],
        ),
        (
            axis("name = \"grid.size\"\nvalues = [[64, 64], [32]]"),
            vec!["axis[0].values", "[nx, ny]"],
        ),
        (
            format!(
                "design = \"sobol\"\n{}",
                axis("name = \"params.r\"\nvalues = [1.0]")
            ),
            vec!["bad_sweep.toml:1", "unknown design"],
        ),
        (
            axis("name = \"params.r\"\nrange = [0.1, 1.0]"),
            vec!["needs `count`"],
        ),
        (
            axis("name = \"species.u.diffusion\"\nvalues = [-1.0]"),
            vec!["negative", "species.u.diffusion = -1.0"],
        ),
        (
            axis("name = \"params.r\"\nvalues = [1.0]").replace("base.toml", "missing.toml"),
            vec!["bad_sweep.toml:1", "no scenario file"],
        ),
        (
            axis(
                "name = \"params.r\"\nvalues = [1.0]\n[summary]\nx = { column = \"v_max\", stat = \"max\" }",
            ),
            vec!["summary.x", "no metrics column `v_max`", "u_max"],
        ),
    ];
    for (text, parts) in cases {
        let e = sweep_err(&text);
        for p in parts {
            assert!(e.contains(p), "message lacks {p:?}:\n{e}\nfor:\n{text}");
        }
        assert!(e.contains("fix:"), "{e}");
    }
}

#[test]
fn shipped_sweeps_expand() {
    for entry in std::fs::read_dir("assets/sweeps").unwrap() {
        let path = entry.unwrap().path();
        let sweep = Sweep::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(!sweep.runs.is_empty());
    }
    let s = Sweep::load(Path::new("assets/sweeps/fisher_rate.toml")).unwrap();
    assert_eq!(s.runs.len(), 12);
    assert!(s.runs[11].scenario.contains("diffusion = 0.4"));
}

#[test]
fn a_failing_run_is_reported_and_the_sweep_goes_on() {
    need_gpu!();
    // With the reaction r·u², r = 8 blows up within the 4 h (u0 up to 1: t* = 1/8 h).
    let d = setup("base = \"base.toml\"\n[[axis]]\nname = \"params.r\"\nvalues = [0.0, 8.0]\n");
    std::fs::write(
        d.path().join("base.toml"),
        BASE.replace("r * u * (1.0 - u)", "r * u * u"),
    )
    .unwrap();
    let out = cmd(
        d.path(),
        &[
            "sweep",
            "sweep.toml",
            "--out",
            "out",
            "--quiet",
            "--batch",
            "1",
        ],
    )
    .output()
    .unwrap();
    assert!(
        !out.status.success(),
        "a failed run must make the sweep exit non-zero"
    );
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.contains("run 0001 failed") && log.contains("blew up"),
        "{log}"
    );
    assert!(log.contains("run 0000 completed"), "{log}");
    let csv = read(d.path().join("out/summary.csv"));
    let rows: Vec<&str> = csv.lines().collect();
    assert!(rows[1].contains(",completed,"), "{csv}");
    assert!(rows[2].contains("failed: the simulation blew up"), "{csv}");
}

/// Sweeps `axis` (a [[axis]] table) batched and one at a time: every run's fields must be
/// the same bits either way, and its run.json must say what it ran.
fn batched_equals_one_at_a_time(axis: &str, scheme_of: &dyn Fn(usize) -> &'static str) {
    need_gpu!();
    let ctx = crate::common::gpu().unwrap();
    let d = setup(&format!("base = \"base.toml\"\nbatch = 8\n{axis}"));
    let sweep = Sweep::load(&d.path().join("sweep.toml")).unwrap();
    for (out, batch) in [("batched", None), ("single", Some(1))] {
        let opts = exoderm::batch::SweepOptions {
            out: d.path().join(out),
            shard: Shard { index: 0, count: 1 },
            quiet: true,
            batch,
        };
        let report = exoderm::batch::run_sweep(ctx, &sweep, &opts).unwrap();
        assert!(report.failed.is_empty(), "{:?}", report.failed);
    }
    for (i, run) in sweep.runs.iter().enumerate() {
        for k in [1, 4] {
            let f = |out: &str| {
                std::fs::read(
                    d.path()
                        .join(format!("{out}/runs/{}/fields/u_{k}.npy", run.id)),
                )
                .unwrap()
            };
            assert!(
                f("batched") == f("single"),
                "run {} output {k}: batched differs from one at a time",
                run.id
            );
        }
        let j: serde_json::Value = serde_json::from_str(&read(
            d.path().join(format!("batched/runs/{}/run.json", run.id)),
        ))
        .unwrap();
        let scheme = j["time_step"]["scheme"].as_str().unwrap();
        assert!(
            scheme.contains(scheme_of(i)),
            "run {}: run.json says {scheme}",
            run.id
        );
    }
}

#[test]
fn a_sweep_over_the_scheme_runs_each_scheme() {
    batched_equals_one_at_a_time(
        "[[axis]]\nname = \"time.scheme\"\nvalues = [\"explicit\", \"rkl2\"]\n",
        &|i| if i == 0 { "Euler" } else { "RKL2" },
    );
}

#[test]
fn a_sweep_over_the_tolerance_runs_each_tolerance() {
    batched_equals_one_at_a_time(
        "[[axis]]\nname = \"time.rtol\"\nvalues = [1e-2, 1e-4]\n",
        &|_| "RKC",
    );
}

/// A sweep over a dose (#12): a map, a total dose over a region read from it, a derived
/// metric and a crossing, batched; each run gets its own dose.
#[test]
fn a_sweep_over_a_dose_with_a_map_and_derived_metrics() {
    need_gpu!();
    let d = setup(
        "base = \"tissue.toml\"\ndesign = \"grid\"\nbatch = 4\n[[axis]]\nname = \"params.dose\"\nvalues = [1.0, 3.0]\n",
    );
    // The left half of the domain is the bed (row 0 of the .npy is y min).
    let bed: Vec<f32> = (0..16 * 8)
        .map(|i| if i % 16 < 8 { 1.0 } else { 0.0 })
        .collect();
    std::fs::write(
        d.path().join("bed.npy"),
        exoderm::output::npy::encode_f32(&bed, 8, 16),
    )
    .unwrap();
    std::fs::write(
        d.path().join("tissue.toml"),
        "[grid]\nsize = [16, 8]\nextent = [\"4 mm\", \"2 mm\"]\n[time]\nend = \"2 h\"\noutput_every = \"0.1 h\"\n\
         [maps]\nbed = \"bed.npy\"\n[params]\ndose = 1.0\nk = \"12 /d\"\n\
         [[species]]\nname = \"e\"\ndiffusion = 0.0\ninitial = \"0.0\"\n[reactions]\ne = \"-k * e\"\n\
         [[event]]\nat = 0.0\nwhere = \"bed > 0.5\"\ntotal = { e = \"dose\" }\n\
         [metrics]\ne_total = \"e\"\nremaining_pct = { derived = \"100.0 * e_total / initial(e_total)\" }\n\
         [crossings]\nt_half_h = { metric = \"remaining_pct\", reaches = 50.0, unit = \"h\" }\n",
    )
    .unwrap();
    ok(cmd(
        d.path(),
        &["sweep", "sweep.toml", "--out", "out", "--quiet"],
    )
    .output()
    .unwrap());
    let out = d.path().join("out");
    for (i, dose) in [(0, 1.0), (1, 3.0)] {
        let csv = read(out.join(format!("runs/{i:04}/metrics.csv")));
        let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
        let first: Vec<f64> = csv
            .lines()
            .nth(1)
            .unwrap()
            .split(',')
            .map(|v| v.parse().unwrap())
            .collect();
        let last: Vec<f64> = csv
            .lines()
            .last()
            .unwrap()
            .split(',')
            .map(|v| v.parse().unwrap())
            .collect();
        let col = |n: &str| header.iter().position(|h| *h == n).unwrap();
        assert!(
            (first[col("e_total")] - dose).abs() < 1e-5,
            "run {i}: {}",
            first[col("e_total")]
        );
        // e decays at 0.5/h: after 2 h, e^{-1} of the dose remains.
        let pct = 100.0 * (-1.0f64).exp();
        assert!(
            (last[col("remaining_pct")] - pct).abs() < 0.05,
            "run {i}: {}",
            last[col("remaining_pct")]
        );
        let run: serde_json::Value =
            serde_json::from_str(&read(out.join(format!("runs/{i:04}/run.json")))).unwrap();
        let t = run["crossings"]["t_half_h"].as_f64().unwrap();
        // Linear interpolation between outputs 0.1 h apart.
        assert!((t - 2f64.ln() / 0.5).abs() < 2e-3, "run {i}: t_half {t}");
    }
}
