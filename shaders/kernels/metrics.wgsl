// Kernel template: metric group xd_step.sel (4 metrics) of every cell of every run, into
// the aux buffer's metric area (after every run's flag block); reduced in f64 on the CPU.

@group(0) @binding(3) var<storage, read> xd_src: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> xd_aux: array<vec4<f32>>;

@compute @workgroup_size(64, 4, 1)
fn xd_metric_main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let cx = xd_ctx(gid, gid.x);
    if (!xd_inside(cx)) { return; }
    var c: XdCell;
    //@each k
    c[$k] = xd_src[xd_at($ku, cx.idx)];
    //@end
    xd_aux[XD_FLAG_WORDS / 4u * xd_grid.runs + cx.idx] = xd_metric_group(xd_step.sel, cx.run, cx.x, cx.y, xd_step.t, c);
}
