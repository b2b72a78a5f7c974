//! The `exoderm` binary end to end.

use std::path::Path;
use std::process::{Command, Output};

fn exoderm(args: &[&str], dir: &Path) -> Output {
    let xdg = dir.join("xdg");
    std::fs::create_dir_all(&xdg).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&xdg, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    Command::new(env!("CARGO_BIN_EXE_exoderm"))
        .args(args)
        .current_dir(dir)
        .env("XDG_RUNTIME_DIR", &xdg)
        .output()
        .expect("the exoderm binary starts")
}

const TINY: &str = "[model]\nname = \"tiny\"\n[grid]\nsize = [24, 16]\nextent = [\"3 mm\", \"2 mm\"]\n\
    [time]\nend = \"1 h\"\noutput_every = \"0.5 h\"\n\
    [[species]]\nname = \"cells\"\ndiffusion = 0.05\ninitial = \"select(0.0, 1.0, x < 0.0)\"\nrange = [0.0, 1.0]\n\
    [[species]]\nname = \"gf\"\ndiffusion = 0.2\ninitial = \"exp(-(x * x + y * y))\"\n\
    [reactions]\ncells = \"r * cells * (1.0 - cells)\"\ngf = \"-0.5 * gf\"\n[params]\nr = 1.0\n\
    [metrics]\ncovered = \"select(0.0, 1.0, cells > 0.5)\"\n";

#[test]
fn run_writes_every_promised_output() {
    if crate::common::gpu().is_none() {
        eprintln!("SKIPPED run_writes_every_promised_output: no GPU adapter");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tiny.toml"), TINY).unwrap();
    let out = exoderm(
        &["run", "tiny.toml", "--out", "runs/tiny", "--quiet"],
        dir.path(),
    );
    assert!(
        out.status.success(),
        "run failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = dir.path().join("runs/tiny");

    // metrics.csv: header then one row per output time.
    let csv = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "t_h,cells_mean,cells_min,cells_max,cells_total,gf_mean,gf_min,gf_max,gf_total,covered"
    );
    assert_eq!(lines.len(), 4, "{csv}");
    let row = |k: usize| -> Vec<f64> { lines[k].split(',').map(|v| v.parse().unwrap()).collect() };
    assert_eq!(row(1)[0], 0.0);
    assert_eq!(row(3)[0], 1.0);
    // Half the 3×2 mm domain starts covered: 3 mm² of cells, and `covered` agrees.
    assert!(
        (row(1)[4] - 3.0).abs() < 1e-9,
        "cells_total at t=0: {}",
        row(1)[4]
    );
    assert!(
        (row(1)[9] - 3.0).abs() < 1e-9,
        "covered at t=0: {}",
        row(1)[9]
    );
    // gf decays at 0.5/h with no flux out: total × e^{-0.5} after 1 h (Euler, within 1%).
    let ratio = row(3)[8] / row(1)[8];
    assert!(
        (ratio - (-0.5f64).exp()).abs() < 0.01,
        "gf total ratio {ratio}"
    );

    // NPY: header as numpy writes it, shape (ny, nx), float32, row 0 at y min.
    for species in ["cells", "gf"] {
        for k in 0..3 {
            let bytes = std::fs::read(run.join(format!("fields/{species}_{k}.npy"))).unwrap();
            assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
            let hl = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
            let header = std::str::from_utf8(&bytes[10..10 + hl]).unwrap();
            assert!(
                header.starts_with("{'descr': '<f4', 'fortran_order': False, 'shape': (16, 24), }"),
                "{header}"
            );
            assert_eq!(bytes.len(), 10 + hl + 16 * 24 * 4);
        }
    }
    let (_, cells0) =
        exoderm::output::npy::decode_f32(&std::fs::read(run.join("fields/cells_0.npy")).unwrap())
            .unwrap();
    assert_eq!(
        (cells0[0], cells0[23]),
        (1.0, 0.0),
        "row 0 runs from x min (covered) to x max (empty)"
    );

    // PNG snapshots decode and are not blank.
    for k in 0..3 {
        let file = std::fs::File::open(run.join(format!("cells_{k}.png"))).unwrap();
        let mut reader = png::Decoder::new(std::io::BufReader::new(file))
            .read_info()
            .unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        // Annotated by default: the layout for a 3 mm × 2 mm domain.
        let (w, h, _, _) = exoderm::output::annotate::layout([3.0, 2.0], "tiny", "a.u.");
        assert_eq!((info.width, info.height), (w, h));
        let distinct: std::collections::BTreeSet<&[u8]> =
            buf[..info.buffer_size()].chunks(3).collect();
        assert!(distinct.len() > 1, "snapshot {k} is one flat colour");
    }
    assert!(run.join("gf_2.png").exists());

    // run.json.
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("run.json")).unwrap()).unwrap();
    assert_eq!(j["status"], "completed");
    assert_eq!(j["exoderm_version"], env!("CARGO_PKG_VERSION"));
    assert!(j["adapter"]["name"].as_str().unwrap().len() > 2);
    assert!(j["time_step"]["dt_max_h"].as_f64().unwrap() > 0.0);
    assert!(j["time_step"]["scheme"].as_str().unwrap().contains("RKC"));
    assert_eq!(j["error_control"]["rtol"], 1e-3);
    assert_eq!(j["grid"]["nx"], 24);
    assert_eq!(j["scenario"]["model"]["species"][1]["name"], "gf");
    assert!(j["cell_updates_per_s"].as_f64().unwrap() > 0.0);
    assert!(j["wall_time_s"].as_f64().unwrap() > 0.0);
    // No temp files left behind.
    let leftovers: Vec<_> = std::fs::read_dir(&run)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn compare_prints_the_read_out_and_a_bad_movie_species_is_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tiny.toml"), TINY).unwrap();
    // Checked before any GPU work.
    let out = exoderm(
        &["run", "tiny.toml", "--out", "o", "--movie", "cels"],
        dir.path(),
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--movie cels: tiny.toml has no species `cels`; it has cells, gf"),
        "{err}"
    );
    if crate::common::gpu().is_none() {
        return;
    }
    // No [view] compare: as the app, side B doubles the first parameter (r = 2).
    let out = exoderm(
        &["run", "tiny.toml", "--out", "o", "--compare", "--quiet"],
        dir.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let readout = String::from_utf8_lossy(&out.stdout);
    assert!(
        readout.starts_with("covered at the end: r = 1 ") && readout.contains(", r = 2 "),
        "{readout}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("o/run.json")).unwrap())
            .unwrap();
    assert_eq!(json["readout"].as_str().unwrap(), readout.trim_end());
    assert_eq!(json["compare"]["b"]["value"], 2.0);
}

#[test]
fn bad_scenario_fails_with_the_promised_message() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.toml"),
        TINY.replace("r * cells", "rr * cells"),
    )
    .unwrap();
    for cmd in ["run", "check"] {
        let args: Vec<&str> = if cmd == "run" {
            vec!["run", "bad.toml", "--out", "o"]
        } else {
            vec!["check", "bad.toml"]
        };
        let out = exoderm(&args, dir.path());
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("bad.toml:19: `reactions.cells`"), "{err}");
        assert!(err.contains("rr"), "{err}");
        assert!(err.contains("fix:"), "{err}");
        assert!(
            !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
            "{err}"
        );
        assert_eq!(
            err.lines().filter(|l| l.starts_with("error:")).count(),
            1,
            "{err}"
        );
    }
}

