// Kernel template: the stabilized explicit Runge–Kutta schemes (RKC, damped Chebyshev, the
// default; RKL2, Legendre) on the whole right-hand side F = D∇²Y + R(Y) — no splitting — with
// the state kept compensated: Y = hi + lo, two f32 planes per species, and the stages as
// deviations from hi, E_j = Y_j − hi (E_0 = lo), so increments far below one ulp of the
// state are not rounded away. Per step (τ, s stages; coefficients from the stage records):
//   E_1 = E_0 + μ̃_1 τ F_0
//   E_j = μ_j E_{j−1} + ν_j E_{j−2} + (1 − μ_j − ν_j) E_0 + μ̃_j τ F(hi + E_{j−1}) + γ̃_j τ F_0
//   finish: F_1 = F(hi + E_s); error estimate 0.8 (Y_n − Y_{n+1}) + 0.4 τ (F_0 + F_1)
//           (Sommeijer, Shampine & Verwer 1997), scaled per species by atol + rtol·|Y|;
//   commit (if accepted): hi, lo ← TwoSum(hi, E_s).
// F_1 is the next step's F_0 (first same as last). Quasi-steady species are not stepped:
// their stage values follow their last rate q̇ (kept in F's slot), E_j = c_j τ q̇, and the
// SOR solve after the step corrects them.
// `//@each` blocks repeat per plane/species; `//@rhs NAME GET` instantiates F (rhs.wgsl).

@group(0) @binding(3) var<storage, read> xd_hi: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> xd_lo: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> xd_x: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read> xd_y: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read> xd_f: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read_write> xd_out: array<vec4<f32>>;
@group(0) @binding(9) var<storage, read_write> xd_flags: array<atomic<u32>>;

fn xd_get_x(k: u32, idx: u32) -> vec4<f32> {
    return xd_x[xd_at(k, idx)];
}
fn xd_get_lo(k: u32, idx: u32) -> vec4<f32> {
    return xd_lo[xd_at(k, idx)];
}
// The power iteration's perturbed state: lo + a·v, a = ε × the vector's scale.
fn xd_get_jv(k: u32, idx: u32) -> vec4<f32> {
    let i = xd_at(k, idx);
    return xd_lo[i] + xd_step.cx[0].x * xd_x[i];
}

//@rhs x xd_get_x
//@rhs lo xd_get_lo
//@rhs jv xd_get_jv

// F_0 = F(hi + lo), the first stage's slope (after the initial state, an intervention, a
// quasi-steady solve or a restore); a quasi-steady species keeps its rate (0 at first).
@compute @workgroup_size(64, 4, 1)
fn xd_rkc_f0(@builtin(global_invocation_id) gid: vec3<u32>) {
    let cx = xd_ctx(gid, gid.x);
    if (!xd_inside(cx)) { return; }
    let f = xd_rhs_lo(cx, xd_step.t);
    //@each k
    {
        let i = xd_at($ku, cx.idx);
        let on = xd_stepped($ku);
        xd_out[i] = on * f[$k] + (1.0 - on) * xd_out[i];
    }
    //@end
}

// One stage: x = E_{j−1}, y = E_{j−2}, f = F_0; record cx[0] = (μ, ν, μ̃τ, γ̃τ),
// cy[0].x = c_j τ, t = t_n + c_{j−1} τ, sel = j.
@compute @workgroup_size(64, 4, 1)
fn xd_rkc_stage(@builtin(global_invocation_id) gid: vec3<u32>) {
    let cx = xd_ctx(gid, gid.x);
    if (!xd_inside(cx)) { return; }
    let m = xd_step.cx[0];
    let cq = xd_step.cy[0].x;
    var f: XdCell;
    if (xd_step.sel == 1u) {
        //@each k
        f[$k] = xd_f[xd_at($ku, cx.idx)];
        //@end
    } else {
        f = xd_rhs_x(cx, xd_step.t);
    }
    //@each k
    {
        let i = xd_at($ku, cx.idx);
        let f0 = xd_f[i];
        let e = m.x * xd_x[i] + m.y * xd_y[i] + (1.0 - m.x - m.y) * xd_lo[i] + m.z * f[$k] + m.w * f0;
        let on = xd_stepped($ku);
        xd_out[i] = on * e + (1.0 - on) * (cq * f0);
    }
    //@end
}

// The step's end: x = E_s, f = F_0, out = F_1; record t = t_n + τ, cx[0] = (τ, 0, 0, r),
// cy = each species' share of its tolerance, τ/M capped at 1 (M: how long its errors
// persist — the run's length, or 1/its slowest decay). The error is taken per unit step
// (local errors add up to about the tolerance at the end), against each species' absolute
// tolerance (rtol × its scale, see engine::problem::species_scale), after a bound on the
// f32 rounding noise of the estimate itself is taken off (no smaller step removes it): the rounding of the deviations, of τF, of R(Y) at a rounded Y
// (r bounds |∂R/∂Y|) and of the ghost value 2g − Y on held (fixed, robin) sides.
const XD_NOISE: f32 = 1.1920929e-7;

// 1/dx² and 1/dy² where cell cx touches a held side (0 elsewhere).
fn xd_held_edge(cx: XdCtx) -> f32 {
    let bc = xd_grid.bc;
    let held_x = (cx.i == 0u && (bc.x == 2u || bc.x == 4u)) || (cx.i + 1u == xd_grid.nx && (bc.y == 2u || bc.y == 4u));
    let held_y = (cx.j == 0u && (bc.z == 2u || bc.z == 4u)) || (cx.j + 1u == xd_grid.ny && (bc.w == 2u || bc.w == 4u));
    return select(0.0, 1.0 / (xd_grid.dx * xd_grid.dx), held_x) + select(0.0, 1.0 / (xd_grid.dy * xd_grid.dy), held_y);
}

