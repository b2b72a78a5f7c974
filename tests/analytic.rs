//! Checks against solutions nobody here wrote: the heat kernel's variance, conservation of
//! mass, the Fisher–KPP front speed 2·sqrt(D·r), a linear steady state between fixed sides,
//! and convergence in dt.

use crate::common::{advance, scenario, simulation, sum};
use crate::gpu_or_skip;

fn heat(boundary: &str, centre: (f64, f64)) -> String {
    format!(
        "[grid]\nsize = [128, 128]\nextent = [\"32 mm\", \"32 mm\"]\nboundary = \"{boundary}\"\n[time]\nend = \"10 h\"\n\
         [[species]]\nname = \"u\"\ndiffusion = 0.1\ninitial = \"exp(-((x - {}) * (x - {}) + (y - {}) * (y - {})) / (2.0 * 4.0))\"\n",
        centre.0, centre.0, centre.1, centre.1
    )
}

/// Second moments about the field's centre of mass: (var_x, var_y).
fn variances(f: &[f32], nx: usize, dx: f64, x0: f64) -> (f64, f64) {
    let (mut m, mut mx, mut my) = (0.0, 0.0, 0.0);
    for (k, &v) in f.iter().enumerate() {
        let (x, y) = (
            x0 + ((k % nx) as f64 + 0.5) * dx,
            x0 + ((k / nx) as f64 + 0.5) * dx,
        );
        m += v as f64;
        mx += v as f64 * x;
        my += v as f64 * y;
    }
    let (cx, cy) = (mx / m, my / m);
    let (mut vx, mut vy) = (0.0, 0.0);
    for (k, &v) in f.iter().enumerate() {
        let (x, y) = (
            x0 + ((k % nx) as f64 + 0.5) * dx,
            x0 + ((k / nx) as f64 + 0.5) * dx,
        );
        vx += v as f64 * (x - cx) * (x - cx);
        vy += v as f64 * (y - cy) * (y - cy);
    }
    (vx / m, vy / m)
}

#[test]
fn gaussian_variance_grows_by_2dt_per_axis() {
    let ctx = gpu_or_skip!();
    let sc = scenario(&heat("periodic", (0.0, 0.0)));
    let mut sim = simulation(ctx, &sc);
    let (v0x, v0y) = variances(&sim.read_fields().unwrap()[0], 128, 0.25, -16.0);
    advance(&mut sim, 10.0);
    let (vx, vy) = variances(&sim.read_fields().unwrap()[0], 128, 0.25, -16.0);
    let expected = 2.0 * 0.1 * 10.0;
    for (grown, axis) in [(vx - v0x, "x"), (vy - v0y, "y")] {
        assert!(
            (grown - expected).abs() < 2e-3 * expected,
            "variance along {axis} grew by {grown}, expected {expected}"
        );
    }
}

#[test]
fn mass_is_conserved_under_no_flux_and_periodic() {
    let ctx = gpu_or_skip!();
    // Off-centre, so the blob reaches the sides and the boundary rule matters.
    for boundary in ["no-flux", "periodic"] {
        let sc = scenario(&heat(boundary, (12.0, -13.0)));
        let mut sim = simulation(ctx, &sc);
        let m0 = sum(&sim.read_fields().unwrap()[0]);
        advance(&mut sim, 10.0);
        assert!(sim.counters().steps > 50, "the test should take many steps");
        let m1 = sum(&sim.read_fields().unwrap()[0]);
        let rel = ((m1 - m0) / m0).abs();
        assert!(
            rel < 1e-5,
            "{boundary}: mass changed by {rel:e} (from {m0} to {m1})"
        );
    }
}

/// x where row 0 of `u` first drops below 0.5, linearly interpolated.
fn front(u: &[f32], nx: usize, dx: f64, x0: f64) -> f64 {
    for i in 0..nx - 1 {
        let (a, b) = (u[i] as f64, u[i + 1] as f64);
        if a >= 0.5 && b < 0.5 {
            let xa = x0 + (i as f64 + 0.5) * dx;
            return xa + dx * (a - 0.5) / (a - b);
        }
    }
    panic!("no front found");
}

