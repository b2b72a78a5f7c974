//! The GPU against the f64 CPU twin (`engine::reference`), for every built-in model, with a
//! different boundary rule each, from the same initial state and with the same step.

use exoderm::engine::reference::Reference;
use exoderm::model;

use crate::common::{advance, fields_f64, max_abs_diff, scenario, simulation};
use crate::gpu_or_skip;

fn compare(builtin: &str, boundary: &str, params: &str, dt: f64, steps: usize, tol: f64) {
    let ctx = gpu_or_skip!();
    let end = dt * steps as f64;
    let sc = scenario(&format!(
        "[model]\nbuiltin = \"{builtin}\"\n[grid]\nsize = [48, 40]\nextent = [\"6 mm\", \"5 mm\"]\nboundary = {boundary}\n\
         [time]\nend = {end}\noutput_every = {end}\ndt = {dt}\nscheme = \"euler\"\n{params}"
    ));
    let mut sim = simulation(ctx, &sc);
    let initial = fields_f64(&sim);
    let react_f64 = model::builtin_reaction_f64(builtin).unwrap();
    let p: Vec<f64> = sc.model.params.iter().map(|p| p.value).collect();
    let react = |c: &[f64], out: &mut [f64]| react_f64(c, &p, out);
    let face = |_s: usize, _x: f64, _y: f64, _t: f64| [0.0; 4];
    let diffusion = sc.model.species.iter().map(|s| s.diffusion).collect();
    let mut cpu = Reference::new(&sc.grid, diffusion, initial.clone(), &react, &face);
    for k in 0..steps {
        cpu.step(k as f64 * dt, dt);
    }
    advance(&mut sim, end);
    assert_eq!(sim.counters().steps as usize, steps);
    let gpu = sim.read_fields().unwrap();
    for (s, sp) in sc.model.species.iter().enumerate() {
        let d = max_abs_diff(&gpu[s], &cpu.fields[s]);
        assert!(
            d < tol,
            "{builtin}/{}: GPU and f64 reference differ by {d:e} (tolerance {tol:e})",
            sp.name
        );
        // The comparison means something only if the field really changed.
        let moved = max_abs_diff(&gpu[s], &initial[s]);
        assert!(
            moved > 100.0 * tol,
            "{builtin}/{}: the field barely moved ({moved:e})",
            sp.name
        );
    }
}

#[test]
fn heat_matches_the_f64_reference_no_flux() {
    compare(
        "heat",
        "\"no-flux\"",
        "[params]\ns0 = 0.8\n",
        0.02,
        200,
        2e-5,
    );
}

#[test]
fn fisher_matches_the_f64_reference_mixed_sides() {
    compare(
        "fisher",
        "{ left = \"no-flux\", right = \"no-flux\", bottom = \"periodic\", top = \"periodic\" }",
        "[params]\nx_front = -1.0\n[[species]]\nname = \"u\"\ninitial = \"select(0.0, 1.0, x < x_front + 0.3 * y)\"\n",
        0.01,
        200,
        5e-5,
    );
}

#[test]
fn gray_scott_matches_the_f64_reference_periodic() {
    // The seed straddles the corner, so the periodic wrap is exercised on both axes.
    compare(
        "gray_scott",
        "\"periodic\"",
        "[[species]]\nname = \"v\"\ninitial = \"select(0.0, 0.25, abs(x) > 2.2 && abs(y) > 1.7)\"\n\
         [[species]]\nname = \"u\"\ndiffusion = 0.04\n",
        0.05,
        300,
        5e-5,
    );
}

#[test]
fn fixed_sides_match_the_f64_reference() {
    let ctx = gpu_or_skip!();
    let sc = scenario(
        "[grid]\nsize = [32, 24]\nextent = [\"4 mm\", \"3 mm\"]\nboundary = \"fixed\"\n[time]\nend = 2.0\ndt = 0.005\nscheme = \"euler\"\n\
         [[species]]\nname = \"u\"\ndiffusion = 0.3\ninitial = \"0.0\"\nboundary_value = \"1.0 + 0.5 * x - 0.25 * y + 0.1 * t\"\n",
    );
    let mut sim = simulation(ctx, &sc);
    let react = |_c: &[f64], out: &mut [f64]| out[0] = 0.0;
    let face =
        |_s: usize, x: f64, y: f64, t: f64| [1.0 + 0.5 * x - 0.25 * y + 0.1 * t, 0.0, 0.0, 0.0];
    let mut cpu = Reference::new(&sc.grid, vec![0.3], vec![vec![0.0; 32 * 24]], &react, &face);
    for k in 0..400 {
        cpu.step(k as f64 * 0.005, 0.005);
    }
    advance(&mut sim, 2.0);
    let d = max_abs_diff(&sim.read_fields().unwrap()[0], &cpu.fields[0]);
    assert!(
        d < 2e-5,
        "fixed sides: GPU vs f64 reference differ by {d:e}"
    );
    // And something did flow in from the sides.
    assert!(cpu.fields[0].iter().any(|&v| v > 0.5));
}

