// Kernel template (step doubling): per run and species, the largest |Y − X| between the
// current state Y (two half steps, xd_src) and X (one full step, bound as xd_dst), and the
// largest |Y|, into the flag words XD_FLAG_ERROR + s and XD_FLAG_SIZE + s.

@group(0) @binding(3) var<storage, read> xd_src: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> xd_dst: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> xd_flags: array<atomic<u32>>;

@compute @workgroup_size(64, 4, 1)
fn xd_error_main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let cx = xd_ctx(gid, gid.x);
    if (!xd_inside(cx)) { return; }
    //@each s
    {
        let i = xd_at($pu, cx.idx);
        let y = xd_src[i].$c;
        let e = abs(y - xd_dst[i].$c);
        atomicMax(&xd_flags[xd_flag(cx.run, XD_FLAG_ERROR + $su)], bitcast<u32>(e));
        atomicMax(&xd_flags[xd_flag(cx.run, XD_FLAG_SIZE + $su)], bitcast<u32>(abs(y)));
    }
    //@end
}