#[test]
fn blow_up_keeps_earlier_outputs_and_says_so() {
    if crate::common::gpu().is_none() {
        eprintln!("SKIPPED blow_up_keeps_earlier_outputs_and_says_so: no GPU adapter");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let text = "[grid]\nsize = [8, 8]\nextent = [1.0, 1.0]\n[time]\nend = \"3 h\"\noutput_every = \"0.5 h\"\n\
        [[species]]\nname = \"u\"\ninitial = \"1.0\"\n[reactions]\nu = \"u * u\"\n";
    std::fs::write(dir.path().join("boom.toml"), text).unwrap();
    let out = exoderm(&["run", "boom.toml", "--out", "o", "--quiet"], dir.path());
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("blew up") && err.contains("`u`"), "{err}");
    // u = 1/(1 - t): outputs at 0 and 0.5 h exist; the run.json says it failed.
    assert!(dir.path().join("o/fields/u_1.npy").exists());
    let j = std::fs::read_to_string(dir.path().join("o/run.json")).unwrap();
    assert!(j.contains("\"status\": \"failed"), "{j}");
}

#[test]
fn presets_and_check_list_the_shipped_scenarios() {
    let dir = tempfile::tempdir().unwrap();
    let out = exoderm(&["presets"], dir.path());
    assert!(out.status.success());
    let s = String::from_utf8_lossy(&out.stdout);
    for name in ["fisher", "gray_scott", "heat", "gradient"] {
        assert!(s.contains(name), "{s}");
    }
    let out = exoderm(&["check", "fisher"], dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("512×128 cells"));
}
