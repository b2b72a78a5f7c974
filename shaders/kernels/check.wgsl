// Kernel template: the blow-up check and the reaction-rate probe. Per run: bit masks of
// species that are NaN/Inf or beyond ±XD_RUNAWAY, each species' smallest and largest value,
// and the largest Gershgorin row sum of the
// reaction Jacobian (the rate that bounds a stable explicit step) with the part an
// implicit-in-decay step does not absorb (growth on the diagonal and every coupling).
// `//@each` blocks repeat per plane / species (see engine::codegen::expand).

@group(0) @binding(3) var<storage, read> xd_src: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> xd_flags: array<atomic<u32>>;

// The fastest advection across the face toward neighbour n along `axis`, in cells per hour.
fn xd_adv_rate(cx: XdCtx, t: f32, c: XdCell, n: XdNb, axis: u32, h: f32) -> f32 {
    if (!n.ok) { return 0.0; }
    var yb: XdCell;
    //@each k
    yb[$k] = xd_src[xd_at($ku, n.idx)];
    //@end
    var v: XdCell;
    if (axis == 0u) {
        v = xd_vface0(cx.run, t, cx.x, cx.y, c, n.x, n.y, yb, 1.0, h);
    } else {
        v = xd_vface1(cx.run, t, cx.x, cx.y, c, n.x, n.y, yb, 1.0, h);
    }
    var most = 0.0;
    //@each k
    {
        let a = abs(v[$k]) * xd_stepped($ku);
        most = max(most, max(max(a.x, a.y), max(a.z, a.w)));
    }
    //@end
    return most / h;
}

