//! Numerics you can trust by default: the stabilized schemes (RKC, the default, and RKL2)
//! against their f64 twin and their stability polynomial; second order in time on a coupled
//! nonlinear problem; the exact Ablowitz–Zeppetella front converging at O(dx²); end errors
//! that fall in proportion to the tolerance; Turing growth rates against the discrete
//! dispersion relation from seeds small enough that f32 rounding matters; sixty years of a
//! linearly forced slow species next to an hour-scale one; a stiff activator against an f64
//! reference; steps that grow back; and Euler's first order for teaching.

use exoderm::engine::plan::{DIFFUSION_SAFETY, MAX_STAGES, diffusion_limit, diffusion_radius};
use exoderm::engine::reference::Reference;
use exoderm::engine::schemes::Family;

use crate::analytic::checkerboard;
use crate::common::{advance, fields_f64, max_abs_diff, scenario, simulation};
use crate::gpu_or_skip;

/// Two coupled species with mixed sides (SIDES: fixed, robin and periodic, or flux, no-flux,
/// fixed and robin), a fast decay and a coupling: what the twins are compared on.
const COUPLED: &str = "[grid]\nsize = [24, 20]\nextent = [\"3 mm\", \"2.5 mm\"]\n\
     boundary = SIDES\n\
     [time]\nend = 0.5\ndt = 0.05\nscheme = \"SCHEME\"\n\
     [[species]]\nname = \"a\"\ndiffusion = 2.0\ninitial = \"exp(-(x * x + y * y))\"\nboundary_value = \"0.3\"\nexchange_rate = \"1.0\"\noutside = \"0.5\"\nboundary_flux = \"0.4\"\n\
     [[species]]\nname = \"b\"\ndiffusion = 0.05\ninitial = \"0.1\"\nboundary_value = \"0.0\"\nexchange_rate = \"0.5\"\noutside = \"0.0\"\n\
     [reactions]\na = \"-30.0 * a\"\nb = \"2.0 * a - 0.5 * b\"\n";

fn coupled_react(c: &[f64], out: &mut [f64]) {
    out[0] = -30.0 * c[0];
    out[1] = 2.0 * c[0] - 0.5 * c[1];
}

fn coupled_face(s: usize, _x: f64, _y: f64, _t: f64) -> [f64; 4] {
    if s == 0 {
        [0.3, 0.4, 1.0, 0.5]
    } else {
        [0.0, 0.0, 0.5, 0.0]
    }
}

#[test]
fn stabilized_schemes_match_their_f64_twin() {
    let ctx = gpu_or_skip!();
    let sides = [
        "{ left = \"fixed\", right = \"robin\", bottom = \"periodic\", top = \"periodic\" }",
        "{ left = \"flux\", right = \"no-flux\", bottom = \"fixed\", top = \"robin\" }",
    ];
    let cases = [
        ("rkc", Family::Rkc, sides[0]),
        ("rkl2", Family::Rkl2, sides[0]),
        ("rkc", Family::Rkc, sides[1]),
    ];
    for (scheme, family, sides) in cases {
        let sc = scenario(&COUPLED.replace("SCHEME", scheme).replace("SIDES", sides));
        let mut sim = simulation(ctx, &sc);
        let initial = fields_f64(&sim);
        advance(&mut sim, 0.05);
        let s = sim.plan().stages;
        assert!(
            s >= 3,
            "{scheme}: the fast decay and diffusion need stages: {s}"
        );
        let mut cpu = Reference::new(
            &sc.grid,
            vec![2.0, 0.05],
            initial.clone(),
            &coupled_react,
            &coupled_face,
        );
        let coefs = family.coefficients(s);
        for k in 0..10 {
            cpu.stabilized_step(k as f64 * 0.05, 0.05, &coefs);
        }
        advance(&mut sim, 0.5);
        assert_eq!(sim.plan().stages, s, "{scheme}: the same stages throughout");
        assert_eq!(sim.counters().steps, 10);
        let gpu = sim.read_fields().unwrap();
        for k in 0..2 {
            let d = max_abs_diff(&gpu[k], &cpu.fields[k]);
            assert!(
                d < 2e-5,
                "{scheme} {sides}, species {k}: GPU vs f64 twin differ by {d:e}"
            );
            assert!(
                max_abs_diff(&gpu[k], &initial[k]) > 0.01,
                "species {k} barely moved"
            );
        }
    }
}

