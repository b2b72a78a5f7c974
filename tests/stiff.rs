//! The `rkl2` scheme: RKL2 super-time-stepped diffusion + IMEX reactions. Checked against its
//! f64 CPU twin, its published stability boundary, its order of accuracy on an exact
//! solution, and a stiff problem that explicit steps must crawl through.

use exoderm::engine::QsPace;
use exoderm::engine::plan::diffusion_limit;
use exoderm::engine::plan::rkl2_gain;
use exoderm::engine::reference::Reference;
use exoderm::engine::schemes::rkl2_coefficients;

use crate::analytic::checkerboard;
use crate::common::{advance, fields_f64, max_abs_diff, scenario, simulation};
use crate::gpu_or_skip;

#[test]
fn rkl2_matches_its_f64_twin() {
    let ctx = gpu_or_skip!();
    // Two planes' worth of species would be slow on the CPU; one plane, mixed sides, a fast
    // and a slow diffuser, a decay and a coupling.
    let sc = scenario(
        "[grid]\nsize = [24, 20]\nextent = [\"3 mm\", \"2.5 mm\"]\n\
         boundary = { left = \"fixed\", right = \"robin\", bottom = \"periodic\", top = \"periodic\" }\n\
         [time]\nend = 0.5\ndt = 0.05\nscheme = \"rkl2\"\n\
         [[species]]\nname = \"a\"\ndiffusion = 2.0\ninitial = \"exp(-(x * x + y * y))\"\nboundary_value = \"0.3\"\nexchange_rate = \"1.0\"\noutside = \"0.5\"\n\
         [[species]]\nname = \"b\"\ndiffusion = 0.05\ninitial = \"0.1\"\nboundary_value = \"0.0\"\nexchange_rate = \"0.5\"\noutside = \"0.0\"\n\
         [reactions]\na = \"-30.0 * a\"\nb = \"2.0 * a - 0.5 * b\"\n",
    );
    let mut sim = simulation(ctx, &sc);
    let plan = sim.plan().clone();
    assert!(plan.stages >= 3, "{plan:?}");
    let initial = fields_f64(&sim);
    let react = |c: &[f64], out: &mut [f64]| {
        out[0] = -30.0 * c[0];
        out[1] = 2.0 * c[0] - 0.5 * c[1];
    };
    let face = |s: usize, _x: f64, _y: f64, _t: f64| {
        if s == 0 {
            [0.3, 0.0, 1.0, 0.5]
        } else {
            [0.0, 0.0, 0.5, 0.0]
        }
    };
    let mut cpu = Reference::new(&sc.grid, vec![2.0, 0.05], initial.clone(), &react, &face);
    for k in 0..10 {
        cpu.rkl2_step(k as f64 * 0.05, 0.05, plan.stages);
    }
    advance(&mut sim, 0.5);
    assert_eq!(sim.counters().steps, 10);
    let gpu = sim.read_fields().unwrap();
    for s in 0..2 {
        let d = max_abs_diff(&gpu[s], &cpu.fields[s]);
        assert!(d < 2e-5, "species {s}: GPU vs f64 RKL2 differ by {d:e}");
        assert!(
            max_abs_diff(&gpu[s], &initial[s]) > 0.01,
            "species {s} barely moved"
        );
    }
}

fn checker(amp: f64) -> String {
    format!(
        "[grid]\nsize = [32, 32]\nextent = [\"32 mm\", \"32 mm\"]\nboundary = \"periodic\"\n[time]\nend = \"1000 h\"\nscheme = \"rkl2\"\n\
         [[species]]\nname = \"u\"\ndiffusion = 1.0\ninitial = \"1.0 + {amp} * select(-1.0, 1.0, (u32(x + 16.0) + u32(y + 16.0)) % 2u == 0u)\"\n"
    )
}

