//! Tissue in scenario files (#12): readable models (defines, params with units), diffusion
//! that varies in space, taxis and advection — each against an exact solution or the f64
//! reference.

use exoderm::engine::plan::diffusion_limit;
use exoderm::engine::reference::Reference;

use crate::common::{advance, fields_f64, max_abs_diff, scenario, simulation, sum};
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
    assert!(uses[pos("b1")]);
    assert!(uses[pos("b2")], "b2 uses a species through b1");
    assert!(!uses[pos("c0")]);
}

/// Two layers (D1 for x < 0, D2 beyond) between held values 1 (left) and 0 (right): the
/// steady state is linear in each layer with the flux continuous at the interface,
/// u(0) = (D1/L1) / (D1/L1 + D2/L2). With the interface on a face the finite-volume
/// solution with harmonic-mean faces is exact at the cell centres.
#[test]
fn a_layered_steady_state_is_exact() {
    let ctx = gpu_or_skip!();
    let (d1, d2) = (1.0, 0.2);
    let sc = scenario(&format!(
        "[grid]\nsize = [40, 4]\nextent = [\"2 mm\", \"0.2 mm\"]\n\
         boundary = {{ left = \"fixed\", right = \"fixed\", bottom = \"no-flux\", top = \"no-flux\" }}\n\
         [time]\nend = \"60 h\"\noutput_every = \"60 h\"\n\
         [params]\nd1 = {d1}\nd2 = \"{d2} mm^2/h\"\n\
         [define]\nlayer = \"select(d1, d2, x > 0.0)\"\n\
         [[species]]\nname = \"u\"\ndiffusion = \"layer\"\ninitial = \"0.0\"\n\
         boundary_value = \"select(0.0, 1.0, x < 0.0)\"\n"
    ));
    let mut sim = simulation(ctx, &sc);
    advance(&mut sim, 60.0);
    let u = &sim.read_fields().unwrap()[0];
    // Both layers 1 mm thick.
    let ui = d1 / (d1 + d2);
    let exact = |x: f64| {
        if x < 0.0 {
            1.0 + (ui - 1.0) * (x + 1.0)
        } else {
            ui * (1.0 - x)
        }
    };
    let mut worst: f64 = 0.0;
    for i in 0..40 {
        let x = -1.0 + (i as f64 + 0.5) * 0.05;
        for j in 0..4 {
            worst = worst.max((u[j * 40 + i] as f64 - exact(x)).abs());
        }
    }
    eprintln!(
        "layered steady state: max error {worst:e} ({} steps)",
        sim.counters().steps
    );
    assert!(worst < 2e-5, "layered steady state off by {worst:e}");
}

/// Motility that rises with density (D = (D0 + D1·u²) × a step in x) against the f64
/// twin, periodic in y and no-flux in x, beside a species with a constant D: mass
/// conserved, fields equal.
#[test]
fn density_dependent_diffusion_conserves_mass_and_matches_the_f64_twin() {
    let ctx = gpu_or_skip!();
    let sc = scenario(
        "[grid]\nsize = [32, 24]\nextent = [\"4 mm\", \"3 mm\"]\n\
         boundary = { left = \"no-flux\", right = \"no-flux\", bottom = \"periodic\", top = \"periodic\" }\n\
         [time]\nend = \"1 h\"\noutput_every = \"1 h\"\nrtol = 1e-5\n\
         [params]\nd0 = 0.02\nd1 = 0.3\n\
         [[species]]\nname = \"u\"\ndiffusion = \"(d0 + d1 * u * u) * select(1.0, 2.0, x > 0.5)\"\n\
         initial = \"exp(-2.0 * ((x - 0.3) * (x - 0.3) + (y - 1.0) * (y - 1.0)))\"\n\
         [[species]]\nname = \"v\"\ndiffusion = 0.05\ninitial = \"0.5 + 0.25 * cos(2.0943951 * y) * select(0.0, 1.0, x < 0.0)\"\n",
    );
    let mut sim = simulation(ctx, &sc);
    let initial = fields_f64(&sim);
    advance(&mut sim, 1.0);
    let gpu = sim.read_fields().unwrap();
    let react = |_c: &[f64], out: &mut [f64]| out.fill(0.0);
    let face = |_s: usize, _x: f64, _y: f64, _t: f64| [0.0; 4];
    let dcell = |s: usize, x: f64, _y: f64, _t: f64, c: &[f64]| {
        if s == 0 {
            (0.02 + 0.3 * c[0] * c[0]) * if x > 0.5 { 2.0 } else { 1.0 }
        } else {
            0.05
        }
    };
    let mut cpu = Reference::new(&sc.grid, vec![0.0, 0.05], initial.clone(), &react, &face)
        .with_dcell(&dcell);
    let h = 0.5 * diffusion_limit(0.64, &sc.grid);
    let n = (1.0 / h).ceil() as usize;
    for k in 0..n {
        cpu.rk4_step(k as f64 / n as f64, 1.0 / n as f64);
    }
    for (s, name) in ["u", "v"].iter().enumerate() {
        let d = max_abs_diff(&gpu[s], &cpu.fields[s]);
        let moved = max_abs_diff(&gpu[s], &initial[s]);
        let m0: f64 = initial[s].iter().sum();
        let m1 = sum(&gpu[s]);
        eprintln!(
            "variable diffusion, {name}: {d:e} off the f64 twin (moved {moved:e}), mass {m0} -> {m1} ({} steps)",
            sim.counters().steps
        );
        assert!(d < 1e-5, "{name}: {d:e} off the f64 twin");
        assert!(moved > 0.02, "{name} barely moved ({moved:e})");
        assert!(
            ((m1 - m0) / m0).abs() < 1e-5,
            "{name}: mass {m0} became {m1}"
        );
    }
}

