//! The wound model (#13) on coarse grids: the order of events in an acute wound, bounds that
//! no density crosses, diabetes slowing a mouse wound and exosomes speeding it, and the
//! model's document listing every parameter.

use exoderm::output::series::{Table, read_metrics};
use exoderm::run::RunOptions;

use crate::common::scenario;
use crate::gpu_or_skip;

/// A shipped preset at `size`² cells, run to `end` at a relative tolerance of 1% (these
/// tests check orders and directions, not digits; the calibration document runs defaults).
fn preset(name: &str, size: u32, end: &str) -> exoderm::Scenario {
    let text = std::fs::read_to_string(format!("assets/presets/{name}.toml")).unwrap();
    let old_end = if text.contains("end = \"28 d\"") {
        "end = \"28 d\""
    } else {
        "end = \"14 d\""
    };
    let text = text
        .replace("size = [128, 128]", &format!("size = [{size}, {size}]"))
        .replacen(old_end, &format!("end = \"{end}\"\nrtol = 0.01"), 1);
    assert!(text.contains(&format!("size = [{size}, {size}]")));
    scenario(&text)
}

fn options(out: &std::path::Path) -> RunOptions {
    RunOptions {
        out: out.to_path_buf(),
        quiet: true,
        checkpoint_every: None,
        movie: None,
    }
}

fn column(t: &Table, name: &str) -> Vec<f64> {
    let c = t
        .columns
        .iter()
        .position(|c| c == name)
        .unwrap_or_else(|| panic!("no column {name}"));
    t.rows.iter().map(|r| r[c]).collect()
}

/// The time (h) of a series' largest value.
fn peak_time(t: &Table, name: &str) -> f64 {
    let v = column(t, name);
    let k = (0..v.len()).max_by(|&a, &b| v[a].total_cmp(&v[b])).unwrap();
    t.rows[k][0]
}

/// The value of a column at time `h` (an output time).
fn at(t: &Table, name: &str, h: f64) -> f64 {
    let k = t.rows.iter().position(|r| (r[0] - h).abs() < 1e-6).unwrap();
    column(t, name)[k]
}

#[test]
fn an_acute_wound_heals_in_the_order_the_literature_describes() {
    let ctx = gpu_or_skip!();
    let dir = tempfile::tempdir().unwrap();
    let sc = preset("wound_human_acute", 32, "14 d");
    exoderm::run::run(ctx, &sc, &options(dir.path())).unwrap();
    let t = read_metrics(&dir.path().join("metrics.csv")).unwrap();
    // Neutrophils, then macrophages, then myofibroblasts peak (SOURCES §1.6, §9).
    let (neu, mac, myo) = (
        peak_time(&t, "neutrophils_total"),
        peak_time(&t, "macrophages_total"),
        peak_time(&t, "myofibroblasts_total"),
    );
    eprintln!("peaks: neutrophils {neu} h, macrophages {mac} h, myofibroblasts {myo} h");
    assert!(neu < mac && mac < myo, "{neu} < {mac} < {myo}");
    assert!(neu <= 48.0, "neutrophils peak within two days: {neu} h");
    // Inflammation has resolved (below a fifth of its peak) by the end.
    let infl = column(&t, "inflammation_total");
    let top = infl.iter().fold(0.0f64, |m, v| m.max(*v));
    assert!(*infl.last().unwrap() < 0.2 * top, "{infl:?}");
    // Collagen is laid down in the bed, still below intact skin; vessels and oxygen return.
    let col = column(&t, "collagen_bed_mean");
    assert!(col[col.len() - 1] > 10.0 * col[6].max(1e-6) && col[col.len() - 1] < 1.0);
    assert!(at(&t, "oxygen_bed_min", 336.0) > at(&t, "oxygen_bed_min", 0.0) + 10.0);
    assert!(at(&t, "vessels_bed_mean", 336.0) > 0.5);
    // The wound closes steadily: about half way by day 14 at most rates in the ranges.
    let closure = column(&t, "closure_pct");
    assert!(
        closure.windows(2).all(|w| w[1] >= w[0] - 1.0),
        "{closure:?}"
    );
    let end = *closure.last().unwrap();
    assert!(end > 30.0 && end < 100.0, "closure at day 14: {end}");
    // No density negative (beyond f32 noise) or past its capacity (f_max, cap_max; the
    // declared range top for collagen, which contraction may pack above intact skin).
    for (sp, cap) in [
        ("k", 1.0),
        ("f", 2.0),
        ("cap", 2.5),
        ("col", 1.5),
        ("neu", 2.0),
    ] {
        let lo = column(&t, &format!("{sp}_min"));
        let hi = column(&t, &format!("{sp}_max"));
        assert!(lo.iter().all(|v| *v > -1e-3), "{sp} went negative: {lo:?}");
        assert!(
            hi.iter().all(|v| *v < cap * 1.02),
            "{sp} past {cap}: {hi:?}"
        );
    }
}

