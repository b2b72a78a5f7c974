//! Tissue in scenario files (#12): readable models (defines, params with units), diffusion
//! that varies in space, taxis and advection — each against an exact solution or the f64
//! reference.

use crate::common::{advance, max_abs_diff, scenario, simulation};
use crate::gpu_or_skip;

/// A two-species activator–substrate model on a small grid with a fixed Euler step, so two
/// spellings of the same model must give the same numbers.
fn two_species(params: &str, define: &str, reactions: &str) -> String {
    format!(
        "[grid]\nsize = [24, 20]\nextent = [\"3 mm\", \"2.5 mm\"]\nboundary = \"no-flux\"\n\
         [time]\nend = \"2 h\"\noutput_every = \"2 h\"\ndt = 0.02\nscheme = \"euler\"\n\
         [[species]]\nname = \"a\"\ndiffusion = 0.01\ninitial = \"exp(-(x * x + y * y))\"\n\
         [[species]]\nname = \"s\"\ndiffusion = 0.05\ninitial = \"1.0\"\n\
         [params]\n{params}\n[define]\n{define}\n[reactions]\n{reactions}\n"
    )
}

#[test]
fn defines_and_units_run_exactly_as_the_formulas_written_out() {
    let ctx = gpu_or_skip!();
    // 12 /d is 0.5 per hour; 30 min half-life is a decay rate ln 2 / 0.5 h.
    let written_out = two_species(
        "k = 0.5\nhalf = 0.5\n",
        "",
        "a = \"k * a * a * s / (1.0 + a * a) - 0.6931471805599453 / half * a\"\n\
         s = \"-k * a * a * s / (1.0 + a * a) + 0.1 * (1.0 - s)\"\n",
    );
    let readable = two_species(
        "k = \"12 /d\"\nhalf = \"30 min\"\n",
        "uptake = \"k * a * a * s / (1.0 + a * a)\"\ndecay = \"0.6931471805599453 / half\"\n",
        "a = \"uptake - decay * a\"\ns = \"-uptake + 0.1 * (1.0 - s)\"\n",
    );
    let run = |text: &str| {
        let sc = scenario(text);
        let mut sim = simulation(ctx, &sc);
        let start = sim.read_fields().unwrap();
        advance(&mut sim, 2.0);
        (start, sim.read_fields().unwrap())
    };
    let (start, a) = run(&written_out);
    let (_, b) = run(&readable);
    for s in 0..2 {
        let b64: Vec<f64> = b[s].iter().map(|&v| v as f64).collect();
        let d = max_abs_diff(&a[s], &b64);
        assert!(d <= 1e-6, "species {s}: the two spellings differ by {d:e}");
        let s64: Vec<f64> = start[s].iter().map(|&v| v as f64).collect();
        let moved = max_abs_diff(&a[s], &s64);
        assert!(moved > 1e-2, "species {s} barely moved ({moved:e})");
    }
}

#[test]
fn param_units_are_converted_once() {
    let sc = scenario(&two_species(
        "k = \"0.5 /d\"\nhalf = { value = \"30 min\", range = [\"1 min\", \"2 h\"] }\nv = \"24 um/h\"\n",
        "",
        "a = \"-k * a\"\n",
    ));
    let p = |n: &str| {
        let i = sc.model.param_index(n).unwrap();
        &sc.model.params[i]
    };
    assert!((p("k").value - 0.5 / 24.0).abs() < 1e-15);
    assert_eq!(p("k").units, "1/h");
    assert!((p("half").value - 0.5).abs() < 1e-15);
    let r = p("half").range.unwrap();
    assert!((r[0] - 1.0 / 60.0).abs() < 1e-15 && (r[1] - 2.0).abs() < 1e-15);
    assert_eq!(p("half").units, "h");
    assert!((p("v").value - 0.024).abs() < 1e-15);
    assert_eq!(p("v").units, "mm/h");
}

#[test]
fn defines_are_ordered_by_use() {
    // Written with the user before the used; the model keeps dependency order.
    let sc = scenario(&two_species(
        "k = 1.0\n",
        "b2 = \"b1 * 2.0\"\nb1 = \"k + a\"\nc0 = \"k\"\n",
        "a = \"-b2 * a\"\n",
    ));
    let names: Vec<&str> = sc.model.defines.iter().map(|d| d.name.as_str()).collect();
    let pos = |n: &str| names.iter().position(|&x| x == n).unwrap();
    assert!(pos("b1") < pos("b2"), "{names:?}");
    let uses: Vec<bool> = sc.model.defines.iter().map(|d| d.uses_species).collect();
    assert_eq!(uses[pos("b1")], true);
    assert_eq!(uses[pos("b2")], true, "b2 uses a species through b1");
    assert_eq!(uses[pos("c0")], false);
}