fn checker(scheme: &str, amp: f64) -> String {
    format!(
        "[grid]\nsize = [32, 32]\nextent = [\"32 mm\", \"32 mm\"]\nboundary = \"periodic\"\n[time]\nend = \"1000 h\"\nscheme = \"{scheme}\"\n\
         [[species]]\nname = \"u\"\ndiffusion = 1.0\ninitial = \"1.0 + {amp} * select(-1.0, 1.0, (u32(x + 16.0) + u32(y + 16.0)) % 2u == 0u)\"\n"
    )
}

#[test]
fn the_stability_boundary_is_where_the_stage_count_puts_it() {
    let ctx = gpu_or_skip!();
    // The checkerboard is the Laplacian's fastest mode, z = −8·D·dt/dx². Just below the
    // stability interval's edge β(s) it decays, just above it grows, by the scheme's
    // stability polynomial per step.
    for (scheme, family) in [("rkc", Family::Rkc), ("rkl2", Family::Rkl2)] {
        let sc = scenario(&checker(scheme, 1e-3));
        let s = 4u32;
        let edge = family.beta(s) / 8.0;
        let factor = |f: f64| {
            let z = -8.0 * f * edge;
            let (mut y1, mut y2) = (1.0, 1.0);
            for [mu, nu, mt, gt, _] in family.coefficients(s) {
                let yj = mu * y1 + nu * y2 + (1.0 - mu - nu) + mt * z * y1 + gt * z;
                y2 = y1;
                y1 = yj;
            }
            y1
        };
        for (f, grows) in [(0.98, false), (1.02, true)] {
            let mut sim = simulation(ctx, &sc);
            let a0 = checkerboard(&sim.read_fields().unwrap()[0], 32);
            sim.force_step_unchecked(f * edge, Some(s));
            advance(&mut sim, 20.0 * f * edge);
            assert_eq!(sim.counters().steps, 20, "{scheme}");
            let ratio = checkerboard(&sim.read_fields().unwrap()[0], 32) / a0;
            let expected = factor(f).powi(20);
            assert_eq!(
                ratio.abs() > 1.0,
                grows,
                "{scheme}: dt = {f} × the edge: amplitude ratio {ratio}"
            );
            assert!(
                (ratio / expected - 1.0).abs() < 0.02,
                "{scheme}: amplitude ratio {ratio} vs theory {expected}"
            );
        }
    }
}

/// A smooth nonlinear coupled problem for the order test.
const NONLINEAR: &str = "[grid]\nsize = [24, 16]\nextent = [\"6 mm\", \"4 mm\"]\n\
     boundary = { left = \"no-flux\", right = \"fixed\", bottom = \"periodic\", top = \"periodic\" }\n\
     [time]\nend = 1.0\noutput_every = 1.0\nDT\n\
     [[species]]\nname = \"u\"\ndiffusion = 0.05\ninitial = \"0.5 + 0.3 * exp(-(x * x + y * y))\"\nboundary_value = \"0.5\"\n\
     [[species]]\nname = \"v\"\ndiffusion = 0.2\ninitial = \"0.4 + 0.2 * cos(1.5 * y)\"\nboundary_value = \"0.4\"\n\
     [reactions]\nu = \"0.5 * v - u * u + 0.1\"\nv = \"u - 0.6 * v * v\"\n";

fn nonlinear_react(c: &[f64], out: &mut [f64]) {
    out[0] = 0.5 * c[1] - c[0] * c[0] + 0.1;
    out[1] = c[0] - 0.6 * c[1] * c[1];
}

fn nonlinear_face(s: usize, _x: f64, _y: f64, _t: f64) -> [f64; 4] {
    [if s == 0 { 0.5 } else { 0.4 }, 0.0, 0.0, 0.0]
}