/// Front speed between t1 = 80 h and t2 = 160 h (D = r = 1, dx = 0.25 mm); `dt` forced or auto.
fn fisher_speed(dt: Option<f64>) -> Option<f64> {
    let ctx = crate::common::gpu()?;
    let dt = dt.map(|d| format!("dt = {d}\n")).unwrap_or_default();
    let sc = scenario(&format!(
        "[grid]\nsize = [2048, 2]\nextent = [\"512 mm\", \"1 mm\"]\n[time]\nend = \"160 h\"\n{dt}\
         [[species]]\nname = \"u\"\ndiffusion = 1.0\ninitial = \"select(0.0, 1.0, x < -240.0)\"\n\
         [reactions]\nu = \"r * u * (1.0 - u)\"\n[params]\nr = 1.0\n"
    ));
    let mut sim = simulation(ctx, &sc);
    advance(&mut sim, 80.0);
    let x1 = front(&sim.read_fields().unwrap()[0], 2048, 0.25, -256.0);
    advance(&mut sim, 160.0);
    let x2 = front(&sim.read_fields().unwrap()[0], 2048, 0.25, -256.0);
    Some((x2 - x1) / 80.0)
}

#[test]
fn fisher_front_travels_at_2_sqrt_dr() {
    let c = 2.0;
    // With the step exoderm chooses itself.
    let Some(speed) = fisher_speed(None) else {
        return;
    };
    assert!(
        (speed - c).abs() < 0.03 * c,
        "front speed {speed} mm/h, expected {c} within 3%"
    );
    // With a small step the remaining gap is Bramson's finite-time correction
    // (SOURCES.md §1.1): x(t) = c·t − (3/2)·sqrt(D/r)·ln t + const.
    let bramson = c - 1.5 * (160.0f64 / 80.0).ln() / 80.0;
    let fine = fisher_speed(Some(0.01)).unwrap();
    eprintln!("fisher: auto {speed}, fine {fine}, bramson {bramson}");
    assert!(
        (fine - bramson).abs() < 0.01 * bramson,
        "front speed {fine} mm/h (dt = 0.004 h) vs Bramson-corrected {bramson}"
    );
}

#[test]
fn fixed_sides_give_the_linear_steady_state() {
    let ctx = gpu_or_skip!();
    // u = 1 held on the left face, 0 on the right; no flux top and bottom.
    let sc = scenario(
        "[grid]\nsize = [40, 4]\nextent = [\"4 mm\", \"0.4 mm\"]\n\
         boundary = { left = \"fixed\", right = \"fixed\", bottom = \"no-flux\", top = \"no-flux\" }\n\
         [time]\nend = \"60 h\"\n[[species]]\nname = \"u\"\ndiffusion = 0.5\ninitial = \"0.0\"\n\
         boundary_value = \"select(0.0, 1.0, x < 0.0)\"\n",
    );
    let mut sim = simulation(ctx, &sc);
    advance(&mut sim, 60.0);
    let u = &sim.read_fields().unwrap()[0];
    for (k, &v) in u.iter().enumerate() {
        let x = -2.0 + ((k % 40) as f64 + 0.5) * 0.1;
        let exact = 0.5 - x / 4.0;
        assert!((v as f64 - exact).abs() < 1e-3, "cell {k}: {v} vs {exact}");
    }
}

