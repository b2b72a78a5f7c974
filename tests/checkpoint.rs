//! Checkpoints: a run stopped and resumed gives the same bits as one that never stopped.

use std::process::Command;

use exoderm::output::checkpoint;

use crate::common::{advance, scenario, simulation};
use crate::gpu_or_skip;

const GS: &str = "seed = 3\n[model]\nbuiltin = \"gray_scott\"\n[grid]\nsize = [64, 48]\nextent = [\"8 mm\", \"6 mm\"]\nboundary = \"periodic\"\n\
    [time]\nend = \"60 h\"\noutput_every = \"10 h\"\n[params]\nseed_half = 0.8\n";

#[test]
fn checkpoint_and_restore_are_bit_identical() {
    let ctx = gpu_or_skip!();
    let sc = scenario(GS);
    let mut straight = simulation(ctx, &sc);
    for t in [10.0, 20.0, 30.0, 40.0] {
        advance(&mut straight, t);
    }
    let mut first = simulation(ctx, &sc);
    advance(&mut first, 10.0);
    advance(&mut first, 20.0);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.bin");
    let state = checkpoint::WriterState {
        csv: "t_h\n".into(),
        seen: vec![[0.0, 1.0]; 2],
        outputs: 3,
        tracker: Default::default(),
        times: vec![],
    };
    checkpoint::save(&path, &first.checkpoint(0).unwrap(), &state).unwrap();
    drop(first);

    let (ckpt, back) = checkpoint::load(&path).unwrap();
    assert_eq!(back.outputs, 3);
    let mut resumed = simulation(ctx, &sc);
    resumed.restore(&ckpt).unwrap();
    assert_eq!(resumed.time(), 20.0);
    advance(&mut resumed, 30.0);
    advance(&mut resumed, 40.0);
    let (a, b) = (
        straight.read_fields().unwrap(),
        resumed.read_fields().unwrap(),
    );
    for s in 0..2 {
        let same = a[s]
            .iter()
            .zip(&b[s])
            .all(|(x, y)| x.to_bits() == y.to_bits());
        assert!(same, "species {s} differs after resume");
    }
    assert_eq!(straight.counters().steps, resumed.counters().steps);
    // The pattern really evolved between the checkpoint and the end.
    let moved = a[1]
        .iter()
        .zip(&ckpt_field(&ckpt, 1))
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max);
    assert!(moved > 1e-3, "{moved}");
}

fn ckpt_field(c: &exoderm::engine::simulation::Checkpoint, s: usize) -> Vec<f32> {
    let vals: Vec<f32> = c.planes[s / 4]
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    vals.into_iter().skip(s % 4).step_by(4).collect()
}