#[test]
fn diabetes_slows_a_mouse_wound_and_exosomes_speed_it() {
    let ctx = gpu_or_skip!();
    let dir = tempfile::tempdir().unwrap();
    let control = dir.path().join("control");
    exoderm::run::run(
        ctx,
        &preset("wound_mouse_control", 24, "14 d"),
        &options(&control),
    )
    .unwrap();
    let db = dir.path().join("db");
    let c =
        exoderm::compare::run(ctx, &preset("wound_mouse_db", 24, "14 d"), &options(&db)).unwrap();
    assert_eq!(c.labels, ["untreated".to_string(), "exosomes".to_string()]);
    let read = |p: std::path::PathBuf| read_metrics(&p.join("metrics.csv")).unwrap();
    let (ctl, a, b) = (read(control), read(db.join("a")), read(db.join("b")));
    let closure = |t: &Table, d: f64| at(t, "closure_pct", d * 24.0);
    eprintln!(
        "closure day 7 / 14: control {:.1} / {:.1}, db {:.1} / {:.1}, db + exosomes {:.1} / {:.1}",
        closure(&ctl, 7.0),
        closure(&ctl, 14.0),
        closure(&a, 7.0),
        closure(&a, 14.0),
        closure(&b, 7.0),
        closure(&b, 14.0)
    );
    assert!(closure(&ctl, 14.0) > closure(&a, 14.0) + 5.0);
    assert!(closure(&b, 7.0) > closure(&a, 7.0) + 3.0);
    assert!(closure(&b, 14.0) >= closure(&a, 14.0));
    // The treated side took exosomes up; the untreated took none.
    assert_eq!(*column(&a, "exosome_exposure").last().unwrap(), 0.0);
    assert!(*column(&b, "exosome_exposure").last().unwrap() > 1.0);
    // Macrophages switch to repair sooner: a larger M2 share at day 3.
    let m2_share = |t: &Table| {
        let (m1, m2) = (at(t, "m1_total", 72.0), at(t, "m2_total", 72.0));
        m2 / (m1 + m2)
    };
    assert!(
        m2_share(&b) > 1.2 * m2_share(&a),
        "{} vs {}",
        m2_share(&b),
        m2_share(&a)
    );
}

#[test]
fn the_wound_document_lists_every_parameter_and_species() {
    let sc = scenario("[model]\nbuiltin = \"wound\"\n");
    assert!(sc.model.species.len() >= 12, "the full model");
    let doc = std::fs::read_to_string("docs/models/wound.md").unwrap();
    for p in &sc.model.params {
        assert!(
            doc.contains(&format!("| `{}` |", p.name)),
            "{} undocumented",
            p.name
        );
        assert!(!p.source.is_empty(), "{} has no source tag", p.name);
    }
    for s in &sc.model.species {
        assert!(
            doc.contains(&format!("| `{}` |", s.name)),
            "{} undocumented",
            s.name
        );
    }
}
