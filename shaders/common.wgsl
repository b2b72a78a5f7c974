// exoderm common WGSL: grid and step uniforms, the cell a thread owns, its neighbours,
// per-cell random numbers. First in every generated module; then the model's part
// (engine::codegen: constants, params, the user's expressions, boundary ghosts, XdCell
// helpers), then one kernel template (shaders/*.wgsl). Uniform structs mirror
// src/engine/uniforms.rs — keep in sync (a test checks sizes and offsets).
//
// Field storage: every species of every run in one buffer per set, four species to a
// vec4<f32> plane: plane k of run r at cell (i, j) is element k * plane + r * nx * ny +
// j * nx + i (`plane` = runs × cells).

struct XdGrid {
    nx: u32,
    ny: u32,
    // Runs batched in this simulation (one z-slice of every plane each).
    runs: u32,
    // Elements (vec4) per plane: runs × nx × ny.
    plane: u32,
    x0: f32,
    y0: f32,
    dx: f32,
    dy: f32,
    // Boundary rule per side: left (x min), right (x max), bottom (y min), top (y max).
    // 0 = no-flux, 1 = periodic, 2 = fixed, 3 = flux, 4 = robin (engine::problem::Boundary::code);
    // the ghost values are generated per model (xd_side).
    bc: vec4<u32>,
}

struct XdStep {
    t: f32,
    // dt for the reaction terms; 0 in diffusion-only sub-steps. Also: the SOR ω.
    react_dt: f32,
    // Which group of 4 metrics a metrics dispatch computes; the colour of a SOR sweep.
    sel: u32,
    pad0: u32,
    // dt/dx² and dt/dy² per species (0 for species not diffusing in this pass), one vec4 per
    // plane; the kernel multiplies by the run's own D. RKL2 stages reuse cx[0] and cy[0].
    cx: array<vec4<f32>, 8>,
    cy: array<vec4<f32>, 8>,
}

@group(0) @binding(0) var<uniform> xd_grid: XdGrid;
@group(0) @binding(1) var<uniform> xd_step: XdStep;

fn xd_pcg(v: u32) -> u32 {
    let state = v * 747796405u + 2891336453u;
    let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
    return (word >> 22u) ^ word;
}

// Uniform in [0, 1), fixed by the cell, the species and the run's seed.
fn xd_rand(i: u32, j: u32, salt: u32, seed: u32) -> f32 {
    let h = xd_pcg(i ^ xd_pcg(j ^ xd_pcg(salt ^ xd_pcg(seed))));
    return f32(h >> 8u) / 16777216.0;
}

// The cell a thread owns.
struct XdCtx {
    i: u32,
    j: u32,
    run: u32,
    // Index of the cell in plane 0 (add k * plane for plane k).
    idx: u32,
    // Cell centre (mm).
    x: f32,
    y: f32,
}

// The cell of column `i`, row `gid.y`, run `gid.z`.
fn xd_ctx(gid: vec3<u32>, i: u32) -> XdCtx {
    let j = gid.y;
    let run = gid.z;
    let idx = run * xd_grid.nx * xd_grid.ny + j * xd_grid.nx + i;
    let x = xd_grid.x0 + (f32(i) + 0.5) * xd_grid.dx;
    let y = xd_grid.y0 + (f32(j) + 0.5) * xd_grid.dy;
    return XdCtx(i, j, run, idx, x, y);
}

fn xd_inside(c: XdCtx) -> bool {
    return c.i < xd_grid.nx && c.j < xd_grid.ny;
}

// Element of plane k for cell index `idx`.
fn xd_at(k: u32, idx: u32) -> u32 {
    return k * xd_grid.plane + idx;
}

// The cell (i + di, j + dj) of a cell's run: wrapped across periodic sides; `ok` false
// beyond the others. Its centre, for expressions evaluated there.
struct XdNb {
    ok: bool,
    idx: u32,
    x: f32,
    y: f32,
}

fn xd_nb(c: XdCtx, di: i32, dj: i32) -> XdNb {
    let nx = i32(xd_grid.nx);
    let ny = i32(xd_grid.ny);
    var i = i32(c.i) + di;
    var j = i32(c.j) + dj;
    let out_x = i < 0 || i >= nx;
    let out_y = j < 0 || j >= ny;
    let side_x = select(xd_grid.bc.y, xd_grid.bc.x, i < 0);
    let side_y = select(xd_grid.bc.w, xd_grid.bc.z, j < 0);
    let ok = (!out_x || side_x == 1u) && (!out_y || side_y == 1u);
    i = ((i % nx) + nx) % nx;
    j = ((j % ny) + ny) % ny;
    let idx = c.run * xd_grid.nx * xd_grid.ny + u32(j) * xd_grid.nx + u32(i);
    return XdNb(ok, idx, xd_grid.x0 + (f32(i) + 0.5) * xd_grid.dx, xd_grid.y0 + (f32(j) + 0.5) * xd_grid.dy);
}

// A limited face value from the upwind cell `up` toward `down` (`upup`: the cell behind
// `up`): up + half the van Leer slope, the harmonic mean of the two one-sided slopes (0 at
// an extremum) — second order where smooth, no new extrema, so densities stay positive.
fn xd_limited(up: vec4<f32>, down: vec4<f32>, upup: vec4<f32>) -> vec4<f32> {
    let d1 = down - up;
    let d0 = up - upup;
    let p = d0 * d1;
    return up + select(vec4<f32>(0.0), p / (d0 + d1), p > vec4<f32>(0.0));
}