/// A Gaussian carried round a periodic domain by a drift: it should arrive unchanged
/// one shift later. Returns the L1 error (per mm) and the smallest value seen.
fn advected_error(ctx: &exoderm::GpuContext, n: u32) -> (f64, f32) {
    let sc = scenario(&format!(
        "[grid]\nsize = [{n}, 2]\nextent = [\"4 mm\", \"0.25 mm\"]\nboundary = \"periodic\"\n\
         [time]\nend = \"1 h\"\noutput_every = \"1 h\"\n\
         [params]\nv0 = \"1 mm/h\"\n\
         [[species]]\nname = \"u\"\ndiffusion = 0.0\nvelocity = [\"v0\", \"0.0\"]\n\
         initial = \"exp(-(x / 0.3) * (x / 0.3))\"\n"
    ));
    let mut sim = simulation(ctx, &sc);
    advance(&mut sim, 1.0);
    let u = &sim.read_fields().unwrap()[0];
    let dx = 4.0 / n as f64;
    let mut err = 0.0;
    for (i, &ui) in u.iter().take(n as usize).enumerate() {
        let x = -2.0 + (i as f64 + 0.5) * dx;
        // Where this point was at t = 0, wrapped into [-2, 2).
        let from = (x - 1.0 + 2.0).rem_euclid(4.0) - 2.0;
        err += (ui as f64 - (-(from / 0.3) * (from / 0.3)).exp()).abs() * dx;
    }
    let low = u.iter().fold(f32::INFINITY, |m, &v| m.min(v));
    eprintln!("advection, {n} cells: {:?}", sim.counters());
    (err, low)
}

#[test]
fn an_advected_profile_arrives_with_second_order_accuracy() {
    let ctx = gpu_or_skip!();
    let errs: Vec<(f64, f32)> = [32, 64, 128]
        .iter()
        .map(|&n| advected_error(ctx, n))
        .collect();
    let orders: Vec<f64> = errs.windows(2).map(|w| (w[0].0 / w[1].0).log2()).collect();
    eprintln!("advection L1 errors {errs:?}, orders {orders:?}");
    // Limited upwinding: second order where smooth, clipped at the peak.
    assert!(orders[1] > 1.6, "observed order {orders:?}");
    assert!(errs[2].0 < 1.5e-2, "L1 error {:e} at 128 cells", errs[2].0);
    for (_, low) in &errs {
        assert!(*low >= 0.0, "a negative density appeared: {low}");
    }
}

/// Cells climbing a fixed linear attractant c = 0.8 x with D and χ: the no-flux steady
/// state balances D n' = χ n c', so n = M e^{χ c / D} / ∫ e^{χ c / D}.
#[test]
fn a_keller_segel_steady_profile_matches_its_exact_form() {
    let ctx = gpu_or_skip!();
    let sc = scenario(
        "[grid]\nsize = [64, 2]\nextent = [\"2 mm\", \"0.0625 mm\"]\nboundary = \"no-flux\"\n\
         [time]\nend = \"60 h\"\noutput_every = \"60 h\"\n\
         [params]\nchi0 = 0.1\n\
         [[species]]\nname = \"n\"\ndiffusion = 0.1\ninitial = \"1.0\"\n\
         taxis = { up = \"c\", chi = \"chi0\" }\n\
         [[species]]\nname = \"c\"\ndiffusion = 0.0\ninitial = \"0.8 * x\"\n",
    );
    let mut sim = simulation(ctx, &sc);
    advance(&mut sim, 60.0);
    let n = &sim.read_fields().unwrap()[0];
    let norm = 2.0 * 0.8f64.sinh() / 0.8;
    let mut worst: f64 = 0.0;
    for (i, &ni) in n.iter().take(64).enumerate() {
        let x = -1.0 + (i as f64 + 0.5) / 32.0;
        let exact = 2.0 * (0.8 * x).exp() / norm;
        worst = worst.max((ni as f64 - exact).abs() / exact);
    }
    let mass = sum(n) / 128.0;
    eprintln!(
        "Keller-Segel steady state: max relative error {worst:e}, mass {mass} ({} steps)",
        sim.counters().steps
    );
    assert!(worst < 2e-3, "steady profile off by {worst:e} (relative)");
    assert!((mass - 1.0).abs() < 1e-5, "mass per cell {mass}, was 1");
}

