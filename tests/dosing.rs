//! Dosing as users prescribe it (#12): regions as expressions or shapes, totals spread over
//! the region, repeated sessions, and doses that see each run's params.

use crate::common::{advance, scenario, simulation, sum};
use crate::gpu_or_skip;

const BASE: &str = "[grid]\nsize = [40, 40]\nextent = [\"4 mm\", \"4 mm\"]\n\
                    [time]\nend = \"6 h\"\noutput_every = \"6 h\"\n\
                    [[species]]\nname = \"u\"\ndiffusion = 0.0\ninitial = \"0.0\"\n";

fn after(extra: &str, t: f64) -> Vec<f32> {
    let ctx = crate::common::gpu().expect("GPU");
    let sc = scenario(&format!("{BASE}{extra}"));
    let mut sim = simulation(ctx, &sc);
    advance(&mut sim, t);
    sim.read_fields().unwrap().remove(0)
}

/// A total is a total whatever the region's size: the same 3 units over a 1 mm and a 1.5 mm
/// radius region, evenly.
#[test]
fn a_total_dose_is_spread_evenly_over_its_region() {
    let _ = gpu_or_skip!();
    let cell_area = 0.1 * 0.1;
    for r in ["1.0", "1.5"] {
        let u = after(
            &format!(
                "[params]\ndose = 3.0\n[[event]]\nat = \"1 h\"\nwhere = \"x * x + y * y < {r} * {r}\"\ntotal = {{ u = \"dose\" }}\n"
            ),
            2.0,
        );
        let total = sum(&u) * cell_area;
        let inside: Vec<f32> = u.iter().copied().filter(|&v| v > 0.0).collect();
        let spread = inside.iter().fold(0.0f32, |m, &v| m.max(v))
            - inside.iter().fold(f32::INFINITY, |m, &v| m.min(v));
        eprintln!(
            "total dose over r = {r} mm: {total} in {} cells",
            inside.len()
        );
        assert!(
            (total - 3.0).abs() < 1e-5,
            "r = {r}: total {total}, prescribed 3"
        );
        assert!(spread < 1e-6 * inside[0], "uneven: spread {spread}");
        let expected_cells = std::f64::consts::PI * r.parse::<f64>().unwrap().powi(2) / cell_area;
        assert!(
            (inside.len() as f64 / expected_cells - 1.0).abs() < 0.05,
            "{} cells for a region of ~{expected_cells:.0}",
            inside.len()
        );
    }
}

/// Three sessions two hours apart in a rectangle, and a session series cut by `until`.
#[test]
fn repeated_sessions_add_up() {
    let _ = gpu_or_skip!();
    let rect = "rectangle = [\"-1 mm\", \"-1 mm\", \"1 mm\", \"0 mm\"]\nadd = { u = 1.0 }\n";
    let u = after(
        &format!("[[event]]\nat = \"1 h\"\nevery = \"2 h\"\ncount = 3\n{rect}"),
        6.0,
    );
    // Cell (i, j) centre: x = -1.95 + 0.1 i.
    let at = |x: f64, y: f64| u[(((y + 2.0) / 0.1) as usize) * 40 + ((x + 2.0) / 0.1) as usize];
    assert_eq!(at(0.0, -0.5), 3.0);
    assert_eq!(at(0.0, 0.5), 0.0);
    assert_eq!(at(1.5, -0.5), 0.0);
    let u = after(
        &format!("[[event]]\nat = \"1 h\"\nevery = \"2 h\"\nuntil = \"4 h\"\n{rect}"),
        6.0,
    );
    assert_eq!(u[15 * 40 + 20], 2.0, "sessions at 1 h and 3 h only");
}

/// A dose written with a param follows a parameter change at t = 0 (side B of a
/// comparison), and a region that reads the state doses only where the tissue is open.
#[test]
fn doses_see_params_and_the_state() {
    let _ = gpu_or_skip!();
    let dose = "[params]\nk = 1.0\n[[event]]\nat = \"1 h\"\nwhere = \"u < 0.5\"\nadd = { u = \"2.0 * k\" }\n";
    let plain = after(dose, 2.0);
    let changed = after(
        &format!("{dose}[[event]]\nat = 0.0\nparam = \"k\"\nvalue = 1.5\n"),
        2.0,
    );
    assert_eq!(plain[0], 2.0);
    assert_eq!(changed[0], 3.0);
    // At the same time, listed after the dose (as the app's side B adds it): still seen.
    let same = after(
        "[params]\nk = 1.0\n[[event]]\nat = 0.0\nwhere = \"u < 0.5\"\nadd = { u = \"2.0 * k\" }\n\
         [[event]]\nat = 0.0\nparam = \"k\"\nvalue = 1.5\n",
        0.5,
    );
    assert_eq!(same[0], 3.0);
    // A first deposit closes the centre; the dose then reaches only the open cells.
    let u = after(
        &format!(
            "[[event]]\nat = 0.5\ncenter = [0.0, 0.0]\nradius = \"0.5 mm\"\nset = {{ u = 1.0 }}\n{dose}"
        ),
        2.0,
    );
    assert_eq!(u[20 * 40 + 20], 1.0, "closed cell untouched");
    assert_eq!(u[0], 2.0, "open cell dosed");
}

/// An incision line one cell wide: every cell it crosses, none far from it.
#[test]
fn a_line_marks_the_cells_it_crosses() {
    let _ = gpu_or_skip!();
    let u = after(
        "[[event]]\nat = 0.5\nline = [[\"-1.5 mm\", \"-1.5 mm\"], [\"1.5 mm\", \"1.5 mm\"]]\nset = { u = 1.0 }\n",
        1.0,
    );
    for i in 6..34 {
        assert_eq!(u[i * 40 + i], 1.0, "diagonal cell {i}");
        // Five cells off the diagonal is 0.35 mm from the line.
        assert_eq!(u[i * 40 + (i + 5).min(39)], 0.0, "cell off the line {i}");
    }
    let marked = u.iter().filter(|&&v| v > 0.0).count();
    // 30 diagonal cells and their side neighbours, whose corners the line touches (0.071
    // mm from it, within the reach of half a cell's diagonal).
    assert!((30..=100).contains(&marked), "{marked} cells marked");
}