#[test]
fn second_order_in_time_on_the_coupled_problem() {
    let ctx = gpu_or_skip!();
    // The whole right-hand side (diffusion, nonlinear reactions, both couplings) at three
    // fixed steps, against an f64 RK4 reference with a step 10× smaller than the finest.
    // The stage count is held at 5 (stable at every step here): the error constant of a
    // stabilized method depends on its stage count, so only a fixed one shows the order.
    let sc = scenario(&NONLINEAR.replace("DT", ""));
    let sim = simulation(ctx, &sc);
    let initial = fields_f64(&sim);
    let mut cpu = Reference::new(
        &sc.grid,
        vec![0.05, 0.2],
        initial,
        &nonlinear_react,
        &nonlinear_face,
    );
    for k in 0..400 {
        cpu.rk4_step(k as f64 * 0.0025, 0.0025);
    }
    for (scheme, name) in [("", "RKC"), ("scheme = \"rkl2\"", "RKL2")] {
        let err = |dt: f64| {
            let text = NONLINEAR.replace("DT", scheme);
            let mut sim = simulation(ctx, &scenario(&text));
            sim.force_step_unchecked(dt, Some(5));
            advance(&mut sim, 1.0);
            assert_eq!(sim.counters().steps, (1.0 / dt).round() as u64);
            let f = sim.read_fields().unwrap();
            (0..2)
                .map(|s| max_abs_diff(&f[s], &cpu.fields[s]))
                .fold(0.0, f64::max)
        };
        // (At dt = 0.2 the stiff modes are far from resolved: the error there is 15× that
        // at 0.1, not yet asymptotic; the f64 twin gives the same numbers.)
        let (e1, e2, e3) = (err(0.1), err(0.05), err(0.025));
        eprintln!("{name}: errors at dt = 0.1, 0.05, 0.025: {e1:.3e} {e2:.3e} {e3:.3e}");
        for (a, b) in [(e1, e2), (e2, e3)] {
            assert!(
                (3.3..4.8).contains(&(a / b)),
                "{name} should be second order: errors {e1:e}, {e2:e}, {e3:e}"
            );
        }
    }
}

/// The Ablowitz–Zeppetella travelling wave of Fisher–KPP (D = r = 1): exact at every x, t.
fn az(x: f64, t: f64) -> f64 {
    let (rho, c) = ((1.0f64 / 6.0).sqrt(), 5.0 / 6.0f64.sqrt());
    1.0 / (1.0 + (rho * (x - c * t + 4.0)).exp()).powi(2)
}

fn az_scenario(nx: u32, time: &str) -> String {
    let exact = "1.0 / pow(1.0 + exp(0.408248290463863 * (x - 2.04124145231932 * t + 4.0)), 2.0)";
    format!(
        "[model]\nbuiltin = \"fisher\"\n[grid]\nsize = [{nx}, 2]\nextent = [\"40 mm\", \"0.4 mm\"]\n\
         boundary = {{ left = \"fixed\", right = \"fixed\", bottom = \"periodic\", top = \"periodic\" }}\n\
         [time]\nend = \"4 h\"\noutput_every = \"4 h\"\n{time}\n\
         [[species]]\nname = \"u\"\ndiffusion = 1.0\ninitial = \"{exact}\"\nboundary_value = \"{exact}\"\n\
         [params]\nr = 1.0\n"
    )
}

/// The run's error against the exact front at t = 4 h, and its counters.
fn az_error(ctx: &exoderm::GpuContext, nx: u32, time: &str) -> (f64, exoderm::engine::Counters) {
    let mut sim = simulation(ctx, &scenario(&az_scenario(nx, time)));
    advance(&mut sim, 4.0);
    let u = &sim.read_fields().unwrap()[0];
    let dx = 40.0 / nx as f64;
    let err = (0..nx as usize)
        .map(|i| (u[i] as f64 - az(-20.0 + (i as f64 + 0.5) * dx, 4.0)).abs())
        .fold(0.0, f64::max);
    (err, sim.counters())
}

#[test]
fn the_exact_front_converges_at_second_order_in_space() {
    let ctx = gpu_or_skip!();
    // A tight tolerance leaves the 5-point stencil's O(dx²) error.
    // (Finer grids need time errors below f32's resolution of the right-hand side.)
    let e: Vec<f64> = [50, 100, 200]
        .iter()
        .map(|&nx| az_error(ctx, nx, "rtol = 1e-6").0)
        .collect();
    eprintln!("A–Z front, rtol 1e-6: errors at dx = 0.8, 0.4, 0.2 mm: {e:?}");
    for w in e.windows(2) {
        assert!(
            (3.5..4.6).contains(&(w[0] / w[1])),
            "halving dx should cut the error by 4: {e:?}"
        );
    }
}

