// exoderm common WGSL: grid and step uniforms, boundary ghosts, per-cell random numbers.
// Prepended to every generated module. Uniform structs mirror src/engine/uniforms.rs —
// keep in sync (a test checks sizes and offsets).

struct XdGrid {
    nx: u32,
    ny: u32,
    // Runs batched in this simulation (one z-slice of every buffer each).
    runs: u32,
    nspecies: u32,
    x0: f32,
    y0: f32,
    dx: f32,
    dy: f32,
    // Boundary rule per side: left (x min), right (x max), bottom (y min), top (y max).
    // 0 = no-flux, 1 = periodic, 2 = fixed, 3 = flux, 4 = robin (scenario::Boundary::code);
    // the ghost values are generated per model (engine::codegen::side_functions).
    bc: vec4<u32>,
}

struct XdStep {
    t: f32,
    // dt for the reaction terms; 0 in diffusion-only sub-steps.
    react_dt: f32,
    // Which group of 4 metrics a metrics dispatch computes.
    sel: u32,
    pad0: u32,
    // dt/dx² and dt/dy² per species (0 for species not diffusing in this pass), one vec4 per
    // plane; the kernel multiplies by the run's own D.
    cx: array<vec4<f32>, 4>,
    cy: array<vec4<f32>, 4>,
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