#[test]
fn initial_conditions_put_x_and_y_at_cell_centres() {
    let ctx = gpu_or_skip!();
    let sc = scenario(
        "[grid]\nsize = [8, 4]\nextent = [\"4 mm\", \"1 mm\"]\n[time]\nend = 1.0\n\
         [[species]]\nname = \"a\"\ninitial = \"x + 10.0 * y\"\n[[species]]\nname = \"n\"\ninitial = \"noise\"\n",
    );
    let sim = simulation(ctx, &sc);
    let f = sim.read_fields().unwrap();
    for j in 0..4 {
        for i in 0..8 {
            let (x, y) = (
                -2.0 + (i as f64 + 0.5) * 0.5,
                -0.5 + (j as f64 + 0.5) * 0.25,
            );
            let v = f[0][j * 8 + i] as f64;
            assert!(
                (v - (x + 10.0 * y)).abs() < 1e-5,
                "cell ({i},{j}): {v} vs {}",
                x + 10.0 * y
            );
        }
    }
    let noise = &f[1];
    assert!(noise.iter().all(|&v| (0.0..1.0).contains(&v)));
    let mean = noise.iter().map(|&v| v as f64).sum::<f64>() / noise.len() as f64;
    assert!((mean - 0.5).abs() < 0.2, "noise mean {mean}");
    let distinct: std::collections::BTreeSet<u32> = noise.iter().map(|v| v.to_bits()).collect();
    assert!(distinct.len() > 28, "noise should differ between cells");
}

#[test]
fn flux_and_robin_sides_match_the_f64_reference() {
    let ctx = gpu_or_skip!();
    // Left: a time- and position-dependent inward flux; right: exchange with an outside value
    // at a rate; bottom fixed; top no-flux. With a reaction, so both paths meet.
    let sc = scenario(
        "[grid]\nsize = [32, 24]\nextent = [\"4 mm\", \"3 mm\"]\n\
         boundary = { left = \"flux\", right = \"robin\", bottom = \"fixed\", top = \"no-flux\" }\n\
         [time]\nend = 2.0\ndt = 0.005\nscheme = \"euler\"\n\
         [[species]]\nname = \"u\"\ndiffusion = 0.3\ninitial = \"0.2\"\nboundary_value = \"0.5\"\n\
         boundary_flux = \"0.4 + 0.1 * y + 0.05 * t\"\nexchange_rate = \"2.0\"\noutside = \"1.5\"\n\
         [reactions]\nu = \"-0.3 * u\"\n",
    );
    let mut sim = simulation(ctx, &sc);
    let react = |c: &[f64], out: &mut [f64]| out[0] = -0.3 * c[0];
    let face = |_s: usize, _x: f64, y: f64, t: f64| [0.5, 0.4 + 0.1 * y + 0.05 * t, 2.0, 1.5];
    let mut cpu = Reference::new(&sc.grid, vec![0.3], vec![vec![0.2; 32 * 24]], &react, &face);
    for k in 0..400 {
        cpu.step(k as f64 * 0.005, 0.005);
    }
    advance(&mut sim, 2.0);
    let gpu = &sim.read_fields().unwrap()[0];
    let d = max_abs_diff(gpu, &cpu.fields[0]);
    assert!(
        d < 2e-5,
        "flux/robin sides: GPU vs f64 reference differ by {d:e}"
    );
    // Both sides did something: inflow on the left, uptake towards 1.5 on the right.
    assert!(
        cpu.fields[0][12 * 32] > 0.3 && cpu.fields[0][12 * 32 + 31] > 0.3,
        "{} {}",
        cpu.fields[0][12 * 32],
        cpu.fields[0][12 * 32 + 31]
    );
}

/// A 12-species model (three vec4 planes): each species diffuses with its own D and reacts
/// with its neighbour in the chain and one five places on. A deposit at 1 h adds to `s9`
/// (plane 2) and sets `s6` (plane 1) inside circles.
pub fn twelve_species() -> String {
    let mut t = String::from(
        "[grid]\nsize = [40, 32]\nextent = [\"6 mm\", \"4.8 mm\"]\n\
         boundary = { left = \"no-flux\", right = \"no-flux\", bottom = \"periodic\", top = \"periodic\" }\n\
         [time]\nend = \"2 h\"\noutput_every = \"1 h\"\ndt = \"0.02 h\"\nscheme = \"euler\"\n",
    );
    for s in 0..12 {
        let (cx, cy) = (-2.0 + 0.35 * s as f64, 1.5 - 0.25 * s as f64);
        t += &format!(
            "[[species]]\nname = \"s{s}\"\ndiffusion = {}\ninitial = \"0.2 + 0.7 * exp(-((x - {cx}) * (x - {cx}) + (y - {cy}) * (y - {cy})))\"\n",
            0.02 + 0.01 * s as f64
        );
    }
    t += "[reactions]\n";
    for s in 0..12 {
        let (prev, other) = ((s + 11) % 12, (s + 5) % 12);
        t += &format!(
            "s{s} = \"a * s{prev} * (1.0 - s{s}) - b * s{s} + g * s{other} * s{s} / (1.0 + s{s})\"\n"
        );
    }
    t += "[params]\na = 0.8\nb = 0.3\ng = 0.2\n\
          [[event]]\nat = \"1 h\"\ncenter = [\"0.75 mm\", \"-0.6 mm\"]\nradius = \"0.5 mm\"\nadd = { s9 = 0.4 }\n\
          [[event]]\nat = \"1 h\"\ncenter = [\"-1.35 mm\", \"0.3 mm\"]\nradius = \"0.4 mm\"\nset = { s6 = 0.05 }\n";
    t
}