/// Taxis with volume filling up a diffusing, produced attractant, plus a drift, periodic in
/// x and no-flux in y, against the f64 twin; mass conserved, nothing negative.
#[test]
fn taxis_and_drift_match_the_f64_twin() {
    let ctx = gpu_or_skip!();
    let sc = scenario(
        "[grid]\nsize = [24, 20]\nextent = [\"3 mm\", \"2.5 mm\"]\n\
         boundary = { left = \"periodic\", right = \"periodic\", bottom = \"no-flux\", top = \"no-flux\" }\n\
         [time]\nend = \"0.5 h\"\noutput_every = \"0.5 h\"\nrtol = 1e-5\n\
         [params]\nchi0 = 0.4\n\
         [[species]]\nname = \"n\"\ndiffusion = 0.01\n\
         initial = \"0.9 * exp(-4.0 * ((x - 0.4) * (x - 0.4) + y * y))\"\n\
         taxis = { up = \"c\", chi = \"chi0 * (1.0 - n)\" }\nvelocity = [\"0.0\", \"0.3 * sin(2.0943951 * x)\"]\n\
         [[species]]\nname = \"c\"\ndiffusion = 0.05\ninitial = \"exp(-((x + 0.5) * (x + 0.5) + (y - 0.3) * (y - 0.3)))\"\n\
         [reactions]\nc = \"0.5 * n - 0.2 * c\"\n",
    );
    let mut sim = simulation(ctx, &sc);
    let initial = fields_f64(&sim);
    advance(&mut sim, 0.5);
    let gpu = sim.read_fields().unwrap();
    let react = |c: &[f64], out: &mut [f64]| {
        out[0] = 0.0;
        out[1] = 0.5 * c[0] - 0.2 * c[1];
    };
    let face = |_s: usize, _x: f64, _y: f64, _t: f64| [0.0; 4];
    let advect = |s: usize, x: f64, _y: f64, _t: f64, c: &[f64]| {
        if s == 0 {
            (
                [0.0, 0.3 * (2.0943951 * x).sin()],
                vec![(1, 0.4 * (1.0 - c[0]))],
            )
        } else {
            ([0.0, 0.0], vec![])
        }
    };
    let mut cpu = Reference::new(&sc.grid, vec![0.01, 0.05], initial.clone(), &react, &face)
        .with_advection(&advect);
    let h = 0.25 * diffusion_limit(0.05, &sc.grid);
    let steps = (0.5 / h).ceil() as usize;
    for k in 0..steps {
        cpu.rk4_step(k as f64 * 0.5 / steps as f64, 0.5 / steps as f64);
    }
    for (s, name) in ["n", "c"].iter().enumerate() {
        let d = max_abs_diff(&gpu[s], &cpu.fields[s]);
        let moved = max_abs_diff(&gpu[s], &initial[s]);
        eprintln!(
            "taxis and drift, {name}: {d:e} off the f64 twin (moved {moved:e}, {} steps)",
            sim.counters().steps
        );
        assert!(d < 2e-5, "{name}: {d:e} off the f64 twin");
        assert!(moved > 0.02, "{name} barely moved ({moved:e})");
    }
    let (m0, m1) = (initial[0].iter().sum::<f64>(), sum(&gpu[0]));
    assert!(((m1 - m0) / m0).abs() < 1e-5, "n's mass {m0} became {m1}");
    let low = gpu[0].iter().fold(f32::INFINITY, |m, &v| m.min(v));
    assert!(low >= 0.0, "n went negative: {low}");
}

/// A grey PNG of `w`×`h` whose pixel (column c, row r from the top) is `f(c, r)`.
fn write_png(path: &std::path::Path, w: u32, h: u32, f: impl Fn(u32, u32) -> u8) {
    let file = std::fs::File::create(path).unwrap();
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), w, h);
    enc.set_color(png::ColorType::Grayscale);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header().unwrap();
    let data: Vec<u8> = (0..h)
        .flat_map(|r| (0..w).map(move |c| (r, c)))
        .map(|(r, c)| f(c, r))
        .collect();
    writer.write_image_data(&data).unwrap();
}