#[test]
fn time_dependent_boundary_follows_the_initial_expression() {
    let ctx = gpu_or_skip!();
    // No boundary_value: the fixed side holds `initial` at the current t (here 2·t at x = -1).
    // Forward Euler, so its f64 twin can take the same steps.
    let sc = scenario(
        "[grid]\nsize = [64, 2]\nextent = [\"2 mm\", \"0.0625 mm\"]\nboundary = { left = \"fixed\", right = \"no-flux\", bottom = \"periodic\", top = \"periodic\" }\n\
         [time]\nend = \"1 h\"\nscheme = \"euler\"\n[[species]]\nname = \"u\"\ndiffusion = 0.01\ninitial = \"select(0.0, 2.0 * t, x < -0.99)\"\n",
    );
    let mut sim = simulation(ctx, &sc);
    let initial = crate::common::fields_f64(&sim);
    advance(&mut sim, 1.0);
    let u = &sim.read_fields().unwrap()[0];
    // The f64 twin with the face held at 2·t on the left, stepped with the same steps.
    let n = sim.counters().steps as usize;
    let dt = 1.0 / n as f64;
    let react = |_c: &[f64], out: &mut [f64]| out[0] = 0.0;
    let face = |_s: usize, _x: f64, _y: f64, t: f64| [2.0 * t, 0.0, 0.0, 0.0];
    let mut cpu =
        exoderm::engine::reference::Reference::new(&sc.grid, vec![0.01], initial, &react, &face);
    for k in 0..n {
        cpu.step(k as f64 * dt, dt);
    }
    let d = crate::common::max_abs_diff(u, &cpu.fields[0]);
    assert!(d < 1e-5, "GPU vs f64 twin with a rising face value: {d:e}");
    // The edge cell is pulled towards the face value 2 at t = 1; the far end stays ~0.
    assert!(u[0] > 0.5, "edge cell {}", u[0]);
    assert!(u[63].abs() < 1e-6, "far cell {}", u[63]);
}

#[test]
fn halving_dt_moves_the_result_less_than_the_bound() {
    let ctx = gpu_or_skip!();
    // Forward Euler (the teaching scheme) at forced steps.
    let run = |dt: f64| {
        let sc = scenario(&format!(
            "[grid]\nsize = [128, 8]\nextent = [\"20 mm\", \"1.25 mm\"]\n[time]\nend = \"4 h\"\ndt = {dt}\nscheme = \"euler\"\n\
             [[species]]\nname = \"u\"\ndiffusion = 0.2\ninitial = \"select(0.0, 1.0, x < -5.0)\"\n\
             [reactions]\nu = \"r * u * (1.0 - u)\"\n[params]\nr = 1.0\n"
        ));
        let mut sim = simulation(ctx, &sc);
        advance(&mut sim, 4.0);
        sim.read_fields().unwrap().remove(0)
    };
    let (a, b, c) = (run(0.02), run(0.01), run(0.005));
    let d1 = a
        .iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max);
    let d2 = b
        .iter()
        .zip(&c)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max);
    // Stated bound: halving a 0.01 h step moves u (in [0, 1]) by less than 5e-3.
    assert!(d2 < 5e-3, "halving dt from 0.01 h moved u by {d2}");
    // And the scheme is first order: the change halves with each halving (ratio ≈ 2).
    let ratio = d1 / d2;
    assert!(
        (1.6..2.4).contains(&ratio),
        "convergence ratio {ratio} (d1 = {d1}, d2 = {d2})"
    );
}

#[test]
fn a_blow_up_stops_the_run_and_names_the_species() {
    let ctx = gpu_or_skip!();
    let sc = scenario(
        "[grid]\nsize = [16, 16]\nextent = [\"1 mm\", \"1 mm\"]\n[time]\nend = \"5 h\"\n\
         [[species]]\nname = \"calm\"\ninitial = \"1.0\"\n[[species]]\nname = \"boom\"\ninitial = \"1.0\"\n\
         [reactions]\nboom = \"boom * boom\"\n",
    );
    let mut sim = simulation(ctx, &sc);
    // Advance output interval by output interval, as `exoderm run` does.
    let mut failed_at = None;
    for k in 1..=10 {
        if let Err(e) = sim.advance(0.5 * k as f64, &mut |_| {}) {
            failed_at = Some((0.5 * k as f64, e.to_string()));
            break;
        }
    }
    let (t, msg) = failed_at.expect("u' = u^2 from 1 blows up at t = 1");
    assert!(
        t > 0.9 && t <= 2.0,
        "blow-up reported in the interval ending at {t} h"
    );
    assert!(msg.contains("species `boom`"), "{msg}");
    assert!(msg.contains("reactions.boom"), "{msg}");
    assert!(msg.contains("between t = "), "{msg}");
}