#[test]
fn killed_run_resumes_to_the_same_outputs() {
    if crate::common::gpu().is_none() {
        eprintln!("SKIPPED killed_run_resumes_to_the_same_outputs: no GPU adapter");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let slow = GS
        .replace("size = [64, 48]", "size = [128, 96]")
        .replace("end = \"60 h\"", "end = \"400 h\"");
    std::fs::write(dir.path().join("gs.toml"), &slow).unwrap();
    let bin = env!("CARGO_BIN_EXE_exoderm");
    let xdg = dir.path().join("xdg");
    std::fs::create_dir_all(&xdg).unwrap();
    let run = |args: &[&str]| {
        let mut c = Command::new(bin);
        c.args(args)
            .current_dir(dir.path())
            .env("XDG_RUNTIME_DIR", &xdg);
        c
    };

    let clean = run(&["run", "gs.toml", "--out", "clean", "--quiet"])
        .output()
        .unwrap();
    assert!(
        clean.status.success(),
        "{}",
        String::from_utf8_lossy(&clean.stderr)
    );

    // Start the same run with checkpoints, SIGKILL it once a checkpoint exists, resume. The
    // run holds after its first checkpoint (a test hook), so a fast GPU cannot finish first.
    let mut child = run(&[
        "run",
        "gs.toml",
        "--out",
        "killed",
        "--quiet",
        "--checkpoint-every",
        "10 h",
    ])
    .env("EXODERM_TEST_HOLD_AFTER", "checkpoint")
    .spawn()
    .unwrap();
    let ckpt = dir.path().join("killed/checkpoint.bin");
    let start = std::time::Instant::now();
    while !ckpt.exists() && start.elapsed().as_secs() < 120 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(ckpt.exists(), "no checkpoint appeared");
    assert!(
        !exoderm::run::is_complete(&dir.path().join("killed")),
        "the run finished before it could be killed"
    );
    let resumed = run(&["run", "--resume", "killed", "--quiet"])
        .output()
        .unwrap();
    assert!(
        resumed.status.success(),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );

    for k in [10, 40] {
        for s in ["u", "v"] {
            let a = std::fs::read(dir.path().join(format!("clean/fields/{s}_{k}.npy"))).unwrap();
            let b = std::fs::read(dir.path().join(format!("killed/fields/{s}_{k}.npy"))).unwrap();
            assert!(
                a == b,
                "{s}_{k}.npy differs between the clean and the resumed run"
            );
        }
    }
    let csv =
        |d: &str| std::fs::read_to_string(dir.path().join(format!("{d}/metrics.csv"))).unwrap();
    assert_eq!(csv("clean"), csv("killed"));
    assert!(exoderm::run::is_complete(&dir.path().join("killed")));
}

/// Runs `text` through its output times straight, and again stopped at output `stop` with a
/// checkpoint restored into a fresh simulation: the two must agree bit for bit.
fn resumes_bit_identically(text: &str, stop: usize, what: &str) {
    let ctx = gpu_or_skip!();
    let sc = scenario(text);
    let times = sc.problem().output_times();
    let mut straight = simulation(ctx, &sc);
    for &t in &times[1..] {
        advance(&mut straight, t);
    }
    let mut first = simulation(ctx, &sc);
    for &t in &times[1..=stop] {
        advance(&mut first, t);
    }
    let ckpt = first.checkpoint(0).unwrap();
    let at_stop = first.read_fields().unwrap();
    drop(first);
    let mut resumed = simulation(ctx, &sc);
    resumed.restore(&ckpt).unwrap();
    for &t in &times[stop + 1..] {
        advance(&mut resumed, t);
    }
    let (a, b) = (
        straight.read_fields().unwrap(),
        resumed.read_fields().unwrap(),
    );
    for (s, sp) in sc.model.species.iter().enumerate() {
        let differ = a[s]
            .iter()
            .zip(&b[s])
            .filter(|(x, y)| x.to_bits() != y.to_bits())
            .count();
        assert_eq!(
            differ, 0,
            "{what}: `{}` differs after resume in {differ} cells",
            sp.name
        );
        let moved = a[s]
            .iter()
            .zip(&at_stop[s])
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max);
        assert!(
            moved > 1e-4,
            "{what}: `{}` did not move after the checkpoint",
            sp.name
        );
    }
    let (ca, cb) = (straight.counters(), resumed.counters());
    assert_eq!(
        (ca.steps, ca.accepted, ca.rejected),
        (cb.steps, cb.accepted, cb.rejected),
        "{what}: the same steps"
    );
}

const STIFF: &str = "[grid]\nsize = [48, 24]\nextent = [\"4.8 mm\", \"2.4 mm\"]\n[time]\nend = \"6 h\"\noutput_every = \"1 h\"\n{time}\n\
    [[species]]\nname = \"n\"\ndiffusion = 0.01\ninitial = \"select(0.0, 1.0, x < -1.0)\"\n\
    [[species]]\nname = \"c\"\ndiffusion = 2.0\ninitial = \"0.0\"\n{qs}\n\
    [reactions]\nn = \"r * n * (1.0 - n) * (0.5 + c)\"\nc = \"n - 20.0 * c\"\n[params]\nr = 1.0\n";

#[test]
fn rkl2_runs_resume_bit_identically() {
    let text = STIFF
        .replace("{time}", "scheme = \"rkl2\"")
        .replace("{qs}", "");
    resumes_bit_identically(&text, 3, "rkl2");
}

#[test]
fn adaptive_runs_resume_bit_identically() {
    let text = STIFF
        .replace("{time}", "tolerance = 1e-3")
        .replace("{qs}", "");
    resumes_bit_identically(&text, 2, "adaptive");
}

#[test]
fn quasi_steady_runs_resume_bit_identically() {
    let text = STIFF
        .replace("{time}", "")
        .replace("{qs}", "quasi_steady = true");
    resumes_bit_identically(&text, 3, "quasi-steady");
}

#[test]
fn runs_with_events_resume_bit_identically() {
    // A deposit and a parameter change before the checkpoint (at 3 h), and after it.
    let text = STIFF.replace("{time}", "").replace("{qs}", "")
        + "[[event]]\nat = \"1 h\"\ncenter = [\"1 mm\", \"0 mm\"]\nradius = \"0.4 mm\"\nadd = { n = 0.5 }\n\
           [[event]]\nat = \"2 h\"\nparam = \"r\"\nvalue = 3.0\n\
           [[event]]\nat = \"4 h\"\ncenter = [\"-1.5 mm\", \"0.5 mm\"]\nradius = \"0.3 mm\"\nset = { c = 1.0 }\n\
           [[event]]\nat = \"5 h\"\nparam = \"r\"\nvalue = 0.5\n";
    resumes_bit_identically(&text, 3, "events");
}
