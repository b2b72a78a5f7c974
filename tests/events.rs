//! Deposits and scheduled events: exact mass bookkeeping, live strokes equal to replayed
//! events bit for bit.

use crate::common::{advance, scenario, simulation, sum};
use crate::gpu_or_skip;
use exoderm::scenario::{Action, Amounts};

pub const HEAT: &str = r#"
[model]
builtin = "heat"
[grid]
size = [64, 48]
extent = ["6.4 mm", "4.8 mm"]
[time]
end = "2 h"
[[species]]
name = "u"
diffusion = "0.05 mm^2/h"
initial = "exp(-(x * x + y * y))"
"#;

/// Cells whose centre lies within `r` of `c` on the HEAT grid (0.1 mm cells, origin centred).
fn cells_in_circle(c: [f64; 2], r: f64) -> usize {
    let mut n = 0;
    for j in 0..48 {
        for i in 0..64 {
            let x = -3.2 + (i as f64 + 0.5) * 0.1;
            let y = -2.4 + (j as f64 + 0.5) * 0.1;
            if ((x - c[0]).powi(2) + (y - c[1]).powi(2)).sqrt() <= r {
                n += 1;
            }
        }
    }
    n
}

#[test]
fn scheduled_deposit_adds_exactly_its_mass_at_its_time() {
    let ctx = gpu_or_skip!();
    let text = format!(
        "{HEAT}\n[[event]]\nat = \"1 h\"\ncenter = [\"1 mm\", \"0.5 mm\"]\nradius = \"0.45 mm\"\nadd = {{ u = 2.0 }}\n"
    );
    let sc = scenario(&text);
    assert_eq!(sc.events.len(), 1);
    let mut sim = simulation(ctx, &sc);
    let area = 0.01;
    let m0 = sum(&sim.read_fields().unwrap()[0]) * area;
    advance(&mut sim, 0.999);
    let before = sum(&sim.read_fields().unwrap()[0]) * area;
    assert!(
        (before - m0).abs() < 1e-4 * m0,
        "no-flux heat conserves mass before the event: {m0} -> {before}"
    );
    advance(&mut sim, 2.0);
    let after = sum(&sim.read_fields().unwrap()[0]) * area;
    let added = 2.0 * cells_in_circle([1.0, 0.5], 0.45) as f64 * area;
    assert!(added > 0.5, "the circle covers cells: {added}");
    assert!(
        (after - before - added).abs() < 1e-4 * after,
        "mass after = before + deposit: {before} + {added} vs {after}"
    );
}

#[test]
fn set_event_at_zero_cuts_before_the_first_step() {
    let ctx = gpu_or_skip!();
    let text = format!(
        "{HEAT}\n[[event]]\nat = 0\ncenter = [0, 0]\nradius = \"1 mm\"\nset = {{ u = 0.0 }}\n"
    );
    let sim = simulation(ctx, &scenario(&text));
    let u = &sim.read_fields().unwrap()[0];
    // Cell (32, 24) has its centre at (0.05, 0.05) mm: inside; (0, 0) corner: outside.
    assert_eq!(u[24 * 64 + 32], 0.0);
    assert!(u[0] > 0.0);
}

#[test]
fn a_live_stroke_equals_the_same_event_replayed() {
    let ctx = gpu_or_skip!();
    let amounts = Amounts {
        set: vec![],
        add: vec![(0, 0.75)],
    };
    let mut live = simulation(ctx, &scenario(HEAT));
    advance(&mut live, 0.5);
    live.deposit(0, [-1.0, 0.3], 0.6, &amounts).unwrap();
    advance(&mut live, 1.5);
    let event = exoderm::scenario::Event {
        at: 0.5,
        action: Action::Deposit {
            center: [-1.0, 0.3],
            radius: 0.6,
            amounts: amounts.clone(),
        },
    };
    let base = scenario(HEAT);
    let text = format!("{HEAT}{}", event.to_toml(&base.model));
    let replay_sc = scenario(&text);
    assert_eq!(
        replay_sc.events,
        vec![event],
        "the event round-trips through TOML"
    );
    let mut replay = simulation(ctx, &replay_sc);
    advance(&mut replay, 1.5);
    let a = live.read_fields().unwrap();
    let b = replay.read_fields().unwrap();
    assert!(a[0] != scenario_fields(ctx), "the stroke changed something");
    assert_eq!(
        a, b,
        "replayed event must match the live stroke bit for bit"
    );
}

fn scenario_fields(ctx: &exoderm::GpuContext) -> Vec<f32> {
    let mut s = simulation(ctx, &scenario(HEAT));
    advance(&mut s, 1.5);
    s.read_fields().unwrap().swap_remove(0)
}

#[test]
fn param_event_changes_the_parameter_at_its_time() {
    let ctx = gpu_or_skip!();
    let fisher = r#"
[model]
builtin = "fisher"
[grid]
size = [32, 8]
extent = ["8 mm", "2 mm"]
[time]
end = "2 h"
[[species]]
name = "u"
initial = "select(0.0, 1.0, x < 0.0)"
[params]
r = 1.0
[[event]]
at = "1 h"
param = "r"
value = 0.0
"#;
    let mut sim = simulation(ctx, &scenario(fisher));
    advance(&mut sim, 1.0);
    assert_eq!(sim.problem().params[0], 0.0, "applied at 1 h");
    let u1 = sim.read_fields().unwrap();
    advance(&mut sim, 2.0);
    let u2 = sim.read_fields().unwrap();
    // With r = 0 only diffusion acts: the total is conserved (no-flux).
    let (a, b) = (sum(&u1[0]), sum(&u2[0]));
    assert!(
        (a - b).abs() < 1e-4 * a,
        "no growth after r = 0: {a} -> {b}"
    );
}

