// Kernel template: initial conditions and one forward-Euler step (diffusion of every species
// with its run's D, plus the reaction terms when react_dt ≠ 0), all planes in one fused pass.
// Reads xd_src, writes xd_dst (bind group "from set s" writes set 1 − s).
// Lines between `//@each k` and `//@end` repeat once per plane, `$k` the plane's index.

@group(0) @binding(3) var<storage, read> xd_src: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> xd_dst: array<vec4<f32>>;

//@neighbours xd_src

@compute @workgroup_size(64, 4, 1)
fn xd_init_main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let cx = xd_ctx(gid, gid.x);
    if (!xd_inside(cx)) { return; }
    let c = xd_initial(cx.run, cx.x, cx.y, cx.i, cx.j);
    //@each k
    xd_dst[xd_at($ku, cx.idx)] = c[$k];
    //@end
}

@compute @workgroup_size(64, 4, 1)
fn xd_step_main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let cx = xd_ctx(gid, gid.x);
    if (!xd_inside(cx)) { return; }
    let t = xd_step.t;
    var c: XdCell;
    //@each k
    c[$k] = xd_src[xd_at($ku, cx.idx)];
    //@end
    var r: XdCell;
    if (xd_step.react_dt != 0.0) {
        r = xd_rates(cx.run, cx.x, cx.y, t, c);
    }
    //@each k
    {
        let w = xd_w_xd_src($ku, cx, c[$k], t);
        let e = xd_e_xd_src($ku, cx, c[$k], t);
        let s = xd_s_xd_src($ku, cx, c[$k], t);
        let n = xd_n_xd_src($ku, cx, c[$k], t);
        let d = xd_diffusion(cx.run, $ku);
        xd_dst[xd_at($ku, cx.idx)] = c[$k] + (xd_step.cx[$k] * d) * (w + e - 2.0 * c[$k]) + (xd_step.cy[$k] * d) * (s + n - 2.0 * c[$k]) + xd_step.react_dt * r[$k];
    }
    //@end
}