fn map_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("exoderm-maps-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A picture as the initial state and in a reaction: the top-left quadrant white, the rest
/// black; the field starts as the picture (right way up) and grows only where it is white.
#[test]
fn a_png_map_reaches_initial_values_and_reactions() {
    let ctx = gpu_or_skip!();
    let dir = map_dir("png");
    write_png(&dir.join("quadrant.png"), 16, 16, |c, r| {
        if c < 8 && r < 8 { 255 } else { 0 }
    });
    let text = "[grid]\nsize = [16, 16]\nextent = [\"2 mm\", \"2 mm\"]\n\
                [time]\nend = \"1 h\"\noutput_every = \"1 h\"\n\
                [maps]\nbed = { file = \"quadrant.png\", range = [0.0, 2.0] }\n\
                [[species]]\nname = \"u\"\ndiffusion = 0.0\ninitial = \"bed\"\n\
                [reactions]\nu = \"0.5 * select(0.0, 1.0, bed > 1.0)\"\n";
    let path = dir.join("s.toml");
    std::fs::write(&path, text).unwrap();
    let sc = exoderm::Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let mut sim = simulation(ctx, &sc);
    let start = sim.read_fields().unwrap();
    // Row 0 is y min: the picture's bottom; the white quadrant is top-left (x < 0, y > 0).
    assert_eq!(start[0][15 * 16], 2.0, "top-left cell");
    assert_eq!(start[0][15], 0.0, "bottom-right cell");
    assert_eq!(start[0][15 * 16 + 15], 0.0, "top-right cell");
    advance(&mut sim, 1.0);
    let end = sim.read_fields().unwrap();
    assert!((end[0][15 * 16] - 2.5).abs() < 1e-5, "{}", end[0][15 * 16]);
    assert!(end[0][0].abs() < 1e-6, "{}", end[0][0]);
}

/// One of exoderm's own .npy outputs read back as a map: same grid, same values.
#[test]
fn an_npy_map_round_trips_an_output() {
    let ctx = gpu_or_skip!();
    let dir = map_dir("npy");
    let (nx, ny) = (12, 8);
    let data: Vec<f32> = (0..nx * ny)
        .map(|i| (i % nx) as f32 * 0.25 + (i / nx) as f32)
        .collect();
    std::fs::write(
        dir.join("f.npy"),
        exoderm::output::npy::encode_f32(&data, ny, nx),
    )
    .unwrap();
    let text = format!(
        "[grid]\nsize = [{nx}, {ny}]\nextent = [\"3 mm\", \"2 mm\"]\n[time]\nend = \"1 h\"\n\
         [maps]\nf = \"f.npy\"\n[[species]]\nname = \"u\"\ndiffusion = 0.0\ninitial = \"f\"\n"
    );
    let path = dir.join("s.toml");
    std::fs::write(&path, text).unwrap();
    let sc = exoderm::Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let sim = simulation(ctx, &sc);
    assert_eq!(sim.read_fields().unwrap()[0], data);
}

/// The largest model (32 species, 256 params) runs on lavapipe's 8 storage buffers per
/// stage, two runs batched with different params: each run follows its own params
/// (ds/dt = p − 0.1 s from 0: s(t) = 10 p (1 − e^{−0.1 t})).
#[test]
fn the_largest_model_runs_batched() {
    let ctx = gpu_or_skip!();
    let text = crate::shaders::sized_model(32, 256)
        .replace("end = 1.0", "end = 1.0\nscheme = \"euler\"\ndt = 0.01");
    let sc = scenario(&text);
    let mut a = sc.problem();
    let mut b = sc.problem();
    // [params] are kept in name order: look p255 up.
    let last = sc.model.param_index("p255").unwrap();
    a.params[last] = 0.5;
    b.params[last] = 2.0;
    let mut sim = exoderm::Simulation::batch(ctx, &[a, b]).unwrap();
    advance(&mut sim, 1.0);
    let exact = |p: f64| 10.0 * p * (1.0 - (-0.1f64).exp());
    for (run, p31) in [(0, 0.5), (1, 2.0)] {
        let f = sim.read_fields_of(run).unwrap();
        assert_eq!(f.len(), 32);
        // s31 reads p255 (the last param); s0 reads p7.
        let (s31, s0) = (f[31][27] as f64, f[0][27] as f64);
        // Forward Euler with dt = 0.01 h: a relative error of about 0.1 dt / 2.
        assert!(
            (s31 - exact(p31)).abs() < 1e-3 * exact(p31),
            "run {run}: s31 = {s31}, exact {}",
            exact(p31)
        );
        assert!(
            (s0 - exact(0.007)).abs() < 1e-3 * exact(0.007),
            "run {run}: s0 = {s0}"
        );
    }
}
