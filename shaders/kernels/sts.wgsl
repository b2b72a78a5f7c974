// Kernel template: one RKL2 super-time-stepping stage of the diffusion of every plane,
//   Yj = μ Y(j−1) + ν Y(j−2) + (1 − μ − ν) Y0 + μ̃τ L(Y(j−1)) + γ̃τ L(Y0),
// with (μ, ν, μ̃τ, γ̃τ) in xd_step.cx[0] and (1/dx², 1/dy²) in xd_step.cy[0]. Quasi-steady
// species do not diffuse in time (their solve is the qs kernel's). `//@each k` blocks repeat
// per plane (see engine::codegen::expand).

@group(0) @binding(3) var<storage, read> xd_y0: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> xd_y1: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> xd_y2: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> xd_yj: array<vec4<f32>>;

//@neighbours xd_y0
//@neighbours xd_y1

@compute @workgroup_size(64, 4, 1)
fn xd_sts_main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let cx = xd_ctx(gid, gid.x);
    if (!xd_inside(cx)) { return; }
    let t = xd_step.t;
    let h = xd_step.cy[0];
    let m = xd_step.cx[0];
    //@each k
    {
        let i = xd_at($ku, cx.idx);
        let a = xd_y0[i];
        let b = xd_y1[i];
        let wa = xd_w_xd_y0($ku, cx, a, t);
        let ea = xd_e_xd_y0($ku, cx, a, t);
        let sa = xd_s_xd_y0($ku, cx, a, t);
        let na = xd_n_xd_y0($ku, cx, a, t);
        let wb = xd_w_xd_y1($ku, cx, b, t);
        let eb = xd_e_xd_y1($ku, cx, b, t);
        let sb = xd_s_xd_y1($ku, cx, b, t);
        let nn = xd_n_xd_y1($ku, cx, b, t);
        let d = xd_run_d(cx.run, $ku) * xd_stepped($ku);
        let la = d * ((wa + ea - 2.0 * a) * h.x + (sa + na - 2.0 * a) * h.y);
        let lb = d * ((wb + eb - 2.0 * b) * h.x + (sb + nn - 2.0 * b) * h.y);
        xd_yj[i] = m.x * b + m.y * xd_y2[i] + (1.0 - m.x - m.y) * a + m.z * lb + m.w * la;
    }
    //@end
}