#[test]
fn the_end_error_falls_in_proportion_to_the_tolerance() {
    let ctx = gpu_or_skip!();
    // On one grid, against the same grid at a far tighter tolerance: the time error alone.
    let run = |time: &str| {
        let mut sim = simulation(ctx, &scenario(&az_scenario(200, time)));
        advance(&mut sim, 4.0);
        (sim.read_fields().unwrap().remove(0), sim.counters())
    };
    let (reference, _) = run("rtol = 1e-6");
    let mut errors = vec![];
    for rtol in ["1e-3", "1e-4", "1e-5"] {
        let (u, c) = run(&format!("rtol = {rtol}"));
        let e = u
            .iter()
            .zip(&reference)
            .map(|(a, b)| (a - b).abs() as f64)
            .fold(0.0, f64::max);
        eprintln!(
            "rtol {rtol}: end error {e:.3e} in {} steps ({} rejected)",
            c.steps, c.rejected
        );
        errors.push(e);
    }
    // The default (1e-3) gives below its tolerance at the end (u spans 0..1).
    assert!(errors[0] < 1e-3, "rtol 1e-3: end error {:e}", errors[0]);
    // Order ≥ 1 in the tolerance over two decades (measured: 1.03), each decade at least 7×.
    let order = (errors[0] / errors[2]).log10() / 2.0;
    assert!(
        order >= 0.95,
        "order {order:.2} in the tolerance: {errors:?}"
    );
    for w in errors.windows(2) {
        assert!(w[0] / w[1] > 7.0, "a tenth of the tolerance: {errors:?}");
    }
}

/// Schnakenberg kinetics (a = 0.1, b = 0.9): steady state u* = 1, v* = 0.9.
const TURING: &str = "[grid]\nsize = [100, 2]\nextent = [\"10 mm\", \"0.2 mm\"]\nboundary = \"periodic\"\n\
     [time]\nend = \"END h\"\noutput_every = \"END h\"\n\
     [[species]]\nname = \"u\"\ndiffusion = 0.01\ninitial = \"1.0 + EU * cos(K * (x + 5.0))\"\n\
     [[species]]\nname = \"v\"\ndiffusion = 0.2\ninitial = \"0.9 + EV * cos(K * (x + 5.0))\"\n\
     [reactions]\nu = \"0.1 - u + u * u * v\"\nv = \"0.9 - u * u * v\"\n";

/// The discrete mode m's Jacobian: J − diag(D) λ_m with λ_m = (2 − 2 cos(k dx))/dx².
fn turing_mode(m: usize) -> (f64, [[f64; 2]; 2]) {
    let (dx, l) = (0.1, 10.0);
    let k = 2.0 * std::f64::consts::PI * m as f64 / l;
    let lam = (2.0 - 2.0 * (k * dx).cos()) / (dx * dx);
    (k, [[0.8 - 0.01 * lam, 1.0], [-1.8, -1.0 - 0.2 * lam]])
}

/// The larger eigenvalue of a real 2×2 matrix with real eigenvalues, and its eigenvector.
fn dominant(j: [[f64; 2]; 2]) -> Option<(f64, [f64; 2])> {
    let (tr, det) = (j[0][0] + j[1][1], j[0][0] * j[1][1] - j[0][1] * j[1][0]);
    let disc = tr * tr / 4.0 - det;
    (disc > 0.0).then(|| {
        let s = tr / 2.0 + disc.sqrt();
        (s, [j[0][1], s - j[0][0]])
    })
}

#[test]
fn turing_growth_rates_match_the_discrete_dispersion_relation() {
    let ctx = gpu_or_skip!();
    // Modes on the discrete grid: the fastest growing, a barely growing one at the band's
    // edge and one decaying 1.5× as fast as the fastest grows, each seeded along its own eigenvector at 1e-4 of the steady
    // state — below a thousandth of an f32 ulp per step of change — with default settings.
    let modes: Vec<(usize, f64, [f64; 2])> = (1..50)
        .filter_map(|m| dominant(turing_mode(m).1).map(|(s, v)| (m, s, v)))
        .collect();
    let fastest = modes
        .iter()
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .copied()
        .unwrap();
    let marginal = modes
        .iter()
        .filter(|m| m.1 > 0.0)
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .copied()
        .unwrap();
    let s_max = fastest.1;
    let decaying = modes
        .iter()
        .filter(|m| m.1 < -1.5 * s_max && m.0 > fastest.0)
        .min_by_key(|m| m.0)
        .copied()
        .unwrap();
    for (what, (m, sigma, v)) in [
        ("growing", fastest),
        ("marginal", marginal),
        ("decaying", decaying),
    ] {
        let (k, _) = turing_mode(m);
        let norm = v[0].abs().max(v[1].abs());
        let (eu, ev) = (1e-4 * v[0] / norm, 1e-4 * v[1] / norm);
        // Long enough for a growing amplitude to change by about e³ (a decaying one by e),
        // short enough that f32 rounding, which seeds every mode, grows at most 1000-fold
        // in the fastest one (beyond that it is no longer a single linear mode).
        let efolds = if sigma < 0.0 { 1.0 } else { 3.0 };
        let end = (efolds / sigma.abs()).min(1e3f64.ln() / s_max);
        let text = TURING
            .replace("END", &format!("{end}"))
            .replace("EU", &format!("{eu:e}"))
            .replace("EV", &format!("{ev:e}"))
            .replace("K", &format!("{k:.15}"));
        let mut sim = simulation(ctx, &scenario(&text));
        let amp = |sim: &exoderm::Simulation| {
            let u = &sim.read_fields().unwrap()[0];
            2.0 * (0..100)
                .map(|i| (u[i] as f64 - 1.0) * (k * (i as f64 + 0.5) * 0.1).cos())
                .sum::<f64>()
                / 100.0
        };
        let a0 = amp(&sim);
        advance(&mut sim, end);
        let measured = (amp(&sim) / a0).ln() / end;
        let err = (measured - sigma).abs();
        let bound = if what == "marginal" {
            0.005 * s_max
        } else {
            0.005 * sigma.abs()
        };
        eprintln!(
            "{what} mode {m}: σ = {sigma:.5}/h, measured {measured:.5}/h over {end:.1} h ({} steps)",
            sim.counters().steps
        );
        assert!(
            err <= bound,
            "{what} mode {m}: growth {measured} vs {sigma} (±{bound})"
        );
    }
}