#[test]
fn rkl2_stability_boundary_matches_the_stage_count_formula() {
    let ctx = gpu_or_skip!();
    // The published limit dt ≤ dt_explicit·(s² + s − 2)/4 (Meyer, Balsara & Aslam 2014) is
    // sharp for even s: just below, the worst mode (the checkerboard) decays; just above, it
    // grows. Its amplification is a_s + b_s·T_s(1 + w1·z), z = −8·D·dt/dx².
    let sc = scenario(&checker(1e-3));
    let s = 4u32;
    let boundary = diffusion_limit(1.0, &sc.grid) * rkl2_gain(s);
    // The stage recurrence applied to y' = λy: the scheme's stability polynomial R(z).
    let factor = |f: f64| {
        let z = -8.0 * f * boundary;
        let (mut y1, mut y2) = (1.0, 1.0);
        for c in rkl2_coefficients(s) {
            let yj = c[0] * y1 + c[1] * y2 + (1.0 - c[0] - c[1]) + c[2] * z * y1 + c[3] * z;
            y2 = y1;
            y1 = yj;
        }
        y1
    };
    for (f, grows) in [(0.98, false), (1.02, true)] {
        let mut sim = simulation(ctx, &sc);
        let a0 = checkerboard(&sim.read_fields().unwrap()[0], 32);
        sim.force_step_unchecked(f * boundary, Some(s));
        advance(&mut sim, 20.0 * f * boundary);
        assert_eq!(sim.counters().steps, 20);
        let ratio = checkerboard(&sim.read_fields().unwrap()[0], 32) / a0;
        let expected = factor(f).powi(20);
        assert_eq!(
            ratio.abs() > 1.0,
            grows,
            "dt = {f} × the RKL2 limit: amplitude ratio {ratio}"
        );
        assert!(
            (ratio / expected - 1.0).abs() < 0.02,
            "amplitude ratio {ratio} vs theory {expected}"
        );
    }
}

/// Amplitude of cos(2π x / L) in `u` (first row), by projection.
fn mode(u: &[f32], nx: usize) -> f64 {
    2.0 * (0..nx)
        .map(|i| u[i] as f64 * (2.0 * std::f64::consts::PI * (i as f64 + 0.5) / nx as f64).cos())
        .sum::<f64>()
        / nx as f64
}

