//! Deposits and scheduled events: exact mass bookkeeping, live strokes equal to replayed
//! events bit for bit, and the GPU colour map / range reduction against a CPU twin.

use crate::common::{advance, scenario, simulation, sum};
use crate::gpu_or_skip;
use exoderm::engine::render::{FieldView, Look, lut};
use exoderm::scenario::{Action, Amounts};

const HEAT: &str = r#"
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
    assert_eq!(sim.scenario().model.params[0].value, 0.0, "applied at 1 h");
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

/// Reads an rgba8 texture (width × 4 bytes a multiple of 256).
fn read_texture(ctx: &exoderm::GpuContext, tex: &wgpu::Texture, w: u32, h: u32) -> Vec<u8> {
    let buf = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("test.texture"),
        size: (w * h * 4) as u64,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let mut enc = ctx.device.create_command_encoder(&Default::default());
    enc.copy_texture_to_buffer(
        tex.as_image_copy(),
        wgpu::TexelCopyBufferInfo {
            buffer: &buf,
            layout: wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(w * 4),
                rows_per_image: Some(h),
            },
        },
        wgpu::Extent3d {
            width: w,
            height: h,
            depth_or_array_layers: 1,
        },
    );
    ctx.queue.submit([enc.finish()]);
    exoderm::engine::fields::map_and_read(&ctx.device, &buf).unwrap()
}

/// The probe's numbers (it never blocks; the test spins until they arrive).
fn wait(
    probe: &mut exoderm::engine::render::Probe,
    ctx: &exoderm::GpuContext,
) -> exoderm::engine::render::ProbeResult {
    loop {
        if let Some(r) = probe.poll(&ctx.device) {
            return r;
        }
    }
}

#[test]
fn colour_view_matches_the_cpu_colour_map_with_the_gpu_range() {
    let ctx = gpu_or_skip!();
    let mut sim = simulation(ctx, &scenario(HEAT));
    advance(&mut sim, 0.7);
    let u = sim.read_fields().unwrap().swap_remove(0);
    let (lo, hi) = u
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    let mut view = FieldView::new(&ctx.device, &sim);
    let mut probe = exoderm::engine::render::Probe::new(&ctx.device, &sim);
    let mut enc = ctx.device.create_command_encoder(&Default::default());
    let look = Look::Colormap {
        species: 0,
        colormap: "magma".into(),
        range: None,
    };
    view.encode(&ctx.queue, &mut enc, &sim, 0, &look);
    assert!(probe.request(&mut enc, &view, &sim, 0, Some([10, 20])));
    ctx.queue.submit([enc.finish()]);
    probe.submitted();
    let px = read_texture(ctx, &view.texture, 64, 48);
    let result = wait(&mut probe, ctx);
    assert_eq!(result.range, [lo, hi], "GPU min/max equal the CPU's");
    assert_eq!(result.values, vec![u[20 * 64 + 10]], "probe reads the cell");
    let table = lut("magma");
    let mut worst = 0;
    for j in 0..48usize {
        for i in 0..64usize {
            let v = u[j * 64 + i];
            let t = ((v - lo) / (hi - lo)).clamp(0.0, 1.0);
            let want = table[(t * 255.0).round() as usize].to_le_bytes();
            // y points up: field row j is image row 47 - j.
            let at = ((47 - j) * 64 + i) * 4;
            for c in 0..3 {
                worst = worst.max((px[at + c] as i32 - want[c] as i32).abs());
            }
            assert_eq!(px[at + 3], 255);
        }
    }
    assert!(
        worst <= 12,
        "texture vs CPU colour map differ by {worst}/255 at most (rounding at bin edges)"
    );
    let distinct: std::collections::HashSet<[u8; 3]> =
        px.chunks_exact(4).map(|p| [p[0], p[1], p[2]]).collect();
    assert!(
        distinct.len() > 50,
        "a smooth field gives many colours: {}",
        distinct.len()
    );
}

#[test]
fn a_flat_field_is_one_colour_not_amplified_noise() {
    let ctx = gpu_or_skip!();
    // 1 + 1e-7·noise: flat within float precision.
    let text = HEAT.replace("exp(-(x * x + y * y))", "1.0 + 1e-7 * noise");
    let sim = simulation(ctx, &scenario(&text));
    let mut view = FieldView::new(&ctx.device, &sim);
    let mut enc = ctx.device.create_command_encoder(&Default::default());
    let look = Look::Colormap {
        species: 0,
        colormap: "viridis".into(),
        range: None,
    };
    view.encode(&ctx.queue, &mut enc, &sim, 0, &look);
    ctx.queue.submit([enc.finish()]);
    let px = read_texture(ctx, &view.texture, 64, 48);
    let distinct: std::collections::HashSet<[u8; 3]> =
        px.chunks_exact(4).map(|p| [p[0], p[1], p[2]]).collect();
    assert_eq!(distinct.len(), 1, "one colour for a flat field");
}

#[test]
fn difference_view_is_b_minus_a_on_a_symmetric_range() {
    let ctx = gpu_or_skip!();
    // Two heat runs that differ in D (compare mode's "one difference"): B − A is positive in
    // the flanks and negative at the peak, where the faster spreading drains it.
    let mut a = simulation(ctx, &scenario(HEAT));
    let mut b = simulation(ctx, &scenario(&HEAT.replace("0.05 mm^2/h", "0.1 mm^2/h")));
    advance(&mut a, 0.7);
    advance(&mut b, 0.7);
    let (ua, ub) = (
        a.read_fields().unwrap().swap_remove(0),
        b.read_fields().unwrap().swap_remove(0),
    );
    let d: Vec<f32> = ua.iter().zip(&ub).map(|(x, y)| y - x).collect();
    let m = d.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    assert!(d.iter().any(|&v| v > 0.1 * m) && d.iter().any(|&v| v < -0.1 * m));
    let mut view = FieldView::new(&ctx.device, &a);
    let mut probe = exoderm::engine::render::Probe::new(&ctx.device, &a);
    let mut enc = ctx.device.create_command_encoder(&Default::default());
    view.encode_difference(&ctx.device, &ctx.queue, &mut enc, &a, &b, 0, "rdbu", None);
    assert!(probe.request(&mut enc, &view, &a, 0, None));
    ctx.queue.submit([enc.finish()]);
    probe.submitted();
    let px = read_texture(ctx, &view.texture, 64, 48);
    let result = wait(&mut probe, ctx);
    assert_eq!(
        result.range,
        [-m, m],
        "± the largest |B − A|, found on the GPU"
    );
    let table = lut("rdbu");
    let mut worst = 0;
    for j in 0..48usize {
        for i in 0..64usize {
            let t = ((d[j * 64 + i] + m) / (2.0 * m)).clamp(0.0, 1.0);
            let want = table[(t * 255.0).round() as usize].to_le_bytes();
            let at = ((47 - j) * 64 + i) * 4;
            for c in 0..3 {
                worst = worst.max((px[at + c] as i32 - want[c] as i32).abs());
            }
        }
    }
    assert!(worst <= 12, "texture vs CPU differ by {worst}/255");
    // Equal sides: everything is the middle colour (zero), not noise.
    let mut enc = ctx.device.create_command_encoder(&Default::default());
    view.encode_difference(&ctx.device, &ctx.queue, &mut enc, &a, &a, 0, "rdbu", None);
    ctx.queue.submit([enc.finish()]);
    let px = read_texture(ctx, &view.texture, 64, 48);
    let mid = table[128].to_le_bytes();
    assert!(
        px.chunks_exact(4).all(|p| p[..3] == mid[..3]),
        "no difference is one colour: the map's middle"
    );
}