#[test]
fn sixty_years_of_linear_forcing_match_the_closed_form() {
    let ctx = gpu_or_skip!();
    // Collagen-like c: made at s0 + s1·t, lost with a 15-year half-life and through an
    // hour-scale species m held at m* = p/q (q = 1/h), and taken up by a species e that is
    // zero throughout (a large coupling that must not set the step).
    let kd = 2f64.ln() / (15.0 * 8766.0);
    let (s0, s1, gamma, mstar) = (1e-4, 2e-10, 1e-5, 0.5);
    let k = kd + gamma * mstar;
    let text = format!(
        "[grid]\nsize = [16, 16]\nextent = [\"2 mm\", \"2 mm\"]\n[time]\nend = \"60 y\"\noutput_every = \"10 y\"\n\
         [[species]]\nname = \"c\"\ninitial = \"1.0\"\n\
         [[species]]\nname = \"m\"\ndiffusion = 0.01\ninitial = \"{mstar}\"\n\
         [[species]]\nname = \"e\"\ninitial = \"0.0\"\n\
         [reactions]\nc = \"{s0:e} + {s1:e} * t - {kd:e} * c - {gamma:e} * m * c - 100.0 * c * e\"\n\
         m = \"0.5 - 1.0 * m\"\ne = \"-e\"\n"
    );
    let mut sim = simulation(ctx, &scenario(&text));
    let t_end = 60.0 * 8766.0;
    for y in [10.0, 20.0, 30.0, 40.0, 50.0, 60.0] {
        advance(&mut sim, y * 8766.0);
    }
    // c' = s0 + s1 t − k c: c = A + B t + (c0 − A) e^{−kt}, B = s1/k, A = (s0 − B)/k.
    let b = s1 / k;
    let a = (s0 - b) / k;
    let exact = a + b * t_end + (1.0 - a) * (-k * t_end).exp();
    let c = &sim.read_fields().unwrap()[0];
    let worst = c
        .iter()
        .map(|&v| (v as f64 - exact).abs())
        .fold(0.0, f64::max);
    let counters = sim.counters();
    eprintln!(
        "60 y: c = {} vs exact {exact}; {} steps ({} rejected), {} dispatches, {} stages at the end",
        c[0],
        counters.steps,
        counters.rejected,
        counters.dispatches,
        sim.plan().stages
    );
    assert!(
        worst < 1e-3,
        "slow species after 60 years: off by {worst:e}"
    );
    assert!(
        (exact - 1.0).abs() > 0.3,
        "the closed form really moved ({exact})"
    );
    // The hour-scale species and the zero species' coupling took stages, not steps: the
    // step count is what the stage cap allows for m's diffusion stiffness, no more.
    let problem = sim.problem();
    let tau_cap = DIFFUSION_SAFETY * Family::Rkc.beta(MAX_STAGES) / diffusion_radius(problem);
    let floor = t_end / tau_cap;
    assert!(
        (counters.steps as f64) < 1.3 * floor,
        "{} steps for 60 years; the stage cap allows {floor:.0}",
        counters.steps
    );
}