@compute @workgroup_size(64, 4, 1)
fn xd_check_main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let cx = xd_ctx(gid, gid.x);
    if (!xd_inside(cx)) { return; }
    let t = xd_step.t;
    var c: XdCell;
    //@each k
    c[$k] = xd_src[xd_at($ku, cx.idx)];
    //@end
    var bad = 0u;
    var big = 0u;
    //@each s
    {
        let v = c[$p].$c;
        if ((bitcast<u32>(v) & 0x7f800000u) == 0x7f800000u) {
            bad |= 1u << $su;
        } else {
            if (abs(v) >= XD_RUNAWAY) {
                big |= 1u << $su;
            }
            // The species' extent: what its error tolerance is measured against.
            atomicMax(&xd_flags[xd_flag(cx.run, XD_FLAG_HIGH + $su)], xd_key(v));
            atomicMax(&xd_flags[xd_flag(cx.run, XD_FLAG_LOW + $su)], xd_key(-v));
        }
    }
    //@end
    if (bad != 0u) { atomicOr(&xd_flags[xd_flag(cx.run, XD_FLAG_NAN)], bad); }
    if (big != 0u) { atomicOr(&xd_flags[xd_flag(cx.run, XD_FLAG_RUNAWAY)], big); }
    if (XD_VAR_D) {
        // The largest D present bounds the diffusion part of the spectral radius (a face's
        // harmonic mean is at most the larger of its two cells').
        let dd = xd_dcell(cx.run, cx.x, cx.y, t, c);
        var most = 0.0;
        //@each k
        {
            let m = dd[$k] * xd_stepped($ku);
            most = max(most, max(max(m.x, m.y), max(m.z, m.w)));
        }
        //@end
        if (most > 0.0 && most < 3.0e38) { atomicMax(&xd_flags[xd_flag(cx.run, XD_FLAG_DMAX)], bitcast<u32>(most)); }
    }
    if (XD_ADVECT) {
        // The fastest advection across this cell's +x and +y faces, in cells per hour: the
        // step's CFL bound.
        let most = xd_adv_rate(cx, t, c, xd_nb(cx, 1, 0), 0u, xd_grid.dx)
            + xd_adv_rate(cx, t, c, xd_nb(cx, 0, 1), 1u, xd_grid.dy);
        if (most > 0.0 && most < 3.0e38) { atomicMax(&xd_flags[xd_flag(cx.run, XD_FLAG_VMAX)], bitcast<u32>(most)); }
    }
    if (!XD_ANY_REACTS) { return; }
    var rate = 0.0;
    var soft = 0.0;
    // Unrolled for up to 16 species (fastest); for more, loops: unrolled over species ×
    // species the module grows as S² (each probe a switch over the species) and a 32-species
    // model took the driver's compiler minutes.
    //@if_species_at_most 16
    //@each s
    if (xd_reacts($su)) {
        let base = xd_rate_of($su, cx.run, cx.x, cx.y, t, c);
        var row = 0.0;
        var sft = 0.0;
        //@each j
        {
            let h = max(abs(c[$q].$d) * 1e-3, 1e-6);
            var up = c;
            up[$q].$d = c[$q].$d + h;
            var down = c;
            down[$q].$d = c[$q].$d - h;
            // The smaller of the forward and backward differences: equal to O(h) where R is
            // smooth, while a jump (a `select` on a species, e.g. "dose where n < 0.5") shows
            // up in one of them only, as jump/h — a stiffness that is not there. A NaN
            // backward difference (R undefined below the value) falls to forward.
            let fw = (xd_rate_of($su, cx.run, cx.x, cx.y, t, up) - base) / h;
            let bw = (base - xd_rate_of($su, cx.run, cx.x, cx.y, t, down)) / h;
            let jac = select(fw, bw, abs(bw) < abs(fw));
            row += abs(jac);
            sft += select(abs(jac), max(jac, 0.0), $su == $ju);
            if ($su == $ju && jac < 0.0 && -jac < 3.0e38) {
                atomicMax(&xd_flags[xd_flag(cx.run, XD_FLAG_DECAY + $su)], bitcast<u32>(-jac));
            }
            if ($su == $ju && abs(jac) < 3.0e38) {
                atomicMax(&xd_flags[xd_flag(cx.run, XD_FLAG_OWN + $su)], xd_key(jac));
            }
        }
        //@end
        rate = max(rate, row);
        soft = max(soft, sft);
    }
    //@end
    //@else
    for (var s = 0u; s < XD_SPECIES; s = s + 1u) {
    if (xd_reacts(s)) {
        let base = xd_rate_of(s, cx.run, cx.x, cx.y, t, c);
        var row = 0.0;
        var sft = 0.0;
        for (var j = 0u; j < XD_SPECIES; j = j + 1u) {
            let q = j / 4u;
            let d = j % 4u;
            let cj = c[q][d];
            let h = max(abs(cj) * 1e-3, 1e-6);
            var up = c;
            up[q][d] = cj + h;
            var down = c;
            down[q][d] = cj - h;
            // The smaller of the forward and backward differences: equal to O(h) where R is
            // smooth, while a jump (a `select` on a species, e.g. "dose where n < 0.5") shows
            // up in one of them only, as jump/h — a stiffness that is not there. A NaN
            // backward difference (R undefined below the value) falls to forward.
            let fw = (xd_rate_of(s, cx.run, cx.x, cx.y, t, up) - base) / h;
            let bw = (base - xd_rate_of(s, cx.run, cx.x, cx.y, t, down)) / h;
            let jac = select(fw, bw, abs(bw) < abs(fw));
            row += abs(jac);
            sft += select(abs(jac), max(jac, 0.0), s == j);
            if (s == j && jac < 0.0 && -jac < 3.0e38) {
                atomicMax(&xd_flags[xd_flag(cx.run, XD_FLAG_DECAY + s)], bitcast<u32>(-jac));
            }
            if (s == j && abs(jac) < 3.0e38) {
                atomicMax(&xd_flags[xd_flag(cx.run, XD_FLAG_OWN + s)], xd_key(jac));
            }
        }
        rate = max(rate, row);
        soft = max(soft, sft);
    }
    }
    //@endif
    // Positive finite f32 order like their bit patterns, so atomicMax on the bits works.
    if (rate > 0.0 && rate < 3.0e38) { atomicMax(&xd_flags[xd_flag(cx.run, XD_FLAG_RATE)], bitcast<u32>(rate)); }
    if (soft > 0.0 && soft < 3.0e38) { atomicMax(&xd_flags[xd_flag(cx.run, XD_FLAG_SOFT_RATE)], bitcast<u32>(soft)); }
}
