// exoderm deposit: set or add one species inside a circle, in one run's slice of the state
// (every plane of every run in one buffer, see common.wgsl). The one mechanism behind
// scheduled [[event]] deposits and the app's brushes.
// Mirrors engine::uniforms::DepositUniform — keep in sync (a test checks sizes and offsets).

struct Deposit {
    nx: u32,
    ny: u32,
    run: u32,
    // Which vec4 component of which plane holds the species.
    comp: u32,
    // 0 = set, 1 = add.
    mode: u32,
    radius: f32,
    value: f32,
    plane: u32,
    // Lower-left corner and cell size (mm).
    origin: vec2<f32>,
    cell: vec2<f32>,
    center: vec2<f32>,
    // Runs in the state buffer (elements per plane = runs × nx × ny).
    runs: u32,
    pad0: u32,
}

@group(0) @binding(0) var<uniform> dep: Deposit;
@group(0) @binding(1) var<storage, read_write> state: array<vec4<f32>>;
// The state's low part (stabilized schemes; for Euler the idle ping-pong set): a `set`
// clears it, so the value set is exact.
@group(0) @binding(2) var<storage, read_write> low: array<vec4<f32>>;

@compute @workgroup_size(16, 16)
fn deposit(@builtin(global_invocation_id) gid: vec3<u32>) {
    if (gid.x >= dep.nx || gid.y >= dep.ny) { return; }
    let p = dep.origin + (vec2<f32>(gid.xy) + 0.5) * dep.cell;
    if (distance(p, dep.center) > dep.radius) { return; }
    let cells = dep.nx * dep.ny;
    let i = dep.plane * dep.runs * cells + dep.run * cells + gid.y * dep.nx + gid.x;
    var v = state[i];
    if (dep.mode == 0u) {
        v[dep.comp] = dep.value;
        var l = low[i];
        l[dep.comp] = 0.0;
        low[i] = l;
    } else {
        v[dep.comp] = v[dep.comp] + dep.value;
    }
    state[i] = v;
}