/// Cells that barely move (D = 5e-4 mm²/h) and proliferate faster where a chemical they
/// make is — the chemical diffusing 2000× faster and decaying in 6 min.
const ACTIVATOR: &str = "[grid]\nsize = [32, 32]\nextent = [\"2 mm\", \"2 mm\"]\n[time]\nend = \"4 h\"\noutput_every = \"4 h\"\nTIME\n\
     [[species]]\nname = \"n\"\ndiffusion = 5e-4\ninitial = \"select(0.1, 1.0, x * x + y * y < 0.25)\"\n\
     [[species]]\nname = \"c\"\ndiffusion = 1.0\ninitial = \"0.0\"\n\
     [reactions]\nn = \"0.4 * n * (1.0 - n) * (0.2 + c)\"\nc = \"5.0 * n - 10.0 * c\"\n";

fn activator_react(c: &[f64], out: &mut [f64]) {
    out[0] = 0.4 * c[0] * (1.0 - c[0]) * (0.2 + c[1]);
    out[1] = 5.0 * c[0] - 10.0 * c[1];
}

#[test]
fn a_stiff_activator_matches_an_f64_reference() {
    let ctx = gpu_or_skip!();
    let sc = scenario(&ACTIVATOR.replace("TIME", ""));
    let mut sim = simulation(ctx, &sc);
    let initial = fields_f64(&sim);
    advance(&mut sim, 4.0);
    let gpu = sim.read_fields().unwrap();
    // f64 reference: RK4 at half the chemical's explicit diffusion limit.
    let face = |_s: usize, _x: f64, _y: f64, _t: f64| [0.0; 4];
    let mut cpu = Reference::new(&sc.grid, vec![5e-4, 1.0], initial, &activator_react, &face);
    let h = 0.5 * diffusion_limit(1.0, &sc.grid);
    let n = (4.0 / h).ceil() as usize;
    for k in 0..n {
        cpu.rk4_step(k as f64 * 4.0 / n as f64, 4.0 / n as f64);
    }
    let c = sim.counters();
    eprintln!(
        "stiff activator, default settings: {} steps ({} rejected), {} dispatches, {} stages; f64 reference {n} RK4 steps",
        c.steps,
        c.rejected,
        c.dispatches,
        sim.plan().stages
    );
    for (s, name) in ["n", "c"].iter().enumerate() {
        let scale = cpu.fields[s].iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let d = max_abs_diff(&gpu[s], &cpu.fields[s]);
        assert!(
            d < 3e-3 * scale,
            "{name}: {d:e} off the f64 reference (scale {scale})"
        );
    }
    assert!(
        c.steps * 20 < n as u64,
        "{} steps: stiffness took stages, not steps",
        c.steps
    );
}

#[test]
fn the_step_grows_back_after_a_transient() {
    let ctx = gpu_or_skip!();
    // A pulse that dies within minutes, feeding a species that changes over days.
    let sc = scenario(
        "[grid]\nsize = [16, 16]\nextent = [\"1 mm\", \"1 mm\"]\n[time]\nend = \"20 d\"\noutput_every = \"20 d\"\n\
         [[species]]\nname = \"a\"\ndiffusion = 0.01\ninitial = \"1.0\"\n\
         [[species]]\nname = \"b\"\ndiffusion = 0.01\ninitial = \"0.0\"\n\
         [reactions]\na = \"-40.0 * a\"\nb = \"a - 0.01 * b\"\n",
    );
    let mut sim = simulation(ctx, &sc);
    advance(&mut sim, 0.2);
    let early = sim.counters().steps;
    let early_dt = sim.plan().dt;
    advance(&mut sim, 20.0 * 24.0);
    let late_dt = sim.plan().dt;
    eprintln!(
        "transient: {early} steps in the first 0.2 h (dt {early_dt:.2e} h); then dt {late_dt:.2} h, {} steps in all",
        sim.counters().steps
    );
    assert!(early >= 5, "the transient is resolved: {early} steps");
    assert!(
        late_dt > 100.0 * early_dt,
        "the step grew back: {early_dt} → {late_dt} h"
    );
}

/// Amplitude of cos(2π x / L) in `u` (first row), by projection.
fn mode(u: &[f32], nx: usize) -> f64 {
    2.0 * (0..nx)
        .map(|i| u[i] as f64 * (2.0 * std::f64::consts::PI * (i as f64 + 0.5) / nx as f64).cos())
        .sum::<f64>()
        / nx as f64
}