/// Fisher cells with a reaction r·u^p, on a small grid, with events (and `time`: extra
/// `[time]` lines).
fn batch_run(r: f64, power: u32, time: &str, events: &str) -> exoderm::Scenario {
    let reaction = if power == 2 {
        "r * u * u"
    } else {
        "r * u * (1.0 - u)"
    };
    scenario(&format!(
        "[grid]\nsize = [32, 16]\nextent = [\"4 mm\", \"2 mm\"]\n[time]\nend = \"2 h\"\noutput_every = \"0.5 h\"\n{time}\n\
         [[species]]\nname = \"u\"\ndiffusion = 0.05\ninitial = \"0.5 + 0.4 * exp(-(x * x + y * y))\"\n\
         [reactions]\nu = \"{reaction}\"\n[params]\nr = {r}\n{events}"
    ))
}

fn fields_bits(f: &[Vec<f32>]) -> Vec<Vec<u32>> {
    f.iter()
        .map(|s| s.iter().map(|v| v.to_bits()).collect())
        .collect()
}

#[test]
fn each_run_of_a_batch_gets_its_own_events() {
    let ctx = gpu_or_skip!();
    // Same event times (so the runs batch), different places and amounts; a forced step,
    // so batched and alone take the same steps (under error control a batch takes the
    // smallest step any run needs) and must agree bit for bit.
    let ev = |x: f64, amount: f64| {
        format!(
            "[[event]]\nat = \"1 h\"\ncenter = [\"{x} mm\", \"0 mm\"]\nradius = \"0.4 mm\"\nadd = {{ u = {amount} }}\n"
        )
    };
    let runs = [
        batch_run(1.0, 1, "dt = 0.01", &ev(-1.0, 0.3)),
        batch_run(1.0, 1, "dt = 0.01", &ev(1.2, 0.6)),
    ];
    let problems: Vec<_> = runs.iter().map(|s| s.problem()).collect();
    assert_eq!(problems[0].batch_key(), problems[1].batch_key());
    let mut batch = exoderm::Simulation::batch(ctx, &problems).unwrap();
    for t in [0.5, 1.0, 1.5, 2.0] {
        advance(&mut batch, t);
    }
    for (r, sc) in runs.iter().enumerate() {
        let mut alone = simulation(ctx, sc);
        for t in [0.5, 1.0, 1.5, 2.0] {
            advance(&mut alone, t);
        }
        assert!(
            fields_bits(&batch.read_fields_of(r).unwrap())
                == fields_bits(&alone.read_fields().unwrap()),
            "run {r} of the batch differs from the same run alone"
        );
    }
    // And the two runs really differ (each got its own deposit).
    let (a, b) = (
        batch.read_fields_of(0).unwrap(),
        batch.read_fields_of(1).unwrap(),
    );
    assert!(
        (sum(&b[0]) - sum(&a[0])).abs() > 1.0,
        "{} vs {}",
        sum(&a[0]),
        sum(&b[0])
    );
}

#[test]
fn a_run_that_blows_up_in_a_batch_stops_alone() {
    let ctx = gpu_or_skip!();
    // u' = r·u² blows up for r = 4 (t* < 0.6 h from u0 ≤ 0.9); r = 0 and r = 0.1 do not.
    let runs = [
        batch_run(0.0, 2, "", ""),
        batch_run(4.0, 2, "", ""),
        batch_run(0.1, 2, "", ""),
    ];
    let problems: Vec<_> = runs.iter().map(|s| s.problem()).collect();
    let mut batch = exoderm::Simulation::batch(ctx, &problems).unwrap();
    for t in [0.5, 1.0, 1.5, 2.0] {
        advance(&mut batch, t);
    }
    let why = batch.run_error(1).expect("run 1 blew up");
    assert_eq!(why.species, "u");
    assert!(why.cause.contains("reactions.u"), "{why}");
    for r in [0, 2] {
        assert!(batch.run_error(r).is_none(), "run {r} goes on");
        let u = &batch.read_fields_of(r).unwrap()[0];
        assert!(
            u.iter().all(|v| v.is_finite() && *v < 2.0),
            "run {r} stays bounded"
        );
    }
    assert_eq!(batch.time(), 2.0, "the batch reaches the end");
    // The calm runs agree with themselves run alone (up to the smaller steps they shared
    // with the runaway before it stopped).
    for r in [0, 2] {
        let mut alone = simulation(ctx, &runs[r]);
        advance(&mut alone, 2.0);
        let d = crate::common::max_abs_diff(
            &batch.read_fields_of(r).unwrap()[0],
            &alone.read_fields().unwrap()[0]
                .iter()
                .map(|&v| v as f64)
                .collect::<Vec<_>>(),
        );
        assert!(d < 1e-3, "run {r}: {d}");
    }
}
