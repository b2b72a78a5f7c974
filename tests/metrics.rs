//! Metrics people quote (#12): reductions over a region, derived metrics, time integrals
//! and first-crossing times, against closed forms.

use crate::common::scenario;
use crate::gpu_or_skip;

/// u = e^{−k t} inside a disc of radius 1 mm (0 outside) on a 4 mm square. The total decays
/// as A e^{−kt} (A the disc's area on the grid); its half-life is ln 2 / k; the area under
/// it A (1 − e^{−kT}) / k.
#[test]
fn derived_metrics_integrals_and_crossings_match_closed_forms() {
    let ctx = gpu_or_skip!();
    let k = 0.5f64;
    let sc = scenario(&format!(
        "[grid]\nsize = [40, 40]\nextent = [\"4 mm\", \"4 mm\"]\n\
         [time]\nend = \"4 h\"\noutput_every = \"0.05 h\"\nrtol = 1e-6\n\
         [params]\nk = {k}\n\
         [[species]]\nname = \"u\"\ndiffusion = 0.0\ninitial = \"select(0.0, 1.0, x * x + y * y < 1.0)\"\n\
         [reactions]\nu = \"-k * u\"\n\
         [metrics]\ntotal = \"u\"\n\
         disc_mean = {{ expr = \"u\", reduce = \"mean\", where = \"x * x + y * y < 1.0\" }}\n\
         right_max = {{ expr = \"u\", reduce = \"max\", where = \"x > 1.5\" }}\n\
         remaining_pct = {{ derived = \"100.0 * total / initial(total)\" }}\n\
         exposure = {{ time_integral = \"total\" }}\n\
         [crossings]\nt50_h = {{ metric = \"remaining_pct\", reaches = 50.0, unit = \"h\" }}\n\
         t_never = {{ metric = \"remaining_pct\", reaches = 1.0, unit = \"d\" }}\n"
    ));
    let dir = std::env::temp_dir().join(format!("exoderm-metrics-{}", std::process::id()));
    let report = exoderm::run::run(
        ctx,
        &sc,
        &exoderm::run::RunOptions {
            out: dir.clone(),
            quiet: true,
            checkpoint_every: None,
            movie: None,
        },
    )
    .unwrap();
    let csv = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let col = |n: &str| header.iter().position(|h| *h == n).unwrap();
    let rows: Vec<Vec<f64>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
        .collect();
    let first = &rows[0];
    let last = rows.last().unwrap();
    let area = first[col("total")];
    // 316 cells of 0.01 mm² fall inside the disc.
    assert!(
        (area - std::f64::consts::PI).abs() < 0.05,
        "disc area {area}"
    );
    let decay = (-k * 4.0).exp();
    assert!((last[col("total")] / area - decay).abs() < 1e-5);
    assert!(
        (last[col("disc_mean")] - decay).abs() < 1e-5,
        "mean over the disc only"
    );
    assert_eq!(last[col("right_max")], 0.0, "max over the right strip only");
    assert!((last[col("remaining_pct")] - 100.0 * decay).abs() < 1e-3);
    let exposure = area * (1.0 - decay) / k;
    let got = last[col("exposure")];
    eprintln!(
        "exposure {got} vs {exposure}; crossings {:?}",
        report.crossings
    );
    // Trapezoids of 0.05 h on e^{−kt}: relative error about (k·0.05)²/12.
    assert!(
        (got / exposure - 1.0).abs() < 1e-4,
        "exposure {got}, exact {exposure}"
    );
    let t50 = report.crossings[0].1.unwrap();
    assert!(
        (t50 - 2f64.ln() / k).abs() < 1e-3,
        "t50 = {t50}, exact {}",
        2f64.ln() / k
    );
    assert_eq!(report.crossings[1].1, None);
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("run.json")).unwrap()).unwrap();
    assert_eq!(run["crossings"]["t50_h"].as_f64(), Some(t50));
    assert!(run["crossings"]["t_never"].is_null());
}