@compute @workgroup_size(64, 4, 1)
fn xd_rkc_finish(@builtin(global_invocation_id) gid: vec3<u32>) {
    let cx = xd_ctx(gid, gid.x);
    if (!xd_inside(cx)) { return; }
    let tau = xd_step.cx[0].x;
    let rate = xd_step.cx[0].w;
    let edge = xd_held_edge(cx);
    let f1 = xd_rhs_x(cx, xd_step.t);
    // The diffusion coefficients at held sides, for the ghost value's rounding bound.
    var dedge: XdCell;
    //@each k
    dedge[$k] = xd_run_d(cx.run, $ku);
    //@end
    if (XD_VAR_D && edge > 0.0) {
        var yc: XdCell;
        //@each k
        yc[$k] = xd_hi[xd_at($ku, cx.idx)] + xd_x[xd_at($ku, cx.idx)];
        //@end
        dedge = xd_dcell(cx.run, cx.x, cx.y, xd_step.t, yc);
    }
    var bad = 0u;
    var big = 0u;
    //@each k
    {
        let i = xd_at($ku, cx.idx);
        let on = xd_stepped($ku);
        xd_out[i] = on * f1[$k] + (1.0 - on) * xd_f[i];
    }
    //@end
    //@each s
    {
        let i = xd_at($pu, cx.idx);
        let hi = xd_hi[i].$c;
        let lo = xd_lo[i].$c;
        let es = xd_x[i].$c;
        let y1 = hi + es;
        if ((bitcast<u32>(y1) & 0x7f800000u) == 0x7f800000u) {
            bad |= 1u << $su;
        } else if (abs(y1) >= XD_RUNAWAY) {
            big |= 1u << $su;
        }
        if (!xd_is_qs($su)) {
            let f0 = xd_f[i].$c;
            // The new state's extent and speed: what its error scale is made of.
            atomicMax(&xd_flags[xd_flag(cx.run, XD_FLAG_HIGH + $su)], xd_key(y1));
            atomicMax(&xd_flags[xd_flag(cx.run, XD_FLAG_LOW + $su)], xd_key(-y1));
            var speed = abs(f1[$p].$c);
            if (!(speed <= 3.0e38)) { speed = 3.0e38; }
            atomicMax(&xd_flags[xd_flag(cx.run, XD_FLAG_SPEED + $su)], bitcast<u32>(speed));
            let est = -0.8 * (es - lo) + 0.4 * tau * (f0 + f1[$p].$c);
            let size = max(abs(hi + lo), abs(y1));
            let stiff = 0.5 * rate + 4.0 * dedge[$p].$c * edge;
            let noise = XD_NOISE * (abs(es) + abs(lo) + tau * (abs(f0) + abs(f1[$p].$c) + stiff * size));
            // What the estimate shows beyond its own rounding is the truncation error.
            var scaled = max(abs(est) - noise, 0.0) / (xd_runs.r[cx.run].atol[$p].$c * xd_step.cy[$p].$c);
            if (!(scaled <= 3.0e38)) { scaled = 3.0e38; }
            atomicMax(&xd_flags[xd_flag(cx.run, XD_FLAG_ERROR + $su)], bitcast<u32>(scaled));
        }
    }
    //@end
    if (bad != 0u) { atomicOr(&xd_flags[xd_flag(cx.run, XD_FLAG_NAN)], bad); }
    if (big != 0u) { atomicOr(&xd_flags[xd_flag(cx.run, XD_FLAG_RUNAWAY)], big); }
}

// Power iteration for the spectral radius of ∂F/∂Y: out = (F(hi + lo + a·v) − F_0) / ε with
// v = x; record cx[0] = (a, 1/ε, 0, 0); the largest |out| per run into XD_FLAG_POWER.
@compute @workgroup_size(64, 4, 1)
fn xd_rkc_jv(@builtin(global_invocation_id) gid: vec3<u32>) {
    let cx = xd_ctx(gid, gid.x);
    if (!xd_inside(cx)) { return; }
    let inv = xd_step.cx[0].y;
    let f = xd_rhs_jv(cx, xd_step.t);
    var most = 0.0;
    //@each k
    {
        let i = xd_at($ku, cx.idx);
        let w = (f[$k] - xd_f[i]) * inv * xd_stepped($ku);
        xd_out[i] = w;
        let a = abs(w);
        most = max(most, max(max(a.x, a.y), max(a.z, a.w)));
    }
    //@end
    if (!(most <= 3.0e38)) { most = 3.0e38; }
    atomicMax(&xd_flags[xd_flag(cx.run, XD_FLAG_POWER)], bitcast<u32>(most));
}

// The power iteration's start: a fixed pseudo-random vector in [−1, 1] (every mode,
// the checkerboard included), the same every time so runs repeat exactly.
@compute @workgroup_size(64, 4, 1)
fn xd_rkc_jv_init(@builtin(global_invocation_id) gid: vec3<u32>) {
    let cx = xd_ctx(gid, gid.x);
    if (!xd_inside(cx)) { return; }
    //@each k
    xd_out[xd_at($ku, cx.idx)] = xd_stepped($ku) * vec4<f32>(
        2.0 * xd_rand(cx.i, cx.j, 4u * $ku + 0u, 7u) - 1.0,
        2.0 * xd_rand(cx.i, cx.j, 4u * $ku + 1u, 7u) - 1.0,
        2.0 * xd_rand(cx.i, cx.j, 4u * $ku + 2u, 7u) - 1.0,
        2.0 * xd_rand(cx.i, cx.j, 4u * $ku + 3u, 7u) - 1.0);
    //@end
}