/// (numerical amplitude, semi-discrete exact, continuous exact) of one cosine mode after `t`.
fn decay(
    ctx: &exoderm::GpuContext,
    nx: usize,
    scheme: &str,
    dt: Option<f64>,
    t: f64,
) -> (f64, f64, f64) {
    let dt = dt.map(|d| format!("dt = {d}\n")).unwrap_or_default();
    let sc = scenario(&format!(
        "[grid]\nsize = [{nx}, 2]\nextent = [\"10 mm\", \"1 mm\"]\nboundary = \"periodic\"\n[time]\nend = {t}\noutput_every = {t}\n{dt}scheme = \"{scheme}\"\n\
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
fn order_of_accuracy_in_dt_and_dx() {
    let ctx = gpu_or_skip!();
    // Time: against the semi-discrete exact decay exp(−D·λh·t), so only the time error is left.
    let err = |scheme: &str, dt: f64| {
        let (a, semi, _) = decay(ctx, 64, scheme, Some(dt), 2.0);
        (a - semi).abs()
    };
    let (e1, e2) = (err("explicit", 0.02), err("explicit", 0.01));
    assert!(
        (1.8..2.2).contains(&(e1 / e2)),
        "explicit Euler should be first order: errors {e1:e}, {e2:e}"
    );
    let (r1, r2) = (err("rkl2", 0.4), err("rkl2", 0.2));
    assert!(
        (3.4..4.6).contains(&(r1 / r2)),
        "RKL2 should be second order: errors {r1:e}, {r2:e}"
    );
    // Space: with a tiny step (time error ~1e-6), the error against the continuous solution is the 5-point
    // stencil's h² error.
    let space = |nx: usize| {
        let (a, _, exact) = decay(ctx, nx, "explicit", Some(0.001), 2.0);
        (a - exact).abs()
    };
    let (s1, s2) = (space(16), space(32));
    assert!(
        (3.6..4.4).contains(&(s1 / s2)),
        "halving dx should cut the error by 4: {s1:e}, {s2:e}"
    );
}

#[test]
fn fast_decay_and_fast_diffusion_do_not_force_tiny_steps() {
    let ctx = gpu_or_skip!();
    // A growth factor with a 2-minute half-life (k = 20/h) made by cells, and an oxygen-like
    // species diffusing 1000× faster than the cells move. Explicit steps are held to
    // dt·20 ≤ 0.5 and to the oxygen's diffusion limit; RKL2 + IMEX takes hour-long steps.
    let text = |scheme: &str| {
        format!(
            "[grid]\nsize = [64, 64]\nextent = [\"4 mm\", \"4 mm\"]\nboundary = \"no-flux\"\n\
             [time]\nend = \"12 h\"\noutput_every = \"2 h\"\nscheme = \"{scheme}\"\n\
             [[species]]\nname = \"cells\"\ndiffusion = 0.001\ninitial = \"select(0.2, 1.0, x < 0.0)\"\n\
             [[species]]\nname = \"gf\"\ndiffusion = 0.01\ninitial = \"0.0\"\n\
             [[species]]\nname = \"o2\"\ndiffusion = 1.0\ninitial = \"1.0\"\n\
             [reactions]\ncells = \"0.05 * cells * (1.0 - cells) * o2\"\ngf = \"0.5 * cells - 20.0 * gf\"\no2 = \"0.5 - 0.5 * o2 - 0.2 * cells * o2\"\n"
        )
    };
    let run = |scheme: &str| {
        let sc = scenario(&text(scheme));
        let mut sim = simulation(ctx, &sc);
        advance(&mut sim, 12.0);
        (
            sim.read_fields().unwrap(),
            sim.counters().steps,
            sim.plan().clone(),
        )
    };
    let (explicit, n_explicit, _) = run("explicit");
    let (stiff, n_stiff, plan) = run("rkl2");
    assert!(plan.stages > 2, "{plan:?}");
    assert!(
        n_stiff * 20 < n_explicit,
        "RKL2 + IMEX took {n_stiff} steps, explicit {n_explicit}"
    );
    // gf sits at its quasi-steady value 0.5·cells/20 in both; cells and o2 agree closely.
    // Lie splitting with hour-long steps is first order: locally (near the cells' edge, where
    // transport and decay balance) the fields differ by a few %; the domain means agree.
    let mean = |f: &[f32]| f.iter().map(|&v| v as f64).sum::<f64>() / f.len() as f64;
    for s in 0..3 {
        let (a, b) = (mean(&explicit[s]), mean(&stiff[s]));
        assert!(
            (a - b).abs() < 0.01 * a.abs(),
            "species {s}: mean {b} (rkl2) vs {a} (explicit)"
        );
    }
    let (c, g) = (stiff[0][100] as f64, stiff[1][100] as f64);
    assert!(
        (g - 0.025 * c).abs() < 1e-3,
        "gf {g} vs 0.5·cells/20 = {}",
        0.025 * c
    );
}

/// Max |a − b| over the first species.
fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn adaptive_steps_follow_the_tolerance() {
    let ctx = gpu_or_skip!();
    // A Fisher front with slow diffusion, so the reaction (not diffusion stability) limits
    // the step: the error must shrink with the tolerance, and the step count grow.
    let text = |time: &str| {
        format!(
            "[grid]\nsize = [128, 4]\nextent = [\"20 mm\", \"0.625 mm\"]\n[time]\nend = \"6 h\"\n{time}\n\
             [[species]]\nname = \"u\"\ndiffusion = 0.005\ninitial = \"select(0.01, 1.0, x < -5.0)\"\n\
             [reactions]\nu = \"r * u * (1.0 - u)\"\n[params]\nr = 1.0\n"
        )
    };
    let run = |time: &str| {
        let mut sim = simulation(ctx, &scenario(&text(time)));
        advance(&mut sim, 6.0);
        (sim.read_fields().unwrap().remove(0), sim.counters())
    };
    let (fine, _) = run("dt = 0.0005");
    let (loose, c1) = run("tolerance = 1e-2");
    let (tight, c2) = run("tolerance = 1e-3");
    let (e1, e2) = (max_diff(&loose, &fine), max_diff(&tight, &fine));
    assert!(
        c1.accepted > 0 && c2.accepted > c1.accepted,
        "accepted {} then {}",
        c1.accepted,
        c2.accepted
    );
    // The tolerance bounds each step's error; over many steps the global error of a first-order
    // scheme under this control shrinks like sqrt(tolerance): ~3.2× per decade.
    assert!(
        e2 < e1 / 2.0 && e2 < 0.05,
        "errors {e1} (1e-2) and {e2} (1e-3)"
    );
    assert!(
        c2.steps < 12_000 / 4,
        "tolerance 1e-3 took {} steps; dt = 0.0005 takes 12000",
        c2.steps
    );
}

#[test]
fn a_stiff_wound_runs_adaptively_and_agrees_with_a_fine_explicit_reference() {
    let ctx = gpu_or_skip!();
    // assets/examples/wound_stiff.toml at 64² and 6 h: cells, a 2-minute-half-life growth
    // factor, and oxygen diffusing 1000× faster than cells, fed through a robin surface.
    let base = std::fs::read_to_string("assets/examples/wound_stiff.toml").unwrap();
    let small = base
        .replace("size = [512, 512]", "size = [64, 64]")
        .replace("end = \"24 h\"", "end = \"6 h\"");
    let run = |time: &str| {
        let text = small.replace("\nscheme = \"rkl2\"\n", &format!("\n{time}\n"));
        let mut sim = simulation(ctx, &scenario(&text));
        advance(&mut sim, 6.0);
        (
            sim.read_fields().unwrap(),
            sim.counters(),
            sim.plan().clone(),
        )
    };
    let (reference, cr, _) = run("scheme = \"explicit\"");
    let (adaptive, ca, plan) = run("scheme = \"rkl2\"\ntolerance = 1e-3");
    eprintln!(
        "explicit: {} steps / {} dispatches; rkl2 + tolerance 1e-3: {} steps ({} accepted, {} rejected) / {} dispatches, {} stages",
        cr.steps, cr.dispatches, ca.steps, ca.accepted, ca.rejected, ca.dispatches, plan.stages
    );
    for (s, name) in ["cells", "gf", "o2"].iter().enumerate() {
        let d = max_diff(&adaptive[s], &reference[s]);
        let scale = reference[s].iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!(
            d < 1e-2 * scale,
            "{name}: adaptive rkl2 differs from the explicit reference by {d} (max {scale})"
        );
    }
    // At this coarse grid the explicit limits are mild; the adaptive split scheme's steps are
    // set by its splitting error, not by stability (see README): it must still finish and
    // take steps far longer than the oxygen's explicit diffusion limit.
    assert!(ca.accepted > 0);
    let o2_limit = exoderm::engine::plan::diffusion_limit(2.0, &scenario(&small).grid);
    assert!(
        6.0 / ca.steps as f64 > 5.0 * o2_limit,
        "mean step {} h vs the oxygen's explicit limit {o2_limit} h",
        6.0 / ca.steps as f64
    );
}

#[test]
fn a_quasi_steady_species_matches_the_diffusion_decay_profile() {
    let ctx = gpu_or_skip!();
    // c is held at 1 on the left face and decays at k: its steady state is c0·exp(−x/L),
    // L = sqrt(D/k) = 2 mm = 20 cells. Solved as quasi-steady at every step, next to a
    // slowly diffusing species that is stepped in time (and does not hold c up).
    let sc = scenario(
        "[grid]\nsize = [400, 2]\nextent = [\"40 mm\", \"0.2 mm\"]\n\
         boundary = { left = \"fixed\", right = \"no-flux\", bottom = \"no-flux\", top = \"no-flux\" }\n\
         [time]\nend = \"1 h\"\nqs_tolerance = 1e-7\n\
         [[species]]\nname = \"c\"\ndiffusion = 0.4\ninitial = \"0.0\"\nboundary_value = \"1.0\"\nquasi_steady = true\n\
         [[species]]\nname = \"m\"\ndiffusion = 0.01\ninitial = \"select(0.0, 1.0, x < -10.0)\"\nboundary_value = \"0.0\"\n\
         [reactions]\nc = \"-k * c\"\nm = \"0.1 * c - 0.05 * m\"\n[params]\nk = 0.1\n",
    );
    let mut sim = simulation(ctx, &sc);
    // Solved at t = 0 already, then kept solved while m is stepped.
    let check = |sim: &exoderm::Simulation| {
        let c = &sim.read_fields().unwrap()[0];
        // Relative to c0 (the profile's scale).
        let mut worst = 0.0f64;
        for (i, &v) in c.iter().take(400).enumerate() {
            let x = (i as f64 + 0.5) * 0.1;
            let exact = (-x / 2.0).exp();
            let err = (v as f64 - exact).abs();
            worst = worst.max(err);
        }
        worst
    };
    let at0 = check(&sim);
    assert!(at0 < 1e-3, "error against c0·exp(−x/L) at t = 0: {at0:e}");
    assert!(
        sim.qs_change() <= 1e-7,
        "scaled residual of the solve {:e}",
        sim.qs_change()
    );
    advance(&mut sim, 1.0);
    let at1 = check(&sim);
    assert!(at1 < 1e-3, "error at t = 1 h: {at1:e}");
    assert!(sim.qs_change() <= 1e-7);
    // The quasi-steady species did not limit the step (D = 0.4 would need dt ≤ 0.006 h).
    assert!(sim.plan().dt > 0.02, "{:?}", sim.plan());
    // And m was stepped, fed by c.
    let m = &sim.read_fields().unwrap()[1];
    assert!(
        m[300] > 0.0 && m[300] < 0.2,
        "m far from the source: {}",
        m[300]
    );
}

#[test]
fn a_fast_chemical_solved_quasi_steady_takes_far_fewer_steps() {
    let ctx = gpu_or_skip!();
    // Fisher cells u that proliferate faster where a mitogen c is, and c made by the cells,
    // diffusing 1000× faster and decaying in 18 s (k = 200/h) — the Sherratt–Murray shape
    // (SOURCES.md §1.2) in its simplest form. Reference: everything stepped explicitly (c
    // sub-stepped, the decay holding dt·200 ≤ 0.5). Fast: c quasi-steady, u adaptive.
    let text = |c_opts: &str, time: &str| {
        format!(
            "[grid]\nsize = [128, 4]\nextent = [\"20 mm\", \"0.625 mm\"]\n[time]\nend = \"8 h\"\noutput_every = \"8 h\"\n{time}\n\
             [[species]]\nname = \"u\"\ndiffusion = 0.05\ninitial = \"select(0.0, 1.0, x < -6.0)\"\n\
             [[species]]\nname = \"c\"\ndiffusion = 10.0\ninitial = \"0.0\"\n{c_opts}\n\
             [reactions]\nu = \"u * (1.0 - u) * (0.5 + c)\"\nc = \"200.0 * (u - c)\"\n"
        )
    };
    let run = |c_opts: &str, time: &str| {
        let mut sim = simulation(ctx, &scenario(&text(c_opts, time)));
        advance(&mut sim, 8.0);
        (sim.read_fields().unwrap(), sim.counters())
    };
    let (reference, cr) = run("", "");
    let (fast, cf) = run("quasi_steady = true", "tolerance = 3e-5");
    eprintln!(
        "explicit reference: {} steps ({} dispatches); quasi-steady c + adaptive u: {} steps ({} accepted, {} rejected, {} dispatches)",
        cr.steps, cr.dispatches, cf.steps, cf.accepted, cf.rejected, cf.dispatches
    );
    // The fronts sit at the same place: totals within 0.5%, pointwise within a few % at the
    // (steep) front.
    let total = |f: &[f32]| f.iter().map(|&v| v as f64).sum::<f64>();
    for s in 0..2 {
        let (a, b) = (total(&reference[s]), total(&fast[s]));
        assert!(
            (a - b).abs() < 5e-3 * a,
            "species {s}: total {b} vs reference {a}"
        );
        let d = max_diff(&fast[s], &reference[s]);
        assert!(d < 0.03, "species {s}: pointwise difference {d}");
    }
    assert!(
        cf.steps * 10 < cr.steps,
        "{} steps vs {} for the reference",
        cf.steps,
        cr.steps
    );
}

#[test]
fn deferred_quasi_steady_solves_do_one_short_block_per_call_and_agree_with_converged_ones() {
    let ctx = gpu_or_skip!();
    // The app's pacing (QsPace::Deferred): every advance call is at most one step plus one
    // block of sweeps, and the run still lands where the converged (batch) run does.
    let text = "[grid]\nsize = [128, 4]\nextent = [\"20 mm\", \"0.625 mm\"]\n[time]\nend = \"8 h\"\n\
         [[species]]\nname = \"u\"\ndiffusion = 0.05\ninitial = \"select(0.0, 1.0, x < -6.0)\"\n\
         [[species]]\nname = \"c\"\ndiffusion = 10.0\ninitial = \"0.0\"\nquasi_steady = true\n\
         [reactions]\nu = \"u * (1.0 - u) * (0.5 + c)\"\nc = \"2.0 * (u - c)\"\n";
    let sc = scenario(text);
    let mut strict = simulation(ctx, &sc);
    advance(&mut strict, 8.0);
    let mut paced = simulation(ctx, &sc);
    paced.set_qs_pace(QsPace::Deferred);
    let (mut idle_calls, mut stepping) = (0, vec![]);
    let mut calls = 0;
    while paced.time() < 8.0 {
        let (t0, d0) = (paced.time(), paced.counters().dispatches);
        let until = (t0 + paced.plan().dt).min(8.0);
        advance(&mut paced, until);
        let d = paced.counters().dispatches - d0;
        if paced.time() == t0 {
            // A block of 32 sweeps, red and black: nothing else.
            assert_eq!(d, 64, "a call that only solved did one block");
            idle_calls += 1;
        } else {
            assert_eq!(paced.time(), until);
            stepping.push(d);
        }
        calls += 1;
        assert!(calls < 10_000, "the paced run finishes");
    }
    while !paced.settle_qs().unwrap() {}
    assert!(paced.qs_change() <= sc.time.qs_tolerance);
    let one_step = *stepping.iter().min().unwrap();
    let most = *stepping.iter().max().unwrap();
    assert!(
        most <= one_step + 64,
        "a stepping call did at most one step and one block: {most} vs {one_step} + 64"
    );
    assert!(idle_calls > 0, "convergence was spread over calls");
    assert!(paced.counters().steps.abs_diff(strict.counters().steps) <= 1);
    let (a, b) = (strict.read_fields().unwrap(), paced.read_fields().unwrap());
    for s in 0..2 {
        let d = max_diff(&a[s], &b[s]);
        assert!(d < 5e-3, "species {s}: paced vs converged differ by {d}");
    }
    eprintln!(
        "paced: {} calls ({idle_calls} solve-only), stepping calls {one_step}..{most} dispatches; strict {} vs paced {} dispatches",
        calls,
        strict.counters().dispatches,
        paced.counters().dispatches
    );
}

#[test]
fn a_threshold_in_a_reaction_is_not_taken_for_stiffness() {
    let ctx = gpu_or_skip!();
    // A dose switched on where u < 0.5 (the wound preset's "into the open wound"), with u a
    // hair below the threshold: a one-sided difference over it reads (0 − 0.1)/h = −200/h,
    // which would cut the step to ~2.5e-3 h. The decay −0.2·u is the real rate.
    let sc = scenario(
        "[grid]\nsize = [16, 16]\nextent = [\"1.6 mm\", \"1.6 mm\"]\n[time]\nend = \"1 h\"\n\
         [[species]]\nname = \"u\"\ndiffusion = 0.0\ninitial = \"select(0.4999, 0.2, x < 0.0)\"\n\
         [[species]]\nname = \"v\"\ndiffusion = 0.001\ninitial = \"0.0\"\n\
         [reactions]\nu = \"-0.2 * u\"\nv = \"0.1 * select(0.0, 1.0, u < 0.5) - 0.2 * v\"\n",
    );
    let mut sim = simulation(ctx, &sc);
    let rate = sim.plan().reaction_rate;
    assert!(
        (0.19..0.5).contains(&rate),
        "reaction rate {rate}/h: the decays (0.2/h), not the jump"
    );
    advance(&mut sim, 1.0);
    assert!(sim.plan().reaction_rate < 0.5, "{:?}", sim.plan());
    assert!(sim.plan().dt > 0.5, "{:?}", sim.plan());
    // And the dose went in where u < 0.5 (everywhere): 0.0906 exactly, first-order steps
    // of an hour give 0.1.
    let v = &sim.read_fields().unwrap()[1];
    assert!(
        v.iter().all(|&x| (0.085..=0.1001).contains(&x)),
        "v {}",
        v[0]
    );
}

#[test]
fn quasi_steady_sweeps_cover_odd_grids_exactly() {
    let ctx = gpu_or_skip!();
    // The red-black sweep maps threads to one colour's cells; an odd number of columns and
    // rows leaves a ragged last column of each colour (129 columns: one colour needs 65
    // threads a row, one more than a 64-wide workgroup). The solve must still equal the
    // discrete steady state, here solved exactly on the CPU (a tridiagonal system in x: the
    // field is uniform in y). c = 1 on the left face, decay k, no flux elsewhere.
    let (nx, dx, d, k) = (129usize, 0.1f64, 0.4f64, 0.01f64);
    let sc = scenario(&format!(
        "[grid]\nsize = [{nx}, 5]\nextent = [\"{} mm\", \"0.5 mm\"]\n\
         boundary = {{ left = \"fixed\", right = \"no-flux\", bottom = \"no-flux\", top = \"no-flux\" }}\n\
         [time]\nend = \"1 h\"\nqs_tolerance = 1e-7\n\
         [[species]]\nname = \"c\"\ndiffusion = {d}\ninitial = \"0.0\"\nboundary_value = \"1.0\"\nquasi_steady = true\n\
         [[species]]\nname = \"m\"\ndiffusion = 0.001\ninitial = \"0.0\"\n\
         [reactions]\nc = \"-{k} * c\"\n",
        nx as f64 * dx
    ));
    let sim = simulation(ctx, &sc);
    let c = &sim.read_fields().unwrap()[0];
    // Rows i: (d/dx²)(c[i-1] − 2c[i] + c[i+1]) − k c[i] = 0; left ghost 2·1 − c[0], right
    // ghost c[n-1]. Thomas algorithm in f64.
    let h = d / (dx * dx);
    let (mut a, mut b, mut cc, mut r) = (
        vec![h; nx],
        vec![-2.0 * h - k; nx],
        vec![h; nx],
        vec![0.0; nx],
    );
    b[0] -= h; // ghost −c[0]
    r[0] = -2.0 * h; // ghost's 2·1 moved to the right-hand side
    b[nx - 1] += h; // no flux: ghost = c[n-1]
    a[0] = 0.0;
    cc[nx - 1] = 0.0;
    for i in 1..nx {
        let w = a[i] / b[i - 1];
        b[i] -= w * cc[i - 1];
        r[i] -= w * r[i - 1];
    }
    let mut exact = vec![0.0; nx];
    exact[nx - 1] = r[nx - 1] / b[nx - 1];
    for i in (0..nx - 1).rev() {
        exact[i] = (r[i] - cc[i] * exact[i + 1]) / b[i];
    }
    let mut worst = 0.0f64;
    for j in 0..5 {
        for i in 0..nx {
            worst = worst.max((c[j * nx + i] as f64 - exact[i]).abs());
        }
    }
    // f32's floor: a scaled residual of a few 1e-7 allows errors ~1e-3 in the smoothest
    // mode of this weakly decaying problem (its eigenvalue is 1e-4 of the diagonal); a
    // column the sweeps missed would stay at 0, off by ~0.2.
    assert!(
        worst < 2e-3,
        "GPU quasi-steady vs exact discrete solution: {worst:e}"
    );
    assert!(exact[nx - 1] > 0.01, "the profile reaches the far side");
}
