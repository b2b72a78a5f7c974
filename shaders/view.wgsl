// exoderm view: one species through a colour map, or the realistic skin view, written
// straight from the simulation's state buffer into an rgba8unorm storage texture (no
// readback). The state holds every plane of every run (see shaders/common.wgsl).
// Mirrors app::view::ViewUniform — keep in sync (a test checks sizes and offsets).

struct View {
    nx: u32,
    ny: u32,
    run: u32,
    species: u32,
    // 1 = take the range from the reduction (`range`), 0 = lo/hi below.
    auto_range: u32,
    // Runs in the state buffer (elements per plane = runs × nx × ny).
    runs: u32,
    lo: f32,
    hi: f32,
    // Skin roles (species index, -1 = none): epidermis, scab, inflammation, collagen.
    skin: vec4<i32>,
    // The value of each role that means "full" (its range top).
    skin_full: vec4<f32>,
    // Cell size (mm), for the shading slope.
    cell: vec2<f32>,
    pad1: vec2<f32>,
}

@group(0) @binding(0) var<uniform> view: View;
// 256 colours, RGBA8 packed little-endian (r in the low byte).
@group(0) @binding(1) var<storage, read> lut: array<u32, 256>;
// [min, max] of the shown species (written by reduce_range).
@group(0) @binding(2) var<storage, read_write> range: array<f32, 4>;
// The state shown; for the difference view, side A's.
@group(0) @binding(3) var<storage, read> p0: array<vec4<f32>>;
// The difference view's side B (other views bind p0 again).
@group(0) @binding(4) var<storage, read> p1: array<vec4<f32>>;
@group(0) @binding(5) var out_tex: texture_storage_2d<rgba8unorm, write>;

// Element of species s's plane at cell (i, j) of the shown run.
fn element(s: u32, i: u32, j: u32) -> u32 {
    let cells = view.nx * view.ny;
    return (s / 4u) * view.runs * cells + view.run * cells + j * view.nx + i;
}

fn fetch(s: u32, i: u32, j: u32) -> f32 {
    return p0[element(s, i, j)][s % 4u];
}

fn finite(v: f32) -> bool {
    return v == v && abs(v) < 3.0e38;
}

var<workgroup> wg_lo: array<f32, 256>;
var<workgroup> wg_hi: array<f32, 256>;

// One workgroup: min and max of the shown species over the run, NaN/Inf ignored.
@compute @workgroup_size(256)
fn reduce_range(@builtin(local_invocation_index) li: u32) {
    var lo = 3.0e38;
    var hi = -3.0e38;
    let n = view.nx * view.ny;
    for (var k = li; k < n; k = k + 256u) {
        let v = fetch(view.species, k % view.nx, k / view.nx);
        if (finite(v)) {
            lo = min(lo, v);
            hi = max(hi, v);
        }
    }
    wg_lo[li] = lo;
    wg_hi[li] = hi;
    workgroupBarrier();
    for (var s = 128u; s > 0u; s = s >> 1u) {
        if (li < s) {
            wg_lo[li] = min(wg_lo[li], wg_lo[li + s]);
            wg_hi[li] = max(wg_hi[li], wg_hi[li + s]);
        }
        workgroupBarrier();
    }
    if (li == 0u) {
        var a = wg_lo[0];
        var b = wg_hi[0];
        if (a > b) {
            a = 0.0;
            b = 1.0;
        }
        range[0] = a;
        range[1] = b;
    }
}

fn unpack(c: u32) -> vec4<f32> {
    return vec4<f32>(f32(c & 255u), f32((c >> 8u) & 255u), f32((c >> 16u) & 255u), 255.0) / 255.0;
}

fn texel(i: u32, j: u32) -> vec2<u32> {
    // y points up: row 0 of the field (y min) is the bottom row of the image.
    return vec2<u32>(i, view.ny - 1u - j);
}

// The range colours span: the reduction's (auto) or the fixed lo..hi.
fn shown_range() -> vec2<f32> {
    if (view.auto_range == 1u) {
        return vec2<f32>(range[0], range[1]);
    }
    return vec2<f32>(view.lo, view.hi);
}

@compute @workgroup_size(16, 16)
fn colormap(@builtin(global_invocation_id) gid: vec3<u32>) {
    if (gid.x >= view.nx || gid.y >= view.ny) { return; }
    let v = fetch(view.species, gid.x, gid.y);
    let lh = shown_range();
    let lo = lh.x;
    let hi = lh.y;
    var color = vec4<f32>(1.0, 0.0, 1.0, 1.0);
    if (finite(v)) {
        // A flat field (range within float noise) is one mid colour, not amplified noise.
        let flat = hi - lo <= 1e-5 * max(abs(lo), abs(hi)) + 1e-30;
        let t = select(clamp((v - lo) / (hi - lo), 0.0, 1.0), 0.5, flat);
        color = unpack(lut[u32(round(t * 255.0))]);
    }
    textureStore(out_tex, texel(gid.x, gid.y), color);
}

fn hash(i: u32, j: u32) -> f32 {
    var h = i * 374761393u + j * 668265263u;
    h = (h ^ (h >> 13u)) * 1274126177u;
    h = h ^ (h >> 16u);
    return f32(h & 65535u) / 65535.0;
}

// Smooth value noise on a lattice of `scale` cells (skin texture, pores, wrinkles).
fn noise(x: f32, y: f32, scale: f32) -> f32 {
    let p = vec2<f32>(x, y) / scale;
    let f = fract(p);
    let c = vec2<u32>(floor(p) + 4096.0);
    let u = f * f * (3.0 - 2.0 * f);
    let a = hash(c.x, c.y);
    let b = hash(c.x + 1u, c.y);
    let d = hash(c.x, c.y + 1u);
    let e = hash(c.x + 1u, c.y + 1u);
    return mix(mix(a, b, u.x), mix(d, e, u.x), u.y);
}