#[test]
fn fast_species_take_substeps_and_still_spread_exactly() {
    let ctx = gpu_or_skip!();
    // Forward Euler: `fast` diffuses 100× faster than `slow`: it is sub-stepped, and both Gaussians must still
    // grow their variance by exactly 2·D·t per axis (the 5-point stencil's discrete identity).
    let blob = "exp(-(x * x + y * y) / (2.0 * 4.0))";
    let sc = scenario(&format!(
        "[grid]\nsize = [96, 96]\nextent = [\"48 mm\", \"48 mm\"]\nboundary = \"periodic\"\n[time]\nend = \"2 h\"\nscheme = \"euler\"\n\
         [[species]]\nname = \"slow\"\ndiffusion = 0.01\ninitial = \"{blob}\"\n\
         [[species]]\nname = \"fast\"\ndiffusion = 1.0\ninitial = \"{blob}\"\n"
    ));
    let mut sim = simulation(ctx, &sc);
    assert_eq!(sim.plan().fast, vec!["fast".to_string()]);
    assert!(sim.plan().substeps >= 90, "{:?}", sim.plan());
    let f0 = sim.read_fields().unwrap();
    advance(&mut sim, 2.0);
    let f1 = sim.read_fields().unwrap();
    for (s, d) in [(0, 0.01), (1, 1.0)] {
        let (v0, _) = variances(&f0[s], 96, 0.5, -24.0);
        let (v1, _) = variances(&f1[s], 96, 0.5, -24.0);
        let expected = 2.0 * d * 2.0;
        assert!(
            ((v1 - v0) - expected).abs() < 3e-3 * expected,
            "species {s}: variance grew by {}, expected {expected}",
            v1 - v0
        );
    }
}

#[test]
fn a_flux_side_adds_exactly_its_flux() {
    let ctx = gpu_or_skip!();
    // q = 0.25 per mm of side per hour through the 2 mm left side: +0.5 per hour in total.
    let sc = scenario(
        "[grid]\nsize = [40, 16]\nextent = [\"5 mm\", \"2 mm\"]\nboundary = { left = \"flux\", right = \"no-flux\", bottom = \"no-flux\", top = \"no-flux\" }\n\
         [time]\nend = \"3 h\"\n[[species]]\nname = \"u\"\ndiffusion = 0.2\ninitial = \"1.0\"\nboundary_flux = \"0.25\"\n",
    );
    let mut sim = simulation(ctx, &sc);
    let area = sc.grid.cell_area();
    let m0 = sum(&sim.read_fields().unwrap()[0]) * area;
    advance(&mut sim, 3.0);
    let m1 = sum(&sim.read_fields().unwrap()[0]) * area;
    assert!(
        ((m1 - m0) - 1.5).abs() < 1e-4,
        "mass grew by {}, expected 1.5",
        m1 - m0
    );
}

#[test]
fn a_robin_side_gives_the_analytic_steady_state() {
    let ctx = gpu_or_skip!();
    // Left: exchange with outside value 1 at rate k; right: held at 0. Steady state is linear:
    // c(x) = A + B (x - x0) with B = -k / (D + k L), A = k L / (D + k L).
    let (d, k, l) = (0.5, 0.8, 4.0);
    let sc = scenario(&format!(
        "[grid]\nsize = [40, 4]\nextent = [\"{l} mm\", \"0.4 mm\"]\nboundary = {{ left = \"robin\", right = \"fixed\", bottom = \"no-flux\", top = \"no-flux\" }}\n\
         [time]\nend = \"80 h\"\n[[species]]\nname = \"u\"\ndiffusion = {d}\ninitial = \"0.0\"\nboundary_value = \"0.0\"\nexchange_rate = \"{k}\"\noutside = \"1.0\"\n"
    ));
    let mut sim = simulation(ctx, &sc);
    advance(&mut sim, 80.0);
    let u = &sim.read_fields().unwrap()[0];
    let (a, b) = (k * l / (d + k * l), -k / (d + k * l));
    for (i, &v) in u.iter().take(40).enumerate() {
        let x = (i as f64 + 0.5) * 0.1;
        let exact = a + b * x;
        assert!((v as f64 - exact).abs() < 1e-3, "cell {i}: {v} vs {exact}");
    }
}

/// Amplitude of the checkerboard mode (−1)^(i+j) in `u`.
pub fn checkerboard(u: &[f32], nx: usize) -> f64 {
    u.iter()
        .enumerate()
        .map(|(k, &v)| {
            if (k % nx + k / nx).is_multiple_of(2) {
                v as f64
            } else {
                -(v as f64)
            }
        })
        .sum::<f64>()
        / u.len() as f64
}

