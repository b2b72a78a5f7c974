// Kernel template: accepting a stabilized RK step, in place: (hi, lo) ← TwoSum(hi, E_s)
// (Knuth), so hi + lo holds the new state to about twice f32's precision. Quasi-steady
// species take hi + E_s (their predictor) and lo = 0: their solve follows.

@group(0) @binding(3) var<storage, read_write> xd_hi: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> xd_lo: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> xd_x: array<vec4<f32>>;

@compute @workgroup_size(64, 4, 1)
fn xd_rkc_commit(@builtin(global_invocation_id) gid: vec3<u32>) {
    let cx = xd_ctx(gid, gid.x);
    if (!xd_inside(cx)) { return; }
    let one = xd_step.cx[0].x;
    //@each k
    {
        let i = xd_at($ku, cx.idx);
        let a = xd_hi[i];
        let b = xd_x[i];
        // × a run-time 1 (the record's cx[0].x): shader compilers may rewrite
        // (a + b) − a as b (lavapipe's NIR does), which would zero the low part; an opaque
        // factor keeps the sum from being seen through.
        let s = (a + b) * one;
        let bb = s - a;
        let err = (a - (s - bb)) + (b - bb);
        let on = xd_stepped($ku);
        xd_hi[i] = s;
        xd_lo[i] = on * err;
    }
    //@end
}