// A role's level in 0..1, or `none` when the model has no such species.
fn role(k: u32, i: u32, j: u32, none: f32) -> f32 {
    let s = view.skin[k];
    if (s < 0) { return none; }
    let v = fetch(u32(s), i, j);
    if (!finite(v)) { return none; }
    return clamp(v / max(view.skin_full[k], 1e-30), 0.0, 1.0);
}

@compute @workgroup_size(16, 16)
fn skin(@builtin(global_invocation_id) gid: vec3<u32>) {
    if (gid.x >= view.nx || gid.y >= view.ny) { return; }
    let i = gid.x;
    let j = gid.y;
    let e = role(0u, i, j, 1.0);
    let scab = role(1u, i, j, 0.0);
    let infl = role(2u, i, j, 0.0);
    let coll = role(3u, i, j, 1.0);
    let fx = f32(i);
    let fy = f32(j);
    // Wound bed: moist granulation tissue, dark red with a grainy surface.
    let grain = noise(fx, fy, 2.0);
    let bed = vec3<f32>(0.55, 0.09, 0.11) * (0.8 + 0.4 * grain);
    // Intact epidermis: a skin tone with a faint pore texture; new epidermis is pinker.
    let pores = noise(fx, fy, 3.0) * 0.5 + noise(fx, fy, 11.0) * 0.5;
    let tone = vec3<f32>(0.90, 0.72, 0.61) * (0.94 + 0.08 * pores);
    let fresh = vec3<f32>(0.93, 0.60, 0.58);
    let covered = smoothstep(0.15, 0.85, e);
    var c = mix(bed, mix(fresh, tone, smoothstep(0.6, 1.0, e)), covered);
    // Dermis: little collagen shows thin skin with wrinkles; the scar is paler.
    let wrinkle = abs(sin(fy * 0.35 + 3.0 * noise(fx, fy, 17.0)));
    c = c * (1.0 - 0.25 * (1.0 - coll) * smoothstep(0.85, 1.0, wrinkle));
    c = mix(c, c * vec3<f32>(1.04, 0.97, 0.95), (1.0 - coll) * 0.5);
    // Erythema and scab.
    c = mix(c, vec3<f32>(0.86, 0.30, 0.28), 0.55 * infl);
    let crust = vec3<f32>(0.33, 0.17, 0.09) * (0.7 + 0.5 * noise(fx, fy, 1.5));
    c = mix(c, crust, smoothstep(0.05, 0.6, scab));
    // Relief: the epidermis stands above the bed; light from the upper left.
    let il = select(i - 1u, i, i == 0u);
    let ir = min(i + 1u, view.nx - 1u);
    let jd = select(j - 1u, j, j == 0u);
    let ju = min(j + 1u, view.ny - 1u);
    let gx = (role(0u, ir, j, 1.0) - role(0u, il, j, 1.0)) + 0.6 * (role(1u, ir, j, 0.0) - role(1u, il, j, 0.0));
    let gy = (role(0u, i, ju, 1.0) - role(0u, i, jd, 1.0)) + 0.6 * (role(1u, i, ju, 0.0) - role(1u, i, jd, 0.0));
    let n = normalize(vec3<f32>(-gx * 3.0, -gy * 3.0, 1.0));
    let light = normalize(vec3<f32>(-0.5, 0.5, 0.8));
    let shade = 0.55 + 0.45 * max(dot(n, light), 0.0) / 0.8;
    c = clamp(c * shade, vec3<f32>(0.0), vec3<f32>(1.0));
    textureStore(out_tex, texel(i, j), vec4<f32>(c, 1.0));
}

// The difference view (compare mode): p0 holds side A's state, p1 side B's (same layout).
// B − A of the shown species, NaN where either is not finite.
fn delta(i: u32, j: u32) -> f32 {
    let idx = element(view.species, i, j);
    let c = view.species % 4u;
    let a = p0[idx][c];
    let b = p1[idx][c];
    if (!finite(a) || !finite(b)) { return bitcast<f32>(0x7fc00000u); }
    return b - a;
}

// One workgroup: the largest |B − A|, written as the symmetric range [−m, m].
@compute @workgroup_size(256)
fn reduce_delta(@builtin(local_invocation_index) li: u32) {
    var m = 0.0;
    let n = view.nx * view.ny;
    for (var k = li; k < n; k = k + 256u) {
        let d = delta(k % view.nx, k / view.nx);
        if (finite(d)) {
            m = max(m, abs(d));
        }
    }
    wg_hi[li] = m;
    workgroupBarrier();
    for (var s = 128u; s > 0u; s = s >> 1u) {
        if (li < s) {
            wg_hi[li] = max(wg_hi[li], wg_hi[li + s]);
        }
        workgroupBarrier();
    }
    if (li == 0u) {
        range[0] = -wg_hi[0];
        range[1] = wg_hi[0];
    }
}

@compute @workgroup_size(16, 16)
fn difference(@builtin(global_invocation_id) gid: vec3<u32>) {
    if (gid.x >= view.nx || gid.y >= view.ny) { return; }
    let d = delta(gid.x, gid.y);
    let lh = shown_range();
    let lo = lh.x;
    let hi = lh.y;
    var color = vec4<f32>(1.0, 0.0, 1.0, 1.0);
    if (finite(d)) {
        // Equal sides (no difference anywhere) are the map's middle: zero.
        let flat = hi - lo <= 1e-30;
        let t = select(clamp((d - lo) / (hi - lo), 0.0, 1.0), 0.5, flat);
        color = unpack(lut[u32(round(t * 255.0))]);
    }
    textureStore(out_tex, texel(gid.x, gid.y), color);
}
