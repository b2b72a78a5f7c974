//! The ageing model (#14, first part) against the calibration points of SOURCES.md §3 and
//! §10.3–10.4, on a narrow column (the model is uniform along the surface).

use exoderm::output::series::{Table, read_metrics};
use exoderm::run::RunOptions;

use crate::common::scenario;
use crate::gpu_or_skip;

fn column(t: &Table, name: &str) -> Vec<f64> {
    let c = t.columns.iter().position(|c| c == name).unwrap();
    t.rows.iter().map(|r| r[c]).collect()
}

/// `ageing_intrinsic` (or photoaged) on 4 × 80 cells, 60 years, yearly outputs.
fn age(ctx: &exoderm::GpuContext, preset: &str) -> Table {
    let text = std::fs::read_to_string(format!("assets/presets/{preset}.toml"))
        .unwrap()
        .replace(
            "[time]",
            "[grid]\nsize = [4, 80]\nextent = [\"0.2 mm\", \"2 mm\"]\n[time]",
        )
        .replace(
            "[explain]",
            "[output]\npng = false\nplots = false\nreport = false\nnpy = false\n[explain]",
        );
    let dir = tempfile::tempdir().unwrap();
    let opts = RunOptions {
        out: dir.path().to_path_buf(),
        quiet: true,
        checkpoint_every: None,
        movie: None,
    };
    exoderm::run::run(ctx, &scenario(&text), &opts).unwrap();
    read_metrics(&dir.path().join("metrics.csv")).unwrap()
}

#[test]
fn intrinsic_and_photoageing_meet_the_calibration_points() {
    let ctx = gpu_or_skip!();
    let t = age(ctx, "ageing_intrinsic");
    let th = column(&t, "dermal_thickness_um");
    assert_eq!(th.len(), 61, "yearly outputs from 20 to 80 y");
    // Branchet 1990: −6% per decade of the young thickness (±2 points), sun-protected site.
    let per_decade = 100.0 * (1.0 - th[60] / th[0]) / 6.0;
    // The 15-year collagen half-life delays the loss: the first decade loses far less than
    // the last.
    let (first, last) = (1.0 - th[10] / th[0], 1.0 - th[60] / th[50]);
    // Varani 2006: per-fibroblast procollagen at 80+ ≈ 0.68× young (0.55–0.85).
    let procol = *column(&t, "procollagen_per_fibroblast").last().unwrap();
    let sen = column(&t, "senescent_fraction");
    let mmp = column(&t, "mmp1_mean");
    eprintln!(
        "intrinsic: thickness {:.0} → {:.0} µm ({per_decade:.2}% per decade; first decade {:.1}%, last {:.1}%), procollagen ×{procol:.2}, senescent {:.3} → {:.3}, MMP-1 ×{:.2}",
        th[0],
        th[60],
        100.0 * first,
        100.0 * last,
        sen[0],
        sen[60],
        mmp[60] / mmp[0]
    );
    assert!(
        (4.0..=8.0).contains(&per_decade),
        "{per_decade}% per decade"
    );
    assert!(
        first < 0.5 * last,
        "no lag: first decade {first}, last {last}"
    );
    assert!((0.55..=0.85).contains(&procol), "procollagen ×{procol}");
    assert!(
        sen.windows(2).all(|w| w[1] >= w[0]),
        "senescence rises monotonically"
    );
    assert!(
        sen[60] > 0.1 && sen[60] < 0.25,
        "senescent fraction at 80: {}",
        sen[60]
    );
    // MMP-1 in aged dermis: a ≥ 2× rise (SOURCES §10.3, direction and order).
    assert!(mmp[60] / mmp[0] >= 2.0, "MMP-1 ×{}", mmp[60] / mmp[0]);

    // Photoageing (3× an indoor worker's UV): the upper dermis loses collagen faster, MMP-1
    // is higher, elastotic material appears only in sun-exposed skin.
    let p = age(ctx, "ageing_photoaged");
    let pap = |t: &Table| *column(t, "collagen_papillary_mean").last().unwrap();
    let elx = |t: &Table| *column(t, "elastosis_papillary").last().unwrap();
    let m = |t: &Table| *column(t, "mmp1_mean").last().unwrap();
    eprintln!(
        "at 80: papillary collagen protected {:.3} vs exposed {:.3}; MMP-1 {:.2} vs {:.2}; elastosis {:.3} vs {:.3}",
        pap(&t),
        pap(&p),
        m(&t),
        m(&p),
        elx(&t),
        elx(&p)
    );
    assert!(pap(&p) < pap(&t) - 0.03, "{} vs {}", pap(&p), pap(&t));
    assert!(m(&p) > m(&t));
    assert!(elx(&p) > 0.02 && elx(&t) == 0.0);
}
