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

    // Start the same run with checkpoints, SIGKILL it once a checkpoint exists, resume.
    let mut child = run(&[
        "run",
        "gs.toml",
        "--out",
        "killed",
        "--quiet",
        "--checkpoint-every",
        "10 h",
    ])
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
