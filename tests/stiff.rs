//! Quasi-steady species (SOR solves to a scaled-residual tolerance, their pacing in the
//! app) and the Euler scheme's rate probe. The default scheme's accuracy and stiffness
//! handling are in `numerics.rs`.

use exoderm::engine::QsPace;

use crate::common::{advance, scenario, simulation};
use crate::gpu_or_skip;

/// Max |a − b| over the first species.
fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
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
    // sub-stepped, the decay holding dt·200 ≤ 0.5). Fast: c quasi-steady, u by the default
    // scheme (error-controlled RKC) at its default tolerance.
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
    let (reference, cr) = run("", "scheme = \"euler\"");
    let (fast, cf) = run("quasi_steady = true", "");
    eprintln!(
        "explicit (Euler) reference: {} steps ({} dispatches); quasi-steady c + RKC u: {} steps ({} accepted, {} rejected, {} dispatches)",
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
    // (With the default scheme each step's solve starts from the tracked rate and
    // converges within the block of its call; solve-only calls come from larger grids.)
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
        "[grid]\nsize = [16, 16]\nextent = [\"1.6 mm\", \"1.6 mm\"]\n[time]\nend = \"1 h\"\nscheme = \"euler\"\n\
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