/// (numerical amplitude, semi-discrete exact, continuous exact) of one cosine mode after `t`.
fn decay(ctx: &exoderm::GpuContext, nx: usize, dt: f64, t: f64) -> (f64, f64, f64) {
    let sc = scenario(&format!(
        "[grid]\nsize = [{nx}, 2]\nextent = [\"10 mm\", \"1 mm\"]\nboundary = \"periodic\"\n[time]\nend = {t}\noutput_every = {t}\ndt = {dt}\nscheme = \"euler\"\n\
         [[species]]\nname = \"u\"\ndiffusion = 0.5\ninitial = \"1.0 + cos(6.283185307179586 * (x + 5.0) / 10.0)\"\n"
    ));
    let mut sim = simulation(ctx, &sc);
    let a0 = mode(&sim.read_fields().unwrap()[0], nx);
    advance(&mut sim, t);
    let a = mode(&sim.read_fields().unwrap()[0], nx) / a0;
    let h = 10.0 / nx as f64;
    let k = 2.0 * std::f64::consts::PI / 10.0;
    let semi = (-0.5 * (2.0 - 2.0 * (k * h).cos()) / (h * h) * t).exp();
    (a, semi, (-0.5 * k * k * t).exp())
}

#[test]
fn euler_is_first_order_and_the_stencil_second_order() {
    let ctx = gpu_or_skip!();
    // Time: against the semi-discrete exact decay exp(−D·λh·t), so only the time error is left.
    let err = |dt: f64| {
        let (a, semi, _) = decay(ctx, 64, dt, 2.0);
        (a - semi).abs()
    };
    let (e1, e2) = (err(0.02), err(0.01));
    assert!(
        (1.8..2.2).contains(&(e1 / e2)),
        "forward Euler should be first order: errors {e1:e}, {e2:e}"
    );
    // Space: with a tiny step (time error ~1e-6), the error against the continuous solution
    // is the 5-point stencil's h² error.
    let space = |nx: usize| {
        let (a, _, exact) = decay(ctx, nx, 0.001, 2.0);
        (a - exact).abs()
    };
    let (s1, s2) = (space(16), space(32));
    assert!(
        (3.6..4.4).contains(&(s1 / s2)),
        "halving dx should cut the error by 4: {s1:e}, {s2:e}"
    );
}

fn stiff_wound_react(c: &[f64], out: &mut [f64]) {
    out[0] = 0.1 * c[0] * (1.0 - c[0]) * c[2] * (1.0 + c[1]);
    out[1] = 0.5 * c[0] - 20.0 * c[1];
    out[2] = -0.5 * c[0] * c[2];
}

/// The stiff wound's sides: no flux but for oxygen's exchange with the air on top (the
/// other sides are no-flux, which a robin rule with rate 0 is too).
fn stiff_wound_face(s: usize, _x: f64, _y: f64, _t: f64) -> [f64; 4] {
    if s == 2 {
        [1.0, 0.0, 5.0, 1.0]
    } else {
        [0.0, 0.0, 0.0, 0.0]
    }
}

#[test]
fn the_stiff_wound_example_matches_an_f64_reference() {
    let ctx = gpu_or_skip!();
    // assets/examples/wound_stiff.toml at 64² and 6 h: cells, a 2-minute-half-life growth
    // factor, oxygen diffusing 1000× faster than cells, fed through a robin surface. The
    // default against an f64 RK4 reference at oxygen's explicit limit; forward Euler for
    // contrast (first order, held to the same limit by its sub-steps).
    let base = std::fs::read_to_string("assets/examples/wound_stiff.toml").unwrap();
    let small = base
        .replace("size = [512, 512]", "size = [64, 64]")
        .replace("end = \"24 h\"", "end = \"6 h\"");
    let run = |time: &str| {
        let text = small.replace(
            "output_every = \"6 h\"\n",
            &format!("output_every = \"6 h\"\n{time}\n"),
        );
        let sc = scenario(&text);
        let mut sim = simulation(ctx, &sc);
        let initial = fields_f64(&sim);
        advance(&mut sim, 6.0);
        (
            sim.read_fields().unwrap(),
            sim.counters(),
            sim.plan().clone(),
            sc,
            initial,
        )
    };
    let (euler, ce, euler_plan, _, _) = run("scheme = \"euler\"");
    let (default, cd, plan, sc, initial) = run("");
    assert!(euler_plan.scheme.contains("Euler") && plan.scheme.contains("RKC"));
    let mut cpu = Reference::new(
        &sc.grid,
        vec![0.002, 0.01, 2.0],
        initial,
        &stiff_wound_react,
        &stiff_wound_face,
    );
    let h = diffusion_limit(2.0, &sc.grid);
    let n = (6.0 / h).ceil() as usize;
    for k in 0..n {
        cpu.rk4_step(k as f64 * 6.0 / n as f64, 6.0 / n as f64);
    }
    eprintln!(
        "stiff wound 64², 6 h: Euler {} steps / {} dispatches; default {} steps ({} rejected) / {} dispatches, {} stages at the end",
        ce.steps, ce.dispatches, cd.steps, cd.rejected, cd.dispatches, plan.stages
    );
    for (s, name) in ["cells", "gf", "o2"].iter().enumerate() {
        let range = cpu.fields[s].iter().fold(0.0f64, |m, v| m.max(*v))
            - cpu.fields[s].iter().fold(f64::INFINITY, |m, v| m.min(*v));
        let d = max_abs_diff(&default[s], &cpu.fields[s]);
        let de = max_abs_diff(&euler[s], &cpu.fields[s]);
        eprintln!("  {name}: default {d:.2e}, Euler {de:.2e} off (range {range:.3})");
        assert!(
            d < 2e-3 * range,
            "{name}: {d:e} off the f64 reference (range {range})"
        );
    }
    assert!(
        cd.dispatches < ce.dispatches,
        "{} vs Euler's {} dispatches",
        cd.dispatches,
        ce.dispatches
    );
}