/// The f64 reactions of [`twelve_species`].
pub fn twelve_react(c: &[f64], out: &mut [f64]) {
    let (a, b, g) = (0.8, 0.3, 0.2);
    for s in 0..12 {
        let (prev, other) = ((s + 11) % 12, (s + 5) % 12);
        out[s] = a * c[prev] * (1.0 - c[s]) - b * c[s] + g * c[other] * c[s] / (1.0 + c[s]);
    }
}

/// The largest Gershgorin row sum of [`twelve_react`]'s Jacobian at `c` (exact derivatives).
fn twelve_gershgorin(c: &[f64]) -> f64 {
    let (a, b, g) = (0.8, 0.3, 0.2);
    (0..12)
        .map(|s| {
            let (prev, other) = ((s + 11) % 12, (s + 5) % 12);
            let own = -a * c[prev] - b + g * c[other] / ((1.0 + c[s]) * (1.0 + c[s]));
            own.abs() + (a * (1.0 - c[s])).abs() + (g * c[s] / (1.0 + c[s])).abs()
        })
        .fold(0.0, f64::max)
}

/// Applies a circle deposit to the CPU fields as the deposit kernel does (cell centres
/// within the radius; `set` replaces, else adds).
fn deposit_cpu(cpu: &mut Reference, s: usize, centre: [f64; 2], r: f64, v: f64, set: bool) {
    for j in 0..cpu.ny {
        for i in 0..cpu.nx {
            let x = cpu.x0 + (i as f64 + 0.5) * cpu.dx - centre[0];
            let y = cpu.y0 + (j as f64 + 0.5) * cpu.dy - centre[1];
            if (x * x + y * y).sqrt() <= r {
                let f = &mut cpu.fields[s][j * cpu.nx + i];
                *f = if set { v } else { *f + v };
            }
        }
    }
}

#[test]
fn twelve_species_step_deposit_and_probe_match_the_f64_reference() {
    let ctx = gpu_or_skip!();
    let sc = scenario(&twelve_species());
    assert_eq!(sc.model.planes(), 3);
    let mut sim = simulation(ctx, &sc);
    let initial = fields_f64(&sim);
    // The reaction-rate probe at t = 0 against the exact Jacobian's row sums.
    let cpu_rate = (0..initial[0].len())
        .map(|i| twelve_gershgorin(&initial.iter().map(|f| f[i]).collect::<Vec<_>>()))
        .fold(0.0, f64::max);
    let gpu_rate = sim.plan().reaction_rate;
    assert!(
        (gpu_rate - cpu_rate).abs() < 5e-3 * cpu_rate,
        "rate probe {gpu_rate} vs exact {cpu_rate}"
    );
    let face = |_s: usize, _x: f64, _y: f64, _t: f64| [0.0; 4];
    let mut cpu = Reference::new(
        &sc.grid,
        sim.problem().diffusion.clone(),
        initial.clone(),
        &twelve_react,
        &face,
    );
    let dt = 0.02;
    for k in 0..50 {
        cpu.step(k as f64 * dt, dt);
    }
    deposit_cpu(&mut cpu, 9, [0.75, -0.6], 0.5, 0.4, false);
    deposit_cpu(&mut cpu, 6, [-1.35, 0.3], 0.4, 0.05, true);
    for k in 50..100 {
        cpu.step(k as f64 * dt, dt);
    }
    advance(&mut sim, 1.0);
    advance(&mut sim, 2.0);
    assert_eq!(sim.counters().steps, 100);
    let gpu = sim.read_fields().unwrap();
    for (s, sp) in sc.model.species.iter().enumerate() {
        let d = max_abs_diff(&gpu[s], &cpu.fields[s]);
        assert!(
            d < 2e-5,
            "{}: GPU and f64 reference differ by {d:e}",
            sp.name
        );
        let moved = max_abs_diff(&gpu[s], &initial[s]);
        assert!(
            moved > 1e-2,
            "{}: the field barely moved ({moved:e})",
            sp.name
        );
    }
}
