//! The app's GPU views (feature "gui"): the colour map and range reduction against a CPU
//! twin, flat fields, and the compare-mode difference view.

use crate::common::{advance, scenario, simulation};
use crate::events::HEAT;
use crate::gpu_or_skip;
use exoderm::app::view::{FieldView, Look};
use exoderm::colormap::lut;

/// Reads an rgba8 texture, rows packed (the copy pads them to 256 bytes).
fn read_texture(ctx: &exoderm::GpuContext, tex: &wgpu::Texture, w: u32, h: u32) -> Vec<u8> {
    let row = (w * 4).div_ceil(256) * 256;
    let buf = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("test.texture"),
        size: (row * h) as u64,
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
                bytes_per_row: Some(row),
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
    let padded = exoderm::engine::gpu::map_and_read(&ctx.device, &buf).unwrap();
    padded
        .chunks_exact(row as usize)
        .flat_map(|r| r[..(w * 4) as usize].to_vec())
        .collect()
}

/// The probe's numbers (it never blocks; the test polls until they arrive, or gives up).
fn wait(
    probe: &mut exoderm::app::view::Probe,
    ctx: &exoderm::GpuContext,
) -> exoderm::app::view::ProbeResult {
    let started = std::time::Instant::now();
    loop {
        if let Some(r) = probe.poll(&ctx.device) {
            return r;
        }
        assert!(
            started.elapsed().as_secs() < 120,
            "the probe's readback never arrived"
        );
        std::thread::yield_now();
    }
}

/// The colour view of `species` (auto range) and a probe of `cell`: (pixels, probe result).
fn view_and_probe(
    ctx: &exoderm::GpuContext,
    sim: &exoderm::Simulation,
    species: usize,
    colormap: &str,
    cell: [u32; 2],
) -> (Vec<u8>, exoderm::app::view::ProbeResult) {
    let g = &sim.problem().grid;
    let mut view = FieldView::new(&ctx.device, sim);
    let mut probe = exoderm::app::view::Probe::new(&ctx.device, sim);
    let mut enc = ctx.device.create_command_encoder(&Default::default());
    let look = Look::Colormap {
        species,
        colormap: colormap.into(),
        range: None,
    };
    view.encode(&ctx.queue, &mut enc, sim, 0, &look);
    assert!(probe.request(&mut enc, &view, sim, 0, Some(cell)));
    ctx.queue.submit([enc.finish()]);
    probe.submitted();
    let px = read_texture(ctx, &view.texture, g.nx, g.ny);
    (px, wait(&mut probe, ctx))
}

/// The field's min and max.
fn min_max(u: &[f32]) -> (f32, f32) {
    u.iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        })
}

/// The largest channel difference between `px` and the CPU colour map of `u` over lo..hi
/// (y points up: field row j is image row ny − 1 − j); every pixel opaque.
fn worst_colour_error(
    px: &[u8],
    u: &[f32],
    (lo, hi): (f32, f32),
    colormap: &str,
    nx: usize,
) -> i32 {
    let ny = u.len() / nx;
    let table = lut(colormap);
    let mut worst = 0;
    for j in 0..ny {
        for i in 0..nx {
            let t = ((u[j * nx + i] - lo) / (hi - lo)).clamp(0.0, 1.0);
            let want = table[(t * 255.0).round() as usize].to_le_bytes();
            let at = ((ny - 1 - j) * nx + i) * 4;
            for c in 0..3 {
                worst = worst.max((px[at + c] as i32 - want[c] as i32).abs());
            }
            assert_eq!(px[at + 3], 255);
        }
    }
    worst
}

#[test]
fn colour_view_matches_the_cpu_colour_map_with_the_gpu_range() {
    let ctx = gpu_or_skip!();
    let mut sim = simulation(ctx, &scenario(HEAT));
    advance(&mut sim, 0.7);
    let u = sim.read_fields().unwrap().swap_remove(0);
    let (lo, hi) = min_max(&u);
    let (px, result) = view_and_probe(ctx, &sim, 0, "magma", [10, 20]);
    assert_eq!(result.range, [lo, hi], "GPU min/max equal the CPU's");
    assert_eq!(result.values, vec![u[20 * 64 + 10]], "probe reads the cell");
    let worst = worst_colour_error(&px, &u, (lo, hi), "magma", 64);
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
    let mut probe = exoderm::app::view::Probe::new(&ctx.device, &a);
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

#[test]
fn a_species_in_the_third_plane_is_viewed_and_probed() {
    let ctx = gpu_or_skip!();
    let sc = scenario(&crate::reference::twelve_species());
    let mut sim = simulation(ctx, &sc);
    advance(&mut sim, 1.0);
    let fields = sim.read_fields().unwrap();
    let u = &fields[10];
    let (lo, hi) = min_max(u);
    let (px, result) = view_and_probe(ctx, &sim, 10, "viridis", [7, 21]);
    assert_eq!(
        result.range,
        [lo, hi],
        "the range of s10, reduced on the GPU"
    );
    let want: Vec<f32> = fields.iter().map(|f| f[21 * 40 + 7]).collect();
    assert_eq!(
        result.values, want,
        "the probe reads all 12 species at the cell"
    );
    let worst = worst_colour_error(&px, u, (lo, hi), "viridis", 40);
    assert!(
        worst <= 12,
        "s10's view differs from its CPU colour map by {worst}/255"
    );
}