#[test]
fn increments_far_below_an_ulp_accumulate() {
    let ctx = gpu_or_skip!();
    // u' = 1e-8 from u = 1 in steps of 0.01 h: each increment is 1e-10, a six-hundredth of
    // an f32 ulp at 1 (1.19e-7). A plain f32 state never moves; the compensated one reaches
    // 1 + 2e-7 (1.7 ulps) after 20 h. (Shader compilers may simplify the compensated sum
    // away — lavapipe's did — which this catches.)
    let mut sim = simulation(
        ctx,
        &scenario(
            "[grid]\nsize = [4, 4]\nextent = [\"1 mm\", \"1 mm\"]\n[time]\nend = \"20 h\"\ndt = 0.01\n\
             [[species]]\nname = \"u\"\ninitial = \"1.0\"\n[reactions]\nu = \"1e-8\"\n",
        ),
    );
    advance(&mut sim, 20.0);
    let u = sim.read_fields().unwrap()[0][0] as f64;
    assert!(
        (u - (1.0 + 2e-7)).abs() <= 0.6e-7,
        "u = {u:.9}: the increments were lost"
    );
}

/// A chain of compartments filled from nothing (the linear chain trick): with a declared
/// range each compartment follows the closed form c_n = (kt)^n e^{−kt} / n!; without one,
/// the tolerance on their first tiny values cannot be met, and the message says so and how
/// to fix it (not "a reaction running away").
#[test]
fn a_chain_filled_from_nothing_matches_the_erlang_closed_form() {
    let ctx = gpu_or_skip!();
    let n = 12;
    let chain = |range: &str| {
        let mut t = String::from(
            "[grid]\nsize = [4, 4]\nextent = [\"1 mm\", \"1 mm\"]\n[time]\nend = \"12 h\"\noutput_every = \"12 h\"\n",
        );
        for i in 0..n {
            let init = if i == 0 { "1.0" } else { "0.0" };
            t.push_str(&format!(
                "[[species]]\nname = \"c{i}\"\ndiffusion = 0.0\ninitial = \"{init}\"\n{range}"
            ));
        }
        t.push_str("[reactions]\nc0 = \"-c0\"\n");
        for i in 1..n {
            t.push_str(&format!("c{i} = \"c{} - c{i}\"\n", i - 1));
        }
        t
    };
    let sc = scenario(&chain("range = [0.0, 1.0]\n"));
    let mut sim = simulation(ctx, &sc);
    advance(&mut sim, 12.0);
    let f = sim.read_fields().unwrap();
    let mut worst: f64 = 0.0;
    let mut fact = 1.0;
    for (i, field) in f.iter().enumerate() {
        if i > 0 {
            fact *= i as f64;
        }
        let exact = 12f64.powi(i as i32) * (-12f64).exp() / fact;
        worst = worst.max((field[5] as f64 - exact).abs());
    }
    eprintln!(
        "Erlang chain: max error {worst:e} in {} steps",
        sim.counters().steps
    );
    assert!(worst < 1e-3, "chain off the closed form by {worst:e}");
    let mut sim = simulation(ctx, &scenario(&chain("")));
    let e = sim.advance(12.0, &mut |_| {}).unwrap_err().to_string();
    assert!(
        e.contains("impossible to step") && e.contains("give it a `range`"),
        "{e}"
    );
}
