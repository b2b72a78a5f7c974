// Kernel template: the IMEX reaction pass of the rkl2 scheme. Every stepped species' reaction
// term applied pointwise, linearly implicit in its own decay:
//   c ← c + dt·R / (1 + dt·max(−∂R/∂c, 0)),
// exact steady states, unconditionally stable for decay, explicit Euler where R grows.

@group(0) @binding(3) var<storage, read> xd_src: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> xd_dst: array<vec4<f32>>;

@compute @workgroup_size(64, 4, 1)
fn xd_react_main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let cx = xd_ctx(gid, gid.x);
    if (!xd_inside(cx)) { return; }
    let t = xd_step.t;
    let dt = xd_step.react_dt;
    var c: XdCell;
    //@each k
    c[$k] = xd_src[xd_at($ku, cx.idx)];
    //@end
    var out = c;
    //@each s
    if (xd_reacts($su)) {
        let v = c[$p].$c;
        let r = xd_rate_of($su, cx.run, cx.x, cx.y, t, c);
        let h = max(abs(v) * 1e-3, 1e-6);
        var bumped = c;
        bumped[$p].$c = v + h;
        let jac = (xd_rate_of($su, cx.run, cx.x, cx.y, t, bumped) - r) / h;
        out[$p].$c = v + dt * r / (1.0 + dt * max(-jac, 0.0));
    }
    //@end
    //@each k
    xd_dst[xd_at($ku, cx.idx)] = out[$k];
    //@end
}