#[test]
fn the_explicit_stability_limit_is_where_theory_puts_it() {
    let ctx = gpu_or_skip!();
    // Forward Euler. Periodic, dx = dy = 1 mm, D = 1: the limit is dt* = 1 / (2 D (1/dx² +
    // 1/dy²)) = 0.25 h, where the checkerboard's amplification 1 − 8 D dt / dx² reaches −1.
    let sc = scenario(
        "[grid]\nsize = [32, 32]\nextent = [\"32 mm\", \"32 mm\"]\nboundary = \"periodic\"\n[time]\nend = \"1000 h\"\nscheme = \"euler\"\n\
         [[species]]\nname = \"u\"\ndiffusion = 1.0\ninitial = \"1.0 + 1e-3 * select(-1.0, 1.0, (u32(x + 16.0) + u32(y + 16.0)) % 2u == 0u)\"\n",
    );
    let limit = exoderm::engine::plan::diffusion_limit(1.0, &sc.grid);
    assert!((limit - 0.25).abs() < 1e-12);
    let amplitude_after = |factor: f64| {
        let mut sim = simulation(ctx, &sc);
        let a0 = checkerboard(&sim.read_fields().unwrap()[0], 32);
        sim.force_step_unchecked(factor * limit, None);
        advance(&mut sim, 150.0 * factor * limit);
        checkerboard(&sim.read_fields().unwrap()[0], 32).abs() / a0.abs()
    };
    let below = amplitude_after(0.99);
    let above = amplitude_after(1.01);
    // Theory: |1 − 2·0.99|^150 = 0.049, |1 − 2·1.01|^150 = 19.5.
    assert!(
        (below - 0.98f64.powi(150)).abs() < 0.01,
        "just below the limit the checkerboard decays: {below}"
    );
    assert!(
        (above / 1.02f64.powi(150) - 1.0).abs() < 0.05,
        "just above it grows: {above}"
    );
}

#[test]
fn metric_reductions_match_the_fields() {
    let ctx = gpu_or_skip!();
    let sc = scenario(
        "[grid]\nsize = [40, 24]\nextent = [\"4 mm\", \"3 mm\"]\n[time]\nend = \"0.5 h\"\n\
         [[species]]\nname = \"u\"\ndiffusion = 0.1\ninitial = \"exp(-(x - 0.5) * (x - 0.5) - y * y) + 0.1 * noise\"\n\
         [metrics]\ntotal = \"u\"\nlowest = { expr = \"u\", reduce = \"min\" }\n\
         highest = { expr = \"u * u\", reduce = \"max\" }\naverage = { expr = \"u\", reduce = \"mean\" }\n\
         right_area = { expr = \"select(0.0, 1.0, x > 0.0)\", reduce = \"integral\" }\n",
    );
    let mut sim = simulation(ctx, &sc);
    advance(&mut sim, 0.5);
    let u = &sim.read_fields().unwrap()[0];
    let m = sim.read_metrics().unwrap();
    let area = sc.grid.cell_area();
    let v: Vec<f64> = u.iter().map(|&x| x as f64).collect();
    let want = [
        ("total", v.iter().sum::<f64>() * area),
        ("lowest", v.iter().copied().fold(f64::INFINITY, f64::min)),
        ("highest", v.iter().map(|x| x * x).fold(0.0, f64::max)),
        ("average", v.iter().sum::<f64>() / v.len() as f64),
        ("right_area", 6.0), // half of the 4 mm × 3 mm domain
    ];
    let got = |name: &str| {
        let k = sc
            .model
            .metrics
            .iter()
            .position(|m| m.name == name)
            .unwrap();
        m[k]
    };
    for (name, want) in want {
        let g = got(name);
        assert!(
            (g - want).abs() <= 1e-6 * want.abs().max(1.0),
            "{name}: {g} vs {want}"
        );
    }
    // The numbers differ from one another: each reduction is its own.
    assert!(
        got("lowest") < got("average") && got("average") < got("highest").sqrt(),
        "{m:?}"
    );
}
